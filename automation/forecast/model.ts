/**
 * The common machinery of every forecaster: the model contract, the guard, validation on a held-out
 * window with rolling origins, interval calibration from the validation residuals, and the public
 * `fit(history, opts)` / `predict(model, horizonSteps)` interface.
 *
 * Definitions used everywhere (docs/forecasting.md):
 * - level floor ℓ = 1% of the mean |value| of the training window: keeps ratios finite near zero.
 * - relative error of a forecast f for an actual a: r = (a − f) / max(|f|, ℓ).
 * - MAPE = mean of |a − f| / |a| over observed target buckets whose actual is at least 10·ℓ (10% of
 *   the window's mean |value|; MAPE_MIN_ACTUAL), as a fraction: targets below (zeros, outages, idle
 *   nights) have no meaningful percentage error and are left out (before: max(|a|, ℓ) in the
 *   denominator let one zero actual weigh 100× a normal bucket: 806% on grok_asg_anomaly).
 * - interval at horizon h: [f + q_lo(h)·max(|f|, ℓ), f + q_hi(h)·max(|f|, ℓ)] where q_lo, q_hi are the
 *   (1−c)/2 and (1+c)/2 empirical quantiles of the validation relative errors at horizon h (c = 0.8).
 * - coverage80 (validation) = share of actuals inside the interval, estimated out of sample by
 *   leaving one day of the calibration pool out at a time (calibrateBlocks).
 */
import { Calendar } from "./calendar";
import { resolveForecastOptions, type ForecastOptions, type ForecastOptionsInput } from "./options";
import { resample } from "./resample";
import { ForecastGuardError, InsufficientHistoryError, type ForecastOutput, type RegularSeries, type Sample } from "./types";

export const DAY_MS = 86_400_000;

export interface ModelContext {
  readonly opts: ForecastOptions;
  readonly calendar: Calendar;
  readonly stepMs: number;
  readonly stepsPerDay: number;
  /** Steps of the training window (trainingDays). */
  readonly trainingSteps: number;
  /** Steps held out for validation (validationDays). */
  readonly validationSteps: number;
  /** Steps of out-of-sample residuals the intervals are calibrated on (calibrationDays). */
  readonly calibrationSteps: number;
  readonly nonNegative: boolean;
}

export interface ModelDefinition<P = unknown> {
  readonly name: string;
  /** Baselines are references; models are the ensemble's candidates. */
  readonly kind: "baseline" | "model";
  /** Fewest buckets of history (before a fit's end) the model needs. */
  minTrainingSteps(ctx: ModelContext): number;
  /** Fits on buckets [start, end). Throws when it cannot (the reason is recorded). */
  fit(series: RegularSeries, start: number, end: number, ctx: ModelContext): P;
  /**
   * Point forecasts for buckets origin … origin+horizon−1, using only buckets before `origin`
   * (origin ≥ the fit's end). May return anything: callers run the guard.
   */
  forecast(params: P, series: RegularSeries, origin: number, horizon: number, ctx: ModelContext): Float64Array;
  /** Frees native resources (the ARIMA's WebAssembly memory). */
  dispose?(params: P): void;
}

export interface Calibration {
  /** Nominal central coverage (0.8). */
  readonly coverage: number;
  /** Quantile level actually used (conformal level correction, calibrateBlocks); `coverage` when uncorrected. */
  readonly level?: number;
  /** Per horizon h = 1…H (index h−1): quantiles of the relative errors. */
  readonly lo: number[];
  readonly hi: number[];
  /** Per horizon: the upper quantile of (bucket max − f)/max(|f|, ℓ): where the load's peak within a bucket goes. */
  readonly peakHi: number[];
  readonly residuals: number[];
  readonly levelFloor: number;
  /** Per horizon: the sorted relative errors the quantiles come from (adaptive conformal levels, online.ts). */
  readonly sorted?: Float64Array[];
}

export interface ValidationStats {
  /** MAPE at the validation horizon H over the validation window (the last day), fraction. */
  readonly mape: number;
  /** MAPE at H over the whole calibration pool (up to calibrationDays), fraction. */
  readonly poolMape: number;
  /** Out-of-sample coverage of the nominal interval at horizon H, fraction. */
  readonly coverage80: number;
  /** Validation residuals at horizon H. */
  readonly n: number;
}

// ---------------------------------------------------------------------------------------------
// Context

export function toSeries(history: readonly Sample[] | RegularSeries, opts: ForecastOptions): RegularSeries {
  const stepMs = opts.stepMinutes * 60_000;
  if (isRegularSeries(history)) {
    if (history.stepMs !== stepMs) throw new RangeError(`series step is ${history.stepMs / 60_000} min but the options say ${opts.stepMinutes} min`);
    return history;
  }
  return resample(history, stepMs);
}

export function isRegularSeries(x: unknown): x is RegularSeries {
  return typeof x === "object" && x !== null && (x as RegularSeries).mean instanceof Float64Array;
}

export function makeContext(opts: ForecastOptions, series: RegularSeries, end = series.mean.length, calendar?: Calendar): ModelContext {
  const stepMs = opts.stepMinutes * 60_000;
  const stepsPerDay = Math.round(DAY_MS / stepMs);
  let nonNegative: boolean;
  if (opts.nonNegative === "auto") {
    nonNegative = true;
    for (let i = 0; i < end; i++) if (series.mean[i]! < 0) { nonNegative = false; break; }
  } else nonNegative = opts.nonNegative;
  return {
    opts,
    calendar: calendar ?? new Calendar(opts.calendar),
    stepMs,
    stepsPerDay,
    trainingSteps: Math.round(opts.trainingDays * stepsPerDay),
    validationSteps: Math.round(opts.validationDays * stepsPerDay),
    calibrationSteps: Math.round(Math.max(opts.calibrationDays, opts.validationDays) * stepsPerDay),
    nonNegative,
  };
}

/** ℓ: 1% of the mean |value| over [start, end) (at least 1e-9). */
export function levelFloor(series: RegularSeries, start: number, end: number): number {
  let s = 0;
  let n = 0;
  for (let i = Math.max(0, start); i < end; i++) {
    s += Math.abs(series.mean[i]!);
    n++;
  }
  return Math.max(1e-9, n ? (0.01 * s) / n : 1e-9);
}

export function seriesMax(series: RegularSeries, start: number, end: number): number {
  let m = 0;
  for (let i = Math.max(0, start); i < end; i++) if (series.max[i]! > m) m = series.max[i]!;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Guard

export interface GuardLimits {
  /** Largest value in the history the model saw. */
  readonly historyMax: number;
  readonly nonNegative: boolean;
  readonly maxFactor: number;
}

/** Undefined when every value is finite and in range; otherwise the reason. */
export function guardForecast(values: ArrayLike<number>, limits: GuardLimits): string | undefined {
  const ceiling = limits.maxFactor * Math.max(limits.historyMax, 1e-9);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) return `non-finite forecast ${v} at step ${i + 1}`;
    if (v > ceiling) return `forecast ${v.toPrecision(3)} at step ${i + 1} exceeds ${limits.maxFactor} × the history max (${limits.historyMax.toPrecision(3)})`;
    if (limits.nonNegative && v < 0) return `negative forecast ${v.toPrecision(3)} at step ${i + 1} for a non-negative series`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Empirical quantile, linear interpolation between order statistics (type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function relativeError(actual: number, point: number, floor: number): number {
  return (actual - point) / Math.max(Math.abs(point), floor);
}

/** Actuals below MAPE_MIN_ACTUAL × ℓ are left out of MAPE. */
export const MAPE_MIN_ACTUAL = 10;

/** |a − f| / |a|, or NaN when |a| < MAPE_MIN_ACTUAL × ℓ (no meaningful percentage error: left out of MAPE). */
export function absolutePercentageError(actual: number, point: number, floor: number): number {
  const a = Math.abs(actual);
  return a < MAPE_MIN_ACTUAL * floor ? Number.NaN : Math.abs(actual - point) / a;
}

export function intervalAt(point: number, cal: Calibration, h: number, nonNegative: boolean): { lower: number; upper: number; peakUpper: number } {
  const k = Math.min(h, cal.lo.length) - 1;
  const scale = Math.max(Math.abs(point), cal.levelFloor);
  let lower = point + cal.lo[k]! * scale;
  const upper = point + cal.hi[k]! * scale;
  const peakUpper = Math.max(upper, point + cal.peakHi[k]! * scale);
  if (nonNegative && lower < 0) lower = 0;
  return { lower, upper, peakUpper };
}

/** Out-of-sample forecasts from the origins [start, start + steps), laid out [k × H + (h − 1)]; NaN = none. */
export interface ForecastBlock {
  readonly start: number;
  readonly steps: number;
  readonly forecasts: Float64Array;
}

/**
 * Interval calibration and validation statistics from out-of-sample forecast blocks (rolling
 * origins), scored against the buckets before `end` that have data:
 * - quantiles per horizon from every residual of every block (pooled over horizons when a horizon
 *   has fewer than minResiduals);
 * - MAPE at H over the origins of the recent window [end − recentSteps, end) (the validation day);
 * - coverage80: leave one block (day) out — each block's actuals, at every horizon 1…H, against
 *   the interval calibrated on the other blocks; with a single block, two-fold cross-fitting in
 *   time within it.
 */
export function calibrateBlocks(
  blocks: readonly ForecastBlock[],
  series: RegularSeries,
  end: number,
  horizon: number,
  opts: Pick<ForecastOptions, "intervalCoverage" | "minResiduals"> & { readonly conformalCorrection?: boolean },
  floor: number,
  recentSteps: number,
): { calibration: Calibration; stats: ValidationStats } | { reason: string } {
  const c = opts.intervalCoverage;
  const qHi = (1 + c) / 2;
  const byH: number[][] = Array.from({ length: horizon }, () => []);
  const peakByH: number[][] = Array.from({ length: horizon }, () => []);
  // Residuals per block and horizon, for the leave-one-block-out coverage.
  const perBlock: number[][][] = [];
  let ape = 0;
  let nApe = 0;
  let poolApe = 0;
  let nPool = 0;
  const recentFrom = end - recentSteps;
  for (const b of blocks) {
    const mine: number[][] = Array.from({ length: horizon }, () => []);
    perBlock.push(mine);
    for (let k = 0; k < b.steps; k++) {
      const o = b.start + k;
      for (let h = 1; h <= horizon; h++) {
        const target = o + h - 1;
        if (target >= end || series.observed[target] === 0) continue;
        const f = b.forecasts[k * horizon + h - 1]!;
        if (!Number.isFinite(f)) continue;
        const a = series.mean[target]!;
        const r = relativeError(a, f, floor);
        byH[h - 1]!.push(r);
        mine[h - 1]!.push(r);
        peakByH[h - 1]!.push(relativeError(series.max[target]!, f, floor));
        if (h === horizon) {
          const e = absolutePercentageError(a, f, floor);
          if (Number.isNaN(e)) continue;
          poolApe += e;
          nPool++;
          if (o >= recentFrom) {
            ape += e;
            nApe++;
          }
        }
      }
    }
  }
  const pooled: number[] = [];
  for (const r of byH) for (const x of r) pooled.push(x);
  if (pooled.length < opts.minResiduals) return { reason: `only ${pooled.length} validation residuals (at least ${opts.minResiduals} needed)` };
  if (nApe === 0) return { reason: "no validation residual in the validation window" };
  const sortNum = (xs: readonly number[]) => new Float64Array(xs).sort();
  const pooledSorted = sortNum(pooled);
  const pooledPeak: number[] = [];
  for (const r of peakByH) for (const x of r) pooledPeak.push(x);
  const pooledPeakSorted = sortNum(pooledPeak);
  // Out-of-sample coverage, leave one block (day) out: each block's residuals, every horizon,
  // against the interval calibrated on the other blocks (sorted once; any level is then cheap).
  const folds: { calib: Float64Array; test: readonly number[] }[] = [];
  const filled = perBlock.filter((b) => b.some((r) => r.length > 0));
  if (filled.length >= 2) {
    for (let i = 0; i < filled.length; i++) {
      const othersAll: number[] = [];
      for (let j = 0; j < filled.length; j++) if (j !== i) for (const r of filled[j]!) for (const x of r) othersAll.push(x);
      if (othersAll.length < opts.minResiduals) continue;
      let othersSorted: Float64Array | undefined;
      for (let k = 0; k < horizon; k++) {
        const atH: number[] = [];
        for (let j = 0; j < filled.length; j++) if (j !== i) for (const x of filled[j]![k]!) atH.push(x);
        folds.push({ calib: atH.length >= opts.minResiduals ? sortNum(atH) : (othersSorted ??= sortNum(othersAll)), test: filled[i]![k]! });
      }
    }
  }
  if (folds.length === 0) {
    // A single block (first fit): two-fold cross-fitting in time within it.
    for (let k = 0; k < horizon; k++) {
      const r = byH[k]!;
      const half = Math.floor(r.length / 2);
      if (half < 2) continue;
      folds.push({ calib: sortNum(r.slice(0, half)), test: r.slice(half) });
      folds.push({ calib: sortNum(r.slice(half)), test: r.slice(0, half) });
    }
  }
  const coverageAt = (level: number) => {
    let inside = 0;
    let counted = 0;
    for (const f of folds) {
      const l = quantile(f.calib, (1 - level) / 2);
      const u = quantile(f.calib, (1 + level) / 2);
      for (const r of f.test) if (r >= l && r <= u) inside++;
      counted += f.test.length;
    }
    return counted ? inside / counted : Number.NaN;
  };
  // Conformal level correction: the pool's days are not exchangeable (load drifts, weekdays
  // differ), so the nominal quantile under- or over-covers out of sample. The level used is the
  // one whose leave-one-day-out coverage is c (bisection on [0.5, 0.99]); nominal when there are
  // no folds or it already covers within ±1 point. Off by default (forecastOptions.conformalCorrection):
  // measured in the bench it over-corrected as often as it helped (docs/forecasting.md §6).
  let level = c;
  let coverage80 = coverageAt(c);
  if (opts.conformalCorrection === true && Number.isFinite(coverage80) && Math.abs(coverage80 - c) > 0.01) {
    let a = 0.5;
    let b = 0.99;
    for (let it = 0; it < 12; it++) {
      const mid = (a + b) / 2;
      if (coverageAt(mid) < c) a = mid;
      else b = mid;
    }
    level = b;
    coverage80 = coverageAt(level);
  }
  const lo: number[] = [];
  const hi: number[] = [];
  const peakHi: number[] = [];
  const sortedByH: Float64Array[] = [];
  for (let k = 0; k < horizon; k++) {
    const enough = byH[k]!.length >= opts.minResiduals;
    const s = enough ? sortNum(byH[k]!) : pooledSorted;
    sortedByH.push(s);
    const sp = enough ? sortNum(peakByH[k]!) : pooledPeakSorted;
    lo.push(quantile(s, (1 - level) / 2));
    hi.push(quantile(s, (1 + level) / 2));
    peakHi.push(quantile(sp, qHi));
  }
  return {
    calibration: { coverage: c, level, lo, hi, peakHi, residuals: byH.map((r) => r.length), levelFloor: floor, sorted: sortedByH },
    stats: { mape: ape / nApe, poolMape: poolApe / nPool, coverage80, n: nApe },
  };
}

/**
 * Decision confidence from validation statistics:
 *   confidence = clamp01(min(1 − MAPE, 1 − k·|coverage80 − c|))
 * with k = coveragePenalty (default 2) and c the nominal coverage (0.8). A MAPE of 20% or a coverage
 * 10 points off the nominal each bring it down to 0.8, the default threshold.
 */
export function confidenceOf(stats: ValidationStats, opts: Pick<ForecastOptions, "coveragePenalty" | "intervalCoverage">): { confidence: number; accuracyTerm: number; coverageTerm: number } {
  const accuracyTerm = Number.isFinite(stats.mape) ? 1 - stats.mape : 0;
  const coverageTerm = Number.isFinite(stats.coverage80) ? 1 - opts.coveragePenalty * Math.abs(stats.coverage80 - opts.intervalCoverage) : 0;
  const confidence = Math.max(0, Math.min(1, Math.min(accuracyTerm, coverageTerm)));
  return { confidence, accuracyTerm, coverageTerm };
}

/** Rolling-origin forecasts of one model, guarded: NaN where a forecast failed the guard. */
export interface GuardedBlock {
  readonly block: ForecastBlock;
  /** Origins whose forecast failed the guard (or threw), with the first reason. */
  readonly failures: number;
  readonly firstFailure?: string;
}

/** Rolling-origin forecasts of one model from origins [start, end) at horizons 1…H, guarded. */
export function forecastBlock<P>(
  def: ModelDefinition<P>,
  params: P,
  series: RegularSeries,
  start: number,
  end: number,
  ctx: ModelContext,
  limits: GuardLimits,
  reuse?: Float64Array,
): GuardedBlock {
  const H = ctx.opts.horizonSteps;
  const out = new Float64Array((end - start) * H).fill(Number.NaN);
  let failures = 0;
  let firstFailure: string | undefined;
  for (let o = start; o < end; o++) {
    const off = (o - start) * H;
    if (reuse && Number.isFinite(reuse[off]!)) {
      for (let h = 0; h < H; h++) out[off + h] = reuse[off + h]!;
      continue;
    }
    let bad: string | undefined;
    let f: Float64Array | undefined;
    try {
      f = def.forecast(params, series, o, H, ctx);
      bad = guardForecast(f, limits);
      if (bad) bad = `guard: ${bad}`;
    } catch (e) {
      bad = `forecast failed: ${(e as Error).message}`;
    }
    if (bad || !f) {
      failures++;
      firstFailure ??= `${bad} (origin ${new Date(series.startMs + o * series.stepMs).toISOString()})`;
      continue;
    }
    for (let h = 0; h < H; h++) out[off + h] = f[h]!;
  }
  return {
    block: { start, steps: end - start, forecasts: out },
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

/**
 * Held-out forecasts for a model without a previous fit: fitted once on the history before the
 * calibration window (calibrationDays, at least the validation window; shorter when the history is),
 * then rolling origins over the window, in blocks of the validation window's length (most recent
 * last). `validationFailure` is the first guard failure within the validation window, if any.
 */
export function holdoutBlocks<P>(
  def: ModelDefinition<P>,
  series: RegularSeries,
  end: number,
  ctx: ModelContext,
  limits: GuardLimits,
): { blocks: ForecastBlock[]; validationFailure?: string; validationFailures: number } | { reason: string } {
  const V = ctx.validationSteps;
  const need = def.minTrainingSteps(ctx);
  const room = end - need;
  if (room < V) {
    return { reason: `needs ${(need / ctx.stepsPerDay).toFixed(1)} days of history before the ${ctx.opts.validationDays}-day validation window, has ${((end - V) / ctx.stepsPerDay).toFixed(1)}` };
  }
  const blocksWanted = Math.max(1, Math.floor(Math.min(ctx.calibrationSteps, room) / V));
  const hs = end - blocksWanted * V;
  let params: P;
  try {
    params = def.fit(series, Math.max(0, hs - ctx.trainingSteps), hs, ctx);
  } catch (e) {
    return { reason: `fit failed: ${(e as Error).message}` };
  }
  try {
    const blocks: ForecastBlock[] = [];
    let validationFailure: string | undefined;
    let validationFailures = 0;
    for (let b = hs; b < end; b += V) {
      const r = forecastBlock(def, params, series, b, b + V, ctx, limits);
      blocks.push(r.block);
      if (b + V >= end && r.failures) {
        validationFailure = r.firstFailure;
        validationFailures = r.failures;
      }
    }
    return { blocks, validationFailures, ...(validationFailure ? { validationFailure } : {}) };
  } finally {
    def.dispose?.(params);
  }
}

// ---------------------------------------------------------------------------------------------
// The public interface of one model: fit(history, opts) → model; predict(model, horizonSteps).

export interface FittedModel<P = unknown> {
  readonly name: string;
  readonly definition: ModelDefinition<P>;
  readonly params: P;
  readonly series: RegularSeries;
  /** Forecasts start at this bucket (the end of the history). */
  readonly end: number;
  readonly ctx: ModelContext;
  readonly calibration: Calibration;
  readonly validation: ValidationStats;
  readonly limits: GuardLimits;
}

export interface Forecaster<P = unknown> {
  readonly name: string;
  readonly definition: ModelDefinition<P>;
  /** Fits on the history (raw samples, resampled to the step, or a series at the step), validating on its last day. */
  fit(history: readonly Sample[] | RegularSeries, opts?: ForecastOptionsInput): FittedModel<P>;
  /** Forecasts the next horizonSteps buckets with calibrated intervals; throws ForecastGuardError if the guard rejects it. */
  predict(model: FittedModel<P>, horizonSteps: number): ForecastOutput;
  dispose(model: FittedModel<P>): void;
}

export function minHistoryCheck(ctx: ModelContext, end: number, need?: number): void {
  const min = Math.max(need ?? 0, Math.round(ctx.opts.minHistoryDays * ctx.stepsPerDay));
  if (end < min) {
    throw new InsufficientHistoryError(
      `history has ${(end / ctx.stepsPerDay).toFixed(2)} days (${end} buckets of ${ctx.opts.stepMinutes} min); at least ${(min / ctx.stepsPerDay).toFixed(2)} days (${min} buckets) are needed`,
    );
  }
}

export function makeForecaster<P>(def: ModelDefinition<P>): Forecaster<P> {
  return {
    name: def.name,
    definition: def,
    fit(history, input) {
      const opts = resolveForecastOptions(input);
      const series = toSeries(history, opts);
      const end = series.mean.length;
      const ctx = makeContext(opts, series, end);
      minHistoryCheck(ctx, end, ctx.validationSteps + def.minTrainingSteps(ctx));
      const start = Math.max(0, end - ctx.trainingSteps);
      const floor = levelFloor(series, start, end);
      const limits: GuardLimits = { historyMax: seriesMax(series, start, end), nonNegative: ctx.nonNegative, maxFactor: opts.guardMaxFactor };
      const held = holdoutBlocks(def, series, end, ctx, limits);
      if ("reason" in held) {
        if (held.reason.startsWith("needs")) throw new InsufficientHistoryError(`${def.name}: ${held.reason}`);
        throw new Error(`${def.name}: ${held.reason}`);
      }
      if (held.validationFailure) throw new ForecastGuardError(def.name, `${held.validationFailures} validation forecasts rejected, first: ${held.validationFailure}`);
      const cal = calibrateBlocks(held.blocks, series, end, opts.horizonSteps, opts, floor, ctx.validationSteps);
      if ("reason" in cal) throw new InsufficientHistoryError(`${def.name}: ${cal.reason}`);
      const params = def.fit(series, start, end, ctx);
      return { name: def.name, definition: def, params, series, end, ctx, calibration: cal.calibration, validation: cal.stats, limits };
    },
    predict(model, horizonSteps) {
      if (!Number.isInteger(horizonSteps) || horizonSteps < 1) throw new RangeError(`horizonSteps ${horizonSteps} must be an integer ≥ 1`);
      const f = model.definition.forecast(model.params, model.series, model.end, horizonSteps, model.ctx);
      const bad = guardForecast(f, model.limits);
      if (bad) throw new ForecastGuardError(model.name, bad);
      return withIntervals(f, model.calibration, model.ctx.nonNegative);
    },
    dispose(model) {
      def.dispose?.(model.params);
    },
  };
}

export function withIntervals(f: ArrayLike<number>, cal: Calibration, nonNegative: boolean): ForecastOutput & { peakUpper: number[] } {
  const point: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const peakUpper: number[] = [];
  for (let h = 1; h <= f.length; h++) {
    const p = f[h - 1]!;
    const iv = intervalAt(p, cal, h, nonNegative);
    point.push(p);
    lower.push(iv.lower);
    upper.push(iv.upper);
    peakUpper.push(iv.peakUpper);
  }
  return { point, lower, upper, peakUpper };
}
