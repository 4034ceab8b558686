/**
 * The automation service's entry point.
 *
 *   npm run automation                                   # the long-running service (stack: --stack, AUTOMATION_STACK, else dev)
 *   npm run automation -- --stack prod
 *   npm run automation -- run <profile> --stack <name> [--dry-run]
 *   npm run automation -- run predict --stack <name> [--dry-run]
 *   npm run automation -- run budget-check --stack <name> [--dry-run]
 *
 * One-shot commands take the same leader lock as the service, print what they change, and exit
 * 0 (applied, or nothing to change), 1 (refused by the policy pack or failed) or 2 (not run: lock
 * held, unknown profile, invalid configuration). Environment: see docs/automation.md.
 */
import { AutomationConfigError } from "../automation/config";
import { namespaces } from "../lib/catalog/cluster";
import {
  AutomationService,
  createBudgetInputs,
  createForecaster,
  createLogger,
  createRunner,
  loadConfigFromEnv,
  openStore,
  runOneShot,
  type OneShotCommand,
} from "../automation/service";

const usage = `usage:
  npm run automation [-- --stack <name>]                       start the service
  npm run automation -- run <profile|predict|budget-check> --stack <name> [--dry-run] [--embedded]
options:
  --stack <name>     stack (default: AUTOMATION_STACK, else dev for the service)
  --config <file>    configuration file (default: automation/config/<stack>.yaml, or AUTOMATION_CONFIG)
  --dry-run          preview only: nothing is applied
  --embedded         allow a run that changes the stack without DATABASE_URL (a throw-away embedded
                     database: the service never sees the decision; development only)
environment: DATABASE_URL or DATABASE_URL_FILE (a file holding it; else embedded PGlite;
  AUTOMATION_DATA_DIR for a data dir), PORT (8080),
  PULUMI_BACKEND_URL, PROMETHEUS_URL, BUDGET_EMERGENCY_QUEUE_URL, LOG_LEVEL`;

interface Args {
  positional: string[];
  stack?: string;
  config?: string;
  dryRun: boolean;
  embedded: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { positional: [], dryRun: false, embedded: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === "--stack" || x === "--config") {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${x} needs a value`);
      if (x === "--stack") a.stack = v;
      else a.config = v;
    } else if (x.startsWith("--stack=")) a.stack = x.slice(8);
    else if (x.startsWith("--config=")) a.config = x.slice(9);
    else if (x === "--dry-run") a.dryRun = true;
    else if (x === "--embedded") a.embedded = true;
    else if (x === "--help" || x === "-h") a.help = true;
    else if (x.startsWith("--")) throw new Error(`unknown option ${x}`);
    else a.positional.push(x);
  }
  return a;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const env = process.env;

  if (args.positional.length === 0) {
    const logger = createLogger();
    const stack = args.stack ?? env.AUTOMATION_STACK ?? "dev";
    const service = await AutomationService.fromEnvironment({ stack, configFile: args.config, env, logger });
    await service.start();
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping");
      // Bounded (runner.shutdownSeconds, below the pod's terminationGracePeriodSeconds); the
      // timer is the last resort should something not honour its bound.
      const bound = service.applier.config.runner.shutdownSeconds * 1000;
      setTimeout(() => process.exit(1), bound + 1000).unref();
      service.stop(bound).then(
        (clean) => process.exit(clean ? 0 : 1),
        (e) => {
          logger.error({ err: (e as Error).message }, "stop failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    return -1; // keep running
  }

  if (args.positional[0] !== "run" || args.positional.length !== 2) {
    console.error(usage);
    return 2;
  }
  if (!args.stack && !env.AUTOMATION_STACK && !args.config) {
    console.error(`run needs --stack <name>\n${usage}`);
    return 2;
  }
  const target = args.positional[1]!;
  // A run that changes the stack must be recorded where the service records its own, under the same
  // leader lock and fencing: the service's database (the Secret pyairtable-automation-database).
  if (!args.dryRun && !args.embedded && !env.DATABASE_URL && !env.DATABASE_URL_FILE && !env.AUTOMATION_DATA_DIR) {
    console.error(`run ${target} changes the stack: it must use the service's database (DATABASE_URL), so that it takes the service's leader lock and the service sees the decision.
In the cluster: kubectl -n ${namespaces.automation} exec deploy/pyairtable-automation -- node --import tsx scripts/automation.ts run ${target} --stack <stack>
or POST /api/runs (docs/automation.md, "Requesting runs"). For a throw-away local run, pass --embedded.`);
    return 2;
  }
  const cmd: OneShotCommand = target === "predict" ? { kind: "predict" } : target === "budget-check" ? { kind: "budget-check" } : { kind: "profile", profile: target };
  // One-shot output is for people: logs go to stderr, results to stdout.
  const logger = createLogger({ level: env.LOG_LEVEL ?? "warn", destination: process.stderr });
  const config = loadConfigFromEnv(args.stack ?? env.AUTOMATION_STACK, env, args.config);
  const store = await openStore(env, { onBackgroundError: (e) => logger.warn({ err: e.message }, "database connection error") });
  try {
    const budget = cmd.kind === "budget-check" ? await createBudgetInputs(config, logger, env) : {};
    return await runOneShot(cmd, {
      config,
      store,
      runner: createRunner(config, logger, env),
      logger,
      dryRun: args.dryRun,
      out: (l) => console.log(l),
      forecaster: cmd.kind === "predict" ? await createForecaster(logger, config, store) : undefined,
      ...budget,
    });
  } finally {
    await store.close();
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e) => {
    if (e instanceof AutomationConfigError) console.error(e.message);
    else console.error(`automation: ${e instanceof Error ? e.message : String(e)}`); // one message, never a stack trace
    process.exit(2);
  },
);
