import { strict as assert } from "node:assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { Policies } from "@pulumi/policy";
import { evaluatePolicies } from "../support/policyEvaluation";
import { resolvePolicyConfig, PolicyConfigError, type PolicyPackConfig, type Violation } from "../../lib/policy/evaluate";
import { planStack, type StackPlan } from "../support/plans";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { serviceCatalog } from "../../lib/catalog/services";
import { scalingObjectsFor } from "../../lib/scaling/workloads";
import { scaleToZeroAllowList } from "../../policies/rules/scaleToZeroAllowList";
import { productionApiMinimumReplicas } from "../../policies/rules/productionApiMinimumReplicas";
import { spotShareByWorkloadClass } from "../../policies/rules/spotShareByWorkloadClass";
import { noStatefulWorkloadsOnSpot } from "../../policies/rules/noStatefulWorkloadsOnSpot";
import { spotDiversification } from "../../policies/rules/spotDiversification";
import { budgetNotifications } from "../../policies/rules/budgetNotifications";
import { dataTierCeilings } from "../../policies/rules/dataTierCeilings";
import { nodeCountCeiling } from "../../policies/rules/nodeCountCeiling";

type R = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// The policy config proposed for each stack (what policies/config/<stack>.json should hold).
// ---------------------------------------------------------------------------------------------

const prodConfig: PolicyPackConfig = {
  "scale-to-zero-allow-list": { allowedServices: ["file-processing", "automation"] },
  "production-api-minimum-replicas": { services: ["api-gateway", "platform-services"], minimumReplicas: 2 },
  "spot-share-by-workload-class": { maxSpotShare: { batch: 0.9, api: 0.3, data: 0, system: 0 } },
  "no-stateful-workloads-on-spot": { statefulClasses: ["data"] },
  "spot-diversification": { minInstanceTypes: 3, minZones: 2 },
  "budget-notifications": { thresholdsPercent: [80, 95], maxDailyUsd: 500, maxMonthlyUsd: 12000 },
  "data-tier-ceilings": { maxAuroraAcu: 16, maxReadReplicas: 15, maxRedisShards: 9, maxKafkaVolumeGiB: 4000, maxKafkaBrokers: 6, maxSearchDataNodes: 6 },
  "node-count-ceiling": { maxNodes: 40 },
};

const devConfig: PolicyPackConfig = {
  // Dev lowers every event-driven service's minimum to 0 off hours (schedules.scaleToZeroOffHours).
  "scale-to-zero-allow-list": {
    allowedServices: ["file-processing", "automation", "file-service", "saga-orchestrator", "ai-llm", "analytics", "notifications", "webhooks"],
  },
  // Lowered rather than disabled: one replica is enough in dev, but zero would break the environment.
  "production-api-minimum-replicas": { services: ["api-gateway", "platform-services"], minimumReplicas: 1 },
  // Design: the dev system node group is spot.
  "spot-share-by-workload-class": { maxSpotShare: { batch: 0.9, api: 0.3, data: 0, system: 1 } },
  "no-stateful-workloads-on-spot": { statefulClasses: ["data"] },
  "spot-diversification": { minInstanceTypes: 3, minZones: 2 },
  "budget-notifications": { thresholdsPercent: [80, 95], maxDailyUsd: 40, maxMonthlyUsd: 1000 },
  "data-tier-ceilings": { maxAuroraAcu: 4, maxReadReplicas: 1, maxRedisShards: 3, maxKafkaVolumeGiB: 100, maxKafkaBrokers: 3, maxSearchDataNodes: 1 },
  "node-count-ceiling": { maxNodes: 12 },
};

const proposed: Record<"prod" | "dev", PolicyPackConfig> = { prod: prodConfig, dev: devConfig };

// ---------------------------------------------------------------------------------------------
// Synthetic resources
// ---------------------------------------------------------------------------------------------

const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
const stackResource: PlannedResource = { urn: stackUrn, type: "pulumi:pulumi:Stack", name: "autoscaling-test", parent: "", custom: false, inputs: {} };

function res(type: string, name: string, inputs: R): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: stackUrn, custom: true, inputs };
}

const types = {
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  scaledObject: "kubernetes:keda.sh/v1alpha1:ScaledObject",
  nodePool: "kubernetes:karpenter.sh/v1:NodePool",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  budget: "aws:budgets/budget:Budget",
  rdsCluster: "aws:rds/cluster:Cluster",
  target: "aws:appautoscaling/target:Target",
  redis: "aws:elasticache/replicationGroup:ReplicationGroup",
  msk: "aws:msk/cluster:Cluster",
  search: "aws:opensearch/domain:Domain",
};

const hpa = (namespace: string, name: string, spec: R) =>
  res(types.hpa, `${name}-hpa`, { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name, namespace }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name }, maxReplicas: 10, ...spec } });

const scaledObject = (namespace: string, name: string, spec: R) =>
  res(types.scaledObject, `${name}-so`, { apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name, namespace }, spec: { scaleTargetRef: { name }, maxReplicaCount: 10, ...spec } });

const spread = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const zones3 = ["us-east-1a", "us-east-1b", "us-east-1c"];
const types6 = ["m5.large", "m5a.large", "m6i.large", "m6a.large", "m7i.large", "m5.xlarge"];

interface PoolOptions {
  capacity?: string[] | null;
  spreadValues?: string[] | null;
  instanceTypes?: string[] | null;
  zones?: string[] | null;
  extraRequirements?: R[];
  limitNodes?: string | number | null;
}

function nodePool(name: string, workloadClass: string, o: PoolOptions = {}): PlannedResource {
  const requirements: R[] = [];
  if (o.capacity !== null) requirements.push({ key: "karpenter.sh/capacity-type", operator: "In", values: o.capacity ?? ["on-demand"] });
  if (o.instanceTypes !== null) requirements.push({ key: "node.kubernetes.io/instance-type", operator: "In", values: o.instanceTypes ?? types6 });
  if (o.zones !== null) requirements.push({ key: "topology.kubernetes.io/zone", operator: "In", values: o.zones ?? zones3 });
  if (o.spreadValues !== null) requirements.push({ key: "pyairtable.io/capacity-spread", operator: "In", values: o.spreadValues ?? spread(1, 10) });
  requirements.push(...(o.extraRequirements ?? []));
  return res(types.nodePool, `pool-${name}`, {
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name, labels: { "pyairtable.io/workload-class": workloadClass } },
    spec: {
      ...(o.limitNodes === null ? {} : { limits: { nodes: o.limitNodes ?? "4" } }),
      template: {
        metadata: { labels: { "pyairtable.io/workload-class": workloadClass } },
        spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" }, requirements },
      },
    },
  });
}

function nodeGroup(name: string, o: { workloadClass?: string; capacityType?: string; desired?: number; max?: unknown; instanceTypes?: string[]; subnets?: string[] } = {}): PlannedResource {
  return res(types.nodeGroup, name, {
    clusterName: "c",
    capacityType: o.capacityType ?? "ON_DEMAND",
    instanceTypes: o.instanceTypes ?? ["m5.large"],
    labels: { "pyairtable.io/workload-class": o.workloadClass ?? "system" },
    scalingConfig: { minSize: 1, desiredSize: o.desired ?? 3, maxSize: o.max ?? 4 },
    subnetIds: o.subnets ?? ["subnet-a", "subnet-b", "subnet-c"],
  });
}

function workload(kind: "Deployment" | "StatefulSet", namespace: string, name: string, pod: R, labels: R = {}): PlannedResource {
  return res(kind === "Deployment" ? types.deployment : types.statefulSet, `${name}-${kind.toLowerCase()}`, {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace, labels },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name, ...labels } }, spec: { containers: [{ name, image: "x" }], ...pod } } },
  });
}

const notification = (threshold: number, o: R = {}) => ({
  comparisonOperator: "GREATER_THAN",
  notificationType: "ACTUAL",
  threshold,
  thresholdType: "PERCENTAGE",
  subscriberSnsTopicArns: ["arn:aws:sns:us-east-1:123456789012:alerts"],
  ...o,
});

const budget = (name: string, timeUnit: string, limitAmount: string, notifications: R[] = [notification(80), notification(95)], extra: R = {}) =>
  res(types.budget, name, { name, budgetType: "COST", timeUnit, limitAmount, limitUnit: "USD", notifications, ...extra });

/** @pulumi/policy's sentinels for values unknown during preview (the analyzer's proxy throws on them). */
const unknownArray = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";
const unknownNumber = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";

const run = (policy: Policies[number], resources: PlannedResource[], config: PolicyPackConfig = {}) => evaluatePolicies([policy], [stackResource, ...resources], config);
const messages = (vs: Violation[]) => vs.map((v) => v.message);

// ---------------------------------------------------------------------------------------------
// The real planned stacks
// ---------------------------------------------------------------------------------------------

/**
 * The plan's resources, plus the catalog's scaling objects rendered from the stack's settings for
 * any service whose HPA / ScaledObject the plan does not (yet) register, so the replica policies
 * are always checked against the stack's real replica ranges.
 */
function stackResources(plan: StackPlan): PlannedResource[] {
  const scaled = new Set(plan.resources.filter((r) => r.type === types.hpa || r.type === types.scaledObject).map((r) => (r.inputs as R).spec?.scaleTargetRef?.name));
  const s = plan.settings;
  const sources = { redis: { mode: "single-node" as const, address: "redis:6379" }, kafka: { bootstrapServers: "kafka:9098" }, sqsQueueUrl: (q: string) => `https://sqs/${q}`, awsRegion: "us-east-1" };
  const rendered = serviceCatalog
    .filter((svc) => !scaled.has(svc.name))
    .map((svc) => {
      const { scaler } = scalingObjectsFor(svc, { environment: s.environment, range: s.services[svc.name]!, schedules: s.schedules, workloads: s.workloads, sources });
      return res(scaler.kind === "HorizontalPodAutoscaler" ? types.hpa : types.scaledObject, `${plan.stack}-${svc.name}-rendered`, scaler as R);
    });
  return [...plan.resources, ...rendered];
}

describe("capacity policies", function () {
  this.timeout(120_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  const resources: Partial<Record<"prod" | "dev", PlannedResource[]>> = {};
  before(async () => {
    for (const stack of ["prod", "dev"] as const) {
      plans[stack] = await planStack(stack);
      resources[stack] = stackResources(plans[stack]!);
    }
  });

  const passesRealStacks = (policy: Policies[number], mustSee: string[]) => {
    for (const stack of ["prod", "dev"] as const) {
      it(`the planned ${stack} stack passes it with the proposed ${stack} config`, async () => {
        const rs = resources[stack]!;
        for (const type of mustSee) assert.ok(rs.some((r) => r.type === type), `${stack}: no ${type} in the plan: the check would be vacuous`);
        assert.deepEqual(messages(await evaluatePolicies([policy], rs, proposed[stack])), []);
      });
    }
  };

  describe("scale-to-zero-allow-list", () => {
    const policy = scaleToZeroAllowList;

    it("allows zero for allow-listed services and non-zero minimums for anyone", async () => {
      const vs = await run(policy, [
        scaledObject("pyairtable-workers", "automation", { minReplicaCount: 0 }),
        scaledObject("pyairtable-workers", "file-processing", {}), // KEDA default 0
        scaledObject("pyairtable-workers", "analytics", { minReplicaCount: 1 }),
        hpa("pyairtable-api", "api-gateway", {}), // HPA default 1
      ]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects zero (explicit, KEDA's default, or idleReplicaCount) for services not on the list", async () => {
      const vs = await run(policy, [
        scaledObject("pyairtable-workers", "analytics", { minReplicaCount: 0 }),
        scaledObject("pyairtable-workers", "notifications", {}),
        scaledObject("pyairtable-workers", "webhooks", { minReplicaCount: 2, idleReplicaCount: 0 }),
        hpa("pyairtable-api", "user-services", { minReplicas: 0 }),
      ]);
      assert.deepEqual(messages(vs), [
        "ScaledObject pyairtable-workers/analytics: min replicas 0 (scale to zero) but 'analytics' is not on the scale-to-zero allow-list (file-processing, automation)",
        "ScaledObject pyairtable-workers/notifications: min replicas 0 (scale to zero) but 'notifications' is not on the scale-to-zero allow-list (file-processing, automation)",
        "ScaledObject pyairtable-workers/webhooks: idleReplicaCount 0 (scale to zero) but 'webhooks' is not on the scale-to-zero allow-list (file-processing, automation)",
        "HPA pyairtable-api/user-services: min replicas 0 (scale to zero) but 'user-services' is not on the scale-to-zero allow-list (file-processing, automation)",
      ]);
      assert.ok(vs.every((v) => v.enforcementLevel === "mandatory" && v.severity === "medium"));
    });

    it("takes the allow-list from the config", async () => {
      const vs = await run(policy, [scaledObject("pyairtable-workers", "analytics", { minReplicaCount: 0 })], { "scale-to-zero-allow-list": { allowedServices: ["analytics"] } });
      assert.deepEqual(messages(vs), []);
    });

    it("cannot judge a minimum that is unknown during preview", async () => {
      const so = scaledObject("pyairtable-workers", "analytics", {});
      (so.inputs as R).spec.minReplicaCount = { __pulumiUnknown: true };
      assert.deepEqual(messages(await run(policy, [so])), []);
    });

    passesRealStacks(policy, [types.scaledObject]);

    it("dev's off-hours scale to zero needs the dev allow-list: the design's list flags it", async () => {
      const vs = await evaluatePolicies([policy], resources.dev!, prodConfig);
      const flagged = [...new Set(vs.map((v) => /'([a-z-]+)' is not on/.exec(v.message)?.[1]))].sort();
      assert.deepEqual(flagged, ["ai-llm", "analytics", "file-service", "notifications", "saga-orchestrator", "webhooks"]);
    });
  });

  describe("production-api-minimum-replicas", () => {
    const policy = productionApiMinimumReplicas;

    it("passes listed services at or above the minimum and ignores others", async () => {
      const vs = await run(policy, [
        hpa("pyairtable-api", "api-gateway", { minReplicas: 2 }),
        hpa("pyairtable-api", "platform-services", { minReplicas: 3 }),
        hpa("pyairtable-api", "user-services", { minReplicas: 1 }),
      ]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects a listed service below the minimum, on an HPA or a ScaledObject", async () => {
      const vs = await run(policy, [
        hpa("pyairtable-api", "api-gateway", { minReplicas: 1 }),
        hpa("pyairtable-api", "platform-services", {}), // HPA default 1
        scaledObject("pyairtable-api", "platform-services", { minReplicaCount: 2, idleReplicaCount: 0 }),
      ]);
      assert.deepEqual(messages(vs), [
        "HPA pyairtable-api/api-gateway: min replicas 1 is below the minimum of 2 for 'api-gateway' (public API path)",
        "HPA pyairtable-api/platform-services: min replicas 1 is below the minimum of 2 for 'platform-services' (public API path)",
        "ScaledObject pyairtable-api/platform-services: idleReplicaCount 0 is below the minimum of 2 for 'platform-services' (public API path)",
      ]);
      assert.ok(vs.every((v) => v.severity === "high"));
    });

    it("the dev config's minimum of 1 still rejects zero", async () => {
      const vs = await run(policy, [hpa("pyairtable-api", "api-gateway", { minReplicas: 1 }), scaledObject("pyairtable-api", "api-gateway", { minReplicaCount: 0 })], devConfig);
      assert.deepEqual(messages(vs), ["ScaledObject pyairtable-api/api-gateway: min replicas 0 is below the minimum of 1 for 'api-gateway' (public API path)"]);
    });

    passesRealStacks(policy, [types.hpa]);

    it("the dev stack's 1-replica API is below the design's minimum (hence the dev config)", async () => {
      const vs = await evaluatePolicies([policy], resources.dev!, prodConfig);
      assert.deepEqual([...new Set(messages(vs))].sort(), [
        "HPA pyairtable-api/api-gateway: min replicas 1 is below the minimum of 2 for 'api-gateway' (public API path)",
        "HPA pyairtable-api/platform-services: min replicas 1 is below the minimum of 2 for 'platform-services' (public API path)",
      ]);
    });
  });

  describe("spot-share-by-workload-class", () => {
    const policy = spotShareByWorkloadClass;
    const designPools = () => [
      nodePool("api-spot", "api", { capacity: ["spot"], spreadValues: spread(1, 3) }),
      nodePool("api-on-demand", "api", { spreadValues: spread(4, 10) }),
      nodePool("batch-spot", "batch", { capacity: ["spot"], spreadValues: spread(1, 9) }),
      nodePool("batch-on-demand", "batch", { spreadValues: ["10"] }),
      nodePool("data-on-demand", "data", {}),
      nodeGroup("system"),
    ];

    it("passes the design's split (api 30%, batch 90%, data and system 0%)", async () => {
      assert.deepEqual(messages(await run(policy, designPools())), []);
    });

    it("reports one violation per class over its limit, on the responsible spot pool", async () => {
      const pools = [
        nodePool("api-spot", "api", { capacity: ["spot"], spreadValues: spread(1, 4) }),
        nodePool("api-on-demand", "api", { spreadValues: spread(5, 10) }),
        nodePool("data-mixed", "data", { capacity: ["spot", "on-demand"] }),
      ];
      const vs = await run(policy, pools);
      assert.deepEqual(messages(vs), [
        "workload class 'api': spot share 40% exceeds the limit of 30%; spot capacity: NodePool api-spot (4 of 10 capacity-spread values)",
        "workload class 'data': spot share 100% exceeds the limit of 0%; spot capacity: NodePool data-mixed (10 of 10 capacity-spread values)",
      ]);
      assert.deepEqual(vs.map((v) => v.urn), [pools[0]!.urn, pools[2]!.urn]);
      assert.ok(vs.every((v) => v.severity === "critical" && v.enforcementLevel === "mandatory"));
    });

    it("counts a spread value owned by a spot and an on-demand pool as spot, and a pool without spread values as owning all", async () => {
      const vs = await run(policy, [
        nodePool("batch-spot", "batch", { capacity: ["spot"], spreadValues: spread(1, 9) }),
        nodePool("batch-on-demand", "batch", { spreadValues: spread(1, 10) }),
        nodePool("api-spot", "api", { capacity: null, spreadValues: null, extraRequirements: [{ key: "karpenter.sh/capacity-type", operator: "Exists" }] }),
        nodePool("api-on-demand", "api", { spreadValues: spread(4, 10) }),
      ]);
      assert.deepEqual(messages(vs), ["workload class 'api': spot share 100% exceeds the limit of 30%; spot capacity: NodePool api-spot (10 of 10 capacity-spread values)"]);
    });

    it("weighs managed node groups by desired size; the dev config allows a spot system class", async () => {
      const groups = [nodeGroup("system-spot", { capacityType: "SPOT", desired: 2 }), nodeGroup("system-od", { desired: 2 })];
      assert.deepEqual(messages(await run(policy, groups)), [
        "workload class 'system': spot share 50% exceeds the limit of 0%; spot capacity: node group system-spot (SPOT, desired 2 of 4 nodes)",
      ]);
      assert.deepEqual(messages(await run(policy, groups, devConfig)), []);
    });

    it("holds a class with no configured limit to 0%", async () => {
      const vs = await run(policy, [nodePool("gpu-spot", "gpu", { capacity: ["spot"] })]);
      assert.deepEqual(messages(vs), ["workload class 'gpu': spot share 100% exceeds the limit of 0% (no spot limit configured for this class); spot capacity: NodePool gpu-spot (10 of 10 capacity-spread values)"]);
    });

    it("rejects spot capacity outside any workload class", async () => {
      const unlabelled = nodePool("misc-spot", "api", { capacity: ["spot"] });
      delete (unlabelled.inputs as R).spec.template.metadata.labels;
      const group = nodeGroup("misc", { capacityType: "SPOT" });
      delete (group.inputs as R).labels;
      const vs = await run(policy, [unlabelled, group, nodeGroup("misc-od", {})]);
      assert.deepEqual(messages(vs), [
        "NodePool misc-spot: spot capacity without a pyairtable.io/workload-class label belongs to no workload class, so no spot limit holds it",
        "node group misc: spot capacity without a pyairtable.io/workload-class label belongs to no workload class, so no spot limit holds it",
      ]);
      assert.deepEqual(vs.map((v) => v.urn), [unlabelled.urn, group.urn]);
    });

    it("keeps the design's limits for classes a partial config leaves out", async () => {
      const vs = await run(policy, [nodePool("api-spot", "api", { capacity: ["spot"], spreadValues: spread(1, 5) }), nodePool("api-od", "api", { spreadValues: spread(6, 10) })], {
        "spot-share-by-workload-class": { maxSpotShare: { system: 1 } },
      });
      assert.deepEqual(messages(vs), ["workload class 'api': spot share 50% exceeds the limit of 30%; spot capacity: NodePool api-spot (5 of 10 capacity-spread values)"]);
    });

    it("cannot judge a class whose pool's requirements are unknown during preview (analyzer proxy)", async () => {
      const pool = nodePool("api-spot", "api", { capacity: ["spot"], spreadValues: spread(1, 5) });
      (pool.inputs as R).spec.template.spec.requirements[0].values = unknownArray;
      const proxied = { ...pool, inputs: unknownCheckingProxy(pool.inputs as R) as R };
      assert.deepEqual(messages(await run(policy, [proxied, nodePool("api-od", "api", { spreadValues: spread(6, 10) })])), []);
    });

    passesRealStacks(policy, [types.nodePool, types.nodeGroup]);

    it("the dev stack's spot system node group is over the design's 0% (hence the dev config)", async () => {
      const vs = await evaluatePolicies([policy], resources.dev!, prodConfig);
      assert.deepEqual(messages(vs), ["workload class 'system': spot share 100% exceeds the limit of 0%; spot capacity: node group pyairtable-dev-cluster-system (SPOT, desired 2 of 2 nodes)"]);
    });
  });

  describe("no-stateful-workloads-on-spot", () => {
    const policy = noStatefulWorkloadsOnSpot;
    const dataPod = { nodeSelector: { "pyairtable.io/workload-class": "data" }, tolerations: [{ key: "pyairtable.io/workload-class", operator: "Equal", value: "data", effect: "NoSchedule" }] };

    it("passes on-demand data pools, data workloads that stay off spot, and spot for other classes", async () => {
      const vs = await run(policy, [
        nodePool("data-on-demand", "data", {}),
        nodePool("batch-spot", "batch", { capacity: ["spot"] }),
        nodeGroup("data-od", { workloadClass: "data" }),
        workload("Deployment", "pyairtable-data", "pgbouncer", dataPod),
        workload("Deployment", "pyairtable-workers", "analytics", { nodeSelector: { "pyairtable.io/workload-class": "batch", "karpenter.sh/capacity-type": "spot" } }),
        workload("StatefulSet", "pyairtable-data", "zookeeper", { ...dataPod, nodeSelector: { ...dataPod.nodeSelector, "karpenter.sh/capacity-type": "on-demand" } }),
      ]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects a data NodePool or node group that allows spot", async () => {
      const vs = await run(policy, [nodePool("data-mixed", "data", { capacity: ["on-demand", "spot"] }), nodeGroup("data-spot", { workloadClass: "data", capacityType: "SPOT" })]);
      assert.deepEqual(messages(vs), [
        "NodePool data-mixed: workload class 'data' holds stateful workloads and must be on-demand only, but the pool allows spot capacity (karpenter.sh/capacity-type)",
        "node group data-spot: workload class 'data' holds stateful workloads and must be on-demand only, but the node group's capacity type is SPOT",
      ]);
      assert.ok(vs.every((v) => v.severity === "critical"));
    });

    it("rejects data Deployments that select or tolerate spot, however they claim the class", async () => {
      const vs = await run(policy, [
        workload("Deployment", "pyairtable-data", "pgbouncer", { ...dataPod, nodeSelector: { ...dataPod.nodeSelector, "karpenter.sh/capacity-type": "spot" } }),
        workload("Deployment", "pyairtable-data", "cache-warmer", {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pyairtable.io/workload-class", operator: "In", values: ["data"] }, { key: "eks.amazonaws.com/capacityType", operator: "In", values: ["SPOT"] }] }] } } },
        }),
        workload("Deployment", "pyairtable-data", "exporter", { tolerations: [{ key: "karpenter.sh/capacity-type", operator: "Equal", value: "spot", effect: "NoSchedule" }] }, { "pyairtable.io/workload-class": "data" }),
        workload("Deployment", "pyairtable-data", "sidecar", { tolerations: [{ operator: "Exists" }] }, { "pyairtable.io/workload-class": "data" }),
      ]);
      assert.deepEqual(messages(vs), [
        "Deployment pyairtable-data/pgbouncer: workload class 'data' is stateful and must not run on spot capacity, but its pod template has nodeSelector karpenter.sh/capacity-type=spot",
        "Deployment pyairtable-data/cache-warmer: workload class 'data' is stateful and must not run on spot capacity, but its pod template has required node affinity eks.amazonaws.com/capacityType In [SPOT]",
        "Deployment pyairtable-data/exporter: workload class 'data' is stateful and must not run on spot capacity, but its pod template has a toleration of karpenter.sh/capacity-type=spot",
        "Deployment pyairtable-data/sidecar: workload class 'data' is stateful and must not run on spot capacity, but its pod template has a toleration of every taint (operator Exists without a key), spot taints included",
      ]);
    });

    it("rejects any StatefulSet that selects spot, even as a preference", async () => {
      const vs = await run(policy, [
        workload("StatefulSet", "pyairtable-workers", "queue", {
          affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: "karpenter.sh/capacity-type", operator: "NotIn", values: ["on-demand"] }] } }] } },
        }),
      ]);
      assert.deepEqual(messages(vs), ["StatefulSet pyairtable-workers/queue: stateful workloads must not run on spot capacity, but its pod template has preferred node affinity karpenter.sh/capacity-type NotIn [on-demand]"]);
    });

    it("cannot judge a pod template that is unknown during preview", async () => {
      const d = workload("Deployment", "pyairtable-data", "pgbouncer", dataPod);
      (d.inputs as R).spec.template.spec.nodeSelector = { __pulumiUnknown: true };
      assert.deepEqual(messages(await run(policy, [d])), []);
    });

    passesRealStacks(policy, [types.nodePool, types.nodeGroup]);
  });

  describe("spot-diversification", () => {
    const policy = spotDiversification;

    it("passes spot pools over enough types and zones, pools selecting by family, and on-demand pools", async () => {
      const vs = await run(policy, [
        nodePool("batch-spot", "batch", { capacity: ["spot"] }),
        nodePool("api-spot", "api", { capacity: ["spot"], instanceTypes: null, extraRequirements: [{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["m5"] }] }),
        nodePool("data-on-demand", "data", { instanceTypes: ["m5.large"], zones: ["us-east-1a"] }),
        nodeGroup("system", { capacityType: "SPOT", instanceTypes: ["t3.medium", "t3a.medium", "t3.large"] }),
        nodeGroup("system-od", { instanceTypes: ["m5.large"] }),
      ]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects spot capacity over too few instance types or zones", async () => {
      const vs = await run(policy, [
        nodePool("api-spot", "api", { capacity: ["spot"], instanceTypes: ["m5.large", "m5a.large"], zones: ["us-east-1a"] }),
        nodePool("batch-spot", "batch", {
          capacity: ["spot", "on-demand"],
          instanceTypes: null,
          extraRequirements: [{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["m5"] }, { key: "karpenter.k8s.aws/instance-size", operator: "In", values: ["large", "xlarge"] }],
        }),
        nodeGroup("pyairtable-dev-system", { capacityType: "SPOT", instanceTypes: ["t3.medium", "t3a.medium"], subnets: ["subnet-a"] }),
        nodeGroup("default-types", { capacityType: "SPOT", instanceTypes: [] }),
      ]);
      assert.deepEqual(messages(vs), [
        "NodePool api-spot: spot capacity over 2 instance type(s) (node.kubernetes.io/instance-type In [m5.large, m5a.large]), fewer than the minimum of 3",
        "NodePool api-spot: spot capacity in 1 availability zone(s) (topology.kubernetes.io/zone In [us-east-1a]), fewer than the minimum of 2",
        "NodePool batch-spot: spot capacity over 2 instance type(s) (at most 1 families x 2 sizes), fewer than the minimum of 3",
        "node group pyairtable-dev-system: SPOT capacity over 2 instance type(s) (t3.medium, t3a.medium), fewer than the minimum of 3",
        "node group pyairtable-dev-system: SPOT capacity in 1 subnet(s), fewer than the minimum of 2 availability zones",
        "node group default-types: SPOT capacity over 1 instance type(s) (none listed: EKS uses t3.medium), fewer than the minimum of 3",
      ]);
      assert.ok(vs.every((v) => v.severity === "high" && v.enforcementLevel === "mandatory"));
    });

    it("takes the minimums from the config", async () => {
      const vs = await run(policy, [nodePool("api-spot", "api", { capacity: ["spot"], instanceTypes: ["m5.large", "m5a.large"] })], { "spot-diversification": { minInstanceTypes: 2 } });
      assert.deepEqual(messages(vs), []);
    });

    passesRealStacks(policy, [types.nodePool, types.nodeGroup]);

    it("the dev system node group is SPOT over three instance types", () => {
      const group = plans.dev!.resources.find((r) => r.type === types.nodeGroup)!.inputs as R;
      assert.equal(group.capacityType, "SPOT");
      assert.ok(group.instanceTypes.length >= 3, `dev system node group instance types: ${group.instanceTypes.join(", ")}`);
    });
  });

  describe("budget-notifications", () => {
    const policy = budgetNotifications;

    it("passes a daily and a monthly budget within the ceilings, alerting at 80% and 95%", async () => {
      const vs = await run(policy, [
        budget("daily", "DAILY", "500"),
        budget("monthly", "MONTHLY", "12000", [notification(80, { subscriberSnsTopicArns: undefined, subscriberEmailAddresses: ["oncall@example.com"] }), notification(95), notification(100, { notificationType: "FORECASTED" })]),
        res(types.budget, "usage", { budgetType: "USAGE", timeUnit: "DAILY", limitAmount: "99999", limitUnit: "GB" }),
      ]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects a missing budget, a limit over the ceiling, a missing threshold and a notification without subscriber", async () => {
      const vs = await run(policy, [
        budget("daily", "DAILY", "750", [notification(80), notification(95, { subscriberSnsTopicArns: [] }), notification(90, { thresholdType: "ABSOLUTE_VALUE" })]),
        res(types.budget, "quarterly", { name: "quarterly", budgetType: "COST", timeUnit: "QUARTERLY", limitAmount: "1" }),
      ]);
      assert.deepEqual(messages(vs), [
        "Budget daily (DAILY): limit 750 USD exceeds the ceiling of 500 USD",
        "Budget daily (DAILY): the ACTUAL notification at 95% of the budget has no subscriber (SNS topic or e-mail address)",
        "no MONTHLY COST budget (aws:budgets/budget:Budget with timeUnit MONTHLY and budgetType COST): monthly spend is not alerted on",
      ]);
      assert.equal(vs[2]!.urn, stackUrn);
      const forecastOnly = await run(policy, [budget("daily", "DAILY", "100"), budget("monthly", "MONTHLY", "100", [notification(80), notification(95, { notificationType: "FORECASTED" })])]);
      assert.deepEqual(messages(forecastOnly), ["Budget monthly (MONTHLY): no ACTUAL notification at 95% of the budget (thresholdType PERCENTAGE, comparisonOperator GREATER_THAN)"]);
      const autoAdjusting = await run(policy, [budget("daily", "DAILY", "100"), budget("monthly", "MONTHLY", "100", undefined, { autoAdjustData: { autoAdjustType: "HISTORICAL", historicalOptions: { budgetAdjustmentPeriod: 3 } } })]);
      assert.deepEqual(messages(autoAdjusting), ["Budget monthly (MONTHLY): the limit auto-adjusts (autoAdjustData), so it cannot be held to the ceiling of 12000 USD"]);
    });

    it("takes thresholds and ceilings from the config", async () => {
      const rs = [budget("daily", "DAILY", "40"), budget("monthly", "MONTHLY", "1500", [notification(80), notification(95)])];
      assert.deepEqual(messages(await run(policy, rs, devConfig)), ["Budget monthly (MONTHLY): limit 1500 USD exceeds the ceiling of 1000 USD"]);
      assert.deepEqual(messages(await run(policy, rs, { "budget-notifications": { thresholdsPercent: [50], maxMonthlyUsd: 2000 } })), [
        "Budget daily (DAILY): no ACTUAL notification at 50% of the budget (thresholdType PERCENTAGE, comparisonOperator GREATER_THAN)",
        "Budget monthly (MONTHLY): no ACTUAL notification at 50% of the budget (thresholdType PERCENTAGE, comparisonOperator GREATER_THAN)",
      ]);
    });

    it("counts a subscriber unknown during preview or masked as present", async () => {
      const vs = await run(policy, [
        budget("daily", "DAILY", "500", [notification(80, { subscriberSnsTopicArns: { __pulumiUnknown: true } }), notification(95, { subscriberSnsTopicArns: undefined, subscriberEmailAddresses: ["[secret]"] })]),
        budget("monthly", "MONTHLY", "12000"),
      ]);
      assert.deepEqual(messages(vs), []);
    });

    passesRealStacks(policy, [types.budget]);
  });

  describe("data-tier-ceilings", () => {
    const policy = dataTierCeilings;
    const tier = (o: { acu?: number; replicas?: number; shardTarget?: number; volumeTarget?: number; shards?: number; brokers?: number; volume?: number; searchNodes?: number } = {}) => [
      res(types.rdsCluster, "db", { clusterIdentifier: "pyairtable-db", engine: "aurora-postgresql", serverlessv2ScalingConfiguration: { minCapacity: 2, maxCapacity: o.acu ?? 16 } }),
      res(types.target, "replicas", { resourceId: "cluster:pyairtable-db", scalableDimension: "rds:cluster:ReadReplicaCount", serviceNamespace: "rds", minCapacity: 0, maxCapacity: o.replicas ?? 15 }),
      res(types.target, "shards", { resourceId: "replication-group/pyairtable-cache", scalableDimension: "elasticache:replication-group:NodeGroups", serviceNamespace: "elasticache", minCapacity: 3, maxCapacity: o.shardTarget ?? 9 }),
      res(types.target, "storage", { resourceId: "arn:aws:kafka:us-east-1:123456789012:cluster/pyairtable-kafka/x", scalableDimension: "kafka:broker-storage:VolumeSize", serviceNamespace: "kafka", minCapacity: 500, maxCapacity: o.volumeTarget ?? 2000 }),
      res(types.target, "ecs", { resourceId: "service/c/s", scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs", minCapacity: 1, maxCapacity: 500 }),
      res(types.redis, "redis", { replicationGroupId: "pyairtable-cache", numNodeGroups: o.shards ?? 3 }),
      res(types.msk, "kafka", { clusterName: "pyairtable-kafka", numberOfBrokerNodes: o.brokers ?? 3, brokerNodeGroupInfo: { storageInfo: { ebsStorageInfo: { volumeSize: o.volume ?? 500 } } } }),
      res(types.search, "search", { domainName: "pyairtable-search", clusterConfig: { instanceCount: o.searchNodes ?? 3 } }),
    ];

    it("passes a data tier at the design's ceilings", async () => {
      assert.deepEqual(messages(await run(policy, tier())), []);
    });

    it("rejects every value over its ceiling", async () => {
      const vs = await run(policy, tier({ acu: 32, replicas: 16, shardTarget: 12, volumeTarget: 8000, shards: 10, brokers: 9, volume: 5000, searchNodes: 8 }));
      assert.deepEqual(messages(vs), [
        "Aurora cluster pyairtable-db: Serverless v2 max capacity 32 ACU exceeds the ceiling of 16 ACU",
        "Application Auto Scaling target cluster:pyairtable-db (rds:cluster:ReadReplicaCount): max capacity 16 exceeds the ceiling of 15 read replicas",
        "Application Auto Scaling target replication-group/pyairtable-cache (elasticache:replication-group:NodeGroups): max capacity 12 exceeds the ceiling of 9 shards",
        "Application Auto Scaling target arn:aws:kafka:us-east-1:123456789012:cluster/pyairtable-kafka/x (kafka:broker-storage:VolumeSize): max capacity 8000 exceeds the ceiling of 4000 GiB per broker",
        "ElastiCache replication group pyairtable-cache: 10 shards (numNodeGroups) exceeds the ceiling of 9 shards",
        "MSK cluster pyairtable-kafka: 9 broker nodes exceeds the ceiling of 6 brokers",
        "MSK cluster pyairtable-kafka: broker volume 5000 GiB exceeds the ceiling of 4000 GiB per broker",
        "OpenSearch domain pyairtable-search: 8 data nodes (clusterConfig.instanceCount) exceeds the ceiling of 6 data nodes",
      ]);
      assert.ok(vs.every((v) => v.severity === "high" && v.enforcementLevel === "mandatory"));
    });

    it("applies the dev config's lower ceilings", async () => {
      const vs = await run(policy, tier({ acu: 8, replicas: 1, shardTarget: 3, volumeTarget: 100, shards: 3, brokers: 3, volume: 50, searchNodes: 1 }), devConfig);
      assert.deepEqual(messages(vs), ["Aurora cluster pyairtable-db: Serverless v2 max capacity 8 ACU exceeds the ceiling of 4 ACU"]);
    });

    it("cannot judge values unknown during preview (analyzer proxy)", async () => {
      const [db] = tier({ acu: 64 });
      const inputs = { ...(db!.inputs as R), serverlessv2ScalingConfiguration: { minCapacity: 2, maxCapacity: unknownNumber } };
      assert.deepEqual(messages(await run(policy, [{ ...db!, inputs: unknownCheckingProxy(inputs) as R }])), []);
    });

    passesRealStacks(policy, [types.rdsCluster, types.target, types.redis, types.msk, types.search]);
  });

  describe("node-count-ceiling", () => {
    const policy = nodeCountCeiling;

    it("passes when node groups' maxima and pool limits add up to at most the ceiling", async () => {
      const vs = await run(policy, [nodeGroup("system", { max: 4 }), nodePool("api-spot", "api", { limitNodes: "3" }), nodePool("api-on-demand", "api", { limitNodes: 9 }), nodePool("batch-spot", "batch", { limitNodes: "24" })]);
      assert.deepEqual(messages(vs), []);
    });

    it("rejects a total over the ceiling", async () => {
      const vs = await run(policy, [nodeGroup("system", { max: 4 }), nodePool("api-spot", "api", { limitNodes: "3" }), nodePool("batch-spot", "batch", { limitNodes: "34" })]);
      assert.deepEqual(messages(vs), ["the cluster can grow to 41 nodes (node group system 4, NodePool api-spot 3, NodePool batch-spot 34), more than the ceiling of 40"]);
      assert.equal(vs[0]!.urn, stackUrn);
      assert.equal(vs[0]!.severity, "high");
    });

    it("rejects a NodePool without a node limit (unbounded)", async () => {
      const pools = [nodeGroup("system", { max: 3 }), nodePool("batch-spot", "batch", { limitNodes: null }), nodePool("api-spot", "api", { limitNodes: "lots" })];
      const vs = await run(policy, pools, devConfig);
      assert.deepEqual(messages(vs), [
        "NodePool batch-spot: no spec.limits.nodes, so its node count is unbounded (the cluster's ceiling is 12 nodes)",
        "NodePool api-spot: spec.limits.nodes 'lots' is not a whole node count, so its node count is unbounded",
      ]);
      assert.deepEqual(vs.map((v) => v.urn), [pools[1]!.urn, pools[2]!.urn]);
      const over = await run(policy, [nodeGroup("system", { max: 3 }), nodePool("batch-spot", "batch", { limitNodes: null }), nodePool("api-spot", "api", { limitNodes: "10" })], devConfig);
      assert.equal(over[1]!.message, "the cluster can grow to at least 13 nodes (node group system 3, NodePool api-spot 10), more than the ceiling of 12");
    });

    it("cannot judge the total when a maximum is unknown during preview", async () => {
      const vs = await run(policy, [nodeGroup("system", { max: { __pulumiUnknown: true } }), nodePool("batch-spot", "batch", { limitNodes: "30" })]);
      assert.deepEqual(messages(vs), []);
    });

    passesRealStacks(policy, [types.nodePool, types.nodeGroup]);
  });

  describe("under the analyzer's unknown-checking proxy (a real preview's props)", () => {
    const proxied = (rs: PlannedResource[]) => rs.map((r) => ({ ...r, inputs: unknownCheckingProxy(structuredClone(r.inputs)) as R }));
    const cases: [Policies[number], () => PlannedResource[]][] = [
      [scaleToZeroAllowList, () => [scaledObject("pyairtable-workers", "analytics", { idleReplicaCount: 0, minReplicaCount: 1 }), hpa("pyairtable-api", "user-services", { minReplicas: 0 })]],
      [productionApiMinimumReplicas, () => [hpa("pyairtable-api", "api-gateway", { minReplicas: 1 })]],
      [spotShareByWorkloadClass, () => [nodePool("api-spot", "api", { capacity: ["spot"], spreadValues: spread(1, 4) }), nodePool("api-od", "api", { spreadValues: spread(5, 10) }), nodeGroup("system", { capacityType: "SPOT" })]],
      [noStatefulWorkloadsOnSpot, () => [nodePool("data-mixed", "data", { capacity: ["spot", "on-demand"] }), workload("Deployment", "pyairtable-data", "pgbouncer", { nodeSelector: { "pyairtable.io/workload-class": "data" }, tolerations: [{ operator: "Exists" }] })]],
      [spotDiversification, () => [nodePool("api-spot", "api", { capacity: ["spot"], instanceTypes: ["m5.large"], zones: ["us-east-1a"] }), nodeGroup("system", { capacityType: "SPOT", instanceTypes: ["t3.medium"] })]],
      [budgetNotifications, () => [budget("daily", "DAILY", "600", [notification(80), notification(95, { subscriberSnsTopicArns: [] })])]],
      [dataTierCeilings, () => [res(types.msk, "kafka", { clusterName: "k", numberOfBrokerNodes: 9, brokerNodeGroupInfo: { storageInfo: { ebsStorageInfo: { volumeSize: 5000 } } } })]],
      [nodeCountCeiling, () => [nodeGroup("system", { max: 4 }), nodePool("batch-spot", "batch", { limitNodes: "40" }), nodePool("api-spot", "api", { limitNodes: null })]],
    ];
    for (const [policy, make] of cases) {
      it(`${policy.name}: reports the same violations`, async () => {
        const plain = messages(await run(policy, make()));
        assert.ok(plain.length > 0, "the case must fail");
        assert.deepEqual(messages(await run(policy, proxied(make()))), plain);
      });
    }
  });

  describe("config schemas", () => {
    const cases: [Policies[number], Record<string, unknown>, RegExp][] = [
      [scaleToZeroAllowList, { allowedServices: "automation" }, /policy config for 'scale-to-zero-allow-list' is invalid: \/allowedServices must be array/],
      [productionApiMinimumReplicas, { minimumReplicas: 0 }, /policy config for 'production-api-minimum-replicas' is invalid: \/minimumReplicas must be >= 1/],
      [spotShareByWorkloadClass, { maxSpotShare: { api: 1.5 } }, /policy config for 'spot-share-by-workload-class' is invalid: \/maxSpotShare\/api must be <= 1/],
      [noStatefulWorkloadsOnSpot, { statefulClasses: [] }, /policy config for 'no-stateful-workloads-on-spot' is invalid: \/statefulClasses must NOT have fewer than 1 items/],
      [spotDiversification, { minZones: 1.5 }, /policy config for 'spot-diversification' is invalid: \/minZones must be integer/],
      [budgetNotifications, { thresholdsPercent: [80, 0] }, /policy config for 'budget-notifications' is invalid: \/thresholdsPercent\/1 must be > 0/],
      [dataTierCeilings, { maxReadReplicas: 16 }, /policy config for 'data-tier-ceilings' is invalid: \/maxReadReplicas must be <= 15/],
      [nodeCountCeiling, { maxNodes: 40, maxPods: 100 }, /policy config for 'node-count-ceiling' is invalid: \(root\) must NOT have additional properties 'maxPods'/],
    ];
    for (const [policy, bad, expected] of cases) {
      it(`${policy.name}: rejects bad config and fills the design's defaults`, () => {
        assert.throws(() => resolvePolicyConfig(policy, { [policy.name]: bad }), (e: unknown) => e instanceof PolicyConfigError && expected.test((e as Error).message));
        const defaults = resolvePolicyConfig(policy, {});
        assert.deepEqual(defaults, resolvePolicyConfig(policy, prodConfig), "the prod config is the design's defaults");
        assert.doesNotThrow(() => resolvePolicyConfig(policy, devConfig));
      });
    }

    it("defaults are the design's values", () => {
      assert.deepEqual(resolvePolicyConfig(spotShareByWorkloadClass, {}), { maxSpotShare: { batch: 0.9, api: 0.3, data: 0, system: 0 } });
      assert.deepEqual(resolvePolicyConfig(budgetNotifications, {}), { thresholdsPercent: [80, 95], maxDailyUsd: 500, maxMonthlyUsd: 12000 });
      assert.deepEqual(resolvePolicyConfig(nodeCountCeiling, {}), { maxNodes: 40 });
      assert.deepEqual(resolvePolicyConfig(spotShareByWorkloadClass, { "spot-share-by-workload-class": { maxSpotShare: { system: 1 } } }), { maxSpotShare: { system: 1, batch: 0.9, api: 0.3, data: 0 } });
    });

    it("every policy is mandatory with a stable kebab-case name, remediation steps and a config schema", () => {
      const all = [scaleToZeroAllowList, productionApiMinimumReplicas, spotShareByWorkloadClass, noStatefulWorkloadsOnSpot, spotDiversification, budgetNotifications, dataTierCeilings, nodeCountCeiling];
      assert.deepEqual(all.map((p) => [p.name, p.enforcementLevel, p.severity]), [
        ["scale-to-zero-allow-list", "mandatory", "medium"],
        ["production-api-minimum-replicas", "mandatory", "high"],
        ["spot-share-by-workload-class", "mandatory", "critical"],
        ["no-stateful-workloads-on-spot", "mandatory", "critical"],
        ["spot-diversification", "mandatory", "high"],
        ["budget-notifications", "mandatory", "high"],
        ["data-tier-ceilings", "mandatory", "high"],
        ["node-count-ceiling", "mandatory", "high"],
      ]);
      for (const p of all) {
        assert.match(p.name, /^[a-z]+(-[a-z]+)*$/);
        assert.ok(p.description && p.remediationSteps && p.configSchema, p.name);
      }
    });
  });
});
