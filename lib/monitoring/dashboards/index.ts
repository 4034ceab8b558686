/**
 * The autoscaling dashboard suite (design: "Monitoring and Alerting" → "Dashboard Suite" and
 * "Comprehensive Metrics") as Grafana dashboard JSON models.
 *
 * Pure functions: no Pulumi, no I/O. `buildDashboards` returns the four dashboards (executive, operations,
 * cost, predictive); `dashboardConfigMapData` turns one into the `data` of a ConfigMap that the Grafana
 * dashboard sidecar of kube-prometheus-stack picks up when the ConfigMap carries `GRAFANA_DASHBOARD_LABEL`.
 *
 * Every PromQL expression is checked against the deployed exporters' catalogs (the PromQL contract,
 * test/metricsContract.test.ts) and parsed with promtool.
 *
 * Label conventions the queries rely on (the components that deploy the workloads and scrape configs must
 * keep them true):
 * - a catalog service's `name` is at once its Deployment name, its Kubernetes Service name (so the
 *   ServiceMonitor-added `service` label of `http_requests_total`/`http_request_duration_seconds` equals it),
 *   its ScaledObject name (KEDA label `scaledObject`), and its HPA name (KEDA-created HPAs are named
 *   `keda-hpa-<scaledObject>`; both forms are matched);
 * - the automation service's metrics carry the target service in the label `service`; its ServiceMonitor
 *   therefore needs `honorLabels: true`, or Prometheus renames that label to `exported_service`;
 * - `pyairtable_autoscaler_forecast_load{signal}` is the forecast of the collector's series `signal`
 *   (lib/monitoring/signals.ts: request rate for HPA services, KEDA scaler values for queue workers) and
 *   is compared with that same query; its `horizon` label is a Prometheus duration (e.g. "15m");
 * - kube-state-metrics allow-lists the node labels named in `DashboardNodeLabels` (`metricLabelsAllowlist`).
 */
export * from "./model";
import type { DashboardOptions, GrafanaDashboard } from "./model";
import { resolve } from "./panels";
import { executiveDashboard } from "./executive";
import { operationsDashboard } from "./operations";
import { costDashboard } from "./cost";
import { predictiveDashboard } from "./predictive";

/** Builds the four dashboards: executive, operations, cost, predictive (in that order). */
export function buildDashboards(opts: DashboardOptions): GrafanaDashboard[] {
  const ctx = resolve(opts);
  return [executiveDashboard(ctx), operationsDashboard(ctx), costDashboard(ctx), predictiveDashboard(ctx)];
}

