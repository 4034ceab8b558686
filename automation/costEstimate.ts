/**
 * The cost model's monthly estimate for the stack's current settings, as the
 * `pyairtable_autoscaler_cost_estimate_monthly_usd{component}` gauge (MonthlyCostEstimateOverBudget
 * and the cost/executive dashboards read it).
 *
 * The estimate is the offline plan's: the real program under the mock runtime with the stack file
 * (`Pulumi.<stack>.yaml`), priced by lib/cost with the usage assumptions of the stack's policy
 * config (`policies/config/<stack>.json`, `cost-within-budget.usage`), the same figures
 * `npm run plan` and the `cost-within-budget` policy report. The automation service's runtime
 * overrides (scheduled/predictive/emergency replica floors) do not change provisioned AWS resources
 * and so not this estimate.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { estimateCost, resolveUsageAssumptions, type UsageAssumptions } from "../lib/cost/estimate";
import { costByComponent, type ComponentCost } from "../lib/cost/report";
import { planStack } from "../lib/plan/plan";
import { priceCatalog } from "../lib/cost/prices";
import { parseIsoDay } from "../lib/catalog/eksVersions";
import type { AutomationMetrics } from "./metrics";

/** Usage assumptions of the stack's policy config (`cost-within-budget.usage`), or the defaults. */
export function stackUsageAssumptions(projectDir: string, stack: string, environment: "prod" | "dev"): UsageAssumptions {
  const file = path.join(projectDir, "policies", "config", `${stack}.json`);
  if (!fs.existsSync(file)) return resolveUsageAssumptions(environment);
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { usage?: Partial<UsageAssumptions> } | string | undefined>;
  const cost = doc["cost-within-budget"];
  return resolveUsageAssumptions(environment, (typeof cost === "object" && cost?.usage) || {});
}

/**
 * Monthly cost per component of the stack as its stack file stands. Runs one offline plan (a few
 * seconds). `evaluationDate` (`YYYY-MM-DD`): the day the control plane is priced for (standard or
 * extended EKS support); default today, as the service wants it.
 */
export async function stackCostEstimate(projectDir: string, stack: string, evaluationDate?: string): Promise<ComponentCost[]> {
  const plan = await planStack(stack, { projectDir, evaluationDate });
  const asOf = evaluationDate === undefined ? undefined : parseIsoDay(evaluationDate, "evaluationDate");
  const estimate = estimateCost(plan.resources, stackUsageAssumptions(projectDir, stack, plan.settings.environment), priceCatalog(), asOf ? { asOf } : {});
  return costByComponent(estimate);
}

/** Replaces the gauge's series with one per component. */
export function exportCostEstimate(metrics: AutomationMetrics, components: readonly ComponentCost[]): void {
  metrics.costEstimateMonthlyUsd.reset();
  for (const c of components) metrics.costEstimateMonthlyUsd.set({ component: c.component }, c.monthlyUsd);
}
