/**
 * The engine the service runs and the backtest drives (automation/forecast/live.ts): the gate's
 * four refusals of issue 20 (frozen 24 h, frozen 6 h, data stopped 55 minutes ago, patternless
 * noise), each with its reason, against a seasonal control that passes; and the state: a snapshot
 * restored mid-day continues bit for bit like the engine that never stopped, across the next
 * chained daily fit.
 */
import assert from "node:assert/strict";
import { decideFloor } from "../../automation/forecast/decision";
import { LiveForecaster, defaultLiveSettings, type LiveStep } from "../../automation/forecast/live";
import { resolveForecastOptions } from "../../automation/forecast/options";
import { mulberry32 } from "../../automation/backtest/synthetic";
import type { Sample } from "../../automation/forecast/types";

const DAY = 86_400_000;
const STEP = 15 * 60_000;
const t0 = Date.UTC(2026, 4, 4); // a Monday, 00:00 UTC
const opts = resolveForecastOptions({ trainingDays: 30, calendar: { timezone: "UTC" } });

/** 5-minute samples of a daily cycle (100 at night, 300 mid-afternoon) with ±3% seeded noise. */
function seasonal(days: number, seed = 1): Sample[] {
  const rnd = mulberry32(seed);
  const out: Sample[] = [];
  for (let t = t0; t < t0 + days * DAY; t += 5 * 60_000) {
    const h = ((t % DAY) / DAY) * 2 * Math.PI;
    out.push({ t, v: (200 - 100 * Math.cos(h - Math.PI / 6)) * (1 + 0.06 * (rnd() - 0.5)) });
  }
  return out;
}

/** Feeds the samples as the collector would (each 15-minute window, then one step), from day 4 until `nowMs`. */
function runUntil(samples: readonly Sample[], nowMs: number, lf = new LiveForecaster(opts, defaultLiveSettings)): { lf: LiveForecaster; last: LiveStep } {
  const start = t0 + 4 * DAY;
  lf.ingest(samples.filter((s) => s.t <= start));
  let last = lf.step(start + 1);
  for (let t = start + STEP; t <= nowMs; t += STEP) {
    lf.ingest(samples.filter((s) => s.t > t - STEP && s.t <= t));
    last = lf.step(t + 1);
  }
  return { lf, last };
}

describe("the live engine (the service's and the backtest's path)", function () {
  this.timeout(300_000);
  const now = t0 + 6 * DAY + 10 * 3_600_000; // Saturday 10:00

  it("a seasonal series passes the gate with an out-of-sample confidence and realised accuracy", () => {
    const { lf, last } = runUntil(seasonal(7), now);
    assert.equal(last.fallback, undefined, JSON.stringify(last.fallback));
    assert.ok(last.confidence! > 0.8 && last.confidence! <= 1, `confidence ${last.confidence}`);
    assert.ok(last.accuracy.nDecision >= 96 - 2, "a day of realised decision-horizon forecasts");
    assert.ok(last.accuracy.mape < 0.1, `MAPE ${last.accuracy.mape}`);
    assert.ok(last.accuracy.decisionMape.ensemble < last.accuracy.decisionMape.persistence);
    assert.equal(last.forecast!.peak.length, 4);
    assert.equal(last.originMs, now, "the forecast starts at now's bucket: complete buckets only");
    lf.dispose();
  });

  for (const [hours, label] of [[24, "24 h"], [6, "6 h"]] as const) {
    it(`a series frozen for the last ${label} falls back: flat-series`, () => {
      const s = seasonal(7);
      const from = now - hours * 3_600_000;
      const frozen = s.filter((x) => x.t < from).at(-1)!.v;
      const { lf, last } = runUntil(s.map((x) => (x.t >= from ? { t: x.t, v: frozen } : x)), now);
      assert.equal(last.fallback?.reason, "flat-series", JSON.stringify(last));
      assert.match(last.fallback!.detail, /last 120 min/);
      lf.dispose();
    });
  }

  it("data that stopped 55 minutes ago falls back: stale-data (judged against now, not the end of the data)", () => {
    const s = seasonal(7).filter((x) => x.t <= now - 55 * 60_000);
    const { lf, last } = runUntil(s, now);
    assert.equal(last.fallback?.reason, "stale-data", JSON.stringify(last.fallback));
    assert.match(last.fallback!.detail, /55 min ago/);
    lf.dispose();
  });

  it("independent ±10% noise with no pattern falls back: no-pattern", () => {
    const rnd = mulberry32(7);
    const s = seasonal(7).map((x) => ({ t: x.t, v: 200 * (1 + 0.2 * (rnd() - 0.5)) }));
    const { lf, last } = runUntil(s, now);
    assert.equal(last.fallback?.reason, "no-pattern", JSON.stringify({ f: last.fallback, a: last.accuracy, c: last.confidence }));
    lf.dispose();
  });

  it("a snapshot restored mid-day continues exactly like the engine that never stopped, through the next chained fit", () => {
    const s = seasonal(8, 3);
    const mid = t0 + 6 * DAY + 13 * 3_600_000;
    const { lf: a } = runUntil(s, mid);
    const snap = a.snapshot();
    const b = LiveForecaster.restore(opts, defaultLiveSettings, snap, s.filter((x) => x.t <= mid));
    let fits = 0;
    for (let t = mid + STEP; t <= t0 + 7 * DAY + 2 * 3_600_000; t += STEP) {
      const batch = s.filter((x) => x.t > t - STEP && x.t <= t);
      a.ingest(batch);
      b.ingest(batch);
      const x = a.step(t + 1);
      const y = b.step(t + 1);
      assert.equal(x.fitted, y.fitted);
      if (x.fitted) fits++;
      assert.deepEqual(y.forecast?.peak, x.forecast?.peak, `peak at ${new Date(t).toISOString()}`);
      assert.deepEqual(y.forecast?.point, x.forecast?.point);
      assert.equal(y.confidence, x.confidence);
      assert.deepEqual(y.fallback, x.fallback);
    }
    assert.equal(fits, 1, "the midnight fit, chained on the restored fit");
    assert.ok(a.fitted!.notes.every((n) => !/held-out/.test(n)));
    a.dispose();
    b.dispose();
  });
});

describe("decideFloor: the one decision function (service, backtest, cost replay)", () => {
  const base = { range: { min: 2, max: 25 }, policyCeiling: 20, current: 2, maxStepUp: 4, maxStepDown: 2, confidenceThreshold: 0.8 };
  it("sizes the floor from the signal that needs most replicas, at each signal's capacity per replica", () => {
    // 430 req/s at 143 per replica → 4 (3.01); 90 connections at 20 per replica → 5 (4.5): 5.
    const r = decideFloor({ ...base, signals: [{ peak: [400, 430], capacityPerReplica: 143 }, { peak: [90, 60], capacityPerReplica: 20 }], confidence: 0.9 });
    assert.deepEqual(r, { kind: "floor", replicas: 5, needed: 5, limitedBy: [] });
    assert.deepEqual(decideFloor({ ...base, signals: [{ peak: [400], capacityPerReplica: 10 }], confidence: 0.9 }), { kind: "floor", replicas: 6, needed: 40, limitedBy: ["policy-ceiling", "step-up"] });
    assert.equal(decideFloor({ ...base, signals: [{ peak: [40], capacityPerReplica: 10 }], confidence: 0.79 }).kind, "fallback");
  });
  it("passes the gate's fallback through with its reason, and refuses a non-positive capacity", () => {
    assert.deepEqual(decideFloor({ ...base, signals: [{ peak: [40], capacityPerReplica: 10 }], confidence: 0.95, fallback: { reason: "flat-series", detail: "frozen" } }), { kind: "fallback", reason: "flat-series", detail: "frozen" });
    assert.throws(() => decideFloor({ ...base, signals: [{ peak: [40], capacityPerReplica: 0 }], confidence: 0.95 }), /capacityPerReplica = 0: must be a positive number/);
  });
});
