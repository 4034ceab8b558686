import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ReportViolation, type ResourceValidationPolicy } from "@pulumi/policy";
import { calendarDay, eksCalendarVersions, eksVersion, isoDay, parseIsoDay, supportPhase } from "../../lib/catalog/eksVersions";
import { formatUnitPrice, priceOf } from "../../lib/cost/prices";
import { peek, UNKNOWN } from "../lib";

export interface EksVersionInStandardSupportConfig {
  /**
   * The day to judge (`YYYY-MM-DD`, UTC). Empty (the default): the day the pack runs (or
   * `$PYAIRTABLE_EVALUATION_DATE`, which only the offline plan sets). Tests and reviews of a future
   * change set it so the verdict does not depend on the clock.
   */
  evaluationDate: string;
}

/** The day the policy judges: the configured one, else today (UTC; `calendarDay`). */
export function evaluationDay(config: EksVersionInStandardSupportConfig, now: () => Date = () => calendarDay("eks-version-in-standard-support")): Date {
  return config.evaluationDate ? parseIsoDay(config.evaluationDate, "eks-version-in-standard-support.evaluationDate") : now();
}

function checkVersion(what: string, version: unknown, config: EksVersionInStandardSupportConfig, reportViolation: ReportViolation): void {
  if (version === UNKNOWN) return;
  if (version === undefined) {
    reportViolation(`${what}: no Kubernetes version set: EKS picks its current default, which moves under the stack; set the version from the EKS calendar (${eksCalendarVersions.join(", ")})`);
    return;
  }
  const v = typeof version === "string" ? eksVersion(version) : undefined;
  if (!v) {
    reportViolation(`${what}: Kubernetes version ${JSON.stringify(version)} is not in the EKS calendar (lib/catalog/eksVersions.ts, known: ${eksCalendarVersions.join(", ")}): its support dates are unknown`);
    return;
  }
  const day = evaluationDay(config);
  const phase = supportPhase(v, day);
  if (phase === "standard") return;
  reportViolation(
    phase === "extended"
      ? `${what}: Kubernetes ${v.version} left EKS standard support on ${v.endOfStandardSupport} (judged on ${isoDay(day)}): the control plane bills extended support, ${formatUnitPrice(priceOf("eks.cluster.extendedSupport.hour"))} instead of ${formatUnitPrice(priceOf("eks.cluster.hour"))} per hour, until ${v.endOfExtendedSupport}`
      : `${what}: Kubernetes ${v.version} left EKS extended support on ${v.endOfExtendedSupport} (judged on ${isoDay(day)}): EKS upgrades the cluster on its own schedule`,
  );
}

/**
 * The cluster runs a Kubernetes version in EKS standard support on the day of the preview: past it
 * the control plane costs six times as much (extended support) and, a year later, EKS upgrades it on
 * its own schedule. Dates come from the EKS calendar (lib/catalog/eksVersions.ts). The day judged is
 * the `evaluationDate` config property when set, else the day the pack runs (UTC), so a stack that
 * passed yesterday can fail today: that is the point. Mandatory in prod, advisory in dev
 * (policies/config/<stack>.json).
 */
export const eksVersionInStandardSupport: ResourceValidationPolicy = {
  name: "eks-version-in-standard-support",
  description: "The EKS cluster's Kubernetes version is in EKS standard support on the day of the preview (not billed as extended support).",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Upgrade `autoscaling:cluster.kubernetesVersion` in the stack file to a version in standard support (lib/catalog/eksVersions.ts lists the dates), one minor version at a time, after checking Karpenter's and the add-ons' compatibility (README, \"Kubernetes version\"). The settings warn 60 days ahead.",
  configSchema: {
    properties: {
      evaluationDate: { type: "string", pattern: "^(\\d{4}-\\d{2}-\\d{2})?$", default: "" },
    },
  },
  validateResource: [
    (args, reportViolation) => {
      if (args.type !== "eks:index:Cluster") return;
      checkVersion(`EKS cluster ${args.name}`, peek(args.props, "version"), args.getConfig<EksVersionInStandardSupportConfig>(), reportViolation);
    },
    validateResourceOfType(aws.eks.Cluster, (cluster, args, reportViolation) => {
      checkVersion(`EKS cluster ${args.name}`, peek(cluster, "version"), args.getConfig<EksVersionInStandardSupportConfig>(), reportViolation);
    }),
  ],
};
