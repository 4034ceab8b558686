/**
 * The predictive engine's forecasters (issue: automation service, item 3). See docs/forecasting.md.
 *
 * Every forecaster has the same interface:
 *   const model = linearRegression.fit(history, opts);   // history: { t: epoch ms, v }[] or a RegularSeries
 *   const { point, lower, upper } = linearRegression.predict(model, horizonSteps);
 */
export * from "./types";
export { Calendar, defaultCalendarOptions, weekdayNames, isValidTimeZone, type CalendarOptions, type Weekday } from "./calendar";
export { resample, bucketIndex, bucketTime, trailingUnobserved, type ResampleOptions } from "./resample";
export {
  defaultForecastOptions,
  resolveForecastOptions,
  validateConfidenceThreshold,
  type ForecastOptions,
  type ForecastOptionsInput,
  type LinearOptions,
  type ProphetOptions,
  type ArimaOptions,
  type SarimaOptions,
} from "./options";
export {
  absolutePercentageError,
  calibrateBlocks,
  forecastBlock,
  holdoutBlocks,
  type ForecastBlock,
  confidenceOf,
  guardForecast,
  makeContext,
  makeForecaster,
  quantile,
  relativeError,
  type Calibration,
  type FittedModel,
  type Forecaster,
  type GuardLimits,
  type ModelContext,
  type ModelDefinition,
  type ValidationStats,
} from "./model";
export { persistence, naive, seasonalNaive, persistenceDefinition, naiveDefinition, seasonalNaiveDefinition } from "./baselines";
export { linearRegression, linearDefinition, type LinearParams } from "./linear";
export { prophet, prophetDefinition, type ProphetParams } from "./prophet";
export { arima, arimaDefinition, sarima, sarimaDefinition, type SarimaParams } from "./sarima";
export {
  ensemble,
  fitEnsembleAt,
  forecastEnsembleAt,
  disposeEnsemble,
  ensembleName,
  baselineDefinitions,
  defaultMemberDefinitions,
  type EnsembleFitExtras,
  type EnsembleForecast,
  type EnsembleModel,
  type EnsembleState,
  type ForecastAtOptions,
  type MemberState,
} from "./ensemble";
export { predictiveFloor, decideFloor, fallbackReasons, type FallbackReason, type FloorDecisionInput, type PredictiveFloorInput, type PredictiveFloorResult } from "./decision";
export { LiveForecaster, LiveSeries, defaultLiveSettings, encode as encodeState, decode as decodeState, type GateReason, type LiveAccuracy, type LiveSettings, type LiveSnapshot, type LiveStep } from "./live";
export {
  asymmetricQuantileLevel,
  pinballLoss,
  fitPeakRatio,
  peakRatioAt,
  calibratePeak,
  peakForecast,
  type PeakCalibration,
  type PeakRatioModel,
  type PeakRatioOptions,
} from "./peak";
export { levelSeasonalForecast, lastValueDefinition, levelDailyDefinition, levelWeeklyDefinition } from "./baselines";
export { aciUpdate, aciLevels, aciOffsets, dailyCandidate, newOnlineState, observe, issue, choose, scoreOf, warmStart, type OnlineSettings, type OnlineState } from "./online";
