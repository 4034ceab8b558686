/**
 * The autoscaling dashboard suite (design: "Monitoring and Alerting" → "Dashboard Suite" and
 * "Comprehensive Metrics") as Grafana dashboard JSON models.
 *
 * Pure functions: no Pulumi, no I/O. `buildDashboards` returns the four dashboards (executive, operations,
 * cost, predictive); `dashboardConfigMapData` turns one into the `data` of a ConfigMap that the Grafana
 * dashboard sidecar of kube-prometheus-stack picks up when the ConfigMap carries `GRAFANA_DASHBOARD_LABEL`.
 *
 * Every PromQL expression queries only metrics of the contract in `./metricNames` (a test enforces it and
 * parses every expression with promtool).
 *
 * Label conventions the queries rely on (the components that deploy the workloads and scrape configs must
 * keep them true):
 * - a catalog service's `name` is at once its Deployment name, its Kubernetes Service name (so the
 *   ServiceMonitor-added `service` label of `http_requests_total`/`http_request_duration_seconds` equals it),
 *   its ScaledObject name (KEDA label `scaledObject`), and its HPA name (KEDA-created HPAs are named
 *   `keda-hpa-<scaledObject>`; both forms are matched);
 * - the automation service's metrics carry the target service in the label `service`; its ServiceMonitor
 *   therefore needs `honorLabels: true`, or Prometheus renames that label to `exported_service`;
 * - `pyairtable_autoscaler_forecast_load{signal}` is the forecast of the collector's series `signal`
 *   (lib/monitoring/signals.ts: request rate for HPA services, KEDA scaler values for queue workers) and
 *   is compared with that same query; its `horizon` label is a Prometheus duration (e.g. "15m");
 * - kube-state-metrics allow-lists the node labels named in `DashboardNodeLabels` (`metricLabelsAllowlist`).
 */
import { applicationMetrics, automationServiceMetrics as auto } from "./metricNames";
import { serviceCatalog } from "../catalog/services";
import { seriesFor } from "./signals";

// ---------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------

export type DashboardKind = "executive" | "operations" | "cost" | "predictive";

/** The dashboards, in the order `buildDashboards` returns them. */
export const DASHBOARD_KINDS: readonly DashboardKind[] = ["executive", "operations", "cost", "predictive"];

/** Label the Grafana dashboard sidecar of kube-prometheus-stack watches (chart defaults `sidecar.dashboards.label`/`labelValue`). */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/**
 * Annotation naming the Grafana folder of a dashboard ConfigMap. Only honoured when the chart sets
 * `grafana.sidecar.dashboards.folderAnnotation: grafana_folder` (and `provider.foldersFromFilesStructure: true`).
 */
export const GRAFANA_FOLDER_ANNOTATION = "grafana_folder";

/** Folder the suite belongs in (value for `GRAFANA_FOLDER_ANNOTATION`). */
export const DASHBOARD_FOLDER = "PyAirtable Autoscaling";

/** Tag shared by the four dashboards; the dashboards link to each other through it. */
export const DASHBOARD_SUITE_TAG = "pyairtable-autoscaling";

/** Grafana dashboard JSON schema version the models are written for. */
export const GRAFANA_SCHEMA_VERSION = 39;

/** Budgets the threshold lines are drawn at (design "Budget Management"). */
export interface DashboardBudgets {
  /** Daily budget, USD. Design: 500. */
  readonly dailyUsd: number;
  /** Weekly budget, USD. Design: 3000. */
  readonly weeklyUsd: number;
  /** Monthly budget, USD. Design: 12000. */
  readonly monthlyUsd: number;
  /** Share of a budget at which spend turns to warning. Design: 0.8 ("80% warning threshold"). Default 0.8. */
  readonly warningRatio?: number;
  /** Share of a budget at which the emergency scale-down fires. Design: 0.95. Default 0.95. */
  readonly emergencyRatio?: number;
}

/** KPI targets (design "Success Metrics"); every field is drawn as a threshold. */
export interface DashboardTargets {
  /** Availability target, 0-1, from the 5xx ratio of `http_requests_total`. Design: 0.999 (99.9%). */
  readonly availability: number;
  /** p95 latency target in seconds. Design: 0.5 (500 ms). */
  readonly p95LatencySeconds: number;
  /** CPU efficiency target (usage / requests), 0-1. Design: 0.7 (> 70%). */
  readonly cpuEfficiency: number;
  /** Memory efficiency target (working set / requests), 0-1. Design: 0.7 (> 70%). */
  readonly memoryEfficiency: number;
  /** Forecast accuracy target, 0-1; MAPE is flagged above `1 - predictionAccuracy`. Design: 0.8 (> 80%). */
  readonly predictionAccuracy: number;
  /** Decision confidence threshold, 0-1. Design: 0.8 ("80% confidence threshold"). Default 0.8. */
  readonly decisionConfidence?: number;
  /** Nominal coverage of the forecast interval, 0-1. Design: 0.8 (the 80% interval). Default 0.8. */
  readonly intervalCoverage?: number;
}

/** kube-state-metrics label names (after `label_` sanitising) of the node labels the cost panels group by. */
export interface DashboardNodeLabels {
  /** Capacity type label. Default `label_karpenter_sh_capacity_type` (node label `karpenter.sh/capacity-type`). */
  readonly capacityType: string;
  /** Value of `capacityType` on spot nodes. Default `spot`. */
  readonly spotValue: string;
  /** Instance type label. Default `label_node_kubernetes_io_instance_type` (`node.kubernetes.io/instance-type`). */
  readonly instanceType: string;
}

export const DEFAULT_NODE_LABELS: DashboardNodeLabels = {
  capacityType: "label_karpenter_sh_capacity_type",
  spotValue: "spot",
  instanceType: "label_node_kubernetes_io_instance_type",
};

/** One entry of the service catalog, as far as dashboards care. */
export interface DashboardService {
  /** Deployment / Service / ScaledObject / HPA name, and the `service` label of application and automation metrics. */
  readonly name: string;
  readonly namespace: string;
}

export interface DashboardOptions {
  readonly environment: "prod" | "dev";
  /** The service catalog (built elsewhere). Drives the namespace/service variables and the per-service panels. */
  readonly services: ReadonlyArray<DashboardService>;
  readonly budgets: DashboardBudgets;
  readonly targets: DashboardTargets;
  /**
   * Forecast horizon shown against actual load: the value of the `horizon` label, which must be a Prometheus
   * duration; the forecast series is shifted by it (`offset`) so it lines up with the load it predicted.
   * Default "15m" (design: metrics collected at 15-minute intervals).
   */
  readonly forecastHorizon?: string;
  /**
   * Interval of the forecast runs in seconds; the "last successful forecast" age turns orange after two missed
   * runs and red after four. Default 900 (design: 15-minute intervals).
   */
  readonly forecastIntervalSeconds?: number;
  /** Node label names in kube-state-metrics. Default `DEFAULT_NODE_LABELS`. */
  readonly nodeLabels?: Partial<DashboardNodeLabels>;
}

export interface GrafanaDatasourceRef {
  readonly type: "prometheus";
  readonly uid: string;
}

export interface GrafanaTarget {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: GrafanaDatasourceRef;
  range: boolean;
  instant: boolean;
  format: "time_series" | "table";
  interval?: string;
}

export interface GrafanaThresholdStep {
  color: string;
  value: number | null;
}

export interface GrafanaFieldOverride {
  matcher: { id: "byName" | "byRegexp"; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

export interface GrafanaValueMapping {
  type: "value";
  options: Record<string, { text: string; color?: string; index?: number }>;
}

export interface GrafanaFieldConfig {
  defaults: {
    unit: string;
    decimals?: number;
    min?: number;
    max?: number;
    color: { mode: string };
    thresholds: { mode: "absolute"; steps: GrafanaThresholdStep[] };
    mappings: GrafanaValueMapping[];
    custom?: Record<string, unknown>;
  };
  overrides: GrafanaFieldOverride[];
}

export type GrafanaPanelType = "timeseries" | "stat" | "gauge" | "table" | "bargauge";

export interface GrafanaGridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GrafanaPanel {
  id: number;
  type: GrafanaPanelType;
  title: string;
  description: string;
  gridPos: GrafanaGridPos;
  datasource: GrafanaDatasourceRef;
  targets: GrafanaTarget[];
  fieldConfig: GrafanaFieldConfig;
  options: Record<string, unknown>;
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}

export interface GrafanaRowPanel {
  id: number;
  type: "row";
  title: string;
  collapsed: false;
  gridPos: GrafanaGridPos;
  panels: [];
}

export interface GrafanaDatasourceVariable {
  type: "datasource";
  name: string;
  label: string;
  query: "prometheus";
  current: Record<string, never>;
  hide: 0;
  includeAll: false;
  multi: false;
  options: [];
  refresh: 1;
  regex: string;
}

export interface GrafanaQueryVariable {
  type: "query";
  name: string;
  label: string;
  datasource: GrafanaDatasourceRef;
  /** `label_values(<selector>, <label>)`. */
  definition: string;
  query: { query: string; refId: string };
  /** Filter applied to the returned values (Grafana syntax: `/regex/`). */
  regex: string;
  current: { selected: boolean; text: string[]; value: string[] };
  hide: 0;
  includeAll: true;
  multi: true;
  options: [];
  /** 2: refresh on time range change. */
  refresh: 2;
  /** 1: alphabetical ascending. */
  sort: 1;
}

export type GrafanaVariable = GrafanaDatasourceVariable | GrafanaQueryVariable;

export interface GrafanaAnnotation {
  name: string;
  datasource: GrafanaDatasourceRef | { type: "grafana"; uid: "-- Grafana --" };
  enable: boolean;
  hide: boolean;
  iconColor: string;
  builtIn?: 1;
  type?: "dashboard";
  expr?: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

export interface GrafanaDashboard {
  id: null;
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: "utc";
  editable: boolean;
  graphTooltip: 1;
  schemaVersion: typeof GRAFANA_SCHEMA_VERSION;
  version: 1;
  time: { from: string; to: string };
  refresh: string;
  templating: { list: GrafanaVariable[] };
  annotations: { list: GrafanaAnnotation[] };
  links: Array<{
    type: "dashboards";
    title: string;
    tags: string[];
    asDropdown: boolean;
    includeVars: boolean;
    keepTime: boolean;
  }>;
  panels: Array<GrafanaPanel | GrafanaRowPanel>;
}

// ---------------------------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------------------------

/** The uid of a dashboard of the suite (stable across environments and runs). */
export function dashboardUid(kind: DashboardKind): string {
  return `${DASHBOARD_SUITE_TAG}-${kind}`;
}

/** Builds the four dashboards: executive, operations, cost, predictive (in that order). */
export function buildDashboards(opts: DashboardOptions): GrafanaDashboard[] {
  const ctx = resolve(opts);
  return [executiveDashboard(ctx), operationsDashboard(ctx), costDashboard(ctx), predictiveDashboard(ctx)];
}

/** ConfigMap `data` for one dashboard: `{ "<uid>.json": "<dashboard JSON>" }`. */
export function dashboardConfigMapData(dashboard: GrafanaDashboard): Record<string, string> {
  return { [`${dashboard.uid}.json`]: JSON.stringify(dashboard, null, 2) };
}

/** Every PromQL expression of a dashboard (panel targets and annotation queries), with where it comes from. */
export function dashboardExpressions(dashboard: GrafanaDashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const panel of dashboard.panels) {
    if (panel.type === "row") continue;
    for (const t of panel.targets) out.push({ where: `${dashboard.uid} / ${panel.title} / ${t.refId}`, expr: t.expr });
  }
  for (const a of dashboard.annotations.list) {
    if (a.expr !== undefined) out.push({ where: `${dashboard.uid} / annotation ${a.name}`, expr: a.expr });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Option handling
// ---------------------------------------------------------------------------------------------------------

interface Ctx {
  readonly environment: "prod" | "dev";
  readonly services: ReadonlyArray<DashboardService>;
  readonly namespaces: readonly string[];
  readonly budgets: Required<DashboardBudgets>;
  readonly targets: Required<DashboardTargets>;
  readonly horizon: string;
  readonly forecastIntervalSeconds: number;
  readonly nodeLabels: DashboardNodeLabels;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROM_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PROM_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

function resolve(opts: DashboardOptions): Ctx {
  if (opts.environment !== "prod" && opts.environment !== "dev") {
    throw new Error(`dashboards: environment must be "prod" or "dev", got ${JSON.stringify(opts.environment)}`);
  }
  if (opts.services.length === 0) throw new Error("dashboards: the service catalog is empty");
  const seen = new Set<string>();
  for (const s of opts.services) {
    // Names are interpolated into PromQL regex matchers: DNS labels contain no regex metacharacters.
    for (const [field, value] of [["name", s.name], ["namespace", s.namespace]] as const) {
      if (!DNS_LABEL.test(value) || value.length > 63) {
        throw new Error(`dashboards: service ${field} ${JSON.stringify(value)} is not a DNS-1123 label`);
      }
    }
    if (seen.has(s.name)) {
      throw new Error(`dashboards: service name ${JSON.stringify(s.name)} appears twice (automation metrics are keyed by name)`);
    }
    seen.add(s.name);
  }
  const budgets: Required<DashboardBudgets> = {
    dailyUsd: opts.budgets.dailyUsd,
    weeklyUsd: opts.budgets.weeklyUsd,
    monthlyUsd: opts.budgets.monthlyUsd,
    warningRatio: opts.budgets.warningRatio ?? 0.8,
    emergencyRatio: opts.budgets.emergencyRatio ?? 0.95,
  };
  for (const key of ["dailyUsd", "weeklyUsd", "monthlyUsd"] as const) {
    if (!Number.isFinite(budgets[key]) || budgets[key] <= 0) {
      throw new Error(`dashboards: budgets.${key} must be a positive number, got ${budgets[key]}`);
    }
  }
  if (!(budgets.warningRatio > 0 && budgets.warningRatio < budgets.emergencyRatio && budgets.emergencyRatio <= 1)) {
    throw new Error(
      `dashboards: budget ratios must satisfy 0 < warningRatio (${budgets.warningRatio}) < emergencyRatio (${budgets.emergencyRatio}) <= 1`,
    );
  }
  const targets: Required<DashboardTargets> = {
    availability: opts.targets.availability,
    p95LatencySeconds: opts.targets.p95LatencySeconds,
    cpuEfficiency: opts.targets.cpuEfficiency,
    memoryEfficiency: opts.targets.memoryEfficiency,
    predictionAccuracy: opts.targets.predictionAccuracy,
    decisionConfidence: opts.targets.decisionConfidence ?? 0.8,
    intervalCoverage: opts.targets.intervalCoverage ?? 0.8,
  };
  for (const key of ["availability", "cpuEfficiency", "memoryEfficiency", "predictionAccuracy", "decisionConfidence", "intervalCoverage"] as const) {
    if (!(targets[key] > 0 && targets[key] <= 1)) {
      throw new Error(`dashboards: targets.${key} must be in (0, 1], got ${targets[key]}`);
    }
  }
  if (!(Number.isFinite(targets.p95LatencySeconds) && targets.p95LatencySeconds > 0)) {
    throw new Error(`dashboards: targets.p95LatencySeconds must be positive, got ${targets.p95LatencySeconds}`);
  }
  const horizon = opts.forecastHorizon ?? "15m";
  if (!PROM_DURATION.test(horizon)) throw new Error(`dashboards: forecastHorizon ${JSON.stringify(horizon)} is not a Prometheus duration`);
  const forecastIntervalSeconds = opts.forecastIntervalSeconds ?? 900;
  if (!(Number.isFinite(forecastIntervalSeconds) && forecastIntervalSeconds > 0)) {
    throw new Error(`dashboards: forecastIntervalSeconds must be positive, got ${forecastIntervalSeconds}`);
  }
  const nodeLabels: DashboardNodeLabels = { ...DEFAULT_NODE_LABELS, ...opts.nodeLabels };
  for (const key of ["capacityType", "instanceType"] as const) {
    if (!PROM_LABEL_NAME.test(nodeLabels[key])) throw new Error(`dashboards: nodeLabels.${key} ${JSON.stringify(nodeLabels[key])} is not a label name`);
  }
  if (nodeLabels.spotValue.length === 0 || /["\\\n]/.test(nodeLabels.spotValue)) {
    throw new Error(`dashboards: nodeLabels.spotValue ${JSON.stringify(nodeLabels.spotValue)} is not a plain label value`);
  }
  const namespaces = [...new Set(opts.services.map((s) => s.namespace))].sort();
  return { environment: opts.environment, services: opts.services, namespaces, budgets, targets, horizon, forecastIntervalSeconds, nodeLabels };
}

// ---------------------------------------------------------------------------------------------------------
// Panel building blocks
// ---------------------------------------------------------------------------------------------------------

const DS: GrafanaDatasourceRef = { type: "prometheus", uid: "${datasource}" };
const GRID_WIDTH = 24;

const round = (x: number, digits = 6): number => Number(x.toFixed(digits));

interface TargetSpec {
  expr: string;
  legend?: string;
  /** Instant query (stat/gauge/bargauge/table values over `$__range` or "now"). */
  instant?: boolean;
  table?: boolean;
}

interface PanelSpec {
  type: GrafanaPanelType;
  title: string;
  description: string;
  w: number;
  h: number;
  targets: TargetSpec[];
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  /** Threshold steps above the base colour: `[value, color]`. */
  thresholds?: Array<[number, string]>;
  /** Base colour of the thresholds (below the first step). Default green. */
  baseColor?: string;
  /** Draw thresholds as lines on time series. */
  thresholdLines?: boolean;
  stacked?: boolean;
  bars?: boolean;
  overrides?: GrafanaFieldOverride[];
  mappings?: GrafanaValueMapping[];
  /** Stat text mode ("value", "name", "value_and_name"). */
  textMode?: string;
  /** Minimum step, e.g. "1m". */
  interval?: string;
}

function thresholdSteps(spec: PanelSpec): GrafanaThresholdStep[] {
  const steps: GrafanaThresholdStep[] = [{ color: spec.baseColor ?? "green", value: null }];
  for (const [value, color] of spec.thresholds ?? []) steps.push({ color, value });
  return steps;
}

function buildTargets(spec: PanelSpec): GrafanaTarget[] {
  return spec.targets.map((t, i) => {
    const instant = t.instant ?? (spec.type !== "timeseries");
    const target: GrafanaTarget = {
      refId: String.fromCharCode(65 + i),
      expr: t.expr,
      legendFormat: t.legend ?? "__auto",
      datasource: DS,
      range: !instant,
      instant,
      format: t.table ? "table" : "time_series",
    };
    if (spec.interval !== undefined) target.interval = spec.interval;
    return target;
  });
}

function panelOptions(spec: PanelSpec): Record<string, unknown> {
  const reduceOptions = { calcs: ["lastNotNull"], fields: "", values: false };
  switch (spec.type) {
    case "timeseries":
      return {
        legend: { displayMode: "table", placement: "bottom", showLegend: true, calcs: ["lastNotNull", "max"] },
        tooltip: { mode: "multi", sort: "desc" },
      };
    case "stat":
      return {
        reduceOptions,
        colorMode: "value",
        // Instant queries: no sparkline.
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: spec.textMode ?? "auto",
      };
    case "gauge":
      return { reduceOptions, orientation: "auto", showThresholdLabels: false, showThresholdMarkers: true };
    case "bargauge":
      return {
        reduceOptions,
        orientation: "horizontal",
        displayMode: "gradient",
        showUnfilled: true,
        valueMode: "color",
        namePlacement: "auto",
        minVizHeight: 16,
        minVizWidth: 8,
      };
    case "table":
      return { showHeader: true, cellHeight: "sm", footer: { show: false, reducer: ["sum"], fields: "" } };
  }
}

function fieldConfig(spec: PanelSpec): GrafanaFieldConfig {
  const defaults: GrafanaFieldConfig["defaults"] = {
    unit: spec.unit ?? "short",
    color: { mode: spec.type === "timeseries" ? "palette-classic" : "thresholds" },
    thresholds: { mode: "absolute", steps: thresholdSteps(spec) },
    mappings: spec.mappings ?? [],
  };
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.type === "timeseries") {
    defaults.custom = {
      drawStyle: spec.bars ? "bars" : "line",
      lineWidth: 1,
      fillOpacity: spec.stacked || spec.bars ? 60 : 10,
      gradientMode: "none",
      showPoints: "never",
      spanNulls: false,
      axisPlacement: "auto",
      stacking: { mode: spec.stacked ? "normal" : "none", group: "A" },
      thresholdsStyle: { mode: spec.thresholdLines ? "dashed" : "off" },
    };
  }
  if (spec.type === "table") defaults.custom = { align: "auto", cellOptions: { type: "auto" } };
  return { defaults, overrides: spec.overrides ?? [] };
}

/** Places panels left to right, wrapping at 24 columns, with full-width row headers between sections. */
class Layout {
  private readonly panels: Array<GrafanaPanel | GrafanaRowPanel> = [];
  private nextId = 1;
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  row(title: string): this {
    this.newLine();
    this.panels.push({ id: this.nextId++, type: "row", title, collapsed: false, gridPos: { x: 0, y: this.y, w: GRID_WIDTH, h: 1 }, panels: [] });
    this.y += 1;
    return this;
  }

  add(...specs: PanelSpec[]): this {
    for (const spec of specs) {
      if (spec.w < 1 || spec.w > GRID_WIDTH || spec.h < 1) throw new Error(`panel ${spec.title}: bad size ${spec.w}x${spec.h}`);
      if (this.x + spec.w > GRID_WIDTH) this.newLine();
      const transformations =
        spec.type === "table"
          ? [{ id: "organize", options: { excludeByName: { Time: true, __name__: true }, renameByName: { Value: "value" } } }]
          : undefined;
      const panel: GrafanaPanel = {
        id: this.nextId++,
        type: spec.type,
        title: spec.title,
        description: spec.description,
        gridPos: { x: this.x, y: this.y, w: spec.w, h: spec.h },
        datasource: DS,
        targets: buildTargets(spec),
        fieldConfig: fieldConfig(spec),
        options: panelOptions(spec),
      };
      if (transformations) panel.transformations = transformations;
      this.panels.push(panel);
      this.x += spec.w;
      this.lineHeight = Math.max(this.lineHeight, spec.h);
    }
    return this;
  }

  build(): Array<GrafanaPanel | GrafanaRowPanel> {
    return this.panels;
  }

  private newLine(): void {
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }
}

function regexAlternation(values: readonly string[]): string {
  return values.join("|");
}

function templating(ctx: Ctx): { list: GrafanaVariable[] } {
  const nsQuery = `label_values(kube_deployment_spec_replicas{namespace=~"${regexAlternation(ctx.namespaces)}"}, namespace)`;
  const svcQuery = `label_values(kube_deployment_spec_replicas{namespace=~"$namespace"}, deployment)`;
  const all = { selected: true, text: ["All"], value: ["$__all"] };
  return {
    list: [
      {
        type: "datasource",
        name: "datasource",
        label: "Data source",
        query: "prometheus",
        current: {},
        hide: 0,
        includeAll: false,
        multi: false,
        options: [],
        refresh: 1,
        regex: "",
      },
      {
        type: "query",
        name: "namespace",
        label: "Namespace",
        datasource: DS,
        definition: nsQuery,
        query: { query: nsQuery, refId: "PrometheusVariableQueryEditor-VariableQuery" },
        regex: "",
        current: all,
        hide: 0,
        includeAll: true,
        multi: true,
        options: [],
        refresh: 2,
        sort: 1,
      },
      {
        type: "query",
        name: "service",
        label: "Service",
        datasource: DS,
        definition: svcQuery,
        query: { query: svcQuery, refId: "PrometheusVariableQueryEditor-VariableQuery" },
        // Only the catalog's services, although a namespace may hold other Deployments.
        regex: `/^(${regexAlternation(ctx.services.map((s) => s.name))})$/`,
        current: all,
        hide: 0,
        includeAll: true,
        multi: true,
        options: [],
        refresh: 2,
        sort: 1,
      },
    ],
  };
}

function annotations(): { list: GrafanaAnnotation[] } {
  return {
    list: [
      {
        name: "Annotations & Alerts",
        builtIn: 1,
        type: "dashboard",
        datasource: { type: "grafana", uid: "-- Grafana --" },
        enable: true,
        hide: true,
        iconColor: "rgba(0, 211, 255, 1)",
      },
      {
        name: "Stack updates",
        datasource: DS,
        enable: true,
        hide: false,
        iconColor: "blue",
        expr: `sum by (trigger, outcome) (increase(${auto.updatesTotal}[2m])) > 0`,
        step: "1m",
        titleFormat: "pulumi up",
        textFormat: "{{trigger}}: {{outcome}}",
        tagKeys: "trigger,outcome",
        useValueForTime: false,
      },
      {
        name: "Budget emergency profile",
        datasource: DS,
        enable: true,
        hide: false,
        iconColor: "red",
        expr: `max(${auto.emergencyProfileActive}) == 1`,
        step: "1m",
        titleFormat: "Emergency budget profile active",
        textFormat: "",
        tagKeys: "",
        useValueForTime: false,
      },
    ],
  };
}

function dashboard(ctx: Ctx, kind: DashboardKind, title: string, description: string, panels: Layout, time = "now-24h"): GrafanaDashboard {
  return {
    id: null,
    uid: dashboardUid(kind),
    title: `PyAirtable Autoscaling / ${title} (${ctx.environment})`,
    description,
    tags: [DASHBOARD_SUITE_TAG, kind, ctx.environment],
    timezone: "utc",
    editable: true,
    graphTooltip: 1,
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    version: 1,
    time: { from: time, to: "now" },
    refresh: "1m",
    templating: templating(ctx),
    annotations: annotations(),
    links: [
      { type: "dashboards", title: "Autoscaling dashboards", tags: [DASHBOARD_SUITE_TAG], asDropdown: true, includeVars: true, keepTime: true },
    ],
    panels: panels.build(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Selectors and shared expressions
// ---------------------------------------------------------------------------------------------------------

const HTTP_TOTAL = applicationMetrics.httpRequestsTotal;
const HTTP_BUCKET = `${applicationMetrics.httpRequestDurationSeconds}_bucket`;

/** Application request metrics, filtered by the variables. */
const APP_SEL = `namespace=~"$namespace", service=~"$service"`;
/** Deployment metrics of kube-state-metrics. */
const DEPLOY_SEL = `namespace=~"$namespace", deployment=~"$service"`;
/** HPAs of the selected services: plain HPAs carry the service name, KEDA's are `keda-hpa-<scaledObject>`. */
const HPA_SEL = `namespace=~"$namespace", horizontalpodautoscaler=~"(keda-hpa-)?$service"`;
/** KEDA metrics of the selected ScaledObjects. */
const KEDA_SEL = `namespace=~"$namespace", scaledObject=~"$service"`;
/** Automation-service metrics are keyed by service name only. */
const AUTO_SEL = `service=~"$service"`;
/** Real containers in cAdvisor (not the pod cgroup, not the pause container). */
const CONTAINER_SEL = `namespace=~"$namespace", container!="", container!="POD"`;
/** Pods that are running (requests of finished pods would count as waste otherwise). */
const RUNNING_PODS = `(max by (namespace, pod) (kube_pod_status_phase{namespace=~"$namespace", phase="Running"}) == 1)`;

function availabilityExpr(window: string, by?: string): string {
  const errors = `sum${by ? ` by (${by})` : ""} (rate(${HTTP_TOTAL}{${APP_SEL}, code=~"5.."}[${window}]))`;
  const total = `sum${by ? ` by (${by})` : ""} (rate(${HTTP_TOTAL}{${APP_SEL}}[${window}]))`;
  if (!by) return `1 - ((${errors} or vector(0)) / ${total})`;
  // Series with no 5xx at all are absent from `errors`: fill them with 1 (fully available).
  return `(1 - (${errors} / ${total})) or (${total} * 0 + 1)`;
}

function p95Expr(window: string, by: string[]): string {
  return `histogram_quantile(0.95, sum by (${[...by, "le"].join(", ")}) (rate(${HTTP_BUCKET}{${APP_SEL}}[${window}])))`;
}

function requestsExpr(resource: "cpu" | "memory"): string {
  return `sum by (namespace) (kube_pod_container_resource_requests{namespace=~"$namespace", resource="${resource}"} * on (namespace, pod) group_left () ${RUNNING_PODS})`;
}

const CPU_USAGE = `sum by (namespace) (rate(container_cpu_usage_seconds_total{${CONTAINER_SEL}}[$__rate_interval]))`;
const MEMORY_USAGE = `sum by (namespace) (container_memory_working_set_bytes{${CONTAINER_SEL}})`;

function spotShareExpr(ctx: Ctx): string {
  const l = ctx.nodeLabels;
  return `(count(count by (node) (kube_node_labels{${l.capacityType}="${l.spotValue}"})) or vector(0)) / count(count by (node) (kube_node_info))`;
}

function nodesByCapacityTypeExpr(ctx: Ctx): string {
  const l = ctx.nodeLabels.capacityType;
  return `label_replace(count by (${l}) (kube_node_labels), "${l}", "unlabelled", "${l}", "")`;
}

function budgetSteps(ctx: Ctx, budgetUsd: number): Array<[number, string]> {
  return [
    [round(budgetUsd * ctx.budgets.warningRatio, 2), "orange"],
    [round(budgetUsd, 2), "red"],
  ];
}

function utilisationSteps(ctx: Ctx): Array<[number, string]> {
  return [
    [ctx.budgets.warningRatio, "orange"],
    [ctx.budgets.emergencyRatio, "red"],
  ];
}

const ON_OFF_MAPPING: GrafanaValueMapping = {
  type: "value",
  options: { "0": { text: "off", color: "green", index: 0 }, "1": { text: "ACTIVE", color: "red", index: 1 } },
};

function pct(x: number): string {
  return `${round(x * 100, 3)}%`;
}

// ---------------------------------------------------------------------------------------------------------
// Executive
// ---------------------------------------------------------------------------------------------------------

function executiveDashboard(ctx: Ctx): GrafanaDashboard {
  const { budgets, targets } = ctx;
  const layout = new Layout()
    .row("Cost and service level")
    .add(
      {
        type: "stat",
        title: "Monthly cost estimate",
        description: `Cost model's monthly estimate over all components. Orange from ${pct(budgets.warningRatio)} of the monthly budget ($${budgets.monthlyUsd}), red above it.`,
        w: 4,
        h: 4,
        unit: "currencyUSD",
        decimals: 0,
        targets: [{ expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "estimate" }],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
      },
      {
        type: "stat",
        title: "Availability (time range)",
        description: `Share of non-5xx responses over the selected time range. Target ${pct(targets.availability)}.`,
        w: 4,
        h: 4,
        unit: "percentunit",
        decimals: 3,
        targets: [{ expr: availabilityExpr("$__range"), legend: "availability" }],
        baseColor: "red",
        thresholds: [[targets.availability, "green"]],
      },
      {
        type: "stat",
        title: "p95 latency (time range)",
        description: `95th percentile request latency over the selected time range. Target < ${targets.p95LatencySeconds * 1000} ms.`,
        w: 4,
        h: 4,
        unit: "s",
        targets: [{ expr: p95Expr("$__range", []), legend: "p95" }],
        thresholds: [[targets.p95LatencySeconds, "red"]],
      },
      {
        type: "stat",
        title: "Replicas (total)",
        description: "Replicas of the selected catalog services right now.",
        w: 4,
        h: 4,
        unit: "short",
        decimals: 0,
        targets: [{ expr: `sum(kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "replicas" }],
        baseColor: "blue",
      },
      {
        type: "gauge",
        title: "Spot share of nodes",
        description: "Nodes on spot capacity / all nodes (cluster-wide).",
        w: 4,
        h: 4,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: spotShareExpr(ctx), legend: "spot share" }],
        baseColor: "blue",
      },
      {
        type: "stat",
        title: "Budget emergency profile",
        description: `ACTIVE while the automation service holds the emergency scale-down (budget utilisation >= ${pct(budgets.emergencyRatio)}).`,
        w: 4,
        h: 4,
        unit: "none",
        targets: [{ expr: `max(${auto.emergencyProfileActive})`, legend: "emergency" }],
        thresholds: [[1, "red"]],
        mappings: [ON_OFF_MAPPING],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Monthly cost estimate vs budget",
        description: `Monthly estimate and the budget limit the automation service enforces; dashed lines at ${pct(budgets.warningRatio)} of and at the monthly budget ($${budgets.monthlyUsd}).`,
        w: 12,
        h: 8,
        unit: "currencyUSD",
        min: 0,
        targets: [
          { expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "monthly estimate" },
          { expr: `max(${auto.budgetLimitUsd}{period="monthly"})`, legend: "monthly budget (enforced)" },
        ],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
        thresholdLines: true,
      },
      {
        type: "bargauge",
        title: "Budget utilisation by period",
        description: `Spend / budget per period. Warning at ${pct(budgets.warningRatio)}, emergency scale-down at ${pct(budgets.emergencyRatio)}.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (period) (${auto.budgetUtilisation})`, legend: "{{period}}" }],
        thresholds: utilisationSteps(ctx),
      },
    )
    .row("Performance and capacity")
    .add(
      {
        type: "timeseries",
        title: "Availability",
        description: `Share of non-5xx responses; dashed line at the ${pct(targets.availability)} target.`,
        w: 8,
        h: 8,
        unit: "percentunit",
        decimals: 3,
        max: 1,
        targets: [{ expr: availabilityExpr("$__rate_interval"), legend: "availability" }],
        baseColor: "red",
        thresholds: [[targets.availability, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "p95 latency by service vs target",
        description: `95th percentile latency per service; dashed line at the ${targets.p95LatencySeconds * 1000} ms target.`,
        w: 8,
        h: 8,
        unit: "s",
        min: 0,
        targets: [
          { expr: p95Expr("$__rate_interval", []), legend: "all services" },
          { expr: p95Expr("$__rate_interval", ["service"]), legend: "{{service}}" },
        ],
        thresholds: [[targets.p95LatencySeconds, "red"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Request rate vs one week ago",
        description: "Requests per second now and at the same time last week (traffic spikes relative to the usual load).",
        w: 8,
        h: 8,
        unit: "reqps",
        min: 0,
        targets: [
          { expr: `sum(rate(${HTTP_TOTAL}{${APP_SEL}}[$__rate_interval]))`, legend: "now" },
          { expr: `sum(rate(${HTTP_TOTAL}{${APP_SEL}}[$__rate_interval] offset 1w))`, legend: "one week ago" },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Replicas by service",
        description: "Replicas per catalog service (stacked: the total is the platform's replica count).",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (deployment) (kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "{{deployment}}" }],
      },
      {
        type: "timeseries",
        title: "Nodes by capacity type",
        description: "Cluster nodes by capacity type (spot / on-demand), stacked.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: nodesByCapacityTypeExpr(ctx), legend: `{{${ctx.nodeLabels.capacityType}}}` }],
      },
    );
  return dashboard(
    ctx,
    "executive",
    "Executive",
    "High-level cost and performance: cost estimate against budget, availability, latency, replicas and spot share.",
    layout,
    "now-7d",
  );
}

// ---------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------

function operationsDashboard(ctx: Ctx): GrafanaDashboard {
  const hpaBy = "namespace, horizontalpodautoscaler";
  const atMax = `kube_horizontalpodautoscaler_status_current_replicas{${HPA_SEL}} >= on (${hpaBy}) kube_horizontalpodautoscaler_spec_max_replicas{${HPA_SEL}}`;
  const pdbBy = "namespace, poddisruptionbudget";
  const pdbMargin = `sum by (${pdbBy}) (kube_poddisruptionbudget_status_current_healthy{namespace=~"$namespace"}) - sum by (${pdbBy}) (kube_poddisruptionbudget_status_desired_healthy{namespace=~"$namespace"})`;
  const layout = new Layout()
    .row("Health at a glance")
    .add(
      {
        type: "stat",
        title: "HPAs at max replicas",
        description: "HPAs whose current replicas reached maxReplicas (critical: the service cannot scale further).",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count(${atMax}) or vector(0)`, legend: "at max" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "Scaling events (time range)",
        description: "Changes of HPA desired replicas over the selected time range.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(changes(kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}}[$__range]))`, legend: "events" }],
        baseColor: "blue",
      },
      {
        type: "stat",
        title: "Pending pods (cluster)",
        description: "Pods waiting for capacity or scheduling, cluster-wide (Karpenter's trigger).",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(kube_pod_status_phase{phase="Pending"})`, legend: "pending" }],
        thresholds: [[1, "orange"]],
      },
      {
        type: "stat",
        title: "PDBs below desired healthy",
        description: "PodDisruptionBudgets with fewer healthy pods than desired.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count((${pdbMargin}) < 0) or vector(0)`, legend: "PDBs" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "KEDA errors (time range)",
        description: "Scaler errors of the selected ScaledObjects over the selected time range.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(increase(keda_scaler_detail_errors_total{${KEDA_SEL}}[$__range])) or vector(0)`, legend: "errors" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "Automation leader",
        description: "Automation-service replicas holding the leader lock: exactly one is healthy.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(${auto.leaderLockHeld})`, legend: "leaders" }],
        baseColor: "red",
        thresholds: [[1, "green"], [2, "red"]],
      },
    )
    .row("Horizontal Pod Autoscalers")
    .add(
      {
        type: "timeseries",
        title: "Replicas: current / desired / max per HPA",
        description: "Current and desired replicas of each HPA with its maxReplicas ceiling (dashed).",
        w: 24,
        h: 9,
        unit: "short",
        min: 0,
        targets: [
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_status_current_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} current" },
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} desired" },
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_spec_max_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} max" },
        ],
        overrides: [
          {
            matcher: { id: "byRegexp", options: ".* max$" },
            properties: [
              { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
              { id: "custom.fillOpacity", value: 0 },
            ],
          },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Scaling events per hour (changes of desired replicas)",
        description: "How often each HPA changed its desired replica count in the preceding hour (scaling velocity).",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [{ expr: `sum by (${hpaBy}) (changes(kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}}[1h]))`, legend: "{{horizontalpodautoscaler}}" }],
      },
      {
        type: "table",
        title: "HPAs at max replicas",
        description: "HPAs whose current replicas are at (or above) maxReplicas right now.",
        w: 6,
        h: 8,
        decimals: 0,
        targets: [{ expr: atMax, legend: "{{horizontalpodautoscaler}}", table: true, instant: true }],
      },
      {
        type: "table",
        title: "HPAs unable to scale",
        description: "HPAs whose AbleToScale or ScalingActive condition is false (scaling disabled).",
        w: 6,
        h: 8,
        targets: [
          {
            expr: `kube_horizontalpodautoscaler_status_condition{${HPA_SEL}, condition=~"AbleToScale|ScalingActive", status="false"} == 1`,
            legend: "{{horizontalpodautoscaler}} {{condition}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .row("KEDA")
    .add(
      {
        type: "timeseries",
        title: "KEDA scaler metric values",
        description: "The value each scaler reports to the HPA (queue depth, consumer lag, ...).",
        w: 12,
        h: 8,
        unit: "short",
        targets: [
          {
            expr: `max by (namespace, scaledObject, scaler, metric) (keda_scaler_metrics_value{${KEDA_SEL}})`,
            legend: "{{scaledObject}} {{scaler}} {{metric}}",
          },
        ],
      },
      {
        type: "timeseries",
        title: "KEDA errors",
        description: "Errors per second per scaler and per ScaledObject.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `sum by (namespace, scaledObject, scaler) (rate(keda_scaler_detail_errors_total{${KEDA_SEL}}[$__rate_interval]))`, legend: "{{scaledObject}} {{scaler}}" },
          { expr: `sum by (namespace, scaledObject) (rate(keda_scaled_object_errors_total{${KEDA_SEL}}[$__rate_interval]))`, legend: "{{scaledObject}} (ScaledObject)" },
        ],
      },
    )
    .add(
      {
        type: "bargauge",
        title: "KEDA scalers active",
        description: "Active scalers per ScaledObject (0 means the ScaledObject may scale to its minimum / zero).",
        w: 12,
        h: 7,
        decimals: 0,
        min: 0,
        targets: [{ expr: `sum by (namespace, scaledObject) (keda_scaler_active{${KEDA_SEL}})`, legend: "{{scaledObject}}" }],
        baseColor: "blue",
      },
      {
        type: "table",
        title: "Paused ScaledObjects",
        description: "ScaledObjects with autoscaling paused.",
        w: 12,
        h: 7,
        targets: [{ expr: `keda_scaled_object_paused{${KEDA_SEL}} == 1`, legend: "{{scaledObject}}", table: true, instant: true }],
      },
    )
    .row("Karpenter")
    .add(
      {
        type: "timeseries",
        title: "Nodes created / terminated per hour",
        description: "Nodes Karpenter created and terminated in the preceding hour, per NodePool.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `sum by (nodepool) (increase(karpenter_nodes_created_total[1h]))`, legend: "created {{nodepool}}" },
          { expr: `sum by (nodepool) (increase(karpenter_nodes_terminated_total[1h]))`, legend: "terminated {{nodepool}}" },
        ],
      },
      {
        type: "bargauge",
        title: "NodePool usage vs limits",
        description: "Resources used per NodePool as a share of its spec.limits: only resources with a limit have a series (the NodePools limit `nodes`).",
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [
          {
            expr: `sum by (nodepool, resource_type) (karpenter_nodepools_usage) / on (nodepool, resource_type) sum by (nodepool, resource_type) (karpenter_nodepools_limit)`,
            legend: "{{nodepool}} {{resource_type}}",
          },
        ],
        thresholds: [[0.8, "orange"], [0.95, "red"]],
      },
    )
    .row("Workload health")
    .add(
      {
        type: "bargauge",
        title: "PDB health margin (healthy − desired)",
        description: "Healthy pods above the PDB's desired healthy count: below 0 the budget is violated, 0 blocks voluntary disruptions (node consolidation, spot rebalancing).",
        w: 8,
        h: 8,
        decimals: 0,
        targets: [{ expr: pdbMargin, legend: "{{namespace}}/{{poddisruptionbudget}}" }],
        baseColor: "red",
        thresholds: [[0, "orange"], [1, "green"]],
      },
      {
        type: "timeseries",
        title: "Pending pods by namespace",
        description: "Pods in phase Pending per namespace.",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        targets: [{ expr: `sum by (namespace) (kube_pod_status_phase{namespace=~"$namespace", phase="Pending"})`, legend: "{{namespace}}" }],
      },
      {
        type: "table",
        title: "Deployments with unavailable replicas",
        description: "Desired replicas minus available replicas, where positive.",
        w: 8,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (namespace, deployment) (kube_deployment_spec_replicas{${DEPLOY_SEL}}) - sum by (namespace, deployment) (kube_deployment_status_replicas_available{${DEPLOY_SEL}}) > 0`,
            legend: "{{deployment}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .add(
      {
        type: "stat",
        title: "Active scheduled profile",
        description: "The scheduled scaling profile the automation service applied last (business hours, evening, weekend, holiday).",
        w: 8,
        h: 6,
        targets: [{ expr: `max by (profile) (${auto.scheduledProfileActive}) == 1`, legend: "{{profile}}" }],
        textMode: "name",
        baseColor: "blue",
      },
      {
        type: "table",
        title: "Firing alerts",
        description: "Alerts firing right now, by name and severity.",
        w: 16,
        h: 6,
        targets: [{ expr: `sum by (alertname, severity) (ALERTS{alertstate="firing"})`, legend: "{{alertname}}", table: true, instant: true }],
      },
    );
  return dashboard(
    ctx,
    "operations",
    "Operations",
    "Detailed scaling events and system health: HPAs, KEDA, Karpenter, PDBs and pending pods.",
    layout,
    "now-6h",
  );
}

// ---------------------------------------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------------------------------------

function costDashboard(ctx: Ctx): GrafanaDashboard {
  const { budgets, targets } = ctx;
  const spendPanel = (period: "daily" | "weekly" | "monthly", budgetUsd: number): PanelSpec => ({
    type: "timeseries",
    title: `Spend vs budget: ${period}`,
    description: `Spend so far in the ${period} period and the enforced limit; dashed lines at ${pct(budgets.warningRatio)} of and at the ${period} budget ($${budgetUsd}).`,
    w: 8,
    h: 8,
    unit: "currencyUSD",
    min: 0,
    targets: [
      { expr: `max(${auto.budgetSpendUsd}{period="${period}"})`, legend: "spend" },
      { expr: `max(${auto.budgetLimitUsd}{period="${period}"})`, legend: "limit (enforced)" },
    ],
    thresholds: budgetSteps(ctx, budgetUsd),
    thresholdLines: true,
  });
  const cpuEfficiency = `${CPU_USAGE} / ${requestsExpr("cpu")}`;
  const memoryEfficiency = `${MEMORY_USAGE} / ${requestsExpr("memory")}`;
  const cl = ctx.nodeLabels;
  const layout = new Layout()
    .row("Spend and budgets")
    .add(spendPanel("daily", budgets.dailyUsd), spendPanel("weekly", budgets.weeklyUsd), spendPanel("monthly", budgets.monthlyUsd))
    .add(
      {
        type: "timeseries",
        title: "Budget utilisation by period",
        description: `Spend / budget per period; dashed lines at the ${pct(budgets.warningRatio)} warning and the ${pct(budgets.emergencyRatio)} emergency scale-down.`,
        w: 16,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: `max by (period) (${auto.budgetUtilisation})`, legend: "{{period}}" }],
        thresholds: utilisationSteps(ctx),
        thresholdLines: true,
      },
      {
        type: "stat",
        title: "Budget emergency profile",
        description: "ACTIVE while the emergency scale-down profile is applied.",
        w: 8,
        h: 8,
        unit: "none",
        targets: [{ expr: `max(${auto.emergencyProfileActive})`, legend: "emergency" }],
        thresholds: [[1, "red"]],
        mappings: [ON_OFF_MAPPING],
      },
    )
    .row("Cost estimate")
    .add(
      {
        type: "bargauge",
        title: "Monthly cost estimate by component",
        description: `The cost model's monthly estimate per component; the total is compared with the monthly budget ($${budgets.monthlyUsd}).`,
        w: 10,
        h: 10,
        unit: "currencyUSD",
        decimals: 0,
        min: 0,
        targets: [
          { expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "total" },
          { expr: `sum by (component) (${auto.costEstimateMonthlyUsd})`, legend: "{{component}}" },
        ],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
      },
      {
        type: "timeseries",
        title: "Monthly cost estimate by component over time",
        description: `Stacked per-component estimate; dashed lines at ${pct(budgets.warningRatio)} of and at the monthly budget.`,
        w: 14,
        h: 10,
        unit: "currencyUSD",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (component) (${auto.costEstimateMonthlyUsd})`, legend: "{{component}}" }],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
        thresholdLines: true,
      },
    )
    .row("Waste: requests vs usage")
    .add(
      {
        type: "timeseries",
        title: "CPU efficiency by namespace (usage / requests)",
        description: `CPU used / CPU requested by running pods; below the ${pct(targets.cpuEfficiency)} target (dashed) the requests are oversized.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: cpuEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.cpuEfficiency, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Memory efficiency by namespace (working set / requests)",
        description: `Memory working set / memory requested by running pods; target ${pct(targets.memoryEfficiency)} (dashed).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: memoryEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.memoryEfficiency, "green"]],
        thresholdLines: true,
      },
    )
    .add(
      {
        type: "bargauge",
        title: "CPU efficiency now",
        description: `Per namespace; red below the ${pct(targets.cpuEfficiency)} target.`,
        w: 6,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: cpuEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.cpuEfficiency, "green"]],
      },
      {
        type: "bargauge",
        title: "Memory efficiency now",
        description: `Per namespace; red below the ${pct(targets.memoryEfficiency)} target.`,
        w: 6,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: memoryEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.memoryEfficiency, "green"]],
      },
      {
        type: "timeseries",
        title: "Idle requested CPU (requests − usage)",
        description: "CPU cores requested by running pods but not used, per namespace: the right-sizing opportunity.",
        w: 6,
        h: 8,
        unit: "short",
        stacked: true,
        targets: [{ expr: `${requestsExpr("cpu")} - ${CPU_USAGE}`, legend: "{{namespace}}" }],
      },
      {
        type: "timeseries",
        title: "Idle requested memory (requests − working set)",
        description: "Memory requested by running pods but not used, per namespace.",
        w: 6,
        h: 8,
        unit: "bytes",
        stacked: true,
        targets: [{ expr: `${requestsExpr("memory")} - ${MEMORY_USAGE}`, legend: "{{namespace}}" }],
      },
    )
    .row("Nodes and spot")
    .add(
      {
        type: "timeseries",
        title: "Nodes by capacity type",
        description: "Cluster nodes by capacity type (stacked).",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: nodesByCapacityTypeExpr(ctx), legend: `{{${cl.capacityType}}}` }],
      },
      {
        type: "bargauge",
        title: "Nodes by instance type and capacity type",
        description: "Current node count per instance type and capacity type (diversification of spot capacity).",
        w: 8,
        h: 8,
        decimals: 0,
        min: 0,
        targets: [
          {
            expr: `count by (${cl.instanceType}, ${cl.capacityType}) (kube_node_labels)`,
            legend: `{{${cl.instanceType}}} {{${cl.capacityType}}}`,
          },
        ],
        baseColor: "blue",
      },
      {
        type: "timeseries",
        title: "Spot interruptions",
        description: "Interruption-queue messages Karpenter received in the preceding hour, by message type (spot interruption, rebalance, scheduled change, state change).",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        bars: true,
        targets: [{ expr: `sum by (message_type) (increase(karpenter_interruption_received_messages_total[1h]))`, legend: "{{message_type}}" }],
      },
    )
    .add(
      {
        type: "stat",
        title: "Spot interruptions (time range)",
        description: "Spot interruption warnings received over the selected time range.",
        w: 8,
        h: 4,
        decimals: 0,
        targets: [
          {
            expr: `sum(increase(karpenter_interruption_received_messages_total{message_type="spot_interrupted"}[$__range])) or vector(0)`,
            legend: "interruptions",
          },
        ],
        thresholds: [[1, "orange"]],
      },
      {
        type: "gauge",
        title: "Spot share of nodes",
        description: "Nodes on spot capacity / all nodes.",
        w: 8,
        h: 4,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: spotShareExpr(ctx), legend: "spot share" }],
        baseColor: "blue",
      },
      {
        type: "stat",
        title: "Nodes (total)",
        description: "Cluster nodes right now.",
        w: 8,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count(count by (node) (kube_node_info))`, legend: "nodes" }],
        baseColor: "blue",
      },
    );
  return dashboard(
    ctx,
    "cost",
    "Cost",
    "Detailed spend analysis and optimisation opportunities: budgets, cost estimate by component, waste, spot usage and interruptions.",
    layout,
    "now-7d",
  );
}

/**
 * The signal the predictor forecasts for a service (its first capacity signal, the collector's own
 * query), or, for services without one, the request rate (HPA services) or CPU (others), not forecast.
 */
function forecastSignalOf(s: DashboardService): { query: string; signal: string; what: string; unit: string; forecast: boolean } {
  const def = serviceCatalog.find((c) => c.name === s.name && c.namespace === s.namespace);
  const series = def ? seriesFor(def) : [];
  const sizing = series.find((x) => x.perReplica !== undefined);
  if (sizing) {
    const http = sizing.signal === "requests_per_second";
    return { query: sizing.query, signal: sizing.signal, what: http ? "Requests per second" : `Scaler value of ${sizing.signal} (KEDA)`, unit: http ? "reqps" : "short", forecast: true };
  }
  const cpu = series.find((x) => x.signal === "cpu_cores");
  if (cpu) return { query: cpu.query, signal: cpu.signal, what: "CPU cores used", unit: "short", forecast: false };
  return { query: `sum(rate(${HTTP_TOTAL}{namespace="${s.namespace}", service="${s.name}"}[$__rate_interval]))`, signal: "requests_per_second", what: "Requests per second", unit: "reqps", forecast: true };
}

// ---------------------------------------------------------------------------------------------------------
// Predictive
// ---------------------------------------------------------------------------------------------------------

function predictiveDashboard(ctx: Ctx): GrafanaDashboard {
  const { targets } = ctx;
  const mapeLimit = round(1 - targets.predictionAccuracy);
  const interval = ctx.forecastIntervalSeconds;
  const layout = new Layout().row(`Forecast vs actual load (horizon ${ctx.horizon})`);
  for (const s of ctx.services) {
    // What the predictor forecasts is the service's capacity signal (the collector's query for it,
    // lib/monitoring/signals.ts): KEDA services' queue lengths, HPA services' request rate. Services
    // without one (CPU/memory only) are not forecast: their panel shows the load alone.
    const sizing = forecastSignalOf(s);
    layout.add({
      type: "timeseries",
      title: sizing.forecast ? `Forecast vs actual: ${s.name}` : `Load (not forecast): ${s.name}`,
      description: sizing.forecast
        ? `${sizing.what} of ${s.namespace}/${s.name} against the forecast made ${ctx.horizon} earlier (point forecast and 80% interval).`
        : `${sizing.what} of ${s.namespace}/${s.name}. It has no capacity signal (only CPU/memory), so the predictor does not forecast it.`,
      w: 12,
      h: 8,
      unit: sizing.unit,
      min: 0,
      targets: [
        { expr: sizing.query, legend: "actual" },
        ...(sizing.forecast
          ? [{
              expr: `max by (bound) (${auto.forecastLoad}{service="${s.name}", signal="${sizing.signal}", horizon="${ctx.horizon}"} offset ${ctx.horizon})`,
              legend: "forecast {{bound}}",
            }]
          : []),
      ],
      overrides: [
        {
          matcher: { id: "byName", options: "forecast upper" },
          properties: [
            { id: "custom.fillBelowTo", value: "forecast lower" },
            { id: "custom.lineWidth", value: 0 },
            { id: "custom.fillOpacity", value: 20 },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
        {
          matcher: { id: "byName", options: "forecast lower" },
          properties: [
            { id: "custom.lineWidth", value: 0 },
            { id: "custom.fillOpacity", value: 0 },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
        {
          matcher: { id: "byName", options: "forecast point" },
          properties: [
            { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
      ],
    });
  }
  layout
    .row("Model accuracy")
    .add(
      {
        type: "timeseries",
        title: "Forecast MAPE by service and model",
        description: `Mean absolute percentage error of recent forecasts; dashed line at ${pct(mapeLimit)} (accuracy target ${pct(targets.predictionAccuracy)}).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: `max by (service, model) (${auto.forecastMape}{${AUTO_SEL}})`, legend: "{{service}} {{model}}" }],
        thresholds: [[mapeLimit, "red"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "80% interval coverage by service and model",
        description: `Share of recent actuals inside the forecast interval; a calibrated ${pct(targets.intervalCoverage)} interval covers ${pct(targets.intervalCoverage)} (dashed).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (service, model) (${auto.forecastIntervalCoverage}{${AUTO_SEL}})`, legend: "{{service}} {{model}}" }],
        baseColor: "red",
        thresholds: [[targets.intervalCoverage, "green"]],
        thresholdLines: true,
      },
    )
    .add(
      {
        type: "bargauge",
        title: "MAPE by model now",
        description: `Mean MAPE of each model over the selected services; red above ${pct(mapeLimit)}.`,
        w: 12,
        h: 6,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `avg by (model) (${auto.forecastMape}{${AUTO_SEL}})`, legend: "{{model}}" }],
        thresholds: [[mapeLimit, "red"]],
      },
      {
        type: "bargauge",
        title: "Interval coverage by model now",
        description: `Mean coverage of each model's interval; red below ${pct(targets.intervalCoverage)}.`,
        w: 12,
        h: 6,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `avg by (model) (${auto.forecastIntervalCoverage}{${AUTO_SEL}})`, legend: "{{model}}" }],
        baseColor: "red",
        thresholds: [[targets.intervalCoverage, "green"]],
      },
    )
    .row("Scaling decisions")
    .add(
      {
        type: "timeseries",
        title: "Decision confidence by service",
        description: `Confidence of the predictive decision; below ${pct(targets.decisionConfidence)} (dashed) the service falls back to reactive scaling.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (service) (${auto.forecastConfidence}{${AUTO_SEL}})`, legend: "{{service}}" }],
        baseColor: "red",
        thresholds: [[targets.decisionConfidence, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Predictive floor vs replicas",
        description: "The replica floor the automation service derived from the forecast, and the replicas actually running.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `max by (service) (${auto.predictiveFloorReplicas}{${AUTO_SEL}})`, legend: "{{service}} floor" },
          { expr: `sum by (deployment) (kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "{{deployment}} replicas" },
        ],
        overrides: [
          { matcher: { id: "byRegexp", options: ".* floor$" }, properties: [{ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } }] },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Decisions per hour by kind and outcome",
        description: "Scaling decisions (scheduled, predictive, emergency) in the preceding hour, by outcome.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [
          { expr: `sum by (kind, outcome) (increase(${auto.scalingDecisionsTotal}{${AUTO_SEL}}[1h]))`, legend: "{{kind}} {{outcome}}" },
        ],
      },
      {
        type: "table",
        title: "Decisions by service, kind and outcome (time range)",
        description: "Decision counts over the selected time range.",
        w: 12,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (service, kind, outcome) (increase(${auto.scalingDecisionsTotal}{${AUTO_SEL}}[$__range]))`,
            legend: "{{service}} {{kind}} {{outcome}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .row("Forecast pipeline and stack updates")
    .add(
      {
        type: "stat",
        title: "Last successful forecast",
        description: `Age of the last successful forecast run; orange after two missed ${interval} s runs, red after four.`,
        w: 6,
        h: 6,
        unit: "s",
        decimals: 0,
        targets: [{ expr: `time() - max(${auto.forecastLastSuccessTimestamp})`, legend: "age" }],
        thresholds: [[2 * interval, "orange"], [4 * interval, "red"]],
      },
      {
        type: "bargauge",
        title: "Stack updates by outcome (time range)",
        description: "pulumi up runs over the selected time range by outcome (succeeded, failed, refused by policy, no change).",
        w: 6,
        h: 6,
        decimals: 0,
        min: 0,
        targets: [{ expr: `sum by (outcome) (increase(${auto.updatesTotal}[$__range]))`, legend: "{{outcome}}" }],
        baseColor: "blue",
      },
      {
        type: "timeseries",
        title: "Stack updates per hour by trigger and outcome",
        description: "pulumi up runs in the preceding hour.",
        w: 12,
        h: 6,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (trigger, outcome) (increase(${auto.updatesTotal}[1h]))`, legend: "{{trigger}} {{outcome}}" }],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Stack update duration by trigger (p50 / p95, 1h window)",
        description: "Quantiles of pulumi up duration over the preceding hour.",
        w: 12,
        h: 8,
        unit: "s",
        min: 0,
        targets: [
          {
            expr: `histogram_quantile(0.5, sum by (trigger, le) (rate(${auto.updateDurationSeconds}_bucket[1h])))`,
            legend: "{{trigger}} p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (trigger, le) (rate(${auto.updateDurationSeconds}_bucket[1h])))`,
            legend: "{{trigger}} p95",
          },
        ],
      },
      {
        type: "table",
        title: "Scheduled profile applications (time range)",
        description: "Scheduled profile applications by profile and outcome over the selected time range.",
        w: 12,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (profile, outcome) (increase(${auto.scheduledProfileAppliedTotal}[$__range]))`,
            legend: "{{profile}} {{outcome}}",
            table: true,
            instant: true,
          },
        ],
      },
    );
  return dashboard(
    ctx,
    "predictive",
    "Predictive",
    "Model accuracy and prediction visualisation: forecast vs actual load, MAPE, interval coverage, decision confidence, predictive floors and stack updates.",
    layout,
    "now-24h",
  );
}
