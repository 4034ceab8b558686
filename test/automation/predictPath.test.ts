/**
 * The service and the bench run one path (issue 20): the same collected samples go (a) through the
 * automation service's Predictor — the store, the chained engine of forecastAdapter.ts, decideFloor,
 * the applier — once per 15-minute trigger, and (b) through the backtest's replay of the service's
 * path (automation/backtest/predictive.ts). The floors must be identical, bucket by bucket, across
 * the cold fit on start and the next chained daily fit.
 */
import assert from "node:assert/strict";
import { replayPredictive } from "../../automation/backtest/predictive";
import { mulberry32 } from "../../automation/backtest/synthetic";
import { ChainedEnsembleForecaster } from "../../automation/forecastAdapter";
import * as live from "../../automation/forecast/live";
import * as http from "node:http";
import { createHttpServer, listen } from "../../automation/http";
import { AutomationService } from "../../automation/service";
import { silentLogger } from "../../automation/logger";
import { Predictor } from "../../automation/predict";
import { capacityPerReplica, decisionSettings, forecastOptionsFor, liveSettingsFor, serviceRange } from "../../automation/predictiveSettings";
import type { Store } from "../../automation/store";
import type { SeriesDefinition } from "../../lib/monitoring/signals";
import { makeApplier, RecordingRunner, sharedPgliteStore, testConfig, truncateAll } from "./support/harness";

const DAY = 86_400_000;
const STEP = 15 * 60_000;
const t0 = Date.UTC(2026, 4, 4);
const config = testConfig("prod");
const series: SeriesDefinition[] = [{ service: "api-gateway", signal: "requests_per_second", query: "unused", perReplica: 100 }];

/** One-minute samples (the collector's resolution): a daily cycle of 200-1400 req/s with seeded noise and short bursts. */
function load(days: number): { t: number; v: number }[] {
  const rnd = mulberry32(11);
  const out: { t: number; v: number }[] = [];
  for (let t = t0; t <= t0 + days * DAY; t += 60_000) {
    const h = ((t % DAY) / DAY) * 2 * Math.PI;
    const burst = rnd() < 0.01 ? 1.5 : 1;
    out.push({ t, v: (800 - 600 * Math.cos(h - Math.PI / 6)) * (1 + 0.1 * (rnd() - 0.5)) * burst });
  }
  return out;
}

describe("one decision path: the service's Predictor and the backtest agree", function () {
  this.timeout(600_000);
  let store: Store;
  before(async () => {
    store = await sharedPgliteStore();
    await truncateAll(store.db);
  });

  it("identical floors (and fallbacks) bucket by bucket, from the cold fit on start through the next chained fit", async () => {
    const samples = load(4.5);
    const firstRun = t0 + 3 * DAY; // minHistoryDays: the first fit, in both paths
    const lastRun = t0 + 4 * DAY + 6 * 3_600_000;

    // (b) the bench's path.
    const d = decisionSettings(config);
    const range = serviceRange(config, "api-gateway", null);
    const C = capacityPerReplica("api-gateway", 100);
    const replay = replayPredictive(samples, forecastOptionsFor(config), {
      capacityPerReplica: C,
      rangeAt: () => ({ min: range.min, max: range.max }),
      policyCeiling: range.policyCeiling,
      decision: d,
      live: liveSettingsFor(config),
      collectorStepSeconds: config.collector.stepSeconds,
    });

    // (a) the service's path: collect (the samples of the last 15 minutes), then predict, per trigger.
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    const forecaster = new ChainedEnsembleForecaster(live, { store, options: forecastOptionsFor(config), live: liveSettingsFor(config), historyDays: config.predictive.historyDays });
    const predictor = new Predictor({ config, store, applier, metrics, logger: silentLogger(), forecaster, series });
    await store.insertSamples(samples.filter((s) => s.t <= firstRun).map((s) => ({ service: "api-gateway", signal: "requests_per_second", ts: new Date(s.t), value: s.v })));
    let compared = 0;
    let floorsSet = 0;
    const reasons = new Set<string>();
    for (let t = firstRun; t <= lastRun; t += STEP) {
      if (t > firstRun) await store.insertSamples(samples.filter((s) => s.t > t - STEP && s.t <= t).map((s) => ({ service: "api-gateway", signal: "requests_per_second", ts: new Date(s.t), value: s.v })));
      const run = await predictor.run(new Date(t + 20_000));
      const gw = run.services.find((s) => s.service === "api-gateway")!;
      const k = (t - t0) / STEP;
      const bench = replay.floors[k]!;
      assert.equal(gw.floor ?? -1, bench, `bucket ${new Date(t).toISOString()}: service ${gw.floor ?? gw.fallback}, bench ${bench}`);
      if (gw.fallbackReason) reasons.add(gw.fallbackReason);
      if (gw.floor !== undefined) floorsSet++;
      compared++;
    }
    forecaster.dispose();
    assert.equal(compared, (lastRun - firstRun) / STEP + 1);
    assert.ok(floorsSet > compared / 2, `floors set in ${floorsSet} of ${compared} buckets`);
    const state = await store.forecastState("api-gateway", "requests_per_second");
    assert.ok(state?.fit && state.fittedAt!.getTime() > t0 + 4 * DAY, "the daily fit at the next midnight, persisted");
    assert.ok(runner.ups().length > 0, "floors were applied through the applier");

    // Realised accuracy in production: issued forecasts scored when their bucket completed, the
    // window's accuracy exported on /metrics and returned by GET /api/forecasts.
    const scored = (await store.recentForecasts(40, "api-gateway")).filter((r) => r.actual !== null);
    assert.ok(scored.length > 0 && scored.every((r) => r.peak !== null && r.actualPeak! >= r.actual!), "issued forecasts carry their peak and are scored");
    const server = createHttpServer({ store, metrics, logger: silentLogger(), stack: "prod" });
    const port = await listen(server, 0, "127.0.0.1");
    try {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/forecasts?service=api-gateway`)).json()) as { accuracy: { service: string; mape: number; coverage80: number; peakError: number; scored: number }[] };
      const acc = body.accuracy.find((a) => a.service === "api-gateway")!;
      assert.ok(acc.scored >= 90 && acc.mape > 0 && acc.mape < 0.2 && acc.coverage80 > 0.5, JSON.stringify(acc));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const mape = Number(/^pyairtable_autoscaler_forecast_mape_ratio\{service="api-gateway",model="[^"]+"\} (\S+)$/m.exec(text)?.[1]);
      assert.equal(mape, acc.mape, "the exported MAPE is the stored realised one");
      assert.match(text, /^pyairtable_autoscaler_forecast_interval_coverage_ratio\{service="api-gateway",model="[^"]+"\} /m);
      assert.match(text, /^pyairtable_autoscaler_forecast_peak_error_ratio\{service="api-gateway",model="[^"]+"\} /m);
    } finally {
      server.close();
    }
  });

  it("one trigger collects, then predicts from what the collection just wrote (never from data 15 minutes old)", async () => {
    await truncateAll(store.db);
    // A Prometheus that answers every query_range with 100 at each step of the asked window.
    const prom = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const q = new URLSearchParams(body);
        const values: [number, string][] = [];
        for (let t = Number(q.get("start")); t <= Number(q.get("end")); t += 60) values.push([t, "100"]);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "success", data: { resultType: "matrix", result: [{ metric: {}, values }] } }));
      });
    });
    const promPort = await listen(prom, 0, "127.0.0.1");
    const seen: { service: string; last: number }[] = [];
    const recording = {
      name: "recording",
      async forecast(req: { service: string; history: readonly { t: number }[]; horizonSteps: number }) {
        seen.push({ service: req.service, last: req.history.at(-1)!.t });
        throw new Error("recorded");
      },
    };
    const cfg = testConfig("prod", (d) => (d.predictive.minSamples = 1));
    const service = new AutomationService({ config: cfg, store, runner: new RecordingRunner(), logger: silentLogger(), forecaster: recording, port: 0, startJobs: false, prometheusUrl: `http://127.0.0.1:${promPort}` });
    try {
      const now = new Date(Date.UTC(2026, 4, 20, 10, 0, 20));
      await service.collectAndPredict(now);
      assert.ok(seen.length > 0, "the predictor ran");
      for (const x of seen) assert.equal(new Date(x.last).toISOString(), "2026-05-20T10:00:00.000Z", `${x.service}: the forecast saw the sample the collection wrote at now's step`);
    } finally {
      prom.close();
    }
  });
});
