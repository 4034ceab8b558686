/**
 * Online adaptation of the ensemble between daily fits (issue 14):
 *
 * - **Adaptive conformal inference** (Gibbs & Candès 2021, "Adaptive conformal inference under
 *   distribution shift"): per horizon h, a miscoverage level α_h is updated every time an interval
 *   issued h steps ahead is scored against its target, α_{t+1} = α_t + γ·(α − err_t), err_t = 1 when
 *   the actual fell outside. The interval at h then uses the quantiles (α_h/2, 1 − α_h/2) of the
 *   pool's relative errors at h instead of the fixed (α/2, 1 − α/2). A miss widens, a hit narrows.
 * - **Intraday re-weighting**: per horizon h, an exponentially weighted MAPE (half-life
 *   halfLifeSteps) of every member and of the day's selected combination ("daily"), from the
 *   forecasts whose targets have arrived. The combination at h is the candidate with the lowest
 *   score; it changes only when another candidate is better by more than `margin` (hysteresis, so
 *   two candidates of nearly equal error do not alternate).
 *
 * No look-ahead: a forecast issued at origin o for horizon h (target bucket o + h − 1) is scored
 * only by a call at an origin > o + h − 1, i.e. when its target is history. `observe` reads no
 * bucket at or after the origin it is given.
 */
import { MAPE_MIN_ACTUAL, quantile } from "./model";
import type { RegularSeries } from "./types";

/** Name of the day's selected combination among the intraday candidates. */
export const dailyCandidate = "daily";

export interface OnlineSettings {
  /** ACI step γ; 0 turns ACI off (the nominal level is used). */
  readonly gamma: number;
  /** Nominal miscoverage α (1 − intervalCoverage). */
  readonly alpha: number;
  /** Half-life of the intraday error weights, in steps; 0 turns intraday re-weighting off. */
  readonly halfLifeSteps: number;
  /** A candidate replaces the current one only when its score is below (1 − margin) × the current's. */
  readonly margin: number;
  /** Effective number of scored targets (sum of decayed weights) a candidate needs before it can be chosen. */
  readonly minMass: number;
}

interface Pending {
  readonly origin: number;
  /** Horizons 1…done already scored. */
  done: number;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** Candidate forecasts at horizons 1…H (NaN = none). */
  readonly cands: ReadonlyMap<string, Float64Array>;
}

export interface OnlineState {
  readonly H: number;
  readonly settings: OnlineSettings;
  /** ACI miscoverage level per horizon (index h − 1). */
  readonly alpha: Float64Array;
  /** Misses and scored intervals per horizon since the state was created (for reports). */
  readonly misses: Float64Array;
  readonly scored: Float64Array;
  readonly pending: Map<number, Pending>;
  /** Exponentially weighted sums of absolute percentage errors and of weights, per candidate and horizon. */
  num: Map<string, Float64Array>;
  den: Map<string, Float64Array>;
  /** Last target bucket folded into num/den, per horizon. */
  lastTarget: Float64Array;
  /** Current intraday choice per horizon. */
  choice: string[];
}

/** One ACI step: α_{t+1} = α_t + γ·(α − err_t), err_t ∈ {0, 1}. */
export function aciUpdate(alphaT: number, gamma: number, alpha: number, miss: boolean): number {
  return alphaT + gamma * (alpha - (miss ? 1 : 0));
}

/** The quantile levels of the interval for a miscoverage level αt (clamped to [0.005, 0.9] for the quantiles; αt itself is not clamped). */
export function aciLevels(alphaT: number): { lo: number; hi: number } {
  const a = Math.min(0.9, Math.max(0.005, alphaT));
  return { lo: a / 2, hi: 1 - a / 2 };
}

export function newOnlineState(H: number, settings: OnlineSettings, carry?: OnlineState): OnlineState {
  const s: OnlineState = {
    H,
    settings,
    alpha: carry && carry.H === H ? Float64Array.from(carry.alpha) : new Float64Array(H).fill(settings.alpha),
    misses: carry && carry.H === H ? carry.misses : new Float64Array(H),
    scored: carry && carry.H === H ? carry.scored : new Float64Array(H),
    pending: carry && carry.H === H ? carry.pending : new Map(),
    num: new Map(),
    den: new Map(),
    lastTarget: new Float64Array(H).fill(-Infinity),
    choice: Array.from({ length: H }, () => dailyCandidate),
  };
  return s;
}

function scorable(series: RegularSeries, target: number, floor: number): boolean {
  return series.observed[target] === 1 && Math.abs(series.mean[target]!) >= MAPE_MIN_ACTUAL * floor && series.mean[target] !== 0;
}

/** Folds one scored target at horizon h into the error sums (decay by the time since the last one). */
function foldError(s: OnlineState, h: number, target: number, actual: number, forecasts: ReadonlyMap<string, number>): void {
  const hl = s.settings.halfLifeSteps;
  if (hl <= 0) return;
  const last = s.lastTarget[h - 1]!;
  const d = Number.isFinite(last) ? Math.pow(0.5, Math.max(0, target - last) / hl) : 0;
  s.lastTarget[h - 1] = target;
  for (const arr of s.num.values()) arr[h - 1]! *= d;
  for (const arr of s.den.values()) arr[h - 1]! *= d;
  for (const [name, f] of forecasts) {
    if (!Number.isFinite(f)) continue;
    let n = s.num.get(name);
    let w = s.den.get(name);
    if (!n || !w) {
      s.num.set(name, (n = new Float64Array(s.H)));
      s.den.set(name, (w = new Float64Array(s.H)));
    }
    n[h - 1]! += Math.abs(actual - f) / Math.abs(actual);
    w[h - 1]! += 1;
  }
}

/**
 * Warm start of the intraday error sums from out-of-sample forecasts before `end` (the calibration
 * pool): `matrix(name)` gives forecasts laid out [(o − from) × H + h − 1] for origins [from, end).
 * Resets the sums and the choice; keeps α and the pending intervals.
 */
export function warmStart(s: OnlineState, names: readonly string[], matrix: (name: string) => Float64Array, series: RegularSeries, from: number, end: number, floor: number): void {
  s.num = new Map();
  s.den = new Map();
  s.lastTarget.fill(-Infinity);
  s.choice = Array.from({ length: s.H }, () => dailyCandidate);
  if (s.settings.halfLifeSteps <= 0) return;
  const mats = names.map((n) => [n, matrix(n)] as const);
  for (let h = 1; h <= s.H; h++) {
    for (let o = from; o + h - 1 < end; o++) {
      const target = o + h - 1;
      if (!scorable(series, target, floor)) continue;
      const fs = new Map<string, number>();
      for (const [n, m] of mats) fs.set(n, m[(o - from) * s.H + h - 1]!);
      foldError(s, h, target, series.mean[target]!, fs);
    }
  }
  // Targets before `end` are in the sums: pending forecasts for them must not be counted twice.
  for (let h = 1; h <= s.H; h++) s.lastTarget[h - 1] = Math.max(s.lastTarget[h - 1]!, end - 1);
}

/**
 * Scores every pending forecast whose target is before `origin` (history at `origin`): ACI update
 * of α_h and the intraday error sums. Reads only buckets < origin.
 */
export function observe(s: OnlineState, series: RegularSeries, origin: number, floor: number): void {
  const entries = [...s.pending.values()].sort((a, b) => a.origin - b.origin);
  for (let h = 1; h <= s.H; h++) {
    for (const e of entries) {
      if (e.done >= h) continue;
      const target = e.origin + h - 1;
      if (target >= origin) continue;
      if (series.observed[target] === 1) {
        const a = series.mean[target]!;
        const lo = e.lower[h - 1]!;
        const hi = e.upper[h - 1]!;
        if (Number.isFinite(lo) && Number.isFinite(hi)) {
          const miss = a < lo || a > hi;
          s.alpha[h - 1] = aciUpdate(s.alpha[h - 1]!, s.settings.gamma, s.settings.alpha, miss);
          s.misses[h - 1]! += miss ? 1 : 0;
          s.scored[h - 1]! += 1;
        }
        if (target > s.lastTarget[h - 1]! && scorable(series, target, floor)) {
          const fs = new Map<string, number>();
          for (const [n, f] of e.cands) fs.set(n, f[h - 1]!);
          foldError(s, h, target, a, fs);
        }
      }
    }
  }
  for (const e of entries) {
    e.done = Math.max(e.done, Math.min(s.H, origin - e.origin));
    if (e.done >= s.H) s.pending.delete(e.origin);
  }
}

/** Records what was issued at `origin` (replaces an earlier issue at the same origin). */
export function issue(s: OnlineState, origin: number, lower: ArrayLike<number>, upper: ArrayLike<number>, cands: ReadonlyMap<string, ArrayLike<number>>): void {
  const H = s.H;
  const take = (x: ArrayLike<number>) => {
    const out = new Float64Array(H).fill(Number.NaN);
    for (let h = 0; h < Math.min(H, x.length); h++) out[h] = x[h]!;
    return out;
  };
  s.pending.set(origin, { origin, done: 0, lower: take(lower), upper: take(upper), cands: new Map([...cands].map(([n, f]) => [n, take(f)])) });
}

/** The intraday score (EW MAPE) of a candidate at h, or NaN below minMass. */
export function scoreOf(s: OnlineState, name: string, h: number): number {
  const w = s.den.get(name)?.[h - 1] ?? 0;
  if (w < s.settings.minMass) return Number.NaN;
  return s.num.get(name)![h - 1]! / w;
}

/**
 * The candidate to use at horizon h among `available` (names with a forecast at this origin;
 * "daily" is the day's combination). Hysteresis: the current choice stays unless another candidate
 * scores below (1 − margin) × its score. Updates the choice.
 */
export function choose(s: OnlineState, h: number, available: readonly string[]): string {
  if (s.settings.halfLifeSteps <= 0 || !available.includes(dailyCandidate)) return dailyCandidate;
  let cur = s.choice[h - 1]!;
  if (!available.includes(cur) || !Number.isFinite(scoreOf(s, cur, h))) cur = dailyCandidate;
  const curScore = scoreOf(s, cur, h);
  let best = cur;
  let bestScore = curScore;
  for (const n of available) {
    const sc = scoreOf(s, n, h);
    if (Number.isFinite(sc) && (!Number.isFinite(bestScore) || sc < bestScore)) {
      best = n;
      bestScore = sc;
    }
  }
  if (best !== cur && Number.isFinite(curScore) && !(bestScore < (1 - s.settings.margin) * curScore)) best = cur;
  s.choice[h - 1] = best;
  return best;
}

/** Interval offsets (relative errors) at horizon h for the current α_h, from the sorted residuals at h. */
export function aciOffsets(s: OnlineState, h: number, sorted: ArrayLike<number>): { lo: number; hi: number } {
  const k = Math.min(h, s.H) - 1;
  const lv = aciLevels(s.alpha[k]!);
  return { lo: quantile(sorted, lv.lo), hi: quantile(sorted, lv.hi) };
}
