/**
 * `npm run plan -- --stack <name> [--preview] [--verbose] [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown] [--evaluation-date YYYY-MM-DD]`
 * (also installed as the `pyairtable-plan` bin: `npx pyairtable-plan --stack prod --format markdown`
 * prints no npm banner; through npm use `npm run -s plan -- ...`).
 *
 * Shows what a stack would deploy without the Pulumi CLI or cloud credentials: validates the stack
 * file, runs the program under Pulumi's mock runtime (or reads a saved plan with --input), has the
 * policy pack judge it (served exactly as `pulumi preview --policy-pack policies` serves it, started
 * while the program runs) with the stack's policy config, and prices the result with the cost model.
 * `--preview` plans a first preview: outputs of resources not created yet are unknown.
 *
 * The default text fits a screen (verdict first: policies, cost against the budget, key capacity;
 * then a compact summary); `--verbose` adds the per-resource and per-line tables.
 *
 * Exit codes: 0 ok (advisory findings allowed), 2 bad usage or configuration (the stack file, a saved
 * plan, the policy config), 3 mandatory policy violations, 1 anything else (the policy pack failing
 * to start among them). Every failure is one message on stderr, never a stack trace.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { SettingsError, settingsWarnings } from "../lib/config/settings";
import { StackFileError } from "../lib/config/load";
import { planStack, projectDir, stackSettings } from "../lib/plan/plan";
import { readProjectName } from "../lib/plan/stackConfig";
import { formatResourceCount, resourceCount } from "../lib/plan/summary";
import { formatTextReport, planStageCount, planStages } from "../lib/plan/textReport";
import { humanSteps, unsetSecretKeys } from "../lib/plan/humanSteps";
import { placeholderWarnings } from "../lib/config/placeholders";
import { kubernetesObjects, reviewFilesFromObjects, writeManifests } from "../lib/plan/manifests";
import { readPlanFile, PlanFileError, type PlanFile } from "../lib/plan/planFile";
import { groupViolations, policyConfigPath, reviewPlan } from "../lib/plan/review";
import { PolicyConfigError, type Violation } from "../lib/policy/evaluate";
import { evaluationDateEnv, parseIsoDay } from "../lib/catalog/eksVersions";
import { PolicyPackStartError, ServedPolicyPack } from "../lib/policy/servedPack";
import { compareWithDesign, formatCostMarkdown } from "../lib/cost/report";
import { renderAlertmanagerFileForReview } from "../components/monitoring";
import { checkNamespaceQuotas } from "../components/quotaCheck";
import type { PlannedResource } from "../lib/plan/mockRuntime";

const usage = "usage: npm run plan -- --stack <name> [--preview] [--verbose] [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown] [--project-dir <dir>] [--evaluation-date YYYY-MM-DD]";

interface Options {
  stack?: string;
  json?: string;
  manifests?: string;
  input?: string;
  format?: string;
  "project-dir"?: string;
  "evaluation-date"?: string;
  preview?: boolean;
  verbose?: boolean;
  help?: boolean;
}

/** One line on stderr as each stage starts (no spinner: a log keeps every line). */
let stageNumber = 0;
function progress(stage: keyof typeof planStages): void {
  stageNumber++;
  console.error(`plan: [${stageNumber}/${planStageCount}] ${planStages[stage]} (${process.uptime().toFixed(1)} s)`);
}

/** A failure with its own message and exit code: printed as one `error:` message, no stack trace. */
class CommandError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Known failures: one message naming the cause and what to fix, and the exit code. */
function describeFailure(e: unknown, values: Options | undefined, dir: string | undefined): { message: string; exitCode: number } {
  if (e instanceof CommandError) return { message: e.message, exitCode: e.exitCode };
  if (e instanceof PlanFileError) {
    const file = values?.input ? path.resolve(values.input) : "the saved plan";
    const rewrite = `npm run plan -- --stack ${values?.stack ?? "<name>"} --json <file>`;
    return { message: `${e.message}\nnothing was planned: the saved plan ${file} (--input) is the cause, not the stack file; fix it or write a new one with \`${rewrite}\`.`, exitCode: 2 };
  }
  if (e instanceof StackFileError) return { message: `${e.message}\nnothing was planned: name a stack that has a stack file.`, exitCode: 2 };
  if (e instanceof SettingsError) {
    const file = values?.stack && dir ? path.relative(process.cwd(), path.join(dir, `Pulumi.${values.stack}.yaml`)) : "the stack file";
    return { message: `${e.message}\nnothing was planned: fix ${file} and run again.`, exitCode: 2 };
  }
  if (e instanceof PolicyConfigError) return { message: `${e.message}\nnothing was reviewed: fix the policy config and run again.`, exitCode: 2 };
  if (e instanceof PolicyPackStartError) return { message: e.message, exitCode: 1 };
  const message = e instanceof Error ? e.message : String(e);
  return { message: `${message}\n(an unexpected failure: run with PLAN_DEBUG=1 to see where it happened)`, exitCode: 1 };
}

async function main(argv: string[]): Promise<number> {
  let values: Options;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" }, json: { type: "string" }, manifests: { type: "string" }, input: { type: "string" },
        format: { type: "string" }, "project-dir": { type: "string" }, "evaluation-date": { type: "string" }, preview: { type: "boolean" }, verbose: { type: "boolean", short: "v" }, help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new CommandError(`${(e as Error).message}\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  current.values = values;
  if (!values.stack) throw new CommandError(`--stack is required\n${usage}`, 2);
  const format = values.format ?? "text";
  if (format !== "text" && format !== "markdown") throw new CommandError(`--format = ${JSON.stringify(format)}: must be text or markdown\n${usage}`, 2);
  const dir = values["project-dir"] ? path.resolve(values["project-dir"]) : projectDir;
  current.dir = dir;
  // The day the EKS calendar is judged on (settings warnings, cost model, the pack's dated policies):
  // --evaluation-date, else $PYAIRTABLE_EVALUATION_DATE, else today. Set in this process's environment
  // before the program runs and the pack starts (which inherits it), and pinned in the policy config.
  const evaluationDate = values["evaluation-date"] ?? (process.env[evaluationDateEnv] || undefined);
  if (evaluationDate !== undefined) {
    const what = values["evaluation-date"] !== undefined ? "--evaluation-date" : evaluationDateEnv;
    try {
      parseIsoDay(evaluationDate, what);
    } catch (e) {
      throw new CommandError(`${(e as Error).message}\n${usage}`, 2);
    }
    process.env[evaluationDateEnv] = evaluationDate;
  }

  progress("settings");
  // Everything that can be checked without the pack is checked before it starts: the project file,
  // the stack file with its settings (namespace quotas included), and a saved plan (--input).
  let project: string;
  try {
    project = readProjectName(dir);
  } catch (e) {
    throw new CommandError(`${(e as Error).message}\nnothing was planned: --project-dir must hold the project's Pulumi.yaml.`, 2);
  }
  const { settings } = stackSettings(values.stack, dir);
  checkNamespaceQuotas(values.stack, settings);
  // Settings warnings (e.g. the EKS version leaving standard support within 60 days) go to stderr,
  // so a markdown comment on stdout stays clean. The program logs them itself when it runs
  // (`warning: [runtime] ...`); a saved plan runs no program, so they are printed here.
  if (values.input) {
    for (const warning of settingsWarnings(settings)) console.error(`warning: ${warning}`);
    for (const warning of placeholderWarnings(stackSettings(values.stack, dir).offline.stackFile.config)) console.error(`warning: ${warning}`);
  }
  let saved: PlanFile | undefined;
  if (values.input) {
    saved = readPlanFile(path.resolve(values.input));
    if (saved.stack !== values.stack) throw new PlanFileError(`--input ${values.input} is a plan of stack '${saved.stack}', not '${values.stack}'`);
  }
  // The pack type-checks and loads in its own process while this one runs the program.
  const stopPack = new AbortController();
  const packStarting = ServedPolicyPack.start({ packDir: path.join(projectDir, "policies"), project, stack: values.stack, dryRun: true, signal: stopPack.signal });
  packStarting.catch(() => undefined); // handled where it is awaited
  Object.assign(current, { stopPack, packStarting });
  try {
    return await planWithPack(values, format, dir, saved, packStarting);
  } finally {
    stopPack.abort(); // a pack still starting is stopped; a started one is closed
    await packStarting.then((pack) => pack.close(), () => undefined);
  }
}

async function planWithPack(values: Options, format: string, dir: string, saved: PlanFile | undefined, packStarting: Promise<ServedPolicyPack>): Promise<number> {
  const stack = values.stack!;
  let resources: PlannedResource[];
  let environment: "prod" | "dev";
  let region: string | undefined;
  let placeholderKeys: string[] = [];
  let project: string;
  progress(saved ? "savedPlan" : "program");
  const { settings, offline: stackConfig } = stackSettings(stack, dir);
  if (saved) {
    resources = saved.resources;
    environment = settings.environment;
    region = stackConfig.stackFile.config["aws:region"] as string | undefined;
    project = saved.project;
  } else {
    const plan = await planStack(stack, { projectDir: dir, programPath: path.join(projectDir, "index.ts"), preview: values.preview });
    resources = plan.resources;
    environment = plan.settings.environment;
    region = plan.stackFile.config["aws:region"] as string | undefined;
    placeholderKeys = plan.placeholderKeys;
    project = plan.project;
  }

  const pack = await packStarting;
  progress("policies");
  const evaluationDate = process.env[evaluationDateEnv] || undefined;
  const review = await reviewPlan(resources, environment, policyConfigPath(dir, stack), (rs, config) => pack.evaluate(rs, config), { evaluationDate });
  progress("report");
  const comparison = compareWithDesign(review.estimate, environment);
  const steps = humanSteps({
    resources,
    unsetSecretKeys: unsetSecretKeys(stackConfig.stackFile),
    costAllocationTagActivation: settings.budgets.costAllocationTagActivation,
  });
  const mandatory = review.violations.filter((v) => v.enforcementLevel === "mandatory");
  const after: string[] = [];

  if (values.manifests) {
    const out = path.resolve(values.manifests);
    const objects = kubernetesObjects(resources);
    const alertmanager = renderAlertmanagerFileForReview({ environment, smtp: {}, region });
    const written = writeManifests(out, resources, [...reviewFilesFromObjects(objects), { name: "alertmanager.yml", content: alertmanager }]);
    after.push(`Wrote ${objects.length} Kubernetes objects and review files (${written.length} files) to ${path.relative(process.cwd(), out) || "."}`);
    if (values.verbose) after.push(...written.map((f) => `  ${path.relative(process.cwd(), f)}`));
  }

  if (values.json) {
    const file = path.resolve(values.json);
    const doc = {
      stack: stack,
      project,
      resources: resources.map(({ urn, type, name, parent, inputs, dependencies, propertyDependencies, aliases }) => ({ urn, type, name, parent, inputs, dependencies, propertyDependencies, ...(aliases ? { aliases } : {}) })),
      violations: review.violations.map(({ policy, enforcementLevel, urn, message }) => ({ policy, enforcementLevel, urn, message })),
      cost: {
        monthlyUsd: review.estimate.monthlyUsd,
        dailyUsd: review.estimate.dailyUsd,
        items: review.estimate.items.map(({ urn, type, monthlyUsd, basis }) => ({ urn, type, monthlyUsd, basis })),
        unpriced: review.estimate.unpriced.map(({ urn, type, reason }) => ({ urn, type, reason })),
      },
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
    after.push(`Wrote ${doc.resources.length} resources, ${doc.violations.length} violations and the cost breakdown to ${path.relative(process.cwd(), file)}`);
  }

  // The whole command's wall time, from process start (the policy pack's start-up included).
  const seconds = process.uptime();
  if (format === "markdown") {
    console.log(markdownReport(stack, resources, review.violations, formatCostMarkdown(review.estimate, comparison)));
    for (const line of after) console.error(line); // stdout stays a clean pull-request comment
  } else {
    const lines = formatTextReport({
      stack,
      project,
      source: values.input ? `saved plan ${values.input}` : "offline, Pulumi mock runtime",
      preview: values.preview ?? false,
      seconds,
      resources,
      violations: review.violations,
      policyConfigFile: path.relative(process.cwd(), review.policyConfigFile),
      estimate: review.estimate,
      comparison,
      placeholderKeys,
      humanSteps: steps,
      verbose: values.verbose ?? false,
    });
    console.log([...lines, ...after].join("\n"));
  }

  if (mandatory.length > 0) {
    console.error(`error: ${mandatory.length} mandatory policy violation${mandatory.length === 1 ? "" : "s"}: ${[...new Set(mandatory.map((v) => v.policy))].join(", ")}`);
    return 3;
  }
  return 0;
}

function markdownReport(stack: string, resources: readonly PlannedResource[], violations: readonly Violation[], costMarkdown: string): string {
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
  const verdict = violations.length === 0 ? "PASS, no policy violations" : mandatory ? `FAIL, ${mandatory} mandatory violation(s)` : `PASS, ${violations.length} advisory finding(s)`;
  const lines = [`## Plan review: \`${stack}\``, "", `**Policies: ${verdict}.** ${formatResourceCount(resourceCount(resources))}.`, ""];
  if (violations.length > 0) {
    lines.push("| level | policy | resource | message |", "|---|---|---|---|");
    for (const [, list] of groupViolations(violations)) {
      for (const v of list) lines.push(`| ${v.enforcementLevel} | \`${v.policy}\` | \`${v.urn.split("::").pop()}\` | ${v.message.replace(/\|/g, "\\|")} |`);
    }
    lines.push("");
  }
  lines.push(costMarkdown);
  return lines.join("\n");
}

/** What main knew when it failed, for the failure message. */
const current: { values?: Options; dir?: string; stopPack?: AbortController; packStarting?: Promise<ServedPolicyPack>; failed?: boolean } = {};

function fail(e: unknown): void {
  if (current.failed) return; // the first failure is the message; later ones follow from it
  current.failed = true;
  const { message, exitCode } = describeFailure(e, current.values, current.dir);
  console.error(`error: ${message}`);
  if (process.env.PLAN_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
  // A pack still starting is stopped, a started one closed, before the process exits.
  current.stopPack?.abort();
  const closed = current.packStarting?.then((pack) => pack.close(), () => undefined) ?? Promise.resolve();
  void Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]).finally(() => process.exit(exitCode));
}

// The program runs inside the SDK's runtime, where a throw can surface as an uncaught exception.
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);
main(process.argv.slice(2)).then((code) => process.exit(code), fail);
