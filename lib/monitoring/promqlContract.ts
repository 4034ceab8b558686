/**
 * The PromQL contract check: every expression the project writes is parsed with the real PromQL
 * grammar (`@prometheus-io/lezer-promql`, the parser of Prometheus' own UI), and every selector
 * must name a metric of a catalog (metricCatalogs.ts) or of the project's own registries, with
 * labels that metric has and label values that can occur; `by`/`on`/`group_left`/`label_replace`
 * and `{{ $labels.x }}`/legend templates must name labels the expression's result has.
 *
 * Pure: the caller builds the `ContractIndex` (from the deployed catalogs, the automation service's
 * registry and the rendered objects' label values) and feeds expressions.
 */
import { parser } from "@prometheus-io/lezer-promql";
import type { SyntaxNode } from "@lezer/common";
import type { CatalogMetric, LabelValues, MetricCatalogFile } from "./metricCatalogs";

/** One queryable series name and what may be asked of it. */
export interface SeriesContract {
  readonly name: string;
  readonly exporter: string;
  readonly labels: ReadonlySet<string>;
  /** Further labels exist (ALERTS, library metrics): label names are not checked. */
  readonly open: boolean;
  /** Dynamic labels: `label_*` names allowed for this series (kube-state-metrics allowlist). */
  readonly dynamicLabels?: ReadonlySet<string>;
  readonly labelValues: Readonly<Record<string, LabelValues>>;
  /** Why the series does not exist in this deployment (available: false, dropped at ingestion). */
  readonly unavailable?: string;
  /** The metric's type as its exporter declares it (counter, gauge, histogram, summary, ...); a histogram's `_bucket`/`_sum`/`_count` series carry `histogram`. */
  readonly type?: string;
}

export interface ContractIndex {
  readonly series: ReadonlyMap<string, SeriesContract>;
  /** Removed metric names with the catalog's note. */
  readonly removed: ReadonlyMap<string, string>;
  /** Renamed labels: label name → note (e.g. scalerIndex → triggerIndex). */
  readonly renamedLabels: ReadonlyMap<string, { prefix: string; note: string }>;
  /** Values of `source` label values, keyed by the source (e.g. `NodePool.spec.limits`), from the rendered objects. */
  readonly sourceValues: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Own (project) metrics: name, type and label names, e.g. from a prom-client registry. */
export interface OwnMetric {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
  readonly labelValues?: Readonly<Record<string, LabelValues>>;
}

/** Series names a catalog metric stands for, with the extra labels each carries. */
export function seriesOf(m: Pick<CatalogMetric, "name" | "type" | "series">): { name: string; extra: string[] }[] {
  if (m.type === "histogram") {
    const names = m.series ?? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`];
    return names.map((n) => ({ name: n, extra: n.endsWith("_bucket") ? ["le"] : [] }));
  }
  if (m.type === "summary") {
    const names = m.series ?? [m.name, `${m.name}_sum`, `${m.name}_count`];
    return names.map((n) => ({ name: n, extra: n === m.name ? ["quantile"] : [] }));
  }
  return (m.series ?? [m.name]).map((n) => ({ name: n, extra: [] }));
}

export interface IndexInput {
  readonly catalogs: readonly MetricCatalogFile[];
  /** Own metrics per exporter, with the target labels the scrape adds. */
  readonly own?: readonly { exporter: string; targetLabels: readonly string[]; metrics: readonly OwnMetric[] }[];
  /** `label_*` names kube-state-metrics emits, per resource (from the chart's metricLabelsAllowlist). */
  readonly allowlistedLabels?: Readonly<Record<string, readonly string[]>>;
  /** Custom-resource-state metrics kube-state-metrics emits (from the chart's customResourceState config). */
  readonly customResourceMetrics?: readonly OwnMetric[];
  readonly sourceValues?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Resources kube-state-metrics collects (the chart's `collectors` value when the stack sets it);
   * default: the catalog's `rules.collectors.chart_default`. Families of other resources are not emitted.
   */
  readonly kubeStateMetricsCollectors?: readonly string[];
}

export function buildContractIndex(input: IndexInput): ContractIndex {
  const series = new Map<string, SeriesContract>();
  const removed = new Map<string, string>();
  const renamedLabels = new Map<string, { prefix: string; note: string }>();
  const add = (s: SeriesContract) => {
    if (!series.has(s.name)) series.set(s.name, s);
  };
  for (const c of input.catalogs) {
    const target = c.target_labels ?? [...new Set([...(c.scrape_target_labels?.servicemonitor ?? []), ...(c.scrape_target_labels?.podmonitor ?? [])])].map((l) => l.split(" ")[0]!);
    for (const r of c.removed ?? []) removed.set(r.name, `${c.exporter} ${c.version}: removed in ${r.removed_in}${r.notes ? ` (${r.notes})` : ""}`);
    for (const r of c.renamed_labels ?? []) renamedLabels.set(r.from, { prefix: r.metric_prefix, note: `${c.exporter}: label '${r.from}' was renamed '${r.to}'${r.since ? ` in ${r.since}` : ""}` });
    const chartDefault = c.rules?.collectors?.chart_default;
    const collected = chartDefault ? new Set(input.kubeStateMetricsCollectors ?? chartDefault) : undefined;
    for (const m of c.metrics) {
      const dynamic = m.label_pattern && m.resource ? new Set(input.allowlistedLabels?.[m.resource] ?? []) : undefined;
      const unavailable =
        m.available === false ? `${c.exporter} ${c.version}: not emitted in this deployment (available: false)`
        : m.dropped_at_ingestion ? `${c.exporter} ${c.version}: dropped at ingestion by kube-prometheus-stack's relabelings`
        : collected && m.resource && !collected.has(m.resource) ? `${c.exporter} ${c.version}: resource '${m.resource}' is not in the chart's collectors (--resources), so its families are not emitted`
        : undefined;
      for (const s of seriesOf(m)) {
        add({ name: s.name, exporter: `${c.exporter} ${c.version}`, labels: new Set([...m.labels, ...target, ...s.extra]), open: m.labels_open === true, dynamicLabels: dynamic, labelValues: m.label_values ?? {}, unavailable, type: m.type });
      }
    }
  }
  const ksm = input.catalogs.find((c) => c.exporter === "kube-state-metrics");
  for (const m of input.customResourceMetrics ?? []) {
    add({ name: m.name, exporter: "kube-state-metrics custom-resource-state", labels: new Set([...m.labels, ...(ksm?.target_labels ?? [])]), open: false, labelValues: m.labelValues ?? {} });
  }
  for (const o of input.own ?? []) {
    for (const m of o.metrics) {
      for (const s of seriesOf({ name: m.name, type: m.type })) add({ name: s.name, exporter: o.exporter, labels: new Set([...m.labels, ...o.targetLabels, ...s.extra]), open: false, labelValues: m.labelValues ?? {}, type: m.type });
    }
  }
  return { series, removed, renamedLabels, sourceValues: input.sourceValues ?? new Map() };
}

// -------------------------------------------------------------------------------------------------
// Expression check
// -------------------------------------------------------------------------------------------------

interface Labels {
  readonly names: ReadonlySet<string>;
  /** Unknown label set (unknown metric, absent()): checks on it are skipped. */
  readonly open: boolean;
  readonly scalar?: boolean;
}

const none: Labels = { names: new Set(), open: false };
const openLabels: Labels = { names: new Set(), open: true };
const scalar: Labels = { names: new Set(), open: false, scalar: true };

export interface ExpressionCheck {
  readonly findings: string[];
  /** Labels of the expression's result (for templates). */
  readonly resultLabels: ReadonlySet<string>;
  readonly resultOpen: boolean;
  /** Metric names the expression selects. */
  readonly metrics: string[];
}

/** Grafana's macros and variables in range and label positions, replaced for parsing. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)(_ms|_s)?\b/g, "5m")
    .replace(/\$\{__(rate_interval|interval|range)(_ms|_s)?\}/g, "5m")
    .replace(/\[\$\{?\w+\}?\]/g, "[5m]");
}

const literalAlternation = /^[A-Za-z0-9_:\-/ ]+(\|[A-Za-z0-9_:\-/ ]+)*$/;

function unquote(s: string): string {
  if (s.startsWith("`")) return s.slice(1, -1);
  try {
    return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s) as string;
  } catch {
    return s.slice(1, -1);
  }
}

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

const exprNodes = new Set([
  "AggregateExpr", "BinaryExpr", "FunctionCall", "MatrixSelector", "NumberDurationLiteral", "OffsetExpr", "ParenExpr",
  "StringLiteral", "SubqueryExpr", "UnaryExpr", "VectorSelector", "StepInvariantExpr",
]);

/** Checks one PromQL expression against the contract. `context` prefixes each finding. */
export function checkExpression(expr: string, index: ContractIndex, context = ""): ExpressionCheck {
  const text = substituteGrafanaVariables(expr);
  const findings: string[] = [];
  const metrics: string[] = [];
  const where = context ? `${context}: ` : "";
  const tree = parser.parse(text);
  let parseError: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && parseError === undefined) parseError = n.from;
    },
  });
  if (parseError !== undefined) {
    return { findings: [`${where}PromQL does not parse at offset ${parseError}: ${JSON.stringify(text.slice(Math.max(0, parseError - 30), parseError + 30))}`], resultLabels: new Set(), resultOpen: true, metrics };
  }
  const src = (n: SyntaxNode) => text.slice(n.from, n.to);
  const find = (msg: string) => findings.push(`${where}${msg}`);

  const requireLabels = (labels: readonly string[], from: Labels, what: string) => {
    if (from.open || from.scalar) return;
    for (const l of labels) if (!from.names.has(l)) find(`${what} names label '${l}', which its operand does not have (it has: ${[...from.names].sort().join(", ") || "none"})`);
  };

  const selector = (n: SyntaxNode): Labels => {
    let name: string | undefined;
    const matchers: { label: string; op: string; value: string }[] = [];
    for (const c of children(n)) {
      if (c.name === "Identifier") name = src(c);
      if (c.name === "LabelMatchers") {
        for (const m of children(c)) {
          if (!/LabelMatcher$/.test(m.name)) continue;
          const parts = children(m);
          const label = parts.find((p) => p.name === "LabelName" || p.name === "QuotedLabelName");
          const op = parts.find((p) => p.name === "MatchOp");
          const value = parts.find((p) => p.name === "StringLiteral");
          const labelText = label ? (label.name === "QuotedLabelName" ? unquote(src(label)) : src(label)) : "";
          if (!label && value && !op) {
            name = unquote(src(value)); // {"metric_name"} form
            continue;
          }
          matchers.push({ label: labelText, op: op ? src(op) : "=", value: value ? unquote(src(value)) : "" });
        }
      }
    }
    const nameMatcher = matchers.find((m) => m.label === "__name__" && m.op === "=");
    if (!name && nameMatcher) name = nameMatcher.value;
    if (!name) {
      find(`selector ${src(n)} names no metric`);
      return openLabels;
    }
    metrics.push(name);
    const s = index.series.get(name);
    if (!s) {
      const removed = index.removed.get(name);
      find(removed ? `metric ${name} no longer exists: ${removed}` : `metric ${name} is in no catalog of the deployed exporters nor in the project's own registries`);
      return openLabels;
    }
    if (s.unavailable) find(`metric ${name} has no series: ${s.unavailable}`);
    const labels = new Set(s.labels);
    for (const d of s.dynamicLabels ?? []) labels.add(d);
    for (const m of matchers) {
      if (m.label === "__name__") continue;
      const known = s.open || labels.has(m.label);
      if (!known) {
        const renamed = index.renamedLabels.get(m.label);
        if (renamed && name.startsWith(renamed.prefix)) find(`${name}: ${renamed.note}`);
        else if (s.dynamicLabels && m.label.startsWith("label_")) find(`${name}: label '${m.label}' is not emitted (not in the chart's metricLabelsAllowlist; allowed: ${[...s.dynamicLabels].join(", ") || "none"})`);
        else find(`${name} (${s.exporter}) has no label '${m.label}' (labels: ${[...s.labels].sort().join(", ")})`);
        continue;
      }
      if (m.op === "!=" || m.op === "!~" || m.value === "" || m.value.includes("$") || m.value.includes("{{")) continue;
      const lv = s.labelValues[m.label];
      if (!lv) continue;
      if (m.op === "=~" && !literalAlternation.test(m.value)) continue;
      const wanted = m.op === "=~" ? m.value.split("|") : [m.value];
      let possible: ReadonlySet<string> | undefined;
      let whence = "";
      if (lv.source) {
        possible = index.sourceValues.get(lv.source);
        whence = `from the rendered ${lv.source}`;
      } else if (lv.values && !lv.open) {
        possible = new Set(lv.values);
        whence = "the catalog's values";
      }
      if (!possible) continue;
      for (const w of wanted) {
        if (!possible.has(w)) find(`${name}{${m.label}${m.op}"${m.value}"}: value '${w}' cannot occur (${whence}: ${[...possible].sort().join(", ") || "none"})`);
      }
    }
    return { names: labels, open: s.open };
  };

  const grouping = (n: SyntaxNode | undefined): string[] => (n ? children(n).filter((c) => c.name === "LabelName" || c.name === "QuotedLabelName").map((c) => (c.name === "QuotedLabelName" ? unquote(src(c)) : src(c))) : []);

  const visit = (n: SyntaxNode): Labels => {
    switch (n.name) {
      case "PromQL":
      case "ParenExpr":
      case "OffsetExpr":
      case "StepInvariantExpr":
      case "SubqueryExpr":
      case "MatrixSelector":
      case "UnaryExpr": {
        const inner = children(n).find((c) => exprNodes.has(c.name));
        return inner ? visit(inner) : none;
      }
      case "VectorSelector":
        return selector(n);
      case "NumberDurationLiteral":
      case "StringLiteral":
        return scalar;
      case "AggregateExpr":
        return aggregate(n);
      case "FunctionCall":
        return call(n);
      case "BinaryExpr":
        return binary(n);
      default:
        return openLabels;
    }
  };

  const aggregate = (n: SyntaxNode): Labels => {
    const parts = children(n);
    const op = src(parts.find((p) => p.name === "AggregateOp")!);
    const modifier = parts.find((p) => p.name === "AggregateModifier");
    const body = parts.find((p) => p.name === "FunctionCallBody")!;
    const args = children(body).filter((c) => exprNodes.has(c.name));
    const operand = args[args.length - 1] ? visit(args[args.length - 1]!) : none;
    for (const a of args.slice(0, -1)) visit(a);
    const keepsLabels = ["topk", "bottomk", "limitk", "limit_ratio"].includes(op);
    const extra = op === "count_values" && args[0] ? [unquote(src(args[0]))] : [];
    if (!modifier) return keepsLabels ? operand : { names: new Set(extra), open: false };
    const mod = children(modifier);
    const labels = grouping(mod.find((c) => c.name === "GroupingLabels"));
    if (mod.some((c) => c.name === "Without")) {
      return keepsLabels ? operand : { names: new Set([...[...operand.names].filter((l) => !labels.includes(l)), ...extra]), open: operand.open };
    }
    requireLabels(labels, operand, `${op} by (…)`);
    return keepsLabels ? operand : { names: new Set([...labels, ...extra]), open: false };
  };

  const call = (n: SyntaxNode): Labels => {
    const parts = children(n);
    const fn = src(parts.find((p) => p.name === "FunctionIdentifier")!);
    const body = parts.find((p) => p.name === "FunctionCallBody");
    const args = body ? children(body).filter((c) => exprNodes.has(c.name)) : [];
    const visited = args.map((a) => ({ node: a, labels: visit(a) }));
    const vectorArg = visited.find((v) => !v.labels.scalar);
    const strArg = (i: number) => (args[i] ? unquote(src(args[i]!)) : "");
    switch (fn) {
      case "label_replace": {
        const v = visited[0]!.labels;
        const srcLabel = strArg(3);
        if (srcLabel) requireLabels([srcLabel], v, "label_replace source");
        return { names: new Set([...v.names, strArg(1)]), open: v.open };
      }
      case "label_join": {
        const v = visited[0]!.labels;
        requireLabels(args.slice(3).map((_, i) => strArg(i + 3)), v, "label_join source");
        return { names: new Set([...v.names, strArg(1)]), open: v.open };
      }
      case "histogram_quantile": {
        const v = visited[1]?.labels ?? none;
        requireLabels(["le"], v, "histogram_quantile");
        return { names: new Set([...v.names].filter((l) => l !== "le")), open: v.open };
      }
      case "absent":
      case "absent_over_time":
        return openLabels;
      case "vector":
        return none;
      case "scalar":
      case "time":
      case "pi":
        return scalar;
      default:
        if (!vectorArg) return args.length === 0 && ["hour", "minute", "month", "year", "day_of_week", "day_of_month", "day_of_year", "days_in_month"].includes(fn) ? none : vectorArg ?? none;
        return vectorArg.labels;
    }
  };

  const binary = (n: SyntaxNode): Labels => {
    const parts = children(n);
    const operands = parts.filter((c) => exprNodes.has(c.name));
    const lhs = visit(operands[0]!);
    const rhs = visit(operands[1]!);
    const opNode = parts.find((p) => !exprNodes.has(p.name) && p.name !== "MatchingModifierClause" && p.name !== "BoolModifier");
    const op = opNode ? src(opNode) : "";
    if (lhs.scalar && rhs.scalar) return scalar;
    if (lhs.scalar) return rhs;
    if (rhs.scalar) return lhs;
    const clause = parts.find((p) => p.name === "MatchingModifierClause");
    const c = clause ? children(clause) : [];
    const groups = c.filter((x) => x.name === "GroupingLabels");
    const on = c.some((x) => x.name === "On");
    const ignoring = c.some((x) => x.name === "Ignoring");
    const matchLabels = on || ignoring ? grouping(groups[0]) : [];
    const groupLeft = c.some((x) => x.name === "GroupLeft");
    const groupRight = c.some((x) => x.name === "GroupRight");
    const include = groupLeft || groupRight ? grouping(groups[on || ignoring ? 1 : 0]) : [];
    if (on) {
      requireLabels(matchLabels, lhs, `'${op} on (…)' left side`);
      requireLabels(matchLabels, rhs, `'${op} on (…)' right side`);
    }
    const lower = op.toLowerCase();
    if (lower === "and" || lower === "unless") return lhs;
    if (lower === "or") return { names: new Set([...lhs.names, ...rhs.names]), open: lhs.open || rhs.open };
    if (groupLeft) {
      requireLabels(include, rhs, "group_left (…)");
      return { names: new Set([...lhs.names, ...include]), open: lhs.open };
    }
    if (groupRight) {
      requireLabels(include, lhs, "group_right (…)");
      return { names: new Set([...rhs.names, ...include]), open: rhs.open };
    }
    if (on) return { names: new Set(matchLabels), open: false };
    if (ignoring) return { names: new Set([...lhs.names].filter((l) => !matchLabels.includes(l))), open: lhs.open };
    return lhs;
  };

  const top = tree.topNode;
  const result = visit(top);
  return { findings, resultLabels: result.names, resultOpen: result.open, metrics };
}

/** Labels a template refers to: `{{ $labels.x }}` (alert templates) or `{{x}}` (Grafana legends). */
export function templateLabels(template: string, style: "alert" | "legend"): string[] {
  const re = style === "alert" ? /\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g : /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
  return [...template.matchAll(re)].map((m) => m[1]!);
}

/** Findings for templates that name labels the expression's result does not have. */
export function checkTemplates(check: ExpressionCheck, templates: readonly string[], style: "alert" | "legend", context: string): string[] {
  if (check.resultOpen) return [];
  const out: string[] = [];
  for (const t of templates) {
    for (const l of templateLabels(t, style)) {
      if (style === "legend" && l.startsWith("__")) continue;
      if (!check.resultLabels.has(l)) out.push(`${context}: template ${JSON.stringify(t)} names label '${l}', which the result does not have (it has: ${[...check.resultLabels].sort().join(", ") || "none"})`);
    }
  }
  return out;
}
