/** Shared helpers of the automation service's tests. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { parseAutomationConfig, type AutomationConfig } from "../../../automation/config";
import { silentLogger } from "../../../automation/logger";
import { AutomationMetrics } from "../../../automation/metrics";
import { Applier, type Leadership } from "../../../automation/applier";
import type { PreviewResult, StackRunner, UpResult, UpOutcome } from "../../../automation/runner";
import { PgliteDatabase, Store, type Database } from "../../../automation/store";
import { repoRoot } from "../../support/stacks";

export { repoRoot };

/** The shipped configuration of a stack, optionally edited (the parsed YAML document) before validation. */
export function testConfig(stack: "prod" | "dev" = "prod", mutate?: (doc: Record<string, any>) => void): AutomationConfig {
  const file = path.join(repoRoot, "automation", "config", `${stack}.yaml`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as Record<string, any>;
  mutate?.(doc);
  return parseAutomationConfig(doc, file);
}

export interface RunnerCall {
  readonly op: "preview" | "up";
  readonly changes: Record<string, number>;
}

/**
 * A StackRunner double that records what it is asked to apply. `next` decides each `up`'s outcome;
 * `during` runs inside `up` (e.g. restart the database mid-run).
 */
export class RecordingRunner implements StackRunner {
  readonly calls: RunnerCall[] = [];
  next: UpOutcome | ((changes: Record<string, number>) => UpOutcome) = "succeeded";
  during?: () => Promise<void>;
  previewChanges = true;

  async preview(changes: Record<string, number>): Promise<PreviewResult> {
    this.calls.push({ op: "preview", changes: { ...changes } });
    return { changes: this.previewChanges, changeSummary: { same: 10, update: this.previewChanges ? 1 : 0 }, violations: [], refused: false };
  }

  async up(changes: Record<string, number>): Promise<UpResult> {
    this.calls.push({ op: "up", changes: { ...changes } });
    if (this.during) await this.during();
    const outcome = typeof this.next === "function" ? this.next(changes) : this.next;
    return {
      outcome,
      changeSummary: outcome === "succeeded" ? { same: 10, update: 1 } : undefined,
      violations: outcome === "refused" ? [{ policyPack: "p", policy: "replica-ceilings", enforcementLevel: "mandatory", message: "refused" }] : [],
      error: outcome === "failed" ? "pulumi exited with code 255: error: boom" : outcome === "refused" ? "refused by the policy pack" : undefined,
      attempts: 1,
    };
  }

  ups(): RunnerCall[] {
    return this.calls.filter((c) => c.op === "up");
  }
}

export const alwaysLeader: Leadership = { isLeader: async () => true };

export function makeApplier(config: AutomationConfig, store: Store, runner: StackRunner, leadership: Leadership = alwaysLeader): { applier: Applier; metrics: AutomationMetrics } {
  const metrics = new AutomationMetrics({ profiles: [...config.profiles.map((p) => p.name), "emergency"] });
  const applier = new Applier({ config, store, runner, metrics, logger: silentLogger(), leadership, holder: "test-holder", reloadBase: false });
  return { applier, metrics };
}

/** Every table of the store emptied (one PGlite per file is much faster than one per test). */
export async function truncateAll(db: Database): Promise<void> {
  await db.exec(
    "TRUNCATE samples, collection_runs, forecasts, forecast_state, update_attempts, schedule_runs, decisions, budget_events, automation_state, leader_lock RESTART IDENTITY CASCADE",
  );
}

let shared: Promise<Store> | undefined;

/** One in-memory PGlite store shared by the test files of a run (PGlite takes seconds to start). */
export function sharedPgliteStore(): Promise<Store> {
  shared ??= (async () => {
    const store = new Store(await PgliteDatabase.open());
    await store.init();
    return store;
  })();
  return shared;
}

/** Value of one sample of a metric in the registry. */
export async function metricValue(metrics: AutomationMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return undefined;
  const data = await m.get();
  const found = data.values.find((v) => Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val));
  return found?.value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 100 ms until it returns something truthy; fails after `ms` naming `what`. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}
