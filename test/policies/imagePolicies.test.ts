import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import { evaluatePolicies } from "../support/policyEvaluation";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { imageProblem, noLatestImagesOrAmis } from "../../policies/rules/noLatestImagesOrAmis";
import { imagesPinnedByDigest } from "../../policies/rules/imagesPinnedByDigest";
import { repoRoot } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";

type R = Record<string, any>;
const digest = "a".repeat(64);
const config = (stack: string): PolicyPackConfig => JSON.parse(fs.readFileSync(policyConfigPath(repoRoot, stack), "utf8"));
function resource(type: string, name: string, inputs: R): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test", custom: true, inputs };
}
const deployment = (image: string) => resource("kubernetes:apps/v1:Deployment", "d", { metadata: { name: "d", namespace: "n" }, spec: { template: { spec: { containers: [{ name: "c", image }] } } } });
const nodeClass = (alias: string) => resource("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "nc", { metadata: { name: "default" }, spec: { amiSelectorTerms: [{ alias }] } });
const messages = async (policy: Parameters<typeof evaluatePolicies>[0][number], resources: PlannedResource[], cfg: PolicyPackConfig = {}) =>
  (await evaluatePolicies([policy], resources, cfg)).map((v) => v.message);

describe("image and AMI pinning policies", function () {
  this.timeout(180_000);
  let prod: StackPlan;
  before(async () => {
    prod = await planStack("prod");
  });

  it("image references: latest and untagged refused; tags pass unless a digest is required; digests always pass", () => {
    assert.equal(imageProblem("repo/app:latest", false), "uses the latest tag");
    assert.equal(imageProblem("repo/app", false), "has no tag (means latest)");
    assert.equal(imageProblem("registry:5000/repo/app", false), "has no tag (means latest)", "a registry port is not a tag");
    assert.equal(imageProblem("repo/app:1.2.3", false), undefined);
    assert.match(imageProblem("repo/app:1.2.3", true)!, /pinned by tag only/);
    assert.equal(imageProblem(`repo/app:1.2.3@sha256:${digest}`, true), undefined);
    assert.equal(imageProblem(`repo/app@sha256:${digest}`, true), undefined);
  });

  it("pass: the prod plan (dated AMI, version-tagged images)", async () => {
    assert.deepEqual(await evaluatePolicies([noLatestImagesOrAmis, imagesPinnedByDigest], prod.resources, config("prod")), []);
  });

  it("fail: the prod plan edited to an @latest AMI alias or a latest image is refused (mandatory)", async () => {
    const resources = structuredClone(prod.resources);
    const nc = resources.find((r) => r.type === "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")!;
    (nc.inputs as R).spec.amiSelectorTerms = [{ alias: "al2023@latest" }];
    const d = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as R).metadata.name === "pgbouncer")!;
    (d.inputs as R).spec.template.spec.containers[0].image = "docker.io/edoburu/pgbouncer:latest";
    const { violations } = await reviewPlan(resources, "prod", policyConfigPath(repoRoot, "prod"), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
    assert.deepEqual(mandatory.map((v) => v.policy), ["no-latest-images-or-amis", "no-latest-images-or-amis"]);
    assert.ok(mandatory.some((v) => /amiSelectorTerms alias al2023@latest/.test(v.message)));
    assert.ok(mandatory.some((v) => /image docker.io\/edoburu\/pgbouncer:latest uses the latest tag/.test(v.message)));
  });

  it("no-latest: untagged images in init containers and CronJobs count too; unknown images are not judged", async () => {
    const cron = resource("kubernetes:batch/v1:CronJob", "cj", { metadata: { name: "cj", namespace: "n" }, spec: { jobTemplate: { spec: { template: { spec: { initContainers: [{ name: "i", image: "busybox" }], containers: [{ name: "c", image: "repo/x:1" }] } } } } } });
    assert.deepEqual(await messages(noLatestImagesOrAmis, [cron]), ["n/cj container i: image busybox has no tag (means latest)"]);
    assert.deepEqual(await messages(noLatestImagesOrAmis, [deployment("repo/x:1"), nodeClass("al2023@v20260714")]), []);
    assert.deepEqual(await messages(noLatestImagesOrAmis, [resource("kubernetes:apps/v1:Deployment", "u", { metadata: { name: "u" }, spec: { template: { spec: { containers: [{ name: "c", image: { __pulumiUnknown: true } }] } } } })]), []);
    assert.deepEqual(await messages(noLatestImagesOrAmis, [deployment("repo/x:1")], { "no-latest-images-or-amis": { requireDigest: true } }), ["n/d container c: image repo/x:1 is pinned by tag only, not by digest (tag@sha256:<64 hex>)"]);
  });

  it("digest (advisory): tag-only images are reported unless listed as a known deviation", async () => {
    assert.deepEqual(await messages(imagesPinnedByDigest, [deployment("repo/x:1")]), ["n/d container c: image repo/x:1 is pinned by tag only, not by digest (tag@sha256:<64 hex>)"]);
    assert.deepEqual(await messages(imagesPinnedByDigest, [deployment("repo/x:1")], { "images-pinned-by-digest": { exemptImages: ["repo/x:1"] } }), []);
    assert.deepEqual(await messages(imagesPinnedByDigest, [deployment(`repo/x:1@sha256:${digest}`)]), []);
    // A new image that is not on the deviation list is reported in prod.
    const found = await evaluatePolicies([imagesPinnedByDigest], [deployment("repo/new:2")], config("prod"));
    assert.deepEqual(found.map((v) => [v.policy, v.enforcementLevel]), [["images-pinned-by-digest", "advisory"]]);
  });
});
