/**
 * Options of the forecasters and the ensemble, with their defaults (the design's: 15-minute steps,
 * 30-day window, 1-day validation, 80% intervals, 80% confidence threshold) and validation that
 * reports every problem at once.
 */
import { checkCalendarOptions, defaultCalendarOptions, type CalendarOptions } from "./calendar";
import { ForecastOptionsError } from "./types";

export interface LinearOptions {
  /** Order of the AR model on the regression residuals (0 = none). */
  readonly arOrder: number;
}

export interface ProphetOptions {
  /** Fourier order of the daily seasonality. */
  readonly dailyOrder: number;
  /** Fourier order of the weekly seasonality. */
  readonly weeklyOrder: number;
  /** Fourier order of the monthly seasonality (period 30.4375 days); used only with ≥ 2 months of history. */
  readonly monthlyOrder: number;
  /**
   * Conditional daily seasonalities (Prophet's condition_name): "business-day" adds one daily shape
   * for business days; "weekday" one per weekday (7 daily shapes); "none" a single daily shape.
   */
  readonly conditionalDaily: "none" | "business-day" | "weekday";
  /** Potential trend changepoints per day of history (at most maxChangepoints). */
  readonly changepointsPerDay: number;
  readonly maxChangepoints: number;
  /** Changepoints are placed in this leading share of the history (Prophet: 0.8). */
  readonly changepointRange: number;
  /** Ridge penalty on changepoint slopes, per row (× number of rows). */
  readonly changepointPenalty: number;
  /** Ridge penalty on seasonal and regressor coefficients, per row (× number of rows). */
  readonly seasonalityPenalty: number;
  /** Order of the AR model on the residuals (0 = none). */
  readonly arOrder: number;
  /** "log" fits log(y) (multiplicative seasonality; non-negative series only), "none" fits y (additive). */
  readonly transform: "none" | "log";
}

export interface SarimaOptions {
  readonly enabled: boolean;
  /** ARIMA orders fitted (by the `arima` package) on the seasonally differenced series. */
  readonly p: number;
  readonly d: number;
  readonly q: number;
  /** Days of (differenced) history the ARIMA is fitted on: keeps the fit cheap. */
  readonly windowDays: number;
  /** `arima` estimation method: 0 exact ML, 1 conditional sum of squares, 2 Box-Jenkins. */
  readonly method: 0 | 1 | 2;
}

export interface ArimaOptions {
  readonly enabled: boolean;
  /** ARIMA orders of the non-seasonal member. */
  readonly p: number;
  readonly d: number;
  readonly q: number;
  /** Days of history it is fitted on. */
  readonly windowDays: number;
  readonly method: 0 | 1 | 2;
}

export interface ForecastOptions {
  /** Grid step, minutes (design: 15). */
  readonly stepMinutes: number;
  /** Steps ahead that are validated, calibrated and scored (4 × 15 min = 1 hour). */
  readonly horizonSteps: number;
  /** Days of history a model is fitted on (design: 30). */
  readonly trainingDays: number;
  /** The validation window: the last days whose out-of-sample errors weight the ensemble (MAPE). */
  readonly validationDays: number;
  /**
   * Days of out-of-sample (rolling-origin) residuals the intervals are calibrated on: the latest
   * days' forecasts when fits chain daily, else forecasts over a held-out window of this length.
   */
  readonly calibrationDays: number;
  /** Fewest days of history (validation included) before any forecast is made. */
  readonly minHistoryDays: number;
  /** Central interval coverage (0.8: the 10th-90th percentile interval). */
  readonly intervalCoverage: number;
  /**
   * Ensemble weights ∝ 1 / MAPE^weightPower among the models that beat the reference. 2 (default)
   * is Bates & Granger's inverse-MSE combination with MAPE standing in for the RMSE.
   */
  readonly weightPower: number;
  /**
   * Let the baselines (persistence, naive) take weight too when they beat the reference. Off by
   * default: the design's rule is that only the models are weighted against seasonal-naive.
   */
  readonly baselineMembers: boolean;
  /**
   * Which out-of-sample error weights the ensemble: "validation" = MAPE over the last day (the
   * validation window), "pool" = MAPE over the whole calibration pool (up to calibrationDays).
   */
  readonly weightWindow: "validation" | "pool";
  /**
   * How the members are combined, per horizon h = 1…H:
   * - "select" (default): candidates are every usable member and baseline alone, and the
   *   1/MAPE^weightPower combinations of the members that beat the reference, of the best 2 and of
   *   the best 3; the one with the lowest MAPE at h over the calibration pool (rolling origins, out
   *   of sample) is used at h. So the ensemble is never chosen worse, on the pool, than its best
   *   member (persistence included);
   * - "inverse-error": the design's first rule: 1/MAPE^weightPower over the models that beat the
   *   reference on weightWindow, the same weights at every horizon.
   */
  readonly combination: "select" | "inverse-error";
  /**
   * Conformal level correction of the intervals (model.ts calibrateBlocks): use the quantile level
   * whose leave-one-day-out coverage on the pool is intervalCoverage. Off by default: in the bench
   * it over-covered as often as it fixed under-coverage (docs/forecasting.md §6).
   */
  readonly conformalCorrection: boolean;
  /**
   * Adaptive conformal inference step γ (online.ts; Gibbs & Candès 2021): per horizon, the interval's
   * miscoverage level moves by γ·(α − miss) each time an issued interval meets its actual. 0 = off
   * (the fixed level). Chosen on held-out traces (docs/forecasting.md §6).
   */
  readonly adaptiveConformalGamma: number;
  /**
   * Intraday re-weighting (online.ts): half-life, hours, of the exponentially weighted MAPE per horizon
   * of every member and of the day's combination, from the forecasts whose targets have arrived; the
   * lowest is used (with hysteresis `intradaySwitchMargin`). 0 = off (the daily selection all day).
   */
  readonly intradayHalfLifeHours: number;
  /** A candidate replaces the current intraday choice only when its score is below (1 − margin) × the current's. */
  readonly intradaySwitchMargin: number;
  /**
   * > 0 blends the intraday choice with the runner-up candidate, weights ∝ 1/score² (the runner-up's
   * × this factor); 0 = the choice alone. Default 1, chosen on the tuning half (docs/forecasting.md §6).
   */
  readonly intradayBlend: number;
  /** Fewest validation residuals per horizon to calibrate an interval. */
  readonly minResiduals: number;
  /** A decision needs at least this confidence (design: 80%). */
  readonly confidenceThreshold: number;
  /** k in confidence = min(1 − MAPE, 1 − k·|coverage − nominal|). */
  readonly coveragePenalty: number;
  /** The guard rejects forecasts above this multiple of the history's maximum. */
  readonly guardMaxFactor: number;
  /**
   * The peak quantile of the floor comes from an asymmetric loss: a missing replica costs
   * `peakCostUnder`, a spare one `peakCostOver` (per replica and bucket); the peak forecast is the
   * quantile τ = under / (under + over) of the coming buckets' peak (peak.ts). Default 9 : 1, τ = 0.9.
   */
  readonly peakCostUnder: number;
  readonly peakCostOver: number;
  /** Whether the series cannot be negative ("auto": true when the history has no negative value). */
  readonly nonNegative: boolean | "auto";
  /** A decision falls back (missing data) when the latest this-many minutes have no sample. */
  readonly maxStaleMinutes: number;
  readonly calendar: CalendarOptions;
  readonly linear: LinearOptions;
  readonly prophet: ProphetOptions;
  readonly arima: ArimaOptions;
  readonly sarima: SarimaOptions;
}

export type ForecastOptionsInput = Partial<Omit<ForecastOptions, "calendar" | "linear" | "prophet" | "arima" | "sarima">> & {
  readonly arima?: Partial<ArimaOptions>;
  readonly calendar?: Partial<CalendarOptions>;
  readonly linear?: Partial<LinearOptions>;
  readonly prophet?: Partial<ProphetOptions>;
  readonly sarima?: Partial<SarimaOptions>;
};

export const defaultForecastOptions: ForecastOptions = {
  stepMinutes: 15,
  horizonSteps: 4,
  trainingDays: 30,
  validationDays: 1,
  calibrationDays: 7,
  minHistoryDays: 3,
  intervalCoverage: 0.8,
  weightPower: 2,
  baselineMembers: false,
  weightWindow: "validation",
  combination: "select",
  conformalCorrection: false,
  adaptiveConformalGamma: 0.05,
  intradayHalfLifeHours: 6,
  intradaySwitchMargin: 0.05,
  intradayBlend: 1,
  minResiduals: 12,
  confidenceThreshold: 0.8,
  coveragePenalty: 2,
  guardMaxFactor: 10,
  peakCostUnder: 9,
  peakCostOver: 1,
  nonNegative: "auto",
  maxStaleMinutes: 60,
  calendar: defaultCalendarOptions,
  linear: { arOrder: 3 },
  prophet: {
    dailyOrder: 8,
    weeklyOrder: 4,
    monthlyOrder: 3,
    conditionalDaily: "weekday",
    changepointsPerDay: 1,
    maxChangepoints: 25,
    changepointRange: 0.8,
    changepointPenalty: 0.05,
    seasonalityPenalty: 0.001,
    arOrder: 3,
    transform: "log",
  },
  arima: { enabled: true, p: 3, d: 1, q: 0, windowDays: 3, method: 1 },
  sarima: { enabled: true, p: 3, d: 0, q: 0, windowDays: 3, method: 1 },
};

/** Checks a decision-confidence threshold: a finite number from 0 to 1. */
export function validateConfidenceThreshold(x: unknown, field = "confidenceThreshold"): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new ForecastOptionsError([`${field} = ${JSON.stringify(x)}: must be a number from 0 to 1`]);
  }
  return x;
}

export function resolveForecastOptions(input: ForecastOptionsInput = {}): ForecastOptions {
  const d = defaultForecastOptions;
  const o: ForecastOptions = {
    ...d,
    ...stripUndefined(input),
    calendar: { ...d.calendar, ...stripUndefined(input.calendar ?? {}), businessHours: { ...d.calendar.businessHours, ...(input.calendar?.businessHours ?? {}) } },
    linear: { ...d.linear, ...stripUndefined(input.linear ?? {}) },
    prophet: { ...d.prophet, ...stripUndefined(input.prophet ?? {}) },
    arima: { ...d.arima, ...stripUndefined(input.arima ?? {}) },
    sarima: { ...d.sarima, ...stripUndefined(input.sarima ?? {}) },
  };
  const problems: string[] = [];
  const num = (field: string, v: unknown, min: number, max: number, integer = false) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      problems.push(`${field} = ${JSON.stringify(v)}: must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    }
  };
  num("stepMinutes", o.stepMinutes, 1, 1440);
  if (typeof o.stepMinutes === "number" && 1440 % o.stepMinutes !== 0) problems.push(`stepMinutes = ${o.stepMinutes}: must divide a day (1440 minutes)`);
  num("horizonSteps", o.horizonSteps, 1, 96, true);
  num("trainingDays", o.trainingDays, 1, 365);
  num("validationDays", o.validationDays, 0.25, 14);
  num("calibrationDays", o.calibrationDays, 0.25, 60);
  num("minHistoryDays", o.minHistoryDays, 1, 365);
  if (o.minHistoryDays <= o.validationDays) problems.push(`minHistoryDays = ${o.minHistoryDays}: must exceed validationDays (${o.validationDays})`);
  num("intervalCoverage", o.intervalCoverage, 0.05, 0.99);
  num("minResiduals", o.minResiduals, 4, 10_000, true);
  num("weightPower", o.weightPower, 0, 10);
  if (o.weightWindow !== "validation" && o.weightWindow !== "pool") problems.push(`weightWindow = ${JSON.stringify(o.weightWindow)}: must be validation or pool`);
  if (o.combination !== "select" && o.combination !== "inverse-error") problems.push(`combination = ${JSON.stringify(o.combination)}: must be select or inverse-error`);
  if (typeof o.conformalCorrection !== "boolean") problems.push(`conformalCorrection = ${JSON.stringify(o.conformalCorrection)}: must be true or false`);
  num("adaptiveConformalGamma", o.adaptiveConformalGamma, 0, 0.5);
  num("intradayHalfLifeHours", o.intradayHalfLifeHours, 0, 168);
  num("intradaySwitchMargin", o.intradaySwitchMargin, 0, 0.9);
  num("intradayBlend", o.intradayBlend, 0, 1);
  if (typeof o.baselineMembers !== "boolean") problems.push(`baselineMembers = ${JSON.stringify(o.baselineMembers)}: must be true or false`);
  num("coveragePenalty", o.coveragePenalty, 0, 100);
  num("guardMaxFactor", o.guardMaxFactor, 1, 1e6);
  num("peakCostUnder", o.peakCostUnder, 1e-6, 1e6);
  num("peakCostOver", o.peakCostOver, 1e-6, 1e6);
  num("maxStaleMinutes", o.maxStaleMinutes, 0, 10_080);
  if (o.nonNegative !== true && o.nonNegative !== false && o.nonNegative !== "auto") problems.push(`nonNegative = ${JSON.stringify(o.nonNegative)}: must be true, false or "auto"`);
  if (typeof o.confidenceThreshold !== "number" || !Number.isFinite(o.confidenceThreshold) || o.confidenceThreshold < 0 || o.confidenceThreshold > 1) {
    problems.push(`confidenceThreshold = ${JSON.stringify(o.confidenceThreshold)}: must be a number from 0 to 1`);
  }
  problems.push(...checkCalendarOptions(o.calendar));
  num("linear.arOrder", o.linear.arOrder, 0, 12, true);
  num("prophet.dailyOrder", o.prophet.dailyOrder, 0, 30, true);
  num("prophet.weeklyOrder", o.prophet.weeklyOrder, 0, 30, true);
  num("prophet.monthlyOrder", o.prophet.monthlyOrder, 0, 30, true);
  num("prophet.changepointsPerDay", o.prophet.changepointsPerDay, 0, 24);
  num("prophet.maxChangepoints", o.prophet.maxChangepoints, 0, 200, true);
  num("prophet.changepointRange", o.prophet.changepointRange, 0.1, 1);
  num("prophet.changepointPenalty", o.prophet.changepointPenalty, 0, 1e6);
  num("prophet.seasonalityPenalty", o.prophet.seasonalityPenalty, 0, 1e6);
  num("prophet.arOrder", o.prophet.arOrder, 0, 12, true);
  if (!["none", "log"].includes(o.prophet.transform)) problems.push(`prophet.transform = ${JSON.stringify(o.prophet.transform)}: must be none or log`);
  if (!["none", "business-day", "weekday"].includes(o.prophet.conditionalDaily)) problems.push(`prophet.conditionalDaily = ${JSON.stringify(o.prophet.conditionalDaily)}: must be none, business-day or weekday`);
  num("arima.p", o.arima.p, 0, 5, true);
  num("arima.d", o.arima.d, 0, 2, true);
  num("arima.q", o.arima.q, 0, 5, true);
  num("arima.windowDays", o.arima.windowDays, 0.5, 60);
  if (![0, 1, 2].includes(o.arima.method)) problems.push(`arima.method = ${JSON.stringify(o.arima.method)}: must be 0, 1 or 2`);
  num("sarima.p", o.sarima.p, 0, 5, true);
  num("sarima.d", o.sarima.d, 0, 2, true);
  num("sarima.q", o.sarima.q, 0, 5, true);
  num("sarima.windowDays", o.sarima.windowDays, 1, 60);
  if (![0, 1, 2].includes(o.sarima.method)) problems.push(`sarima.method = ${JSON.stringify(o.sarima.method)}: must be 0, 1 or 2`);
  if (problems.length) throw new ForecastOptionsError(problems);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
