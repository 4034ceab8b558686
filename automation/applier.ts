/**
 * Applying a decision: the one path every change of the automation service takes (scheduled
 * profiles, predictive floors, the budget emergency and its recovery, one-shot commands).
 *
 *   1. the decision says which state it establishes (scheduled profile, emergency flag, floors);
 *   2. the desired overrides are composed from that state: scheduled profile, then predictive
 *      floors, then the emergency profile on top; clamped to the policy pack's ceilings; validated
 *      by the program's settings schema;
 *   3. the decision is recorded under its idempotency key and claimed (so it applies once, even
 *      across replicas and restarts);
 *   4. the runner previews with the policy pack and runs `up` when there are changes and no
 *      mandatory violation; the attempt and its outcome are recorded, metrics exported;
 *   5. on success (or no change) the new state is saved.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { AutomationConfig } from "./config";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import {
  clampToPolicy,
  emergencyOverrides,
  formatOverrideProblem,
  getPath,
  loadStackBase,
  mergeOverrides,
  sortedOverrides,
  validateOverrides,
  type Adjustment,
  type StackBase,
} from "./overrides";
import type { PreviewResult, StackRunner, UpOutcome, UpResult } from "./runner";
import type { AutomationState, DecisionKind, DecisionRecord, Store } from "./store";

export type Trigger = "scheduled" | "predictive" | "emergency";

export interface DesiredState {
  /** Overrides on top of the stack file, clamped to the policy ceilings, sorted. */
  readonly overrides: Record<string, number>;
  readonly adjustments: readonly Adjustment[];
  /** Problems the settings schema found in the composed set (empty when valid). */
  readonly problems: readonly string[];
}

/**
 * The overrides a state stands for: scheduled profile, predictive floors (not during an
 * emergency), emergency profile last. Floors only ever raise a service's minimum and stay within
 * its maximum.
 */
export function composeDesired(config: AutomationConfig, base: StackBase, state: AutomationState): DesiredState {
  const profile = state.scheduledProfile ? config.profiles.find((p) => p.name === state.scheduledProfile) : undefined;
  const layers: Record<string, number>[] = [{ ...(profile?.overrides ?? {}) }];
  if (!state.emergencyActive) {
    const floors: Record<string, number> = {};
    const current = mergeOverrides(...layers);
    for (const [key, floor] of Object.entries(state.predictiveFloors)) {
      const m = /^services\.([^.]+)\.minReplicas$/.exec(key);
      if (!m) continue;
      const min = current[key] ?? (getPath(base.settings.services, `${m[1]}.minReplicas`) as number | undefined);
      const max = current[`services.${m[1]}.maxReplicas`] ?? (getPath(base.settings.services, `${m[1]}.maxReplicas`) as number | undefined);
      if (min === undefined || max === undefined) continue;
      const v = Math.min(max, Math.max(min, floor));
      if (v !== min) floors[key] = v;
    }
    layers.push(floors);
  } else {
    if (config.emergency.nonCriticalToMinimum) layers.push(emergencyOverrides(base.settings));
    layers.push({ ...config.emergency.overrides });
  }
  const merged = mergeOverrides(...layers);
  const { overrides, adjustments } = clampToPolicy(merged, config.policyLimits);
  const validation = validateOverrides(base, overrides);
  const problems = validation.ok ? [] : validation.problems.map(formatOverrideProblem);
  return { overrides: sortedOverrides(overrides), adjustments, problems };
}

export interface ApplyRequest {
  readonly kind: DecisionKind;
  readonly trigger: Trigger;
  /** Idempotency key: the same key never applies twice. */
  readonly key: string;
  readonly profile?: string;
  readonly scheduledFor?: Date;
  readonly reason: string;
  /** The state this decision establishes, from the current one. */
  readonly nextState: (current: AutomationState) => AutomationState;
  /** Services to count in `decisions_total` (default: those the overrides name, or "stack"). */
  readonly services?: readonly string[];
  /** Preview only: nothing is applied, no decision is recorded (the attempt is audited). */
  readonly dryRun?: boolean;
}

export type ApplyOutcome = UpOutcome | "duplicate" | "not-leader" | "would-change";

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  readonly decision?: DecisionRecord;
  readonly desired: DesiredState;
  readonly preview?: PreviewResult;
  readonly changeSummary?: Readonly<Record<string, number>>;
  readonly error?: string;
  readonly state: AutomationState;
}

export interface Leadership {
  /** True when this process may apply now (holds the leader lock). */
  isLeader(): Promise<boolean>;
  /** The lock epoch (fencing token) of the current leadership, when known. */
  epoch?(): number | undefined;
}

/** The marker an update's message carries, so the stack's history tells which decision it was. */
export function decisionMarker(key: string): string {
  return `[decision ${key}]`;
}

/** A tiny async mutex: applications never overlap within the process. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface ApplierOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly runner: StackRunner;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  readonly leadership: Leadership;
  /** Identity of this process in the store (decision holder). */
  readonly holder?: string;
  /** Reload the stack file for every application (default true; tests may pin a base). */
  readonly reloadBase?: boolean;
  /**
   * How often leadership is re-checked while an update runs, ms (default 2000). Losing it aborts
   * the update (fencing): the CLI is interrupted and killed within the runner's kill grace.
   */
  readonly fenceCheckMs?: number;
}

export class Applier {
  readonly holder: string;
  private readonly mutex = new Mutex();
  private current: AbortController | undefined;
  private pending = 0;
  private closed = false;

  constructor(private readonly opts: ApplierOptions) {
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  get config(): AutomationConfig {
    return this.opts.config;
  }

  private base(): StackBase {
    if (this.opts.reloadBase === false) return this.opts.config.base;
    return loadStackBase(this.opts.config.projectDir, this.opts.config.stack);
  }

  /** The desired overrides of the state stored now. */
  async currentDesired(): Promise<{ state: AutomationState; desired: DesiredState }> {
    const state = await this.opts.store.getState(this.opts.config.stack);
    return { state, desired: composeDesired(this.opts.config, this.base(), state) };
  }

  apply(req: ApplyRequest): Promise<ApplyResult> {
    this.pending++;
    return this.mutex.run(() => this.applyLocked(req)).finally(() => this.pending--);
  }

  /** Runs `fn` while no application runs (recovery). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    return this.mutex.run(fn).finally(() => this.pending--);
  }

  /** Whether an application is running or queued. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Stops the running update, if any (the CLI is interrupted, then killed); it is recorded as failed with `reason`. */
  abortCurrent(reason: string): boolean {
    if (!this.current || this.current.signal.aborted) return false;
    this.current.abort(new Error(reason));
    return true;
  }

  /** No new application starts after this (shutdown); queued ones return `not-leader`. */
  close(): void {
    this.closed = true;
  }

  /** Resolves when nothing is running or queued, or after `ms`. Returns whether it is idle. */
  async idle(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.pending === 0;
  }

  private async applyLocked(req: ApplyRequest): Promise<ApplyResult> {
    const { config, store, runner, metrics, logger } = this.opts;
    const log = logger.child({ stack: config.stack, trigger: req.trigger, kind: req.kind, key: req.key, profile: req.profile });
    const current = await store.getState(config.stack);
    const next = req.nextState(current);
    const desired = composeDesired(config, this.base(), next);
    const services = req.services ?? servicesOf(desired.overrides);
    for (const a of desired.adjustments) log.warn({ key: a.key, from: a.from, to: a.to, reason: a.reason }, "override clamped to the policy limits");

    if (req.dryRun) {
      const attemptId = await store.startAttempt({ stack: config.stack, trigger: req.trigger, dryRun: true, changes: desired.overrides, adjustments: desired.adjustments, holder: this.holder });
      if (desired.problems.length > 0) {
        const error = `the desired settings are invalid: ${desired.problems.join("; ")}`;
        await store.finishAttempt(attemptId, { outcome: "refused", error });
        return { outcome: "refused", desired, error, state: current };
      }
      try {
        const preview = await runner.preview(desired.overrides, { message: `automation (dry run): ${req.reason}` });
        const outcome: ApplyOutcome = preview.refused ? "refused" : preview.changes ? "would-change" : "no-change";
        // A dry run's attempt: "succeeded" means the preview ran and found changes.
        await store.finishAttempt(attemptId, {
          outcome: preview.refused ? "refused" : preview.changes ? "succeeded" : "no-change",
          changeSummary: preview.changeSummary,
          policyViolations: preview.violations,
          error: preview.refused ? "refused by the policy pack" : undefined,
        });
        return { outcome, desired, preview, state: current };
      } catch (e) {
        const error = (e as Error).message;
        await store.finishAttempt(attemptId, { outcome: "failed", error });
        return { outcome: "failed", desired, error, state: current };
      }
    }

    if (this.closed || !(await this.opts.leadership.isLeader())) {
      log.warn(this.closed ? "shutting down: decision not applied" : "not the leader: decision not applied");
      return { outcome: "not-leader", desired, state: current };
    }

    const epoch = this.opts.leadership.epoch?.();
    const { decision, claimed } = await store.claimDecision(
      { key: req.key, stack: config.stack, kind: req.kind, trigger: req.trigger, profile: req.profile, scheduledFor: req.scheduledFor, overrides: desired.overrides, reason: req.reason },
      this.holder,
      undefined,
      { epoch, nextState: next },
    );
    if (!claimed) {
      log.info({ status: decision.status, decisionId: decision.id }, "decision already handled: not applied again");
      return { outcome: "duplicate", decision, desired, state: current };
    }

    const attemptId = await store.startAttempt({ decisionId: decision.id, stack: config.stack, trigger: req.trigger, dryRun: false, changes: desired.overrides, adjustments: desired.adjustments, holder: this.holder, lockEpoch: epoch });
    let outcome: UpOutcome;
    let stopped: string | undefined;
    let error: string | undefined;
    let preview: PreviewResult | undefined;
    let changeSummary: Readonly<Record<string, number>> | undefined;
    let violations: unknown = [];
    const started = Date.now();
    if (desired.problems.length > 0) {
      outcome = "refused";
      error = `the desired settings are invalid: ${desired.problems.join("; ")}`;
    } else {
      log.info({ decisionId: decision.id, overrides: desired.overrides, epoch }, "applying");
      // Fencing: the update runs only while this process holds the leader lock.
      const controller = new AbortController();
      this.current = controller;
      let checking = false;
      const fence = setInterval(() => {
        if (checking || controller.signal.aborted) return;
        checking = true;
        this.opts.leadership
          .isLeader()
          .catch(() => false)
          .then((ok) => {
            if (!ok && !controller.signal.aborted) {
              log.error({ decisionId: decision.id, epoch }, "leader lock lost during the update: cancelling it (fencing)");
              controller.abort(new Error("leader lock lost (fenced)"));
            }
          })
          .finally(() => (checking = false));
      }, this.opts.fenceCheckMs ?? 2000);
      let r: UpResult;
      try {
        r = await runner.up(desired.overrides, { message: `automation ${req.trigger}: ${req.reason} ${decisionMarker(req.key)}`, signal: controller.signal });
      } finally {
        clearInterval(fence);
        this.current = undefined;
      }
      if (controller.signal.aborted) stopped = (controller.signal.reason as Error)?.message ?? "aborted";
      else if (r.stopped === "timeout") stopped = "timeout";
      outcome = r.outcome;
      error = r.error;
      preview = r.preview;
      changeSummary = r.changeSummary ?? r.preview?.changeSummary;
      violations = r.violations;
      metrics.updateDurationSeconds.observe({ trigger: req.trigger }, (Date.now() - started) / 1000);
    }

    // Recording the outcome survives a database restart (the store retries); the decision is
    // never left claimed by a live process.
    await store.finishAttempt(attemptId, { outcome, changeSummary, policyViolations: violations, error });
    const recorded = await store.finishDecision(decision.id, outcome, { changeSummary, adjustments: desired.adjustments, error, attemptId, epoch, ...(stopped ? { stopped } : {}) }, { holder: this.holder, epoch: epoch ?? decision.lockEpoch });
    if (!recorded) log.warn({ decisionId: decision.id }, "decision already resolved by a newer leader: outcome not recorded over it");
    if (outcome === "succeeded" || outcome === "no-change") await store.saveState(next);

    metrics.updatesTotal.inc({ trigger: req.trigger, outcome });
    for (const s of services) metrics.decisionsTotal.inc({ service: s, kind: req.kind, outcome });
    if (req.kind === "scheduled" && req.profile) metrics.scheduledProfileAppliedTotal.inc({ profile: req.profile, outcome });
    const state = outcome === "succeeded" || outcome === "no-change" ? next : current;
    this.exportState(state);

    const level = outcome === "failed" || outcome === "refused" ? "error" : "info";
    log[level]({ decisionId: decision.id, outcome, error, changeSummary, durationMs: Date.now() - started }, `decision ${outcome}`);
    return { outcome, decision: (await store.decisionByKey(req.key)) ?? decision, desired, preview, changeSummary, error, state };
  }

  /** Gauges that mirror the applied state. */
  exportState(state: AutomationState): void {
    const { metrics, config } = this.opts;
    metrics.setActiveProfile(state.emergencyActive ? "emergency" : state.scheduledProfile, [...config.profiles.map((p) => p.name), "emergency"]);
    metrics.emergencyProfileActive.set(state.emergencyActive ? 1 : 0);
  }
}

/** Service names an override set touches. */
export function servicesOf(overrides: Readonly<Record<string, number>>): string[] {
  const names = new Set<string>();
  for (const k of Object.keys(overrides)) {
    const m = /^services\.([^.]+)\./.exec(k);
    if (m) names.add(m[1]!);
  }
  return names.size > 0 ? [...names].sort() : ["stack"];
}
