/**
 * The policy pack as `pulumi preview --policy-pack policies` runs it: started by the CLI's own
 * command (run-policy-pack, the pack's folder as working directory, the CLI's ts-node settings with
 * the pack's tsconfig.json), driven over the Analyzer gRPC protocol. Its verdicts on the shipped
 * stacks, in update and first-preview semantics, and through the plan CLI.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { testEvaluationDate } from "../support/clock";
import { loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../../lib/plan/review";
import { ServedPolicyPack, PolicyPackStartError, runPolicyPackScript } from "../../lib/policy/servedPack";
import { containsUnknown } from "../../lib/policy/wire";
import type { Violation } from "../../lib/policy/evaluate";
import { evaluatePolicies, packDir, packLabelFromFiles, row, servedPack } from "../support/policyEvaluation";
import { repoRoot } from "../support/stacks";
import { bundlePolicyPack } from "../../scripts/policy-bundle";

type R = Record<string, any>;

describe("the policy pack served as the Pulumi CLI serves it", function () {
  this.timeout(600_000);
  let pack: ServedPolicyPack;
  const plans: Record<string, { update: StackPlan; preview: StackPlan }> = {};

  before(async () => {
    pack = await servedPack();
    for (const stack of ["prod", "dev"]) {
      plans[stack] = { update: await planStack(stack), preview: await planStack(stack, { preview: true }) };
    }
  });

  it("starts through the analyzer shim's command from the pack's folder and prints its port", () => {
    // What `pulumi-analyzer-policy` resolves from the pack's folder (the workspace hoists it to the root).
    assert.equal(runPolicyPackScript(packDir), path.join(repoRoot, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js"));
    // The pack has its own build settings: the CLI's ts-node reads policies/tsconfig.json, not the root's.
    const tsconfig = JSON.parse(fs.readFileSync(path.join(packDir, "tsconfig.json"), "utf8"));
    assert.ok(/^ES20(2[2-9])$/i.test(tsconfig.compilerOptions.target), tsconfig.compilerOptions.target);
    assert.equal(pack.info.name, "pyairtable-autoscaling-guardrails");
    assert.equal(pack.info.version, JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")).version);
    assert.equal(pack.info.supportsConfig, true);
    // The label the fast suite's in-process evaluation uses without starting the pack.
    assert.equal(packLabelFromFiles(), `'${pack.info.name}@v${pack.info.version}'`);
  });

  it("lists every policy with its level, severity, remediation and config schema", () => {
    assert.deepEqual(pack.info.policies.map((p) => p.name).sort(), allPolicies.map((p) => p.name).sort());
    for (const policy of allPolicies) {
      const served = pack.info.policies.find((p) => p.name === policy.name)!;
      assert.equal(served.enforcementLevel, policy.enforcementLevel, policy.name);
      assert.equal(served.severity, policy.severity, policy.name);
      assert.equal(served.remediationSteps, policy.remediationSteps, policy.name);
      assert.equal(served.kind, "validateStack" in policy ? "stack" : "resource", policy.name);
      assert.deepEqual(served.configSchema?.properties, JSON.parse(JSON.stringify(policy.configSchema?.properties)), policy.name);
    }
  });

  // Prod: no finding of any level. Dev: no mandatory finding; its documented advisory deviations (a node
  // AMI that follows @latest, reference Deployments pinned by tag) are the same at update and first preview.
  const devAdvisories = new Set(["no-latest-images-or-amis", "images-pinned-by-digest"]);
  for (const stack of ["prod", "dev"]) {
    it(`${stack}: ${stack === "prod" ? "no violations of any level" : "no mandatory violations"} through the served pack, the same in update and first-preview semantics`, async () => {
      const config = pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, stack)), testEvaluationDate);
      const verdicts: string[][] = [];
      for (const mode of ["update", "preview"] as const) {
        // Through the served pack, checked against the in-process evaluator (same verdicts).
        const violations = await evaluatePolicies(allPolicies, plans[stack]![mode].resources, config);
        if (stack === "prod") assert.deepEqual(violations.map(row), [], `${stack} ${mode}`);
        else assert.deepEqual(violations.filter((v) => v.enforcementLevel !== "advisory" || !devAdvisories.has(v.policy)).map(row), [], `${stack} ${mode}`);
        verdicts.push(violations.map((v) => JSON.stringify(row(v))).sort());
      }
      assert.deepEqual(verdicts[1], verdicts[0], `${stack}: first preview and update disagree`);
    });
  }

  it("a first preview really has unknowns: ids, ARNs, endpoints and what derives from them, with property dependencies", () => {
    const { update, preview } = plans.prod!;
    assert.equal(preview.resources.length, update.resources.length);
    const withUnknowns = preview.resources.filter((r) => containsUnknown(r.inputs));
    assert.ok(withUnknowns.length >= 40, `${withUnknowns.length} resources with unknown inputs`);
    assert.equal(update.resources.filter((r) => containsUnknown(r.inputs)).length, 0);
    const nat = preview.resources.find((r) => r.type === "aws:ec2/natGateway:NatGateway")!;
    assert.deepEqual(nat.inputs.allocationId, { __pulumiUnknown: true });
    const eip = (nat.propertyDependencies?.allocationId ?? [])[0];
    assert.ok(eip && preview.resources.find((r) => r.urn === eip)?.type === "aws:ec2/eip:Eip", `allocationId depends on ${eip}`);
    const nodeGroup = preview.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup")!;
    assert.deepEqual((nodeGroup.inputs.launchTemplate as R).id, { __pulumiUnknown: true });
    const instance = preview.resources.find((r) => r.type === "aws:rds/clusterInstance:ClusterInstance")!;
    assert.deepEqual(instance.inputs.clusterIdentifier, { __pulumiUnknown: true });
  });

  it("cost-within-budget decides in a first preview, with the same estimate as at update", async () => {
    const config = pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, "prod")), testEvaluationDate);
    // A budget just below the estimate: the verdict must be the mandatory violation in both modes,
    // never the analyzer's advisory "can't run during preview".
    const tight = { ...config, "cost-within-budget": { ...(config["cost-within-budget"] as R), monthlyBudgetUsd: 1000 } };
    const verdicts: Violation[][] = [];
    for (const mode of ["update", "preview"] as const) {
      const vs = await evaluatePolicies(allPolicies.filter((p) => p.name === "cost-within-budget"), plans.prod![mode].resources, tight);
      assert.deepEqual(vs.map((v) => [v.policy, v.enforcementLevel]), [["cost-within-budget", "mandatory"]], `${mode}: ${vs.map((v) => v.message).join("; ")}`);
      verdicts.push(vs);
    }
    assert.equal(verdicts[1]![0]!.message, verdicts[0]![0]!.message);
  });

  it("a pack that does not compile fails to start with the compiler's message, and nothing is left running", async () => {
    const dir = fs.mkdtempSync(path.join(packDir, ".broken-"));
    try {
      fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\nname: broken\n");
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "broken", version: "0.0.1", main: "index.ts" }));
      fs.writeFileSync(path.join(dir, "tsconfig.json"), fs.readFileSync(path.join(packDir, "tsconfig.json")));
      fs.writeFileSync(path.join(dir, "index.ts"), 'const n: number = "not a number";\nexport {};\n');
      await assert.rejects(
        ServedPolicyPack.start({ packDir: dir, project: "p", stack: "s", startTimeoutMs: 120_000 }),
        (e: Error) => e instanceof PolicyPackStartError && /TS2322/.test(e.message) && /exited/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bundles into a self-contained pack (npm run policy:bundle) that serves the same policies and verdicts", async () => {
    // Under the repository, so the bundle's SDK dependencies resolve from the root node_modules.
    fs.mkdirSync(path.join(repoRoot, "out"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(repoRoot, "out", "policy-pack-"));
    let bundled: ServedPolicyPack | undefined;
    try {
      const files = await bundlePolicyPack(dir);
      assert.deepEqual(files.map((f) => path.basename(f)), ["PulumiPolicy.yaml", "package.json", "index.js"]);
      const code = fs.readFileSync(path.join(dir, "index.js"), "utf8");
      assert.doesNotMatch(code, /require\("\.\.?\//, "the bundle requires nothing outside itself but its dependencies");
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      assert.equal(manifest.main, "index.js");
      assert.deepEqual(Object.keys(manifest.dependencies).sort(), ["@pulumi/aws", "@pulumi/kubernetes", "@pulumi/policy", "@pulumi/pulumi"]);
      bundled = await ServedPolicyPack.start({ packDir: dir, project: "autoscaling", stack: "prod" });
      assert.deepEqual(bundled.info.policies.map((p) => p.name), pack.info.policies.map((p) => p.name));
      const config = pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, "prod")), testEvaluationDate);
      const resources = structuredClone(plans.prod!.update.resources);
      const hpa = resources.find((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" && (r.inputs as R).metadata.name === "user-services")!;
      (hpa.inputs as R).spec.maxReplicas = 11;
      const fromBundle = (await bundled.evaluate(resources, config)).map(row);
      assert.deepEqual(fromBundle, (await pack.evaluate(resources, config)).map(row));
      assert.deepEqual(fromBundle.map(([policy, level, urn]) => [policy, level, urn]), [["replica-ceilings", "mandatory", hpa.urn]]);
    } finally {
      await bundled?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("the plan CLI judges through the served pack", () => {
    const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
    const cli = (args: string[]) => spawnSync(tsx, ["scripts/plan.ts", ...args, "--evaluation-date", testEvaluationDate], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-preview-"));
    });

    it("--preview on a plan with a node group of an unpriced instance type exits 3 with cost-within-budget", () => {
      const saved = path.join(dir, "preview.json");
      const ok = cli(["--stack", "prod", "--preview", "--json", saved]);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /first preview/);
      assert.match(ok.stdout, /no violations/);
      const doc = JSON.parse(fs.readFileSync(saved, "utf8"));
      const nodeGroup = doc.resources.find((r: R) => r.type === "aws:eks/nodeGroup:NodeGroup");
      assert.deepEqual(nodeGroup.inputs.launchTemplate.id, { __pulumiUnknown: true });
      nodeGroup.inputs.instanceTypes = ["x9z.24xlarge"];
      fs.writeFileSync(path.join(dir, "edited.json"), JSON.stringify(doc));
      const bad = cli(["--stack", "prod", "--preview", "--verbose", "--input", path.join(dir, "edited.json")]);
      assert.equal(bad.status, 3, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /\[cost-within-budget\] cannot price aws:eks\/nodeGroup:NodeGroup .*x9z\.24xlarge/);
      assert.ok(bad.stdout.includes(nodeGroup.urn));
      assert.doesNotMatch(bad.stdout, /can't run policy/);
      assert.match(bad.stderr, /mandatory policy violation.*cost-within-budget/);
    });
  });
});
