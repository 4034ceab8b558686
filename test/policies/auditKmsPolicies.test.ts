import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import { evaluatePolicies } from "../support/policyEvaluation";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { logRetentionMinimum } from "../../policies/rules/logRetentionMinimum";
import { kmsServicePrincipalsConditioned } from "../../policies/rules/kmsServicePrincipalsConditioned";
import { repoRoot, stacks } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";

type R = Record<string, any>;
const config = (stack: string): PolicyPackConfig => JSON.parse(fs.readFileSync(policyConfigPath(repoRoot, stack), "utf8"));
const logGroupType = "aws:cloudwatch/logGroup:LogGroup";
const keyType = "aws:kms/key:Key";
function resource(type: string, name: string, inputs: R): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test", custom: true, inputs };
}
const keyWith = (...statements: R[]) => resource(keyType, "key", { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });
const root = { Sid: "Admin", Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "kms:*", Resource: "*" };
const messages = async (policy: Parameters<typeof evaluatePolicies>[0][number], resources: PlannedResource[], cfg: PolicyPackConfig = {}) =>
  (await evaluatePolicies([policy], resources, cfg)).map((v) => v.message);

describe("audit and key policies: log retention minimum, conditioned KMS service principals", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  it("pass: both planned stacks, whose log groups and key policies are all known values", async () => {
    for (const stack of stacks) {
      const resources = plans[stack]!.resources;
      const groups = resources.filter((r) => r.type === logGroupType);
      assert.ok(groups.length >= 9, `${stack}: log groups`);
      const keys = resources.filter((r) => r.type === keyType && typeof (r.inputs as R).policy === "string");
      assert.ok(keys.length >= 4, `${stack}: keys with a policy the policy can read`);
      assert.deepEqual(await evaluatePolicies([logRetentionMinimum, kmsServicePrincipalsConditioned], resources, config(stack)), [], stack);
    }
    assert.ok(plans.prod!.resources.filter((r) => r.type === logGroupType).every((r) => (r.inputs as R).retentionInDays >= 365), "prod keeps every log group a year");
  });

  it("fail: the prod plan with the VPC flow-log group cut to 90 days is refused (mandatory)", async () => {
    const resources = structuredClone(plans.prod!.resources);
    const flow = resources.find((r) => r.type === logGroupType && r.name.endsWith("flow-logs"))!;
    (flow.inputs as R).retentionInDays = 90;
    const { violations } = await reviewPlan(resources, "prod", policyConfigPath(repoRoot, "prod"), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });
    assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel, v.message]), [["log-retention-minimum", "mandatory", `Log group ${flow.name}: retentionInDays = 90: must be at least 365`]]);
  });

  it("log retention: never-expiring and unknown retention pass; the minimum comes from the config", async () => {
    const cfg = { "log-retention-minimum": { minimumDays: 365 } };
    assert.deepEqual(await messages(logRetentionMinimum, [resource(logGroupType, "g", {})], cfg), []);
    assert.deepEqual(await messages(logRetentionMinimum, [resource(logGroupType, "g", { retentionInDays: { __pulumiUnknown: true } })], cfg), []);
    assert.deepEqual(await messages(logRetentionMinimum, [resource(logGroupType, "g", { retentionInDays: 400 })], cfg), []);
    assert.deepEqual(await messages(logRetentionMinimum, [resource(logGroupType, "g", { retentionInDays: 180 })], cfg), ["Log group g: retentionInDays = 180: must be at least 365"]);
    assert.deepEqual(await messages(logRetentionMinimum, [resource(logGroupType, "g", { retentionInDays: 7 })], { "log-retention-minimum": { minimumDays: 7 } }), []);
  });

  it("fail: the prod plan with the cost key's source condition removed is refused (mandatory)", async () => {
    const resources = structuredClone(plans.prod!.resources);
    const key = resources.find((r) => r.type === keyType && typeof (r.inputs as R).policy === "string" && (r.inputs as R).policy.includes("CostServicesPublishToEncryptedTopics"))!;
    const doc = JSON.parse((key.inputs as R).policy);
    delete doc.Statement.find((s: R) => s.Sid === "CostServicesPublishToEncryptedTopics").Condition;
    (key.inputs as R).policy = JSON.stringify(doc);
    const { violations } = await reviewPlan(resources, "prod", policyConfigPath(repoRoot, "prod"), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });
    assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [["kms-service-principals-conditioned", "mandatory"]]);
    assert.match(violations[0]!.message, /statement CostServicesPublishToEncryptedTopics allows budgets.amazonaws.com, costalerts.amazonaws.com, cloudwatch.amazonaws.com without a source condition/);
  });

  it("KMS: service principals need a source condition; encryption-context conditions count; service-linked role principals are refused", async () => {
    const use = { Effect: "Allow", Action: ["kms:Decrypt"], Resource: "*" };
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "Sns", Principal: { Service: "sns.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } })]), []);
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "Logs", Principal: { Service: "logs.us-east-1.amazonaws.com" }, Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*" } } })]), []);
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "Sns", Principal: { Service: "sns.amazonaws.com" } })]), [
      "KMS key key: statement Sns allows sns.amazonaws.com without a source condition (one of aws:SourceAccount, aws:SourceArn, aws:SourceOrgID, aws:SourceOrgPaths, kms:ViaService, kms:CallerAccount or kms:EncryptionContext:*)",
    ]);
    // A condition on something else (TLS) is not a source condition.
    assert.equal((await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "S", Principal: { Service: ["sns.amazonaws.com"] }, Condition: { Bool: { "aws:SecureTransport": "true" } } })])).length, 1);
    // A Deny with a service principal is not a grant.
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Effect: "Deny", Sid: "D", Principal: { Service: "sns.amazonaws.com" } })]), []);
    const slr = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
    const found = await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "Asg", Principal: { AWS: slr } })]);
    assert.deepEqual(found, [`KMS key key: statement Asg names the service-linked role ${slr} as principal: key creation fails while the role does not exist; use the account root with an aws:PrincipalArn condition`]);
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [keyWith(root, { ...use, Sid: "Asg", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Condition: { ArnEquals: { "aws:PrincipalArn": slr } } })]), []);
  });

  it("KMS: an unknown policy is not judged; a policy that is not JSON is reported", async () => {
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [resource(keyType, "k", { policy: { __pulumiUnknown: true } })]), []);
    assert.deepEqual(await messages(kmsServicePrincipalsConditioned, [resource(keyType, "k", { policy: "{not json" })]), ["KMS key k: policy is not valid JSON"]);
  });
});
