/**
 * Online adaptation between daily fits (automation/forecast/online.ts, issue 14): adaptive conformal
 * inference (Gibbs & Candès 2021) per horizon and the intraday re-weighting of the combination —
 * the update rule, its long-run coverage under a distribution shift, hysteresis, and that nothing
 * reads a bucket at or after the forecast's origin.
 */
import { strict as assert } from "node:assert";
import { disposeEnsemble, fitEnsembleAt, forecastEnsembleAt, resample, resolveForecastOptions, type ModelDefinition, type RegularSeries, type Sample } from "../../automation/forecast";
import { gaussian, mulberry32 } from "../../automation/backtest/synthetic";
import { aciOffsets, aciUpdate, choose, dailyCandidate, issue, newOnlineState, observe, scoreOf, type OnlineSettings } from "../../automation/forecast/online";

const STEP = 15 * 60_000;
const T0 = Date.UTC(2024, 0, 1);

const rng = mulberry32;
const normals = (r: () => number) => () => gaussian(r);

function rawSeries(n: number): RegularSeries {
  return {
    startMs: T0,
    stepMs: STEP,
    mean: new Float64Array(n),
    max: new Float64Array(n),
    observed: new Uint8Array(n).fill(1),
    quality: { samples: n, dropped: 0, emptyBuckets: 0 } as unknown as RegularSeries["quality"],
  };
}

const settings = (o: Partial<OnlineSettings> = {}): OnlineSettings => ({ gamma: 0.01, alpha: 0.2, halfLifeSteps: 12, margin: 0.05, minMass: 4, ...o });

describe("online adaptation: adaptive conformal inference (ACI)", function () {
  it("the update rule: α_{t+1} = α_t + γ(α − err_t)", () => {
    assert.ok(Math.abs(aciUpdate(0.2, 0.01, 0.2, true) - 0.192) < 1e-12, "a miss lowers α (wider interval)");
    assert.ok(Math.abs(aciUpdate(0.2, 0.01, 0.2, false) - 0.202) < 1e-12, "a hit raises α (narrower interval)");
    assert.equal(aciUpdate(0.3, 0, 0.2, true), 0.3, "γ = 0 keeps the level");
    // Four hits and one miss at α = 0.2 leave α where it was.
    let a = 0.2;
    for (const miss of [false, false, true, false, false]) a = aciUpdate(a, 0.05, 0.2, miss);
    assert.ok(Math.abs(a - 0.2) < 1e-12);
  });

  it("under a distribution shift the realised miscoverage returns to α; the fixed level does not", () => {
    // Calibration residuals from N(0, 1); after the first 500 steps the errors come from N(0, 2).
    const g = normals(rng(3));
    const sorted = Float64Array.from({ length: 2000 }, () => g()).sort();
    const run = (gamma: number) => {
      const T = 6000;
      const series = rawSeries(T + 1);
      const s = newOnlineState(1, settings({ gamma, halfLifeSteps: 0 }));
      const e = normals(rng(11));
      let misses = 0;
      let counted = 0;
      for (let t = 0; t < T; t++) {
        observe(s, series, t, 1e-9);
        const q = aciOffsets(s, 1, sorted);
        const point = 100;
        const lower = point + q.lo * point;
        const upper = point + q.hi * point;
        issue(s, t, [lower], [upper], new Map());
        const actual = point + (t < 500 ? 1 : 2) * e() * point;
        series.mean[t] = actual;
        if (t >= 1000) {
          counted++;
          if (actual < lower || actual > upper) misses++;
        }
      }
      return misses / counted;
    };
    const fixed = run(0);
    const adaptive = run(0.01);
    assert.ok(fixed > 0.4, `fixed level misses ${fixed} (N(0,2) outside the N(0,1) 80% interval ≈ 0.52)`);
    assert.ok(Math.abs(adaptive - 0.2) < 0.03, `ACI misses ${adaptive}, expected ≈ 0.2`);
  });

  it("an interval is scored only when its target is history: observe(origin) reads no bucket ≥ origin", () => {
    const H = 4;
    const a = rawSeries(40);
    const b = rawSeries(40);
    for (let t = 0; t < 40; t++) a.mean[t] = b.mean[t] = 100;
    // b differs from a from bucket 12 on: far outside every interval.
    for (let t = 12; t < 40; t++) b.mean[t] = 1000;
    const sa = newOnlineState(H, settings());
    const sb = newOnlineState(H, settings());
    for (const s of [sa, sb]) issue(s, 10, [90, 90, 90, 90], [110, 110, 110, 110], new Map([[dailyCandidate, [100, 100, 100, 100]]]));
    for (const origin of [10, 11, 12]) {
      observe(sa, a, origin, 1);
      observe(sb, b, origin, 1);
      assert.deepEqual(Array.from(sb.alpha), Array.from(sa.alpha), `origin ${origin}`);
      assert.deepEqual(Array.from(sb.scored), Array.from(sa.scored), `origin ${origin}`);
    }
    // At origin 12, targets 10 and 11 (h = 1, 2) are scored, h = 3, 4 are not yet.
    assert.deepEqual(Array.from(sa.scored), [1, 1, 0, 0]);
    observe(sa, a, 14, 1);
    observe(sb, b, 14, 1);
    assert.deepEqual(Array.from(sa.scored), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(sb.misses), [0, 0, 1, 1], "b's future was scored once it became history");
    assert.equal(sa.pending.size, 0, "fully scored issues are dropped");
  });
});

describe("online adaptation: options", function () {
  it("rejects bad settings, naming the key, the value and what is allowed", () => {
    assert.throws(() => resolveForecastOptions({ adaptiveConformalGamma: -0.1 }), /adaptiveConformalGamma = -0.1: must be a number from 0 to 0.5/);
    assert.throws(() => resolveForecastOptions({ intradayHalfLifeHours: Number.NaN }), /intradayHalfLifeHours = null: must be a number from 0 to 168/);
    assert.throws(() => resolveForecastOptions({ intradaySwitchMargin: 1 }), /intradaySwitchMargin = 1: must be a number from 0 to 0.9/);
    assert.throws(() => resolveForecastOptions({ intradayBlend: 2 }), /intradayBlend = 2: must be a number from 0 to 1/);
  });
});

describe("online adaptation: intraday re-weighting", function () {
  it("hysteresis: a candidate within the margin does not take over; a clearly better one does", () => {
    const s = newOnlineState(1, settings({ margin: 0.1, halfLifeSteps: 1000 }));
    const series = rawSeries(100);
    for (let t = 0; t < 100; t++) series.mean[t] = 100;
    // daily errs 5%, a errs 4.7% (6% better: inside the 10% margin), b errs 10%.
    for (let t = 0; t < 20; t++) issue(s, t, [Number.NaN], [Number.NaN], new Map([[dailyCandidate, [105]], ["a", [104.7]], ["b", [110]]]));
    observe(s, series, 20, 1);
    assert.ok(scoreOf(s, "a", 1) < scoreOf(s, dailyCandidate, 1));
    assert.equal(choose(s, 1, [dailyCandidate, "a", "b"]), dailyCandidate);
    // Now a is exact for a while: its score drops well below daily's.
    for (let t = 20; t < 60; t++) issue(s, t, [Number.NaN], [Number.NaN], new Map([[dailyCandidate, [105]], ["a", [100]], ["b", [110]]]));
    observe(s, series, 60, 1);
    assert.equal(choose(s, 1, [dailyCandidate, "a", "b"]), "a");
    // A candidate without a forecast at this origin is not chosen.
    assert.equal(choose(s, 1, [dailyCandidate, "b"]), dailyCandidate);
  });

  it("after a level shift the ensemble follows the member that tracks it within hours, with no look-ahead", () => {
    // Truth: a daily sine at level 100, +60% from the shift on (day 9, 06:00).
    const days = 12;
    const shiftAt = 9 * 96 + 24;
    const truthAt = (k: number) => (k >= shiftAt ? 1.6 : 1) * (100 + 30 * Math.sin((2 * Math.PI * (k % 96)) / 96));
    const samples: Sample[] = Array.from({ length: days * 96 }, (_, k) => ({ t: T0 + k * STEP, v: truthAt(k) }));
    const fake = (name: string, value: (s: RegularSeries, origin: number, target: number) => number): ModelDefinition<null> => ({
      name,
      kind: "model",
      minTrainingSteps: () => 96,
      fit: () => null,
      forecast: (_p, s, origin, h) => Float64Array.from({ length: h }, (_, i) => value(s, origin, origin + i)),
    });
    // "seasonal": the sine at level 100 (1% high): perfect before the shift, 37% low after.
    // "tracking": the sine scaled by the last bucket's level ratio: 3% high always.
    const seasonal = fake("seasonal", (_s, _o, t) => 1.01 * (100 + 30 * Math.sin((2 * Math.PI * (t % 96)) / 96)));
    const tracking = fake("tracking", (s, o, t) => {
      const ratio = s.mean[o - 1]! / (100 + 30 * Math.sin((2 * Math.PI * ((o - 1) % 96)) / 96));
      return 1.03 * ratio * (100 + 30 * Math.sin((2 * Math.PI * (t % 96)) / 96));
    });
    const run = (series: RegularSeries, o: Parameters<typeof resolveForecastOptions>[0], until: number) => {
      const opts = resolveForecastOptions(o);
      const fitAt = 9 * 96;
      const state = fitEnsembleAt(series, fitAt, opts, { members: [seasonal, tracking] });
      const out: { intraday?: readonly string[]; alpha?: readonly number[]; point: number[]; lower: number[]; upper: number[] }[] = [];
      try {
        for (let k = fitAt; k <= until; k++) {
          const f = forecastEnsembleAt(state, k, 4);
          out.push({ intraday: f.intraday, alpha: f.alpha, point: f.point, lower: f.lower, upper: f.upper });
        }
      } finally {
        disposeEnsemble(state);
      }
      return out;
    };
    const series = resample(samples, STEP);
    const on = run(series, {}, shiftAt + 24);
    assert.equal(on[0]!.intraday![3], dailyCandidate, "before the shift the day's combination is used");
    const at = (k: number) => on[k - 9 * 96]!;
    assert.equal(at(shiftAt + 24).intraday![3], "tracking", `6 h after the shift the tracking member is used 1 h ahead: ${JSON.stringify(at(shiftAt + 24).intraday)}`);
    const off = run(series, { intradayHalfLifeHours: 0 }, shiftAt + 24);
    assert.equal(off.at(-1)!.intraday, undefined, "intradayHalfLifeHours = 0: the daily combination all day");
    // 4 h after the shift, 1 h ahead: intraday error well below the daily combination's.
    const k = shiftAt + 16;
    const err = (x: { point: number[] }) => Math.abs(x.point[3]! - truthAt(k + 3)) / truthAt(k + 3);
    assert.ok(err(at(k)) < 0.1 && err(off[k - 9 * 96]!) > 0.3, `intraday ${err(at(k))} vs daily ${err(off[k - 9 * 96]!)}`);

    // No look-ahead: the same run on a series that differs from bucket X on gives the same
    // forecasts (points, intervals, choices) at every origin ≤ X.
    const X = shiftAt - 20;
    const changed = resample(samples.map((s, i) => (i >= X ? { t: s.t, v: s.v * 3 } : s)), STEP);
    const other = run(changed, {}, shiftAt + 24);
    for (let kk = 9 * 96; kk <= X; kk++) assert.deepEqual(other[kk - 9 * 96], on[kk - 9 * 96], `origin ${kk}`);
    assert.notDeepEqual(other[X + 5 - 9 * 96], on[X + 5 - 9 * 96], "once the changed buckets are history, forecasts differ");
  });
});
