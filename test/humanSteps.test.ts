import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack, type StackPlan } from "./support/plans";
import { repoRoot, stacks } from "./support/stacks";
import { humanSteps, humanStepsMarkdown, unsetSecretKeys, type HumanStepsInput } from "../lib/plan/humanSteps";
import { placeholderWarnings } from "../lib/config/placeholders";
import { readmeSection } from "../lib/readme";
import { formatTextReport } from "../lib/plan/textReport";
import { estimatePlan, loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../lib/plan/review";
import { testEvaluationDate } from "./support/clock";
import { compareWithDesign } from "../lib/cost/report";
import { readStackFile } from "../lib/config/load";

type Inputs = Record<string, any>;

describe("what only a person can do (the plan's list and the README's)", function () {
  this.timeout(300_000);
  const plans: Partial<Record<(typeof stacks)[number], StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });
  const inputFor = (stack: (typeof stacks)[number]): HumanStepsInput => ({
    resources: plans[stack]!.resources,
    unsetSecretKeys: unsetSecretKeys(plans[stack]!.stackFile),
    costAllocationTagActivation: plans[stack]!.settings.budgets.costAllocationTagActivation,
  });
  const withCluster = (stack: (typeof stacks)[number], edit: (i: Inputs) => void) => {
    const resources = structuredClone(plans[stack]!.resources);
    edit(resources.find((r) => r.type === "eks:index:Cluster")!.inputs as Inputs);
    return resources;
  };

  it("the shipped stacks need three things only a person can do: the secrets, the operators' network, the e-mail confirmations", () => {
    for (const stack of stacks) {
      const steps = humanSteps(inputFor(stack));
      assert.deepEqual(steps.map((s) => [s.id, s.when]), [["secrets", "before"], ["api-access", "before"], ["email-confirmations", "after"]], stack);
      assert.match(steps[0]!.text, /`redisAuthToken`, `slackWebhookUrl`, `alertEmail`/);
      // Counted from the plan: the budget alerts' and the data-tier alarms' e-mail subscriptions, the SES identity.
      const sns = plans[stack]!.resources.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription" && (r.inputs as Inputs).protocol === "email").length;
      assert.ok(sns >= 2, `${stack}: ${sns} e-mail subscriptions`);
      assert.match(steps[2]!.text, new RegExp(`${sns} SNS subscriptions and 1 SES identity`));
    }
  });

  it("the list follows the stack: set secrets, a public endpoint with CIDRs and payer-account activation change it", () => {
    const base = inputFor("prod");
    const ids = (input: HumanStepsInput) => humanSteps(input).map((s) => s.id);
    assert.deepEqual(ids({ ...base, unsetSecretKeys: [] }), ["api-access", "email-confirmations"]);
    assert.deepEqual(ids({ ...base, resources: withCluster("prod", (i) => { i.endpointPublicAccess = true; i.publicAccessCidrs = ["18.204.12.0/24"]; }) }), ["secrets", "email-confirmations"]);
    assert.deepEqual(ids({ ...base, costAllocationTagActivation: "payer-account" }), ["secrets", "api-access", "email-confirmations", "cost-allocation-tag"]);
    assert.deepEqual(ids({ ...base, resources: base.resources.filter((r) => r.type !== "aws:sesv2/emailIdentity:EmailIdentity" && r.type !== "aws:sns/topicSubscription:TopicSubscription") }), ["secrets", "api-access"]);
  });

  it("README's 'Before the first production deploy' list is the plan's list for prod, at most three items", () => {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    const items = readmeSection(readme, "human-steps").split("\n").filter((l) => l.startsWith("- "));
    assert.ok(items.length >= 1 && items.length <= 3, `${items.length} items`);
    assert.equal(items.join("\n") + "\n", humanStepsMarkdown(humanSteps(inputFor("prod"))));
  });

  it("the plan's default view prints each step whole", () => {
    const plan = plans.prod!;
    const estimate = estimatePlan(plan.resources, "prod", pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, "prod")), testEvaluationDate));
    const steps = humanSteps(inputFor("prod"));
    const text = formatTextReport({
      stack: "prod", project: plan.project, source: "offline", preview: false, seconds: 1, resources: plan.resources, violations: [],
      policyConfigFile: "policies/config/prod.json", estimate, comparison: compareWithDesign(estimate, "prod"), placeholderKeys: plan.placeholderKeys,
      humanSteps: steps, verbose: false,
    });
    const flat = text.join(" ").replace(/\s+/g, " ");
    for (const step of steps) assert.ok(flat.includes(step.text.replace(/`/g, "")), `missing: ${step.text}`);
    // One line each on the screen.
    for (const step of steps) assert.equal(text.filter((l) => l.includes(step.text.replace(/`/g, "").slice(0, 40))).length, 1);
    assert.ok(steps.every((step) => step.text.replace(/`/g, "").length + 5 <= 120), "each step fits one line");
  });
});

describe("placeholder warnings", () => {
  it("the shipped stack files have none", () => {
    for (const stack of stacks) assert.deepEqual(placeholderWarnings(readStackFile(repoRoot, stack).config), [], stack);
  });

  it("name the key, the value and why; secure values are never read", () => {
    assert.deepEqual(placeholderWarnings({
      "autoscaling:monitoring": { runbookBaseUrl: "https://git.example.invalid/pyairtable/blob/main/docs/runbook.md" },
      "autoscaling:cluster": { publicAccessCidrs: ["10.0.0.0/8", "203.0.113.0/24"], name: "pyairtable-prod" },
      "autoscaling:automation": { image: "registry.example.com/team/automation:1.0.0", backendUrl: "s3://<your-state-bucket>" },
      "autoscaling:alertEmail": { secure: "v1:oncall@example.com" },
      "aws:region": "us-east-1",
    }), [
      'autoscaling:monitoring.runbookBaseUrl = "https://git.example.invalid/pyairtable/blob/main/docs/runbook.md" looks like a placeholder: the .invalid top-level domain never resolves (RFC 2606)',
      'autoscaling:cluster.publicAccessCidrs[1] = "203.0.113.0/24" looks like a placeholder: a documentation address range (RFC 5737)',
      'autoscaling:automation.image = "registry.example.com/team/automation:1.0.0" looks like a placeholder: example.com/.org/.net are reserved for documentation (RFC 2606)',
      'autoscaling:automation.backendUrl = "s3://<your-state-bucket>" looks like a placeholder: an unfilled <...> template field',
    ]);
  });
});
