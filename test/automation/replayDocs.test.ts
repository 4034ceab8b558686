/**
 * The replay's docs say what the code does: the README's spot list is prod's, the list meets the
 * criteria the README states (from the Spot Advisor and Karpenter data), and docs/replay.md's model
 * constants are the engine's.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { allocatable, spotFacts } from "../../lib/cost/ec2";
import { replayConstants } from "../../automation/replay/model";
import { loadStackSettings, repoRoot } from "../support/stacks";

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8");

describe("replay docs", () => {
  const prod = loadStackSettings("prod");

  it("the README names prod's spot types, and they meet the stated criteria", () => {
    const readme = read("README.md");
    const section = readme.slice(readme.indexOf("### Spot instance types, and what the replay changed"), readme.indexOf("<!-- replay:begin -->"));
    const listed = /cheapest spot \$ per\s+vCPU-hour first, no burstable or flex types: ([^]*?)\. Eighteen types/.exec(section)?.[1]?.split(/,\s*/).map((t) => t.trim());
    assert.deepEqual(listed, [...prod.cluster.spotInstanceTypes]);
    assert.ok(prod.cluster.spotInstanceTypes.length >= replayConstants.minTypesForSpotToSpot, "at least 15 for spot-to-spot consolidation");
    for (const t of prod.cluster.spotInstanceTypes) {
      const a = allocatable(t);
      const s = spotFacts(t);
      assert.ok(s.band.index <= 1, `${t}: band ${s.band.label} is not under 10% a month`);
      assert.ok(a.vcpu >= 2 && a.vcpu <= 4, `${t}: ${a.vcpu} vCPU`);
      assert.ok(a.memoryMiB / 1024 / a.vcpu >= 2, `${t}: memory per vCPU`);
      assert.ok(!/^[a-z]+\d+g/.test(t) && !t.startsWith("t") && !t.includes("flex"), `${t}: x86, not burstable or flex`);
      assert.ok(a.podEni > 0, `${t}: trunk ENI`);
    }
    // Cheapest spot $ per vCPU-hour first.
    const perVcpu = prod.cluster.spotInstanceTypes.map((t) => spotFacts(t).spotHourly / allocatable(t).vcpu);
    for (let i = 1; i < perVcpu.length; i++) assert.ok(perVcpu[i]! >= perVcpu[i - 1]! - 1e-12, `${prod.cluster.spotInstanceTypes[i]} out of order`);
  });

  it("docs/replay.md states the engine's constants", () => {
    const doc = read("docs/replay.md");
    const k = replayConstants;
    assert.match(doc, new RegExp(`\\| batch window \\| ${k.batchIdleSeconds} s idle, ${k.batchMaxSeconds} s max \\|`));
    assert.match(doc, new RegExp(`\\| launch to Ready \\| triangular ${k.launchToReady.min} / ${k.launchToReady.mode} / ${k.launchToReady.max} s \\|`));
    assert.match(doc, new RegExp(`\\| pod start \\| ${k.podStartSeconds} s \\|`));
    assert.match(doc, new RegExp(`\\| interruption notice \\| ${k.spotNoticeSeconds} s \\|`));
    assert.match(doc, new RegExp(`every ${k.disruptionPollSeconds} s, one action, ${k.consolidationValidationSeconds} s re-validation`));
    assert.match(doc, new RegExp(`≥ ${k.minTypesForSpotToSpot} cheaper types`));
  });
});
