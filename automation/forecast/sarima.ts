/**
 * SARIMA(p,d,q)(0,1,0)_s with s = one day at the step (96 buckets at 15 minutes), fitted with the
 * `arima` package (ctsa compiled to WebAssembly):
 *
 *   z(t) = y(t) − y(t − s)                    seasonal difference, done here
 *   z ~ ARIMA(p, d, q)                        fitted by `arima` (CSS by default) on the last
 *                                             sarima.windowDays days of z (default 3: cheap)
 *   ŷ(t+h) = ẑ(t+h) + y(t+h−s)                undone (with ŷ where t+h−s is in the future)
 *
 * Why not the package's own seasonal terms (P, D, Q, s = 96)? Measured on nyc_taxi at 15 minutes:
 * 15-95 s per fit, and the forecasts were NaN or exploded (1e199) for several orders and windows.
 * The non-seasonal fit on the differenced series takes ~20-50 ms and its prediction ~0.05 ms.
 *
 * Rolling origins reuse the fitted parameters: the package's predict() reads the series stored in
 * the instance, so we store the latest window of z there (same length as the fit) and predict.
 * This relies on arima@0.2.8's internals (the `ts` field), which the repository pins.
 *
 * Nothing here trusts the output: the ensemble's guard drops the model for the run when a forecast
 * is non-finite, above 10× the history max or negative for a non-negative series.
 */
import ARIMA from "arima";
import { makeForecaster, type ModelDefinition } from "./model";

interface ArimaInstance {
  train(ts: number[]): ArimaInstance;
  predict(length: number): [number[], number[]];
  destroy(): void;
  ts: Uint8Array;
}

export interface SarimaParams {
  readonly instance: ArimaInstance;
  /** Length of the differenced window (fit and every prediction). */
  readonly n: number;
  /** Seasonal period, buckets (0: non-seasonal). */
  readonly s: number;
  readonly order: readonly [number, number, number];
  disposed: boolean;
}

function differenced(y: Float64Array, from: number, to: number, s: number): Float64Array {
  const z = new Float64Array(to - from);
  for (let i = from; i < to; i++) z[i - from] = y[i]! - y[i - s]!;
  return z;
}

function newArima(o: { p: number; d: number; q: number; method: number }): ArimaInstance {
  return new (ARIMA as unknown as new (o: object) => ArimaInstance)({ p: o.p, d: o.d, q: o.q, method: o.method, optimizer: 6, verbose: false });
}

export const sarimaDefinition: ModelDefinition<SarimaParams> = {
  name: "sarima",
  kind: "model",
  // One day to difference, and at least one day of differences.
  minTrainingSteps: (ctx) => 2 * ctx.stepsPerDay,
  fit(series, start, end, ctx) {
    const o = ctx.opts.sarima;
    if (!o.enabled) throw new Error("disabled by configuration (sarima.enabled = false)");
    const s = ctx.stepsPerDay;
    const n = Math.min(Math.round(o.windowDays * s), end - start - s);
    if (n < s) throw new Error(`needs ${2 * s} buckets (2 days) of history, has ${end - start}`);
    const z = differenced(series.mean, end - n, end, s);
    const instance = newArima(o);
    try {
      instance.train(Array.from(z));
    } catch (e) {
      instance.destroy();
      throw e;
    }
    return { instance, n, s, order: [o.p, o.d, o.q], disposed: false };
  },
  forecast(params, series, origin, horizon) {
    if (params.disposed) throw new Error("sarima: model already disposed");
    const { n, s } = params;
    if (origin - n - s < 0) throw new Error(`sarima: origin ${origin} needs ${n + s} buckets before it`);
    const z = differenced(series.mean, origin - n, origin, s);
    params.instance.ts = new Uint8Array(z.buffer);
    const [zhat] = params.instance.predict(horizon);
    const out = new Float64Array(horizon);
    for (let h = 1; h <= horizon; h++) {
      const back = origin + h - 1 - s;
      const base = back < origin ? series.mean[back]! : out[back - origin]!;
      out[h - 1] = zhat[h - 1]! + base;
    }
    return out;
  },
  dispose(params) {
    if (!params.disposed) {
      params.instance.destroy();
      params.disposed = true;
    }
  },
};

/**
 * Non-seasonal ARIMA(p, d, q) (default (3,1,0)) on the last arima.windowDays of the series, with
 * the same package, conditioning and guard: the short-term member (it follows level shifts the
 * seasonal models cannot, where persistence is hard to beat).
 */
export const arimaDefinition: ModelDefinition<SarimaParams> = {
  name: "arima",
  kind: "model",
  minTrainingSteps: (ctx) => ctx.stepsPerDay,
  fit(series, start, end, ctx) {
    const o = ctx.opts.arima;
    if (!o.enabled) throw new Error("disabled by configuration (arima.enabled = false)");
    const n = Math.min(Math.round(o.windowDays * ctx.stepsPerDay), end - start);
    if (n < ctx.stepsPerDay / 2) throw new Error(`needs ${ctx.stepsPerDay / 2} buckets of history, has ${end - start}`);
    const instance = newArima(o);
    try {
      instance.train(Array.from(series.mean.subarray(end - n, end)));
    } catch (e) {
      instance.destroy();
      throw e;
    }
    return { instance, n, s: 0, order: [o.p, o.d, o.q], disposed: false };
  },
  forecast(params, series, origin, horizon) {
    if (params.disposed) throw new Error("arima: model already disposed");
    if (origin - params.n < 0) throw new Error(`arima: origin ${origin} needs ${params.n} buckets before it`);
    params.instance.ts = new Uint8Array(Float64Array.from(series.mean.subarray(origin - params.n, origin)).buffer);
    const [yhat] = params.instance.predict(horizon);
    return Float64Array.from({ length: horizon }, (_, h) => yhat[h] ?? Number.NaN);
  },
  dispose: sarimaDefinition.dispose!,
};

export const sarima = makeForecaster(sarimaDefinition);
export const arima = makeForecaster(arimaDefinition);
