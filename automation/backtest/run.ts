/**
 * The backtest: one trace, five scaling policies scored the same way, and the forecasters'
 * accuracy on that trace. See docs/forecasting.md ("Backtest").
 *
 * Policies:
 * - oracle: ceil(load / (u × C)) every tick, within the replica range, ready at once (cost ratio 1.0);
 * - static-peak: the oracle's peak all the time;
 * - reactive: the HPA alone (hpa.ts), floor = minReplicas;
 * - scheduled+reactive: the HPA with the business-hours floor of the stack (KEDA cron profile);
 * - predictive+reactive: the HPA with the floor the automation service would set (its own path:
 *   predictive.ts), in force from each bucket's start + the apply delay; without a floor, the
 *   minimum of the scheduled profile in force (as the service leaves it).
 */
import { Calendar, type CalendarOptions } from "../forecast/calendar";
import type { ForecastOptionsInput } from "../forecast/options";
import { defaultConfigFile, loadAutomationConfig, type AutomationConfig } from "../config";
import { decisionSettings, floorRangeTimeline, forecastOptionsFor, liveSettingsFor, type DecisionSettings } from "../predictiveSettings";
import { type ModelAccuracy, replayPredictive, type PredictiveReplay } from "./predictive";
import type { ServiceContext } from "./service";
import { oracleReplicas, simulatePolicy, timelineFromSamples, type PolicyScore, type PolicySpec, type SimSettings } from "./simulate";
import { renderChart, type ChartInput } from "./svg";
import type { Trace } from "./trace";
import { hpaSyncPeriodSeconds } from "../../lib/scaling/responseTime";

export interface BacktestOptions {
  readonly service: ServiceContext;
  /** C, load per replica at 100% utilisation. Default: peak / (u × maxReplicas). */
  readonly capacity?: number;
  /** Forecaster options; the calendar defaults to the stack's schedule. */
  readonly forecast?: ForecastOptionsInput;
  /** Extra holidays for the forecaster and the schedule (e.g. the trace's public holidays). */
  readonly extraHolidays?: readonly string[];
  readonly podStartSeconds?: number;
  readonly metricDelaySeconds?: number;
  /** The automation service's configuration (predictive settings, profiles); default automation/config/<stack>.yaml. */
  readonly automation?: AutomationConfig;
  /** Overrides of the configured decision settings (experiments; the bench uses none). */
  readonly decision?: Partial<DecisionSettings>;
  /** Replace the scheduled profiles' minimum by the stack file's (the floor's range minimum); default false. */
  readonly ignoreProfiles?: boolean;
  readonly policyCeiling?: number;
  /** Chart window; default the trace's last 7 days. */
  readonly window?: { readonly fromMs: number; readonly toMs: number };
  /** HPA behaviour overrides for the simulated reactive layer (hpa.ts). */
  readonly hpa?: SimSettings["hpa"];
  /** Per-tick observer of every simulated policy (e.g. the spike KPIs of synthetic.ts). */
  readonly onTick?: (policy: string, tMs: number, replicas: number, ready: number, need: number) => void;
  /** Skip the chart data. */
  readonly noChart?: boolean;
}

export interface PolicyResult extends PolicyScore {
  readonly costRatioToOracle: number;
}

export interface BacktestResult {
  readonly trace: string;
  readonly intervalMinutes: number;
  readonly service: ServiceContext;
  readonly capacity: { readonly perReplica: number; readonly source: string; readonly peak: number; readonly targetUtilization: number };
  readonly policies: PolicyResult[];
  readonly forecast: { readonly models: ModelAccuracy[] };
  readonly replay: Omit<PredictiveReplay, "series" | "floors" | "accuracy">;
  readonly notes: string[];
  readonly seconds: { readonly forecast: number; readonly simulate: number };
  readonly chart?: ChartInput;
  readonly settings: {
    readonly podStartSeconds: number;
    readonly metricDelaySeconds: number;
    readonly maxStepUp: number;
    readonly maxStepDown: number;
    readonly coverSteps: number;
    readonly applyDelaySeconds: number;
    readonly tickSeconds: number;
    readonly stepMinutes: number;
    readonly horizonMinutes: number;
    readonly confidenceThreshold: number;
  };
}

export function runBacktest(trace: Trace, o: BacktestOptions): BacktestResult {
  const svc = o.service;
  const u = svc.targetUtilization;
  const notes: string[] = [];
  let peak = 0;
  for (const s of trace.samples) if (s.v > peak) peak = s.v;
  if (!(peak > 0)) throw new Error(`${trace.name}: the load is never above 0`);
  const C = o.capacity ?? peak / (u * svc.range.max);
  if (!(C > 0) || !Number.isFinite(C)) throw new Error(`capacity ${C} must be a positive number`);
  const capacitySource =
    o.capacity !== undefined
      ? `given (--capacity ${o.capacity})`
      : `default: the trace's peak (${peak.toPrecision(4)}) needs the service's max replicas (${svc.range.max}) at the target utilisation u = ${u}: C = peak / (u × max) = ${C.toPrecision(4)}`;
  const q = trace.quality;
  const dropped = q.badTimestamps + q.missingValues + q.nonFinite + q.negative;
  if (dropped) notes.push(`${dropped} of ${q.rows} rows ignored (${q.badTimestamps} bad timestamps, ${q.missingValues} missing, ${q.nonFinite} not a number, ${q.negative} negative); the previous value holds`);
  if (q.duplicates) notes.push(`${q.duplicates} duplicate timestamps (last kept)`);

  const calendar: CalendarOptions = { ...svc.calendar, holidays: [...svc.calendar.holidays, ...(o.extraHolidays ?? [])] };
  const automation = o.automation ?? loadAutomationConfig(defaultConfigFile(svc.stack));
  const decision: DecisionSettings = { ...decisionSettings(automation), ...(o.decision ?? {}) };
  const fopts = forecastOptionsFor(automation, { holidays: o.extraHolidays, overrides: { ...(o.forecast ?? {}), horizonSteps: decision.horizonSteps } });
  if (o.forecast?.calendar) Object.assign(fopts, { calendar: { ...fopts.calendar, ...o.forecast.calendar } });
  const spanDays = (trace.endMs - trace.startMs) / 86_400_000;
  if (spanDays < fopts.trainingDays) notes.push(`the trace spans ${spanDays.toFixed(1)} days, less than the ${fopts.trainingDays}-day training window: every fit uses the history that exists (from ${fopts.minHistoryDays} days on)`);

  const { maxStepUp, maxStepDown } = decision;
  const podStartSeconds = o.podStartSeconds ?? 60;
  const metricDelaySeconds = o.metricDelaySeconds ?? 30;
  const applyDelayMs = decision.applyDelaySeconds * 1000;
  // The floor's range: the scheduled profile's minimum in force (predictiveSettings.ts, as the service).
  const rangeAt = floorRangeTimeline(automation, svc.name, svc.range, trace.startMs, trace.endMs, { ignoreProfiles: o.ignoreProfiles });
  const t0 = process.hrtime.bigint();
  const replay = replayPredictive(trace.samples, fopts, {
    capacityPerReplica: C,
    rangeAt,
    policyCeiling: o.policyCeiling ?? Number.POSITIVE_INFINITY,
    decision,
    live: { ...liveSettingsFor(automation), coverSteps: decision.coverSteps, flatMinutes: decision.flatMinutes },
    collectorStepSeconds: automation.collector.stepSeconds,
  });
  const t1 = process.hrtime.bigint();
  notes.push(...replay.notes);

  const sched = new Calendar(calendar);
  const stepMs = replay.series.stepMs;
  const { series, floors } = replay;
  const min = svc.range.min;
  const staticPeak = oracleReplicas(peak, { capacityPerReplica: C, targetUtilization: u, range: svc.range });
  const policies: PolicySpec[] = [
    { name: "oracle", kind: { type: "fixed", replicasAt: (_t, load) => oracleReplicas(load, { capacityPerReplica: C, targetUtilization: u, range: svc.range }) } },
    { name: "static-peak", kind: { type: "fixed", replicasAt: () => staticPeak } },
    { name: "reactive", kind: { type: "hpa", floorAt: () => min } },
    { name: "scheduled+reactive", kind: { type: "hpa", floorAt: (t) => (sched.isBusinessHours(t) ? svc.businessHoursFloor : min) } },
    {
      name: "predictive+reactive",
      kind: {
        type: "hpa",
        floorAt: (t) => {
          // The floor decided at bucket k's start is in force from then + the apply delay.
          const k = Math.floor((t - applyDelayMs - series.startMs) / stepMs);
          const f = k >= 0 && k < floors.length ? floors[k]! : -1;
          return f >= 0 ? f : rangeAt(t).min;
        },
      },
    },
  ];
  const fromMs = o.window?.fromMs ?? Math.max(trace.startMs, trace.endMs - 7 * 86_400_000);
  const toMs = o.window?.toMs ?? trace.endMs;
  if (!(toMs > fromMs)) throw new Error(`window: end must be after start`);
  const sim: SimSettings = {
    capacityPerReplica: C,
    targetUtilization: u,
    range: svc.range,
    tickSeconds: hpaSyncPeriodSeconds,
    metricDelaySeconds,
    podStartSeconds,
    ...(o.hpa ? { hpa: o.hpa } : {}),
    ...(o.noChart ? {} : { chart: { fromMs, toMs, everyMs: Math.max(60_000, Math.min(trace.intervalMs, 15 * 60_000)) } }),
  };
  const timeline = timelineFromSamples(trace.samples, trace.endMs);
  const scores = policies.map((p) => simulatePolicy(timeline, p, o.onTick ? { ...sim, onTick: (t, r, ready, need) => o.onTick!(p.name, t, r, ready, need) } : sim));
  const t2 = process.hrtime.bigint();
  const oracleHours = scores[0]!.replicaHours;
  const results: PolicyResult[] = scores.map((s) => ({ ...s, costRatioToOracle: oracleHours > 0 ? s.replicaHours / oracleHours : Number.NaN }));

  let chart: ChartInput | undefined;
  if (!o.noChart) {
    const lt: number[] = [];
    const lv: number[] = [];
    for (const s of trace.samples) if (s.t >= fromMs && s.t < toMs) {
      lt.push(s.t);
      lv.push(s.v / (u * C));
    }
    chart = {
      title: `${trace.name}: load vs replicas (${svc.name}, ${svc.range.min}-${svc.range.max} replicas, u = ${u})`,
      subtitle: `${new Date(fromMs).toISOString().slice(0, 16)} → ${new Date(toMs).toISOString().slice(0, 16)} UTC; shaded: load / (u × C) with C = ${C.toPrecision(4)}`,
      fromMs,
      toMs,
      load: { name: "load (replicas at target)", t: lt, v: lv },
      policies: results.filter((r) => r.chart).map((r) => ({ name: r.name, t: r.chart!.t, v: r.chart!.replicas })),
      yMax: svc.range.max + 1,
    };
  }
  const { series: _s, floors: _f, accuracy, ...replaySummary } = replay;
  return {
    trace: trace.name,
    intervalMinutes: trace.intervalMs / 60_000,
    service: svc,
    capacity: { perReplica: C, source: capacitySource, peak, targetUtilization: u },
    policies: results,
    forecast: { models: accuracy },
    replay: replaySummary,
    notes,
    seconds: { forecast: Number(t1 - t0) / 1e9, simulate: Number(t2 - t1) / 1e9 },
    ...(chart ? { chart } : {}),
    settings: {
      podStartSeconds,
      metricDelaySeconds,
      maxStepUp,
      maxStepDown,
      coverSteps: decision.coverSteps,
      applyDelaySeconds: decision.applyDelaySeconds,
      tickSeconds: hpaSyncPeriodSeconds,
      stepMinutes: fopts.stepMinutes,
      horizonMinutes: fopts.stepMinutes * fopts.horizonSteps,
      confidenceThreshold: fopts.confidenceThreshold,
    },
  };
}

/** The documented JSON shape, exactly (shares and MAPE as fractions 0-1; NaN becomes null). */
export interface BacktestJson {
  trace: string;
  intervalMinutes: number;
  policies: { name: string; replicaHours: number; costRatioToOracle: number; underProvisionedShare: number; worstShortfall: number }[];
  forecast: { models: { name: string; mape: number | null; coverage80: number | null }[] };
}

const num = (x: number) => (Number.isFinite(x) ? x : null);

export function toBacktestJson(r: BacktestResult): BacktestJson {
  return {
    trace: r.trace,
    intervalMinutes: r.intervalMinutes,
    policies: r.policies.map((p) => ({
      name: p.name,
      replicaHours: p.replicaHours,
      costRatioToOracle: p.costRatioToOracle,
      underProvisionedShare: p.underProvisionedShare,
      worstShortfall: p.worstShortfall,
    })),
    forecast: { models: r.forecast.models.map((m) => ({ name: m.name, mape: num(m.mape), coverage80: num(m.coverage80) })) },
  };
}

export function renderBacktestSvg(r: BacktestResult): string {
  if (!r.chart) throw new Error("the backtest ran without chart data");
  return renderChart(r.chart);
}

const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : "n/a");

/** A human-readable report (what scripts/backtest.ts prints). */
export function formatBacktest(r: BacktestResult): string {
  const lines: string[] = [];
  lines.push(`trace ${r.trace}: ${r.intervalMinutes} min interval, service ${r.service.name} (${r.service.range.min}-${r.service.range.max} replicas, stack ${r.service.stack})`);
  lines.push(`target utilisation u = ${r.capacity.targetUtilization} (${r.service.targetSource})`);
  lines.push(`capacity per replica C = ${r.capacity.perReplica.toPrecision(4)}: ${r.capacity.source}`);
  lines.push(`HPA: ${r.settings.tickSeconds} s sync, ${r.settings.metricDelaySeconds} s metric delay, ${r.settings.podStartSeconds} s pod start; predictive floor (the service's path) covers ${r.settings.coverSteps} buckets, step ≤ +${r.settings.maxStepUp}/−${r.settings.maxStepDown} per ${r.settings.stepMinutes} min, confidence ≥ ${r.settings.confidenceThreshold}, in force ${r.settings.applyDelaySeconds} s after the decision`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push("");
  lines.push("policy                 replica-hours  x oracle  under-provisioned  worst shortfall");
  for (const p of r.policies) {
    lines.push(`${p.name.padEnd(21)}  ${p.replicaHours.toFixed(1).padStart(13)}  ${p.costRatioToOracle.toFixed(3).padStart(8)}  ${pct(p.underProvisionedShare, 3).padStart(17)}  ${String(p.worstShortfall).padStart(15)}`);
  }
  lines.push("");
  lines.push(`forecast accuracy ${r.settings.horizonMinutes} minutes ahead, rolling ${r.settings.stepMinutes}-minute origins (only past data; refitted daily):`);
  lines.push("model            MAPE   coverage80      n");
  for (const m of r.forecast.models) lines.push(`${m.name.padEnd(15)} ${pct(m.mape, 1).padStart(6)}  ${pct(m.coverage80, 1).padStart(10)}  ${String(m.n).padStart(6)}`);
  const rp = r.replay;
  const buckets = Object.values(rp.fallbacks).reduce((a, b) => a + b, 0);
  lines.push("");
  lines.push(`predictive decisions: ${rp.fits} fits (${rp.fitSeconds.toFixed(1)} s CPU), ${rp.updates} bucket updates (${rp.forecastSeconds.toFixed(1)} s CPU); fallbacks to reactive: ${Object.entries(rp.fallbacks).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(", ") || "none"} (${buckets} buckets)`);
  const w = Object.entries(rp.meanWeights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
  if (w) lines.push(`mean ensemble weights: ${w}`);
  const ex = Object.entries(rp.excludedDays).map(([k, v]) => `${k} ${v}`).join(", ");
  if (ex) lines.push(`days a model was excluded (guard, fit failure or too little history): ${ex}`);
  const dr = Object.entries(rp.droppedOrigins).map(([k, v]) => `${k} ${v}`).join(", ");
  if (dr) lines.push(`origins a model was dropped by the guard: ${dr}`);
  lines.push(`time: forecasting ${r.seconds.forecast.toFixed(1)} s, simulation ${r.seconds.simulate.toFixed(1)} s`);
  return lines.join("\n");
}
