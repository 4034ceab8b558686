/** The cost dashboard: spend against the budgets, spot share, utilisation and cost per service. */
import { automationServiceMetrics as auto } from "../metricNames";
import { GrafanaDashboard } from "./model";
import { Ctx, PanelSpec, dashboard, requestsExpr, CPU_USAGE, MEMORY_USAGE, spotShareGauge, nodesByCapacityTypeExpr, budgetSteps, utilisationSteps, ON_OFF_MAPPING, pct, Layout } from "./panels";

/** A per-namespace efficiency (usage / requests) bar gauge, red below its target ratio. */
function efficiencyNow(resource: "CPU" | "Memory", expr: string, target: number): PanelSpec {
  return {
    type: "bargauge",
    title: `${resource} efficiency now`,
    description: `Per namespace; red below the ${pct(target)} target.`,
    w: 6,
    h: 8,
    unit: "percentunit",
    min: 0,
    max: 1,
    targets: [{ expr, legend: "{{namespace}}" }],
    baseColor: "red",
    thresholds: [[target, "green"]],
  };
}

export function costDashboard(ctx: Ctx): GrafanaDashboard {
  const { budgets, targets } = ctx;
  const spendPanel = (period: "daily" | "weekly" | "monthly", budgetUsd: number): PanelSpec => ({
    type: "timeseries",
    title: `Spend vs budget: ${period}`,
    description: `Spend so far in the ${period} period and the enforced limit; dashed lines at ${pct(budgets.warningRatio)} of and at the ${period} budget ($${budgetUsd}).`,
    w: 8,
    h: 8,
    unit: "currencyUSD",
    min: 0,
    targets: [
      { expr: `max(${auto.budgetSpendUsd}{period="${period}"})`, legend: "spend" },
      { expr: `max(${auto.budgetLimitUsd}{period="${period}"})`, legend: "limit (enforced)" },
    ],
    thresholds: budgetSteps(ctx, budgetUsd),
    thresholdLines: true,
  });
  const cpuEfficiency = `${CPU_USAGE} / ${requestsExpr("cpu")}`;
  const memoryEfficiency = `${MEMORY_USAGE} / ${requestsExpr("memory")}`;
  const cl = ctx.nodeLabels;
  const layout = new Layout()
    .row("Spend and budgets")
    .add(spendPanel("daily", budgets.dailyUsd), spendPanel("weekly", budgets.weeklyUsd), spendPanel("monthly", budgets.monthlyUsd))
    .add(
      {
        type: "timeseries",
        title: "Budget utilisation by period",
        description: `Spend / budget per period; dashed lines at the ${pct(budgets.warningRatio)} warning and the ${pct(budgets.emergencyRatio)} emergency scale-down.`,
        w: 16,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: `max by (period) (${auto.budgetUtilisation})`, legend: "{{period}}" }],
        thresholds: utilisationSteps(ctx),
        thresholdLines: true,
      },
      {
        type: "stat",
        title: "Budget emergency profile",
        description: "ACTIVE while the emergency scale-down profile is applied.",
        w: 8,
        h: 8,
        unit: "none",
        targets: [{ expr: `max(${auto.emergencyProfileActive})`, legend: "emergency" }],
        thresholds: [[1, "red"]],
        mappings: [ON_OFF_MAPPING],
      },
    )
    .row("Cost estimate")
    .add(
      {
        type: "bargauge",
        title: "Monthly cost estimate by component",
        description: `The cost model's monthly estimate per component; the total is compared with the monthly budget ($${budgets.monthlyUsd}).`,
        w: 10,
        h: 10,
        unit: "currencyUSD",
        decimals: 0,
        min: 0,
        targets: [
          { expr: `sum(${auto.costEstimateMonthlyUsd})`, legend: "total" },
          { expr: `sum by (component) (${auto.costEstimateMonthlyUsd})`, legend: "{{component}}" },
        ],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
      },
      {
        type: "timeseries",
        title: "Monthly cost estimate by component over time",
        description: `Stacked per-component estimate; dashed lines at ${pct(budgets.warningRatio)} of and at the monthly budget.`,
        w: 14,
        h: 10,
        unit: "currencyUSD",
        min: 0,
        stacked: true,
        targets: [{ expr: `sum by (component) (${auto.costEstimateMonthlyUsd})`, legend: "{{component}}" }],
        thresholds: budgetSteps(ctx, budgets.monthlyUsd),
        thresholdLines: true,
      },
    )
    .row("Waste: requests vs usage")
    .add(
      {
        type: "timeseries",
        title: "CPU efficiency by namespace (usage / requests)",
        description: `CPU used / CPU requested by running pods; below the ${pct(targets.cpuEfficiency)} target (dashed) the requests are oversized.`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: cpuEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.cpuEfficiency, "green"]],
        thresholdLines: true,
      },
      {
        type: "timeseries",
        title: "Memory efficiency by namespace (working set / requests)",
        description: `Memory working set / memory requested by running pods; target ${pct(targets.memoryEfficiency)} (dashed).`,
        w: 12,
        h: 8,
        unit: "percentunit",
        min: 0,
        targets: [{ expr: memoryEfficiency, legend: "{{namespace}}" }],
        baseColor: "red",
        thresholds: [[targets.memoryEfficiency, "green"]],
        thresholdLines: true,
      },
    )
    .add(
      efficiencyNow("CPU", cpuEfficiency, targets.cpuEfficiency),
      efficiencyNow("Memory", memoryEfficiency, targets.memoryEfficiency),
      {
        type: "timeseries",
        title: "Idle requested CPU (requests − usage)",
        description: "CPU cores requested by running pods but not used, per namespace: the right-sizing opportunity.",
        w: 6,
        h: 8,
        unit: "short",
        stacked: true,
        targets: [{ expr: `${requestsExpr("cpu")} - ${CPU_USAGE}`, legend: "{{namespace}}" }],
      },
      {
        type: "timeseries",
        title: "Idle requested memory (requests − working set)",
        description: "Memory requested by running pods but not used, per namespace.",
        w: 6,
        h: 8,
        unit: "bytes",
        stacked: true,
        targets: [{ expr: `${requestsExpr("memory")} - ${MEMORY_USAGE}`, legend: "{{namespace}}" }],
      },
    )
    .row("Nodes and spot")
    .add(
      {
        type: "timeseries",
        title: "Nodes by capacity type",
        description: "Cluster nodes by capacity type (stacked).",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        stacked: true,
        targets: [{ expr: nodesByCapacityTypeExpr(ctx), legend: `{{${cl.capacityType}}}` }],
      },
      {
        type: "bargauge",
        title: "Nodes by instance type and capacity type",
        description: "Current node count per instance type and capacity type (diversification of spot capacity).",
        w: 8,
        h: 8,
        decimals: 0,
        min: 0,
        targets: [
          {
            expr: `count by (${cl.instanceType}, ${cl.capacityType}) (kube_node_labels)`,
            legend: `{{${cl.instanceType}}} {{${cl.capacityType}}}`,
          },
        ],
        baseColor: "blue",
      },
      {
        type: "timeseries",
        title: "Spot interruptions",
        description: "Interruption-queue messages Karpenter received in the preceding hour, by message type (spot interruption, rebalance, scheduled change, state change).",
        w: 8,
        h: 8,
        unit: "short",
        min: 0,
        bars: true,
        targets: [{ expr: `sum by (message_type) (increase(karpenter_interruption_received_messages_total[1h]))`, legend: "{{message_type}}" }],
      },
    )
    .add(
      {
        type: "stat",
        title: "Spot interruptions (time range)",
        description: "Spot interruption warnings received over the selected time range.",
        w: 8,
        h: 4,
        decimals: 0,
        targets: [
          {
            expr: `sum(increase(karpenter_interruption_received_messages_total{message_type="spot_interrupted"}[$__range])) or vector(0)`,
            legend: "interruptions",
          },
        ],
        thresholds: [[1, "orange"]],
      },
      spotShareGauge(ctx, 8, "Nodes on spot capacity / all nodes."),
      {
        type: "stat",
        title: "Nodes (total)",
        description: "Cluster nodes right now.",
        w: 8,
        h: 4,
        decimals: 0,
        targets: [{ expr: `count(count by (node) (kube_node_info))`, legend: "nodes" }],
        baseColor: "blue",
      },
    );
  return dashboard(
    ctx,
    "cost",
    "Cost",
    "Detailed spend analysis and optimisation opportunities: budgets, cost estimate by component, waste, spot usage and interruptions.",
    layout,
    "now-7d",
  );
}

/**
 * The signal the predictor forecasts for a service (its first capacity signal, the collector's own
 * query), or, for services without one, the request rate (HPA services) or CPU (others), not forecast.
 */
