/**
 * The fault suite (issue 10): the service against the faults production brings, each scenario
 * bounded in time. Real PostgreSQL (initdb/pg_ctl, restarted mid-update), the fake Pulumi CLI with
 * hang / ignore-SIGINT / grandchild / abrupt-exit / stack-lock modes, the real service process
 * (SIGTERM and SIGKILL), a Prometheus that answers garbage. Every scenario asserts what an operator
 * would check: no decision left in flight, no two updates overlapping, no floor from stale data,
 * the right readiness, honest unknowns.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { stringify as toYaml, parse as parseYaml } from "yaml";
import { Client } from "pg";
import { silentLogger } from "../../automation/logger";
import { PulumiStackRunner } from "../../automation/runner";
import { processAlive } from "../../automation/pulumiProcess";
import { AutomationService, runOneShot, exitSpendUnknown } from "../../automation/service";
import { PostgresDatabase, PgliteDatabase, Store, type Database } from "../../automation/store";
import { Predictor } from "../../automation/predict";
import { AutomationMetrics } from "../../automation/metrics";
import { SeasonalNaiveForecaster } from "../../automation/predict";
import { catalogSeries } from "../../lib/monitoring/signals";
import { parseAutomationConfig, AutomationConfigError, type AutomationConfig } from "../../automation/config";
import { ChainedEnsembleForecaster } from "../../automation/forecastAdapter";
import * as live from "../../automation/forecast/live";
import { forecastOptionsFor, liveSettingsFor } from "../../automation/predictiveSettings";
import { mulberry32 } from "../../automation/backtest/synthetic";
import { FakePulumi } from "./support/fakePulumi";
import { TestPostgres, requireTool } from "./support/postgres";
import { RecordingRunner, makeApplier, repoRoot, sleep, testConfig, until } from "./support/harness";
import { testEvaluationDate } from "../support/clock";


/** The dev configuration with fault-suite timings (seconds). */
function faultConfigDoc(runner: Record<string, number> = {}): Record<string, any> {
  const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "automation", "config", "dev.yaml"), "utf8")) as Record<string, any>;
  doc.projectDir = repoRoot;
  doc.runner = { ...(doc.runner ?? {}), timeoutSeconds: 60, killGraceSeconds: 1, fenceCheckSeconds: 1, shutdownSeconds: 8, maxAttempts: 2, baseDelayMs: 200, ...runner };
  doc.collector = { ...(doc.collector ?? {}), enabled: false };
  doc.predictive = { ...(doc.predictive ?? {}), enabled: false };
  doc.budget = { ...(doc.budget ?? {}), enabled: false };
  return doc;
}

function faultConfig(runner: Record<string, number> = {}): AutomationConfig {
  return parseAutomationConfig(faultConfigDoc(runner), path.join(repoRoot, "automation", "config", "dev.yaml"));
}

function makeRunner(fake: FakePulumi, command: Awaited<ReturnType<FakePulumi["command"]>>, backend: string, o: { timeoutMs?: number; killGraceMs?: number } = {}): PulumiStackRunner {
  return new PulumiStackRunner({ stack: "dev", projectDir: repoRoot, pulumiCommand: command, backendUrl: backend, timeoutMs: o.timeoutMs ?? 60_000, killGraceMs: o.killGraceMs ?? 1000, retry: { maxAttempts: 2, baseDelayMs: 200 } });
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe("fault suite: Pulumi CLI faults (fake CLI)", function () {
  this.timeout(30_000);
  let fake: FakePulumi;
  let backend: string;

  beforeEach(() => {
    fake = FakePulumi.create();
    backend = `file://${fs.mkdtempSync(path.join(os.tmpdir(), "fault-backend-"))}`;
  });
  afterEach(() => {
    const g = fake.grandchildPid();
    if (g && processAlive(g)) process.kill(g, "SIGKILL");
    fake.remove();
  });

  it("a hung up that ignores SIGINT is stopped within its timeout: process group killed (grandchild too), pulumi cancel releases the stack lock, recorded as failed (timeout)", async function () {
    this.timeout(20_000);
    fake.update((s) => Object.assign(s.up, { hangMs: 600_000, onSigint: "ignore", grandchild: true, stackLock: true }));
    // The timeout bounds the whole operation (select, config, preview, up): long enough for the
    // steps before the hang on a loaded machine.
    const runner = makeRunner(fake, await fake.command(), backend, { timeoutMs: 6000, killGraceMs: 1000 });
    const started = Date.now();
    const r = await runner.up({ "services.api-gateway.minReplicas": 2 });
    const elapsed = Date.now() - started;
    assert.equal(r.outcome, "failed");
    assert.equal(r.stopped, "timeout");
    assert.match(r.error!, /timed out after 6 s/);
    // timeout + kill grace + the bounded pulumi cancel (1 s) + slack for process start-up
    assert.ok(elapsed < 6000 + 1000 + 1000 + 3000, `stopped after ${elapsed} ms (timeout 6 s, kill grace 1 s)`);
    const events = fake.upEvents();
    assert.ok(events.some((e) => e.event === "start"), "the hang was in up (not before it)");
    assert.ok(events.some((e) => e.event === "sigint"), "SIGINT first (Pulumi's graceful cancel)");
    const upPid = events.find((e) => e.event === "start")!.pid;
    assert.equal(processAlive(upPid), false, "the CLI is dead");
    const g = fake.grandchildPid();
    assert.ok(g, "the fake started a grandchild");
    await until("grandchild gone", 2000, () => !processAlive(g!));
    assert.ok(fake.calls().some((c) => c.args[0] === "cancel"), "pulumi cancel after the SIGKILL");
    assert.equal(fake.stackLocked(), false, "the stack lock is released");
    assert.equal(fake.history().at(-1)!.result, "failed");
  });

  it("a CLI that exits abruptly is a failed update with the exit code", async () => {
    fake.update((s) => Object.assign(s.up, { exitCode: 137 }));
    const r = await makeRunner(fake, await fake.command(), backend).up({ "services.api-gateway.minReplicas": 2 });
    assert.equal(r.outcome, "failed");
    assert.match(r.error!, /code 137/);
  });

  it("the stack lock (concurrent update) is retried, then reported; it never runs two updates", async () => {
    fake.update((s) => Object.assign(s.up, { hangMs: 4000, stackLock: true }));
    const cmd = await fake.command();
    const [a, b] = await Promise.all([makeRunner(fake, cmd, backend).up({ "services.api-gateway.minReplicas": 2 }), sleep(300).then(() => makeRunner(fake, cmd, backend).up({ "services.api-gateway.minReplicas": 3 }))]);
    assert.equal(a.outcome, "succeeded");
    assert.equal(b.outcome, "failed");
    assert.match(b.error!, /locked by another update after 2 attempts/);
    assert.deepEqual(fake.overlaps(), []);
  });

  it("without a Pulumi CLI: a clear error, never a raw spawn ENOENT", async () => {
    const cmd = await fake.command();
    fs.rmSync(path.join(fake.root, "bin", "pulumi"));
    const runner = makeRunner(fake, cmd, backend);
    const r = await runner.up({ "services.api-gateway.minReplicas": 2 });
    assert.equal(r.outcome, "failed");
    assert.match(r.error!, /Pulumi CLI was not found/);
    assert.match((await runner.checkCli())!, /Pulumi CLI was not found/);
  });
});

describe("fault suite: data and budget faults", function () {
  this.timeout(60_000);
  let store: Store;
  before(async () => {
    store = new Store(await PgliteDatabase.open());
    await store.init();
  });
  after(async () => store.close());

  it("stale data never yields a floor: history ending 24 hours ago falls back with stale-data", async () => {
    const config = testConfig("prod");
    const now = new Date("2026-05-20T12:00:00Z");
    const end = now.getTime() - 24 * 3600_000;
    const samples = [];
    for (const { service, signal } of catalogSeries().filter((x) => x.perReplica !== undefined)) {
      for (let t = end - 7 * 86_400_000; t <= end; t += 15 * 60_000) samples.push({ service, signal, ts: new Date(t), value: 500 + 300 * Math.sin(t / 3_600_000) });
    }
    await store.insertSamples(samples);
    const runner = new RecordingRunner();
    const { applier, metrics } = makeApplier(config, store, runner);
    const predictor = new Predictor({ config, store, applier, metrics, logger: silentLogger(), forecaster: new SeasonalNaiveForecaster() });
    const run = await predictor.run(now);
    assert.deepEqual(run.floors, {});
    assert.ok(run.services.length >= 5);
    for (const s of run.services) assert.match(s.fallback ?? "(a floor)", /^stale-data: /, s.service);
    assert.equal(runner.ups().length, 0);
  });

  it("budget-check without spend data says so and exits 3; never prints $0", async () => {
    const config = testConfig("prod");
    const lines: string[] = [];
    const code = await runOneShot({ kind: "budget-check" }, { config, store, runner: new RecordingRunner(), logger: silentLogger(), dryRun: false, out: (l) => lines.push(l), now: new Date("2026-05-20T12:00:00Z") });
    assert.equal(code, exitSpendUnknown);
    assert.equal(exitSpendUnknown, 3);
    const text = lines.join("\n");
    assert.match(text, /spend unknown/);
    assert.doesNotMatch(text, /\$0\.00 of/);
    assert.doesNotMatch(text, /no budget action needed/);
  });

  it("an unknown top-level config key is reported together with the other problems", () => {
    const doc = faultConfigDoc({ killGraceSeconds: 0 });
    doc.surprise = 1;
    doc.predictive.confidenceThreshold = 1.5;
    assert.throws(() => parseAutomationConfig(doc, "x.yaml"), (e: unknown) => {
      assert.ok(e instanceof AutomationConfigError);
      assert.ok(e.problems.some((p) => /unknown key surprise/.test(p)), e.message);
      assert.ok(e.problems.some((p) => /predictive.confidenceThreshold = 1.5/.test(p)), e.message);
      assert.ok(e.problems.some((p) => /runner.killGraceSeconds = 0/.test(p)), e.message);
      return true;
    });
  });
});

describe("fault suite: readiness and the HTTP API", function () {
  this.timeout(60_000);
  let garbage: http.Server;
  let garbageUrl: string;
  before(async () => {
    garbage = http.createServer((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>bad gateway \u0000 garbage");
    });
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", () => r()));
    garbageUrl = `http://127.0.0.1:${(garbage.address() as { port: number }).port}`;
  });
  after(() => garbage.close());

  it("reports a missing CLI and a failing collector as not ready; rejects a bad service name; one query for the decisions list", async () => {
    const fake = FakePulumi.create();
    const cmd = await fake.command();
    fs.rmSync(path.join(fake.root, "bin", "pulumi"));
    let queries = 0;
    const db = await PgliteDatabase.open();
    const counting: Database = new Proxy(db, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === "query") return (...a: unknown[]) => ((queries++, (v as (...x: unknown[]) => unknown).apply(target, a)));
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const store = new Store(counting);
    await store.init();
    const config = faultConfig();
    const service = new AutomationService({ config, store, runner: makeRunner(fake, cmd, "file:///tmp/unused"), logger: silentLogger(), metrics: new AutomationMetrics(), port: 0, host: "127.0.0.1", startJobs: false, prometheusUrl: garbageUrl });
    try {
      await service.start();
      const base = `http://127.0.0.1:${service.port}`;
      let r = await getJson(`${base}/readyz`);
      assert.equal(r.status, 503);
      assert.ok(r.body.problems.some((p: string) => /pulumi: the Pulumi CLI was not found/.test(p)), JSON.stringify(r.body));
      await service.collect();
      await service.collect();
      r = await getJson(`${base}/readyz`);
      assert.ok(r.body.degraded.some((p: string) => /collector: 2 collections failed/.test(p)), JSON.stringify(r.body));
      // A failing collector alone keeps the replica in the Service (the API must stay reachable).
      fs.writeFileSync(path.join(fake.root, "bin", "pulumi"), "#!/bin/sh\necho v3.276.0\n", { mode: 0o755 });
      (service as unknown as { cliCheckedAt: number }).cliCheckedAt = 0;
      r = await getJson(`${base}/readyz`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.degraded.some((p: string) => /collector: 2 collections failed/.test(p)), JSON.stringify(r.body));
      r = await getJson(`${base}/api/forecasts?service=%00`);
      assert.equal(r.status, 400);
      assert.match(r.body.error, /service = "\\u0000"/);
      for (let i = 0; i < 20; i++) {
        const { decision } = await store.claimDecision({ key: `k${i}`, stack: "dev", kind: "scheduled", trigger: "scheduled", overrides: {} }, "h");
        await store.startAttempt({ decisionId: decision.id, stack: "dev", trigger: "scheduled", dryRun: false, changes: {}, holder: "h" });
      }
      await service.catchingUp;
      queries = 0;
      r = await getJson(`${base}/api/decisions?limit=20`);
      assert.equal(r.body.decisions.length, 20);
      assert.equal(r.body.decisions[0].attempts.length, 1);
      assert.equal(queries, 2, "decisions and their attempts: two queries, not one per decision");
    } finally {
      await service.stop(5000);
      fake.remove();
    }
  });
});

describe("fault suite: PostgreSQL, fencing, shutdown and recovery (real PostgreSQL, fake CLI)", function () {
  this.timeout(90_000);
  let pg: TestPostgres;
  let fake: FakePulumi;
  let backend: string;
  const services: AutomationService[] = [];
  const children: ChildProcess[] = [];

  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL server binaries", "apt-get install postgresql");
    pg = await TestPostgres.start();
  });
  after(async () => {
    await pg?.stop();
  });
  beforeEach(async () => {
    await pg.resetSchema();
    fake = FakePulumi.create();
    backend = `file://${fs.mkdtempSync(path.join(os.tmpdir(), "fault-backend-"))}`;
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const s of services.splice(0)) await s.stop(3000).catch(() => undefined);
    for (const e of fake.upEvents()) if (processAlive(e.pid)) process.kill(e.pid, "SIGKILL");
    fake.remove();
  });

  async function openStore(): Promise<Store> {
    const store = new Store(new PostgresDatabase({ connectionString: pg.url, retry: { retryForMs: 30_000 } }));
    await store.init();
    return store;
  }

  async function inProcessService(config: AutomationConfig): Promise<AutomationService> {
    const store = await openStore();
    const s = new AutomationService({ config, store, runner: makeRunner(fake, await fake.command(), backend, { timeoutMs: 60_000, killGraceMs: config.runner.killGraceSeconds * 1000 }), logger: silentLogger(), metrics: new AutomationMetrics(), port: 0, host: "127.0.0.1", startJobs: false, fenceCheckMs: 300 });
    services.push(s);
    return s;
  }

  async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** The real service process (node directly, as in the container). */
  function serviceProcess(config: Record<string, unknown>): { child: ChildProcess; log: () => string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fault-service-"));
    const file = path.join(dir, "dev.yaml");
    fs.writeFileSync(file, toYaml(config));
    const logFile = path.join(dir, "service.log");
    const out = fs.openSync(logFile, "a");
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts", "automation.ts"), "--stack", "dev", "--config", file], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: pg.url, PORT: "0", PATH: `${path.join(fake.root, "bin")}:${process.env.PATH}`, PULUMI_BACKEND_URL: backend, AUTOMATION_SPEND_SOURCE: "none", LOG_LEVEL: "info", PYAIRTABLE_EVALUATION_DATE: testEvaluationDate },
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    children.push(child);
    return { child, log: () => fs.readFileSync(logFile, "utf8") };
  }

  const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once("exit", (code) => r(code))));

  it("no two updates overlap under a PostgreSQL restart: the fenced leader's update is killed before the new leader's starts; nothing stays in flight", async function () {
    fake.update((s) => Object.assign(s.up, { hangMs: 600_000, onSigint: "ignore" }));
    const config = faultConfig();
    const a = await inProcessService(config);
    const b = await inProcessService(config);
    await a.start();
    await b.start();
    assert.equal(a.elector.leader, true);
    assert.equal(b.elector.leader, false);
    const first = await until("A's up started", 20_000, () => fake.upEvents().find((e) => e.event === "start"));
    // From now on an update finishes quickly (the new leader's).
    fake.update((s) => Object.assign(s.up, { hangMs: 300, onSigint: "exit" }));
    await pg.restart(3000);
    await until("A's CLI killed (fenced)", 10_000, () => !processAlive(first.pid));
    await until("B became leader", 20_000, async () => {
      await b.leaderTick();
      return b.elector.leader;
    });
    await b.catchingUp;
    await a.catchingUp;
    assert.deepEqual(fake.overlaps(), [], "no update started while another was alive");
    const rows = await sql<{ status: string; lock_epoch: string; idempotency_key: string; detail: any }>("SELECT status, lock_epoch, idempotency_key, detail FROM decisions WHERE status <> 'skipped' ORDER BY id");
    assert.ok(rows.length >= 1);
    assert.deepEqual(rows.filter((r) => r.status === "applying"), [], "nothing in flight");
    const attempts = await sql<{ outcome: string; lock_epoch: string; error: string | null }>("SELECT outcome, lock_epoch, error FROM update_attempts ORDER BY id");
    assert.deepEqual(attempts.filter((x) => x.outcome === "running"), []);
    assert.ok(attempts.some((x) => Number(x.lock_epoch) === 1 && x.outcome === "failed"), JSON.stringify(attempts));
    const last = rows.at(-1)!;
    assert.equal(last.status, "succeeded", JSON.stringify(rows));
    assert.equal(Number(last.lock_epoch), 2, "applied under the new leader's epoch");
    const ups = fake.upEvents().filter((e) => e.event === "start");
    assert.equal(ups.length, 2);
  });

  it("SIGTERM during an update: the service exits within its shutdown bound with the decision recorded and the lock released", async function () {
    fake.update((s) => Object.assign(s.up, { hangMs: 600_000, onSigint: "ignore", grandchild: true }));
    const doc = faultConfigDoc({ shutdownSeconds: 8, killGraceSeconds: 2 });
    const svc = serviceProcess(doc);
    const started = await until("the service's up started", 60_000, () => fake.upEvents().find((e) => e.event === "start"));
    const t0 = Date.now();
    svc.child.kill("SIGTERM");
    const code = await Promise.race([exited(svc.child), sleep(20_000).then(() => "timeout" as const)]);
    const took = Date.now() - t0;
    assert.notEqual(code, "timeout", svc.log().slice(-3000));
    // The service's own bound is 8 s (its last-resort exit timer 9 s); slack for a loaded machine,
    // far below the pod's 60 s grace period.
    assert.ok(took < 8000 + 4000, `exited after ${took} ms (bound 8 s; the pod's grace period is 60 s)`);
    assert.equal(processAlive(started.pid), false, "the CLI is gone");
    await until("grandchild gone", 3000, () => !processAlive(fake.grandchildPid()!));
    // (superseded runs of other profiles are recorded as skipped decisions: not updates)
    const rows = await sql<{ status: string; detail: any }>("SELECT status, detail FROM decisions WHERE status <> 'skipped'");
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, "failed", svc.log().slice(-3000));
    assert.match(rows[0]!.detail.stopped, /shutting down/);
    assert.deepEqual(await sql("SELECT outcome FROM update_attempts WHERE outcome = 'running'"), []);
    assert.deepEqual(await sql("SELECT * FROM pg_locks WHERE locktype = 'advisory'"), [], "no advisory lock left");
    assert.match(svc.log(), /"clean":true/, "the bounded stop finished (update cancelled and recorded, lock released)");
  });

  it("a killed leader's decision is resolved by the next leader from the stack history", async function () {
    // The update outlives its leader (SIGKILL; the CLI's own process group carries on) and succeeds.
    fake.update((s) => Object.assign(s.up, { hangMs: 3000 }));
    const svc = serviceProcess(faultConfigDoc());
    const started = await until("the service's up started", 60_000, () => fake.upEvents().find((e) => e.event === "start"));
    svc.child.kill("SIGKILL");
    await exited(svc.child);
    const inFlight = await sql<{ id: number; idempotency_key: string; status: string }>("SELECT id, idempotency_key, status FROM decisions WHERE status <> 'skipped'");
    assert.equal(inFlight[0]!.status, "applying", "the killed leader left it in flight");
    await until("the orphaned update finished", 10_000, () => fake.upEvents().some((e) => e.event === "end" && e.pid === started.pid));
    fake.update((s) => Object.assign(s.up, { hangMs: 0 }));
    const next = await inProcessService(faultConfig());
    await next.start();
    assert.equal(next.elector.leader, true);
    await next.catchingUp;
    const rows = await sql<{ status: string; detail: any }>("SELECT status, detail FROM decisions WHERE id = $1", [inFlight[0]!.id]);
    assert.equal(rows[0]!.status, "succeeded");
    assert.equal(rows[0]!.detail.recovered, true);
    assert.match(rows[0]!.detail.why, /history shows the update succeeded/);
    assert.deepEqual(await sql("SELECT id FROM decisions WHERE status = 'applying'"), []);
    const state = await next.store.getState("dev");
    assert.ok(state.scheduledProfile, "the recovered decision's state was saved");
    assert.equal(fake.upEvents().filter((e) => e.event === "start").length, 1, "not applied a second time");
  });

  it("a killed leader whose update never finished: recorded failed by the next leader and applied again", async function () {
    fake.update((s) => Object.assign(s.up, { exitCode: 137, hangMs: 1500 }));
    const svc = serviceProcess(faultConfigDoc());
    await until("the service's up started", 60_000, () => fake.upEvents().find((e) => e.event === "start"));
    svc.child.kill("SIGKILL");
    await exited(svc.child);
    await sleep(2000); // the orphaned CLI dies without a result: its history entry stays in progress
    fake.update((s) => Object.assign(s.up, { exitCode: undefined, hangMs: 0 }));
    const next = await inProcessService(faultConfig());
    await next.start();
    await next.catchingUp;
    const rows = await sql<{ status: string; detail: any; attempts: number }>("SELECT status, detail, attempts FROM decisions WHERE status <> 'skipped' ORDER BY id");
    assert.deepEqual(rows.filter((r) => r.status === "applying"), []);
    assert.equal(rows[0]!.status, "succeeded", "claimed again and applied by the new leader");
    assert.equal(rows[0]!.attempts, 2);
    const att = await sql<{ outcome: string; error: string | null }>("SELECT outcome, error FROM update_attempts ORDER BY id");
    assert.equal(att[0]!.outcome, "failed");
    assert.match(att[0]!.error!, /recovered: the stack's history shows the update still in progress/);
  });
});

describe("fault suite: the predictive engine's state across a restart and a failover mid-day (real PostgreSQL)", function () {
  this.timeout(600_000);
  let pg: TestPostgres;

  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL server binaries", "apt-get install postgresql");
    pg = await TestPostgres.start();
  });
  after(async () => {
    await pg?.stop();
  });

  it("a restarted process and the standby that takes over resume the chained fit from the store: the same forecasts as a process that never stopped, no cold fit", async () => {
    const store = new Store(new PostgresDatabase({ connectionString: pg.url, retry: { retryForMs: 30_000 } }));
    await store.init();
    const config = testConfig("prod");
    const DAY = 86_400_000;
    const STEP = 15 * 60_000;
    const t0 = Date.UTC(2026, 4, 4);
    const engine = () => new ChainedEnsembleForecaster(live, { store, options: forecastOptionsFor(config), live: liveSettingsFor(config), historyDays: 30 });
    // Two series with the same samples: "restarted" is served by the processes that stop and take
    // over; "reference" by one process that never stops.
    const rnd = mulberry32(5);
    const rows: { t: number; v: number }[] = [];
    for (let t = t0; t <= t0 + 5 * DAY; t += 60_000) {
      const h = ((t % DAY) / DAY) * 2 * Math.PI;
      const v = (800 - 600 * Math.cos(h - Math.PI / 6)) * (1 + 0.1 * (rnd() - 0.5));
      rows.push({ t, v });
    }
    const insertUntil = async (from: number, to: number) => {
      const batch = rows.filter((r) => r.t > from && r.t <= to);
      for (const signal of ["restarted", "reference"]) await store.insertSamples(batch.map((r) => ({ service: "api-gateway", signal, ts: new Date(r.t), value: r.v })));
    };
    const calendar = { timezone: "UTC", businessHours: { start: "08:00", end: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] }, holidays: [] };
    const forecastWith = async (f: ChainedEnsembleForecaster, signal: string, t: number) => {
      const now = new Date(t + 20_000);
      const from = await f.historyFrom("api-gateway", signal, now);
      const history = (await store.samples("api-gateway", signal, from, now)).map((h) => ({ t: h.ts.getTime(), v: h.value }));
      return f.forecast({ service: "api-gateway", signal, history, horizonSteps: 4, stepMinutes: 15, now, calendar });
    };
    const reference = engine();
    const first = engine();
    const standby = engine();
    const start = t0 + 3 * DAY;
    await insertUntil(-Infinity, start);
    let t = start;
    const step = async (who: ChainedEnsembleForecaster) => {
      if (t > start) await insertUntil(t - STEP, t);
      const [a, b] = [await forecastWith(who, "restarted", t), await forecastWith(reference, "reference", t)];
      assert.deepEqual(a.peak, b.peak, `peak forecast at ${new Date(t).toISOString()}`);
      assert.equal(a.confidence, b.confidence);
      assert.deepEqual(a.fallback, b.fallback);
      t += STEP;
    };
    // The standby led once, on day 3 morning (its in-memory engine stops there).
    for (let i = 0; i < 4; i++) await step(standby);
    // The leader runs through day 4 (the chained fit at midnight) until 13:00.
    while (t < t0 + 4 * DAY + 13 * 3_600_000) await step(first);
    const fitted = (await store.forecastState("api-gateway", "restarted"))!;
    assert.ok(fitted.fittedAt!.getTime() >= t0 + 4 * DAY, "today's chained fit is stored");
    // Restart mid-day: a new process (nothing in memory) resumes from the store, without a cold fit.
    first.dispose();
    const restarted = engine();
    for (let i = 0; i < 8; i++) await step(restarted);
    const after = (await store.forecastState("api-gateway", "restarted"))!;
    assert.equal(after.fittedAt!.getTime(), fitted.fittedAt!.getTime(), "no fit on restart: the stored fit was resumed");
    assert.equal(restarted.lastCpuMs.get("api-gateway\u0000restarted")!.fit, 0);
    // Failover: the standby (its memory a day and a half behind the store) takes over and runs
    // through the next midnight's chained fit.
    restarted.dispose();
    while (t <= t0 + 5 * DAY + 2 * 3_600_000 && t <= t0 + 5 * DAY) await step(standby);
    const final = (await store.forecastState("api-gateway", "restarted"))!;
    assert.ok(final.fittedAt!.getTime() >= t0 + 5 * DAY, "the standby ran the next daily fit, chained");
    assert.ok(final.scored >= 90, `realised accuracy over the window (${final.scored} scored)`);
    assert.ok(final.mape !== null && final.mape < 0.2 && final.coverage80 !== null, `realised MAPE ${final.mape}, coverage ${final.coverage80}`);
    standby.dispose();
    reference.dispose();
    await store.close();
  });
});

describe("fault suite: HTTP robustness (raw requests against the running service process)", function () {
  this.timeout(120_000);
  let fake: FakePulumi;
  let child: ChildProcess;
  let port: number;
  let logFile: string;

  before(async () => {
    fake = FakePulumi.create();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fault-http-"));
    const file = path.join(dir, "dev.yaml");
    fs.writeFileSync(file, toYaml(faultConfigDoc()));
    logFile = path.join(dir, "service.log");
    const out = fs.openSync(logFile, "a");
    // The embedded store (no DATABASE_URL) is enough here: the HTTP layer is under test.
    child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts", "automation.ts"), "--stack", "dev", "--config", file], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: "", PORT: "0", PATH: `${path.join(fake.root, "bin")}:${process.env.PATH}`, PULUMI_BACKEND_URL: `file://${dir}/state`, AUTOMATION_SPEND_SOURCE: "none", LOG_LEVEL: "info", PYAIRTABLE_EVALUATION_DATE: testEvaluationDate },
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    port = await until("the service listens", 90_000, () => {
      if (child.exitCode !== null) throw new Error(`service exited: ${fs.readFileSync(logFile, "utf8")}`);
      const m = /"port":(\d+)[^\n]*http listening/.exec(fs.readFileSync(logFile, "utf8"));
      return m ? Number(m[1]) : undefined;
    });
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    fake?.remove();
  });

  /** One raw request on its own connection; resolves with what the server sent before closing (bounded). */
  function raw(bytes: string | Buffer): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      let got = "";
      const done = () => {
        socket.destroy();
        resolve(got);
      };
      socket.setTimeout(10_000, done);
      socket.on("data", (d) => {
        got += d.toString("latin1");
        // One answer is all we need (keep-alive connections are not waited for).
        if (/^HTTP\/1\.[01] \d{3}/.test(got) && got.includes("\r\n\r\n")) setTimeout(done, 50);
      });
      socket.on("error", done);
      socket.on("end", done);
      socket.write(bytes);
    });
  }

  it("the reported crashes: `//` and `http://[bad` are 400, and the service keeps serving", async () => {
    for (const target of ["//", "http://[bad", "//api/state", "*"]) {
      const answer = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, `${target}: ${answer}`);
    }
    assert.equal(child.exitCode, null, fs.readFileSync(logFile, "utf8"));
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  });

  it("fuzz: 400 seeded combinations of request target, method and headers each get a status line; never a crash, never a 5xx other than 503", async () => {
    const rand = mulberry32(0x5eed18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "G\tET", ""];
    const targets = ["/", "//", "///", "http://[bad", "http://localhost/healthz", "*", "/healthz", "/readyz", "/metrics", "/api/state", "/api/decisions?limit=-1",
      "/api/decisions?limit=1e309", "/api/forecasts?service=%00", "/api/forecasts?service=%zz", "/api/runs", "/api/runs/", "/api/runs/%ff%fe", "/api/runs/1",
      "/api/runs/99999999999999999999", "/api/runs/../../etc/passwd", "/%", "/%%%", "/\u00ff", "/a".repeat(3000), "/?" + "x=1&".repeat(500), "/healthz#frag", "/ readyz", ""];
    const headerSets: string[][] = [
      [],
      ["Content-Type: application/json", "Content-Length: 2", "", "{}"],
      ["Content-Type: application/json", "Content-Length: 9", "", "{not json"],
      ["Content-Type: application/json", "Authorization: Bearer garbage", "Idempotency-Key: k1", "Content-Length: 23", "", '{"command":"emergency"}'],
      ["Content-Type: text/plain", "Content-Length: 1", "", "x"],
      ["Content-Length: -1"],
      ["Content-Length: abc"],
      ["Content-Length: 5", "Content-Length: 6"],
      ["Transfer-Encoding: chunked", "Content-Type: application/json", "", "zz\r\n"],
      ["Transfer-Encoding: chunked", "Content-Length: 3", "", "abc"],
      ["Content-Type: application/json", `Content-Length: ${100 * 1024 * 1024}`],
      ["X-Big: " + "a".repeat(20_000)],
      ["Bad Header Name: 1"],
      ["Host: [bad"],
      ["Authorization: Bearer " + "t".repeat(5000), "Content-Type: application/json; charset=utf-8", "Content-Length: 4", "", "null"],
      ["\u0000: \u0000"],
    ];
    const versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "", "FTP/1.0"];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const method = pick(methods);
      const target = pick(targets);
      const version = pick(versions);
      const headers = pick(headerSets);
      const blank = headers.indexOf("");
      const head = blank >= 0 ? headers.slice(0, blank) : headers;
      const body = blank >= 0 ? headers.slice(blank + 1).join("\r\n") : "";
      const request = `${method} ${target} ${version}\r\nHost: localhost\r\nConnection: close\r\n${head.map((h) => h + "\r\n").join("")}\r\n${body}`;
      const answer = await raw(Buffer.from(request, "latin1"));
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(answer);
      assert.ok(m, `no status line for ${JSON.stringify(request.slice(0, 300))}: ${JSON.stringify(answer.slice(0, 200))}`);
      const status = Number(m![1]);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      assert.ok(status < 500 || status === 503, `${status} for ${JSON.stringify(request.slice(0, 300))}: ${answer.slice(0, 300)}`);
      assert.equal(child.exitCode, null, `the service died after ${JSON.stringify(request.slice(0, 300))}:\n${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
    }
    // The combinations reached the handlers, the parser's refusals and the method checks.
    for (const s of [200, 400, 404, 405]) assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} among ${JSON.stringify([...statuses])}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.doesNotMatch(fs.readFileSync(logFile, "utf8"), /uncaught|TypeError/i);
  });
});
