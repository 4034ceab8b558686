/**
 * `npm run replay` end to end, the way a user runs it (a child process): the scenario and KPI
 * tables, --json (the documented shape), --svg, --format markdown, --load, --from-store (a real
 * PostgreSQL with the automation store's schema), determinism per seed, and bad input: one clear
 * message, exit 2, nothing written.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack } from "../support/plans";
import { TestPostgres, requireTool } from "./support/postgres";
import { PostgresDatabase } from "../../automation/store/db";
import { Store } from "../../automation/store/store";
import { serviceNames } from "../../lib/catalog/services";

const repo = path.resolve(__dirname, "../..");
const tsx = path.join(repo, "node_modules", ".bin", "tsx");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-it-"));
const planFile = path.join(dir, "prod-plan.json");

function replay(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [path.join(repo, "scripts", "replay.ts"), ...args], { cwd: repo, encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run replay (CLI)", function () {
  this.timeout(600_000);
  before(async () => {
    const plan = await planStack("prod");
    fs.writeFileSync(planFile, JSON.stringify({ stack: plan.stack, project: plan.project, resources: plan.resources }));
  });

  let json: any;
  it("prints the scenario and KPI tables and writes --json in the documented shape and --svg", () => {
    const out = path.join(dir, "r.json");
    const svg = path.join(dir, "r.svg");
    const r = replay(["--stack", "prod", "--plan", planFile, "--days", "7", "--seed", "3", "--json", out, "--svg", svg]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^scenario +\$\/month +savings +avail\./m);
    for (const s of ["static", "reactive", "scheduled", "predictive"]) assert.match(r.stdout, new RegExp(`^${s} +\\$[\\d,]+ `, "m"));
    assert.match(r.stdout, /Design KPIs/);
    assert.match(r.stdout, /(PASS|MISS)/);
    json = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.equal(json.stack, "prod");
    assert.equal(json.days, 7);
    assert.equal(json.seed, 3);
    assert.deepEqual(Object.keys(json.scenarios), ["static", "reactive", "scheduled", "predictive"]);
    for (const s of Object.values(json.scenarios) as any[]) {
      for (const k of ["monthlyUsd", "savingsPercent", "availability", "interruptions"]) assert.equal(typeof s[k], "number", k);
      for (const c of ["hpa", "keda"]) for (const q of ["p50", "p95", "max"]) assert.equal(typeof s.responseSeconds[c][q], "number");
      assert.equal(typeof s.efficiency.cpu.usedOfRequested, "number");
      assert.equal(typeof s.efficiency.memory.requestedOfAllocatable, "number");
      assert.equal(typeof s.nodeHours.onDemand, "number");
      assert.equal(typeof s.nodeHours.spot, "number");
      assert.deepEqual(Object.keys(s.perService), [...serviceNames]);
      for (const p of Object.values(s.perService) as any[]) {
        assert.ok(p.availability >= 0 && p.availability <= 1);
        assert.ok(p.replicaHours > 0);
      }
      const sum = Object.values(s.byComponent as Record<string, number>).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - s.monthlyUsd) < 0.1, "components add up");
    }
    assert.equal(json.scenarios.static.savingsPercent, 0);
    assert.equal(json.scenarios.static.nodeHours.spot, 0, "static runs on on-demand only");
    assert.ok(json.scenarios.reactive.nodeHours.spot > 0, "the autoscaled scenarios use the spot pools");
    assert.ok(json.scenarios.predictive.monthlyUsd < json.scenarios.static.monthlyUsd);
    assert.ok(Array.isArray(json.kpis) && json.kpis.length >= 6);
    for (const k of json.kpis) assert.deepEqual(["name", "design", "measured", "pass"].filter((f) => !(f in k)), []);
    assert.equal(typeof json.spike.factor, "number");
    const s = fs.readFileSync(svg, "utf8");
    assert.match(s, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((s.match(/<svg[ >]/g) ?? []).length, (s.match(/<\/svg>/g) ?? []).length);
    assert.match(s, /predictive \$\/h/);
  });

  it("is deterministic per seed and renders markdown", () => {
    const a = replay(["--stack", "prod", "--plan", planFile, "--days", "3", "--seed", "5", "--format", "markdown"]);
    const b = replay(["--stack", "prod", "--plan", planFile, "--days", "3", "--seed", "5", "--format", "markdown"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /^\| scenario \| \$\/month \|/m);
    assert.match(a.stdout, /^\| KPI \| design \| measured \| result \|/m);
  });

  it("--load replaces a service's trace with the user's CSV", () => {
    const csv = path.join(dir, "api.csv");
    const start = Date.UTC(2026, 0, 5); // a Monday
    const rows = ["timestamp,value"];
    for (let m = 0; m < 4 * 1440; m += 5) rows.push(`${new Date(start + m * 60_000).toISOString()},${m % 1440 < 600 ? 10 : 100}`);
    fs.writeFileSync(csv, rows.join("\n"));
    const out = path.join(dir, "load.json");
    const r = replay(["--stack", "prod", "--plan", planFile, "--days", "3", "--load", `api-gateway=${csv}`, "--json", out]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.equal(j.loads["api-gateway"], "api.csv");
    assert.match(j.loads["platform-services"], /nab\//);
    // The step from 10 to 100 needs the maximum at its peak and the minimum-ish before it.
    assert.equal(j.scenarios.reactive.perService["api-gateway"].peakReplicas, 25);
  });

  it("bad input: one clear message, exit 2, nothing written", () => {
    const out = path.join(dir, "never.json");
    const bad = path.join(dir, "bad.csv");
    fs.writeFileSync(bad, "timestamp,value\n2026-01-05 00:00,1\n2026-01-05 00:05,many\n");
    const cases: [string[], RegExp][] = [
      [["--stack", "nosuch", "--json", out], /stack 'nosuch' has no stack file/],
      [["--stack", "prod", "--load", `api-gateway=${bad}`, "--json", out], /bad\.csv: line 3: value 'many' must be a number ≥ 0/],
      [["--stack", "prod", "--load", `gateway=${bad}`, "--json", out], /unknown service 'gateway' \(known: api-gateway/],
      [["--stack", "prod", "--days", "x", "--json", out], /--days = 'x': must be a whole number/],
      [["--stack", "prod", "--format", "html", "--json", out], /--format = 'html': must be text or markdown/],
      [["--stack", "prod", "--from-store", "postgres://nobody@127.0.0.1:1/none", "--json", out], /--from-store: cannot read the automation store's samples/],
    ];
    for (const [args, message] of cases) {
      const r = replay(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one message: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.ok(!fs.existsSync(out), "nothing written");
    }
  });

  describe("--from-store (PostgreSQL with the automation store's schema)", () => {
    let pg: TestPostgres | undefined;
    before(async function () {
      requireTool(this, TestPostgres.available(), "PostgreSQL (initdb/pg_ctl)", "Debian: apt-get install -y postgresql, or set TEST_DATABASE_URL");
      pg = await TestPostgres.start();
    });
    after(async () => {
      await pg?.stop();
    });

    it("replays the samples the automation service collected", async () => {
      const store = new Store(new PostgresDatabase({ connectionString: pg!.url }));
      await store.init();
      const end = Date.UTC(2026, 10, 30);
      const samples = [];
      for (let m = 0; m < 5 * 1440; m += 5) {
        const ts = new Date(end - 5 * 86_400_000 + m * 60_000);
        const hour = ts.getUTCHours();
        samples.push({ service: "file-service", signal: "redis_list:files:requests", ts, value: hour >= 9 && hour < 17 ? 200 : 20 });
        samples.push({ service: "api-gateway", signal: "requests_per_second", ts, value: 50 + 40 * Math.sin((hour / 24) * 2 * Math.PI) });
      }
      await store.insertSamples(samples);
      await store.close();
      const out = path.join(dir, "store.json");
      const r = replay(["--stack", "prod", "--plan", planFile, "--days", "3", "--from-store", pg!.url, "--json", out]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(fs.readFileSync(out, "utf8"));
      assert.match(j.loads["file-service"], /^store samples file-service\/redis_list:files:requests/);
      assert.match(j.loads["api-gateway"], /^store samples api-gateway\//);
      assert.match(j.loads["user-services"], /nab\//, "services without samples keep their default trace");
    });
  });
});
