/**
 * The automation service's Prometheus metrics (prom-client), named by the metric contract
 * (`automationServiceMetrics` in lib/monitoring/metricNames.ts) with the labels the alert rules and
 * dashboards query.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { automationServiceMetrics as names } from "../lib/monitoring/metricNames";

export const updateTriggers = ["scheduled", "predictive", "emergency"] as const;
export const updateOutcomes = ["succeeded", "failed", "refused", "no-change"] as const;
export const budgetPeriods = ["daily", "weekly", "monthly"] as const;

export class AutomationMetrics {
  readonly registry: Registry;
  /** Decisions by service, kind (scheduled|predictive|emergency) and outcome. */
  readonly decisionsTotal: Counter<"service" | "kind" | "outcome">;
  readonly forecastMape: Gauge<"service" | "model">;
  readonly forecastIntervalCoverage: Gauge<"service" | "model">;
  readonly forecastConfidence: Gauge<"service">;
  /** Realised relative peak error at the decision horizon, by service and model. */
  readonly forecastPeakError: Gauge<"service" | "model">;
  /** 1 for the reason a service's predictive floor fell back (one series per service at a time). */
  readonly predictiveFallback: Gauge<"service" | "reason">;
  /** Forecast load by service, signal, bound (point|lower|upper|peak) and horizon (Prometheus duration). */
  readonly forecastLoad: Gauge<"service" | "signal" | "bound" | "horizon">;
  readonly predictiveFloorReplicas: Gauge<"service">;
  readonly forecastLastSuccessTimestamp: Gauge;
  readonly updateDurationSeconds: Histogram<"trigger">;
  /** Stack updates by trigger and outcome (succeeded|failed|refused|no-change). */
  readonly updatesTotal: Counter<"trigger" | "outcome">;
  readonly leaderLockHeld: Gauge;
  readonly scheduledProfileActive: Gauge<"profile">;
  readonly scheduledProfileAppliedTotal: Counter<"profile" | "outcome">;
  readonly budgetUtilisation: Gauge<"period">;
  readonly budgetSpendUsd: Gauge<"period">;
  readonly budgetLimitUsd: Gauge<"period">;
  readonly costEstimateMonthlyUsd: Gauge<"component">;
  readonly emergencyProfileActive: Gauge;

  constructor(opts: { defaultMetrics?: boolean; profiles?: readonly string[] } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const r = [registry];
    this.decisionsTotal = new Counter({ name: names.scalingDecisionsTotal, help: "Scaling decisions by service, kind (scheduled|predictive|emergency) and outcome.", labelNames: ["service", "kind", "outcome"], registers: r });
    this.forecastMape = new Gauge({ name: names.forecastMape, help: "Realised MAPE (0-1) of the forecasts as issued, 1 h ahead, over the last day, by service (worst signal) and model.", labelNames: ["service", "model"], registers: r });
    this.forecastIntervalCoverage = new Gauge({ name: names.forecastIntervalCoverage, help: "Share of realised bucket means inside the 80% interval issued 1 h before, over the last day, by service (worst signal) and model.", labelNames: ["service", "model"], registers: r });
    this.forecastPeakError = new Gauge({ name: names.forecastPeakError, help: "Realised mean relative error (actual − forecast) / forecast of the issued peak forecasts at the decision horizon, by service and model.", labelNames: ["service", "model"], registers: r });
    this.predictiveFallback = new Gauge({ name: names.predictiveFallback, help: "1 for the reason a service's predictive floor fell back to reactive scaling, by service and reason.", labelNames: ["service", "reason"], registers: r });
    this.forecastConfidence = new Gauge({ name: names.forecastConfidence, help: "Decision confidence (0-1) by service.", labelNames: ["service"], registers: r });
    this.forecastLoad = new Gauge({ name: names.forecastLoad, help: "Forecast load by service, signal, bound (point|lower|upper|peak) and horizon.", labelNames: ["service", "signal", "bound", "horizon"], registers: r });
    this.predictiveFloorReplicas = new Gauge({ name: names.predictiveFloorReplicas, help: "Predictive replica floor by service.", labelNames: ["service"], registers: r });
    this.forecastLastSuccessTimestamp = new Gauge({ name: names.forecastLastSuccessTimestamp, help: "Unix time of the last successful forecast run.", registers: r });
    this.updateDurationSeconds = new Histogram({
      name: names.updateDurationSeconds,
      help: "pulumi up duration by trigger.",
      labelNames: ["trigger"],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers: r,
    });
    this.updatesTotal = new Counter({ name: names.updatesTotal, help: "Stack updates by trigger and outcome (succeeded|failed|refused|no-change).", labelNames: ["trigger", "outcome"], registers: r });
    this.leaderLockHeld = new Gauge({ name: names.leaderLockHeld, help: "1 when this replica holds the leader lock.", registers: r });
    this.scheduledProfileActive = new Gauge({ name: names.scheduledProfileActive, help: "1 for the profile currently applied.", labelNames: ["profile"], registers: r });
    this.scheduledProfileAppliedTotal = new Counter({ name: names.scheduledProfileAppliedTotal, help: "Scheduled profile applications by profile and outcome.", labelNames: ["profile", "outcome"], registers: r });
    this.budgetUtilisation = new Gauge({ name: names.budgetUtilisation, help: "Spend / limit (0-1+) by period (daily|weekly|monthly).", labelNames: ["period"], registers: r });
    this.budgetSpendUsd = new Gauge({ name: names.budgetSpendUsd, help: "Spend so far in the period, USD.", labelNames: ["period"], registers: r });
    this.budgetLimitUsd = new Gauge({ name: names.budgetLimitUsd, help: "Budget limit for the period, USD.", labelNames: ["period"], registers: r });
    this.costEstimateMonthlyUsd = new Gauge({ name: names.costEstimateMonthlyUsd, help: "Cost model's monthly estimate by component, USD.", labelNames: ["component"], registers: r });
    this.emergencyProfileActive = new Gauge({ name: names.emergencyProfileActive, help: "1 while the budget emergency profile is applied.", registers: r });

    // Series that exist from the start, so "absent" and rate() queries behave before the first event.
    this.leaderLockHeld.set(0);
    this.emergencyProfileActive.set(0);
    for (const t of updateTriggers) for (const o of updateOutcomes) this.updatesTotal.inc({ trigger: t, outcome: o }, 0);
    for (const p of opts.profiles ?? []) this.scheduledProfileActive.set({ profile: p }, 0);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "pyairtable_autoscaler_process_" });
  }

  /**
   * Gauges only the leader keeps current: forecasts, predictive floors and the budget. A replica
   * that is not (or no longer) the leader must not export its last values, or `max by (...)`
   * queries over the replicas pick up stale figures.
   */
  leaderOnlyGauges(): Gauge<string>[] {
    return [this.forecastMape, this.forecastIntervalCoverage, this.forecastPeakError, this.predictiveFallback, this.forecastConfidence, this.forecastLoad, this.predictiveFloorReplicas, this.budgetUtilisation, this.budgetSpendUsd, this.budgetLimitUsd] as Gauge<string>[];
  }

  /** Reports the leader lock; when not leading, drops the leader-only gauges' series. */
  setLeader(leading: boolean): void {
    this.leaderLockHeld.set(leading ? 1 : 0);
    if (!leading) for (const g of this.leaderOnlyGauges()) g.reset();
  }

  /** Exports why a service's floor fell back (undefined: it did not); the previous reason's series goes. */
  setPredictiveFallback(service: string, reason: string | undefined): void {
    const prev = this.fallbackReasons.get(service);
    if (prev !== undefined && prev !== reason) this.predictiveFallback.remove({ service, reason: prev });
    if (reason === undefined) this.fallbackReasons.delete(service);
    else {
      this.fallbackReasons.set(service, reason);
      this.predictiveFallback.set({ service, reason }, 1);
    }
  }
  private readonly fallbackReasons = new Map<string, string>();

  /** Marks one profile as active (1) and every other known one as 0. */
  setActiveProfile(profile: string | null, known: readonly string[]): void {
    for (const p of known) this.scheduledProfileActive.set({ profile: p }, p === profile ? 1 : 0);
  }
}
