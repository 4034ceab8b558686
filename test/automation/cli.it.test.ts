/**
 * End to end: `scripts/automation.ts` as `npm run automation` runs it, with the fake pulumi CLI on
 * PATH (the Automation API's default `pulumi` lookup), the embedded database, and a file backend.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PostgresDatabase, Store } from "../../automation/store";
import { FakePulumi } from "./support/fakePulumi";
import { repoRoot } from "./support/harness";
import { freePort, requireTool, TestPostgres } from "./support/postgres";
import { testEvaluationDate } from "../support/clock";
import { namespaces } from "../../lib/catalog/cluster";

const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
const script = path.join(repoRoot, "scripts", "automation.ts");

function env(fake: FakePulumi, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.DATABASE_URL;
  delete e.AUTOMATION_DATA_DIR;
  delete e.AUTOMATION_STACK;
  return { ...e, PATH: `${path.join(fake.root, "bin")}:${process.env.PATH}`, PULUMI_BACKEND_URL: `file://${path.join(os.tmpdir(), "automation-cli-backend")}`, LOG_LEVEL: "warn", PYAIRTABLE_EVALUATION_DATE: testEvaluationDate, ...extra };
}

/** `run` commands without DATABASE_URL get --embedded (a throw-away database, as these tests intend); `rawRun` passes the arguments as given. */
function run(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return rawRun(args[0] === "run" && !e.DATABASE_URL && !args.includes("--dry-run") ? [...args, "--embedded"] : args, e);
}

function rawRun(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [script, ...args], { cwd: repoRoot, env: e });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run automation (scripts/automation.ts)", function () {
  this.timeout(180_000);
  let fake: FakePulumi;
  beforeEach(() => {
    fake = FakePulumi.create();
  });
  afterEach(() => fake.remove());

  it("run <profile>: applies through pulumi with the policy pack, prints what it changes, exits 0", async () => {
    const r = await run(["run", "business-hours", "--stack", "prod"], env(fake));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /stack prod: 5 override\(s\) on top of Pulumi\.prod\.yaml/);
    assert.match(r.stdout, /^ {2}services\.api-gateway\.minReplicas: 2 -> 4$/m);
    assert.match(r.stdout, /^ {2}database\.minAcu: 2 -> 4$/m);
    assert.match(r.stdout, /resources: same 120, update 2/);
    assert.match(r.stdout, /^outcome: succeeded$/m);
    const ups = fake.calls().filter((c) => c.args[0] === "up");
    assert.equal(ups.length, 1);
    assert.ok(ups[0]!.args.includes("--policy-pack") && ups[0]!.args.includes("policies/config/prod.json"));
  });

  it("exits 1 when the policy pack refuses, and runs no update", async () => {
    fake.update((s) => (s.preview.violations = [{ policyName: "replica-ceilings", enforcementLevel: "mandatory", message: "too many replicas" }]));
    const r = await run(["run", "weekend", "--stack", "prod"], env(fake));
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /policy mandatory: replica-ceilings: too many replicas/);
    assert.match(r.stdout, /^outcome: refused: refused by the policy pack: replica-ceilings: too many replicas$/m);
    assert.equal(fake.calls().filter((c) => c.args[0] === "up").length, 0);
  });

  it("exits 1 when the update fails", async () => {
    fake.update((s) => (s.up.error = "error: update failed"));
    const r = await run(["run", "evening", "--stack", "prod"], env(fake));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^outcome: failed: pulumi up for stack 'prod' failed: pulumi exited with code 255: error: update failed$/m);
  });

  it("--dry-run previews only", async () => {
    const r = await run(["run", "emergency", "--stack", "dev", "--dry-run"], env(fake));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^dry run: stack dev:/m);
    assert.match(r.stdout, /services\.analytics\.maxReplicas: 2 -> 1/);
    assert.match(r.stdout, /outcome: would change the stack \(preview only\)/);
    assert.deepEqual(fake.calls().filter((c) => ["preview", "up"].includes(c.args[0]!)).map((c) => c.args[0]), ["preview"]);
  });

  it("a one-shot run without the service's database is refused (it would bypass the service's lock and history), unless --embedded", async () => {
    const r = await rawRun(["run", "emergency", "--stack", "prod"], env(fake));
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, /run emergency changes the stack: it must use the service's database \(DATABASE_URL\)/);
    // The hint names the namespace the stack really creates.
    assert.ok(r.stderr.includes(`kubectl -n ${namespaces.automation} exec deploy/pyairtable-automation`), r.stderr);
    assert.equal(fake.calls().filter((c) => c.args[0] === "up" || c.args[0] === "preview").length, 0);
  });

  it("exits 2 for an unknown profile, a missing stack or a bad configuration", async () => {
    const unknown = await run(["run", "lunch", "--stack", "prod"], env(fake));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stdout, /unknown profile 'lunch' \(profiles: business-hours, evening, weekend, holiday, emergency, or predict, budget-check\)/);
    const noStack = await run(["run", "evening"], env(fake));
    assert.equal(noStack.code, 2);
    assert.match(noStack.stderr, /run needs --stack <name>/);
    const badStack = await run(["run", "evening", "--stack", "staging"], env(fake));
    assert.equal(badStack.code, 2);
    assert.match(badStack.stderr, /automation\/config\/staging\.yaml: invalid automation configuration \(1 problem\):\n {2}- cannot be read as YAML/);
  });

  it("the service: serves /healthz, /readyz and /metrics, leads, catches up the current profile, stops on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(tsx, [script, "--stack", "prod"], { cwd: repoRoot, env: env(fake, { PORT: String(port), PROMETHEUS_URL: "http://127.0.0.1:9" }) });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 90_000;
      for (;;) {
        const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200).catch(() => false);
        if (ready) break;
        assert.ok(Date.now() < deadline && child.exitCode === null, `service did not become ready:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^pyairtable_autoscaler_leader_lock_held 1$/m);
      // The catch-up of the current profile runs in the background after the leader lock is taken.
      let applied: { kind: string; status: string }[] = [];
      while (Date.now() < deadline) {
        const decisions = (await (await fetch(`${base}/api/decisions`)).json()) as { decisions: { kind: string; status: string }[] };
        applied = decisions.decisions.filter((d) => d.status !== "skipped" && d.status !== "applying");
        if (applied.length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(applied.length, 1, JSON.stringify(applied));
      assert.equal(applied[0]!.kind, "scheduled");
      assert.equal(applied[0]!.status, "succeeded");
      assert.match(await (await fetch(`${base}/metrics`)).text(), /pyairtable_autoscaler_updates_total\{trigger="scheduled",outcome="succeeded"\} 1/);
      // Logs are JSON lines without secrets.
      assert.match(output, /"msg":"no BUDGET_EMERGENCY_QUEUE_URL/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, output);
  });
});

describe("npm run automation with PostgreSQL (DATABASE_URL)", function () {
  this.timeout(180_000);
  let pg: TestPostgres | undefined;
  let fake: FakePulumi;
  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL (initdb/pg_ctl)", "Debian: apt-get install -y postgresql, or set TEST_DATABASE_URL");
    pg = await TestPostgres.start();
    fake = FakePulumi.create();
  });
  after(async () => {
    fake?.remove();
    await pg?.stop();
  });

  it("a one-shot command takes the same leader lock: not run (exit 2) while another process holds it", async () => {
    const holder = new Store(new PostgresDatabase({ connectionString: pg!.url }));
    await holder.init();
    try {
      assert.equal(await holder.tryLead("prod", "service-replica-1"), true);
      const r = await run(["run", "evening", "--stack", "prod"], env(fake, { DATABASE_URL: pg!.url }));
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stdout, /not run: another automation process holds the lock for stack 'prod' \(service-replica-1, since /);
      assert.equal(fake.calls().filter((c) => c.args[0] === "up").length, 0);
      await holder.stepDown("prod");
      // As the deployment passes it: the URL in a file (the Secret's volume), DATABASE_URL_FILE naming it.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-db-url-"));
      const file = path.join(dir, "DATABASE_URL");
      fs.writeFileSync(file, `${pg!.url}\n`, { mode: 0o440 });
      const ok = await run(["run", "evening", "--stack", "prod"], env(fake, { DATABASE_URL_FILE: file }));
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      const decisions = await holder.recentDecisions(5, "prod");
      assert.equal(decisions[0]!.status, "succeeded");
      assert.match(decisions[0]!.key, /^manual:prod:evening:/);
    } finally {
      await holder.close();
    }
  });
});
