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
  // The default class before any claim: Prometheus's and Alertmanager's volumes bind through it.
  "StorageClass",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ResourceQuota",
  "LimitRange",
  // Isolation before the pods: the default deny and its allows exist when the first pod starts.
  "NetworkPolicy",
  // Security groups for pods are assigned at pod creation only: the policies precede every pod.
  "SecurityGroupPolicy",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Secret",
  "ConfigMap",
  // Secrets and certificates from their controllers before the pods that mount them.
  "ClusterSecretStore",
  "ExternalSecret",
  "ClusterIssuer",
  "Certificate",
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
    .map((r) => redactSecretData(stripUndefined(r.inputs) as KubernetesObject))
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

/**
 * A Secret whose whole data is a Pulumi secret arrives masked as the string "[secret]". Keep the
 * object well-formed (an empty map) and say what was redacted, so it still validates and reviews.
 */
function redactSecretData(obj: KubernetesObject): KubernetesObject {
  if (obj.kind !== "Secret") return obj;
  const redacted = (["data", "stringData"] as const).filter((k) => obj[k] === "[secret]");
  if (redacted.length === 0) return obj;
  const copy: KubernetesObject = { ...obj, metadata: { ...obj.metadata } };
  for (const k of redacted) copy[k] = {};
  const annotations = { ...((obj.metadata.annotations as Record<string, string> | undefined) ?? {}), "pyairtable.io/redacted": redacted.join(",") };
  copy.metadata.annotations = annotations;
  return copy;
}

/**
 * Plain files for review next to the manifests: the Prometheus rule groups as a rule file
 * (for `promtool check rules`), the Grafana dashboards as JSON, from the planned objects.
 */
export function reviewFilesFromObjects(objects: readonly KubernetesObject[]): ExtraFile[] {
  const groups = objects.filter((o) => o.kind === "PrometheusRule").flatMap((o) => ((o.spec as { groups?: unknown[] } | undefined)?.groups ?? []));
  const files: ExtraFile[] = [];
  if (groups.length > 0) {
    files.push({ name: "prometheus-rules.yaml", content: "# Rule groups of the PrometheusRule objects, as a Prometheus rule file.\n" + stringify({ groups }, { lineWidth: 0 }) });
  }
  for (const o of objects.filter((o) => o.kind === "ConfigMap" && (o.metadata.labels as Record<string, string> | undefined)?.grafana_dashboard === "1")) {
    for (const [key, json] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) {
      files.push({ name: `dashboard-${key}`, content: json });
    }
  }
  return files;
}

function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, stripUndefined(v)]));
  }
  return value;
}
