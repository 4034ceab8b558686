/**
 * Priority classes, and in every namespace the stack creates a ResourceQuota with a LimitRange
 * (defaults, min and max per container): a runaway deployment cannot starve the other namespaces,
 * and no container can ask for less than the scheduler can place or more than a node holds. The
 * application quota rows are data (`namespaceQuotas`; components/quotaCheck.ts proves each holds its
 * namespace's maximum replicas); the platform rows are computed from the add-on charts' workloads
 * (`platformNamespaceWorkloads`, whose rendered pods test/chartPods.test.ts checks against them).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { applicationNamespaces, namespaces, priorityClasses, stackNamespaces, type NamespaceName } from "../../lib/catalog/cluster";
import { serviceCatalog } from "../../lib/catalog/services";
import type { Environment, ServiceReplicaSettings } from "../../lib/config/settings";
import { pgbouncer, pgbouncerContainerResources, pgbouncerSizing } from "./pgbouncerPool";
import { addonSizing, cpuQuantity, failer, k8sChildOptions, managedLabels, memoryQuantity, resourcesOf, type AddonBaseArgs, type ContainerResources } from "./shared";
import { addonContainerResources as res, istiodMaxReplicas, prometheusResources } from "./workloadHygiene";

export type ApplicationNamespace = (typeof applicationNamespaces)[number];

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

/**
 * Smallest and largest container per namespace (LimitRange `min` and `max`, on requests and limits
 * alike). min: below 10m/16Mi nothing useful runs and the scheduler packs pods on nodes they cannot
 * work on. max: the largest container the namespace's workloads need, with room for VPA's
 * `maxAllowed` (lib/scaling/workloads.ts: api 2 CPU/4Gi, batch 4 CPU/8Gi, data 2 CPU/2Gi) and the
 * Istio sidecar's limit (2 CPU/1Gi); Prometheus is the largest platform container (prod limit 2 CPU/4Gi).
 */
export const containerBounds: Readonly<Record<NamespaceName, { readonly min: { cpuMillis: number; memoryMiB: number }; readonly max: { cpuMillis: number; memoryMiB: number } }>> = {
  [namespaces.api]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 4000, memoryMiB: 8192 } },
  [namespaces.workers]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 8000, memoryMiB: 16384 } },
  [namespaces.data]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 2000, memoryMiB: 2048 } },
  [namespaces.automation]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 4000, memoryMiB: 4096 } },
  [namespaces.monitoring]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 4000, memoryMiB: 8192 } },
  [namespaces.keda]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 2000, memoryMiB: 2048 } },
  [namespaces.vpa]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 2000, memoryMiB: 2048 } },
  [namespaces.nodeExporter]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 500, memoryMiB: 256 } },
  [namespaces.externalSecrets]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 1000, memoryMiB: 1024 } },
  [namespaces.certManager]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 1000, memoryMiB: 1024 } },
  // istiod's limit is 1 CPU/2Gi (workloadHygiene.ts).
  [namespaces.istio]: { min: { cpuMillis: 10, memoryMiB: 16 }, max: { cpuMillis: 2000, memoryMiB: 4096 } },
};

/** Namespaces the stack creates that are not application namespaces (the add-ons' own). */
export type PlatformNamespace = Exclude<NamespaceName, ApplicationNamespace>;

/** A platform workload counted in its namespace's quota; `perNode`: a DaemonSet (one pod per node). */
export interface PlatformWorkload {
  readonly name: string;
  /** Pods at once, rolling-update surge included (a Deployment of n replicas surges to n + 1). */
  readonly pods: number | "perNode";
  readonly containers: readonly ContainerResources[];
}

/**
 * What the add-on charts run in each platform namespace (the release values of keda.ts, vpa.ts,
 * kubePrometheusStack.ts, prometheusAdapter.ts), pods counted with their rolling-update surge.
 * test/chartPods.test.ts checks the rendered charts against these rows (every rendered pod is
 * counted here, at no less than its rendered replicas and resources).
 */
export function platformNamespaceWorkloads(environment: Environment): Readonly<Record<PlatformNamespace, readonly PlatformWorkload[]>> {
  const s = addonSizing[environment];
  const controllers = s.controllerReplicas + 1;
  return {
    [namespaces.monitoring]: [
      // StatefulSets from the operator: no surge (one pod replaced at a time).
      { name: "prometheus", pods: s.prometheus.replicas, containers: [prometheusResources[environment], res.configReloader] },
      { name: "alertmanager", pods: s.alertmanager.replicas, containers: [res.alertmanager, res.configReloader] },
      { name: "grafana", pods: 2, containers: [res.grafana, res.grafanaSidecar, res.grafanaSidecar] },
      { name: "kube-state-metrics", pods: 2, containers: [res.kubeStateMetrics] },
      { name: "prometheus-operator", pods: 2, containers: [res.prometheusOperator] },
      { name: "prometheus-operator-admission-jobs", pods: 2, containers: [res.admissionWebhookJob] },
      { name: "prometheus-adapter", pods: controllers, containers: [res.prometheusAdapter] },
    ],
    [namespaces.keda]: [
      { name: "keda-operator", pods: controllers, containers: [res.kedaOperator] },
      { name: "keda-operator-metrics-apiserver", pods: controllers, containers: [res.kedaMetricsServer] },
      { name: "keda-admission-webhooks", pods: controllers, containers: [res.kedaWebhooks] },
    ],
    [namespaces.vpa]: [
      { name: "vpa-recommender", pods: 2, containers: [res.vpaRecommender] },
      { name: "vpa-updater", pods: 2, containers: [res.vpaUpdater] },
      { name: "vpa-admission-controller", pods: controllers, containers: [res.vpaAdmissionController] },
      { name: "vpa-admission-certgen-jobs", pods: 2, containers: [res.vpaCertGen] },
    ],
    [namespaces.nodeExporter]: [{ name: "prometheus-node-exporter", pods: "perNode", containers: [res.nodeExporter] }],
    // externalSecrets.ts, certManager.ts, istio.ts.
    [namespaces.externalSecrets]: [
      { name: "external-secrets", pods: controllers, containers: [res.externalSecretsController] },
      { name: "external-secrets-webhook", pods: controllers, containers: [res.externalSecretsWebhook] },
      { name: "external-secrets-cert-controller", pods: 2, containers: [res.externalSecretsCertController] },
    ],
    [namespaces.certManager]: [
      { name: "cert-manager", pods: controllers, containers: [res.certManagerController] },
      { name: "cert-manager-webhook", pods: controllers, containers: [res.certManagerWebhook] },
      { name: "cert-manager-cainjector", pods: 2, containers: [res.certManagerCainjector] },
      { name: "cert-manager-startupapicheck-job", pods: 1, containers: [res.certManagerStartupApiCheck] },
    ],
    // istiod scales with its own HPA in prod (istioValues: autoscaleMax), surge on top.
    [namespaces.istio]: [{ name: "istiod", pods: istiodMaxReplicas[environment] + 1, containers: [res.istiod] }],
  };
}

/**
 * The quota of a platform namespace: the sum of its workloads' pods x containers, with the
 * quotaHeadroomPercent margin; a DaemonSet counts `maxNodes` pods (the cluster's node ceiling,
 * `cluster.maxNodes`).
 */
export function platformNamespaceQuota(namespace: PlatformNamespace, environment: Environment, maxNodes: number): ResourceBudget {
  const withHeadroom = (n: number) => Math.ceil((n * (100 + quotaHeadroomPercent)) / 100);
  const sum = { pods: 0, rc: 0, rm: 0, lc: 0, lm: 0 };
  for (const w of platformNamespaceWorkloads(environment)[namespace]) {
    const pods = w.pods === "perNode" ? maxNodes : w.pods;
    sum.pods += pods;
    for (const c of w.containers) {
      sum.rc += pods * c.request.cpuMillis;
      sum.rm += pods * c.request.memoryMiB;
      sum.lc += pods * c.limit.cpuMillis;
      sum.lm += pods * c.limit.memoryMiB;
    }
  }
  return { pods: withHeadroom(sum.pods), requestsCpuMillis: withHeadroom(sum.rc), requestsMemoryMiB: withHeadroom(sum.rm), limitsCpuMillis: withHeadroom(sum.lc), limitsMemoryMiB: withHeadroom(sum.lm) };
}

/** Istio's default sidecar (istio-proxy) requests and limits, counted per pod when sidecars are on. */
export const istioSidecarResources: ContainerResources = { request: { cpuMillis: 100, memoryMiB: 128 }, limit: { cpuMillis: 2000, memoryMiB: 1024 } };

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

/** The ResourceQuota fields, in the order errors name them. */
export const budgetFields = ["pods", "requestsCpuMillis", "requestsMemoryMiB", "limitsCpuMillis", "limitsMemoryMiB"] as const;

export interface QuotasAndPriorityClassesArgs extends AddonBaseArgs {
  /** Every Namespace of the stack by name (ClusterNamespaces.byName): quotas are created in them. */
  namespaces: Readonly<Record<string, k8s.core.v1.Namespace>>;
  /** The cluster's node ceiling (`cluster.maxNodes`): the node-exporter DaemonSet's pods. Default 500 (the setting's upper bound). */
  maxNodes?: number;
  /** Sidecars on: istio-system exists and gets its quota (`stackNamespaces`). Default false. */
  istioSidecars?: boolean;
}

export class QuotasAndPriorityClasses extends pulumi.ComponentResource {
  public readonly priorityClasses: readonly k8s.scheduling.v1.PriorityClass[];
  /** ResourceQuota and LimitRange of every namespace, in namespace order. */
  public readonly quotas: readonly pulumi.Resource[];

  constructor(name: string, args: QuotasAndPriorityClassesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:QuotasAndPriorityClasses", name, {}, opts);
    const fail = failer("QuotasAndPriorityClasses", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const stackSpaces = stackNamespaces({ istioSidecars: args.istioSidecars ?? false });
    const missing = stackSpaces.filter((ns) => args.namespaces?.[ns] === undefined);
    if (missing.length > 0) fail(`namespaces: ${missing.join(", ")} missing (pass ClusterNamespaces.byName)`);
    const maxNodes = args.maxNodes ?? 500;
    if (!Number.isInteger(maxNodes) || maxNodes < 1 || maxNodes > 500) fail(`maxNodes = ${JSON.stringify(args.maxNodes)}: must be a whole number from 1 to 500 (cluster.maxNodes)`);
    const child = (...deps: pulumi.Input<pulumi.Resource>[]) => k8sChildOptions(this, args, ...deps);

    this.priorityClasses = Object.entries(priorityClasses).map(([key, pc]) =>
      new k8s.scheduling.v1.PriorityClass(`${name}-priority-${key}`, {
        metadata: { name: pc.name, labels: managedLabels },
        value: pc.value,
        globalDefault: false,
        // Higher classes may evict lower ones when capacity is short (batch goes first).
        preemptionPolicy: "PreemptLowerPriority",
        description: pc.description,
      }, child()));

    const quotas: pulumi.Resource[] = [];
    const app = (ns: NamespaceName): ns is ApplicationNamespace => (applicationNamespaces as readonly string[]).includes(ns);
    for (const nsName of stackSpaces) {
      const q = app(nsName) ? namespaceQuotas[args.environment][nsName] : platformNamespaceQuota(nsName, args.environment, maxNodes);
      const ns = args.namespaces[nsName]!;
      // Application namespaces keep their resource names from before the platform ones had quotas.
      const suffix = app(nsName) ? nsName : `platform-${nsName}`;
      quotas.push(new k8s.core.v1.ResourceQuota(`${name}-quota-${suffix}`, {
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
      }, child(ns)));
      quotas.push(new k8s.core.v1.LimitRange(`${name}-limits-${suffix}`, {
        metadata: { name: "pyairtable-container-defaults", namespace: nsName, labels: managedLabels },
        spec: { limits: [containerLimitRange(nsName)] },
      }, child(ns)));
    }
    this.quotas = quotas;
    this.registerOutputs({});
  }
}

/**
 * The LimitRange item of a namespace: min and max per container, and (application namespaces) the
 * defaults a container without resources gets. With limits.* in the quota every container must
 * declare limits: in the application namespaces the defaults fill them in; the charts in the
 * platform namespaces set them all (workloadHygiene.ts), and their defaults are the minimum so a
 * container that slips through is obviously starved, not silently large.
 */
export function containerLimitRange(namespace: NamespaceName) {
  const b = containerBounds[namespace];
  const q = (x: { cpuMillis: number; memoryMiB: number }) => ({ cpu: cpuQuantity(x.cpuMillis), memory: memoryQuantity(x.memoryMiB) });
  const d = (applicationNamespaces as readonly string[]).includes(namespace)
    ? containerDefaults[namespace as ApplicationNamespace]
    : { request: b.min, limit: { cpuMillis: 10 * b.min.cpuMillis, memoryMiB: 4 * b.min.memoryMiB } };
  return { type: "Container", defaultRequest: resourcesOf(d).requests, default: resourcesOf(d).limits, min: q(b.min), max: q(b.max) };
}
