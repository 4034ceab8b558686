/**
 * Rewrites the README's service catalog section (between `<!-- service-catalog:begin -->` and
 * `<!-- service-catalog:end -->`) from the catalog and the prod/dev stack files. Nothing else in
 * README.md changes. `--check` only reports (exit code 1 when the section is out of date).
 *
 *   npm run readme:catalog            # rewrite
 *   npm run readme:catalog -- --check # verify
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { serviceCatalog } from "../lib/catalog/services";
import { readmeCatalogSection, readmeCatalogSectionBody, renderServiceCatalogTable, replaceReadmeCatalogSection } from "../lib/catalog/serviceTable";
import { rawConfigFromRuntimeConfig } from "../lib/config/load";
import { parseSettings, type ServiceReplicaSettings } from "../lib/config/settings";
import { offlineStackConfig } from "../lib/plan/stackConfig";
import { designReactionTargets } from "../lib/scaling/responseTime";

const repoRoot = path.resolve(__dirname, "..");

/** A stack's validated replica ranges (secrets are offline placeholders, never read). */
function rangesOf(stack: string): ServiceReplicaSettings {
  const offline = offlineStackConfig(repoRoot, stack);
  return parseSettings(stack, rawConfigFromRuntimeConfig(offline.config, new Set(offline.secretKeys))).services;
}

function main(argv: readonly string[]): number {
  const check = argv.includes("--check");
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`usage: readme-catalog [--check] (unknown: ${unknown.join(" ")})`);
    return 2;
  }
  const readmePath = path.join(repoRoot, "README.md");
  const readme = fs.readFileSync(readmePath, "utf8");
  const body = readmeCatalogSectionBody(
    renderServiceCatalogTable(serviceCatalog, { prod: rangesOf("prod"), dev: rangesOf("dev") }, designReactionTargets),
  );
  if (readmeCatalogSection(readme) === body) {
    console.log("README.md service catalog is up to date");
    return 0;
  }
  if (check) {
    console.error("README.md service catalog is out of date: run `npm run readme:catalog`");
    return 1;
  }
  fs.writeFileSync(readmePath, replaceReadmeCatalogSection(readme, body));
  console.log("README.md service catalog updated");
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exitCode = 2;
}
