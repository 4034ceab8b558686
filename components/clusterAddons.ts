import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import { addonCharts, addonImages, type AddonChart } from "../lib/catalog/addons";
import {
  applicationNamespaces,
  customMetricNames,
  fileEventsQueueName,
  namespaces,
  priorityClasses,
  prometheusUrl,
  redisAuthSecret,
  triggerAuthentications,
} from "../lib/catalog/cluster";
import { serviceCatalog } from "../lib/catalog/services";
import { workloadClassLabel } from "../lib/catalog/workloadClasses";
import type { Environment, ServiceReplicaSettings } from "../lib/config/settings";
import { addonCustomMetricNames, applicationMetrics, pgbouncerExporterMetrics } from "../lib/monitoring/metricNames";
import { metricsServerResolutionSeconds, prometheusScrapeIntervalSeconds, scalingBehavior } from "../lib/scaling/responseTime";
import { defaultDenyPolicyName, namespaceNetworkPolicies, type NetworkPorts } from "../lib/k8s/networkPolicies";
import { podSecurityLabels } from "../lib/k8s/podSecurity";
import { PodSecurityGroups, type PodSecurityGroupsArgs } from "./podSecurityGroups";
import { postgresPort } from "./database";
import { redisPort } from "./cache";
import { mskIamPort } from "./streaming";
import { monitoringChartValues } from "./monitoring";

/** The custom metric names prometheus-adapter serves; the HPA builder reads the same table. */
export { customMetricNames };

// =============================================================================================
// Names other components rely on
// =============================================================================================

/**
 * Secret in the monitoring namespace holding Alertmanager's configuration under the key
 * `alertmanager.yaml`. The Monitoring component creates it; Alertmanager here only points at it, so
 * receivers (Slack webhook, e-mail) never pass through Helm values.
 */
export const alertmanagerConfigSecretName = "pyairtable-alertmanager-config";

/** Helm release names. kube-prometheus-stack's decides the Prometheus service `prometheusUrl` names. */
export const helmReleaseNames = {
  metricsServer: "metrics-server",
  keda: "keda",
  vpa: "vpa",
  kubePrometheusStack: "kube-prometheus-stack",
  prometheusAdapter: "prometheus-adapter",
} as const;
export type AddonKey = keyof typeof helmReleaseNames;

/** The KEDA operator's service account (its IRSA role reads SQS depth and MSK consumer lag). */
export const kedaOperatorServiceAccount = "keda-operator";

/** Add-ons run on the system node group (on-demand, not managed by Karpenter). */
export const systemNodeSelector = { [workloadClassLabel]: "system" } as const;

/**
 * Non-secret KEDA authentication parameters, in a ConfigMap of the KEDA namespace that the
 * ClusterTriggerAuthentications read (`configMapTargetRef`). Scalers take these as auth parameters:
 * the ScaledObjects need not (and for Redis must not) repeat them.
 */
export const kedaAuthParameters = {
  configMapName: "pyairtable-keda-auth-parameters",
  keys: {
    /** Redis scaler `tls` auth parameter: `enable` (ElastiCache requires TLS). */
    redisTls: "redis-tls",
    /** Kafka scaler `sasl`: `oauthbearer`, with the MSK IAM token provider below. */
    kafkaSasl: "kafka-sasl",
    /** Kafka scaler `saslTokenProvider`: `aws_msk_iam` (signs with the operator's IRSA role). */
    kafkaSaslTokenProvider: "kafka-sasl-token-provider",
    /** Kafka scaler `tls`: `enable` (MSK IAM listeners are TLS only). */
    kafkaTls: "kafka-tls",
  },
} as const;

/** PgBouncer in front of Aurora: what applications connect to, and what it needs. */
export const pgbouncer = {
  name: "pgbouncer",
  namespace: namespaces.data,
  port: 6432,
  metricsPort: 9127,
  /**
   * Secret with PgBouncer's `auth_file` (userlist.txt). It is NOT created here: External Secrets
   * renders it in `pyairtable-data` from the RDS-managed master secret in Secrets Manager (JSON with
   * `username` and `password`; RDS rotates it), with this template:
   *
   *     userlist.txt: |
   *       "{{ .username }}" "{{ .password }}"
   *       "pgbouncer_exporter" ""
   *
   * The second line lets the metrics sidecar into the admin console; pg_hba.conf admits that user
   * only from 127.0.0.1 (the pod itself) and only to the `pgbouncer` console database. No password
   * is invented or stored by this stack. After a rotation, roll the Deployment (or run RELOAD) so
   * PgBouncer re-reads the file.
   */
  authSecret: { name: "pyairtable-pgbouncer-userlist", key: "userlist.txt" },
  /** Admin-console user of the metrics sidecar (stats_users). */
  exporterUser: "pgbouncer_exporter",
  /**
   * Amazon RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) in a
   * ConfigMap of `pyairtable-data`, created by the deploy procedure (README "Before the first
   * production deploy"): PgBouncer verifies Aurora's certificate and host name with it (verify-full).
   */
  serverCaBundle: { configMapName: "rds-ca-bundle", key: "global-bundle.pem" },
  /**
   * `kubernetes.io/tls` Secret with PgBouncer's server certificate for its clients (`tls.crt`,
   * `tls.key`), issued for `pgbouncer.pyairtable-data.svc` by the cluster's issuer (cert-manager or
   * the deploy procedure). Not created here: no private key is generated into the stack state.
   */
  clientTlsSecret: { name: "pgbouncer-tls" },
  labels: {
    "app.kubernetes.io/name": "pgbouncer",
    "app.kubernetes.io/part-of": "pyairtable",
    "app.kubernetes.io/managed-by": "pulumi",
    [workloadClassLabel]: "data",
  },
} as const;

/** Where PgBouncer's TLS material is mounted. */
export const pgbouncerTlsPaths = { serverCaDir: "/etc/pgbouncer-tls/server-ca", clientTlsDir: "/etc/pgbouncer-tls/client" } as const;

/** In-cluster address of PgBouncer (`host:port`). */
export const pgbouncerServiceAddress = `${pgbouncer.name}.${pgbouncer.namespace}.svc.cluster.local:${pgbouncer.port}`;

// =============================================================================================
// Sizing tables
// =============================================================================================

/** Monitoring and controller sizing per environment (the system node group must hold all of it). */
export const addonSizing = {
  prod: {
    /** Replicas of the controllers that can run active/standby or active/active. */
    controllerReplicas: 2,
    /** 15 days of 15 s samples; retentionSize stays under the volume so compaction never fills it. */
    prometheus: { replicas: 2, retention: "15d", retentionSize: "90GB", storageGiB: 100, requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
    alertmanager: { replicas: 2, storageGiB: 5 },
  },
  dev: {
    controllerReplicas: 1,
    prometheus: { replicas: 1, retention: "7d", retentionSize: "18GB", storageGiB: 20, requests: { cpu: "200m", memory: "768Mi" }, limits: { memory: "1536Mi" } },
    alertmanager: { replicas: 1, storageGiB: 1 },
  },
} as const satisfies Record<Environment, unknown>;

/** PgBouncer per environment. Replica range and HPA target; the pool sizes follow from Aurora. */
export interface PgBouncerSizing {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** `max_client_conn` per pod: application connections one PgBouncer accepts. */
  readonly maxClientConnPerPod: number;
  /**
   * Upper bound of `default_pool_size` (server connections per database per pod) regardless of how
   * many Aurora would accept: more concurrent transactions than this per pod only queue inside
   * PostgreSQL instead of inside PgBouncer.
   */
  readonly poolSizeCap: number;
  /** `reserve_pool_size`: extra server connections for bursts (after `reserve_pool_timeout`). */
  readonly reservePoolSize: number;
  /** HPA target: average client-connection utilisation per pod, percent. */
  readonly targetClientUtilisationPercent: number;
}

export const pgbouncerSizing: Readonly<Record<Environment, PgBouncerSizing>> = {
  prod: { minReplicas: 2, maxReplicas: 6, maxClientConnPerPod: 1000, poolSizeCap: 100, reservePoolSize: 5, targetClientUtilisationPercent: 70 },
  dev: { minReplicas: 1, maxReplicas: 2, maxClientConnPerPod: 200, poolSizeCap: 20, reservePoolSize: 2, targetClientUtilisationPercent: 70 },
};

/**
 * Aurora PostgreSQL Serverless v2 sets `max_connections` from the memory of the cluster's maximum
 * ACU (LEAST(DBInstanceClassMemory/9531392, 5000)); AWS documents 189 connections at 1 ACU and
 * 3,360 at 16 ACU. 189 per ACU is therefore a lower bound for every maximum of 1 ACU or more.
 */
export const auroraConnectionsPerAcu = 189;
/** AWS caps max_connections at 2,000 when the minimum capacity is 0 or 0.5 ACU, else at 5,000. */
export const auroraConnectionCaps = { lowMinimumAcu: 2000, default: 5000 } as const;
/**
 * Connections left to everything that is not PgBouncer: rds_superuser and replication slots, the
 * automation service, migrations, Performance Insights and operators' psql sessions.
 */
export const auroraReservedConnections = { percent: 20, minimum: 20 } as const;

/** The worst-case `max_connections` of every Aurora instance (writer and each reader) at maxAcu. */
export function auroraMaxConnections(minAcu: number, maxAcu: number): number {
  const byMemory = Math.floor(auroraConnectionsPerAcu * maxAcu);
  const cap = minAcu <= 0.5 ? auroraConnectionCaps.lowMinimumAcu : auroraConnectionCaps.default;
  return Math.min(byMemory, cap);
}

export interface PgBouncerPoolPlan {
  readonly auroraMaxConnections: number;
  readonly reservedForOthers: number;
  /** Server connections all PgBouncer pods together may open to one Aurora instance. */
  readonly pgbouncerBudget: number;
  /** budget / maxReplicas: what one pod may open to one instance (`max_db_connections`). */
  readonly serverConnectionsPerPod: number;
  readonly defaultPoolSize: number;
  readonly reservePoolSize: number;
  readonly maxDbConnections: number;
  readonly maxClientConn: number;
}

/**
 * PgBouncer pool sizes that can never exceed what Aurora accepts:
 *
 *     max_connections  = min(floor(189 x maxAcu), 2000 if minAcu <= 0.5 else 5000)
 *     budget           = max_connections - max(20, ceil(20% x max_connections))
 *     per pod          = floor(budget / pgbouncer maxReplicas)          -> max_db_connections
 *     default_pool_size = min(poolSizeCap, per pod - reserve_pool_size)
 *
 * `max_db_connections` caps every database entry per pod, reserve pool included, and the writer
 * and reader entries reach different instances (each with its own max_connections), so even with
 * every PgBouncer pod at its cap no instance sees more than `budget` PgBouncer connections.
 */
export function planPgBouncerPool(environment: Environment, minAcu: number, maxAcu: number): PgBouncerPoolPlan {
  const sizing = pgbouncerSizing[environment];
  const max = auroraMaxConnections(minAcu, maxAcu);
  const reserved = Math.max(auroraReservedConnections.minimum, Math.ceil((max * auroraReservedConnections.percent) / 100));
  const budget = max - reserved;
  const perPod = Math.floor(budget / sizing.maxReplicas);
  return {
    auroraMaxConnections: max,
    reservedForOthers: reserved,
    pgbouncerBudget: budget,
    serverConnectionsPerPod: perPod,
    defaultPoolSize: Math.min(sizing.poolSizeCap, perPod - sizing.reservePoolSize),
    reservePoolSize: sizing.reservePoolSize,
    maxDbConnections: perPod,
    maxClientConn: sizing.maxClientConnPerPod,
  };
}

export type ApplicationNamespace = (typeof applicationNamespaces)[number];

/** CPU in millicores and memory in MiB of one container (requests and limits). */
export interface ContainerResources {
  readonly request: { readonly cpuMillis: number; readonly memoryMiB: number };
  readonly limit: { readonly cpuMillis: number; readonly memoryMiB: number };
}

/**
 * LimitRange defaults per application namespace: what a container that declares no resources gets.
 * They are also the per-replica budget the quotas are computed with (VPA right-sizes from there).
 */
export const containerDefaults: Readonly<Record<ApplicationNamespace, ContainerResources>> = {
  [namespaces.api]: { request: { cpuMillis: 250, memoryMiB: 512 }, limit: { cpuMillis: 1000, memoryMiB: 1024 } },
  [namespaces.workers]: { request: { cpuMillis: 500, memoryMiB: 1024 }, limit: { cpuMillis: 2000, memoryMiB: 2048 } },
  [namespaces.data]: { request: { cpuMillis: 100, memoryMiB: 128 }, limit: { cpuMillis: 500, memoryMiB: 256 } },
  [namespaces.automation]: { request: { cpuMillis: 250, memoryMiB: 512 }, limit: { cpuMillis: 1000, memoryMiB: 1024 } },
};

/** Istio's default sidecar (istio-proxy) requests and limits, counted per pod when sidecars are on. */
export const istioSidecarResources: ContainerResources = { request: { cpuMillis: 100, memoryMiB: 128 }, limit: { cpuMillis: 2000, memoryMiB: 1024 } };

/** The two containers of a PgBouncer pod. */
export const pgbouncerContainerResources = {
  pgbouncer: { request: { cpuMillis: 250, memoryMiB: 128 }, limit: { cpuMillis: 1000, memoryMiB: 256 } },
  exporter: { request: { cpuMillis: 50, memoryMiB: 32 }, limit: { cpuMillis: 200, memoryMiB: 64 } },
} as const satisfies Record<string, ContainerResources>;

/**
 * Pods the automation namespace must hold that are not catalog services: the automation service
 * (leader and standby) and up to four concurrent Job pods (forecasts, `pulumi up` runs).
 */
export const automationNamespaceReservedPods = 6;

/** Quota headroom over the sum of maximum replicas: rolling updates surge pods above the maximum. */
export const quotaHeadroomPercent = 20;

/** A namespace's ResourceQuota (`hard`): pods, CPU in millicores, memory in MiB. */
export interface ResourceBudget {
  readonly pods: number;
  readonly requestsCpuMillis: number;
  readonly requestsMemoryMiB: number;
  readonly limitsCpuMillis: number;
  readonly limitsMemoryMiB: number;
}

/**
 * ResourceQuotas per environment and application namespace. Each row covers
 * `requiredNamespaceCapacity` of the stack's replica ranges (rounded up for some margin), with the
 * Istio sidecar counted in every pod so turning sidecars on needs no quota change. Per replica:
 * the namespace's LimitRange default (api 250m/512Mi, limits 1 CPU/1Gi; workers 500m/1Gi, limits
 * 2 CPU/2Gi; automation as api), PgBouncer's two containers (300m/160Mi, limits 1.2 CPU/320Mi), plus
 * istio-proxy (100m/128Mi, limits 2 CPU/1Gi). Everything x 1.2 (quotaHeadroomPercent):
 *
 * prod (the design's ranges):
 * - pyairtable-api: 25 + 15 + 10 + 12 = 62 replicas -> 75 pods; requests 62 x 350m x 1.2 = 26.04 CPU,
 *   62 x 640 MiB x 1.2 = 47,616 MiB; limits 223.2 CPU, 152,372 MiB      -> 80 pods, 28 CPU, 50 Gi, 240 CPU, 160 Gi
 * - pyairtable-workers: 12 + 15 + 8 + 10 + 8 + 12 + 20 = 85 -> 102 pods; 61.2 CPU, 117,504 MiB;
 *   limits 408 CPU, 313,344 MiB                                         -> 110 pods, 66 CPU, 124 Gi, 440 CPU, 330 Gi
 * - pyairtable-data: PgBouncer max 6 -> 8 pods; 2.88 CPU, 2,074 MiB; limits 23.04 CPU, 9,677 MiB
 *                                                                       -> 10 pods, 4 CPU, 3 Gi, 32 CPU, 14 Gi
 * - pyairtable-automation: 6 reserved -> 8 pods; 2.52 CPU, 4,608 MiB; limits 21.6 CPU, 14,746 MiB
 *                                                                       -> 10 pods, 4 CPU, 7 Gi, 30 CPU, 20 Gi
 * dev (its stack's ranges):
 * - api: 4 + 3 + 2 + 2 = 11 -> 14 pods; 4.62 CPU, 8,448 MiB; limits 39.6 CPU, 27,034 MiB
 *                                                                       -> 16 pods, 6 CPU, 10 Gi, 48 CPU, 32 Gi
 * - workers: 2 + 3 + 1 + 2 + 2 + 2 + 4 = 16 -> 20 pods; 11.52 CPU, 22,119 MiB; limits 76.8 CPU, 58,983 MiB
 *                                                                       -> 24 pods, 15 CPU, 28 Gi, 96 CPU, 72 Gi
 * - data: PgBouncer max 2 -> 3 pods; 0.96 CPU, 692 MiB; limits 7.68 CPU, 3,226 MiB
 *                                                                       -> 4 pods, 1.6 CPU, 1.5 Gi, 12.8 CPU, 6 Gi
 * - automation: as prod.
 *
 * Raising a service's maxReplicas past its namespace's row fails the ClusterAddons constructor (and
 * the tests) until the row is raised: a runaway maximum must be a reviewed change.
 */
export const namespaceQuotas: Readonly<Record<Environment, Readonly<Record<ApplicationNamespace, ResourceBudget>>>> = {
  prod: {
    [namespaces.api]: { pods: 80, requestsCpuMillis: 28_000, requestsMemoryMiB: 50 * 1024, limitsCpuMillis: 240_000, limitsMemoryMiB: 160 * 1024 },
    [namespaces.workers]: { pods: 110, requestsCpuMillis: 66_000, requestsMemoryMiB: 124 * 1024, limitsCpuMillis: 440_000, limitsMemoryMiB: 330 * 1024 },
    [namespaces.data]: { pods: 10, requestsCpuMillis: 4_000, requestsMemoryMiB: 3 * 1024, limitsCpuMillis: 32_000, limitsMemoryMiB: 14 * 1024 },
    [namespaces.automation]: { pods: 10, requestsCpuMillis: 4_000, requestsMemoryMiB: 7 * 1024, limitsCpuMillis: 30_000, limitsMemoryMiB: 20 * 1024 },
  },
  dev: {
    [namespaces.api]: { pods: 16, requestsCpuMillis: 6_000, requestsMemoryMiB: 10 * 1024, limitsCpuMillis: 48_000, limitsMemoryMiB: 32 * 1024 },
    [namespaces.workers]: { pods: 24, requestsCpuMillis: 15_000, requestsMemoryMiB: 28 * 1024, limitsCpuMillis: 96_000, limitsMemoryMiB: 72 * 1024 },
    [namespaces.data]: { pods: 4, requestsCpuMillis: 1_600, requestsMemoryMiB: 1_536, limitsCpuMillis: 12_800, limitsMemoryMiB: 6 * 1024 },
    [namespaces.automation]: { pods: 10, requestsCpuMillis: 4_000, requestsMemoryMiB: 7 * 1024, limitsCpuMillis: 30_000, limitsMemoryMiB: 20 * 1024 },
  },
};

/** A workload counted in a namespace's quota. */
export interface QuotaWorkload {
  readonly name: string;
  readonly maxReplicas: number;
  /** Containers of one replica (the Istio sidecar is added separately). */
  readonly containers: readonly ContainerResources[];
}

/** What runs in an application namespace at its maximum, per the stack's replica ranges. */
export function namespaceWorkloads(namespace: ApplicationNamespace, environment: Environment, services: ServiceReplicaSettings): QuotaWorkload[] {
  const workloads: QuotaWorkload[] = serviceCatalog
    .filter((s) => s.namespace === namespace)
    .map((s) => ({ name: s.name, maxReplicas: services[s.name]?.maxReplicas ?? 0, containers: [containerDefaults[namespace]] }));
  if (namespace === namespaces.data) {
    workloads.push({ name: pgbouncer.name, maxReplicas: pgbouncerSizing[environment].maxReplicas, containers: [pgbouncerContainerResources.pgbouncer, pgbouncerContainerResources.exporter] });
  }
  if (namespace === namespaces.automation) {
    workloads.push({ name: "automation-service-and-jobs", maxReplicas: automationNamespaceReservedPods, containers: [containerDefaults[namespace]] });
  }
  return workloads;
}

/**
 * The quota a namespace needs: pods = ceil(sum of max replicas x 1.2); CPU and memory = the same
 * headroom over the sum of max replicas x each replica's containers (+ the Istio sidecar).
 */
export function requiredNamespaceCapacity(
  namespace: ApplicationNamespace,
  environment: Environment,
  services: ServiceReplicaSettings,
  istioSidecars: boolean,
): ResourceBudget & { readonly replicas: number } {
  const withHeadroom = (n: number) => Math.ceil((n * (100 + quotaHeadroomPercent)) / 100);
  let replicas = 0;
  const sum = { rc: 0, rm: 0, lc: 0, lm: 0 };
  for (const w of namespaceWorkloads(namespace, environment, services)) {
    const containers = istioSidecars ? [...w.containers, istioSidecarResources] : w.containers;
    replicas += w.maxReplicas;
    for (const c of containers) {
      sum.rc += w.maxReplicas * c.request.cpuMillis;
      sum.rm += w.maxReplicas * c.request.memoryMiB;
      sum.lc += w.maxReplicas * c.limit.cpuMillis;
      sum.lm += w.maxReplicas * c.limit.memoryMiB;
    }
  }
  return {
    replicas,
    pods: withHeadroom(replicas),
    requestsCpuMillis: withHeadroom(sum.rc),
    requestsMemoryMiB: withHeadroom(sum.rm),
    limitsCpuMillis: withHeadroom(sum.lc),
    limitsMemoryMiB: withHeadroom(sum.lm),
  };
}

const budgetFields = ["pods", "requestsCpuMillis", "requestsMemoryMiB", "limitsCpuMillis", "limitsMemoryMiB"] as const;

/** Quantity strings: whole cores and GiB where exact, else millicores and MiB. */
export function cpuQuantity(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}
export function memoryQuantity(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
const resourcesOf = (c: ContainerResources) => ({
  requests: { cpu: cpuQuantity(c.request.cpuMillis), memory: memoryQuantity(c.request.memoryMiB) },
  limits: { cpu: cpuQuantity(c.limit.cpuMillis), memory: memoryQuantity(c.limit.memoryMiB) },
});

// =============================================================================================
// prometheus-adapter rules
// =============================================================================================

/** The adapter's custom-metric rules (per pod, from series scraped with namespace and pod labels). */
export function adapterCustomRules() {
  const resources = { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } };
  const seriesOf = (metric: string) => `${metric}{namespace!="",pod!=""}`;
  const pgb = pgbouncerExporterMetrics;
  return [
    {
      // Requests per second per pod over the last minute (4 samples at the 15 s scrape interval).
      seriesQuery: seriesOf(applicationMetrics.httpRequestsTotal),
      resources,
      name: { matches: `^${applicationMetrics.httpRequestsTotal}$`, as: customMetricNames.requestsPerSecond },
      metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
    },
    {
      // p95 latency per pod, seconds (an HPA target of 500 ms is the quantity "500m").
      seriesQuery: seriesOf(`${applicationMetrics.httpRequestDurationSeconds}_bucket`),
      resources,
      name: { matches: `^${applicationMetrics.httpRequestDurationSeconds}_bucket$`, as: customMetricNames.latencyP95 },
      metricsQuery: "histogram_quantile(0.95, sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (le, <<.GroupBy>>))",
    },
    {
      seriesQuery: seriesOf(applicationMetrics.dbConnectionsInUse),
      resources,
      name: { matches: `^${applicationMetrics.dbConnectionsInUse}$`, as: customMetricNames.dbConnections },
      metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    },
    {
      // PgBouncer client-slot utilisation per pod (0-1): clients (active + waiting, the admin console
      // excluded) over max_client_conn. Zero, not absent, before the first client connects.
      seriesQuery: seriesOf(pgb.maxClientConnections),
      resources,
      name: { matches: `^${pgb.maxClientConnections}$`, as: addonCustomMetricNames.pgbouncerClientConnectionUtilisation },
      metricsQuery:
        `(sum by (<<.GroupBy>>) (${pgb.clientActiveConnections}{<<.LabelMatchers>>,database!="pgbouncer"})` +
        ` + sum by (<<.GroupBy>>) (${pgb.clientWaitingConnections}{<<.LabelMatchers>>,database!="pgbouncer"})` +
        ` or 0 * max by (<<.GroupBy>>) (${pgb.maxClientConnections}{<<.LabelMatchers>>}))` +
        ` / max by (<<.GroupBy>>) (${pgb.maxClientConnections}{<<.LabelMatchers>>})`,
    },
  ];
}

// =============================================================================================
// The component
// =============================================================================================

export interface ClusterAddonsArgs {
  /** `prod` or `dev`: picks the sizing rows (replicas, retention, quotas, PgBouncer range). */
  environment: Environment;
  /** EKS cluster name; prefixes the AWS resources (queues, role) so stacks sharing an account never collide. */
  clusterName: string;
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** ARN of the cluster's IAM OIDC provider (IRSA trust). */
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  oidcIssuer: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  /** ElastiCache Redis that KEDA's redis scalers read (TLS, AUTH). */
  redis: {
    /** Configuration endpoint (cluster mode) or primary endpoint. */
    endpoint: pulumi.Input<string>;
    port: pulumi.Input<number>;
    /** AUTH token; stored only in a Kubernetes Secret, always as a Pulumi secret. */
    authToken: pulumi.Input<string>;
  };
  /** MSK cluster whose consumer lag KEDA reads with IAM (SASL/OAUTHBEARER, TLS). */
  kafka: { clusterArn: pulumi.Input<string>; bootstrapBrokersSaslIam: pulumi.Input<string> };
  /** Aurora PostgreSQL behind PgBouncer. */
  database: {
    /** Writer (cluster) endpoint. */
    endpoint: pulumi.Input<string>;
    /** Reader endpoint (all readers, including the autoscaled ones). */
    readerEndpoint: pulumi.Input<string>;
    port: pulumi.Input<number>;
    /** Serverless v2 minimum capacity, ACU (0 or 0.5 lowers Aurora's connection cap to 2,000). */
    minAcu: number;
    /** Serverless v2 maximum capacity, ACU: sizes PgBouncer's pools (see planPgBouncerPool). */
    maxAcu: number;
    /** Database name. Default `pyairtable` (PgBouncer also serves `<name>_ro` on the readers). */
    name?: string;
  };
  /** Replica ranges of the catalog services (`autoscaling:services`): the quotas must hold their maxima. */
  services: ServiceReplicaSettings;
  /** What must exist first (Karpenter's NodePools: PgBouncer runs on data-class nodes). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Label the application namespaces for Istio sidecar injection. Default false. */
  istioSidecars?: boolean;
  /**
   * VPC CIDR block (IPv4): the NetworkPolicies open egress to the data stores' ports only inside it,
   * and HTTPS to public AWS APIs only outside it.
   */
  vpcCidr: string;
  /** Security groups for pods: the data-store clients' SecurityGroupPolicies (created before their pods). Default none. */
  podSecurityGroups?: Omit<PodSecurityGroupsArgs, "provider" | "dependsOn" | "labels">;
  /**
   * StorageClass of the Prometheus and Alertmanager volumes. Default: the cluster's default class,
   * which must be an encrypted gp3 class of the EBS CSI driver.
   */
  storageClassName?: string;
}

const clusterNamePattern = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;
const mskClusterArnPattern = /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
const databaseNamePattern = /^[a-z_][a-z0-9_]{0,59}$/;
const storageClassPattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

interface ValidatedArgs {
  readonly pool: PgBouncerPoolPlan;
  readonly databaseName: string;
  readonly istioSidecars: boolean;
}

/**
 * Checks the arguments before anything is created. Errors name the field, the value and what is
 * allowed; a secret (the Redis token) is never echoed.
 */
export function validateClusterAddonsArgs(name: string, args: ClusterAddonsArgs): ValidatedArgs {
  const fail = (message: string): never => {
    throw new Error(`ClusterAddons ${name}: ${message}`);
  };
  const show = (v: unknown) => JSON.stringify(v);
  if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${show(args.environment)}: must be prod or dev`);
  if (typeof args.clusterName !== "string" || !clusterNamePattern.test(args.clusterName)) {
    fail(`clusterName = ${show(args.clusterName)}: must be 3-40 lowercase letters, digits and hyphens, starting with a letter (it prefixes SQS queue and IAM role names)`);
  }
  if (!args.provider) fail("provider is missing: the cluster's Kubernetes provider is required");
  for (const [field, value] of [["redis.endpoint", args.redis?.endpoint], ["database.endpoint", args.database?.endpoint], ["database.readerEndpoint", args.database?.readerEndpoint], ["kafka.bootstrapBrokersSaslIam", args.kafka?.bootstrapBrokersSaslIam], ["oidcIssuer", args.oidcIssuer]] as const) {
    if (value === undefined || (typeof value === "string" && value.trim() === "")) fail(`${field} = ${show(value)}: must be a non-empty host name`);
  }
  if (typeof args.oidcIssuer === "string" && /^https?:\/\//.test(args.oidcIssuer)) {
    fail(`oidcIssuer = ${show(args.oidcIssuer)}: must be given without the scheme (e.g. oidc.eks.us-east-1.amazonaws.com/id/ABC)`);
  }
  if (typeof args.vpcCidr !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(args.vpcCidr)) {
    fail(`vpcCidr = ${show(args.vpcCidr)}: must be the VPC's IPv4 CIDR block (e.g. 10.40.0.0/16)`);
  }
  for (const [field, value] of [["redis.port", args.redis?.port], ["database.port", args.database?.port]] as const) {
    if (value === undefined || (typeof value === "number" && !(Number.isInteger(value) && value >= 1 && value <= 65535))) fail(`${field} = ${show(value)}: must be a TCP port from 1 to 65535`);
  }
  const token = args.redis?.authToken;
  if (token === undefined || (typeof token === "string" && !/^[!#-.0-?A-~]{16,128}$/.test(token))) {
    fail("redis.authToken: must be 16-128 printable characters without spaces, \", / or @ (ElastiCache AUTH rules)");
  }
  if (args.kafka?.clusterArn === undefined || (typeof args.kafka.clusterArn === "string" && !mskClusterArnPattern.test(args.kafka.clusterArn))) {
    fail(`kafka.clusterArn = ${show(args.kafka?.clusterArn)}: must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)`);
  }
  const db = args.database;
  const isAcu = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && Number.isInteger(n * 2);
  if (!isAcu(db?.minAcu) || db.minAcu < 0 || db.minAcu > 256) fail(`database.minAcu = ${show(db?.minAcu)}: must be a number from 0 to 256 in steps of 0.5`);
  if (!isAcu(db.maxAcu) || db.maxAcu < 1 || db.maxAcu > 256) fail(`database.maxAcu = ${show(db.maxAcu)}: must be a number from 1 to 256 in steps of 0.5`);
  if (db.minAcu > db.maxAcu) fail(`database.minAcu = ${db.minAcu}: must not exceed maxAcu (${db.maxAcu})`);
  const databaseName = db.name ?? "pyairtable";
  if (!databaseNamePattern.test(databaseName)) fail(`database.name = ${show(databaseName)}: must be a lowercase PostgreSQL identifier of at most 60 characters`);
  if (args.storageClassName !== undefined && !storageClassPattern.test(args.storageClassName)) {
    fail(`storageClassName = ${show(args.storageClassName)}: must be a Kubernetes object name (lowercase letters, digits, '-' and '.')`);
  }

  const pool = planPgBouncerPool(args.environment, db.minAcu, db.maxAcu);
  const sizing = pgbouncerSizing[args.environment];
  if (pool.defaultPoolSize < 1) {
    fail(`database.maxAcu = ${db.maxAcu}: Aurora then accepts ${pool.auroraMaxConnections} connections, ${pool.pgbouncerBudget} of them for PgBouncer, ${pool.serverConnectionsPerPod} per pod over ${sizing.maxReplicas} pods: too few for a pool of at least 1 plus reserve_pool_size ${sizing.reservePoolSize}; raise maxAcu or lower pgbouncerSizing.${args.environment}.maxReplicas`);
  }

  // Every catalog service needs a range, and every namespace's maxima must fit its quota.
  if (!args.services || typeof args.services !== "object") fail("services is missing: pass the stack's replica ranges (autoscaling:services)");
  for (const s of serviceCatalog) {
    const max = args.services[s.name]?.maxReplicas;
    if (!(typeof max === "number" && Number.isInteger(max) && max >= 1)) fail(`services.${s.name}.maxReplicas = ${show(max)}: must be a whole number >= 1 (every catalog service needs a range)`);
  }
  const istioSidecars = args.istioSidecars ?? false;
  const quotas = namespaceQuotas[args.environment];
  for (const ns of applicationNamespaces) {
    const need = requiredNamespaceCapacity(ns, args.environment, args.services, istioSidecars);
    const have = quotas[ns];
    const short = budgetFields.filter((f) => need[f] > have[f]);
    if (short.length > 0) {
      const services = namespaceWorkloads(ns, args.environment, args.services).map((w) => `${w.name} ${w.maxReplicas}`).join(", ");
      fail(`services: the maximum replicas in ${ns} (${services}; ${need.replicas} in all) need ${short.map((f) => `${f} ${need[f]}`).join(", ")}, over its quota (${short.map((f) => `${f} ${have[f]}`).join(", ")}): raise namespaceQuotas.${args.environment}["${ns}"] in components/clusterAddons.ts deliberately, or lower the maxima`);
    }
  }

  const expectedPrometheus = `http://${helmReleaseNames.kubePrometheusStack}-prometheus.${namespaces.monitoring}.svc:9090`;
  if (prometheusUrl !== expectedPrometheus) fail(`prometheusUrl = ${show(prometheusUrl)}: must be ${expectedPrometheus}, the service kube-prometheus-stack creates`);
  return { pool, databaseName, istioSidecars };
}

/**
 * The cluster add-ons every autoscaling object relies on: namespaces with quotas and limit ranges,
 * priority classes, metrics-server, KEDA (IRSA for SQS and MSK), VPA, kube-prometheus-stack,
 * prometheus-adapter (custom metrics), KEDA's cluster-wide authentication, the file-events SQS
 * queue and PgBouncer in front of Aurora with its own HPA.
 */
export class ClusterAddons extends pulumi.ComponentResource {
  public readonly kedaOperatorRoleArn: pulumi.Output<string>;
  /** The S3 file bucket's event notifications go here; file-processing scales on its depth. */
  public readonly fileEventsQueueUrl: pulumi.Output<string>;
  public readonly fileEventsQueueArn: pulumi.Output<string>;
  /** Physical queue name: `<clusterName>-file-events`. */
  public readonly fileEventsQueueName: pulumi.Output<string>;
  public readonly fileEventsDeadLetterQueueArn: pulumi.Output<string>;
  /** Key of both queues: consumers need kms:Decrypt on it, S3 may use it (key policy). */
  public readonly fileEventsKmsKeyArn: pulumi.Output<string>;
  /** `pgbouncer.pyairtable-data.svc.cluster.local:6432`. */
  public readonly pgbouncerService: string;
  public readonly pgbouncerPool: PgBouncerPoolPlan;
  /** Helm release names, in install order. */
  public readonly releases: string[];
  public readonly helmReleases: Readonly<Record<AddonKey, k8s.helm.v3.Release>>;
  /** What HPAs, ScaledObjects and VPAs need first: the controllers, CRDs, KEDA auth and namespaces. */
  public readonly scalingReady: pulumi.Resource[];
  /** What the Monitoring component needs first: the Prometheus Operator CRDs and the namespace. */
  public readonly monitoringReady: pulumi.Resource[];
  /** `host:port` of Redis, for the KEDA triggers' `address`. */
  public readonly redisAddress: pulumi.Output<string>;
  public readonly kafkaBootstrapServers: pulumi.Output<string>;

  constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cluster:ClusterAddons", name, {}, opts);
    // Validate before creating anything: a rejected configuration must not leave half the add-ons.
    const v = validateClusterAddonsArgs(name, args);
    const env = args.environment;
    const prod = env === "prod";
    const sizing = addonSizing[env];
    const parent = { parent: this };
    const k8sOpts = (...deps: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions =>
      deps.length > 0 ? { parent: this, provider: args.provider, dependsOn: deps } : { parent: this, provider: args.provider };
    const capacity = args.dependsOn ?? [];
    const managedLabels = { "pyairtable.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "pyairtable" };

    // --- Namespaces and priority classes -----------------------------------------------------------
    const nsResources = {} as Record<string, k8s.core.v1.Namespace>;
    for (const [key, nsName] of Object.entries(namespaces)) {
      const app = (applicationNamespaces as readonly string[]).includes(nsName);
      nsResources[nsName] = new k8s.core.v1.Namespace(`${name}-ns-${key}`, {
        metadata: {
          name: nsName,
          labels: {
            ...managedLabels,
            ...(app && v.istioSidecars ? { "istio-injection": "enabled" } : {}),
            // Pod Security Admission: application namespaces admit only `restricted` pods.
            ...(app ? podSecurityLabels(nsName) : {}),
          },
        },
      }, k8sOpts());
    }
    const ns = (nsName: string) => nsResources[nsName]!;
    const podSgPolicies = args.podSecurityGroups ? new PodSecurityGroups(`${name}-pod-sgs`, { ...args.podSecurityGroups, provider: args.provider, labels: managedLabels, dependsOn: Object.values(nsResources) }, parent).policies : [];

    // --- Network isolation: default deny in every application namespace, then the allowed paths ----
    const networkPorts: NetworkPorts = { postgres: postgresPort, pgbouncer: pgbouncer.port, redis: redisPort, kafkaIam: mskIamPort, openSearch: 443, prometheus: 9090 };
    const networkPolicyResources: pulumi.Resource[] = [];
    for (const nsName of applicationNamespaces) {
      const selectorLabels = { "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] };
      for (const np of namespaceNetworkPolicies(nsName, { vpcCidr: args.vpcCidr, ports: networkPorts, istioSidecars: v.istioSidecars }, selectorLabels, managedLabels)) {
        // The default-deny policy keeps its short resource name; the allows are named after it.
        const suffix = np.metadata.name === defaultDenyPolicyName ? "default-deny" : np.metadata.name;
        networkPolicyResources.push(new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${nsName}-${suffix}`, np, k8sOpts(ns(nsName))));
      }
    }

    const priorityClassResources = Object.entries(priorityClasses).map(([key, pc]) =>
      new k8s.scheduling.v1.PriorityClass(`${name}-priority-${key}`, {
        metadata: { name: pc.name, labels: managedLabels },
        value: pc.value,
        globalDefault: false,
        // Higher classes may evict lower ones when capacity is short (batch goes first).
        preemptionPolicy: "PreemptLowerPriority",
        description: pc.description,
      }, k8sOpts()));

    // --- Quotas and limit ranges: a runaway deployment cannot starve the other namespaces ----------
    const quotaResources: pulumi.Resource[] = [];
    for (const nsName of applicationNamespaces) {
      const q = namespaceQuotas[env][nsName];
      const d = containerDefaults[nsName];
      quotaResources.push(new k8s.core.v1.ResourceQuota(`${name}-quota-${nsName}`, {
        metadata: { name: "pyairtable-quota", namespace: nsName, labels: managedLabels },
        spec: {
          hard: {
            pods: String(q.pods),
            "requests.cpu": cpuQuantity(q.requestsCpuMillis),
            "requests.memory": memoryQuantity(q.requestsMemoryMiB),
            "limits.cpu": cpuQuantity(q.limitsCpuMillis),
            "limits.memory": memoryQuantity(q.limitsMemoryMiB),
          },
        },
      }, k8sOpts(ns(nsName))));
      // With limits.* in the quota every container must declare limits: the defaults fill them in.
      quotaResources.push(new k8s.core.v1.LimitRange(`${name}-limits-${nsName}`, {
        metadata: { name: "pyairtable-container-defaults", namespace: nsName, labels: managedLabels },
        spec: {
          limits: [{
            type: "Container",
            defaultRequest: resourcesOf(d).requests,
            default: resourcesOf(d).limits,
          }],
        },
      }, k8sOpts(ns(nsName))));
    }

    // --- File events queue (S3 notifications -> SQS -> file-processing) ----------------------------
    const queueKey = customerManagedKey(`${name}-file-events`, `SQS ${args.clusterName}-${fileEventsQueueName}: file bucket event notifications`, parent,
      pulumi.all([args.accountId, args.partition]).apply(([account, partition]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
          {
            // S3 encrypts the notifications it sends to the queue with this key.
            Sid: "S3EventNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
        ],
      })));
    const queueTags = (what: string) => ({ Name: what, environment: env });
    const deadLetterName = `${args.clusterName}-${fileEventsQueueName}-dlq`;
    const deadLetters = new aws.sqs.Queue(`${name}-file-events-dlq`, {
      name: deadLetterName,
      // Two weeks (the SQS maximum) to inspect and redrive failed events.
      messageRetentionSeconds: 1_209_600,
      kmsMasterKeyId: queueKey.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      tags: queueTags(deadLetterName),
    }, parent);
    const queueName = `${args.clusterName}-${fileEventsQueueName}`;
    const queue = new aws.sqs.Queue(`${name}-file-events`, {
      name: queueName,
      // Longer than file-processing takes for one file, so a message is not delivered twice meanwhile.
      visibilityTimeoutSeconds: 300,
      messageRetentionSeconds: 345_600,
      // Long polling: consumers wait for messages instead of paying for empty receives.
      receiveWaitTimeSeconds: 20,
      // Five failed attempts move an event to the dead-letter queue instead of blocking the queue.
      redrivePolicy: deadLetters.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 })),
      kmsMasterKeyId: queueKey.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      tags: queueTags(queueName),
    }, parent);
    new aws.sqs.RedriveAllowPolicy(`${name}-file-events-dlq-redrive`, {
      queueUrl: deadLetters.url,
      redriveAllowPolicy: queue.arn.apply((arn) => JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [arn] })),
    }, parent);
    new aws.sqs.QueuePolicy(`${name}-file-events-policy`, {
      queueUrl: queue.url,
      policy: pulumi.all([queue.arn, args.accountId]).apply(([arn, account]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            // Only S3 buckets of this account may send (confused-deputy protection).
            Sid: "S3EventNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: arn,
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
          { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ],
      })),
    }, parent);
    this.fileEventsQueueUrl = queue.url;
    this.fileEventsQueueArn = queue.arn;
    this.fileEventsQueueName = queue.name;
    this.fileEventsDeadLetterQueueArn = deadLetters.arn;
    this.fileEventsKmsKeyArn = queueKey.arn;

    // --- KEDA operator identity (IRSA): queue depth and consumer lag, nothing else -----------------
    const kedaRole = new aws.iam.Role(`${name}-keda-operator`, {
      description: `KEDA operator of ${args.clusterName}: reads SQS queue depth and MSK consumer lag`,
      assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.oidcIssuer]).apply(([arn, issuer]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { Federated: arn },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              [`${issuer}:sub`]: `system:serviceaccount:${namespaces.keda}:${kedaOperatorServiceAccount}`,
              [`${issuer}:aud`]: "sts.amazonaws.com",
            },
          },
        }],
      })),
      tags: { Name: `${args.clusterName}-keda-operator` },
    }, parent);
    new aws.iam.RolePolicy(`${name}-keda-operator-policy`, {
      role: kedaRole.id,
      policy: pulumi.all([queue.arn, args.kafka.clusterArn]).apply(([queueArn, mskArn]) => JSON.stringify(kedaOperatorPolicy(queueArn, mskArn))),
    }, parent);
    this.kedaOperatorRoleArn = kedaRole.arn;

    // --- Helm releases ------------------------------------------------------------------------------
    const release = (key: AddonKey, namespace: string, values: pulumi.Inputs, deps: pulumi.Input<pulumi.Resource>[], timeout = 900) => {
      const chart: AddonChart = addonCharts[key];
      return new k8s.helm.v3.Release(`${name}-${helmReleaseNames[key]}`, {
        name: helmReleaseNames[key],
        chart: chart.chart,
        version: chart.version,
        ...(chart.repo ? { repositoryOpts: { repo: chart.repo } } : {}),
        namespace,
        values,
        // A failed install or upgrade rolls back instead of leaving a half-upgraded controller.
        atomic: true,
        cleanupOnFail: true,
        maxHistory: 10,
        timeout,
      }, k8sOpts(...deps));
    };
    const critical = "system-cluster-critical";

    // Values the Monitoring component's objects rely on (scrape selectors, Alertmanager Secret and
    // SMTP password mount, dashboard sidecar, KEDA metrics), merged over ours.
    const monitoringValues = monitoringChartValues(alertmanagerConfigSecretName);
    const kubePrometheusStack = release("kubePrometheusStack", namespaces.monitoring,
      mergeValues(kubePrometheusStackValues(env, args.clusterName, args.storageClassName), monitoringValues.kubePrometheusStack),
      [ns(namespaces.monitoring), ...capacity], 1200);

    const metricsServer = release("metricsServer", "kube-system", {
      replicas: sizing.controllerReplicas,
      // The HPA's 60 s reaction budget: metrics-server resolution (15 s) + HPA sync (15 s) + scrape
      // (15 s) = 45 s. The chart's default args are spelled out so the resolution cannot drift.
      defaultArgs: [
        "--cert-dir=/tmp",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        `--metric-resolution=${metricsServerResolutionSeconds}s`,
      ],
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      resources: { requests: { cpu: "100m", memory: "200Mi" }, limits: { memory: "400Mi" } },
    }, capacity);

    const keda = release("keda", namespaces.keda, mergeValues({
      crds: { install: true },
      operator: { replicaCount: sizing.controllerReplicas },
      metricsServer: { replicaCount: sizing.controllerReplicas },
      webhooks: { enabled: true, replicaCount: sizing.controllerReplicas },
      serviceAccount: { operator: { create: true, name: kedaOperatorServiceAccount } },
      // IRSA: the chart annotates the operator's service account with the role; ClusterTrigger-
      // Authentications with podIdentity `aws` then sign SQS and MSK calls as that role.
      podIdentity: { aws: { irsa: { enabled: true, roleArn: kedaRole.arn, audience: "sts.amazonaws.com", stsRegionalEndpoints: "true" } } },
      // The operator reads Secrets of its own namespace only (ClusterTriggerAuthentication secrets live there).
      permissions: { operator: { restrict: { secret: true } } },
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      podDisruptionBudget: prod ? { operator: { minAvailable: 1 }, metricServer: { minAvailable: 1 }, webhooks: { minAvailable: 1 } } : {},
      // keda_scaler_* metrics: the operator exposes them; the Monitoring component scrapes them
      // (its values below turn the chart's own monitors off so nothing is scraped twice).
    }, monitoringValues.keda), [ns(namespaces.keda), kubePrometheusStack, ...podSgPolicies, ...capacity]);

    const vpa = release("vpa", namespaces.vpa, {
      priorityClassName: critical,
      recommender: {
        enabled: true,
        replicaCount: 1,
        nodeSelector: systemNodeSelector,
        extraArgs: { "pod-recommendation-min-cpu-millicores": 15, "pod-recommendation-min-memory-mb": 100 },
      },
      updater: {
        enabled: true,
        replicaCount: 1,
        nodeSelector: systemNodeSelector,
        // VPAs of this stack use InPlaceOrRecreate (resize without eviction where the kubelet can):
        // GA in VPA 1.7, no feature gate (the gate was removed; naming it stops the binary).
      },
      admissionController: {
        enabled: true,
        generateCertificate: true,
        replicaCount: sizing.controllerReplicas,
        nodeSelector: systemNodeSelector,
      },
    }, [ns(namespaces.vpa), ...capacity]);

    const adapterUrl = new URL(prometheusUrl);
    const prometheusAdapter = release("prometheusAdapter", namespaces.monitoring, {
      prometheus: { url: `${adapterUrl.protocol}//${adapterUrl.hostname}`, port: Number(adapterUrl.port), path: "" },
      replicas: sizing.controllerReplicas,
      priorityClassName: critical,
      nodeSelector: systemNodeSelector,
      podDisruptionBudget: { enabled: prod, maxUnavailable: 1 },
      // Only the custom metrics below: resource metrics stay with metrics-server.
      rules: { default: false, custom: adapterCustomRules(), external: [] },
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    }, [kubePrometheusStack, ...capacity]);

    this.helmReleases = { metricsServer, keda, vpa, kubePrometheusStack, prometheusAdapter };
    const installOrder: AddonKey[] = ["kubePrometheusStack", "metricsServer", "keda", "vpa", "prometheusAdapter"];
    this.releases = installOrder.map((key) => helmReleaseNames[key]);

    // --- KEDA authentication: secrets and pod identity only, never inline credentials --------------
    const redisSecret = new k8s.core.v1.Secret(`${name}-redis-auth`, {
      metadata: { name: redisAuthSecret.name, namespace: namespaces.keda, labels: managedLabels },
      type: "Opaque",
      stringData: { [redisAuthSecret.key]: pulumi.secret(args.redis.authToken) },
    }, k8sOpts(ns(namespaces.keda)));
    const kp = kedaAuthParameters.keys;
    const authParameters = new k8s.core.v1.ConfigMap(`${name}-keda-auth-parameters`, {
      metadata: { name: kedaAuthParameters.configMapName, namespace: namespaces.keda, labels: managedLabels },
      data: {
        [kp.redisTls]: "enable",
        [kp.kafkaSasl]: "oauthbearer",
        [kp.kafkaSaslTokenProvider]: "aws_msk_iam",
        [kp.kafkaTls]: "enable",
      },
    }, k8sOpts(ns(namespaces.keda)));
    const fromConfigMap = (parameter: string, key: string) => ({ parameter, name: kedaAuthParameters.configMapName, key });
    const clusterAuth = (key: string, authName: string, spec: Record<string, unknown>) =>
      new k8s.apiextensions.CustomResource(`${name}-cta-${key}`, {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ClusterTriggerAuthentication",
        metadata: { name: authName, labels: managedLabels },
        spec,
      }, k8sOpts(keda, redisSecret, authParameters));
    const triggerAuthResources = [
      // Redis: AUTH token from the Secret; TLS via the scaler's `tls` auth parameter. ScaledObjects
      // must not also set `enableTLS` (KEDA rejects TLS set in both places).
      clusterAuth("redis", triggerAuthentications.redis, {
        secretTargetRef: [{ parameter: "password", name: redisAuthSecret.name, key: redisAuthSecret.key }],
        configMapTargetRef: [fromConfigMap("tls", kp.redisTls)],
      }),
      // MSK: SASL/OAUTHBEARER with the MSK IAM token provider, signed as the operator's IRSA role.
      clusterAuth("kafka", triggerAuthentications.kafka, {
        podIdentity: { provider: "aws" },
        configMapTargetRef: [fromConfigMap("sasl", kp.kafkaSasl), fromConfigMap("saslTokenProvider", kp.kafkaSaslTokenProvider), fromConfigMap("tls", kp.kafkaTls)],
      }),
      // SQS (and any other AWS scaler): the operator's IRSA role.
      clusterAuth("aws", triggerAuthentications.aws, { podIdentity: { provider: "aws" } }),
    ];

    // --- PgBouncer ------------------------------------------------------------------------------------
    const pool = v.pool;
    this.pgbouncerPool = pool;
    const pgbSizing = pgbouncerSizing[env];
    const configFiles = pulumi.all([args.database.endpoint, args.database.readerEndpoint, args.database.port]).apply(([writer, reader, port]) => ({
      "pgbouncer.ini": pgbouncerIni({ writer, reader, port, databaseName: v.databaseName, pool }),
      "pg_hba.conf": pgbouncerHba(),
    }));
    const pgbConfig = new k8s.core.v1.ConfigMap(`${name}-pgbouncer-config`, {
      metadata: { name: "pgbouncer-config", namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      data: configFiles,
    }, k8sOpts(ns(pgbouncer.namespace)));
    const configChecksum = configFiles.apply((files) => createHash("sha256").update(JSON.stringify(files)).digest("hex"));
    const selector = { "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] };
    const hardening = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

    const pgbDeployment = new k8s.apps.v1.Deployment(`${name}-pgbouncer`, {
      metadata: {
        name: pgbouncer.name,
        namespace: pgbouncer.namespace,
        labels: pgbouncer.labels,
        // Credentials arrive out of band (External Secrets): `pulumi up` must not block on them. The
        // PgBouncer alerts watch availability instead.
        annotations: { "pulumi.com/skipAwait": "true" },
      },
      spec: {
        // No `replicas`: the HPA owns the count (2-6 prod, 1-2 dev).
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        // Never below the current capacity during a rollout: add a pod, then remove one.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: pgbouncer.labels, annotations: { "pyairtable.io/config-sha256": configChecksum } },
          spec: {
            priorityClassName: priorityClasses.data.name,
            // PgBouncer never calls the Kubernetes API: no service-account token in the pod.
            automountServiceAccountToken: false,
            // Data class: on-demand nodes only, tainted for data-path pods.
            nodeSelector: { [workloadClassLabel]: "data" },
            tolerations: [{ key: workloadClassLabel, operator: "Equal", value: "data", effect: "NoSchedule" }],
            topologySpreadConstraints: [
              // One zone outage leaves the other zones' poolers up. Prod has data-class capacity in
              // every zone; dev's single data node cannot spread, so there it is a preference.
              { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: prod ? "DoNotSchedule" : "ScheduleAnyway", labelSelector: { matchLabels: selector } },
              { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
            ],
            // SIGTERM makes PgBouncer (>= 1.23) stop accepting and finish its clients' transactions.
            terminationGracePeriodSeconds: 60,
            securityContext: { runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "pgbouncer",
                image: addonImages.pgbouncer,
                command: ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
                ports: [{ name: "postgres", containerPort: pgbouncer.port, protocol: "TCP" }],
                resources: resourcesOf(pgbouncerContainerResources.pgbouncer),
                readinessProbe: { tcpSocket: { port: "postgres" }, periodSeconds: 5, failureThreshold: 2 },
                livenessProbe: { tcpSocket: { port: "postgres" }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 3 },
                // Let the Service drop this endpoint before PgBouncer stops accepting connections.
                lifecycle: { preStop: { exec: { command: ["sleep", "10"] } } },
                securityContext: hardening,
                volumeMounts: [
                  { name: "config", mountPath: "/etc/pgbouncer", readOnly: true },
                  { name: "auth", mountPath: "/etc/pgbouncer-auth", readOnly: true },
                  { name: "server-ca", mountPath: pgbouncerTlsPaths.serverCaDir, readOnly: true },
                  { name: "client-tls", mountPath: pgbouncerTlsPaths.clientTlsDir, readOnly: true },
                ],
              },
              {
                name: "exporter",
                image: addonImages.pgbouncerExporter,
                // Admin console over loopback; pg_hba.conf trusts this user from 127.0.0.1 only.
                args: [
                  // TLS even over loopback: PgBouncer refuses every plaintext client (client_tls_sslmode = require).
                  `--pgBouncer.connectionString=postgres://${pgbouncer.exporterUser}@127.0.0.1:${pgbouncer.port}/pgbouncer?sslmode=require`,
                  `--web.listen-address=:${pgbouncer.metricsPort}`,
                ],
                ports: [{ name: "metrics", containerPort: pgbouncer.metricsPort, protocol: "TCP" }],
                resources: resourcesOf(pgbouncerContainerResources.exporter),
                readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 15 },
                // A hung exporter is restarted (its /metrics stops answering); PgBouncer is unaffected.
                livenessProbe: { httpGet: { path: "/metrics", port: "metrics" }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
                securityContext: hardening,
              },
            ],
            volumes: [
              { name: "config", configMap: { name: "pgbouncer-config" } },
              { name: "auth", secret: { secretName: pgbouncer.authSecret.name, items: [{ key: pgbouncer.authSecret.key, path: "userlist.txt" }], defaultMode: 0o440 } },
              { name: "server-ca", configMap: { name: pgbouncer.serverCaBundle.configMapName, items: [{ key: pgbouncer.serverCaBundle.key, path: pgbouncer.serverCaBundle.key }] } },
              { name: "client-tls", secret: { secretName: pgbouncer.clientTlsSecret.name, items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }], defaultMode: 0o440 } },
            ],
          },
        },
      },
    }, k8sOpts(ns(pgbouncer.namespace), pgbConfig, ...priorityClassResources, ...quotaResources, ...podSgPolicies, ...capacity));

    new k8s.core.v1.Service(`${name}-pgbouncer-service`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        type: "ClusterIP",
        selector,
        // `tcp-`/`http-` prefixes tell Istio the protocols.
        ports: [
          { name: "tcp-postgres", port: pgbouncer.port, targetPort: "postgres", protocol: "TCP" },
          { name: "http-metrics", port: pgbouncer.metricsPort, targetPort: "metrics", protocol: "TCP" },
        ],
      },
    }, k8sOpts(ns(pgbouncer.namespace)));

    new k8s.policy.v1.PodDisruptionBudget(`${name}-pgbouncer-pdb`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        // maxUnavailable, so dev's single replica can still be drained; prod keeps >= 1 of >= 2.
        maxUnavailable: 1,
        selector: { matchLabels: selector },
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    }, k8sOpts(ns(pgbouncer.namespace)));

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-pgbouncer-hpa`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: pgbouncer.name },
        minReplicas: pgbSizing.minReplicas,
        maxReplicas: pgbSizing.maxReplicas,
        metrics: [
          {
            // Client slots in use per pod (from the exporter, via prometheus-adapter).
            type: "Pods",
            pods: {
              metric: { name: addonCustomMetricNames.pgbouncerClientConnectionUtilisation },
              target: { type: "AverageValue", averageValue: `${pgbSizing.targetClientUtilisationPercent * 10}m` },
            },
          },
          // PgBouncer is single-threaded: a busy core is the other reason to add a pod.
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
        ],
        behavior: structuredClone(scalingBehavior) as unknown as k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerBehavior,
      },
    }, k8sOpts(pgbDeployment));

    new k8s.apiextensions.CustomResource(`${name}-pgbouncer-servicemonitor`, {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        selector: { matchLabels: selector },
        endpoints: [{ port: "http-metrics", path: "/metrics", interval: `${prometheusScrapeIntervalSeconds}s` }],
      },
    }, k8sOpts(kubePrometheusStack, ns(pgbouncer.namespace)));
    this.pgbouncerService = pgbouncerServiceAddress;

    this.redisAddress = pulumi.interpolate`${args.redis.endpoint}:${args.redis.port}`;
    this.kafkaBootstrapServers = pulumi.output(args.kafka.bootstrapBrokersSaslIam);
    this.scalingReady = [
      ...applicationNamespaces.map(ns), ...priorityClassResources, ...quotaResources,
      metricsServer, keda, vpa, prometheusAdapter, ...triggerAuthResources,
    ];
    this.monitoringReady = [ns(namespaces.monitoring), kubePrometheusStack];

    this.registerOutputs({
      kedaOperatorRoleArn: this.kedaOperatorRoleArn,
      fileEventsQueueUrl: this.fileEventsQueueUrl,
      fileEventsQueueArn: this.fileEventsQueueArn,
      fileEventsDeadLetterQueueArn: this.fileEventsDeadLetterQueueArn,
      fileEventsKmsKeyArn: this.fileEventsKmsKeyArn,
      pgbouncerService: this.pgbouncerService,
      releases: this.releases,
    });
  }
}

// =============================================================================================
// Helpers
// =============================================================================================

type Values = Record<string, unknown>;
/** Plain maps only: Pulumi Outputs and other class instances are values, not maps to merge into. */
const isPlainValues = (v: unknown): v is Values => typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Helm-style merge: maps merge key by key, everything else (lists included) from `over` wins. */
export function mergeValues<T extends Values>(base: T, over: Values): T {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainValues(v) && isPlainValues(out[k]) ? mergeValues(out[k] as Values, v) : v;
  }
  return out as T;
}

/**
 * MSK IAM resources of a cluster ARN: `...:cluster/<name>/<uuid>` -> topic and group ARNs
 * `...:topic/<name>/<uuid>/*` and `...:group/<name>/<uuid>/*`.
 */
export function mskResourceArns(clusterArn: string): { cluster: string; topics: string; groups: string } {
  const m = /^(arn:[^:]+:[^:]+:[^:]*:[^:]*:)cluster\/(.+)$/i.exec(clusterArn);
  if (!m) throw new Error(`kafka.clusterArn = ${JSON.stringify(clusterArn)}: must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)`);
  const [, prefix, rest] = m;
  return { cluster: clusterArn, topics: `${prefix}topic/${rest}/*`, groups: `${prefix}group/${rest}/*` };
}

/**
 * KEDA operator permissions. Lag reading needs only metadata: ListOffsets and OffsetFetch map to
 * DescribeTopic and DescribeGroup in MSK IAM, so no ReadData (message contents) is granted.
 */
export function kedaOperatorPolicy(queueArn: string, mskClusterArn: string) {
  const msk = mskResourceArns(mskClusterArn);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadFileEventsQueueDepth", Effect: "Allow", Action: ["sqs:GetQueueAttributes"], Resource: queueArn },
      { Sid: "ConnectToMsk", Effect: "Allow", Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], Resource: msk.cluster },
      { Sid: "ReadTopicOffsets", Effect: "Allow", Action: ["kafka-cluster:DescribeTopic"], Resource: msk.topics },
      { Sid: "ReadConsumerGroupOffsets", Effect: "Allow", Action: ["kafka-cluster:DescribeGroup"], Resource: msk.groups },
    ],
  };
}

interface IniInput {
  writer: string;
  reader: string;
  port: number;
  databaseName: string;
  pool: PgBouncerPoolPlan;
}

/** pgbouncer.ini: transaction pooling, pools sized by planPgBouncerPool, TLS to Aurora. */
export function pgbouncerIni({ writer, reader, port, databaseName, pool }: IniInput): string {
  return [
    "[databases]",
    `${databaseName} = host=${writer} port=${port} dbname=${databaseName}`,
    `${databaseName}_ro = host=${reader} port=${port} dbname=${databaseName}`,
    "",
    "[pgbouncer]",
    "listen_addr = 0.0.0.0",
    `listen_port = ${pgbouncer.port}`,
    // No unix socket: the root filesystem is read-only and nothing local needs one.
    "unix_socket_dir =",
    "auth_type = hba",
    "auth_hba_file = /etc/pgbouncer/pg_hba.conf",
    "auth_file = /etc/pgbouncer-auth/userlist.txt",
    `stats_users = ${pgbouncer.exporterUser}`,
    // A server connection is held only for a transaction: many clients share few connections.
    "pool_mode = transaction",
    `max_client_conn = ${pool.maxClientConn}`,
    `default_pool_size = ${pool.defaultPoolSize}`,
    "min_pool_size = 0",
    `reserve_pool_size = ${pool.reservePoolSize}`,
    "reserve_pool_timeout = 3",
    // Hard cap per database entry (writer, reader) per pod, reserve included.
    `max_db_connections = ${pool.maxDbConnections}`,
    // Drivers' protocol-level prepared statements work in transaction mode.
    "max_prepared_statements = 200",
    "ignore_startup_parameters = extra_float_digits",
    // Aurora enforces TLS (rds.force_ssl); PgBouncer verifies its certificate chain against the RDS CA
    // bundle and the endpoint's host name (verify-full).
    "server_tls_sslmode = verify-full",
    `server_tls_ca_file = ${pgbouncerTlsPaths.serverCaDir}/${pgbouncer.serverCaBundle.key}`,
    "server_tls_protocols = secure",
    // Clients (and the metrics sidecar) must use TLS; pg_hba.conf admits only hostssl.
    "client_tls_sslmode = require",
    `client_tls_cert_file = ${pgbouncerTlsPaths.clientTlsDir}/tls.crt`,
    `client_tls_key_file = ${pgbouncerTlsPaths.clientTlsDir}/tls.key`,
    "client_tls_protocols = secure",
    // Re-resolve the endpoints quickly: the writer endpoint moves on failover.
    "dns_max_ttl = 15",
    "server_lifetime = 3600",
    "server_idle_timeout = 600",
    "server_connect_timeout = 5",
    "query_wait_timeout = 60",
    "tcp_keepalive = 1",
    "log_connections = 0",
    "log_disconnections = 0",
    "log_pooler_errors = 1",
    "stats_period = 15",
    "application_name_add_host = 1",
    "",
  ].join("\n");
}

/** pg_hba.conf: the metrics sidecar over loopback only, applications with SCRAM. */
export function pgbouncerHba(): string {
  return [
    `hostssl  pgbouncer  ${pgbouncer.exporterUser}  127.0.0.1/32  trust`,
    `host     all        ${pgbouncer.exporterUser}  0.0.0.0/0     reject`,
    "hostssl  all        all                 0.0.0.0/0     scram-sha-256",
    // Plaintext is refused before authentication (client_tls_sslmode = require); this says so again.
    "hostnossl all       all                 0.0.0.0/0     reject",
    "",
  ].join("\n");
}

/** kube-state-metrics custom-resource-state config: `kube_customresource_vpa_containerrecommendations_target`. */
export const vpaCustomResourceStateConfig = {
  kind: "CustomResourceStateMetrics",
  spec: {
    resources: [{
      groupVersionKind: { group: "autoscaling.k8s.io", kind: "VerticalPodAutoscaler", version: "v1" },
      metricNamePrefix: "kube_customresource",
      labelsFromPath: {
        verticalpodautoscaler: ["metadata", "name"],
        namespace: ["metadata", "namespace"],
        target_api_version: ["spec", "targetRef", "apiVersion"],
        target_kind: ["spec", "targetRef", "kind"],
        target_name: ["spec", "targetRef", "name"],
      },
      metrics: (["cpu", "memory"] as const).map((resource) => ({
        name: "vpa_containerrecommendations_target",
        help: `VPA target ${resource} recommendation per container.`,
        commonLabels: { resource, unit: resource === "cpu" ? "core" : "byte" },
        each: {
          type: "Gauge",
          gauge: { path: ["status", "recommendation", "containerRecommendations"], valueFrom: ["target", resource], labelsFromPath: { container: ["containerName"] } },
        },
      })),
    }],
  },
};

/** Node labels kube-state-metrics exports on `kube_node_labels` (dashboards group by them). */
export const nodeLabelsAllowlist = ["karpenter.sh/capacity-type", "node.kubernetes.io/instance-type", workloadClassLabel] as const;

function kubePrometheusStackValues(env: Environment, clusterName: string, storageClassName: string | undefined) {
  const sizing = addonSizing[env];
  const prod = env === "prod";
  const critical = "system-cluster-critical";
  const volume = (gib: number) => ({
    volumeClaimTemplate: {
      spec: { ...(storageClassName ? { storageClassName } : {}), accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${gib}Gi` } } },
    },
  });
  return {
    // Pins the service names (prometheusUrl) whatever the release is called.
    fullnameOverride: helmReleaseNames.kubePrometheusStack,
    crds: { enabled: true },
    defaultRules: { create: true },
    // EKS runs these on the managed control plane, where they cannot be scraped: no "down" alerts.
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    // EKS's kube-proxy listens for metrics on 127.0.0.1 only.
    kubeProxy: { enabled: false },
    prometheusOperator: {
      nodeSelector: systemNodeSelector,
      admissionWebhooks: { patch: { nodeSelector: systemNodeSelector } },
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    },
    prometheus: {
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      prometheusSpec: {
        // 15 s scrape and rule evaluation: part of the HPA's 60 s reaction budget.
        scrapeInterval: `${prometheusScrapeIntervalSeconds}s`,
        evaluationInterval: `${prometheusScrapeIntervalSeconds}s`,
        retention: sizing.prometheus.retention,
        retentionSize: sizing.prometheus.retentionSize,
        replicas: sizing.prometheus.replicas,
        storageSpec: volume(sizing.prometheus.storageGiB),
        // Select every ServiceMonitor, PodMonitor, PrometheusRule, Probe and ScrapeConfig in every
        // namespace, not only those labelled for this Helm release.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        externalLabels: { cluster: clusterName, environment: env },
        nodeSelector: systemNodeSelector,
        priorityClassName: critical,
        resources: { requests: sizing.prometheus.requests, limits: sizing.prometheus.limits },
      },
    },
    alertmanager: {
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      alertmanagerSpec: {
        // Receivers (Slack webhook, e-mail) live in a Secret the Monitoring component creates.
        useExistingSecret: true,
        configSecret: alertmanagerConfigSecretName,
        replicas: sizing.alertmanager.replicas,
        retention: "120h",
        storage: volume(sizing.alertmanager.storageGiB),
        nodeSelector: systemNodeSelector,
        priorityClassName: critical,
        resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
      },
    },
    grafana: {
      // Empty: the Grafana chart generates a random admin password into its Secret (no default).
      adminPassword: "",
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      persistence: { enabled: false },
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      sidecar: {
        // Dashboards are ConfigMaps labelled grafana_dashboard: "1" in any namespace.
        dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" },
        datasources: { enabled: true },
      },
    },
    "kube-state-metrics": {
      // kube_node_labels carries these: spot share, instance mix and workload class per node.
      metricLabelsAllowlist: [`nodes=[${nodeLabelsAllowlist.join(",")}]`],
      customResourceState: { enabled: true, config: vpaCustomResourceStateConfig },
      rbac: { extraRules: [{ apiGroups: ["autoscaling.k8s.io"], resources: ["verticalpodautoscalers"], verbs: ["list", "watch"] }] },
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    },
    "prometheus-node-exporter": {
      // Every node, tainted workload-class nodes included.
      priorityClassName: "system-node-critical",
      tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
    },
  };
}
