/**
 * The automation service, wired: configuration, store, leader election, the Pulumi runner, the
 * scheduler, the collector, the predictor, the budget guard and the HTTP endpoints; and the
 * one-shot commands (`run <profile | predict | budget-check>`), which take the same leader lock.
 */
import type * as http from "node:http";
import { Cron } from "croner";
import { Applier, composeDesired, type ApplyResult, type Leadership } from "./applier";
import { MissingSdkError, CostExplorerSpendSource, SqsEmergencyQueue } from "./aws";
import { BudgetGuard, type EmergencyQueue, type SpendSource } from "./budget";
import { Collector } from "./collector";
import { exportCostEstimate, stackCostEstimate } from "./costEstimate";
import type { ComponentCost } from "../lib/cost/report";
import { defaultConfigFile, emergencyProfileName, loadAutomationConfig, type AutomationConfig } from "./config";
import { loadEnsembleForecaster } from "./forecastAdapter";
import { createHttpServer, listen } from "./http";
import { createLogger, type Logger } from "./logger";
import { AutomationMetrics } from "./metrics";
import { getPath, loadStackBase } from "./overrides";
import { Predictor, SeasonalNaiveForecaster, type Forecaster, type PredictionRun } from "./predict";
import { PulumiStackRunner, type StackRunner } from "./runner";
import { Scheduler } from "./scheduler";
import { databaseUrlFromEnv, openStore, Store, redactDatabaseUrl, type AutomationState } from "./store";
import { reconcileInFlight } from "./recovery";

// -------------------------------------------------------------------------------------------------
// Leader election
// -------------------------------------------------------------------------------------------------

/** Holds the leader lock (advisory lock in the store) and reports it as a metric. */
export class LeaderElector implements Leadership {
  private leading = false;
  private currentEpoch: number | undefined;
  /** When this process last became leader (ms since the epoch). */
  becameLeaderAt = 0;

  constructor(
    private readonly store: Store,
    private readonly stack: string,
    readonly holder: string,
    private readonly metrics: AutomationMetrics,
    private readonly logger: Logger,
  ) {}

  get leader(): boolean {
    return this.leading;
  }

  /** Tries to (re)acquire or confirm the lock. Returns true when this process became leader now. */
  async tick(): Promise<boolean> {
    const was = this.leading;
    try {
      if (this.leading) {
        this.leading = await this.store.stillLeading();
        // The epoch in the table is the fencing token: a newer leader's epoch means we lost.
        if (this.leading) this.leading = await this.store.heartbeat(this.stack, this.holder, this.currentEpoch);
      }
      if (!this.leading) {
        this.currentEpoch = await this.store.acquireLeadership(this.stack, this.holder);
        this.leading = this.currentEpoch !== undefined;
        if (this.leading) this.becameLeaderAt = Date.now();
      }
    } catch (e) {
      this.leading = false;
      this.logger.warn({ err: (e as Error).message }, "leader lock check failed");
    }
    this.metrics.setLeader(this.leading);
    if (this.leading !== was) this.logger.info({ holder: this.holder, leader: this.leading, epoch: this.currentEpoch }, this.leading ? "leader lock acquired" : "leader lock lost");
    return this.leading && !was;
  }

  epoch(): number | undefined {
    return this.leading ? this.currentEpoch : undefined;
  }

  async isLeader(): Promise<boolean> {
    if (!this.leading) return false;
    this.leading = await this.store.stillLeading().catch(() => false);
    this.metrics.setLeader(this.leading);
    return this.leading;
  }

  async release(): Promise<void> {
    if (this.leading) await this.store.stepDown(this.stack).catch(() => undefined);
    this.leading = false;
    this.metrics.setLeader(false);
  }
}

// -------------------------------------------------------------------------------------------------
// Building blocks from the environment
// -------------------------------------------------------------------------------------------------

export interface ServiceEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly config: AutomationConfig;
  readonly logger: Logger;
}

export function loadConfigFromEnv(stack: string | undefined, env: NodeJS.ProcessEnv, file?: string): AutomationConfig {
  const configFile = file ?? env.AUTOMATION_CONFIG ?? (stack ? defaultConfigFile(stack) : undefined);
  if (!configFile) throw new Error("no stack given: pass --stack <name>, or set AUTOMATION_STACK or AUTOMATION_CONFIG");
  const config = loadAutomationConfig(configFile);
  if (stack && config.stack !== stack) throw new Error(`${configFile} is for stack '${config.stack}', not '${stack}'`);
  return config;
}

export function createRunner(config: AutomationConfig, logger: Logger, env: NodeJS.ProcessEnv): StackRunner {
  return new PulumiStackRunner({
    stack: config.stack,
    projectDir: config.projectDir,
    policyPack: config.runner.policyPack,
    policyPackConfig: config.runner.policyPackConfig,
    retry: { maxAttempts: config.runner.maxAttempts, baseDelayMs: config.runner.baseDelayMs, maxDelayMs: config.runner.maxDelayMs },
    timeoutMs: config.runner.timeoutSeconds * 1000,
    killGraceMs: config.runner.killGraceSeconds * 1000,
    logger: logger.child({ component: "runner" }),
    env,
  });
}

async function createForecaster(logger: Logger): Promise<Forecaster> {
  const loaded = await loadEnsembleForecaster();
  if (loaded.forecaster) return loaded.forecaster;
  logger.warn({ err: loaded.error }, "forecasting engine unavailable: using the seasonal-naive stand-in");
  return new SeasonalNaiveForecaster();
}

async function createBudgetInputs(config: AutomationConfig, logger: Logger, env: NodeJS.ProcessEnv): Promise<{ queue?: EmergencyQueue; spendSource?: SpendSource }> {
  const out: { queue?: EmergencyQueue; spendSource?: SpendSource } = {};
  if (!config.budget.enabled) return out;
  const queueUrl = env.BUDGET_EMERGENCY_QUEUE_URL ?? config.budget.queueUrl;
  if (queueUrl) {
    try {
      out.queue = await SqsEmergencyQueue.create(queueUrl);
    } catch (e) {
      if (!(e instanceof MissingSdkError)) throw e;
      logger.error({ err: e.message }, "budget-emergency queue NOT consumed");
    }
  } else {
    logger.warn("no BUDGET_EMERGENCY_QUEUE_URL (stack output emergencyQueueUrl): budget notifications are not consumed");
  }
  if (env.AUTOMATION_SPEND_SOURCE !== "none") {
    try {
      out.spendSource = await CostExplorerSpendSource.create({ key: "environment", value: config.base.settings.environment });
    } catch (e) {
      if (!(e instanceof MissingSdkError)) throw e;
      logger.warn({ err: e.message }, "spend polling disabled: the weekly budget is tracked only from queue notifications");
    }
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// The long-running service
// -------------------------------------------------------------------------------------------------

export interface ServiceOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly runner: StackRunner;
  readonly logger: Logger;
  readonly metrics?: AutomationMetrics;
  readonly forecaster?: Forecaster;
  readonly queue?: EmergencyQueue;
  readonly spendSource?: SpendSource;
  readonly port?: number;
  readonly host?: string;
  readonly prometheusUrl?: string;
  /** Seconds between leader-lock checks (default 15). */
  readonly leaderIntervalSeconds?: number;
  /** Start the cron jobs (default true; tests drive the components directly). */
  readonly startJobs?: boolean;
  /** Fence check while an update runs, ms (default: the config's runner.fenceCheckSeconds). */
  readonly fenceCheckMs?: number;
  /** Seconds between checks of the Pulumi CLI for readiness (default 60). */
  readonly cliCheckSeconds?: number;
  /**
   * The cost model's estimate per component for the cost gauge (default: the offline plan of the
   * stack file, see costEstimate.ts; computed at start when the jobs run, and daily).
   */
  readonly costEstimate?: () => Promise<readonly ComponentCost[]>;
}

export class AutomationService {
  readonly metrics: AutomationMetrics;
  readonly applier: Applier;
  readonly scheduler: Scheduler;
  readonly collector: Collector;
  readonly predictor: Predictor;
  readonly budget: BudgetGuard;
  readonly elector: LeaderElector;
  private server: http.Server | undefined;
  private jobs: Cron[] = [];
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  port: number | undefined;

  constructor(private readonly opts: ServiceOptions) {
    const { config, store, runner, logger } = opts;
    this.metrics = opts.metrics ?? new AutomationMetrics({ defaultMetrics: true, profiles: [...config.profiles.map((p) => p.name), emergencyProfileName] });
    const holder = `${process.env.HOSTNAME ?? "local"}:${process.pid}`;
    this.elector = new LeaderElector(store, config.stack, holder, this.metrics, logger.child({ component: "leader" }));
    this.applier = new Applier({ config, store, runner, metrics: this.metrics, logger: logger.child({ component: "applier" }), leadership: this.elector, holder, fenceCheckMs: opts.fenceCheckMs ?? config.runner.fenceCheckSeconds * 1000 });
    this.scheduler = new Scheduler({ config, store, applier: this.applier, logger: logger.child({ component: "scheduler" }) });
    this.collector = new Collector({
      prometheusUrl: opts.prometheusUrl ?? config.collector.prometheusUrl,
      store,
      logger: logger.child({ component: "collector" }),
      stepSeconds: config.collector.stepSeconds,
      windowMinutes: config.collector.windowMinutes,
      timeoutMs: config.collector.timeoutSeconds * 1000,
    });
    this.predictor = new Predictor({ config, store, applier: this.applier, metrics: this.metrics, logger: logger.child({ component: "predictor" }), forecaster: opts.forecaster ?? new SeasonalNaiveForecaster() });
    this.budget = new BudgetGuard({
      stack: config.stack,
      store,
      applier: this.applier,
      metrics: this.metrics,
      logger: logger.child({ component: "budget" }),
      budgets: () => loadStackBase(config.projectDir, config.stack).settings.budgets,
      queue: opts.queue,
      spendSource: opts.spendSource,
    });
  }

  /** Opens everything from the environment (DATABASE_URL or DATABASE_URL_FILE, PORT, PULUMI_BACKEND_URL, ...). */
  static async fromEnvironment(opts: { stack?: string; configFile?: string; env?: NodeJS.ProcessEnv; logger?: Logger } = {}): Promise<AutomationService> {
    const env = opts.env ?? process.env;
    const logger = opts.logger ?? createLogger();
    const config = loadConfigFromEnv(opts.stack ?? env.AUTOMATION_STACK, env, opts.configFile);
    const port = env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT = ${JSON.stringify(env.PORT)}: must be a TCP port number (default 8080)`);
    const store = await openStore(env, { onBackgroundError: (e) => logger.warn({ err: e.message }, "database connection error (reconnecting)") });
    const databaseUrl = databaseUrlFromEnv(env);
    logger.info({ stack: config.stack, store: databaseUrl ? redactDatabaseUrl(databaseUrl) : store.db.description, ...(env.DATABASE_URL_FILE ? { databaseUrlFile: env.DATABASE_URL_FILE } : {}), config: config.file }, "automation service configured");
    const budgetInputs = await createBudgetInputs(config, logger, env);
    return new AutomationService({
      config,
      store,
      runner: createRunner(config, logger, env),
      logger,
      forecaster: await createForecaster(logger),
      ...budgetInputs,
      port,
      prometheusUrl: env.PROMETHEUS_URL,
    });
  }

  get store(): Store {
    return this.opts.store;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    this.server = createHttpServer({ store: this.opts.store, metrics: this.metrics, logger: logger.child({ component: "http" }), stack: config.stack, ready: () => this.started, problems: () => this.readinessProblems() });
    this.port = await listen(this.server, this.opts.port ?? 8080, this.opts.host);
    await this.checkCli();
    logger.info({ port: this.port }, "http listening (/healthz, /readyz, /metrics, /api/forecasts, /api/decisions, /api/state)");
    this.applier.exportState(await this.opts.store.getState(config.stack));
    if (this.opts.startJobs !== false || this.opts.costEstimate) this.costEstimated = this.refreshCostEstimate();
    await this.leaderTick();
    if (this.opts.startJobs !== false) this.startJobs();
    this.started = true;
  }

  /**
   * Leader check; on becoming leader, catch up the schedule once. The catch-up (a `pulumi up` can
   * take many minutes) runs in the background: readiness and the leader heartbeat do not wait for it.
   */
  async leaderTick(): Promise<void> {
    const wasLeader = this.elector.leader;
    const became = await this.elector.tick();
    if (wasLeader && !this.elector.leader) this.applier.abortCurrent("leader lock lost (fenced)");
    if (became && !this.stopping) {
      // Former leaders' in-flight decisions first (under the applier's mutex: nothing applies
      // meanwhile), then the schedule's catch-up.
      this.catchingUp = this.guard("recovery", () => this.recover())
        .then(() => (this.stopping ? undefined : this.guard("catch-up", () => this.scheduler.catchUp())))
        .then(() => undefined);
    }
  }

  /** Resolves the in-flight decisions of former leaders (see recovery.ts). */
  recover(): Promise<unknown> {
    const { config, store, runner, logger } = this.opts;
    const graceMs = (this.opts.fenceCheckMs ?? config.runner.fenceCheckSeconds * 1000) + config.runner.killGraceSeconds * 1000 + 1000;
    return this.applier.exclusive(() =>
      reconcileInFlight({ store, runner, stack: config.stack, logger: logger.child({ component: "recovery" }), epoch: this.elector.epoch(), notBefore: this.elector.becameLeaderAt + graceMs }),
    );
  }

  private stopping = false;
  private cliProblem: string | undefined;
  private cliCheckedAt = 0;
  /** Consecutive failed collections (readiness reports a failing collector). */
  collectorFailures = 0;
  collectorError: string | undefined;

  private async checkCli(): Promise<void> {
    if (!this.opts.runner.checkCli) return;
    this.cliCheckedAt = Date.now();
    this.cliProblem = await this.opts.runner.checkCli().catch((e) => (e as Error).message);
    if (this.cliProblem) this.opts.logger.error({ err: this.cliProblem }, "the Pulumi CLI cannot be run: no update can be applied");
  }

  /** What keeps the service from doing its work (the store is checked by /readyz itself). */
  async readinessProblems(): Promise<string[]> {
    const problems: string[] = [];
    if (Date.now() - this.cliCheckedAt > (this.opts.cliCheckSeconds ?? 60) * 1000) await this.checkCli();
    if (this.cliProblem) problems.push(`pulumi: ${this.cliProblem}`);
    if (this.collectorFailures >= 2) problems.push(`collector: ${this.collectorFailures} collections failed in a row: ${this.collectorError}`);
    return problems;
  }

  /** One collection, with its health kept for readiness. */
  async collect(now?: Date): Promise<void> {
    const r = await this.collector.collect(now);
    if (r.ok) {
      this.collectorFailures = 0;
      this.collectorError = undefined;
    } else {
      this.collectorFailures++;
      this.collectorError = r.error;
    }
  }

  /** The cost estimate started by start() (tests wait for it). */
  costEstimated: Promise<void> = Promise.resolve();

  /** Sets the cost gauge from the cost model (errors are logged; the gauge keeps its last values). */
  async refreshCostEstimate(): Promise<void> {
    const { config } = this.opts;
    const estimate = this.opts.costEstimate ?? (() => stackCostEstimate(config.projectDir, config.stack));
    await this.guard("cost estimate", async () => exportCostEstimate(this.metrics, await estimate()));
  }

  /** The catch-up started when this process last became leader (tests and shutdown wait for it). */
  catchingUp: Promise<void> = Promise.resolve();

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.opts.logger.error({ job: what, err: (e as Error).message }, `${what} failed`);
      return undefined;
    }
  }

  private leaderOnly(what: string, fn: () => Promise<unknown>): () => Promise<void> {
    return async () => {
      if (!this.elector.leader) return;
      await this.guard(what, fn);
    };
  }

  private startJobs(): void {
    const { config } = this.opts;
    const tz = config.timezone;
    const every = (seconds: number, fn: () => Promise<void>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        fn().finally(() => (busy = false));
      }, seconds * 1000);
      this.timers.push(t);
    };
    every(this.opts.leaderIntervalSeconds ?? 15, () => this.leaderTick());
    this.scheduler.start((e, profile) => this.opts.logger.error({ profile, err: (e as Error).message }, "scheduled profile failed"));
    // Reconcile: retries a scheduled run that failed (catch-up applies only what is not handled yet).
    this.jobs.push(new Cron("*/15 * * * *", { timezone: tz, protect: true }, this.leaderOnly("reconcile", () => this.scheduler.catchUp())));
    this.jobs.push(new Cron("17 3 * * *", { timezone: tz, protect: true }, () => this.refreshCostEstimate()));
    if (config.collector.enabled) this.jobs.push(new Cron(config.collector.schedule, { timezone: tz, protect: true }, this.leaderOnly("collect", () => this.collect())));
    if (config.predictive.enabled) this.jobs.push(new Cron(config.predictive.schedule, { timezone: tz, protect: true }, this.leaderOnly("predict", () => this.predictor.run())));
    if (config.budget.enabled) {
      every(config.budget.pollIntervalSeconds, this.leaderOnly("budget queue", async () => {
        await this.budget.pollQueue(new Date(), { waitSeconds: Math.min(20, config.budget.pollIntervalSeconds) });
        await this.budget.evaluate();
      }));
      every(config.budget.spendPollMinutes * 60, this.leaderOnly("spend poll", async () => {
        await this.budget.pollSpend();
        await this.budget.evaluate();
      }));
    }
  }

  /**
   * Graceful shutdown, bounded by `boundMs` (default the config's runner.shutdownSeconds, below the
   * pod's terminationGracePeriodSeconds): stop scheduling; let the in-flight update finish until
   * the kill grace (plus a margin to record it) is all that is left, then cancel it (SIGINT, SIGKILL
   * after the grace) so it is recorded as failed; release the lock; close the store. Returns whether
   * everything finished within the bound (false: the next leader's recovery resolves what is left).
   */
  async stop(boundMs?: number): Promise<boolean> {
    const { config, logger } = this.opts;
    const bound = boundMs ?? config.runner.shutdownSeconds * 1000;
    const started = Date.now();
    this.stopping = true;
    for (const j of this.jobs) j.stop();
    this.jobs = [];
    this.scheduler.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.applier.close();
    const killGrace = config.runner.killGraceSeconds * 1000;
    const finishBy = Math.max(0, bound - killGrace - 3000);
    let clean = await this.applier.idle(finishBy);
    if (!clean) {
      logger.warn({ waitedMs: Date.now() - started }, "shutdown: cancelling the in-flight update");
      this.applier.abortCurrent("service shutting down (SIGTERM)");
      clean = await this.applier.idle(Math.max(0, bound - (Date.now() - started) - 1000));
    }
    const remaining = () => Math.max(0, bound - (Date.now() - started));
    await Promise.race([Promise.all([this.catchingUp, this.costEstimated]), new Promise((r) => setTimeout(r, Math.min(remaining(), 1000)).unref())]);
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      server.closeAllConnections?.();
      await Promise.race([new Promise<void>((r) => server.close(() => r())), new Promise((r) => setTimeout(r, Math.min(remaining(), 1000)).unref())]);
    }
    await Promise.race([this.elector.release(), new Promise((r) => setTimeout(r, Math.min(remaining(), 2000)).unref())]);
    await Promise.race([this.opts.store.close(), new Promise((r) => setTimeout(r, Math.min(remaining(), 2000)).unref())]);
    logger.info({ clean, durationMs: Date.now() - started }, "stopped");
    return clean;
  }
}

// -------------------------------------------------------------------------------------------------
// One-shot commands
// -------------------------------------------------------------------------------------------------

export type OneShotCommand = { kind: "profile"; profile: string } | { kind: "predict" } | { kind: "budget-check" };

export interface OneShotOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly runner: StackRunner;
  readonly logger: Logger;
  readonly dryRun: boolean;
  readonly out: (line: string) => void;
  readonly forecaster?: Forecaster;
  readonly queue?: EmergencyQueue;
  readonly spendSource?: SpendSource;
  readonly now?: Date;
}

/** Exit code of `budget-check` when a period's spend is unknown (no spend data) and no action was taken. */
export const exitSpendUnknown = 3;

/** Exit codes: 0 applied / nothing to change; 1 refused or failed; 2 not run (lock held, bad input); 3 budget-check without spend data. */
export async function runOneShot(cmd: OneShotCommand, o: OneShotOptions): Promise<number> {
  const { config, store, runner, logger, out } = o;
  const now = o.now ?? new Date();
  const metrics = new AutomationMetrics();
  const holder = `oneshot:${process.env.HOSTNAME ?? "local"}:${process.pid}`;
  const elector = new LeaderElector(store, config.stack, holder, metrics, logger);
  await elector.tick();
  if (!elector.leader) {
    const leader = await store.leader(config.stack);
    out(`not run: another automation process holds the lock for stack '${config.stack}'${leader ? ` (${leader.holder}, since ${leader.acquiredAt.toISOString()})` : ""}`);
    return 2;
  }
  try {
    const applier = new Applier({ config, store, runner, metrics, logger, leadership: elector, holder });
    if (cmd.kind === "profile") {
      const isEmergency = cmd.profile === emergencyProfileName;
      const profile = config.profiles.find((p) => p.name === cmd.profile);
      if (!isEmergency && !profile) {
        out(`unknown profile '${cmd.profile}' (profiles: ${[...config.profiles.map((p) => p.name), emergencyProfileName].join(", ")}, or predict, budget-check)`);
        return 2;
      }
      const result = await applier.apply({
        kind: isEmergency ? "emergency" : "scheduled",
        trigger: isEmergency ? "emergency" : "scheduled",
        key: `manual:${config.stack}:${cmd.profile}:${now.toISOString()}`,
        profile: cmd.profile,
        reason: `${cmd.profile} applied by hand (npm run automation -- run ${cmd.profile})`,
        dryRun: o.dryRun,
        nextState: (s: AutomationState): AutomationState =>
          isEmergency
            ? { ...s, emergencyActive: true, emergencySince: now, emergencyReason: { manual: true, at: now.toISOString() }, previousProfile: s.scheduledProfile }
            : { ...s, scheduledProfile: cmd.profile, scheduledAt: now, emergencyActive: false, emergencySince: null, emergencyReason: null },
      });
      printResult(out, config, result, o.dryRun);
      return exitCode(result.outcome);
    }
    if (cmd.kind === "predict") {
      const predictor = new Predictor({ config, store, applier, metrics, logger, forecaster: o.forecaster ?? new SeasonalNaiveForecaster() });
      const run = await predictor.run(now, { dryRun: o.dryRun });
      printPrediction(out, run);
      if (run.result) printResult(out, config, run.result, o.dryRun);
      return run.result ? exitCode(run.result.outcome) : 0;
    }
    const guard = new BudgetGuard({ stack: config.stack, store, applier, metrics, logger, budgets: () => loadStackBase(config.projectDir, config.stack).settings.budgets, queue: o.queue, spendSource: o.spendSource });
    if (o.dryRun) {
      const statuses = await guard.status(now);
      for (const s of statuses) out(formatBudget(s));
      const { desired } = await applier.currentDesired();
      out(`dry run: nothing applied; the applied state's overrides: ${JSON.stringify(desired.overrides)}`);
      return statuses.some((s) => s.spendUsd === null) ? exitSpendUnknown : 0;
    }
    const { statuses, result } = await guard.check(now, { waitSeconds: 0 });
    for (const s of statuses) out(formatBudget(s));
    const unknown = statuses.filter((s) => s.spendUsd === null);
    if (!result) {
      if (unknown.length > 0) {
        out(`spend unknown for ${unknown.map((s) => s.period).join(", ")} (no budget notification and no spend figure: ${o.spendSource ? "the spend source returned nothing" : "no spend source (Cost Explorer needs AWS credentials and ce:GetCostAndUsage)"}): cannot tell whether a budget action is needed`);
        return exitSpendUnknown;
      }
      out("no budget action needed");
      return 0;
    }
    printResult(out, config, result, false);
    return exitCode(result.outcome);
  } finally {
    await elector.release();
  }
}

function exitCode(outcome: ApplyResult["outcome"]): number {
  return outcome === "refused" || outcome === "failed" || outcome === "not-leader" ? 1 : 0;
}

function formatBudget(s: { period: string; periodKey: string; spendUsd: number | null; limitUsd: number; utilisation: number | null }): string {
  if (s.spendUsd === null || s.utilisation === null) return `budget ${s.period} ${s.periodKey}: spend unknown (no data) of $${s.limitUsd.toFixed(2)}`;
  return `budget ${s.period} ${s.periodKey}: $${s.spendUsd.toFixed(2)} of $${s.limitUsd.toFixed(2)} (${(s.utilisation * 100).toFixed(1)}%)`;
}

function printPrediction(out: (l: string) => void, run: PredictionRun): void {
  for (const s of run.services) {
    out(s.fallback ? `predict ${s.service}: no floor (${s.fallback})` : `predict ${s.service}: floor ${s.floor} (needed ${s.needed}, confidence ${s.confidence?.toFixed(3)})`);
  }
  if (!run.changed) out("predictive floors unchanged: nothing to apply");
}

/** Prints what a decision changes: each override against the stack file's value. */
export function printResult(out: (l: string) => void, config: AutomationConfig, r: ApplyResult, dryRun: boolean): void {
  const base = config.base.settings;
  out(`${dryRun ? "dry run: " : ""}stack ${config.stack}: ${Object.keys(r.desired.overrides).length} override(s) on top of Pulumi.${config.stack}.yaml`);
  for (const [k, v] of Object.entries(r.desired.overrides)) {
    const was = getPath(base, k);
    out(`  ${k}: ${was === v ? `${v} (as in the stack file)` : `${String(was)} -> ${v}`}`);
  }
  for (const a of r.desired.adjustments) out(`  clamped ${a.key}: ${a.from} -> ${a.to} (${a.reason})`);
  for (const p of r.desired.problems) out(`  invalid: ${p}`);
  const summary = r.changeSummary ?? r.preview?.changeSummary;
  if (summary) out(`  resources: ${Object.entries(summary).map(([op, n]) => `${op} ${n}`).join(", ")}`);
  for (const v of r.preview?.violations ?? []) out(`  policy ${v.enforcementLevel}: ${v.policy}: ${v.message}`);
  const what =
    r.outcome === "would-change" ? "would change the stack (preview only)" :
    r.outcome === "duplicate" ? `already handled (decision ${r.decision?.id}, ${r.decision?.status})` :
    r.outcome;
  out(`outcome: ${what}${r.error ? `: ${r.error}` : ""}`);
}

/** The overrides the stored state stands for (for `/api/state`-like printing). */
export async function describeState(config: AutomationConfig, store: Store): Promise<{ state: AutomationState; overrides: Record<string, number> }> {
  const state = await store.getState(config.stack);
  return { state, overrides: composeDesired(config, loadStackBase(config.projectDir, config.stack), state).overrides };
}

export { openStore, createLogger, createBudgetInputs, createForecaster };
