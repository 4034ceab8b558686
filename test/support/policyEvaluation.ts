/**
 * Every policy case of the test suite, judged in process (lib/policy/evaluate.ts, fast, with
 * @pulumi/policy's own deserializer and proxy) and, in the integration suite, also by the policy pack
 * served exactly as the Pulumi CLI serves it (lib/policy/servedPack.ts: run-policy-pack under the
 * CLI's ts-node settings, the Analyzer gRPC protocol). `evaluatePolicies` here has the in-process
 * evaluator's signature and returns its verdicts; with POLICY_EVALUATION=served (set by
 * `npm run test:integration`, which runs the policy test files again) it fails the test when the
 * served pack reaches a different verdict (policy, level, resource, message) for the same resources
 * and config.
 *
 * One pack per test process, started on first use and stopped at exit.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Policies } from "@pulumi/policy";
import { allPolicies } from "../../policies/rules";
import { evaluatePolicies as evaluateInProcess, type PolicyPackConfig, type Violation } from "../../lib/policy/evaluate";
import { ServedPolicyPack } from "../../lib/policy/servedPack";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { repoRoot } from "./stacks";

export const packDir = path.join(repoRoot, "policies");

let served: Promise<ServedPolicyPack> | undefined;

/** The policy pack of this repository, served as the CLI serves it (shared by the test process). */
export function servedPack(): Promise<ServedPolicyPack> {
  served ??= ServedPolicyPack.start({ packDir, project: "pyairtable-autoscaling", stack: "test" }).then((pack) => {
    process.once("exit", () => pack.kill());
    return pack;
  });
  return served;
}

/** Whether this run also judges every policy case through the served pack (the integration suite). */
export const compareWithServedPack = process.env.POLICY_EVALUATION === "served";

/** `'<name>@v<version>'` from the pack's files (PulumiPolicy.yaml, package.json); the served-pack test checks the served pack says the same. */
export function packLabelFromFiles(): string {
  const name = (parseYaml(fs.readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8")) as { name: string }).name;
  const version = (JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")) as { version: string }).version;
  return `'${name}@v${version}'`;
}

/**
 * `'<name>@v<version>'` as the served pack names itself in its "can't run during preview" advisories:
 * the served pack's own answer when it runs (integration suite), else {@link packLabelFromFiles}.
 */
export async function packLabel(): Promise<string> {
  if (!compareWithServedPack) return packLabelFromFiles();
  const pack = await servedPack();
  return `'${pack.info.name}@v${pack.info.version}'`;
}

/** A violation as a comparable row. */
export const row = (v: Violation) => [v.policy, v.enforcementLevel, v.urn, v.message] as const;

/**
 * The in-process verdicts, after checking that the served pack agrees (integration suite). Policies that are not the
 * pack's own (a test's variant of one) are judged in process only.
 */
export async function evaluatePolicies(
  policies: Policies,
  resources: readonly PlannedResource[],
  config: PolicyPackConfig,
  options: { stackUrn?: string } = {},
): Promise<Violation[]> {
  const ownPolicies = policies.every((p) => allPolicies.includes(p));
  const label = ownPolicies ? await packLabel() : undefined;
  const inProcess = await evaluateInProcess(policies, resources, config, { ...options, packLabel: label });
  if (!ownPolicies || !compareWithServedPack) return inProcess;
  const pack = await servedPack();
  const viaPack = await pack.evaluate(resources, config, { only: policies.map((p) => p.name), stackUrn: options.stackUrn });
  // Same verdicts; the order within one resource follows each side's policy order, so compare sorted.
  const sorted = (vs: Violation[]) => vs.map((v) => JSON.stringify(row(v))).sort();
  assert.deepEqual(
    sorted(viaPack),
    sorted(inProcess),
    `the served policy pack and the in-process evaluator disagree on ${policies.map((p) => p.name).join(", ")}`,
  );
  return inProcess;
}
