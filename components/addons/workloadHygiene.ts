/**
 * What every add-on chart container gets through its chart's values: CPU and memory requests and
 * limits (one table), and the `restricted` Pod Security container settings where the chart lets us
 * set them (read-only root filesystem, no privilege escalation, all capabilities dropped,
 * RuntimeDefault seccomp). The rendered chart pods (contracts/charts/rendered/, lib/k8s/chartPods.ts)
 * prove the values reach every container; the namespace quotas (quotas.ts) are sized from this table.
 */
import type { Environment } from "../../lib/config/settings";
import { resourcesOf, type ContainerResources } from "./shared";

const r = (reqCpu: number, reqMiB: number, limCpu: number, limMiB: number): ContainerResources =>
  ({ request: { cpuMillis: reqCpu, memoryMiB: reqMiB }, limit: { cpuMillis: limCpu, memoryMiB: limMiB } });

/**
 * Requests and limits per chart container (millicores, MiB). Requests are what the controllers use
 * at this cluster's size; limits leave 2-5x CPU burst (start-up, list-and-watch resyncs) and keep
 * memory near the request (a leak is OOM-killed and restarted, not allowed to starve the node).
 * Prometheus is per environment (addonSizing in shared.ts sizes it with its volume).
 */
export const addonContainerResources = {
  prometheusOperator: r(100, 128, 500, 256),
  /** prometheus-operator's config-reloader sidecar and init container in Prometheus and Alertmanager pods. */
  configReloader: r(10, 50, 100, 64),
  /** kube-prometheus-stack's admission-webhook certificate Jobs (create, patch). */
  admissionWebhookJob: r(10, 32, 100, 64),
  alertmanager: r(50, 128, 200, 256),
  grafana: r(100, 256, 500, 512),
  /** Grafana's dashboard and datasource sidecars (k8s-sidecar). */
  grafanaSidecar: r(50, 96, 200, 192),
  kubeStateMetrics: r(100, 256, 500, 512),
  nodeExporter: r(50, 64, 250, 128),
  metricsServer: r(100, 200, 500, 400),
  prometheusAdapter: r(100, 256, 500, 512),
  kedaOperator: r(100, 128, 1000, 1000),
  kedaMetricsServer: r(100, 128, 1000, 1000),
  kedaWebhooks: r(50, 64, 500, 256),
  vpaRecommender: r(50, 500, 500, 1024),
  vpaUpdater: r(50, 500, 500, 1024),
  vpaAdmissionController: r(50, 200, 500, 512),
  /** VPA's admission certificate Jobs (certgen create, patch). */
  vpaCertGen: r(10, 32, 100, 64),
  karpenter: r(500, 768, 1000, 768),
  externalSecretsController: r(50, 96, 500, 256),
  externalSecretsWebhook: r(20, 48, 200, 128),
  externalSecretsCertController: r(20, 64, 200, 192),
  certManagerController: r(20, 64, 500, 256),
  certManagerWebhook: r(10, 32, 200, 128),
  certManagerCainjector: r(10, 64, 200, 256),
  /** cert-manager's post-install Job that waits for the webhook. */
  certManagerStartupApiCheck: r(10, 32, 100, 64),
  istiod: r(200, 512, 1000, 2048),
  /** Istio's CNI node agent (kube-system: outside the stack's quotas, limits all the same). */
  istioCni: r(50, 64, 500, 256),
} as const satisfies Record<string, ContainerResources>;

/** istiod's replica ceiling per environment (its HorizontalPodAutoscaler in prod; one replica in dev). */
export const istiodMaxReplicas: Readonly<Record<Environment, number>> = { prod: 5, dev: 1 };

/** Prometheus' container per environment. */
export const prometheusResources: Readonly<Record<Environment, ContainerResources>> = {
  prod: r(500, 2048, 2000, 4096),
  dev: r(200, 768, 1000, 1536),
};

/** `resources` values of a table row. */
export const chartResources = (c: ContainerResources) => resourcesOf(c);

/** The `restricted` container settings (and a read-only root filesystem). */
export const restrictedContainerSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
} as const;
