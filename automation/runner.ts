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
  StackNotFoundError,
  type EngineEvent,
  type PulumiCommand,
  type Stack,
} from "@pulumi/pulumi/automation";
import type { Logger } from "./logger";
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
  /** The preview reported at least one mandatory policy violation: the update is refused. */
  readonly refused: boolean;
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
}

/** The runner the rest of the service uses. `changes`: key path below `autoscaling:` → value. */
export interface StackRunner {
  preview(changes: Overrides, opts?: { message?: string }): Promise<PreviewResult>;
  up(changes: Overrides, opts?: { message?: string }): Promise<UpResult>;
}

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
  return code !== undefined ? `pulumi exited with code ${code}: ${bounded}` : `pulumi failed: ${bounded}`;
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

  constructor(private readonly opts: PulumiStackRunnerOptions) {
    this.stack = opts.stack;
    this.projectDir = path.resolve(opts.projectDir);
    this.policyPack = opts.policyPack ?? "policies";
    this.policyPackConfig = opts.policyPackConfig ?? `policies/config/${opts.stack}.json`;
    const env = opts.env ?? process.env;
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

  async preview(changes: Overrides, opts: { message?: string } = {}): Promise<PreviewResult> {
    return this.withStack(changes, async (stack) => (await this.runPreview(stack, opts)).result);
  }

  async up(changes: Overrides, opts: { message?: string } = {}): Promise<UpResult> {
    let attempts = 0;
    try {
      return await this.withStack(changes, async (stack) => {
        const pre = await this.runPreview(stack, opts);
        attempts += pre.attempts;
        const preview = pre.result;
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
          const result = await this.withConcurrencyRetry("up", async () => {
            attempts++;
            violations.length = 0;
            return stack.up({
              policyPacks: [this.policyPack],
              policyPackConfigs: [this.policyPackConfig],
              message: opts.message,
              onEvent,
            });
          });
          const summary = (result.summary?.resourceChanges ?? {}) as Record<string, number>;
          return { outcome: "succeeded" as const, preview, changeSummary: summary, violations: [...preview.violations, ...violations], attempts };
        } catch (e) {
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
      const message = e instanceof StackRunnerError ? e.message : `pulumi up for stack '${this.stack}' failed: ${describeCliFailure(e)}`;
      this.opts.logger?.error({ stack: this.stack, err: message }, "stack update failed");
      return { outcome: "failed", violations: [], error: message, attempts: Math.max(attempts, 1) };
    }
  }

  private async runPreview(stack: Stack, opts: { message?: string }): Promise<{ result: PreviewResult; attempts: number }> {
    const violations: PolicyViolation[] = [];
    let attempts = 0;
    try {
      const result = await this.withConcurrencyRetry("preview", async () => {
        attempts++;
        violations.length = 0;
        return stack.preview({
          policyPacks: [this.policyPack],
          policyPackConfigs: [this.policyPackConfig],
          message: opts.message,
          onEvent: (e) => {
            const v = toViolation(e);
            if (v) violations.push(v);
          },
        });
      });
      const summary = (result.changeSummary ?? {}) as Record<string, number>;
      const refused = violations.some((v) => v.enforcementLevel === "mandatory");
      return { result: { changes: hasChanges(summary), changeSummary: summary, violations, refused }, attempts };
    } catch (e) {
      // A mandatory violation fails the preview: that is a refusal, not a failure.
      if (violations.some((v) => v.enforcementLevel === "mandatory")) {
        return { result: { changes: false, changeSummary: {}, violations, refused: true }, attempts };
      }
      throw new StackRunnerError(`pulumi preview for stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
    }
  }

  /** Retries ConcurrentUpdateError (the stack is locked by another update) with bounded exponential backoff. */
  private async withConcurrencyRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof ConcurrentUpdateError) || attempt >= this.retry.maxAttempts) {
          if (e instanceof ConcurrentUpdateError) {
            throw new StackRunnerError(`pulumi ${what} for stack '${this.stack}': the stack is locked by another update after ${attempt} attempts: ${describeCliFailure(e)}`, e);
          }
          throw e;
        }
        const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        this.opts.logger?.warn({ stack: this.stack, attempt, delayMs: delay }, `pulumi ${what}: stack locked by another update (ConcurrentUpdateError), retrying`);
        await this.sleep(delay);
      }
    }
  }

  /** Stages a working dir, selects the stack there, sets the changes, runs `fn`, cleans up. */
  private async withStack<T>(changes: Overrides, fn: (stack: Stack) => Promise<T>): Promise<T> {
    const config = this.configMap(changes);
    const workDir = this.stage();
    try {
      if (this.backendUrl.startsWith("file://")) fs.mkdirSync(this.backendUrl.slice("file://".length), { recursive: true });
      let stack: Stack;
      try {
        stack = await LocalWorkspace.selectStack(
          { stackName: this.stack, workDir },
          { pulumiCommand: this.opts.pulumiCommand, envVars: { PULUMI_BACKEND_URL: this.backendUrl } },
        );
      } catch (e) {
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
          throw new StackRunnerError(`setting config on stack '${this.stack}' failed: ${describeCliFailure(e)}`, e);
        }
      }
      return await fn(stack);
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
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
