/**
 * The dashboard suite's public model: kinds, options, the Grafana JSON types, and reading a
 * rendered dashboard (its ConfigMap data, its PromQL expressions). See ./index.ts.
 */
import type { AnnotationQuery, Dashboard, DataSourceRef, TableFieldOptions, VariableModel } from "@grafana/schema";
import type { Options as BarGaugeOptions } from "@grafana/schema/dist/types/raw/composable/bargauge/panelcfg/x/types.gen";
import type { Options as GaugeOptions } from "@grafana/schema/dist/types/raw/composable/gauge/panelcfg/x/types.gen";
import type { Options as StatOptions } from "@grafana/schema/dist/types/raw/composable/stat/panelcfg/x/types.gen";
import type { Options as TableOptions } from "@grafana/schema/dist/types/raw/composable/table/panelcfg/x/types.gen";
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from "@grafana/schema/dist/types/raw/composable/timeseries/panelcfg/x/types.gen";

// ---------------------------------------------------------------------------------------------------------
// Grafana's schema at the deployed version (@grafana/schema 13.2.0, dev dependency, types only)
// ---------------------------------------------------------------------------------------------------------

/**
 * A schema type as it is written in dashboard JSON: string enums as their string values (the JSON
 * holds `"table"`, not `LegendDisplayMode.Table`), recursively.
 */
export type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/**
 * The options each panel type accepts in Grafana 13.2 (the panel plugins' `panelcfg` schemas).
 * Partial: Grafana fills what a dashboard omits from the plugin's defaults; a key the schema does
 * not have is a type error here (and dead configuration in Grafana).
 */
export interface PanelOptionsByType {
  timeseries: Partial<Json<TimeSeriesOptions>>;
  stat: Partial<Json<StatOptions>>;
  gauge: Partial<Json<GaugeOptions>>;
  bargauge: Partial<Json<BarGaugeOptions>>;
  table: Partial<Json<TableOptions>>;
}

/** `fieldConfig.defaults.custom` per panel type (the plugins' `FieldConfig`). */
export interface PanelFieldCustomByType {
  timeseries: Partial<Json<TimeSeriesFieldConfig>>;
  table: Partial<Json<TableFieldOptions>>;
}

/**
 * The Prometheus data source kube-prometheus-stack provisions in Grafana (its values
 * `grafana.sidecar.datasources.name`/`uid`, set to these by components/addons/kubePrometheusStack.ts):
 * the dashboards' `datasource` variable starts on it.
 */
export const GRAFANA_PROMETHEUS_DATASOURCE = { name: "Prometheus", uid: "prometheus" } as const;

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

/**
 * Grafana dashboard JSON schema version the models are written for: Grafana 13.2's latest
 * (`DASHBOARD_SCHEMA_VERSION` in its migrations), so Grafana does not migrate them on every load.
 */
export const GRAFANA_SCHEMA_VERSION = 42;

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
    custom?: PanelFieldCustomByType[keyof PanelFieldCustomByType];
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
  options: PanelOptionsByType[GrafanaPanelType];
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
  /** The data source selected when the dashboard opens: kube-prometheus-stack's Prometheus. */
  current: { selected: boolean; text: string; value: string };
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

/**
 * An annotation query in Grafana's current form: a data source query goes in `target` (for
 * Prometheus `{ refId, expr, interval }`; the old top-level `expr`/`step` are what Grafana's
 * Prometheus `prepareAnnotation` migrates away from on every load).
 */
export interface GrafanaAnnotation {
  name: string;
  datasource: GrafanaDatasourceRef | { type: "grafana"; uid: "-- Grafana --" };
  enable: boolean;
  hide: boolean;
  iconColor: string;
  builtIn?: 1;
  type?: "dashboard";
  target?: { refId: string; expr: string; interval: string };
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
    icon: string;
    targetBlank: boolean;
    tooltip: string;
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
    if (a.target !== undefined) out.push({ where: `${dashboard.uid} / annotation ${a.name}`, expr: a.target.expr });
  }
  return out;
}

// Compile-time checks: the suite's JSON types are Grafana 13.2's dashboard schema types.
type Assignable<T extends U, U> = T;
export type SchemaChecks = [
  Assignable<GrafanaDashboard, Omit<Json<Dashboard>, "panels" | "templating" | "annotations">>,
  Assignable<GrafanaAnnotation, Json<AnnotationQuery>>,
  Assignable<GrafanaVariable, Json<VariableModel>>,
  Assignable<GrafanaDatasourceRef, DataSourceRef>,
];
