/** The predictive dashboard: forecasts against observed load, forecast accuracy and predictive floors. */
import { automationServiceMetrics as auto } from "../metricNames";
import { serviceCatalog } from "../../catalog/services";
import { seriesFor } from "../signals";
import { DashboardService, GrafanaDashboard } from "./model";
import { Ctx, round, dashboard, HTTP_TOTAL, DEPLOY_SEL, AUTO_SEL, pct, Layout } from "./panels";

function forecastSignalOf(s: DashboardService): { query: string; signal: string; what: string; unit: string; forecast: boolean } {
  const def = serviceCatalog.find((c) => c.name === s.name && c.namespace === s.namespace);
  const series = def ? seriesFor(def) : [];
  const sizing = series.find((x) => x.perReplica !== undefined);
  if (sizing) {
    const http = sizing.signal === "requests_per_second";
    return { query: sizing.query, signal: sizing.signal, what: http ? "Requests per second" : `Scaler value of ${sizing.signal} (KEDA)`, unit: http ? "reqps" : "short", forecast: true };
  }
  const cpu = series.find((x) => x.signal === "cpu_cores");
  if (cpu) return { query: cpu.query, signal: cpu.signal, what: "CPU cores used", unit: "short", forecast: false };
  return { query: `sum(rate(${HTTP_TOTAL}{namespace="${s.namespace}", service="${s.name}"}[$__rate_interval]))`, signal: "requests_per_second", what: "Requests per second", unit: "reqps", forecast: true };
}

// ---------------------------------------------------------------------------------------------------------
// Predictive
// ---------------------------------------------------------------------------------------------------------

export function predictiveDashboard(ctx: Ctx): GrafanaDashboard {
  const { targets } = ctx;
  const mapeLimit = round(1 - targets.predictionAccuracy);
  const interval = ctx.forecastIntervalSeconds;
  const layout = new Layout().row(`Forecast vs actual load (horizon ${ctx.horizon})`);
  for (const s of ctx.services) {
    // What the predictor forecasts is the service's capacity signal (the collector's query for it,
    // lib/monitoring/signals.ts): KEDA services' queue lengths, HPA services' request rate. Services
    // without one (CPU/memory only) are not forecast: their panel shows the load alone.
    const sizing = forecastSignalOf(s);
    layout.add({
      type: "timeseries",
      title: sizing.forecast ? `Forecast vs actual: ${s.name}` : `Load (not forecast): ${s.name}`,
      description: sizing.forecast
        ? `${sizing.what} of ${s.namespace}/${s.name} against the forecast made ${ctx.horizon} earlier (point forecast and 80% interval).`
        : `${sizing.what} of ${s.namespace}/${s.name}. It has no capacity signal (only CPU/memory), so the predictor does not forecast it.`,
      w: 12,
      h: 8,
      unit: sizing.unit,
      min: 0,
      targets: [
        { expr: sizing.query, legend: "actual" },
        ...(sizing.forecast
          ? [{
              expr: `max by (bound) (${auto.forecastLoad}{service="${s.name}", signal="${sizing.signal}", horizon="${ctx.horizon}"} offset ${ctx.horizon})`,
              legend: "forecast {{bound}}",
            }]
          : []),
      ],
      overrides: [
        {
          matcher: { id: "byName", options: "forecast upper" },
          properties: [
            { id: "custom.fillBelowTo", value: "forecast lower" },
            { id: "custom.lineWidth", value: 0 },
            { id: "custom.fillOpacity", value: 20 },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
        {
          matcher: { id: "byName", options: "forecast lower" },
          properties: [
            { id: "custom.lineWidth", value: 0 },
            { id: "custom.fillOpacity", value: 0 },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
        {
          matcher: { id: "byName", options: "forecast point" },
          properties: [
            { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
            { id: "color", value: { mode: "fixed", fixedColor: "purple" } },
          ],
        },
      ],
    });
  }
  layout
    .row("Model accuracy")
    .add(
      {
        type: "timeseries",
        title: "Forecast MAPE by service and model",
        description: `Realised MAPE of the forecasts as issued, 1 h ahead, over the last day of completed buckets (worst signal of the service); dashed line at ${pct(mapeLimit)} (accuracy target ${pct(targets.predictionAccuracy)}).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: `max by (service, model) (${auto.forecastMape}{${AUTO_SEL}})`, legend: "{{service}} {{model}}" }],
        thresholds: [[mapeLimit, "red"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "80% interval coverage by service and model",
        description: `Share of the last day's realised buckets inside the interval issued 1 h before; a calibrated ${pct(targets.intervalCoverage)} interval covers ${pct(targets.intervalCoverage)} (dashed).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (service, model) (${auto.forecastIntervalCoverage}{${AUTO_SEL}})`, legend: "{{service}} {{model}}" }],
        baseColor: "red",
        thresholds: [[targets.intervalCoverage, "green"]],
        thresholdLines: true,
      },
    )
    .add(
      {
        type: "bargauge",
        title: "Realised MAPE by service now",
        description: `Realised MAPE of each selected service's issued forecasts (1 h ahead, last day); red above ${pct(mapeLimit)}.`,
        w: 12,
        h: 6,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (service) (${auto.forecastMape}{${AUTO_SEL}})`, legend: "{{service}}" }],
        thresholds: [[mapeLimit, "red"]],
      },
      {
        type: "bargauge",
        title: "Peak forecast error by service now",
        description: "Realised mean (actual − forecast) / forecast of the bucket-peak forecasts the floors were sized from (decision horizon, last day): above 0 the floor was short of the peak.",
        w: 12,
        h: 6,
        unit: "percentunit",
        min: -1,
        max: 1,
        targets: [{ expr: `max by (service) (${auto.forecastPeakError}{${AUTO_SEL}})`, legend: "{{service}}" }],
        baseColor: "green",
        thresholds: [[0, "red"]],
      },
    )
    .row("Scaling decisions")
    .add(
      {
        type: "timeseries",
        title: "Decision confidence by service",
        description: `Confidence of the predictive decision; below ${pct(targets.decisionConfidence)} (dashed) the service falls back to reactive scaling.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (service) (${auto.forecastConfidence}{${AUTO_SEL}})`, legend: "{{service}}" }],
        baseColor: "red",
        thresholds: [[targets.decisionConfidence, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Predictive floor vs replicas",
        description: "The replica floor the automation service derived from the forecast, and the replicas actually running.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `max by (service) (${auto.predictiveFloorReplicas}{${AUTO_SEL}})`, legend: "{{service}} floor" },
          { expr: `sum by (deployment) (kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "{{deployment}} replicas" },
        ],
        overrides: [
          { matcher: { id: "byRegexp", options: ".* floor$" }, properties: [{ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } }] },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Decisions per hour by kind and outcome",
        description: "Scaling decisions (scheduled, predictive, emergency) in the preceding hour, by outcome.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [
          { expr: `sum by (kind, outcome) (increase(${auto.scalingDecisionsTotal}{${AUTO_SEL}}[1h]))`, legend: "{{kind}} {{outcome}}" },
        ],
      },
      {
        type: "table",
        title: "Decisions by service, kind and outcome (time range)",
        description: "Decision counts over the selected time range.",
        w: 12,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (service, kind, outcome) (increase(${auto.scalingDecisionsTotal}{${AUTO_SEL}}[$__range]))`,
            legend: "{{service}} {{kind}} {{outcome}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .row("Forecast pipeline and stack updates")
    .add(
      {
        type: "stat",
        title: "Last successful forecast",
        description: `Age of the last successful forecast run; orange after two missed ${interval} s runs, red after four.`,
        w: 6,
        h: 6,
        unit: "s",
        decimals: 0,
        targets: [{ expr: `time() - max(${auto.forecastLastSuccessTimestamp})`, legend: "age" }],
        thresholds: [[2 * interval, "orange"], [4 * interval, "red"]],
      },
      {
        type: "bargauge",
        title: "Stack updates by outcome (time range)",
        description: "pulumi up runs over the selected time range by outcome (succeeded, failed, refused by policy, no change).",
        w: 6,
        h: 6,
        decimals: 0,
        min: 0,
        targets: [{ expr: `sum by (outcome) (increase(${auto.updatesTotal}[$__range]))`, legend: "{{outcome}}" }],
        baseColor: "blue",
      },
      {
        type: "timeseries",
        title: "Stack updates per hour by trigger and outcome",
        description: "pulumi up runs in the preceding hour.",
        w: 12,
        h: 6,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (trigger, outcome) (increase(${auto.updatesTotal}[1h]))`, legend: "{{trigger}} {{outcome}}" }],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Stack update duration by trigger (p50 / p95, 1h window)",
        description: "Quantiles of pulumi up duration over the preceding hour.",
        w: 12,
        h: 8,
        unit: "s",
        min: 0,
        targets: [
          {
            expr: `histogram_quantile(0.5, sum by (trigger, le) (rate(${auto.updateDurationSeconds}_bucket[1h])))`,
            legend: "{{trigger}} p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (trigger, le) (rate(${auto.updateDurationSeconds}_bucket[1h])))`,
            legend: "{{trigger}} p95",
          },
        ],
      },
      {
        type: "table",
        title: "Scheduled profile applications (time range)",
        description: "Scheduled profile applications by profile and outcome over the selected time range.",
        w: 12,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (profile, outcome) (increase(${auto.scheduledProfileAppliedTotal}[$__range]))`,
            legend: "{{profile}} {{outcome}}",
            table: true,
            instant: true,
          },
        ],
      },
    );
  return dashboard(
    ctx,
    "predictive",
    "Predictive",
    "Model accuracy and prediction visualisation: forecast vs actual load, MAPE, interval coverage, decision confidence, predictive floors and stack updates.",
    layout,
    "now-24h",
  );
}
