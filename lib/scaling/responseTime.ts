/**
 * How fast scaling reacts, and how it is damped: the numbers behind the design's targets
 * ("< 60 seconds for HPA, < 30 seconds for KEDA") and its "gradual scaling" against flapping.
 * Every HPA and ScaledObject reads these; the README documents how each was chosen.
 */

/** Prometheus scrape interval (kube-prometheus-stack), seconds. */
export const prometheusScrapeIntervalSeconds = 15;
/** metrics-server `--metric-resolution`, seconds (CPU and memory for resource metrics). */
export const metricsServerResolutionSeconds = 15;
/**
 * HPA controller sync period, seconds: kube-controller-manager's default, which EKS does not let
 * you change. The HPA re-evaluates every target at this pace.
 */
export const hpaSyncPeriodSeconds = 15;
/** KEDA polling interval for every ScaledObject, seconds (also its scale-from-zero reaction time). */
export const kedaPollingIntervalSeconds = 10;

/**
 * Worst case from a load change to a new desired replica count:
 * - HPA: the metric must be scraped (15 s) and aggregated by metrics-server or the adapter (15 s),
 *   then the next HPA sync (15 s) acts: 45 s, within the design's 60 s.
 * - KEDA, from zero (only services whose minimum is 0): KEDA's poll (`pollingInterval`, 10 s)
 *   activates the workload (0 -> 1), then the HPA KEDA manages acts at its next sync (15 s): 25 s.
 * - KEDA, 1 -> N: KEDA is not polling here. The HPA KEDA creates asks KEDA's metrics server at every
 *   sync, and KEDA reads the scaler at that moment (no `useCachedMetrics`): one sync (15 s), plus a
 *   scrape interval when the trigger is a Prometheus query. `pollingInterval` and `cooldownPeriod`
 *   play no part between 1 and N; scale-down there follows the HPA's behavior (below).
 * Both KEDA cases are within the design's 30 s.
 */
export const hpaWorstCaseReactionSeconds = prometheusScrapeIntervalSeconds + metricsServerResolutionSeconds + hpaSyncPeriodSeconds;
export const kedaFromZeroWorstCaseSeconds = kedaPollingIntervalSeconds + hpaSyncPeriodSeconds;
/** KEDA 1 -> N: one HPA sync, plus a scrape interval when a trigger reads Prometheus. */
export function kedaScaleOutWorstCaseSeconds(triggerTypes: readonly string[]): number {
  return hpaSyncPeriodSeconds + (triggerTypes.includes("prometheus") ? prometheusScrapeIntervalSeconds : 0);
}
/** The slowest KEDA case over every trigger kind (from zero, or 1 -> N with a Prometheus trigger). */
export const kedaWorstCaseReactionSeconds = Math.max(kedaFromZeroWorstCaseSeconds, kedaScaleOutWorstCaseSeconds(["prometheus"]));
/** The design's targets. */
export const designReactionTargets = { hpaSeconds: 60, kedaSeconds: 30 } as const;

/** autoscaling/v2 behavior shared by every HPA (and by the HPAs KEDA creates). */
export const scalingBehavior = {
  scaleUp: {
    // No stabilisation: react to the first reading above target.
    stabilizationWindowSeconds: 0,
    // Double, or add 4 pods, every 15 s, whichever is more: 2 -> 25 replicas within a minute.
    selectPolicy: "Max",
    policies: [
      { type: "Percent", value: 100, periodSeconds: 15 },
      { type: "Pods", value: 4, periodSeconds: 15 },
    ],
  },
  scaleDown: {
    // Use the highest recommendation of the last 5 minutes: load dips do not remove capacity.
    stabilizationWindowSeconds: 300,
    // Then remove at most 10% of the pods a minute: gradual, so a wrong dip costs little.
    selectPolicy: "Min",
    policies: [{ type: "Percent", value: 10, periodSeconds: 60 }],
  },
} as const;

/**
 * KEDA: seconds after the last active trigger before scaling from 1 to 0. Only where minReplicaCount
 * is 0; above 1 the HPA's scale-down behavior applies.
 */
export const kedaCooldownPeriodSeconds = 300;
/** KEDA fallback: after this many failed polls (30 s), run the fallback replica count. */
export const kedaFallbackFailureThreshold = 3;
/**
 * Fallback replicas when a scaler cannot read its source: half the ceiling, at least the floor.
 * Enough to keep draining a normal backlog while blind, without paying for the maximum.
 */
export function kedaFallbackReplicas(minReplicas: number, maxReplicas: number): number {
  return Math.max(minReplicas, Math.ceil(maxReplicas / 2));
}
