/**
 * Forecasting what a replica floor needs: the PEAK of the coming buckets, not their mean.
 *
 * A 15-minute bucket's mean hides its spikes; the floor must cover the bucket's max (the load of its
 * worst sample). The peak forecast of bucket k at horizon h is
 *
 *   peak(k) = max(f(k), ℓ) · ratio(slot(k)) · exp(q_τ(h))
 *
 * - f: the ensemble's point forecast of the bucket mean; ℓ the level floor (1% of the mean);
 * - ratio(slot): the peak-to-mean ratio of the slot — the median of max/mean over the training
 *   window's observed buckets in the same hour of the week (hour of the day with < 14 days of
 *   history; slots with fewer than `minPerSlot` buckets use the median over all buckets);
 * - q_τ(h): split-conformal correction — the τ-quantile of log(actual max / (max(f, ℓ)·ratio)) over
 *   the out-of-sample forecasts of the calibration pool at horizon h (pooled over horizons when a
 *   horizon has fewer than `minResiduals`);
 * - τ from an asymmetric loss (the newsvendor's critical ratio): a missing replica costs
 *   `costUnder`, a spare one `costOver`, and the quantile that minimises the expected cost is
 *   τ = costUnder / (costUnder + costOver).
 *
 * All functions here are pure; the ensemble (ensemble.ts) fits the ratio and the calibration daily.
 */
import type { ForecastBlock } from "./model";
import { quantile } from "./model";
import type { RegularSeries } from "./types";

/** The quantile minimising the expected pinball cost when being short costs `costUnder` and being long `costOver` per unit. */
export function asymmetricQuantileLevel(costUnder: number, costOver: number): number {
  for (const [k, v] of [["costUnder", costUnder], ["costOver", costOver]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RangeError(`${k} = ${JSON.stringify(v)}: must be a positive number`);
  }
  return costUnder / (costUnder + costOver);
}

/** Pinball (quantile) loss of a forecast f for an actual a at level τ: τ(a−f) if a ≥ f, else (1−τ)(f−a). */
export function pinballLoss(actual: number, forecast: number, tau: number): number {
  const d = actual - forecast;
  return d >= 0 ? tau * d : (tau - 1) * d;
}

export interface PeakRatioModel {
  /** "hour-of-week" (168 slots) or "hour-of-day" (24 slots). */
  readonly slotKind: "hour-of-week" | "hour-of-day";
  /** Median max/mean per slot (the global median where a slot has too few buckets). */
  readonly ratio: Float64Array;
  /** Median over every observed bucket of the window. */
  readonly globalRatio: number;
}

export interface PeakRatioOptions {
  /** Local time of a bucket start: dow 0-6 (Monday 0) and minute of day. */
  readonly localOf: (tMs: number) => { readonly dow: number; readonly minuteOfDay: number };
  /** Fewest buckets a slot needs for its own ratio (default 4). */
  readonly minPerSlot?: number;
  /** Days of history from which hour-of-week slots are used (default 14: two of each). */
  readonly weeklyFromDays?: number;
}

function slotOf(kind: PeakRatioModel["slotKind"], l: { dow: number; minuteOfDay: number }): number {
  const hour = Math.min(23, Math.floor(l.minuteOfDay / 60));
  return kind === "hour-of-week" ? l.dow * 24 + hour : hour;
}

function median(xs: number[]): number {
  if (!xs.length) return Number.NaN;
  return quantile(Float64Array.from(xs).sort(), 0.5);
}

/** Peak-to-mean ratio by hour of week (or day) over the observed buckets [start, end). */
export function fitPeakRatio(series: RegularSeries, start: number, end: number, floor: number, o: PeakRatioOptions): PeakRatioModel {
  const minPer = o.minPerSlot ?? 4;
  const days = ((end - start) * series.stepMs) / 86_400_000;
  const slotKind: PeakRatioModel["slotKind"] = days >= (o.weeklyFromDays ?? 14) ? "hour-of-week" : "hour-of-day";
  const n = slotKind === "hour-of-week" ? 168 : 24;
  const per: number[][] = Array.from({ length: n }, () => []);
  const all: number[] = [];
  for (let k = Math.max(0, start); k < end; k++) {
    if (series.observed[k] !== 1) continue;
    const r = Math.max(series.max[k]!, floor) / Math.max(series.mean[k]!, floor);
    if (!Number.isFinite(r)) continue;
    per[slotOf(slotKind, o.localOf(series.startMs + k * series.stepMs))]!.push(r);
    all.push(r);
  }
  const globalRatio = all.length ? Math.max(1, median(all)) : 1;
  const ratio = new Float64Array(n);
  for (let s = 0; s < n; s++) ratio[s] = per[s]!.length >= minPer ? Math.max(1, median(per[s]!)) : globalRatio;
  return { slotKind, ratio, globalRatio };
}

export function peakRatioAt(m: PeakRatioModel, local: { dow: number; minuteOfDay: number }): number {
  return m.ratio[slotOf(m.slotKind, local)]!;
}

export interface PeakCalibration {
  /** τ: the level of the peak quantile. */
  readonly level: number;
  /** Per horizon h = 1…H (index h−1): the τ-quantile of the log peak residuals. */
  readonly q: number[];
  /** Out-of-sample share of bucket peaks at or below their τ-quantile forecast (leave one block out); NaN when not estimable. */
  readonly coverage: number;
  /** Residuals per horizon. */
  readonly n: number[];
}

/**
 * Split-conformal calibration of the peak quantile from out-of-sample forecast blocks (rolling
 * origins; `forecasts[k × H + h − 1]`, NaN = none). `ratioAt(bucket)` is the peak-to-mean ratio of the
 * target bucket. Only observed target buckets before `end` count. Undefined when there are fewer
 * than `minResiduals` residuals in all.
 */
export function calibratePeak(
  blocks: readonly ForecastBlock[],
  series: RegularSeries,
  end: number,
  horizon: number,
  floor: number,
  ratioAt: (bucket: number) => number,
  level: number,
  minResiduals: number,
): PeakCalibration | undefined {
  if (!(level > 0 && level < 1)) throw new RangeError(`peak quantile level = ${level}: must be within (0, 1)`);
  const byH: number[][] = Array.from({ length: horizon }, () => []);
  const perBlock: number[][][] = [];
  for (const b of blocks) {
    const mine: number[][] = Array.from({ length: horizon }, () => []);
    perBlock.push(mine);
    for (let k = 0; k < b.steps; k++) {
      for (let h = 1; h <= horizon; h++) {
        const target = b.start + k + h - 1;
        if (target >= end || target < 0 || series.observed[target] !== 1) continue;
        const f = b.forecasts[k * horizon + h - 1]!;
        if (!Number.isFinite(f)) continue;
        const r = Math.log(Math.max(series.max[target]!, floor) / (Math.max(f, floor) * ratioAt(target)));
        if (!Number.isFinite(r)) continue;
        byH[h - 1]!.push(r);
        mine[h - 1]!.push(r);
      }
    }
  }
  const pooled = byH.flat();
  if (pooled.length < minResiduals) return undefined;
  const sorted = (xs: readonly number[]) => Float64Array.from(xs).sort();
  const pooledSorted = sorted(pooled);
  const q = byH.map((r) => quantile(r.length >= minResiduals ? sorted(r) : pooledSorted, level));
  // Leave one block out: each block's residuals against the quantile of the others.
  let inside = 0;
  let counted = 0;
  const filled = perBlock.filter((b) => b.some((r) => r.length));
  if (filled.length >= 2) {
    for (let i = 0; i < filled.length; i++) {
      for (let h = 0; h < horizon; h++) {
        const others: number[] = [];
        for (let j = 0; j < filled.length; j++) if (j !== i) others.push(...filled[j]![h]!);
        if (others.length < minResiduals) continue;
        const qq = quantile(sorted(others), level);
        for (const r of filled[i]![h]!) if (r <= qq) inside++;
        counted += filled[i]![h]!.length;
      }
    }
  }
  return { level, q, coverage: counted ? inside / counted : Number.NaN, n: byH.map((r) => r.length) };
}

/** The peak forecast: max(f, ℓ) · ratio · exp(q). Non-finite inputs give NaN (the caller falls back). */
export function peakForecast(point: number, ratio: number, q: number, floor: number): number {
  if (!Number.isFinite(point) || !Number.isFinite(ratio) || !Number.isFinite(q)) return Number.NaN;
  return Math.max(point, floor) * ratio * Math.exp(q);
}
