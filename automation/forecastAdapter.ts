/**
 * Connects the forecasting engine of `automation/forecast/` to the predictor's `Forecaster`
 * interface, the way the backtest runs it (automation/backtest/predictive.ts drives the same
 * `LiveForecaster`): one engine per load series, fed only the samples it has not seen, stepped once
 * per trigger after the collection, fitted once a day (and on start) with yesterday's fit given.
 *
 * State: after every step the engine's live part (adaptive levels, intraday errors, forecasts as
 * issued, accuracy window) and, after a fit, the fit are written to the store (`forecast_state`).
 * A restarted process, or the standby that takes over, resumes from there (the member parameters are
 * refitted on the stored fit's window: deterministic). A process whose in-memory engine is behind
 * the stored one (it lost the lead for a while) reloads it.
 *
 * Loaded lazily by the service: if the engine cannot be loaded, the service logs why and uses the
 * seasonal-naive stand-in of predict.ts.
 */
import type { ForecastOptions } from "./forecast/options";
import type { LiveForecaster as LiveForecasterType, LiveSettings, LiveSnapshot } from "./forecast/live";
import type { Logger } from "./logger";
import type { ForecastRequest, ForecastResult, Forecaster } from "./predict";
import type { Store } from "./store";

export interface ChainedForecasterOptions {
  readonly store: Store;
  readonly options: ForecastOptions;
  readonly live: LiveSettings;
  /** History loaded for a series without stored state, days. */
  readonly historyDays: number;
  readonly logger?: Logger;
}

type LiveModule = typeof import("./forecast/live");

export class ChainedEnsembleForecaster implements Forecaster {
  readonly name = "ensemble";
  private readonly engines = new Map<string, LiveForecasterType>();
  /** Series whose stored state must be loaded at the next forecast (set by historyFrom). */
  private readonly toLoad = new Map<string, Awaited<ReturnType<Store["forecastState"]>>>();
  /** CPU ms of the last fits and updates, per series (the bench and /metrics-free diagnostics). */
  readonly lastCpuMs = new Map<string, { fit: number; update: number }>();

  constructor(private readonly live: LiveModule, private readonly o: ChainedForecasterOptions) {}

  private key(service: string, signal: string): string {
    return `${service}\u0000${signal}`;
  }

  /** Where the predictor should read samples from: just after what the engine has, or the stored state's series start. */
  async historyFrom(service: string, signal: string, now: Date): Promise<Date> {
    const key = this.key(service, signal);
    const mem = this.engines.get(key);
    const stored = await this.o.store.forecastStateVersion(service, signal);
    const memCommitted = mem?.live?.length ?? -1;
    if (mem && (!stored || stored.committed <= memCommitted)) {
      const last = mem.lastSampleAtMs;
      return new Date(Number.isFinite(last) ? last + 1 : now.getTime() - this.o.historyDays * 86_400_000);
    }
    if (mem) {
      mem.dispose();
      this.engines.delete(key);
    }
    const row = stored ? await this.o.store.forecastState(service, signal) : undefined;
    this.toLoad.set(key, row);
    if (row?.seriesStart) return row.seriesStart;
    return new Date(now.getTime() - this.o.historyDays * 86_400_000);
  }

  async forecast(req: ForecastRequest): Promise<ForecastResult> {
    const { store } = this.o;
    const key = this.key(req.service, req.signal);
    const history = req.history.map((h) => ({ t: h.t, v: h.v }));
    let lf = this.engines.get(key);
    let restoredFit = false;
    if (!lf) {
      const row = this.toLoad.get(key);
      this.toLoad.delete(key);
      if (row) {
        const snap: LiveSnapshot = { version: 1, seriesStartMs: row.seriesStart?.getTime() ?? Number.NaN, stepMs: this.o.options.stepMinutes * 60_000, committed: row.committed, fitDay: row.fitDay, fit: row.fit, live: row.live };
        try {
          lf = this.live.LiveForecaster.restore(this.o.options, this.o.live, snap, history);
          restoredFit = row.fit !== null;
          this.o.logger?.info({ service: req.service, signal: req.signal, committed: row.committed, fitDay: row.fitDay }, "forecast state resumed from the store");
        } catch (e) {
          this.o.logger?.warn({ service: req.service, signal: req.signal, err: (e as Error).message }, "stored forecast state unusable: starting afresh (a cold fit)");
        }
      }
      if (!lf) {
        lf = new this.live.LiveForecaster(this.o.options, this.o.live);
        lf.ingest(history);
      }
      this.engines.set(key, lf);
    } else {
      lf.ingest(history);
    }
    const before = lf.live?.length ?? 0;
    const st = lf.step(req.now.getTime());
    this.lastCpuMs.set(key, { fit: st.fitCpuMs, update: st.updateCpuMs });
    // The buckets completed in this step: the stored forecasts that targeted them are scored.
    const s = lf.live;
    if (s) {
      for (let b = before; b < s.length; b++) {
        if (s.observed[b] !== 1) continue;
        await store.scoreForecasts(req.service, req.signal, new Date(s.startMs + b * s.stepMs), s.mean[b]!, s.max[b]!, req.now);
      }
    }
    const snap = lf.snapshot();
    const a = st.accuracy;
    await store.saveForecastState({
      service: req.service,
      signal: req.signal,
      seriesStart: Number.isFinite(snap.seriesStartMs) ? new Date(snap.seriesStartMs) : null,
      committed: snap.committed,
      fitDay: snap.fitDay,
      ...(st.fitted ? { fit: snap.fit, fittedAt: req.now } : restoredFit ? {} : snap.fit === null ? { fit: null, fittedAt: null } : {}),
      live: snap.live,
      updatedAt: req.now,
      mape: a.mape,
      coverage80: a.coverage80,
      peakError: a.peakError,
      peakCoverage: a.peakCoverage,
      scored: a.n,
      confidence: st.confidence ?? null,
      fallbackReason: st.fallback?.reason ?? null,
      fallbackDetail: st.fallback?.detail ?? null,
    });
    const f = st.forecast;
    return {
      model: f?.source ?? "ensemble",
      point: f?.point ?? [],
      lower: f?.lower ?? [],
      upper: f?.upper ?? [],
      ...(f ? { peak: f.peak } : {}),
      confidence: st.confidence ?? 0,
      ...(st.fallback ? { fallback: st.fallback } : {}),
      accuracy: a,
      ...(Number.isFinite(a.mape) ? { mape: a.mape } : {}),
      ...(Number.isFinite(a.coverage80) ? { intervalCoverage: a.coverage80 } : {}),
      originMs: st.originMs,
    };
  }

  /** Frees every engine (the models hold WASM memory). */
  dispose(): void {
    for (const e of this.engines.values()) e.dispose();
    this.engines.clear();
  }
}

/** The engine of `automation/forecast/`, or undefined (with the reason) when it cannot be loaded. */
export async function loadEnsembleForecaster(o: ChainedForecasterOptions): Promise<{ forecaster?: Forecaster; error?: string }> {
  try {
    // require, not import(): a CommonJS build (and tsx's CJS hook) resolves the module.
    const mod = require("./forecast/live") as LiveModule;
    if (typeof mod.LiveForecaster !== "function") return { error: "automation/forecast/live does not export LiveForecaster" };
    return { forecaster: new ChainedEnsembleForecaster(mod, o) };
  } catch (e) {
    return { error: `automation/forecast could not be loaded: ${(e as Error).message}` };
  }
}
