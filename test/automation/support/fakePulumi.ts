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
 * - `stack output --json`, `stack history --json` → what `up` reads afterwards
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

export interface FakeScenario {
  version: string;
  stacks: string[];
  preview: {
    changeSummary: Record<string, number>;
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
  };
}

export interface FakeCall {
  args: string[];
  cwd: string;
  backend?: string;
}

export const defaultScenario = (): FakeScenario => ({
  version: "3.248.0",
  stacks: ["prod", "dev"],
  preview: { changeSummary: { same: 120, update: 2 }, violations: [], concurrentFailures: 0 },
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
fs.appendFileSync(path.join(STATE, "calls.jsonl"), JSON.stringify({ args, cwd: process.cwd(), backend: process.env.PULUMI_BACKEND_URL }) + "\\n");

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
    await emit([{ preludeEvent: { config: {} } }, ...policyEvents(v), summary(scenario.preview.changeSummary)]);
    if (v.some((x) => x.enforcementLevel === "mandatory")) fail(255, "error: preview failed");
    process.stdout.write("Previewing update (" + stack + ")\\n");
    return;
  }
  if (cmd === "up") {
    const n = count("up");
    if (n <= scenario.up.concurrentFailures) fail(255, CONFLICT);
    const v = scenario.up.violations;
    await emit([{ preludeEvent: { config: {} } }, ...policyEvents(v), summary(scenario.up.changeSummary)]);
    if (scenario.up.error) fail(255, scenario.up.error);
    if (v.some((x) => x.enforcementLevel === "mandatory")) fail(255, "error: update failed");
    process.stdout.write("Updating (" + stack + ")\\nResources: " + JSON.stringify(scenario.up.changeSummary) + "\\n");
    return;
  }
  if (cmd === "stack" && sub === "output") { process.stdout.write("{}\\n"); return; }
  if (cmd === "stack" && sub === "history") {
    const now = new Date().toISOString();
    process.stdout.write(JSON.stringify([{ version: 1, kind: "update", startTime: now, endTime: now, message: "", environment: {}, config: {}, result: "succeeded", resourceChanges: scenario.up.changeSummary }]) + "\\n");
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

  clearCalls(): void {
    fs.rmSync(path.join(this.root, "calls.jsonl"), { force: true });
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
