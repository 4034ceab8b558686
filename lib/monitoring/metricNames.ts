/**
 * Metric names the project's own code refers to by constant: the automation service's (its
 * prom-client registry, automation/metrics.ts, registers them), the application services' documented
 * contract, the PgBouncer exporter series the add-on reads and prometheus-adapter's derived metrics.
 *
 * Which metrics exist, with which labels and values, is not listed here: the PromQL contract
 * (lib/monitoring/promqlContract.ts, test/metricsContract.test.ts) checks every rule, dashboard,
 * adapter rule and KEDA trigger of the rendered stacks against the deployed exporters' catalogs
 * (../shared/contracts/metrics, contracts/metrics) and the automation service's own registry.
 */

/**
 * Metrics exported by the automation service (automation/, prom-client). Names follow Prometheus
 * conventions: base units, `_total` for counters, `_ratio` for 0-1 fractions.
 */
export const automationServiceMetrics = {
  scalingDecisionsTotal: "pyairtable_autoscaler_decisions_total",
  forecastMape: "pyairtable_autoscaler_forecast_mape_ratio",
  forecastIntervalCoverage: "pyairtable_autoscaler_forecast_interval_coverage_ratio",
  forecastConfidence: "pyairtable_autoscaler_forecast_confidence_ratio",
  forecastLoad: "pyairtable_autoscaler_forecast_load",
  forecastPeakError: "pyairtable_autoscaler_forecast_peak_error_ratio",
  predictiveFallback: "pyairtable_autoscaler_predictive_fallback",
  predictiveFloorReplicas: "pyairtable_autoscaler_predictive_floor_replicas",
  forecastLastSuccessTimestamp: "pyairtable_autoscaler_forecast_last_success_timestamp_seconds",
  updateDurationSeconds: "pyairtable_autoscaler_update_duration_seconds",
  updatesTotal: "pyairtable_autoscaler_updates_total",
  leaderLockHeld: "pyairtable_autoscaler_leader_lock_held",
  scheduledProfileActive: "pyairtable_autoscaler_scheduled_profile_active",
  scheduledProfileAppliedTotal: "pyairtable_autoscaler_scheduled_profile_applied_total",
  budgetUtilisation: "pyairtable_autoscaler_budget_utilisation_ratio",
  budgetSpendUsd: "pyairtable_autoscaler_budget_spend_usd",
  budgetLimitUsd: "pyairtable_autoscaler_budget_limit_usd",
  costEstimateMonthlyUsd: "pyairtable_autoscaler_cost_estimate_monthly_usd",
  emergencyProfileActive: "pyairtable_autoscaler_emergency_profile_active",
} as const;

/** Request metrics the application services expose (and prometheus-adapter turns into custom metrics). */
export const applicationMetrics = {
  httpRequestsTotal: "http_requests_total",
  httpRequestDurationSeconds: "http_request_duration_seconds",
  dbConnectionsInUse: "db_connections_in_use",
} as const;

/**
 * The application services' metric contract (what each PyAirtable service must expose on its
 * `metrics` port): names, types and the labels the service itself sets. The scrape adds the
 * PodMonitor's target labels (namespace, pod, container, ...) and `service` (relabelled from the
 * pod's `app.kubernetes.io/name`). The PromQL contract check reads this table like an exporter's catalog.
 */
export const applicationMetricContract: readonly { name: string; type: "counter" | "gauge" | "histogram"; labels: string[]; help: string }[] = [
  { name: applicationMetrics.httpRequestsTotal, type: "counter", labels: ["code", "method"], help: "HTTP requests served, by status code and method." },
  { name: applicationMetrics.httpRequestDurationSeconds, type: "histogram", labels: ["code", "method"], help: "HTTP request latency, seconds." },
  { name: applicationMetrics.dbConnectionsInUse, type: "gauge", labels: [], help: "Database connections this pod holds." },
];

/** PgBouncer exporter series (contracts/metrics/pgbouncer-exporter catalog), for rules, dashboards and the adapter. */
export const pgbouncerExporterMetrics = {
  up: "pgbouncer_up",
  clientActiveConnections: "pgbouncer_pools_client_active_connections",
  clientWaitingConnections: "pgbouncer_pools_client_waiting_connections",
  serverActiveConnections: "pgbouncer_pools_server_active_connections",
  serverIdleConnections: "pgbouncer_pools_server_idle_connections",
  clientMaxWaitSeconds: "pgbouncer_pools_client_maxwait_seconds",
  maxClientConnections: "pgbouncer_config_max_client_connections",
} as const;

/**
 * Custom metrics (custom.metrics.k8s.io) that prometheus-adapter derives for the add-ons' own HPAs.
 * They are not Prometheus series: HPAs name them, PromQL cannot query them.
 * The application services' custom metrics are `customMetricNames` in lib/catalog/cluster.ts.
 */
export const addonCustomMetricNames = {
  /** (client connections active + waiting) / max_client_conn per PgBouncer pod, 0-1. */
  pgbouncerClientConnectionUtilisation: "pgbouncer_client_connection_utilisation",
} as const;
