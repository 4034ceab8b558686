/**
 * A fingerprint of what the README's generated replay section is computed from, so a fast test can
 * tell that the section is stale without re-running the replay (the plan alone takes about a
 * minute). It covers the files the replay reads directly: its own code and generator, the EC2 data,
 * prod's stack and automation settings, the scaling timings, the workload contract and the cost
 * model, and the default trace mapping with each trace's size. A change elsewhere in the program
 * that moves the rendered objects is not seen (only `npm run readme:replay -- --check` sees it).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultTraceMapping, defaultTracesDir } from "./load";

/** Files and directories (every file under them), relative to the repository root. */
export const replayInputPaths = [
  "automation/replay",
  "scripts/readme-replay.ts",
  "data/aws",
  "Pulumi.prod.yaml",
  "automation/config/prod.yaml",
  "lib/scaling/responseTime.ts",
  "lib/workloads/contract.ts",
  "lib/cost/ec2.ts",
  "lib/cost/estimate.ts",
  "lib/cost/prices.ts",
] as const;

function filesUnder(root: string, rel: string): string[] {
  const abs = path.join(root, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs).sort().flatMap((name) => filesUnder(root, path.posix.join(rel, name)));
}

/** sha256 (first 16 hex digits) over the inputs' paths and contents, line endings normalised. */
export function replayInputsFingerprint(root: string, tracesDir = defaultTracesDir): string {
  const hash = createHash("sha256");
  for (const rel of replayInputPaths.flatMap((p) => filesUnder(root, p))) {
    hash.update(`${rel}\0${fs.readFileSync(path.join(root, rel), "utf8").replace(/\r\n/g, "\n")}\0`);
  }
  for (const row of defaultTraceMapping) {
    const file = path.join(tracesDir, row.file);
    hash.update(`${row.service}\0${row.file}\0${row.from ?? ""}\0${fs.existsSync(file) ? fs.statSync(file).size : -1}\0`);
  }
  return hash.digest("hex").slice(0, 16);
}
