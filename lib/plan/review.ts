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
import { priceCatalog } from "../cost/prices";
import { parseIsoDay } from "../catalog/eksVersions";

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

/** The policies whose verdicts depend on the day (the EKS support calendar): each has an `evaluationDate` config property. */
export const datedPolicies = ["eks-version-in-standard-support", "cost-within-budget"] as const;

/** `config` with every dated policy judging `day` (`YYYY-MM-DD`) instead of the day it runs. */
export function pinEvaluationDate(config: PolicyPackConfig, day: string): PolicyPackConfig {
  parseIsoDay(day, "evaluation date");
  const pinned: PolicyPackConfig = { ...config };
  for (const name of datedPolicies) {
    const own = config[name];
    pinned[name] = { ...(typeof own === "object" && own !== null ? own : typeof own === "string" ? { enforcementLevel: own } : {}), evaluationDate: day };
  }
  return pinned;
}

export async function reviewPlan(
  resources: readonly PlannedResource[],
  environment: "prod" | "dev",
  policyConfigFile: string,
  evaluate: PolicyVerdicts,
  options: {
    /** Judge the EKS calendar on this day (`YYYY-MM-DD`) instead of the configured one or today: tests, CI and future reviews. */
    evaluationDate?: string;
  } = {},
): Promise<PlanReview> {
  const fromFile = loadPolicyConfig(policyConfigFile);
  const config = options.evaluationDate ? pinEvaluationDate(fromFile, options.evaluationDate) : fromFile;
  const violations = await evaluate(resources, config);
  return { violations, estimate: estimatePlan(resources, environment, config), policyConfigFile };
}

/**
 * The cost model's estimate of a plan, with the usage assumptions and the evaluation date (empty:
 * `calendarDay()`) of the stack's policy config (`cost-within-budget`).
 */
export function estimatePlan(resources: readonly PlannedResource[], environment: "prod" | "dev", config: PolicyPackConfig): CostEstimate {
  const costConfig = config["cost-within-budget"];
  const own = typeof costConfig === "object" && costConfig !== null ? costConfig : {};
  const usage = (own.usage as Partial<UsageAssumptions> | undefined) ?? {};
  const day = typeof own.evaluationDate === "string" && own.evaluationDate ? parseIsoDay(own.evaluationDate, "cost-within-budget.evaluationDate") : undefined;
  return estimateCost(resources, resolveUsageAssumptions(environment, usage), priceCatalog(), day ? { asOf: day } : {});
}

/** Violations grouped by enforcement level, mandatory first. */
export function groupViolations(violations: readonly Violation[]): Array<[string, Violation[]]> {
  const order = ["mandatory", "remediate", "advisory"];
  const groups = new Map<string, Violation[]>();
  for (const v of violations) groups.set(v.enforcementLevel, [...(groups.get(v.enforcementLevel) ?? []), v]);
  return [...groups].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
}
