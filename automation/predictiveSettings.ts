/**
 * The predictive settings, read in ONE place for the service (predict.ts) and the backtest
 * (automation/backtest/): from the automation configuration (`automation/config/<stack>.yaml`,
 * section `predictive`) and the stack's settings. Nothing here is a second copy of a number:
 *
 * - the forecast options (step 15 min, horizon `horizonMinutes`, training window `historyDays`,
 *   the peak quantile τ = `peakQuantile` as the asymmetric cost τ : 1 − τ, the stack's calendar);
 * - the engine's settings (buckets covered `coverBuckets`, `flatMinutes`);
 * - the decision's settings (threshold, step limits) and the floor minimum of the active profile;
 * - the capacity model: the load one replica carries at 100% = the signal's per-pod target / u,
 *   u = the service's CPU target utilisation (catalog), else 0.7. The oracle, the floor and the
 *   under-provisioning count of the backtest use the same C.
 */
import { Cron } from "croner";
import { serviceByName } from "../lib/catalog/services";
import type { AutomationConfig, ScheduledProfile } from "./config";
import { resolveForecastOptions, type ForecastOptions } from "./forecast/options";
import { defaultLiveSettings, type LiveSettings } from "./forecast/live";
import { ceilingFor, getPath } from "./overrides";
import { Scheduler } from "./scheduler";

/** Forecast bucket, minutes: the collection interval (collector.schedule `*\/15`). */
export const forecastStepMinutes = 15;

/** Target utilisation u when the catalog gives the service no CPU target. */
export const defaultTargetUtilization = 0.7;

export interface DecisionSettings {
  readonly stepMinutes: number;
  /** Validated forecast horizon, buckets (H). */
  readonly horizonSteps: number;
  /** Buckets the floor covers from the current one. */
  readonly coverSteps: number;
  readonly peakQuantile: number;
  readonly confidenceThreshold: number;
  readonly maxStepUp: number;
  readonly maxStepDown: number;
  readonly flatMinutes: number;
  /** From a decision to the floor in force, seconds. */
  readonly applyDelaySeconds: number;
  readonly historyDays: number;
}

export function decisionSettings(config: AutomationConfig): DecisionSettings {
  const p = config.predictive;
  if (p.horizonMinutes % forecastStepMinutes !== 0) throw new Error(`predictive.horizonMinutes = ${p.horizonMinutes}: must be a multiple of the ${forecastStepMinutes}-minute bucket`);
  return {
    stepMinutes: forecastStepMinutes,
    horizonSteps: p.horizonMinutes / forecastStepMinutes,
    coverSteps: p.coverBuckets,
    peakQuantile: p.peakQuantile,
    confidenceThreshold: p.confidenceThreshold,
    maxStepUp: p.maxStepUp,
    maxStepDown: p.maxStepDown,
    flatMinutes: p.flatMinutes,
    applyDelaySeconds: p.applyDelaySeconds,
    historyDays: p.historyDays,
  };
}

/** The ensemble's options from the settings and the stack's calendar (plus extra holidays, e.g. a trace's). */
export function forecastOptionsFor(config: AutomationConfig, extra: { holidays?: readonly string[]; overrides?: Record<string, unknown> } = {}): ForecastOptions {
  const d = decisionSettings(config);
  const sched = config.base.settings.schedules;
  return resolveForecastOptions({
    ...(extra.overrides ?? {}),
    stepMinutes: d.stepMinutes,
    horizonSteps: d.horizonSteps,
    trainingDays: d.historyDays,
    confidenceThreshold: d.confidenceThreshold,
    // τ = under / (under + over).
    peakCostUnder: d.peakQuantile / (1 - d.peakQuantile),
    peakCostOver: 1,
    calendar: { timezone: sched.timezone, businessHours: sched.businessHours, holidays: [...sched.holidays, ...(extra.holidays ?? [])] },
  });
}

export function liveSettingsFor(config: AutomationConfig): LiveSettings {
  const d = decisionSettings(config);
  return { ...defaultLiveSettings, coverSteps: d.coverSteps, flatMinutes: d.flatMinutes };
}

/** u: the service's catalog CPU target utilisation, else 0.7. */
export function targetUtilizationOf(service: string): { u: number; source: string } {
  const cpu = serviceByName(service).signals.find((s) => s.type === "cpu");
  return cpu && cpu.type === "cpu"
    ? { u: cpu.targetUtilizationPercent / 100, source: `catalog CPU target ${cpu.targetUtilizationPercent}%` }
    : { u: defaultTargetUtilization, source: `no CPU target in the catalog: default ${defaultTargetUtilization * 100}%` };
}

/** C: the load one replica carries at 100%, from the signal's per-pod target (the HPA's) and u. */
export function capacityPerReplica(service: string, perPodTarget: number): number {
  return perPodTarget / targetUtilizationOf(service).u;
}

/**
 * The scheduled profile in force at any time of [fromMs, toMs] (the backtest): every profile's runs
 * over the span (holidays honoured, as the scheduler does), the latest at or before t wins (ties: the
 * later profile in the file). One pass of the schedules instead of a search per bucket.
 */
export function scheduledProfileTimeline(config: AutomationConfig, fromMs: number, toMs: number): (tMs: number) => ScheduledProfile | undefined {
  const sched = new Scheduler({ config, store: undefined as never, applier: undefined as never, logger: undefined as never, lookbackDays: 14 });
  const runs: { at: number; profile: ScheduledProfile }[] = [];
  for (const profile of config.profiles) {
    const first = sched.previousRun(profile, new Date(fromMs));
    if (first) runs.push({ at: first.getTime(), profile });
    const job = new Cron(profile.schedule, { timezone: config.timezone, paused: true });
    try {
      let ref = new Date(fromMs);
      for (;;) {
        const batch = job.nextRuns(256, ref);
        if (batch.length === 0) break;
        for (const at of batch) if (at.getTime() <= toMs && sched.runsAt(profile, at)) runs.push({ at: at.getTime(), profile });
        const last = batch[batch.length - 1]!;
        if (last.getTime() > toMs) break;
        ref = last;
      }
    } finally {
      job.stop();
    }
  }
  runs.sort((a, b) => a.at - b.at || a.profile.order - b.profile.order);
  return (t) => {
    let lo = 0;
    let hi = runs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]!.at <= t) (found = mid), (lo = mid + 1);
      else hi = mid - 1;
    }
    return found >= 0 ? runs[found]!.profile : undefined;
  };
}

/** The scheduled profile in force at `at` by the schedule (the service applies it at that time). */
export function scheduledProfileAt(config: AutomationConfig, at: Date): ScheduledProfile | undefined {
  // Only the schedule arithmetic of the scheduler is used (no store, no applier).
  const s = new Scheduler({ config, store: undefined as never, applier: undefined as never, logger: undefined as never, lookbackDays: 14 });
  return s.currentRun(at)?.profile;
}

/** The floor's range for a service under a profile: its minimum (the profile's, else the stack file's) and maximum (within the policy ceiling). */
export function serviceRange(config: AutomationConfig, service: string, profileName: string | null | undefined): { min: number; max: number; policyCeiling: number } {
  const profile = profileName ? config.profiles.find((x) => x.name === profileName) : undefined;
  const base = config.base.settings.services;
  const min = profile?.overrides[`services.${service}.minReplicas`] ?? (getPath(base, `${service}.minReplicas`) as number);
  const max = profile?.overrides[`services.${service}.maxReplicas`] ?? (getPath(base, `${service}.maxReplicas`) as number);
  return { min, max, policyCeiling: ceilingFor(config.policyLimits, `services.${service}.maxReplicas`) ?? Number.POSITIVE_INFINITY };
}

/**
 * The floor's range over [fromMs, toMs] as the service computes it: the minimum of the scheduled
 * profile in force (the service leaves it when the floor falls back), the stack's maximum. One
 * function for the backtest (automation/backtest/run.ts) and the cost replay (automation/replay/).
 */
export function floorRangeTimeline(config: AutomationConfig, service: string, range: { min: number; max: number }, fromMs: number, toMs: number, o: { ignoreProfiles?: boolean } = {}): (tMs: number) => { min: number; max: number } {
  const profileAt = scheduledProfileTimeline(config, fromMs, toMs);
  const profileMin = new Map<string, number>();
  return (t) => {
    if (o.ignoreProfiles) return range;
    const p = profileAt(t);
    if (!p) return range;
    let m = profileMin.get(p.name);
    if (m === undefined) profileMin.set(p.name, (m = Math.min(range.max, serviceRange(config, service, p.name).min)));
    return { min: m, max: range.max };
  };
}
