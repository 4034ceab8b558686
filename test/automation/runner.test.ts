import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiStackRunner, hasChanges } from "../../automation/runner";
import { FakePulumi, defaultScenario, type FakeCall } from "./support/fakePulumi";
import { repoRoot } from "./support/harness";

const backend = `file://${path.join(os.tmpdir(), "automation-test-backend")}`;
const changes = { "services.api-gateway.minReplicas": 4, "database.minAcu": 4, "cluster.systemNodeGroup.desiredSize": 4 };

/** The calls without the one `version` call the Automation API makes when wrapping the CLI. */
const commands = (calls: FakeCall[]) => calls.filter((c) => c.args[0] !== "version");
/** argv with the per-run event-log target replaced. */
const normalise = (args: string[]) => args.map((a, i) => (args[i - 1] === "--event-log" ? "<event-log>" : a));

async function runnerFor(fake: FakePulumi, extra: Partial<ConstructorParameters<typeof PulumiStackRunner>[0]> = {}) {
  return new PulumiStackRunner({ stack: "prod", projectDir: repoRoot, pulumiCommand: await fake.command(), backendUrl: backend, retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 }, ...extra });
}

describe("stack runner (Automation API against a recording fake pulumi CLI)", function () {
  this.timeout(60_000);
  let fake: FakePulumi;
  beforeEach(() => {
    fake = FakePulumi.create();
  });
  afterEach(() => fake.remove());

  for (const version of ["3.248.0", "3.200.0"]) {
    it(`passes the exact arguments the real CLI would get (CLI ${version}: events ${version === "3.248.0" ? "over gRPC" : "in a log file"})`, async () => {
      fake.update((s) => (s.version = version));
      const stackFile = path.join(repoRoot, "Pulumi.prod.yaml");
      const before = fs.readFileSync(stackFile, "utf8");
      const runner = await runnerFor(fake);
      const r = await runner.up(changes, { message: "automation scheduled: test" });
      assert.equal(r.outcome, "succeeded", r.error);
      assert.deepEqual(r.changeSummary, { same: 120, update: 2 });
      const calls = commands(fake.calls());
      assert.deepEqual(
        calls.map((c) => normalise(c.args)),
        [
          ["stack", "select", "--stack", "prod", "--non-interactive"],
          [
            "config", "set-all", "--stack", "prod", "--path",
            "--plaintext", "autoscaling:cluster.systemNodeGroup.desiredSize=4",
            "--plaintext", "autoscaling:database.minAcu=4",
            "--plaintext", "autoscaling:services.api-gateway.minReplicas=4",
            "--non-interactive",
          ],
          ["preview", "--message", "automation scheduled: test", "--policy-pack", "policies", "--policy-pack-config", "policies/config/prod.json", "--exec-kind", "auto.local", "--event-log", "<event-log>", "--stack", "prod", "--non-interactive"],
          ["up", "--yes", "--skip-preview", "--message", "automation scheduled: test", "--policy-pack", "policies", "--policy-pack-config", "policies/config/prod.json", "--exec-kind", "auto.local", "--event-log", "<event-log>", "--stack", "prod", "--non-interactive"],
          ["stack", "output", "--json", "--stack", "prod", "--non-interactive"],
          ["stack", "output", "--json", "--show-secrets", "--stack", "prod", "--non-interactive"],
          ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "prod", "--non-interactive"],
        ],
      );
      // Every command ran in one staged copy of the project, never in the project itself, with the backend set.
      const cwd = calls[0]!.cwd;
      assert.notEqual(path.resolve(cwd), repoRoot);
      assert.ok(calls.every((c) => c.cwd === cwd && c.backend === backend));
      assert.equal(fs.existsSync(cwd), false, "the staged work dir is removed afterwards");
      assert.equal(fs.readFileSync(stackFile, "utf8"), before, "the checked-in stack file is untouched");
      if (version === "3.248.0") assert.match(calls[2]!.args[calls[2]!.args.indexOf("--event-log") + 1]!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    });
  }

  it("stages the project: entries symlinked, the stack file copied", async () => {
    const runner = await runnerFor(fake);
    const dir = runner.stage();
    try {
      assert.ok(fs.lstatSync(path.join(dir, "Pulumi.yaml")).isSymbolicLink());
      assert.ok(fs.lstatSync(path.join(dir, "policies")).isSymbolicLink());
      assert.ok(fs.lstatSync(path.join(dir, "Pulumi.prod.yaml")).isFile());
      assert.ok(!fs.lstatSync(path.join(dir, "Pulumi.prod.yaml")).isSymbolicLink());
      assert.equal(fs.existsSync(path.join(dir, ".git")), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses (and never runs up) when the preview reports a mandatory policy violation", async () => {
    fake.update((s) => {
      s.preview.violations = [
        { policyName: "replica-ceilings", enforcementLevel: "mandatory", message: "api-gateway maxReplicas 30 exceeds the ceiling 25", resourceUrn: "urn:pulumi:prod::autoscaling::kubernetes:autoscaling/v2:HorizontalPodAutoscaler::api-gateway" },
        { policyName: "logging-enabled", enforcementLevel: "advisory", message: "flow logs" },
      ];
    });
    const r = await (await runnerFor(fake)).up(changes);
    assert.equal(r.outcome, "refused");
    assert.match(r.error!, /refused by the policy pack: replica-ceilings: api-gateway maxReplicas 30 exceeds the ceiling 25/);
    assert.equal(r.violations.length, 2);
    assert.equal(r.violations[0]!.policyPack, "pyairtable-autoscaling-guardrails");
    assert.ok(!commands(fake.calls()).some((c) => c.args[0] === "up"), "no pulumi up after a refusal");
  });

  it("goes ahead with only advisory violations", async () => {
    fake.update((s) => (s.preview.violations = [{ policyName: "logging-enabled", enforcementLevel: "advisory", message: "flow logs" }]));
    const r = await (await runnerFor(fake)).up(changes);
    assert.equal(r.outcome, "succeeded");
    assert.equal(r.violations.length, 1);
  });

  it("runs no up when the preview has no changes", async () => {
    fake.update((s) => (s.preview.changeSummary = { same: 122 }));
    const r = await (await runnerFor(fake)).up(changes);
    assert.equal(r.outcome, "no-change");
    assert.ok(!commands(fake.calls()).some((c) => c.args[0] === "up"));
    assert.equal(hasChanges({ same: 3 }), false);
    assert.equal(hasChanges({ same: 3, replace: 1 }), true);
  });

  it("sets no config when there are no overrides (the stack file's values stand)", async () => {
    await (await runnerFor(fake)).preview({});
    assert.ok(!commands(fake.calls()).some((c) => c.args[0] === "config"));
  });

  it("retries ConcurrentUpdateError with backoff, then succeeds", async () => {
    fake.update((s) => (s.up.concurrentFailures = 2));
    const delays: number[] = [];
    const runner = await runnerFor(fake, { retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 250 }, sleep: async (ms) => void delays.push(ms) });
    const r = await runner.up(changes);
    assert.equal(r.outcome, "succeeded", r.error);
    assert.equal(commands(fake.calls()).filter((c) => c.args[0] === "up").length, 3);
    assert.deepEqual(delays, [100, 200], "exponential backoff, bounded by maxDelayMs");
    assert.equal(r.attempts, 4); // one preview + three ups
  });

  it("gives up after the bounded number of attempts with a clear error", async () => {
    fake.update((s) => (s.preview.concurrentFailures = 10));
    const r = await (await runnerFor(fake, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } })).up(changes);
    assert.equal(r.outcome, "failed");
    assert.match(r.error!, /pulumi preview for stack 'prod': the stack is locked by another update after 3 attempts: .*\[409\] Conflict: Another update is currently in progress/);
    assert.equal(commands(fake.calls()).filter((c) => c.args[0] === "preview").length, 3);
  });

  it("reports a CLI failure as a failed outcome with the CLI's error line", async () => {
    fake.update((s) => (s.up.error = "error: update failed: 1 error occurred: * operation error RDS: ModifyDBCluster, AccessDenied"));
    const r = await (await runnerFor(fake)).up(changes);
    assert.equal(r.outcome, "failed");
    assert.equal(r.error, "pulumi up for stack 'prod' failed: pulumi exited with code 255: error: update failed: 1 error occurred: * operation error RDS: ModifyDBCluster, AccessDenied");
  });

  it("throws a clear error when the preview itself fails", async () => {
    fake.update((s) => (s.preview.error = "error: failed to load language plugin nodejs"));
    await assert.rejects((async () => (await runnerFor(fake)).preview(changes))(), /pulumi preview for stack 'prod' failed: pulumi exited with code 255: error: failed to load language plugin nodejs/);
  });

  it("says how to create a stack that does not exist", async () => {
    fake.update((s) => (s.stacks = ["dev"]));
    const r = await (await runnerFor(fake)).up(changes);
    assert.equal(r.outcome, "failed");
    assert.match(r.error!, /stack 'prod' does not exist in backend file:\/\/.*: create it with `pulumi stack init prod`/);
  });

  it("rejects values the CLI cannot type with --path", async () => {
    const r = await (await runnerFor(fake)).up({ "database.minAcu": 0.5 });
    assert.equal(r.outcome, "failed");
    assert.match(r.error!, /database\.minAcu = 0\.5: only whole numbers can be set with --path/);
    assert.equal(commands(fake.calls()).length, 0);
  });

  it("uses PULUMI_BACKEND_URL, else a local file:// backend in the project", async () => {
    const command = await fake.command();
    assert.equal(new PulumiStackRunner({ stack: "prod", projectDir: repoRoot, pulumiCommand: command, env: { PULUMI_BACKEND_URL: "s3://bucket/state" } }).backendUrl, "s3://bucket/state");
    assert.equal(new PulumiStackRunner({ stack: "prod", projectDir: repoRoot, pulumiCommand: command, env: {} }).backendUrl, `file://${path.join(repoRoot, ".pulumi")}`);
    assert.throws(() => new PulumiStackRunner({ stack: "staging", projectDir: repoRoot, pulumiCommand: command }), /stack file Pulumi\.staging\.yaml not found/);
  });

  it("default scenario sanity: the fake answers version like the CLI", async () => {
    const command = await fake.command();
    assert.equal(command.version?.toString(), defaultScenario().version);
  });
});

describe("stack runner against the real pulumi CLI (integration)", function () {
  this.timeout(300_000);
  const onPath = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).stdout.trim();

  before(function () {
    if (!onPath) {
      console.log("      skipped: the pulumi CLI is not on PATH (this integration test runs only where it is installed)");
      this.skip();
    }
  });

  it("previews and updates a local stack with a file backend and a policy pack", async () => {
    // A YAML project without resources, a stack in a temp file backend, and a one-rule policy pack:
    // exercises stack select, config set-all --path, preview and up with --policy-pack for real.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-it-"));
    const state = path.join(dir, "state");
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: automation-it\nruntime: yaml\noutputs:\n  floor: ${autoscaling:services}\n");
    fs.writeFileSync(path.join(dir, "Pulumi.it.yaml"), "config:\n  autoscaling:services:\n    api-gateway:\n      minReplicas: 2\n");
    const pack = path.join(dir, "policies");
    fs.mkdirSync(path.join(pack, "config"), { recursive: true });
    fs.writeFileSync(path.join(pack, "PulumiPolicy.yaml"), "runtime: nodejs\nname: it-pack\nversion: 0.0.1\n");
    fs.writeFileSync(path.join(pack, "package.json"), JSON.stringify({ name: "it-pack", version: "0.0.1", main: "index.js" }));
    fs.writeFileSync(path.join(pack, "index.js"), 'const { PolicyPack } = require("@pulumi/policy");\nnew PolicyPack("it-pack", { policies: [{ name: "noop", description: "no-op", enforcementLevel: "advisory", validateResource: () => {} }] });\n');
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(pack, "node_modules"));
    fs.writeFileSync(path.join(pack, "config", "it.json"), JSON.stringify({ noop: { enforcementLevel: "advisory" } }));
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "integration-test" };
    const init = spawnSync("pulumi", ["stack", "init", "it", "--non-interactive"], { cwd: dir, env, encoding: "utf8" });
    assert.equal(init.status, 0, init.stderr);
    try {
      const runner = new PulumiStackRunner({ stack: "it", projectDir: dir, backendUrl: `file://${state}`, retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 } });
      const r = await runner.up({ "services.api-gateway.minReplicas": 4 });
      assert.ok(r.outcome === "succeeded" || r.outcome === "no-change", r.error);
      assert.match(fs.readFileSync(path.join(dir, "Pulumi.it.yaml"), "utf8"), /minReplicas: 2/, "the project's stack file is untouched");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
