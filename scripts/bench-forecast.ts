/**
 * `tsx scripts/bench-forecast.ts [--only <substring>[,<substring>…]] [--forecast <options JSON>] [--doc]`: measurements of the predictive engine, not
 * tests. Prints ratios measured in this one run (absolute times for context only).
 *
 * 1. Fit time: a cold ensemble fit on 30 days × 15 min for 11 series; the service's refit as it runs
 *    it (LiveForecaster, one per catalog capacity signal): the chained daily fit of all series
 *    (target ≤ 1 s CPU) and the per-bucket update of all series (target ≤ 50 ms CPU); each model's fit.
 * 2. Per seasonal trace (SOURCES.md "daily?" = yes): the backtest drives the service's path
 *    (backtest/predictive.ts: simulated collector, complete buckets, chained fits, the gate,
 *    decideFloor with the prod automation settings, the apply delay); every model's MAPE and
 *    80%-interval coverage 1 hour ahead against what the collector saw; the policy table.
 * 3. The targets of issue 14 (reported against, not asserted), PASS/MISS per trace and overall:
 *    - cost: predictive + reactive ≤ 1.15× the oracle's replica-hours;
 *    - under: predictive + reactive under-provisioned ≤ 0.1% of the time, or ≤ half of reactive's
 *      where reactive alone is above 0.2%;
 *    - mape: ensemble MAPE 1 hour ahead ≤ 0.85× the best naive baseline's;
 *    - cov80: the ensemble's 80% intervals cover 78-82%;
 *    - accuracy (the design's "prediction accuracy > 80%"): 1 − MAPE 1 hour ahead > 0.8.
 *    On every daily trace of SOURCES.md and on the seeded synthetic bursty traces (synthetic.ts).
 * 4. The design's "10x traffic spike": time to capacity and under-provisioned share during a 10x
 *    step (1 hour) and a 10x one-minute burst, reactive vs predictive + reactive.
 * `--doc` rewrites the generated block of docs/forecasting.md (between the bench markers).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runBacktest, type BacktestResult } from "../automation/backtest/run";
import { loadServiceContext } from "../automation/backtest/service";
import { parseTraceCsv, readTrace, type Trace } from "../automation/backtest/trace";
import { burstyTrace, spikeTrace, SpikeKpiRecorder, toCsv } from "../automation/backtest/synthetic";
import { ensemble } from "../automation/forecast/ensemble";
import { LiveForecaster } from "../automation/forecast/live";
import { defaultConfigFile, loadAutomationConfig } from "../automation/config";
import { forecastOptionsFor, liveSettingsFor } from "../automation/predictiveSettings";
import { catalogSeries } from "../lib/monitoring/signals";
import { linearDefinition } from "../automation/forecast/linear";
import { makeContext } from "../automation/forecast/model";
import { resolveForecastOptions, type ForecastOptionsInput } from "../automation/forecast/options";
import { prophetDefinition } from "../automation/forecast/prophet";
import { resample } from "../automation/forecast/resample";
import { arimaDefinition, sarimaDefinition } from "../automation/forecast/sarima";
import type { ModelDefinition } from "../automation/forecast/model";

const repo = path.resolve(__dirname, "..");
const traces = "/work/shared/data/traces";
/** US public holidays in the nyc_taxi trace's span (the trace is New York taxi demand). */
const usHolidays2014 = ["2014-07-04", "2014-09-01", "2014-10-13", "2014-11-11", "2014-11-27", "2014-11-28", "2014-12-25", "2015-01-01", "2015-01-19"];

function seasonalTraces(): string[] {
  const md = fs.readFileSync(path.join(traces, "SOURCES.md"), "utf8");
  const out: string[] = [];
  for (const line of md.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // | file | rows | interval | span | min | mean | max | peak/mean | ACF 1d | ACF 7d | ACF @15min | daily? | weekly? |
    if (cells.length >= 14 && cells[1]!.endsWith(".csv") && cells[12] === "yes") out.push(path.join(traces, cells[1]!));
  }
  return out;
}

const pct = (x: number, d = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : "n/a");
const ms = (ns: bigint) => Number(ns) / 1e6;

function fitTimes(): string[] {
  const lines: string[] = [];
  const taxi = readTrace(path.join(traces, "nab/realKnownCause/nyc_taxi.csv"));
  const all = resample(taxi.samples, 15 * 60_000);
  const n = 30 * 96;
  // 11 services: 31-day windows of nyc_taxi starting 6 days apart, scaled differently.
  const windows = Array.from({ length: 11 }, (_, i) => {
    const from = i * 6 * 96;
    return Array.from({ length: n + 96 }, (_, k) => ({ t: all.startMs + (from + k) * all.stepMs, v: all.mean[from + k]! * (0.5 + i * 0.1) }));
  });
  // CPU time of this process (user + system), not wall time: the machine is shared.
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  // Cold fit: no previous fit, so every model is also fitted on a held-out window and forecasts across the 7-day calibration pool.
  const cold0 = cpuMs();
  const per: number[] = [];
  const confidences: number[] = [];
  for (const w of windows) {
    const t = cpuMs();
    const m = ensemble.fit(w.slice(0, n), { calendar: { holidays: usHolidays2014 } });
    per.push(cpuMs() - t);
    confidences.push(m.state.confidence);
    ensemble.dispose(m);
  }
  const total = cpuMs() - cold0;
  lines.push(`Cold fit (no previous fit: also a held-out fit and 7 days of rolling forecasts per model), 11 series, CPU time: ${(total / 1000).toFixed(2)} s total, ${(total / 11).toFixed(0)} ms per series (min ${Math.min(...per).toFixed(0)}, max ${Math.max(...per).toFixed(0)})`);
  lines.push(...serviceRefit(all));
  const series = resample(windows[0]!.slice(0, n), 15 * 60_000);
  const ctx = makeContext(resolveForecastOptions(), series);
  const single: string[] = [];
  for (const def of [linearDefinition, prophetDefinition, arimaDefinition, sarimaDefinition] as ModelDefinition[]) {
    const reps = 5;
    const t = cpuMs();
    for (let i = 0; i < reps; i++) {
      const p = def.fit(series, 0, n, ctx);
      def.dispose?.(p);
    }
    single.push(`${def.name} ${((cpuMs() - t) / reps).toFixed(1)} ms`);
  }
  lines.push(`  one fit on 2,880 points (CPU time): ${single.join(", ")}`);
  lines.push(`  the fits' own validation confidence (not the gate's: that one is out of sample, on the issued peaks): ${confidences.map((c) => c.toFixed(2)).join(" ")}`);
  return lines;
}

/**
 * The service's refit as it runs it (forecastAdapter.ts → LiveForecaster), for as many series as the
 * catalog has capacity signals: samples of 31 days of nyc_taxi windows (scaled per series), a cold
 * fit on start at day 30, then every bucket of day 31 (commit, scoring, forecast, gate) and the
 * chained daily fit at the next local midnight. CPU time of this process.
 */
function serviceRefit(all: ReturnType<typeof resample>): string[] {
  const automation = loadAutomationConfig(defaultConfigFile("prod"));
  const opts = forecastOptionsFor(automation, { holidays: usHolidays2014 });
  const live = liveSettingsFor(automation);
  const count = catalogSeries().filter((x) => x.perReplica !== undefined).length;
  const days = opts.trainingDays;
  const engines = Array.from({ length: count }, (_, i) => {
    const from = (i % 11) * 6 * 96;
    const samples = Array.from({ length: (days + 1) * 96 + 1 }, (_, k) => ({ t: all.startMs + (from + k) * all.stepMs + 60_000, v: all.mean[from + k]! * (0.5 + i * 0.05) }));
    return { lf: new LiveForecaster(opts, live), samples, t0: all.startMs + from * all.stepMs };
  });
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  let cold = 0;
  for (const e of engines) {
    const at = e.t0 + days * 96 * all.stepMs;
    e.lf.ingest(e.samples.filter((x) => x.t < at));
    const c = cpuMs();
    const st = e.lf.step(at);
    cold += cpuMs() - c;
    if (!st.fitted) throw new Error("bench: no fit on start");
  }
  const perBucket: number[] = [];
  let daily = 0;
  let chained = 0;
  for (let k = 1; k <= 96; k++) {
    let sum = 0;
    for (const e of engines) {
      const at = e.t0 + (days * 96 + k) * all.stepMs;
      e.lf.ingest(e.samples.filter((x) => x.t >= at - all.stepMs && x.t < at));
      const c = cpuMs();
      const st = e.lf.step(at);
      const used = cpuMs() - c;
      if (st.fitted) {
        daily += used;
        chained++;
      } else sum += used;
    }
    if (k < 96) perBucket.push(sum);
  }
  for (const e of engines) e.lf.dispose();
  perBucket.sort((a, b) => a - b);
  const mean = perBucket.reduce((a, b) => a + b, 0) / perBucket.length;
  const p95 = perBucket[Math.floor(0.95 * (perBucket.length - 1))]!;
  const load = `load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} CPUs: a shared machine inflates CPU time too`;
  return [
    `Service refit as the service runs it (forecastAdapter → LiveForecaster, ${count} series = the catalog's capacity signals, 30 days × 15 min, CPU time of one thread; ${load}):`,
    `  daily chained fit of all series (yesterday's fit given, at local midnight; ${chained} of ${count} chained): ${(daily / 1000).toFixed(2)} s; target ≤ 1 s → ${daily <= 1000 ? "PASS" : "MISS"}`,
    `  per-bucket update of all series (commit, scoring, forecast, gate): mean ${mean.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${perBucket[perBucket.length - 1]!.toFixed(1)} ms over 95 buckets; target ≤ 50 ms → ${p95 <= 50 ? "PASS" : "MISS"} (p95)`,
    `  on start (no stored state: a cold fit per series): ${(cold / 1000).toFixed(2)} s`,
  ];
}

interface Row {
  readonly trace: string;
  readonly ensembleMape: number;
  readonly best: { name: string; mape: number };
  /** The best single member or baseline (any model of the accuracy table but the ensemble). */
  readonly bestMember: { name: string; mape: number };
  readonly coverage80: number;
  readonly peakCoverage: number;
  readonly peakLevel: number;
  readonly pr: { cost: number; under: number };
  readonly re: { cost: number; under: number };
  readonly fallbacks: string;
  readonly verdicts: Record<Target, boolean>;
}

const targets = ["cost", "under", "mape", "cov80", "accuracy"] as const;
type Target = (typeof targets)[number];
const targetText: Record<Target, string> = {
  cost: "predictive+reactive ≤ 1.15× oracle replica-hours",
  under: "under-provisioned ≤ 0.1% (or ≤ ½ reactive's where reactive > 0.2%)",
  mape: "ensemble MAPE 1 h ahead ≤ 0.85× best naive baseline",
  cov80: "80% intervals cover 78-82%",
  accuracy: "prediction accuracy = 1 − MAPE (1 h ahead) > 80%",
};

function verdicts(e: number, best: number, cov: number, pr: { cost: number; under: number }, re: { under: number }): Record<Target, boolean> {
  return {
    cost: pr.cost <= 1.15,
    under: pr.under <= 0.001 || (re.under > 0.002 && pr.under <= re.under / 2),
    mape: e <= 0.85 * best,
    cov80: cov >= 0.78 && cov <= 0.82,
    accuracy: 1 - e > 0.8,
  };
}

function toRow(r: BacktestResult): { row: Row; acc: string[]; bt: string[] } {
  const acc = r.forecast.models.map((m) => `| ${r.trace} | ${m.name} | ${pct(m.mape)} | ${pct(m.coverage80)} | ${m.n} |`);
  const bt = r.policies.map((p) => `| ${r.trace} | ${p.name} | ${p.replicaHours.toFixed(0)} | ${p.costRatioToOracle.toFixed(3)} | ${pct(p.underProvisionedShare, 3)} | ${p.worstShortfall} |`);
  const a = Object.fromEntries(r.forecast.models.map((m) => [m.name, m]));
  const baselines = ["persistence", "naive", "seasonal-naive"].map((n) => a[n]!).filter((m) => Number.isFinite(m.mape));
  const best = baselines.reduce((x, y) => (y.mape < x.mape ? y : x));
  const e = a.ensemble!;
  const members = r.forecast.models.filter((m) => m.name !== "ensemble" && Number.isFinite(m.mape));
  const bestMember = members.reduce((x, y) => (y.mape < x.mape ? y : x));
  const p = Object.fromEntries(r.policies.map((x) => [x.name, x]));
  const pr = { cost: p["predictive+reactive"]!.costRatioToOracle, under: p["predictive+reactive"]!.underProvisionedShare };
  const re = { cost: p.reactive!.costRatioToOracle, under: p.reactive!.underProvisionedShare };
  const row: Row = {
    trace: r.trace.replace(/\.csv$/, ""),
    ensembleMape: e.mape,
    best: { name: best.name, mape: best.mape },
    bestMember: { name: bestMember.name, mape: bestMember.mape },
    coverage80: e.coverage80,
    peakCoverage: r.replay.peakCoverage.share,
    peakLevel: r.replay.peakCoverage.level,
    pr,
    re,
    fallbacks: Object.entries(r.replay.fallbacks).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(", ") || "none",
    verdicts: verdicts(e.mape, best.mape, e.coverage80, pr, re),
  };
  return { row, acc, bt };
}

const mark = (ok: boolean) => (ok ? "PASS" : "MISS");

function summaryTable(rows: Row[]): string[] {
  const out: string[] = [];
  out.push("| trace | predictive+reactive × oracle | under-provisioned: predictive / reactive | ensemble MAPE 1 h | best baseline | ratio | accuracy 1 − MAPE | coverage80 | peak ≤ τ-forecast (τ) | reactive × oracle | fallback buckets by reason | best member: ensemble × it |");
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const v = r.verdicts;
    out.push(
      `| ${r.trace} | ${r.pr.cost.toFixed(3)} ${mark(v.cost)} | ${pct(r.pr.under, 3)} / ${pct(r.re.under, 3)} ${mark(v.under)} | ${pct(r.ensembleMape)} | ${r.best.name} ${pct(r.best.mape)} | ${(r.ensembleMape / r.best.mape).toFixed(2)} ${mark(v.mape)} | ${pct(1 - r.ensembleMape)} ${mark(v.accuracy)} | ${pct(r.coverage80)} ${mark(v.cov80)} | ${pct(r.peakCoverage)} (${r.peakLevel}) | ${r.re.cost.toFixed(3)} | ${r.fallbacks} | ${r.bestMember.name} ${pct(r.bestMember.mape)}: ${(r.ensembleMape / r.bestMember.mape).toFixed(2)} |`,
    );
  }
  out.push("");
  for (const t of targets) {
    const missed = rows.filter((r) => !r.verdicts[t]).map((r) => r.trace);
    out.push(`OVERALL ${t}: ${missed.length ? "MISS" : "PASS"} — ${targetText[t]}: ${rows.length - missed.length} of ${rows.length} traces${missed.length ? ` (missed: ${missed.join(", ")})` : ""}`);
  }
  return out;
}

/** The synthetic traces of the bench: documented in synthetic.ts; seeds fixed here. */
const syntheticTraces: { name: string; make: () => Trace }[] = [
  { name: "synthetic-bursty-s1", make: () => parseTraceCsv(toCsv(burstyTrace({ seed: 1 })), "synthetic-bursty-s1") },
  { name: "synthetic-bursty-s2", make: () => parseTraceCsv(toCsv(burstyTrace({ seed: 2, burstsPerDay: 16, burstFactor: [2, 4] })), "synthetic-bursty-s2") },
];

function spikeKpis(service: ReturnType<typeof loadServiceContext>): string[] {
  const out: string[] = [];
  out.push("| 10x spike | policy | time to capacity | under-provisioned during the spike | under-provisioned overall | × oracle |");
  out.push("|---|---|---|---|---|---|");
  for (const kind of ["step", "burst"] as const) {
    const sp = spikeTrace({ seed: 7, kind });
    const rec: Record<string, SpikeKpiRecorder> = { reactive: new SpikeKpiRecorder(sp), "predictive+reactive": new SpikeKpiRecorder(sp) };
    const r = runBacktest(parseTraceCsv(toCsv(sp.samples), `spike-${kind}`), { service, noChart: true, onTick: (p, t, _r, ready, need) => rec[p]?.tick(t, ready, need) });
    for (const name of ["reactive", "predictive+reactive"]) {
      const k = rec[name]!.result();
      const p = r.policies.find((x) => x.name === name)!;
      out.push(`| ${kind === "step" ? "step, 1 h" : "burst, 1 min"} | ${name} | ${Number.isFinite(k.timeToCapacitySeconds) ? `${k.timeToCapacitySeconds} s` : "never (spike over first)"} | ${pct(k.underDuringSpike, 1)} | ${pct(p.underProvisionedShare, 3)} | ${p.costRatioToOracle.toFixed(3)} |`);
    }
  }
  return out;
}

function main(): void {
  const arg = (k: string) => {
    const i = process.argv.indexOf(k);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const only = arg("--only");
  // Forecast option overrides for experiments (JSON, e.g. '{"adaptiveConformalGamma":0}'); not with --doc.
  const forecastJson = arg("--forecast");
  const forecast = forecastJson ? (JSON.parse(forecastJson) as ForecastOptionsInput) : undefined;
  if (forecast && process.argv.includes("--doc")) throw new Error("--doc records the defaults: drop --forecast");
  const writeDoc = process.argv.includes("--doc");
  const header = `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`;
  console.log(header);
  console.log("");
  const fit = only ? [] : fitTimes();
  for (const l of fit) console.log(l);
  console.log("");
  const service = loadServiceContext(repo, "prod", "api-gateway");
  const acc: string[] = [];
  const bt: string[] = [];
  const rows: Row[] = [];
  const inputs: { name: string; load: () => Trace; extra?: string[] }[] = [
    ...seasonalTraces().map((f) => ({ name: path.basename(f), load: () => readTrace(f), ...(f.endsWith("nyc_taxi.csv") ? { extra: usHolidays2014 } : {}) })),
    ...syntheticTraces.map((s) => ({ name: s.name, load: s.make })),
  ];
  for (const input of inputs) {
    if (only && !only.split(",").some((x) => input.name.includes(x))) continue;
    const started = process.hrtime.bigint();
    const r = runBacktest(input.load(), { service, noChart: true, ...(forecast ? { forecast } : {}), ...(input.extra ? { extraHolidays: input.extra } : {}) });
    const x = toRow(r);
    acc.push(...x.acc);
    bt.push(...x.bt);
    rows.push(x.row);
    console.log(`${r.trace}: ${(ms(process.hrtime.bigint() - started) / 1000).toFixed(1)} s; weights ${Object.entries(r.replay.meanWeights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}; excluded days ${JSON.stringify(r.replay.excludedDays)}; guard drops ${JSON.stringify(r.replay.droppedOrigins)}`);
    for (const n of r.notes) console.log(`  note: ${n}`);
  }
  const spikes = only ? [] : spikeKpis(service);
  const summary = summaryTable(rows);
  console.log("");
  console.log("Summary (the service's path: simulated collector at 60 s, complete buckets, daily chained fits, the gate, decideFloor with the prod automation settings; api-gateway range 2-25 with the scheduled profiles' minimum, u = 0.7, C = peak / (u × 25)):");
  console.log("");
  for (const l of summary) console.log(l);
  console.log("");
  if (spikes.length) {
    console.log("The design's 10x traffic spike (seed 7, smooth daily trace at 1 min, spike on the last day at 14:00 UTC, unannounced):");
    console.log("");
    for (const l of spikes) console.log(l);
    console.log("");
  }
  console.log("Forecast accuracy per model:");
  console.log("");
  console.log("| trace | model | MAPE | coverage80 | n |");
  console.log("|---|---|---|---|---|");
  for (const l of acc) console.log(l);
  console.log("");
  console.log("Backtest per policy:");
  console.log("");
  console.log("| trace | policy | replica-hours | × oracle | under-provisioned | worst shortfall |");
  console.log("|---|---|---|---|---|---|");
  for (const l of bt) console.log(l);
  if (writeDoc) {
    if (only) throw new Error("--doc needs the full run (without --only)");
    const doc = path.join(repo, "docs", "forecasting.md");
    const text = fs.readFileSync(doc, "utf8");
    const begin = "<!-- bench-forecast:begin (generated by `npx tsx scripts/bench-forecast.ts --doc`) -->";
    const end = "<!-- bench-forecast:end -->";
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`docs/forecasting.md has no generated block (${begin} … ${end})`);
    const block = [begin, "", `Run: ${header}.`, "", ...fit.map((l) => l.trim()), "", ...summary, "", ...spikes, "", end].join("\n");
    fs.writeFileSync(doc, text.slice(0, a) + block + text.slice(b + end.length));
    console.log(`\nwrote the generated block of ${path.relative(repo, doc)}`);
  }
}

main();
