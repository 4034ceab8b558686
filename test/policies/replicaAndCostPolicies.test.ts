import { strict as assert } from "node:assert";
import { evaluatePolicies } from "../support/policyEvaluation";
import { testEvaluationDate } from "../support/clock";
import { PolicyConfigError, resolvePolicyConfig } from "../../lib/policy/evaluate";
import { replicaCeilings } from "../../policies/rules/replicaCeilings";
import { costWithinBudget } from "../../policies/rules/costWithinBudget";
import type { PlannedResource } from "../../lib/plan/mockRuntime";

const resource = (type: string, name: string, inputs: Record<string, unknown>): PlannedResource => ({
  urn: `urn:pulumi:prod::autoscaling::${type}::${name}`, type, name, parent: "urn:pulumi:prod::autoscaling::pulumi:pulumi:Stack::autoscaling-prod", custom: true, inputs,
});
const hpa = (name: string, min: number, max: number) =>
  resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", name, { metadata: { name, namespace: "pyairtable-api" }, spec: { minReplicas: min, maxReplicas: max, scaleTargetRef: { kind: "Deployment", name } } });
const scaledObject = (name: string, min: number, max: number) =>
  resource("kubernetes:keda.sh/v1alpha1:ScaledObject", name, { metadata: { name, namespace: "pyairtable-workers" }, spec: { minReplicaCount: min, maxReplicaCount: max, scaleTargetRef: { name } } });
const config = { "replica-ceilings": { serviceCeilings: { "api-gateway": 25, automation: 20 }, globalMaxReplicas: 25 } };
const messages = async (rs: PlannedResource[], c: object = config) => (await evaluatePolicies([replicaCeilings], rs, c as never)).map((v) => v.message);

describe("replica-ceilings", () => {
  it("passes ranges within the service and global ceilings", async () => {
    assert.deepEqual(await messages([hpa("api-gateway", 2, 25), scaledObject("automation", 0, 20), hpa("unlisted", 1, 25)]), []);
  });
  it("fails a service above its ceiling, a workload above the global ceiling, and min above max", async () => {
    assert.deepEqual(await messages([scaledObject("automation", 0, 21), hpa("unlisted", 1, 30), hpa("api-gateway", 5, 4)]), [
      "ScaledObject pyairtable-workers/automation: max replicas 21 exceeds the ceiling of 20 for 'automation'",
      "HPA pyairtable-api/unlisted: max replicas 30 exceeds the global ceiling of 25",
      "HPA pyairtable-api/api-gateway: min replicas 5 exceeds max replicas 4",
    ]);
  });
  it("applies the schema's defaults without config and rejects bad config", async () => {
    assert.deepEqual(await messages([hpa("x", 1, 26)], {}), ["HPA pyairtable-api/x: max replicas 26 exceeds the global ceiling of 25"]);
    assert.throws(() => resolvePolicyConfig(replicaCeilings, { "replica-ceilings": { globalMaxReplicas: 0 } }), PolicyConfigError);
    assert.throws(() => resolvePolicyConfig(replicaCeilings, { "replica-ceilings": { ceiling: 3 } }), /must NOT have additional properties 'ceiling'/);
  });
});

describe("cost-within-budget", () => {
  const eks = resource("eks:index:Cluster", "eks", { name: "c", version: "1.33", skipDefaultNodeGroup: true });
  const nats = (n: number) => Array.from({ length: n }, (_, i) => resource("aws:ec2/natGateway:NatGateway", `nat-${i}`, { connectivityType: "public" }));
  const run = (rs: PlannedResource[], monthly: number, daily: number) =>
    evaluatePolicies([costWithinBudget], rs, { "cost-within-budget": { environment: "dev", evaluationDate: testEvaluationDate, monthlyBudgetUsd: monthly, dailyBudgetUsd: daily, usage: { cloudwatchUsd: 0, s3Usd: 0, dataTransferUsd: 0, lambdaUsd: 0, snsSqsUsd: 0, albCount: 0, natGbPerMonth: 0 } } } as never);
  it("passes an estimate within both budgets", async () => {
    assert.deepEqual(await run([eks, ...nats(1)], 1000, 40), []);
  });
  it("fails when the monthly estimate or the daily run-rate exceeds its budget", async () => {
    const violations = (await run([eks, ...nats(20)], 500, 10)).map((v) => v.message);
    assert.equal(violations.length, 2, violations.join("\n"));
    assert.match(violations[0]!, /^monthly cost estimate \$[\d,.]+ exceeds the monthly budget of \$500\.00$/);
    assert.match(violations[1]!, /^daily run-rate \$[\d,.]+ exceeds the daily budget of \$10\.00$/);
  });
  it("rejects unknown usage assumptions with a message naming the key", async () => {
    await assert.rejects(
      evaluatePolicies([costWithinBudget], [eks], { "cost-within-budget": { environment: "dev", evaluationDate: testEvaluationDate, monthlyBudgetUsd: 1, dailyBudgetUsd: 1, usage: { otherUsd: 5 } } } as never),
      /cost-within-budget: config usage is invalid: usage: Unrecognized key: "otherUsd"/,
    );
  });

  it("reports an EKS component that would create capacity the analyzer cannot see (its default node group)", async () => {
    const withDefault = resource("eks:index:Cluster", "eks", { name: "c", version: "1.33" });
    const violations = await run([withDefault], 100000, 10000);
    assert.deepEqual(violations.map((v) => [v.urn, v.enforcementLevel]), [[withDefault.urn, "mandatory"]]);
    assert.match(violations[0]!.message, /skipDefaultNodeGroup is not true: the component creates a default node group among its children, which are not sent to the analyzer/);
  });

  it("prices a first preview like an update: node groups and Aurora instances are linked by property dependencies", async () => {
    const unknown = { __pulumiUnknown: true };
    const lt = resource("aws:ec2/launchTemplate:LaunchTemplate", "system-lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3" } }] });
    const otherLt = resource("aws:ec2/launchTemplate:LaunchTemplate", "other-lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 900, volumeType: "io2" } }] });
    const cluster = resource("aws:rds/cluster:Cluster", "db", { engine: "aurora-postgresql", serverlessv2ScalingConfiguration: { minCapacity: 2, maxCapacity: 16 } });
    const plan = (id: unknown, clusterIdentifier: unknown): PlannedResource[] => [
      eks, lt, otherLt, cluster,
      { ...resource("aws:eks/nodeGroup:NodeGroup", "system", { instanceTypes: ["m5.large"], capacityType: "ON_DEMAND", scalingConfig: { desiredSize: 3, minSize: 3, maxSize: 6 }, launchTemplate: { id, version: "1" } }), propertyDependencies: { launchTemplate: [lt.urn] } },
      { ...resource("aws:rds/clusterInstance:ClusterInstance", "writer", { instanceClass: "db.serverless", clusterIdentifier }), propertyDependencies: { clusterIdentifier: [cluster.urn] } },
    ];
    const budgets = { "cost-within-budget": { environment: "dev", evaluationDate: testEvaluationDate, monthlyBudgetUsd: 100, dailyBudgetUsd: 1, usage: { cloudwatchUsd: 0, s3Usd: 0, dataTransferUsd: 0, lambdaUsd: 0, snsSqsUsd: 0, albCount: 0, natGbPerMonth: 0 } } };
    const update = (await evaluatePolicies([costWithinBudget], plan("lt-0123456789abcdef0", "pyairtable-db"), budgets as never)).map((v) => v.message);
    const preview = (await evaluatePolicies([costWithinBudget], plan(unknown, unknown), budgets as never)).map((v) => v.message);
    assert.equal(update.length, 2, update.join("\n"));
    assert.deepEqual(preview, update);
    assert.ok(preview.every((m) => !/can't run|cannot price/.test(m)), preview.join("\n"));
  });

  it("reports a resource the cost model cannot price", async () => {
    const unknown = resource("aws:ec2/instance:Instance", "stray", { instanceType: "m5.large" });
    const violations = await run([eks, unknown], 100000, 10000);
    assert.equal(violations.length, 1);
    assert.equal(violations[0]!.urn, unknown.urn);
    assert.match(violations[0]!.message, /^cannot price aws:ec2\/instance:Instance 'stray': no pricing rule/);
  });
});
