/**
 * The dashboards against the Grafana the stack deploys (kube-prometheus-stack 88.5.3 → grafana chart
 * 12.11.1 → Grafana 13.2.0), read from `@grafana/schema@13.2.0`: its runtime defaults (schema version)
 * and its TypeScript declarations, walked with the TypeScript compiler so that every key and every
 * enumerated value of every panel's `options` and `fieldConfig.defaults.custom` is checked against
 * the panel type's own schema (a key Grafana does not know is dead configuration).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { defaultDashboard } from "@grafana/schema";
import type { GrafanaDashboard, GrafanaPanel } from "../lib/monitoring/dashboards";
import { GRAFANA_PROMETHEUS_DATASOURCE } from "../lib/monitoring/dashboards/model";
import { repoRoot } from "./support/stacks";
import { planStack } from "./support/plans";
import { helmReleases } from "../lib/plan/manifests";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const panelTypes = ["timeseries", "stat", "gauge", "bargauge", "table"] as const;
const withCustom: readonly string[] = ["timeseries", "table"];

/** The panel plugins' Options and FieldConfig types of @grafana/schema 13.2.0, resolved by the compiler. */
function schemaTypes() {
  const dir = path.join(repoRoot, "out");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "grafana-schema-walk.ts");
  const x = (t: string) => `@grafana/schema/dist/types/raw/composable/${t}/panelcfg/x/types.gen`;
  fs.writeFileSync(file, [
    // Only timeseries and table declare a FieldConfig (custom field options); the others have none.
    ...panelTypes.map((t) => `import type { Options as ${t}Options${withCustom.includes(t) ? `, FieldConfig as ${t}Custom` : ""} } from "${x(t)}";`),
    `export type Schema = { ${panelTypes.map((t) => `${t}: { options: ${t}Options; custom: ${withCustom.includes(t) ? `${t}Custom` : "{}"} }`).join("; ")} };`,
  ].join("\n"));
  const program = ts.createProgram([file], { moduleResolution: ts.ModuleResolutionKind.Node10, strict: true, noEmit: true, skipLibCheck: true, baseUrl: repoRoot });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  assert.deepEqual(diagnostics, [], "the schema's declarations resolve");
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const alias = source.statements.find(ts.isTypeAliasDeclaration)!;
  const schema = checker.getTypeAtLocation(alias.name);
  const member = (t: ts.Type, name: string) => {
    const p = checker.getPropertyOfType(t, name)!;
    return checker.getTypeOfSymbolAtLocation(p, alias);
  };
  const byPanel = Object.fromEntries(panelTypes.map((t) => [t, { options: member(member(schema, t), "options"), custom: member(member(schema, t), "custom") }]));
  return { checker, byPanel, alias };
}

/** Problems of `value` against `type`: unknown keys, values outside an enumeration, non-arrays where arrays belong. */
function walk(checker: ts.TypeChecker, at: ts.Node, value: Json, type: ts.Type, where: string, problems: string[]): void {
  const members = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
  if (members.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) return;
  if (typeof value === "string") {
    if (members.some((t) => t.flags & ts.TypeFlags.String)) return;
    const allowed = members.filter((t) => t.isStringLiteral()).map((t) => (t as ts.StringLiteralType).value);
    if (allowed.length > 0 && !allowed.includes(value)) problems.push(`${where} = ${JSON.stringify(value)}: allowed ${allowed.join(", ")}`);
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    const element = members.map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.Number)).find((t) => t !== undefined);
    if (!element) return void problems.push(`${where}: an array where the schema has ${checker.typeToString(type)}`);
    value.forEach((v, i) => walk(checker, at, v, element, `${where}[${i}]`, problems));
    return;
  }
  const objects = members.filter((t) => t.flags & ts.TypeFlags.Object || t.isIntersection());
  if (objects.some((t) => checker.getIndexTypeOfType(t, ts.IndexKind.String))) return; // a record: any key
  for (const [key, v] of Object.entries(value)) {
    const owner = objects.find((t) => checker.getPropertyOfType(t, key));
    if (!owner) {
      problems.push(`${where}.${key}: not in the schema (${objects.map((t) => checker.typeToString(t)).join(" | ").slice(0, 120)})`);
      continue;
    }
    walk(checker, at, v, checker.getTypeOfSymbolAtLocation(checker.getPropertyOfType(owner, key)!, at), `${where}.${key}`, problems);
  }
}

describe("dashboards against Grafana 13.2.0 (@grafana/schema 13.2.0)", function () {
  this.timeout(120_000);
  const dashboards: GrafanaDashboard[] = [];
  const panels = () => dashboards.flatMap((d) => d.panels.filter((p): p is GrafanaPanel => p.type !== "row").map((p) => ({ d, p })));
  let schema: ReturnType<typeof schemaTypes>;
  before(async () => {
    schema = schemaTypes();
    for (const stack of ["prod", "dev"] as const) {
      const plan = await planStack(stack);
      const objects = plan.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.grafana_dashboard === "1");
      for (const cm of objects) for (const text of Object.values((cm.inputs as { data: Record<string, string> }).data)) dashboards.push(JSON.parse(text) as GrafanaDashboard);
    }
    assert.equal(dashboards.length, 8, "four dashboards per stack, from the rendered ConfigMaps");
  });

  it("every panel's options and fieldConfig.defaults.custom are options of its panel type (keys and enumerated values)", () => {
    const problems: string[] = [];
    let walked = 0;
    for (const { d, p } of panels()) {
      const types = schema.byPanel[p.type]!;
      walk(schema.checker, schema.alias, p.options as Json, types.options, `${d.uid} "${p.title}" (${p.type}) options`, problems);
      if (p.fieldConfig.defaults.custom) walk(schema.checker, schema.alias, p.fieldConfig.defaults.custom as Json, types.custom, `${d.uid} "${p.title}" (${p.type}) fieldConfig.defaults.custom`, problems);
      walked++;
    }
    assert.ok(walked > 100, `panels walked: ${walked}`);
    assert.deepEqual(problems, []);
  });

  it("the walk finds dead and wrong configuration: a 12.x table footer, an unknown legend mode, a typo", () => {
    const problems: string[] = [];
    const { checker, byPanel, alias } = schema;
    walk(checker, alias, { showHeader: true, footer: { show: false, reducer: ["sum"], fields: "" } }, byPanel.table!.options, "table options", problems);
    walk(checker, alias, { legend: { displayMode: "grid", placement: "bottom", showLegend: true, calcs: [] } }, byPanel.timeseries!.options, "timeseries options", problems);
    walk(checker, alias, { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colourMode: "value" }, byPanel.stat!.options, "stat options", problems);
    walk(checker, alias, { footer: { reducers: ["sum"] }, align: "auto" }, byPanel.table!.custom, "table custom", problems);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0]!, /^table options\.footer: not in the schema/);
    assert.match(problems[1]!, /^timeseries options\.legend\.displayMode = "grid": allowed .*table/);
    assert.match(problems[2]!, /^stat options\.colourMode: not in the schema/);
  });

  it("schema version, annotations in the current form, the datasource variable's current value", async () => {
    for (const d of dashboards) {
      assert.equal(d.schemaVersion, defaultDashboard.schemaVersion, `${d.uid}: Grafana 13.2's schema version`);
      assert.equal(d.schemaVersion, 42);
      for (const a of d.annotations.list) {
        assert.ok(!("expr" in a) && !("step" in a), `${d.uid}/${a.name}: no top-level expr/step`);
        if (a.builtIn !== 1) assert.ok(a.target && a.target.expr.length > 0 && a.target.refId === "Anno" && a.target.interval === "1m", `${d.uid}/${a.name}: target`);
      }
      const ds = d.templating.list.find((v) => v.type === "datasource")!;
      assert.deepEqual(ds.current, { selected: false, text: GRAFANA_PROMETHEUS_DATASOURCE.name, value: GRAFANA_PROMETHEUS_DATASOURCE.uid });
    }
    // The data source the variable starts on is the one the chart provisions.
    for (const stack of ["prod", "dev"] as const) {
      const kps = helmReleases((await planStack(stack)).resources).find((r) => r.chart === "kube-prometheus-stack")!;
      const sidecar = (kps.values as { grafana: { sidecar: { datasources: { name: string; uid: string } } } }).grafana.sidecar.datasources;
      assert.deepEqual([sidecar.name, sidecar.uid], [GRAFANA_PROMETHEUS_DATASOURCE.name, GRAFANA_PROMETHEUS_DATASOURCE.uid], stack);
    }
  });

  it("no table carries the 12.x options.footer (Grafana 13 reads footers from fieldConfig.defaults.custom.footer)", () => {
    const tables = panels().filter(({ p }) => p.type === "table");
    assert.ok(tables.length >= 7, `tables: ${tables.length}`);
    for (const { d, p } of tables) assert.ok(!("footer" in (p.options as object)), `${d.uid}/${p.title}`);
  });
});
