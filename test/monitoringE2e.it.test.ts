/**
 * End to end on a real Prometheus (Debian package `prometheus`): the rendered prod stack's rule
 * file is loaded by the server, series shaped exactly as the metric catalogs say are backfilled
 * (`promtool tsdb create-blocks-from openmetrics`) for a healthy and a failing scenario, and
 * - every alert fires on the failing scenario (its expression returns the same series at every
 *   evaluation step of its `for` window: how Prometheus decides "firing") and is silent when healthy;
 * - every dashboard panel returns data when healthy;
 * - the collector's queries return what the forecaster needs, for every service and signal;
 * - every own metric a rule or panel reads is set by the running automation service (/metrics).
 *
 * The rules are evaluated through the query API at the scenario's end time rather than by waiting
 * for the server's own evaluations (the backfilled history is in the past and the `for` windows are
 * up to 6 hours); the server loading the same rule file proves it accepts and evaluates them.
 */
import { strict as assert } from "node:assert";
import { parse as parseYaml } from "yaml";
import { AutomationMetrics } from "../automation/metrics";
import { Collector } from "../automation/collector";
import { silentLogger } from "../automation/logger";
import { AutomationService } from "../automation/service";
import { SeasonalNaiveForecaster } from "../automation/predict";
import { catalogSeries } from "../lib/monitoring/signals";
import { stackCostEstimate } from "../automation/costEstimate";
import type { Store } from "../automation/store";
import { serviceCatalog } from "../lib/catalog/services";
import { kubernetesObjects, reviewFilesFromObjects } from "../lib/plan/manifests";
import { planStack, type StackPlan } from "./support/plans";
import { deployedCatalogs, loadCatalogFiles } from "../lib/monitoring/metricCatalogs";
import { buildContractIndex, checkExpression, type ContractIndex } from "../lib/monitoring/promqlContract";
import { deploymentOf, indexInputFromPlan, promqlUses, registryMetrics } from "../lib/monitoring/renderedPromql";
import { prometheusAvailable, TestPrometheus } from "./automation/support/prometheus";
import { requireTool } from "./automation/support/postgres";
import { RecordingRunner, repoRoot, sharedPgliteStore, testConfig, truncateAll } from "./automation/support/harness";
import { testEvaluationDate } from "./support/clock";
import { buildSeries, entitiesOf, toOpenMetrics, type SyntheticSeries } from "./support/catalogSeries";

type Any = Record<string, any>;
const MIN = 60_000;

/** The most recent weekday 17:00 UTC at least an hour ago: the waste alerts only fire in business hours. */
function scenarioEnd(now = Date.now()): number {
  const d = new Date(now - 60 * MIN);
  d.setUTCHours(17, 0, 0, 0);
  if (d.getTime() > now - 60 * MIN) d.setUTCDate(d.getUTCDate() - 1);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() - 1);
  return d.getTime();
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}

const seconds = (d: string | undefined): number => {
  if (!d) return 0;
  let total = 0;
  for (const [, n, u] of d.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[u as "s"]!;
  return total;
};

async function api(prom: TestPrometheus, path: string, params: Record<string, string>): Promise<Any> {
  const res = path.startsWith("/api/v1/query")
    ? await fetch(`${prom.url}${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params) })
    : await fetch(`${prom.url}${path}?${new URLSearchParams(params)}`);
  const doc = (await res.json()) as Any;
  if (doc.status !== "success") throw new Error(`${path} ${JSON.stringify(params).slice(0, 300)}: ${doc.errorType}: ${doc.error}`);
  return doc.data;
}

/** Label sets present at every step of [end - for, end] (what keeps an alert firing). */
async function firingSeries(prom: TestPrometheus, rule: Rule, end: number): Promise<Record<string, string>[]> {
  const window = seconds(rule.for);
  if (window === 0) return ((await api(prom, "/api/v1/query", { query: rule.expr, time: String(end / 1000) })).result as Any[]).map((r) => r.metric);
  const steps = Math.floor(window / 60) + 1;
  const data = await api(prom, "/api/v1/query_range", { query: rule.expr, start: String((end - window * 1000) / 1000), end: String(end / 1000), step: "60s" });
  return (data.result as Any[]).filter((r) => r.values.length >= steps).map((r) => r.metric);
}

describe("monitoring end to end on a real Prometheus (prod stack)", function () {
  this.timeout(600_000);
  const end = scenarioEnd();
  const start = end - 7 * 60 * MIN;
  let plan: StackPlan;
  let index: ContractIndex;
  let rules: Rule[];
  let ruleFile: string;
  let healthy: TestPrometheus | undefined;
  let failing: TestPrometheus | undefined;
  const series: Record<"healthy" | "failing", SyntheticSeries[]> = { healthy: [], failing: [] };

  before(async function () {
    requireTool(this, prometheusAvailable(), "Prometheus (prometheus, promtool)", "Debian: apt-get install -y prometheus");
    plan = await planStack("prod");
    const sel = deployedCatalogs(loadCatalogFiles(), deploymentOf(plan.resources));
    index = buildContractIndex(indexInputFromPlan(plan.resources, sel.catalogs, new AutomationMetrics({ defaultMetrics: true })));
    const file = reviewFilesFromObjects(kubernetesObjects(plan.resources)).find((f) => f.name === "prometheus-rules.yaml")!;
    ruleFile = file.content;
    rules = (parseYaml(ruleFile) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules).filter((r) => r.alert);
    const entities = entitiesOf(plan.resources);
    series.healthy = buildSeries(index, entities, "healthy", start, end);
    series.failing = buildSeries(index, entities, "failing", start, end);
    healthy = await TestPrometheus.start(toOpenMetrics(series.healthy, start, end), { ruleFile });
    failing = await TestPrometheus.start(toOpenMetrics(series.failing, start, end), { ruleFile });
  });
  after(async () => {
    await healthy?.stop();
    await failing?.stop();
  });

  it("the backfilled series are shaped as the catalogs say (every name and label checked against the contract)", () => {
    for (const scenario of ["healthy", "failing"] as const) {
      const findings = new Set<string>();
      for (const s of series[scenario]) {
        const selector = `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
        for (const f of checkExpression(selector, index).findings) findings.add(f);
        const contract = index.series.get(s.name)!;
        const missing = [...contract.labels].filter((l) => l !== "le" && !(l in s.labels));
        if (missing.length > 0) findings.add(`${s.name}: missing catalog labels ${missing.join(", ")}`);
      }
      assert.deepEqual([...findings], [], scenario);
    }
  });

  it("Prometheus loads the project's rule file: every alert is there and none has an evaluation error", async () => {
    for (const prom of [healthy!, failing!]) {
      const data = await api(prom, "/api/v1/rules", { type: "alert" });
      const loaded = (data.groups as Any[]).flatMap((g) => g.rules as Any[]);
      assert.deepEqual(loaded.map((r) => r.name).sort(), rules.map((r) => r.alert).sort());
      for (const r of loaded) assert.ok(!r.lastError, `${r.name}: ${r.lastError}`);
    }
  });

  it("every alert fires on the failing scenario (for its whole `for` window)", async () => {
    const notFiring: string[] = [];
    for (const r of rules) if ((await firingSeries(failing!, r, end)).length === 0) notFiring.push(`${r.alert} (for ${r.for ?? "0s"})`);
    assert.deepEqual(notFiring, []);
  });

  it("every alert stays silent on the healthy scenario", async () => {
    const firing: string[] = [];
    for (const r of rules) {
      const now = ((await api(healthy!, "/api/v1/query", { query: r.expr, time: String(end / 1000) })).result as Any[]);
      if (now.length > 0) firing.push(`${r.alert}: ${JSON.stringify(now.map((x) => x.metric)).slice(0, 200)}`);
    }
    assert.deepEqual(firing, []);
  });

  it("every dashboard panel returns data when healthy; panels that list problems return them on the failing scenario", async () => {
    const vars: Record<string, string> = {
      namespace: [...new Set(serviceCatalog.map((s) => s.namespace))].join("|"),
      service: serviceCatalog.map((s) => s.name).join("|"),
    };
    const empty: string[] = [];
    const listsProblems: string[] = [];
    let checked = 0;
    for (const u of promqlUses(plan.resources).filter((x) => / panel /.test(x.context))) {
      // Prometheus synthesises ALERTS from live rule evaluation; backfilled history has none.
      if (/\bALERTS\b/.test(u.expr)) continue;
      const expr = u.expr
        .replace(/\$__rate_interval|\$__interval/g, "5m")
        .replace(/\$__range/g, "1h")
        .replace(/\$(namespace|service)\b/g, (_, v: string) => vars[v]!);
      const result = (await api(healthy!, "/api/v1/query", { query: expr, time: String(end / 1000) })).result as Any[];
      checked++;
      if (result.length > 0) continue;
      // Empty when healthy is right only for a panel that lists problems: then it shows them when they exist.
      const problems = (await api(failing!, "/api/v1/query", { query: expr, time: String(end / 1000) })).result as Any[];
      if (problems.length > 0) listsProblems.push(u.context);
      else empty.push(u.context);
    }
    assert.ok(listsProblems.length <= 6, `panels empty when healthy: ${listsProblems.join("; ")}`);
    assert.ok(checked > 60, `panels checked: ${checked}`);
    assert.deepEqual(empty, []);
  });

  it("the collector's queries return a sample per step for every service and signal, including every KEDA trigger", async () => {
    const collector = new Collector({ prometheusUrl: healthy!.url, store: undefined as unknown as Store, logger: silentLogger() });
    const missing: string[] = [];
    const all = catalogSeries();
    for (const s of all) {
      const values = await collector.queryRange(s.query, new Date(end - 15 * MIN), new Date(end));
      if (values.length !== 16 || values.some(([, v]) => !Number.isFinite(Number(v)))) missing.push(`${s.service}/${s.signal}: ${values.length} samples`);
    }
    assert.deepEqual(missing, []);
    const kedaServices = serviceCatalog.filter((s) => s.scaler === "keda").map((s) => s.name);
    for (const name of kedaServices) assert.ok(all.some((s) => s.service === name && s.query.includes("keda_scaler_metrics_value")), `${name} has event-signal queries`);
  });
});

describe("own metrics the rules and panels read are set by the running automation service (/metrics)", function () {
  this.timeout(300_000);
  let store: Store;
  let service: AutomationService | undefined;
  before(async () => {
    store = await sharedPgliteStore();
    await truncateAll(store.db);
  });
  after(async () => {
    await service?.stop().catch(() => undefined);
  });

  it("after a leader tick, a collection-fed prediction, a budget check and a scheduled run, every queried own metric has a sample", async () => {
    const plan = await planStack("prod");
    const config = testConfig("prod");
    const metrics = new AutomationMetrics({ profiles: [...config.profiles.map((p) => p.name), "emergency"] });
    const ownNames = new Set(registryMetrics(metrics).flatMap((m) => (m.type === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
    const sel = deployedCatalogs(loadCatalogFiles(), deploymentOf(plan.resources));
    const index = buildContractIndex(indexInputFromPlan(plan.resources, sel.catalogs, metrics));
    const used = new Set(promqlUses(plan.resources).flatMap((u) => checkExpression(u.expr, index).metrics).filter((m) => ownNames.has(m)));
    assert.ok(used.size >= 15, `own metrics used: ${[...used].join(", ")}`);

    const now = new Date();
    const samples = [];
    for (let t = now.getTime() - 3 * 86_400_000; t < now.getTime(); t += 5 * 60_000) {
      for (const s of catalogSeries()) samples.push({ service: s.service, signal: s.signal, ts: new Date(t), value: 10 + Math.sin(t / 3_600_000) });
    }
    await store.insertSamples(samples);
    const runner = new RecordingRunner();
    service = new AutomationService({
      config,
      store,
      runner,
      logger: silentLogger(),
      metrics,
      forecaster: new SeasonalNaiveForecaster(),
      spendSource: { spend: async (period) => ({ daily: 120, weekly: 900, monthly: 3000 })[period] },
      port: 0,
      host: "127.0.0.1",
      startJobs: false,
      costEstimate: () => stackCostEstimate(repoRoot, "prod", testEvaluationDate),
    });
    await service.start();
    await service.costEstimated;
    assert.equal(service.elector.leader, true);
    const run = await service.predictor.run(now);
    assert.ok(run.services.length > 0);
    await service.budget.pollSpend();
    await service.budget.evaluate();
    await service.scheduler.catchUp();

    const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const present = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? [-+0-9.eEInfNa]+$/gm)].map((m) => m[1]!));
    const unset = [...used].filter((m) => !present.has(m));
    assert.deepEqual(unset, [], `declared but never set (no series on /metrics): ${unset.join(", ")}`);
  });
});
