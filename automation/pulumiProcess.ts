/**
 * Bounded Pulumi CLI processes.
 *
 * The Automation API (`@pulumi/pulumi` 3.248, `automation/cmd.js`) runs every CLI command through
 * `PulumiCommand.run(args, cwd, env, onOutput, onError, signal)` with execa, in this process's own
 * process group; its `signal` option only sends SIGINT to the CLI itself, never escalates, and does
 * not reach the plugins and language hosts the CLI starts. So a hung CLI (or a plugin that ignores
 * SIGINT) would keep running.
 *
 * `boundedPulumiCommand` wraps a real `PulumiCommand` (same binary, same arguments, same
 * environment as `PulumiCommand.run`) so that each command runs in a process group of its own
 * (`detached`), and when the operation is aborted (timeout, lost leadership, shutdown):
 *
 *   1. the whole group gets SIGINT — Pulumi's graceful cancellation: no new resource operations,
 *      the checkpoint is written and the stack lock released;
 *   2. after `killGraceMs` the whole group gets SIGKILL (`hardKilled` is set: the stack lock may
 *      still be held, and the caller runs `pulumi cancel`);
 *   3. when the CLI exits, anything left in its group (grandchildren) is killed.
 *
 * The LocalWorkspace and Stack methods are the Automation API's own: only the spawn is replaced.
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { PulumiCommand } from "@pulumi/pulumi/automation";

// Internal exports of the Automation API (cmd.js, errors.js): the same result type and the same
// error classification (ConcurrentUpdateError, StackNotFoundError, ...) as the API's own exec.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CommandResult } = require("@pulumi/pulumi/automation/cmd") as { CommandResult: new (stdout: string, stderr: string, code: number, err?: Error) => unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createCommandError } = require("@pulumi/pulumi/automation/errors") as { createCommandError: (result: unknown) => Error };

export interface OperationControl {
  /** Aborting it interrupts and then kills every CLI process of the operation. */
  readonly signal: AbortSignal;
  /** Time between SIGINT and SIGKILL, ms. */
  readonly killGraceMs: number;
  /** Set when a process group had to be SIGKILLed (the stack lock may be left behind). */
  hardKilled: boolean;
  /** Process ids started (tests check that none survives). */
  readonly pids: number[];
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* the group is gone */
  }
}

type RunFn = (
  args: string[],
  cwd: string,
  additionalEnv: Record<string, string>,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  signal?: AbortSignal,
) => Promise<unknown>;

/** Environment changes for every CLI process of an operation (the deploy role, see deployRole.ts). */
export interface CommandEnvironment {
  readonly set?: Readonly<Record<string, string>>;
  /** Removed from the inherited environment (credentials that would compete with the deploy role's). */
  readonly unset?: readonly string[];
}

/** A `PulumiCommand` whose processes run in their own process group and obey `control`. */
export function boundedPulumiCommand(base: PulumiCommand, control: OperationControl, environment: CommandEnvironment = {}): PulumiCommand {
  const cmd = Object.create(base) as PulumiCommand & { run: RunFn };
  cmd.run = (args, cwd, additionalEnv, onOutput, onError, signal) => {
    // As PulumiCommand.run: non-interactive, the CLI's directory first on PATH, the API marker.
    if (!args.includes("--non-interactive")) args.push("--non-interactive");
    const env: Record<string, string> = { ...additionalEnv, ...environment.set };
    if (path.isAbsolute(base.command)) {
      const sep = os.platform() === "win32" ? ";" : ":";
      env.PATH = path.dirname(base.command) + sep + (additionalEnv.PATH || process.env.PATH);
    }
    env.PULUMI_AUTOMATION_API = "true";
    return runInGroup(base.command, args, cwd, env, control, onOutput, onError, signal, environment.unset);
  };
  return cmd;
}

function runInGroup(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  control: OperationControl,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  apiSignal?: AbortSignal,
  unset: readonly string[] = [],
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (control.signal.aborted) {
      reject(createCommandError(new CommandResult("", `not started: ${String(control.signal.reason?.message ?? control.signal.reason)}`, -2)));
      return;
    }
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const k of unset) delete childEnv[k];
    const child = spawn(command, args, { cwd, env: childEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid) control.pids.push(child.pid);
    let stdout = "";
    let stderr = "";
    let killTimer: NodeJS.Timeout | undefined;
    let aborted = false;
    child.stdout!.on("data", (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      onOutput?.(s);
    });
    child.stderr!.on("data", (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      onError?.(s);
    });
    const abort = () => {
      if (aborted) return;
      aborted = true;
      killGroup(child.pid, "SIGINT");
      killTimer = setTimeout(() => {
        control.hardKilled = true;
        killGroup(child.pid, "SIGKILL");
      }, control.killGraceMs);
    };
    control.signal.addEventListener("abort", abort, { once: true });
    apiSignal?.addEventListener("abort", abort, { once: true });
    const done = () => {
      control.signal.removeEventListener("abort", abort);
      apiSignal?.removeEventListener("abort", abort);
      if (killTimer) clearTimeout(killTimer);
    };
    child.on("error", (e) => {
      done();
      reject(createCommandError(new CommandResult("", e.message, -2, e)));
    });
    child.on("exit", () => {
      // Whatever the CLI started and left behind (plugins, language hosts) goes with it.
      killGroup(child.pid, "SIGKILL");
    });
    child.on("close", (code, sig) => {
      done();
      const exitCode = code ?? -2;
      const result = new CommandResult(stdout, sig ? `${stderr}\nterminated by ${sig}` : stderr, exitCode);
      if (exitCode === 0 && !sig) resolve(result);
      else reject(createCommandError(result));
    });
  });
}

/** Whether a process is alive (tests; recovery). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
