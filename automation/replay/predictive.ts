/**
 * THE adapter between the replay and the automation service's predictive decision path; the only
 * place the replay reaches it.
 *
 * It runs what the service runs (issue 20): automation/backtest/predictive.ts `replayPredictive`, a
 * simulated collector feeding the service's engine (automation/forecast/live.ts LiveForecaster:
 * complete buckets, daily chained fits, the gate) and the service's decision
 * (automation/forecast/decision.ts `decideFloor`), with the settings read where the service reads
 * them (automation/predictiveSettings.ts: forecast options, engine and decision settings, the floor's
 * range from the scheduled profile in force) - the same construction as the backtest's
 * (automation/backtest/run.ts), so the bench, the replay and the service agree by construction.
 * The floor decided at a bucket's start is in force from then plus the decision's apply delay
 * (`applyDelayMs`, applied by the replay's engine at minute resolution, as the backtest does).
 */
import { replayPredictive } from "../backtest/predictive";
import type { AutomationConfig } from "../config";
import { decisionSettings, floorRangeTimeline, forecastOptionsFor, liveSettingsFor } from "../predictiveSettings";

export interface PredictiveFloorRequest {
  /** The service's automation configuration (automation/config/<stack>.yaml): every predictive setting. */
  readonly automation: AutomationConfig;
  readonly service: string;
  /** Load samples: history before the replay start, then the replay's own minutes (no look-ahead is used). */
  readonly samples: readonly { t: number; v: number }[];
  readonly replayStartMs: number;
  readonly minutes: number;
  /** Load one replica carries at 100% (C). */
  readonly capacityPerReplica: number;
  /** The stack's replica range (the floor's minimum follows the scheduled profile in force). */
  readonly range: { readonly min: number; readonly max: number };
  readonly policyCeiling: number;
}

export interface PredictiveFloors {
  /** Floor per 15-minute bucket from the replay start, decided at the bucket's start; −1 where the decision fell back to reactive. */
  readonly floors: Int32Array;
  readonly bucketMinutes: number;
  /** The service's apply delay (predictive.applyDelaySeconds): a floor is in force this long after its bucket starts. */
  readonly applyDelayMs: number;
  readonly fallbackBuckets: number;
}

export function predictiveFloorsFor(r: PredictiveFloorRequest): PredictiveFloors {
  const decision = decisionSettings(r.automation);
  // The stack's calendar comes with the configuration (forecastOptionsFor); the replay adds no holidays.
  const opts = forecastOptionsFor(r.automation);
  const first = r.samples[0]?.t ?? r.replayStartMs;
  const replay = replayPredictive(r.samples, opts, {
    capacityPerReplica: r.capacityPerReplica,
    rangeAt: floorRangeTimeline(r.automation, r.service, r.range, first, r.replayStartMs + r.minutes * 60_000),
    policyCeiling: r.policyCeiling,
    decision,
    live: liveSettingsFor(r.automation),
    collectorStepSeconds: r.automation.collector.stepSeconds,
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
  return { floors, bucketMinutes: stepMs / 60_000, applyDelayMs: decision.applyDelaySeconds * 1000, fallbackBuckets };
}
