import assert from "node:assert/strict";
import { silentLogger } from "../../automation/logger";
import { localDate, Scheduler } from "../../automation/scheduler";
import type { Store } from "../../automation/store";
import { makeApplier, RecordingRunner, sharedPgliteStore, testConfig, truncateAll } from "./support/harness";

// 2026-12-25 (Friday) and 2026-12-26 (Saturday) are holidays in Pulumi.prod.yaml.
const config = testConfig("prod");

function setup(store: Store, cfg = config) {
  const runner = new RecordingRunner();
  const { applier, metrics } = makeApplier(cfg, store, runner);
  const scheduler = new Scheduler({ config: cfg, store, applier, logger: silentLogger() });
  return { runner, applier, metrics, scheduler };
}

describe("scheduler: which profile is due", () => {
  const { scheduler } = { scheduler: new Scheduler({ config, store: undefined as never, applier: undefined as never, logger: silentLogger() }) };
  const due = (iso: string) => {
    const r = scheduler.currentRun(new Date(iso));
    return r && `${r.profile.name}@${r.at.toISOString()}`;
  };

  it("follows business hours, evenings and weekends (UTC)", () => {
    assert.equal(due("2026-05-20T10:00:00Z"), "business-hours@2026-05-20T08:00:00.000Z"); // Wednesday
    assert.equal(due("2026-05-20T08:00:00Z"), "business-hours@2026-05-20T08:00:00.000Z"); // exactly at the start
    assert.equal(due("2026-05-20T07:59:59Z"), "evening@2026-05-19T18:00:00.000Z");
    assert.equal(due("2026-05-20T19:30:00Z"), "evening@2026-05-20T18:00:00.000Z");
    assert.equal(due("2026-05-23T12:00:00Z"), "weekend@2026-05-23T00:00:00.000Z"); // Saturday
    assert.equal(due("2026-05-25T07:00:00Z"), "weekend@2026-05-23T00:00:00.000Z"); // Monday before 08:00
    assert.equal(due("2026-05-25T08:30:00Z"), "business-hours@2026-05-25T08:00:00.000Z");
  });

  it("applies the holiday profile on the stack's holiday dates and skips business hours there", () => {
    assert.equal(due("2026-12-25T10:00:00Z"), "holiday@2026-12-25T00:00:00.000Z"); // Friday, holiday
    assert.equal(due("2026-12-25T19:00:00Z"), "holiday@2026-12-25T00:00:00.000Z"); // no evening on a holiday
    assert.equal(due("2026-12-26T10:00:00Z"), "holiday@2026-12-26T00:00:00.000Z"); // Saturday and holiday: holiday wins
    assert.equal(due("2026-12-28T09:00:00Z"), "business-hours@2026-12-28T08:00:00.000Z");
    assert.equal(due("2027-01-01T09:00:00Z"), "holiday@2027-01-01T00:00:00.000Z");
    assert.equal(localDate(new Date("2026-12-24T23:30:00Z"), "Europe/Berlin"), "2026-12-25");
  });

  it("lists the next runs honouring holidays", () => {
    const next = Object.fromEntries(scheduler.nextRuns(new Date("2026-12-24T20:00:00Z")).map((n) => [n.profile, n.next?.toISOString()]));
    assert.equal(next["business-hours"], "2026-12-28T08:00:00.000Z");
    assert.equal(next.holiday, "2026-12-25T00:00:00.000Z");
    assert.equal(next.weekend, "2027-01-02T00:00:00.000Z", "Saturday 26th is a holiday: the weekend profile skips it");
  });
});

describe("scheduler: catch-up and application", function () {
  this.timeout(60_000);
  let store: Store;
  before(async () => {
    store = await sharedPgliteStore();
  });
  beforeEach(async () => truncateAll(store.db));

  it("applies a run missed during downtime once, and never replays older missed runs", async () => {
    const { runner, scheduler } = setup(store);
    // Last handled: Friday evening. Down over the weekend; back Monday 09:30.
    await store.recordScheduledRun("prod", "evening", new Date("2026-05-22T18:00:00Z"), null);
    const now = new Date("2026-05-25T09:30:00Z");
    const r = await scheduler.catchUp(now);
    assert.equal(r?.outcome, "succeeded");
    assert.equal(runner.ups().length, 1, "one application: the current profile");
    assert.equal(runner.ups()[0]!.changes["services.api-gateway.minReplicas"], 4, "business hours");
    assert.equal((await store.lastScheduledRun("prod", "business-hours"))!.toISOString(), "2026-05-25T08:00:00.000Z");
    // The superseded weekend run is recorded as skipped, not applied.
    const weekend = await store.decisionByKey(Scheduler.decisionKey("prod", "weekend", new Date("2026-05-23T00:00:00Z")));
    assert.equal(weekend?.status, "skipped");
    // Restarting again (or the reconcile tick) applies nothing more.
    assert.equal(await scheduler.catchUp(now), undefined);
    assert.equal(await scheduler.catchUp(new Date("2026-05-25T17:59:00Z")), undefined);
    assert.equal(runner.ups().length, 1);
    // The next scheduled time is applied by the job (same key as a catch-up would use).
    const evening = config.profiles.find((p) => p.name === "evening")!;
    assert.equal((await scheduler.runScheduled(evening, new Date("2026-05-25T18:00:00Z")))?.outcome, "succeeded");
    assert.equal((await scheduler.catchUp(new Date("2026-05-25T18:00:30Z"))), undefined);
    assert.equal(runner.ups().length, 2);
    assert.equal((await store.getState("prod")).scheduledProfile, "evening");
  });

  it("on a first start applies only the profile due now", async () => {
    const { runner, scheduler } = setup(store);
    await scheduler.catchUp(new Date("2026-05-23T12:00:00Z"));
    assert.equal(runner.ups().length, 1);
    assert.equal((await store.getState("prod")).scheduledProfile, "weekend");
    const decisions = await store.recentDecisions();
    assert.deepEqual(decisions.filter((d) => d.status !== "skipped").map((d) => d.profile), ["weekend"]);
  });

  it("retries a failed run on the next reconcile, then stops once it applied", async () => {
    const { runner, scheduler } = setup(store);
    runner.next = "failed";
    const now = new Date("2026-05-20T10:00:00Z");
    assert.equal((await scheduler.catchUp(now))?.outcome, "failed");
    assert.equal(await store.lastScheduledRun("prod", "business-hours"), undefined, "a failed run is not handled");
    runner.next = "succeeded";
    assert.equal((await scheduler.catchUp(new Date("2026-05-20T10:15:00Z")))?.outcome, "succeeded");
    assert.equal(await scheduler.catchUp(new Date("2026-05-20T10:30:00Z")), undefined);
    assert.equal(runner.ups().length, 2);
    const d = await store.decisionByKey(Scheduler.decisionKey("prod", "business-hours", new Date("2026-05-20T08:00:00Z")));
    assert.equal(d?.status, "succeeded");
    assert.equal(d?.attempts, 2);
  });

  it("a run left half-applied by a process that died is taken over once stale, not marked handled before", async () => {
    const { runner, scheduler } = setup(store);
    const at = new Date("2026-05-20T08:00:00Z");
    const key = Scheduler.decisionKey("prod", "business-hours", at);
    const dead = await store.claimDecision({ key, stack: "prod", kind: "scheduled", trigger: "scheduled", profile: "business-hours", scheduledFor: at, overrides: {} }, "crashed-pod:1");
    assert.equal((await scheduler.catchUp(new Date("2026-05-20T10:00:00Z")))?.outcome, "duplicate");
    assert.equal(await store.lastScheduledRun("prod", "business-hours"), undefined);
    assert.equal(runner.ups().length, 0);
    await store.db.query("UPDATE decisions SET updated_at = now() - interval '2 hours' WHERE id = $1", [dead.decision.id]);
    assert.equal((await scheduler.catchUp(new Date("2026-05-20T10:15:00Z")))?.outcome, "succeeded");
    assert.equal(runner.ups().length, 1);
    assert.equal((await store.lastScheduledRun("prod", "business-hours"))!.toISOString(), at.toISOString());
  });

  it("a refused run is final: not retried", async () => {
    const { runner, scheduler } = setup(store);
    runner.next = "refused";
    assert.equal((await scheduler.catchUp(new Date("2026-05-20T10:00:00Z")))?.outcome, "refused");
    assert.equal(await scheduler.catchUp(new Date("2026-05-20T10:15:00Z")), undefined);
    assert.equal(runner.ups().length, 1);
  });

  it("does not run a profile on a date its holiday rule excludes", async () => {
    const { runner, scheduler } = setup(store);
    const bh = config.profiles.find((p) => p.name === "business-hours")!;
    assert.equal(await scheduler.runScheduled(bh, new Date("2026-12-25T08:00:00Z")), undefined);
    assert.equal(runner.calls.length, 0);
  });

  it("croner jobs fire in the configured time zone and apply through the same path", async function () {
    this.timeout(20_000);
    // A profile every second (6-field croner syntax) to see the real timer fire.
    const fast = testConfig("prod", (d) => {
      d.profiles = { tick: { schedule: "* * * * * *", holidays: "ignore", overrides: { "services.api-gateway.minReplicas": 3 } }, emergency: d.profiles.emergency };
    });
    const { runner, scheduler } = setup(store, fast);
    const errors: unknown[] = [];
    scheduler.start((e) => errors.push(e));
    try {
      const deadline = Date.now() + 5000;
      while (runner.ups().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      scheduler.stop();
    }
    assert.deepEqual(errors, []);
    assert.ok(runner.ups().length >= 2, `the job fired ${runner.ups().length} times`);
    const keys = (await store.recentDecisions()).map((d) => d.key);
    assert.equal(new Set(keys).size, keys.length, "one decision per scheduled second");
    assert.ok(keys.every((k) => /^scheduled:prod:tick:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(k)));
  });
});
