/**
 * The metric contract between the exporters this stack deploys and everything that reads them
 * (alert rules, dashboards, prometheus-adapter rules, the automation service).
 *
 * Only metrics listed here may be queried by rules and dashboards: a test checks every PromQL
 * expression against this list, so a dashboard cannot silently point at a metric nobody exports.
 */

/** Who exports a metric: an add-on the stack installs, or the project's own automation service. */
export type MetricSource =
  | "kube-state-metrics"
  | "cadvisor"
  | "keda"
  | "karpenter"
  | "application"
  | "automation-service"
  | "prometheus"
  | "pgbouncer-exporter";

export interface MetricDefinition {
  readonly name: string;
  readonly source: MetricSource;
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
}

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

export const metricCatalog: readonly MetricDefinition[] = [
  // kube-state-metrics (kube-prometheus-stack)
  { name: "kube_horizontalpodautoscaler_spec_max_replicas", source: "kube-state-metrics", type: "gauge", help: "HPA maxReplicas." },
  { name: "kube_horizontalpodautoscaler_spec_min_replicas", source: "kube-state-metrics", type: "gauge", help: "HPA minReplicas." },
  { name: "kube_horizontalpodautoscaler_status_current_replicas", source: "kube-state-metrics", type: "gauge", help: "HPA current replicas." },
  { name: "kube_horizontalpodautoscaler_status_desired_replicas", source: "kube-state-metrics", type: "gauge", help: "HPA desired replicas." },
  { name: "kube_horizontalpodautoscaler_status_condition", source: "kube-state-metrics", type: "gauge", help: "HPA conditions (AbleToScale, ScalingActive, ScalingLimited)." },
  { name: "kube_horizontalpodautoscaler_info", source: "kube-state-metrics", type: "gauge", help: "HPA target reference." },
  { name: "kube_deployment_status_replicas", source: "kube-state-metrics", type: "gauge", help: "Deployment replicas." },
  { name: "kube_deployment_status_replicas_available", source: "kube-state-metrics", type: "gauge", help: "Deployment available replicas." },
  { name: "kube_deployment_spec_replicas", source: "kube-state-metrics", type: "gauge", help: "Deployment desired replicas." },
  { name: "kube_pod_container_resource_requests", source: "kube-state-metrics", type: "gauge", help: "Container resource requests (cpu cores, memory bytes)." },
  { name: "kube_pod_container_resource_limits", source: "kube-state-metrics", type: "gauge", help: "Container resource limits." },
  { name: "kube_pod_info", source: "kube-state-metrics", type: "gauge", help: "Pod info including node." },
  { name: "kube_pod_status_phase", source: "kube-state-metrics", type: "gauge", help: "Pod phase." },
  { name: "kube_node_info", source: "kube-state-metrics", type: "gauge", help: "Node info." },
  { name: "kube_node_labels", source: "kube-state-metrics", type: "gauge", help: "Node labels (allow-listed: workload class, capacity type, instance type)." },
  { name: "kube_node_status_allocatable", source: "kube-state-metrics", type: "gauge", help: "Node allocatable resources." },
  { name: "kube_poddisruptionbudget_status_current_healthy", source: "kube-state-metrics", type: "gauge", help: "PDB healthy pods." },
  { name: "kube_poddisruptionbudget_status_desired_healthy", source: "kube-state-metrics", type: "gauge", help: "PDB desired healthy pods." },
  { name: "kube_customresource_vpa_containerrecommendations_target", source: "kube-state-metrics", type: "gauge", help: "VPA target recommendation (custom-resource-state config)." },
  // cAdvisor (kubelet)
  { name: "container_cpu_usage_seconds_total", source: "cadvisor", type: "counter", help: "Container CPU usage." },
  { name: "container_memory_working_set_bytes", source: "cadvisor", type: "gauge", help: "Container working set." },
  // KEDA operator (v2.x)
  { name: "keda_scaler_detail_errors_total", source: "keda", type: "counter", help: "Errors per scaler (KEDA 2.17+; replaced keda_scaler_errors_total, removed in 2.17.0)." },
  { name: "keda_scaled_object_errors_total", source: "keda", type: "counter", help: "Errors per ScaledObject." },
  { name: "keda_scaler_metrics_value", source: "keda", type: "gauge", help: "Current metric value per scaler." },
  { name: "keda_scaler_active", source: "keda", type: "gauge", help: "1 when the scaler is active." },
  { name: "keda_scaled_object_paused", source: "keda", type: "gauge", help: "1 when the ScaledObject is paused." },
  // Karpenter (v1.x)
  { name: "karpenter_nodes_created_total", source: "karpenter", type: "counter", help: "Nodes created by Karpenter." },
  { name: "karpenter_nodes_terminated_total", source: "karpenter", type: "counter", help: "Nodes terminated by Karpenter." },
  { name: "karpenter_interruption_received_messages_total", source: "karpenter", type: "counter", help: "Interruption queue messages by message_type." },
  { name: "karpenter_nodepools_usage", source: "karpenter", type: "gauge", help: "Resources used per NodePool." },
  { name: "karpenter_nodepools_limit", source: "karpenter", type: "gauge", help: "Limits per NodePool." },
  // Application services
  { name: applicationMetrics.httpRequestsTotal, source: "application", type: "counter", help: "HTTP requests by service and code." },
  { name: applicationMetrics.httpRequestDurationSeconds, source: "application", type: "histogram", help: "HTTP request latency." },
  { name: applicationMetrics.dbConnectionsInUse, source: "application", type: "gauge", help: "Database connections in use per pod." },
  // Prometheus itself
  { name: "up", source: "prometheus", type: "gauge", help: "Scrape target health." },
  { name: "ALERTS", source: "prometheus", type: "gauge", help: "Active alerts." },
  // Automation service
  { name: automationServiceMetrics.scalingDecisionsTotal, source: "automation-service", type: "counter", help: "Scaling decisions by service, kind (scheduled|predictive|emergency) and outcome." },
  { name: automationServiceMetrics.forecastMape, source: "automation-service", type: "gauge", help: "Realised MAPE (0-1) of the forecasts as issued, 1 h ahead, over the last day of completed buckets, by service (worst signal) and model." },
  { name: automationServiceMetrics.forecastIntervalCoverage, source: "automation-service", type: "gauge", help: "Share of realised bucket means inside the 80% interval issued 1 h before, over the last day, by service (worst signal) and model." },
  { name: automationServiceMetrics.forecastConfidence, source: "automation-service", type: "gauge", help: "Decision confidence (0-1) by service." },
  { name: automationServiceMetrics.forecastLoad, source: "automation-service", type: "gauge", help: "Forecast load by service, bound (point|lower|upper|peak) and horizon." },
  { name: automationServiceMetrics.forecastPeakError, source: "automation-service", type: "gauge", help: "Mean relative error (actual − forecast) / forecast of the issued peak forecasts at the decision horizon, realised over the last day, by service and model." },
  { name: automationServiceMetrics.predictiveFallback, source: "automation-service", type: "gauge", help: "1 for the reason the predictive floor of a service fell back to reactive scaling (stale-data, flat-series, no-pattern, warming-up, no-model, low-confidence, …), by service and reason." },
  { name: automationServiceMetrics.predictiveFloorReplicas, source: "automation-service", type: "gauge", help: "Predictive replica floor by service." },
  { name: automationServiceMetrics.forecastLastSuccessTimestamp, source: "automation-service", type: "gauge", help: "Unix time of the last successful forecast run." },
  { name: automationServiceMetrics.updateDurationSeconds, source: "automation-service", type: "histogram", help: "pulumi up duration by trigger." },
  { name: automationServiceMetrics.updatesTotal, source: "automation-service", type: "counter", help: "Stack updates by trigger and outcome (succeeded|failed|refused|no-change)." },
  { name: automationServiceMetrics.leaderLockHeld, source: "automation-service", type: "gauge", help: "1 when this replica holds the leader lock." },
  { name: automationServiceMetrics.scheduledProfileActive, source: "automation-service", type: "gauge", help: "1 for the profile currently applied." },
  { name: automationServiceMetrics.scheduledProfileAppliedTotal, source: "automation-service", type: "counter", help: "Scheduled profile applications by profile and outcome." },
  { name: automationServiceMetrics.budgetUtilisation, source: "automation-service", type: "gauge", help: "Spend / limit (0-1+) by period (daily|weekly|monthly)." },
  { name: automationServiceMetrics.budgetSpendUsd, source: "automation-service", type: "gauge", help: "Spend so far in the period, USD." },
  { name: automationServiceMetrics.budgetLimitUsd, source: "automation-service", type: "gauge", help: "Budget limit for the period, USD." },
  { name: automationServiceMetrics.costEstimateMonthlyUsd, source: "automation-service", type: "gauge", help: "Cost model's monthly estimate by component, USD." },
  { name: automationServiceMetrics.emergencyProfileActive, source: "automation-service", type: "gauge", help: "1 while the budget emergency profile is applied." },
  // PgBouncer exporter (sidecar of the PgBouncer pods, prometheus-community pgbouncer_exporter)
  { name: "pgbouncer_up", source: "pgbouncer-exporter", type: "gauge", help: "1 when the exporter could query PgBouncer's admin console." },
  { name: "pgbouncer_pools_client_active_connections", source: "pgbouncer-exporter", type: "gauge", help: "Client connections linked to a server connection or idle (SHOW POOLS cl_active), by database and user." },
  { name: "pgbouncer_pools_client_waiting_connections", source: "pgbouncer-exporter", type: "gauge", help: "Client connections waiting for a server connection (cl_waiting), by database and user." },
  { name: "pgbouncer_pools_server_active_connections", source: "pgbouncer-exporter", type: "gauge", help: "Server connections linked to a client (sv_active), by database and user." },
  { name: "pgbouncer_pools_server_idle_connections", source: "pgbouncer-exporter", type: "gauge", help: "Idle server connections ready for a client (sv_idle), by database and user." },
  { name: "pgbouncer_pools_client_maxwait_seconds", source: "pgbouncer-exporter", type: "gauge", help: "Age of the oldest unserved client connection (maxwait), by database and user." },
  { name: "pgbouncer_config_max_client_connections", source: "pgbouncer-exporter", type: "gauge", help: "Configured max_client_conn of the PgBouncer instance." },
];

/** PgBouncer exporter series (see the metric catalog), for rules, dashboards and the adapter. */
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
 * They are not Prometheus series (not in the catalog above): HPAs name them, PromQL cannot query them.
 * The application services' custom metrics are `customMetricNames` in lib/catalog/cluster.ts.
 */
export const addonCustomMetricNames = {
  /** (client connections active + waiting) / max_client_conn per PgBouncer pod, 0-1. */
  pgbouncerClientConnectionUtilisation: "pgbouncer_client_connection_utilisation",
} as const;

/** Histograms expose `_bucket`, `_sum` and `_count` series; this lists every queryable series name. */
export function queryableSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const m of metricCatalog) {
    if (m.type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(m.name + suffix);
    } else {
      names.add(m.name);
    }
  }
  return names;
}
