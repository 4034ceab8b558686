/**
 * Reviewing a plan: the policy pack's verdicts over the planned resources with the stack's policy
 * config, and the cost model's estimate next to the design's table. Shared by the offline plan
 * (`npm run plan`) and tests. The verdicts come from the pack served as the Pulumi CLI serves it
 * (see ../policy/servedPack.ts), passed in as `evaluate`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PolicyConfigError, type PolicyPackConfig, type Violation } from "../policy/evaluate";
import { estimateCost, resolveUsageAssumptions, type CostEstimate, type UsageAssumptions } from "../cost/estimate";
import type { PlannedResource } from "./mockRuntime";

export interface PlanReview {
  readonly violations: Violation[];
  readonly estimate: CostEstimate;
  /** The policy config file used. */
  readonly policyConfigFile: string;
}

export function policyConfigPath(projectDir: string, stack: string): string {
  return path.join(projectDir, "policies", "config", `${stack}.json`);
}

export function loadPolicyConfig(file: string): PolicyPackConfig {
  if (!fs.existsSync(file)) throw new PolicyConfigError(`policy config ${file} does not exist: every stack needs one (policies/config/<stack>.json)`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PolicyPackConfig;
  } catch (e) {
    throw new PolicyConfigError(`policy config ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Judges resources with a policy config: the served pack's `evaluate`. */
export type PolicyVerdicts = (resources: readonly PlannedResource[], config: PolicyPackConfig) => Promise<Violation[]>;

export async function reviewPlan(
  resources: readonly PlannedResource[],
  environment: "prod" | "dev",
  policyConfigFile: string,
  evaluate: PolicyVerdicts,
): Promise<PlanReview> {
  const config = loadPolicyConfig(policyConfigFile);
  const violations = await evaluate(resources, config);
  return { violations, estimate: estimatePlan(resources, environment, config), policyConfigFile };
}

/** The cost model's estimate of a plan, with the usage assumptions of the stack's policy config. */
export function estimatePlan(resources: readonly PlannedResource[], environment: "prod" | "dev", config: PolicyPackConfig): CostEstimate {
  const costConfig = config["cost-within-budget"];
  const usage = (typeof costConfig === "object" && costConfig !== null ? (costConfig.usage as Partial<UsageAssumptions> | undefined) : undefined) ?? {};
  return estimateCost(resources, resolveUsageAssumptions(environment, usage));
}

/** Violations grouped by enforcement level, mandatory first. */
export function groupViolations(violations: readonly Violation[]): Array<[string, Violation[]]> {
  const order = ["mandatory", "remediate", "advisory"];
  const groups = new Map<string, Violation[]>();
  for (const v of violations) groups.set(v.enforcementLevel, [...(groups.get(v.enforcementLevel) ?? []), v]);
  return [...groups].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
}
