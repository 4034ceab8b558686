import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import Module from "node:module";
import * as realPolicy from "@pulumi/policy";
import type { PolicyPackArgs } from "@pulumi/policy";
import { allPolicies } from "../../policies/rules";
import { resolvePolicyConfig, type PolicyPackConfig } from "../../lib/policy/evaluate";
import { repoRoot } from "../support/stacks";

const rulesDir = path.join(repoRoot, "policies", "rules");

describe("policy pack", () => {
  it("the entry file constructs PolicyPack with every policy (server not started)", () => {
    const constructed: Array<{ name: string; args: PolicyPackArgs }> = [];
    class RecordingPolicyPack {
      constructor(name: string, args: PolicyPackArgs) {
        constructed.push({ name, args });
      }
    }
    const moduleInternals = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
    const realLoad = moduleInternals._load;
    moduleInternals._load = function (request: string, parent: unknown, isMain: boolean) {
      if (request === "@pulumi/policy") return { ...realPolicy, PolicyPack: RecordingPolicyPack };
      return realLoad.call(this, request, parent, isMain);
    };
    try {
      const entry = require.resolve(path.join(repoRoot, "policies", "index.ts"));
      delete require.cache[entry];
      require(entry);
    } finally {
      moduleInternals._load = realLoad;
    }
    assert.equal(constructed.length, 1);
    assert.equal(constructed[0]!.name, "pyairtable-autoscaling-guardrails");
    assert.deepEqual(constructed[0]!.args.policies.map((p) => p.name), allPolicies.map((p) => p.name));
  });

  it("registers every policy module of policies/rules, each with a config schema and full metadata", () => {
    const modules = fs.readdirSync(rulesDir).filter((f) => f.endsWith(".ts") && f !== "index.ts");
    const registered = new Set(allPolicies);
    for (const file of modules) {
      const exported = Object.values(require(path.join(rulesDir, file)) as Record<string, unknown>)
        .filter((v): v is (typeof allPolicies)[number] => typeof v === "object" && v !== null && "name" in v && ("validateResource" in v || "validateStack" in v));
      assert.equal(exported.length, 1, `${file} must export exactly one policy`);
      const policy = exported[0]!;
      assert.ok(registered.has(policy), `${file}: '${policy.name}' is not in policies/rules/index.ts`);
      assert.match(policy.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${file}: name must be kebab-case`);
      assert.ok(policy.description.length > 20, `${policy.name}: description`);
      assert.ok(policy.enforcementLevel, `${policy.name}: enforcement level`);
      assert.ok(policy.severity, `${policy.name}: severity`);
      assert.ok((policy.remediationSteps ?? "").length > 20, `${policy.name}: remediation steps`);
      assert.ok(policy.configSchema && Object.keys(policy.configSchema.properties).length > 0, `${policy.name}: config schema`);
    }
    assert.equal(modules.length, allPolicies.length, "every registered policy lives in its own module");
    assert.equal(new Set(allPolicies.map((p) => p.name)).size, allPolicies.length, "policy names are unique");
  });

  for (const stack of ["prod", "dev"]) {
    it(`policies/config/${stack}.json configures every policy and validates against each config schema`, () => {
      const config = JSON.parse(fs.readFileSync(path.join(repoRoot, "policies", "config", `${stack}.json`), "utf8")) as PolicyPackConfig;
      assert.deepEqual(Object.keys(config).sort(), allPolicies.map((p) => p.name).sort());
      for (const policy of allPolicies) resolvePolicyConfig(policy, config);
    });
  }

  it("the entry file is the only module that constructs a PolicyPack", () => {
    const offenders = fs.readdirSync(rulesDir).concat("lib.ts").filter((f) => /new PolicyPack\(/.test(fs.readFileSync(path.join(f === "lib.ts" ? path.join(repoRoot, "policies") : rulesDir, f), "utf8")));
    assert.deepEqual(offenders, []);
  });
});
