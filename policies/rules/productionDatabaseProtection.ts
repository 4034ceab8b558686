import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";

export interface ProductionDatabaseProtectionConfig {
  /** Shortest automated backup retention, days. */
  minBackupRetentionDays: number;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;

/** RDS's automated backup retention when the cluster does not set one, days. */
const rdsDefaultBackupRetentionDays = 1;

/**
 * The production database survives mistakes: it cannot be deleted while deletion protection is on
 * (a `pulumi destroy` or a replacement fails instead of dropping it), point-in-time recovery reaches
 * back at least `minBackupRetentionDays`, and deleting it still leaves a final snapshot. For stacks
 * whose data is disposable (dev) the policy is disabled in that stack's policy config.
 */
export const productionDatabaseProtection: ResourceValidationPolicy = {
  name: "production-database-protection",
  description: "Aurora clusters have deletion protection, at least minBackupRetentionDays of backups and a final snapshot on deletion.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "In the stack file set `autoscaling:database.deletionProtection: true` and `backupRetentionDays` to at least the minimum; the Database component then keeps skipFinalSnapshot false. Removing a protected cluster on purpose: turn deletion protection off in one reviewed `pulumi up`, then delete.",
  configSchema: {
    properties: {
      minBackupRetentionDays: { type: "integer", minimum: 1, maximum: 35, default: 7 },
    },
  },
  validateResource: validateResourceOfType(aws.rds.Cluster, (cluster, args, reportViolation) => {
    const { minBackupRetentionDays } = args.getConfig<ProductionDatabaseProtectionConfig>();
    const what = `Aurora cluster ${args.name}`;
    const deletionProtection = peek(cluster, "deletionProtection");
    if (deletionProtection !== UNKNOWN && deletionProtection !== true) {
      reportViolation(`${what}: deletionProtection is ${deletionProtection ?? "not set (default false)"}: the cluster can be deleted by a destroy or a replacement`);
    }
    const retention = peek(cluster, "backupRetentionPeriod");
    const days = retention ?? rdsDefaultBackupRetentionDays;
    if (days !== UNKNOWN && !(typeof days === "number" && days >= minBackupRetentionDays)) {
      const shown = retention === undefined ? `not set (default ${plural(rdsDefaultBackupRetentionDays, "day")})` : plural(days as number, "day");
      reportViolation(`${what}: backupRetentionPeriod ${shown} is below the minimum of ${plural(minBackupRetentionDays, "day")}`);
    }
    // The provider's default is false: a final snapshot is taken.
    const skipFinalSnapshot = peek(cluster, "skipFinalSnapshot");
    if (skipFinalSnapshot === true) {
      reportViolation(`${what}: skipFinalSnapshot is true: deleting the cluster would keep no final snapshot`);
    }
  }),
};
