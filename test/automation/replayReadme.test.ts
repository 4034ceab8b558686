/**
 * The README's generated replay section is fresh without re-running the replay (its plan alone
 * takes about a minute): the section carries the fingerprint of the replay's inputs it was made
 * from (automation/replay/fingerprint.ts), and its structure is the report's (four scenarios, the
 * design's KPIs as designKpis names them). A change the fingerprint does not cover (elsewhere in
 * the program) is left to `npm run readme:replay -- --check`.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { readmeSection } from "../../lib/readme";
import { replayInputsFingerprint } from "../../automation/replay/fingerprint";
import { scenarioNames } from "../../automation/replay/engine";
import { repoRoot } from "../support/stacks";

describe("README replay section", () => {
  const section = readmeSection(fs.readFileSync(path.join(repoRoot, "README.md"), "utf8"), "replay");

  it("was generated from the replay's current inputs (fingerprint)", () => {
    const stated = /Inputs fingerprint: `([0-9a-f]{16})`/.exec(section)?.[1];
    assert.ok(stated, "the section states no inputs fingerprint: run npm run readme:replay");
    assert.equal(stated, replayInputsFingerprint(repoRoot), "the replay's inputs changed since the section was generated: run npm run readme:replay");
  });

  it("has the report's structure: the four scenarios and the design's KPIs, decision and ready capacity apart", () => {
    for (const n of scenarioNames) assert.match(section, new RegExp(`^\\| ${n} \\| \\$[\\d,]+ \\| [\\d.]+% \\| [\\d.]+% \\| \\d+/\\d+ \\| \\d+/\\d+ \\|`, "m"), `scenario row ${n}`);
    assert.match(section, /\| HPA p95 s decide\/ready \| KEDA p95 s decide\/ready \|/);
    for (const k of ["Cost reduction (predictive vs static)", "Scaling decision p95, HPA", "Scaling decision p95, KEDA", "CPU efficiency", "Memory efficiency", "Availability", "Handle 10x traffic spikes"]) {
      assert.match(section, new RegExp(`^\\| ${k.replace(/[()]/g, "\\$&")}.*\\| (PASS|MISS) \\|`, "m"), `KPI row ${k}`);
    }
  });

  it("the fingerprint moves when an input moves", () => {
    const tmp = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "replay-fp-"));
    try {
      const { replayInputPaths } = require("../../automation/replay/fingerprint") as typeof import("../../automation/replay/fingerprint");
      for (const p of replayInputPaths) fs.cpSync(path.join(repoRoot, p), path.join(tmp, p), { recursive: true });
      const before = replayInputsFingerprint(tmp);
      assert.equal(before, replayInputsFingerprint(repoRoot));
      fs.appendFileSync(path.join(tmp, "Pulumi.prod.yaml"), "\n# changed\n");
      assert.notEqual(replayInputsFingerprint(tmp), before);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
