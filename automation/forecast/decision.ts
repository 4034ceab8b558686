/**
 * From a forecast to a replica floor.
 *
 *   needed   = ceil(max(upper) / capacityPerReplica)      [and the within-bucket peak below 100%, if given]
 *   bounded  = clamp(needed, range.min, min(range.max, policyCeiling))
 *   floor    = clamp(bounded, current − maxStepDown, current + maxStepUp), then again within the range
 *              and the ceiling (the range always wins over the step bound)
 *
 * `upper` is the forecast's upper bound over the buckets the floor must cover; `capacityPerReplica`
 * is the load one replica should carry (at the target utilisation). The floor is a minimum for the
 * reactive scaler (HPA/KEDA), never a ceiling: the reactive scaler still adds replicas above it.
 *
 * It falls back (no floor: reactive scaling only) with a reason when there is no model, the data is
 * missing or stale, the forecast is unusable, or the confidence is below the threshold (0.8 by
 * default, validated to be within 0-1).
 */
import { validateConfidenceThreshold } from "./options";

export interface PredictiveFloorInput {
  /** Upper bounds of the forecast over the buckets the floor covers; undefined/empty = no model. */
  readonly upper: readonly number[] | undefined;
  /** Load one replica should carry at the target utilisation (> 0). */
  readonly capacityPerReplica: number;
  /**
   * Optional: the upper bound of the within-bucket PEAK (the max of the raw samples) and the load a
   * replica carries at 100%; the floor then also keeps that peak below 100%:
   * needed = max(ceil(max(upper) / capacityPerReplica), ceil(max(peak.upper) / peak.capacityPerReplica)).
   */
  readonly peak?: { readonly upper: readonly number[]; readonly capacityPerReplica: number };
  readonly range: { readonly min: number; readonly max: number };
  /** The policy pack's ceiling for the service (Infinity when none). */
  readonly policyCeiling: number;
  /** The floor in force now (or the current replicas when there is none). */
  readonly current: number;
  /** At most this many replicas more per update (≥ 0). */
  readonly maxStepUp: number;
  /** At most this many replicas fewer per update (≥ 0). */
  readonly maxStepDown: number;
  /** The forecast's confidence (0-1); undefined = no model. */
  readonly confidence?: number;
  /** Default 0.8. */
  readonly confidenceThreshold?: number;
  /** Buckets at the end of the history without data. */
  readonly staleSteps?: number;
  /** Most stale buckets tolerated (default 4 = 1 hour at 15 minutes). */
  readonly maxStaleSteps?: number;
  /** Why there is no model, when known (e.g. the InsufficientHistoryError's reason). */
  readonly noModelReason?: string;
}

/** Why there is no floor: the engine's gate (live.ts GateReason) or the decision's own checks. */
export type FallbackReason = "no-model" | "missing-data" | "invalid-forecast" | "low-confidence" | "stale-data" | "flat-series" | "warming-up" | "no-pattern";

export const fallbackReasons: readonly FallbackReason[] = ["no-model", "missing-data", "invalid-forecast", "low-confidence", "stale-data", "flat-series", "warming-up", "no-pattern"];

export type PredictiveFloorResult =
  | {
      readonly kind: "floor";
      readonly replicas: number;
      /** ceil(max(upper) / capacityPerReplica) before any clamp. */
      readonly needed: number;
      /** What limited it, in order: "range-min", "range-max", "policy-ceiling", "step-up", "step-down". */
      readonly limitedBy: readonly string[];
    }
  | { readonly kind: "fallback"; readonly reason: FallbackReason; readonly detail: string };

function checkInput(i: PredictiveFloorInput): void {
  const bad: string[] = [];
  if (!(i.capacityPerReplica > 0) || !Number.isFinite(i.capacityPerReplica)) bad.push(`capacityPerReplica = ${i.capacityPerReplica}: must be a positive number`);
  if (!Number.isInteger(i.range.min) || i.range.min < 0) bad.push(`range.min = ${i.range.min}: must be an integer ≥ 0`);
  if (!Number.isInteger(i.range.max) || i.range.max < i.range.min) bad.push(`range.max = ${i.range.max}: must be an integer ≥ range.min (${i.range.min})`);
  if (!(i.policyCeiling >= 0)) bad.push(`policyCeiling = ${i.policyCeiling}: must be ≥ 0 (Infinity when none)`);
  if (!Number.isFinite(i.current) || i.current < 0) bad.push(`current = ${i.current}: must be a number ≥ 0`);
  if (!Number.isInteger(i.maxStepUp) || i.maxStepUp < 0) bad.push(`maxStepUp = ${i.maxStepUp}: must be an integer ≥ 0`);
  if (!Number.isInteger(i.maxStepDown) || i.maxStepDown < 0) bad.push(`maxStepDown = ${i.maxStepDown}: must be an integer ≥ 0`);
  if (bad.length) throw new RangeError(`predictiveFloor: ${bad.join("; ")}`);
}

export function predictiveFloor(input: PredictiveFloorInput): PredictiveFloorResult {
  checkInput(input);
  const threshold = validateConfidenceThreshold(input.confidenceThreshold ?? 0.8);
  if (!input.upper || input.upper.length === 0 || input.confidence === undefined) {
    return { kind: "fallback", reason: "no-model", detail: input.noModelReason ?? "no forecast is available" };
  }
  const maxStale = input.maxStaleSteps ?? 4;
  if ((input.staleSteps ?? 0) > maxStale) {
    return { kind: "fallback", reason: "missing-data", detail: `the latest ${input.staleSteps} buckets have no data (at most ${maxStale} tolerated)` };
  }
  for (const u of [input.upper, input.peak?.upper ?? []]) {
    if (u.some((x) => !Number.isFinite(x) || x < 0)) {
      return { kind: "fallback", reason: "invalid-forecast", detail: `upper bound not a finite non-negative number: [${u.join(", ")}]` };
    }
  }
  if (!Number.isFinite(input.confidence) || input.confidence < threshold) {
    return { kind: "fallback", reason: "low-confidence", detail: `confidence ${Number.isFinite(input.confidence) ? input.confidence.toFixed(3) : input.confidence} is below the threshold ${threshold}` };
  }
  // A hair of tolerance so that 10.000000001 / 5 is 2 replicas, not 3.
  let needed = Math.max(0, Math.ceil(Math.max(...input.upper) / input.capacityPerReplica - 1e-9));
  if (input.peak && input.peak.upper.length) {
    if (!(input.peak.capacityPerReplica > 0)) throw new RangeError(`predictiveFloor: peak.capacityPerReplica = ${input.peak.capacityPerReplica}: must be a positive number`);
    needed = Math.max(needed, Math.ceil(Math.max(...input.peak.upper) / input.peak.capacityPerReplica - 1e-9));
  }
  const limitedBy: string[] = [];
  const top = Math.min(input.range.max, Math.floor(input.policyCeiling));
  const bottom = Math.min(input.range.min, top);
  let r = needed;
  if (r < bottom) {
    r = bottom;
    limitedBy.push("range-min");
  }
  if (r > top) {
    r = top;
    limitedBy.push(input.policyCeiling < input.range.max ? "policy-ceiling" : "range-max");
  }
  const current = Math.round(input.current);
  if (r > current + input.maxStepUp) {
    r = current + input.maxStepUp;
    limitedBy.push("step-up");
  } else if (r < current - input.maxStepDown) {
    r = current - input.maxStepDown;
    limitedBy.push("step-down");
  }
  // The range and the ceiling win over the step bound (e.g. when the current floor is outside them).
  r = Math.max(bottom, Math.min(top, r));
  return { kind: "floor", replicas: r, needed, limitedBy };
}

/**
 * THE decision of the predictive service and of the backtest (and of the cost replay): a forecast
 * of the covered buckets' peaks, per load signal, to a replica floor.
 *
 *   load in replicas at bucket h = max over signals of peak_s[h] / capacity_s   (capacity: load one replica carries at 100%)
 *   floor = predictiveFloor(that, range = [active profile's minimum, max], ceiling, steps, confidence ≥ threshold)
 *
 * A gate fallback (stale data, flat series, no pattern, warming up, no model) is passed through
 * with its reason. Settings come from `automation/config` (`decisionSettings`, automation/predictiveSettings.ts).
 */
export interface FloorDecisionInput {
  /** Per load signal: the τ-quantile peak forecasts of the covered buckets (current first) and the load one replica carries at 100%. */
  readonly signals: readonly { readonly peak: readonly number[]; readonly capacityPerReplica: number }[];
  /** Out-of-sample confidence (0-1) of the forecast; undefined with a fallback. */
  readonly confidence?: number;
  /** The engine's gate said no. */
  readonly fallback?: { readonly reason: FallbackReason; readonly detail: string };
  /** min: the active profile's minimum; max: the service's maximum under it. */
  readonly range: { readonly min: number; readonly max: number };
  readonly policyCeiling: number;
  /** The floor in force (the range minimum when there is none). */
  readonly current: number;
  readonly maxStepUp: number;
  readonly maxStepDown: number;
  readonly confidenceThreshold: number;
}

export function decideFloor(i: FloorDecisionInput): PredictiveFloorResult {
  if (i.fallback) return { kind: "fallback", reason: i.fallback.reason, detail: i.fallback.detail };
  if (i.signals.length === 0) return { kind: "fallback", reason: "no-model", detail: "no load signal with a per-replica capacity" };
  const steps = Math.min(...i.signals.map((s) => s.peak.length));
  const upper: number[] = [];
  for (let h = 0; h < steps; h++) {
    let v = 0;
    for (const s of i.signals) {
      if (!(s.capacityPerReplica > 0) || !Number.isFinite(s.capacityPerReplica)) throw new RangeError(`decideFloor: capacityPerReplica = ${s.capacityPerReplica}: must be a positive number`);
      const x = s.peak[h]! / s.capacityPerReplica;
      v = Number.isNaN(x) || Number.isNaN(v) ? Number.NaN : Math.max(v, x);
    }
    upper.push(v);
  }
  return predictiveFloor({
    upper,
    capacityPerReplica: 1,
    range: i.range,
    policyCeiling: i.policyCeiling,
    current: i.current,
    maxStepUp: i.maxStepUp,
    maxStepDown: i.maxStepDown,
    confidence: i.confidence,
    confidenceThreshold: i.confidenceThreshold,
  });
}
