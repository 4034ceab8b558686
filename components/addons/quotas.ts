/**
 * Priority classes, and per application namespace a ResourceQuota with a LimitRange: a runaway
 * deployment cannot starve the other namespaces. The quota rows are data (`namespaceQuotas`); the
 * ClusterAddons validation proves each row holds its namespace's maximum replicas.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { applicationNamespaces, namespaces, priorityClasses } from "../../lib/catalog/cluster";
import { serviceCatalog } from "../../lib/catalog/services";
import type { Environment, ServiceReplicaSettings } from "../../lib/config/settings";
import { pgbouncer, pgbouncerContainerResources, pgbouncerSizing } from "./pgbouncerPool";
import { cpuQuantity, failer, k8sChildOptions, managedLabels, memoryQuantity, resourcesOf, type AddonBaseArgs, type ContainerResources } from "./shared";

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
  /** The application Namespaces by name (ClusterNamespaces.byName): quotas are created in them. */
  namespaces: Readonly<Record<string, k8s.core.v1.Namespace>>;
}

export class QuotasAndPriorityClasses extends pulumi.ComponentResource {
  public readonly priorityClasses: readonly k8s.scheduling.v1.PriorityClass[];
  /** ResourceQuota and LimitRange of each application namespace, in namespace order. */
  public readonly quotas: readonly pulumi.Resource[];

  constructor(name: string, args: QuotasAndPriorityClassesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:QuotasAndPriorityClasses", name, {}, opts);
    const fail = failer("QuotasAndPriorityClasses", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const missing = applicationNamespaces.filter((ns) => args.namespaces?.[ns] === undefined);
    if (missing.length > 0) fail(`namespaces: ${missing.join(", ")} missing (pass ClusterNamespaces.byName)`);
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
    for (const nsName of applicationNamespaces) {
      const q = namespaceQuotas[args.environment][nsName];
      const d = containerDefaults[nsName];
      const ns = args.namespaces[nsName]!;
      quotas.push(new k8s.core.v1.ResourceQuota(`${name}-quota-${nsName}`, {
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
      // With limits.* in the quota every container must declare limits: the defaults fill them in.
      quotas.push(new k8s.core.v1.LimitRange(`${name}-limits-${nsName}`, {
        metadata: { name: "pyairtable-container-defaults", namespace: nsName, labels: managedLabels },
        spec: {
          limits: [{
            type: "Container",
            defaultRequest: resourcesOf(d).requests,
            default: resourcesOf(d).limits,
          }],
        },
      }, child(ns)));
    }
    this.quotas = quotas;
    this.registerOutputs({});
  }
}
