/**
 * Alert rules, Alertmanager config and runbook, checked with the real tools:
 * - `promtool check rules` on the generated rule files (prod and dev);
 * - `promtool test rules` on synthetic series: every critical alert fires when it should and stays
 *   silent on healthy series, and so do the warning, cost, capacity, prediction and info alerts;
 * - `amtool check-config` and `amtool config routes test` on the rendered Alertmanager config;
 * - static checks: labels, annotations, runbook anchors, the metric contract, the CRD schema.
 *
 * promtool/amtool come from the Debian packages `prometheus` and `prometheus-alertmanager`. Without
 * them the tool tests are skipped locally and FAIL when CI is set.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv from "ajv";
import YAML from "yaml";
import {
  type AlertCategory,
  type AlertSeverity,
  type Environment,
  type PrometheusRuleGroup,
  DEFAULT_ALERT_THRESHOLDS,
  buildAlertRuleGroups,
  runbookAnchor,
  runbookAnchors,
} from "../lib/monitoring/alertRules";
import {
  type AlertmanagerConfig,
  type AlertmanagerOptions,
  RECEIVERS,
  buildAlertmanagerConfig,
  renderAlertmanagerYaml,
} from "../lib/monitoring/alertmanagerConfig";
import { AutomationMetrics } from "../automation/metrics";
import { planStack } from "./support/plans";
import { deployedCatalogs, loadCatalogFiles } from "../lib/monitoring/metricCatalogs";
import { buildContractIndex, checkExpression } from "../lib/monitoring/promqlContract";
import { deploymentOf, indexInputFromPlan } from "../lib/monitoring/renderedPromql";

const ROOT = path.resolve(__dirname, "..");
const RUNBOOK = path.join(ROOT, "docs", "runbook.md");
const RUNBOOK_BASE = "https://git.example.invalid/pyairtable/pyairtable-autoscaling/blob/main/docs/runbook.md";
const PROMETHEUS_RULE_CRD = path.resolve(ROOT, "..", "shared", "schemas", "prometheus-operator", "monitoring.coreos.com_prometheusrules.yaml");
const ENVS: readonly Environment[] = ["prod", "dev"];
const APT_HINT = "apt-get install -y prometheus prometheus-alertmanager";

const groupsFor = (environment: Environment): PrometheusRuleGroup[] =>
  buildAlertRuleGroups({ environment, runbookBaseUrl: RUNBOOK_BASE });

// ------------------------------------------------------------------------------------------------
// tool helpers

function inCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

const toolCache = new Map<string, boolean>();
function toolAvailable(tool: string): boolean {
  if (!toolCache.has(tool)) toolCache.set(tool, !spawnSync(tool, ["--version"], { encoding: "utf8" }).error);
  return toolCache.get(tool) ?? false;
}

/** Skips the test when the tool is missing (locally), fails it in CI. */
function requireTool(ctx: Mocha.Context, tool: string): void {
  if (toolAvailable(tool)) return;
  if (inCI()) assert.fail(`${tool} is not on PATH but CI is set: CI must install it (${APT_HINT})`);
  console.log(`      [skipped] ${tool} is not on PATH; install it with: ${APT_HINT}`);
  ctx.skip();
}

function run(tool: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(tool, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Temp dir for generated rule/test/config files, created on first use, removed when the process exits. */
let tmpDir: string | undefined;
function tmp(): string {
  if (tmpDir === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyairtable-alerts-"));
    tmpDir = dir;
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return tmpDir;
}

function writeRuleFile(name: string, groups: PrometheusRuleGroup[]): string {
  const file = path.join(tmp(), name);
  fs.writeFileSync(file, YAML.stringify({ groups }, { lineWidth: 0 }));
  return file;
}

// ------------------------------------------------------------------------------------------------
// promtool unit-test cases

type Labels = Record<string, string>;
interface InputSeries {
  series: string;
  values: string;
}
const s = (metric: string, labels: Labels, values: string): InputSeries => ({
  series: `${metric}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`,
  values,
});

interface ExpectedAlert {
  /** Labels of the result series (before the rule's own labels). */
  labels: Labels;
  /** Expected rendered `target` label. */
  target: string;
}
interface Check {
  at: string;
  alertname: string;
  fire: ExpectedAlert[];
}
interface Scenario {
  name: string;
  env: Environment;
  series: InputSeries[];
  checks: Check[];
}

const NS = "pyairtable-api";
const WNS = "pyairtable-workers";
const hpa = (name: string): Labels => ({ namespace: NS, horizontalpodautoscaler: name });
const hpaAlert = (name: string, extra: Labels = {}): ExpectedAlert => ({ labels: { ...hpa(name), ...extra }, target: `${NS}/${name}` });
const hpaSeries = (name: string, current: string, min: string, max: string): InputSeries[] => [
  s("kube_horizontalpodautoscaler_status_current_replicas", hpa(name), current),
  s("kube_horizontalpodautoscaler_spec_min_replicas", hpa(name), min),
  s("kube_horizontalpodautoscaler_spec_max_replicas", hpa(name), max),
];
const condition = (name: string, cond: string, isFalse: boolean, samples = 40): InputSeries[] => [
  s("kube_horizontalpodautoscaler_status_condition", { ...hpa(name), condition: cond, status: "false" }, `${isFalse ? 1 : 0}x${samples}`),
  s("kube_horizontalpodautoscaler_status_condition", { ...hpa(name), condition: cond, status: "true" }, `${isFalse ? 0 : 1}x${samples}`),
];
/** One running pod of a container with a request and cAdvisor usage. */
const pod = (container: string, podName: string, resource: "cpu" | "memory", request: number, usage: string, running = true): InputSeries[] => [
  s("kube_pod_container_resource_requests", { namespace: NS, pod: podName, container, resource, unit: resource === "cpu" ? "core" : "byte" }, `${request}x1000`),
  s("kube_pod_status_phase", { namespace: NS, pod: podName, phase: "Running" }, `${running ? 1 : 0}x1000`),
  resource === "cpu"
    ? s("container_cpu_usage_seconds_total", { namespace: NS, pod: podName, container }, usage)
    : s("container_memory_working_set_bytes", { namespace: NS, pod: podName, container }, usage),
];
const containerAlert = (container: string): ExpectedAlert => ({ labels: { namespace: NS, container }, target: `${NS}/${container}` });
const keda = (scaledObject: string): ExpectedAlert => ({ labels: { namespace: WNS, scaledObject }, target: `${WNS}/${scaledObject}` });
const cluster: ExpectedAlert = { labels: {}, target: "cluster" };

const SCENARIOS: Scenario[] = [
  {
    name: "HPA replica ceiling: at max (critical) and near max (warning)",
    env: "prod",
    series: [
      ...hpaSeries("api-gateway", "25x40", "2x40", "25x40"), // at max
      ...hpaSeries("user-services", "9x40", "1x40", "10x40"), // 90% of max
      ...hpaSeries("platform-services", "10x40", "2x40", "15x40"), // healthy
      ...hpaSeries("fixed-size", "2x40", "2x40", "2x40"), // min == max: never "at the ceiling"
    ],
    checks: [
      { at: "10m", alertname: "HPAMaxReplicasReached", fire: [] },
      { at: "20m", alertname: "HPAMaxReplicasReached", fire: [hpaAlert("api-gateway")] },
      { at: "5m", alertname: "HPANearMaxReplicas", fire: [] },
      { at: "15m", alertname: "HPANearMaxReplicas", fire: [hpaAlert("api-gateway"), hpaAlert("user-services")] },
    ],
  },
  {
    name: "HPA replica ceiling: healthy HPAs",
    env: "prod",
    series: [...hpaSeries("api-gateway", "12x40", "2x40", "25x40"), ...hpaSeries("platform-services", "2x40", "2x40", "15x40")],
    checks: [
      { at: "30m", alertname: "HPAMaxReplicasReached", fire: [] },
      { at: "30m", alertname: "HPANearMaxReplicas", fire: [] },
    ],
  },
  {
    name: "HPA ScalingActive=false (scaled-to-zero targets excluded)",
    env: "prod",
    series: [
      ...condition("api-gateway", "ScalingActive", true),
      s("kube_horizontalpodautoscaler_status_current_replicas", hpa("api-gateway"), "3x40"),
      ...condition("file-processing", "ScalingActive", true), // KEDA scaled it to zero: expected
      s("kube_horizontalpodautoscaler_status_current_replicas", hpa("file-processing"), "0x40"),
      ...condition("user-services", "ScalingActive", false),
      s("kube_horizontalpodautoscaler_status_current_replicas", hpa("user-services"), "2x40"),
    ],
    checks: [
      { at: "5m", alertname: "HPAScalingInactive", fire: [] },
      { at: "15m", alertname: "HPAScalingInactive", fire: [hpaAlert("api-gateway", { condition: "ScalingActive", status: "false" })] },
    ],
  },
  {
    name: "HPA ScalingActive=false: healthy",
    env: "prod",
    series: [...condition("api-gateway", "ScalingActive", false), s("kube_horizontalpodautoscaler_status_current_replicas", hpa("api-gateway"), "3x40")],
    checks: [{ at: "30m", alertname: "HPAScalingInactive", fire: [] }],
  },
  {
    name: "HPA AbleToScale=false",
    env: "prod",
    series: [...condition("api-gateway", "AbleToScale", true), ...condition("platform-services", "AbleToScale", false)],
    checks: [
      { at: "5m", alertname: "HPAUnableToScale", fire: [] },
      { at: "15m", alertname: "HPAUnableToScale", fire: [hpaAlert("api-gateway", { condition: "AbleToScale", status: "false" })] },
    ],
  },
  {
    name: "HPA AbleToScale=false: healthy",
    env: "prod",
    series: [...condition("api-gateway", "AbleToScale", false), ...condition("platform-services", "AbleToScale", false)],
    checks: [{ at: "30m", alertname: "HPAUnableToScale", fire: [] }],
  },
  {
    name: "KEDA scaler errors: persistent (critical) vs burst (warning only)",
    env: "prod",
    series: [
      s("keda_scaled_object_errors_total", { namespace: WNS, scaledObject: "saga-orchestrator" }, "0+2x40"),
      // KEDA <= 2.15 also exported the per-scaler counter
      s("keda_scaler_detail_errors_total", { namespace: WNS, scaledObject: "analytics", scaler: "kafkaScaler", metric: "s0-kafka", triggerIndex: "0", type: "scaledobject" }, "0+1x40"),
      s("keda_scaled_object_errors_total", { namespace: WNS, scaledObject: "webhooks" }, "3x40"), // old errors, none now
      s("keda_scaled_object_errors_total", { namespace: WNS, scaledObject: "notifications" }, "0x10 4x30"), // one burst at 11m
    ],
    checks: [
      { at: "10m", alertname: "KEDAScalerFailing", fire: [] },
      { at: "25m", alertname: "KEDAScalerFailing", fire: [keda("analytics"), keda("saga-orchestrator")] },
      { at: "17m", alertname: "KEDAScalerErrors", fire: [keda("analytics"), keda("notifications"), keda("saga-orchestrator")] },
      { at: "35m", alertname: "KEDAScalerErrors", fire: [keda("analytics"), keda("saga-orchestrator")] },
    ],
  },
  {
    name: "KEDA scaler errors: healthy",
    env: "prod",
    series: [
      s("keda_scaled_object_errors_total", { namespace: WNS, scaledObject: "saga-orchestrator" }, "0x40"),
      s("keda_scaled_object_errors_total", { namespace: WNS, scaledObject: "webhooks" }, "7x40"),
    ],
    checks: [
      { at: "30m", alertname: "KEDAScalerFailing", fire: [] },
      { at: "30m", alertname: "KEDAScalerErrors", fire: [] },
    ],
  },
  {
    name: "Runaway scaling (prod: +10 replicas and 3x in 30m)",
    env: "prod",
    series: [
      // 2 replicas, then +2 per minute from 31m to 45m (2 -> 32), then flat
      s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("api-gateway"), "2x30 4+2x14 32x30"),
      // +6 in 30m: growth, not runaway in prod
      s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("platform-services"), "2x30 3+1x5 8x40"),
      // +12 but only 2.2x
      s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("user-services"), "10x30 11+1x11 22x40"),
    ],
    checks: [
      { at: "38m", alertname: "RunawayScaling", fire: [] },
      { at: "50m", alertname: "RunawayScaling", fire: [hpaAlert("api-gateway")] },
      { at: "75m", alertname: "RunawayScaling", fire: [] },
    ],
  },
  {
    name: "Runaway scaling: healthy steady and slow growth",
    env: "prod",
    series: [
      s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("api-gateway"), "4+0.2x80"),
      s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("platform-services"), "6x80"),
    ],
    checks: [{ at: "70m", alertname: "RunawayScaling", fire: [] }],
  },
  {
    name: "Runaway scaling (dev: +5 is enough)",
    env: "dev",
    series: [s("kube_horizontalpodautoscaler_status_desired_replicas", hpa("platform-services"), "2x30 3+1x5 8x40")],
    checks: [{ at: "45m", alertname: "RunawayScaling", fire: [hpaAlert("platform-services")] }],
  },
  {
    name: "Budget: 80% warning and 95% emergency",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "daily" }, "0.5x5 0.96x30"),
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "weekly" }, "0.85x35"),
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "monthly" }, "0.4x35"),
      s("pyairtable_autoscaler_emergency_profile_active", {}, "0x5 1x30"),
    ],
    checks: [
      { at: "8m", alertname: "BudgetEmergency", fire: [] },
      { at: "15m", alertname: "BudgetEmergency", fire: [{ labels: { period: "daily" }, target: "daily" }] },
      {
        at: "15m",
        alertname: "BudgetThresholdExceeded",
        fire: [
          { labels: { period: "daily" }, target: "daily" },
          { labels: { period: "weekly" }, target: "weekly" },
        ],
      },
      { at: "30m", alertname: "BudgetEmergencyScaleDownNotApplied", fire: [] }, // the profile was applied
    ],
  },
  {
    name: "Budget: healthy",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "daily" }, "0.5x35"),
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "monthly" }, "0.79x35"),
      s("pyairtable_autoscaler_emergency_profile_active", {}, "0x35"),
    ],
    checks: [
      { at: "30m", alertname: "BudgetEmergency", fire: [] },
      { at: "30m", alertname: "BudgetThresholdExceeded", fire: [] },
      { at: "30m", alertname: "BudgetEmergencyScaleDownNotApplied", fire: [] },
    ],
  },
  {
    name: "Budget emergency without the emergency profile",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_budget_utilisation_ratio", { period: "daily" }, "0.97x40"),
      s("pyairtable_autoscaler_emergency_profile_active", {}, "0x40"),
    ],
    checks: [
      { at: "10m", alertname: "BudgetEmergencyScaleDownNotApplied", fire: [] },
      { at: "20m", alertname: "BudgetEmergencyScaleDownNotApplied", fire: [{ labels: { period: "daily" }, target: "daily" }] },
    ],
  },
  {
    name: "Spot interruption storm",
    env: "prod",
    series: [
      // 10 spot interruptions between 11m and 21m
      s("karpenter_interruption_received_messages_total", { message_type: "spot_interrupted" }, "0x10 0+1x10 10x30"),
      s("karpenter_interruption_received_messages_total", { message_type: "rebalance_recommendation" }, "0+5x50"),
    ],
    checks: [
      { at: "10m", alertname: "SpotInterruptionStorm", fire: [] },
      { at: "30m", alertname: "SpotInterruptionStorm", fire: [cluster] },
      { at: "30m", alertname: "SpotInterruptionsElevated", fire: [cluster] },
    ],
  },
  {
    name: "Spot interruptions: healthy (2 per hour, rebalance recommendations ignored)",
    env: "prod",
    series: [
      s("karpenter_interruption_received_messages_total", { message_type: "spot_interrupted" }, "0x20 1x20 2x20"),
      s("karpenter_interruption_received_messages_total", { message_type: "rebalance_recommendation" }, "0+5x60"),
    ],
    checks: [
      { at: "30m", alertname: "SpotInterruptionStorm", fire: [] },
      { at: "55m", alertname: "SpotInterruptionStorm", fire: [] },
      { at: "55m", alertname: "SpotInterruptionsElevated", fire: [] },
    ],
  },
  {
    name: "Spot interruption storm (dev: 4 is a storm)",
    env: "dev",
    series: [s("karpenter_interruption_received_messages_total", { message_type: "spot_interrupted" }, "0x10 0+1x5 5x30")],
    checks: [{ at: "25m", alertname: "SpotInterruptionStorm", fire: [cluster] }],
  },
  {
    name: "High CPU utilisation (only running pods count)",
    env: "prod",
    series: [
      ...pod("api-gateway", "api-gateway-1", "cpu", 1, "0+57x40"), // 0.95 cores of 1
      ...pod("api-gateway", "api-gateway-2", "cpu", 1, "0+57x40"),
      // a finished pod still has its request in kube-state-metrics; it must not dilute the ratio
      ...pod("api-gateway", "api-gateway-old", "cpu", 1, "0x40", false),
      ...pod("platform-services", "platform-services-1", "cpu", 1, "0+30x40"), // 0.5
    ],
    checks: [
      { at: "10m", alertname: "HighCPUUtilisation", fire: [] },
      { at: "20m", alertname: "HighCPUUtilisation", fire: [containerAlert("api-gateway")] },
    ],
  },
  {
    name: "High memory utilisation",
    env: "prod",
    series: [
      ...pod("api-gateway", "api-gateway-1", "memory", 536870912, "520000000x40"), // 96.9%
      ...pod("platform-services", "platform-services-1", "memory", 536870912, "300000000x40"), // 56%
    ],
    checks: [
      { at: "10m", alertname: "HighMemoryUtilisation", fire: [] },
      { at: "20m", alertname: "HighMemoryUtilisation", fire: [containerAlert("api-gateway")] },
    ],
  },
  {
    name: "CPU request waste, business hours only (1970-01-01 was a Thursday)",
    env: "prod",
    series: [
      ...pod("analytics", "analytics-1", "cpu", 1, "0+6x1000"), // 0.1 cores of 1
      ...pod("api-gateway", "api-gateway-1", "cpu", 1, "0+36x1000"), // 0.6
    ],
    checks: [
      { at: "7h", alertname: "CPURequestWaste", fire: [] }, // idle all night: not business hours
      { at: "13h", alertname: "CPURequestWaste", fire: [] }, // pending since 08:00
      { at: "14h30m", alertname: "CPURequestWaste", fire: [containerAlert("analytics")] },
      { at: "16h", alertname: "CPURequestWaste", fire: [containerAlert("analytics")] },
    ],
  },
  {
    name: "Memory request waste",
    env: "prod",
    series: [
      ...pod("analytics", "analytics-1", "memory", 1073741824, "200000000x1000"), // 18.6%
      ...pod("api-gateway", "api-gateway-1", "memory", 536870912, "400000000x1000"), // 74.5%
    ],
    checks: [
      { at: "7h", alertname: "MemoryRequestWaste", fire: [] },
      { at: "14h30m", alertname: "MemoryRequestWaste", fire: [containerAlert("analytics")] },
    ],
  },
  {
    name: "Karpenter NodePool near its limit",
    env: "prod",
    series: [
      // The NodePools limit only `nodes` (karpenter_nodepools_limit has no cpu/memory series).
      s("karpenter_nodepools_usage", { nodepool: "batch-spot", resource_type: "nodes" }, "13x40"),
      s("karpenter_nodepools_limit", { nodepool: "batch-spot", resource_type: "nodes" }, "14x40"),
      s("karpenter_nodepools_usage", { nodepool: "batch-spot", resource_type: "cpu" }, "50x40"),
      s("karpenter_nodepools_usage", { nodepool: "api-spot", resource_type: "nodes" }, "1x40"),
      s("karpenter_nodepools_limit", { nodepool: "api-spot", resource_type: "nodes" }, "3x40"),
    ],
    checks: [
      { at: "10m", alertname: "NodePoolNearLimit", fire: [] },
      { at: "20m", alertname: "NodePoolNearLimit", fire: [{ labels: { nodepool: "batch-spot", resource_type: "nodes" }, target: "batch-spot/nodes" }] },
    ],
  },
  {
    name: "Monthly cost estimate over budget",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_cost_estimate_monthly_usd", { component: "compute" }, "12000x80"),
      s("pyairtable_autoscaler_cost_estimate_monthly_usd", { component: "eks" }, "72x80"),
      s("pyairtable_autoscaler_budget_limit_usd", { period: "monthly" }, "12000x80"),
      s("pyairtable_autoscaler_budget_limit_usd", { period: "daily" }, "500x80"),
    ],
    checks: [
      { at: "50m", alertname: "MonthlyCostEstimateOverBudget", fire: [] },
      { at: "70m", alertname: "MonthlyCostEstimateOverBudget", fire: [{ labels: {}, target: "monthly" }] },
    ],
  },
  {
    name: "Monthly cost estimate: healthy, two automation replicas are not double-counted",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_cost_estimate_monthly_usd", { component: "compute", pod: "automation-0" }, "6100x80"),
      s("pyairtable_autoscaler_cost_estimate_monthly_usd", { component: "compute", pod: "automation-1" }, "6100x80"),
      s("pyairtable_autoscaler_cost_estimate_monthly_usd", { component: "eks", pod: "automation-0" }, "72x80"),
      s("pyairtable_autoscaler_budget_limit_usd", { period: "monthly" }, "12000x80"),
    ],
    checks: [{ at: "70m", alertname: "MonthlyCostEstimateOverBudget", fire: [] }],
  },
  {
    name: "Forecast stale (> 2h without success)",
    env: "prod",
    series: [s("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", {}, "0x150")],
    checks: [
      { at: "125m", alertname: "ForecastStale", fire: [] },
      { at: "135m", alertname: "ForecastStale", fire: [{ labels: {}, target: "forecast" }] },
    ],
  },
  {
    name: "Forecast fresh, including after an automation-service restart",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", { pod: "automation-0" }, "0+60x150"),
      // restarted at 101m: the gauge starts at 0 again; the last success is remembered for 3h
      s("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", { pod: "automation-1" }, "0+60x100 0x50"),
    ],
    checks: [{ at: "140m", alertname: "ForecastStale", fire: [] }],
  },
  {
    name: "Forecast restarted and never succeeded since: only the remembered value counts",
    env: "prod",
    // last success at 100m (6000 s); restarted at 101m and nothing since: stale after 6000 + 7200 s = 220m, firing 10m later
    series: [s("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", {}, "0+60x100 0x150")],
    checks: [
      { at: "200m", alertname: "ForecastStale", fire: [] },
      { at: "240m", alertname: "ForecastStale", fire: [{ labels: {}, target: "forecast" }] },
    ],
  },
  {
    name: "Forecast accuracy below 80% and interval miscalibration",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_forecast_mape_ratio", { service: "api-gateway", model: "prophet" }, "0.35x80"),
      s("pyairtable_autoscaler_forecast_mape_ratio", { service: "api-gateway", model: "arima" }, "0.3x80"),
      s("pyairtable_autoscaler_forecast_mape_ratio", { service: "platform-services", model: "arima" }, "0.4x80"),
      s("pyairtable_autoscaler_forecast_mape_ratio", { service: "platform-services", model: "ensemble" }, "0.1x80"),
      s("pyairtable_autoscaler_forecast_interval_coverage_ratio", { service: "api-gateway", model: "ensemble" }, "0.5x80"),
      s("pyairtable_autoscaler_forecast_interval_coverage_ratio", { service: "platform-services", model: "ensemble" }, "0.78x80"),
      s("pyairtable_autoscaler_forecast_interval_coverage_ratio", { service: "platform-services", model: "arima" }, "0.99x80"),
    ],
    checks: [
      { at: "50m", alertname: "ForecastAccuracyLow", fire: [] },
      { at: "50m", alertname: "ForecastIntervalMiscalibrated", fire: [] },
      { at: "70m", alertname: "ForecastAccuracyLow", fire: [{ labels: { service: "api-gateway" }, target: "api-gateway" }] },
      { at: "70m", alertname: "ForecastIntervalMiscalibrated", fire: [{ labels: { service: "api-gateway" }, target: "api-gateway" }] },
    ],
  },
  {
    name: "Predictive scaling fallback and floor updates (info)",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_forecast_confidence_ratio", { service: "file-processing" }, "0.6x50"),
      s("pyairtable_autoscaler_forecast_confidence_ratio", { service: "api-gateway" }, "0.9x50"),
      s("pyairtable_autoscaler_predictive_floor_replicas", { service: "api-gateway" }, "3x10 5x40"),
      s("pyairtable_autoscaler_predictive_floor_replicas", { service: "platform-services" }, "2x50"),
    ],
    checks: [
      { at: "20m", alertname: "PredictiveScalingFallbackActive", fire: [] },
      { at: "40m", alertname: "PredictiveScalingFallbackActive", fire: [{ labels: { service: "file-processing" }, target: "file-processing" }] },
      { at: "15m", alertname: "PredictiveFloorChanged", fire: [{ labels: { service: "api-gateway" }, target: "api-gateway" }] },
      { at: "45m", alertname: "PredictiveFloorChanged", fire: [] },
    ],
  },
  {
    name: "Automation service: scheduled profile applied (info) and failing updates (warning)",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_scheduled_profile_applied_total", { profile: "business-hours", outcome: "succeeded" }, "0x10 1x30"),
      s("pyairtable_autoscaler_scheduled_profile_applied_total", { profile: "evening", outcome: "failed" }, "0x10 1x30"),
      s("pyairtable_autoscaler_updates_total", { trigger: "scheduled", outcome: "failed" }, "0x10 1x80"),
      s("pyairtable_autoscaler_updates_total", { trigger: "predictive", outcome: "succeeded" }, "0+1x90"),
      s("pyairtable_autoscaler_updates_total", { trigger: "emergency", outcome: "refused" }, "0x90"),
      s("pyairtable_autoscaler_leader_lock_held", { pod: "automation-0" }, "1x40"),
      s("pyairtable_autoscaler_leader_lock_held", { pod: "automation-1" }, "0x40"),
    ],
    checks: [
      { at: "15m", alertname: "ScheduledProfileApplied", fire: [{ labels: { profile: "business-hours" }, target: "business-hours" }] },
      { at: "40m", alertname: "ScheduledProfileApplied", fire: [] },
      { at: "15m", alertname: "AutomationStackUpdateFailing", fire: [{ labels: { trigger: "scheduled" }, target: "scheduled" }] },
      { at: "75m", alertname: "AutomationStackUpdateFailing", fire: [] }, // the failure left the 1h window
      { at: "30m", alertname: "AutomationLeaderLockUnhealthy", fire: [] },
    ],
  },
  {
    name: "Automation service: no leader",
    env: "prod",
    series: [
      s("pyairtable_autoscaler_leader_lock_held", { pod: "automation-0" }, "0x40"),
      s("pyairtable_autoscaler_leader_lock_held", { pod: "automation-1" }, "0x40"),
    ],
    checks: [
      { at: "10m", alertname: "AutomationLeaderLockUnhealthy", fire: [] },
      { at: "20m", alertname: "AutomationLeaderLockUnhealthy", fire: [{ labels: {}, target: "automation" }] },
    ],
  },
  {
    name: "Automation service: not reporting at all",
    env: "prod",
    series: [s("up", { job: "kube-state-metrics" }, "1x40")],
    checks: [{ at: "20m", alertname: "AutomationLeaderLockUnhealthy", fire: [{ labels: {}, target: "automation" }] }],
  },
];

/** The alert list this suite expects: name, severity, category. Changing an alert means changing this table. */
const EXPECTED_ALERTS: ReadonlyArray<[string, AlertSeverity, AlertCategory]> = [
  ["HPAMaxReplicasReached", "critical", "scaling"],
  ["HPANearMaxReplicas", "warning", "scaling"],
  ["HPAScalingInactive", "critical", "scaling"],
  ["HPAUnableToScale", "critical", "scaling"],
  ["KEDAScalerFailing", "critical", "scaling"],
  ["KEDAScalerErrors", "warning", "scaling"],
  ["RunawayScaling", "critical", "scaling"],
  ["AutomationStackUpdateFailing", "warning", "scaling"],
  ["AutomationLeaderLockUnhealthy", "warning", "scaling"],
  ["ScheduledProfileApplied", "info", "scaling"],
  ["HighCPUUtilisation", "warning", "capacity"],
  ["HighMemoryUtilisation", "warning", "capacity"],
  ["NodePoolNearLimit", "warning", "capacity"],
  ["BudgetThresholdExceeded", "warning", "cost"],
  ["BudgetEmergency", "critical", "cost"],
  ["BudgetEmergencyScaleDownNotApplied", "critical", "cost"],
  ["MonthlyCostEstimateOverBudget", "warning", "cost"],
  ["SpotInterruptionsElevated", "warning", "cost"],
  ["SpotInterruptionStorm", "critical", "cost"],
  ["CPURequestWaste", "warning", "cost"],
  ["MemoryRequestWaste", "warning", "cost"],
  ["ForecastStale", "warning", "prediction"],
  ["ForecastAccuracyLow", "warning", "prediction"],
  ["ForecastIntervalMiscalibrated", "warning", "prediction"],
  ["PredictiveScalingFallbackActive", "info", "prediction"],
  ["PredictiveFloorChanged", "info", "prediction"],
];

function ruleLabels(env: Environment): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const g of groupsFor(env)) for (const r of g.rules) out.set(r.alert, r.labels);
  return out;
}

/** Writes a promtool unit-test file for the scenarios of one environment (rules without annotations). */
function promtoolTestFile(env: Environment, ruleFile: string, scenarios: Scenario[]): string {
  const labels = ruleLabels(env);
  const tests = scenarios.map((sc) => ({
    name: sc.name,
    interval: "1m",
    input_series: sc.series,
    alert_rule_test: sc.checks.map((c) => {
      const rl = labels.get(c.alertname);
      if (!rl) throw new Error(`scenario "${sc.name}" checks unknown alert ${c.alertname}`);
      return {
        eval_time: c.at,
        alertname: c.alertname,
        exp_alerts: c.fire.map((f) => ({ exp_labels: { ...f.labels, ...rl, target: f.target } })),
      };
    }),
  }));
  const file = path.join(tmp(), `unit-${env}.yml`);
  fs.writeFileSync(file, YAML.stringify({ rule_files: [path.basename(ruleFile)], evaluation_interval: "1m", tests }, { lineWidth: 0 }));
  return file;
}

/** Groups with annotations removed: the firing tests compare labels only; annotations are checked separately. */
const withoutAnnotations = (groups: PrometheusRuleGroup[]): PrometheusRuleGroup[] =>
  groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, annotations: {} })) }));

// ------------------------------------------------------------------------------------------------
// Alertmanager helpers

const FAKE_SECRETS = {
  slackWebhookUrl: "https://hooks.slack.invalid/services/TEST",
  emailTo: "oncall@example.invalid",
  costEmailTo: "finops@example.invalid",
};
function amOptions(environment: Environment): AlertmanagerOptions {
  return {
    environment,
    ...(environment === "prod"
      ? { slackWebhookUrlFile: "/etc/alertmanager/secrets/slack-webhook-url" }
      : { slackWebhookUrl: FAKE_SECRETS.slackWebhookUrl }),
    emailTo: FAKE_SECRETS.emailTo,
    costEmailTo: FAKE_SECRETS.costEmailTo,
    smtp: {
      smarthost: "smtp.example.invalid:587",
      from: "alertmanager@example.invalid",
      authUsername: "alertmanager",
      ...(environment === "prod" ? { authPasswordFile: "/etc/alertmanager/secrets/smtp-password" } : { authPassword: "not-a-real-password" }),
    },
  };
}

function writeAmConfig(env: Environment): string {
  const file = path.join(tmp(), `alertmanager-${env}.yml`);
  fs.writeFileSync(file, renderAlertmanagerYaml(buildAlertmanagerConfig(amOptions(env))));
  return file;
}

/** Evaluates an Alertmanager matcher string (`a="b"`, `a!="b"`, `a=~"re"`, `a!~"re"`) against labels. */
function matches(m: string, labels: Labels): boolean {
  const parsed = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"$/.exec(m.trim());
  if (!parsed) throw new Error(`cannot parse matcher ${m}`);
  const [, name, op, raw] = parsed;
  const value = JSON.parse(`"${raw}"`) as string;
  const actual = labels[name] ?? "";
  switch (op) {
    case "=":
      return actual === value;
    case "!=":
      return actual !== value;
    case "=~":
      return new RegExp(`^(?:${value})$`).test(actual);
    default:
      return !new RegExp(`^(?:${value})$`).test(actual);
  }
}

function inhibits(config: AlertmanagerConfig, source: Labels, target: Labels): boolean {
  return config.inhibit_rules.some(
    (r) =>
      r.source_matchers.every((m) => matches(m, source)) &&
      r.target_matchers.every((m) => matches(m, target)) &&
      r.equal.every((l) => (source[l] ?? "") === (target[l] ?? "")),
  );
}

// ================================================================================================

describe("alert rules", () => {
  describe("structure", () => {
    for (const env of ENVS) {
      it(`${env}: has exactly the expected alerts with their severity and category`, () => {
        const got = groupsFor(env).flatMap((g) => g.rules.map((r) => [r.alert, r.labels.severity, r.labels.category]));
        assert.deepEqual(got, EXPECTED_ALERTS.map((a) => [...a]));
      });

      it(`${env}: every alert has severity, category, alertgroup, target, environment, summary, description and a runbook_url into docs/runbook.md`, () => {
        const anchors = runbookAnchors(fs.readFileSync(RUNBOOK, "utf8"));
        const names = new Set<string>();
        for (const g of groupsFor(env)) {
          assert.ok(g.rules.length > 0, `group ${g.name} is empty`);
          for (const r of g.rules) {
            assert.ok(!names.has(r.alert), `duplicate alert ${r.alert}`);
            names.add(r.alert);
            assert.match(r.labels.severity, /^(critical|warning|info)$/, r.alert);
            assert.match(r.labels.category, /^(scaling|cost|prediction|capacity)$/, r.alert);
            assert.ok(r.labels.alertgroup, `${r.alert}: alertgroup`);
            assert.ok(r.labels.target, `${r.alert}: target`);
            assert.equal(r.labels.environment, env);
            assert.ok(r.annotations.summary && r.annotations.summary.length > 10, `${r.alert}: summary`);
            assert.ok(r.annotations.description && r.annotations.description.length > 40, `${r.alert}: description`);
            const url = r.annotations.runbook_url;
            assert.ok(url.startsWith(`${RUNBOOK_BASE}#`), `${r.alert}: runbook_url ${url}`);
            const anchor = url.slice(RUNBOOK_BASE.length + 1);
            assert.ok(anchors.has(anchor), `${r.alert}: runbook anchor #${anchor} is not a heading of docs/runbook.md`);
          }
        }
      });
    }

    it("critical/warning twins of an alertgroup share the target template", () => {
      const rules = groupsFor("prod").flatMap((g) => g.rules);
      for (const c of rules.filter((r) => r.labels.severity === "critical")) {
        for (const w of rules.filter((r) => r.labels.alertgroup === c.labels.alertgroup && r !== c)) {
          assert.equal(w.labels.target, c.labels.target, `${c.alert} and ${w.alert} must template the same target`);
        }
      }
    });

    it("descriptions template the object they are about", () => {
      for (const r of groupsFor("prod").flatMap((g) => g.rules)) {
        const templated = r.labels.target.match(/\$labels\.[a-zA-Z_]+/g) ?? [];
        for (const t of templated) assert.ok(r.annotations.description.includes(t), `${r.alert}: description lacks {{ ${t} }}`);
      }
      const maxed = groupsFor("prod").flatMap((g) => g.rules).find((r) => r.alert === "HPAMaxReplicasReached");
      assert.ok(maxed?.annotations.description.includes("{{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }}"));
    });

    it("thresholds: design numbers are the defaults, and invalid overrides are refused", () => {
      for (const env of ENVS) {
        const t = DEFAULT_ALERT_THRESHOLDS[env];
        assert.equal(t.budgetWarningRatio, 0.8);
        assert.equal(t.budgetEmergencyRatio, 0.95);
        assert.equal(t.forecastMaxMape, 0.2);
        assert.equal(t.forecastTargetCoverage, 0.8);
        assert.equal(t.predictionConfidenceThreshold, 0.8);
        assert.equal(t.forecastMaxAgeSeconds, 7200);
        assert.equal(t.wasteRatio, 0.3);
        assert.equal(t.wasteFor, "6h");
      }
      const rules = groupsFor("prod").flatMap((g) => g.rules);
      const byName = (n: string) => rules.find((r) => r.alert === n)?.expr ?? "";
      assert.match(byName("BudgetThresholdExceeded"), />= 0\.8$/);
      assert.match(byName("BudgetEmergency"), />= 0\.95$/);
      assert.match(byName("ForecastAccuracyLow"), /> 0\.2$/);
      assert.match(byName("ForecastStale"), /> 7200$/);

      const custom = buildAlertRuleGroups({ environment: "prod", runbookBaseUrl: RUNBOOK_BASE, thresholds: { budgetWarningRatio: 0.7 }, namespaceRegex: "pyairtable|pyairtable-.*" });
      const customRules = custom.flatMap((g) => g.rules);
      assert.match(customRules.find((r) => r.alert === "BudgetThresholdExceeded")?.expr ?? "", />= 0\.7$/);
      assert.match(customRules.find((r) => r.alert === "HPAMaxReplicasReached")?.expr ?? "", /namespace=~"pyairtable\|pyairtable-\.\*"/);

      const bad = (opts: Partial<Parameters<typeof buildAlertRuleGroups>[0]>, re: RegExp) =>
        assert.throws(() => buildAlertRuleGroups({ environment: "prod", runbookBaseUrl: RUNBOOK_BASE, ...opts }), re);
      bad({ thresholds: { budgetWarningRatio: 0.97 } }, /budgetWarningRatio/);
      bad({ thresholds: { hpaMaxedOutFor: "15 minutes" } }, /hpaMaxedOutFor/);
      bad({ thresholds: { hpaNearMaxRatio: 1.5 } }, /hpaNearMaxRatio/);
      bad({ thresholds: { spotWarningInterruptions: 10 } }, /spotWarningInterruptions/);
      bad({ runbookBaseUrl: "docs/runbook.md" }, /runbookBaseUrl/);
      bad({ runbookBaseUrl: `${RUNBOOK_BASE}#top` }, /fragment/);
      bad({ namespaceRegex: 'a"b' }, /namespaceRegex/);
      bad({ environment: "staging" as Environment }, /environment/);
    });

    it("builds a valid PrometheusRule spec (prometheus-operator v0.93 CRD schema)", function () {
      if (!fs.existsSync(PROMETHEUS_RULE_CRD)) {
        if (inCI()) assert.fail(`missing ${PROMETHEUS_RULE_CRD}`);
        console.log(`      [skipped] ${PROMETHEUS_RULE_CRD} not found`);
        this.skip();
      }
      const crd = YAML.parse(fs.readFileSync(PROMETHEUS_RULE_CRD, "utf8")) as {
        spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: { properties: { spec: object } } } }> };
      };
      const specSchema = crd.spec.versions.find((v) => v.name === "v1")?.schema.openAPIV3Schema.properties.spec;
      assert.ok(specSchema);
      // The CRD's patterns are Go RE2; translate the one construct JS lacks, a leading `(?i)` flag.
      const goRegExp = Object.assign(
        (pattern: string, flags: string) =>
          pattern.includes("(?i)") ? new RegExp(pattern.replace("(?i)", ""), `${flags}i`) : new RegExp(pattern, flags),
        { code: "new RegExp" },
      );
      const ajv = new Ajv({ strict: false, allErrors: true, code: { regExp: goRegExp } });
      const validate = ajv.compile(specSchema);
      for (const env of ENVS) {
        const spec = { groups: groupsFor(env) };
        assert.ok(validate(spec), `${env}: ${ajv.errorsText(validate.errors)}`);
      }
      // the schema is not vacuous: a bad `for` is rejected
      assert.equal(validate({ groups: [{ name: "x", rules: [{ alert: "A", expr: "up", for: "15 minutes" }] }] }), false);
    });
  });

  describe("metric contract", () => {
    it("every input series of the promtool scenarios is shaped as the upstream catalogs say (names, labels, possible values)", async function () {
      this.timeout(120_000);
      const plan = await planStack("prod");
      const sel = deployedCatalogs(loadCatalogFiles(), deploymentOf(plan.resources));
      const index = buildContractIndex(indexInputFromPlan(plan.resources, sel.catalogs, new AutomationMetrics({ defaultMetrics: true })));
      const findings = new Set<string>();
      let checked = 0;
      for (const sc of SCENARIOS) {
        for (const series of sc.series) {
          checked++;
          for (const f of checkExpression(series.series, index).findings) findings.add(`${sc.name}: ${f}`);
        }
      }
      assert.ok(checked > 100, `series checked: ${checked}`);
      assert.deepEqual([...findings], []);
      // The check bites: the pre-2.17 KEDA series the fixtures used to carry is refused.
      assert.match(checkExpression('keda_scaler_errors_total{namespace="pyairtable-workers", scaledObject="analytics"}', index).findings[0] ?? "", /no longer exists/);
    });

  });

  describe("runbook", () => {
    it("anchors follow GitHub's rules", () => {
      assert.equal(runbookAnchor("HPAMaxReplicasReached"), "hpamaxreplicasreached");
      assert.equal(runbookAnchor("Emergency: runaway scaling"), "emergency-runaway-scaling");
      assert.equal(runbookAnchor("Silencing alerts safely (amtool)"), "silencing-alerts-safely-amtool");
      assert.equal(runbookAnchor("`kubectl` & PromQL: first checks"), "kubectl--promql-first-checks");
      assert.equal(runbookAnchor("snake_case stays"), "snake_case-stays");
      const anchors = runbookAnchors("# A\n## A\n```\n# not a heading\n```\n### B. c\n");
      assert.deepEqual([...anchors], ["a", "a-1", "b-c"]);
    });

    it("has the emergency procedures of the design and amtool silences with expiry and comment", () => {
      const md = fs.readFileSync(RUNBOOK, "utf8");
      const anchors = runbookAnchors(md);
      for (const a of ["emergency-runaway-scaling", "emergency-budget-emergency", "emergency-spot-interruption-storm", "emergency-forecast-failure-fallback"]) {
        assert.ok(anchors.has(a), `missing section #${a}`);
      }
      const silences = md.split("\n").filter((l) => /amtool .*silence add/.test(l));
      assert.ok(silences.length >= EXPECTED_ALERTS.length, `expected one amtool silence per alert, found ${silences.length}`);
      for (const l of silences) {
        assert.match(l, /--duration=\S+/, `silence without expiry: ${l}`);
        assert.match(l, /--comment=/, `silence without comment: ${l}`);
      }
      // The one-shot run, inside a replica of the service (only its pods reach its database).
      assert.match(md, /exec deploy\/pyairtable-automation -- *\n?node --import tsx *\n?scripts\/automation.ts run \S+ --stack \S+/);
      assert.match(md, /pulumi up .*--policy-pack policies/);
    });
  });

  describe("promtool", () => {
    for (const env of ENVS) {
      it(`${env}: promtool check rules accepts the generated rule file`, function () {
        requireTool(this, "promtool");
        const file = writeRuleFile(`rules-${env}.yml`, groupsFor(env));
        const r = run("promtool", ["check", "rules", file]);
        assert.equal(r.status, 0, `promtool check rules failed:\n${r.output}`);
        assert.match(r.output, new RegExp(`SUCCESS: ${EXPECTED_ALERTS.length} rules found`));
      });

      it(`${env}: promtool test rules — alerts fire on bad series and stay silent on healthy ones`, function () {
        requireTool(this, "promtool");
        const scenarios = SCENARIOS.filter((sc) => sc.env === env);
        const ruleFile = writeRuleFile(`rules-${env}-labels-only.yml`, withoutAnnotations(groupsFor(env)));
        const testFile = promtoolTestFile(env, ruleFile, scenarios);
        const r = run("promtool", ["test", "rules", testFile]);
        assert.equal(r.status, 0, `promtool test rules failed (test file ${testFile}):\n${r.output}`);
        assert.match(r.output, /SUCCESS/);
      });
    }

    it("every critical alert, and at least one warning and one cost alert, is proven to fire and to stay silent", () => {
      const fired = new Set<string>();
      const silent = new Set<string>();
      for (const sc of SCENARIOS) {
        for (const c of sc.checks) (c.fire.length > 0 ? fired : silent).add(c.alertname);
      }
      const critical = EXPECTED_ALERTS.filter(([, sev]) => sev === "critical").map(([n]) => n);
      for (const n of critical) {
        assert.ok(fired.has(n), `no scenario makes ${n} fire`);
        assert.ok(silent.has(n), `no scenario proves ${n} silent`);
      }
      // in fact every alert is covered both ways
      for (const [n] of EXPECTED_ALERTS) assert.ok(fired.has(n) && silent.has(n), `${n} is not covered both ways`);
    });

    it("annotations render: summary, description and runbook_url of HPAMaxReplicasReached", function () {
      requireTool(this, "promtool");
      const ruleFile = writeRuleFile("rules-prod-full.yml", groupsFor("prod"));
      const test = {
        rule_files: [path.basename(ruleFile)],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: hpaSeries("api-gateway", "25x30", "2x30", "25x30"),
            alert_rule_test: [
              {
                eval_time: "20m",
                alertname: "HPAMaxReplicasReached",
                exp_alerts: [
                  {
                    exp_labels: { ...hpa("api-gateway"), severity: "critical", category: "scaling", alertgroup: "HPAReplicaCeiling", target: "pyairtable-api/api-gateway", environment: "prod" },
                    exp_annotations: {
                      summary: "HPA pyairtable-api/api-gateway has been at maxReplicas for 15m",
                      description:
                        "HPA pyairtable-api/api-gateway (production) has run 25 replicas, its maxReplicas, for more than 15m. " +
                        "Demand exceeds the configured ceiling: latency, queue backlog or error rates will grow. " +
                        "Check whether the load is real before raising the ceiling (the design caps replicas to contain runaway scaling and cost).",
                      runbook_url: `${RUNBOOK_BASE}#hpamaxreplicasreached`,
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      const file = path.join(tmp(), "unit-annotations.yml");
      fs.writeFileSync(file, YAML.stringify(test, { lineWidth: 0 }));
      const r = run("promtool", ["test", "rules", file]);
      assert.equal(r.status, 0, `promtool test rules failed:\n${r.output}`);
    });
  });
});

describe("alertmanager config", () => {
  it("contains no real-looking secrets and refuses ambiguous secret options", () => {
    const prod = renderAlertmanagerYaml(buildAlertmanagerConfig(amOptions("prod")));
    assert.ok(!prod.includes("hooks.slack.com"), "a real Slack host in the rendered test config");
    assert.match(prod, /api_url_file: \/etc\/alertmanager\/secrets\/slack-webhook-url/);
    assert.match(prod, /smtp_auth_password_file: \/etc\/alertmanager\/secrets\/smtp-password/);
    assert.doesNotMatch(prod, /smtp_auth_password:/);
    const dev = renderAlertmanagerYaml(buildAlertmanagerConfig(amOptions("dev")));
    assert.match(dev, /api_url: https:\/\/hooks\.slack\.invalid\/services\/TEST/);
    assert.throws(() => buildAlertmanagerConfig({ ...amOptions("prod"), slackWebhookUrl: FAKE_SECRETS.slackWebhookUrl }), /exactly one of slackWebhookUrl/);
    assert.throws(() => buildAlertmanagerConfig({ ...amOptions("dev"), slackWebhookUrl: undefined }), /exactly one of slackWebhookUrl/);
    assert.throws(() => buildAlertmanagerConfig({ ...amOptions("dev"), emailTo: "not an address" }), /emailTo/);
    assert.throws(() => buildAlertmanagerConfig({ ...amOptions("dev"), smtp: { ...amOptions("dev").smtp, smarthost: "smtp.example.invalid" } }), /smarthost/);
  });

  it("groups by alertname, namespace and category", () => {
    assert.deepEqual(buildAlertmanagerConfig(amOptions("prod")).route.group_by, ["alertname", "namespace", "category"]);
  });

  it("inhibition: each critical silences its warning/info twin for the same target, not other alerts", () => {
    const config = buildAlertmanagerConfig(amOptions("prod"));
    const rules = groupsFor("prod").flatMap((g) => g.rules);
    // Label sets as Alertmanager sees them; `target` is the same template in both rules, so it renders equal.
    const labelsOf = (name: string, extra: Labels = {}): Labels => {
      const r = rules.find((x) => x.alert === name);
      assert.ok(r, name);
      return { alertname: name, ...r.labels, ...extra };
    };
    let pairs = 0;
    for (const c of rules.filter((r) => r.labels.severity === "critical")) {
      for (const w of rules.filter((r) => r.labels.alertgroup === c.labels.alertgroup && r.labels.severity !== "critical")) {
        assert.ok(inhibits(config, labelsOf(c.alert), labelsOf(w.alert)), `${c.alert} must inhibit ${w.alert}`);
        pairs++;
      }
    }
    assert.ok(pairs >= 4, `expected at least 4 critical/warning pairs, got ${pairs}`);
    // same alertgroup, different object: no inhibition
    assert.equal(
      inhibits(config, labelsOf("HPAMaxReplicasReached", { target: "pyairtable-api/api-gateway" }), labelsOf("HPANearMaxReplicas", { target: "pyairtable-api/user-services" })),
      false,
    );
    // different alertgroup: no inhibition
    assert.equal(inhibits(config, labelsOf("HPAMaxReplicasReached"), labelsOf("KEDAScalerErrors")), false);
    // warnings never inhibit criticals
    assert.equal(inhibits(config, labelsOf("HPANearMaxReplicas"), labelsOf("HPAMaxReplicasReached")), false);
    // budget emergency silences the 80% warning of the same period only
    const emergency = labelsOf("BudgetEmergency", { period: "daily", target: "daily" });
    assert.ok(inhibits(config, emergency, labelsOf("BudgetThresholdExceeded", { period: "daily", target: "daily" })));
    assert.equal(inhibits(config, emergency, labelsOf("BudgetThresholdExceeded", { period: "monthly", target: "monthly" })), false);
  });

  for (const env of ENVS) {
    it(`${env}: amtool check-config accepts the rendered config`, function () {
      requireTool(this, "amtool");
      const file = writeAmConfig(env);
      const r = run("amtool", ["check-config", file]);
      assert.equal(r.status, 0, `amtool check-config failed:\n${r.output}`);
      assert.match(r.output, /SUCCESS/);
    });
  }

  const ROUTES: Array<{ env: Environment; labels: Labels; receivers: string }> = [
    { env: "prod", labels: { alertname: "HPAMaxReplicasReached", severity: "critical", category: "scaling", namespace: NS }, receivers: RECEIVERS.pager },
    { env: "prod", labels: { alertname: "KEDAScalerFailing", severity: "critical", category: "scaling", namespace: NS }, receivers: RECEIVERS.pager },
    { env: "prod", labels: { alertname: "BudgetThresholdExceeded", severity: "warning", category: "cost" }, receivers: RECEIVERS.cost },
    { env: "prod", labels: { alertname: "CPURequestWaste", severity: "warning", category: "cost", namespace: NS }, receivers: RECEIVERS.cost },
    { env: "prod", labels: { alertname: "BudgetEmergency", severity: "critical", category: "cost" }, receivers: `${RECEIVERS.cost},${RECEIVERS.pager}` },
    { env: "prod", labels: { alertname: "HPANearMaxReplicas", severity: "warning", category: "scaling", namespace: NS }, receivers: RECEIVERS.warnings },
    { env: "prod", labels: { alertname: "ForecastStale", severity: "warning", category: "prediction" }, receivers: RECEIVERS.warnings },
    { env: "prod", labels: { alertname: "ScheduledProfileApplied", severity: "info", category: "scaling" }, receivers: RECEIVERS.info },
    { env: "dev", labels: { alertname: "ScheduledProfileApplied", severity: "info", category: "scaling" }, receivers: RECEIVERS.null },
    { env: "dev", labels: { alertname: "HPAMaxReplicasReached", severity: "critical", category: "scaling", namespace: NS }, receivers: RECEIVERS.pager },
    { env: "prod", labels: { alertname: "SomethingUnlabelled" }, receivers: RECEIVERS.warnings },
  ];
  for (const rt of ROUTES) {
    it(`${rt.env}: amtool routes ${rt.labels.alertname} (${rt.labels.severity ?? "no severity"}/${rt.labels.category ?? "no category"}) to ${rt.receivers}`, function () {
      requireTool(this, "amtool");
      const file = writeAmConfig(rt.env);
      const args = ["config", "routes", "test", `--config.file=${file}`, ...Object.entries(rt.labels).map(([k, v]) => `${k}=${v}`)];
      const r = run("amtool", args);
      assert.equal(r.status, 0, `amtool ${args.join(" ")} failed:\n${r.output}`);
      const printed = r.output.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("Warning:"));
      assert.equal(printed[printed.length - 1], rt.receivers, `amtool printed:\n${r.output}`);
    });
  }
});
