/**
 * `npm run plan -- --stack <prod|dev> [--json <file>]`
 *
 * Shows what a stack would deploy without the Pulumi CLI or cloud credentials: validates the stack
 * file, runs the program under Pulumi's mock runtime and prints resources by component and the key
 * capacity figures. Exit codes: 0 ok, 2 bad usage or configuration, 1 anything else.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { SettingsError } from "../lib/config/settings";
import { StackFileError } from "../lib/config/load";
import { planStack, projectDir } from "../lib/plan/plan";
import { capacityFigures, formatTable, resourcesByComponent } from "../lib/plan/summary";

const usage = "usage: npm run plan -- --stack <name> [--json <file>] [--project-dir <dir>]";

async function main(argv: string[]): Promise<number> {
  let values: { stack?: string; json?: string; "project-dir"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { stack: { type: "string" }, json: { type: "string" }, "project-dir": { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }));
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

  const started = process.hrtime.bigint();
  let plan;
  try {
    const dir = values["project-dir"] ? path.resolve(values["project-dir"]) : undefined;
    plan = await planStack(values.stack, dir ? { projectDir: dir, programPath: path.join(projectDir, "index.ts") } : {});
  } catch (e) {
    if (e instanceof SettingsError || e instanceof StackFileError) {
      console.error(`error: ${e.message}`);
      console.error("nothing was planned: fix the stack file and run again.");
      return 2;
    }
    throw e;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const custom = plan.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
  console.log(`Plan for stack '${plan.stack}' of project '${plan.project}' (offline, Pulumi mock runtime, ${seconds.toFixed(2)} s)`);
  console.log(`${custom.length} resources in ${plan.resources.filter((r) => !r.custom).length - 1} components\n`);

  console.log("Resources by component");
  for (const c of resourcesByComponent(plan.resources)) {
    console.log(`  ${c.name} (${c.type}): ${c.resourceCount}`);
    for (const [type, n] of Object.entries(c.byType).sort()) console.log(`      ${String(n).padStart(3)}  ${type}`);
  }

  console.log("\nCapacity");
  console.log(indent(formatTable(capacityFigures(plan.resources).map((f) => [f.area, f.figure, f.value]), ["area", "figure", "value"])));

  if (plan.placeholderKeys.length > 0) {
    console.log(`\nSecrets are not decrypted offline; masked placeholders stood in for: ${plan.placeholderKeys.join(", ")}.`);
    console.log("`pulumi up` requires them to be set with `pulumi config set --secret <key> <value>`.");
  }
  if (plan.unknownInvokes.length > 0) console.log(`\nNote: the mocks answered these invokes generically: ${[...new Set(plan.unknownInvokes)].join(", ")}`);

  if (values.json) {
    const file = path.resolve(values.json);
    const doc = {
      stack: plan.stack,
      project: plan.project,
      resources: plan.resources.map(({ urn, type, name, parent, inputs }) => ({ urn, type, name, parent, inputs })),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
    console.log(`\nWrote ${doc.resources.length} resources to ${file}`);
  }
  return 0;
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
