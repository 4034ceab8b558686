import assert from "node:assert/strict";
import { BudgetGuard, budgetNotificationBody, MemoryEmergencyQueue, parseBudgetMessage, periodBounds, StaticSpendSource } from "../../automation/budget";
import { silentLogger } from "../../automation/logger";
import type { Store } from "../../automation/store";
import { serviceCatalog } from "../../lib/catalog/services";
import { automationServiceMetrics as names } from "../../lib/monitoring/metricNames";
import { makeApplier, metricValue, RecordingRunner, sharedPgliteStore, testConfig, truncateAll } from "./support/harness";

const config = testConfig("prod");
const budgets = config.base.settings.budgets; // $500 / $3,000 / $12,000, 80% and 95%

describe("budget guard: periods and messages", () => {
  it("computes UTC periods (ISO weeks from Monday)", () => {
    const t = new Date("2026-05-20T13:00:00Z"); // Wednesday
    assert.equal(periodBounds("daily", t).key, "2026-05-20");
    assert.equal(periodBounds("monthly", t).key, "2026-05");
    const w = periodBounds("weekly", t);
    assert.equal(w.key, "2026-W21");
    assert.equal(w.start.toISOString(), "2026-05-18T00:00:00.000Z");
    assert.equal(w.end.toISOString(), "2026-05-25T00:00:00.000Z");
    assert.equal(periodBounds("weekly", new Date("2027-01-01T00:00:00Z")).key, "2026-W53");
    assert.equal(periodBounds("weekly", new Date("2026-01-01T00:00:00Z")).key, "2026-W01");
  });

  it("parses an AWS Budgets notification in its SNS envelope", () => {
    const body = budgetNotificationBody({ budgetName: "pyairtable-prod-daily", limitUsd: 500, actualUsd: 480.12, messageId: "sns-1", timestamp: new Date("2026-05-20T13:00:00Z") });
    const n = parseBudgetMessage({ messageId: "sqs-1", receiptHandle: "r", body }, new Date());
    assert.deepEqual(n, { messageId: "sns-1", period: "daily", spendUsd: 480.12, limitUsd: 500, budgetName: "pyairtable-prod-daily", observedAt: new Date("2026-05-20T13:00:00Z") });
    const monthly = parseBudgetMessage({ messageId: "m", receiptHandle: "r", body: budgetNotificationBody({ budgetName: "pyairtable-prod-monthly", limitUsd: 12000, actualUsd: 11500 }) }, new Date());
    assert.equal(monthly.period, "monthly");
    assert.equal(monthly.limitUsd, 12000);
    assert.throws(() => parseBudgetMessage({ messageId: "x", receiptHandle: "r", body: "hello" }, new Date()), /not an AWS Budgets notification this service understands/);
  });
});

describe("budget guard", function () {
  this.timeout(60_000);
  let store: Store;
  before(async () => {
    store = await sharedPgliteStore();
  });
  beforeEach(async () => truncateAll(store.db));

  function setup(queue = new MemoryEmergencyQueue(), spend?: StaticSpendSource) {
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    const guard = new BudgetGuard({ stack: "prod", store, applier, metrics, logger: silentLogger(), budgets: () => budgets, queue, spendSource: spend });
    return { runner, applier, metrics, guard, queue };
  }

  it("applies the emergency profile at 95% exactly once, then recovers when spend is back below the warning level", async () => {
    const { runner, metrics, guard, queue } = setup();
    // The business-hours profile is applied.
    await store.saveState({ ...(await store.getState("prod")), scheduledProfile: "business-hours" });
    const now = new Date("2026-05-20T13:00:00Z");

    // 94%: nothing.
    queue.send(budgetNotificationBody({ budgetName: "pyairtable-prod-daily", limitUsd: 500, actualUsd: 470, messageId: "sns-a", timestamp: now }));
    await guard.check(now, { waitSeconds: 0 });
    assert.equal(runner.ups().length, 0);

    // 95%: emergency. The same SNS message delivered twice (SQS at-least-once) and a second poll: still once.
    const body = budgetNotificationBody({ budgetName: "pyairtable-prod-daily", limitUsd: 500, actualUsd: 475.5, messageId: "sns-b", timestamp: now });
    queue.send(body, "sqs-1");
    queue.send(body, "sqs-2");
    const first = await guard.check(now, { waitSeconds: 0 });
    assert.equal(first.result?.outcome, "succeeded");
    await guard.check(new Date(now.getTime() + 60_000), { waitSeconds: 0 });
    assert.equal(runner.ups().length, 1, "the emergency profile is applied once");
    assert.equal(queue.messages.length, 0, "every message deleted after it was recorded");
    assert.equal(await store.budgetEventCount(), 2, "the redelivered message is recorded once");

    const sent = runner.ups()[0]!.changes;
    for (const s of serviceCatalog) {
      if (s.critical) continue;
      const min = config.base.settings.services[s.name]!.minReplicas;
      assert.equal(sent[`services.${s.name}.maxReplicas`], Math.max(1, min), `${s.name} pinned to its minimum`);
    }
    assert.equal(sent["services.api-gateway.minReplicas"], 4, "critical services keep the business-hours floor");
    assert.equal(sent["services.api-gateway.maxReplicas"], undefined);
    const state = await store.getState("prod");
    assert.equal(state.emergencyActive, true);
    assert.equal(state.previousProfile, "business-hours");
    assert.equal(await metricValue(metrics, names.emergencyProfileActive), 1);
    assert.equal(await metricValue(metrics, names.budgetUtilisation, { period: "daily" }), 475.5 / 500);
    assert.equal(await metricValue(metrics, names.budgetLimitUsd, { period: "weekly" }), 3000);
    assert.equal(await metricValue(metrics, names.updatesTotal, { trigger: "emergency", outcome: "succeeded" }), 1);
    assert.equal(await metricValue(metrics, names.scalingDecisionsTotal, { service: "analytics", kind: "emergency", outcome: "succeeded" }), 1);

    // Next day: a new period; the daily spend starts again (below 80%): the scheduled profile comes back.
    const tomorrow = new Date("2026-05-21T09:00:00Z");
    const recovered = await guard.check(tomorrow, { waitSeconds: 0 });
    assert.equal(recovered.result?.outcome, "succeeded");
    assert.equal(runner.ups().length, 2);
    assert.deepEqual(runner.ups()[1]!.changes, {
      "cluster.systemNodeGroup.desiredSize": 4,
      "database.minAcu": 4,
      "services.api-gateway.minReplicas": 4,
      "services.platform-services.minReplicas": 3,
      "services.user-services.minReplicas": 2,
    });
    assert.equal((await store.getState("prod")).emergencyActive, false);
    assert.equal(await metricValue(metrics, names.emergencyProfileActive), 0);
    await guard.check(new Date(tomorrow.getTime() + 60_000), { waitSeconds: 0 });
    assert.equal(runner.ups().length, 2, "recovery is applied once too");
  });

  it("two evaluations racing (e.g. queue poll and spend poll) apply the emergency once", async () => {
    const { runner, guard } = setup(new MemoryEmergencyQueue(), new StaticSpendSource({ daily: 499 }));
    await guard.pollSpend(new Date("2026-05-20T13:00:00Z"));
    await Promise.all([guard.evaluate(new Date("2026-05-20T13:00:00Z")), guard.evaluate(new Date("2026-05-20T13:00:30Z"))]);
    assert.equal(runner.ups().length, 1);
    assert.equal((await store.recentDecisions()).filter((d) => d.kind === "emergency").length, 1);
  });

  it("stays in the emergency while utilisation is between the warning and the emergency level", async () => {
    const spend = new StaticSpendSource({ daily: 490 });
    const { runner, guard } = setup(new MemoryEmergencyQueue(), spend);
    const t = new Date("2026-05-20T13:00:00Z");
    await guard.check(t);
    assert.equal(runner.ups().length, 1);
    // Still above 80% of the daily budget later that day (spend never falls within a period; a raised limit would).
    await guard.check(new Date("2026-05-20T14:00:00Z"));
    assert.equal(runner.ups().length, 1);
    assert.equal((await store.getState("prod")).emergencyActive, true);
  });

  it("enforces the weekly limit, which only this service tracks", async () => {
    // $2,900 this week (97%), while the day and the month are fine.
    const { runner, guard } = setup(new MemoryEmergencyQueue(), new StaticSpendSource({ daily: 100, weekly: 2900, monthly: 6000 }));
    const r = await guard.check(new Date("2026-05-20T13:00:00Z"));
    assert.equal(r.result?.outcome, "succeeded");
    assert.equal(r.result?.decision?.key, "emergency:prod:weekly:2026-W21:limit-3000");
    assert.equal(runner.ups().length, 1);
  });

  it("recovers when the budget owner raises the limit (utilisation below the warning level)", async () => {
    let limits = budgets;
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    // Every period known: an unknown spend never counts as below the warning level.
    const spend = new StaticSpendSource({ daily: 480, weekly: 1000, monthly: 3000 });
    const guard = new BudgetGuard({ stack: "prod", store, applier, metrics, logger: silentLogger(), budgets: () => limits, spendSource: spend });
    await guard.check(new Date("2026-05-20T13:00:00Z"));
    assert.equal((await store.getState("prod")).emergencyActive, true);
    limits = { ...budgets, dailyUsd: 700 }; // 480 / 700 = 69%
    const r = await guard.check(new Date("2026-05-20T13:30:00Z"));
    assert.equal(r.result?.outcome, "succeeded");
    assert.equal((await store.getState("prod")).emergencyActive, false);
    assert.equal(runner.ups().length, 2);
  });

  it("retries an emergency whose update failed", async () => {
    const { runner, guard } = setup(new MemoryEmergencyQueue(), new StaticSpendSource({ daily: 499 }));
    runner.next = "failed";
    assert.equal((await guard.check(new Date("2026-05-20T13:00:00Z"))).result?.outcome, "failed");
    assert.equal((await store.getState("prod")).emergencyActive, false);
    runner.next = "succeeded";
    assert.equal((await guard.check(new Date("2026-05-20T13:05:00Z"))).result?.outcome, "succeeded");
    assert.equal((await store.getState("prod")).emergencyActive, true);
    assert.equal(runner.ups().length, 2);
  });

  it("leaves a message it cannot understand in the queue (for the dead-letter queue)", async () => {
    const { guard, queue } = setup();
    queue.send("not a budget message");
    await guard.pollQueue(new Date(), { waitSeconds: 0 });
    assert.equal(queue.messages.length, 1);
    assert.equal(queue.deleted.length, 0);
  });

  it("does not recover a manually applied emergency", async () => {
    const { runner, guard } = setup(new MemoryEmergencyQueue(), new StaticSpendSource({ daily: 10 }));
    await store.saveState({ ...(await store.getState("prod")), emergencyActive: true, emergencyReason: { manual: true } });
    assert.equal((await guard.check(new Date("2026-05-20T13:00:00Z"))).result, undefined);
    assert.equal(runner.ups().length, 0);
  });
});
