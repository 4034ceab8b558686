/**
 * A simulation of the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) controller, following
 * pkg/controller/podautoscaler (horizontal.go, replica_calculator.go) for a CPU-utilisation target:
 *
 * - every sync (15 s): utilisation = observed load / (ready pods × C) (C = load one pod carries at
 *   100% of its CPU request); usageRatio = utilisation / target;
 *   · no unready pods, or scaling down: within tolerance (|usageRatio − 1| ≤ 0.1) → keep the
 *     current count, else desired = ceil(usageRatio × ready pods);
 *   · scaling up with unready (starting) pods: they count as 0% used; the ratio is recomputed over
 *     all pods, and if that lands within tolerance or flips direction → keep the current count,
 *     else desired = ceil(newRatio × all pods);
 *   · no ready pod at all (all starting) → no metrics → nothing changes.
 * - current < minReplicas → minReplicas at once, current > maxReplicas → maxReplicas (no behaviour).
 * - stabilisation: the recommendation is clamped between the lowest recommendation of the scale-up
 *   window and the highest of the scale-down window (300 s here), i.e. scale-down uses the highest
 *   recommendation of the last 5 minutes;
 * - rate limits (behavior.policies): per policy, the replicas at the start of its period
 *   (current − added + removed within the period) give the limit: Pods → start ± value, Percent
 *   → ceil(start × (1 + v/100)) up, trunc(start × (1 − v/100)) down; selectPolicy Max takes the
 *   largest change, Min the smallest;
 * - KEDA (minReplicas 0): from zero, the first observation of load activates 1 replica (then the
 *   HPA takes over, with a floor of 1); after cooldownSeconds without load it goes back to zero.
 *
 * Pods become ready podStartSeconds after they are created; scale-down removes the newest (unready
 * first) pods, as the ReplicaSet controller does.
 */
import { hpaSyncPeriodSeconds, kedaCooldownPeriodSeconds, scalingBehavior } from "../../lib/scaling/responseTime";

export interface ScalingPolicy {
  readonly type: "Pods" | "Percent";
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: "Max" | "Min" | "Disabled";
  readonly policies: readonly ScalingPolicy[];
}

export interface HpaBehavior {
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

export interface HpaSimConfig {
  /** Target utilisation u (0-1] of the pods' request. */
  readonly targetUtilization: number;
  /** Load one replica carries at 100% utilisation (C). */
  readonly capacityPerReplica: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Default 0.1 (kube-controller-manager's --horizontal-pod-autoscaler-tolerance). */
  readonly tolerance?: number;
  /** Seconds from pod creation to ready. Default 60. */
  readonly podStartSeconds?: number;
  /** Default: lib/scaling/responseTime.ts scalingBehavior. */
  readonly behavior?: HpaBehavior;
  /** KEDA cooldown before scaling to zero (only when minReplicas is 0). Default 300 s. */
  readonly cooldownSeconds?: number;
}

interface Event {
  readonly t: number;
  readonly n: number;
}

export const defaultSyncPeriodSeconds = hpaSyncPeriodSeconds;

export class HpaSimulator {
  private readonly cfg: Required<HpaSimConfig>;
  /** Ready times of the pods, oldest first. */
  private readonly pods: number[] = [];
  private recs: { t: number; r: number }[] = [];
  private upEvents: Event[] = [];
  private downEvents: Event[] = [];
  private lastActiveMs: number;
  /** Last metric-based recommendation (before stabilisation), for inspection. */
  lastRecommendation = Number.NaN;

  constructor(cfg: HpaSimConfig, initialReplicas: number, t0Ms: number) {
    this.cfg = {
      tolerance: 0.1,
      podStartSeconds: 60,
      behavior: scalingBehavior as unknown as HpaBehavior,
      cooldownSeconds: kedaCooldownPeriodSeconds,
      ...cfg,
    };
    if (!(this.cfg.targetUtilization > 0 && this.cfg.targetUtilization <= 1)) throw new RangeError(`targetUtilization ${this.cfg.targetUtilization} must be in (0, 1]`);
    if (!(this.cfg.capacityPerReplica > 0)) throw new RangeError(`capacityPerReplica ${this.cfg.capacityPerReplica} must be > 0`);
    for (let i = 0; i < initialReplicas; i++) this.pods.push(t0Ms);
    this.lastActiveMs = t0Ms;
  }

  get replicas(): number {
    return this.pods.length;
  }

  /** Pods ready at time t. */
  ready(tMs: number): number {
    let n = 0;
    for (const r of this.pods) if (r <= tMs) n++;
    return n;
  }

  /**
   * One controller sync at time t with the load the metrics pipeline reports, and the minReplicas in
   * force (a schedule or a predictive floor may raise it above the configured minimum).
   * Returns the replica count after the sync.
   */
  sync(tMs: number, observedLoad: number, minReplicas = this.cfg.minReplicas): number {
    const max = this.cfg.maxReplicas;
    const min = Math.min(Math.max(0, minReplicas), max);
    const cur = this.pods.length;
    if (observedLoad > 0) this.lastActiveMs = tMs;
    let desired: number;
    if (cur === 0) {
      // Scaled to zero: KEDA activates on load; a raised floor also brings pods back.
      desired = Math.max(min, observedLoad > 0 ? 1 : 0);
    } else if (cur > max) {
      desired = max;
    } else if (cur < min) {
      desired = min;
    } else if (min === 0 && observedLoad <= 0 && tMs - this.lastActiveMs >= this.cfg.cooldownSeconds * 1000) {
      desired = 0; // KEDA deactivation after the cooldown
    } else {
      const raw = this.metricReplicas(tMs, observedLoad, cur);
      this.lastRecommendation = raw;
      // While active, KEDA's HPA has a floor of at least 1.
      desired = this.normalize(tMs, cur, raw, Math.max(min, 1), max);
    }
    if (desired !== cur) this.scale(tMs, cur, desired);
    return this.pods.length;
  }

  private metricReplicas(tMs: number, load: number, cur: number): number {
    const { capacityPerReplica: c, targetUtilization: u, tolerance } = this.cfg;
    const ready = this.ready(tMs);
    const unready = cur - ready;
    if (ready === 0) return cur; // no metrics from any ready pod
    const usageRatio = load / (ready * c) / u;
    if (!(unready > 0 && usageRatio > 1)) {
      if (Math.abs(1 - usageRatio) <= tolerance) return cur;
      return Math.ceil(usageRatio * ready);
    }
    // Scale-up with unready pods: they count as using 0% of their request.
    const newRatio = load / (cur * c) / u;
    if (Math.abs(1 - newRatio) <= tolerance || newRatio < 1) return cur;
    const n = Math.ceil(newRatio * cur);
    return n < cur ? cur : n;
  }

  private normalize(tMs: number, cur: number, desired: number, min: number, max: number): number {
    const { scaleUp, scaleDown } = this.cfg.behavior;
    // Stabilisation (stabilizeRecommendationWithBehaviors).
    const upCutoff = tMs - scaleUp.stabilizationWindowSeconds * 1000;
    const downCutoff = tMs - scaleDown.stabilizationWindowSeconds * 1000;
    let upRec = desired;
    let downRec = desired;
    for (const r of this.recs) {
      if (r.t > upCutoff) upRec = Math.min(upRec, r.r);
      if (r.t > downCutoff) downRec = Math.max(downRec, r.r);
    }
    let rec = cur;
    if (rec < upRec) rec = upRec;
    if (rec > downRec) rec = downRec;
    // Drop recommendations older than both windows (they are in time order).
    const keep = Math.min(upCutoff, downCutoff);
    let drop = 0;
    while (drop < this.recs.length && this.recs[drop]!.t <= keep) drop++;
    if (drop) this.recs.splice(0, drop);
    this.recs.push({ t: tMs, r: desired });
    // Rate limits (convertDesiredReplicasWithBehaviorRate).
    if (rec > cur) {
      let limit = this.scaleUpLimit(tMs, cur, scaleUp);
      if (limit < cur) limit = cur;
      const maxAllowed = Math.min(max, limit);
      return rec > maxAllowed ? maxAllowed : Math.max(rec, min);
    }
    if (rec < cur) {
      let limit = this.scaleDownLimit(tMs, cur, scaleDown);
      if (limit > cur) limit = cur;
      const minAllowed = Math.max(min, limit);
      return rec < minAllowed ? minAllowed : Math.min(rec, max);
    }
    return Math.max(min, Math.min(max, rec));
  }

  private changeInPeriod(events: Event[], tMs: number, periodSeconds: number): number {
    const cutoff = tMs - periodSeconds * 1000;
    let n = 0;
    for (const e of events) if (e.t > cutoff) n += e.n;
    return n;
  }

  private scaleUpLimit(tMs: number, cur: number, rules: ScalingRules): number {
    if (rules.selectPolicy === "Disabled") return cur;
    let result = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    for (const p of rules.policies) {
      const start = cur - this.changeInPeriod(this.upEvents, tMs, p.periodSeconds) + this.changeInPeriod(this.downEvents, tMs, p.periodSeconds);
      const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = rules.selectPolicy === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
    }
    return result;
  }

  private scaleDownLimit(tMs: number, cur: number, rules: ScalingRules): number {
    if (rules.selectPolicy === "Disabled") return cur;
    // Min = the smallest change = the highest replica count.
    let result = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    for (const p of rules.policies) {
      const start = cur + this.changeInPeriod(this.downEvents, tMs, p.periodSeconds) - this.changeInPeriod(this.upEvents, tMs, p.periodSeconds);
      const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = rules.selectPolicy === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }

  private scale(tMs: number, cur: number, desired: number): void {
    if (desired > cur) {
      this.upEvents.push({ t: tMs, n: desired - cur });
      const readyAt = tMs + this.cfg.podStartSeconds * 1000;
      for (let i = cur; i < desired; i++) this.pods.push(readyAt);
    } else {
      this.downEvents.push({ t: tMs, n: cur - desired });
      this.pods.length = desired; // newest (unready first) go
    }
    const longest = Math.max(...[...this.cfg.behavior.scaleUp.policies, ...this.cfg.behavior.scaleDown.policies].map((p) => p.periodSeconds), 0) * 1000;
    if (this.upEvents.length > 32) this.upEvents = this.upEvents.filter((e) => e.t > tMs - longest);
    if (this.downEvents.length > 32) this.downEvents = this.downEvents.filter((e) => e.t > tMs - longest);
  }
}
