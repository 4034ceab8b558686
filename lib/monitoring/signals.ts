/**
 * What the collector samples and the predictor forecasts, derived from the service catalog: one
 * series per service and signal, with its PromQL query and, for capacity signals, the load one
 * replica is sized for (so a forecast load turns into replicas).
 *
 * Label conventions (see lib/monitoring/dashboards.ts): a service's name is its Kubernetes Service
 * name (the `service` label of the application metrics), its Deployment name and its ScaledObject
 * name (the `scaledObject` label of KEDA's metrics); KEDA numbers a ScaledObject's triggers in
 * order (`triggerIndex`, the label KEDA 2.13+ exports; it was `scalerIndex` before), and the catalog's signals are the triggers in that order.
 */
import { serviceCatalog, type ServiceDefinition, type Signal } from "../catalog/services";
import { applicationMetrics } from "./metricNames";

export interface SeriesDefinition {
  readonly service: string;
  /** Stable id in the store, e.g. `requests_per_second`, `redis_list:files:requests`. */
  readonly signal: string;
  readonly query: string;
  /** Load one replica is sized for; undefined for signals that do not size replicas (CPU, memory, latency). */
  readonly perReplica?: number;
}

export function signalId(signal: Signal): string {
  switch (signal.type) {
    case "cpu":
      return "cpu_cores";
    case "memory":
      return "memory_bytes";
    case "requestsPerSecond":
      return "requests_per_second";
    case "latencyP95":
      return "latency_p95_seconds";
    case "dbConnections":
      return "db_connections";
    case "redisList":
      return `redis_list:${signal.listName}`;
    case "kafkaLag":
      return `kafka_lag:${signal.topic}`;
    case "sqsQueue":
      return `sqs_queue:${signal.queueName}`;
    case "prometheus":
      return `prometheus:${signal.metricName}`;
  }
}

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export function seriesFor(service: ServiceDefinition): SeriesDefinition[] {
  const ns = esc(service.namespace);
  const name = esc(service.name);
  const app = `namespace="${ns}", service="${name}"`;
  const pods = `namespace="${ns}", pod=~"${name}-.*", container="${esc(service.container)}"`;
  const out: SeriesDefinition[] = [];
  // KEDA trigger index: event signals in catalog order (the business-hours cron trigger comes last).
  let triggerIndex = 0;
  for (const signal of service.signals) {
    const id = signalId(signal);
    switch (signal.type) {
      case "cpu":
        out.push({ service: service.name, signal: id, query: `sum(rate(container_cpu_usage_seconds_total{${pods}}[5m]))` });
        break;
      case "memory":
        out.push({ service: service.name, signal: id, query: `sum(container_memory_working_set_bytes{${pods}})` });
        break;
      case "requestsPerSecond":
        out.push({ service: service.name, signal: id, query: `sum(rate(${applicationMetrics.httpRequestsTotal}{${app}}[5m]))`, perReplica: signal.targetPerPod });
        break;
      case "latencyP95":
        out.push({
          service: service.name,
          signal: id,
          query: `histogram_quantile(0.95, sum by (le) (rate(${applicationMetrics.httpRequestDurationSeconds}_bucket{${app}}[5m])))`,
        });
        break;
      case "dbConnections":
        out.push({ service: service.name, signal: id, query: `sum(${applicationMetrics.dbConnectionsInUse}{${app}})`, perReplica: signal.targetPerPod });
        break;
      default: {
        const perReplica =
          signal.type === "redisList" ? signal.targetPerReplica : signal.type === "kafkaLag" ? signal.lagPerReplica : signal.type === "sqsQueue" ? signal.targetPerReplica : signal.threshold;
        out.push({
          service: service.name,
          signal: id,
          // One series per scaler; max() tolerates duplicate series from several operator replicas.
          query: `max(keda_scaler_metrics_value{namespace="${ns}", scaledObject="${name}", triggerIndex="${triggerIndex}"})`,
          perReplica,
        });
        triggerIndex++;
      }
    }
  }
  return out;
}

/** Every series of the catalog. */
export function catalogSeries(services: readonly ServiceDefinition[] = serviceCatalog): SeriesDefinition[] {
  return services.flatMap(seriesFor);
}
