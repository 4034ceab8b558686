/**
 * Every stack output of index.ts resolves under the plan's mocks: one output the mocks could not
 * answer (the ECR repository's provider-computed URL) made the mock runtime drop every output
 * silently, and the tests that read an output then saw `undefined`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectDir } from "../lib/plan/plan";
import { planStack } from "./support/plans";

const exported = [...fs.readFileSync(path.join(projectDir, "index.ts"), "utf8").matchAll(/^export const (\w+)\s*=/gm)].map((m) => m[1]!).sort();
/** Outputs that are null where the stack has no such resource (dev runs the service on its embedded database). */
const nullWhereAbsent = new Set(["automationDatabaseSecretArn"]);

describe("stack outputs", () => {
  it("index.ts exports the stack's outputs", () => assert.ok(exported.length >= 10, exported.join(", ")));
  for (const stack of ["prod", "dev"]) {
    it(`${stack}: every output index.ts exports has a value`, async () => {
      const outputs = (await planStack(stack)).outputs;
      const missing = exported.filter((k) => outputs[k] === undefined || (outputs[k] === null && !nullWhereAbsent.has(k)));
      assert.deepEqual(missing, [], `outputs without a value: ${missing.join(", ")}`);
    });
  }
});
