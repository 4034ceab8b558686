/**
 * Baselines: what a forecast must beat.
 * - persistence: the last bucket's value, flat;
 * - naive: the same slot yesterday (lag 1 day);
 * - seasonal-naive: the same slot last week (lag 7 days).
 * For horizons longer than the lag, the lag is taken as many times as needed to land in the past.
 */
import { makeForecaster, type ModelContext, type ModelDefinition } from "./model";
import type { RegularSeries } from "./types";

function laggedForecast(series: RegularSeries, origin: number, horizon: number, lag: number): Float64Array {
  const out = new Float64Array(horizon);
  for (let h = 1; h <= horizon; h++) {
    const target = origin + h - 1;
    const back = lag * Math.ceil(h / lag);
    const src = target - back;
    out[h - 1] = src >= 0 ? series.mean[src]! : Number.NaN;
  }
  return out;
}

export const persistenceDefinition: ModelDefinition<null> = {
  name: "persistence",
  kind: "baseline",
  minTrainingSteps: () => 1,
  fit: () => null,
  forecast: (_p, series, origin, horizon) => laggedForecast(series, origin, horizon, 1),
};

export const naiveDefinition: ModelDefinition<null> = {
  name: "naive",
  kind: "baseline",
  minTrainingSteps: (ctx: ModelContext) => ctx.stepsPerDay,
  fit: () => null,
  forecast: (_p, series, origin, horizon, ctx) => laggedForecast(series, origin, horizon, ctx.stepsPerDay),
};

export const seasonalNaiveDefinition: ModelDefinition<null> = {
  name: "seasonal-naive",
  kind: "baseline",
  minTrainingSteps: (ctx: ModelContext) => 7 * ctx.stepsPerDay,
  fit: () => null,
  forecast: (_p, series, origin, horizon, ctx) => laggedForecast(series, origin, horizon, 7 * ctx.stepsPerDay),
};

export const persistence = makeForecaster(persistenceDefinition);
export const naive = makeForecaster(naiveDefinition);
export const seasonalNaive = makeForecaster(seasonalNaiveDefinition);

// ---------------------------------------------------------------------------------------------
// Short-horizon ensemble members (kind "model": weighted like the others, against seasonal-naive).

/**
 * Level-corrected seasonal forecast: y[t] + s[t+h] − s[t], with t = origin − 1 the last bucket and
 * s[x] the mean of the same slot over the last `periods` seasons (x − lag, x − 2·lag, …). It keeps
 * the seasonal shape of the coming hour and the current level: persistence that knows the slope.
 * NaN where a seasonal value would need data before the series (the guard then rejects it).
 */
export function levelSeasonalForecast(values: ArrayLike<number>, origin: number, horizon: number, lag: number, periods: number): Float64Array {
  if (!(Number.isInteger(lag) && lag >= 1)) throw new RangeError(`lag = ${lag}: must be an integer ≥ 1`);
  if (!(Number.isInteger(periods) && periods >= 1)) throw new RangeError(`periods = ${periods}: must be an integer ≥ 1`);
  const out = new Float64Array(horizon);
  const t = origin - 1;
  const seasonal = (x: number): number => {
    let s = 0;
    for (let j = 1; j <= periods; j++) {
      let src = x - j * lag;
      while (src >= origin) src -= lag; // long horizons: land in the past
      if (src < 0) return Number.NaN;
      s += values[src]!;
    }
    return s / periods;
  };
  if (t < 0) return out.fill(Number.NaN);
  const st = seasonal(t);
  for (let h = 1; h <= horizon; h++) out[h - 1] = values[t]! + seasonal(t + h) - st;
  return out;
}

/** A load cannot be negative: the level correction can overshoot below 0 after a drop. */
function clampAtZero(f: Float64Array, nonNegative: boolean): Float64Array {
  if (nonNegative) for (let i = 0; i < f.length; i++) if (f[i]! < 0) f[i] = 0;
  return f;
}

/** Persistence as an ensemble member (the baseline `persistence` stays a reference only). */
export const lastValueDefinition: ModelDefinition<null> = {
  name: "last-value",
  kind: "model",
  minTrainingSteps: () => 1,
  fit: () => null,
  forecast: (_p, series, origin, horizon) => laggedForecast(series, origin, horizon, 1),
};

/** y[t] + s[t+h] − s[t] with s = the mean of the same slot over the last 3 days. */
export const levelDailyDefinition: ModelDefinition<null> = {
  name: "level-daily",
  kind: "model",
  minTrainingSteps: (ctx: ModelContext) => 3 * ctx.stepsPerDay + 1,
  fit: () => null,
  forecast: (_p, series, origin, horizon, ctx) => clampAtZero(levelSeasonalForecast(series.mean, origin, horizon, ctx.stepsPerDay, 3), ctx.nonNegative),
};

/** y[t] + s[t+h] − s[t] with s = the mean of the same slot over the last 2 weeks. */
export const levelWeeklyDefinition: ModelDefinition<null> = {
  name: "level-weekly",
  kind: "model",
  minTrainingSteps: (ctx: ModelContext) => 14 * ctx.stepsPerDay + 1,
  fit: () => null,
  forecast: (_p, series, origin, horizon, ctx) => clampAtZero(levelSeasonalForecast(series.mean, origin, horizon, 7 * ctx.stepsPerDay, 2), ctx.nonNegative),
};
