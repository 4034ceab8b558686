/** The operations dashboard: per-service scaling, replicas, signals, nodes and the autoscalers' health. */
import { automationServiceMetrics as auto } from "../metricNames";
import { GrafanaDashboard } from "./model";
import { Ctx, dashboard, DEPLOY_SEL, HPA_SEL, KEDA_SEL, Layout } from "./panels";

export function operationsDashboard(ctx: Ctx): GrafanaDashboard {
  const hpaBy = "namespace, horizontalpodautoscaler";
  const atMax = `kube_horizontalpodautoscaler_status_current_replicas{${HPA_SEL}} >= on (${hpaBy}) kube_horizontalpodautoscaler_spec_max_replicas{${HPA_SEL}}`;
  const pdbBy = "namespace, poddisruptionbudget";
  const pdbMargin = `sum by (${pdbBy}) (kube_poddisruptionbudget_status_current_healthy{namespace=~"$namespace"}) - sum by (${pdbBy}) (kube_poddisruptionbudget_status_desired_healthy{namespace=~"$namespace"})`;
  const layout = new Layout()
    .row("Health at a glance")
    .add(
      {
        type: "stat",
        title: "HPAs at max replicas",
        description: "HPAs whose current replicas reached maxReplicas (critical: the service cannot scale further).",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count(${atMax}) or vector(0)`, legend: "at max" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "Scaling events (time range)",
        description: "Changes of HPA desired replicas over the selected time range.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(changes(kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}}[$__range]))`, legend: "events" }],
        baseColor: "blue",
      },
      {
        type: "stat",
        title: "Pending pods (cluster)",
        description: "Pods waiting for capacity or scheduling, cluster-wide (Karpenter's trigger).",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(kube_pod_status_phase{phase="Pending"})`, legend: "pending" }],
        thresholds: [[1, "orange"]],
      },
      {
        type: "stat",
        title: "PDBs below desired healthy",
        description: "PodDisruptionBudgets with fewer healthy pods than desired.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count((${pdbMargin}) < 0) or vector(0)`, legend: "PDBs" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "KEDA errors (time range)",
        description: "Scaler errors of the selected ScaledObjects over the selected time range.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(increase(keda_scaler_detail_errors_total{${KEDA_SEL}}[$__range])) or vector(0)`, legend: "errors" }],
        thresholds: [[1, "red"]],
      },
      {
        type: "stat",
        title: "Automation leader",
        description: "Automation-service replicas holding the leader lock: exactly one is healthy.",
        w: 4,
        h: 4,
        decimals: 0,
        targets: [{ expr: `sum(${auto.leaderLockHeld})`, legend: "leaders" }],
        baseColor: "red",
        thresholds: [[1, "green"], [2, "red"]],
      },
    )
    .row("Horizontal Pod Autoscalers")
    .add(
      {
        type: "timeseries",
        title: "Replicas: current / desired / max per HPA",
        description: "Current and desired replicas of each HPA with its maxReplicas ceiling (dashed).",
        w: 24,
        h: 9,
        unit: "short",
        min: 0,
        targets: [
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_status_current_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} current" },
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} desired" },
          { expr: `max by (${hpaBy}) (kube_horizontalpodautoscaler_spec_max_replicas{${HPA_SEL}})`, legend: "{{horizontalpodautoscaler}} max" },
        ],
        overrides: [
          {
            matcher: { id: "byRegexp", options: ".* max$" },
            properties: [
              { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
              { id: "custom.fillOpacity", value: 0 },
            ],
          },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Scaling events per hour (changes of desired replicas)",
        description: "How often each HPA changed its desired replica count in the preceding hour (scaling velocity).",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [{ expr: `sum by (${hpaBy}) (changes(kube_horizontalpodautoscaler_status_desired_replicas{${HPA_SEL}}[1h]))`, legend: "{{horizontalpodautoscaler}}" }],
      },
      {
        type: "table",
        title: "HPAs at max replicas",
        description: "HPAs whose current replicas are at (or above) maxReplicas right now.",
        w: 6,
        h: 8,
        decimals: 0,
        targets: [{ expr: atMax, legend: "{{horizontalpodautoscaler}}", table: true, instant: true }],
      },
      {
        type: "table",
        title: "HPAs unable to scale",
        description: "HPAs whose AbleToScale or ScalingActive condition is false (scaling disabled).",
        w: 6,
        h: 8,
        targets: [
          {
            expr: `kube_horizontalpodautoscaler_status_condition{${HPA_SEL}, condition=~"AbleToScale|ScalingActive", status="false"} == 1`,
            legend: "{{horizontalpodautoscaler}} {{condition}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .row("KEDA")
    .add(
      {
        type: "timeseries",
        title: "KEDA scaler metric values",
        description: "The value each scaler reports to the HPA (queue depth, consumer lag, ...).",
        w: 12,
        h: 8,
        unit: "short",
        targets: [
          {
            expr: `max by (namespace, scaledObject, scaler, metric) (keda_scaler_metrics_value{${KEDA_SEL}})`,
            legend: "{{scaledObject}} {{scaler}} {{metric}}",
          },
        ],
      },
      {
        type: "timeseries",
        title: "KEDA errors",
        description: "Errors per second per scaler and per ScaledObject.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `sum by (namespace, scaledObject, scaler) (rate(keda_scaler_detail_errors_total{${KEDA_SEL}}[$__rate_interval]))`, legend: "{{scaledObject}} {{scaler}}" },
          { expr: `sum by (namespace, scaledObject) (rate(keda_scaled_object_errors_total{${KEDA_SEL}}[$__rate_interval]))`, legend: "{{scaledObject}} (ScaledObject)" },
        ],
      },
    )
    .add(
      {
        type: "bargauge",
        title: "KEDA scalers active",
        description: "Active scalers per ScaledObject (0 means the ScaledObject may scale to its minimum / zero).",
        w: 12,
        h: 7,
        decimals: 0,
        min: 0,
        targets: [{ expr: `sum by (namespace, scaledObject) (keda_scaler_active{${KEDA_SEL}})`, legend: "{{scaledObject}}" }],
        baseColor: "blue",
      },
      {
        type: "table",
        title: "Paused ScaledObjects",
        description: "ScaledObjects with autoscaling paused.",
        w: 12,
        h: 7,
        targets: [{ expr: `keda_scaled_object_paused{${KEDA_SEL}} == 1`, legend: "{{scaledObject}}", table: true, instant: true }],
      },
    )
    .row("Karpenter")
    .add(
      {
        type: "timeseries",
        title: "Nodes created / terminated per hour",
        description: "Nodes Karpenter created and terminated in the preceding hour, per NodePool.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        targets: [
          { expr: `sum by (nodepool) (increase(karpenter_nodes_created_total[1h]))`, legend: "created {{nodepool}}" },
          { expr: `sum by (nodepool) (increase(karpenter_nodes_terminated_total[1h]))`, legend: "terminated {{nodepool}}" },
        ],
      },
      {
        type: "bargauge",
        title: "NodePool usage vs limits",
        description: "Resources used per NodePool as a share of its spec.limits: only resources with a limit have a series (the NodePools limit `nodes`).",
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [
          {
            expr: `sum by (nodepool, resource_type) (karpenter_nodepools_usage) / on (nodepool, resource_type) sum by (nodepool, resource_type) (karpenter_nodepools_limit)`,
            legend: "{{nodepool}} {{resource_type}}",
          },
        ],
        thresholds: [[0.8, "orange"], [0.95, "red"]],
      },
    )
    .row("Workload health")
    .add(
      {
        type: "bargauge",
        title: "PDB health margin (healthy − desired)",
        description: "Healthy pods above the PDB's desired healthy count: below 0 the budget is violated, 0 blocks voluntary disruptions (node consolidation, spot rebalancing).",
        w: 8,
        h: 8,
        decimals: 0,
        targets: [{ expr: pdbMargin, legend: "{{namespace}}/{{poddisruptionbudget}}" }],
        baseColor: "red",
        thresholds: [[0, "orange"], [1, "green"]],
      },
      {
        type: "timeseries",
        title: "Pending pods by namespace",
        description: "Pods in phase Pending per namespace.",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        targets: [{ expr: `sum by (namespace) (kube_pod_status_phase{namespace=~"$namespace", phase="Pending"})`, legend: "{{namespace}}" }],
      },
      {
        type: "table",
        title: "Deployments with unavailable replicas",
        description: "Desired replicas minus available replicas, where positive.",
        w: 8,
        h: 8,
        decimals: 0,
        targets: [
          {
            expr: `sum by (namespace, deployment) (kube_deployment_spec_replicas{${DEPLOY_SEL}}) - sum by (namespace, deployment) (kube_deployment_status_replicas_available{${DEPLOY_SEL}}) > 0`,
            legend: "{{deployment}}",
            table: true,
            instant: true,
          },
        ],
      },
    )
    .add(
      {
        type: "stat",
        title: "Active scheduled profile",
        description: "The scheduled scaling profile the automation service applied last (business hours, evening, weekend, holiday).",
        w: 8,
        h: 6,
        targets: [{ expr: `max by (profile) (${auto.scheduledProfileActive}) == 1`, legend: "{{profile}}" }],
        textMode: "name",
        baseColor: "blue",
      },
      {
        type: "table",
        title: "Firing alerts",
        description: "Alerts firing right now, by name and severity.",
        w: 16,
        h: 6,
        targets: [{ expr: `sum by (alertname, severity) (ALERTS{alertstate="firing"})`, legend: "{{alertname}}", table: true, instant: true }],
      },
    );
  return dashboard(
    ctx,
    "operations",
    "Operations",
    "Detailed scaling events and system health: HPAs, KEDA, Karpenter, PDBs and pending pods.",
    layout,
    "now-6h",
  );
}

// ---------------------------------------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------------------------------------
