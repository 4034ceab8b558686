import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack, type StackPlan } from "../support/plans";
import { policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { repoRoot } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";
import { allPolicies } from "../../policies/rules";
import { evaluatePolicies } from "../support/policyEvaluation";

type R = Record<string, any>;

/** A deep copy of the plan's resources with one resource's inputs changed. */
function mutate(plan: StackPlan, pick: (r: PlannedResource) => boolean, change: (inputs: R) => void): { resources: PlannedResource[]; urn: string } {
  const resources = structuredClone(plan.resources);
  const target = resources.find(pick);
  assert.ok(target, "no resource matched the mutation");
  change(target.inputs as R);
  return { resources, urn: target.urn };
}

// Verdicts of the served pack, checked against the in-process evaluator (test/support/policyEvaluation.ts).
const review = (resources: PlannedResource[], stack = "prod") =>
  reviewPlan(resources, stack as "prod" | "dev", policyConfigPath(repoRoot, stack), (rs, config) => evaluatePolicies(allPolicies, rs, config), { evaluationDate: testEvaluationDate });
const byMeta = (kind: string, name: string) => (r: PlannedResource) => r.type.endsWith(`:${kind}`) && (r.inputs as R).metadata?.name === name;

describe("policy mutations of the real planned stacks", function () {
  this.timeout(120_000);
  let prod: StackPlan;
  before(async () => {
    prod = await planStack("prod");
  });

  it("the unmutated prod and dev stacks pass every mandatory policy", async () => {
    assert.deepEqual((await review(prod.resources)).violations, []);
    const dev = await planStack("dev");
    assert.deepEqual((await review(dev.resources, "dev")).violations.filter((v) => v.enforcementLevel === "mandatory"), []);
  });

  it("raising one service's max above its ceiling", async () => {
    const { resources, urn } = mutate(prod, byMeta("HorizontalPodAutoscaler", "user-services"), (i) => (i.spec.maxReplicas = 11));
    const { violations } = await review(resources);
    assert.deepEqual(violations.map((v) => [v.policy, v.urn, v.message]), [
      ["replica-ceilings", urn, "HPA pyairtable-api/user-services: max replicas 11 exceeds the ceiling of 10 for 'user-services'"],
    ]);
  });

  it("putting a data workload on spot", async () => {
    const { resources } = mutate(prod, byMeta("NodePool", "data-on-demand"), (i) => {
      i.spec.template.spec.requirements.find((r: R) => r.key === "karpenter.sh/capacity-type").values = ["spot"];
    });
    const { violations } = await review(resources);
    // The data pool's on-demand types as spot also exceed the pool's interruption band (advisory).
    assert.deepEqual([...new Set(violations.map((v) => v.policy))].sort(), ["no-stateful-workloads-on-spot", "spot-interruption-band", "spot-share-by-workload-class"]);
    assert.ok(violations.every((v) => v.enforcementLevel === (v.policy === "spot-interruption-band" ? "advisory" : "mandatory")));
    assert.ok(violations.some((v) => /data/.test(v.message) && /100%|1(\.0+)?\b/.test(v.message)), violations.map((v) => v.message).join("\n"));
  });

  it("raising Aurora's max ACU above the ceiling", async () => {
    const { resources, urn } = mutate(prod, (r) => r.type === "aws:rds/cluster:Cluster", (i) => (i.serverlessv2ScalingConfiguration.maxCapacity = 32));
    const { violations } = await review(resources);
    assert.deepEqual(violations.map((v) => [v.policy, v.urn]), [["data-tier-ceilings", urn]]);
    assert.match(violations[0]!.message, /32/);
    assert.match(violations[0]!.message, /16/);
  });

  it("pushing the monthly estimate over budget", async () => {
    const { resources } = mutate(prod, byMeta("NodePool", "api-on-demand"), (i) => (i.metadata.annotations["pyairtable.io/expected-nodes"] = "100"));
    const { violations, estimate } = await review(resources);
    assert.ok(estimate.monthlyUsd > 12000, `estimate ${estimate.monthlyUsd}`);
    assert.deepEqual([...new Set(violations.map((v) => v.policy))], ["cost-within-budget"]);
    assert.ok(violations.some((v) => /^monthly cost estimate \$[\d,.]+ exceeds the monthly budget of \$12,000\.00$/.test(v.message)), violations.map((v) => v.message).join("\n"));
  });

  it("dropping a budget notification", async () => {
    const { resources } = mutate(prod, (r) => r.type === "aws:budgets/budget:Budget" && (r.inputs as R).timeUnit === "DAILY", (i) => {
      i.notifications = (i.notifications as R[]).filter((n) => !(n.thresholdType === "PERCENTAGE" && n.threshold === 95));
    });
    const { violations } = await review(resources);
    assert.deepEqual(violations.map((v) => v.policy), ["budget-notifications"]);
    assert.match(violations[0]!.message, /95/);
  });

  it("disabling encryption at rest", async () => {
    const { resources, urn } = mutate(prod, (r) => r.type === "aws:elasticache/replicationGroup:ReplicationGroup", (i) => (i.atRestEncryptionEnabled = false));
    const { violations } = await review(resources);
    assert.deepEqual(violations.map((v) => [v.policy, v.urn]), [["encryption-at-rest-with-customer-keys", urn]]);
  });

  describe("the CLI on a saved, edited plan (--input)", function () {
    this.timeout(600_000); // each CLI run starts the policy pack: minutes on a loaded machine
    const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
    const cli = (args: string[]) => spawnSync(tsx, ["scripts/plan.ts", ...args, "--evaluation-date", testEvaluationDate], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-input-"));
      const r = cli(["--stack", "prod", "--json", path.join(dir, "plan.json")]);
      assert.equal(r.status, 0, r.stderr);
    });

    it("gives the same verdict as the live plan, and exits 3 naming the policy and resource when edited", () => {
      const ok = cli(["--stack", "prod", "--input", path.join(dir, "plan.json")]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /no violations/);
      const doc = JSON.parse(fs.readFileSync(path.join(dir, "plan.json"), "utf8"));
      const hpa = doc.resources.find((r: R) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" && r.inputs.metadata.name === "api-gateway");
      hpa.inputs.spec.maxReplicas = 40;
      fs.writeFileSync(path.join(dir, "edited.json"), JSON.stringify(doc));
      // --verbose: every finding in full with its URN (the default report fits a screen).
      const bad = cli(["--stack", "prod", "--verbose", "--input", path.join(dir, "edited.json"), "--json", path.join(dir, "out.json")]);
      assert.equal(bad.status, 3, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /mandatory \(2\)/);
      assert.match(bad.stdout, /\[replica-ceilings\] HPA pyairtable-api\/api-gateway: max replicas 40 exceeds the ceiling of 25 for 'api-gateway'/);
      assert.ok(bad.stdout.includes(hpa.urn));
      assert.match(bad.stderr, /2 mandatory policy violations: replica-ceilings/);
      const out = JSON.parse(fs.readFileSync(path.join(dir, "out.json"), "utf8"));
      assert.deepEqual(out.violations.map((v: R) => [v.policy, v.enforcementLevel, v.urn]), [["replica-ceilings", "mandatory", hpa.urn], ["replica-ceilings", "mandatory", hpa.urn]]);
      assert.ok(out.cost.monthlyUsd > 0 && out.cost.items.every((i: R) => typeof i.basis === "string" && i.urn && i.type));
    });

    it("prints a Markdown review for pull requests", () => {
      const md = cli(["--stack", "prod", "--input", path.join(dir, "plan.json"), "--format", "markdown"]);
      assert.equal(md.status, 0, md.stderr);
      assert.match(md.stdout, /^## Plan review: `prod`/);
      assert.match(md.stdout, /\| *component *\|/i);
      assert.doesNotMatch(md.stdout, /Resources by component/);
    });

    it("rejects a plan of another stack and a malformed plan", () => {
      const wrong = cli(["--stack", "dev", "--input", path.join(dir, "plan.json")]);
      assert.equal(wrong.status, 2);
      assert.match(wrong.stderr, /is a plan of stack 'prod', not 'dev'/);
      fs.writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ stack: "prod", project: "autoscaling", resources: [{ urn: "x" }] }));
      const broken = cli(["--stack", "prod", "--input", path.join(dir, "broken.json")]);
      assert.equal(broken.status, 2);
      assert.match(broken.stderr, /--input .*broken\.json: resources\.0\.urn/);
    });
  });
});
