import { strict as assert } from "node:assert";
import { unknownCheckingProxy, type PolicyResource, type StackValidationPolicy } from "@pulumi/policy";
import * as policyProxy from "@pulumi/policy/proxy";
import { evaluatePolicies } from "../support/policyEvaluation";
import { PolicyConfigError, resolvePolicyConfig, type PolicyPackConfig } from "../../lib/policy/evaluate";
import { planStack, type StackPlan } from "../support/plans";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { serviceCatalog, type ServiceDefinition } from "../../lib/catalog/services";
import { scalingObjectsFor } from "../../lib/scaling/workloads";
import { deploymentType, hpaType, nodeClassType, pdbType, scaledObjectType, vpaType } from "../../policies/lib";
import { vpaDoesNotFightHorizontalScaler } from "../../policies/rules/vpaDoesNotFightHorizontalScaler";
import { scaledObjectFallback } from "../../policies/rules/scaledObjectFallback";
import { scaleDownStabilization } from "../../policies/rules/scaleDownStabilization";
import { scaledServicesHavePdb } from "../../policies/rules/scaledServicesHavePdb";
import { encryptionAtRestWithCustomerKeys } from "../../policies/rules/encryptionAtRestWithCustomerKeys";
import { encryptionInTransit } from "../../policies/rules/encryptionInTransit";
import { eksEndpointRestricted } from "../../policies/rules/eksEndpointRestricted";
import { eksPublicAccessCidrsNotPlaceholders } from "../../policies/rules/eksPublicAccessCidrsNotPlaceholders";
import { productionDatabaseProtection } from "../../policies/rules/productionDatabaseProtection";
import { imdsv2Required } from "../../policies/rules/imdsv2Required";
import { s3PublicAccessBlocked } from "../../policies/rules/s3PublicAccessBlocked";
import { kmsKeyRotation } from "../../policies/rules/kmsKeyRotation";
import { loggingEnabled } from "../../policies/rules/loggingEnabled";
import { loadStackSettings, repoRoot, stacks } from "../support/stacks";
import { loadPolicyConfig, policyConfigPath } from "../../lib/plan/review";

/** The shipped policy config of a stack (policies/config/<stack>.json). */
const packConfig = (stack: "prod" | "dev") => loadPolicyConfig(policyConfigPath(repoRoot, stack));

type Inputs = Record<string, any>;
type Policy = Parameters<typeof evaluatePolicies>[0][number];

/** The analyzer's sentinels for values unknown during a preview (internal to @pulumi/policy). */
const unknownValues = policyProxy as unknown as { unknownStringValue: string; unknownBooleanValue: string; unknownArrayValue: string };

const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
function resource(type: string, name: string, inputs: Inputs): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: stackUrn, custom: true, inputs };
}
/**
 * `r` with `prop` depending on the resource `type`/`name`, as the engine records an output passed as an
 * input (the value is then the mocks' stand-in id, which the policies do not guess at).
 */
function linked(r: PlannedResource, prop: string, type: string, name: string): PlannedResource {
  const urn = resource(type, name, {}).urn;
  return { ...r, dependencies: [urn], propertyDependencies: { [prop]: [urn] } };
}
const kinds: Record<string, [string, string]> = {
  [hpaType]: ["autoscaling/v2", "HorizontalPodAutoscaler"],
  [scaledObjectType]: ["keda.sh/v1alpha1", "ScaledObject"],
  [vpaType]: ["autoscaling.k8s.io/v1", "VerticalPodAutoscaler"],
  [pdbType]: ["policy/v1", "PodDisruptionBudget"],
  [deploymentType]: ["apps/v1", "Deployment"],
  [nodeClassType]: ["karpenter.k8s.aws/v1", "EC2NodeClass"],
};
function k8s(type: string, namespace: string | undefined, name: string, spec: Inputs): PlannedResource {
  const [apiVersion, kind] = kinds[type]!;
  return resource(type, `${namespace ?? "cluster"}-${name}-${kind.toLowerCase()}`, { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec });
}
async function messages(policy: Policy, resources: PlannedResource[], config: PolicyPackConfig = {}): Promise<string[]> {
  return (await evaluatePolicies([policy], resources, config)).map((v) => v.message);
}

/**
 * Runs a stack policy the way the analyzer does during a real preview: props behind the
 * unknown-checking proxy and property dependencies between resources (the offline evaluator has neither).
 */
async function previewStack(policy: StackValidationPolicy, resources: { type: string; name: string; props: Inputs; deps?: Record<string, string[]> }[], config: Inputs = {}) {
  const byName = new Map<string, PolicyResource>();
  const all = resources.map((r) => {
    const pr = {
      type: r.type, name: r.name, urn: `urn:pulumi:test::autoscaling::${r.type}::${r.name}`,
      props: unknownCheckingProxy(r.props), opts: {} as PolicyResource["opts"], dependencies: [], propertyDependencies: {},
      isType: (cls: { __pulumiType?: string }) => cls.__pulumiType === r.type,
      asType: () => undefined,
    } as unknown as PolicyResource;
    byName.set(r.name, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    for (const [prop, names] of Object.entries(r.deps ?? {})) all[i]!.propertyDependencies[prop] = names.map((n) => byName.get(n)!);
  });
  const found: { message: string; urn?: string }[] = [];
  await policy.validateStack(
    { resources: all, getConfig: <T>() => resolvePolicyConfig(policy, { [policy.name]: config }) as T, stackTags: new Map(), notApplicable: () => { throw new Error("not applicable"); } },
    (message, urn) => found.push({ message, urn }),
  );
  return found.map((f) => f.message);
}

const allowedTls = ["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"];

/** The policy config proposed for the stacks (policies/config/<stack>.json). */
const proposedConfig: Record<(typeof stacks)[number], PolicyPackConfig> = {
  prod: {
    "vpa-does-not-fight-horizontal-scaler": { resources: ["cpu", "memory"] },
    "scaled-object-has-fallback": { minFailureThreshold: 1 },
    "scale-down-stabilization": { minSeconds: 300, maxPercentPerMinute: 10 },
    "scaled-services-have-pdb": { labelKey: "app.kubernetes.io/name" },
    "encryption-at-rest-with-customer-keys": { allowSqsManagedSse: true },
    "encryption-in-transit": { allowedTlsSecurityPolicies: allowedTls },
    "eks-public-endpoint-restricted": { allowOpenEndpoint: false },
    "production-database-protection": { minBackupRetentionDays: 7 },
    "imdsv2-required": { maxHopLimit: 1 },
    "s3-public-access-blocked": { exemptBuckets: [] },
    "kms-key-rotation": { maxRotationPeriodDays: 365 },
    "logging-enabled": { eksLogTypes: ["api", "audit", "authenticator"], auroraPostgresqlLogExports: ["postgresql"], openSearchLogTypes: ["AUDIT_LOGS", "ES_APPLICATION_LOGS"], requireVpcFlowLogs: true },
  },
  dev: {
    "vpa-does-not-fight-horizontal-scaler": { resources: ["cpu", "memory"] },
    "scaled-object-has-fallback": { minFailureThreshold: 1 },
    "scale-down-stabilization": { minSeconds: 300, maxPercentPerMinute: 10 },
    "scaled-services-have-pdb": { labelKey: "app.kubernetes.io/name" },
    "encryption-at-rest-with-customer-keys": { allowSqsManagedSse: true },
    "encryption-in-transit": { allowedTlsSecurityPolicies: allowedTls },
    "eks-public-endpoint-restricted": { allowOpenEndpoint: false },
    // Dev's database is disposable (no deletion protection, 1-day backups, no final snapshot).
    "production-database-protection": { enforcementLevel: "disabled" },
    "imdsv2-required": { maxHopLimit: 1 },
    "s3-public-access-blocked": { exemptBuckets: [] },
    "kms-key-rotation": { maxRotationPeriodDays: 365 },
    "logging-enabled": { eksLogTypes: ["api", "audit", "authenticator"], auroraPostgresqlLogExports: ["postgresql"], openSearchLogTypes: ["AUDIT_LOGS", "ES_APPLICATION_LOGS"], requireVpcFlowLogs: true },
  },
};

const policies: { policy: Policy; name: string; level: string; severity: string; defaults: Inputs; bad: Inputs }[] = [
  { policy: vpaDoesNotFightHorizontalScaler, name: "vpa-does-not-fight-horizontal-scaler", level: "mandatory", severity: "high", defaults: { resources: ["cpu", "memory"] }, bad: { resources: ["gpu"] } },
  { policy: scaledObjectFallback, name: "scaled-object-has-fallback", level: "mandatory", severity: "high", defaults: { minFailureThreshold: 1 }, bad: { minFailureThreshold: 0 } },
  { policy: scaleDownStabilization, name: "scale-down-stabilization", level: "mandatory", severity: "medium", defaults: { minSeconds: 300, maxPercentPerMinute: 10 }, bad: { maxPercentPerMinute: 0 } },
  { policy: scaledServicesHavePdb, name: "scaled-services-have-pdb", level: "mandatory", severity: "medium", defaults: { labelKey: "app.kubernetes.io/name" }, bad: { labelKey: "" } },
  { policy: encryptionAtRestWithCustomerKeys, name: "encryption-at-rest-with-customer-keys", level: "mandatory", severity: "critical", defaults: { allowSqsManagedSse: true }, bad: { allowSqsManagedSse: "yes" } },
  { policy: encryptionInTransit, name: "encryption-in-transit", level: "mandatory", severity: "critical", defaults: { allowedTlsSecurityPolicies: allowedTls }, bad: { allowedTlsSecurityPolicies: ["Policy-Min-TLS-1-0-2019-07"] } },
  { policy: eksEndpointRestricted, name: "eks-public-endpoint-restricted", level: "mandatory", severity: "critical", defaults: { allowOpenEndpoint: false }, bad: { allowOpenEndpoint: "false" } },
  { policy: productionDatabaseProtection, name: "production-database-protection", level: "mandatory", severity: "high", defaults: { minBackupRetentionDays: 7 }, bad: { minBackupRetentionDays: 0 } },
  { policy: imdsv2Required, name: "imdsv2-required", level: "mandatory", severity: "high", defaults: { maxHopLimit: 1 }, bad: { maxHopLimit: 0 } },
  { policy: s3PublicAccessBlocked, name: "s3-public-access-blocked", level: "mandatory", severity: "critical", defaults: { exemptBuckets: [] }, bad: { exemptBuckets: "all" } },
  { policy: kmsKeyRotation, name: "kms-key-rotation", level: "mandatory", severity: "medium", defaults: { maxRotationPeriodDays: 365 }, bad: { maxRotationPeriodDays: 3000 } },
  {
    policy: loggingEnabled, name: "logging-enabled", level: "advisory", severity: "medium",
    defaults: { eksLogTypes: ["api", "audit", "authenticator"], auroraPostgresqlLogExports: ["postgresql"], openSearchLogTypes: ["AUDIT_LOGS", "ES_APPLICATION_LOGS"], requireVpcFlowLogs: true },
    bad: { eksLogTypes: ["everything"] },
  },
];

describe("safety and security policies", function () {
  this.timeout(120_000);

  describe("metadata and config schemas", () => {
    for (const p of policies) {
      it(`${p.name}: level, severity, schema defaults are the design's, bad config is rejected`, () => {
        assert.equal(p.policy.name, p.name);
        assert.equal(p.policy.enforcementLevel, p.level);
        assert.equal(p.policy.severity, p.severity);
        assert.ok(p.policy.description && p.policy.remediationSteps);
        assert.deepEqual(resolvePolicyConfig(p.policy, {}), p.defaults);
        assert.throws(() => resolvePolicyConfig(p.policy, { [p.name]: p.bad }), PolicyConfigError);
        assert.throws(() => resolvePolicyConfig(p.policy, { [p.name]: { unknownKey: 1 } }), /unknownKey/);
        for (const stack of stacks) resolvePolicyConfig(p.policy, proposedConfig[stack]);
      });
    }
  });

  describe("the planned stacks pass with the proposed config", () => {
    const plans: Partial<Record<(typeof stacks)[number], StackPlan>> = {};
    before(async () => {
      plans.prod = await planStack("prod");
      plans.dev = await planStack("dev");
    });
    for (const stack of stacks) {
      for (const p of policies) {
        it(`${stack}: ${p.name}`, async () => {
          assert.deepEqual(await messages(p.policy, plans[stack]!.resources, proposedConfig[stack]), []);
        });
      }
    }
    it("dev's database would fail production-database-protection, hence disabled there", async () => {
      assert.deepEqual(await messages(productionDatabaseProtection, plans.dev!.resources), [
        "Aurora cluster pyairtable-dev-database-cluster: deletionProtection is false: the cluster can be deleted by a destroy or a replacement",
        "Aurora cluster pyairtable-dev-database-cluster: backupRetentionPeriod 1 day is below the minimum of 7 days",
        "Aurora cluster pyairtable-dev-database-cluster: skipFinalSnapshot is true: deleting the cluster would keep no final snapshot",
      ]);
    });

    /** A copy of a planned stack with the inputs of one resource (by type) edited. */
    const mutated = (stack: "prod" | "dev", edits: Record<string, (inputs: Inputs) => void>) => {
      const resources = structuredClone(plans[stack]!.resources);
      for (const [type, edit] of Object.entries(edits)) {
        const r = resources.find((x) => x.type === type);
        assert.ok(r, `${type} is planned`);
        edit(r.inputs as Inputs);
      }
      return resources;
    };

    it("encryption-in-transit catches plain-text settings on the real data services", async () => {
      const resources = mutated("prod", {
        "aws:elasticache/replicationGroup:ReplicationGroup": (i) => { i.transitEncryptionEnabled = false; },
        "aws:msk/cluster:Cluster": (i) => { i.encryptionInfo.encryptionInTransit = { clientBroker: "TLS_PLAINTEXT", inCluster: false }; },
        "aws:opensearch/domain:Domain": (i) => { i.domainEndpointOptions.tlsSecurityPolicy = "Policy-Min-TLS-1-0-2019-07"; i.nodeToNodeEncryption.enabled = false; },
        "aws:rds/clusterParameterGroup:ClusterParameterGroup": (i) => { i.parameters[0].value = "0"; },
      });
      assert.deepEqual((await messages(encryptionInTransit, resources)).sort(), [
        "MSK cluster pyairtable-prod-streaming-cluster: encryptionInTransit.clientBroker is \"TLS_PLAINTEXT\": clients may connect in plain text; use \"TLS\"",
        "MSK cluster pyairtable-prod-streaming-cluster: encryptionInTransit.inCluster is false: brokers replicate in plain text",
        "OpenSearch domain pyairtable-prod-search-domain: domainEndpointOptions.tlsSecurityPolicy is \"Policy-Min-TLS-1-0-2019-07\", not one of Policy-Min-TLS-1-2-2019-07, Policy-Min-TLS-1-2-PFS-2023-10 (TLS 1.2 minimum)",
        "OpenSearch domain pyairtable-prod-search-domain: nodeToNodeEncryption.enabled is false: nodes talk in plain text",
        "Aurora cluster pyairtable-prod-database-cluster: cluster parameter group pyairtable-prod-database-params sets rds.force_ssl to \"0\": connections without TLS are accepted; set it to 1",
        "ElastiCache replication group pyairtable-prod-cache-redis: transitEncryptionEnabled is false: clients connect in plain text",
      ].sort());
    });

    it("encryption-at-rest catches a missing key on the real stack's resources", async () => {
      const resources = mutated("prod", {
        "aws:rds/cluster:Cluster": (i) => { delete i.kmsKeyId; },
        "aws:cloudwatch/logGroup:LogGroup": (i) => { delete i.kmsKeyId; },
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": (i) => { i.spec.blockDeviceMappings[0].ebs.encrypted = false; },
      });
      assert.deepEqual((await messages(encryptionAtRestWithCustomerKeys, resources)).sort(), [
        "log group /aws/vpc/pyairtable-prod-network/flow-logs: kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "Aurora cluster pyairtable-prod-database-cluster: kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "EC2NodeClass default volume /dev/xvda: ebs.encrypted is false: data at rest is not encrypted",
      ].sort());
    });

    it("logging-enabled reports missing logs and flow logs on the real stack, as advisory", async () => {
      const resources = mutated("prod", {
        "eks:index:Cluster": (i) => { i.enabledClusterLogTypes = ["api"]; },
        "aws:rds/cluster:Cluster": (i) => { i.enabledCloudwatchLogsExports = []; },
        "aws:elasticache/replicationGroup:ReplicationGroup": (i) => { delete i.logDeliveryConfigurations; },
        "aws:msk/cluster:Cluster": (i) => { i.loggingInfo.brokerLogs.cloudwatchLogs.enabled = false; },
        "aws:opensearch/domain:Domain": (i) => { i.logPublishingOptions = i.logPublishingOptions.filter((o: Inputs) => o.logType !== "AUDIT_LOGS"); },
      }).filter((r) => r.type !== "aws:ec2/flowLog:FlowLog");
      const violations = await evaluatePolicies([loggingEnabled], resources, proposedConfig.prod);
      assert.ok(violations.every((v) => v.enforcementLevel === "advisory"));
      assert.deepEqual(violations.map((v) => v.message).sort(), [
        "Aurora cluster pyairtable-prod-database-cluster: log exports postgresql are not enabled (enabledCloudwatchLogsExports)",
        "EKS cluster pyairtable-prod-cluster-eks: control-plane log types audit, authenticator are not enabled (enabledClusterLogTypes)",
        "ElastiCache replication group pyairtable-prod-cache-redis: no logDeliveryConfigurations: slow and engine logs are not delivered",
        "MSK cluster pyairtable-prod-streaming-cluster: broker logs are not delivered anywhere (loggingInfo.brokerLogs)",
        "OpenSearch domain pyairtable-prod-search-domain: log types AUDIT_LOGS are not published (logPublishingOptions)",
        "VPC pyairtable-prod-network-vpc: no flow log (aws.ec2.FlowLog with vpcId referring to it)",
      ]);
    });

    it("eks-public-endpoint-restricted catches an open endpoint in the real stack", async () => {
      const resources = mutated("dev", { "eks:index:Cluster": (i) => { i.endpointPublicAccess = true; i.publicAccessCidrs = ["0.0.0.0/0"]; } });
      assert.deepEqual(await messages(eksEndpointRestricted, resources, proposedConfig.dev), [
        "EKS cluster pyairtable-dev-cluster-eks: the public API endpoint is open to 0.0.0.0/0; restrict autoscaling:cluster.publicAccessCidrs to the operators' networks",
      ]);
    });

    it("in the shipped stacks opened with the former placeholder: prod fails (mandatory), dev warns (advisory)", async () => {
      for (const stack of stacks) {
        const resources = mutated(stack, { "eks:index:Cluster": (i) => { i.endpointPublicAccess = true; i.publicAccessCidrs = ["203.0.113.0/24"]; } });
        const found = await evaluatePolicies([eksPublicAccessCidrsNotPlaceholders], resources, packConfig(stack));
        assert.equal(found.length, 1, stack);
        assert.equal(found[0]!.enforcementLevel, stack === "prod" ? "mandatory" : "advisory");
        assert.match(found[0]!.message, /autoscaling:cluster\.publicAccessCidrs lists 203\.0\.113\.0\/24, a documentation range/);
      }
    });

    it("both shipped stacks keep the API endpoint private (no placeholder CIDRs to replace)", () => {
      for (const stack of stacks) {
        const cluster = plans[stack]!.resources.find((r) => r.type === "eks:index:Cluster")!;
        assert.equal(cluster.inputs.endpointPublicAccess, false, stack);
        assert.equal(cluster.inputs.endpointPrivateAccess, true, stack);
        assert.equal(cluster.inputs.publicAccessCidrs, undefined, stack);
      }
    });
  });

  describe("the scaling objects lib/scaling/workloads.ts builds pass the safety policies", () => {
    const sources = {
      redis: { mode: "cluster" as const, address: "redis.example.internal:6379" },
      kafka: { bootstrapServers: "b-1.kafka.example.internal:9098" },
      sqsQueueUrl: (q: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${q}`,
      awsRegion: "us-east-1",
    };
    for (const stack of stacks) {
      it(`${stack}: every catalog service's HPA / ScaledObject, VPA and PDB`, async () => {
        const s = loadStackSettings(stack);
        const resources: PlannedResource[] = [];
        for (const service of serviceCatalog as readonly ServiceDefinition[]) {
          const { scaler, vpa, pdb } = scalingObjectsFor(service, { environment: s.environment, range: s.services[service.name]!, schedules: s.schedules, workloads: s.workloads, sources });
          const scalerType = scaler.kind === "HorizontalPodAutoscaler" ? hpaType : scaledObjectType;
          resources.push(resource(scalerType, `${service.name}-scaler`, scaler as unknown as Inputs));
          resources.push(resource(vpaType, `${service.name}-vpa`, vpa as unknown as Inputs));
          resources.push(resource(pdbType, `${service.name}-pdb`, pdb as unknown as Inputs));
        }
        assert.ok(resources.some((r) => r.type === hpaType) && resources.some((r) => r.type === scaledObjectType));
        const safety = [vpaDoesNotFightHorizontalScaler, scaledObjectFallback, scaleDownStabilization, scaledServicesHavePdb];
        assert.deepEqual((await evaluatePolicies(safety, resources, proposedConfig[stack])).map((v) => v.message), []);
      });
    }
  });

  describe("vpa-does-not-fight-horizontal-scaler", () => {
    const hpa = (namespace: string, name: string, metrics: Inputs[]) =>
      k8s(hpaType, namespace, name, { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name }, minReplicas: 2, maxReplicas: 25, metrics });
    const cpu = { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } };
    const memory = { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } };
    const rps = { type: "Pods", pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "100" } } };
    const vpa = (namespace: string, name: string, spec: Inputs) =>
      k8s(vpaType, namespace, name, { targetRef: { apiVersion: "apps/v1", kind: "Deployment", name }, ...spec });
    const containerPolicy = (containerName: string, extra: Inputs = {}) => ({ containerName, mode: "Auto", ...extra });

    it("passes a VPA that controls only what the HPA does not use, or only recommends", async () => {
      assert.deepEqual(await messages(vpaDoesNotFightHorizontalScaler, [
        hpa("pyairtable-api", "user-services", [cpu, rps]),
        vpa("pyairtable-api", "user-services", { updatePolicy: { updateMode: "InPlaceOrRecreate" }, resourcePolicy: { containerPolicies: [containerPolicy("user-services", { controlledResources: ["memory"] })] } }),
        hpa("pyairtable-api", "api-gateway", [cpu, memory, rps]),
        vpa("pyairtable-api", "api-gateway", { updatePolicy: { updateMode: "Off" }, resourcePolicy: { containerPolicies: [containerPolicy("api-gateway")] } }),
        // A VPA on another workload, or in another namespace, is not this HPA's concern.
        vpa("pyairtable-workers", "user-services", { updatePolicy: { updateMode: "Auto" } }),
      ]), []);
    });

    it("reports a container policy that controls the HPA's resource (controlledResources defaults to cpu and memory)", async () => {
      assert.deepEqual(await messages(vpaDoesNotFightHorizontalScaler, [
        hpa("pyairtable-api", "api-gateway", [cpu, rps]),
        vpa("pyairtable-api", "api-gateway", { resourcePolicy: { containerPolicies: [containerPolicy("api-gateway"), containerPolicy("istio-proxy", { mode: "Off" })] } }),
      ]), [
        "VPA pyairtable-api/api-gateway (updateMode Auto): container 'api-gateway' controls cpu, which HPA pyairtable-api/api-gateway scales Deployment/api-gateway on; leave it out of controlledResources or set updateMode \"Off\"",
      ]);
    });

    it("reports a VPA without container policies against a ScaledObject's cpu/memory triggers", async () => {
      const so = k8s(scaledObjectType, "pyairtable-workers", "analytics", { scaleTargetRef: { name: "analytics" }, triggers: [{ type: "memory", metricType: "Utilization", metadata: { value: "80" } }, { type: "kafka", metadata: {} }] });
      assert.deepEqual(await messages(vpaDoesNotFightHorizontalScaler, [so, vpa("pyairtable-workers", "analytics", { updatePolicy: { updateMode: "Recreate" } })]), [
        "VPA pyairtable-workers/analytics (updateMode Recreate): every container (no container policies) controls memory, which ScaledObject pyairtable-workers/analytics scales Deployment/analytics on; leave it out of controlledResources or set updateMode \"Off\"",
      ]);
    });

    it("applies the VPA's default policy to containers of the Deployment that no container policy names", async () => {
      const deployment = k8s(deploymentType, "pyairtable-api", "platform-services", { template: { spec: { containers: [{ name: "platform-services" }, { name: "pgbouncer" }] } } });
      assert.deepEqual(await messages(vpaDoesNotFightHorizontalScaler, [
        deployment,
        hpa("pyairtable-api", "platform-services", [cpu, memory]),
        vpa("pyairtable-api", "platform-services", { updatePolicy: { updateMode: "Auto" }, resourcePolicy: { containerPolicies: [containerPolicy("platform-services", { mode: "Off" })] } }),
      ]), [
        "VPA pyairtable-api/platform-services (updateMode Auto): container 'pgbouncer' (no container policy: the VPA default) controls cpu and memory, which HPA pyairtable-api/platform-services scales Deployment/platform-services on; leave them out of controlledResources or set updateMode \"Off\"",
      ]);
    });

    it("cannot judge an update mode unknown during a preview", async () => {
      const unknownMode = { ...vpa("pyairtable-api", "api-gateway", {}), inputs: unknownCheckingProxy({ ...vpa("pyairtable-api", "api-gateway", {}).inputs, spec: { targetRef: { kind: "Deployment", name: "api-gateway" }, updatePolicy: { updateMode: unknownValues.unknownStringValue } } }) };
      assert.deepEqual(await messages(vpaDoesNotFightHorizontalScaler, [hpa("pyairtable-api", "api-gateway", [cpu]), unknownMode]), []);
    });
  });

  describe("scaled-object-has-fallback", () => {
    const so = (spec: Inputs) => k8s(scaledObjectType, "pyairtable-workers", "saga-orchestrator", {
      scaleTargetRef: { name: "saga-orchestrator" }, minReplicaCount: 1, maxReplicaCount: 15,
      triggers: [{ type: "kafka", name: "kafka-saga", metricType: "AverageValue", metadata: {} }, { type: "redis-cluster", metadata: {} }],
      ...spec,
    });

    it("passes a fallback inside the bounds with AverageValue triggers (absent metricType is KEDA's AverageValue)", async () => {
      assert.deepEqual(await messages(scaledObjectFallback, [so({ fallback: { failureThreshold: 3, replicas: 8 } })]), []);
    });

    it("reports a missing fallback", async () => {
      assert.deepEqual(await messages(scaledObjectFallback, [so({})]), [
        "ScaledObject pyairtable-workers/saga-orchestrator: no spec.fallback: when a scaler cannot read its source, KEDA keeps the last replica count instead of a known-safe one",
      ]);
    });

    it("reports a zero threshold, replicas outside the bounds, cpu triggers and Value targets", async () => {
      const triggers = [{ type: "cpu", metricType: "Utilization", metadata: { value: "70" } }, { type: "prometheus", name: "gpu", metricType: "Value", metadata: {} }];
      assert.deepEqual(await messages(scaledObjectFallback, [so({ fallback: { failureThreshold: 0, replicas: 20 }, triggers })]), [
        "ScaledObject pyairtable-workers/saga-orchestrator: fallback failureThreshold 0 is below the minimum of 1",
        "ScaledObject pyairtable-workers/saga-orchestrator: fallback replicas 20 is outside minReplicaCount..maxReplicaCount (1..15)",
        "ScaledObject pyairtable-workers/saga-orchestrator: trigger 'cpu' is a cpu trigger: KEDA's fallback does not support cpu or memory triggers",
        "ScaledObject pyairtable-workers/saga-orchestrator: trigger 'gpu' has metricType Value: KEDA's fallback needs AverageValue",
      ]);
    });

    it("uses KEDA's default bounds (0..100) and the configured minimum threshold", async () => {
      const defaults = so({ minReplicaCount: undefined, maxReplicaCount: undefined, fallback: { failureThreshold: 2, replicas: 101 } });
      assert.deepEqual(await messages(scaledObjectFallback, [defaults], { "scaled-object-has-fallback": { minFailureThreshold: 3 } }), [
        "ScaledObject pyairtable-workers/saga-orchestrator: fallback failureThreshold 2 is below the minimum of 3",
        "ScaledObject pyairtable-workers/saga-orchestrator: fallback replicas 101 is outside minReplicaCount..maxReplicaCount (0..100)",
      ]);
    });

    it("with scalingModifiers, judges the composite metric's type", async () => {
      const modifiers = so({ fallback: { failureThreshold: 3, replicas: 8 }, advanced: { scalingModifiers: { formula: "a + b", target: "10", metricType: "Value" } } });
      assert.deepEqual(await messages(scaledObjectFallback, [modifiers]), [
        "ScaledObject pyairtable-workers/saga-orchestrator: scalingModifiers metricType is Value: KEDA's fallback needs AverageValue",
      ]);
    });
  });

  describe("scale-down-stabilization", () => {
    const gradual = { stabilizationWindowSeconds: 300, selectPolicy: "Min", policies: [{ type: "Percent", value: 10, periodSeconds: 60 }] };
    const hpa = (behavior: Inputs | undefined) => k8s(hpaType, "pyairtable-api", "api-gateway", { scaleTargetRef: { kind: "Deployment", name: "api-gateway" }, maxReplicas: 25, ...(behavior ? { behavior } : {}) });
    const so = (behavior: Inputs | undefined) => k8s(scaledObjectType, "pyairtable-workers", "file-processing", {
      scaleTargetRef: { name: "file-processing" }, triggers: [],
      ...(behavior ? { advanced: { horizontalPodAutoscalerConfig: { behavior } } } : {}),
    });

    it("passes the design's behavior (300 s, 10% a minute) and equivalent or slower rates", async () => {
      assert.deepEqual(await messages(scaleDownStabilization, [
        hpa({ scaleDown: gradual }),
        so({ scaleDown: { ...gradual, policies: [{ type: "Percent", value: 20, periodSeconds: 300 }, { type: "Pods", value: 1, periodSeconds: 60 }] } }),
        so({ scaleDown: { stabilizationWindowSeconds: 600, selectPolicy: "Disabled" } }),
      ]), []);
    });

    it("reports a short window and a fast Percent policy, normalised to a minute", async () => {
      assert.deepEqual(await messages(scaleDownStabilization, [hpa({ scaleDown: { stabilizationWindowSeconds: 60, policies: [{ type: "Percent", value: 5, periodSeconds: 15 }] } })]), [
        "HPA pyairtable-api/api-gateway: scale-down stabilization window 60 s is below the minimum of 300 s",
        "HPA pyairtable-api/api-gateway: scale-down policy removes up to 5% of the pods every 15 s (20% a minute), above the limit of 10% a minute",
      ]);
    });

    it("reports an absent behavior: the Kubernetes default removes 100% every 15 s", async () => {
      assert.deepEqual(await messages(scaleDownStabilization, [so(undefined), hpa({ scaleDown: { stabilizationWindowSeconds: 300 } })]), [
        "ScaledObject pyairtable-workers/file-processing: no spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown: the Kubernetes default policy removes up to 100% of the pods every 15 s (400% a minute), above the limit of 10% a minute",
        "HPA pyairtable-api/api-gateway: no scale-down policies: the Kubernetes default policy removes up to 100% of the pods every 15 s (400% a minute), above the limit of 10% a minute",
      ]);
    });

    it("takes its limits from the config", async () => {
      assert.deepEqual(await messages(scaleDownStabilization, [hpa({ scaleDown: gradual })], { "scale-down-stabilization": { minSeconds: 600, maxPercentPerMinute: 5 } }), [
        "HPA pyairtable-api/api-gateway: scale-down stabilization window 300 s is below the minimum of 600 s",
        "HPA pyairtable-api/api-gateway: scale-down policy removes up to 10% of the pods every 60 s (10% a minute), above the limit of 5% a minute",
      ]);
    });
  });

  describe("scaled-services-have-pdb", () => {
    const hpa = k8s(hpaType, "pyairtable-api", "api-gateway", { scaleTargetRef: { kind: "Deployment", name: "api-gateway" }, maxReplicas: 25 });
    const so = k8s(scaledObjectType, "pyairtable-workers", "webhooks", { scaleTargetRef: { name: "webhooks" }, triggers: [] });
    const pdb = (namespace: string, name: string, selector: Inputs) => k8s(pdbType, namespace, name, { maxUnavailable: 1, selector });

    it("passes a PDB selecting the target's name label, by matchLabels, matchExpressions or its own name", async () => {
      assert.deepEqual(await messages(scaledServicesHavePdb, [
        hpa, so,
        pdb("pyairtable-api", "gateway-pdb", { matchLabels: { "app.kubernetes.io/name": "api-gateway" } }),
        pdb("pyairtable-workers", "workers", { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["webhooks", "automation"] }] }),
      ]), []);
      assert.deepEqual(await messages(scaledServicesHavePdb, [hpa, pdb("pyairtable-api", "api-gateway", { matchLabels: { app: "gateway" } })]), []);
    });

    it("reports a target whose only PDB is in another namespace or selects other pods", async () => {
      assert.deepEqual(await messages(scaledServicesHavePdb, [
        hpa, so,
        pdb("pyairtable-workers", "api-gateway-elsewhere", { matchLabels: { "app.kubernetes.io/name": "api-gateway" } }),
        pdb("pyairtable-workers", "other", { matchLabels: { "app.kubernetes.io/name": "automation" } }),
      ]), [
        "HPA pyairtable-api/api-gateway: no PodDisruptionBudget in namespace 'pyairtable-api' selects 'app.kubernetes.io/name: api-gateway' or is named 'api-gateway'",
        "ScaledObject pyairtable-workers/webhooks: no PodDisruptionBudget in namespace 'pyairtable-workers' selects 'app.kubernetes.io/name: webhooks' or is named 'webhooks'",
      ]);
    });

    it("matches on the configured label key", async () => {
      const byName = pdb("pyairtable-api", "gateway-pdb", { matchLabels: { "app.kubernetes.io/name": "api-gateway" } });
      assert.deepEqual(await messages(scaledServicesHavePdb, [hpa, byName], { "scaled-services-have-pdb": { labelKey: "app" } }), [
        "HPA pyairtable-api/api-gateway: no PodDisruptionBudget in namespace 'pyairtable-api' selects 'app: api-gateway' or is named 'api-gateway'",
      ]);
    });
  });

  describe("encryption-at-rest-with-customer-keys", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    const sse = (name: string, bucket: string, algorithm: string, kmsMasterKeyId?: string) =>
      resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name, { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: algorithm, ...(kmsMasterKeyId ? { kmsMasterKeyId } : {}) } }] });

    it("passes customer keys everywhere, SQS-managed SSE and buckets encrypted with aws:kms and a key", async () => {
      assert.deepEqual(await messages(encryptionAtRestWithCustomerKeys, [
        resource("aws:rds/cluster:Cluster", "db", { storageEncrypted: true, kmsKeyId: key }),
        resource("aws:sqs/queue:Queue", "interruptions", { sqsManagedSseEnabled: true }),
        resource("aws:s3/bucket:Bucket", "models", {}),
        linked(sse("models-sse", "models-id", "aws:kms", key), "bucket", "aws:s3/bucket:Bucket", "models"),
        resource("aws:s3/bucket:Bucket", "backups", { bucket: "pyairtable-backups", serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key } } } }),
        resource("aws:s3/bucketV2:BucketV2", "legacy", { serverSideEncryptionConfigurations: [{ rules: [{ applyServerSideEncryptionByDefaults: [{ sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: key }] }] }] }),
        // A key ARN still unknown during a preview will be set: it counts as present.
        resource("aws:sns/topic:Topic", "alerts", unknownCheckingProxy({ kmsMasterKeyId: unknownValues.unknownStringValue })),
      ]), []);
    });

    it("reports unencrypted or AWS-managed-key data services, volumes, queues, topics and log groups", async () => {
      assert.deepEqual(await messages(encryptionAtRestWithCustomerKeys, [
        resource("aws:rds/cluster:Cluster", "db", { storageEncrypted: false }),
        resource("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { atRestEncryptionEnabled: true }),
        resource("aws:msk/cluster:Cluster", "kafka", { encryptionInfo: { encryptionInTransit: { clientBroker: "TLS" } } }),
        resource("aws:opensearch/domain:Domain", "search", { encryptAtRest: { enabled: false } }),
        resource("eks:index:Cluster", "eks", {}),
        resource("aws:eks/cluster:Cluster", "eks-cluster", { encryptionConfig: { provider: { keyArn: key }, resources: ["configmaps"] } }),
        resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] }),
        k8s(nodeClassType, undefined, "default", { role: "node-role" }),
        resource("aws:sqs/queue:Queue", "jobs", {}),
        resource("aws:sns/topic:Topic", "alerts", {}),
        resource("aws:cloudwatch/logGroup:LogGroup", "redis-slow", { name: "/aws/vendedlogs/elasticache/redis/slow-log", retentionInDays: 30 }),
      ]), [
        "Aurora cluster db: storageEncrypted is false: data at rest is not encrypted",
        "Aurora cluster db: kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "ElastiCache replication group redis: kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "MSK cluster kafka: encryptionInfo.encryptionAtRestKmsKeyArn is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "OpenSearch domain search: encryptAtRest.enabled is false: data at rest is not encrypted",
        "OpenSearch domain search: encryptAtRest.kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "EKS cluster eks: encryptionConfigKeyArn (secrets envelope encryption) is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "EKS cluster eks-cluster: encryptionConfig.resources [\"configmaps\"] does not include \"secrets\"",
        "launch template lt volume /dev/xvda: ebs.encrypted is \"false\": data at rest is not encrypted",
        "launch template lt volume /dev/xvda: ebs.kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "EC2NodeClass default: declares no blockDeviceMappings: Karpenter's default root volume is encrypted with the AWS-managed aws/ebs key; declare it with encrypted true and a customer-managed kmsKeyID",
        "SQS queue jobs: neither kmsMasterKeyId nor sqsManagedSseEnabled is set: messages at rest are not known to be encrypted",
        "SNS topic alerts: kmsMasterKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
        "log group /aws/vendedlogs/elasticache/redis/slow-log: kmsKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
      ]);
    });

    it("reports buckets without aws:kms default encryption with a customer key", async () => {
      assert.deepEqual(await messages(encryptionAtRestWithCustomerKeys, [
        resource("aws:s3/bucket:Bucket", "logs", {}),
        resource("aws:s3/bucket:Bucket", "data", { bucket: "pyairtable-data" }),
        sse("data-sse", "pyairtable-data", "AES256"),
        resource("aws:s3/bucket:Bucket", "exports", {}),
        linked(sse("exports-sse", "exports-id", "aws:kms"), "bucket", "aws:s3/bucket:Bucket", "exports"),
      ]), [
        "S3 bucket logs: no server-side encryption configuration: objects are encrypted with S3-managed keys (SSE-S3), not aws:kms with a customer-managed key",
        "S3 bucket data: default encryption is AES256, not aws:kms with a customer-managed key",
        "S3 bucket exports: default encryption is aws:kms without kmsMasterKeyId: objects are encrypted with the AWS-managed aws/s3 key, not a customer-managed KMS key",
      ]);
    });

    it("with allowSqsManagedSse off, SQS queues need a customer key", async () => {
      assert.deepEqual(await messages(encryptionAtRestWithCustomerKeys, [resource("aws:sqs/queue:Queue", "interruptions", { sqsManagedSseEnabled: true })],
        { "encryption-at-rest-with-customer-keys": { allowSqsManagedSse: false } }), [
        "SQS queue interruptions: kmsMasterKeyId is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key",
      ]);
    });

    it("matches a bucket's encryption by property dependency during a preview, when the bucket id is unknown", async () => {
      const bucket = { type: "aws:s3/bucket:Bucket", name: "models", props: {} };
      const encryption = (deps?: Record<string, string[]>) => ({
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name: "models-sse", deps,
        props: { bucket: unknownValues.unknownStringValue, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: unknownValues.unknownStringValue } }] },
      });
      assert.deepEqual(await previewStack(encryptionAtRestWithCustomerKeys, [bucket, encryption({ bucket: ["models"] })]), []);
      // Without the dependency the unknown bucket reference cannot be judged: no violation either.
      assert.deepEqual(await previewStack(encryptionAtRestWithCustomerKeys, [bucket, encryption()]), []);
      // A dependency on another bucket tells it is not this one's.
      const other = { type: "aws:s3/bucket:Bucket", name: "other", props: {} };
      assert.deepEqual(await previewStack(encryptionAtRestWithCustomerKeys, [bucket, other, encryption({ bucket: ["other"] })]), [
        "S3 bucket models: no server-side encryption configuration: objects are encrypted with S3-managed keys (SSE-S3), not aws:kms with a customer-managed key",
      ]);
    });
  });

  describe("encryption-in-transit", () => {
    const cluster = (inputs: Inputs) => resource("aws:rds/cluster:Cluster", "db", { engine: "aurora-postgresql", ...inputs });
    const params = (name: string, value: string) => resource("aws:rds/clusterParameterGroup:ClusterParameterGroup", "db-params", { family: "aurora-postgresql16", parameters: [{ name, value }] });

    it("passes TLS-only services (MSK's defaults are TLS) and an Aurora group with rds.force_ssl = 1", async () => {
      assert.deepEqual(await messages(encryptionInTransit, [
        resource("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { transitEncryptionEnabled: true, transitEncryptionMode: "required" }),
        resource("aws:msk/cluster:Cluster", "kafka", {}),
        resource("aws:opensearch/domain:Domain", "search", { domainEndpointOptions: { tlsSecurityPolicy: "Policy-Min-TLS-1-2-2019-07" }, nodeToNodeEncryption: { enabled: true } }),
        cluster({ dbClusterParameterGroupName: "db-params" }),
        params("rds.force_ssl", "1"),
        // A group managed outside the stack cannot be judged.
        resource("aws:rds/cluster:Cluster", "shared", { engine: "aurora-postgresql", dbClusterParameterGroupName: "platform-shared-params" }),
      ]), []);
    });

    it("reports plain-text connections allowed", async () => {
      assert.deepEqual(await messages(encryptionInTransit, [
        resource("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { transitEncryptionEnabled: true, transitEncryptionMode: "preferred" }),
        resource("aws:opensearch/domain:Domain", "search", { domainEndpointOptions: { enforceHttps: false } }),
        cluster({ dbClusterParameterGroupName: "db-params" }),
        params("log_min_duration_statement", "1000"),
        resource("aws:rds/cluster:Cluster", "mysql", { engine: "aurora-mysql" }),
      ]), [
        "ElastiCache replication group redis: transitEncryptionMode is \"preferred\": plain-text connections are still accepted; use \"required\"",
        "OpenSearch domain search: domainEndpointOptions.enforceHttps is false: the endpoint accepts plain HTTP",
        "OpenSearch domain search: domainEndpointOptions.tlsSecurityPolicy is not set, not one of Policy-Min-TLS-1-2-2019-07, Policy-Min-TLS-1-2-PFS-2023-10 (TLS 1.2 minimum)",
        "OpenSearch domain search: nodeToNodeEncryption.enabled is not set: nodes talk in plain text",
        "Aurora cluster db: cluster parameter group db-params does not set rds.force_ssl (default off): connections without TLS are accepted; set it to 1",
        "Aurora cluster mysql: uses the engine's default cluster parameter group, where require_secure_transport is off: connections without TLS are accepted; use a parameter group with require_secure_transport = 1",
      ]);
    });

    it("accepts only the configured TLS policies", async () => {
      const domain = resource("aws:opensearch/domain:Domain", "search", { domainEndpointOptions: { tlsSecurityPolicy: "Policy-Min-TLS-1-2-2019-07" }, nodeToNodeEncryption: { enabled: true } });
      assert.deepEqual(await messages(encryptionInTransit, [domain], { "encryption-in-transit": { allowedTlsSecurityPolicies: ["Policy-Min-TLS-1-2-PFS-2023-10"] } }), [
        "OpenSearch domain search: domainEndpointOptions.tlsSecurityPolicy is \"Policy-Min-TLS-1-2-2019-07\", not one of Policy-Min-TLS-1-2-PFS-2023-10 (TLS 1.2 minimum)",
      ]);
    });

    it("resolves the parameter group by property dependency during a preview", async () => {
      const db = { type: "aws:rds/cluster:Cluster", name: "db", props: { engine: "aurora-postgresql", dbClusterParameterGroupName: unknownValues.unknownStringValue }, deps: { dbClusterParameterGroupName: ["db-params"] } };
      const group = (value: string) => ({ type: "aws:rds/clusterParameterGroup:ClusterParameterGroup", name: "db-params", props: { parameters: [{ name: "rds.force_ssl", value }] } });
      assert.deepEqual(await previewStack(encryptionInTransit, [db, group("1")]), []);
      assert.deepEqual(await previewStack(encryptionInTransit, [db, group("0")]), [
        "Aurora cluster db: cluster parameter group db-params sets rds.force_ssl to \"0\": connections without TLS are accepted; set it to 1",
      ]);
    });
  });

  describe("eks-public-endpoint-restricted", () => {
    it("passes a private endpoint and a public one limited to known networks", async () => {
      assert.deepEqual(await messages(eksEndpointRestricted, [
        resource("eks:index:Cluster", "private", { endpointPublicAccess: false }),
        resource("eks:index:Cluster", "office", { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] }),
        resource("aws:eks/cluster:Cluster", "plain", { vpcConfig: { subnetIds: [], endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] } }),
      ]), []);
    });

    it("reports an endpoint open to everyone, or public by default without CIDRs", async () => {
      assert.deepEqual(await messages(eksEndpointRestricted, [
        resource("eks:index:Cluster", "open", { endpointPublicAccess: true, publicAccessCidrs: ["10.0.0.0/8", "0.0.0.0/0"] }),
        resource("eks:index:Cluster", "defaults", {}),
        resource("aws:eks/cluster:Cluster", "ipv6", { vpcConfig: { subnetIds: [], publicAccessCidrs: ["::/0"] } }),
      ]), [
        "EKS cluster open: the public API endpoint is open to 0.0.0.0/0; restrict autoscaling:cluster.publicAccessCidrs to the operators' networks",
        "EKS cluster defaults: the public API endpoint is enabled without publicAccessCidrs (autoscaling:cluster.publicAccessCidrs): EKS opens it to 0.0.0.0/0",
        "EKS cluster ipv6: the public API endpoint is open to ::/0; restrict autoscaling:cluster.publicAccessCidrs to the operators' networks",
      ]);
    });

    it("allows an open endpoint only when the config says so", async () => {
      const open = resource("eks:index:Cluster", "open", { publicAccessCidrs: ["0.0.0.0/0"] });
      assert.deepEqual(await messages(eksEndpointRestricted, [open], { "eks-public-endpoint-restricted": { allowOpenEndpoint: true } }), []);
    });
  });

  describe("eks-public-access-cidrs-not-placeholders", () => {
    const doc = (cidr: string, range: string) =>
      `EKS cluster docs: autoscaling:cluster.publicAccessCidrs lists ${cidr}, a documentation range (${range}) no operator's network uses: ` +
      "the public API endpoint would admit nobody who needs it. List the operators' egress ranges, or leave endpointPublicAccess off (the default) and reach the API from inside the VPC.";

    it("metadata: mandatory by default, high severity; prod keeps it mandatory, dev only warns", () => {
      assert.equal(eksPublicAccessCidrsNotPlaceholders.name, "eks-public-access-cidrs-not-placeholders");
      assert.equal(eksPublicAccessCidrsNotPlaceholders.enforcementLevel, "mandatory");
      assert.equal(eksPublicAccessCidrsNotPlaceholders.severity, "high");
      assert.match(eksPublicAccessCidrsNotPlaceholders.remediationSteps!, /autoscaling:cluster\.publicAccessCidrs/);
      assert.equal((packConfig("prod")["eks-public-access-cidrs-not-placeholders"] as { enforcementLevel?: string } | undefined)?.enforcementLevel, "mandatory");
      assert.equal((packConfig("dev")["eks-public-access-cidrs-not-placeholders"] as { enforcementLevel?: string } | undefined)?.enforcementLevel, "advisory");
    });

    it("passes a private endpoint (whatever CIDRs are left over), real egress ranges and a range that only contains a documentation block", async () => {
      assert.deepEqual(await messages(eksPublicAccessCidrsNotPlaceholders, [
        resource("eks:index:Cluster", "private", { endpointPublicAccess: false, publicAccessCidrs: ["203.0.113.0/24"] }),
        resource("eks:index:Cluster", "office", { endpointPublicAccess: true, publicAccessCidrs: ["18.204.12.0/24", "52.95.110.1/32"] }),
        resource("eks:index:Cluster", "wide", { endpointPublicAccess: true, publicAccessCidrs: ["203.0.0.0/16"] }),
        resource("aws:eks/cluster:Cluster", "plain", { vpcConfig: { subnetIds: [], endpointPublicAccess: true, publicAccessCidrs: ["100.24.0.0/13"] } }),
      ]), []);
    });

    it("refuses the CIDRs the config lists as placeholders too; a bad config is rejected", async () => {
      const found = await messages(eksPublicAccessCidrsNotPlaceholders, [
        resource("eks:index:Cluster", "old", { endpointPublicAccess: true, publicAccessCidrs: ["18.204.12.0/24", "52.95.110.1/32"] }),
      ], { "eks-public-access-cidrs-not-placeholders": { extraPlaceholderCidrs: ["52.95.110.1/32"] } });
      assert.deepEqual(found.map((m) => m.split(":").slice(0, 3).join(":")), ["EKS cluster old: autoscaling:cluster.publicAccessCidrs lists 52.95.110.1/32, a placeholder range (extraPlaceholderCidrs of the policy config) no operator's network uses"]);
      assert.throws(() => resolvePolicyConfig(eksPublicAccessCidrsNotPlaceholders, { "eks-public-access-cidrs-not-placeholders": { extraPlaceholderCidrs: "10.0.0.0/8" } }), PolicyConfigError);
    });

    it("reports every documentation range (RFC 5737 and RFC 3849), naming the setting; the @pulumi/eks default (public) counts as public", async () => {
      assert.deepEqual(await messages(eksPublicAccessCidrsNotPlaceholders, [
        resource("eks:index:Cluster", "docs", { endpointPublicAccess: true, publicAccessCidrs: ["10.1.0.0/16", "203.0.113.0/24", "198.51.100.7/32"] }),
        resource("aws:eks/cluster:Cluster", "docs", { vpcConfig: { subnetIds: [], publicAccessCidrs: ["192.0.2.0/25", "2001:db8::/48"] } }),
      ]), [
        doc("203.0.113.0/24", "TEST-NET-3, RFC 5737"),
        doc("198.51.100.7/32", "TEST-NET-2, RFC 5737"),
        doc("192.0.2.0/25", "TEST-NET-1, RFC 5737"),
        doc("2001:db8::/48", "IPv6 documentation prefix, RFC 3849"),
      ]);
    });

  });

  describe("production-database-protection", () => {
    it("passes a protected cluster", async () => {
      assert.deepEqual(await messages(productionDatabaseProtection, [
        resource("aws:rds/cluster:Cluster", "db", { deletionProtection: true, backupRetentionPeriod: 14, skipFinalSnapshot: false }),
      ]), []);
    });

    it("reports RDS's unsafe defaults when nothing is set", async () => {
      assert.deepEqual(await messages(productionDatabaseProtection, [resource("aws:rds/cluster:Cluster", "db", {})]), [
        "Aurora cluster db: deletionProtection is not set (default false): the cluster can be deleted by a destroy or a replacement",
        "Aurora cluster db: backupRetentionPeriod not set (default 1 day) is below the minimum of 7 days",
      ]);
    });

    it("takes the minimum retention from the config and is silenced where disabled", async () => {
      const db = resource("aws:rds/cluster:Cluster", "db", { deletionProtection: true, backupRetentionPeriod: 14 });
      assert.deepEqual(await messages(productionDatabaseProtection, [db], { "production-database-protection": { minBackupRetentionDays: 30 } }), [
        "Aurora cluster db: backupRetentionPeriod 14 days is below the minimum of 30 days",
      ]);
      assert.deepEqual(await messages(productionDatabaseProtection, [resource("aws:rds/cluster:Cluster", "db", {})], proposedConfig.dev), []);
    });
  });

  describe("imdsv2-required", () => {
    const required = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };

    it("passes required tokens, Karpenter's defaults, a disabled endpoint and instances judged by their template", async () => {
      assert.deepEqual(await messages(imdsv2Required, [
        resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", { metadataOptions: required }),
        k8s(nodeClassType, undefined, "default", { role: "node-role" }),
        resource("aws:ec2/instance:Instance", "bastion", { metadataOptions: { httpEndpoint: "disabled" } }),
        resource("aws:ec2/instance:Instance", "from-template", { launchTemplate: { id: "lt-id" } }),
      ]), []);
    });

    it("reports optional or unset tokens and a hop limit above the maximum", async () => {
      assert.deepEqual(await messages(imdsv2Required, [
        resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", {}),
        resource("aws:ec2/instance:Instance", "worker", { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } }),
        k8s(nodeClassType, undefined, "legacy", { metadataOptions: { httpTokens: "optional" } }),
      ]), [
        "launch template lt: metadataOptions.httpTokens is not set (EC2's default unless the AMI requires IMDSv2: \"optional\"): IMDSv1 answers unauthenticated requests; set it to \"required\"",
        "EC2 instance worker: metadataOptions.httpPutResponseHopLimit 2 exceeds the maximum of 1: containers can fetch the node role's credentials",
        "EC2NodeClass legacy: metadataOptions.httpTokens is \"optional\": IMDSv1 answers unauthenticated requests; set it to \"required\"",
      ]);
    });

    it("takes the hop limit from the config", async () => {
      const lt = resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", { metadataOptions: { ...required, httpPutResponseHopLimit: 2 } });
      assert.deepEqual(await messages(imdsv2Required, [lt], { "imdsv2-required": { maxHopLimit: 2 } }), []);
    });
  });

  describe("s3-public-access-blocked", () => {
    const block = (name: string, bucket: string, off: string[] = []) => resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name, {
      bucket, ...Object.fromEntries(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].map((f) => [f, !off.includes(f)])),
    });

    it("passes when there are no buckets, or every bucket has a full block (by property dependency or by name)", async () => {
      assert.deepEqual(await messages(s3PublicAccessBlocked, []), []);
      assert.deepEqual(await messages(s3PublicAccessBlocked, [
        resource("aws:s3/bucket:Bucket", "models", {}), linked(block("models-pab", "models-id"), "bucket", "aws:s3/bucket:Bucket", "models"),
        resource("aws:s3/bucketV2:BucketV2", "backups", { bucket: "pyairtable-backups" }), block("backups-pab", "pyairtable-backups"),
      ]), []);
    });

    it("reports a bucket without a block and a block with a flag off", async () => {
      const violations = await evaluatePolicies([s3PublicAccessBlocked], [
        resource("aws:s3/bucket:Bucket", "assets", { bucket: "pyairtable-assets" }),
        resource("aws:s3/bucket:Bucket", "exports", {}), linked(block("exports-pab", "exports-id", ["restrictPublicBuckets", "blockPublicPolicy"]), "bucket", "aws:s3/bucket:Bucket", "exports"),
      ], {});
      assert.deepEqual(violations.map((v) => [v.message, v.urn.split("::").pop()]), [
        ["S3 bucket pyairtable-assets: no BucketPublicAccessBlock: ACLs and bucket policies can make it public", "assets"],
        ["S3 bucket exports: public access block exports-pab leaves blockPublicPolicy, restrictPublicBuckets off: all four flags must be true", "exports-pab"],
      ]);
    });

    it("does not guess at the mocks' stand-in ids: a block naming '<logical name>-id' without a property dependency refers to nothing", async () => {
      assert.deepEqual(await messages(s3PublicAccessBlocked, [resource("aws:s3/bucket:Bucket", "models", {}), block("models-pab", "models-id")]), [
        "S3 bucket models: no BucketPublicAccessBlock: ACLs and bucket policies can make it public",
      ]);
    });

    it("accepts a full account-level block and configured exemptions", async () => {
      const bucket = resource("aws:s3/bucket:Bucket", "site", {});
      const account = resource("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "account", { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      assert.deepEqual(await messages(s3PublicAccessBlocked, [bucket, account]), []);
      assert.deepEqual(await messages(s3PublicAccessBlocked, [bucket], { "s3-public-access-blocked": { exemptBuckets: ["site"] } }), []);
    });

    it("matches blocks by property dependency during a preview", async () => {
      const bucket = { type: "aws:s3/bucket:Bucket", name: "models", props: {} };
      const pab = (deps?: Record<string, string[]>) => ({ type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name: "models-pab", deps,
        props: { bucket: unknownValues.unknownStringValue, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true } });
      assert.deepEqual(await previewStack(s3PublicAccessBlocked, [bucket, pab({ bucket: ["models"] })]), []);
      assert.deepEqual(await previewStack(s3PublicAccessBlocked, [bucket, { type: "aws:s3/bucket:Bucket", name: "other", props: {} }, pab({ bucket: ["other"] })]), [
        "S3 bucket models: no BucketPublicAccessBlock: ACLs and bucket policies can make it public",
      ]);
    });
  });

  describe("kms-key-rotation", () => {
    it("passes rotating symmetric keys and keys that cannot rotate", async () => {
      assert.deepEqual(await messages(kmsKeyRotation, [
        resource("aws:kms/key:Key", "data", { enableKeyRotation: true, rotationPeriodInDays: 365 }),
        resource("aws:kms/key:Key", "signing", { customerMasterKeySpec: "RSA_2048", keyUsage: "SIGN_VERIFY" }),
        resource("aws:kms/key:Key", "hsm", { customKeyStoreId: "cks-1234567890abcdef0" }),
        resource("aws:kms/key:Key", "preview", unknownCheckingProxy({ enableKeyRotation: unknownValues.unknownBooleanValue })),
      ]), []);
    });

    it("reports rotation off or unset, and a period above the maximum", async () => {
      assert.deepEqual(await messages(kmsKeyRotation, [
        resource("aws:kms/key:Key", "off", { enableKeyRotation: false }),
        resource("aws:kms/key:Key", "unset", {}),
        resource("aws:kms/key:Key", "slow", { enableKeyRotation: true, rotationPeriodInDays: 730 }),
      ]), [
        "KMS key off: enableKeyRotation is false: its key material never rotates",
        "KMS key unset: enableKeyRotation is not set (default false): its key material never rotates",
        "KMS key slow: rotationPeriodInDays 730 exceeds the maximum of 365 days",
      ]);
    });
  });

  describe("logging-enabled", () => {
    it("passes a stack whose services log and whose VPC has a flow log", async () => {
      assert.deepEqual(await messages(loggingEnabled, [
        resource("aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.0.0.0/16" }),
        linked(resource("aws:ec2/flowLog:FlowLog", "flow", { vpcId: "vpc-id", trafficType: "ALL" }), "vpcId", "aws:ec2/vpc:Vpc", "vpc"),
        resource("aws:eks/cluster:Cluster", "eks", { enabledClusterLogTypes: ["api", "audit", "authenticator"] }),
        resource("aws:rds/cluster:Cluster", "mysql", { engine: "aurora-mysql" }),
        resource("aws:msk/cluster:Cluster", "kafka", { loggingInfo: { brokerLogs: { s3: { enabled: true, bucket: "logs" } } } }),
      ]), []);
    });

    it("reports services without logs and a VPC without a flow log", async () => {
      assert.deepEqual(await messages(loggingEnabled, [
        resource("aws:ec2/vpc:Vpc", "vpc", {}),
        resource("aws:ec2/flowLog:FlowLog", "flow", { vpcId: "another-vpc-id" }),
        resource("eks:index:Cluster", "eks", {}),
        resource("aws:rds/cluster:Cluster", "db", { engine: "aurora-postgresql" }),
        resource("aws:msk/cluster:Cluster", "kafka", {}),
        resource("aws:opensearch/domain:Domain", "search", { logPublishingOptions: [{ logType: "AUDIT_LOGS", enabled: false, cloudwatchLogGroupArn: "arn" }] }),
      ]), [
        "VPC vpc: no flow log (aws.ec2.FlowLog with vpcId referring to it)",
        "EKS cluster eks: control-plane log types api, audit, authenticator are not enabled (enabledClusterLogTypes)",
        "Aurora cluster db: log exports postgresql are not enabled (enabledCloudwatchLogsExports)",
        "MSK cluster kafka: broker logs are not delivered anywhere (loggingInfo.brokerLogs)",
        "OpenSearch domain search: log types AUDIT_LOGS, ES_APPLICATION_LOGS are not published (logPublishingOptions)",
      ]);
    });

    it("takes the required log types from the config", async () => {
      const eks = resource("aws:eks/cluster:Cluster", "eks", { enabledClusterLogTypes: ["api", "audit", "authenticator"] });
      assert.deepEqual(await messages(loggingEnabled, [eks], { "logging-enabled": { eksLogTypes: ["api", "scheduler"] } }), [
        "EKS cluster eks: control-plane log types scheduler are not enabled (enabledClusterLogTypes)",
      ]);
    });
  });
});
