/**
 * Raw samples → a regular series of buckets (mean and max per bucket).
 *
 * - Samples whose time or value is not finite, or whose value is negative, are dropped and counted.
 * - Buckets are aligned to multiples of the step since the epoch, so two series at the same step
 *   share one grid.
 * - Empty buckets hold the previous bucket's value (mean and max). Holding is causal: a filled
 *   bucket never uses data from after it, so rolling-origin forecasts never see the future.
 */
import type { RegularSeries, Sample } from "./types";

export interface ResampleOptions {
  /** First bucket start, epoch ms (rounded down to the grid). Default: the first valid sample's bucket. */
  readonly startMs?: number;
  /** End (exclusive), epoch ms. Default: just after the last valid sample's bucket. */
  readonly endMs?: number;
}

export function resample(samples: readonly Sample[], stepMs: number, opts: ResampleOptions = {}): RegularSeries {
  if (!(stepMs > 0) || !Number.isFinite(stepMs)) throw new RangeError(`step ${stepMs} ms must be a positive number`);
  let nonFinite = 0;
  let negative = 0;
  const valid: Sample[] = [];
  let sorted = true;
  for (const s of samples) {
    if (!Number.isFinite(s.t) || !Number.isFinite(s.v)) {
      nonFinite++;
      continue;
    }
    if (s.v < 0) {
      negative++;
      continue;
    }
    if (valid.length && s.t < valid[valid.length - 1]!.t) sorted = false;
    valid.push(s);
  }
  if (!sorted) valid.sort((a, b) => a.t - b.t);
  const startMs = Math.floor((opts.startMs ?? (valid.length ? valid[0]!.t : 0)) / stepMs) * stepMs;
  const endMs = opts.endMs ?? (valid.length ? Math.floor(valid[valid.length - 1]!.t / stepMs) * stepMs + stepMs : startMs);
  const n = Math.max(0, Math.ceil((endMs - startMs) / stepMs));
  const sum = new Float64Array(n);
  const count = new Uint32Array(n);
  const max = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  let used = 0;
  for (const s of valid) {
    const i = Math.floor((s.t - startMs) / stepMs);
    if (i < 0 || i >= n) continue;
    sum[i] += s.v;
    count[i]++;
    if (s.v > max[i]!) max[i] = s.v;
    used++;
  }
  const mean = new Float64Array(n);
  const observed = new Uint8Array(n);
  let emptyBuckets = 0;
  let run = 0;
  let longestGapBuckets = 0;
  // Leading empty buckets (before any sample) take the first observed value: there is nothing earlier.
  let firstObserved = -1;
  for (let i = 0; i < n; i++) if (count[i]! > 0) { firstObserved = i; break; }
  let lastMean = firstObserved >= 0 ? sum[firstObserved]! / count[firstObserved]! : 0;
  let lastMax = firstObserved >= 0 ? max[firstObserved]! : 0;
  for (let i = 0; i < n; i++) {
    if (count[i]! > 0) {
      mean[i] = sum[i]! / count[i]!;
      observed[i] = 1;
      lastMean = mean[i]!;
      lastMax = max[i]!;
      run = 0;
    } else {
      mean[i] = lastMean;
      max[i] = lastMax;
      emptyBuckets++;
      run++;
      if (run > longestGapBuckets) longestGapBuckets = run;
    }
  }
  return {
    startMs,
    stepMs,
    mean,
    max,
    observed,
    quality: { samples: samples.length, nonFinite, negative, used, emptyBuckets, longestGapBuckets },
  };
}

/** Index of the bucket containing time t (may be out of range). */
export function bucketIndex(series: Pick<RegularSeries, "startMs" | "stepMs">, t: number): number {
  return Math.floor((t - series.startMs) / series.stepMs);
}

/** Start time of bucket i. */
export function bucketTime(series: Pick<RegularSeries, "startMs" | "stepMs">, i: number): number {
  return series.startMs + i * series.stepMs;
}

/** Buckets at the end of [0, end) that were filled rather than observed. */
export function trailingUnobserved(series: RegularSeries, end: number): number {
  let k = 0;
  for (let i = end - 1; i >= 0 && series.observed[i] === 0; i--) k++;
  return k;
}
