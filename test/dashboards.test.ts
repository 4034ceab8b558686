import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  buildDashboards,
  dashboardConfigMapData,
  dashboardExpressions,
  DashboardOptions,
  GrafanaDashboard,
  GrafanaGridPos,
  GrafanaPanel,
  GrafanaQueryVariable,
  GRAFANA_DASHBOARD_LABEL,
} from "../lib/monitoring/dashboards";
import type { PanelFieldCustomByType } from "../lib/monitoring/dashboards/model";
import { applicationMetricContract } from "../lib/monitoring/metricNames";
import { buildContractIndex } from "../lib/monitoring/promqlContract";
import { loadCatalogFiles } from "../lib/monitoring/metricCatalogs";
import { registryMetrics } from "../lib/monitoring/renderedPromql";
import { AutomationMetrics } from "../automation/metrics";
import { serviceCatalog } from "../lib/catalog/services";
import { seriesFor } from "../lib/monitoring/signals";

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

const services = [
  { name: "api-gateway", namespace: "pyairtable" },
  { name: "platform-services", namespace: "pyairtable" },
  { name: "user-service", namespace: "pyairtable" },
  { name: "file-service", namespace: "pyairtable" },
  { name: "saga-orchestrator", namespace: "pyairtable-workers" },
  { name: "file-processing", namespace: "pyairtable-workers" },
  { name: "ai-service", namespace: "pyairtable-ai" },
] as const;

/** Design values (autoscaling-architecture.md: "Budget Management", "Success Metrics"). */
const options: DashboardOptions = {
  environment: "prod",
  services,
  budgets: { dailyUsd: 500, weeklyUsd: 3000, monthlyUsd: 12000, warningRatio: 0.8, emergencyRatio: 0.95 },
  targets: {
    availability: 0.999,
    p95LatencySeconds: 0.5,
    cpuEfficiency: 0.7,
    memoryEfficiency: 0.7,
    predictionAccuracy: 0.8,
    decisionConfidence: 0.8,
    intervalCoverage: 0.8,
  },
};

const ALLOWED_PANEL_TYPES = new Set(["timeseries", "stat", "gauge", "table", "bargauge", "row"]);
const GRAFANA_BUILTIN_VARIABLES = new Set(["__rate_interval", "__interval", "__range"]);
/** Concrete stand-ins for Grafana variables, so the expressions become plain PromQL. */
const VARIABLE_VALUES: Record<string, string> = {
  namespace: "pyairtable",
  service: "api-gateway",
  datasource: "prometheus",
  __rate_interval: "5m",
  __interval: "1m",
  __range: "1d",
};

function panelsOf(d: GrafanaDashboard): GrafanaPanel[] {
  return d.panels.filter((p): p is GrafanaPanel => p.type !== "row");
}

function panelByTitle(d: GrafanaDashboard, title: string): GrafanaPanel {
  const p = panelsOf(d).find((x) => x.title === title);
  assert.ok(p, `${d.uid}: no panel titled ${JSON.stringify(title)}; have ${panelsOf(d).map((x) => x.title).join(", ")}`);
  return p;
}

function thresholdValues(p: GrafanaPanel): number[] {
  return p.fieldConfig.defaults.thresholds.steps.map((s) => s.value).filter((v): v is number => v !== null);
}

function queryVariable(d: GrafanaDashboard, name: string): GrafanaQueryVariable {
  const v = d.templating.list.find((x) => x.name === name);
  assert.ok(v && v.type === "query", `${d.uid}: no query variable ${name}`);
  return v;
}

/** The selector inside `label_values(<selector>, <label>)`. */
function labelValuesSelector(query: string): string {
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(query);
  assert.ok(m, `not a label_values query: ${query}`);
  return m[1];
}

/** Every PromQL expression of a dashboard, including the selectors of its variable queries. */
function allExpressions(d: GrafanaDashboard): Array<{ where: string; expr: string }> {
  const out = dashboardExpressions(d);
  for (const v of d.templating.list) {
    if (v.type === "query") out.push({ where: `${d.uid} / variable ${v.name}`, expr: labelValuesSelector(v.query.query) });
  }
  return out;
}

function variablesIn(expr: string): string[] {
  const names: string[] = [];
  for (const m of expr.matchAll(/\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)/g)) names.push(m[1] ?? m[2]);
  return names;
}

function substituteVariables(expr: string): string {
  return expr.replace(/\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)/g, (_all, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b) as string;
    const value = VARIABLE_VALUES[name];
    if (value === undefined) throw new Error(`no stand-in value for Grafana variable $${name} in ${expr}`);
    return value;
  });
}

// ---------------------------------------------------------------------------------------------------------
// A small PromQL tokenizer: the metric names an expression references
// ---------------------------------------------------------------------------------------------------------

/** Keywords followed by a parenthesised label list (which holds label names, never metrics). */
const LABEL_LIST_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["offset", "bool", "and", "or", "unless", "atan2", "inf", "nan"]);
const AGGREGATIONS = new Set([
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
]);

function skipString(s: string, i: number): number {
  const quote = s[i];
  let j = i + 1;
  while (j < s.length && s[j] !== quote) j += s[j] === "\\" && quote !== "`" ? 2 : 1;
  if (j >= s.length) throw new Error(`unterminated string in ${s}`);
  return j + 1;
}

function skipBalanced(s: string, i: number, open: string, close: string): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s[j];
    if (c === '"' || c === "'" || c === "`") {
      j = skipString(s, j);
      continue;
    }
    if (c === open) depth++;
    if (c === close && --depth === 0) return j + 1;
    j++;
  }
  throw new Error(`unbalanced ${open}${close} in ${s}`);
}

function nextNonSpace(s: string, i: number): number {
  let j = i;
  while (j < s.length && /\s/.test(s[j])) j++;
  return j;
}

/** Metric names referenced by a PromQL expression (selectors, plus `__name__` matchers). */
function metricNamesIn(expr: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === "`") {
      i = skipString(expr, i);
    } else if (c === "#") {
      while (i < expr.length && expr[i] !== "\n") i++;
    } else if (c === "{") {
      // Label matchers: only `__name__` names a metric.
      const end = skipBalanced(expr, i, "{", "}");
      const body = expr.slice(i + 1, end - 1);
      for (const m of body.matchAll(/__name__\s*=\s*"([^"]*)"/g)) names.push(m[1]);
      i = end;
    } else if (c === "[") {
      i = skipBalanced(expr, i, "[", "]"); // range or subquery durations
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(expr[i + 1] ?? ""))) {
      while (i < expr.length && /[A-Za-z0-9_.]/.test(expr[i])) i++; // numbers, hex, durations (5m, 1h30m)
    } else if (/[A-Za-z_:]/.test(c)) {
      let j = i;
      while (j < expr.length && /[A-Za-z0-9_:]/.test(expr[j])) j++;
      const ident = expr.slice(i, j);
      const lower = ident.toLowerCase();
      i = j;
      const next = nextNonSpace(expr, i);
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expr[next] === "(") i = skipBalanced(expr, next, "(", ")");
      } else if (KEYWORDS.has(lower) || AGGREGATIONS.has(lower)) {
        // not a metric
      } else if (expr[next] === "(") {
        // function call
      } else {
        names.push(ident);
      }
    } else {
      i++;
    }
  }
  return names;
}

/** Argument texts of every call of `fn` in `expr`. */
function callArguments(expr: string, fn: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`\\b${fn}\\s*\\(`, "g");
  for (const m of expr.matchAll(re)) {
    const open = (m.index ?? 0) + m[0].length - 1;
    const end = skipBalanced(expr, open, "(", ")");
    out.push(expr.slice(open + 1, end - 1));
  }
  return out;
}

/**
 * Series types from the exporters' catalogs (every version: names and types do not change between
 * the ones kept) and the project's own registries, as the PromQL contract reads them.
 */
type SeriesKind = "counter" | "gauge" | "histogram-series";
const seriesKinds = new Map<string, SeriesKind>();
{
  const index = buildContractIndex({
    catalogs: loadCatalogFiles(),
    own: [
      { exporter: "automation service", targetLabels: [], metrics: registryMetrics(new AutomationMetrics()) },
      { exporter: "application services", targetLabels: [], metrics: applicationMetricContract },
    ],
  });
  for (const [name, s] of index.series) {
    if (s.type === "histogram") seriesKinds.set(name, "histogram-series");
    else if (s.type === "counter" || s.type === "gauge") seriesKinds.set(name, s.type);
  }
}

/** Type mistakes: rate() over gauges, changes() over counters, histogram_quantile without `_bucket` and `le`. */
function semanticProblems(expr: string): string[] {
  const problems: string[] = [];
  for (const fn of ["rate", "irate", "increase"]) {
    for (const arg of callArguments(expr, fn)) {
      for (const n of metricNamesIn(arg)) {
        if (seriesKinds.get(n) === "gauge") problems.push(`${fn}() over gauge ${n}`);
      }
    }
  }
  for (const fn of ["changes", "delta", "deriv", "resets"]) {
    for (const arg of callArguments(expr, fn)) {
      for (const n of metricNamesIn(arg)) {
        const kind = seriesKinds.get(n);
        if (fn === "resets" ? kind === "gauge" : kind !== "gauge") problems.push(`${fn}() over ${kind ?? "unknown"} ${n}`);
      }
    }
  }
  for (const arg of callArguments(expr, "histogram_quantile")) {
    const metrics = metricNamesIn(arg);
    if (metrics.length === 0 || !metrics.every((n) => n.endsWith("_bucket") && seriesKinds.get(n) === "histogram-series")) {
      problems.push(`histogram_quantile() over ${metrics.join(", ") || "nothing"} (needs _bucket series)`);
    }
    const byLists = [...arg.matchAll(/\bby\s*\(([^)]*)\)/g)].map((m) => m[1].split(",").map((x) => x.trim()));
    if (byLists.length === 0 || !byLists.every((l) => l.includes("le"))) problems.push("histogram_quantile() whose aggregation drops le");
    if ([...arg.matchAll(/\bwithout\s*\(([^)]*)\)/g)].some((m) => m[1].split(",").map((x) => x.trim()).includes("le"))) {
      problems.push("histogram_quantile() aggregating without le");
    }
  }
  return problems;
}

function overlaps(a: GrafanaGridPos, b: GrafanaGridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function layoutProblems(d: GrafanaDashboard): string[] {
  const problems: string[] = [];
  const ids = new Set<number>();
  for (const p of d.panels) {
    if (ids.has(p.id)) problems.push(`duplicate panel id ${p.id}`);
    ids.add(p.id);
    const g = p.gridPos;
    if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) problems.push(`panel ${p.title} out of grid: ${JSON.stringify(g)}`);
  }
  for (let i = 0; i < d.panels.length; i++) {
    for (let j = i + 1; j < d.panels.length; j++) {
      if (overlaps(d.panels[i].gridPos, d.panels[j].gridPos)) {
        problems.push(`${d.panels[i].title} ${JSON.stringify(d.panels[i].gridPos)} overlaps ${d.panels[j].title} ${JSON.stringify(d.panels[j].gridPos)}`);
      }
    }
  }
  return problems;
}

function findPromtool(): boolean {
  const r = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

function promtoolCheckRules(exprs: string[]): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "dashboards-promql-"));
  try {
    const file = join(dir, "dashboard-check.rules.yaml");
    const rules = exprs.map((expr, n) => ({ record: `dashboard:check:${n}`, expr }));
    writeFileSync(file, stringify({ groups: [{ name: "dashboard-check", rules }] }, { lineWidth: 0 }));
    const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `promtool test rules` on a unit-test file (promql_expr_test only, no rule files). */
function promtoolTestRules(test: unknown): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "dashboards-promql-test-"));
  try {
    const file = join(dir, "dashboard-values.test.yaml");
    writeFileSync(file, stringify({ rule_files: [], evaluation_interval: "1m", tests: [test] }, { lineWidth: 0 }));
    const r = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8" });
    return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function requirePromtool(ctx: Mocha.Context): void {
  if (findPromtool()) return;
  if (process.env.CI) assert.fail("promtool is not on PATH, and CI is set: install prometheus (apt-get install -y prometheus) to check PromQL");
  console.log("    promtool not on PATH: skipping the PromQL parse check (apt-get install -y prometheus)");
  ctx.skip();
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe("dashboards", () => {
  const dashboards = buildDashboards(options);

  describe("suite", () => {
    it("builds exactly four dashboards with unique uids and titles", () => {
      assert.equal(dashboards.length, 4);
      assert.deepEqual(
        dashboards.map((d) => d.uid),
        ["pyairtable-autoscaling-executive", "pyairtable-autoscaling-operations", "pyairtable-autoscaling-cost", "pyairtable-autoscaling-predictive"],
      );
      assert.equal(new Set(dashboards.map((d) => d.uid)).size, 4);
      assert.equal(new Set(dashboards.map((d) => d.title)).size, 4);
    });

    it("is deterministic and keeps uids stable across environments", () => {
      assert.deepEqual(buildDashboards(options), dashboards);
      const dev = buildDashboards({ ...options, environment: "dev" });
      assert.deepEqual(dev.map((d) => d.uid), dashboards.map((d) => d.uid));
      for (const d of dev) {
        assert.ok(d.tags.includes("dev") && d.title.includes("(dev)"), d.title);
      }
    });

    it("uses the Grafana model the provisioning expects", () => {
      for (const d of dashboards) {
        assert.equal(d.schemaVersion, 42);
        assert.equal(d.id, null);
        assert.ok(d.tags.includes("pyairtable-autoscaling"));
        assert.ok(d.time.from.startsWith("now-") && d.time.to === "now");
        assert.match(d.refresh, /^\d+[smh]$/);
        const ds = d.templating.list.find((v) => v.name === "datasource");
        assert.ok(ds && ds.type === "datasource" && ds.query === "prometheus", `${d.uid}: datasource variable`);
        for (const p of d.panels) {
          assert.ok(ALLOWED_PANEL_TYPES.has(p.type), `${d.uid}/${p.title}: type ${p.type}`);
        }
        for (const p of panelsOf(d)) {
          assert.ok(p.targets.length > 0, `${d.uid}/${p.title}: no targets`);
          assert.ok(p.fieldConfig.defaults.unit, `${d.uid}/${p.title}: no unit`);
          assert.equal(p.fieldConfig.defaults.thresholds.steps[0].value, null, `${d.uid}/${p.title}: first threshold step must be the base`);
          const refIds = p.targets.map((t) => t.refId);
          assert.equal(new Set(refIds).size, refIds.length, `${d.uid}/${p.title}: duplicate refIds`);
          for (const t of p.targets) {
            assert.deepEqual(t.datasource, { type: "prometheus", uid: "${datasource}" });
            assert.ok(t.expr.trim().length > 0 && typeof t.legendFormat === "string");
          }
          const values = thresholdValues(p);
          assert.deepEqual([...values].sort((a, b) => a - b), values, `${d.uid}/${p.title}: thresholds not ascending`);
        }
      }
    });
  });

  describe("layout", () => {
    it("has unique panel ids and non-overlapping gridPos in every dashboard", () => {
      for (const d of dashboards) assert.deepEqual(layoutProblems(d), [], d.uid);
    });

    it("the layout check detects overlaps and duplicate ids", () => {
      const broken = structuredClone(dashboards[0]);
      const [a, b] = panelsOf(broken);
      b.gridPos = { ...a.gridPos, x: a.gridPos.x + 1 };
      b.id = a.id;
      const problems = layoutProblems(broken);
      assert.ok(problems.some((p) => p.includes("overlaps")), problems.join("\n"));
      assert.ok(problems.some((p) => p.includes("duplicate panel id")), problems.join("\n"));
    });

    it("stays valid for a large catalog", () => {
      const many = Array.from({ length: 25 }, (_, i) => ({ name: `svc-${i}`, namespace: `ns-${i % 4}` }));
      for (const d of buildDashboards({ ...options, services: many })) assert.deepEqual(layoutProblems(d), [], d.uid);
    });
  });

  describe("PromQL", () => {
    it("every expression parses with promtool", function () {
      requirePromtool(this);
      const exprs = dashboards.flatMap(allExpressions);
      assert.ok(exprs.length > 50, `only ${exprs.length} expressions`);
      const concrete = exprs.map((e) => substituteVariables(e.expr));
      const r = promtoolCheckRules(concrete);
      // Show the expressions promtool names (all of them if it names none).
      const named = new Set([...r.output.matchAll(/dashboard:check:(\d+)/g)].map((m) => Number(m[1])));
      const listing = concrete
        .map((e, n) => ({ e, n }))
        .filter(({ n }) => named.size === 0 || named.has(n))
        .map(({ e, n }) => `  dashboard:check:${n} (${exprs[n].where}):\n    ${e}`)
        .join("\n");
      assert.equal(r.status, 0, `promtool check rules failed:\n${r.output}\nexpressions:\n${listing}`);
    });

    it("the promtool harness rejects a broken expression", function () {
      requirePromtool(this);
      const r = promtoolCheckRules(["up", "sum(rate(http_requests_total[5m])"]);
      assert.notEqual(r.status, 0, r.output);
    });

    it("key panel expressions compute the right values on synthetic series (promtool test rules)", function () {
      requirePromtool(this);
      const [exec, ops, cost, pred] = dashboards;
      const expr = (d: GrafanaDashboard, title: string, refId = "A"): string => {
        const t = panelByTitle(d, title).targets.find((x) => x.refId === refId);
        assert.ok(t, `${d.uid}/${title}: no target ${refId}`);
        return substituteVariables(t.expr);
      };
      const ns = 'namespace="pyairtable"';
      const series = (s: string, values: string) => ({ series: s, values });
      const test = {
        interval: "1m",
        input_series: [
          // HTTP: 10% errors on the selected service; another service is filtered out by $service.
          series(`http_requests_total{${ns}, service="api-gateway", code="200"}`, "0+90x40"),
          series(`http_requests_total{${ns}, service="api-gateway", code="503"}`, "0+10x40"),
          series(`http_requests_total{${ns}, service="user-service", code="500"}`, "0+1000x40"),
          // HPAs: api-gateway at its max; user-service at max but not selected.
          series(`kube_horizontalpodautoscaler_status_current_replicas{${ns}, horizontalpodautoscaler="api-gateway"}`, "25x40"),
          series(`kube_horizontalpodautoscaler_spec_max_replicas{${ns}, horizontalpodautoscaler="api-gateway"}`, "25x40"),
          series(`kube_horizontalpodautoscaler_status_current_replicas{${ns}, horizontalpodautoscaler="user-service"}`, "10x40"),
          series(`kube_horizontalpodautoscaler_spec_max_replicas{${ns}, horizontalpodautoscaler="user-service"}`, "10x40"),
          // Nodes: one spot, two on-demand, one without capacity-type label.
          ...["n1", "n2", "n3", "n4"].map((n) => series(`kube_node_info{node="${n}"}`, "1x40")),
          series('kube_node_labels{node="n1", label_karpenter_sh_capacity_type="spot"}', "1x40"),
          series('kube_node_labels{node="n2", label_karpenter_sh_capacity_type="on-demand"}', "1x40"),
          series('kube_node_labels{node="n3", label_karpenter_sh_capacity_type="on-demand"}', "1x40"),
          series('kube_node_labels{node="n4"}', "1x40"),
          // Memory: running pod uses half its request; a finished pod's request must not count as waste.
          series(`container_memory_working_set_bytes{${ns}, pod="web", container="app"}`, "536870912x40"),
          series(`container_memory_working_set_bytes{${ns}, pod="web", container=""}`, "999999999x40"),
          series(`kube_pod_container_resource_requests{${ns}, pod="web", container="app", resource="memory"}`, "1073741824x40"),
          series(`kube_pod_container_resource_requests{${ns}, pod="job", container="app", resource="memory"}`, "1073741824x40"),
          series(`kube_pod_status_phase{${ns}, pod="web", phase="Running"}`, "1x40"),
          series(`kube_pod_status_phase{${ns}, pod="job", phase="Running"}`, "0x40"),
          series(`kube_pod_status_phase{${ns}, pod="job", phase="Succeeded"}`, "1x40"),
          // PDBs: one below its desired healthy count.
          series(`kube_poddisruptionbudget_status_current_healthy{${ns}, poddisruptionbudget="api-gateway"}`, "1x40"),
          series(`kube_poddisruptionbudget_status_desired_healthy{${ns}, poddisruptionbudget="api-gateway"}`, "2x40"),
          series(`kube_poddisruptionbudget_status_current_healthy{${ns}, poddisruptionbudget="user-service"}`, "3x40"),
          series(`kube_poddisruptionbudget_status_desired_healthy{${ns}, poddisruptionbudget="user-service"}`, "2x40"),
          // Forecast for the 15m horizon, made every minute: at t the forecast for t+15m is t (minutes).
          series('pyairtable_autoscaler_forecast_load{service="api-gateway", signal="requests_per_second", horizon="15m", bound="point"}', "0+1x40"),
          series('pyairtable_autoscaler_forecast_load{service="api-gateway", signal="requests_per_second", horizon="15m", bound="lower"}', "-5+1x40"),
          series('pyairtable_autoscaler_forecast_load{service="api-gateway", signal="requests_per_second", horizon="1h", bound="point"}', "1000x40"),
          // Another signal's forecast must not be mixed into the request-rate panel.
          series('pyairtable_autoscaler_forecast_load{service="api-gateway", signal="cpu_cores", horizon="15m", bound="point"}', "9999x40"),
          series("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", "600x40"),
        ],
        promql_expr_test: [
          { expr: expr(exec, "Availability (time range)"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 0.9 }] },
          { expr: expr(ops, "HPAs at max replicas"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 1 }] },
          { expr: expr(exec, "Spot share of nodes"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 0.25 }] },
          {
            expr: expr(cost, "Nodes by capacity type"),
            eval_time: "30m",
            exp_samples: [
              { labels: '{label_karpenter_sh_capacity_type="spot"}', value: 1 },
              { labels: '{label_karpenter_sh_capacity_type="on-demand"}', value: 2 },
              { labels: '{label_karpenter_sh_capacity_type="unlabelled"}', value: 1 },
            ],
          },
          { expr: expr(cost, "Memory efficiency now"), eval_time: "30m", exp_samples: [{ labels: `{${ns}}`, value: 0.5 }] },
          { expr: expr(ops, "PDBs below desired healthy"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 1 }] },
          {
            expr: expr(pred, "Forecast vs actual: api-gateway", "B"),
            eval_time: "30m",
            exp_samples: [
              { labels: '{bound="point"}', value: 15 },
              { labels: '{bound="lower"}', value: 10 },
            ],
          },
          { expr: expr(pred, "Last successful forecast"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 1200 }] },
        ],
      };
      // Without any 5xx series the availability is 1, not "no data".
      const noErrors = {
        interval: "1m",
        input_series: [series(`http_requests_total{${ns}, service="api-gateway", code="200"}`, "0+60x40")],
        promql_expr_test: [
          { expr: expr(exec, "Availability (time range)"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 1 }] },
          { expr: expr(ops, "HPAs at max replicas"), eval_time: "30m", exp_samples: [{ labels: "{}", value: 0 }] },
        ],
      };
      for (const t of [test, noErrors]) {
        const r = promtoolTestRules(t);
        assert.equal(r.status, 0, `promtool test rules failed:\n${r.output}\n${stringify(t.promql_expr_test, { lineWidth: 0 })}`);
      }
    });

    it("references only Grafana variables the dashboard defines", () => {
      for (const d of dashboards) {
        const defined = new Set(d.templating.list.map((v) => v.name));
        for (const { where, expr } of allExpressions(d)) {
          for (const v of variablesIn(expr)) {
            assert.ok(defined.has(v) || GRAFANA_BUILTIN_VARIABLES.has(v), `${where}: undefined variable $${v} in ${expr}`);
          }
        }
      }
    });

    // Which metrics, labels and values exist is the PromQL contract's check (test/metricsContract.test.ts,
    // against the deployed exporters' catalogs); here: the name scanner the type checks below rely on.
    it("the metric-name scanner finds metrics and ignores everything that is not a metric", () => {
      assert.deepEqual(
        metricNamesIn(
          'histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{le="+Inf", service=~"a|b", code!~"5.."}[5m] offset 1h30m)))',
        ),
        ["http_request_duration_seconds_bucket"],
      );
      assert.deepEqual(
        metricNamesIn(
          'sum without (pod) (a_metric * on (namespace, pod) group_left (node) b_metric) / ignoring (x) c_metric > bool 1e3 or vector(0) unless d_metric offset -5m and max(e_metric) by (le)',
        ),
        ["a_metric", "b_metric", "c_metric", "d_metric", "e_metric"],
      );
      assert.deepEqual(metricNamesIn('label_replace(up, "x", "$1", "job", "(.*)") + Inf - NaN'), ["up"]);
      let referenced = 0;
      for (const d of dashboards) {
        for (const { where, expr } of allExpressions(d)) {
          const names = metricNamesIn(expr);
          assert.ok(names.length > 0 || /^(vector|time)\(/.test(expr), `${where}: no metric found in ${expr}`);
          referenced += names.length;
        }
      }
      assert.ok(referenced > 50);
      assert.equal(seriesKinds.get("kube_deployment_status_replicas"), "gauge");
      assert.equal(seriesKinds.get("http_request_duration_seconds_bucket"), "histogram-series");
      assert.equal(seriesKinds.get("pyairtable_autoscaler_updates_total"), "counter");
    });

    it("uses rate() only over counters and histogram_quantile() only over _bucket with le", () => {
      const problems: string[] = [];
      for (const d of dashboards) {
        for (const { where, expr } of allExpressions(d)) for (const p of semanticProblems(expr)) problems.push(`${where}: ${p}`);
      }
      assert.deepEqual(problems, []);
    });

    it("the semantic check flags misuse", () => {
      assert.deepEqual(semanticProblems("rate(kube_deployment_status_replicas[5m])"), ["rate() over gauge kube_deployment_status_replicas"]);
      assert.equal(semanticProblems("changes(karpenter_nodes_created_total[1h])").length, 1);
      assert.equal(semanticProblems("histogram_quantile(0.95, sum by (service) (rate(http_request_duration_seconds_bucket[5m])))").length, 1);
      assert.equal(semanticProblems("histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_count[5m])))").length, 1);
      assert.deepEqual(semanticProblems("histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"), []);
    });
  });

  describe("inputs drive the output", () => {
    it("draws budget threshold lines at the passed budgets", () => {
      const check = (ds: GrafanaDashboard[], b: { dailyUsd: number; weeklyUsd: number; monthlyUsd: number }, warning: number) => {
        const [exec, , cost] = ds;
        const expectations: Array<[GrafanaDashboard, string, number]> = [
          [cost, "Spend vs budget: daily", b.dailyUsd],
          [cost, "Spend vs budget: weekly", b.weeklyUsd],
          [cost, "Spend vs budget: monthly", b.monthlyUsd],
          [exec, "Monthly cost estimate vs budget", b.monthlyUsd],
          [exec, "Monthly cost estimate", b.monthlyUsd],
        ];
        for (const [d, title, budget] of expectations) {
          const p = panelByTitle(d, title);
          assert.deepEqual(thresholdValues(p), [Math.round(budget * warning * 100) / 100, budget], `${d.uid}/${title}`);
          if (p.type === "timeseries") assert.deepEqual((p.fieldConfig.defaults.custom as PanelFieldCustomByType["timeseries"] | undefined)?.thresholdsStyle, { mode: "dashed" }, `${d.uid}/${title}: threshold lines`);
        }
      };
      check(dashboards, options.budgets, 0.8);
      const other = { dailyUsd: 650, weeklyUsd: 4100, monthlyUsd: 15500, warningRatio: 0.75, emergencyRatio: 0.9 };
      const changed = buildDashboards({ ...options, budgets: other });
      check(changed, other, 0.75);
      const util = panelByTitle(changed[2], "Budget utilisation by period");
      assert.deepEqual(thresholdValues(util), [0.75, 0.9]);
      assert.notDeepEqual(thresholdValues(panelByTitle(changed[2], "Spend vs budget: daily")), thresholdValues(panelByTitle(dashboards[2], "Spend vs budget: daily")));
    });

    it("draws KPI targets as thresholds", () => {
      const [exec, , cost, pred] = dashboards;
      assert.deepEqual(thresholdValues(panelByTitle(exec, "Availability (time range)")), [0.999]);
      assert.deepEqual(thresholdValues(panelByTitle(exec, "p95 latency by service vs target")), [0.5]);
      assert.deepEqual(thresholdValues(panelByTitle(cost, "CPU efficiency by namespace (usage / requests)")), [0.7]);
      assert.deepEqual(thresholdValues(panelByTitle(cost, "Memory efficiency by namespace (working set / requests)")), [0.7]);
      assert.deepEqual(thresholdValues(panelByTitle(pred, "Decision confidence by service")), [0.8]);
      assert.deepEqual(thresholdValues(panelByTitle(pred, "Forecast MAPE by service and model")), [0.2]);
      assert.deepEqual(thresholdValues(panelByTitle(pred, "80% interval coverage by service and model")), [0.8]);
      const changed = buildDashboards({ ...options, targets: { ...options.targets, p95LatencySeconds: 0.3, cpuEfficiency: 0.65, predictionAccuracy: 0.85 } });
      assert.deepEqual(thresholdValues(panelByTitle(changed[0], "p95 latency by service vs target")), [0.3]);
      assert.deepEqual(thresholdValues(panelByTitle(changed[2], "CPU efficiency now")), [0.65]);
      assert.deepEqual(thresholdValues(panelByTitle(changed[3], "Forecast MAPE by service and model")), [0.15]);
    });

    it("builds the namespace and service variables from the catalog", () => {
      for (const d of dashboards) {
        const ns = queryVariable(d, "namespace");
        assert.equal(ns.query.query, 'label_values(kube_deployment_spec_replicas{namespace=~"pyairtable|pyairtable-ai|pyairtable-workers"}, namespace)');
        assert.equal(ns.definition, ns.query.query);
        const svc = queryVariable(d, "service");
        assert.match(svc.query.query, /^label_values\(.*\$namespace.*, deployment\)$/);
        assert.equal(svc.regex, `/^(${services.map((s) => s.name).join("|")})$/`);
        assert.ok(svc.includeAll && svc.multi);
      }
      const small = buildDashboards({ ...options, services: [{ name: "api-gateway", namespace: "edge" }] });
      assert.equal(queryVariable(small[1], "service").regex, "/^(api-gateway)$/");
      assert.match(queryVariable(small[1], "namespace").query.query, /namespace=~"edge"/);
    });

    it("builds one forecast-vs-actual panel per catalog service", () => {
      const forecastPanels = (d: GrafanaDashboard) => panelsOf(d).filter((p) => p.title.startsWith("Forecast vs actual: "));
      const pred = dashboards[3];
      assert.deepEqual(forecastPanels(pred).map((p) => p.title.slice("Forecast vs actual: ".length)), services.map((s) => s.name));
      // Services outside the catalog fall back to the request rate (catalog services: the next test).
      for (const s of services.filter((x) => !serviceCatalog.some((c) => c.name === x.name && c.namespace === x.namespace))) {
        const p = panelByTitle(pred, `Forecast vs actual: ${s.name}`);
        assert.ok(p.targets[0].expr.includes(`namespace="${s.namespace}", service="${s.name}"`), p.targets[0].expr);
        assert.ok(p.targets[1].expr.includes(`service="${s.name}", signal="requests_per_second", horizon="15m"`) && p.targets[1].expr.includes("offset 15m"), p.targets[1].expr);
      }
      const other = buildDashboards({ ...options, services: [{ name: "webhook-service", namespace: "hooks" }], forecastHorizon: "1h" });
      const panels = forecastPanels(other[3]);
      assert.deepEqual(panels.map((p) => p.title), ["Forecast vs actual: webhook-service"]);
      assert.ok(panels[0].targets[1].expr.includes('horizon="1h"} offset 1h'));
    });

    it("catalog services: the forecast is compared with the signal it forecasts (KEDA scaler value, request rate), and services without a capacity signal are not shown as forecast", () => {
      const real = buildDashboards({ ...options, services: serviceCatalog.map((s) => ({ name: s.name, namespace: s.namespace })) });
      const pred = real[3];
      for (const svc of serviceCatalog) {
        const sizing = seriesFor(svc).find((x) => x.perReplica !== undefined);
        if (!sizing) {
          const p = panelByTitle(pred, `Load (not forecast): ${svc.name}`);
          assert.equal(p.targets.length, 1, "no forecast target for a service the predictor does not forecast");
          continue;
        }
        const p = panelByTitle(pred, `Forecast vs actual: ${svc.name}`);
        assert.equal(p.targets[0].expr, sizing.query, "actual = the collector's query the forecast learns from");
        assert.ok(p.targets[1].expr.includes(`service="${svc.name}", signal="${sizing.signal}"`), p.targets[1].expr);
      }
      assert.match(panelByTitle(pred, "Forecast vs actual: file-service").targets[0].expr, /keda_scaler_metrics_value\{namespace="pyairtable-api", scaledObject="file-service", triggerIndex="0"\}/);
    });

    it("rejects invalid input", () => {
      assert.throws(() => buildDashboards({ ...options, services: [] }), /empty/);
      assert.throws(() => buildDashboards({ ...options, services: [...services, services[0]] }), /twice/);
      assert.throws(() => buildDashboards({ ...options, services: [{ name: "api.gateway|x", namespace: "ns" }] }), /DNS-1123/);
      assert.throws(() => buildDashboards({ ...options, budgets: { ...options.budgets, dailyUsd: 0 } }), /dailyUsd/);
      assert.throws(() => buildDashboards({ ...options, targets: { ...options.targets, availability: 99.9 } }), /availability/);
      assert.throws(() => buildDashboards({ ...options, forecastHorizon: "15 minutes" }), /duration/);
    });
  });

  describe("ConfigMap data", () => {
    it("maps <uid>.json to the dashboard JSON, small enough for a ConfigMap", () => {
      for (const d of dashboards) {
        const data = dashboardConfigMapData(d);
        assert.deepEqual(Object.keys(data), [`${d.uid}.json`]);
        const json = data[`${d.uid}.json`];
        assert.deepEqual(JSON.parse(json), d);
        assert.ok(Buffer.byteLength(json) < 1024 * 1024, `${d.uid}: ${Buffer.byteLength(json)} bytes`);
      }
    });

    it("exports the kube-prometheus-stack sidecar label", () => {
      assert.deepEqual(GRAFANA_DASHBOARD_LABEL, { grafana_dashboard: "1" });
    });
  });
});
