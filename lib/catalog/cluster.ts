/**
 * Names shared by the in-cluster components: namespaces, priority classes, KEDA authentication
 * objects and service addresses. One table, so the add-ons that create these objects and the scaling
 * objects that refer to them cannot drift apart.
 */

/** Namespaces the stack creates, with what runs there. */
export const namespaces = {
  /** Request-serving services (API class). */
  api: "pyairtable-api",
  /** Queue consumers and batch services. */
  workers: "pyairtable-workers",
  /** Stateful helpers in front of the data tier (PgBouncer). */
  data: "pyairtable-data",
  /** The automation service (scheduled, predictive and emergency scaling). */
  automation: "pyairtable-automation",
  /** kube-prometheus-stack, prometheus-adapter, Grafana dashboards, alert rules. */
  monitoring: "monitoring",
  /** KEDA operator and its cluster-wide authentication secrets. */
  keda: "keda",
  /** VPA recommender, updater and admission controller. */
  vpa: "vpa",
  /**
   * node-exporter alone: it needs the host's PID and network namespaces and hostPath mounts
   * (Pod Security `privileged`), so it does not lower `monitoring`'s level.
   */
  nodeExporter: "node-exporter",
  /** External Secrets Operator (controller, webhook, cert controller) and the ClusterSecretStore's service account. */
  externalSecrets: "external-secrets",
  /** cert-manager (controller, webhook, cainjector) and the private CA's key pair. */
  certManager: "cert-manager",
  /** istiod (only with `workloads.istioSidecars`; the CNI node agent runs in kube-system). */
  istio: "istio-system",
} as const;

/** Kubernetes name of a namespace the stack creates. */
export type NamespaceName = (typeof namespaces)[keyof typeof namespaces];

/**
 * The namespaces a stack creates: every one of `namespaces`, except istio-system when the stack
 * runs no sidecars (`workloads.istioSidecars` off: no Istio release, so no empty namespace).
 */
export function stackNamespaces(opts: { readonly istioSidecars: boolean }): NamespaceName[] {
  return Object.values(namespaces).filter((n) => opts.istioSidecars || n !== namespaces.istio);
}

/** Namespaces where application workloads run: resource quotas and limit ranges apply to these. */
export const applicationNamespaces = [namespaces.api, namespaces.workers, namespaces.data, namespaces.automation] as const;

/**
 * Priority classes, highest first (the design's "resource contention" risk): when capacity is short,
 * the scheduler preempts batch work before it touches request serving or the data path.
 */
export const priorityClasses = {
  data: { name: "pyairtable-data", value: 1_000_000, description: "Connection poolers and other data-path pods." },
  api: { name: "pyairtable-api", value: 100_000, description: "Request-serving services." },
  automation: { name: "pyairtable-automation", value: 50_000, description: "The autoscaling automation service." },
  batch: { name: "pyairtable-batch", value: 10_000, description: "Queue consumers and batch work; preempted first." },
} as const;

/**
 * KEDA ClusterTriggerAuthentications (cluster-scoped, so every app namespace can use them; their
 * secrets live in the KEDA namespace). No scaler carries inline credentials.
 */
export const triggerAuthentications = {
  /** Redis AUTH token from a Secret (TLS on). */
  redis: "pyairtable-redis",
  /** MSK with IAM (SASL/OAUTHBEARER via the KEDA operator's IRSA role). */
  kafka: "pyairtable-kafka-msk-iam",
  /** SQS via the KEDA operator's IRSA role. */
  aws: "pyairtable-aws-irsa",
} as const;

/** Secret (in the KEDA namespace) holding the Redis AUTH token under key `password`. */
export const redisAuthSecret = { name: "pyairtable-redis-auth", key: "password" } as const;

/** In-cluster Prometheus that KEDA's prometheus triggers and prometheus-adapter query. */
/** The automation service's HTTP port (API, status page, probes, metrics; the Service and the NetworkPolicies use it). */
export const automationHttpPort = 8080;

export const prometheusUrl = `http://kube-prometheus-stack-prometheus.${namespaces.monitoring}.svc:9090`;

/** SQS queue receiving the file bucket's S3 event notifications (file-processing scales on it). */
export const fileEventsQueueName = "file-events";

/**
 * Custom metrics prometheus-adapter serves (custom.metrics.k8s.io) for the HPAs' Pods metrics.
 * The adapter's rules and the HPAs both read these names.
 */
export const customMetricNames = {
  requestsPerSecond: "http_requests_per_second",
  latencyP95: "http_request_duration_seconds_p95",
  dbConnections: "db_connections_in_use",
} as const;
