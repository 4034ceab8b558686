/**
 * The predictive engine's forecasters, ensemble and decision (automation/forecast).
 * Synthetic series with known seasonality; error bounds chosen so that a model ignoring the
 * seasonality (errors of 20-40%) would fail them.
 */
import { strict as assert } from "node:assert";
import { gaussian, mulberry32 } from "../../automation/backtest/synthetic";
import {
  arima,
  Calendar,
  confidenceOf,
  disposeEnsemble,
  ensemble,
  fitEnsembleAt,
  forecastEnsembleAt,
  ForecastOptionsError,
  InsufficientHistoryError,
  linearRegression,
  naive,
  persistence,
  predictiveFloor,
  prophet,
  resample,
  resolveForecastOptions,
  sarima,
  seasonalNaive,
  validateConfidenceThreshold,
  type EnsembleState,
  type Forecaster,
  type ModelDefinition,
  type RegularSeries,
  type Sample,
} from "../../automation/forecast";

const STEP = 15 * 60_000;
const DAY = 86_400_000;
/** Monday 2024-01-01 00:00 UTC. */
const T0 = Date.UTC(2024, 0, 1);


const normals = (r: () => number) => () => gaussian(r);

/** Known truth: level 100, daily swing ±40 (peak 14:00), weekends 25 lower, a slight trend. */
function truth(t: number): number {
  const minute = ((t % DAY) + DAY) % DAY / 60_000;
  const dow = (Math.floor(t / DAY) + 3) % 7; // 0 = Monday
  const daily = 40 * Math.sin((2 * Math.PI * (minute - 480)) / 1440);
  const weekend = dow >= 5 ? -25 : 0;
  const trend = ((t - T0) / DAY) * 0.1;
  return 100 + daily + weekend + trend;
}

function synthetic(days: number, noise: number, seed = 1, f: (t: number) => number = truth): Sample[] {
  const g = normals(mulberry32(seed));
  const out: Sample[] = [];
  for (let i = 0; i < days * 96; i++) {
    const t = T0 + i * STEP;
    out.push({ t, v: Math.max(0, f(t) + noise * g()) });
  }
  return out;
}

const mape = (pred: number[], actual: number[]) => pred.reduce((s, p, i) => s + Math.abs(p - actual[i]!) / Math.abs(actual[i]!), 0) / pred.length;

/** A fake model for injection. `value(series, target, origin)` gives the forecast of bucket `target`. */
function fake(name: string, value: (s: RegularSeries, target: number, origin: number) => number): ModelDefinition<null> {
  return {
    name,
    kind: "model",
    minTrainingSteps: () => 96,
    fit: () => null,
    forecast: (_p, s, origin, h) => Float64Array.from({ length: h }, (_, k) => value(s, origin + k, origin)),
  };
}
const truthAt = (s: RegularSeries, target: number) => truth(s.startMs + target * s.stepMs);

describe("forecasters: each recovers a known seasonality", function () {
  this.timeout(60_000);
  // History ends on a Wednesday at noon (day 16 + 12 h); the test compares with the noiseless truth.
  const history = synthetic(16.5, 1, 7);
  const end = T0 + 16.5 * DAY;
  const truthNext = (n: number) => Array.from({ length: n }, (_, i) => truth(end + i * STEP));

  for (const [fc, bound1h, boundDay] of [
    [linearRegression, 0.04, 0.08],
    [prophet, 0.03, 0.04],
    [sarima, 0.03, 0.05],
    // Non-seasonal: only the short term is its job.
    [arima, 0.03, undefined],
  ] as [Forecaster, number, number | undefined][]) {
    it(`${fc.name}: 1 hour ahead within ${bound1h * 100}%${boundDay ? ` and a full day ahead within ${boundDay * 100}%` : ""} of the truth`, () => {
      const model = fc.fit(history);
      try {
        const hour = fc.predict(model, 4);
        assert.ok(mape(hour.point, truthNext(4)) < bound1h, `1 h MAPE ${mape(hour.point, truthNext(4))}`);
        const day = fc.predict(model, 96);
        if (boundDay) assert.ok(mape(day.point, truthNext(96)) < boundDay, `1 day MAPE ${mape(day.point, truthNext(96))}`);
        for (let i = 0; i < 96; i++) assert.ok(day.lower[i]! <= day.point[i]! && day.point[i]! <= day.upper[i]!, `interval ordered at ${i}`);
        assert.ok(model.validation.mape < (boundDay ?? 0.1), `validation MAPE ${model.validation.mape}`);
      } finally {
        fc.dispose(model);
      }
    });
  }

  it("a model that ignores the seasonality fails these bounds (the bounds can fail)", () => {
    const flat = history.reduce((s, x) => s + x.v, 0) / history.length;
    assert.ok(mape(Array(96).fill(flat), truthNext(96)) > 0.2);
  });

  it("baselines are exact on the series they assume", () => {
    const weekly = synthetic(15, 0, 1, (t) => 50 + ((Math.floor(t / STEP) % 672) % 97));
    const m1 = seasonalNaive.fit(weekly);
    assert.deepEqual(seasonalNaive.predict(m1, 5).point, Array.from({ length: 5 }, (_, i) => weekly[weekly.length - 672 + i]!.v));
    const daily = synthetic(4, 0, 1, (t) => 10 + (Math.floor(t / STEP) % 96));
    const m2 = naive.fit(daily);
    assert.deepEqual(naive.predict(m2, 3).point, [10, 11, 12]);
    const flat = synthetic(4, 0, 1, () => 42);
    const m3 = persistence.fit(flat);
    const p = persistence.predict(m3, 4);
    assert.deepEqual(p.point, [42, 42, 42, 42]);
    assert.deepEqual(p.upper, [42, 42, 42, 42], "no error in validation, no width");
  });

  it("SARIMA conditions on the latest data at each origin without refitting", () => {
    const series = resample(history, STEP);
    const ctx = { opts: resolveForecastOptions(), calendar: new Calendar(), stepMs: STEP, stepsPerDay: 96, trainingSteps: 2880, validationSteps: 96, calibrationSteps: 672, nonNegative: true };
    const n = series.mean.length;
    const params = sarima.definition.fit(series, 0, n - 96, ctx);
    try {
      const a = sarima.definition.forecast(params, series, n - 96, 4, ctx);
      const b = sarima.definition.forecast(params, series, n - 48, 4, ctx);
      assert.ok(Math.abs(a[0]! - series.mean[n - 96]!) / series.mean[n - 96]! < 0.05);
      assert.ok(Math.abs(b[0]! - series.mean[n - 48]!) / series.mean[n - 48]! < 0.05);
      assert.notEqual(a[0], b[0]);
    } finally {
      sarima.definition.dispose!(params);
    }
  });
});

describe("ensemble: guard, weights, intervals, confidence", function () {
  this.timeout(60_000);
  const history = synthetic(15, 2, 3);

  it("the guard drops a model returning NaN, 1e27 or a negative value, with the reason", () => {
    const good = fake("good", (s, t) => truthAt(s, t));
    const m = ensemble.fit(history, {}, {
      members: [fake("nan", () => Number.NaN), fake("huge", () => 1e27), fake("negative", () => -5), good],
    });
    try {
      const ex = Object.fromEntries(m.state.members.filter((x) => x.excluded).map((x) => [x.name, x.excluded!]));
      assert.match(ex.nan!, /non-finite forecast NaN/);
      assert.match(ex.huge!, /exceeds 10 × the history max/);
      assert.match(ex.negative!, /negative forecast -5/);
      assert.deepEqual(Object.keys(m.state.weights), ["good"]);
      const f = ensemble.predict(m, 4);
      assert.ok(f.point.every(Number.isFinite));
      assert.equal(f.source, "ensemble");
    } finally {
      ensemble.dispose(m);
    }
  });

  it("a model that turns bad after the fit is dropped at that origin and the weights renormalised", () => {
    const series = resample(history, STEP);
    const n = series.mean.length;
    const flaky = fake("flaky", (s, t, origin) => (origin >= n ? 1e27 : truthAt(s, t) * 1.01));
    const steady = fake("steady", (s, t) => truthAt(s, t) * 1.02);
    // The daily combination's renormalisation is under test: no intraday re-weighting (forecastOnline.test.ts covers it).
    const state = fitEnsembleAt(series, n, resolveForecastOptions({ combination: "inverse-error", intradayHalfLifeHours: 0 }), { members: [flaky, steady] });
    try {
      assert.ok(state.weights.flaky! > state.weights.steady!);
      const f = forecastEnsembleAt(state, n, 4);
      assert.deepEqual(f.dropped.map((d) => d.name), ["flaky"]);
      assert.match(f.dropped[0]!.reason, /guard: forecast 1.00e\+27/);
      assert.deepEqual(f.weights, { steady: 1 });
      assert.ok(Math.abs(f.point[0]! / (truth(series.startMs + n * STEP) * 1.02) - 1) < 1e-9);
    } finally {
      disposeEnsemble(state);
    }
  });

  it("inverse-error combination: weights favour the better model and exclude one worse than seasonal-naive", () => {
    const m = ensemble.fit(history, { combination: "inverse-error" }, {
      members: [
        fake("better", (s, t) => truthAt(s, t)),
        fake("worse", (s, t) => truthAt(s, t) * 1.01),
        fake("flat", () => 100),
      ],
    });
    try {
      const w = m.state.weights;
      const sn = m.state.members.find((x) => x.name === "seasonal-naive")!.validation!.mape;
      const flat = m.state.members.find((x) => x.name === "flat")!.validation!.mape;
      assert.ok(flat > sn, `flat ${flat} should be worse than seasonal-naive ${sn}`);
      assert.equal(w.flat, undefined);
      assert.ok(w.better! > w.worse! && w.worse! > 0, JSON.stringify(w));
      const better = m.state.members.find((x) => x.name === "better")!.validation!.mape;
      const worse = m.state.members.find((x) => x.name === "worse")!.validation!.mape;
      assert.ok(Math.abs(w.better! / w.worse! - (worse / better) ** 2) < 1e-9, "weights are inverse squared MAPE");
      assert.ok(Math.abs(w.better! + w.worse! - 1) < 1e-12);
      assert.equal(m.state.reference, "seasonal-naive");
    } finally {
      ensemble.dispose(m);
    }
  });

  it("select combination (default): per horizon, the candidate with the lowest pool MAPE — about the best member's or better", () => {
    const series = resample(history, STEP);
    const members = [fake("better", (s, t) => truthAt(s, t) * 1.005), fake("worse", (s, t) => truthAt(s, t) * 0.97), fake("flat", () => 100)];
    const state = fitEnsembleAt(series, series.mean.length, resolveForecastOptions(), { members });
    try {
      assert.equal(state.weightsByHorizon.length, 4);
      const o = state.ctx.opts;
      const floor = state.peak.levelFloor;
      const pool = state.pool;
      // Pool MAPE at H of the ensemble's own out-of-sample blocks vs every member's.
      const mapeOf = (name: string) => {
        let s = 0;
        let n = 0;
        for (const b of pool.get(name)!) {
          for (let k = 0; k < b.steps; k++) {
            const t = b.start + k + o.horizonSteps - 1;
            if (t >= state.end || series.observed[t] === 0 || series.mean[t]! < 10 * floor) continue;
            s += Math.abs(series.mean[t]! - b.forecasts[k * o.horizonSteps + o.horizonSteps - 1]!) / series.mean[t]!;
            n++;
          }
        }
        return s / n;
      };
      const best = Math.min(...state.members.filter((m) => m.validation && !m.excluded).map((m) => mapeOf(m.name)));
      // The selection minimises a recency-weighted MAPE (half-life one day), so the plain pool MAPE may
      // differ slightly; a combination with "flat" (or "worse" alone) would be far above.
      assert.ok(mapeOf("ensemble") <= best * 1.02, `ensemble ${mapeOf("ensemble")} vs best member ${best}`);
      assert.equal(state.weights.flat, undefined, JSON.stringify(state.weights));
      // A combination of a model 0.5% high and one 3% low can beat both: whatever is chosen sums to 1.
      for (const w of state.weightsByHorizon) assert.ok(Math.abs(Object.values(w).reduce((a, b) => a + b, 0) - 1) < 1e-12);
    } finally {
      disposeEnsemble(state);
    }
  });

  it("when no model beats seasonal-naive, the ensemble is seasonal-naive", () => {
    const m = ensemble.fit(history, { combination: "inverse-error" }, { members: [fake("flat", () => 100), fake("high", (s, t) => truthAt(s, t) * 1.5)] });
    try {
      assert.deepEqual(m.state.weights, { "seasonal-naive": 1 });
      assert.ok(m.state.notes.some((n) => /no model beats seasonal-naive/.test(n)));
      const f = ensemble.predict(m, 4);
      assert.equal(f.source, "seasonal-naive");
      const s = resample(history, STEP);
      assert.equal(f.point[0], s.mean[s.mean.length - 672]);
    } finally {
      ensemble.dispose(m);
    }
  });

  it("80% intervals cover about 80% of synthetic noise (rolling origins, daily refits)", () => {
    const series = resample(synthetic(40, 8, 11), STEP);
    const opts = resolveForecastOptions();
    let prev: EnsembleState | undefined;
    let inside = 0;
    let total = 0;
    for (let d = 26; d < 39; d++) {
      const state = fitEnsembleAt(series, d * 96, opts, { previous: prev });
      if (prev) disposeEnsemble(prev);
      prev = state;
      for (let o = d * 96; o < (d + 1) * 96; o++) {
        const f = forecastEnsembleAt(state, o, 4);
        const a = series.mean[o + 3]!;
        if (a >= f.lower[3]! && a <= f.upper[3]!) inside++;
        total++;
      }
    }
    if (prev) disposeEnsemble(prev);
    const coverage = inside / total;
    assert.ok(coverage > 0.72 && coverage < 0.88, `coverage ${coverage}`);
  });

  it("confidence = clamp01(min(1 − MAPE, 1 − k·|coverage − 0.8|)) with k = 2", () => {
    const o = resolveForecastOptions();
    assert.equal(confidenceOf({ mape: 0.1, poolMape: 0.1, coverage80: 0.8, n: 1 }, o).confidence, 0.9);
    assert.ok(Math.abs(confidenceOf({ mape: 0.05, poolMape: 0.05, coverage80: 0.7, n: 1 }, o).confidence - 0.8) < 1e-12);
    assert.ok(Math.abs(confidenceOf({ mape: 0.25, poolMape: 0.25, coverage80: 0.8, n: 1 }, o).confidence - 0.75) < 1e-12);
    assert.equal(confidenceOf({ mape: 2, poolMape: 2, coverage80: 0.8, n: 1 }, o).confidence, 0);
    assert.equal(confidenceOf({ mape: Number.NaN, poolMape: Number.NaN, coverage80: 0.8, n: 1 }, o).confidence, 0);
    assert.throws(() => validateConfidenceThreshold(1.5), /confidenceThreshold = 1.5: must be a number from 0 to 1/);
    assert.throws(() => resolveForecastOptions({ confidenceThreshold: -0.1 }), ForecastOptionsError);
    assert.equal(validateConfidenceThreshold(0.8), 0.8);
  });
});

describe("ensemble: too little or bad data", function () {
  this.timeout(60_000);

  it("too little history gives a clear reason and no decision", () => {
    assert.throws(
      () => ensemble.fit(synthetic(1, 1)),
      (e: unknown) => e instanceof InsufficientHistoryError && /history has 1\.00 days \(96 buckets of 15 min\); at least 3\.00 days \(288 buckets\) are needed/.test(e.reason),
    );
    let reason = "";
    try {
      ensemble.fit(synthetic(2, 1));
    } catch (e) {
      reason = (e as InsufficientHistoryError).reason;
    }
    const d = predictiveFloor({ upper: undefined, noModelReason: reason, capacityPerReplica: 10, range: { min: 2, max: 25 }, policyCeiling: 25, current: 2, maxStepUp: 4, maxStepDown: 2 });
    assert.equal(d.kind, "fallback");
    assert.equal(d.kind === "fallback" && d.reason, "no-model");
    assert.match(d.kind === "fallback" ? d.detail : "", /at least 3\.00 days/);
  });

  it("NaN, negative, infinite, unsorted and missing samples are dropped or held, never propagated", () => {
    const base = synthetic(12, 2, 5);
    const dirty: Sample[] = base.filter((_, i) => !(i >= 500 && i < 520)); // a 5-hour gap
    dirty.push({ t: T0 + 100 * STEP + 1, v: Number.NaN }, { t: T0 + 101 * STEP + 1, v: -3 }, { t: T0 + 102 * STEP + 1, v: Number.POSITIVE_INFINITY }, { t: Number.NaN, v: 5 });
    dirty.reverse();
    const s = resample(dirty, STEP);
    assert.deepEqual([s.quality.nonFinite, s.quality.negative, s.quality.emptyBuckets, s.quality.longestGapBuckets], [3, 1, 20, 20]);
    assert.ok(s.mean.every(Number.isFinite));
    assert.equal(s.mean[510], s.mean[499], "gaps hold the previous value (causal)");
    assert.equal(s.observed[510], 0);
    const m = ensemble.fit(dirty);
    try {
      const f = ensemble.predict(m, 4);
      assert.ok([...f.point, ...f.lower, ...f.upper].every(Number.isFinite));
      assert.ok(f.lower.every((x) => x >= 0));
    } finally {
      ensemble.dispose(m);
    }
  });

  it("stale data (no sample in the last hours) falls back with missing-data", () => {
    const history = synthetic(12, 2, 5).filter((x) => x.t < T0 + 12 * DAY - 3 * 3_600_000);
    const series = resample(history, STEP, { endMs: T0 + 12 * DAY });
    const state = fitEnsembleAt(series, series.mean.length, resolveForecastOptions());
    try {
      const f = forecastEnsembleAt(state, series.mean.length, 2);
      assert.equal(f.staleSteps, 12);
      const d = predictiveFloor({ upper: f.peakUpper, confidence: f.confidence, staleSteps: f.staleSteps, capacityPerReplica: 10, range: { min: 2, max: 25 }, policyCeiling: 25, current: 2, maxStepUp: 4, maxStepDown: 2 });
      assert.deepEqual(d.kind === "fallback" ? d.reason : d.kind, "missing-data");
    } finally {
      disposeEnsemble(state);
    }
  });
});

describe("predictiveFloor", () => {
  const base = { capacityPerReplica: 10, range: { min: 2, max: 25 }, policyCeiling: 20, current: 10, maxStepUp: 4, maxStepDown: 2, confidence: 0.9 };

  it("sizes for the upper bound, clamps to the range and the policy ceiling, and bounds the step", () => {
    assert.deepEqual(predictiveFloor({ ...base, upper: [101, 120] }), { kind: "floor", replicas: 12, needed: 12, limitedBy: [] });
    assert.deepEqual(predictiveFloor({ ...base, upper: [100] }), { kind: "floor", replicas: 10, needed: 10, limitedBy: [] }, "exact multiples do not round up");
    assert.deepEqual(predictiveFloor({ ...base, upper: [300] }), { kind: "floor", replicas: 14, needed: 30, limitedBy: ["policy-ceiling", "step-up"] });
    assert.deepEqual(predictiveFloor({ ...base, current: 18, upper: [300] }), { kind: "floor", replicas: 20, needed: 30, limitedBy: ["policy-ceiling"] });
    assert.deepEqual(predictiveFloor({ ...base, policyCeiling: 100, current: 24, upper: [300] }), { kind: "floor", replicas: 25, needed: 30, limitedBy: ["range-max"] });
    assert.deepEqual(predictiveFloor({ ...base, upper: [5] }), { kind: "floor", replicas: 8, needed: 1, limitedBy: ["range-min", "step-down"] });
    assert.deepEqual(predictiveFloor({ ...base, current: 3, upper: [0] }), { kind: "floor", replicas: 2, needed: 0, limitedBy: ["range-min"] });
    // The range wins over the step bound when the current floor is outside it.
    assert.deepEqual(predictiveFloor({ ...base, current: 30, upper: [250] }), { kind: "floor", replicas: 20, needed: 25, limitedBy: ["policy-ceiling", "step-down"] });
  });

  it("falls back on low confidence, invalid forecasts and missing data, with the reason", () => {
    const low = predictiveFloor({ ...base, upper: [100], confidence: 0.79 });
    assert.deepEqual(low.kind === "fallback" && [low.reason, low.detail], ["low-confidence", "confidence 0.790 is below the threshold 0.8"]);
    assert.equal(predictiveFloor({ ...base, upper: [100], confidence: 0.79, confidenceThreshold: 0.7 }).kind, "floor");
    const bad = predictiveFloor({ ...base, upper: [Number.NaN] });
    assert.equal(bad.kind === "fallback" && bad.reason, "invalid-forecast");
    const none = predictiveFloor({ ...base, upper: [], confidence: undefined });
    assert.equal(none.kind === "fallback" && none.reason, "no-model");
    const stale = predictiveFloor({ ...base, upper: [100], staleSteps: 5 });
    assert.equal(stale.kind === "fallback" && stale.reason, "missing-data");
    assert.throws(() => predictiveFloor({ ...base, upper: [100], confidenceThreshold: 2 }), /must be a number from 0 to 1/);
    assert.throws(() => predictiveFloor({ ...base, upper: [100], range: { min: 5, max: 3 } }), /range.max = 3/);
  });
});
