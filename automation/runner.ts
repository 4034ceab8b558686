/**
 * Runs `pulumi preview` / `pulumi up` for a set of config changes through the Automation API,
 * always with the CrossGuard policy pack, behind a small interface so everything above it can be
 * tested without the Pulumi CLI.
 *
 * The real runner never edits the project's checked-in stack file: each operation stages a
 * working directory (the project's entries symlinked, `Pulumi.<stack>.yaml` copied), sets the
 * changed keys there with `pulumi config set-all --path`, previews with the policy pack, and runs
 * `up` only when the preview has changes and no mandatory policy violation. So every run starts
 * from the stack file's base values plus the overrides the caller passes (the full desired set).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CommandError,
  ConcurrentUpdateError,
  LocalWorkspace,
  PulumiCommand,
  StackNotFoundError,
  type EngineEvent,
  Stack,
} from "@pulumi/pulumi/automation";
import type { Logger } from "./logger";
import { boundedPulumiCommand, type CommandEnvironment, type OperationControl } from "./pulumiProcess";
import { deployRoleEnvironment } from "./deployRole";
import { remitViolations, type PreviewStep } from "../lib/automation/remit";
import { sortedOverrides, type Overrides } from "./overrides";

export interface PolicyViolation {
  readonly policyPack: string;
  readonly policy: string;
  /** `mandatory` blocks the update; `advisory` (reported as "warning" by some engines) does not. */
  readonly enforcementLevel: string;
  readonly message: string;
  readonly urn?: string;
}

export interface PreviewResult {
  /** True when the preview would create, update, replace or delete anything. */
  readonly changes: boolean;
  /** Engine summary: operation → resource count (`same`, `update`, `create`, ...). */
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly violations: readonly PolicyViolation[];
  /** The preview reported at least one mandatory policy violation, or left the remit: the update is refused. */
  readonly refused: boolean;
  /** Steps outside the automation's remit (lib/automation/remit.ts): create, delete, replace, other types or properties. */
  readonly outsideRemit?: readonly string[];
}

export type UpOutcome = "succeeded" | "no-change" | "refused" | "failed";

export interface UpResult {
  readonly outcome: UpOutcome;
  readonly preview?: PreviewResult;
  /** The update's summary when it ran. */
  readonly changeSummary?: Readonly<Record<string, number>>;
  readonly violations: readonly PolicyViolation[];
  /** For `failed` (and `refused`): what went wrong, in one readable message. */
  readonly error?: string;
  /** CLI attempts made (more than one when ConcurrentUpdateError was retried). */
  readonly attempts: number;
  /** Why a failed operation was stopped: its timeout, or the caller's abort (lost leadership, shutdown). */
  readonly stopped?: "timeout" | "aborted";
}

export interface RunOptions {
  readonly message?: string;
  /** Aborting interrupts the CLI (SIGINT, then SIGKILL of its process group after the grace). */
  readonly signal?: AbortSignal;
}

/** One entry of the stack's update history (`pulumi stack history`). */
export interface HistoryEntry {
  readonly kind: string;
  readonly message: string;
  /** `succeeded`, `failed` or `in-progress`. */
  readonly result: string;
  readonly startTime?: Date;
  readonly endTime?: Date;
}

/** The runner the rest of the service uses. `changes`: key path below `autoscaling:` → value. */
export interface StackRunner {
  preview(changes: Overrides, opts?: RunOptions): Promise<PreviewResult>;
  up(changes: Overrides, opts?: RunOptions): Promise<UpResult>;
  /** The latest `limit` updates of the stack, newest first (recovery of in-flight decisions). */
  history?(limit: number, opts?: RunOptions): Promise<HistoryEntry[]>;
  /** Undefined when the CLI can be run, else why not (readiness). */
  checkCli?(): Promise<string | undefined>;
}

/** Default bound of one operation (select, config, preview, up): 20 minutes, see docs/automation.md. */
export const defaultTimeoutMs = 20 * 60_000;
/** Default time between SIGINT and SIGKILL of a CLI that is stopped. */
export const defaultKillGraceMs = 15_000;

export class StackRunnerError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = "StackRunnerError";
  }
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface PulumiStackRunnerOptions {
  readonly stack: string;
  readonly projectDir: string;
  /** Policy pack directory relative to the project (default `policies`). */
  readonly policyPack?: string;
  /** Policy pack config relative to the project (default `policies/config/<stack>.json`). */
  readonly policyPackConfig?: string;
  /** State backend; default `PULUMI_BACKEND_URL`, else `file://<projectDir>/.pulumi` (development). */
  readonly backendUrl?: string;
  /** The Pulumi CLI to run (tests pass one built around a fake executable). Default: `pulumi` on PATH. */
  readonly pulumiCommand?: PulumiCommand;
  readonly retry?: Partial<RetryPolicy>;
  readonly logger?: Logger;
  /** Config namespace of the keys (default `autoscaling`). */
  readonly namespace?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly env?: NodeJS.ProcessEnv;
  /** Bound of one operation (stack selection, config, preview and up together), ms. */
  readonly timeoutMs?: number;
  /** SIGINT → SIGKILL grace of a stopped CLI, ms (also the bound of the `pulumi cancel` that follows a SIGKILL). */
  readonly killGraceMs?: number;
  /**
   * The IAM role every CLI process acts as (default `DEPLOY_ROLE_ARN`); unset: the process's own
   * credentials (a workstation). See deployRole.ts.
   */
  readonly deployRoleArn?: string;
  /** Check every preview against the automation's remit before `up` (default true). */
  readonly enforceRemit?: boolean;
}

const defaultRetry: RetryPolicy = { maxAttempts: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };

/** Whether a change summary contains any change. */
export function hasChanges(summary: Readonly<Record<string, number>>): boolean {
  return Object.entries(summary).some(([op, n]) => op !== "same" && Number(n) > 0);
}

/** The readable part of a CLI failure: its `error:` lines (or the end of stderr), bounded. */
export function describeCliFailure(e: unknown): string {
  const result = (e as { commandResult?: { stderr?: string; stdout?: string; code?: number } }).commandResult;
  if (!result) return e instanceof Error ? e.message : String(e);
  const stderr = (result.stderr ?? "").trim();
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^error:/i.test(l));
  const chosen = (errors.length ? errors : lines.slice(-5)).join(" | ");
  const text = chosen || (result.stdout ?? "").trim().split("\n").slice(-5).join(" | ") || "no output";
  const bounded = text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
  // Code -2 is the Automation API's "unknown": the real exit code is in execa's message.
  const code = result.code === -2 || result.code === undefined ? /exit code (\d+)/.exec(stderr)?.[1] : String(result.code);
  if (/spawn \S+ ENOENT/.test(bounded)) return `the Pulumi CLI was not found (${/spawn (\S+) ENOENT/.exec(bounded)![1]}): install it and put it on PATH`;
  return code !== undefined ? `pulumi exited with code ${code}: ${bounded}` : `pulumi failed: ${bounded}`;
}

/** Thrown when an operation was stopped by its timeout or its caller. */
export class OperationStoppedError extends Error {
  constructor(readonly why: "timeout" | "aborted", message: string) {
    super(message);
    this.name = "OperationStoppedError";
  }
}

function toViolation(e: EngineEvent): PolicyViolation | undefined {
  const p = e.policyEvent;
  if (!p) return undefined;
  return {
    policyPack: p.policyPackName,
    policy: p.policyName,
    enforcementLevel: p.enforcementLevel,
    message: p.message,
    urn: p.resourceUrn,
  };
}

export class PulumiStackRunner implements StackRunner {
  readonly stack: string;
  readonly projectDir: string;
  readonly policyPack: string;
  readonly policyPackConfig: string;
  readonly backendUrl: string;
  private readonly retry: RetryPolicy;
  private readonly namespace: string;
  private readonly sleep: (ms: number) => Promise<void>;
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  readonly deployRoleArn: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly opts: PulumiStackRunnerOptions) {
    this.timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    this.killGraceMs = opts.killGraceMs ?? defaultKillGraceMs;
    this.stack = opts.stack;
    this.projectDir = path.resolve(opts.projectDir);
    this.policyPack = opts.policyPack ?? "policies";
    this.policyPackConfig = opts.policyPackConfig ?? `policies/config/${opts.stack}.json`;
    const env = opts.env ?? process.env;
    this.env = env;
    this.deployRoleArn = opts.deployRoleArn ?? (env.DEPLOY_ROLE_ARN || undefined);
    this.backendUrl = opts.backendUrl ?? env.PULUMI_BACKEND_URL ?? `file://${path.join(this.projectDir, ".pulumi")}`;
    this.retry = { ...defaultRetry, ...opts.retry };
    this.namespace = opts.namespace ?? "autoscaling";
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (!fs.existsSync(path.join(this.projectDir, `Pulumi.${this.stack}.yaml`))) {
      throw new StackRunnerError(`stack file Pulumi.${this.stack}.yaml not found in ${this.projectDir}`);
    }
  }

  /** The `pulumi config set-all --path` map for a change set. */
  configMap(changes: Overrides): Record<string, { value: string; secret: false }> {
    const out: Record<string, { value: string; secret: false }> = {};
    for (const [key, value] of Object.entries(sortedOverrides(changes))) {
      if (typeof value !== "number" || !Number.isInteger(value)) {
        // See overrides.ts: the CLI would store anything else as a string.
        throw new StackRunnerError(`${key} = ${JSON.stringify(value)}: only whole numbers can be set with --path`);
      }
      out[`${this.namespace}:${key}`] = { value: String(value), secret: false };
    }
    return out;
  }

  async preview(changes: Overrides, opts: RunOptions = {}): Promise<PreviewResult> {
    try {
      return await this.withStack("preview", changes, opts, async (stack, op) => (await this.runPreview(stack, opts, op)).result);
    } catch (e) {
      if (e instanceof OperationStoppedError) throw new StackRunnerError(e.message, e);
      throw e;
    }
  }

  async up(changes: Overrides, opts: RunOptions = {}): Promise<UpResult> {
    let attempts = 0;
    try {
      return await this.withStack("up", changes, opts, async (stack, op) => {
        const pre = await this.runPreview(stack, opts, op);
        attempts += pre.attempts;
        const preview = pre.result;
        if (preview.outsideRemit && preview.outsideRemit.length > 0) {
          this.opts.logger?.error({ stack: this.stack, outsideRemit: preview.outsideRemit }, "preview leaves the automation's remit: update refused, nothing applied");
          return {
            outcome: "refused" as const,
            preview,
            violations: preview.violations,
            error: `refused: the preview leaves the automation's remit (${preview.outsideRemit.length} step(s)): ${preview.outsideRemit.join("; ")}`,
            attempts,
          };
        }
        if (preview.refused) {
          const mandatory = preview.violations.filter((v) => v.enforcementLevel === "mandatory");
          return {
            outcome: "refused" as const,
            preview,
            violations: preview.violations,
            error: `refused by the policy pack: ${mandatory.map((v) => `${v.policy}: ${v.message}`).join("; ")}`,
            attempts,
          };
        }
        if (!preview.changes) return { outcome: "no-change" as const, preview, violations: preview.violations, attempts };
        const violations: PolicyViolation[] = [];
        const onEvent = (e: EngineEvent) => {
          const v = toViolation(e);
          if (v) violations.push(v);
        };
        try {
          const result = await this.withConcurrencyRetry("up", op, async () => {
            attempts++;
            violations.length = 0;
            return stack.up({
              policyPacks: [this.policyPack],
              policyPackConfigs: [this.policyPackConfig],
              message: opts.message,
              onEvent,
              signal: op.signal,
            });
          });
          const summary = (result.summary?.resourceChanges ?? {}) as Record<string, number>;
          return { outcome: "succeeded" as const, preview, changeSummary: summary, violations: [...preview.violations, ...violations], attempts };
        } catch (e) {
          if (op.signal.aborted) throw e;
          const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
          if (mandatory.length > 0) {
            return {
              outcome: "refused" as const,
              preview,
              violations: [...preview.violations, ...violations],
              error: `refused by the policy pack during the update: ${mandatory.map((v) => `${v.policy}: ${v.message}`).join("; ")}`,
              attempts,
            };
          }
          throw e;
        }
      });
    } catch (e) {
      const message = e instanceof StackRunnerError || e instanceof OperationStoppedError ? e.message : `pulumi up for stack '${this.stack}' failed: ${describeCliFailure(e)}`;
      this.opts.logger?.error({ stack: this.stack, err: message }, "stack update failed");
      return { outcome: "failed", violations: [], error: message, attempts: Math.max(attempts, 1), stopped: e instanceof OperationStoppedError ? e.why : undefined };
    }
  }

  async history(limit: number, opts: RunOptions = {}): Promise<HistoryEntry[]> {
    try {
      return await this.withStack("history", {}, opts, async (stack) => {
        const entries = await stack.history(limit, 1, false);
        return entries.map((h) => ({ kind: String(h.kind), message: h.message ?? "", result: String(h.result), startTime: h.startTime, endTime: h.endTime }));
      });
    } catch (e) {
      if (e instanceof StackRunnerError) throw e;
      throw new StackRunnerError(e instanceof OperationStoppedError ? e.message : `pulumi stack history for stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
    }
  }

  /** `pulumi version`, bounded: undefined when the CLI answers, else why it cannot be used. */
  async checkCli(): Promise<string | undefined> {
    const controller = new AbortController();
    const op: OperationControl = { signal: controller.signal, killGraceMs: 1000, hardKilled: false, pids: [] };
    const timer = setTimeout(() => controller.abort(new Error("no answer within 10 s")), 10_000);
    try {
      const base = this.opts.pulumiCommand ?? (await PulumiCommand.get({ skipVersionCheck: true }));
      const cmd = boundedPulumiCommand(base, op) as unknown as { run: (a: string[], cwd: string, env: Record<string, string>) => Promise<{ stdout: string }> };
      await cmd.run(["version"], this.projectDir, {});
      return undefined;
    } catch (e) {
      if (controller.signal.aborted) return "the Pulumi CLI did not answer `pulumi version` within 10 s";
      return describeCliFailure(e);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runPreview(stack: Stack, opts: RunOptions, op: OperationControl): Promise<{ result: PreviewResult; attempts: number }> {
    const violations: PolicyViolation[] = [];
    const steps: PreviewStep[] = [];
    let attempts = 0;
    try {
      const result = await this.withConcurrencyRetry("preview", op, async () => {
        attempts++;
        violations.length = 0;
        steps.length = 0;
        return stack.preview({
          policyPacks: [this.policyPack],
          policyPackConfigs: [this.policyPackConfig],
          message: opts.message,
          signal: op.signal,
          onEvent: (e) => {
            const v = toViolation(e);
            if (v) violations.push(v);
            const step = toStep(e);
            if (step) steps.push(step);
          },
        });
      });
      const summary = (result.changeSummary ?? {}) as Record<string, number>;
      const outsideRemit = this.opts.enforceRemit === false ? [] : remitViolations(steps);
      // A summary that counts changes the events did not show cannot be checked: refused as well.
      const shown = steps.filter((s) => s.op !== "same").length;
      const counted = Object.entries(summary).filter(([op]) => op !== "same").reduce((n, [, c]) => n + c, 0);
      if (this.opts.enforceRemit !== false && counted > shown) outsideRemit.push(`the preview counts ${counted} change(s) but reported ${shown} step(s): the remaining steps cannot be checked against the remit`);
      const refused = violations.some((v) => v.enforcementLevel === "mandatory") || outsideRemit.length > 0;
      return { result: { changes: hasChanges(summary), changeSummary: summary, violations, refused, outsideRemit }, attempts };
    } catch (e) {
      if (op.signal.aborted) throw e;
      // A mandatory violation fails the preview: that is a refusal, not a failure.
      if (violations.some((v) => v.enforcementLevel === "mandatory")) {
        return { result: { changes: false, changeSummary: {}, violations, refused: true }, attempts };
      }
      throw new StackRunnerError(`pulumi preview for stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
    }
  }

  /** Retries ConcurrentUpdateError (the stack is locked by another update) with bounded exponential backoff. */
  private async withConcurrencyRetry<T>(what: string, op: OperationControl, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (op.signal.aborted) throw e;
        if (!(e instanceof ConcurrentUpdateError) || attempt >= this.retry.maxAttempts) {
          if (e instanceof ConcurrentUpdateError) {
            throw new StackRunnerError(`pulumi ${what} for stack '${this.stack}': the stack is locked by another update after ${attempt} attempts: ${describeCliFailure(e)}`, e);
          }
          throw e;
        }
        const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        this.opts.logger?.warn({ stack: this.stack, attempt, delayMs: delay }, `pulumi ${what}: stack locked by another update (ConcurrentUpdateError), retrying`);
        await Promise.race([this.sleep(delay), new Promise((r) => op.signal.addEventListener("abort", r, { once: true }))]);
        if (op.signal.aborted) throw e;
      }
    }
  }

  /**
   * Stages a working dir, selects the stack there, sets the changes, runs `fn`, cleans up; all of
   * it bounded by the timeout and the caller's signal. A stopped operation throws
   * OperationStoppedError once every CLI process of it is gone; when a CLI had to be SIGKILLed
   * during `up`, `pulumi cancel` (bounded by the kill grace) releases the stack lock it may hold.
   */
  private async withStack<T>(what: string, changes: Overrides, opts: RunOptions, fn: (stack: Stack, op: OperationControl) => Promise<T>): Promise<T> {
    const config = this.configMap(changes);
    const controller = new AbortController();
    const op: OperationControl = { signal: controller.signal, killGraceMs: this.killGraceMs, hardKilled: false, pids: [] };
    let why: "timeout" | "aborted" | undefined;
    const timer = setTimeout(() => {
      why ??= "timeout";
      controller.abort(new Error(`timed out after ${this.timeoutMs / 1000} s`));
    }, this.timeoutMs);
    const onCallerAbort = () => {
      why ??= "aborted";
      controller.abort(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error(String(opts.signal!.reason ?? "aborted")));
    };
    if (opts.signal?.aborted) onCallerAbort();
    else opts.signal?.addEventListener("abort", onCallerAbort, { once: true });
    const stopped = (): OperationStoppedError => {
      const reason = (controller.signal.reason as Error)?.message ?? String(controller.signal.reason);
      return new OperationStoppedError(why ?? "aborted", `pulumi ${what} for stack '${this.stack}' stopped: ${reason}${what === "up" ? ` (the CLI was interrupted${op.hardKilled ? `, killed after ${this.killGraceMs / 1000} s` : ""}; the update is recorded as failed)` : ""}`);
    };
    const workDir = this.stage();
    let stack: Stack | undefined;
    try {
      if (this.backendUrl.startsWith("file://")) fs.mkdirSync(this.backendUrl.slice("file://".length), { recursive: true });
      let base: PulumiCommand;
      try {
        base = this.opts.pulumiCommand ?? (await PulumiCommand.get({ skipVersionCheck: true }));
      } catch (e) {
        throw new StackRunnerError(`the Pulumi CLI could not be started: ${describeCliFailure(e)}`, e);
      }
      const pulumiCommand = boundedPulumiCommand(base, op, this.commandEnvironment(workDir));
      try {
        stack = await LocalWorkspace.selectStack({ stackName: this.stack, workDir }, { pulumiCommand, envVars: { PULUMI_BACKEND_URL: this.backendUrl } });
      } catch (e) {
        if (controller.signal.aborted) throw stopped();
        if (e instanceof StackNotFoundError) {
          throw new StackRunnerError(`stack '${this.stack}' does not exist in backend ${this.backendUrl}: create it with \`pulumi stack init ${this.stack}\` (same PULUMI_BACKEND_URL), or set PULUMI_BACKEND_URL`, e);
        }
        if (e instanceof CommandError) throw new StackRunnerError(`selecting stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
        throw new StackRunnerError(`the Pulumi CLI could not be started: ${(e as Error).message}`, e);
      }
      if (Object.keys(config).length > 0) {
        try {
          await stack.setAllConfig(config, true);
        } catch (e) {
          if (controller.signal.aborted) throw stopped();
          throw new StackRunnerError(`setting config on stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
        }
      }
      try {
        return await fn(stack, op);
      } catch (e) {
        if (controller.signal.aborted) throw stopped();
        throw e;
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onCallerAbort);
      if (what === "up" && op.hardKilled && stack) await this.cancelUpdate(stack);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }

  /** `pulumi cancel` after a CLI was SIGKILLed during `up`: its stack lock is still ours. Bounded; failures are logged. */
  private async cancelUpdate(stack: Stack): Promise<void> {
    const controller = new AbortController();
    const op: OperationControl = { signal: controller.signal, killGraceMs: 1000, hardKilled: false, pids: [] };
    const timer = setTimeout(() => controller.abort(new Error("pulumi cancel timed out")), this.killGraceMs);
    try {
      const base = this.opts.pulumiCommand ?? (await PulumiCommand.get({ skipVersionCheck: true }));
      const ws = await LocalWorkspace.create({ workDir: stack.workspace.workDir, pulumiCommand: boundedPulumiCommand(base, op, this.commandEnvironment(stack.workspace.workDir)), envVars: { PULUMI_BACKEND_URL: this.backendUrl } });
      const s = await Stack.select(this.stack, ws);
      await s.cancel();
      this.opts.logger?.warn({ stack: this.stack }, "pulumi cancel: the killed update's stack lock released");
    } catch (e) {
      this.opts.logger?.error({ stack: this.stack, err: describeCliFailure(e) }, "pulumi cancel after a killed update failed: the stack may stay locked until `pulumi cancel`");
    } finally {
      clearTimeout(timer);
    }
  }

  /** The CLI's environment: the deploy role's profile when one is set (written into the operation's working dir). */
  private commandEnvironment(workDir: string): CommandEnvironment {
    if (!this.deployRoleArn) return {};
    try {
      return deployRoleEnvironment(this.deployRoleArn, this.stack, this.env, path.join(workDir, ".automation"));
    } catch (e) {
      throw new StackRunnerError((e as Error).message, e);
    }
  }

  /**
   * A working directory equivalent to the project: every entry symlinked, except the stack file,
   * which is copied (config set writes to it). The project's own files are never modified.
   */
  stage(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pulumi-${this.stack}-`));
    const stackFile = `Pulumi.${this.stack}.yaml`;
    for (const entry of fs.readdirSync(this.projectDir)) {
      if (entry === stackFile || entry === ".git") continue;
      fs.symlinkSync(path.join(this.projectDir, entry), path.join(dir, entry));
    }
    fs.copyFileSync(path.join(this.projectDir, stackFile), path.join(dir, stackFile));
    return dir;
  }
}

/** A preview step from an engine event (resourcePreEvent), for the remit check. */
function toStep(e: EngineEvent): PreviewStep | undefined {
  const m = e.resourcePreEvent?.metadata as { op?: string; urn?: string; type?: string; diffs?: string[]; detailedDiff?: Record<string, unknown> } | undefined;
  if (!m || !m.op || !m.urn) return undefined;
  return { op: String(m.op), urn: m.urn, type: m.type ?? m.urn.split("::")[2]?.split("$").pop() ?? "", diffs: m.diffs, detailedDiff: m.detailedDiff ?? undefined };
}
