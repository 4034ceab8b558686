/**
 * `tsx scripts/bench-forecast.ts [--only <substring>]`: measurements of the predictive engine, not
 * tests. Prints ratios measured in this one run (absolute times for context only).
 *
 * 1. Fit time: the ensemble (linear, Prophet-style, ARIMA, SARIMA and the baselines, with the held-out
 *    validation and interval calibration) on a 30-day window of 15-minute data (2,880 points) for
 *    11 services, in this single-threaded process; and each model's fit alone.
 * 2. Per seasonal trace (SOURCES.md "daily?" = yes): every model's MAPE and 80%-interval coverage 1
 *    hour ahead on rolling 15-minute origins (daily refits, only past data), against the baselines;
 *    and the backtest table (oracle, static peak, reactive, scheduled + reactive, predictive +
 *    reactive) for the api-gateway service's range.
 * 3. The targets (reported against, not asserted): ensemble MAPE below the best baseline's,
 *    coverage 75-85%, predictive + reactive within 1.2× the oracle's replica-hours with an
 *    under-provisioned share ≤ reactive's (aim ≤ 0.1%).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runBacktest, type BacktestResult } from "../automation/backtest/run";
import { loadServiceContext } from "../automation/backtest/service";
import { readTrace } from "../automation/backtest/trace";
import { ensemble } from "../automation/forecast/ensemble";
import { linearDefinition } from "../automation/forecast/linear";
import { makeContext } from "../automation/forecast/model";
import { resolveForecastOptions } from "../automation/forecast/options";
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
  // 11 services: 30-day windows of nyc_taxi starting 15 days apart, scaled differently.
  const windows = Array.from({ length: 11 }, (_, i) => {
    const from = i * 15 * 96;
    return Array.from({ length: n }, (_, k) => ({ t: all.startMs + (from + k) * all.stepMs, v: all.mean[from + k]! * (0.5 + i * 0.1) }));
  });
  const started = process.hrtime.bigint();
  const per: number[] = [];
  const confidences: number[] = [];
  for (const w of windows) {
    const t = process.hrtime.bigint();
    const m = ensemble.fit(w, { calendar: { holidays: usHolidays2014 } });
    per.push(ms(process.hrtime.bigint() - t));
    confidences.push(m.state.confidence);
    ensemble.dispose(m);
  }
  const total = ms(process.hrtime.bigint() - started);
  lines.push(`Fit time, ensemble on 30 days × 15 min (${n} points) for 11 services, one thread: ${(total / 1000).toFixed(2)} s total, ${(total / 11).toFixed(0)} ms per service (min ${Math.min(...per).toFixed(0)}, max ${Math.max(...per).toFixed(0)})`);
  lines.push(`  (each: baselines + linear + prophet + arima + sarima fitted on the 23 days before a 7-day calibration window, rolling forecasts over it, then refitted on all 30 days)`);
  const series = resample(windows[0]!, 15 * 60_000);
  const ctx = makeContext(resolveForecastOptions(), series);
  const single: string[] = [];
  for (const def of [linearDefinition, prophetDefinition, arimaDefinition, sarimaDefinition] as ModelDefinition[]) {
    const reps = 5;
    const t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) {
      const p = def.fit(series, 0, n, ctx);
      def.dispose?.(p);
    }
    single.push(`${def.name} ${(ms(process.hrtime.bigint() - t) / reps).toFixed(1)} ms`);
  }
  lines.push(`  one fit on 2,880 points: ${single.join(", ")}`);
  lines.push(`  decision confidence of the 11 fits: ${confidences.map((c) => c.toFixed(2)).join(" ")}`);
  return lines;
}

function backtestRows(r: BacktestResult): { acc: string[]; bt: string[]; summary: string } {
  const acc = r.forecast.models.map((m) => `| ${r.trace} | ${m.name} | ${pct(m.mape)} | ${pct(m.coverage80)} | ${m.n} |`);
  const bt = r.policies.map((p) => `| ${r.trace} | ${p.name} | ${p.replicaHours.toFixed(0)} | ${p.costRatioToOracle.toFixed(3)} | ${pct(p.underProvisionedShare, 3)} | ${p.worstShortfall} |`);
  const a = Object.fromEntries(r.forecast.models.map((m) => [m.name, m]));
  const baselines = ["persistence", "naive", "seasonal-naive"].map((n) => a[n]!).filter((m) => Number.isFinite(m.mape));
  const best = baselines.reduce((x, y) => (y.mape < x.mape ? y : x));
  const e = a.ensemble!;
  const p = Object.fromEntries(r.policies.map((x) => [x.name, x]));
  const pr = p["predictive+reactive"]!;
  const re = p.reactive!;
  const summary =
    `| ${r.trace} | ${pct(e.mape)} | ${best.name} ${pct(best.mape)} | ${(e.mape / best.mape).toFixed(2)} | ${pct(e.coverage80)} | ` +
    `${pr.costRatioToOracle.toFixed(3)} | ${pct(pr.underProvisionedShare, 3)} | ${pct(re.underProvisionedShare, 3)} | ${re.costRatioToOracle.toFixed(3)} | ` +
    `${r.replay.fallbacks["low-confidence"]} / ${r.replay.fallbacks["no-model"]} | ${r.seconds.forecast.toFixed(1)} + ${r.seconds.simulate.toFixed(1)} s |`;
  return { acc, bt, summary };
}

function main(): void {
  const onlyIdx = process.argv.indexOf("--only");
  const only = onlyIdx >= 0 ? process.argv[onlyIdx + 1] : undefined;
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log("");
  if (!only) for (const l of fitTimes()) console.log(l);
  console.log("");
  const service = loadServiceContext(repo, "prod", "api-gateway");
  const acc: string[] = [];
  const bt: string[] = [];
  const summary: string[] = [];
  for (const file of seasonalTraces()) {
    if (only && !file.includes(only)) continue;
    const started = process.hrtime.bigint();
    const r = runBacktest(readTrace(file), {
      service,
      noChart: true,
      ...(file.endsWith("nyc_taxi.csv") ? { extraHolidays: usHolidays2014 } : {}),
    });
    const rows = backtestRows(r);
    acc.push(...rows.acc);
    bt.push(...rows.bt);
    summary.push(rows.summary);
    console.log(`${r.trace}: ${(ms(process.hrtime.bigint() - started) / 1000).toFixed(1)} s; weights ${Object.entries(r.replay.meanWeights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}; excluded days ${JSON.stringify(r.replay.excludedDays)}; guard drops ${JSON.stringify(r.replay.droppedOrigins)}`);
    for (const n of r.notes) console.log(`  note: ${n}`);
  }
  console.log("");
  console.log("Summary (1 hour ahead, rolling 15-minute origins; api-gateway range 2-25, u = 0.7, C = peak / (u × 25)):");
  console.log("");
  console.log("| trace | ensemble MAPE | best baseline MAPE | ratio | ensemble coverage80 | predictive+reactive × oracle | predictive under-provisioned | reactive under-provisioned | reactive × oracle | fallback buckets (low confidence / no model) | time (forecast + simulate) |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const l of summary) console.log(l);
  console.log("");
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
}

main();
