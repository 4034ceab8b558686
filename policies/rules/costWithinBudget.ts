import type { StackValidationPolicy } from "@pulumi/policy";
import { estimateCost, resolveUsageAssumptions, type UsageAssumptions } from "../../lib/cost/estimate";
import { formatUsd, priceCatalog } from "../../lib/cost/prices";
import { calendarDay, parseIsoDay } from "../../lib/catalog/eksVersions";
import { isComponentType } from "../../lib/plan/planFile";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { plainProps } from "../lib";

export interface CostWithinBudgetConfig {
  /** Environment whose usage assumptions apply ("prod" or "dev"). */
  environment: "prod" | "dev";
  /** Monthly budget, USD: the estimate must not exceed it. */
  monthlyBudgetUsd: number;
  /** Daily budget, USD: the estimate's daily run-rate must not exceed it. */
  dailyBudgetUsd: number;
  /** Overrides of the cost model's usage assumptions (spot discount, average ACU, traffic...). */
  usage?: Partial<UsageAssumptions>;
  /**
   * The day to price for (`YYYY-MM-DD`, UTC): the control plane costs standard or extended support by
   * the EKS calendar. Empty (the default): the day the pack runs, as eks-version-in-standard-support.
   */
  evaluationDate?: string;
}

/**
 * The budget guardrail on preview: the cost model prices every resource of the stack (list prices,
 * usage assumptions from this config) and the change fails when the monthly estimate exceeds the
 * monthly budget or the daily run-rate exceeds the daily budget. Resources the model cannot price
 * are reported too: an estimate with holes cannot vouch for a budget.
 */
export const costWithinBudget: StackValidationPolicy = {
  name: "cost-within-budget",
  description: "The cost model's monthly estimate and daily run-rate stay within the monthly and daily budgets.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Run `npm run plan -- --stack <stack>` to see the cost breakdown by component and line; lower the capacity that grew (replica ceilings, node pools, data tier) or, if the budget itself changed, raise it in the policy config through a reviewed change.",
  configSchema: {
    properties: {
      environment: { type: "string", enum: ["prod", "dev"], default: "prod" },
      monthlyBudgetUsd: { type: "number", exclusiveMinimum: 0, default: 12000 },
      dailyBudgetUsd: { type: "number", exclusiveMinimum: 0, default: 500 },
      usage: { type: "object", default: {} },
      evaluationDate: { type: "string", pattern: "^(\\d{4}-\\d{2}-\\d{2})?$", default: "" },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<CostWithinBudgetConfig>();
    let assumptions: UsageAssumptions;
    try {
      assumptions = resolveUsageAssumptions(config.environment, config.usage ?? {});
    } catch (e) {
      const issues = (e as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
      throw new Error(`cost-within-budget: config usage is invalid: ${issues ? issues.map((i) => `${i.path.join(".") || "usage"}: ${i.message}`).join("; ") : (e as Error).message}`);
    }
    // Plain copies: during a first preview ids, ARNs and endpoints are unknown, and reading one
    // through the analyzer's proxy would make the whole policy advisory. The cost model prices from
    // the inputs that decide cost and links resources by the engine's property dependencies.
    const resources: PlannedResource[] = args.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.opts.parent ?? "",
      custom: !isComponentType(r.type),
      inputs: plainProps(r.props) as Record<string, unknown>,
      dependencies: r.dependencies.map((d) => d.urn),
      propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([prop, deps]) => [prop, deps.map((d) => d.urn)])),
    }));
    const asOf = config.evaluationDate ? parseIsoDay(config.evaluationDate, "cost-within-budget.evaluationDate") : calendarDay("cost-within-budget");
    const estimate = estimateCost(resources, assumptions, priceCatalog(), { asOf });
    if (estimate.monthlyUsd > config.monthlyBudgetUsd) {
      reportViolation(`monthly cost estimate ${formatUsd(estimate.monthlyUsd)} exceeds the monthly budget of ${formatUsd(config.monthlyBudgetUsd)}`);
    }
    if (estimate.dailyUsd > config.dailyBudgetUsd) {
      reportViolation(`daily run-rate ${formatUsd(estimate.dailyUsd)} exceeds the daily budget of ${formatUsd(config.dailyBudgetUsd)}`);
    }
    for (const u of estimate.unpriced) {
      reportViolation(`cannot price ${u.type} '${u.name}': ${u.reason}`, u.urn);
    }
  },
};
