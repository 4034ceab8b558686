/**
 * Replays a trace through scaling policies at the HPA's pace (15-second ticks), with the load at the
 * trace's native resolution (each sample holds until the next: spikes are never averaged away),
 * and scores them all the same way.
 *
 * - C = load one replica carries at 100% utilisation; u = target utilisation.
 * - needed(t) = ceil(load(t) / C): a tick is under-provisioned when READY replicas < needed(t).
 * - cost = replica-hours of the replicas that exist (ready or starting).
 * - oracle(t) = ceil(load(t) / (u × C)) clamped to the replica range, ready at once: the cheapest
 *   schedule that keeps every replica at or below the target utilisation. Cost ratio 1.0.
 */
import { HpaSimulator, type HpaSimConfig } from "./hpa";

export interface LoadTimeline {
  /** Sample times (ms), ascending, and values (≥ 0). */
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly startMs: number;
  readonly endMs: number;
}

export type PolicyKind =
  | { readonly type: "hpa"; readonly floorAt: (tMs: number) => number }
  | { readonly type: "fixed"; readonly replicasAt: (tMs: number, load: number) => number };

export interface PolicySpec {
  readonly name: string;
  readonly kind: PolicyKind;
}

export interface SimSettings {
  readonly capacityPerReplica: number;
  readonly targetUtilization: number;
  readonly range: { readonly min: number; readonly max: number };
  readonly tickSeconds: number;
  /** Delay from the load to what the HPA sees (scrape + metrics pipeline), seconds. */
  readonly metricDelaySeconds: number;
  readonly podStartSeconds: number;
  readonly hpa?: Partial<HpaSimConfig>;
  /** Record replicas for the chart within [from, to). */
  readonly chart?: { readonly fromMs: number; readonly toMs: number; readonly everyMs: number };
  /** Called every tick with the replicas (existing), the ready ones and the replicas the load needs at 100%. */
  readonly onTick?: (tMs: number, replicas: number, ready: number, need: number) => void;
}

export interface PolicyScore {
  readonly name: string;
  readonly replicaHours: number;
  readonly underProvisionedShare: number;
  /** Largest (needed − ready), replicas (0 when never short). */
  readonly worstShortfall: number;
  readonly ticks: number;
  readonly chart?: { t: number[]; replicas: number[] };
}

/** Index of the last sample at or before t (−1 if none), starting the search at `from`. */
function advance(times: Float64Array, t: number, from: number): number {
  let i = from;
  while (i + 1 < times.length && times[i + 1]! <= t) i++;
  return i;
}

export function neededReplicas(load: number, capacity: number): number {
  return Math.max(0, Math.ceil(load / capacity - 1e-9));
}

export function oracleReplicas(load: number, s: Pick<SimSettings, "capacityPerReplica" | "targetUtilization" | "range">): number {
  const r = Math.ceil(load / (s.targetUtilization * s.capacityPerReplica) - 1e-9);
  return Math.max(s.range.min, Math.min(s.range.max, r));
}

export function simulatePolicy(load: LoadTimeline, policy: PolicySpec, s: SimSettings): PolicyScore {
  const tick = s.tickSeconds * 1000;
  const delay = s.metricDelaySeconds * 1000;
  const C = s.capacityPerReplica;
  const first = load.v[0]!;
  const initial = oracleReplicas(first, s);
  const hpa =
    policy.kind.type === "hpa"
      ? new HpaSimulator(
          {
            targetUtilization: s.targetUtilization,
            capacityPerReplica: C,
            minReplicas: s.range.min,
            maxReplicas: s.range.max,
            podStartSeconds: s.podStartSeconds,
            ...s.hpa,
          },
          Math.max(initial, policy.kind.floorAt(load.startMs)),
          load.startMs,
        )
      : undefined;
  let iNow = 0;
  let iSeen = 0;
  let replicaTicks = 0;
  let under = 0;
  let ticks = 0;
  let worst = 0;
  const chart = s.chart ? { t: [] as number[], replicas: [] as number[] } : undefined;
  let nextChart = s.chart ? s.chart.fromMs : Number.POSITIVE_INFINITY;
  for (let t = load.startMs; t < load.endMs; t += tick) {
    iNow = advance(load.t, t, iNow);
    const now = load.v[iNow]!;
    let replicas: number;
    let ready: number;
    if (hpa && policy.kind.type === "hpa") {
      iSeen = advance(load.t, t - delay, iSeen);
      const seen = t - delay < load.startMs ? first : load.v[iSeen]!;
      replicas = hpa.sync(t, seen, policy.kind.floorAt(t));
      ready = hpa.ready(t);
    } else if (policy.kind.type === "fixed") {
      replicas = policy.kind.replicasAt(t, now);
      ready = replicas;
    } else throw new Error("unreachable");
    const need = neededReplicas(now, C);
    replicaTicks += replicas;
    ticks++;
    s.onTick?.(t, replicas, ready, need);
    if (ready < need) {
      under++;
      if (need - ready > worst) worst = need - ready;
    }
    if (chart && t >= nextChart && t < s.chart!.toMs) {
      chart.t.push(t);
      chart.replicas.push(replicas);
      nextChart += s.chart!.everyMs;
      while (nextChart <= t) nextChart += s.chart!.everyMs;
    }
  }
  return {
    name: policy.name,
    replicaHours: (replicaTicks * s.tickSeconds) / 3600,
    underProvisionedShare: ticks ? under / ticks : 0,
    worstShortfall: worst,
    ticks,
    ...(chart ? { chart } : {}),
  };
}

export function timelineFromSamples(samples: readonly { t: number; v: number }[], endMs: number): LoadTimeline {
  return {
    t: Float64Array.from(samples, (s) => s.t),
    v: Float64Array.from(samples, (s) => s.v),
    startMs: samples[0]!.t,
    endMs,
  };
}
