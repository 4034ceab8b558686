/**
 * spot-interruption-band (advisory): a spot NodePool's weighted AWS Spot Advisor interruption band.
 * Judged in process here; the integration suite (POLICY_EVALUATION=served) judges every case again
 * through the served pack, as the Pulumi CLI runs it.
 */
import { strict as assert } from "node:assert";
import { evaluatePolicies } from "../support/policyEvaluation";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { planStack } from "../support/plans";
import { spotInterruptionBand, weightedInterruption } from "../../policies/rules/spotInterruptionBand";

const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
const stackResource: PlannedResource = { urn: stackUrn, type: "pulumi:pulumi:Stack", name: "autoscaling-test", parent: "", custom: false, inputs: {} };

function nodePool(name: string, capacity: string[], instanceTypes: string[] | undefined): PlannedResource {
  const requirements: Record<string, unknown>[] = [{ key: "karpenter.sh/capacity-type", operator: "In", values: capacity }];
  if (instanceTypes) requirements.push({ key: "node.kubernetes.io/instance-type", operator: "In", values: instanceTypes });
  else requirements.push({ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["m5", "c5"] });
  return {
    urn: `urn:pulumi:test::autoscaling::kubernetes:karpenter.sh/v1:NodePool::${name}`,
    type: "kubernetes:karpenter.sh/v1:NodePool",
    name,
    parent: stackUrn,
    custom: true,
    inputs: { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name }, spec: { template: { spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" }, requirements } } } },
  };
}

const run = (resources: PlannedResource[], config: PolicyPackConfig = {}) => evaluatePolicies([spotInterruptionBand], [stackResource, ...resources], config);

describe("spot-interruption-band", function () {
  this.timeout(300_000);

  it("weights every listed type's band equally, at the band's midpoint", () => {
    // m5.large 15-20% (17.5), m5.xlarge >20% (25), c5.large <5% (2.5), m6a.large 5-10% (7.5).
    const w = weightedInterruption(["m5.large", "m5.xlarge", "c5.large", "m6a.large"]);
    assert.ok(Math.abs(w.percent - (17.5 + 25 + 2.5 + 7.5) / 4) < 1e-9);
    assert.deepEqual(w.worst, ["m5.large (15-20%)", "m5.xlarge (>20%)"]);
  });

  it("passes a spot pool of low-band types, an on-demand pool and a pool selected by family", async () => {
    const vs = await run([
      nodePool("api-spot", ["spot"], ["c5.large", "c5.xlarge", "m6a.large", "r5.large"]),
      nodePool("api-on-demand", ["on-demand"], ["m5.xlarge", "m5.large"]),
      nodePool("batch-spot", ["spot"], undefined),
    ]);
    assert.deepEqual(vs, []);
  });

  it("warns (advisory) on the design's original spot list: m5/m5a/m7i at 15-20% and m5.xlarge above 20%", async () => {
    // (3 x 17.5 + 12.5 + 7.5 + 25) / 6 = 16.25% (toFixed: 16.2).
    const vs = await run([nodePool("batch-spot", ["spot"], ["m5.large", "m5a.large", "m6i.large", "m6a.large", "m7i.large", "m5.xlarge"])]);
    assert.equal(vs.length, 1);
    assert.equal(vs[0]!.policy, "spot-interruption-band");
    assert.equal(vs[0]!.enforcementLevel, "advisory");
    assert.match(vs[0]!.message, /^NodePool batch-spot: weighted spot interruption frequency 16\.2% a month over 6 type\(s\), above 10%; highest bands: m5\.large \(15-20%\), m5a\.large \(15-20%\), m7i\.large \(15-20%\), m5\.xlarge \(>20%\)$/);
  });

  it("the limit is configurable, and a type AWS does not list is named", async () => {
    const pool = nodePool("batch-spot", ["spot"], ["m5.large", "m5a.large", "m7i.large"]);
    assert.deepEqual(await run([pool], { "spot-interruption-band": { maxMonthlyInterruptionPercent: 20 } }), []);
    const vs = await run([nodePool("x-spot", ["spot"], ["c5.large", "m9z.large"])]);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /m9z\.large not in AWS Spot Advisor's us-east-1 data/);
  });

  it("the prod stack's spot pools pass with their chosen types", async () => {
    const plan = await planStack("prod");
    const pools = plan.resources.filter((r) => r.type === "kubernetes:karpenter.sh/v1:NodePool");
    assert.ok(pools.length > 0);
    assert.deepEqual((await run(pools)).map((v) => v.message), []);
  });
});
