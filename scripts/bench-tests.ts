/**
 * `npm run bench`, the test-loop line: how long the test suites take on this machine.
 *
 * By default it is cheap: it prints the wall times the last runs recorded in out/test-times.json
 * (written by test/support/suiteTiming.ts at the end of `npm test` and `npm run test:integration`).
 * With BENCH_TESTS=run it runs `npm test` (type-check and the fast suite, about 3 minutes) and prints
 * that run's wall time. The target (reported against, not asserted): `npm test` at most 180 s.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..");
const timesFile = path.join(repo, "out", "test-times.json");
const targetSeconds = 180;

interface SuiteTime {
  seconds: number;
  finishedAt: string;
  node: string;
}

const verdict = (seconds: number) => (seconds <= targetSeconds ? "PASS" : "MISS");

function main(): void {
  if (process.env.BENCH_TESTS === "run") {
    const started = process.hrtime.bigint();
    const r = spawnSync("npm", ["test", "--silent"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) {
      console.log(`npm test failed (exit ${r.status}) after ${seconds.toFixed(1)} s; its last lines:\n${(r.stdout + r.stderr).split("\n").slice(-30).join("\n")}`);
      process.exitCode = 1;
      return;
    }
    console.log(`Test loop: npm test (type-check + fast suite) ${seconds.toFixed(1)} s wall on node ${process.version} (this run), target <= ${targetSeconds} s: ${verdict(seconds)}`);
    return;
  }
  let times: Record<string, SuiteTime>;
  try {
    times = JSON.parse(fs.readFileSync(timesFile, "utf8")) as Record<string, SuiteTime>;
  } catch {
    console.log(`Test loop: no recorded run in ${path.relative(repo, timesFile)}; run npm test, or BENCH_TESTS=run npm run bench to time it here`);
    return;
  }
  const parts: string[] = [];
  const fast = times.fast;
  if (fast) parts.push(`fast suite (npm test without the type-check) ${fast.seconds.toFixed(1)} s on node ${fast.node} at ${fast.finishedAt}, target <= ${targetSeconds} s: ${verdict(fast.seconds)}`);
  const integration = times.integration;
  if (integration) parts.push(`integration suite ${integration.seconds.toFixed(1)} s on node ${integration.node} at ${integration.finishedAt}`);
  console.log(`Test loop (last recorded runs; BENCH_TESTS=run npm run bench times npm test now): ${parts.join("; ") || "none"}`);
}

main();
