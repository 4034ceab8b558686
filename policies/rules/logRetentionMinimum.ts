import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";

export interface LogRetentionMinimumConfig {
  /** Least retention of every CloudWatch log group, days (prod: 365, CKV_AWS_338). */
  minimumDays: number;
}

/**
 * Logs are kept long enough to investigate: every CloudWatch log group retains its events at least
 * `minimumDays` (audit logs, flow logs and service logs alike). A group without `retentionInDays`
 * keeps them forever, which satisfies the rule (the cost model reports it as unpriced).
 */
export const logRetentionMinimum: ResourceValidationPolicy = {
  name: "log-retention-minimum",
  description: "Every CloudWatch log group keeps its logs at least the configured number of days (prod: a year).",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Raise the stack's log retention setting (network.flowLogRetentionDays, cluster/database/cache/streaming/search.logRetentionDays) to at least the minimum; the settings schema refuses less than 365 days in prod.",
  configSchema: {
    properties: {
      minimumDays: { type: "integer", minimum: 1, maximum: 3653, default: 365 },
    },
  },
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, args, reportViolation) => {
    const { minimumDays } = args.getConfig<LogRetentionMinimumConfig>();
    const days = peek(group, "retentionInDays");
    if (days === UNKNOWN || days === undefined || days === null || days === 0) return;
    if (typeof days !== "number" || days < minimumDays) {
      reportViolation(`Log group ${args.name}: retentionInDays = ${JSON.stringify(days)}: must be at least ${minimumDays}`);
    }
  }),
};
