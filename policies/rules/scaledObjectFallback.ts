import type { ResourceValidationPolicy } from "@pulumi/policy";
import { objectName, peek, peekList, scaledObjectType, UNKNOWN } from "../lib";

export interface ScaledObjectFallbackConfig {
  /** Lowest `spec.fallback.failureThreshold` (failed polls before the fallback replicas apply). */
  minFailureThreshold: number;
}

/** KEDA's defaults when the ScaledObject leaves the bounds out. */
const kedaDefaultMinReplicaCount = 0;
const kedaDefaultMaxReplicaCount = 100;

/**
 * When a scaler cannot read its source (Redis down, Kafka auth broken), KEDA without a fallback keeps
 * the last replica count, which may be zero for a growing backlog. Every ScaledObject therefore has a
 * fallback that applies after `failureThreshold` failed polls, with a replica count inside its own
 * bounds, and satisfies KEDA's own conditions for fallback (its admission webhook's
 * `CheckFallbackValid`): no CPU or memory triggers (fallback cannot apply to them), and every trigger
 * on an AverageValue target (absent metricType is AverageValue, KEDA's default); with
 * `advanced.scalingModifiers` the composite metric's type is what counts.
 */
export const scaledObjectFallback: ResourceValidationPolicy = {
  name: "scaled-object-has-fallback",
  description: "Every KEDA ScaledObject has a fallback (failureThreshold >= the minimum, replicas within its bounds) that KEDA can apply to all its triggers.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Give the ScaledObject `spec.fallback: { failureThreshold, replicas }` with replicas between minReplicaCount and maxReplicaCount (lib/scaling/workloads.ts buildScaledObject does), use event triggers instead of cpu/memory ones, and set `metricType: AverageValue` on every trigger.",
  configSchema: {
    properties: {
      minFailureThreshold: { type: "integer", minimum: 1, default: 1 },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== scaledObjectType) return;
    const { minFailureThreshold } = args.getConfig<ScaledObjectFallbackConfig>();
    const what = `ScaledObject ${objectName(args.props)}`;
    const fallback = peek(args.props, "spec", "fallback");
    if (fallback === UNKNOWN) return;
    if (fallback === undefined || fallback === null) {
      reportViolation(`${what}: no spec.fallback: when a scaler cannot read its source, KEDA keeps the last replica count instead of a known-safe one`);
      return;
    }

    const threshold = peek(fallback, "failureThreshold");
    if (threshold !== UNKNOWN && !(typeof threshold === "number" && threshold >= minFailureThreshold)) {
      reportViolation(`${what}: fallback failureThreshold ${threshold ?? "(not set)"} is below the minimum of ${minFailureThreshold}`);
    }
    const replicas = peek(fallback, "replicas");
    const min = peek(args.props, "spec", "minReplicaCount") ?? kedaDefaultMinReplicaCount;
    const max = peek(args.props, "spec", "maxReplicaCount") ?? kedaDefaultMaxReplicaCount;
    if (replicas !== UNKNOWN && min !== UNKNOWN && max !== UNKNOWN) {
      if (!(typeof replicas === "number" && replicas >= (min as number) && replicas <= (max as number))) {
        reportViolation(`${what}: fallback replicas ${replicas ?? "(not set)"} is outside minReplicaCount..maxReplicaCount (${min}..${max})`);
      }
    }

    const modifiers = peek(args.props, "spec", "advanced", "scalingModifiers");
    const usesModifiers = modifiers !== undefined && modifiers !== null && modifiers !== UNKNOWN && Object.keys(modifiers as object).length > 0;
    if (usesModifiers) {
      const metricType = peek(modifiers, "metricType") ?? "AverageValue";
      if (metricType !== UNKNOWN && metricType !== "AverageValue") {
        reportViolation(`${what}: scalingModifiers metricType is ${metricType}: KEDA's fallback needs AverageValue`);
      }
    }
    const triggers = peekList(args.props, "spec", "triggers");
    if (triggers === UNKNOWN) return;
    (triggers ?? []).forEach((trigger, i) => {
      const type = peek(trigger, "type");
      const name = peek(trigger, "name");
      const label = `trigger '${typeof name === "string" ? name : typeof type === "string" ? type : i}'`;
      if (type === "cpu" || type === "memory") {
        reportViolation(`${what}: ${label} is a ${type} trigger: KEDA's fallback does not support cpu or memory triggers`);
        return;
      }
      if (usesModifiers) return;
      const metricType = peek(trigger, "metricType") ?? "AverageValue";
      if (metricType !== UNKNOWN && metricType !== "AverageValue") {
        reportViolation(`${what}: ${label} has metricType ${metricType}: KEDA's fallback needs AverageValue`);
      }
    });
  },
};
