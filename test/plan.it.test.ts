import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack, type StackPlan } from "./support/plans";
import { runUnderMocks } from "../lib/plan/mockRuntime";
import { offlineStackConfig, secretPlaceholders } from "../lib/plan/stackConfig";
import { readPlanFile } from "../lib/plan/planFile";
import { writeManifests } from "../lib/plan/manifests";
import { formatResourceCount, resourceCount } from "../lib/plan/summary";
import { formatTextReport, planStages, screen } from "../lib/plan/textReport";
import { humanSteps, unsetSecretKeys } from "../lib/plan/humanSteps";
import { estimatePlan, loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../lib/plan/review";
import { testEvaluationDate } from "./support/clock";
import { compareWithDesign } from "../lib/cost/report";
import type { Violation } from "../lib/policy/evaluate";
import { namespaceQuotaProblems } from "../components/quotaCheck";
import { loadStackSettings, mutatedProject, repoRoot } from "./support/stacks";

const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
function runPlanCli(args: string[]) {
  return spawnSync(tsx, ["scripts/plan.ts", ...args, "--evaluation-date", testEvaluationDate], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
}
/** As a user runs it: through npm (`-s` drops npm's banner). */
function runNpmPlan(npmArgs: string[], args: string[]) {
  return spawnSync("npm", ["run", ...npmArgs, "plan", "--", ...args, "--evaluation-date", testEvaluationDate], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
}
const lines = (text: string) => text.split("\n").filter((l, i, all) => !(i === all.length - 1 && l === ""));
/** One failure, one message: a single `error:` line opening it (after the stage lines), no stack frame. */
function assertOneMessage(stderr: string) {
  assert.equal(lines(stderr).filter((l) => l.startsWith("error:")).length, 1, stderr);
  assert.ok(lines(stderr).filter((l) => !/^plan: \[\d\/\d\] /.test(l))[0]!.startsWith("error:"), stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, "a stack trace was printed");
}

type R = Record<string, any>;
const inputsOf = (plan: StackPlan, type: string): R[] => plan.resources.filter((r) => r.type === type).map((r) => r.inputs as R);
const scalingTarget = (plan: StackPlan, dimension: string) => inputsOf(plan, "aws:appautoscaling/target:Target").find((t) => t.scalableDimension === dimension);

describe("offline plan", function () {
  this.timeout(600_000); // a plan run starts the policy pack: 10-45 s, minutes on a loaded machine
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

  const savedDev = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "plan.json");
  it("the CLI writes the JSON plan in the documented shape; its text fits a screen, verdict first", () => {
    const out = savedDev;
    const r = runPlanCli(["--stack", "dev", "--json", out]);
    assert.equal(r.status, 0, r.stderr);
    // Resources by component are in --verbose (the screen goes to the steps only a person can do).
    assert.doesNotMatch(r.stdout, /Resources by component/);
    assert.match(r.stdout, /Aurora Serverless v2 ACU\s+0\.5-4/);
    const text = lines(r.stdout);
    assert.ok(text.length <= screen.lines - screen.npmBannerLines, `${text.length} lines`);
    for (const l of text) assert.ok(l.length <= screen.columns, `${l.length} columns: ${l}`);
    assert.match(text[0]!, /^Plan for stack 'dev' of project 'autoscaling' \(offline, .*; \d+\.\d s\)$/);
    assert.match(text[1]!, /^Policies: (PASS|FAIL), /);
    assert.equal(text.find((l) => l.startsWith("Resources: ")), `Resources: ${formatResourceCount(resourceCount(plans.dev!.resources))}`);
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.deepEqual(Object.keys(doc), ["stack", "project", "resources", "violations", "cost"]);
    assert.equal(doc.stack, "dev");
    assert.equal(doc.project, "autoscaling");
    assert.deepEqual(Object.keys(doc.resources[0]).sort(), ["dependencies", "inputs", "name", "parent", "propertyDependencies", "type", "urn"]);
    assert.equal(doc.resources.length, plans.dev!.resources.length);
    // One resource count: the JSON, the plan read back (--input) and the in-process plan agree, the
    // EKS cluster (a remote component) counted as a component in each.
    const count = resourceCount(plans.dev!.resources);
    assert.equal(doc.resources.length, count.total);
    assert.deepEqual(resourceCount(readPlanFile(out).resources), count);
    assert.ok(count.remoteComponents >= 1 && plans.dev!.resources.some((r) => r.type === "eks:index:Cluster" && !r.custom));
  });

  it("`npm run -s plan -- --input <saved> --format markdown` prints a clean comment with the same count", () => {
    assert.ok(fs.existsSync(savedDev), "the JSON test above writes the saved plan");
    const r = runNpmPlan(["-s"], ["--stack", "dev", "--input", savedDev, "--format", "markdown"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lines(r.stdout)[0], "## Plan review: `dev`");
    assert.doesNotMatch(r.stdout, /^> /m, "npm's banner is in the comment");
    assert.ok(r.stdout.includes(`${formatResourceCount(resourceCount(plans.dev!.resources))}.`));
  });

  it("`npm run plan -- --stack prod` prints at most 60 lines of at most 120 columns, verdict first", () => {
    const r = runNpmPlan([], ["--stack", "prod"]);
    assert.equal(r.status, 0, r.stderr);
    const all = [...lines(r.stdout), ...lines(r.stderr)];
    assert.ok(all.length <= screen.lines, `${all.length} lines`);
    // Progress: one line per stage on stderr, in order, nothing else there for the shipped stack.
    assert.deepEqual(lines(r.stderr).map((l) => l.replace(/ \([\d.]+ s\)$/, "")), [
      `plan: [1/4] ${planStages.settings}`, `plan: [2/4] ${planStages.program}`, `plan: [3/4] ${planStages.policies}`, `plan: [4/4] ${planStages.report}`,
    ]);
    // What only a person can do, as the README lists it.
    assert.ok(lines(r.stdout).some((l) => /^Only a person can do \(3; everything else is code\):$/.test(l)), r.stdout);
    for (const l of all) assert.ok(l.length <= screen.columns, `${l.length} columns: ${l}`);
    const report = lines(r.stdout).filter((l) => !l.startsWith("> ") && l !== "");
    assert.match(report[0]!, /^Plan for stack 'prod' /);
    assert.match(report[1]!, /^Policies: PASS, no violations/);
    assert.match(report[2]!, /^Cost: \$[\d,.]+\/month = \d+% of the \$12,000\.00 monthly budget/);
    assert.ok(report.findIndex((l) => l.startsWith("Capacity: EKS ")) === 4 || report.findIndex((l) => l.startsWith("Capacity: EKS ")) === 3);
    assert.ok(report.includes(`Resources: ${formatResourceCount(resourceCount(plans.prod!.resources))}`));
    assert.doesNotMatch(r.stdout, /Cost by line/, "the per-line table is for --verbose");
  });

  it("the manifest file names the README and docs give are the ones --manifests writes for prod", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manifests-"));
    const written = writeManifests(dir, plans.prod!.resources).map((f) => path.basename(f)).filter((f) => /^\d\d-/.test(f));
    const docs = ["README.md", ...fs.readdirSync(path.join(repoRoot, "docs")).filter((f) => f.endsWith(".md") && f !== "forecasting.md").map((f) => `docs/${f}`)];
    for (const file of docs) {
      for (const name of new Set(fs.readFileSync(path.join(repoRoot, file), "utf8").match(/\b\d\d-[a-z]+\.yaml\b/g) ?? [])) {
        assert.ok(written.includes(name), `${file} names ${name}; --manifests writes ${written.join(", ")}`);
      }
    }
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    assert.ok(readme.includes(`(\`${written[0]}\` ... \`${written[written.length - 1]}\`)`), `README must name the range ${written[0]} ... ${written[written.length - 1]}`);
  });

  it("the default report fits a screen for both stacks even with many findings; --verbose has the tables", () => {
    for (const stack of ["prod", "dev"] as const) {
      const plan = plans[stack]!;
      const config = pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, stack)), testEvaluationDate);
      const estimate = estimatePlan(plan.resources, stack, config);
      const long = "a long finding message that names a resource, a value and what is allowed ".repeat(4);
      const violations: Violation[] = plan.resources.slice(0, 60).map((r, i) => ({
        policy: `policy-${i % 7}`,
        enforcementLevel: i % 3 === 0 ? "mandatory" : "advisory",
        urn: r.urn,
        message: long,
      } as Violation));
      for (const found of [[], violations]) {
        const steps = humanSteps({ resources: plan.resources, unsetSecretKeys: unsetSecretKeys(plan.stackFile), costAllocationTagActivation: plan.settings.budgets.costAllocationTagActivation });
        const input = { stack, project: plan.project, source: "offline, Pulumi mock runtime", preview: false, seconds: 12.3, resources: plan.resources, violations: found, policyConfigFile: `policies/config/${stack}.json`, estimate, comparison: compareWithDesign(estimate, stack), placeholderKeys: plan.placeholderKeys, humanSteps: steps };
        const text = formatTextReport({ ...input, verbose: false });
        assert.ok(text.length <= screen.lines - screen.npmBannerLines - screen.progressLines, `${stack}, ${found.length} findings: ${text.length} lines`);
        // A mandatory finding is wrapped, never cut: its message ends on the screen ("... is allowed").
        if (found.length) assert.match(text.join("\n"), /mandatory \[policy-0\][^]*?names a resource, a value and what is\s+allowed\s*$/m);
        assert.doesNotMatch(text.join("\n"), /mandatory \[.*\.\.\.$/m, "a mandatory finding was cut");
        for (const l of text) assert.ok(l.length <= screen.columns, `${stack}: ${l.length} columns: ${l}`);
        assert.match(text[1]!, found.length ? /^Policies: FAIL, 20 mandatory violations/ : /^Policies: PASS/);
        assert.match(text[2]!, /^Cost: /);
        if (found.length) assert.ok(text.indexOf(`Findings (${found.length})`) < text.findIndex((l) => l.startsWith("Capacity (read")), "findings come before the summary");
        const verbose = formatTextReport({ ...input, verbose: true }).join("\n");
        for (const heading of ["Resources by component", "Cost by line", "Cost by component"]) assert.ok(verbose.includes(heading), `${stack} --verbose: ${heading}`);
        assert.match(verbose, /eks:index:Cluster\): 0 \(remote component/);
      }
    }
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

    it("a bad --evaluation-date or PYAIRTABLE_EVALUATION_DATE is a usage error naming it, before anything runs", () => {
      const bad = spawnSync(tsx, ["scripts/plan.ts", "--stack", "prod", "--evaluation-date", "2027-02-30"], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, /--evaluation-date = "2027-02-30": must be a calendar date YYYY-MM-DD/);
      assertOneMessage(bad.stderr);
      const env = spawnSync(tsx, ["scripts/plan.ts", "--stack", "prod"], { cwd: repoRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, PYAIRTABLE_EVALUATION_DATE: "next week" } });
      assert.equal(env.status, 2, env.stderr);
      assert.match(env.stderr, /PYAIRTABLE_EVALUATION_DATE = "next week": must be a calendar date YYYY-MM-DD/);
    });

    it("an unknown stack is a clear usage error", () => {
      const r = runPlanCli(["--stack", "staging"]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /stack 'staging' has no stack file .*Pulumi\.staging\.yaml \(stacks here: dev, prod\)/);
      assertOneMessage(r.stderr);
    });

    it("a service maximum within the schema's range but over its namespace quota: one message, exit 2", () => {
      const dir = mutatedProject("prod", "quota", (c) => (c["autoscaling:services"]["api-gateway"].maxReplicas = 40));
      const r = runPlanCli(["--stack", "quota", "--project-dir", dir]);
      assert.equal(r.status, 2, `exit ${r.status}\n${r.stderr}`);
      assertOneMessage(r.stderr);
      assert.match(r.stderr, /autoscaling:services\.api-gateway\.maxReplicas = 40: over the ResourceQuota of namespace pyairtable-api \(80 pods/);
      assert.match(r.stderr, /api-gateway can be at most 29/);
      assert.equal(r.stdout, "");
    });

    it("placeholders left in a prod stack: warnings name them, a documentation CIDR on a public endpoint fails the plan (exit 3) naming the setting", () => {
      const dir = mutatedProject("prod", "copied", (c) => {
        c["autoscaling:monitoring"].runbookBaseUrl = "https://git.example.invalid/pyairtable/blob/main/docs/runbook.md";
        c["autoscaling:cluster"].endpointPublicAccess = true;
        c["autoscaling:cluster"].publicAccessCidrs = ["203.0.113.0/24"];
      });
      // Judged with prod's policy config.
      fs.mkdirSync(path.join(dir, "policies", "config"), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, "policies", "config", "prod.json"), path.join(dir, "policies", "config", "copied.json"));
      const r = runPlanCli(["--stack", "copied", "--project-dir", dir]);
      assert.equal(r.status, 3, `exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, /^warning: \[runtime\] autoscaling:monitoring\.runbookBaseUrl = "https:\/\/git\.example\.invalid\/[^"]*" looks like a placeholder: the \.invalid top-level domain never resolves/m);
      assert.match(r.stderr, /^warning: \[runtime\] autoscaling:cluster\.publicAccessCidrs\[0\] = "203\.0\.113\.0\/24" looks like a placeholder/m);
      assert.match(r.stderr, /^error: 1 mandatory policy violation: eks-public-access-cidrs-not-placeholders$/m);
      // The finding, whole (wrapped, not cut), with the setting and the range.
      const report = r.stdout.replace(/\n\s+/g, " ");
      assert.match(report, /mandatory \[eks-public-access-cidrs-not-placeholders\] pyairtable-prod-cluster-eks: EKS cluster pyairtable-prod-cluster-eks: autoscaling:cluster\.publicAccessCidrs lists 203\.0\.113\.0\/24, a documentation range \(TEST-NET-3, RFC 5737\)[^\n]* reach the API from inside the VPC\./);
      // With the endpoint public, the operators' CIDRs are no longer a step to do.
      assert.doesNotMatch(r.stdout, /The API endpoint is private/);
    });

    it("a bad saved plan (--input) names the saved plan as the cause, exit 2", () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "edited.json");
      fs.writeFileSync(file, JSON.stringify({ stack: "prod", project: "autoscaling", resources: [{ urn: "not-a-urn", type: "x", name: "x", parent: "", inputs: {} }] }));
      const r = runPlanCli(["--stack", "prod", "--input", file]);
      assert.equal(r.status, 2, `exit ${r.status}\n${r.stderr}`);
      assertOneMessage(r.stderr);
      assert.match(r.stderr, /resources\.0\.urn/);
      assert.ok(r.stderr.includes(`the saved plan ${file} (--input) is the cause`), r.stderr);
      assert.doesNotMatch(r.stderr, /fix the stack file/);
    });

    it("the quota check passes the shipped stacks and names the service, value and quota otherwise", () => {
      for (const stack of ["prod", "dev"]) assert.deepEqual(namespaceQuotaProblems(loadStackSettings(stack)), []);
      const prod = loadStackSettings("prod");
      const problems = namespaceQuotaProblems({ ...prod, services: { ...prod.services, "file-processing": { minReplicas: 0, maxReplicas: 60 } } });
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.key, "autoscaling:services.file-processing.maxReplicas");
      assert.equal(problems[0]!.value, "60");
      assert.match(problems[0]!.message, /ResourceQuota of namespace pyairtable-workers \(110 pods/);
    });
  });
});
