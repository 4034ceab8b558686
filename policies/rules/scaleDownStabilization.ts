import type { ResourceValidationPolicy } from "@pulumi/policy";
import { hpaType, objectName, peek, peekList, scaledObjectType, UNKNOWN } from "../lib";

export interface ScaleDownStabilizationConfig {
  /** Lowest scale-down stabilization window, seconds. */
  minSeconds: number;
  /** Highest share of the pods a Percent scale-down policy may remove, normalised to a minute. */
  maxPercentPerMinute: number;
}

/** autoscaling/v2 defaults for scale-down (kube-controller-manager fills them in per field). */
const kubernetesDefaultWindowSeconds = 300;
const kubernetesDefaultPolicies = [{ type: "Percent", value: 100, periodSeconds: 15 }];

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Gradual scale-down ("Cascade failures: circuit breakers and gradual scaling"): a load dip must not
 * remove capacity at once. Every HPA, and every HPA KEDA creates for a ScaledObject
 * (`spec.advanced.horizontalPodAutoscalerConfig.behavior`), keeps a scale-down stabilization window of
 * at least `minSeconds` and removes at most `maxPercentPerMinute` of its pods a minute per Percent
 * policy (value / periodSeconds * 60). Absent fields take the Kubernetes defaults, 300 s and 100% every
 * 15 s, so an HPA without a behavior fails the percent limit. Pods policies and
 * `selectPolicy: Disabled` (no scale-down at all) are outside this rule.
 */
export const scaleDownStabilization: ResourceValidationPolicy = {
  name: "scale-down-stabilization",
  description: "HPAs and KEDA ScaledObjects scale down gradually: a stabilization window of at least minSeconds and Percent policies of at most maxPercentPerMinute.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Give the HPA (or the ScaledObject's `advanced.horizontalPodAutoscalerConfig`) a `behavior.scaleDown` with `stabilizationWindowSeconds` >= the minimum and Percent policies within the limit, e.g. lib/scaling/responseTime.ts scalingBehavior (300 s, 10% per 60 s).",
  configSchema: {
    properties: {
      minSeconds: { type: "integer", minimum: 0, maximum: 3600, default: 300 },
      maxPercentPerMinute: { type: "number", exclusiveMinimum: 0, default: 10 },
    },
  },
  validateResource: (args, reportViolation) => {
    const isHpa = args.type === hpaType;
    if (!isHpa && args.type !== scaledObjectType) return;
    const { minSeconds, maxPercentPerMinute } = args.getConfig<ScaleDownStabilizationConfig>();
    const what = `${isHpa ? "HPA" : "ScaledObject"} ${objectName(args.props)}`;
    const behaviorPath = isHpa ? ["spec", "behavior"] : ["spec", "advanced", "horizontalPodAutoscalerConfig", "behavior"];
    const field = isHpa ? "spec.behavior" : "spec.advanced.horizontalPodAutoscalerConfig.behavior";
    const scaleDown = peek(args.props, ...behaviorPath, "scaleDown");
    if (scaleDown === UNKNOWN) return;

    const window = peek(scaleDown, "stabilizationWindowSeconds") ?? kubernetesDefaultWindowSeconds;
    if (window !== UNKNOWN && !(typeof window === "number" && window >= minSeconds)) {
      reportViolation(`${what}: scale-down stabilization window ${window} s is below the minimum of ${minSeconds} s`);
    }

    const selectPolicy = peek(scaleDown, "selectPolicy");
    if (selectPolicy === "Disabled" || selectPolicy === UNKNOWN) return;
    const declared = peekList(scaleDown, "policies");
    if (declared === UNKNOWN) return;
    const defaulted = declared === undefined || declared.length === 0;
    const policies = defaulted ? kubernetesDefaultPolicies : declared;
    for (const p of policies) {
      const [type, value, period] = [peek(p, "type"), peek(p, "value"), peek(p, "periodSeconds")];
      if (type !== "Percent" || typeof value !== "number" || typeof period !== "number" || period <= 0) continue;
      const perMinute = (value / period) * 60;
      if (perMinute <= maxPercentPerMinute) continue;
      const source = scaleDown === undefined
        ? `no ${field}.scaleDown: the Kubernetes default policy`
        : defaulted ? "no scale-down policies: the Kubernetes default policy" : "scale-down policy";
      reportViolation(`${what}: ${source} removes up to ${value}% of the pods every ${period} s (${round(perMinute)}% a minute), above the limit of ${maxPercentPerMinute}% a minute`);
    }
  },
};
