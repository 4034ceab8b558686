/**
 * The predictive engine as the automation service runs it, one instance per load series — and the
 * backtest drives the very same class from a simulated collector (automation/backtest/predictive.ts).
 *
 * - **Complete buckets only.** Raw samples (at the collector's resolution) are buffered per bucket;
 *   a bucket enters the series when `now` has passed its end. The bucket holding `now` (the
 *   collector's last sample is at `now`'s step) is never forecast from.
 * - **Chained daily fits.** The ensemble is fitted once a local day (and when there is no fit, e.g.
 *   on start) on the last `trainingDays`, with the previous day's fit given: its forecasts as issued
 *   are the validation day, its adaptive-interval levels and intraday weights carry over.
 * - **Per bucket**: the completed buckets are scored (issued forecasts meet their actuals), then one
 *   forecast from the current bucket (origin = now's bucket) covers it and the next ones.
 * - **An honest gate** (`gate`): fresh data (the last complete bucket observed), not flat for longer
 *   than `flatMinutes`, a detectable pattern (the ensemble's issued forecasts better than persistence
 *   and than the last day's mean over the window), and the confidence computed out of sample on the
 *   issued peak forecasts at the decision horizon. Each fallback carries its reason.
 * - **State** (`snapshot`/`restore`): the fit (everything but the member parameters, which are
 *   refitted deterministically from the same buckets on restore) and the live part (adaptive levels,
 *   intraday errors, forecasts as issued, accuracy window) as JSON, so a restarted or failed-over
 *   service resumes the chain.
 */
import { Calendar } from "./calendar";
import { baselineDefinitions, defaultMemberDefinitions, disposeEnsemble, fitEnsembleAt, forecastEnsembleAt, type EnsembleForecast, type EnsembleState, type MemberState } from "./ensemble";
import { absolutePercentageError, DAY_MS, makeContext } from "./model";
import type { ForecastOptions } from "./options";
import { peakForecast, peakRatioAt } from "./peak";
import { InsufficientHistoryError, type RegularSeries, type ResampleQuality, type Sample } from "./types";

/** Why a forecast is not used for a floor (reactive scaling alone). */
export type GateReason = "no-model" | "stale-data" | "flat-series" | "warming-up" | "no-pattern";

export interface LiveSettings {
  /** Buckets the floor covers from the current one (2: this bucket and the next, for pod start and the update). */
  readonly coverSteps: number;
  /** A series flat (every sample the same value) for longer than this falls back (`flat-series`). */
  readonly flatMinutes: number;
  /** Realised buckets the out-of-sample accuracy and the confidence are computed over (96 = one day). */
  readonly scoreWindowSteps: number;
  /** Fewest scored forecasts in the window before the gate trusts it (`warming-up` below). */
  readonly minScored: number;
  /** The ensemble must be at least this much better (relative MAPE) than the better of persistence and the day's mean, else `no-pattern` (default 0.05: on white noise the ensemble matches the mean within ~1%). */
  readonly patternMargin: number;
  /** Capacity of the in-memory series beyond the training window, days (a rebase, and one cold fit, when full). */
  readonly spareDays?: number;
}

export const defaultLiveSettings: LiveSettings = { coverSteps: 2, flatMinutes: 120, scoreWindowSteps: 96, minScored: 24, patternMargin: 0.05 };

/** Realised accuracy of the forecasts as issued, over the window. NaN where nothing was scored. */
export interface LiveAccuracy {
  /** MAPE of the bucket-mean forecast at the validation horizon H (1 h); 1 − MAPE is the design's "accuracy". */
  readonly mape: number;
  /** Share of actual bucket means inside the 80% interval issued H steps before. */
  readonly coverage80: number;
  /** MAPE of the peak forecast at the decision horizon (coverSteps) against the realised bucket peak. */
  readonly peakMape: number;
  /** Mean signed relative peak error (actual − forecast) / forecast at the decision horizon (> 0: under-forecast). */
  readonly peakError: number;
  /** Share of realised bucket peaks at or below their τ-quantile forecast (nominal τ). */
  readonly peakCoverage: number;
  /** MAPE at the decision horizon of the ensemble, of persistence and of the last day's mean (the pattern test). */
  readonly decisionMape: { readonly ensemble: number; readonly persistence: number; readonly dayMean: number };
  /** Scored forecasts at H and at the decision horizon. */
  readonly n: number;
  readonly nDecision: number;
}

export interface LiveStep {
  /** Bucket index of now's bucket (the forecast origin) and its start. */
  readonly origin: number;
  readonly originMs: number;
  /** A fit ran in this step (CPU ms of it). */
  readonly fitted: boolean;
  readonly fitCpuMs: number;
  /** CPU ms of the per-bucket part (commit, scoring, forecast, gate). */
  readonly updateCpuMs: number;
  readonly forecast?: EnsembleForecast;
  /** Out-of-sample confidence (0-1) of the peak forecasts as issued; undefined without a forecast. */
  readonly confidence?: number;
  readonly fallback?: { readonly reason: GateReason; readonly detail: string };
  readonly accuracy: LiveAccuracy;
  /** τ of the peak forecast. */
  readonly peakLevel?: number;
}

/** A regular series that grows one complete bucket at a time (same object: the chained fit needs it). */
export class LiveSeries implements RegularSeries {
  readonly mean: Float64Array;
  readonly max: Float64Array;
  readonly observed: Uint8Array;
  readonly quality: ResampleQuality & { samples: number; used: number; nonFinite: number; negative: number; emptyBuckets: number; longestGapBuckets: number };
  /** Buckets committed so far: [0, length). */
  length = 0;
  constructor(readonly startMs: number, readonly stepMs: number, capacity: number) {
    this.mean = new Float64Array(capacity);
    this.max = new Float64Array(capacity);
    this.observed = new Uint8Array(capacity);
    this.quality = { samples: 0, nonFinite: 0, negative: 0, used: 0, emptyBuckets: 0, longestGapBuckets: 0 };
  }
  get capacity(): number {
    return this.mean.length;
  }
  push(mean: number | undefined, max: number | undefined): void {
    const i = this.length;
    if (mean === undefined) {
      this.mean[i] = i > 0 ? this.mean[i - 1]! : 0;
      this.max[i] = i > 0 ? this.max[i - 1]! : 0;
      this.observed[i] = 0;
      this.quality.emptyBuckets++;
    } else {
      this.mean[i] = mean;
      this.max[i] = max!;
      this.observed[i] = 1;
    }
    this.length++;
  }
}

interface Issued {
  readonly origin: number;
  /** Per horizon 1…Hmax. */
  readonly point: Float64Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly peak: Float64Array;
  /** The naive forecasts the pattern test compares with: the last bucket's mean and the last day's mean. */
  readonly persistence: number;
  readonly dayMean: number;
}

interface Scored {
  readonly target: number;
  ape?: number;
  inside?: number;
  peakApe?: number;
  peakErr?: number;
  peakIn?: number;
  apeDecision?: number;
  apePersistence?: number;
  apeDayMean?: number;
}

/** JSON of the fit (written once a day) and of the live part (written every bucket). */
export interface LiveSnapshot {
  readonly version: 1;
  readonly seriesStartMs: number;
  readonly stepMs: number;
  /** Buckets committed when the snapshot was taken. */
  readonly committed: number;
  /** Local day number (days since 1970-01-01, local time) of the last fit attempt. */
  readonly fitDay: string | null;
  readonly fit: string | null;
  readonly live: string;
}

export class LiveForecaster {
  private series: LiveSeries | undefined;
  private pending = new Map<number, { sum: number; n: number; max: number; last: number; first: number }>();
  private state: EnsembleState | undefined;
  private fitDay: string | null = null;
  private noModelReason: string;
  private issued = new Map<number, Issued>();
  private scored: Scored[] = [];
  /** Raw value range of the samples per bucket (flat test), kept for the flat window only. */
  private bucketRange = new Map<number, { min: number; max: number }>();
  private lastSampleMs = Number.NaN;
  readonly calendar: Calendar;
  private readonly stepMs: number;
  private readonly H: number;
  private readonly Hmax: number;

  constructor(readonly opts: ForecastOptions, readonly settings: LiveSettings = defaultLiveSettings, calendar?: Calendar) {
    this.calendar = calendar ?? new Calendar(opts.calendar);
    this.stepMs = opts.stepMinutes * 60_000;
    this.H = opts.horizonSteps;
    this.Hmax = Math.max(this.H, settings.coverSteps);
    this.noModelReason = `fewer than ${opts.minHistoryDays} days of complete buckets`;
    if (!(settings.coverSteps >= 1) || !Number.isInteger(settings.coverSteps)) throw new RangeError(`coverSteps = ${settings.coverSteps}: must be an integer ≥ 1`);
  }

  /** The fitted ensemble (read-only use: reports, tests). */
  get fitted(): EnsembleState | undefined {
    return this.state;
  }
  /** Buckets committed so far, and the series. */
  get live(): LiveSeries | undefined {
    return this.series;
  }
  /** End (epoch ms) of the last committed bucket, or undefined before the first. */
  get committedUntilMs(): number | undefined {
    return this.series ? this.series.startMs + this.series.length * this.stepMs : undefined;
  }

  /** The latest sample ingested (epoch ms), NaN before the first: ingest from just after it. */
  get lastSampleAtMs(): number {
    return this.lastSampleMs;
  }

  /**
   * Buffers raw samples (oldest first). Samples at or before the latest one ingested are ignored
   * (a re-read of the same window), and so are samples of buckets already committed (late).
   */
  ingest(samples: readonly Sample[]): { late: number } {
    let late = 0;
    for (const s of samples) {
      if (!Number.isFinite(s.t) || !Number.isFinite(s.v)) continue;
      if (s.v < 0) continue;
      if (s.t <= this.lastSampleMs) continue;
      const b = Math.floor(s.t / this.stepMs);
      if (this.series && b < this.series.startMs / this.stepMs + this.series.length) {
        late++;
        continue;
      }
      const p = this.pending.get(b);
      if (p) {
        p.sum += s.v;
        p.n++;
        if (s.v > p.max) p.max = s.v;
        const r = this.bucketRange.get(b)!;
        if (s.v < r.min) r.min = s.v;
        if (s.v > r.max) r.max = s.v;
      } else {
        this.pending.set(b, { sum: s.v, n: 1, max: s.v, last: s.v, first: s.v });
        this.bucketRange.set(b, { min: s.v, max: s.v });
      }
      this.lastSampleMs = s.t;
    }
    return { late };
  }

  /** Commits every bucket that ended at or before `nowMs`; scores the forecasts whose targets they are. */
  private commit(nowMs: number): void {
    const nowBucket = Math.floor(nowMs / this.stepMs);
    if (!this.series) {
      if (this.pending.size === 0) return;
      const first = Math.min(...this.pending.keys());
      if (first >= nowBucket) return;
      this.series = new LiveSeries(first * this.stepMs, this.stepMs, this.capacityFor());
    }
    for (;;) {
      if (this.series.length >= this.series.capacity) this.rebase();
      const series = this.series!;
      if (series.startMs / this.stepMs + series.length >= nowBucket) break;
      const b = series.startMs / this.stepMs + series.length;
      const p = this.pending.get(b);
      this.pending.delete(b);
      series.push(p ? p.sum / p.n : undefined, p?.max);
      if (p) {
        series.quality.samples += p.n;
        series.quality.used += p.n;
      }
      this.score(series.length - 1);
    }
    // The flat test needs the raw range of the last flatMinutes only.
    const keepFrom = nowBucket - Math.ceil(this.settings.flatMinutes / this.opts.stepMinutes) - 1;
    for (const b of this.bucketRange.keys()) if (b < keepFrom) this.bucketRange.delete(b);
  }

  private capacityFor(): number {
    const perDay = Math.round(DAY_MS / this.stepMs);
    return Math.round((this.opts.trainingDays + (this.settings.spareDays ?? 35)) * perDay);
  }

  /** The series is full: keep the last training window + 1 day in a new one (the next fit is cold). */
  private rebase(): void {
    const old = this.series!;
    const perDay = Math.round(DAY_MS / this.stepMs);
    const keep = Math.min(old.length, Math.round((this.opts.trainingDays + 1) * perDay));
    const from = old.length - keep;
    const s = new LiveSeries(old.startMs + from * this.stepMs, this.stepMs, this.capacityFor());
    s.mean.set(old.mean.subarray(from, old.length));
    s.max.set(old.max.subarray(from, old.length));
    s.observed.set(old.observed.subarray(from, old.length));
    s.length = keep;
    this.series = s;
    if (this.state) disposeEnsemble(this.state);
    this.state = undefined;
    this.fitDay = null;
    // Issued forecasts and scores refer to bucket indices of the old series.
    const shift = from;
    this.issued = new Map([...this.issued].map(([o, f]) => [o - shift, { ...f, origin: o - shift }]));
    this.scored = this.scored.map((x) => ({ ...x, target: x.target - shift }));
  }

  /** Scores the issued forecasts whose target is bucket `target` (just completed). */
  private score(target: number): void {
    const s = this.series!;
    const floor = this.state?.peak.levelFloor ?? 1e-9;
    const actual = s.mean[target]!;
    const actualPeak = s.max[target]!;
    const rec: Scored = { target };
    if (s.observed[target] === 1) {
      const atH = this.issued.get(target - this.H + 1);
      if (atH) {
        rec.ape = absolutePercentageError(actual, atH.point[this.H - 1]!, floor);
        // Seeded (pool) forecasts carry no interval: they do not count for the coverage.
        if (Number.isFinite(atH.lower[this.H - 1]!)) rec.inside = actual >= atH.lower[this.H - 1]! && actual <= atH.upper[this.H - 1]! ? 1 : 0;
      }
      const c = this.settings.coverSteps;
      const atC = this.issued.get(target - c + 1);
      if (atC) {
        const pf = atC.peak[c - 1]!;
        rec.peakApe = absolutePercentageError(actualPeak, pf, floor);
        rec.peakErr = (actualPeak - pf) / Math.max(Math.abs(pf), floor);
        rec.peakIn = actualPeak <= pf ? 1 : 0;
        rec.apeDecision = absolutePercentageError(actual, atC.point[c - 1]!, floor);
        rec.apePersistence = absolutePercentageError(actual, atC.persistence, floor);
        rec.apeDayMean = absolutePercentageError(actual, atC.dayMean, floor);
      }
    }
    this.scored.push(rec);
    const from = target - this.settings.scoreWindowSteps + 1;
    while (this.scored.length && this.scored[0]!.target < from) this.scored.shift();
    for (const o of this.issued.keys()) if (o + this.Hmax - 1 < from) this.issued.delete(o);
  }

  /** Realised accuracy over the window. */
  accuracy(): LiveAccuracy {
    const mean = (key: keyof Scored) => {
      let sum = 0;
      let n = 0;
      for (const r of this.scored) {
        const v = r[key] as number | undefined;
        if (v === undefined || Number.isNaN(v)) continue;
        sum += v;
        n++;
      }
      return { v: n ? sum / n : Number.NaN, n };
    };
    const ape = mean("ape");
    const dec = mean("peakIn");
    return {
      mape: ape.v,
      coverage80: mean("inside").v,
      peakMape: mean("peakApe").v,
      peakError: mean("peakErr").v,
      peakCoverage: dec.v,
      decisionMape: { ensemble: mean("apeDecision").v, persistence: mean("apePersistence").v, dayMean: mean("apeDayMean").v },
      n: mean("inside").n,
      nDecision: dec.n,
    };
  }

  /**
   * One trigger of the service (after the collection): commit complete buckets, fit when due,
   * forecast from now's bucket, gate. `nowMs` must not go backwards.
   */
  step(nowMs: number, o: { allModels?: boolean } = {}): LiveStep {
    const c0 = process.cpuUsage();
    this.commit(nowMs);
    const s = this.series;
    const origin = s ? s.length : 0;
    const originMs = s ? s.startMs + origin * this.stepMs : Math.floor(nowMs / this.stepMs) * this.stepMs;
    let fitted = false;
    let fitCpuMs = 0;
    const perDay = Math.round(DAY_MS / this.stepMs);
    const today = String(this.calendar.local(originMs).day);
    if (s && s.length >= Math.round(this.opts.minHistoryDays * perDay) && this.fitDay !== today) {
      const f0 = process.cpuUsage();
      this.fitDay = today;
      try {
        const next = fitEnsembleAt(s, origin, this.opts, { previous: this.state, calendar: this.calendar });
        if (this.state) disposeEnsemble(this.state);
        this.state = next;
        fitted = true;
        if (this.scored.length === 0) this.seedFromPool(next);
      } catch (e) {
        if (!(e instanceof InsufficientHistoryError)) throw e;
        this.noModelReason = e.reason;
      }
      const f1 = process.cpuUsage(f0);
      fitCpuMs = (f1.user + f1.system) / 1000;
    }
    const done = (r: Omit<LiveStep, "origin" | "originMs" | "fitted" | "fitCpuMs" | "updateCpuMs" | "accuracy">): LiveStep => {
      const c1 = process.cpuUsage(c0);
      return { origin, originMs, fitted, fitCpuMs, updateCpuMs: (c1.user + c1.system) / 1000 - fitCpuMs, accuracy: this.accuracy(), ...r };
    };
    if (!s || !this.state) return done({ fallback: { reason: "no-model", detail: this.state ? "no data" : this.noModelReason } });
    const f = forecastEnsembleAt(this.state, origin, this.Hmax, o.allModels ? { allModels: true } : {});
    this.record(origin, f);
    return done({ forecast: f, ...this.gate(nowMs, f), ...(f.peakLevel !== undefined ? { peakLevel: f.peakLevel } : {}) });
  }

  private record(origin: number, f: EnsembleForecast): void {
    const s = this.series!;
    const perDay = Math.round(DAY_MS / this.stepMs);
    let sum = 0;
    let n = 0;
    for (let i = Math.max(0, origin - perDay); i < origin; i++) if (s.observed[i] === 1) (sum += s.mean[i]!), n++;
    this.issued.set(origin, {
      origin,
      point: Float64Array.from(f.point.slice(0, this.Hmax)),
      lower: Float64Array.from(f.lower.slice(0, this.Hmax)),
      upper: Float64Array.from(f.upper.slice(0, this.Hmax)),
      peak: Float64Array.from(f.peak.slice(0, this.Hmax)),
      persistence: s.mean[origin - 1]!,
      dayMean: n ? sum / n : s.mean[origin - 1]!,
    });
  }

  /**
   * A cold start has no issued forecasts yet: seed the window with the fit's out-of-sample pool
   * forecasts of the last `scoreWindowSteps` origins (the ensemble's point forecasts; their peak
   * forecasts use the peak model calibrated on that pool, so the seeded peak coverage is in-sample).
   * Issued forecasts replace the seed as their buckets complete.
   */
  private seedFromPool(st: EnsembleState): void {
    const blocks = st.pool.get("ensemble") ?? [];
    const H = this.H;
    const s = this.series!;
    const from = st.end - this.settings.scoreWindowSteps - this.Hmax;
    const pc = st.peak.calibration;
    for (const b of blocks) {
      for (let k = 0; k < b.steps; k++) {
        const o = b.start + k;
        if (o < from || o >= st.end) continue;
        const point = new Float64Array(this.Hmax).fill(Number.NaN);
        for (let h = 0; h < Math.min(H, this.Hmax); h++) point[h] = b.forecasts[k * H + h]!;
        const peak = new Float64Array(this.Hmax).fill(Number.NaN);
        if (pc) {
          for (let h = 0; h < this.Hmax; h++) {
            const at = s.startMs + (o + h) * this.stepMs;
            peak[h] = peakFromPoint(st, point[h]!, h, at);
          }
        }
        const nan = new Float64Array(this.Hmax).fill(Number.NaN);
        const perDay = Math.round(DAY_MS / this.stepMs);
        let sum = 0;
        let n = 0;
        for (let i = Math.max(0, o - perDay); i < o; i++) if (s.observed[i] === 1) (sum += s.mean[i]!), n++;
        this.issued.set(o, { origin: o, point, lower: nan, upper: nan, peak, persistence: s.mean[o - 1] ?? Number.NaN, dayMean: n ? sum / n : Number.NaN });
      }
    }
    // Score the window's targets with the seed.
    this.scored = [];
    for (let t = Math.max(0, st.end - this.settings.scoreWindowSteps); t < st.end; t++) this.score(t);
  }

  /** The gate: freshness against now, flatness, warm-up, pattern, confidence (out of sample, on the issued peaks). */
  private gate(nowMs: number, f: EnsembleForecast): { confidence?: number; fallback?: { reason: GateReason; detail: string } } {
    const s = this.series!;
    const last = s.length - 1;
    if (last < 0 || s.observed[last] !== 1) {
      const age = Number.isFinite(this.lastSampleMs) ? `${Math.round((nowMs - this.lastSampleMs) / 60_000)} min ago` : "never";
      return { fallback: { reason: "stale-data", detail: `the last complete bucket (${new Date(s.startMs + last * this.stepMs).toISOString()}) has no sample; the latest sample is from ${age}` } };
    }
    const flatSteps = Math.ceil(this.settings.flatMinutes / this.opts.stepMinutes);
    if (s.length >= flatSteps) {
      const base = s.startMs / this.stepMs;
      let flat = true;
      let v: number | undefined;
      for (let i = s.length - flatSteps; i < s.length && flat; i++) {
        const r = this.bucketRange.get(base + i);
        if (s.observed[i] !== 1) {
          flat = false;
          break;
        }
        const lo = r?.min ?? s.mean[i]!;
        const hi = r?.max ?? s.max[i]!;
        v ??= lo;
        if (Math.abs(hi - v) > 1e-9 * Math.max(1, Math.abs(v)) || Math.abs(lo - v) > 1e-9 * Math.max(1, Math.abs(v))) flat = false;
      }
      if (flat) return { fallback: { reason: "flat-series", detail: `every sample of the last ${this.settings.flatMinutes} min is ${v}: a frozen or idle series is no forecast` } };
    }
    const a = this.accuracy();
    if (a.nDecision < this.settings.minScored || !Number.isFinite(a.decisionMape.ensemble)) {
      return { fallback: { reason: "warming-up", detail: `${a.nDecision} realised forecasts at the decision horizon in the window, ${this.settings.minScored} needed` } };
    }
    const naive = Math.min(a.decisionMape.persistence, a.decisionMape.dayMean);
    if (!(a.decisionMape.ensemble < naive * (1 - this.settings.patternMargin))) {
      return {
        fallback: {
          reason: "no-pattern",
          detail: `the ensemble's MAPE ${(a.decisionMape.ensemble * 100).toFixed(1)}% is no better than persistence ${(a.decisionMape.persistence * 100).toFixed(1)}% / the last day's mean ${(a.decisionMape.dayMean * 100).toFixed(1)}% over the window`,
        },
      };
    }
    const tau = f.peakLevel ?? 0.9;
    const acc = Number.isFinite(a.peakMape) ? 1 - a.peakMape : 0;
    const cov = Number.isFinite(a.peakCoverage) ? 1 - this.opts.coveragePenalty * Math.abs(a.peakCoverage - tau) : 0;
    return { confidence: Math.max(0, Math.min(1, Math.min(acc, cov))) };
  }

  // -----------------------------------------------------------------------------------------------
  // State

  snapshot(): LiveSnapshot {
    const s = this.series;
    const live = encode({ issued: [...this.issued.values()], scored: this.scored, online: this.state?.online, recorded: this.state?.recorded, bucketRange: [...this.bucketRange], lastSampleMs: this.lastSampleMs, noModelReason: this.noModelReason });
    return {
      version: 1,
      seriesStartMs: s?.startMs ?? Number.NaN,
      stepMs: this.stepMs,
      committed: s?.length ?? 0,
      fitDay: this.fitDay,
      fit: this.state ? this.fitSnapshot() : null,
      live,
    };
  }

  /** The fit part only (large: the calibration pool); changes once a day. */
  fitSnapshot(): string | null {
    const st = this.state;
    if (!st) return null;
    const { series: _s, ctx: _c, members, online: _o, recorded: _r, disposed: _d, ...rest } = st;
    return encode({ ...rest, members: members.map(({ definition: _def, params, ...m }) => ({ ...m, hasParams: params !== undefined })) });
  }

  /**
   * Resumes from a snapshot: `samples` are the stored samples from the snapshot's series start on
   * (the same buckets are rebuilt; samples after the snapshot's committed buckets stay pending until
   * the next step). Member parameters are refitted on the fit's window: the fits are deterministic.
   */
  static restore(opts: ForecastOptions, settings: LiveSettings, snap: LiveSnapshot, samples: readonly Sample[], fit?: string | null, calendar?: Calendar): LiveForecaster {
    const lf = new LiveForecaster(opts, settings, calendar);
    if (snap.stepMs !== lf.stepMs) throw new Error(`snapshot step ${snap.stepMs} ms differs from the configured ${lf.stepMs} ms`);
    if (!Number.isFinite(snap.seriesStartMs)) {
      lf.ingest(samples);
      return lf;
    }
    lf.series = new LiveSeries(snap.seriesStartMs, lf.stepMs, lf.capacityFor());
    lf.ingest(samples.filter((x) => x.t >= snap.seriesStartMs));
    // Rebuild the committed buckets (scoring is replaced by the stored window below).
    const s = lf.series;
    while (s.length < snap.committed) {
      const b = s.startMs / lf.stepMs + s.length;
      const p = lf.pending.get(b);
      lf.pending.delete(b);
      s.push(p ? p.sum / p.n : undefined, p?.max);
    }
    lf.fitDay = snap.fitDay;
    const live = decode(snap.live) as {
      issued: Issued[];
      scored: Scored[];
      online?: EnsembleState["online"];
      recorded?: EnsembleState["recorded"];
      bucketRange: [number, { min: number; max: number }][];
      lastSampleMs: number;
      noModelReason: string;
    };
    lf.issued = new Map(live.issued.map((x) => [x.origin, x]));
    lf.scored = live.scored;
    lf.bucketRange = new Map([...live.bucketRange, ...lf.bucketRange]);
    if (!Number.isFinite(lf.lastSampleMs)) lf.lastSampleMs = live.lastSampleMs;
    lf.noModelReason = live.noModelReason;
    const fitText = fit === undefined ? snap.fit : fit;
    if (fitText && live.online && live.recorded) {
      const f = decode(fitText) as Omit<EnsembleState, "series" | "ctx" | "members" | "online" | "recorded" | "disposed"> & { members: (Omit<MemberState, "definition" | "params"> & { hasParams: boolean })[] };
      const ctx = makeContext(opts, s, f.end, lf.calendar);
      const defs = [...baselineDefinitions, ...defaultMemberDefinitions];
      const members: MemberState[] = f.members.map(({ hasParams, ...m }) => {
        const definition = defs.find((d) => d.name === m.name);
        if (!definition) throw new Error(`stored fit names an unknown model '${m.name}'`);
        return { ...m, definition, params: hasParams ? definition.fit(s, f.start, f.end, ctx) : undefined };
      });
      lf.state = { ...f, series: s, ctx, members, online: live.online, recorded: live.recorded, disposed: false };
    }
    return lf;
  }

  dispose(): void {
    if (this.state) disposeEnsemble(this.state);
    this.state = undefined;
  }
}

/** The peak forecast of a point forecast, as forecastEnsembleAt makes it (peak.ts). */
function peakFromPoint(st: EnsembleState, point: number, h: number, atMs: number): number {
  const pc = st.peak.calibration!;
  const local = st.ctx.calendar.local(atMs);
  return peakForecast(point, peakRatioAt(st.peak.ratio, local), pc.q[Math.min(h, pc.q.length - 1)]!, st.peak.levelFloor);
}

// -------------------------------------------------------------------------------------------------
// A JSON codec for typed arrays, maps and non-finite numbers (the fit state is made of them).

function f64ToBase64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

export function encode(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, _k, v: unknown) {
    if (v instanceof Float64Array) return { $f64: f64ToBase64(v) };
    if (v instanceof Uint8Array) return { $u8: Buffer.from(v).toString("base64") };
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  });
}

export function decode(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$f64 === "string") {
        const b = Buffer.from(o.$f64, "base64");
        const out = new Float64Array(b.byteLength / 8);
        new Uint8Array(out.buffer).set(b);
        return out;
      }
      if (typeof o.$u8 === "string") return new Uint8Array(Buffer.from(o.$u8, "base64"));
      if (Array.isArray(o.$map)) return new Map(o.$map as [unknown, unknown][]);
      if (typeof o.$num === "string") return Number(o.$num);
    }
    return v;
  });
}
