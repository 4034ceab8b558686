/** The backtest of scaling policies on load traces (issue: automation service, item 6). See docs/forecasting.md. */
export { parseTraceCsv, parseTimestamp, readTrace, type Trace, type TraceQuality } from "./trace";
export { HpaSimulator, type HpaBehavior, type HpaSimConfig, type ScalingPolicy, type ScalingRules } from "./hpa";
export { loadServiceContext, defaultTargetUtilization, type ServiceContext } from "./service";
export { neededReplicas, oracleReplicas, simulatePolicy, timelineFromSamples, type LoadTimeline, type PolicyScore, type PolicySpec, type SimSettings } from "./simulate";
export { replayPredictive, type ReplaySettings, type ModelAccuracy, type PredictiveReplay } from "./predictive";
export { runBacktest, toBacktestJson, formatBacktest, renderBacktestSvg, type BacktestJson, type BacktestOptions, type BacktestResult, type PolicyResult } from "./run";
export { renderChart, type ChartInput, type ChartSeries } from "./svg";
