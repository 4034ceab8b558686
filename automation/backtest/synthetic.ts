/**
 * Seeded synthetic load traces for the backtest (docs/forecasting.md, "Synthetic traces"):
 *
 * - `burstyTrace`: a daily cycle (business-day peak in the afternoon, lower weekends), multiplicative
 *   log-normal noise, and random bursts (a Poisson number per day, each a multiple of the load held
 *   for a few minutes) — bursty web traffic at one-minute resolution;
 * - `spikeTrace`: the design's "10x traffic spike": a smooth daily trace with one unannounced 10x
 *   step (held for `durationMinutes`) or a 10x one-minute burst on its last day;
 * - `spikeKpis`: time to capacity and under-provisioned share of one policy around the spike.
 *
 * Same seed, same options → the same trace, bit for bit (mulberry32 PRNG, no Math.random).
 */
import type { Sample } from "../forecast/types";

/** mulberry32: a small, well-mixed 32-bit PRNG; returns uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed)) throw new RangeError(`seed = ${seed}: must be an integer`);
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One standard normal draw from `rand` (Box-Muller). */
export function gaussian(rand: () => number): number {
  // Box-Muller; 1 − u keeps log() finite.
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface BurstyTraceOptions {
  readonly seed: number;
  /** Days of trace (default 21). */
  readonly days?: number;
  /** Sample interval, seconds (default 60). */
  readonly intervalSeconds?: number;
  /** First sample, epoch ms (default 2024-01-01T00:00Z, a Monday). */
  readonly startMs?: number;
  /** Night-time level of a business day (default 100). */
  readonly base?: number;
  /** Daily amplitude: the afternoon peak is base × (1 + amplitude) (default 3). */
  readonly dailyAmplitude?: number;
  /** Weekend days carry this share of the daily cycle (default 0.4). */
  readonly weekendFactor?: number;
  /** σ of the log-normal noise per sample (default 0.08). */
  readonly noiseSigma?: number;
  /** Mean bursts per day (Poisson; default 8). */
  readonly burstsPerDay?: number;
  /** Burst multiple, uniform in [min, max] (default 1.5-3). */
  readonly burstFactor?: readonly [number, number];
  /** Burst length in minutes, uniform integer in [min, max] (default 1-10). */
  readonly burstMinutes?: readonly [number, number];
}

function checkPositive(o: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new RangeError(`${k} = ${JSON.stringify(v)}: must be a finite number ≥ 0`);
  }
}

/** The smooth daily shape at t: 1 at night, 1 + amplitude at 15:00 UTC on business days (cosine bump 06:00-24:00). */
export function dailyShape(tMs: number, amplitude: number, weekendFactor: number): number {
  const day = Math.floor(tMs / 86_400_000);
  const dow = (((day + 3) % 7) + 7) % 7; // Monday 0
  const hour = (tMs - day * 86_400_000) / 3_600_000;
  const bump = hour >= 6 ? 0.5 * (1 - Math.cos((2 * Math.PI * (hour - 6)) / 18)) : 0;
  return 1 + amplitude * bump * (dow >= 5 ? weekendFactor : 1);
}

export function burstyTrace(o: BurstyTraceOptions): Sample[] {
  const days = o.days ?? 21;
  const step = (o.intervalSeconds ?? 60) * 1000;
  const start = o.startMs ?? Date.UTC(2024, 0, 1);
  const base = o.base ?? 100;
  const amp = o.dailyAmplitude ?? 3;
  const wk = o.weekendFactor ?? 0.4;
  const sigma = o.noiseSigma ?? 0.08;
  const rate = o.burstsPerDay ?? 8;
  const [fLo, fHi] = o.burstFactor ?? [1.5, 3];
  const [mLo, mHi] = o.burstMinutes ?? [1, 10];
  checkPositive({ days, intervalSeconds: step / 1000, base, dailyAmplitude: amp, weekendFactor: wk, noiseSigma: sigma, burstsPerDay: rate, "burstFactor[0]": fLo, "burstFactor[1]": fHi, "burstMinutes[0]": mLo, "burstMinutes[1]": mHi });
  if (!(step > 0)) throw new RangeError(`intervalSeconds = ${step / 1000}: must be > 0`);
  if (fHi < fLo || mHi < mLo) throw new RangeError(`burstFactor / burstMinutes: [min, max] with min ≤ max`);
  const rand = mulberry32(o.seed);
  const n = Math.floor((days * 86_400_000) / step);
  const mult = new Float64Array(n).fill(1);
  // Bursts: per day a Poisson count (Knuth), each at a uniform time.
  for (let d = 0; d < days; d++) {
    let k = 0;
    for (let p = rand(), l = Math.exp(-rate); p > l; p *= rand()) k++;
    for (let b = 0; b < k; b++) {
      const at = Math.floor(((d + rand()) * 86_400_000) / step);
      const minutes = mLo + Math.floor(rand() * (mHi - mLo + 1));
      const f = fLo + rand() * (fHi - fLo);
      const len = Math.max(1, Math.round((minutes * 60_000) / step));
      for (let i = at; i < Math.min(n, at + len); i++) mult[i] = Math.max(mult[i]!, f);
    }
  }
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + i * step;
    out.push({ t, v: base * dailyShape(t, amp, wk) * Math.exp(sigma * gaussian(rand)) * mult[i]! });
  }
  return out;
}

export interface SpikeTraceOptions {
  readonly seed: number;
  /** "step": the load jumps to factor × and stays for durationMinutes; "burst": factor × for one minute. */
  readonly kind: "step" | "burst";
  /** Default 10 (the design's "10x traffic spike"). */
  readonly factor?: number;
  /** Days of trace; the spike is on the last day at 14:00 UTC (default 14). */
  readonly days?: number;
  /** Step length, minutes (default 60; a burst is always 1 minute). */
  readonly durationMinutes?: number;
}

export interface SpikeTrace {
  readonly samples: Sample[];
  readonly spikeStartMs: number;
  readonly spikeEndMs: number;
}

/** A smooth one-minute daily trace (no random bursts) with one unannounced spike on the last day. */
export function spikeTrace(o: SpikeTraceOptions): SpikeTrace {
  const days = o.days ?? 14;
  const factor = o.factor ?? 10;
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`factor = ${factor}: must be a number ≥ 1`);
  if (o.kind !== "step" && o.kind !== "burst") throw new RangeError(`kind = ${JSON.stringify(o.kind)}: must be step or burst`);
  const samples = burstyTrace({ seed: o.seed, days, burstsPerDay: 0, noiseSigma: 0.05 });
  const start = samples[0]!.t;
  const spikeStartMs = start + (days - 1) * 86_400_000 + 14 * 3_600_000;
  const spikeEndMs = spikeStartMs + (o.kind === "burst" ? 1 : (o.durationMinutes ?? 60)) * 60_000;
  // The spike multiplies the load that was there: 10x the traffic of that minute.
  const out = samples.map((s) => (s.t >= spikeStartMs && s.t < spikeEndMs ? { t: s.t, v: s.v * factor } : s));
  return { samples: out, spikeStartMs, spikeEndMs };
}

export interface SpikeKpis {
  /** Seconds from the spike's start to the first tick with enough ready replicas (NaN: never during the spike). */
  readonly timeToCapacitySeconds: number;
  /** Share of the spike's ticks under-provisioned. */
  readonly underDuringSpike: number;
}

/** Accumulates one policy's ticks (from runBacktest's onTick) into the spike KPIs. */
export class SpikeKpiRecorder {
  private first = Number.NaN;
  private under = 0;
  private ticks = 0;
  constructor(private readonly spike: Pick<SpikeTrace, "spikeStartMs" | "spikeEndMs">) {}
  tick(tMs: number, ready: number, need: number): void {
    if (tMs < this.spike.spikeStartMs || tMs >= this.spike.spikeEndMs) return;
    this.ticks++;
    if (ready < need) this.under++;
    else if (Number.isNaN(this.first)) this.first = (tMs - this.spike.spikeStartMs) / 1000;
  }
  result(): SpikeKpis {
    return { timeToCapacitySeconds: this.first, underDuringSpike: this.ticks ? this.under / this.ticks : Number.NaN };
  }
}

/** Writes samples as the backtest's CSV (`timestamp,value`, ISO timestamps). */
export function toCsv(samples: readonly Sample[]): string {
  return ["timestamp,value", ...samples.map((s) => `${new Date(s.t).toISOString()},${s.v.toFixed(4)}`)].join("\n") + "\n";
}
