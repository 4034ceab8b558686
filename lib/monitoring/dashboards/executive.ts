/** The executive dashboard: availability, latency, cost against budget and capacity at a glance. */
import { automationServiceMetrics as auto } from "../metricNames";
import { GrafanaDashboard } from "./model";
import { Ctx, dashboard, HTTP_TOTAL, APP_SEL, DEPLOY_SEL, availabilityExpr, p95Expr, spotShareGauge, nodesByCapacityTypeExpr, budgetSteps, utilisationSteps, ON_OFF_MAPPING, pct, Layout } from "./panels";

export function executiveDashboard(ctx: Ctx): GrafanaDashboard {
  const { budgets, targets } = ctx;
  const layout = new Layout()
    .row("Cost and service level")
    .add(
      {
        type: "stat",
        title: "Monthly cost estimate",
        description: `Cost model's monthly estimate over all components. Orange from ${pct(budgets.warningRatio)} of the monthly budget ($${budgets.monthlyUsd}), red above it.`,
        w: 4,
        h: 4,
        unit: "currencyUSD",
        decimals: 0,
        targets: [{ expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "estimate" }],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
      },
      {
        type: "stat",
        title: "Availability (time range)",
        description: `Share of non-5xx responses over the selected time range. Target ${pct(targets.availability)}.`,
        w: 4,
        h: 4,
        unit: "percentunit",
        decimals: 3,
        targets: [{ expr: availabilityExpr("$__range"), legend: "availability" }],
        baseColor: "red",
        thresholds: [[targets.availability, "green"]],
      },
      {
        type: "stat",
        title: "p95 latency (time range)",
        description: `95th percentile request latency over the selected time range. Target < ${targets.p95LatencySeconds * 1000} ms.`,
        w: 4,
        h: 4,
        unit: "s",
        targets: [{ expr: p95Expr("$__range", []), legend: "p95" }],
        thresholds: [[targets.p95LatencySeconds, "red"]],
      },
      {
        type: "stat",
        title: "Replicas (total)",
        description: "Replicas of the selected catalog services right now.",
        w: 4,
        h: 4,
        unit: "short",
        decimals: 0,
        targets: [{ expr: `sum(kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "replicas" }],
        baseColor: "blue",
      },
      spotShareGauge(ctx, 4, "Nodes on spot capacity / all nodes (cluster-wide)."),
      {
        type: "stat",
        title: "Budget emergency profile",
        description: `ACTIVE while the automation service holds the emergency scale-down (budget utilisation >= ${pct(budgets.emergencyRatio)}).`,
        w: 4,
        h: 4,
        unit: "none",
        targets: [{ expr: `max(${auto.emergencyProfileActive})`, legend: "emergency" }],
        thresholds: [[1, "red"]],
        mappings: [ON_OFF_MAPPING],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Monthly cost estimate vs budget",
        description: `Monthly estimate and the budget limit the automation service enforces; dashed lines at ${pct(budgets.warningRatio)} of and at the monthly budget ($${budgets.monthlyUsd}).`,
        w: 12,
        h: 8,
        unit: "currencyUSD",
        min: 0,
        targets: [
          { expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "monthly estimate" },
          { expr: `max(${auto.budgetLimitUsd}{period="monthly"})`, legend: "monthly budget (enforced)" },
        ],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
        thresholdLines: true,
      },
      {
        type: "bargauge",
        title: "Budget utilisation by period",
        description: `Spend / budget per period. Warning at ${pct(budgets.warningRatio)}, emergency scale-down at ${pct(budgets.emergencyRatio)}.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        max: 1,
        targets: [{ expr: `max by (period) (${auto.budgetUtilisation})`, legend: "{{period}}" }],
        thresholds: utilisationSteps(ctx),
      },
    )
    .row("Performance and capacity")
    .add(
      {
        type: "timeseries",
        title: "Availability",
        description: `Share of non-5xx responses; dashed line at the ${pct(targets.availability)} target.`,
        w: 8,
        h: 8,
        unit: "percentunit",
        decimals: 3,
        max: 1,
        targets: [{ expr: availabilityExpr("$__rate_interval"), legend: "availability" }],
        baseColor: "red",
        thresholds: [[targets.availability, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "p95 latency by service vs target",
        description: `95th percentile latency per service; dashed line at the ${targets.p95LatencySeconds * 1000} ms target.`,
        w: 8,
        h: 8,
        unit: "s",
        min: 0,
        targets: [
          { expr: p95Expr("$__rate_interval", []), legend: "all services" },
          { expr: p95Expr("$__rate_interval", ["service"]), legend: "{{service}}" },
        ],
        thresholds: [[targets.p95LatencySeconds, "red"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Request rate vs one week ago",
        description: "Requests per second now and at the same time last week (traffic spikes relative to the usual load).",
        w: 8,
        h: 8,
        unit: "reqps",
        min: 0,
        targets: [
          { expr: `sum(rate(${HTTP_TOTAL}{${APP_SEL}}[$__rate_interval]))`, legend: "now" },
          { expr: `sum(rate(${HTTP_TOTAL}{${APP_SEL}}[$__rate_interval] offset 1w))`, legend: "one week ago" },
        ],
      },
    )
    .add(
      {
        type: "timeseries",
        title: "Replicas by service",
        description: "Replicas per catalog service (stacked: the total is the platform's replica count).",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (deployment) (kube_deployment_status_replicas{${DEPLOY_SEL}})`, legend: "{{deployment}}" }],
      },
      {
        type: "timeseries",
        title: "Nodes by capacity type",
        description: "Cluster nodes by capacity type (spot / on-demand), stacked.",
        w: 12,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: nodesByCapacityTypeExpr(ctx), legend: `{{${ctx.nodeLabels.capacityType}}}` }],
      },
    );
  return dashboard(
    ctx,
    "executive",
    "Executive",
    "High-level cost and performance: cost estimate against budget, availability, latency, replicas and spot share.",
    layout,
    "now-7d",
  );
}

// ---------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------
