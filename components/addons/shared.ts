/**
 * What the add-on components (one per file in this folder) share: the names other components rely
 * on, the labels and node placement of every add-on, Kubernetes quantity strings, Helm-style value
 * merging, and the options every add-on child is created with.
 *
 * Children keep their pre-split URNs through aliases: before issue 12 every add-on resource was a
 * direct child of the ClusterAddons component. Each add-on component now parents its own children
 * (`{ parent: this }`) and gives each of them the alias `{ parent: <the ClusterAddons component> }`
 * (`AddonBaseArgs.formerParent`), so `pulumi up` on an existing stack moves them in the state
 * instead of deleting and re-creating them. Resource names are unchanged: each add-on component
 * takes the ClusterAddons component's name, and names its children as ClusterAddons did.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { addonCharts, type AddonChart } from "../../lib/catalog/addons";
import { workloadClassLabel } from "../../lib/catalog/workloadClasses";
import type { Environment } from "../../lib/config/settings";

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
  externalSecrets: "external-secrets",
  certManager: "cert-manager",
  istioBase: "istio-base",
  istiod: "istiod",
  istioCni: "istio-cni",
} as const;
export type AddonKey = keyof typeof helmReleaseNames;

/** Add-ons run on the system node group (on-demand, not managed by Karpenter). */
export const systemNodeSelector = { [workloadClassLabel]: "system" } as const;

/** Labels of every object the add-ons create (not the Helm charts' own objects). */
export const managedLabels = { "pyairtable.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "pyairtable" } as const;

/** Priority class of the add-on controllers (the cluster-critical built-in). */
export const criticalPriorityClass = "system-cluster-critical";

/** Monitoring and controller sizing per environment (the system node group must hold all of it). */
export const addonSizing = {
  prod: {
    /** Replicas of the controllers that can run active/standby or active/active. */
    controllerReplicas: 2,
    /** 15 days of 15 s samples; retentionSize stays under the volume so compaction never fills it. */
    prometheus: { replicas: 2, retention: "15d", retentionSize: "90GB", storageGiB: 100 },
    alertmanager: { replicas: 2, storageGiB: 5 },
  },
  dev: {
    controllerReplicas: 1,
    prometheus: { replicas: 1, retention: "7d", retentionSize: "18GB", storageGiB: 20 },
    alertmanager: { replicas: 1, storageGiB: 1 },
  },
} as const satisfies Record<Environment, unknown>;

/** CPU in millicores and memory in MiB of one container (requests and limits). */
export interface ContainerResources {
  readonly request: { readonly cpuMillis: number; readonly memoryMiB: number };
  readonly limit: { readonly cpuMillis: number; readonly memoryMiB: number };
}

/** Quantity strings: whole cores and GiB where exact, else millicores and MiB. */
export function cpuQuantity(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}
export function memoryQuantity(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
/** Requests and limits of a container as Kubernetes quantities. */
export const resourcesOf = (c: ContainerResources) => ({
  requests: { cpu: cpuQuantity(c.request.cpuMillis), memory: memoryQuantity(c.request.memoryMiB) },
  limits: { cpu: cpuQuantity(c.limit.cpuMillis), memory: memoryQuantity(c.limit.memoryMiB) },
});

export type Values = Record<string, unknown>;
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

/** Arguments every add-on component takes. */
export interface AddonBaseArgs {
  /** `prod` or `dev`: picks the sizing rows (replicas, retention, quotas). */
  environment: Environment;
  /** Kubernetes provider of the cluster (AWS-only add-ons ignore it). */
  provider: k8s.Provider;
  /**
   * The component that parented this add-on's children before the split (ClusterAddons). Every
   * child gets the alias `{ parent: formerParent }`, so an existing stack keeps its resources.
   * Default: none (no aliases).
   */
  formerParent?: pulumi.Resource;
}

/** Options of an add-on's child: parented to the add-on, aliased to its URN under `formerParent`. */
export function childOptions(
  parent: pulumi.Resource,
  formerParent: pulumi.Resource | undefined,
  extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions & { parent: pulumi.Resource } {
  return { ...extra, parent, ...(formerParent ? { aliases: [{ parent: formerParent }] } : {}) };
}

/** Options of an add-on's Kubernetes child: the cluster's provider and, if any, what it waits for. */
export function k8sChildOptions(parent: pulumi.Resource, args: AddonBaseArgs, ...deps: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions {
  return childOptions(parent, args.formerParent, deps.length > 0 ? { provider: args.provider, dependsOn: deps } : { provider: args.provider });
}

/**
 * An add-on's Helm release (chart and version from lib/catalog/addons.ts), named
 * `<prefix>-<release name>`. A failed install or upgrade rolls back instead of leaving a
 * half-upgraded controller. `timeoutSeconds` default 900.
 */
export function helmRelease(
  prefix: string,
  key: AddonKey,
  namespace: string,
  values: pulumi.Inputs,
  opts: pulumi.CustomResourceOptions,
  timeoutSeconds = 900,
): k8s.helm.v3.Release {
  const chart: AddonChart = addonCharts[key];
  return new k8s.helm.v3.Release(`${prefix}-${helmReleaseNames[key]}`, {
    name: helmReleaseNames[key],
    chart: chart.chart,
    version: chart.version,
    ...(chart.repo ? { repositoryOpts: { repo: chart.repo } } : {}),
    namespace,
    values,
    atomic: true,
    cleanupOnFail: true,
    maxHistory: 10,
    timeout: timeoutSeconds,
  }, opts);
}

/** Throws the add-on's validation error: `<Type> <name>: <message>`. */
export function failer(component: string, name: string): (message: string) => never {
  return (message: string): never => {
    throw new Error(`${component} ${name}: ${message}`);
  };
}

/** Arguments of an add-on installed as one Helm release. */
export interface HelmAddonArgs extends AddonBaseArgs {
  /** What the release waits for: its namespace, node capacity, the CRDs it needs. Default: nothing. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}
