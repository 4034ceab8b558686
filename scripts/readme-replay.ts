/**
 * Writes the README's replay section (between `<!-- replay:begin -->` and `<!-- replay:end -->`):
 * the default replay of prod (30 days of the default traces from 2026-11-02, seed 1) as the scenario
 * table, the cost table and the design's KPI table. `--check` only reports (exit 1 when out of date).
 * The replay is deterministic for a seed, a stack and the traces, so the section changes only when
 * one of them does.
 *
 *   npm run readme:replay            # rewrite
 *   npm run readme:replay -- --check # verify
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generatedSectionBody, readmeSection, replaceReadmeSection } from "../lib/readme";
import { planStack } from "../lib/plan/plan";
import { serviceNames } from "../lib/catalog/services";
import { defaultLoad } from "../automation/replay/load";
import { replayStackFromPlan } from "../automation/replay/stack";
import { runReplay } from "../automation/replay/scenarios";
import { formatMarkdown } from "../automation/replay/report";
import { replayInputsFingerprint } from "../automation/replay/fingerprint";

const repoRoot = path.resolve(__dirname, "..");

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes("--check");
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`usage: readme-replay [--check] (unknown: ${unknown.join(" ")})`);
    return 2;
  }
  const days = 30;
  const startMs = Date.UTC(2026, 10, 2);
  const plan = await planStack("prod");
  const stack = replayStackFromPlan(plan, { asOf: new Date(startMs) });
  const loads = serviceNames.map((s) => defaultLoad(s, startMs, days));
  const report = runReplay({ stack, loads, startMs, days, seed: 1 });
  const body = generatedSectionBody(`${formatMarkdown(report)}\n\nCommand: \`npm run -s replay -- --stack prod --format markdown\` (defaults: 30 days from 2026-11-02, seed 1). Inputs fingerprint: \`${replayInputsFingerprint(repoRoot)}\` (automation/replay/fingerprint.ts; a test compares it).`, "npm run readme:replay");
  const readmePath = path.join(repoRoot, "README.md");
  const readme = fs.readFileSync(readmePath, "utf8");
  if (readmeSection(readme, "replay") === body) {
    console.log("README.md replay section is up to date");
    return 0;
  }
  if (check) {
    console.error("README.md replay section is out of date: run npm run readme:replay");
    return 1;
  }
  fs.writeFileSync(readmePath, replaceReadmeSection(readme, "replay", body));
  console.log("README.md replay section written");
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
