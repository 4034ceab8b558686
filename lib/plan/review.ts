/**
 * Reviewing a plan: every policy of the pack over the planned resources with the stack's policy
 * config, and the cost model's estimate next to the design's table. Shared by the offline plan
 * (`npm run plan`) and tests; the real preview runs the same policies through the Pulumi CLI.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { allPolicies } from "../../policies/rules";
import { evaluatePolicies, PolicyConfigError, type PolicyPackConfig, type Violation } from "../policy/evaluate";
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

export async function reviewPlan(resources: readonly PlannedResource[], environment: "prod" | "dev", policyConfigFile: string): Promise<PlanReview> {
  const config = loadPolicyConfig(policyConfigFile);
  const violations = await evaluatePolicies(allPolicies, resources, config);
  const costConfig = config["cost-within-budget"];
  const usage = (typeof costConfig === "object" && costConfig !== null ? (costConfig.usage as Partial<UsageAssumptions> | undefined) : undefined) ?? {};
  const estimate = estimateCost(resources, resolveUsageAssumptions(environment, usage));
  return { violations, estimate, policyConfigFile };
}

/** Violations grouped by enforcement level, mandatory first. */
export function groupViolations(violations: readonly Violation[]): Array<[string, Violation[]]> {
  const order = ["mandatory", "remediate", "advisory"];
  const groups = new Map<string, Violation[]>();
  for (const v of violations) groups.set(v.enforcementLevel, [...(groups.get(v.enforcementLevel) ?? []), v]);
  return [...groups].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
}
