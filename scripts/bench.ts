/**
 * `npm run bench`: measurements, not tests. Prints ratios measured in this one run, so they can be
 * compared across machines; absolute times are shown for context only.
 *
 * - SDK load floor: a fresh process that only loads @pulumi/pulumi, aws, eks and kubernetes.
 * - Plan per stack: a fresh process running `npm run plan -- --stack <s>` end to end, and the
 *   in-process plan time of repeated runs (after the SDKs are loaded).
 * - Policies: in process and through the served pack (start-up and one evaluation).
 * - Targets, last: PASS or MISS for each (the plan's output fits a screen, one resource count, the
 *   design's scaling response times).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { planStack } from "../lib/plan/plan";
import { allPolicies } from "../policies/rules";
import { evaluatePolicies } from "../lib/policy/evaluate";
import { ServedPolicyPack } from "../lib/policy/servedPack";
import { loadPolicyConfig, policyConfigPath } from "../lib/plan/review";
import { estimateCost, resolveUsageAssumptions } from "../lib/cost/estimate";
import { formatResourceCount, resourceCount } from "../lib/plan/summary";
import { screen } from "../lib/plan/textReport";
import { designReactionTargets, hpaWorstCaseReactionSeconds, kedaWorstCaseReactionSeconds } from "../lib/scaling/responseTime";

const repo = path.resolve(__dirname, "..");
const tsx = path.join(repo, "node_modules", ".bin", "tsx");
const repeats = Number(process.env.BENCH_REPEATS ?? 3);

/** The last output of each timed command, for the targets. */
const lastStdout = new Map<string, string>();

function timeProcess(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(tsx, args, { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed:\n${r.stderr}`);
  lastStdout.set(args.join(" "), r.stdout);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const loadOnly = "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/eks'); require('@pulumi/kubernetes');";
  const floor = median(Array.from({ length: repeats }, () => timeProcess(["-e", loadOnly])));

  const rows: string[][] = [];
  const targets: Array<[string, boolean, string]> = [];
  for (const stack of ["prod", "dev"]) {
    const endToEnd = median(Array.from({ length: repeats }, () => timeProcess(["scripts/plan.ts", "--stack", stack])));
    const inProcess: number[] = [];
    let resources = 0;
    for (let i = 0; i < repeats; i++) {
      const started = process.hrtime.bigint();
      const plan = await planStack(stack);
      inProcess.push(Number(process.hrtime.bigint() - started) / 1e9);
      resources = resourceCount(plan.resources).total;
      if (i === 0) {
        const out = (lastStdout.get(`scripts/plan.ts --stack ${stack}`) ?? "").replace(/\n$/, "").split("\n");
        const widest = Math.max(...out.map((l) => l.length));
        const budget = screen.lines - screen.npmBannerLines;
        targets.push([`plan --stack ${stack} fits a screen`, out.length <= budget && widest <= screen.columns, `${out.length} lines (<= ${budget} + npm's ${screen.npmBannerLines}), widest ${widest} columns (<= ${screen.columns})`]);
        const expected = `Resources: ${formatResourceCount(resourceCount(plan.resources))}`;
        targets.push([`plan --stack ${stack}: one resource count`, out.includes(expected), `the plan's header and this bench: ${resourceCount(plan.resources).total}`]);
      }
    }
    const warm = median(inProcess.slice(1).length ? inProcess.slice(1) : inProcess);
    rows.push([stack, String(resources), endToEnd.toFixed(2), (endToEnd / floor).toFixed(2), warm.toFixed(3), ((warm * 1000) / resources).toFixed(2)]);
  }

  // Policies and cost model over the prod plan, in process (the plan itself measured above).
  const prodPlan = await planStack("prod");
  const config = loadPolicyConfig(policyConfigPath(repo, "prod"));
  const analyzed = prodPlan.resources.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack").length;
  const policyRuns: number[] = [];
  const costRuns: number[] = [];
  for (let i = 0; i < Math.max(5, repeats); i++) {
    let t = process.hrtime.bigint();
    await evaluatePolicies(allPolicies, prodPlan.resources, config);
    policyRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    estimateCost(prodPlan.resources, resolveUsageAssumptions("prod"));
    costRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const policyMs = median(policyRuns.slice(1));
  const costMs = median(costRuns.slice(1));

  // The served pack (what the plan uses): start-up (ts-node type-checks the pack, as under the CLI)
  // and one evaluation over gRPC, against the in-process evaluation.
  const starts: number[] = [];
  const servedRuns: number[] = [];
  for (let i = 0; i < Math.max(2, Math.min(repeats, 3)); i++) {
    let t = process.hrtime.bigint();
    const pack = await ServedPolicyPack.start({ packDir: path.join(repo, "policies"), project: "autoscaling", stack: "prod" });
    starts.push(Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    await pack.evaluate(prodPlan.resources, config);
    servedRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
    await pack.close();
  }
  const startS = median(starts);
  const servedMs = median(servedRuns);

  console.log(`SDK load floor (fresh process, median of ${repeats}): ${floor.toFixed(2)} s`);
  console.log("");
  console.log("stack  resources  plan s (fresh process)  x SDK floor  plan s (warm, in process)  ms/resource (warm)");
  for (const r of rows) console.log(`${r[0]!.padEnd(6)} ${r[1]!.padStart(9)}  ${r[2]!.padStart(21)}  ${r[3]!.padStart(11)}  ${r[4]!.padStart(25)}  ${r[5]!.padStart(18)}`);
  const warmProd = Number(rows[0]![4]) * 1000;
  console.log("");
  console.log(`Policies: ${allPolicies.length} policies over ${analyzed} prod resources: ${policyMs.toFixed(1)} ms per evaluation (median), ${((policyMs * 1000) / analyzed).toFixed(1)} us per resource, ${(policyMs / warmProd).toFixed(3)} x the warm plan time`);
  console.log(`Cost model over the prod plan: ${costMs.toFixed(1)} ms (median), ${(costMs / warmProd).toFixed(3)} x the warm plan time`);
  targets.push(["HPA reaction within the design's target", hpaWorstCaseReactionSeconds <= designReactionTargets.hpaSeconds, `worst case ${hpaWorstCaseReactionSeconds} s (<= ${designReactionTargets.hpaSeconds} s)`]);
  targets.push(["KEDA reaction within the design's target", kedaWorstCaseReactionSeconds <= designReactionTargets.kedaSeconds, `worst case ${kedaWorstCaseReactionSeconds} s (<= ${designReactionTargets.kedaSeconds} s)`]);
  console.log(`Served pack: start ${startS.toFixed(2)} s (${(startS / floor).toFixed(2)} x the SDK floor; overlaps the program run in the plan), evaluation ${servedMs.toFixed(1)} ms (${(servedMs / policyMs).toFixed(2)} x in process)`);
  console.log("");
  console.log("Targets");
  for (const [name, ok, detail] of targets) console.log(`  ${ok ? "PASS" : "MISS"}  ${name}: ${detail}`);
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
