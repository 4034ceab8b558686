import assert from "node:assert/strict";
import { composeDesired, servicesOf, type ApplyRequest } from "../../automation/applier";
import { ceilingFor, floorFor, overridableKeys } from "../../automation/overrides";
import { PostgresDatabase, Store, type AutomationState } from "../../automation/store";
import { automationServiceMetrics as names } from "../../lib/monitoring/metricNames";
import { makeApplier, metricValue, RecordingRunner, sharedPgliteStore, testConfig, truncateAll } from "./support/harness";
import { TestPostgres, requireTool } from "./support/postgres";

const config = testConfig("prod");

function scheduled(profile: string, at: string, extra: Partial<ApplyRequest> = {}): ApplyRequest {
  return {
    kind: "scheduled",
    trigger: "scheduled",
    key: `scheduled:prod:${profile}:${at}`,
    profile,
    scheduledFor: new Date(at),
    reason: "test",
    nextState: (s: AutomationState) => ({ ...s, scheduledProfile: profile, scheduledAt: new Date(at) }),
    ...extra,
  };
}

const emptyState = (over: Partial<AutomationState> = {}): AutomationState => ({
  stack: "prod",
  scheduledProfile: null,
  scheduledAt: null,
  emergencyActive: false,
  emergencySince: null,
  emergencyReason: null,
  previousProfile: null,
  predictiveFloors: {},
  ...over,
});

describe("applier: composing the desired state", () => {
  it("layers the scheduled profile, predictive floors and the emergency profile", () => {
    const bh = composeDesired(config, config.base, emptyState({ scheduledProfile: "business-hours" }));
    assert.deepEqual(bh.overrides, {
      "cluster.systemNodeGroup.desiredSize": 4,
      "database.minAcu": 4,
      "services.api-gateway.minReplicas": 4,
      "services.platform-services.minReplicas": 3,
      "services.user-services.minReplicas": 2,
    });
    assert.deepEqual(bh.problems, []);

    // A floor raises the minimum; a floor below the profile's minimum changes nothing.
    const floors = composeDesired(config, config.base, emptyState({ scheduledProfile: "business-hours", predictiveFloors: { "services.api-gateway.minReplicas": 9, "services.platform-services.minReplicas": 1 } }));
    assert.equal(floors.overrides["services.api-gateway.minReplicas"], 9);
    assert.equal(floors.overrides["services.platform-services.minReplicas"], 3);

    // Emergency on top: non-critical pinned, floors dropped, critical keep the profile's floor.
    const em = composeDesired(config, config.base, emptyState({ scheduledProfile: "business-hours", emergencyActive: true, predictiveFloors: { "services.api-gateway.minReplicas": 9 } }));
    assert.equal(em.overrides["services.api-gateway.minReplicas"], 4);
    assert.equal(em.overrides["services.analytics.maxReplicas"], 1);
    assert.equal(em.overrides["services.file-processing.maxReplicas"], 1);
    assert.equal(em.overrides["services.file-processing.minReplicas"], 0);
    assert.equal(em.overrides["database.minAcu"], 2);
    assert.equal(em.overrides["services.webhooks.maxReplicas"], undefined, "webhooks is critical");
    assert.deepEqual(em.problems, []);
  });

  it("never exceeds a policy ceiling, whatever the floors (randomised)", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const minKeys = overridableKeys.filter((k) => /^services\..*\.minReplicas$/.test(k));
    for (let i = 0; i < 300; i++) {
      const floors: Record<string, number> = {};
      for (const k of minKeys) if (rnd() < 0.5) floors[k] = Math.floor(rnd() * 200);
      const profile = config.profiles[Math.floor(rnd() * config.profiles.length)]!.name;
      const d = composeDesired(config, config.base, emptyState({ scheduledProfile: profile, emergencyActive: rnd() < 0.2, predictiveFloors: floors }));
      for (const [k, v] of Object.entries(d.overrides)) {
        const c = ceilingFor(config.policyLimits, k);
        if (c !== undefined) assert.ok(v <= c, `${k} = ${v} above the ceiling ${c}`);
        const f = floorFor(config.policyLimits, k);
        if (f !== undefined) assert.ok(v >= f, `${k} = ${v} below the floor ${f}`);
      }
      assert.deepEqual(d.problems, [], `iteration ${i}`);
    }
  });

  it("clamps to the policy pack's ceilings even where the stack file allows more", () => {
    // The policy tightened before the stack file was changed: ceilings below the stack's maximums.
    const strict = { ...config.policyLimits, serviceCeilings: { ...config.policyLimits.serviceCeilings, "api-gateway": 10 }, maxAuroraAcu: 8 };
    const tightened = { ...config, policyLimits: strict };
    const d = composeDesired(tightened, config.base, emptyState({ scheduledProfile: "business-hours", predictiveFloors: { "services.api-gateway.minReplicas": 80 } }));
    assert.equal(d.overrides["services.api-gateway.minReplicas"], 10);
    assert.deepEqual(d.adjustments.map((a) => [a.key, a.from, a.to]), [["services.api-gateway.minReplicas", 25, 10]]);
  });

  it("counts decisions per service", () => {
    assert.deepEqual(servicesOf({ "services.b.minReplicas": 1, "services.a.maxReplicas": 2, "database.minAcu": 2 }), ["a", "b"]);
    assert.deepEqual(servicesOf({ "database.minAcu": 2 }), ["stack"]);
  });
});

describe("applier", function () {
  this.timeout(120_000); // PGlite (WASM PostgreSQL) starts in the first hook; two parallel workers share the cores
  let store: Store;
  before(async () => {
    store = await sharedPgliteStore();
  });
  beforeEach(async () => truncateAll(store.db));

  it("applies a decision, records decision, attempt and state, and exports metrics", async () => {
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    const r = await applier.apply(scheduled("business-hours", "2026-05-18T08:00:00.000Z"));
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(runner.ups().map((c) => c.changes["services.api-gateway.minReplicas"]), [4]);
    assert.equal(r.decision!.status, "succeeded");
    const attempts = await store.attemptsForDecision(r.decision!.id);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.outcome, "succeeded");
    assert.equal((await store.getState("prod")).scheduledProfile, "business-hours");
    assert.equal(await metricValue(metrics, names.updatesTotal, { trigger: "scheduled", outcome: "succeeded" }), 1);
    assert.equal(await metricValue(metrics, names.scheduledProfileAppliedTotal, { profile: "business-hours", outcome: "succeeded" }), 1);
    assert.equal(await metricValue(metrics, names.scalingDecisionsTotal, { service: "api-gateway", kind: "scheduled", outcome: "succeeded" }), 1);
    assert.equal(await metricValue(metrics, names.scheduledProfileActive, { profile: "business-hours" }), 1);
    assert.equal(await metricValue(metrics, names.scheduledProfileActive, { profile: "evening" }), 0);
  });

  it("applies the same decision only once", async () => {
    const runner = new RecordingRunner();
    const { applier } = makeApplier(config, store, runner);
    const req = scheduled("evening", "2026-05-18T18:00:00.000Z");
    const [a, b] = await Promise.all([applier.apply(req), applier.apply(req)]);
    assert.deepEqual([a.outcome, b.outcome].sort(), ["duplicate", "succeeded"]);
    assert.equal((await applier.apply(req)).outcome, "duplicate");
    assert.equal(runner.ups().length, 1);
  });

  it("records a refusal and keeps the previous state", async () => {
    const runner = new RecordingRunner();
    runner.next = "refused";
    const { applier, metrics } = makeApplier(config, store, runner);
    const r = await applier.apply(scheduled("weekend", "2026-05-16T00:00:00.000Z"));
    assert.equal(r.outcome, "refused");
    assert.equal(r.decision!.status, "refused");
    assert.equal((await store.getState("prod")).scheduledProfile, null);
    assert.equal(await metricValue(metrics, names.updatesTotal, { trigger: "scheduled", outcome: "refused" }), 1);
    assert.equal((await store.attemptsForDecision(r.decision!.id))[0]!.error, "refused by the policy pack");
  });

  it("refuses, without calling Pulumi, a state the settings schema rejects", async () => {
    // An invalid composition (config validation would reject it; it can still arise when the stack
    // file changes under a running service): desiredSize above the node group's maxSize.
    const bad = testConfig("prod");
    (bad.profiles[0]!.overrides as Record<string, number>)["cluster.systemNodeGroup.desiredSize"] = 9;
    const runner = new RecordingRunner();
    const { applier } = makeApplier(bad, store, runner);
    const r = await applier.apply(scheduled("business-hours", "2026-05-18T08:00:00.000Z"));
    assert.equal(r.outcome, "refused");
    assert.match(r.error!, /cluster\.systemNodeGroup\.desiredSize = 9: must be between minSize \(3\) and maxSize \(4\)/);
    assert.equal(runner.calls.length, 0);
  });

  it("clamps a predictive floor to the policy ceiling before Pulumi sees it", async () => {
    const runner = new RecordingRunner();
    const { applier } = makeApplier(config, store, runner);
    await applier.apply({
      kind: "predictive",
      trigger: "predictive",
      key: "predictive:prod:test",
      reason: "test",
      nextState: (s) => ({ ...s, predictiveFloors: { "services.api-gateway.minReplicas": 80, "services.ai-llm.minReplicas": 50 } }),
    });
    const sent = runner.ups()[0]!.changes;
    assert.equal(sent["services.api-gateway.minReplicas"], 25);
    assert.equal(sent["services.ai-llm.minReplicas"], 8);
  });

  it("does not apply when this process is not the leader", async () => {
    const runner = new RecordingRunner();
    const { applier } = makeApplier(config, store, runner, { isLeader: async () => false });
    const r = await applier.apply(scheduled("evening", "2026-05-18T18:00:00.000Z"));
    assert.equal(r.outcome, "not-leader");
    assert.equal(runner.calls.length, 0);
    assert.equal(await store.decisionByKey("scheduled:prod:evening:2026-05-18T18:00:00.000Z"), undefined);
  });

  it("dry run: previews only, records an audited attempt but no decision and no state", async () => {
    const runner = new RecordingRunner();
    const { applier } = makeApplier(config, store, runner);
    const r = await applier.apply(scheduled("business-hours", "2026-05-18T08:00:00.000Z", { dryRun: true }));
    assert.equal(r.outcome, "would-change");
    assert.deepEqual(runner.calls.map((c) => c.op), ["preview"]);
    assert.equal((await store.recentDecisions()).length, 0);
    const attempts = await store.recentAttempts();
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.dryRun, true);
    assert.equal((await store.getState("prod")).scheduledProfile, null);
  });
});

describe("applier on PostgreSQL restarted mid-run", function () {
  this.timeout(120_000);
  let pg: TestPostgres | undefined;
  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL (initdb/pg_ctl)", "Debian: apt-get install -y postgresql, or set TEST_DATABASE_URL");
    pg = await TestPostgres.start();
    if (!pg.restartable) this.skip();
  });
  after(async () => pg?.stop());

  it("recovers (reconnects) without losing or duplicating the decision", async () => {
    const store = new Store(new PostgresDatabase({ connectionString: pg!.url, retry: { retryForMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000 } }));
    await store.init();
    try {
      const runner = new RecordingRunner();
      // The database goes away while `pulumi up` runs and is still down when the outcome is recorded.
      let restarted: Promise<void> | undefined;
      runner.during = async () => {
        restarted = pg!.restart(3000);
      };
      const { applier } = makeApplier(config, store, runner);
      const req = scheduled("business-hours", "2026-05-18T08:00:00.000Z");
      const started = Date.now();
      const r = await applier.apply(req);
      assert.equal(r.outcome, "succeeded");
      assert.ok(Date.now() - started >= 2500, "the outcome was recorded after the server came back");
      await restarted;
      runner.during = undefined;
      // Applying the same decision again (e.g. the next catch-up) does nothing.
      assert.equal((await applier.apply(req)).outcome, "duplicate");
      assert.equal(runner.ups().length, 1);
      const rows = await store.db.query<{ status: string }>("SELECT status FROM decisions");
      assert.deepEqual(rows.map((x) => x.status), ["succeeded"], "one decision, recorded as applied");
      const attempts = await store.attemptsForDecision(r.decision!.id);
      assert.deepEqual(attempts.map((a) => a.outcome), ["succeeded"]);
      assert.equal((await store.getState("prod")).scheduledProfile, "business-hours");
    } finally {
      await store.close();
    }
  });
});
