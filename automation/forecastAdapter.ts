/**
 * Connects the forecasting engine of `automation/forecast/` (ARIMA/Prophet/linear ensemble, owned
 * separately) to the predictor's narrow `Forecaster` interface. Loaded lazily by the service: if
 * the engine cannot be loaded, the service logs why and uses the seasonal-naive stand-in.
 */
import type { ForecastRequest, ForecastResult, Forecaster } from "./predict";

/** The ensemble's own interface, as far as this adapter uses it. */
interface EnsembleLike {
  fit(history: readonly { t: number; v: number }[], input?: Record<string, unknown>): unknown;
  predict(model: unknown, horizonSteps: number): { point: number[]; lower: number[]; upper: number[]; peak?: number[]; confidence: number; source?: string; staleSteps?: number };
  dispose(model: unknown): void;
}

export class EnsembleForecaster implements Forecaster {
  readonly name = "ensemble";
  constructor(private readonly engine: EnsembleLike) {}

  async forecast(req: ForecastRequest): Promise<ForecastResult> {
    const model = this.engine.fit(req.history, {
      stepMinutes: req.stepMinutes,
      calendar: { timezone: req.calendar.timezone, businessHours: req.calendar.businessHours, holidays: req.calendar.holidays },
    });
    try {
      const f = this.engine.predict(model, req.horizonSteps);
      return {
        model: f.source ?? "ensemble",
        point: f.point,
        lower: f.lower,
        upper: f.upper,
        ...(f.peak ? { peak: f.peak } : {}),
        confidence: f.confidence,
        staleSteps: f.staleSteps,
      };
    } finally {
      this.engine.dispose(model);
    }
  }
}

/** The engine of `automation/forecast/`, or undefined (with the reason) when it cannot be loaded. */
export async function loadEnsembleForecaster(): Promise<{ forecaster?: Forecaster; error?: string }> {
  try {
    // require, not import(): a CommonJS build (and tsx's CJS hook) resolves the directory's index.
    const mod = require("./forecast") as { ensemble?: EnsembleLike };
    if (!mod.ensemble || typeof mod.ensemble.fit !== "function" || typeof mod.ensemble.predict !== "function") {
      return { error: "automation/forecast does not export `ensemble` with fit/predict" };
    }
    return { forecaster: new EnsembleForecaster(mod.ensemble) };
  } catch (e) {
    return { error: `automation/forecast could not be loaded: ${(e as Error).message}` };
  }
}
