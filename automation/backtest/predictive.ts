/**
 * Replays the predictive engine over a trace with no look-ahead:
 * - the trace is resampled to the forecast step (mean per bucket, max kept); empty buckets hold the
 *   previous value (causal);
 * - at every local midnight (in the forecast calendar's zone) once minHistoryDays exist, the
 *   ensemble is refitted on the last trainingDays (30) before that midnight — or on what exists;
 * - at every bucket boundary (15 min) it forecasts from the data before it, scores every model 1
 *   hour ahead (H steps) where the target bucket has data, and turns the ensemble's upper bounds
 *   for this bucket and the next into a floor (automation/forecast/decision.ts): the bucket mean's
 *   upper bound at the target utilisation, and the within-bucket peak's upper bound below 100%.
 */
import { Calendar } from "../forecast/calendar";
import { predictiveFloor, type FallbackReason } from "../forecast/decision";
import { disposeEnsemble, fitEnsembleAt, forecastEnsembleAt, type EnsembleState } from "../forecast/ensemble";
import { absolutePercentageError, DAY_MS } from "../forecast/model";
import type { ForecastOptions } from "../forecast/options";
import { resample } from "../forecast/resample";
import { InsufficientHistoryError, type RegularSeries, type Sample } from "../forecast/types";

export interface ModelAccuracy {
  readonly name: string;
  /** MAPE at H steps ahead (1 hour), fraction; NaN when never scored. */
  readonly mape: number;
  /** Share of actuals inside the model's 80% interval, fraction. */
  readonly coverage80: number;
  /** Scored forecasts. */
  readonly n: number;
}

export interface DecisionSettings {
  /** Load one replica should carry (u × C). */
  readonly capacityPerReplica: number;
  /** Load one replica carries at 100% (C): the within-bucket peak's upper bound must stay below it. */
  readonly peakCapacityPerReplica: number;
  readonly range: { readonly min: number; readonly max: number };
  readonly policyCeiling: number;
  readonly maxStepUp: number;
  readonly maxStepDown: number;
  /** Buckets ahead the floor covers (default 2: this bucket and the next, for the pod start delay). */
  readonly coverSteps: number;
  /**
   * "peak" (default): the floor carries the τ-quantile forecast of the coming buckets' peak at 100%
   * per replica (peak.ts). "mean-and-peak" (the earlier rule): the bucket mean's 80% upper bound at
   * the target utilisation and the peak's upper bound at 100%, whichever needs more.
   */
  readonly floorMode?: "peak" | "mean-and-peak";
}

export interface PredictiveReplay {
  readonly series: RegularSeries;
  /** Floor per bucket; −1 where the decision fell back to reactive scaling. */
  readonly floors: Int32Array;
  /** Fallback buckets by reason. */
  readonly fallbacks: Record<FallbackReason, number>;
  readonly accuracy: ModelAccuracy[];
  readonly fits: number;
  readonly fitSeconds: number;
  readonly forecastSeconds: number;
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

export function replayPredictive(samples: readonly Sample[], opts: ForecastOptions, decision: DecisionSettings): PredictiveReplay {
  const stepMs = opts.stepMinutes * 60_000;
  const series = resample(samples, stepMs);
  const n = series.mean.length;
  const calendar = new Calendar(opts.calendar);
  const stepsPerDay = Math.round(DAY_MS / stepMs);
  const minSteps = Math.round(opts.minHistoryDays * stepsPerDay);
  const H = opts.horizonSteps;
  const floors = new Int32Array(n).fill(-1);
  const fallbacks: Record<FallbackReason, number> = { "no-model": 0, "missing-data": 0, "invalid-forecast": 0, "low-confidence": 0 };
  const acc = new Map<string, { ape: number; nApe: number; inside: number; n: number }>();
  const excludedDays: Record<string, number> = {};
  const droppedOrigins: Record<string, number> = {};
  const weightSums: Record<string, number> = {};
  const notes: string[] = [];
  let shortFits = 0;
  let firstFitDays = Number.NaN;
  let traceMean = 0;
  for (let i = 0; i < n; i++) traceMean += series.mean[i]!;
  const floorLevel = Math.max(1e-9, (0.01 * traceMean) / Math.max(1, n));
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

  let state: EnsembleState | undefined;
  let noModelReason = `fewer than ${opts.minHistoryDays} days of history`;
  let fits = 0;
  let fitNs = 0n;
  let fcNs = 0n;
  let firstModelBucket = -1;
  let current = decision.range.min;
  let peakIn = 0;
  let peakN = 0;
  let peakLevel = Number.NaN;
  for (let k = 0; k < n; k++) {
    const t = series.startMs + k * stepMs;
    if (k >= minSteps && calendar.local(t).minuteOfDay === 0) {
      const t0 = process.hrtime.bigint();
      try {
        const next = fitEnsembleAt(series, k, opts, { previous: state, calendar });
        if (state) disposeEnsemble(state);
        state = next;
        fits++;
        if (firstModelBucket < 0) firstModelBucket = k;
        for (const m of next.members) if (m.excluded) excludedDays[m.name] = (excludedDays[m.name] ?? 0) + 1;
        for (const [name, w] of Object.entries(next.weights)) weightSums[name] = (weightSums[name] ?? 0) + w;
        if (next.end - next.start < Math.round(opts.trainingDays * stepsPerDay)) {
          if (shortFits === 0) firstFitDays = (next.end - next.start) / stepsPerDay;
          shortFits++;
        }
      } catch (e) {
        if (!(e instanceof InsufficientHistoryError)) throw e;
        noModelReason = e.reason;
      }
      fitNs += process.hrtime.bigint() - t0;
    }
    if (!state) {
      fallbacks["no-model"]++;
      continue;
    }
    const t1 = process.hrtime.bigint();
    const f = forecastEnsembleAt(state, k, Math.max(H, decision.coverSteps), { allModels: true });
    fcNs += process.hrtime.bigint() - t1;
    for (const d of f.dropped) droppedOrigins[d.name] = (droppedOrigins[d.name] ?? 0) + 1;
    const target = k + H - 1;
    if (target < n && series.observed[target] === 1) {
      const actual = series.mean[target]!;
      for (const [name, m] of Object.entries(f.models ?? {})) score(name, m.point[H - 1]!, m.lower[H - 1]!, m.upper[H - 1]!, actual);
      score("ensemble", f.point[H - 1]!, f.lower[H - 1]!, f.upper[H - 1]!, actual);
    }
    if (series.observed[k] === 1 && f.peakLevel !== undefined) {
      peakLevel = f.peakLevel;
      if (series.max[k]! <= f.peak[0]!) peakIn++;
      peakN++;
    }
    const peakMode = (decision.floorMode ?? "peak") === "peak";
    const r = predictiveFloor({
      ...(peakMode
        ? { upper: f.peak.slice(0, decision.coverSteps), capacityPerReplica: decision.peakCapacityPerReplica }
        : {
            upper: f.upper.slice(0, decision.coverSteps),
            capacityPerReplica: decision.capacityPerReplica,
            peak: { upper: f.peakUpper.slice(0, decision.coverSteps), capacityPerReplica: decision.peakCapacityPerReplica },
          }),
      range: decision.range,
      policyCeiling: decision.policyCeiling,
      current,
      maxStepUp: decision.maxStepUp,
      maxStepDown: decision.maxStepDown,
      confidence: f.confidence,
      confidenceThreshold: opts.confidenceThreshold,
      staleSteps: f.staleSteps,
      maxStaleSteps: Math.floor(opts.maxStaleMinutes / opts.stepMinutes),
      noModelReason,
    });
    if (r.kind === "floor") {
      floors[k] = r.replicas;
      current = r.replicas;
    } else {
      fallbacks[r.reason]++;
      current = decision.range.min;
    }
  }
  if (state) disposeEnsemble(state);
  if (shortFits) notes.push(`${shortFits} of ${fits} daily fits had less than the ${opts.trainingDays}-day training window (the first on ${firstFitDays.toFixed(1)} days): they used the history that existed`);
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
    fitSeconds: Number(fitNs) / 1e9,
    forecastSeconds: Number(fcNs) / 1e9,
    firstModelBucket,
    notes,
    excludedDays,
    droppedOrigins,
    meanWeights,
    peakCoverage: { share: peakN ? peakIn / peakN : Number.NaN, level: peakLevel, n: peakN },
  };
}
