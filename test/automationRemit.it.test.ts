/**
 * The remit against the real program: the stack planned with the overrides the automation applies
 * (a scheduled profile with predictive floors, the emergency profile) differs from the stack file's
 * plan only in resources and properties of lib/automation/remit.ts. If a change of the program made
 * an override reach another resource, the service would refuse every such run: this test says so first.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { composeDesired } from "../automation/applier";
import { remitViolations, type PreviewStep } from "../lib/automation/remit";
import { planStack, type StackPlan } from "./support/plans";
import { repoRoot } from "./support/stacks";
import { testConfig } from "./automation/support/harness";

/** Leaf paths where two input trees differ (`spec.minReplicas`, `rules[0].x`). */
function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return [prefix || "(root)"];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  return [...keys].flatMap((k) => changedPaths((a as any)[k], (b as any)[k], Array.isArray(a) ? `${prefix}[${k}]` : prefix ? `${prefix}.${k}` : k));
}

/** A project directory whose prod stack file carries `overrides` (as `pulumi config set --path` would). */
function projectWith(overrides: Record<string, number>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "remit-plan-"));
  for (const e of fs.readdirSync(repoRoot)) if (e !== "Pulumi.prod.yaml" && e !== ".git") fs.symlinkSync(path.join(repoRoot, e), path.join(dir, e));
  const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
  for (const [key, value] of Object.entries(overrides)) {
    const [top, ...rest] = key.split(".");
    let node = doc.config[`autoscaling:${top}`];
    for (const p of rest.slice(0, -1)) node = node[p];
    node[rest.at(-1)!] = value;
  }
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), toYaml(doc));
  return dir;
}

function steps(base: StackPlan, changed: StackPlan): PreviewStep[] {
  const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
  const before = new Map(base.resources.filter((r) => r.custom).map((r) => [key(r), r]));
  const after = new Map(changed.resources.filter((r) => r.custom).map((r) => [key(r), r]));
  const out: PreviewStep[] = [];
  for (const [k, r] of after) {
    const old = before.get(k);
    if (!old) out.push({ op: "create", urn: k, type: r.type });
    else {
      const paths = changedPaths(old.inputs, r.inputs);
      if (paths.length > 0) out.push({ op: "update", urn: k, type: r.type, diffs: [...new Set(paths.map((p) => p.split(/[.[]/)[0]!))], detailedDiff: Object.fromEntries(paths.map((p) => [p, {}])) });
    }
  }
  for (const k of before.keys()) if (!after.has(k)) out.push({ op: "delete", urn: k, type: before.get(k)!.type });
  return out;
}

describe("the remit against the planned program (prod)", function () {
  this.timeout(600_000);
  const config = testConfig("prod");
  const empty = { stack: "prod", scheduledProfile: null, scheduledAt: null, emergencyActive: false, emergencySince: null, emergencyReason: null, previousProfile: null, predictiveFloors: {} };
  let base: StackPlan;
  before(async () => {
    base = await planStack("prod");
  });

  it("the business-hours profile with a predictive floor changes only remit properties, and does change them", async () => {
    const desired = composeDesired(config, config.base, { ...empty, scheduledProfile: "business-hours", predictiveFloors: { "services.analytics.minReplicas": 3 } });
    assert.deepEqual(desired.problems, []);
    const s = steps(base, await planStack("prod", { projectDir: projectWith(desired.overrides) }));
    assert.ok(s.length > 0, "the overrides change something");
    assert.deepEqual(remitViolations(s), []);
  });

  it("the emergency profile changes only remit properties", async () => {
    const desired = composeDesired(config, config.base, { ...empty, scheduledProfile: "business-hours", emergencyActive: true });
    const s = steps(base, await planStack("prod", { projectDir: projectWith(desired.overrides) }));
    assert.ok(s.length > 0);
    assert.deepEqual(remitViolations(s), []);
  });
});
