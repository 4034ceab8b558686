import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack, type StackPlan } from "./support/plans";
import { runUnderMocks } from "../lib/plan/mockRuntime";
import { offlineStackConfig, secretPlaceholders } from "../lib/plan/stackConfig";
import { mutatedProject, repoRoot } from "./support/stacks";

const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
function runPlanCli(args: string[]) {
  return spawnSync(tsx, ["scripts/plan.ts", ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
}

type R = Record<string, any>;
const inputsOf = (plan: StackPlan, type: string): R[] => plan.resources.filter((r) => r.type === type).map((r) => r.inputs as R);
const scalingTarget = (plan: StackPlan, dimension: string) => inputsOf(plan, "aws:appautoscaling/target:Target").find((t) => t.scalableDimension === dimension);

describe("offline plan", function () {
  this.timeout(120_000);
  const plans: Record<string, StackPlan> = {};
  before(async () => {
    plans.prod = await planStack("prod");
    plans.dev = await planStack("dev");
  });

  it("registers every component of the platform in both stacks", () => {
    for (const plan of Object.values(plans)) {
      const components = plan.resources.filter((r) => !r.custom).map((r) => r.type);
      for (const type of ["pyairtable:index:Platform", "pyairtable:network:Network", "pyairtable:cluster:Cluster", "pyairtable:cluster:ClusterCapacity", "pyairtable:database:Database", "pyairtable:cache:Cache", "pyairtable:streaming:Streaming", "pyairtable:search:Search", "pyairtable:cost:CostControls"]) {
        assert.ok(components.includes(type), `${plan.stack}: ${type} missing`);
      }
      // Every resource hangs off a component: nothing is created outside the Platform.
      const platformUrn = plan.resources.find((r) => r.type === "pyairtable:index:Platform")!.urn;
      for (const r of plan.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"))) {
        assert.notEqual(r.parent.split("::")[2], "pulumi:pulumi:Stack", `${r.urn} is not parented to a component`);
      }
      assert.ok(platformUrn.includes("pyairtable-" + plan.stack));
    }
  });

  it("prod carries the design's numbers in the resource inputs", () => {
    const p = plans.prod!;
    assert.equal(inputsOf(p, "aws:ec2/natGateway:NatGateway").length, 3);
    const ng = inputsOf(p, "aws:eks/nodeGroup:NodeGroup")[0]!;
    assert.deepEqual([ng.instanceTypes, ng.scalingConfig.desiredSize, ng.capacityType], [["m5.large"], 3, "ON_DEMAND"]);
    const db = inputsOf(p, "aws:rds/cluster:Cluster")[0]!;
    assert.deepEqual([db.serverlessv2ScalingConfiguration.minCapacity, db.serverlessv2ScalingConfiguration.maxCapacity], [2, 16]);
    assert.equal(db.storageEncrypted, true);
    assert.equal(db.deletionProtection, true);
    assert.ok(inputsOf(p, "aws:rds/clusterInstance:ClusterInstance").every((i) => i.instanceClass === "db.serverless"));
    const rr = scalingTarget(p, "rds:cluster:ReadReplicaCount")!;
    assert.deepEqual([rr.minCapacity, rr.maxCapacity], [0, 15]);
    const redis = inputsOf(p, "aws:elasticache/replicationGroup:ReplicationGroup")[0]!;
    assert.deepEqual([redis.nodeType, redis.numNodeGroups, redis.atRestEncryptionEnabled, redis.transitEncryptionEnabled], ["cache.r6g.large", 3, true, true]);
    const shards = scalingTarget(p, "elasticache:replication-group:NodeGroups")!;
    assert.deepEqual([shards.minCapacity, shards.maxCapacity], [3, 9]);
    const msk = inputsOf(p, "aws:msk/cluster:Cluster")[0]!;
    assert.deepEqual([msk.numberOfBrokerNodes, msk.brokerNodeGroupInfo.instanceType], [3, "kafka.m5.xlarge"]);
    assert.ok(scalingTarget(p, "kafka:broker-storage:VolumeSize"));
    // The SAGA orchestrator scales to 15 consumers on Kafka lag: every one needs a partition.
    assert.match(String(inputsOf(p, "aws:msk/configuration:Configuration")[0]!.serverProperties), /num\.partitions=18/);
    const os = inputsOf(p, "aws:opensearch/domain:Domain")[0]!;
    assert.deepEqual([os.clusterConfig.instanceCount, os.clusterConfig.instanceType, os.clusterConfig.dedicatedMasterEnabled], [3, "t3.medium.search", true]);
    const budgets = inputsOf(p, "aws:budgets/budget:Budget");
    assert.deepEqual(budgets.map((b) => [b.timeUnit, Number(b.limitAmount)]).sort(), [["DAILY", 500], ["MONTHLY", 12000]]);
    for (const b of budgets) {
      const thresholds = (b.notifications as R[]).filter((n) => n.notificationType === "ACTUAL" && n.thresholdType === "PERCENTAGE").map((n) => n.threshold).sort();
      assert.deepEqual(thresholds, [80, 95]);
    }
    assert.equal(inputsOf(p, "aws:costexplorer/anomalySubscription:AnomalySubscription").length, 1);
  });

  it("dev carries the design's development numbers", () => {
    const d = plans.dev!;
    assert.equal(inputsOf(d, "aws:ec2/natGateway:NatGateway").length, 1);
    const ng = inputsOf(d, "aws:eks/nodeGroup:NodeGroup")[0]!;
    assert.deepEqual([ng.instanceTypes[0], ng.scalingConfig.desiredSize, ng.capacityType], ["t3.medium", 2, "SPOT"]);
    const db = inputsOf(d, "aws:rds/cluster:Cluster")[0]!;
    assert.deepEqual([db.serverlessv2ScalingConfiguration.minCapacity, db.serverlessv2ScalingConfiguration.maxCapacity], [0.5, 4]);
    const redis = inputsOf(d, "aws:elasticache/replicationGroup:ReplicationGroup")[0]!;
    assert.equal(redis.nodeType, "cache.t3.micro");
    assert.equal(scalingTarget(d, "elasticache:replication-group:NodeGroups"), undefined);
    const msk = inputsOf(d, "aws:msk/cluster:Cluster")[0]!;
    assert.deepEqual([msk.numberOfBrokerNodes, msk.brokerNodeGroupInfo.instanceType], [3, "kafka.t3.small"]);
    const os = inputsOf(d, "aws:opensearch/domain:Domain")[0]!;
    assert.deepEqual([os.clusterConfig.instanceCount, os.clusterConfig.instanceType], [1, "t3.small.search"]);
    assert.deepEqual(inputsOf(d, "aws:budgets/budget:Budget").map((b) => Number(b.limitAmount)).sort((a, b) => a - b), [40, 1000]);
  });

  it("never lets a secret value into the plan", () => {
    for (const plan of Object.values(plans)) {
      const text = JSON.stringify(plan.resources) + JSON.stringify(plan.outputs);
      for (const secret of Object.values(secretPlaceholders)) assert.ok(!text.includes(secret), `${plan.stack}: ${secret} leaked`);
      assert.ok(text.includes("[secret]"), "secret inputs should show as [secret]");
    }
  });

  it("the CLI writes the JSON plan in the documented shape", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "plan.json");
    const r = runPlanCli(["--stack", "dev", "--json", out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resources by component/);
    assert.match(r.stdout, /Aurora Serverless v2 ACU\s+0\.5-4/);
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.deepEqual(Object.keys(doc), ["stack", "project", "resources", "violations", "cost"]);
    assert.equal(doc.stack, "dev");
    assert.equal(doc.project, "autoscaling");
    assert.deepEqual(Object.keys(doc.resources[0]).sort(), ["dependencies", "inputs", "name", "parent", "propertyDependencies", "type", "urn"]);
    assert.equal(doc.resources.length, plans.dev!.resources.length);
  });

  describe("bad stack files exit non-zero naming the key, before anything is registered", () => {
    const cases: Array<[string, (c: R) => void, RegExp]> = [
      ["an out-of-range value", (c) => (c["autoscaling:cache"].maxShards = 12), /autoscaling:cache\.maxShards = 12: must be an integer from 3 to 9/],
      ["a missing required key", (c) => delete c["autoscaling:database"], /autoscaling:database is missing/],
      ["a wrong type", (c) => (c["autoscaling:streaming"].brokers = "three"), /autoscaling:streaming\.brokers = "three": must be an integer from 3 to 6/],
      ["a plain-text secret", (c) => (c["autoscaling:slackWebhookUrl"] = "https://hooks.slack.invalid/x"), /autoscaling:slackWebhookUrl = \[plain text\]: must be a secret/],
    ];
    for (const [what, mutate, expected] of cases) {
      it(what, () => {
        const dir = mutatedProject("prod", "broken", mutate);
        const r = runPlanCli(["--stack", "broken", "--project-dir", dir]);
        assert.equal(r.status, 2, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, expected);
        assert.match(r.stderr, /nothing was planned/);
        assert.doesNotMatch(r.stdout, /Resources by component/);
        assert.ok(!r.stderr.includes("https://hooks.slack.invalid/x"), "a plain-text secret was echoed");
      });
    }

    it("the program itself (as under `pulumi up`) throws before registering any resource", async () => {
      const dir = mutatedProject("prod", "broken", (c) => (c["autoscaling:cache"].maxShards = 12));
      const offline = offlineStackConfig(dir, "broken");
      const registered: string[] = [];
      const program = path.join(repoRoot, "index.ts");
      await assert.rejects(
        runUnderMocks({ project: offline.project, stack: "broken", config: offline.config, secretKeys: offline.secretKeys, onRegistration: (t) => registered.push(t) }, () => {
          delete require.cache[require.resolve(program)];
          return require(program);
        }),
        /autoscaling:cache\.maxShards = 12: must be an integer from 3 to 9/,
      );
      assert.deepEqual(registered.filter((t) => t !== "pulumi:pulumi:Stack"), []);
    });

    it("an unknown stack is a clear usage error", () => {
      const r = runPlanCli(["--stack", "staging"]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /stack 'staging' has no stack file .*Pulumi\.staging\.yaml \(stacks here: dev, prod\)/);
    });
  });
});
