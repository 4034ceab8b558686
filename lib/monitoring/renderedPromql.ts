/**
 * Every PromQL expression a rendered stack writes, with where it lives and the templates that read
 * its labels: Prometheus rules, Grafana dashboards (panel targets, template variables, annotations),
 * prometheus-adapter rules, KEDA `prometheus` triggers and the automation service's collector
 * queries. Plus what the contract check needs from the same rendered objects: chart versions and
 * images, the kube-state-metrics allowlist and custom-resource-state metrics, and label values that
 * come from the project's own objects (NodePool names and limits, ScaledObject names and triggers).
 */
import type { Registry } from "prom-client";
import { catalogSeries } from "./signals";
import type { PlannedResource } from "../plan/mockRuntime";
import { helmReleases, kubernetesObjects, type KubernetesObject } from "../plan/manifests";
import { applicationMetricContract } from "./metricNames";
import type { Deployment, MetricCatalogFile } from "./metricCatalogs";
import { checkExpression, checkTemplates, type ContractIndex, type IndexInput, type OwnMetric } from "./promqlContract";

export interface PromqlUse {
  /** Where: `rule <group>/<alert>`, `dashboard <uid> panel "<title>"`, `adapter rule <as>`, ... */
  readonly context: string;
  readonly expr: string;
  /** Alert templates (`{{ $labels.x }}`) or Grafana legends (`{{x}}`) that read the result's labels. */
  readonly templates?: readonly string[];
  readonly templateStyle?: "alert" | "legend";
  /** Labels the result must have (Grafana `label_values(expr, label)`). */
  readonly needsLabels?: readonly string[];
}

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `label_values(expr, label)`, `label_values(label)`, `query_result(expr)`: the PromQL part and the label. */
export function grafanaVariableQuery(q: string): { expr?: string; label?: string } {
  const lv = /^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(q);
  if (lv) return { expr: lv[1], label: lv[2] };
  if (/^\s*label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.test(q)) return {};
  const qr = /^\s*query_result\(\s*(.*)\s*\)\s*$/s.exec(q);
  if (qr) return { expr: qr[1] };
  return { expr: q };
}

/** prometheus-adapter's metricsQuery template with the Go template fields filled for one series. */
export function adapterQuery(template: string, series: string, resources: readonly string[]): string {
  return template
    .replace(/<<\.Series>>/g, series)
    .replace(/<<\.LabelMatchers>>/g, resources.map((r) => `${r}="x"`).join(","))
    .replace(/<<\.GroupBy>>/g, resources.join(", "));
}

function dashboardUses(uid: string, d: Any): PromqlUse[] {
  const uses: PromqlUse[] = [];
  const panels = (list: Any[]): Any[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  for (const p of panels(d.panels ?? [])) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr === "string" && t.expr.trim() !== "") uses.push({ context: `dashboard ${uid} panel "${p.title}" ${t.refId ?? ""}`.trim(), expr: t.expr, templates: t.legendFormat ? [t.legendFormat] : [], templateStyle: "legend" });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query?.query ?? v.definition;
    const { expr, label } = grafanaVariableQuery(q);
    if (expr) uses.push({ context: `dashboard ${uid} variable $${v.name}`, expr, needsLabels: label ? [label] : [] });
  }
  for (const a of d.annotations?.list ?? []) {
    // Grafana's current form keeps the query in `target.expr` (the old top-level `expr` is read too).
    const annotationExpr = typeof a.target?.expr === "string" ? a.target.expr : a.expr;
    if (typeof annotationExpr === "string") uses.push({ context: `dashboard ${uid} annotation "${a.name}"`, expr: annotationExpr, templates: [a.titleFormat, a.textFormat, a.tagKeys ? a.tagKeys.split(",").map((k: string) => `{{${k.trim()}}}`).join(" ") : ""].filter(Boolean), templateStyle: "legend" });
  }
  return uses;
}

/** Every PromQL use of a rendered stack (plus the collector's queries, which the service derives from the catalog). */
export function promqlUses(resources: readonly PlannedResource[]): PromqlUse[] {
  const objects = kubernetesObjects(resources);
  const uses: PromqlUse[] = [];
  for (const o of objects.filter((x) => x.kind === "PrometheusRule")) {
    for (const g of (o.spec as Any)?.groups ?? []) {
      for (const r of g.rules ?? []) {
        const name = r.alert ?? r.record;
        uses.push({ context: `rule ${g.name}/${name}`, expr: String(r.expr), templates: [...Object.values(r.labels ?? {}), ...Object.values(r.annotations ?? {})].map(String), templateStyle: "alert" });
      }
    }
  }
  for (const o of objects.filter((x) => x.kind === "ConfigMap" && (x.metadata.labels as Any | undefined)?.grafana_dashboard === "1")) {
    for (const [key, json] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) uses.push(...dashboardUses(key.replace(/\.json$/, ""), JSON.parse(json)));
  }
  for (const o of objects.filter((x) => x.kind === "ScaledObject")) {
    ((o.spec as Any)?.triggers ?? []).forEach((t: Any, i: number) => {
      if (t.type === "prometheus") uses.push({ context: `ScaledObject ${o.metadata.namespace}/${o.metadata.name} trigger ${i} (${t.name ?? "prometheus"})`, expr: t.metadata.query });
    });
  }
  for (const r of helmReleases(resources).filter((x) => x.chart === "prometheus-adapter")) {
    const rules = (r.values as Any)?.rules ?? {};
    for (const rule of [...(rules.custom ?? []), ...(rules.external ?? [])]) {
      const overrides = Object.keys(rule.resources?.overrides ?? {});
      const series = /^\^?([A-Za-z_:][A-Za-z0-9_:]*)\$?$/.exec(rule.name?.matches ?? "")?.[1] ?? /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(rule.seriesQuery)?.[1] ?? "";
      uses.push({ context: `adapter rule ${rule.name?.as ?? series} seriesQuery`, expr: rule.seriesQuery, needsLabels: overrides });
      uses.push({ context: `adapter rule ${rule.name?.as ?? series} metricsQuery`, expr: adapterQuery(rule.metricsQuery, series, overrides) });
    }
  }
  for (const s of catalogSeries()) uses.push({ context: `collector ${s.service}/${s.signal}`, expr: s.query });
  return uses;
}

/** Chart versions and images the stack deploys. */
export function deploymentOf(resources: readonly PlannedResource[]): Deployment {
  const charts = helmReleases(resources).map((r) => ({ chart: String(r.chart), version: String(r.version) }));
  const images = new Set<string>();
  for (const o of kubernetesObjects(resources)) {
    const pod = (o.spec as Any)?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) if (typeof c.image === "string") images.add(c.image);
  }
  return { charts, images: [...images] };
}

const snake = (key: string) =>
  "label_" +
  key
    .replace(/[^a-zA-Z0-9_]/g, "_")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();

/** kube-state-metrics `label_*` names per resource (singular), from `metricLabelsAllowlist` (`nodes=[a,b]`). */
export function allowlistedLabels(ksmValues: Any | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const entry of ksmValues?.metricLabelsAllowlist ?? []) {
    const m = /^([a-z]+)=\[(.*)\]$/.exec(String(entry));
    if (!m) continue;
    out[m[1]!] = m[2]!.split(",").map((k) => k.trim()).filter(Boolean).map(snake);
  }
  return out;
}

/** kube-state-metrics custom-resource-state metrics from the chart's `customResourceState.config`. */
export function customResourceMetrics(ksmValues: Any | undefined): OwnMetric[] {
  const out = new Map<string, { labels: Set<string>; values: Record<string, Set<string>> }>();
  for (const res of ksmValues?.customResourceState?.config?.spec?.resources ?? []) {
    const prefix = res.metricNamePrefix ?? "kube_customresource";
    for (const m of res.metrics ?? []) {
      const name = `${prefix}_${m.name}`;
      const entry = out.get(name) ?? { labels: new Set(["customresource_group", "customresource_version", "customresource_kind"]), values: {} };
      for (const k of Object.keys(res.labelsFromPath ?? {})) entry.labels.add(k);
      for (const [k, v] of Object.entries(m.commonLabels ?? {})) {
        entry.labels.add(k);
        (entry.values[k] ??= new Set()).add(String(v));
      }
      const each = m.each?.[String(m.each?.type ?? "").toLowerCase()] ?? {};
      for (const k of Object.keys(each.labelsFromPath ?? {})) entry.labels.add(k);
      if (each.labelFromKey) entry.labels.add(each.labelFromKey);
      out.set(name, entry);
    }
  }
  return [...out].map(([name, e]) => ({ name, type: "gauge", labels: [...e.labels], labelValues: Object.fromEntries(Object.entries(e.values).map(([k, v]) => [k, { values: [...v] }])) }));
}

/** Label values that come from the project's own objects, keyed like the catalogs' `source`. */
export function sourceValuesOf(objects: readonly KubernetesObject[]): Map<string, Set<string>> {
  const nodePools = objects.filter((o) => o.kind === "NodePool");
  const scaled = objects.filter((o) => o.kind === "ScaledObject");
  const maxTriggers = Math.max(0, ...scaled.map((o) => ((o.spec as Any)?.triggers ?? []).length));
  return new Map([
    ["NodePool.metadata.name", new Set(nodePools.map((o) => String(o.metadata.name)))],
    ["NodePool.spec.limits", new Set(nodePools.flatMap((o) => Object.keys((o.spec as Any)?.limits ?? {}).map((k) => k.toLowerCase().replace(/-/g, "_"))))],
    ["ScaledObject.metadata.name", new Set(scaled.map((o) => String(o.metadata.name)))],
    ["ScaledObject.spec.triggers", new Set(Array.from({ length: maxTriggers }, (_, i) => String(i)))],
  ]);
}

/** A metrics registry holder such as the automation service's `AutomationMetrics` (automation/metrics.ts). */
export interface RegistryHolder {
  readonly registry: Registry;
}

/** The automation service's registry as own metrics (names, types, label names). */
export function registryMetrics(metrics: RegistryHolder): OwnMetric[] {
  return metrics.registry.getMetricsAsArray().map((m) => {
    const x = m as unknown as { name: string; type?: string; labelNames?: string[] };
    return { name: x.name, type: String(x.type ?? m.constructor.name.toLowerCase()), labels: x.labelNames ?? [] };
  });
}

/** Everything the index needs besides the catalogs, from a rendered stack. */
export function indexInputFromPlan(resources: readonly PlannedResource[], catalogs: readonly MetricCatalogFile[], automation: RegistryHolder): IndexInput {
  const objects = kubernetesObjects(resources);
  const kps = helmReleases(resources).find((r) => r.chart === "kube-prometheus-stack");
  const ksmValues = (kps?.values as Any | undefined)?.["kube-state-metrics"];
  const prom = catalogs.find((c) => c.exporter === "prometheus");
  const serviceMonitorLabels = (prom?.scrape_target_labels?.servicemonitor ?? ["job", "instance", "namespace", "service", "pod", "container", "endpoint"]).map((l) => l.split(" ")[0]!).filter((l) => l !== "node");
  const podMonitorLabels = (prom?.scrape_target_labels?.podmonitor ?? ["job", "instance", "namespace", "pod", "container", "endpoint"]).map((l) => l.split(" ")[0]!);
  const podRelabels = objects
    .filter((o) => o.kind === "PodMonitor" && String(o.metadata.name).startsWith("pyairtable-apps-"))
    .flatMap((o) => ((o.spec as Any)?.podMetricsEndpoints ?? []).flatMap((e: Any) => (e.relabelings ?? []).map((r: Any) => r.targetLabel).filter(Boolean)));
  return {
    catalogs,
    allowlistedLabels: allowlistedLabels(ksmValues),
    customResourceMetrics: customResourceMetrics(ksmValues),
    sourceValues: sourceValuesOf(objects),
    ...(Array.isArray(ksmValues?.collectors) ? { kubeStateMetricsCollectors: ksmValues.collectors as string[] } : {}),
    own: [
      { exporter: "automation service (automation/metrics.ts)", targetLabels: serviceMonitorLabels, metrics: registryMetrics(automation) },
      { exporter: "application services (documented contract, lib/monitoring/metricNames.ts)", targetLabels: [...podMonitorLabels, ...podRelabels], metrics: applicationMetricContract },
    ],
  };
}

/** Checks every use; returns the findings (empty when the stack keeps the contract). */
export function checkUses(uses: readonly PromqlUse[], index: ContractIndex): string[] {
  const findings: string[] = [];
  for (const u of uses) {
    const c = checkExpression(u.expr, index, u.context);
    findings.push(...c.findings);
    if (u.templates && u.templateStyle) findings.push(...checkTemplates(c, u.templates, u.templateStyle, u.context));
    if (u.needsLabels && !c.resultOpen) {
      for (const l of u.needsLabels) if (!c.resultLabels.has(l)) findings.push(`${u.context}: needs label '${l}', which the result does not have (it has: ${[...c.resultLabels].sort().join(", ") || "none"})`);
    }
  }
  return findings;
}
