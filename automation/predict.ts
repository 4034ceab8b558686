/**
 * Predictive floors: forecast each service's load signals from the collected samples, turn the
 * forecast of the coming buckets' peak (the ensemble's τ-quantile peak forecast, peak.ts; the upper
 * bound of the bucket mean when the engine has no peak forecast) into replicas at the signal's
 * per-replica target, and raise the service's minimum to that floor when the
 * forecast is confident enough (design: 80%). Below the threshold, or without a usable forecast,
 * the floor is removed and the reactive scalers (HPA/KEDA) act alone.
 *
 * The forecasting itself is behind the narrow `Forecaster` interface: the service uses the
 * ensemble of `automation/forecast/` through `forecastAdapter.ts`, and falls back to the
 * seasonal-naive stand-in below when that module cannot be loaded.
 */
import type { Applier, ApplyResult } from "./applier";
import type { AutomationConfig } from "./config";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import { ceilingFor, getPath } from "./overrides";
import { catalogSeries, type SeriesDefinition } from "../lib/monitoring/signals";
import type { AutomationState, ForecastRow, Store } from "./store";

export interface ForecastRequest {
  readonly service: string;
  readonly signal: string;
  /** Raw samples, oldest first: epoch ms and value. */
  readonly history: readonly { readonly t: number; readonly v: number }[];
  /** Buckets ahead to forecast. */
  readonly horizonSteps: number;
  readonly stepMinutes: number;
  readonly now: Date;
  readonly calendar: {
    readonly timezone: string;
    readonly businessHours: { readonly start: string; readonly end: string; readonly days: readonly string[] };
    readonly holidays: readonly string[];
  };
}

export interface ForecastResult {
  /** Model (or ensemble) name, the `model` label of the accuracy metrics. */
  readonly model: string;
  /** Per bucket after `now`, `horizonSteps` long. */
  readonly point: readonly number[];
  readonly lower: readonly number[];
  readonly upper: readonly number[];
  /**
   * Per bucket: the τ-quantile forecast of the bucket's peak (the max of the raw samples in it),
   * when the engine has one (the ensemble's peak model, automation/forecast/peak.ts). The floor
   * carries this instead of `upper`: a missing replica costs more than a spare one.
   */
  readonly peak?: readonly number[];
  /** Decision confidence, 0-1. */
  readonly confidence: number;
  /** Buckets at the end of the history without data. */
  readonly staleSteps?: number;
  /** Recent accuracy when known (0-1). */
  readonly mape?: number;
  readonly intervalCoverage?: number;
}

/** What the predictor needs from a forecasting engine. Throw to mean "no forecast" (with a reason). */
export interface Forecaster {
  readonly name: string;
  forecast(req: ForecastRequest): Promise<ForecastResult>;
}

/**
 * Stand-in forecaster: the value of the same bucket one day earlier (seasonal naive), with an
 * interval from yesterday's errors of the same method; confidence 1 − MAPE of those errors.
 */
export class SeasonalNaiveForecaster implements Forecaster {
  readonly name = "seasonal-naive-standin";

  async forecast(req: ForecastRequest): Promise<ForecastResult> {
    const stepMs = req.stepMinutes * 60_000;
    const buckets = new Map<number, { sum: number; n: number }>();
    for (const s of req.history) {
      if (!Number.isFinite(s.v) || s.v < 0) continue;
      const b = Math.floor(s.t / stepMs);
      const cur = buckets.get(b) ?? { sum: 0, n: 0 };
      cur.sum += s.v;
      cur.n++;
      buckets.set(b, cur);
    }
    const mean = (b: number) => {
      const c = buckets.get(b);
      return c ? c.sum / c.n : undefined;
    };
    const day = Math.round(86_400_000 / stepMs);
    const nowB = Math.floor(req.now.getTime() / stepMs);
    // Errors of "yesterday predicts today" over the last day.
    const ape: number[] = [];
    const ratios: number[] = [];
    for (let b = nowB - day; b < nowB; b++) {
      const a = mean(b);
      const p = mean(b - day);
      if (a === undefined || p === undefined) continue;
      ape.push(Math.abs(a - p) / Math.max(Math.abs(a), 1e-9));
      ratios.push(p > 0 ? a / p : 1);
    }
    if (ape.length < day / 2) throw new Error(`seasonal-naive stand-in: needs two days of history, has ${ape.length} comparable buckets`);
    ape.sort((x, y) => x - y);
    ratios.sort((x, y) => x - y);
    const q = (arr: number[], p: number) => arr[Math.min(arr.length - 1, Math.max(0, Math.floor(p * (arr.length - 1))))]!;
    const mape = ape.reduce((s, x) => s + x, 0) / ape.length;
    const lowRatio = q(ratios, 0.1);
    const highRatio = q(ratios, 0.9);
    const point: number[] = [];
    const lower: number[] = [];
    const upper: number[] = [];
    let inside = 0;
    for (let h = 1; h <= req.horizonSteps; h++) {
      const v = mean(nowB + h - day) ?? mean(nowB - 1) ?? 0;
      point.push(v);
      lower.push(Math.max(0, v * lowRatio));
      upper.push(v * highRatio);
    }
    for (let b = nowB - day; b < nowB; b++) {
      const a = mean(b);
      const p = mean(b - day);
      if (a !== undefined && p !== undefined && a >= p * lowRatio && a <= p * highRatio) inside++;
    }
    let stale = 0;
    while (stale < day && mean(nowB - 1 - stale) === undefined) stale++;
    return { model: this.name, point, lower, upper, confidence: Math.max(0, Math.min(1, 1 - mape)), staleSteps: stale, mape, intervalCoverage: inside / ape.length };
  }
}

export interface ServiceForecast {
  readonly service: string;
  readonly floor?: number;
  readonly needed?: number;
  readonly confidence?: number;
  readonly fallback?: string;
  /** Per signal: `upper` is the forecast the floor carries, `bound` says which ("peak" or the mean's "upper"). */
  readonly signals: readonly { signal: string; model?: string; upper?: number; bound?: "peak" | "upper"; needed?: number; confidence?: number; error?: string }[];
}

export interface PredictionRun {
  readonly services: readonly ServiceForecast[];
  readonly floors: Record<string, number>;
  readonly changed: boolean;
  readonly result?: ApplyResult;
}

export interface PredictorOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly applier: Applier;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  readonly forecaster: Forecaster;
  /** Forecast bucket, minutes (default 15: the collection interval). */
  readonly stepMinutes?: number;
  readonly series?: readonly SeriesDefinition[];
}

/** Prometheus duration for the `horizon` label (e.g. "15m"), as the dashboards query it. */
export function horizonLabel(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

export class Predictor {
  constructor(private readonly opts: PredictorOptions) {}

  /** Forecasts every capacity signal, computes floors, and applies them when they changed. */
  async run(now: Date = new Date(), opts: { dryRun?: boolean } = {}): Promise<PredictionRun> {
    const { config, store, metrics, logger, forecaster, applier } = this.opts;
    const p = config.predictive;
    const stepMinutes = this.opts.stepMinutes ?? 15;
    const horizonSteps = Math.max(1, Math.ceil(p.horizonMinutes / stepMinutes));
    const horizon = horizonLabel(p.horizonMinutes);
    const state = await store.getState(config.stack);
    const settings = config.base.settings;
    const byService = new Map<string, SeriesDefinition[]>();
    for (const s of this.opts.series ?? catalogSeries()) {
      if (s.perReplica === undefined) continue;
      byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
    }
    const from = new Date(now.getTime() - p.historyDays * 86_400_000);
    const results: ServiceForecast[] = [];
    const floors: Record<string, number> = {};
    const rows: ForecastRow[] = [];
    let anySuccess = false;

    for (const [service, series] of byService) {
      const signals: { signal: string; model?: string; upper?: number; bound?: "peak" | "upper"; needed?: number; confidence?: number; error?: string }[] = [];
      let needed = 0;
      let confidence = 1;
      let usable = true;
      let stale = false;
      for (const s of series) {
        const history = await store.samples(service, s.signal, from, now);
        if (history.length < p.minSamples) {
          signals.push({ signal: s.signal, error: `${history.length} samples, ${p.minSamples} needed` });
          usable = false;
          continue;
        }
        // Freshness against now, not against the end of the history: a forecast from data that
        // stopped arriving hours ago is no forecast of the next minutes.
        const latest = history[history.length - 1]!.ts;
        const ageMinutes = (now.getTime() - latest.getTime()) / 60_000;
        if (ageMinutes > p.maxSampleAgeMinutes) {
          signals.push({ signal: s.signal, error: `stale-data: the latest sample is from ${latest.toISOString()}, ${Math.round(ageMinutes)} min ago (at most ${p.maxSampleAgeMinutes} min)` });
          stale = true;
          usable = false;
          continue;
        }
        try {
          const f = await forecaster.forecast({
            service,
            signal: s.signal,
            history: history.map((h) => ({ t: h.ts.getTime(), v: h.value })),
            horizonSteps,
            stepMinutes,
            now,
            calendar: { timezone: settings.schedules.timezone, businessHours: settings.schedules.businessHours, holidays: settings.schedules.holidays },
          });
          if ((f.staleSteps ?? 0) > 4) throw new Error(`the latest ${f.staleSteps} buckets have no data`);
          // The floor carries the forecast of the buckets' peak when the engine has one (else the
          // upper bound of the bucket mean), at the signal's per-replica target.
          const bound = f.peak && f.peak.length >= horizonSteps ? "peak" : "upper";
          const upper = Math.max(...(bound === "peak" ? f.peak! : f.upper).slice(0, horizonSteps));
          if (!Number.isFinite(upper) || upper < 0) throw new Error(`unusable ${bound} forecast ${upper}`);
          const n = Math.ceil(upper / s.perReplica! - 1e-9);
          needed = Math.max(needed, n);
          confidence = Math.min(confidence, f.confidence);
          anySuccess = true;
          signals.push({ signal: s.signal, model: f.model, upper, bound, needed: n, confidence: f.confidence });
          const h = horizonSteps - 1;
          metrics.forecastLoad.set({ service, signal: s.signal, bound: "point", horizon }, f.point[h] ?? 0);
          metrics.forecastLoad.set({ service, signal: s.signal, bound: "lower", horizon }, f.lower[h] ?? 0);
          metrics.forecastLoad.set({ service, signal: s.signal, bound: "upper", horizon }, f.upper[h] ?? 0);
          if (f.peak) metrics.forecastLoad.set({ service, signal: s.signal, bound: "peak", horizon }, f.peak[h] ?? 0);
          if (f.mape !== undefined) metrics.forecastMape.set({ service, model: f.model }, f.mape);
          if (f.intervalCoverage !== undefined) metrics.forecastIntervalCoverage.set({ service, model: f.model }, f.intervalCoverage);
          for (let i = 0; i < horizonSteps; i++) {
            rows.push({
              service,
              signal: s.signal,
              model: f.model,
              madeAt: now,
              targetTs: new Date(Math.floor(now.getTime() / (stepMinutes * 60_000)) * stepMinutes * 60_000 + (i + 1) * stepMinutes * 60_000),
              horizonSeconds: (i + 1) * stepMinutes * 60,
              point: f.point[i] ?? 0,
              lower: f.lower[i] ?? 0,
              upper: f.upper[i] ?? 0,
              confidence: f.confidence,
            });
          }
        } catch (e) {
          signals.push({ signal: s.signal, error: (e as Error).message });
          usable = false;
        }
      }
      const key = `services.${service}.minReplicas`;
      if (!usable || signals.length === 0) {
        metrics.forecastConfidence.set({ service }, 0);
        metrics.predictiveFloorReplicas.remove({ service });
        results.push({ service, fallback: `${stale ? "stale-data" : "no usable forecast"}: ${signals.filter((x) => x.error).map((x) => `${x.signal}: ${x.error}`).join("; ")}`, signals });
        continue;
      }
      metrics.forecastConfidence.set({ service }, confidence);
      if (confidence < p.confidenceThreshold) {
        metrics.predictiveFloorReplicas.remove({ service });
        results.push({ service, needed, confidence, fallback: `confidence ${confidence.toFixed(3)} below the threshold ${p.confidenceThreshold}: reactive scaling only`, signals });
        continue;
      }
      const floor = this.boundFloor(service, needed, state);
      // A floor at (or below) the scheduled minimum adds nothing: no entry.
      if (floor > this.currentMin(service, state)) floors[key] = floor;
      metrics.predictiveFloorReplicas.set({ service }, floor);
      results.push({ service, floor, needed, confidence, signals });
    }
    if (rows.length > 0) await store.insertForecasts(rows);
    if (anySuccess) metrics.forecastLastSuccessTimestamp.set(now.getTime() / 1000);

    const changedServices = new Set<string>();
    for (const k of new Set([...Object.keys(floors), ...Object.keys(state.predictiveFloors)])) {
      if (floors[k] !== state.predictiveFloors[k]) changedServices.add(k.split(".")[1]!);
    }
    for (const r of results) if (r.fallback) metrics.decisionsTotal.inc({ service: r.service, kind: "predictive", outcome: "skipped" });
    const changed = changedServices.size > 0;
    logger.info({ floors, changed, fallbacks: results.filter((r) => r.fallback).map((r) => ({ service: r.service, why: r.fallback })) }, "predictive run");
    if (!changed) return { services: results, floors, changed };
    if (state.emergencyActive) {
      logger.info("budget emergency active: predictive floors not applied");
      return { services: results, floors, changed };
    }
    const slotMs = stepMinutes * 60_000;
    const slot = new Date(Math.floor(now.getTime() / slotMs) * slotMs);
    const result = await applier.apply({
      kind: "predictive",
      trigger: "predictive",
      key: `predictive:${config.stack}:${slot.toISOString()}`,
      reason: `predictive floors for the next ${p.horizonMinutes} min: ${[...changedServices].map((s) => `${s} ${state.predictiveFloors[`services.${s}.minReplicas`] ?? "-"} → ${floors[`services.${s}.minReplicas`] ?? "-"}`).join(", ")}`,
      services: [...changedServices].sort(),
      dryRun: opts.dryRun,
      nextState: (s: AutomationState) => ({ ...s, predictiveFloors: floors }),
    });
    return { services: results, floors, changed, result };
  }

  /**
   * Floor within the service's range, the policy ceiling, and the step limits relative to the
   * previous floor (or the service's current minimum when there was none).
   */
  /** The service's minimum under the scheduled profile (or the stack file). */
  currentMin(service: string, state: AutomationState): number {
    const { config } = this.opts;
    const profile = state.scheduledProfile ? config.profiles.find((x) => x.name === state.scheduledProfile) : undefined;
    return profile?.overrides[`services.${service}.minReplicas`] ?? (getPath(config.base.settings.services, `${service}.minReplicas`) as number);
  }

  boundFloor(service: string, needed: number, state: AutomationState): number {
    const { config } = this.opts;
    const p = config.predictive;
    const profile = state.scheduledProfile ? config.profiles.find((x) => x.name === state.scheduledProfile) : undefined;
    const minKey = `services.${service}.minReplicas`;
    const maxKey = `services.${service}.maxReplicas`;
    const baseMax = getPath(config.base.settings.services, `${service}.maxReplicas`) as number;
    const min = this.currentMin(service, state);
    const max = Math.min(profile?.overrides[maxKey] ?? baseMax, ceilingFor(config.policyLimits, maxKey) ?? Infinity);
    const previous = state.predictiveFloors[minKey] ?? min;
    let floor = Math.max(min, Math.min(max, needed));
    floor = Math.min(floor, previous + p.maxStepUp);
    floor = Math.max(floor, previous - p.maxStepDown);
    return Math.max(min, Math.min(max, floor));
  }
}
