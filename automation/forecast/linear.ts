/**
 * Linear regression on calendar features, with AR errors.
 *
 *   y(t) = a + b·days(t) + Σ_h c_h·[local hour = h] + Σ_d e_d·[local weekday = d] + ε(t)
 *   ε(t) = φ₁ε(t−1) + … + φ_pε(t−p) + noise          (p = linear.arOrder, default 3)
 *
 * Hour 0 and Monday are the reference levels (no column); the weekday terms are used only with at
 * least 14 days of history (before that, weekday levels and the trend cannot be told apart and the
 * trend extrapolates wildly). Fitted by least squares on the observed
 * buckets of the training window (buckets filled over gaps are left out); the AR part by least
 * squares on the residuals. A forecast adds the AR extrapolation of the latest residuals to the
 * regression, so it follows the current level. Non-negative series are clamped at 0.
 */
import { arForecast, dot, fitAr, NormalEquations } from "./linalg";
import { DAY_MS, makeForecaster, type ModelContext, type ModelDefinition } from "./model";
import type { RegularSeries } from "./types";

export interface LinearParams {
  /** Weekday dummies are used only with at least 14 days of history (2 of each weekday). */
  readonly weekdays: boolean;
  readonly beta: Float64Array;
  readonly t0: number;
  readonly scale: number;
  readonly phi: Float64Array;
}

const P = 2 + 23 + 6;

function features(t: number, t0: number, weekdays: boolean, ctx: ModelContext, x: Float64Array): Float64Array {
  x.fill(0);
  const l = ctx.calendar.local(t);
  x[0] = 1;
  x[1] = (t - t0) / DAY_MS;
  const hour = Math.floor(l.minuteOfDay / 60);
  if (hour > 0) x[1 + hour] = 1;
  if (weekdays && l.dow > 0) x[24 + l.dow] = 1;
  return x;
}

function meanAbs(series: RegularSeries, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) s += Math.abs(series.mean[i]!);
  return s / Math.max(1, end - start) || 1;
}

export const linearDefinition: ModelDefinition<LinearParams> = {
  name: "linear",
  kind: "model",
  minTrainingSteps: (ctx) => ctx.stepsPerDay,
  fit(series, start, end, ctx) {
    const t0 = series.startMs + start * series.stepMs;
    // With fewer than two of each weekday, weekday levels and the trend cannot be told apart.
    const weekdays = (end - start) * series.stepMs >= 14 * DAY_MS;
    const scale = meanAbs(series, start, end);
    const ne = new NormalEquations(P);
    const x = new Float64Array(P);
    for (let i = start; i < end; i++) {
      if (series.observed[i] === 0) continue;
      ne.add(features(series.startMs + i * series.stepMs, t0, weekdays, ctx, x), series.mean[i]! / scale);
    }
    if (ne.rows < P) throw new Error(`linear: ${ne.rows} observed buckets for ${P} coefficients`);
    const penalty = new Float64Array(P).fill(1e-6 * ne.rows);
    penalty[0] = 0;
    if (!weekdays) for (let d = 25; d < P; d++) penalty[d] = 1; // unused columns (all zero)
    const beta = ne.solve(penalty);
    const res = new Float64Array(end - start);
    for (let i = start; i < end; i++) res[i - start] = series.mean[i]! / scale - dot(features(series.startMs + i * series.stepMs, t0, weekdays, ctx, x), beta);
    return { weekdays, beta, t0, scale, phi: fitAr(res, ctx.opts.linear.arOrder) };
  },
  forecast(params, series, origin, horizon, ctx) {
    const x = new Float64Array(P);
    const p = params.phi.length;
    const recent = new Float64Array(p);
    for (let k = 0; k < p; k++) {
      const i = origin - p + k;
      recent[k] = i >= 0 ? series.mean[i]! / params.scale - dot(features(series.startMs + i * series.stepMs, params.t0, params.weekdays, ctx, x), params.beta) : 0;
    }
    const ar = arForecast(params.phi, recent, horizon);
    const out = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      const t = series.startMs + (origin + h) * series.stepMs;
      let v = (dot(features(t, params.t0, params.weekdays, ctx, x), params.beta) + ar[h]!) * params.scale;
      if (ctx.nonNegative && v < 0) v = 0;
      out[h] = v;
    }
    return out;
  },
};

export const linearRegression = makeForecaster(linearDefinition);
