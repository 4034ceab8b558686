/**
 * Replays the service's predictive path over a trace, with no look-ahead: a simulated collector, the
 * service's engine (automation/forecast/live.ts LiveForecaster: complete buckets, daily chained
 * fits, the gate) and the service's decision (automation/forecast/decision.ts decideFloor), with the
 * settings the service reads (automation/predictiveSettings.ts). It also scores every model and
 * baseline 1 hour ahead (H steps) where the target bucket has data (the accuracy table).
 */
import { Calendar } from "../forecast/calendar";
import { decideFloor, fallbackReasons, type FallbackReason } from "../forecast/decision";
import { LiveForecaster, type LiveSettings } from "../forecast/live";
import { absolutePercentageError } from "../forecast/model";
import type { ForecastOptions } from "../forecast/options";
import { resample } from "../forecast/resample";
import type { RegularSeries, Sample } from "../forecast/types";
import type { DecisionSettings } from "../predictiveSettings";

export interface ModelAccuracy {
  readonly name: string;
  /** MAPE at H steps ahead (1 hour), fraction; NaN when never scored. */
  readonly mape: number;
  /** Share of actuals inside the model's 80% interval, fraction. */
  readonly coverage80: number;
  /** Scored forecasts. */
  readonly n: number;
}

/** What the replay needs besides the forecast options: the service's own settings (automation/predictiveSettings.ts). */
export interface ReplaySettings {
  /** Load one replica carries at 100% (C): the floor carries the coming buckets' τ-peak at C per replica. */
  readonly capacityPerReplica: number;
  /** The floor's range at bucket start `tMs`: the active profile's minimum and the maximum. */
  readonly rangeAt: (tMs: number) => { readonly min: number; readonly max: number };
  readonly policyCeiling: number;
  readonly decision: DecisionSettings;
  readonly live: LiveSettings;
  /** The collector's resolution, seconds (samples are the trace's value held at each step). */
  readonly collectorStepSeconds: number;
}

export interface PredictiveReplay {
  readonly series: RegularSeries;
  /** Floor per bucket; −1 where the decision fell back to reactive scaling. */
  readonly floors: Int32Array;
  /** Fallback buckets by reason. */
  readonly fallbacks: Record<FallbackReason, number>;
  readonly accuracy: ModelAccuracy[];
  readonly fits: number;
  /** CPU seconds of the fits and of the per-bucket updates (commit, scoring, forecast, gate). */
  readonly fitSeconds: number;
  readonly forecastSeconds: number;
  /** Per-bucket updates with a model. */
  readonly updates: number;
  /** First bucket with a fitted model (−1 if never). */
  readonly firstModelBucket: number;
  readonly notes: string[];
  /** Guard drops and exclusions by model (count of days excluded / origins dropped). */
  readonly excludedDays: Record<string, number>;
  readonly droppedOrigins: Record<string, number>;
  /** Mean ensemble weights over the days, by model. */
  readonly meanWeights: Record<string, number>;
  /** Share of observed buckets whose peak (max sample) was at or below the peak forecast made 1 step before; and τ. */
  readonly peakCoverage: { readonly share: number; readonly level: number; readonly n: number };
}

/**
 * The service's path over a trace: a simulated collector samples the trace at its resolution (the
 * value held at each step, as Prometheus' query_range returns it) for each 15-minute window, and the
 * same trigger then runs the engine (LiveForecaster.step: complete buckets only, daily chained fits,
 * the gate) and the decision (decideFloor) with the service's settings. floors[k] is decided at
 * bucket k's start; the simulation applies it after the apply delay.
 */
export function replayPredictive(samples: readonly Sample[], opts: ForecastOptions, rs: ReplaySettings): PredictiveReplay {
  const stepMs = opts.stepMinutes * 60_000;
  const series = resample(samples, stepMs);
  const n = series.mean.length;
  const H = opts.horizonSteps;
  const d = rs.decision;
  const floors = new Int32Array(n).fill(-1);
  const fallbacks = Object.fromEntries(fallbackReasons.map((r) => [r, 0])) as Record<FallbackReason, number>;
  const acc = new Map<string, { ape: number; nApe: number; inside: number; n: number }>();
  const excludedDays: Record<string, number> = {};
  const droppedOrigins: Record<string, number> = {};
  const weightSums: Record<string, number> = {};
  const notes: string[] = [];
  // The simulated collector: the trace's value held at every step of its resolution (as Prometheus'
  // query_range evaluates a series). The forecasts are scored against what it saw, as in the service.
  const collectMs = rs.collectorStepSeconds * 1000;
  const collected: Sample[] = [];
  {
    let si = 0;
    let held: number | undefined;
    const endMs = series.startMs + n * stepMs;
    for (let ts = Math.ceil(samples[0]!.t / collectMs) * collectMs; ts <= endMs; ts += collectMs) {
      while (si < samples.length && samples[si]!.t <= ts) held = samples[si++]!.v;
      if (held !== undefined) collected.push({ t: ts, v: held });
    }
  }
  const seen = resample(collected, stepMs);
  const seenOffset = Math.round((seen.startMs - series.startMs) / stepMs);
  const seenAt = (k: number) => {
    const i = k - seenOffset;
    return i >= 0 && i < seen.mean.length && seen.observed[i] === 1 ? { mean: seen.mean[i]!, max: seen.max[i]! } : undefined;
  };
  let traceMean = 0;
  for (let i = 0; i < seen.mean.length; i++) traceMean += seen.mean[i]!;
  const floorLevel = Math.max(1e-9, (0.01 * traceMean) / Math.max(1, seen.mean.length));
  const score = (name: string, point: number, lower: number, upper: number, actual: number) => {
    let a = acc.get(name);
    if (!a) acc.set(name, (a = { ape: 0, nApe: 0, inside: 0, n: 0 }));
    const e = absolutePercentageError(actual, point, floorLevel);
    if (!Number.isNaN(e)) {
      a.ape += e;
      a.nApe++;
    }
    if (actual >= lower && actual <= upper) a.inside++;
    a.n++;
  };

  const engine = new LiveForecaster(opts, rs.live, new Calendar(opts.calendar));
  let fits = 0;
  let fitCpuMs = 0;
  let updateCpuMs = 0;
  let updates = 0;
  let firstModelBucket = -1;
  let current = -1;
  let peakIn = 0;
  let peakN = 0;
  let peakLevel = Number.NaN;
  let ci = 0;
  let lastState: unknown;
  for (let k = 0; k <= n; k++) {
    const t = series.startMs + k * stepMs;
    // Collect: the collector's samples over (t − 15 min, t].
    const batch: Sample[] = [];
    while (ci < collected.length && collected[ci]!.t <= t) batch.push(collected[ci++]!);
    engine.ingest(batch);
    if (k === n) break;
    // Predict, in the same trigger.
    const st = engine.step(t + 1, { allModels: true });
    if (st.fitted) {
      fits++;
      fitCpuMs += st.fitCpuMs;
      const state = engine.fitted!;
      if (firstModelBucket < 0) firstModelBucket = k;
      if (state !== lastState) {
        lastState = state;
        for (const m of state.members) if (m.excluded) excludedDays[m.name] = (excludedDays[m.name] ?? 0) + 1;
        for (const [name, w] of Object.entries(state.weights)) weightSums[name] = (weightSums[name] ?? 0) + w;
      }
    }
    if (st.forecast) {
      updates++;
      updateCpuMs += st.updateCpuMs;
      const f = st.forecast;
      for (const x of f.dropped) droppedOrigins[x.name] = (droppedOrigins[x.name] ?? 0) + 1;
      const target = k + H - 1;
      const seenTarget = target < n ? seenAt(target) : undefined;
      if (seenTarget) {
        const actual = seenTarget.mean;
        score("ensemble", f.point[H - 1]!, f.lower[H - 1]!, f.upper[H - 1]!, actual);
        for (const [name, m] of Object.entries(f.models ?? {})) score(name, m.point[H - 1]!, m.lower[H - 1]!, m.upper[H - 1]!, actual);
      }
      const seenK = seenAt(k);
      if (seenK && f.peakLevel !== undefined) {
        peakLevel = f.peakLevel;
        if (seenK.max <= f.peak[0]!) peakIn++;
        peakN++;
      }
    }
    const range = rs.rangeAt(t);
    const r = decideFloor({
      signals: st.forecast ? [{ peak: st.forecast.peak.slice(0, d.coverSteps), capacityPerReplica: rs.capacityPerReplica }] : [],
      ...(st.confidence !== undefined ? { confidence: st.confidence } : {}),
      ...(st.fallback ? { fallback: st.fallback } : {}),
      range,
      policyCeiling: rs.policyCeiling,
      current: current >= 0 ? current : range.min,
      maxStepUp: d.maxStepUp,
      maxStepDown: d.maxStepDown,
      confidenceThreshold: d.confidenceThreshold,
    });
    if (r.kind === "floor") {
      floors[k] = r.replicas;
      current = r.replicas;
    } else {
      fallbacks[r.reason]++;
      current = -1;
    }
  }
  engine.dispose();
  const order = ["persistence", "naive", "seasonal-naive", "linear", "prophet", "arima", "sarima", "last-value", "level-daily", "level-weekly", "ensemble"];
  const names = [...order, ...[...acc.keys()].filter((k) => !order.includes(k))];
  const accuracy = names.map((name) => {
    const a = acc.get(name);
    return { name, mape: a && a.nApe ? a.ape / a.nApe : Number.NaN, coverage80: a && a.n ? a.inside / a.n : Number.NaN, n: a?.n ?? 0 };
  });
  const meanWeights = Object.fromEntries(Object.entries(weightSums).map(([k, v]) => [k, fits ? v / fits : 0]));
  return {
    series,
    floors,
    fallbacks,
    accuracy,
    fits,
    fitSeconds: fitCpuMs / 1000,
    forecastSeconds: updateCpuMs / 1000,
    updates,
    firstModelBucket,
    notes,
    excludedDays,
    droppedOrigins,
    meanWeights,
    peakCoverage: { share: peakN ? peakIn / peakN : Number.NaN, level: peakLevel, n: peakN },
  };
}
