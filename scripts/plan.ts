/**
 * `npm run plan -- --stack <name> [--preview] [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown]`
 *
 * Shows what a stack would deploy without the Pulumi CLI or cloud credentials: validates the stack
 * file, runs the program under Pulumi's mock runtime (or reads a saved plan with --input), has the
 * policy pack judge it (served exactly as `pulumi preview --policy-pack policies` serves it, started
 * while the program runs) with the stack's policy config, and prices the result with the cost model.
 * `--preview` plans a first preview: outputs of resources not created yet are unknown.
 *
 * Exit codes: 0 ok (advisory findings allowed), 2 bad usage or configuration, 3 mandatory policy
 * violations, 1 anything else (the policy pack failing to start among them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { SettingsError } from "../lib/config/settings";
import { StackFileError } from "../lib/config/load";
import { planStack, projectDir, stackSettings } from "../lib/plan/plan";
import { readProjectName } from "../lib/plan/stackConfig";
import { capacityFigures, formatTable, resourcesByComponent } from "../lib/plan/summary";
import { kubernetesObjects, reviewFilesFromObjects, writeManifests } from "../lib/plan/manifests";
import { readPlanFile, PlanFileError } from "../lib/plan/planFile";
import { groupViolations, policyConfigPath, reviewPlan } from "../lib/plan/review";
import { PolicyConfigError, type Violation } from "../lib/policy/evaluate";
import { PolicyPackStartError, ServedPolicyPack } from "../lib/policy/servedPack";
import { compareWithDesign, formatCostMarkdown, formatCostTable } from "../lib/cost/report";
import { formatUsd } from "../lib/cost/prices";
import { renderAlertmanagerFileForReview } from "../components/monitoring";
import type { PlannedResource } from "../lib/plan/mockRuntime";

const usage = "usage: npm run plan -- --stack <name> [--preview] [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown] [--project-dir <dir>]";

interface Options {
  stack?: string;
  json?: string;
  manifests?: string;
  input?: string;
  format?: string;
  "project-dir"?: string;
  preview?: boolean;
  help?: boolean;
}

async function main(argv: string[]): Promise<number> {
  let values: Options;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" }, json: { type: "string" }, manifests: { type: "string" }, input: { type: "string" },
        format: { type: "string" }, "project-dir": { type: "string" }, preview: { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.stack) {
    console.error(`--stack is required\n${usage}`);
    return 2;
  }
  const format = values.format ?? "text";
  if (format !== "text" && format !== "markdown") {
    console.error(`--format = ${JSON.stringify(format)}: must be text or markdown\n${usage}`);
    return 2;
  }
  const dir = values["project-dir"] ? path.resolve(values["project-dir"]) : projectDir;

  const started = process.hrtime.bigint();
  // The pack type-checks and loads in its own process while this one runs the program.
  // The stack file first: a bad one is reported at once, before anything starts.
  let project: string;
  try {
    project = readProjectName(dir);
    stackSettings(values.stack, dir);
  } catch (e) {
    if (e instanceof SettingsError || e instanceof StackFileError || e instanceof PlanFileError || !(e instanceof Error) || /Pulumi\.yaml/.test(e.message)) {
      console.error(`error: ${(e as Error).message}`);
      console.error("nothing was planned: fix the stack file and run again.");
      return 2;
    }
    throw e;
  }
  const stopPack = new AbortController();
  const packStarting = ServedPolicyPack.start({ packDir: path.join(projectDir, "policies"), project, stack: values.stack, dryRun: true, signal: stopPack.signal });
  packStarting.catch(() => undefined); // handled where it is awaited
  try {
    return await planWithPack(values, format, dir, started, packStarting);
  } finally {
    stopPack.abort(); // a pack still starting is stopped; a started one is closed
    await packStarting.then((pack) => pack.close(), () => undefined);
  }
}

async function planWithPack(values: Options, format: string, dir: string, started: bigint, packStarting: Promise<ServedPolicyPack>): Promise<number> {
  const stack = values.stack!;
  let resources: PlannedResource[];
  let environment: "prod" | "dev";
  let region: string | undefined;
  let placeholderKeys: string[] = [];
  let project: string;
  try {
    if (values.input) {
      const { settings, offline } = stackSettings(stack, dir);
      const saved = readPlanFile(path.resolve(values.input));
      if (saved.stack !== stack) throw new PlanFileError(`--input ${values.input} is a plan of stack '${saved.stack}', not '${stack}'`);
      resources = saved.resources;
      environment = settings.environment;
      region = offline.stackFile.config["aws:region"] as string | undefined;
      project = saved.project;
    } else {
      const plan = await planStack(stack, { projectDir: dir, programPath: path.join(projectDir, "index.ts"), preview: values.preview });
      resources = plan.resources;
      environment = plan.settings.environment;
      region = plan.stackFile.config["aws:region"] as string | undefined;
      placeholderKeys = plan.placeholderKeys;
      project = plan.project;
    }
  } catch (e) {
    if (e instanceof SettingsError || e instanceof StackFileError || e instanceof PlanFileError) {
      console.error(`error: ${e.message}`);
      console.error("nothing was planned: fix the stack file and run again.");
      return 2;
    }
    throw e;
  }

  let review;
  try {
    const pack = await packStarting;
    review = await reviewPlan(resources, environment, policyConfigPath(dir, stack), (rs, config) => pack.evaluate(rs, config));
  } catch (e) {
    if (e instanceof PolicyConfigError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof PolicyPackStartError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const comparison = compareWithDesign(review.estimate, environment);
  const mandatory = review.violations.filter((v) => v.enforcementLevel === "mandatory");

  if (format === "markdown") {
    console.log(markdownReport(stack, review.violations, formatCostMarkdown(review.estimate, comparison)));
  } else {
    const custom = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    const mode = values.preview ? "first preview: outputs of new resources unknown" : "update of an existing stack";
    console.log(`Plan for stack '${stack}' of project '${project}' (${values.input ? `saved plan ${values.input}` : "offline, Pulumi mock runtime"}, ${mode}, ${seconds.toFixed(2)} s)`);
    console.log(`${custom.length} resources in ${resources.filter((r) => !r.custom).length - (values.input ? 0 : 1)} components\n`);
    console.log("Resources by component");
    for (const c of resourcesByComponent(resources)) {
      console.log(`  ${c.name} (${c.type}): ${c.resourceCount}`);
      for (const [type, n] of Object.entries(c.byType).sort()) console.log(`      ${String(n).padStart(3)}  ${type}`);
    }
    console.log("\nCapacity");
    console.log(indent(formatTable(capacityFigures(resources).map((f) => [f.area, f.figure, f.value]), ["area", "figure", "value"])));

    console.log(`\nCost (us-east-1 list prices; usage assumptions from ${path.relative(process.cwd(), review.policyConfigFile)})`);
    console.log(indent(formatCostTable(review.estimate)));
    console.log(`\n  Design's table: ${formatUsd(comparison.designTotalUsd)}/month; this estimate: ${formatUsd(comparison.estimateTotalUsd)} (${comparison.deltaUsd >= 0 ? "+" : ""}${formatUsd(comparison.deltaUsd)}).`);
    for (const row of comparison.rows.filter((r) => Math.abs(r.deltaUsd) >= 0.5)) {
      console.log(`    ${row.item}: ${row.designUsd === null ? "not in the design" : formatUsd(row.designUsd)} -> ${formatUsd(row.estimateUsd)}: ${row.explanation}`);
    }

    console.log(`\nPolicies (${path.relative(process.cwd(), review.policyConfigFile)})`);
    if (review.violations.length === 0) console.log("  no violations");
    for (const [level, list] of groupViolations(review.violations)) {
      console.log(`  ${level} (${list.length})`);
      for (const v of list) console.log(`    [${v.policy}] ${v.message}\n        ${v.urn}`);
    }

    if (placeholderKeys.length > 0) {
      console.log(`\nSecrets are not decrypted offline; masked placeholders stood in for: ${placeholderKeys.join(", ")}.`);
      console.log("`pulumi up` requires them to be set with `pulumi config set --secret <key> <value>`.");
    }
  }

  if (values.manifests) {
    const out = path.resolve(values.manifests);
    const objects = kubernetesObjects(resources);
    const alertmanager = renderAlertmanagerFileForReview({ environment, smtp: {}, region });
    const written = writeManifests(out, resources, [...reviewFilesFromObjects(objects), { name: "alertmanager.yml", content: alertmanager }]);
    log(format, `\nWrote ${objects.length} Kubernetes objects and review files to ${out}:\n${written.map((f) => `  ${path.relative(process.cwd(), f)}`).join("\n")}`);
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
    log(format, `\nWrote ${doc.resources.length} resources, ${doc.violations.length} violations and the cost breakdown to ${file}`);
  }

  if (mandatory.length > 0) {
    console.error(`\n${mandatory.length} mandatory policy violation${mandatory.length === 1 ? "" : "s"}: ${[...new Set(mandatory.map((v) => v.policy))].join(", ")}`);
    return 3;
  }
  return 0;
}

/** Progress lines go to stderr in Markdown mode, so stdout stays a clean pull-request comment. */
function log(format: string, text: string): void {
  if (format === "markdown") console.error(text);
  else console.log(text);
}

function markdownReport(stack: string, violations: readonly Violation[], costMarkdown: string): string {
  const lines = [`## Plan review: \`${stack}\``, ""];
  if (violations.length === 0) lines.push("No policy violations.", "");
  else {
    lines.push("| level | policy | resource | message |", "|---|---|---|---|");
    for (const [, list] of groupViolations(violations)) {
      for (const v of list) lines.push(`| ${v.enforcementLevel} | \`${v.policy}\` | \`${v.urn.split("::").pop()}\` | ${v.message.replace(/\|/g, "\\|")} |`);
    }
    lines.push("");
  }
  lines.push(costMarkdown);
  return lines.join("\n");
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
