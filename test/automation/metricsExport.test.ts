/**
 * The automation service's own gauges that rules and panels read: the cost estimate is filled from
 * the cost model, and leader-only gauges disappear when a replica loses the lock.
 */
import assert from "node:assert/strict";
import { exportCostEstimate, stackCostEstimate, stackUsageAssumptions } from "../../automation/costEstimate";
import { silentLogger } from "../../automation/logger";
import { AutomationMetrics } from "../../automation/metrics";
import { LeaderElector } from "../../automation/service";
import type { Store } from "../../automation/store";
import { estimateCost } from "../../lib/cost/estimate";
import { planStack } from "../support/plans";
import { automationServiceMetrics as names } from "../../lib/monitoring/metricNames";
import { repoRoot } from "./support/harness";
import { testEvaluationDate } from "../support/clock";
import { priceCatalog } from "../../lib/cost/prices";

async function seriesOf(metrics: AutomationMetrics, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

describe("cost estimate gauge", function () {
  this.timeout(120_000);
  for (const stack of ["prod", "dev"] as const) {
    it(`${stack}: one series per cost component, summing to the plan's monthly estimate`, async () => {
      const components = await stackCostEstimate(repoRoot, stack, testEvaluationDate);
      const metrics = new AutomationMetrics();
      assert.deepEqual(await seriesOf(metrics, names.costEstimateMonthlyUsd), [], "declared only: no series before the estimate");
      exportCostEstimate(metrics, components);
      const series = await seriesOf(metrics, names.costEstimateMonthlyUsd);
      assert.ok(series.length >= 5, `components: ${series.map((s) => s.labels.component).join(", ")}`);
      const plan = await planStack(stack);
      const expected = estimateCost(plan.resources, stackUsageAssumptions(repoRoot, stack, stack), priceCatalog(), { asOf: new Date(testEvaluationDate) }).monthlyUsd;
      const total = series.reduce((n, s) => n + s.value, 0);
      assert.ok(Math.abs(total - expected) < 0.01 * series.length, `gauge total ${total} vs plan ${expected}`);
      assert.ok(series.every((s) => typeof s.labels.component === "string" && s.value >= 0));
    });
  }

  it("replaces the series on refresh (a component that disappears loses its series)", async () => {
    const metrics = new AutomationMetrics();
    exportCostEstimate(metrics, [{ component: "a", monthlyUsd: 1, dailyUsd: 0, items: 1 }, { component: "b", monthlyUsd: 2, dailyUsd: 0, items: 1 }]);
    exportCostEstimate(metrics, [{ component: "a", monthlyUsd: 3, dailyUsd: 0, items: 1 }]);
    assert.deepEqual(await seriesOf(metrics, names.costEstimateMonthlyUsd), [{ labels: { component: "a" }, value: 3 }]);
  });
});

describe("leader-only gauges", () => {
  /** A store whose lock can be taken away (the fault: another replica took over, or the session died). */
  function lockStore() {
    const state = { held: false, lose: false };
    let epoch = 0;
    // The store's leadership interface as LeaderElector calls it (acquireLeadership returns the fencing epoch).
    const store = {
      acquireLeadership: async () => ((state.held = !state.lose) ? ++epoch : undefined),
      stillLeading: async () => state.held && !state.lose,
      heartbeat: async () => state.held && !state.lose,
      stepDown: async () => void (state.held = false),
    } as unknown as Store;
    return { store, state };
  }

  it("a replica that loses the lock stops exporting its forecasts and budget, and says it is not leader", async () => {
    const metrics = new AutomationMetrics();
    const { store, state } = lockStore();
    const elector = new LeaderElector(store, "prod", "test", metrics, silentLogger());
    assert.equal(await elector.tick(), true);
    metrics.forecastConfidence.set({ service: "file-service" }, 0.9);
    metrics.predictiveFloorReplicas.set({ service: "file-service" }, 4);
    metrics.forecastLoad.set({ service: "file-service", signal: "redis_list:files:requests", bound: "point", horizon: "15m" }, 80);
    metrics.forecastMape.set({ service: "file-service", model: "ensemble" }, 0.1);
    metrics.budgetUtilisation.set({ period: "daily" }, 0.5);
    metrics.budgetSpendUsd.set({ period: "daily" }, 250);
    metrics.budgetLimitUsd.set({ period: "daily" }, 500);
    await elector.tick();
    assert.equal((await seriesOf(metrics, names.forecastConfidence)).length, 1, "kept while leading");

    state.lose = true;
    await elector.tick();
    assert.equal(elector.leader, false);
    for (const g of metrics.leaderOnlyGauges()) {
      const name = (g as unknown as { name: string }).name;
      assert.deepEqual(await seriesOf(metrics, name), [], `${name} still exported after losing the lock`);
    }
    assert.deepEqual(await seriesOf(metrics, names.leaderLockHeld), [{ labels: {}, value: 0 }]);
    const text = await metrics.registry.metrics();
    assert.ok(!/pyairtable_autoscaler_forecast_confidence_ratio\{/.test(text), text);
  });

  it("isLeader() noticing the loss clears them too, and release() on shutdown", async () => {
    const metrics = new AutomationMetrics();
    const { store, state } = lockStore();
    const elector = new LeaderElector(store, "prod", "test", metrics, silentLogger());
    await elector.tick();
    metrics.budgetUtilisation.set({ period: "weekly" }, 0.7);
    state.lose = true;
    assert.equal(await elector.isLeader(), false);
    assert.deepEqual(await seriesOf(metrics, names.budgetUtilisation), []);

    state.lose = false;
    await elector.tick();
    metrics.budgetUtilisation.set({ period: "weekly" }, 0.7);
    await elector.release();
    assert.deepEqual(await seriesOf(metrics, names.budgetUtilisation), []);
  });
});
