/**
 * The automation service, wired: configuration, store, leader election, the Pulumi runner, the
 * scheduler, the collector, the predictor, the budget guard and the HTTP endpoints; and the
 * one-shot commands (`run <profile | predict | budget-check>`), which take the same leader lock.
 */
import type * as http from "node:http";
import { Cron } from "croner";
import { Applier, composeDesired, type ApplyResult, type Leadership } from "./applier";
import { MissingSdkError, CostExplorerSpendSource, CostExplorerTagActivation, SqsEmergencyQueue } from "./aws";
import { CostAllocationTagActivator, type CostAllocationTagApi } from "./costAllocationTag";
import { BudgetGuard, type EmergencyQueue, type SpendSource } from "./budget";
import { Collector } from "./collector";
import { exportCostEstimate, stackCostEstimate } from "./costEstimate";
import type { ComponentCost } from "../lib/cost/report";
import { defaultConfigFile, emergencyProfileName, loadAutomationConfig, type AutomationConfig } from "./config";
import { loadEnsembleForecaster } from "./forecastAdapter";
import { forecastOptionsFor, liveSettingsFor } from "./predictiveSettings";
import { createHttpServer, listen } from "./http";
import { createLogger, type Logger } from "./logger";
import { AutomationMetrics } from "./metrics";
import { getPath, loadStackBase } from "./overrides";
import { Predictor, SeasonalNaiveForecaster, type Forecaster, type PredictionRun } from "./predict";
import { PulumiStackRunner, type StackRunner } from "./runner";
import { Scheduler } from "./scheduler";
import { databaseUrlFromEnv, openStore, Store, redactDatabaseUrl, RunRequests, type AutomationState, type RunRequest, type RunStatus } from "./store";
import { RunsApi, runDecisionKey } from "./runsApi";
import { KubernetesTokenReviewer, type TokenReviewer } from "./tokenReview";
import { forecastAccuracy, renderStatusPage, type StatusPageInput } from "./statusPage";
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

/** The chained ensemble engine (the backtest's), with the configured settings and the store for its state. */
async function createForecaster(logger: Logger, config: AutomationConfig, store: Store): Promise<Forecaster> {
  const loaded = await loadEnsembleForecaster({
    store,
    options: forecastOptionsFor(config),
    live: liveSettingsFor(config),
    historyDays: config.predictive.historyDays,
    logger: logger.child({ component: "forecast" }),
  });
  if (loaded.forecaster) return loaded.forecaster;
  logger.warn({ err: loaded.error }, "forecasting engine unavailable: using the seasonal-naive stand-in");
  return new SeasonalNaiveForecaster();
}

/** The budgets' cost allocation tag, activated by this service when the stack leaves it to it (budgets.costAllocationTagActivation). */
async function createTagActivation(config: AutomationConfig, logger: Logger, env: NodeJS.ProcessEnv): Promise<CostAllocationTagApi | undefined> {
  if (config.base.settings.budgets.costAllocationTagActivation !== "automation" || env.AUTOMATION_SPEND_SOURCE === "none") return undefined;
  try {
    return await CostExplorerTagActivation.create();
  } catch (e) {
    if (!(e instanceof MissingSdkError)) throw e;
    logger.error({ err: e.message }, "cost allocation tag NOT activated by the service: budgets read $0 until it is active");
    return undefined;
  }
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
  /** Cost Explorer's tag API: when given, the leader activates the budgets' cost allocation tag (`environment`). */
  readonly tagActivation?: CostAllocationTagApi;
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
  /** Authenticates POST /api/runs callers (default: the in-cluster TokenReview API, when available). */
  readonly reviewer?: TokenReviewer;
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
  readonly runs: RunRequests;
  readonly runsApi: RunsApi;
  private readonly statusBudget: BudgetGuard;
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
    // The status page's budget view: its own metrics registry, so rendering never touches the exported gauges.
    this.statusBudget = new BudgetGuard({ stack: config.stack, store, applier: this.applier, metrics: new AutomationMetrics(), logger: logger.child({ component: "status" }), budgets: () => loadStackBase(config.projectDir, config.stack).settings.budgets });
    this.runs = new RunRequests(store.db);
    this.runsApi = new RunsApi({ config, store, runs: this.runs, reviewer: opts.reviewer, logger: logger.child({ component: "runs" }), onQueued: () => void this.processRuns() });
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
    const tagActivation = await createTagActivation(config, logger, env);
    return new AutomationService({
      config,
      store,
      runner: createRunner(config, logger, env),
      logger,
      forecaster: await createForecaster(logger, config, store),
      ...budgetInputs,
      ...(tagActivation ? { tagActivation } : {}),
      reviewer: KubernetesTokenReviewer.fromEnvironment(env),
      port,
      prometheusUrl: env.PROMETHEUS_URL,
    });
  }

  get store(): Store {
    return this.opts.store;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    this.server = createHttpServer({ store: this.opts.store, metrics: this.metrics, logger: logger.child({ component: "http" }), stack: config.stack, ready: () => this.started, problems: () => this.readinessProblems(), degraded: () => this.degradedInputs(), runs: this.runsApi, statusPage: async () => renderStatusPage(await this.statusInput()) });
    this.port = await listen(this.server, this.opts.port ?? 8080, this.opts.host);
    await this.checkCli();
    logger.info({ port: this.port }, "http listening (/, /healthz, /readyz, /metrics, /api/forecasts, /api/decisions, /api/state, /api/runs)");
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
        .then(() => this.processRuns())
        .then(() => undefined);
    } else if (this.elector.leader && !this.stopping) {
      // Requests recorded by another replica (the Service routes a POST to any of them).
      void this.processRuns();
    }
  }

  private processingRuns: Promise<void> | undefined;

  /** Runs the queued requests of POST /api/runs while this process leads, one at a time, oldest first. */
  processRuns(): Promise<void> {
    this.processingRuns ??= (async () => {
      try {
        const { config, logger } = this.opts;
        await this.runs.requeueOrphans(config.stack, this.applier.holder);
        while (this.elector.leader && !this.stopping) {
          const run = await this.runs.takeNext(config.stack, this.applier.holder);
          if (!run) break;
          await this.executeRun(run).catch(async (e) => {
            logger.error({ runId: run.id, err: (e as Error).message }, "requested run failed");
            await this.runs.finish(run.id, "failed", { error: (e as Error).message });
          });
        }
      } finally {
        this.processingRuns = undefined;
      }
    })().catch((e) => this.opts.logger.error({ err: (e as Error).message }, "processing requested runs failed"));
    return this.processingRuns;
  }

  private async executeRun(run: RunRequest): Promise<void> {
    const { config, store, logger } = this.opts;
    const lines: string[] = [];
    const cmd: OneShotCommand = run.command === "profile" ? { kind: "profile", profile: run.profile! } : run.command === "emergency" ? { kind: "profile", profile: emergencyProfileName } : run.command === "predict" ? { kind: "predict" } : { kind: "budget-check" };
    const request = run.command === "profile" || run.command === "emergency"
      ? { key: runDecisionKey(config.stack, run.caller, run.idempotencyKey), reason: `${run.command === "emergency" ? emergencyProfileName : run.profile} requested by ${run.caller} (POST /api/runs, run ${run.id})` }
      : undefined;
    logger.info({ runId: run.id, command: run.command, caller: run.caller }, "running requested run");
    const r = await executeCommand(cmd, {
      config, store, applier: this.applier, metrics: this.metrics, logger, dryRun: false, out: (l) => lines.push(l), now: new Date(),
      forecaster: this.opts.forecaster, queue: this.opts.queue, spendSource: this.opts.spendSource, request,
    });
    const outcome = r.result?.outcome;
    const status: Exclude<RunStatus, "queued" | "running"> =
      outcome === "succeeded" || outcome === "no-change" || outcome === "refused" || outcome === "failed" ? outcome :
      outcome === "duplicate" ? ((r.result?.decision?.status === "succeeded" || r.result?.decision?.status === "no-change" || r.result?.decision?.status === "refused" ? r.result.decision.status : "failed")) :
      outcome === "not-leader" ? "failed" :
      r.code === 0 ? "no-change" : "failed";
    await this.runs.finish(run.id, status, { outcome: outcome ?? null, exitCode: r.code, error: r.result?.error ?? null, output: lines }, r.result?.decision?.id);
  }

  /** What the status page shows. */
  async statusInput(): Promise<StatusPageInput> {
    const { config, store } = this.opts;
    const now = new Date();
    const [state, leader, decisions, runs, forecasts, budgets] = await Promise.all([
      store.getState(config.stack),
      store.leader(config.stack),
      store.recentDecisions(15, config.stack),
      this.runs.recent(config.stack, 10),
      store.recentForecasts(500),
      this.statusBudget.status(now).catch(() => []),
    ]);
    const { desired } = await this.applier.currentDesired();
    // Accuracy of the forecasts whose target time has passed, against the collected samples.
    const due = forecasts.filter((f) => f.targetTs.getTime() <= now.getTime());
    const observed = new Map<string, number>();
    for (const key of new Set(due.map((f) => `${f.service}\u0000${f.signal}`))) {
      const [service, signal] = key.split("\u0000") as [string, string];
      const times = due.filter((f) => f.service === service && f.signal === signal).map((f) => f.targetTs.getTime());
      for (const x of await store.samples(service, signal, new Date(Math.min(...times)), new Date(Math.max(...times)))) observed.set(`${key}\u0000${x.ts.getTime()}`, x.value);
    }
    return {
      stack: config.stack,
      now: new Date(),
      holder: this.applier.holder,
      isLeader: this.elector.leader,
      leader: leader ?? null,
      state,
      overrides: desired.overrides,
      base: config.base.settings,
      decisions,
      runs,
      nextRuns: this.scheduler.nextRuns(now),
      budgets,
      accuracy: forecastAccuracy(due, (service, signal, at) => observed.get(`${service}\u0000${signal}\u0000${at.getTime()}`)),
      problems: [...(await this.readinessProblems()), ...this.degradedInputs()],
    };
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
    return problems;
  }

  /**
   * Inputs that fail without keeping the service from acting: listed by /readyz (still 200), so a
   * Prometheus outage does not take every replica out of the Service and the API stays reachable.
   */
  degradedInputs(): string[] {
    return this.collectorFailures >= 2 ? [`collector: ${this.collectorFailures} collections failed in a row: ${this.collectorError}`] : [];
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

  /** One trigger of the 15-minute cycle: the collection, then the prediction from what it completed (also after a failed collection: the gate judges freshness). */
  async collectAndPredict(now?: Date): Promise<void> {
    await this.collect(now).catch((e) => this.opts.logger.error({ err: (e as Error).message }, "collection failed"));
    await this.predictor.run(now ?? new Date());
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
    // Collect, then predict, in one trigger: the predictor forecasts from the buckets the collection
    // just completed (two independent crons could read data 15 minutes old).
    if (config.collector.enabled && config.predictive.enabled && config.collector.schedule === config.predictive.schedule) {
      this.jobs.push(new Cron(config.collector.schedule, { timezone: tz, protect: true }, this.leaderOnly("collect and predict", () => this.collectAndPredict())));
    } else {
      if (config.collector.enabled) this.jobs.push(new Cron(config.collector.schedule, { timezone: tz, protect: true }, this.leaderOnly("collect", () => this.collect())));
      if (config.predictive.enabled) this.jobs.push(new Cron(config.predictive.schedule, { timezone: tz, protect: true }, this.leaderOnly("predict", () => this.predictor.run())));
    }
    if (this.opts.tagActivation) {
      // The budgets filter on `environment`: activate it once AWS lists it (costAllocationTag.ts).
      const activator = new CostAllocationTagActivator(this.opts.tagActivation, "environment", this.opts.logger.child({ component: "cost-allocation-tag" }));
      every(60, this.leaderOnly("cost allocation tag", () => activator.tick()));
    }
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
    return (await executeCommand(cmd, { ...o, applier, metrics, now })).code;
  } finally {
    await elector.release();
  }
}

export interface CommandContext {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly applier: Applier;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  readonly dryRun: boolean;
  readonly out: (line: string) => void;
  readonly now: Date;
  readonly forecaster?: Forecaster;
  readonly queue?: EmergencyQueue;
  readonly spendSource?: SpendSource;
  /** A requested run (POST /api/runs): its decision key and reason instead of the manual ones. */
  readonly request?: { readonly key: string; readonly reason: string };
}

/**
 * One command through an applier whose leadership the caller holds (the one-shot CLI's own lock,
 * or the service's leader for requested runs). Exit codes as runOneShot's.
 */
export async function executeCommand(cmd: OneShotCommand, o: CommandContext): Promise<{ code: number; result?: ApplyResult; lines?: string[] }> {
  const { config, store, applier, metrics, logger, out, now } = o;
  {
    if (cmd.kind === "profile") {
      const isEmergency = cmd.profile === emergencyProfileName;
      const profile = config.profiles.find((p) => p.name === cmd.profile);
      if (!isEmergency && !profile) {
        out(`unknown profile '${cmd.profile}' (profiles: ${[...config.profiles.map((p) => p.name), emergencyProfileName].join(", ")}, or predict, budget-check)`);
        return { code: 2 };
      }
      const result = await applier.apply({
        kind: isEmergency ? "emergency" : "scheduled",
        trigger: isEmergency ? "emergency" : "scheduled",
        key: o.request?.key ?? `manual:${config.stack}:${cmd.profile}:${now.toISOString()}`,
        profile: cmd.profile,
        reason: o.request?.reason ?? `${cmd.profile} applied by hand (npm run automation -- run ${cmd.profile})`,
        dryRun: o.dryRun,
        nextState: (s: AutomationState): AutomationState =>
          isEmergency
            ? { ...s, emergencyActive: true, emergencySince: now, emergencyReason: o.request ? { requested: o.request.reason, at: now.toISOString() } : { manual: true, at: now.toISOString() }, previousProfile: s.scheduledProfile }
            : { ...s, scheduledProfile: cmd.profile, scheduledAt: now, emergencyActive: false, emergencySince: null, emergencyReason: null },
      });
      printResult(out, config, result, o.dryRun);
      return { code: exitCode(result.outcome), result };
    }
    if (cmd.kind === "predict") {
      const predictor = new Predictor({ config, store, applier, metrics, logger, forecaster: o.forecaster ?? new SeasonalNaiveForecaster() });
      const run = await predictor.run(now, { dryRun: o.dryRun });
      printPrediction(out, run);
      if (run.result) printResult(out, config, run.result, o.dryRun);
      return { code: run.result ? exitCode(run.result.outcome) : 0, result: run.result };
    }
    const guard = new BudgetGuard({ stack: config.stack, store, applier, metrics, logger, budgets: () => loadStackBase(config.projectDir, config.stack).settings.budgets, queue: o.queue, spendSource: o.spendSource });
    if (o.dryRun) {
      const statuses = await guard.status(now);
      for (const s of statuses) out(formatBudget(s));
      const { desired } = await applier.currentDesired();
      out(`dry run: nothing applied; the applied state's overrides: ${JSON.stringify(desired.overrides)}`);
      return { code: statuses.some((s) => s.spendUsd === null) ? exitSpendUnknown : 0 };
    }
    const { statuses, result } = await guard.check(now, { waitSeconds: 0 });
    for (const s of statuses) out(formatBudget(s));
    const unknown = statuses.filter((s) => s.spendUsd === null);
    if (!result) {
      if (unknown.length > 0) {
        out(`spend unknown for ${unknown.map((s) => s.period).join(", ")} (no budget notification and no spend figure: ${o.spendSource ? "the spend source returned nothing" : "no spend source (Cost Explorer needs AWS credentials and ce:GetCostAndUsage)"}): cannot tell whether a budget action is needed`);
        return { code: exitSpendUnknown };
      }
      out("no budget action needed");
      return { code: 0 };
    }
    printResult(out, config, result, false);
    return { code: exitCode(result.outcome), result };
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
