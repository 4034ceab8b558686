/**
 * THE adapter between the replay and the automation service's predictive decision path. It is the
 * only place the replay reaches it: when the decision path moves (issue 20 unifies the service and
 * the bench onto one), switch this one function.
 *
 * Today: the backtest's causal replay of the forecaster (automation/backtest/predictive.ts
 * `replayPredictive`: daily refits, a forecast every 15-minute bucket) whose floors come from
 * automation/forecast/decision.ts `predictiveFloor`, with the service's predictive settings
 * (automation/config/<stack>.yaml `predictive`: confidence threshold, max step up/down).
 */
import { replayPredictive } from "../backtest/predictive";
import type { CalendarOptions } from "../forecast/calendar";
import { resolveForecastOptions } from "../forecast/options";

export interface PredictiveFloorRequest {
  /** Load samples: history before the replay start, then the replay's own minutes (no look-ahead is used). */
  readonly samples: readonly { t: number; v: number }[];
  readonly replayStartMs: number;
  readonly minutes: number;
  /** Load one replica carries at 100% (C) and the target utilisation u. */
  readonly capacityPerReplica: number;
  readonly targetUtilization: number;
  readonly range: { readonly min: number; readonly max: number };
  readonly policyCeiling: number;
  readonly maxStepUp: number;
  readonly maxStepDown: number;
  readonly confidenceThreshold: number;
  readonly calendar: CalendarOptions;
}

export interface PredictiveFloors {
  /** Floor per 15-minute bucket from the replay start; −1 where the decision fell back to reactive. */
  readonly floors: Int32Array;
  readonly bucketMinutes: number;
  readonly fallbackBuckets: number;
}

export function predictiveFloorsFor(r: PredictiveFloorRequest): PredictiveFloors {
  const opts = resolveForecastOptions({ calendar: r.calendar, confidenceThreshold: r.confidenceThreshold });
  const replay = replayPredictive(r.samples, opts, {
    capacityPerReplica: r.targetUtilization * r.capacityPerReplica,
    peakCapacityPerReplica: r.capacityPerReplica,
    range: r.range,
    policyCeiling: r.policyCeiling,
    maxStepUp: r.maxStepUp,
    maxStepDown: r.maxStepDown,
    coverSteps: 2,
  });
  const stepMs = replay.series.stepMs;
  const buckets = Math.ceil((r.minutes * 60_000) / stepMs);
  const floors = new Int32Array(buckets).fill(-1);
  const offset = Math.round((r.replayStartMs - replay.series.startMs) / stepMs);
  let fallbackBuckets = 0;
  for (let b = 0; b < buckets; b++) {
    const k = b + offset;
    floors[b] = k >= 0 && k < replay.floors.length ? replay.floors[k]! : -1;
    if (floors[b]! < 0) fallbackBuckets++;
  }
  return { floors, bucketMinutes: stepMs / 60_000, fallbackBuckets };
}
