import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { readmeSection } from "../lib/readme";
import { readmeReviewCommand, renderReadmeReviewSections } from "../scripts/readme-review";
import { repoRoot } from "./support/stacks";
import { testEvaluationDate } from "./support/clock";

describe("README generated sections: policies and cost estimate", function () {
  this.timeout(120_000);
  it("match the policy pack, the policy configs and the cost model", async () => {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    const sections = await renderReadmeReviewSections(testEvaluationDate);
    for (const [name, body] of Object.entries(sections)) {
      assert.ok(readmeSection(readme, name) === body, `README.md section '${name}' is out of date: run ${readmeReviewCommand}`);
    }
    assert.match(sections["cost-estimate"], /\| \*\*total\*\* \| \*\*\$3,775\.00\*\* \| \*\*\$[\d,.]+\*\* \| \*\*\$600\.00\*\*/);
  });
});
