import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { appliedMigrations, isTransientDbError, migrate, openDatabase, PgliteDatabase, PostgresDatabase, redactDatabaseUrl, Store, type Database, type NewDecision } from "../../automation/store";
import { sharedPgliteStore, truncateAll } from "./support/harness";
import { TestPostgres, requireTool } from "./support/postgres";

const decision = (key: string): NewDecision => ({ key, stack: "prod", kind: "scheduled", trigger: "scheduled", profile: "business-hours", scheduledFor: new Date("2026-05-18T08:00:00Z"), overrides: { "services.api-gateway.minReplicas": 4 }, reason: "test" });

/** The behaviour both backends must share. `make` opens a second, independent store on the same database (PostgreSQL only). */
function sharedBehaviour(name: string, open: () => Promise<{ store: Store; second?: () => Promise<Store> }>) {
  describe(`store on ${name}`, function () {
    this.timeout(120_000);
    let store: Store;
    let second: (() => Promise<Store>) | undefined;

    before(async function () {
      const o = await open();
      store = o.store;
      second = o.second;
    });
    beforeEach(async () => {
      await truncateAll(store.db);
    });

    it("migrations are versioned and idempotent", async () => {
      assert.deepEqual(await migrate(store.db), [], "nothing left to apply");
      assert.deepEqual(await appliedMigrations(store.db), [1, 2, 3, 4]);
      const tables = await store.db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1");
      for (const t of ["samples", "forecasts", "decisions", "update_attempts", "budget_events", "automation_state", "schedule_runs", "leader_lock", "schema_migrations", "collection_runs"]) {
        assert.ok(tables.some((r) => r.t === t), `table ${t}`);
      }
    });

    it("applies a decision once: the idempotency key is claimed by one caller only", async () => {
      const a = await store.claimDecision(decision("k1"), "holder-a");
      const b = await store.claimDecision(decision("k1"), "holder-b");
      assert.equal(a.claimed, true);
      assert.equal(b.claimed, false);
      await store.finishDecision(a.decision.id, "succeeded", { ok: true });
      const c = await store.claimDecision(decision("k1"), "holder-c");
      assert.equal(c.claimed, false);
      assert.equal(c.decision.status, "succeeded");
      const rows = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM decisions");
      assert.equal(rows[0]!.n, 1);
      // The database itself refuses a second row with the same key.
      await assert.rejects(store.db.query("INSERT INTO decisions (idempotency_key, stack, kind, trigger, overrides, status) VALUES ('k1', 'prod', 'scheduled', 'scheduled', '{}', 'pending')"), /duplicate key|unique/i);
    });

    it("lets a failed decision be tried again, but never a refused or applied one", async () => {
      const a = await store.claimDecision(decision("k2"), "h");
      await store.finishDecision(a.decision.id, "failed", { error: "boom" });
      const again = await store.claimDecision(decision("k2"), "h2");
      assert.equal(again.claimed, true);
      assert.equal(again.decision.attempts, 2);
      await store.finishDecision(again.decision.id, "refused", {});
      assert.equal((await store.claimDecision(decision("k2"), "h3")).claimed, false);
    });

    it("reclaims a decision left applying by a holder that died", async () => {
      const a = await store.claimDecision(decision("k3"), "dead-holder");
      assert.equal((await store.claimDecision(decision("k3"), "live", 60_000)).claimed, false);
      await store.db.query("UPDATE decisions SET updated_at = now() - interval '2 hours' WHERE id = $1", [a.decision.id]);
      assert.equal((await store.claimDecision(decision("k3"), "live", 60_000)).claimed, true);
    });

    it("records update attempts idempotently by their key", async () => {
      const d = await store.claimDecision(decision("k4"), "h");
      const id1 = await store.startAttempt({ decisionId: d.decision.id, stack: "prod", trigger: "scheduled", dryRun: false, changes: { a: 1 }, holder: "h", attemptKey: "att-1" });
      const id2 = await store.startAttempt({ decisionId: d.decision.id, stack: "prod", trigger: "scheduled", dryRun: false, changes: { a: 1 }, holder: "h", attemptKey: "att-1" });
      assert.equal(id1, id2);
      await store.finishAttempt(id1, { outcome: "refused", policyViolations: [{ policy: "replica-ceilings" }], error: "refused" });
      const attempts = await store.attemptsForDecision(d.decision.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.outcome, "refused");
      assert.deepEqual(attempts[0]!.policyViolations, [{ policy: "replica-ceilings" }]);
    });

    it("upserts samples (a re-collected window never duplicates)", async () => {
      const t0 = new Date("2026-05-18T08:00:00Z");
      const rows = [0, 1, 2].map((i) => ({ service: "api-gateway", signal: "requests_per_second", ts: new Date(t0.getTime() + i * 60_000), value: 100 + i }));
      await store.insertSamples(rows);
      await store.insertSamples([{ ...rows[2]!, value: 999 }]);
      const got = await store.samples("api-gateway", "requests_per_second", t0, new Date(t0.getTime() + 3600_000));
      assert.deepEqual(got.map((g) => g.value), [100, 101, 999]);
      assert.equal(got[0]!.ts.toISOString(), t0.toISOString());
    });

    it("records a budget notification once per message id and keeps the highest spend per period", async () => {
      const e = { messageId: "sqs:1", source: "sqs", period: "daily" as const, periodKey: "2026-05-18", spendUsd: 480, limitUsd: 500, observedAt: new Date("2026-05-18T12:00:00Z") };
      assert.equal(await store.recordBudgetEvent(e), true);
      assert.equal(await store.recordBudgetEvent(e), false);
      await store.recordBudgetEvent({ ...e, messageId: "sqs:2", spendUsd: 490 });
      assert.equal((await store.periodSpend("daily", "2026-05-18"))!.spendUsd, 490);
      assert.equal(await store.budgetEventCount(), 2);
    });

    it("round-trips the applied state and the last scheduled run (never moving backwards)", async () => {
      const s0 = await store.getState("prod");
      assert.equal(s0.scheduledProfile, null);
      await store.saveState({ ...s0, scheduledProfile: "evening", emergencyActive: true, emergencySince: new Date("2026-05-18T10:00:00Z"), emergencyReason: { period: "daily" }, predictiveFloors: { "services.api-gateway.minReplicas": 5 } });
      const s1 = await store.getState("prod");
      assert.equal(s1.scheduledProfile, "evening");
      assert.equal(s1.emergencyActive, true);
      assert.deepEqual(s1.predictiveFloors, { "services.api-gateway.minReplicas": 5 });
      await store.recordScheduledRun("prod", "evening", new Date("2026-05-18T18:00:00Z"), null);
      await store.recordScheduledRun("prod", "evening", new Date("2026-05-17T18:00:00Z"), null);
      assert.equal((await store.lastScheduledRun("prod", "evening"))!.toISOString(), "2026-05-18T18:00:00.000Z");
    });

    it("takes the leader lock with pg_try_advisory_lock", async () => {
      assert.equal(await store.tryLead("prod", "me"), true);
      assert.equal(await store.stillLeading(), true);
      assert.equal((await store.leader("prod"))!.holder, "me");
      // A second owner in the same process does not get it (PGlite: one session; PostgreSQL: the lock session is held).
      if (!second) assert.equal(await store.tryLead("prod", "me-again"), false);
      await store.stepDown("prod");
      assert.equal(await store.stillLeading(), false);
    });

    if (name.startsWith("PostgreSQL")) {
      it("the advisory lock is exclusive between two connections, and passes over when released", async () => {
        const other = await second!();
        try {
          assert.equal(await store.tryLead("prod", "a"), true);
          assert.equal(await other.tryLead("prod", "b"), false);
          assert.equal(await other.tryLead("dev", "b"), true, "another stack is another lock");
          await store.stepDown("prod");
          assert.equal(await other.tryLead("prod", "b"), true);
          assert.equal(await store.tryLead("prod", "a"), false);
        } finally {
          await other.close();
        }
      });

      it("two stores racing for the same decision: exactly one claims it", async () => {
        const other = await second!();
        try {
          const results = await Promise.all([...Array(8)].map((_, i) => (i % 2 ? other : store).claimDecision(decision("race"), `h${i}`)));
          assert.equal(results.filter((r) => r.claimed).length, 1);
        } finally {
          await other.close();
        }
      });
    }
  });
}

sharedBehaviour("PGlite (embedded)", async () => ({ store: await sharedPgliteStore() }));

let pg: TestPostgres | undefined;
describe("PostgreSQL backend", function () {
  this.timeout(120_000);
  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL (initdb/pg_ctl)", "Debian: apt-get install -y postgresql, or set TEST_DATABASE_URL");
    pg = await TestPostgres.start();
  });
  after(async () => {
    await pg?.stop();
  });

  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
  });
  const openPg = async () => {
    const s = new Store(new PostgresDatabase({ connectionString: pg!.url, retry: { retryForMs: 30_000, baseDelayMs: 100, maxDelayMs: 1000 } }));
    await s.init();
    stores.push(s);
    return s;
  };
  sharedBehaviour("PostgreSQL (pg)", async () => ({ store: await openPg(), second: openPg }));

  it("migrating from two processes at once applies each migration once", async () => {
    await pg!.resetSchema();
    const dbs = [0, 1, 2].map(() => new PostgresDatabase({ connectionString: pg!.url }));
    try {
      const applied = await Promise.all(dbs.map((d) => migrate(d)));
      assert.deepEqual(applied.flat(), [1, 2, 3, 4]);
      assert.deepEqual(await appliedMigrations(dbs[0]!), [1, 2, 3, 4]);
    } finally {
      for (const d of dbs) await d.close();
    }
  });

  it("survives a server restart: queries wait and retry, the lost leader lock is noticed and retaken", async function () {
    if (!pg!.restartable) this.skip();
    await pg!.resetSchema();
    const store = await openPg();
    try {
      assert.equal(await store.tryLead("prod", "a"), true);
      await store.claimDecision(decision("before-restart"), "a");
      const restarting = pg!.restart(1500);
      // Issued while the server is down: retried until it is back.
      const during = store.recentDecisions(10);
      await restarting;
      assert.equal((await during).length, 1);
      assert.equal(await store.stillLeading(), false, "the lock's session died with the server");
      assert.equal(await store.tryLead("prod", "a"), true, "and is retaken on a new session");
      assert.equal((await store.decisionByKey("before-restart"))!.status, "applying");
    } finally {
      await store.close();
    }
  });
});

describe("store backends", () => {
  it("DATABASE_URL selects PostgreSQL; otherwise PGlite", async function () {
    this.timeout(60_000);
    const db = await openDatabase({ DATABASE_URL: "postgres://u:secret@127.0.0.1:1/db" });
    assert.equal(db.kind, "postgres");
    assert.equal(db.description, "postgres postgres://u:***@127.0.0.1:1/db");
    await db.close();
    assert.equal(redactDatabaseUrl("postgres://a:b@h/d"), "postgres://a:***@h/d");
  });

  it("classifies connection errors as transient", () => {
    assert.equal(isTransientDbError({ code: "57P01" }), true);
    assert.equal(isTransientDbError({ code: "ECONNREFUSED" }), true);
    assert.equal(isTransientDbError(new Error("Connection terminated unexpectedly")), true);
    assert.equal(isTransientDbError({ code: "23505", message: "duplicate key" }), false);
  });

  it("refuses to open an embedded data directory another process uses", async function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglite-lock-"));
    const dataDir = path.join(dir, "data");
    // A live process (this test's parent) owns the lock file.
    fs.writeFileSync(`${dataDir}.lock`, String(process.ppid));
    await assert.rejects(PgliteDatabase.open({ dataDir }), /is in use by process \d+: PGlite is single-process.*set DATABASE_URL/);
    // A stale lock (dead pid) is taken over.
    fs.writeFileSync(`${dataDir}.lock`, "999999");
    const db: Database = await PgliteDatabase.open({ dataDir });
    try {
      assert.equal(fs.readFileSync(`${dataDir}.lock`, "utf8"), String(process.pid));
      const s = new Store(db);
      await s.init();
      assert.deepEqual(await appliedMigrations(db), [1, 2, 3, 4]);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(fs.existsSync(`${dataDir}.lock`), false);
  });
});
