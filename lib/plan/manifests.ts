/**
 * Rendering the Kubernetes objects of a plan as YAML files, in the order they are applied, so they
 * can be reviewed, diffed and validated (kubeconform, the schema tests) without a cluster.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { PlannedResource } from "./mockRuntime";

/** Kinds in apply order: what others reference comes first. Unlisted kinds go last, by name. */
export const applyOrder = [
  "Namespace",
  "PriorityClass",
  "ResourceQuota",
  "LimitRange",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "ClusterTriggerAuthentication",
  "TriggerAuthentication",
  "EC2NodeClass",
  "NodePool",
  "Service",
  "Deployment",
  "HorizontalPodAutoscaler",
  "ScaledObject",
  "VerticalPodAutoscaler",
  "PodDisruptionBudget",
  "PrometheusRule",
  "ServiceMonitor",
  "PodMonitor",
] as const;

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export function isKubernetesObjectResource(r: PlannedResource): boolean {
  return r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && typeof r.inputs.kind === "string" && typeof r.inputs.apiVersion === "string";
}

/** The Kubernetes objects of a plan (their inputs are the manifests), in apply order. */
export function kubernetesObjects(resources: readonly PlannedResource[]): KubernetesObject[] {
  const rank = (kind: string) => {
    const i = (applyOrder as readonly string[]).indexOf(kind);
    return i === -1 ? applyOrder.length : i;
  };
  return resources
    .filter(isKubernetesObjectResource)
    .map((r) => stripUndefined(r.inputs) as KubernetesObject)
    .sort((a, b) => rank(a.kind) - rank(b.kind) || a.kind.localeCompare(b.kind) || `${a.metadata.namespace ?? ""}/${a.metadata.name ?? ""}`.localeCompare(`${b.metadata.namespace ?? ""}/${b.metadata.name ?? ""}`));
}

/** Helm releases of a plan: chart, version, namespace and values, for review. */
export function helmReleases(resources: readonly PlannedResource[]) {
  return resources
    .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
    .map((r) => ({ name: r.inputs.name ?? r.name, namespace: r.inputs.namespace, chart: r.inputs.chart, version: r.inputs.version, repository: (r.inputs.repositoryOpts as { repo?: string } | undefined)?.repo, values: r.inputs.values }));
}

export interface ExtraFile {
  readonly name: string;
  readonly content: string;
}

/**
 * Writes one YAML file per kind (`NN-<kind>.yaml`, NN = apply position), the Helm releases, and any
 * extra plain files (Prometheus rule groups, Alertmanager config). Returns the files written.
 */
export function writeManifests(dir: string, resources: readonly PlannedResource[], extra: readonly ExtraFile[] = []): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const objects = kubernetesObjects(resources);
  const kinds = [...new Set(objects.map((o) => o.kind))];
  kinds.forEach((kind, i) => {
    const docs = objects.filter((o) => o.kind === kind).map((o) => stringify(o, { lineWidth: 0 }));
    const file = path.join(dir, `${String(i + 1).padStart(2, "0")}-${kind.toLowerCase()}.yaml`);
    fs.writeFileSync(file, docs.join("---\n"));
    written.push(file);
  });
  const releases = helmReleases(resources);
  if (releases.length > 0) {
    const file = path.join(dir, "helm-releases.yaml");
    fs.writeFileSync(file, stringify({ releases }, { lineWidth: 0 }));
    written.push(file);
  }
  for (const f of extra) {
    const file = path.join(dir, f.name);
    fs.writeFileSync(file, f.content);
    written.push(file);
  }
  return written;
}

function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, stripUndefined(v)]));
  }
  return value;
}
