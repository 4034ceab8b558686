/**
 * `npm run plan -- --stack <name> [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown]`
 *
 * Shows what a stack would deploy without the Pulumi CLI or cloud credentials: validates the stack
 * file, runs the program under Pulumi's mock runtime (or reads a saved plan with --input), runs
 * every policy of the pack with the stack's policy config and prices the result with the cost model.
 *
 * Exit codes: 0 ok (advisory findings allowed), 2 bad usage or configuration, 3 mandatory policy
 * violations, 1 anything else.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { SettingsError } from "../lib/config/settings";
import { StackFileError } from "../lib/config/load";
import { planStack, projectDir, stackSettings } from "../lib/plan/plan";
import { capacityFigures, formatTable, resourcesByComponent } from "../lib/plan/summary";
import { kubernetesObjects, reviewFilesFromObjects, writeManifests } from "../lib/plan/manifests";
import { readPlanFile, PlanFileError } from "../lib/plan/planFile";
import { groupViolations, policyConfigPath, reviewPlan } from "../lib/plan/review";
import { PolicyConfigError, type Violation } from "../lib/policy/evaluate";
import { compareWithDesign, formatCostMarkdown, formatCostTable } from "../lib/cost/report";
import { formatUsd } from "../lib/cost/prices";
import { renderAlertmanagerFileForReview } from "../components/monitoring";
import type { PlannedResource } from "../lib/plan/mockRuntime";

const usage = "usage: npm run plan -- --stack <name> [--json <file>] [--manifests <dir>] [--input <plan.json>] [--format text|markdown] [--project-dir <dir>]";

interface Options {
  stack?: string;
  json?: string;
  manifests?: string;
  input?: string;
  format?: string;
  "project-dir"?: string;
  help?: boolean;
}

async function main(argv: string[]): Promise<number> {
  let values: Options;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" }, json: { type: "string" }, manifests: { type: "string" }, input: { type: "string" },
        format: { type: "string" }, "project-dir": { type: "string" }, help: { type: "boolean", short: "h" },
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
  let resources: PlannedResource[];
  let environment: "prod" | "dev";
  let region: string | undefined;
  let placeholderKeys: string[] = [];
  let project: string;
  try {
    if (values.input) {
      const { settings, offline } = stackSettings(values.stack, dir);
      const saved = readPlanFile(path.resolve(values.input));
      if (saved.stack !== values.stack) throw new PlanFileError(`--input ${values.input} is a plan of stack '${saved.stack}', not '${values.stack}'`);
      resources = saved.resources;
      environment = settings.environment;
      region = offline.stackFile.config["aws:region"] as string | undefined;
      project = saved.project;
    } else {
      const plan = await planStack(values.stack, { projectDir: dir, programPath: path.join(projectDir, "index.ts") });
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
    review = await reviewPlan(resources, environment, policyConfigPath(dir, values.stack));
  } catch (e) {
    if (e instanceof PolicyConfigError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const comparison = compareWithDesign(review.estimate, environment);
  const mandatory = review.violations.filter((v) => v.enforcementLevel === "mandatory");

  if (format === "markdown") {
    console.log(markdownReport(values.stack, review.violations, formatCostMarkdown(review.estimate, comparison)));
  } else {
    const custom = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    console.log(`Plan for stack '${values.stack}' of project '${project}' (${values.input ? `saved plan ${values.input}` : "offline, Pulumi mock runtime"}, ${seconds.toFixed(2)} s)`);
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
      stack: values.stack,
      project,
      resources: resources.map(({ urn, type, name, parent, inputs }) => ({ urn, type, name, parent, inputs })),
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
