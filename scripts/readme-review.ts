/**
 * `npm run readme:review [-- --check]`: regenerates the README's policy table and the prod/dev cost
 * comparison with the design (sections `policies` and `cost-estimate`). `--check` only reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { allPolicies } from "../policies/rules";
import { planStack, projectDir } from "../lib/plan/plan";
import { estimatePlan, loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../lib/plan/review";
import { compareWithDesign } from "../lib/cost/report";
import { generatedSectionBody, readmeSection, replaceReadmeSection } from "../lib/readme";
import { renderCostComparison, renderPolicyTable } from "../lib/plan/readmeReview";
import { humanSteps, humanStepsMarkdown, unsetSecretKeys } from "../lib/plan/humanSteps";

export const readmeReviewCommand = "npm run readme:review";

/**
 * The sections as of `evaluationDate` (`YYYY-MM-DD`; the control plane's EKS support phase), default
 * `$PYAIRTABLE_EVALUATION_DATE` or today.
 */
export async function renderReadmeReviewSections(evaluationDate?: string): Promise<Record<"policies" | "cost-estimate" | "human-steps", string>> {
  const configs = { prod: loadPolicyConfig(policyConfigPath(projectDir, "prod")), dev: loadPolicyConfig(policyConfigPath(projectDir, "dev")) };
  const priced = (stack: "prod" | "dev") => (evaluationDate ? pinEvaluationDate(configs[stack], evaluationDate) : configs[stack]);
  // One stack at a time: the mock runtime is process-global.
  const comparisons = [];
  let prodSteps = "";
  for (const stack of ["prod", "dev"] as const) {
    const plan = await planStack(stack, { evaluationDate });
    // The README's before-first-deploy list: what the plan prints for the shipped prod stack.
    if (stack === "prod") {
      prodSteps = humanStepsMarkdown(humanSteps({ resources: plan.resources, unsetSecretKeys: unsetSecretKeys(plan.stackFile), costAllocationTagActivation: plan.settings.budgets.costAllocationTagActivation }));
    }
    const estimate = estimatePlan(plan.resources, plan.settings.environment, priced(stack));
    comparisons.push(compareWithDesign(estimate, plan.settings.environment));
  }
  const [prod, dev] = comparisons;
  return {
    policies: generatedSectionBody(renderPolicyTable(allPolicies, configs), readmeReviewCommand),
    "cost-estimate": generatedSectionBody(renderCostComparison(prod!, dev!), readmeReviewCommand),
    "human-steps": generatedSectionBody(prodSteps, readmeReviewCommand),
  };
}

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const readmePath = path.join(projectDir, "README.md");
  let readme = fs.readFileSync(readmePath, "utf8");
  const sections = await renderReadmeReviewSections();
  let stale = 0;
  for (const [name, body] of Object.entries(sections)) {
    if (readmeSection(readme, name) === body) continue;
    stale++;
    readme = replaceReadmeSection(readme, name, body);
  }
  if (check) {
    console.log(stale ? `README.md: ${stale} generated section(s) out of date; run ${readmeReviewCommand}` : "README.md is up to date");
    return stale ? 1 : 0;
  }
  fs.writeFileSync(readmePath, readme);
  console.log(stale ? `README.md: updated ${stale} section(s)` : "README.md is up to date");
  return 0;
}

if (require.main === module) main().then((c) => process.exit(c), (e) => { console.error(`error: ${(e as Error).message}`); process.exit(1); });
