/**
 * Shared helpers of the dashboards: option resolution (`resolve` -> `Ctx`), panel specs turned into
 * Grafana panels, layout, templating, annotations and the PromQL building blocks several dashboards use.
 */
import { applicationMetrics, automationServiceMetrics as auto } from "../metricNames";
import { DashboardKind, DASHBOARD_SUITE_TAG, GRAFANA_SCHEMA_VERSION, DashboardBudgets, DashboardTargets, DashboardNodeLabels, DashboardService, DashboardOptions, GrafanaDatasourceRef, GrafanaTarget, GrafanaThresholdStep, GrafanaFieldOverride, GrafanaValueMapping, GrafanaFieldConfig, GrafanaPanelType, GrafanaPanel, GrafanaRowPanel, GrafanaVariable, GrafanaAnnotation, GrafanaDashboard, dashboardUid, DEFAULT_NODE_LABELS, GRAFANA_PROMETHEUS_DATASOURCE, type PanelOptionsByType, type PanelFieldCustomByType } from "./model";

// ---------------------------------------------------------------------------------------------------------
// Option handling
// ---------------------------------------------------------------------------------------------------------

export interface Ctx {
  readonly environment: "prod" | "dev";
  readonly services: ReadonlyArray<DashboardService>;
  readonly namespaces: readonly string[];
  readonly budgets: Required<DashboardBudgets>;
  readonly targets: Required<DashboardTargets>;
  readonly horizon: string;
  readonly forecastIntervalSeconds: number;
  readonly nodeLabels: DashboardNodeLabels;
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const PROM_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const PROM_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

export function resolve(opts: DashboardOptions): Ctx {
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

export const DS: GrafanaDatasourceRef = { type: "prometheus", uid: "${datasource}" };
export const GRID_WIDTH = 24;

export const round = (x: number, digits = 6): number => Number(x.toFixed(digits));

export interface TargetSpec {
  expr: string;
  legend?: string;
  /** Instant query (stat/gauge/bargauge/table values over `$__range` or "now"). */
  instant?: boolean;
  table?: boolean;
}

export interface PanelSpec {
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
  textMode?: PanelOptionsByType["stat"]["textMode"];
  /** Minimum step, e.g. "1m". */
  interval?: string;
}

export function thresholdSteps(spec: PanelSpec): GrafanaThresholdStep[] {
  const steps: GrafanaThresholdStep[] = [{ color: spec.baseColor ?? "green", value: null }];
  for (const [value, color] of spec.thresholds ?? []) steps.push({ color, value });
  return steps;
}

export function buildTargets(spec: PanelSpec): GrafanaTarget[] {
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

export function panelOptions(spec: PanelSpec): PanelOptionsByType[GrafanaPanelType] {
  const reduceOptions = { calcs: ["lastNotNull"], fields: "", values: false };
  switch (spec.type) {
    case "timeseries":
      return {
        legend: { displayMode: "table", placement: "bottom", showLegend: true, calcs: ["lastNotNull", "max"] },
        tooltip: { mode: "multi", sort: "desc" },
      } satisfies PanelOptionsByType["timeseries"];
    case "stat":
      return {
        reduceOptions,
        colorMode: "value",
        // Instant queries: no sparkline.
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: spec.textMode ?? "auto",
      } satisfies PanelOptionsByType["stat"];
    case "gauge":
      return { reduceOptions, orientation: "auto", showThresholdLabels: false, showThresholdMarkers: true } satisfies PanelOptionsByType["gauge"];
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
      } satisfies PanelOptionsByType["bargauge"];
    case "table":
      // No footer: the tables had it switched off (`options.footer.show: false`, which Grafana 13
      // ignores); a footer is now per field, `fieldConfig.defaults.custom.footer.reducers`.
      return { showHeader: true, cellHeight: "sm" } satisfies PanelOptionsByType["table"];
  }
}

export function fieldConfig(spec: PanelSpec): GrafanaFieldConfig {
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
    } satisfies PanelFieldCustomByType["timeseries"];
  }
  if (spec.type === "table") defaults.custom = { align: "auto", cellOptions: { type: "auto" } } satisfies PanelFieldCustomByType["table"];
  return { defaults, overrides: spec.overrides ?? [] };
}

/** Places panels left to right, wrapping at 24 columns, with full-width row headers between sections. */
export class Layout {
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

export function regexAlternation(values: readonly string[]): string {
  return values.join("|");
}

export function templating(ctx: Ctx): { list: GrafanaVariable[] } {
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
        current: { selected: false, text: GRAFANA_PROMETHEUS_DATASOURCE.name, value: GRAFANA_PROMETHEUS_DATASOURCE.uid },
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

export function annotations(): { list: GrafanaAnnotation[] } {
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
        target: { refId: "Anno", expr: `sum by (trigger, outcome) (increase(${auto.updatesTotal}[2m])) > 0`, interval: "1m" },
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
        target: { refId: "Anno", expr: `max(${auto.emergencyProfileActive}) == 1`, interval: "1m" },
        titleFormat: "Emergency budget profile active",
        textFormat: "",
        tagKeys: "",
        useValueForTime: false,
      },
    ],
  };
}

export function dashboard(ctx: Ctx, kind: DashboardKind, title: string, description: string, panels: Layout, time = "now-24h"): GrafanaDashboard {
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
      { type: "dashboards", title: "Autoscaling dashboards", tags: [DASHBOARD_SUITE_TAG], asDropdown: true, includeVars: true, keepTime: true, icon: "external link", targetBlank: false, tooltip: "" },
    ],
    panels: panels.build(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Selectors and shared expressions
// ---------------------------------------------------------------------------------------------------------

export const HTTP_TOTAL = applicationMetrics.httpRequestsTotal;
export const HTTP_BUCKET = `${applicationMetrics.httpRequestDurationSeconds}_bucket`;

/** Application request metrics, filtered by the variables. */
export const APP_SEL = `namespace=~"$namespace", service=~"$service"`;
/** Deployment metrics of kube-state-metrics. */
export const DEPLOY_SEL = `namespace=~"$namespace", deployment=~"$service"`;
/** HPAs of the selected services: plain HPAs carry the service name, KEDA's are `keda-hpa-<scaledObject>`. */
export const HPA_SEL = `namespace=~"$namespace", horizontalpodautoscaler=~"(keda-hpa-)?$service"`;
/** KEDA metrics of the selected ScaledObjects. */
export const KEDA_SEL = `namespace=~"$namespace", scaledObject=~"$service"`;
/** Automation-service metrics are keyed by service name only. */
export const AUTO_SEL = `service=~"$service"`;
/** Real containers in cAdvisor (not the pod cgroup, not the pause container). */
export const CONTAINER_SEL = `namespace=~"$namespace", container!="", container!="POD"`;
/** Pods that are running (requests of finished pods would count as waste otherwise). */
export const RUNNING_PODS = `(max by (namespace, pod) (kube_pod_status_phase{namespace=~"$namespace", phase="Running"}) == 1)`;

export function availabilityExpr(window: string, by?: string): string {
  const errors = `sum${by ? ` by (${by})` : ""} (rate(${HTTP_TOTAL}{${APP_SEL}, code=~"5.."}[${window}]))`;
  const total = `sum${by ? ` by (${by})` : ""} (rate(${HTTP_TOTAL}{${APP_SEL}}[${window}]))`;
  if (!by) return `1 - ((${errors} or vector(0)) / ${total})`;
  // Series with no 5xx at all are absent from `errors`: fill them with 1 (fully available).
  return `(1 - (${errors} / ${total})) or (${total} * 0 + 1)`;
}

export function p95Expr(window: string, by: string[]): string {
  return `histogram_quantile(0.95, sum by (${[...by, "le"].join(", ")}) (rate(${HTTP_BUCKET}{${APP_SEL}}[${window}])))`;
}

export function requestsExpr(resource: "cpu" | "memory"): string {
  return `sum by (namespace) (kube_pod_container_resource_requests{namespace=~"$namespace", resource="${resource}"} * on (namespace, pod) group_left () ${RUNNING_PODS})`;
}

export const CPU_USAGE = `sum by (namespace) (rate(container_cpu_usage_seconds_total{${CONTAINER_SEL}}[$__rate_interval]))`;
export const MEMORY_USAGE = `sum by (namespace) (container_memory_working_set_bytes{${CONTAINER_SEL}})`;

export function spotShareExpr(ctx: Ctx): string {
  const l = ctx.nodeLabels;
  return `(count(count by (node) (kube_node_labels{${l.capacityType}="${l.spotValue}"})) or vector(0)) / count(count by (node) (kube_node_info))`;
}

/** The spot share of cluster nodes as a 0-1 gauge (the executive and cost dashboards both show it). */
export function spotShareGauge(ctx: Ctx, w: number, description: string): PanelSpec {
  return {
    type: "gauge",
    title: "Spot share of nodes",
    description,
    w,
    h: 4,
    unit: "percentunit",
    min: 0,
    max: 1,
    targets: [{ expr: spotShareExpr(ctx), legend: "spot share" }],
    baseColor: "blue",
  };
}

export function nodesByCapacityTypeExpr(ctx: Ctx): string {
  const l = ctx.nodeLabels.capacityType;
  return `label_replace(count by (${l}) (kube_node_labels), "${l}", "unlabelled", "${l}", "")`;
}

export function budgetSteps(ctx: Ctx, budgetUsd: number): Array<[number, string]> {
  return [
    [round(budgetUsd * ctx.budgets.warningRatio, 2), "orange"],
    [round(budgetUsd, 2), "red"],
  ];
}

export function utilisationSteps(ctx: Ctx): Array<[number, string]> {
  return [
    [ctx.budgets.warningRatio, "orange"],
    [ctx.budgets.emergencyRatio, "red"],
  ];
}

export const ON_OFF_MAPPING: GrafanaValueMapping = {
  type: "value",
  options: { "0": { text: "off", color: "green", index: 0 }, "1": { text: "ACTIVE", color: "red", index: 1 } },
};

export function pct(x: number): string {
  return `${round(x * 100, 3)}%`;
}

// ---------------------------------------------------------------------------------------------------------
// Executive
// ---------------------------------------------------------------------------------------------------------

