/**
 * The service catalog: the platform's eleven scaled services, what scales them and on which signals.
 * Every consumer reads this one table: the WorkloadScaling component (HPA / ScaledObject / VPA / PDB),
 * the settings schema (replica ranges per stack), the policy pack, dashboards and the automation service.
 *
 * Replica ranges are per environment and live in the stack files (`autoscaling:services`); the
 * per-service ceilings of the design are enforced independently by the policy pack.
 */
import type { WorkloadClass } from "./workloadClasses";

/** A scaling signal. Targets are per replica unless stated otherwise. */
export type Signal =
  /** Average CPU use as a percent of the pods' CPU requests. */
  | { readonly type: "cpu"; readonly targetUtilizationPercent: number }
  /** Average memory use as a percent of the pods' memory requests. */
  | { readonly type: "memory"; readonly targetUtilizationPercent: number }
  /** HTTP requests per second per pod (custom metric from prometheus-adapter). */
  | { readonly type: "requestsPerSecond"; readonly targetPerPod: number }
  /** 95th percentile request latency, milliseconds (custom metric from prometheus-adapter). */
  | { readonly type: "latencyP95"; readonly targetMilliseconds: number }
  /** Database connections in use per pod (custom metric from prometheus-adapter). */
  | { readonly type: "dbConnections"; readonly targetPerPod: number }
  /** Length of a Redis list (a queue; Celery queues are Redis lists), items per replica. */
  | { readonly type: "redisList"; readonly listName: string; readonly targetPerReplica: number }
  /** Kafka consumer-group lag, messages per replica. */
  | { readonly type: "kafkaLag"; readonly topic: string; readonly consumerGroup: string; readonly lagPerReplica: number }
  /** SQS queue depth (S3 event notifications), messages per replica. */
  | { readonly type: "sqsQueue"; readonly queueName: string; readonly targetPerReplica: number }
  /** Any Prometheus query (its metrics must be in a deployed exporter's catalog), value per replica. */
  | { readonly type: "prometheus"; readonly metricName: string; readonly query: string; readonly threshold: number };

export type SignalType = Signal["type"];

/** Signals an HPA (autoscaling/v2) expresses natively or through prometheus-adapter. */
export const hpaSignalTypes: readonly SignalType[] = ["cpu", "memory", "requestsPerSecond", "latencyP95", "dbConnections"];
/** Signals that exist only as KEDA scalers (event sources). */
export const eventSignalTypes: readonly SignalType[] = ["redisList", "kafkaLag", "sqsQueue", "prometheus"];
/** Signals on the pods' own resource use: they cannot wake a service from zero replicas. */
export const resourceSignalTypes: readonly SignalType[] = ["cpu", "memory"];

export type ScalerKind = "hpa" | "keda";

export interface ServiceDefinition {
  /** Stable identifier, also the Deployment name and the key in `autoscaling:services`. */
  readonly name: string;
  /** Human name as in the design. */
  readonly displayName: string;
  readonly namespace: string;
  /** Node capacity the service runs on; decides its spot share. */
  readonly workloadClass: Exclude<WorkloadClass, "system">;
  /** Main container name (VPA container policy, resource metrics). */
  readonly container: string;
  readonly scaler: ScalerKind;
  /** Kept at its floor by the budget emergency profile instead of being scaled to its minimum. */
  readonly critical: boolean;
  readonly signals: readonly Signal[];
}

const apiNamespace = "pyairtable-api";
const workerNamespace = "pyairtable-workers";

export const serviceCatalog = [
  {
    name: "api-gateway",
    displayName: "API Gateway",
    namespace: apiNamespace,
    workloadClass: "api",
    container: "api-gateway",
    scaler: "hpa",
    critical: true,
    signals: [
      { type: "cpu", targetUtilizationPercent: 70 },
      { type: "memory", targetUtilizationPercent: 80 },
      { type: "requestsPerSecond", targetPerPod: 100 },
      { type: "latencyP95", targetMilliseconds: 500 },
    ],
  },
  {
    name: "platform-services",
    displayName: "Platform Services",
    namespace: apiNamespace,
    workloadClass: "api",
    container: "platform-services",
    scaler: "hpa",
    critical: true,
    signals: [
      { type: "cpu", targetUtilizationPercent: 75 },
      { type: "memory", targetUtilizationPercent: 85 },
      { type: "dbConnections", targetPerPod: 40 },
    ],
  },
  {
    name: "user-services",
    displayName: "User Services",
    namespace: apiNamespace,
    workloadClass: "api",
    container: "user-services",
    scaler: "hpa",
    critical: true,
    // The design names CPU and memory without targets; 70/80 match the API Gateway's.
    signals: [
      { type: "cpu", targetUtilizationPercent: 70 },
      { type: "memory", targetUtilizationPercent: 80 },
    ],
  },
  {
    name: "file-service",
    displayName: "File Services",
    namespace: apiNamespace,
    workloadClass: "api",
    container: "file-service",
    scaler: "keda",
    critical: false,
    // Event signals only: KEDA's fallback (used when a scaler fails) rejects CPU/memory triggers.
    signals: [{ type: "redisList", listName: "files:requests", targetPerReplica: 20 }],
  },
  {
    name: "file-processing",
    displayName: "File Processing",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "file-processing",
    scaler: "keda",
    critical: false,
    signals: [
      { type: "redisList", listName: "files:processing", targetPerReplica: 10 },
      { type: "sqsQueue", queueName: "file-events", targetPerReplica: 10 },
    ],
  },
  {
    name: "saga-orchestrator",
    displayName: "SAGA Orchestrator",
    namespace: workerNamespace,
    workloadClass: "api",
    container: "saga-orchestrator",
    scaler: "keda",
    critical: true,
    signals: [
      { type: "kafkaLag", topic: "saga-events", consumerGroup: "saga-orchestrator", lagPerReplica: 100 },
      { type: "redisList", listName: "saga:pending", targetPerReplica: 50 },
    ],
  },
  {
    name: "ai-llm",
    displayName: "AI/LLM Services",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "ai-llm",
    scaler: "keda",
    critical: false,
    signals: [
      { type: "redisList", listName: "llm:requests", targetPerReplica: 5 },
      {
        // The design scales AI/LLM on "GPU utilization", but the stack has no GPU capacity (no GPU
        // NodePool; the batch pools launch CPU instances) and so no NVIDIA DCGM exporter: a
        // DCGM_FI_DEV_GPU_UTIL trigger would read nothing. The compute signal that exists is the
        // CPU the ai-llm containers burn (cAdvisor, kubelet /metrics/cadvisor). KEDA divides the
        // query's value by the threshold (AverageValue): cores busy / 0.7 gives the replicas that
        // keep each replica near the design's 70% of one core. Absolute cores, not a share of the
        // requests, so the VPA resizing requests in place does not move the signal.
        // When GPU NodePools are added: deploy dcgm-exporter on them, catalog it
        // (contracts/metrics/) and switch this query to DCGM_FI_DEV_GPU_UTIL.
        type: "prometheus",
        metricName: "cpu_cores_busy",
        query: 'sum(rate(container_cpu_usage_seconds_total{namespace="pyairtable-workers", pod=~"ai-llm-.*", container="ai-llm"}[2m]))',
        threshold: 0.7,
      },
    ],
  },
  {
    name: "analytics",
    displayName: "Analytics Services",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "analytics",
    scaler: "keda",
    critical: false,
    signals: [
      { type: "redisList", listName: "analytics:jobs", targetPerReplica: 5 },
      { type: "kafkaLag", topic: "analytics-events", consumerGroup: "analytics", lagPerReplica: 500 },
    ],
  },
  {
    name: "notifications",
    displayName: "Notification Services",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "notifications",
    scaler: "keda",
    critical: false,
    signals: [
      { type: "redisList", listName: "notifications:email", targetPerReplica: 50 },
      { type: "redisList", listName: "notifications:push", targetPerReplica: 100 },
      { type: "redisList", listName: "notifications:webhook", targetPerReplica: 50 },
    ],
  },
  {
    name: "webhooks",
    displayName: "Webhook Services",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "webhooks",
    scaler: "keda",
    critical: true,
    signals: [
      { type: "redisList", listName: "webhooks:delivery", targetPerReplica: 50 },
      { type: "redisList", listName: "webhooks:retry", targetPerReplica: 100 },
    ],
  },
  {
    name: "automation",
    displayName: "Automation Services",
    namespace: workerNamespace,
    workloadClass: "batch",
    container: "automation",
    scaler: "keda",
    critical: false,
    signals: [
      { type: "redisList", listName: "celery", targetPerReplica: 20 },
      { type: "redisList", listName: "automation", targetPerReplica: 20 },
    ],
  },
] as const satisfies readonly ServiceDefinition[];

export type ServiceName = (typeof serviceCatalog)[number]["name"];
export const serviceNames: readonly ServiceName[] = serviceCatalog.map((s) => s.name);

export function serviceByName(name: string): ServiceDefinition {
  const found = (serviceCatalog as readonly ServiceDefinition[]).find((s) => s.name === name);
  if (!found) throw new Error(`unknown service '${name}' (known: ${serviceNames.join(", ")})`);
  return found;
}
