/**
 * Predictive floors: forecast each service's load signals from the collected samples, turn the
 * forecast of the covered buckets' peak (the ensemble's τ-quantile peak forecast, peak.ts) into
 * replicas at the load one replica carries at 100% (the per-pod target / u: predictiveSettings.ts),
 * and raise the service's minimum to that floor when the engine's gate passes and the out-of-sample
 * confidence reaches the threshold (design: 80%). Otherwise the floor is removed and the reactive
 * scalers (HPA/KEDA) act alone, with the reason recorded (`fallback`) and exported.
 *
 * The decision is `decideFloor` (automation/forecast/decision.ts), with the settings of
 * `automation/config` (predictiveSettings.ts) — the same function and settings the backtest uses.
 * The forecasting is behind the narrow `Forecaster` interface: the service uses the chained engine
 * (forecastAdapter.ts, the backtest's LiveForecaster), and falls back to the seasonal-naive
 * stand-in below when that module cannot be loaded.
 */
import type { Applier, ApplyResult } from "./applier";
import type { AutomationConfig } from "./config";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import { decideFloor, type FallbackReason } from "./forecast/decision";
import type { LiveAccuracy } from "./forecast/live";
import { capacityPerReplica, decisionSettings, serviceRange } from "./predictiveSettings";
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
  /** Mean relative error (actual − forecast) / forecast of the peak (or upper) forecasts, when known. */
  readonly peakError?: number;
  /** The engine's gate said no (stale data, flat series, no pattern, warming up, no model). */
  readonly fallback?: { readonly reason: FallbackReason; readonly detail: string };
  /** Realised accuracy of the forecasts as issued (the chained engine). */
  readonly accuracy?: LiveAccuracy;
  /** Start of the forecast's first bucket (the current bucket), epoch ms; default now's bucket. */
  readonly originMs?: number;
}

/** What the predictor needs from a forecasting engine. Throw to mean "no forecast" (with a reason). */
export interface Forecaster {
  readonly name: string;
  forecast(req: ForecastRequest): Promise<ForecastResult>;
  /** Stateful engines read only what they have not seen: the history's start (default now − historyDays). */
  historyFrom?(service: string, signal: string, now: Date): Promise<Date>;
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
    // The stand-in's peak forecast is its upper bound: its error, as the chained engine's is scored.
    let peakErrorSum = 0;
    let peakErrorN = 0;
    for (let b = nowB - day; b < nowB; b++) {
      const a = mean(b);
      const p = mean(b - day);
      if (a !== undefined && p !== undefined && a >= p * lowRatio && a <= p * highRatio) inside++;
      if (a !== undefined && p !== undefined && p * highRatio > 0) {
        peakErrorSum += (a - p * highRatio) / (p * highRatio);
        peakErrorN++;
      }
    }
    let stale = 0;
    while (stale < day && mean(nowB - 1 - stale) === undefined) stale++;
    return { model: this.name, point, lower, upper, confidence: Math.max(0, Math.min(1, 1 - mape)), staleSteps: stale, mape, intervalCoverage: inside / ape.length, ...(peakErrorN > 0 ? { peakError: peakErrorSum / peakErrorN } : {}) };
  }
}

export interface ServiceForecast {
  readonly service: string;
  readonly floor?: number;
  readonly needed?: number;
  readonly confidence?: number;
  readonly fallback?: string;
  readonly fallbackReason?: FallbackReason;
  /** Per signal: `upper` is the forecast the floor carries, `bound` says which ("peak" or the mean's "upper"). */
  readonly signals: readonly { signal: string; model?: string; upper?: number; bound?: "peak" | "upper"; needed?: number; confidence?: number; error?: string; reason?: FallbackReason }[];
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
    const d = decisionSettings(config);
    const stepMinutes = d.stepMinutes;
    const stepMs = stepMinutes * 60_000;
    const horizonSteps = Math.max(d.horizonSteps, d.coverSteps);
    const state = await store.getState(config.stack);
    const settings = config.base.settings;
    const byService = new Map<string, SeriesDefinition[]>();
    for (const s of this.opts.series ?? catalogSeries()) {
      if (s.perReplica === undefined) continue;
      byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
    }
    const results: ServiceForecast[] = [];
    const floors: Record<string, number> = {};
    const rows: ForecastRow[] = [];
    let anySuccess = false;

    for (const [service, series] of byService) {
      const signals: ServiceForecast["signals"][number][] = [];
      const peaks: { peak: readonly number[]; capacityPerReplica: number }[] = [];
      let confidence = 1;
      let usable = true;
      let reason: FallbackReason | undefined;
      let worst: { mape?: number; coverage?: number; peakError?: number; model: string } | undefined;
      for (const s of series) {
        const from = forecaster.historyFrom ? await forecaster.historyFrom(service, s.signal, now) : new Date(now.getTime() - p.historyDays * 86_400_000);
        const history = await store.samples(service, s.signal, from, now);
        if (!forecaster.historyFrom && history.length < p.minSamples) {
          signals.push({ signal: s.signal, error: `${history.length} samples, ${p.minSamples} needed` });
          usable = false;
          reason ??= "no-model";
          continue;
        }
        if (!forecaster.historyFrom) {
          // A stateless forecaster sees the whole history: freshness against now, not against its end.
          const latest = history[history.length - 1]!.ts;
          const ageMinutes = (now.getTime() - latest.getTime()) / 60_000;
          if (ageMinutes > p.maxSampleAgeMinutes) {
            signals.push({ signal: s.signal, error: `the latest sample is from ${latest.toISOString()}, ${Math.round(ageMinutes)} min ago (at most ${p.maxSampleAgeMinutes} min)`, reason: "stale-data" });
            usable = false;
            reason ??= "stale-data";
            continue;
          }
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
          const acc = f.accuracy;
          const mape = acc ? acc.mape : f.mape;
          if (mape !== undefined && Number.isFinite(mape) && (worst?.mape === undefined || mape > worst.mape)) {
            worst = { mape, coverage: acc ? acc.coverage80 : f.intervalCoverage, peakError: acc ? acc.peakError : f.peakError, model: f.model };
          }
          const originMs = f.originMs ?? Math.floor(now.getTime() / stepMs) * stepMs;
          const labelOf = (i: number) => horizonLabel((i + 1) * stepMinutes);
          for (let i = 0; i < Math.min(horizonSteps, f.point.length); i++) {
            const horizon = labelOf(i);
            metrics.forecastLoad.set({ service, signal: s.signal, bound: "point", horizon }, f.point[i] ?? 0);
            metrics.forecastLoad.set({ service, signal: s.signal, bound: "lower", horizon }, f.lower[i] ?? 0);
            metrics.forecastLoad.set({ service, signal: s.signal, bound: "upper", horizon }, f.upper[i] ?? 0);
            if (f.peak) metrics.forecastLoad.set({ service, signal: s.signal, bound: "peak", horizon }, f.peak[i] ?? 0);
            rows.push({
              service,
              signal: s.signal,
              model: f.model,
              madeAt: now,
              targetTs: new Date(originMs + i * stepMs),
              horizonSeconds: (i + 1) * stepMinutes * 60,
              point: f.point[i] ?? 0,
              lower: f.lower[i] ?? 0,
              upper: f.upper[i] ?? 0,
              confidence: f.confidence,
              peak: f.peak?.[i] ?? null,
            });
          }
          if (f.fallback) {
            signals.push({ signal: s.signal, model: f.model, error: `${f.fallback.reason}: ${f.fallback.detail}`, reason: f.fallback.reason });
            usable = false;
            reason ??= f.fallback.reason;
            continue;
          }
          if (!f.peak && f.staleSteps !== undefined && f.staleSteps > 4) throw new Error(`the latest ${f.staleSteps} buckets have no data`);
          // The floor carries the forecast of the covered buckets' peak (else the stand-in's upper bound).
          const bound = f.peak && f.peak.length >= d.coverSteps ? "peak" : "upper";
          const cover = (bound === "peak" ? f.peak! : f.upper).slice(0, d.coverSteps);
          const C = capacityPerReplica(service, s.perReplica!);
          const upper = Math.max(...cover);
          peaks.push({ peak: cover, capacityPerReplica: C });
          confidence = Math.min(confidence, f.confidence);
          anySuccess = true;
          signals.push({ signal: s.signal, model: f.model, upper, bound, needed: Math.ceil(upper / C - 1e-9), confidence: f.confidence });
        } catch (e) {
          signals.push({ signal: s.signal, error: (e as Error).message });
          usable = false;
          reason ??= "invalid-forecast";
        }
      }
      if (worst?.mape !== undefined) metrics.forecastMape.set({ service, model: worst.model }, worst.mape);
      if (worst?.coverage !== undefined && Number.isFinite(worst.coverage)) metrics.forecastIntervalCoverage.set({ service, model: worst.model }, worst.coverage);
      if (worst?.peakError !== undefined && Number.isFinite(worst.peakError)) metrics.forecastPeakError.set({ service, model: worst.model }, worst.peakError);
      const key = `services.${service}.minReplicas`;
      const range = serviceRange(config, service, state.scheduledProfile);
      const min = this.currentMin(service, state);
      const r = decideFloor({
        signals: usable ? peaks : [],
        confidence: usable && signals.length > 0 ? confidence : undefined,
        ...(!usable || signals.length === 0
          ? { fallback: { reason: reason ?? "no-model", detail: signals.filter((x) => x.error).map((x) => `${x.signal}: ${x.error}`).join("; ") || "no load signal" } }
          : {}),
        range: { min, max: range.max },
        policyCeiling: range.policyCeiling,
        current: state.predictiveFloors[key] ?? min,
        maxStepUp: d.maxStepUp,
        maxStepDown: d.maxStepDown,
        confidenceThreshold: d.confidenceThreshold,
      });
      metrics.forecastConfidence.set({ service }, usable ? confidence : 0);
      metrics.setPredictiveFallback(service, r.kind === "fallback" ? r.reason : undefined);
      if (r.kind === "fallback") {
        metrics.predictiveFloorReplicas.remove({ service });
        const needed = peaks.length ? Math.max(...signals.map((x) => x.needed ?? 0)) : undefined;
        results.push({ service, ...(needed !== undefined && usable ? { needed, confidence } : {}), fallback: r.reason === "low-confidence" ? `${r.detail}: reactive scaling only` : `${r.reason}: ${r.detail}`, fallbackReason: r.reason, signals });
        continue;
      }
      // A floor at (or below) the scheduled minimum adds nothing: no entry.
      if (r.replicas > min) floors[key] = r.replicas;
      metrics.predictiveFloorReplicas.set({ service }, r.replicas);
      results.push({ service, floor: r.replicas, needed: r.needed, confidence, signals });
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

  /** The service's minimum under the scheduled profile in force (or the stack file). */
  currentMin(service: string, state: AutomationState): number {
    return serviceRange(this.opts.config, service, state.scheduledProfile).min;
  }
}
