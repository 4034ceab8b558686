/**
 * A Prophet-style additive model (after Taylor & Letham, "Forecasting at scale", 2017):
 *
 *   y(t) = g(t) + s_daily(t) + [business day]·s_daily,bd(t) + s_weekly(t) + s_monthly(t)
 *          + β_bh·[business hours](t) + β_hol·[holiday](t) + ε(t)
 *
 * - g: piecewise-linear trend, k·τ + m + Σ_j δ_j·(τ − s_j)₊ with τ the time scaled to [0, 1] over
 *   the training window and changepoints s_j evenly spread over its first 80%;
 * - seasonalities: Fourier series of the local time (daily, weekly, monthly = 30.4375 days), plus
 *   conditional daily seasonalities (Prophet's condition_name): by default one daily shape per
 *   weekday, so Friday night and Monday morning can differ. Each term needs enough history
 *   (`seasonalities`): daily 2 days, weekly 2 weeks, per-weekday daily 3 weeks (else one for
 *   business days, from 1 week), monthly 2 months — a 30-day window cannot tell a monthly cycle
 *   from the trend;
 * - multiplicative by default (prophet.transform = "log": fitted on log(y/scale + 0.01), as
 *   Prophet's seasonality_mode = "multiplicative" approximately);
 * - regressors: business hours (08:00-18:00 in the configured IANA zone, on the configured days,
 *   holidays excluded) and holidays (dates from the configuration);
 * - fitted by ridge-regularised least squares (a Gaussian prior instead of Prophet's Laplace prior
 *   on the changepoints, and MAP by a direct solve instead of L-BFGS), on the observed buckets.
 * - like the linear model, the forecast adds an AR extrapolation of the latest residuals
 *   (prophet.arOrder, default 3): Prophet alone has no short-term memory, and the decisions are
 *   made 15-60 minutes ahead.
 */
import { arForecast, dot, fitAr, NormalEquations } from "./linalg";
import { DAY_MS, makeForecaster, type ModelContext, type ModelDefinition } from "./model";
import type { ProphetOptions } from "./options";
import type { RegularSeries } from "./types";

const MONTH_DAYS = 30.4375;

export interface ProphetParams {
  readonly t0: number;
  readonly span: number;
  readonly scale: number;
  /** "log": fitted on log(y/scale + 0.01) — multiplicative seasonality, as Prophet's seasonality_mode="multiplicative" approximately. */
  readonly log: boolean;
  readonly changepoints: Float64Array;
  readonly dailyOrder: number;
  /** Extra daily seasonalities: none, one for business days, or one per weekday (Tue…Sun; Monday is the base). */
  readonly conditional: "none" | "business-day" | "weekday";
  readonly weeklyOrder: number;
  readonly monthlyOrder: number;
  readonly holiday: boolean;
  readonly p: number;
  readonly beta: Float64Array;
  readonly phi: Float64Array;
  /** Deterministic part (trend + seasonalities + regressors) by bucket time, filled as forecasts ask: rolling origins reuse it. */
  readonly det: Map<number, number>;
}

type Layout = Omit<ProphetParams, "scale" | "beta" | "phi" | "p" | "log" | "det">;

const LOG_OFFSET = 0.01;
const enc = (y: number, scale: number, log: boolean) => (log ? Math.log(Math.max(0, y) / scale + LOG_OFFSET) : y / scale);
const dec = (z: number, scale: number, log: boolean) => (log ? (Math.exp(Math.min(z, 50)) - LOG_OFFSET) * scale : z * scale);

function width(l: Layout): number {
  const extraDaily = l.conditional === "business-day" ? 1 : l.conditional === "weekday" ? 6 : 0;
  return 2 + l.changepoints.length + 2 * l.dailyOrder * (1 + extraDaily) + 2 * l.weeklyOrder + 2 * l.monthlyOrder + 1 + (l.holiday ? 1 : 0);
}

function fourier(x: Float64Array, at: number, phase: number, order: number, gate = 1): number {
  // sin/cos of k·θ by the angle-addition recurrence (one sin and one cos per call).
  const theta = 2 * Math.PI * phase;
  const s1 = Math.sin(theta);
  const c1 = Math.cos(theta);
  let s = s1;
  let c = c1;
  for (let k = 1; k <= order; k++) {
    x[at++] = gate * s;
    x[at++] = gate * c;
    const sn = s * c1 + c * s1;
    c = c * c1 - s * s1;
    s = sn;
  }
  return at;
}

function features(t: number, l: Layout, ctx: ModelContext, x: Float64Array): Float64Array {
  const tau = (t - l.t0) / l.span;
  const lt = ctx.calendar.local(t);
  let at = 0;
  x[at++] = 1;
  x[at++] = tau;
  for (let j = 0; j < l.changepoints.length; j++) x[at++] = tau > l.changepoints[j]! ? tau - l.changepoints[j]! : 0;
  const dayPhase = lt.minuteOfDay / 1440;
  at = fourier(x, at, dayPhase, l.dailyOrder);
  if (l.conditional === "business-day") at = fourier(x, at, dayPhase, l.dailyOrder, ctx.calendar.isBusinessDay(t) ? 1 : 0);
  else if (l.conditional === "weekday") {
    for (let d = 1; d < 7; d++) {
      if (lt.dow === d) at = fourier(x, at, dayPhase, l.dailyOrder);
      else for (let k = 0; k < 2 * l.dailyOrder; k++) x[at++] = 0;
    }
  }
  at = fourier(x, at, (lt.dow + dayPhase) / 7, l.weeklyOrder);
  if (l.monthlyOrder > 0) at = fourier(x, at, ((lt.day + dayPhase) % MONTH_DAYS) / MONTH_DAYS, l.monthlyOrder);
  x[at++] = ctx.calendar.isBusinessHours(t) ? 1 : 0;
  if (l.holiday) x[at++] = ctx.calendar.isHoliday(t) ? 1 : 0;
  return x;
}

function meanAbs(series: RegularSeries, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) s += Math.abs(series.mean[i]!);
  return s / Math.max(1, end - start) || 1;
}

/**
 * Which seasonalities a window of `days` can support (as Prophet's automatic rules: daily with 2
 * days, weekly with 2 weeks; monthly with 2 months; a daily shape per weekday needs 3 weeks, one
 * for business days 1 week). Fewer terms than the options ask for when the history is short.
 */
export function seasonalities(days: number, o: ProphetOptions): Pick<Layout, "dailyOrder" | "conditional" | "weeklyOrder" | "monthlyOrder"> {
  const dailyOrder = days >= 2 ? o.dailyOrder : 0;
  let conditional = dailyOrder > 0 ? o.conditionalDaily : "none";
  if (conditional === "weekday" && days < 21) conditional = "business-day";
  if (conditional === "business-day" && days < 7) conditional = "none";
  return { dailyOrder, conditional, weeklyOrder: days >= 14 ? o.weeklyOrder : 0, monthlyOrder: days >= 2 * MONTH_DAYS ? o.monthlyOrder : 0 };
}

export const prophetDefinition: ModelDefinition<ProphetParams> = {
  name: "prophet",
  kind: "model",
  minTrainingSteps: (ctx) => ctx.stepsPerDay,
  fit(series, start, end, ctx) {
    const o = ctx.opts.prophet;
    const t0 = series.startMs + start * series.stepMs;
    const tEnd = series.startMs + end * series.stepMs;
    const span = tEnd - t0;
    const days = span / DAY_MS;
    const nCp = Math.min(o.maxChangepoints, Math.floor(days * o.changepointsPerDay));
    const changepoints = new Float64Array(nCp);
    for (let j = 0; j < nCp; j++) changepoints[j] = ((j + 1) / (nCp + 1)) * o.changepointRange;
    const layout: Layout = {
      t0,
      span,
      changepoints,
      ...seasonalities(days, o),
      holiday: ctx.calendar.hasHolidayBetween(t0, tEnd),
    };
    const p = width(layout);
    const scale = meanAbs(series, start, end);
    const log = o.transform === "log" && ctx.nonNegative;
    const ne = new NormalEquations(p);
    // The design matrix once (the residuals below reuse it).
    const X = new Float64Array((end - start) * p);
    for (let i = start; i < end; i++) {
      const x = X.subarray((i - start) * p, (i - start + 1) * p);
      features(series.startMs + i * series.stepMs, layout, ctx, x);
      if (series.observed[i] === 0) continue;
      ne.add(x, enc(series.mean[i]!, scale, log));
    }
    if (ne.rows < p) throw new Error(`prophet: ${ne.rows} observed buckets for ${p} coefficients`);
    const penalty = new Float64Array(p).fill(o.seasonalityPenalty * ne.rows);
    penalty[0] = 0;
    penalty[1] = 1e-9 * ne.rows;
    for (let j = 0; j < nCp; j++) penalty[2 + j] = o.changepointPenalty * ne.rows;
    const beta = ne.solve(penalty);
    const res = new Float64Array(end - start);
    const det = new Map<number, number>();
    for (let i = start; i < end; i++) {
      const d = dot(X.subarray((i - start) * p, (i - start + 1) * p), beta);
      det.set(series.startMs + i * series.stepMs, d);
      res[i - start] = enc(series.mean[i]!, scale, log) - d;
    }
    return { ...layout, p, scale, log, beta, phi: fitAr(res, o.arOrder), det };
  },
  forecast(params, series, origin, horizon, ctx) {
    const x = new Float64Array(params.p);
    const det = (t: number) => {
      let v = params.det.get(t);
      if (v === undefined) {
        v = dot(features(t, params, ctx, x), params.beta);
        params.det.set(t, v);
      }
      return v;
    };
    const q = params.phi.length;
    const recent = new Float64Array(q);
    for (let k = 0; k < q; k++) {
      const i = origin - q + k;
      recent[k] = i >= 0 ? enc(series.mean[i]!, params.scale, params.log) - det(series.startMs + i * series.stepMs) : 0;
    }
    const ar = arForecast(params.phi, recent, horizon);
    const out = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      const t = series.startMs + (origin + h) * series.stepMs;
      let v = dec(det(t) + ar[h]! , params.scale, params.log);
      if (ctx.nonNegative && v < 0) v = 0;
      out[h] = v;
    }
    return out;
  },
};

export const prophet = makeForecaster(prophetDefinition);
