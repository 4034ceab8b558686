/**
 * Synthetic series shaped exactly as the metric catalogs say: every series carries all the labels
 * its exporter puts on it (the catalog's `labels`) plus the scrape's target labels, with values for
 * the entities of a rendered stack (HPAs, ScaledObjects and their triggers, NodePools, services and
 * pods). Two scenarios: `healthy` (no alert should fire) and `failing` (every alert has its
 * trigger, each on its own entity). The series are checked against the contract index before use,
 * so a fixture cannot use a name or label the deployed exporters do not have.
 */
import { serviceCatalog } from "../../lib/catalog/services";
import { kubernetesObjects, type KubernetesObject } from "../../lib/plan/manifests";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import type { ContractIndex } from "../../lib/monitoring/promqlContract";
import { catalogSeries, signalId } from "../../lib/monitoring/signals";

export type Scenario = "healthy" | "failing";
type Any = Record<string, any>;

export interface SyntheticSeries {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Value at time t (ms); undefined: no sample. */
  readonly value: (t: number) => number | undefined;
  /** Samples from this time on (default: the scenario's start), e.g. a week back for `offset 1w` panels. */
  readonly from?: number;
}

const MIN = 60_000;

/** Exporter-specific values of target labels and generic labels. */
function defaultsFor(name: string): Record<string, string> {
  if (name.startsWith("kube_")) return { job: "kube-state-metrics", instance: "10.0.2.15:8080", service: "kube-prometheus-stack-kube-state-metrics", pod: "kube-prometheus-stack-kube-state-metrics-6c9d8f-x2k4p", container: "kube-state-metrics", endpoint: "http", namespace: "monitoring", uid: "0b7e3f1e-1111-4a2b-9c3d-000000000001", node: "ip-10-0-3-21.ec2.internal" };
  if (name.startsWith("container_")) return { job: "kubelet", instance: "10.0.3.21:10250", service: "kube-prometheus-stack-kubelet", endpoint: "https-metrics", metrics_path: "/metrics/cadvisor", node: "ip-10-0-3-21.ec2.internal", id: "/kubepods/burstable/pod0b7e3f1e", image: "registry.example.invalid/pyairtable/app:1.0.0", name: "k8s_app", cpu: "total" };
  if (name.startsWith("keda_")) return { job: "keda-operator", instance: "10.0.2.30:8080", service: "keda-operator", pod: "keda-operator-7f9c6d-abcde", container: "keda-operator", endpoint: "metrics", type: "scaledobject" };
  if (name.startsWith("karpenter_")) return { job: "karpenter", instance: "10.0.2.40:8080", service: "karpenter", namespace: "kube-system", pod: "karpenter-5f8d7c-qwert", container: "controller", endpoint: "http-metrics", zone: "us-east-1a" };
  if (name.startsWith("pyairtable_autoscaler_")) return { job: "pyairtable-automation", instance: "10.0.4.10:8080", service: "pyairtable-automation", namespace: "pyairtable-automation", pod: "pyairtable-automation-0", container: "automation", endpoint: "metrics" };
  if (name.startsWith("pgbouncer_")) return { job: "pgbouncer", instance: "10.0.5.10:9127", service: "pgbouncer", namespace: "pyairtable-data", pod: "pgbouncer-6d5f-abcde", container: "pgbouncer-exporter", endpoint: "metrics", database: "pyairtable", user: "app" };
  return { job: "monitoring/pyairtable-apps", instance: "10.0.6.10:9090", endpoint: "metrics", code: "200", method: "GET" };
}

export interface StackEntities {
  readonly hpas: { namespace: string; name: string; min: number; max: number; service?: string }[];
  readonly scaledObjects: { namespace: string; name: string; triggers: { type: string; name?: string }[] }[];
  readonly nodePools: { name: string; limits: Record<string, number> }[];
}

export function entitiesOf(resources: readonly PlannedResource[]): StackEntities {
  const objects: KubernetesObject[] = kubernetesObjects(resources);
  const scaled = objects.filter((o) => o.kind === "ScaledObject");
  const hpas = objects
    .filter((o) => o.kind === "HorizontalPodAutoscaler")
    .map((o) => ({ namespace: String(o.metadata.namespace), name: String(o.metadata.name), min: Number((o.spec as Any).minReplicas ?? 1), max: Number((o.spec as Any).maxReplicas), service: String((o.spec as Any).scaleTargetRef?.name) }));
  // KEDA creates one HPA per ScaledObject, named keda-hpa-<name>.
  for (const so of scaled) hpas.push({ namespace: String(so.metadata.namespace), name: `keda-hpa-${so.metadata.name}`, min: Math.max(1, Number((so.spec as Any).minReplicaCount ?? 0)), max: Number((so.spec as Any).maxReplicaCount), service: String(so.metadata.name) });
  return {
    hpas,
    scaledObjects: scaled.map((o) => ({ namespace: String(o.metadata.namespace), name: String(o.metadata.name), triggers: (o.spec as Any).triggers })),
    nodePools: objects.filter((o) => o.kind === "NodePool").map((o) => ({ name: String(o.metadata.name), limits: Object.fromEntries(Object.entries((o.spec as Any).limits ?? {}).map(([k, v]) => [k.toLowerCase().replace(/-/g, "_"), Number(v)])) })),
  };
}

/**
 * Builds the series of one scenario between `start` and `end` (ms). `ctx.failingSince(alert)` tells
 * the scenario when each alert's condition starts (relative to end).
 */
export function buildSeries(index: ContractIndex, entities: StackEntities, scenario: Scenario, start: number, end: number): SyntheticSeries[] {
  const out: SyntheticSeries[] = [];
  const failing = scenario === "failing";
  const add = (name: string, labels: Record<string, string>, value: (t: number) => number | undefined, from?: number) => {
    const contract = index.series.get(name);
    if (!contract) throw new Error(`synthetic series ${name}: not in the contract index`);
    const d = defaultsFor(name);
    const full: Record<string, string> = {};
    for (const l of contract.labels) {
      if (l === "le" && labels.le === undefined) continue;
      full[l] = labels[l] ?? d[l] ?? "x";
    }
    for (const [k, v] of Object.entries(labels)) full[k] = v;
    out.push({ name, labels: full, value, from });
  };
  const constant = (v: number) => () => v;
  const counter = (perMinute: number) => (t: number) => ((t - start) / MIN) * perMinute;
  const since = (minutesBeforeEnd: number) => (t: number) => t >= end - minutesBeforeEnd * MIN;

  // ---- HPAs (kube-state-metrics) ------------------------------------------------------------
  for (const h of entities.hpas) {
    const hpa = { namespace: h.namespace, horizontalpodautoscaler: h.name };
    let current = Math.max(h.min, Math.min(h.max - 2, Math.ceil(h.max / 2)));
    if (failing && h.name === "api-gateway") current = h.max; // HPAMaxReplicasReached
    if (failing && h.name === "user-services") current = Math.ceil(h.max * 0.9); // HPANearMaxReplicas
    const desiredFn = failing && h.name === "keda-hpa-automation" ? (t: number) => (since(20)(t) ? h.max : 1) : constant(current); // RunawayScaling
    add("kube_horizontalpodautoscaler_spec_max_replicas", hpa, constant(h.max));
    add("kube_horizontalpodautoscaler_spec_min_replicas", hpa, constant(h.min));
    add("kube_horizontalpodautoscaler_status_current_replicas", hpa, failing && h.name === "keda-hpa-automation" ? desiredFn : constant(current));
    add("kube_horizontalpodautoscaler_status_desired_replicas", hpa, desiredFn);
    const scalingActiveFalse = failing && h.name === "platform-services"; // HPAScalingInactive
    const ableToScaleFalse = failing && h.name === "keda-hpa-analytics"; // HPAUnableToScale
    for (const [condition, isFalse] of [["AbleToScale", ableToScaleFalse], ["ScalingActive", scalingActiveFalse], ["ScalingLimited", true]] as const) {
      add("kube_horizontalpodautoscaler_status_condition", { ...hpa, condition, status: "true" }, constant(isFalse ? 0 : 1));
      add("kube_horizontalpodautoscaler_status_condition", { ...hpa, condition, status: "false" }, constant(isFalse ? 1 : 0));
      add("kube_horizontalpodautoscaler_status_condition", { ...hpa, condition, status: "unknown" }, constant(0));
    }
  }

  // ---- Deployments, pods, requests, usage, PDBs ----------------------------------------------
  for (const svc of serviceCatalog) {
    const ns = svc.namespace;
    add("kube_deployment_spec_replicas", { namespace: ns, deployment: svc.name }, constant(2));
    add("kube_deployment_status_replicas", { namespace: ns, deployment: svc.name }, constant(2));
    add("kube_deployment_status_replicas_available", { namespace: ns, deployment: svc.name }, constant(failing && svc.name === "analytics" ? 1 : 2));
    add("kube_poddisruptionbudget_status_current_healthy", { namespace: ns, poddisruptionbudget: svc.name }, constant(2));
    add("kube_poddisruptionbudget_status_desired_healthy", { namespace: ns, poddisruptionbudget: svc.name }, constant(1));
    let cpuRatio = 0.55;
    let memRatio = 0.6;
    if (failing && svc.name === "api-gateway") cpuRatio = 0.97; // HighCPUUtilisation
    if (failing && svc.name === "platform-services") memRatio = 0.98; // HighMemoryUtilisation
    if (failing && svc.name === "user-services") cpuRatio = 0.1; // CPURequestWaste
    if (failing && svc.name === "file-service") memRatio = 0.1; // MemoryRequestWaste
    const cpuRequest = 0.5;
    const memRequest = 512 * 1024 * 1024;
    for (const i of [1, 2]) {
      const pod = `${svc.name}-5d8f7c9b4-p${i}`;
      const podLabels = { namespace: ns, pod };
      add("kube_pod_status_phase", { ...podLabels, phase: "Running" }, constant(1));
      add("kube_pod_status_phase", { ...podLabels, phase: "Pending" }, constant(0));
      add("kube_pod_container_resource_requests", { ...podLabels, container: svc.container, resource: "cpu", unit: "core" }, constant(cpuRequest));
      add("kube_pod_container_resource_requests", { ...podLabels, container: svc.container, resource: "memory", unit: "byte" }, constant(memRequest));
      add("container_cpu_usage_seconds_total", { ...podLabels, container: svc.container }, (t) => ((t - start) / 1000) * cpuRequest * cpuRatio);
      add("container_memory_working_set_bytes", { ...podLabels, container: svc.container }, constant(memRequest * memRatio));
      if (svc.scaler === "hpa") {
        const app = { namespace: ns, pod, container: svc.container, service: svc.name };
        // Also 20 minutes a week back, for the "vs one week ago" panels (offset 1w).
        const weekAgo = end - 7 * 24 * 60 * MIN - 20 * MIN;
        const withWeekAgo = (perMinute: number) => (t: number) => (t >= start || (t >= weekAgo && t <= weekAgo + 20 * MIN) ? ((t - weekAgo) / MIN) * perMinute : undefined);
        add("http_requests_total", { ...app, code: "200", method: "GET" }, withWeekAgo(6000), weekAgo);
        add("http_requests_total", { ...app, code: "500", method: "GET" }, withWeekAgo(6), weekAgo);
        const buckets: [string, number][] = [["0.05", 0.5], ["0.1", 0.7], ["0.25", 0.9], ["0.5", 0.97], ["1", 0.995], ["+Inf", 1]];
        for (const [le, share] of buckets) add("http_request_duration_seconds_bucket", { ...app, code: "200", method: "GET", le }, counter(6000 * share));
        add("db_connections_in_use", app, constant(12));
      }
    }
  }

  // ---- Nodes (kube-state-metrics) ------------------------------------------------------------
  const nodeLabels = index.series.get("kube_node_labels")?.dynamicLabels ?? new Set<string>();
  const nodes = [
    { node: "ip-10-0-3-21.ec2.internal", capacity: "spot", type: "m6i.large", cls: "api" },
    { node: "ip-10-0-3-22.ec2.internal", capacity: "on-demand", type: "m6i.xlarge", cls: "batch" },
    { node: "ip-10-0-3-23.ec2.internal", capacity: "on-demand", type: "m6g.large", cls: "system" },
  ];
  for (const n of nodes) {
    const extra: Record<string, string> = {};
    for (const l of nodeLabels) extra[l] = l.includes("capacity_type") ? n.capacity : l.includes("instance_type") ? n.type : n.cls;
    add("kube_node_labels", { node: n.node, ...extra }, constant(1));
    add("kube_node_info", { node: n.node, internal_ip: "10.0.3.21", kubelet_version: "v1.33.3-eks" }, constant(1));
  }

  // ---- KEDA -----------------------------------------------------------------------------------
  for (const so of entities.scaledObjects) {
    const base = { namespace: so.namespace, scaledObject: so.name };
    add("keda_scaled_object_paused", base, constant(failing && so.name === "automation" ? 1 : 0));
    const soErrors = failing && so.name === "webhooks"; // KEDAScalerFailing / KEDAScalerErrors
    add("keda_scaled_object_errors_total", base, soErrors ? counter(1) : constant(0));
    so.triggers.forEach((tr, i) => {
      const trigger = { ...base, triggerIndex: String(i), scaler: `${tr.type}Scaler`, metric: `s${i}-${tr.name ?? tr.type}` };
      add("keda_scaler_metrics_value", trigger, constant(5 + i));
      add("keda_scaler_active", trigger, constant(1));
      const detailErrors = failing && so.name === "notifications" && i === 0;
      add("keda_scaler_detail_errors_total", trigger, detailErrors ? counter(2) : constant(0));
    });
  }

  // ---- Karpenter ------------------------------------------------------------------------------
  for (const np of entities.nodePools) {
    for (const [resource, limit] of Object.entries(np.limits)) {
      add("karpenter_nodepools_limit", { nodepool: np.name, resource_type: resource }, constant(limit));
      const near = failing && np.name === "batch-spot"; // NodePoolNearLimit
      add("karpenter_nodepools_usage", { nodepool: np.name, resource_type: resource }, constant(near ? limit : Math.floor(limit / 3)));
    }
    add("karpenter_nodepools_usage", { nodepool: np.name, resource_type: "cpu" }, constant(4));
    add("karpenter_nodes_created_total", { nodepool: np.name }, counter(0.05));
    add("karpenter_nodes_terminated_total", { nodepool: np.name }, counter(0.04));
  }
  // Spot interruptions: failing, one every 4 minutes for the last 40 minutes (>= 6 in 30 min).
  add("karpenter_interruption_received_messages_total", { message_type: "spot_interrupted" }, failing ? (t) => Math.max(0, Math.floor((t - (end - 40 * MIN)) / (4 * MIN))) : constant(1));
  add("karpenter_interruption_received_messages_total", { message_type: "rebalance_recommendation" }, constant(2));

  // ---- PgBouncer ------------------------------------------------------------------------------
  add("pgbouncer_config_max_client_connections", {}, constant(1000));
  add("pgbouncer_pools_client_active_connections", {}, constant(120));
  add("pgbouncer_pools_client_waiting_connections", {}, constant(0));

  // ---- The automation service (two replicas: the leader and a follower) ------------------------
  const leader = { pod: "pyairtable-automation-0", instance: "10.0.4.10:8080" };
  const follower = { pod: "pyairtable-automation-1", instance: "10.0.4.11:8080" };
  add("pyairtable_autoscaler_leader_lock_held", leader, constant(1));
  add("pyairtable_autoscaler_leader_lock_held", follower, constant(failing ? 1 : 0)); // AutomationLeaderLockUnhealthy: two leaders
  for (const r of [leader, follower]) add("pyairtable_autoscaler_emergency_profile_active", r, constant(0));
  const lastSuccess = (t: number) => (failing ? end - 3 * 60 * MIN : Math.floor(t / (15 * MIN)) * 15 * MIN) / 1000; // ForecastStale
  add("pyairtable_autoscaler_forecast_last_success_timestamp_seconds", leader, lastSuccess);
  for (const svc of serviceCatalog) {
    const s = { ...leader, service: svc.name };
    add("pyairtable_autoscaler_forecast_mape_ratio", { ...s, model: "ensemble" }, constant(failing && svc.name === "analytics" ? 0.35 : 0.1)); // ForecastAccuracyLow
    add("pyairtable_autoscaler_forecast_interval_coverage_ratio", { ...s, model: "ensemble" }, constant(failing && svc.name === "notifications" ? 0.5 : 0.8)); // ForecastIntervalMiscalibrated
    add("pyairtable_autoscaler_forecast_peak_error_ratio", { ...s, model: "ensemble" }, constant(-0.05));
    add("pyairtable_autoscaler_forecast_confidence_ratio", s, constant(failing && svc.name === "webhooks" ? 0.5 : 0.9)); // PredictiveScalingFallbackActive
    add("pyairtable_autoscaler_predictive_floor_replicas", s, failing && svc.name === "webhooks" ? (t) => (since(10)(t) ? 5 : 3) : constant(3)); // PredictiveFloorChanged
    add("pyairtable_autoscaler_decisions_total", { ...s, kind: "predictive", outcome: "applied" }, counter(1 / 15));
    for (const series of catalogSeries([svc])) {
      for (const bound of ["point", "lower", "upper"]) add("pyairtable_autoscaler_forecast_load", { ...s, signal: series.signal, bound, horizon: "15m" }, constant(bound === "upper" ? 12 : 10));
    }
  }
  void signalId;
  for (const trigger of ["scheduled", "predictive", "emergency"]) {
    for (const outcome of ["succeeded", "failed", "refused", "no-change"]) {
      const fails = failing && trigger === "predictive" && outcome === "failed"; // AutomationStackUpdateFailing
      add("pyairtable_autoscaler_updates_total", { ...leader, trigger, outcome }, fails ? (t) => (since(20)(t) ? 1 : 0) : outcome === "succeeded" ? counter(1 / 60) : constant(0));
    }
    let cumulative = 0;
    for (const le of ["5", "15", "30", "60", "120", "300", "600", "1200", "1800", "3600", "+Inf"]) {
      cumulative = Math.min(1, cumulative + 0.2);
      const share = cumulative;
      add("pyairtable_autoscaler_update_duration_seconds_bucket", { ...leader, trigger, le }, counter(share / 60));
    }
  }
  for (const profile of ["business-hours", "off-hours", "weekend", "emergency"]) {
    add("pyairtable_autoscaler_scheduled_profile_active", { ...leader, profile }, constant(profile === "business-hours" ? 1 : 0));
    const justApplied = failing && profile === "business-hours"; // ScheduledProfileApplied
    add("pyairtable_autoscaler_scheduled_profile_applied_total", { ...leader, profile, outcome: "succeeded" }, justApplied ? (t) => (since(5)(t) ? 2 : 1) : constant(1));
  }
  const limits = { daily: 500, weekly: 3000, monthly: 12000 };
  const utilisation = { daily: failing ? 0.97 : 0.5, weekly: failing ? 0.85 : 0.5, monthly: 0.5 }; // BudgetEmergency (+ScaleDownNotApplied), BudgetThresholdExceeded
  for (const period of ["daily", "weekly", "monthly"] as const) {
    add("pyairtable_autoscaler_budget_utilisation_ratio", { ...leader, period }, constant(utilisation[period]));
    add("pyairtable_autoscaler_budget_limit_usd", { ...leader, period }, constant(limits[period]));
    add("pyairtable_autoscaler_budget_spend_usd", { ...leader, period }, constant(limits[period] * utilisation[period]));
  }
  const components = ["EKS cluster", "Aurora PostgreSQL", "ElastiCache Redis", "Amazon MSK", "OpenSearch"];
  for (const component of components) {
    add("pyairtable_autoscaler_cost_estimate_monthly_usd", { ...leader, component }, constant(failing ? 3000 : 900)); // MonthlyCostEstimateOverBudget: 15000 > 12000
  }
  return out;
}

/** The series as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`. */
export function toOpenMetrics(series: readonly SyntheticSeries[], start: number, end: number, stepMs = MIN): string {
  const byName = new Map<string, SyntheticSeries[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  for (const [name, list] of byName) {
    lines.push(`# TYPE ${name} unknown`);
    for (const s of list) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",");
      for (let t = s.from ?? start; t <= end; t += stepMs) {
        const v = s.value(t);
        if (v === undefined) continue;
        lines.push(`${name}{${labels}} ${v} ${t / 1000}`);
      }
    }
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}
