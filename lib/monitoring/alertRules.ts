/**
 * PrometheusRule groups for the autoscaling stack: scaling, capacity, cost and prediction alerts.
 *
 * `buildAlertRuleGroups` is pure: the same options give the same groups, and it touches no Pulumi or
 * Kubernetes API. Its output is both a prometheus-operator `PrometheusRule.spec.groups` value and the
 * `groups:` list of a plain Prometheus rule file, so `promtool check rules` / `promtool test rules`
 * run on exactly what gets deployed (see test/alerts.test.ts).
 *
 * Conventions every alert follows (the Alertmanager config in ./alertmanagerConfig.ts relies on them):
 * - `severity`: critical | warning | info; `category`: scaling | cost | prediction | capacity.
 * - `alertgroup`: the family a critical and its warning twin share (e.g. HPAReplicaCeiling), and
 *   `target`: the templated object the alert is about (`namespace/hpa`, `namespace/scaledObject`,
 *   the budget period, or `cluster`). A critical inhibits the warning with the same alertgroup+target.
 * - `environment`: the stack's environment (prod | dev).
 * - annotations `summary`, `description` and `runbook_url` (= `<runbookBaseUrl>#<anchor>` where the
 *   anchor is a heading of docs/runbook.md, computed with `runbookAnchor`).
 * - Every expression is checked against the deployed exporters' catalogs (the PromQL contract,
 *   lib/monitoring/promqlContract.ts, test/metricsContract.test.ts).
 */
import { automationServiceMetrics as auto } from "./metricNames";

export type Environment = "prod" | "dev";
export type AlertSeverity = "critical" | "warning" | "info";
export type AlertCategory = "scaling" | "cost" | "prediction" | "capacity";

/** One alerting rule: the shape of a prometheus-operator `Rule` (alert form) and of a rule-file entry. */
export interface PrometheusAlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A rule group: a `PrometheusRule.spec.groups[]` item, equally a Prometheus rule-file group. */
export interface PrometheusRuleGroup {
  name: string;
  interval?: string;
  rules: PrometheusAlertRule[];
}

/**
 * Every tunable number of the rules. Defaults per environment are in `DEFAULT_ALERT_THRESHOLDS`;
 * where a value comes from the design (docs: autoscaling-architecture.md) the comment says so.
 * Durations use Prometheus syntax ("15m", "6h").
 */
export interface AlertThresholds {
  /** HPAMaxReplicasReached (critical): current replicas >= maxReplicas for this long. Default 15m prod, 30m dev. */
  hpaMaxedOutFor: string;
  /** HPANearMaxReplicas (warning): current replicas >= this share of maxReplicas. Default 0.9. */
  hpaNearMaxRatio: number;
  /** HPANearMaxReplicas: for. Default 10m (fires before the critical, which then inhibits it). */
  hpaNearMaxFor: string;
  /** HPAScalingInactive / HPAUnableToScale: condition false for this long. Default 10m prod, 20m dev. */
  hpaConditionFor: string;
  /** KEDAScalerErrors (warning): any scaler/ScaledObject error in the last 10m, for this long. Default 5m. */
  kedaErrorsWarningFor: string;
  /** KEDAScalerFailing (critical): errors in every 5m window for this long. Default 15m. */
  kedaErrorsCriticalFor: string;
  /** RunawayScaling: look-back window for replica growth. Default 30m. */
  runawayWindow: string;
  /** RunawayScaling: desired replicas grew by at least this many within the window. Default 10 prod, 5 dev. */
  runawayMinReplicaIncrease: number;
  /** RunawayScaling: and to at least this multiple of the value a window ago. Default 3. */
  runawayGrowthFactor: number;
  /** RunawayScaling: for. Default 5m. */
  runawayFor: string;
  /** HighCPUUtilisation (warning): CPU usage / requests above this (HPA targets are 0.70-0.75). Default 0.9. */
  cpuHighUtilisationRatio: number;
  /** HighMemoryUtilisation (warning): memory working set / requests above this (HPA targets 0.80-0.85). Default 0.95. */
  memoryHighUtilisationRatio: number;
  /** High utilisation: for. Default 15m. */
  highUtilisationFor: string;
  /** CPURequestWaste / MemoryRequestWaste (cost): usage / requests below this. Default 0.3. */
  wasteRatio: number;
  /** Waste: for. Default 6h. */
  wasteFor: string;
  /**
   * Waste is only evaluated in the design's business hours (08:00-18:00 UTC, Monday-Friday), so the
   * scheduled evening/weekend scale-down does not make every service look wasteful overnight. Default true.
   */
  wasteBusinessHoursOnly: boolean;
  /** NodePoolNearLimit (warning): Karpenter NodePool usage / limit at or above this. Default 0.9. */
  nodePoolNearLimitRatio: number;
  /** NodePoolNearLimit: for. Default 15m. */
  nodePoolNearLimitFor: string;
  /** BudgetThresholdExceeded (warning): budget utilisation at or above this. Design: 80% warning threshold. */
  budgetWarningRatio: number;
  /** BudgetEmergency (critical): budget utilisation at or above this. Design: emergency actions at 95%. */
  budgetEmergencyRatio: number;
  /** Budget alerts: for. Default 5m. */
  budgetFor: string;
  /** BudgetEmergencyScaleDownNotApplied: utilisation >= emergency ratio but no emergency profile for this long. Default 15m. */
  emergencyActionGrace: string;
  /** MonthlyCostEstimateOverBudget: cost model estimate above the monthly budget limit for this long. Default 1h. */
  costEstimateFor: string;
  /** Spot interruption alerts: counting window. Default 30m. */
  spotWindow: string;
  /** SpotInterruptionsElevated (warning): spot interruptions within the window. Default 3 prod (half the 6-node spot fleet), 2 dev. */
  spotWarningInterruptions: number;
  /** SpotInterruptionStorm (critical): spot interruptions within the window. Default 6 prod (the whole spot fleet), 4 dev. */
  spotStormInterruptions: number;
  /** Spot alerts: for. Default 5m. */
  spotFor: string;
  /** ForecastStale: no successful forecast for more than this many seconds. Brief: 2h = 7200. */
  forecastMaxAgeSeconds: number;
  /** ForecastAccuracyLow: MAPE of the best model above this. Design: 80% accuracy, i.e. MAPE <= 0.2. */
  forecastMaxMape: number;
  /** ForecastIntervalMiscalibrated: the 80% interval's target coverage. Design: 0.8. */
  forecastTargetCoverage: number;
  /** ForecastIntervalMiscalibrated: tolerated |coverage - target|. Default 0.15. */
  forecastCoverageTolerance: number;
  /** Forecast accuracy alerts: for. Default 1h. */
  forecastAccuracyFor: string;
  /** PredictiveScalingFallbackActive (info): decision confidence below this. Design: 80% confidence threshold. */
  predictionConfidenceThreshold: number;
  /** PredictiveScalingFallbackActive: for. Default 30m. */
  predictionFallbackFor: string;
  /** AutomationLeaderLockUnhealthy: not exactly one leader for this long. Default 15m. */
  leaderLockFor: string;
}

const COMMON_THRESHOLDS: AlertThresholds = {
  hpaMaxedOutFor: "15m",
  hpaNearMaxRatio: 0.9,
  hpaNearMaxFor: "10m",
  hpaConditionFor: "10m",
  kedaErrorsWarningFor: "5m",
  kedaErrorsCriticalFor: "15m",
  runawayWindow: "30m",
  runawayMinReplicaIncrease: 10,
  runawayGrowthFactor: 3,
  runawayFor: "5m",
  cpuHighUtilisationRatio: 0.9,
  memoryHighUtilisationRatio: 0.95,
  highUtilisationFor: "15m",
  wasteRatio: 0.3,
  wasteFor: "6h",
  wasteBusinessHoursOnly: true,
  nodePoolNearLimitRatio: 0.9,
  nodePoolNearLimitFor: "15m",
  budgetWarningRatio: 0.8,
  budgetEmergencyRatio: 0.95,
  budgetFor: "5m",
  emergencyActionGrace: "15m",
  costEstimateFor: "1h",
  spotWindow: "30m",
  spotWarningInterruptions: 3,
  spotStormInterruptions: 6,
  spotFor: "5m",
  forecastMaxAgeSeconds: 7200,
  forecastMaxMape: 0.2,
  forecastTargetCoverage: 0.8,
  forecastCoverageTolerance: 0.15,
  forecastAccuracyFor: "1h",
  predictionConfidenceThreshold: 0.8,
  predictionFallbackFor: "30m",
  leaderLockFor: "15m",
};

/** Documented defaults per environment. Dev is quieter: longer `for`s, smaller fleets. */
export const DEFAULT_ALERT_THRESHOLDS: Readonly<Record<Environment, Readonly<AlertThresholds>>> = Object.freeze({
  prod: Object.freeze({ ...COMMON_THRESHOLDS }),
  dev: Object.freeze({
    ...COMMON_THRESHOLDS,
    hpaMaxedOutFor: "30m",
    hpaConditionFor: "20m",
    runawayMinReplicaIncrease: 5,
    // The design's dev cluster runs 2 spot nodes (90% spot): 2 interruptions is the whole fleet.
    spotWarningInterruptions: 2,
    spotStormInterruptions: 4,
  }),
});

export interface AlertRuleOptions {
  environment: Environment;
  /**
   * Where docs/runbook.md is rendered, e.g.
   * `https://git.example.com/platform/pyairtable-autoscaling/blob/main/docs/runbook.md`.
   * Must be an absolute http(s) URL without a `#fragment`; each alert appends `#<anchor>`.
   */
  runbookBaseUrl: string;
  /** Overrides of `DEFAULT_ALERT_THRESHOLDS[environment]`. */
  thresholds?: Partial<AlertThresholds>;
  /**
   * RE2 regex of the namespaces whose HPAs, ScaledObjects and containers are watched
   * (anchored by Prometheus). Default: no namespace matcher (all namespaces).
   */
  namespaceRegex?: string;
  /** Evaluation interval of the scaling group (the others use 1m). Default "30s". */
  scalingInterval?: string;
}

/** Where the runbook lives in this repository (callers build `runbookBaseUrl` from it). */
export const RUNBOOK_PATH = "docs/runbook.md";

/**
 * GitHub's heading anchor: lowercase, punctuation dropped (letters, digits, `_`, `-` and spaces kept),
 * each space becomes a hyphen. Duplicate headings get `-1`, `-2`… suffixes, which `runbookAnchors`
 * applies over a whole document.
 */
export function runbookAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** All anchors of a markdown document (ATX headings outside fenced code blocks), GitHub-style. */
export function runbookAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === undefined) fence = f[1][0];
      else if (f[1][0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = runbookAnchor(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const DURATION = /^(?:[0-9]+(?:ms|[smhdwy]))+$/;

/** Metadata of one alert: used to build it and to document/verify it (tests, runbook). */
interface AlertSpec {
  alert: string;
  severity: AlertSeverity;
  category: AlertCategory;
  alertgroup: string;
  /** Go template of the `target` label (the object the alert is about). */
  target: string;
  expr: string;
  for?: string;
  summary: string;
  description: string;
  /** Runbook heading; default the alert name. */
  runbookHeading?: string;
}

function validateThresholds(t: AlertThresholds): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(t) as Array<[keyof AlertThresholds, unknown]>) {
    if (typeof value === "string" && !DURATION.test(value)) problems.push(`${key}: "${value}" is not a Prometheus duration`);
    if (typeof value === "number" && !(Number.isFinite(value) && value >= 0)) problems.push(`${key}: ${value} must be a finite number >= 0`);
  }
  const ratios: Array<keyof AlertThresholds> = [
    "hpaNearMaxRatio", "cpuHighUtilisationRatio", "memoryHighUtilisationRatio", "wasteRatio", "nodePoolNearLimitRatio",
    "forecastMaxMape", "forecastTargetCoverage", "forecastCoverageTolerance", "predictionConfidenceThreshold",
  ];
  for (const k of ratios) {
    const v = t[k] as number;
    if (!(v > 0 && v <= 1)) problems.push(`${k}: ${v} must be in (0, 1]`);
  }
  if (!(t.budgetWarningRatio > 0 && t.budgetWarningRatio < t.budgetEmergencyRatio)) {
    problems.push(`budgetWarningRatio (${t.budgetWarningRatio}) must be > 0 and below budgetEmergencyRatio (${t.budgetEmergencyRatio})`);
  }
  if (!(t.spotWarningInterruptions > 0 && t.spotWarningInterruptions < t.spotStormInterruptions)) {
    problems.push(`spotWarningInterruptions (${t.spotWarningInterruptions}) must be > 0 and below spotStormInterruptions (${t.spotStormInterruptions})`);
  }
  if (!(t.runawayGrowthFactor > 1)) problems.push(`runawayGrowthFactor (${t.runawayGrowthFactor}) must be > 1`);
  if (!(t.runawayMinReplicaIncrease >= 1)) problems.push(`runawayMinReplicaIncrease (${t.runawayMinReplicaIncrease}) must be >= 1`);
  if (t.cpuHighUtilisationRatio <= t.wasteRatio || t.memoryHighUtilisationRatio <= t.wasteRatio) {
    problems.push("high-utilisation ratios must be above wasteRatio");
  }
  if (problems.length > 0) throw new Error(`invalid alert thresholds:\n- ${problems.join("\n- ")}`);
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

function alertSpecs(env: Environment, t: AlertThresholds, ns: string | undefined): AlertSpec[] {
  const sel = (metric: string, extra = ""): string => {
    const matchers = [ns !== undefined ? `namespace=~"${ns}"` : "", extra].filter((m) => m !== "");
    return matchers.length > 0 ? `${metric}{${matchers.join(", ")}}` : metric;
  };
  const hpaOn = "on (namespace, horizontalpodautoscaler)";
  const hpaTarget = "{{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }}";
  const hpaName = hpaTarget;
  const current = sel("kube_horizontalpodautoscaler_status_current_replicas");
  const maxR = sel("kube_horizontalpodautoscaler_spec_max_replicas");
  const minR = sel("kube_horizontalpodautoscaler_spec_min_replicas");
  const desired = sel("kube_horizontalpodautoscaler_status_desired_replicas");
  const elastic = `(\n  ${maxR}\n    > ${hpaOn}\n  ${minR}\n)`;
  const running = `(max by (namespace, pod) (${sel("kube_pod_status_phase", 'phase="Running"')}) == 1)`;
  const requests = (resource: string): string =>
    `sum by (namespace, container) (\n    ${sel("kube_pod_container_resource_requests", `resource="${resource}"`)}\n      * on (namespace, pod) group_left ()\n    ${running}\n  )`;
  const cpuUsage = `sum by (namespace, container) (\n    rate(${sel("container_cpu_usage_seconds_total", 'container!="", container!="POD"')}[5m])\n  )`;
  const memUsage = `sum by (namespace, container) (\n    ${sel("container_memory_working_set_bytes", 'container!="", container!="POD"')}\n  )`;
  const cpuRatio = `(\n  ${cpuUsage}\n/\n  ${requests("cpu")}\n)`;
  const memRatio = `(\n  ${memUsage}\n/\n  ${requests("memory")}\n)`;
  const containerTarget = "{{ $labels.namespace }}/{{ $labels.container }}";
  const businessHours = t.wasteBusinessHoursOnly
    ? "\nand on ()\n  (hour() >= 8 < 18)\nand on ()\n  (day_of_week() >= 1 <= 5)"
    : "";
  const kedaErrors = (fn: "rate" | "increase", window: string): string =>
    `(\n  sum by (namespace, scaledObject) (${fn}(${sel("keda_scaled_object_errors_total")}[${window}])) > 0\n)\nor\n(\n  sum by (namespace, scaledObject) (${fn}(${sel("keda_scaler_detail_errors_total")}[${window}])) > 0\n)`;
  const spot = `sum(increase(karpenter_interruption_received_messages_total{message_type="spot_interrupted"}[${t.spotWindow}]))`;
  const budget = `max by (period) (${auto.budgetUtilisation})`;
  const envText = env === "prod" ? "production" : "dev";

  return [
    // ------------------------------------------------------------------ scaling
    {
      alert: "HPAMaxReplicasReached",
      severity: "critical",
      category: "scaling",
      alertgroup: "HPAReplicaCeiling",
      target: hpaTarget,
      expr: `(\n  ${current}\n    >= ${hpaOn}\n  ${maxR}\n)\nand ${hpaOn}\n${elastic}`,
      for: t.hpaMaxedOutFor,
      summary: `HPA ${hpaName} has been at maxReplicas for ${t.hpaMaxedOutFor}`,
      description:
        `HPA ${hpaName} (${envText}) has run {{ $value }} replicas, its maxReplicas, for more than ${t.hpaMaxedOutFor}. ` +
        "Demand exceeds the configured ceiling: latency, queue backlog or error rates will grow. " +
        "Check whether the load is real before raising the ceiling (the design caps replicas to contain runaway scaling and cost).",
    },
    {
      alert: "HPANearMaxReplicas",
      severity: "warning",
      category: "scaling",
      alertgroup: "HPAReplicaCeiling",
      target: hpaTarget,
      expr: `(\n  ${current}\n    >= ${hpaOn}\n  (${t.hpaNearMaxRatio} * ${maxR})\n)\nand ${hpaOn}\n${elastic}`,
      for: t.hpaNearMaxFor,
      summary: `HPA ${hpaName} is at ${pct(t.hpaNearMaxRatio)} or more of maxReplicas`,
      description:
        `HPA ${hpaName} (${envText}) runs {{ $value }} replicas, at least ${pct(t.hpaNearMaxRatio)} of its maxReplicas, ` +
        `for more than ${t.hpaNearMaxFor}. Headroom for the next spike is small; HPAMaxReplicasReached follows if it keeps climbing.`,
    },
    {
      alert: "HPAScalingInactive",
      severity: "critical",
      category: "scaling",
      alertgroup: "HPAScalingBroken",
      target: hpaTarget,
      expr:
        `(\n  ${sel("kube_horizontalpodautoscaler_status_condition", 'condition="ScalingActive", status="false"')} == 1\n)\n` +
        `unless ${hpaOn}\n(\n  ${current} == 0\n)`,
      for: t.hpaConditionFor,
      summary: `HPA ${hpaName} cannot compute a replica count (ScalingActive=false)`,
      description:
        `HPA ${hpaName} (${envText}) has reported ScalingActive=false for more than ${t.hpaConditionFor}: ` +
        "it cannot read its metrics (metrics-server, prometheus-adapter or the KEDA metrics API) and is not scaling at all. " +
        "Targets scaled to zero by KEDA are excluded.",
    },
    {
      alert: "HPAUnableToScale",
      severity: "critical",
      category: "scaling",
      alertgroup: "HPAScalingBroken",
      target: hpaTarget,
      expr: `${sel("kube_horizontalpodautoscaler_status_condition", 'condition="AbleToScale", status="false"')} == 1`,
      for: t.hpaConditionFor,
      summary: `HPA ${hpaName} is unable to scale its target (AbleToScale=false)`,
      description:
        `HPA ${hpaName} (${envText}) has reported AbleToScale=false for more than ${t.hpaConditionFor}: ` +
        "it cannot get or update the scale subresource of its target (missing Deployment, RBAC, admission webhook or API errors).",
    },
    {
      alert: "KEDAScalerFailing",
      severity: "critical",
      category: "scaling",
      alertgroup: "KEDAScalerErrors",
      target: "{{ $labels.namespace }}/{{ $labels.scaledObject }}",
      expr: kedaErrors("rate", "5m"),
      for: t.kedaErrorsCriticalFor,
      summary: "KEDA ScaledObject {{ $labels.namespace }}/{{ $labels.scaledObject }} has been failing for " + t.kedaErrorsCriticalFor,
      description:
        "KEDA has recorded scaler errors for ScaledObject {{ $labels.namespace }}/{{ $labels.scaledObject }} " +
        `(${envText}) in every 5-minute window for more than ${t.kedaErrorsCriticalFor} ({{ $value | humanize }} errors/s). ` +
        "The event source (Kafka, Redis, SQS, Prometheus) cannot be read: the workload is stuck at its fallback or current replica count, and a scaled-to-zero workload will not wake up.",
    },
    {
      alert: "KEDAScalerErrors",
      severity: "warning",
      category: "scaling",
      alertgroup: "KEDAScalerErrors",
      target: "{{ $labels.namespace }}/{{ $labels.scaledObject }}",
      expr: kedaErrors("increase", "10m"),
      for: t.kedaErrorsWarningFor,
      summary: "KEDA ScaledObject {{ $labels.namespace }}/{{ $labels.scaledObject }} reports scaler errors",
      description:
        "KEDA recorded {{ $value | humanize }} scaler errors in the last 10 minutes for ScaledObject " +
        `{{ $labels.namespace }}/{{ $labels.scaledObject }} (${envText}). Transient errors are tolerated; KEDAScalerFailing fires if they persist for ${t.kedaErrorsCriticalFor}.`,
    },
    {
      alert: "RunawayScaling",
      severity: "critical",
      category: "scaling",
      alertgroup: "RunawayScaling",
      target: hpaTarget,
      expr:
        `(\n  ${desired}\n    - ${hpaOn}\n  (${desired} offset ${t.runawayWindow})\n) >= ${t.runawayMinReplicaIncrease}\n` +
        `and ${hpaOn}\n(\n  ${desired}\n    >= ${hpaOn}\n  (${t.runawayGrowthFactor} * (${desired} offset ${t.runawayWindow}))\n)`,
      for: t.runawayFor,
      summary: `HPA ${hpaName} desired replicas grew by {{ $value }} in ${t.runawayWindow}`,
      description:
        `HPA ${hpaName} (${envText}) wants {{ $value }} more replicas than ${t.runawayWindow} ago, at least ${t.runawayGrowthFactor}x as many, ` +
        `for more than ${t.runawayFor}. Either a real surge or runaway scaling (a feedback loop or a broken scaler metric). ` +
        "Follow the runaway scaling emergency procedure.",
    },
    {
      alert: "AutomationStackUpdateFailing",
      severity: "warning",
      category: "scaling",
      alertgroup: "AutomationUpdates",
      target: "{{ $labels.trigger }}",
      expr: `sum by (trigger) (increase(${auto.updatesTotal}{outcome=~"failed|refused"}[1h])) > 0`,
      summary: "Automation service {{ $labels.trigger }} stack updates are failing or refused by policy",
      description:
        "{{ $value | humanize }} automation-service `pulumi up` runs with trigger {{ $labels.trigger }} failed or were refused by the policy pack " +
        `in the last hour (${envText}). Scheduled profiles, predictive floors or emergency scale-downs are not being applied.`,
    },
    {
      alert: "AutomationLeaderLockUnhealthy",
      severity: "warning",
      category: "scaling",
      alertgroup: "AutomationLeader",
      target: "automation",
      expr: `sum(${auto.leaderLockHeld}) != 1\nor\nabsent(${auto.leaderLockHeld})`,
      for: t.leaderLockFor,
      summary: "The automation service does not have exactly one leader",
      description:
        `For more than ${t.leaderLockFor} the number of automation-service replicas holding the leader lock has been {{ $value }} ` +
        `(1 when the metric is absent) instead of 1 (${envText}). With no leader no schedule, forecast or budget action runs; with two, stack updates race.`,
    },
    {
      alert: "ScheduledProfileApplied",
      severity: "info",
      category: "scaling",
      alertgroup: "ScheduledScaling",
      target: "{{ $labels.profile }}",
      expr: `sum by (profile) (increase(${auto.scheduledProfileAppliedTotal}{outcome="succeeded"}[15m])) > 0`,
      summary: "Scheduled scaling profile {{ $labels.profile }} applied",
      description: `The automation service applied the scheduled scaling profile {{ $labels.profile }} (${envText}) in the last 15 minutes.`,
    },
    // ------------------------------------------------------------------ capacity
    {
      alert: "HighCPUUtilisation",
      severity: "warning",
      category: "capacity",
      alertgroup: "HighCPUUtilisation",
      target: containerTarget,
      expr: `${cpuRatio} > ${t.cpuHighUtilisationRatio}`,
      for: t.highUtilisationFor,
      summary: "Containers {{ $labels.namespace }}/{{ $labels.container }} use {{ $value | humanizePercentage }} of their CPU requests",
      description:
        "CPU usage of container {{ $labels.container }} in {{ $labels.namespace }} " +
        `(${envText}) has been above ${pct(t.cpuHighUtilisationRatio)} of its requests for ${t.highUtilisationFor}, ` +
        "well above the 70-75% HPA targets: the autoscaler is not keeping up (at max replicas, no node capacity, or no CPU-based scaling).",
    },
    {
      alert: "HighMemoryUtilisation",
      severity: "warning",
      category: "capacity",
      alertgroup: "HighMemoryUtilisation",
      target: containerTarget,
      expr: `${memRatio} > ${t.memoryHighUtilisationRatio}`,
      for: t.highUtilisationFor,
      summary: "Containers {{ $labels.namespace }}/{{ $labels.container }} use {{ $value | humanizePercentage }} of their memory requests",
      description:
        "Memory working set of container {{ $labels.container }} in {{ $labels.namespace }} " +
        `(${envText}) has been above ${pct(t.memoryHighUtilisationRatio)} of its requests for ${t.highUtilisationFor}. ` +
        "Pods risk eviction under node pressure and OOM kills if limits are close.",
    },
    {
      alert: "NodePoolNearLimit",
      severity: "warning",
      category: "capacity",
      alertgroup: "NodePoolCapacity",
      target: "{{ $labels.nodepool }}/{{ $labels.resource_type }}",
      expr:
        `sum by (nodepool, resource_type) (karpenter_nodepools_usage)\n/\n` +
        `sum by (nodepool, resource_type) (karpenter_nodepools_limit)\n>= ${t.nodePoolNearLimitRatio}`,
      for: t.nodePoolNearLimitFor,
      summary: "Karpenter NodePool {{ $labels.nodepool }} uses {{ $value | humanizePercentage }} of its {{ $labels.resource_type }} limit",
      description:
        "NodePool {{ $labels.nodepool }} " +
        `(${envText}) has used at least ${pct(t.nodePoolNearLimitRatio)} of its {{ $labels.resource_type }} limit for ${t.nodePoolNearLimitFor}. ` +
        "Once the limit is reached Karpenter launches no more nodes and new pods stay Pending.",
    },
    // ------------------------------------------------------------------ cost
    {
      alert: "BudgetThresholdExceeded",
      severity: "warning",
      category: "cost",
      alertgroup: "BudgetUtilisation",
      target: "{{ $labels.period }}",
      expr: `${budget} >= ${t.budgetWarningRatio}`,
      for: t.budgetFor,
      summary: "The {{ $labels.period }} budget is {{ $value | humanizePercentage }} used",
      description:
        `Spend has reached {{ $value | humanizePercentage }} of the {{ $labels.period }} budget (${envText}), at or above the ${pct(t.budgetWarningRatio)} warning threshold. ` +
        `At ${pct(t.budgetEmergencyRatio)} the automation service applies the emergency scale-down profile.`,
    },
    {
      alert: "BudgetEmergency",
      severity: "critical",
      category: "cost",
      alertgroup: "BudgetUtilisation",
      target: "{{ $labels.period }}",
      expr: `${budget} >= ${t.budgetEmergencyRatio}`,
      for: t.budgetFor,
      summary: "The {{ $labels.period }} budget is {{ $value | humanizePercentage }} used: emergency scale-down",
      description:
        `Spend has reached {{ $value | humanizePercentage }} of the {{ $labels.period }} budget (${envText}), at or above the ${pct(t.budgetEmergencyRatio)} emergency threshold. ` +
        "The automation service should now apply the emergency profile; follow the budget emergency procedure.",
    },
    {
      alert: "BudgetEmergencyScaleDownNotApplied",
      severity: "critical",
      category: "cost",
      alertgroup: "BudgetEmergencyAction",
      target: "{{ $labels.period }}",
      expr: `${budget} >= ${t.budgetEmergencyRatio}\nunless on ()\n(max(${auto.emergencyProfileActive}) == 1)`,
      for: t.emergencyActionGrace,
      summary: "Budget emergency on the {{ $labels.period }} budget but no emergency profile is applied",
      description:
        `The {{ $labels.period }} budget has been at or above ${pct(t.budgetEmergencyRatio)} for ${t.emergencyActionGrace} (${envText}) ` +
        "and the automation service has not applied the emergency scale-down profile (or is not reporting). Apply it by hand.",
    },
    {
      alert: "MonthlyCostEstimateOverBudget",
      severity: "warning",
      category: "cost",
      alertgroup: "CostEstimate",
      target: "monthly",
      expr:
        `sum(max by (component) (${auto.costEstimateMonthlyUsd}))\n>\n` +
        `max(${auto.budgetLimitUsd}{period="monthly"})`,
      for: t.costEstimateFor,
      summary: "The monthly cost estimate ({{ $value | humanize }} USD) is above the monthly budget",
      description:
        `For ${t.costEstimateFor} the cost model's monthly estimate has been {{ $value | humanize }} USD (${envText}), above the monthly budget limit. ` +
        "Spend will breach the budget before the month ends unless capacity or the profile schedule changes.",
    },
    {
      alert: "SpotInterruptionsElevated",
      severity: "warning",
      category: "cost",
      alertgroup: "SpotInterruptions",
      target: "cluster",
      expr: `${spot} >= ${t.spotWarningInterruptions}`,
      for: t.spotFor,
      summary: `{{ $value | humanize }} spot interruptions in the last ${t.spotWindow}`,
      description:
        `Karpenter received {{ $value | humanize }} EC2 spot interruption warnings in the last ${t.spotWindow} (${envText}), ` +
        `at or above ${t.spotWarningInterruptions}. Workloads are being drained and rescheduled; watch for Pending pods and PDB violations.`,
    },
    {
      alert: "SpotInterruptionStorm",
      severity: "critical",
      category: "cost",
      alertgroup: "SpotInterruptions",
      target: "cluster",
      expr: `${spot} >= ${t.spotStormInterruptions}`,
      for: t.spotFor,
      summary: `Spot interruption storm: {{ $value | humanize }} interruptions in ${t.spotWindow}`,
      description:
        `Karpenter received {{ $value | humanize }} EC2 spot interruption warnings in the last ${t.spotWindow} (${envText}), ` +
        `at or above the storm threshold of ${t.spotStormInterruptions}. Spot capacity in the chosen pools is being reclaimed faster than it can be replaced; follow the spot interruption storm procedure.`,
    },
    {
      alert: "CPURequestWaste",
      severity: "warning",
      category: "cost",
      alertgroup: "ResourceWaste",
      target: containerTarget,
      expr: `${cpuRatio} < ${t.wasteRatio}${businessHours}`,
      for: t.wasteFor,
      summary: "Containers {{ $labels.namespace }}/{{ $labels.container }} use only {{ $value | humanizePercentage }} of their CPU requests",
      description:
        "CPU usage of container {{ $labels.container }} in {{ $labels.namespace }} " +
        `(${envText}) has stayed below ${pct(t.wasteRatio)} of its requests for ${t.wasteFor}` +
        (t.wasteBusinessHoursOnly ? " of business hours" : "") +
        ". The requested (and paid-for) CPU is mostly idle: right-size the requests (VPA recommendation) or lower the replica floor.",
    },
    {
      alert: "MemoryRequestWaste",
      severity: "warning",
      category: "cost",
      alertgroup: "ResourceWaste",
      target: containerTarget,
      expr: `${memRatio} < ${t.wasteRatio}${businessHours}`,
      for: t.wasteFor,
      summary: "Containers {{ $labels.namespace }}/{{ $labels.container }} use only {{ $value | humanizePercentage }} of their memory requests",
      description:
        "Memory working set of container {{ $labels.container }} in {{ $labels.namespace }} " +
        `(${envText}) has stayed below ${pct(t.wasteRatio)} of its requests for ${t.wasteFor}` +
        (t.wasteBusinessHoursOnly ? " of business hours" : "") +
        ". Right-size the memory requests (VPA recommendation).",
    },
    // ------------------------------------------------------------------ prediction
    {
      alert: "ForecastStale",
      severity: "warning",
      category: "prediction",
      alertgroup: "ForecastFreshness",
      target: "forecast",
      expr: `time() - max(max_over_time(${auto.forecastLastSuccessTimestamp}[3h])) > ${t.forecastMaxAgeSeconds}`,
      for: "10m",
      summary: "No successful load forecast for {{ $value | humanizeDuration }}",
      description:
        `The last successful forecast run was {{ $value | humanizeDuration }} ago (${envText}), more than ${t.forecastMaxAgeSeconds / 3600}h. ` +
        "Predictive floors are stale; scaling falls back to reactive HPA/KEDA. Follow the forecast failure fallback procedure.",
    },
    {
      alert: "ForecastAccuracyLow",
      severity: "warning",
      category: "prediction",
      alertgroup: "ForecastAccuracy",
      target: "{{ $labels.service }}",
      expr: `min by (service) (${auto.forecastMape}) > ${t.forecastMaxMape}`,
      for: t.forecastAccuracyFor,
      summary: "Load forecast for {{ $labels.service }} is below the 80% accuracy target (realised MAPE {{ $value | humanizePercentage }})",
      description:
        `The forecasts the automation service issued for {{ $labels.service }}, scored as their buckets completed (1 h ahead, last day), have had a MAPE above ${pct(t.forecastMaxMape)} for ${t.forecastAccuracyFor} (${envText}): ` +
        "forecast accuracy is below the design's 80%. The gate falls back to reactive scaling when the confidence drops; check pyairtable_autoscaler_predictive_fallback for the reason.",
    },
    {
      alert: "ForecastIntervalMiscalibrated",
      severity: "warning",
      category: "prediction",
      alertgroup: "ForecastAccuracy",
      target: "{{ $labels.service }}",
      expr:
        `min by (service) (\n  abs(${auto.forecastIntervalCoverage} - ${t.forecastTargetCoverage})\n) > ${t.forecastCoverageTolerance}`,
      for: t.forecastAccuracyFor,
      summary: `The ${pct(t.forecastTargetCoverage)} forecast interval for {{ $labels.service }} is miscalibrated`,
      description:
        `For ${t.forecastAccuracyFor} the share of actual load inside the ${pct(t.forecastTargetCoverage)} forecast interval for {{ $labels.service }} ` +
        `has been more than ${pct(t.forecastCoverageTolerance)} away from ${pct(t.forecastTargetCoverage)} for every model (off by {{ $value | humanizePercentage }}, ${envText}). ` +
        "Upper bounds cannot be trusted for replica floors.",
    },
    {
      alert: "PredictiveScalingFallbackActive",
      severity: "info",
      category: "prediction",
      alertgroup: "PredictiveFallback",
      target: "{{ $labels.service }}",
      expr: `max by (service) (${auto.forecastConfidence}) < ${t.predictionConfidenceThreshold}`,
      for: t.predictionFallbackFor,
      summary: "Predictive scaling for {{ $labels.service }} is on reactive fallback",
      description:
        `Decision confidence for {{ $labels.service }} has been {{ $value | humanizePercentage }}, below the design's ${pct(t.predictionConfidenceThreshold)} threshold, ` +
        `for ${t.predictionFallbackFor} (${envText}): no predictive floor is applied and the service scales reactively.`,
    },
    {
      alert: "PredictiveFloorChanged",
      severity: "info",
      category: "prediction",
      alertgroup: "PredictionUpdates",
      target: "{{ $labels.service }}",
      expr: `max by (service) (changes(${auto.predictiveFloorReplicas}[30m])) > 0`,
      summary: "Predictive replica floor for {{ $labels.service }} changed",
      description: `The predictive replica floor for {{ $labels.service }} changed {{ $value }} time(s) in the last 30 minutes (${envText}) after a forecast update.`,
    },
  ];
}

const GROUP_ORDER: readonly AlertCategory[] = ["scaling", "capacity", "cost", "prediction"];

/** Builds the PrometheusRule groups (one per category) for an environment. */
export function buildAlertRuleGroups(opts: AlertRuleOptions): PrometheusRuleGroup[] {
  if (opts.environment !== "prod" && opts.environment !== "dev") {
    throw new Error(`environment must be "prod" or "dev", got ${JSON.stringify(opts.environment)}`);
  }
  let base: URL;
  try {
    base = new URL(opts.runbookBaseUrl);
  } catch {
    throw new Error(`runbookBaseUrl must be an absolute URL, got ${JSON.stringify(opts.runbookBaseUrl)}`);
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new Error("runbookBaseUrl must be an http(s) URL");
  if (opts.runbookBaseUrl.includes("#")) throw new Error("runbookBaseUrl must not contain a #fragment");
  const thresholds: AlertThresholds = { ...DEFAULT_ALERT_THRESHOLDS[opts.environment], ...(opts.thresholds ?? {}) };
  validateThresholds(thresholds);
  const ns = opts.namespaceRegex;
  if (ns !== undefined && (ns.length === 0 || /["\\\n]/.test(ns))) throw new Error(`namespaceRegex must be a non-empty RE2 regex without quotes or backslashes: ${ns}`);
  const scalingInterval = opts.scalingInterval ?? "30s";
  if (!DURATION.test(scalingInterval)) throw new Error(`scalingInterval must be a Prometheus duration: ${scalingInterval}`);

  const specs = alertSpecs(opts.environment, thresholds, ns);
  const groups: PrometheusRuleGroup[] = GROUP_ORDER.map((category) => ({
    name: `pyairtable-autoscaling.${category}`,
    interval: category === "scaling" ? scalingInterval : "1m",
    rules: specs
      .filter((s) => s.category === category)
      .map((s) => {
        const rule: PrometheusAlertRule = {
          alert: s.alert,
          expr: s.expr,
          ...(s.for !== undefined ? { for: s.for } : {}),
          labels: {
            severity: s.severity,
            category: s.category,
            alertgroup: s.alertgroup,
            target: s.target,
            environment: opts.environment,
          },
          annotations: {
            summary: s.summary,
            description: s.description,
            runbook_url: `${opts.runbookBaseUrl}#${runbookAnchor(s.runbookHeading ?? s.alert)}`,
          },
        };
        return rule;
      }),
  }));
  return groups;
}
