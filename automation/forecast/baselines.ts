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
