/**
 * A recording fake `pulumi` executable for the runner's tests. It is a small Node script written
 * to `<root>/bin/pulumi`, so the Automation API's own `PulumiCommand.get({ root })` wraps it exactly
 * as it wraps the real CLI. It appends every invocation (argv, cwd, backend URL) to `calls.jsonl`
 * and answers what the Automation API expects:
 *
 * - `version`                        → `v<version>`
 * - `stack select --stack <s>`       → ok, or "no stack named ... found" (StackNotFoundError)
 * - `config set-all --stack <s> --path --plaintext k=v ...` → ok (recorded)
 * - `preview ... --event-log <file | tcp://host:port>` → engine events: prelude, policy events,
 *   summary (written to the file for CLI <= 3.205, streamed over the gRPC Events service after);
 *   exits 255 with "error: preview failed" when a mandatory policy event is emitted
 * - `up --yes --skip-preview ...`    → ok, or the ConcurrentUpdateError text for the first N calls,
 *   or a failure
 * - `stack output --json`, `stack history --json` → what `up` reads afterwards; the history is
 *   kept in `history.json` (an update is `in-progress` from its start, then `succeeded`/`failed`)
 * - `cancel --yes`                   → releases the stack lock, marks an in-progress update failed
 *
 * Fault modes of `up` (scenario.up): `hangMs` (work that long), `onSigint` (`exit`: Pulumi's graceful
 * cancellation, releases the lock and exits 255; `ignore`: keeps hanging until SIGKILL),
 * `grandchild` (starts a `sleep` child that must die with the group), `exitCode` (dies abruptly
 * without a result), `stackLock` (Pulumi's stack lock: a second `up` while one runs fails with the
 * DIY backend's "the stack is currently locked" text, i.e. ConcurrentUpdateError). Every `up`
 * records its start and end in `ups.jsonl`; one that starts while another fake `up` process is
 * alive is recorded in `overlaps.jsonl`.
 *
 * Behaviour comes from `scenario.json`, which a test rewrites between calls.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { repoRoot } from "../../support/stacks";

export interface FakePolicyEvent {
  policyName: string;
  policyPackName?: string;
  enforcementLevel: "mandatory" | "advisory" | "warning";
  message: string;
  resourceUrn?: string;
}

/** A preview step (the engine's resourcePreEvent metadata). */
export interface FakeStep {
  op: string;
  urn: string;
  type: string;
  diffs?: string[];
  detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }>;
}

export interface FakeScenario {
  version: string;
  stacks: string[];
  preview: {
    changeSummary: Record<string, number>;
    /** Steps reported as resourcePreEvents (default: the two HPA updates the summary counts). */
    steps?: FakeStep[];
    violations: FakePolicyEvent[];
    /** The first N previews fail with the concurrent-update text. */
    concurrentFailures: number;
    /** Fail every preview with this stderr (exit 255). */
    error?: string;
  };
  up: {
    concurrentFailures: number;
    error?: string;
    violations: FakePolicyEvent[];
    changeSummary: Record<string, number>;
    hangMs?: number;
    onSigint?: "exit" | "ignore";
    grandchild?: boolean;
    exitCode?: number;
    stackLock?: boolean;
  };
}

export interface FakeUpEvent {
  event: "start" | "end" | "sigint";
  pid: number;
  t: number;
  message?: string;
  result?: string;
}

export interface FakeHistoryEntry {
  version: number;
  kind: string;
  message: string;
  result: string;
  startTime: string;
  endTime?: string;
}

export interface FakeCall {
  args: string[];
  cwd: string;
  backend?: string;
  /** The AWS identity variables the process saw, and the AWS config file's content at the time. */
  aws: { profile?: string; configFile?: string; config?: string; roleArn?: string; webIdentityTokenFile?: string; accessKeyId?: string };
}

/** An HPA update of spec.minReplicas, as the Kubernetes provider reports it. */
export const hpaUpdate = (service: string): FakeStep => ({
  op: "update",
  urn: `urn:pulumi:prod::autoscaling::pyairtable:platform:Platform$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::${service}-hpa`,
  type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  diffs: ["spec"],
  detailedDiff: { "spec.minReplicas": { kind: "update", inputDiff: true } },
});

export const defaultScenario = (): FakeScenario => ({
  version: "3.248.0",
  stacks: ["prod", "dev"],
  preview: { changeSummary: { same: 120, update: 2 }, steps: [hpaUpdate("api-gateway"), hpaUpdate("platform-services")], violations: [], concurrentFailures: 0 },
  up: { concurrentFailures: 0, violations: [], changeSummary: { same: 120, update: 2 } },
});

const script = (stateDir: string, nodeModules: string) => `#!/usr/bin/env node
"use strict";
const fs = require("fs");
const path = require("path");
const STATE = ${JSON.stringify(stateDir)};
const NM = ${JSON.stringify(nodeModules)};
const args = process.argv.slice(2);
const scenario = JSON.parse(fs.readFileSync(path.join(STATE, "scenario.json"), "utf8"));
const E = process.env;
const awsConfig = E.AWS_CONFIG_FILE && fs.existsSync(E.AWS_CONFIG_FILE) ? fs.readFileSync(E.AWS_CONFIG_FILE, "utf8") : undefined;
fs.appendFileSync(path.join(STATE, "calls.jsonl"), JSON.stringify({ args, cwd: process.cwd(), backend: E.PULUMI_BACKEND_URL, aws: { profile: E.AWS_PROFILE, configFile: E.AWS_CONFIG_FILE, config: awsConfig, roleArn: E.AWS_ROLE_ARN, webIdentityTokenFile: E.AWS_WEB_IDENTITY_TOKEN_FILE, accessKeyId: E.AWS_ACCESS_KEY_ID } }) + "\\n");

function flag(name) { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; }
function count(name) {
  const f = path.join(STATE, "count-" + name);
  const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, "utf8")) : 0) + 1;
  fs.writeFileSync(f, String(n));
  return n;
}
function fail(code, text) { process.stderr.write(text + "\\n"); process.exit(code); }
const CONFLICT = "error: [409] Conflict: Another update is currently in progress.";

async function emit(events) {
  const target = flag("--event-log");
  if (!target) return;
  let seq = 0;
  const full = events.map((e) => Object.assign({ sequence: ++seq, timestamp: Math.floor(Date.now() / 1000) }, e));
  if (target.startsWith("tcp://")) {
    const grpc = require(path.join(NM, "@grpc/grpc-js"));
    const pb = require(path.join(NM, "@pulumi/pulumi/proto/events_pb.js"));
    const svc = require(path.join(NM, "@pulumi/pulumi/proto/events_grpc_pb.js"));
    const client = new svc.EventsClient(target.slice("tcp://".length), grpc.credentials.createInsecure());
    await new Promise((resolve, reject) => {
      const call = client.streamEvents((err) => (err ? reject(err) : resolve()));
      for (const e of full) { const r = new pb.EventRequest(); r.setEvent(JSON.stringify(e)); call.write(r); }
      call.end();
    });
    client.close();
  } else {
    fs.appendFileSync(target, full.map((e) => JSON.stringify(e)).join("\\n") + "\\n");
    // Give the Automation API's tail (200 ms polls) time to read the file before it stops tailing.
    await new Promise((r) => setTimeout(r, 600));
  }
}
const history = {
  file: path.join(STATE, "history.json"),
  read() { return fs.existsSync(this.file) ? JSON.parse(fs.readFileSync(this.file, "utf8")) : []; },
  write(list) { const tmp = this.file + "." + process.pid; fs.writeFileSync(tmp, JSON.stringify(list)); fs.renameSync(tmp, this.file); },
  start(message) { const list = this.read(); const version = list.length + 1; list.push({ version, kind: "update", message, result: "in-progress", startTime: new Date().toISOString() }); this.write(list); return version; },
  finish(version, result) { const list = this.read(); const e = list.find((x) => x.version === version); if (e && e.result === "in-progress") { e.result = result; e.endTime = new Date().toISOString(); } this.write(list); },
  cancelRunning() { const list = this.read(); for (const e of list) if (e.result === "in-progress") { e.result = "failed"; e.endTime = new Date().toISOString(); } this.write(list); },
};
const policyEvents = (list) => list.map((v) => ({ policyEvent: Object.assign({ color: "never", policyPackName: "pyairtable-autoscaling-guardrails", policyPackVersion: "0.1.0", policyPackVersionTag: "0.1.0" }, v) }));
const summary = (changes) => ({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: changes, PolicyPacks: { "pyairtable-autoscaling-guardrails": "0.1.0" } } });

async function main() {
  const [cmd, sub] = args;
  if (cmd === "version") { process.stdout.write("v" + scenario.version + "\\n"); return; }
  const stack = flag("--stack");
  if (cmd === "stack" && sub === "select") {
    if (!scenario.stacks.includes(stack)) fail(255, "error: no stack named '" + stack + "' found");
    return;
  }
  if (cmd === "config" && sub === "set-all") return;
  if (cmd === "preview") {
    const n = count("preview");
    if (n <= scenario.preview.concurrentFailures) fail(255, CONFLICT);
    if (scenario.preview.error) fail(255, scenario.preview.error);
    const v = scenario.preview.violations;
    const steps = (scenario.preview.steps || []).map((m) => ({ resourcePreEvent: { metadata: Object.assign({ provider: "" }, m) } }));
    await emit([{ preludeEvent: { config: {} } }, ...steps, ...policyEvents(v), summary(scenario.preview.changeSummary)]);
    if (v.some((x) => x.enforcementLevel === "mandatory")) fail(255, "error: preview failed");
    process.stdout.write("Previewing update (" + stack + ")\\n");
    return;
  }
  if (cmd === "up") {
    const n = count("up");
    if (n <= scenario.up.concurrentFailures) fail(255, CONFLICT);
    const u = scenario.up;
    const lockFile = path.join(STATE, "stack.lock");
    if (u.stackLock) {
      try { fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" }); }
      catch { fail(255, "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`."); }
    }
    const runDir = path.join(STATE, "running");
    fs.mkdirSync(runDir, { recursive: true });
    for (const f of fs.readdirSync(runDir)) {
      const other = Number(f);
      let alive = false;
      try { process.kill(other, 0); alive = true; } catch {}
      if (alive && other !== process.pid) fs.appendFileSync(path.join(STATE, "overlaps.jsonl"), JSON.stringify({ pid: process.pid, other, t: Date.now() }) + "\\n");
    }
    fs.writeFileSync(path.join(runDir, String(process.pid)), "");
    const message = flag("--message") || "";
    const log = (e) => fs.appendFileSync(path.join(STATE, "ups.jsonl"), JSON.stringify(Object.assign({ pid: process.pid, t: Date.now(), message }, e)) + "\\n");
    const version = history.start(message);
    log({ event: "start" });
    const finish = (result) => {
      history.finish(version, result);
      log({ event: "end", result });
      fs.rmSync(path.join(runDir, String(process.pid)), { force: true });
      if (u.stackLock) fs.rmSync(lockFile, { force: true });
    };
    process.on("SIGINT", () => {
      log({ event: "sigint" });
      if (u.onSigint === "ignore") return;
      finish("failed");
      fail(255, "error: update canceled");
    });
    if (u.grandchild) {
      const child = require("child_process").spawn("sleep", ["600"], { stdio: "ignore" });
      fs.writeFileSync(path.join(STATE, "grandchild.pid"), String(child.pid));
    }
    if (u.hangMs) await new Promise((r) => setTimeout(r, u.hangMs));
    if (u.exitCode !== undefined) { fs.rmSync(path.join(runDir, String(process.pid)), { force: true }); process.exit(u.exitCode); }
    const v = u.violations;
    // When the Automation API process is gone (its leader was killed), its event server is too;
    // the fake then finishes its update regardless (an assumption: whether the real CLI goes on
    // without its event reader is not verified here; recovery handles both outcomes).
    await emit([{ preludeEvent: { config: {} } }, ...policyEvents(v), summary(u.changeSummary)]).catch(() => undefined);
    if (u.error || v.some((x) => x.enforcementLevel === "mandatory")) {
      finish("failed");
      fail(255, u.error || "error: update failed");
    }
    finish("succeeded");
    process.stdout.write("Updating (" + stack + ")\\nResources: " + JSON.stringify(u.changeSummary) + "\\n");
    return;
  }
  if (cmd === "cancel") {
    fs.rmSync(path.join(STATE, "stack.lock"), { force: true });
    history.cancelRunning();
    return;
  }
  if (cmd === "stack" && sub === "output") { process.stdout.write("{}\\n"); return; }
  if (cmd === "stack" && sub === "history") {
    const size = Number(flag("--page-size") || 0);
    const all = history.read().slice().reverse();
    const page = size > 0 ? all.slice(0, size) : all;
    if (page.length === 0 && !fs.existsSync(path.join(STATE, "history.json"))) {
      // As before the history was kept: what \`up\` reads right after it ran.
      const now = new Date().toISOString();
      process.stdout.write(JSON.stringify([{ version: 1, kind: "update", startTime: now, endTime: now, message: "", environment: {}, config: {}, result: "succeeded", resourceChanges: scenario.up.changeSummary }]) + "\\n");
      return;
    }
    process.stdout.write(JSON.stringify(page.map((h) => Object.assign({ environment: {}, config: {}, resourceChanges: scenario.up.changeSummary }, h))) + "\\n");
    return;
  }
  fail(2, "fake pulumi: unsupported command: " + args.join(" "));
}
main().catch((e) => fail(3, "fake pulumi crashed: " + (e && e.stack || e)));
`;

export class FakePulumi {
  private constructor(readonly root: string) {}

  static create(scenario: FakeScenario = defaultScenario()): FakePulumi {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    fs.mkdirSync(path.join(root, "bin"));
    const f = new FakePulumi(root);
    f.setScenario(scenario);
    const exe = path.join(root, "bin", "pulumi");
    fs.writeFileSync(exe, script(root, path.join(repoRoot, "node_modules")), { mode: 0o755 });
    return f;
  }

  setScenario(s: FakeScenario): void {
    fs.writeFileSync(path.join(this.root, "scenario.json"), JSON.stringify(s));
    for (const f of fs.readdirSync(this.root)) if (f.startsWith("count-")) fs.rmSync(path.join(this.root, f));
  }

  update(mutate: (s: FakeScenario) => void): void {
    const s = JSON.parse(fs.readFileSync(path.join(this.root, "scenario.json"), "utf8")) as FakeScenario;
    mutate(s);
    this.setScenario(s);
  }

  /** The Automation API's command wrapper around the fake, exactly as for a real install root. */
  async command(): Promise<PulumiCommand> {
    return PulumiCommand.get({ root: this.root, skipVersionCheck: true });
  }

  calls(): FakeCall[] {
    const file = path.join(this.root, "calls.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as FakeCall);
  }

  /** `up` starts and ends, in order. */
  upEvents(): FakeUpEvent[] {
    return this.jsonl<FakeUpEvent>("ups.jsonl");
  }

  /** `up` processes that started while another was alive. */
  overlaps(): { pid: number; other: number; t: number }[] {
    return this.jsonl("overlaps.jsonl");
  }

  history(): FakeHistoryEntry[] {
    const file = path.join(this.root, "history.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as FakeHistoryEntry[]) : [];
  }

  setHistory(entries: FakeHistoryEntry[]): void {
    fs.writeFileSync(path.join(this.root, "history.json"), JSON.stringify(entries));
  }

  grandchildPid(): number | undefined {
    const file = path.join(this.root, "grandchild.pid");
    return fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : undefined;
  }

  stackLocked(): boolean {
    return fs.existsSync(path.join(this.root, "stack.lock"));
  }

  private jsonl<T>(name: string): T[] {
    const file = path.join(this.root, name);
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  clearCalls(): void {
    fs.rmSync(path.join(this.root, "calls.jsonl"), { force: true });
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
