/**
 * Shared types of the predictive engine's forecasters.
 *
 * Every forecaster works on a regular grid of buckets (15 minutes by default) anchored to the epoch:
 * bucket i covers [startMs + i·stepMs, startMs + (i+1)·stepMs). Raw samples are resampled onto it
 * with the mean per bucket (what the models fit), keeping the max per bucket (what capacity must
 * cover at the trace's native resolution).
 */

/** One raw observation: epoch milliseconds and a value (load). */
export interface Sample {
  readonly t: number;
  readonly v: number;
}

/** Forecast at consecutive steps after the end of the history (index 0 = the next bucket). */
export interface ForecastOutput {
  readonly point: number[];
  /** Lower bound of the central interval (80% by default). */
  readonly lower: number[];
  /** Upper bound of the central interval (80% by default). */
  readonly upper: number[];
}

/** How the raw samples became the regular series. */
export interface ResampleQuality {
  /** Samples given. */
  readonly samples: number;
  /** Samples dropped because the time or the value was not a finite number. */
  readonly nonFinite: number;
  /** Samples dropped because the value was negative (a load cannot be). */
  readonly negative: number;
  /** Samples kept. */
  readonly used: number;
  /** Buckets without any valid sample (filled by holding the previous bucket's value). */
  readonly emptyBuckets: number;
  /** Longest run of empty buckets. */
  readonly longestGapBuckets: number;
}

export interface RegularSeries {
  /** Start of bucket 0, epoch ms; a multiple of stepMs. */
  readonly startMs: number;
  readonly stepMs: number;
  /** Mean of the valid samples per bucket; empty buckets hold the previous bucket's value (causal). */
  readonly mean: Float64Array;
  /** Max of the valid samples per bucket; empty buckets hold the previous bucket's value. */
  readonly max: Float64Array;
  /** 1 where the bucket had at least one valid sample, 0 where it was filled. */
  readonly observed: Uint8Array;
  readonly quality: ResampleQuality;
}

/** A forecast failed a check (guard) or could not be made; the reason is meant for people. */
export interface Exclusion {
  readonly name: string;
  readonly reason: string;
}

/** Not enough history for what was asked; `reason` says how much there is and how much is needed. */
export class InsufficientHistoryError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "InsufficientHistoryError";
  }
}

/** A forecast failed the guard (non-finite, above the range or negative for a non-negative series). */
export class ForecastGuardError extends Error {
  constructor(readonly model: string, readonly reason: string) {
    super(`${model}: ${reason}`);
    this.name = "ForecastGuardError";
  }
}

/** Invalid forecaster options; lists every problem. */
export class ForecastOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid forecast options (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
    this.name = "ForecastOptionsError";
  }
}
