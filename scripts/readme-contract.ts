/**
 * Writes the workload contract's generated files (docs/workload-contract.md, the Helm values and
 * Kustomize components under contracts/workload-contract/) and the README's spot-share section
 * (between `<!-- spot-simulation:begin -->` and `<!-- spot-simulation:end -->`), from the catalog and
 * the NodePools the prod and dev plans render. `--check` only reports (exit code 1 when out of date).
 *
 *   npm run readme:contract            # rewrite
 *   npm run readme:contract -- --check # verify
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { contractFiles } from "../lib/workloads/contractDocs";
import { readmeSection, replaceReadmeSection } from "../lib/readme";
import { spotSimulationSection } from "../lib/workloads/spotSimulationReport";

const repoRoot = path.resolve(__dirname, "..");

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes("--check");
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`usage: readme-contract [--check] (unknown: ${unknown.join(" ")})`);
    return 2;
  }
  const stale: string[] = [];
  for (const [file, content] of Object.entries(contractFiles())) {
    const full = path.join(repoRoot, file);
    if (fs.existsSync(full) && fs.readFileSync(full, "utf8") === content) continue;
    stale.push(file);
    if (!check) {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
    }
  }
  const readmePath = path.join(repoRoot, "README.md");
  const readme = fs.readFileSync(readmePath, "utf8");
  const body = await spotSimulationSection(repoRoot);
  if (readmeSection(readme, "spot-simulation") !== body) {
    stale.push("README.md (spot-simulation)");
    if (!check) fs.writeFileSync(readmePath, replaceReadmeSection(readme, "spot-simulation", body));
  }
  if (stale.length === 0) {
    console.log("workload contract files and README spot-simulation section are up to date");
    return 0;
  }
  if (check) {
    console.error(`out of date: ${stale.join(", ")}: run \`npm run readme:contract\``);
    return 1;
  }
  console.log(`updated: ${stale.join(", ")}`);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exitCode = 2;
});
