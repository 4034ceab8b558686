import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { asNumber, isMasked, known, knownShallow, UNKNOWN } from "../lib";

export interface BudgetNotificationsConfig {
  /** Percentages of the budget at which an ACTUAL-spend notification must go to a subscriber. */
  thresholdsPercent: number[];
  /** Highest limit of the DAILY cost budget, USD. */
  maxDailyUsd: number;
  /** Highest limit of the MONTHLY cost budget, USD. */
  maxMonthlyUsd: number;
}

type Period = "DAILY" | "MONTHLY";
const periods: readonly Period[] = ["DAILY", "MONTHLY"];

/** Whether one notification (props of `notifications[i]`) alerts on actual spend past `threshold` percent; UNKNOWN if it cannot be judged. */
function alertsAt(n: Record<string, any>, threshold: number): boolean | typeof UNKNOWN {
  const fields = known(() => ({ type: n.notificationType, thresholdType: n.thresholdType, threshold: n.threshold, operator: n.comparisonOperator }));
  if (fields === UNKNOWN) return UNKNOWN;
  return fields.type === "ACTUAL" && fields.thresholdType === "PERCENTAGE" && fields.operator === "GREATER_THAN" && asNumber(fields.threshold) === threshold;
}

/** Whether a notification has a subscriber: an SNS topic or an e-mail address. Unknown or masked entries count as present. */
function hasSubscriber(n: Record<string, any>): boolean {
  const count = (get: () => unknown) => {
    const list = known(get);
    if (list === UNKNOWN || isMasked(list)) return 1;
    return Array.isArray(list) ? list.length : 0;
  };
  return count(() => n.subscriberSnsTopicArns) + count(() => n.subscriberEmailAddresses) > 0;
}

/** The budget's limit in its unit: limitAmount, else the highest planned limit; undefined if it cannot be judged. */
function budgetLimit(r: PolicyResource): { amount: number; unit: string | undefined } | undefined {
  const fields = known(() => ({ amount: r.props.limitAmount, unit: r.props.limitUnit, planned: r.props.plannedLimits }));
  if (fields === UNKNOWN) return undefined;
  const unit = typeof fields.unit === "string" && !isMasked(fields.unit) ? fields.unit : undefined;
  const amount = asNumber(fields.amount);
  if (amount !== undefined) return { amount, unit };
  if (Array.isArray(fields.planned) && fields.planned.length > 0) {
    const amounts = fields.planned.map((p: { amount?: unknown }) => asNumber(p?.amount));
    if (amounts.some((a: number | undefined) => a === undefined)) return undefined;
    const plannedUnit = fields.planned.map((p: { unit?: unknown }) => p?.unit).find((u: unknown) => typeof u === "string" && u !== "USD");
    return { amount: Math.max(...(amounts as number[])), unit: (plannedUnit as string | undefined) ?? "USD" };
  }
  return undefined;
}

/**
 * Budget alerting: the stack has a DAILY and a MONTHLY cost budget, each alerting a subscriber on
 * actual spend at every configured percentage (the design's 80% warning and 95% emergency), and
 * neither allows more than the configured ceiling.
 */
export const budgetNotifications: StackValidationPolicy = {
  name: "budget-notifications",
  description: "A DAILY and a MONTHLY COST budget exist, within their USD ceilings, with ACTUAL percentage notifications at every configured threshold, each with a subscriber.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `autoscaling:budgets` (dailyUsd, monthlyUsd, warningPercent, emergencyPercent) in the stack file so the CostControls component creates both budgets with their notifications, within the ceilings; if the design's budget itself must change, change `maxDailyUsd` / `maxMonthlyUsd` / `thresholdsPercent` in policies/config/<stack>.json through a reviewed change.",
  configSchema: {
    properties: {
      thresholdsPercent: { type: "array", items: { type: "number", exclusiveMinimum: 0, maximum: 1000 }, uniqueItems: true, default: [80, 95] },
      maxDailyUsd: { type: "number", exclusiveMinimum: 0, default: 500 },
      maxMonthlyUsd: { type: "number", exclusiveMinimum: 0, default: 12000 },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<BudgetNotificationsConfig>();
    const ceiling: Record<Period, number> = { DAILY: config.maxDailyUsd, MONTHLY: config.maxMonthlyUsd };
    const found: Record<Period, number> = { DAILY: 0, MONTHLY: 0 };
    let undecided = false;

    for (const r of args.resources) {
      if (!r.isType(aws.budgets.Budget)) continue;
      const kind = known(() => ({ budgetType: r.props.budgetType, timeUnit: r.props.timeUnit, name: r.props.name }));
      if (kind === UNKNOWN) {
        undecided = true;
        continue;
      }
      if (kind.budgetType !== "COST" || !periods.includes(kind.timeUnit)) continue;
      const period = kind.timeUnit as Period;
      found[period]++;
      const what = `Budget ${typeof kind.name === "string" && !isMasked(kind.name) ? kind.name : r.name} (${period})`;

      const autoAdjust = known(() => r.props.autoAdjustData as unknown);
      const limit = budgetLimit(r);
      if (autoAdjust !== UNKNOWN && autoAdjust !== undefined && autoAdjust !== null) {
        reportViolation(`${what}: the limit auto-adjusts (autoAdjustData), so it cannot be held to the ceiling of ${ceiling[period]} USD`, r.urn);
      } else if (limit !== undefined) {
        if (limit.unit !== undefined && limit.unit !== "USD") {
          reportViolation(`${what}: limit unit '${limit.unit}' is not USD, so it cannot be held to the ceiling of ${ceiling[period]} USD`, r.urn);
        } else if (limit.amount > ceiling[period]) {
          reportViolation(`${what}: limit ${limit.amount} USD exceeds the ceiling of ${ceiling[period]} USD`, r.urn);
        }
      }

      const list = knownShallow(() => r.props.notifications as unknown);
      if (list === UNKNOWN) continue;
      const notifications: Record<string, any>[] = [];
      let unknownNotification = false;
      for (let i = 0; i < (Array.isArray(list) ? list.length : 0); i++) {
        const n = knownShallow(() => (list as Record<string, any>[])[i]!);
        if (n === UNKNOWN) unknownNotification = true;
        else notifications.push(n);
      }
      if (unknownNotification) continue;
      for (const threshold of config.thresholdsPercent) {
        const matches = notifications.map((n) => ({ n, at: alertsAt(n, threshold) }));
        if (matches.some((m) => m.at === UNKNOWN)) continue;
        const at = matches.filter((m) => m.at === true);
        if (at.length === 0) {
          reportViolation(`${what}: no ACTUAL notification at ${threshold}% of the budget (thresholdType PERCENTAGE, comparisonOperator GREATER_THAN)`, r.urn);
        } else if (!at.some((m) => hasSubscriber(m.n))) {
          reportViolation(`${what}: the ACTUAL notification at ${threshold}% of the budget has no subscriber (SNS topic or e-mail address)`, r.urn);
        }
      }
    }

    if (undecided) return;
    for (const period of periods) {
      if (found[period] === 0) {
        reportViolation(`no ${period} COST budget (aws:budgets/budget:Budget with timeUnit ${period} and budgetType COST): ${period === "DAILY" ? "daily" : "monthly"} spend is not alerted on`);
      }
    }
  },
};
