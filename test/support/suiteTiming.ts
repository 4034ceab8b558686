/**
 * Mocha global fixtures (run once, in mocha's main process, also in parallel mode): record the wall
 * time of the whole run in out/test-times.json under the suite's name, for `npm run bench`. Loaded by
 * both suites' mocha configs (`require`); a targeted run with --no-config records nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const file = path.resolve(__dirname, "../../out/test-times.json");
let startedAt = 0;

/** "integration" for the integration suite's config, "fast" for `npm test`'s default config. */
function suiteName(): string {
  return process.argv.some((a) => a.includes(".mocharc.integration")) ? "integration" : "fast";
}

export function mochaGlobalSetup(): void {
  startedAt = Date.now();
}

export function mochaGlobalTeardown(): void {
  let times: Record<string, unknown> = {};
  try {
    times = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // first run, or an unreadable file: start afresh
  }
  times[suiteName()] = { seconds: Math.round((Date.now() - startedAt) / 100) / 10, finishedAt: new Date().toISOString(), node: process.version };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(times, null, 2) + "\n");
}
