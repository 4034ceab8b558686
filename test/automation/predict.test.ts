import assert from "node:assert/strict";
import { loadEnsembleForecaster } from "../../automation/forecastAdapter";
import { forecastOptionsFor, liveSettingsFor } from "../../automation/predictiveSettings";
import { silentLogger } from "../../automation/logger";
import { horizonLabel, Predictor, SeasonalNaiveForecaster, type Forecaster, type ForecastRequest } from "../../automation/predict";
import type { Store } from "../../automation/store";
import { automationServiceMetrics as names } from "../../lib/monitoring/metricNames";
import { makeApplier, metricValue, RecordingRunner, sharedPgliteStore, testConfig, truncateAll } from "./support/harness";

const config = testConfig("prod");
const now = new Date("2026-05-20T10:00:00Z");

/** A forecaster that answers a fixed load and confidence (and records the requests). */
class FixedForecaster implements Forecaster {
  readonly name = "fixed";
  readonly requests: ForecastRequest[] = [];
  constructor(public upper: number, public confidence: number, public peak?: number) {}
  async forecast(req: ForecastRequest) {
    this.requests.push(req);
    const arr = (v: number) => Array.from({ length: req.horizonSteps }, () => v);
    return { model: "fixed", point: arr(this.upper * 0.8), lower: arr(this.upper * 0.6), upper: arr(this.upper), ...(this.peak !== undefined ? { peak: arr(this.peak) } : {}), confidence: this.confidence, mape: 1 - this.confidence, intervalCoverage: 0.8 };
  }
}

describe("predictor", function () {
  this.timeout(120_000); // PGlite (WASM PostgreSQL) starts in the first hook; two parallel workers share the cores
  let store: Store;
  before(async () => {
    store = await sharedPgliteStore();
  });
  beforeEach(async () => {
    await truncateAll(store.db);
    // Three days of api-gateway request rates at one-minute resolution.
    const samples = [];
    for (let t = now.getTime() - 3 * 86_400_000; t < now.getTime(); t += 60_000) samples.push({ service: "api-gateway", signal: "requests_per_second", ts: new Date(t), value: 300 });
    await store.insertSamples(samples);
  });

  function setupOpts() {
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    return { config, store, applier, metrics, logger: silentLogger() };
  }

  function setup(forecaster: Forecaster) {
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    const predictor = new Predictor({ config, store, applier, metrics, logger: silentLogger(), forecaster });
    return { runner, metrics, predictor };
  }

  it("raises a floor from a confident forecast, within the step limit, and exports the forecast", async () => {
    // 1000 req/s; the HPA's target is 100 per pod at u = 0.7, so a replica carries 100 / 0.7 at 100%: 7 replicas.
    const f = new FixedForecaster(1000, 0.9);
    const { runner, metrics, predictor } = setup(f);
    const run = await predictor.run(now);
    const gw = run.services.find((s) => s.service === "api-gateway")!;
    assert.equal(gw.needed, 7);
    assert.equal(gw.floor, 6, "stack-file minimum 2 + maxStepUp 4");
    assert.equal(run.result?.outcome, "succeeded");
    assert.equal(runner.ups()[0]!.changes["services.api-gateway.minReplicas"], 6);
    assert.deepEqual((await store.getState("prod")).predictiveFloors, { "services.api-gateway.minReplicas": 6 });
    assert.equal(f.requests[0]!.horizonSteps, 4, "the configured horizon (1 h) at 15 minutes");
    assert.equal(f.requests[0]!.history.length, 3 * 1440);
    assert.equal(f.requests[0]!.calendar.timezone, "UTC");
    assert.equal(await metricValue(metrics, names.forecastLoad, { service: "api-gateway", bound: "upper", horizon: "15m" }), 1000);
    assert.equal(await metricValue(metrics, names.forecastConfidence, { service: "api-gateway" }), 0.9);
    assert.equal(await metricValue(metrics, names.predictiveFloorReplicas, { service: "api-gateway" }), 6);
    assert.equal(await metricValue(metrics, names.forecastMape, { service: "api-gateway", model: "fixed" }), 1 - 0.9);
    assert.ok((await metricValue(metrics, names.forecastLastSuccessTimestamp))! > 0);
    const stored = await store.recentForecasts(10, "api-gateway");
    assert.equal(stored.length, 4);
    assert.deepEqual(stored.map((r) => r.targetTs.toISOString()).sort(), ["10:00", "10:15", "10:30", "10:45"].map((x) => `2026-05-20T${x}:00.000Z`), "the current bucket first");

    // The next run moves on by at most maxStepUp more; unchanged floors apply nothing.
    const second = await predictor.run(new Date(now.getTime() + 15 * 60_000));
    assert.equal(second.floors["services.api-gateway.minReplicas"], 7);
    await predictor.run(new Date(now.getTime() + 30 * 60_000));
    assert.equal(runner.ups().length, 2);
  });

  it("sizes the floor from the forecast of the buckets' peak when the engine has one", async () => {
    // Mean's upper bound 300 req/s, τ-quantile of the peak 480: 480 / (100 / 0.7) = 3.36, 4 replicas.
    const f = new FixedForecaster(300, 0.9, 480);
    const { metrics, predictor } = setup(f);
    const run = await predictor.run(now);
    const gw = run.services.find((s) => s.service === "api-gateway")!;
    assert.equal(gw.needed, 4);
    assert.equal(gw.floor, 4);
    const sig = gw.signals.find((x) => x.signal === "requests_per_second")!;
    assert.equal(sig.bound, "peak");
    assert.equal(sig.upper, 480);
    assert.equal(await metricValue(metrics, names.forecastLoad, { service: "api-gateway", bound: "peak", horizon: "15m" }), 480);
    // Without a peak forecast (the seasonal-naive stand-in), the mean's upper bound.
    const g = await new Predictor({ ...setupOpts(), forecaster: new FixedForecaster(300, 0.9) }).run(now);
    const s2 = g.services.find((s) => s.service === "api-gateway")!;
    assert.equal(s2.needed, 3);
    assert.equal(s2.signals.find((x) => x.signal === "requests_per_second")!.bound, "upper");
  });

  it("never floors above the policy ceiling", async () => {
    const { runner, predictor } = setup(new FixedForecaster(1e6, 0.95));
    await store.saveState({ ...(await store.getState("prod")), predictiveFloors: { "services.api-gateway.minReplicas": 24 } });
    const run = await predictor.run(now);
    assert.equal(run.floors["services.api-gateway.minReplicas"], 25);
    assert.equal(runner.ups()[0]!.changes["services.api-gateway.minReplicas"], 25);
  });

  it("falls back to reactive scaling below the confidence threshold (and removes the floor)", async () => {
    const { runner, metrics, predictor } = setup(new FixedForecaster(1000, 0.5));
    await store.saveState({ ...(await store.getState("prod")), predictiveFloors: { "services.api-gateway.minReplicas": 6 } });
    const run = await predictor.run(now);
    const gw = run.services.find((s) => s.service === "api-gateway")!;
    assert.match(gw.fallback!, /confidence 0\.500 is below the threshold 0\.8: reactive scaling only/);
    assert.equal(gw.fallbackReason, "low-confidence");
    assert.equal(await metricValue(metrics, names.predictiveFallback, { service: "api-gateway", reason: "low-confidence" }), 1);
    assert.deepEqual(run.floors, {});
    assert.equal(runner.ups().length, 1, "removing the floor is a change");
    assert.equal(runner.ups()[0]!.changes["services.api-gateway.minReplicas"], undefined);
    assert.equal(await metricValue(metrics, names.scalingDecisionsTotal, { service: "api-gateway", kind: "predictive", outcome: "skipped" }), 1);
    assert.equal(await metricValue(metrics, names.predictiveFloorReplicas, { service: "api-gateway" }), undefined);
  });

  it("needs enough samples, and applies nothing in a dry run or during a budget emergency", async () => {
    const few = testConfig("prod", (d) => (d.predictive.minSamples = 10_000));
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(few, store, runner);
    const run = await new Predictor({ config: few, store, applier, metrics, logger: silentLogger(), forecaster: new FixedForecaster(1000, 0.9) }).run(now);
    assert.match(run.services.find((s) => s.service === "api-gateway")!.fallback!, /4320 samples, 10000 needed/);

    const dry = setup(new FixedForecaster(1000, 0.9));
    const r = await dry.predictor.run(now, { dryRun: true });
    assert.equal(r.result?.outcome, "would-change");
    assert.deepEqual(dry.runner.calls.map((c) => c.op), ["preview"]);

    await store.saveState({ ...(await store.getState("prod")), emergencyActive: true });
    const e = setup(new FixedForecaster(1000, 0.9));
    assert.equal((await e.predictor.run(now)).result, undefined);
    assert.equal(e.runner.calls.length, 0);
  });

  it("stand-in forecaster: seasonal naive with an interval and confidence from yesterday's errors", async () => {
    const day = 86_400_000;
    const history = [];
    for (let t = now.getTime() - 3 * day; t < now.getTime(); t += 60_000) {
      const hour = new Date(t).getUTCHours();
      history.push({ t, v: hour >= 8 && hour < 18 ? 500 : 100 });
    }
    const f = await new SeasonalNaiveForecaster().forecast({ service: "s", signal: "x", history, horizonSteps: 4, stepMinutes: 15, now, calendar: { timezone: "UTC", businessHours: { start: "08:00", end: "18:00", days: ["mon"] }, holidays: [] } });
    assert.deepEqual(f.point, [500, 500, 500, 500]);
    assert.equal(f.confidence, 1);
    assert.equal(f.staleSteps, 0);
    await assert.rejects(new SeasonalNaiveForecaster().forecast({ service: "s", signal: "x", history: history.slice(-100), horizonSteps: 1, stepMinutes: 15, now, calendar: { timezone: "UTC", businessHours: { start: "08:00", end: "18:00", days: [] }, holidays: [] } }), /needs two days of history/);
    assert.equal(horizonLabel(15), "15m");
    assert.equal(horizonLabel(60), "1h");
  });

  it("loads the chained ensemble of automation/forecast (the service's default forecaster)", async () => {
    const loaded = await loadEnsembleForecaster({ store, options: forecastOptionsFor(config), live: liveSettingsFor(config), historyDays: 30 });
    assert.equal(loaded.error, undefined);
    assert.equal(loaded.forecaster?.name, "ensemble");
    assert.equal(typeof loaded.forecaster?.historyFrom, "function", "stateful: reads only what it has not seen");
  });
});
