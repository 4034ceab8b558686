/**
 * The ensemble: linear regression, the Prophet-style model and SARIMA, weighted by their recent
 * validation error, with calibrated intervals and a decision confidence.
 *
 * At each (daily) fit on the history [start, end) (the last trainingDays, default 30):
 * 1. out-of-sample forecasts of every model and baseline, from every 15-minute origin, 1…H steps
 *    ahead, using only data before each origin (rolling origins):
 *    - chained (the previous fit ended where today's validation day starts): yesterday's models
 *      ARE the held-out models, so their forecasts over yesterday (recorded as they were made, or
 *      recomputed) are the validation day, and the previous days' blocks are kept as the pool;
 *    - otherwise: each model is fitted once on the history before a calibration window
 *      (calibrationDays, 7 by default, shorter if the history is) and forecasts across it.
 *    Any forecast in the validation window (the last day) that fails the guard (non-finite, above
 *    10× the history max, negative for a non-negative series) or throws drops the model for this
 *    run, with the reason; it is still refitted as a "shadow" (no weight) so the chain goes on;
 * 2. per model: MAPE at H over the validation day, interval calibration and out-of-sample coverage
 *    from the pool (model.ts: calibrateBlocks);
 * 3. the reference is the seasonal-naive baseline (naive while there are fewer than 8 days, then
 *    persistence); a model gets weight ∝ 1/MAPE² (weightPower) only if its MAPE is below the
 *    reference's; weights sum to 1. If no model beats the reference, the ensemble IS the reference;
 * 4. the ensemble's own out-of-sample forecasts — as issued over the last days when chained, else
 *    the members' held-out forecasts combined with today's weights — give its MAPE, its interval
 *    calibration, its coverage and its decision confidence (model.ts: confidenceOf);
 * 5. every model is refitted on the full history for today's forecasts.
 * Between fits (online.ts): each forecast first scores what was issued earlier and whose targets are
 * now history — adaptive conformal levels of the interval per horizon, and an exponentially weighted
 * MAPE per horizon of every member and of the day's combination, from which the combination used at
 * each horizon is re-chosen within the day (hysteresis, blended with the runner-up).
 */
import { Calendar } from "./calendar";
import { lastValueDefinition, levelDailyDefinition, levelWeeklyDefinition, naiveDefinition, persistenceDefinition, seasonalNaiveDefinition } from "./baselines";
import { asymmetricQuantileLevel, calibratePeak, fitPeakRatio, peakForecast, peakRatioAt, type PeakCalibration, type PeakRatioModel } from "./peak";
import { linearDefinition } from "./linear";
import {
  calibrateBlocks,
  confidenceOf,
  forecastBlock,
  holdoutBlocks,
  guardForecast,
  intervalAt,
  levelFloor,
  makeContext,
  MAPE_MIN_ACTUAL,
  minHistoryCheck,
  seriesMax,
  toSeries,
  type Calibration,
  type ForecastBlock,
  type GuardLimits,
  type ModelContext,
  type ModelDefinition,
  type ValidationStats,
} from "./model";
import { aciOffsets, choose, dailyCandidate, issue, newOnlineState, observe, scoreOf, warmStart, type OnlineState } from "./online";
import { resolveForecastOptions, type ForecastOptions, type ForecastOptionsInput } from "./options";
import { prophetDefinition } from "./prophet";
import { trailingUnobserved } from "./resample";
import { arimaDefinition, sarimaDefinition } from "./sarima";
import { InsufficientHistoryError, type Exclusion, type ForecastOutput, type RegularSeries, type Sample } from "./types";

/** Name under which the ensemble's own forecasts are pooled and recorded. */
export const ensembleName = "ensemble";

export const baselineDefinitions: readonly ModelDefinition[] = [persistenceDefinition, naiveDefinition, seasonalNaiveDefinition] as ModelDefinition[];
export const defaultMemberDefinitions: readonly ModelDefinition[] = [
  linearDefinition,
  prophetDefinition,
  arimaDefinition,
  sarimaDefinition,
  lastValueDefinition,
  levelDailyDefinition,
  levelWeeklyDefinition,
] as ModelDefinition[];

export interface MemberState {
  readonly name: string;
  readonly kind: "baseline" | "model";
  readonly definition: ModelDefinition;
  /**
   * Parameters fitted on the full history; undefined when it could not be fitted. A model excluded
   * by the guard keeps its parameters as a shadow: no weight, forecasts only for reports and for the
   * next day's validation.
   */
  readonly params: unknown;
  readonly calibration?: Calibration;
  readonly validation?: ValidationStats;
  /** Why the model takes no part in this run. */
  readonly excluded?: string;
  readonly weight: number;
}

export interface EnsembleState {
  readonly series: RegularSeries;
  readonly ctx: ModelContext;
  readonly start: number;
  /** Forecasts start at this bucket or later. */
  readonly end: number;
  readonly members: readonly MemberState[];
  /** The baseline a model must beat, and the ensemble's fallback. */
  readonly reference: string;
  /** Model name → weight (sums to 1). Just { [reference]: 1 } when no model beats it. */
  readonly weights: Readonly<Record<string, number>>;
  /** Weights per horizon h = 1…H (index h − 1); beyond H, those of H. */
  readonly weightsByHorizon: readonly Readonly<Record<string, number>>[];
  readonly calibration: Calibration;
  readonly validation: ValidationStats;
  readonly confidence: number;
  readonly confidenceTerms: { readonly accuracyTerm: number; readonly coverageTerm: number };
  readonly limits: GuardLimits;
  /**
   * The peak model (peak.ts): peak-to-mean ratio by hour of week and the conformal τ-quantile of the
   * ensemble's peak residuals; calibration undefined when the pool is too small (then peakUpper is used).
   */
  readonly peak: { readonly ratio: PeakRatioModel; readonly calibration?: PeakCalibration; readonly levelFloor: number };
  /** Things a reader should know: short history, excluded models, fallback to the reference. */
  readonly notes: readonly string[];
  /** Out-of-sample forecast blocks of the last calibrationDays by model (and "ensemble"): the calibration pool. */
  readonly pool: ReadonlyMap<string, readonly ForecastBlock[]>;
  /** Forecasts made over [end, end + validationSteps) at horizons 1…H by model and "ensemble", reused by the next day's fit. */
  readonly recorded: Map<string, Float64Array>;
  /**
   * Online adaptation between fits (online.ts): adaptive conformal levels per horizon (carried from
   * the previous fit when chained) and the intraday error sums of `intradayCandidates` and "daily".
   */
  readonly online: OnlineState;
  /** Members that compete intraday with the day's combination. */
  readonly intradayCandidates: readonly string[];
  disposed: boolean;
}

export interface EnsembleForecast extends ForecastOutput {
  /** Upper bound for the within-bucket peak (the max of the raw samples in a bucket). */
  readonly peakUpper: number[];
  /**
   * The τ-quantile forecast of each bucket's peak (τ from peakCostUnder/peakCostOver, 0.9 by
   * default): what the floor must carry at 100% per replica. Equal to peakUpper when the peak
   * calibration is not available yet.
   */
  readonly peak: number[];
  /** τ of `peak`, or undefined when `peak` is peakUpper. */
  readonly peakLevel?: number;
  readonly confidence: number;
  /** "ensemble", or the reference baseline's name when the ensemble fell back to it. */
  readonly source: string;
  /** Weights actually used (renormalised after guard drops). */
  readonly weights: Readonly<Record<string, number>>;
  /** Per horizon 1…H: what the intraday re-weighting used ("daily" = the day's combination, else a member alone). */
  readonly intraday?: readonly string[];
  /** Per horizon 1…H: the adaptive conformal miscoverage level of the interval (nominal 1 − coverage). */
  readonly alpha?: readonly number[];
  /** Models dropped by the guard at this origin. */
  readonly dropped: readonly Exclusion[];
  /** Buckets at the end of the history without any sample. */
  readonly staleSteps: number;
  /** Every available model's own forecast with its own intervals (when asked for). */
  readonly models?: Readonly<Record<string, ForecastOutput & { peakUpper: number[] }>>;
}

export interface EnsembleFitExtras {
  /** The previous fit (normally yesterday's): its models serve as today's held-out models when it ended where today's validation starts. */
  readonly previous?: EnsembleState;
  /** Models to use instead of linear, prophet and sarima (tests inject fakes here). */
  readonly members?: readonly ModelDefinition[];
  readonly calendar?: Calendar;
}

/**
 * Fits the ensemble on buckets [max(0, end − trainingSteps), end) of `series`.
 * Throws InsufficientHistoryError (with the reason) when there is too little history.
 */
export function fitEnsembleAt(series: RegularSeries, end: number, opts: ForecastOptions, extras: EnsembleFitExtras = {}): EnsembleState {
  const ctx = makeContext(opts, series, end, extras.calendar ?? extras.previous?.ctx.calendar);
  minHistoryCheck(ctx, end);
  const H = opts.horizonSteps;
  const V = ctx.validationSteps;
  const start = Math.max(0, end - ctx.trainingSteps);
  const vStart = end - V;
  const poolFrom = end - ctx.calibrationSteps;
  const notes: string[] = [];
  if (end - start < ctx.trainingSteps) {
    notes.push(`history is ${((end - start) / ctx.stepsPerDay).toFixed(1)} days, shorter than the ${opts.trainingDays}-day training window: fitted on what exists`);
  }
  const floor = levelFloor(series, start, end);
  const limits: GuardLimits = { historyMax: seriesMax(series, start, end), nonNegative: ctx.nonNegative, maxFactor: opts.guardMaxFactor };
  const prev = extras.previous && !extras.previous.disposed && extras.previous.end === vStart && extras.previous.series === series ? extras.previous : undefined;
  const defs = [...baselineDefinitions, ...(extras.members ?? defaultMemberDefinitions)];
  const pool = new Map<string, ForecastBlock[]>();

  interface Work {
    def: ModelDefinition;
    params?: unknown;
    cal?: Calibration;
    stats?: ValidationStats;
    blocks?: ForecastBlock[];
    excluded?: string;
  }
  const members: Work[] = [];
  for (const def of defs) {
    const m: Work = { def };
    members.push(m);
    // 1. Out-of-sample forecasts: yesterday's model over yesterday (chained), or a held-out fit.
    //    Any forecast in the validation window that fails the guard drops the model for this run;
    //    it is still refitted ("shadow") so tomorrow's validation can use it, but gets no weight.
    const reused = prev?.members.find((p) => p.definition === def && p.params !== undefined);
    let guardFailure: string | undefined;
    if (reused) {
      const r = forecastBlock(def, reused.params, series, vStart, end, ctx, limits, prev!.recorded.get(def.name));
      if (r.failures) guardFailure = `${r.failures} validation forecasts rejected, first: ${r.firstFailure}`;
      m.blocks = [...(prev!.pool.get(def.name) ?? []).filter((b) => b.start >= poolFrom && b.start < vStart), r.block];
    } else {
      const r = holdoutBlocks(def, series, end, ctx, limits);
      if ("reason" in r) {
        m.excluded = r.reason;
        continue;
      }
      if (r.validationFailure) guardFailure = `${r.validationFailures} validation forecasts rejected, first: ${r.validationFailure}`;
      m.blocks = r.blocks;
    }
    // 2. Validation statistics and calibration.
    const cal = calibrateBlocks(m.blocks, series, end, H, opts, floor, V);
    if ("reason" in cal) m.excluded = cal.reason;
    else {
      m.cal = cal.calibration;
      m.stats = cal.stats;
    }
    if (guardFailure) m.excluded = guardFailure;
    // 5. Refit on the full history.
    try {
      m.params = def.fit(series, start, end, ctx);
      pool.set(def.name, m.blocks);
    } catch (e) {
      m.excluded = `fit failed: ${(e as Error).message}`;
      m.cal = undefined;
      m.stats = undefined;
    }
  }

  // 3. Reference and weights.
  const byName = (n: string) => members.find((m) => m.def.name === n);
  const usable = (m: Work | undefined): m is Work => m !== undefined && m.excluded === undefined && m.stats !== undefined && Number.isFinite(m.stats.mape);
  const ref = [seasonalNaiveDefinition.name, naiveDefinition.name, persistenceDefinition.name].map(byName).find(usable);
  if (!ref) {
    for (const m of members) if (m.params !== undefined) m.def.dispose?.(m.params);
    const why = members.filter((m) => m.def.kind === "baseline").map((m) => `${m.def.name}: ${m.excluded ?? "no validation error"}`).join("; ");
    throw new InsufficientHistoryError(`no baseline could be validated (${why})`);
  }
  if (ref.def !== seasonalNaiveDefinition) notes.push(`reference is ${ref.def.name}: seasonal-naive ${byName(seasonalNaiveDefinition.name)?.excluded ?? "unavailable"}`);
  const err = (m: Work) => (opts.weightWindow === "pool" ? m.stats!.poolMape : m.stats!.mape);
  const refMape = err(ref);
  let weights: Record<string, number>;
  let weightsByHorizon: Record<string, number>[];
  if (opts.combination === "inverse-error") {
    const raw: Record<string, number> = {};
    for (const m of members) {
      if ((m.def.kind !== "model" && !(opts.baselineMembers && m !== ref)) || !usable(m)) continue;
      if (err(m) < refMape) raw[m.def.name] = 1 / Math.max(err(m), 1e-6) ** opts.weightPower;
    }
    const total = Object.values(raw).reduce((a, b) => a + b, 0);
    weights = total > 0 ? Object.fromEntries(Object.entries(raw).map(([k, w]) => [k, w / total])) : { [ref.def.name]: 1 };
    if (total === 0) notes.push(`no model beats ${ref.def.name} on the validation window (MAPE ${(refMape * 100).toFixed(1)}%): the ensemble is ${ref.def.name}`);
    weightsByHorizon = Array.from({ length: H }, () => weights);
  } else {
    const cands = members.filter(usable);
    weightsByHorizon = selectCombination(
      cands.map((m) => ({ name: m.def.name, blocks: m.blocks! })),
      ref.def.name,
      series,
      poolFrom,
      end,
      H,
      floor,
      opts.weightPower,
      ctx.stepsPerDay,
    );
    weights = weightsByHorizon[H - 1]!;
    if (Object.keys(weights).length === 1 && ref.def.name in weights) notes.push(`${ref.def.name} alone has the lowest pool MAPE 1 h ahead: the ensemble is ${ref.def.name} at that horizon`);
  }
  for (const m of members) if (m.excluded) notes.push(`${m.def.name} excluded: ${m.excluded}`);

  // 4. The ensemble's own out-of-sample forecasts: as issued (chained), else recombined with today's weights.
  let ensembleBlocks: ForecastBlock[];
  const issued = prev?.recorded.get(ensembleName);
  if (prev && issued) {
    ensembleBlocks = [...(prev.pool.get(ensembleName) ?? []).filter((b) => b.start >= poolFrom && b.start < vStart), { start: vStart, steps: V, forecasts: issued }];
  } else {
    ensembleBlocks = combineBlocks(weightsByHorizon, (name) => byName(name)!.blocks!, H);
  }
  pool.set(ensembleName, ensembleBlocks);
  const ecal = calibrateBlocks(ensembleBlocks, series, end, H, opts, floor, V);
  const calibration = "reason" in ecal ? ref.cal! : ecal.calibration;
  const validation = "reason" in ecal ? ref.stats! : ecal.stats;
  const conf = confidenceOf(validation, opts);

  // The peak model: ratio by hour of week on the training window, conformal τ-quantile on the ensemble's pool.
  const cal = ctx.calendar;
  const ratio = fitPeakRatio(series, start, end, floor, { localOf: (t) => cal.local(t) });
  const level = asymmetricQuantileLevel(opts.peakCostUnder, opts.peakCostOver);
  const peakCal = calibratePeak(ensembleBlocks, series, end, H, floor, (k) => peakRatioAt(ratio, cal.local(series.startMs + k * series.stepMs)), level, opts.minResiduals);
  if (!peakCal) notes.push("peak quantile not calibrated (too few out-of-sample forecasts): the floor uses the peak's upper bound");

  // Online adaptation: ACI levels carried along the daily chain; intraday error sums warm-started on
  // the last day of out-of-sample forecasts (members as held out, "daily" = today's combination).
  const online = newOnlineState(
    H,
    {
      gamma: opts.adaptiveConformalGamma,
      alpha: 1 - opts.intervalCoverage,
      halfLifeSteps: (opts.intradayHalfLifeHours * 60) / opts.stepMinutes,
      margin: opts.intradaySwitchMargin,
      minMass: 4,
    },
    prev?.online,
  );
  const intradayCandidates = members.filter((m) => usable(m) && m.params !== undefined).map((m) => m.def.name);
  if (opts.intradayHalfLifeHours > 0) {
    const wFrom = Math.max(poolFrom, vStart);
    const mats = new Map(intradayCandidates.map((n) => [n, poolMatrix(byName(n)!.blocks!, wFrom, end, H)]));
    const daily = new Float64Array(Math.max(0, end - wFrom) * H).fill(Number.NaN);
    for (let i = 0; i < end - wFrom; i++) {
      for (let h = 0; h < H; h++) {
        let v = 0;
        let ok = true;
        for (const [n, w] of Object.entries(weightsByHorizon[h]!)) {
          const x = (mats.get(n) ?? (mats.set(n, poolMatrix(byName(n)?.blocks ?? [], wFrom, end, H)), mats.get(n)!))[i * H + h]!;
          if (!Number.isFinite(x)) ok = false;
          v += w * x;
        }
        daily[i * H + h] = ok ? v : Number.NaN;
      }
    }
    mats.set(dailyCandidate, daily);
    warmStart(online, [...intradayCandidates, dailyCandidate], (n) => mats.get(n)!, series, wFrom, end, floor);
  }

  return {
    series,
    ctx,
    start,
    end,
    members: members.map((m) => ({
      name: m.def.name,
      kind: m.def.kind,
      definition: m.def,
      params: m.params,
      calibration: m.cal,
      validation: m.stats,
      excluded: m.excluded,
      weight: weights[m.def.name] ?? 0,
    })),
    reference: ref.def.name,
    weights,
    weightsByHorizon,
    calibration,
    validation,
    confidence: conf.confidence,
    confidenceTerms: { accuracyTerm: conf.accuracyTerm, coverageTerm: conf.coverageTerm },
    limits,
    peak: { ratio, ...(peakCal ? { calibration: peakCal } : {}), levelFloor: floor },
    notes,
    pool,
    recorded: new Map(),
    online,
    intradayCandidates,
    disposed: false,
  };
}

export interface ForecastAtOptions {
  /** Also return every available model's own forecast (baselines included). */
  readonly allModels?: boolean;
}

/**
 * Forecast from `origin` (≥ state.end) for `horizon` buckets, using only buckets before `origin`.
 * Members whose forecast fails the guard are dropped for this forecast and the weights
 * renormalised; if none is left, the reference baseline's forecast is used (source says so).
 */
export function forecastEnsembleAt(state: EnsembleState, origin: number, horizon: number, o: ForecastAtOptions = {}): EnsembleForecast {
  if (state.disposed) throw new Error("ensemble state already disposed");
  if (origin < state.end) throw new RangeError(`origin ${origin} is before the end of the fitted history (${state.end}): that would use the future`);
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon ${horizon} must be an integer ≥ 1`);
  const { series, ctx } = state;
  const H = ctx.opts.horizonSteps;
  const recordAt = origin - state.end;
  const recording = recordAt < ctx.validationSteps && horizon >= H;
  const dropped: Exclusion[] = [];
  const online = state.online;
  // Score what was issued earlier and whose targets are now history (buckets < origin only).
  observe(online, series, origin, state.peak.levelFloor);
  const intraday = ctx.opts.intradayHalfLifeHours > 0;
  const own: Record<string, Float64Array> = {};
  const models: Record<string, ForecastOutput & { peakUpper: number[] }> = {};
  for (const m of state.members) {
    if (m.params === undefined) continue;
    // Excluded models with parameters are shadows: forecast only for reports and tomorrow's validation.
    if (!o.allModels && !(m.name in state.weights) && m.name !== state.reference && !(intraday && state.intradayCandidates.includes(m.name)) && !state.weightsByHorizon.some((w) => m.name in w)) continue;
    let f: Float64Array;
    try {
      f = m.definition.forecast(m.params, series, origin, horizon, ctx);
    } catch (e) {
      dropped.push({ name: m.name, reason: `forecast failed: ${(e as Error).message}` });
      continue;
    }
    const bad = guardForecast(f, state.limits);
    if (bad) {
      if (m.excluded === undefined) dropped.push({ name: m.name, reason: `guard: ${bad}` });
      continue;
    }
    own[m.name] = f;
    if (recording) {
      let rec = state.recorded.get(m.name);
      if (!rec) {
        rec = new Float64Array(ctx.validationSteps * H).fill(Number.NaN);
        state.recorded.set(m.name, rec);
      }
      for (let h = 0; h < H; h++) rec[recordAt * H + h] = f[h]!;
    }
    if (o.allModels && m.calibration) models[m.name] = withPeak(f, m.calibration, ctx.nonNegative);
  }
  let point = new Float64Array(horizon);
  const used: Record<string, number> = {};
  let source = "ensemble";
  let cal = state.calibration;
  let confidence = state.confidence;
  let covered = true;
  for (let h = 0; h < horizon; h++) {
    const wh = state.weightsByHorizon[Math.min(h, state.weightsByHorizon.length - 1)] ?? state.weights;
    let wsum = 0;
    let v = 0;
    for (const [name, w] of Object.entries(wh)) {
      const f = own[name];
      if (!f) continue;
      wsum += w;
      v += w * f[h]!;
    }
    if (wsum > 0) point[h] = v / wsum;
    else covered = false;
  }
  // Intraday re-weighting: per horizon, the day's combination or the member with the lowest recent error.
  const daily = Float64Array.from(point);
  const choices: string[] = [];
  if (covered && intraday) {
    for (let h = 0; h < horizon; h++) {
      if (h < H) {
        const avail = [dailyCandidate, ...state.intradayCandidates.filter((n) => own[n] !== undefined && Number.isFinite(own[n]![h]!))];
        choices.push(choose(online, h + 1, avail));
        // Soft weights (intradayBlend > 0, default): the chosen candidate and the runner-up, weights ∝ 1/score².
        if (ctx.opts.intradayBlend > 0) {
          const c0 = choices[h]!;
          const s0 = scoreOf(online, c0, h + 1);
          let c1: string | undefined;
          let s1 = Infinity;
          for (const n of avail) {
            const sc = scoreOf(online, n, h + 1);
            if (n !== c0 && Number.isFinite(sc) && sc < s1) (c1 = n), (s1 = sc);
          }
          if (c1 && Number.isFinite(s0) && s0 > 0 && s1 > 0) {
            const f0 = c0 === dailyCandidate ? daily[h]! : own[c0]![h]!;
            const f1 = c1 === dailyCandidate ? daily[h]! : own[c1]![h]!;
            const w0 = 1 / s0 ** 2;
            const w1 = ctx.opts.intradayBlend / s1 ** 2;
            // The same forecast twice (the day's combination is one member alone): keep it exact.
            point[h] = f0 === f1 ? f0 : (w0 * f0 + w1 * f1) / (w0 + w1);
            continue;
          }
        }
      }
      const c = choices[Math.min(h, H - 1)]!;
      if (c !== dailyCandidate && own[c] && Number.isFinite(own[c]![h]!)) point[h] = own[c]![h]!;
    }
  }
  for (const [name, w] of Object.entries(state.weights)) if (own[name]) used[name] = w;
  const usedSum = Object.values(used).reduce((a, b) => a + b, 0);
  if (covered && usedSum > 0) {
    for (const k of Object.keys(used)) used[k] = used[k]! / usedSum;
    if (state.weightsByHorizon.every((w) => Object.keys(w).length === 1 && state.reference in w)) source = state.reference;
  } else {
    // Every weighted model of some horizon dropped at this origin: the reference baseline stands in.
    for (const k of Object.keys(used)) delete used[k];
    const ref = state.members.find((m) => m.name === state.reference)!;
    const f = own[ref.name];
    if (!f) throw new Error(`no forecast at origin ${origin}: ${dropped.map((d) => `${d.name}: ${d.reason}`).join("; ")}`);
    point = Float64Array.from(f);
    source = ref.name;
    cal = ref.calibration!;
    confidence = confidenceOf(ref.validation!, ctx.opts).confidence;
    used[ref.name] = 1;
  }
  if (recording) {
    let rec = state.recorded.get(ensembleName);
    if (!rec) {
      rec = new Float64Array(ctx.validationSteps * H).fill(Number.NaN);
      state.recorded.set(ensembleName, rec);
    }
    for (let h = 0; h < H; h++) rec[recordAt * H + h] = point[h]!;
  }
  // Adaptive conformal levels per horizon, on the ensemble's own interval (not on a fallback's).
  const ownInterval = cal === state.calibration;
  if (ownInterval && ctx.opts.adaptiveConformalGamma > 0 && cal.sorted) {
    const lo: number[] = [];
    const hi: number[] = [];
    for (let h = 1; h <= cal.sorted.length; h++) {
      const q = aciOffsets(online, h, cal.sorted[h - 1]!);
      lo.push(q.lo);
      hi.push(q.hi);
    }
    cal = { ...cal, lo, hi };
  }
  const iv = withPeak(point, cal, ctx.nonNegative);
  // Record what is issued: scored (ACI, intraday errors) once the targets are history.
  const cands = new Map<string, ArrayLike<number>>([[dailyCandidate, daily]]);
  for (const n of state.intradayCandidates) if (own[n]) cands.set(n, own[n]!);
  const none = new Float64Array(0);
  issue(online, origin, ownInterval ? iv.lower : none, ownInterval ? iv.upper : none, cands);
  const pc = state.peak.calibration;
  const peak = pc
    ? Array.from(point, (p, i) => {
        const at = series.startMs + (origin + i) * series.stepMs;
        return peakForecast(p, peakRatioAt(state.peak.ratio, ctx.calendar.local(at)), pc.q[Math.min(i, pc.q.length - 1)]!, state.peak.levelFloor);
      })
    : iv.peakUpper;
  return { ...iv, peak, ...(pc ? { peakLevel: pc.level } : {}), confidence, source, weights: used, ...(choices.length ? { intraday: choices } : {}), alpha: Array.from(online.alpha), dropped, staleSteps: trailingUnobserved(series, origin), ...(o.allModels ? { models } : {}) };
}

function withPeak(f: ArrayLike<number>, cal: Calibration, nonNegative: boolean): ForecastOutput & { peakUpper: number[] } {
  const point: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const peakUpper: number[] = [];
  for (let h = 1; h <= f.length; h++) {
    const iv = intervalAt(f[h - 1]!, cal, h, nonNegative);
    point.push(f[h - 1]!);
    lower.push(iv.lower);
    upper.push(iv.upper);
    peakUpper.push(iv.peakUpper);
  }
  return { point, lower, upper, peakUpper };
}

export function disposeEnsemble(state: EnsembleState): void {
  if (state.disposed) return;
  state.disposed = true;
  for (const m of state.members) if (m.params !== undefined) m.definition.dispose?.(m.params);
}

// ---------------------------------------------------------------------------------------------
// The common interface: fit(history, opts) → model; predict(model, horizonSteps).

export interface EnsembleModel {
  readonly state: EnsembleState;
  readonly options: ForecastOptions;
}

export const ensemble = {
  name: "ensemble",
  /** Fits on raw samples (resampled to the step, mean per bucket) or a series at the step. */
  fit(history: readonly Sample[] | RegularSeries, input: ForecastOptionsInput = {}, extras: Omit<EnsembleFitExtras, "previous"> = {}): EnsembleModel {
    const options = resolveForecastOptions(input);
    const series = toSeries(history, options);
    return { state: fitEnsembleAt(series, series.mean.length, options, extras), options };
  },
  predict(model: EnsembleModel, horizonSteps: number, o: ForecastAtOptions = {}): EnsembleForecast {
    return forecastEnsembleAt(model.state, model.state.end, horizonSteps, o);
  },
  dispose(model: EnsembleModel): void {
    disposeEnsemble(model.state);
  },
};

// ---------------------------------------------------------------------------------------------
// Combination by pool error, per horizon

/** Forecasts of `blocks` over origins [from, end) at horizons 1…H, laid out [(o − from) × H + h − 1]; NaN = none. */
function poolMatrix(blocks: readonly ForecastBlock[], from: number, end: number, H: number): Float64Array {
  const out = new Float64Array(Math.max(0, end - from) * H).fill(Number.NaN);
  for (const b of blocks) {
    for (let k = 0; k < b.steps; k++) {
      const o = b.start + k;
      if (o < from || o >= end) continue;
      for (let h = 0; h < H; h++) out[(o - from) * H + h] = b.forecasts[k * H + h]!;
    }
  }
  return out;
}

function inverseErrorWeights(names: readonly string[], mape: ReadonlyMap<string, number>, power: number): Record<string, number> {
  const raw = names.map((n) => 1 / Math.max(mape.get(n)!, 1e-6) ** power);
  const total = raw.reduce((a, b) => a + b, 0);
  return Object.fromEntries(names.map((n, i) => [n, raw[i]! / total]));
}

/**
 * Per horizon h: the candidate with the lowest MAPE at h over the calibration pool [from, end), on
 * the origins where every candidate member has a forecast and the target is observed and ≥ 10·ℓ
 * (MAPE_MIN_ACTUAL), with a recency weight (half-life halfLifeSteps, one day).
 * Candidates: each member alone (baselines included), and the 1/MAPE^power combinations of the
 * members that beat the reference, of the best 2 and of the best 3. Ties keep the simpler one.
 * When no origin is scorable at h, the reference alone.
 */
export function selectCombination(
  cands: readonly { name: string; blocks: readonly ForecastBlock[] }[],
  reference: string,
  series: RegularSeries,
  from: number,
  end: number,
  H: number,
  floor: number,
  power: number,
  halfLifeSteps: number,
): Record<string, number>[] {
  const hedgeNames = ["persistence", "last-value", "arima"];
  const mats = new Map(cands.map((c) => [c.name, poolMatrix(c.blocks, from, end, H)]));
  const out: Record<string, number>[] = [];
  for (let h = 1; h <= H; h++) {
    // Scorable origins: every candidate has a forecast, the target is observed and ≥ ℓ.
    const rows: number[] = [];
    for (let o = from; o + h - 1 < end; o++) {
      const target = o + h - 1;
      if (series.observed[target] === 0 || Math.abs(series.mean[target]!) < MAPE_MIN_ACTUAL * floor) continue;
      let ok = true;
      for (const m of mats.values()) if (!Number.isFinite(m[(o - from) * H + h - 1]!)) { ok = false; break; }
      if (ok) rows.push(o);
    }
    if (rows.length === 0 || !mats.has(reference)) {
      out.push({ [reference]: 1 });
      continue;
    }
    // Recency-weighted MAPE (half-life halfLifeSteps): after a level shift the models fitted
    // before it lose their weight within a day instead of a week.
    const decay = Math.LN2 / halfLifeSteps;
    const rw = rows.map((o) => Math.exp(-decay * (end - 1 - o)));
    const rwSum = rw.reduce((a, b) => a + b, 0);
    const score = (w: Record<string, number>) => {
      let s = 0;
      rows.forEach((o, i) => {
        let f = 0;
        for (const [n, x] of Object.entries(w)) f += x * mats.get(n)![(o - from) * H + h - 1]!;
        const a = series.mean[o + h - 1]!;
        s += (rw[i]! * Math.abs(a - f)) / Math.abs(a);
      });
      return s / rwSum;
    };
    const mape = new Map<string, number>();
    for (const c of cands) mape.set(c.name, score({ [c.name]: 1 }));
    const ranked = [...mape.keys()].sort((a, b) => mape.get(a)! - mape.get(b)!);
    const options: Record<string, number>[] = [{ [ranked[0]!]: 1 }];
    const beating = ranked.filter((n) => mape.get(n)! < mape.get(reference)!);
    for (const set of [ranked.slice(0, 2), ranked.slice(0, 3), beating]) if (set.length >= 2) options.push(inverseErrorWeights(set, mape, power));
    // Hedges: each of the best 3 half and half with the best of the persistence-type members.
    const steady = ranked.find((n) => hedgeNames.includes(n));
    if (steady) for (const n of ranked.slice(0, 3)) if (n !== steady) options.push({ [n]: 0.5, [steady]: 0.5 });
    let best = options[0]!;
    let bestScore = mape.get(ranked[0]!)!;
    for (const w of options.slice(1)) {
      const sc = score(w);
      if (sc < bestScore - 1e-12) {
        best = w;
        bestScore = sc;
      }
    }
    out.push(best);
  }
  return out;
}

/** Blocks of the combination with per-horizon weights, on the origins where every weighted member has a block. */
function combineBlocks(weightsByHorizon: readonly Record<string, number>[], blocksOf: (name: string) => readonly ForecastBlock[], H: number): ForecastBlock[] {
  const names = [...new Set(weightsByHorizon.flatMap((w) => Object.keys(w)))];
  const parts = names.map((n) => ({ n, blocks: blocksOf(n) }));
  const out: ForecastBlock[] = [];
  for (const b of parts[0]!.blocks) {
    const same = new Map(parts.map((p) => [p.n, p.blocks.find((x) => x.start === b.start && x.steps === b.steps)]));
    if ([...same.values()].some((x) => !x)) continue;
    const f = new Float64Array(b.forecasts.length);
    for (let k = 0; k < b.steps; k++) {
      for (let h = 0; h < H; h++) {
        let v = 0;
        for (const [n, w] of Object.entries(weightsByHorizon[h]!)) v += w * same.get(n)!.forecasts[k * H + h]!;
        f[k * H + h] = v;
      }
    }
    out.push({ start: b.start, steps: b.steps, forecasts: f });
  }
  return out;
}
