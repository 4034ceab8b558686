/**
 * The replay's model constants, each with its source (docs/replay.md lists them again).
 */
import { hpaSyncPeriodSeconds, metricsServerResolutionSeconds, prometheusScrapeIntervalSeconds } from "../../lib/scaling/responseTime";
import { serviceCatalog } from "../../lib/catalog/services";
import { referenceDeployment } from "../../lib/workloads/contract";

/**
 * Kubernetes' pod startup latency SLO: creation to every container started, observed via watch,
 * EXCLUDING image pulls and init containers: 99th percentile per cluster-day <= 5 s
 * (kubernetes/community sig-scalability/slos/slos.md, "Pod startup latency"; the kubelet's
 * kubelet_pod_start_sli_duration_seconds measures it).
 */
export const podStartupSloSeconds = 5;

/**
 * The readiness probe period the workload contract's Deployments carry (read from the reference
 * Deployment, so a change of the contract moves the replay): with no initialDelaySeconds and the
 * default successThreshold 1, a started container is Ready at its first successful probe, at most
 * one period after it starts.
 */
export function contractReadinessPeriodSeconds(): number {
  const periods = serviceCatalog.map((s) => {
    const d = referenceDeployment(s) as unknown as { spec: { template: { spec: { containers: { readinessProbe?: { periodSeconds?: number; initialDelaySeconds?: number } }[] } } } };
    const probe = d.spec.template.spec.containers[0]?.readinessProbe;
    // Kubernetes' defaults: periodSeconds 10, initialDelaySeconds 0.
    return (probe?.initialDelaySeconds ?? 0) + (probe?.periodSeconds ?? 10);
  });
  return Math.max(...periods);
}

export const replayConstants = {
  /** Simulation tick = the HPA controller's sync period (kube-controller-manager default; lib/scaling/responseTime.ts). */
  tickSeconds: hpaSyncPeriodSeconds,
  /** From a load change to what the HPA reads: a Prometheus scrape + the metrics pipeline's resolution (lib/scaling/responseTime.ts). */
  metricDelaySeconds: prometheusScrapeIntervalSeconds + metricsServerResolutionSeconds,
  /**
   * Pod creation to Ready on a node that is Ready: the pod startup SLO (5 s, scheduling to
   * containers started) + the contract's readiness probe (initial delay + one period: 5 s) = 10 s.
   * Image pulls are not in it (no source gives the applications' pull time; see docs/replay.md,
   * "Not modelled"), nor an application's own warm-up beyond its first readiness probe:
   * `--pod-start-seconds` sets a measured value instead.
   */
  podStartSeconds: podStartupSloSeconds + contractReadinessPeriodSeconds(),
  /** Karpenter provisioning batch: 1 s of idle, at most 10 s (BATCH_IDLE_DURATION / BATCH_MAX_DURATION, kubernetes-sigs/karpenter 2266468104f3; data/aws/SOURCES.md). */
  batchIdleSeconds: 1,
  batchMaxSeconds: 10,
  /**
   * Node launch to Ready, seconds: a triangular distribution min 30, mode 38, max 60. Public reports:
   * 30-40 s typical (karpenter-provider-aws issue 6165), 30-54 s by type (PR 3827), kubelet
   * registered at 39 s on c5.xlarge (amazon-eks-ami issue 1099); 60 s bounds the slow tail.
   */
  launchToReady: { min: 30, mode: 38, max: 60 },
  /** Karpenter's disruption loop: every 10 s, one action per pass; a consolidation is re-validated after 15 s. */
  disruptionPollSeconds: 10,
  consolidationValidationSeconds: 15,
  /** Spot interruption notice (EC2): two minutes before the instance is reclaimed. */
  spotNoticeSeconds: 120,
  /** Single-node spot-to-spot consolidation needs this many cheaper types (MinInstanceTypesForSpotToSpotConsolidation). */
  minTypesForSpotToSpot: 15,
} as const;

/** Triangular draw (inverse CDF) from a uniform u in [0, 1). */
export function triangular(u: number, min: number, mode: number, max: number): number {
  const f = (mode - min) / (max - min);
  return u < f ? min + Math.sqrt(u * (max - min) * (mode - min)) : max - Math.sqrt((1 - u) * (max - min) * (max - mode));
}

/**
 * Hourly interruption hazard of a spot node from AWS's monthly interruption frequency f:
 * P(interrupted within a month of 730 h) = f  ⇒  λ = −ln(1 − f) / 730.
 */
export function hourlyInterruptionHazard(monthlyRate: number): number {
  if (!(monthlyRate >= 0 && monthlyRate < 1)) throw new RangeError(`monthly interruption rate ${monthlyRate}: must be in [0, 1)`);
  return -Math.log(1 - monthlyRate) / 730;
}

/** Aurora Serverless v2 capacity moves in 0.5-ACU steps (AWS: "increments as small as 0.5 ACU"). */
export function acuStep(acu: number): number {
  return Math.ceil(acu * 2 - 1e-9) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
