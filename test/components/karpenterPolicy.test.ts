import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, type ScalarTag } from "yaml";
import { addonCharts } from "../../lib/catalog/addons";
import { planStack, type StackPlan } from "../support/plans";
import { repoRoot } from "../support/stacks";

type R = Record<string, any>;

/** The reference template, vendored byte for byte at the deployed chart version (contracts/karpenter/SOURCES.md). */
const templatePath = path.join(repoRoot, "contracts", "karpenter", `cloudformation-v${addonCharts.karpenter.version}.yaml`);
/** The controller policies of the template (the node role's managed policies are AWS's own). */
const controllerPolicies = ["NodeLifecyclePolicy", "IAMIntegrationPolicy", "EKSIntegrationPolicy", "InterruptionPolicy", "ZonalShiftPolicy", "ResourceDiscoveryPolicy"];
/** Statements this stack adds to the reference, each with its reason. */
const additions: Record<string, string> = {
  AllowNodeVolumeEncryption: "node volumes are encrypted with a customer-managed key (the reference uses the default EBS key)",
};

/** CloudFormation's short-form tags, kept as their string argument (`!Sub` templates are substituted below). */
const cfnTags: ScalarTag[] = ["!Sub", "!Ref", "!GetAtt"].map((tag) => ({ tag, resolve: (v: string) => v }));

function referenceStatements(values: Record<string, string>): R[] {
  const template = parse(fs.readFileSync(templatePath, "utf8"), { customTags: cfnTags }) as R;
  return controllerPolicies.flatMap((name) => {
    const resource = template.Resources[name];
    assert.equal(resource?.Type, "AWS::IAM::ManagedPolicy", name);
    const doc = resource.Properties.PolicyDocument as string;
    const rendered = doc.replace(/\$\{([^}]+)\}/g, (_, key: string) => {
      assert.ok(key in values, `template variable \${${key}} has no planned value`);
      return values[key]!;
    });
    return (JSON.parse(rendered) as { Statement: R[] }).Statement;
  });
}

describe("Karpenter controller policy = the reference policy of the deployed version", function () {
  this.timeout(120_000);
  let plan: StackPlan;
  before(async () => {
    plan = await planStack("prod");
  });

  it("the vendored template is the one of the deployed chart version", () => {
    assert.ok(fs.existsSync(templatePath), `${templatePath}: vendor the reference template of karpenter ${addonCharts.karpenter.version} (contracts/karpenter/SOURCES.md)`);
    assert.match(fs.readFileSync(path.join(repoRoot, "contracts", "karpenter", "SOURCES.md"), "utf8"), new RegExp(`tag v${addonCharts.karpenter.version.replace(/\./g, "\\.")}`));
  });

  it("every reference statement is granted exactly, in order, and nothing else but the documented additions", () => {
    const policyResource = plan.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.endsWith("karpenter-controller-policy"));
    assert.ok(policyResource, "the controller's RolePolicy");
    const planned = JSON.parse((policyResource.inputs as R).policy as string) as { Statement: R[] };
    const role = plan.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("node-role"))!;
    const queue = plan.resources.find((r) => r.type === "aws:sqs/queue:Queue" && r.name.endsWith("interruptions"))!;
    const byId = (sid: string) => planned.Statement.find((s) => s.Sid === sid);
    const values: Record<string, string> = {
      ClusterName: plan.settings.cluster.name,
      "AWS::Partition": "aws",
      "AWS::Region": "us-east-1",
      "AWS::AccountId": byId("AllowAPIServerEndpointDiscovery")!.Resource.split(":")[4],
      "KarpenterNodeRole.Arn": byId("AllowPassingInstanceRole")!.Resource,
      "KarpenterInterruptionQueue.Arn": byId("AllowInterruptionQueueActions")!.Resource,
    };
    assert.ok(role && queue, "the node role and the interruption queue are planned");
    assert.match(values["AWS::AccountId"]!, /^\d{12}$/);
    const reference = referenceStatements(values);
    const ours = planned.Statement.filter((s) => !(s.Sid in additions));
    for (let i = 0; i < Math.max(reference.length, ours.length); i++) {
      assert.deepEqual(ours[i], reference[i], `statement ${i} (${reference[i]?.Sid ?? ours[i]?.Sid})`);
    }
    assert.deepEqual(planned.Statement.filter((s) => s.Sid in additions).map((s) => s.Sid), Object.keys(additions));
  });

  it("the comparison fails for the drifts the issue found (missing ec2:DescribeInstanceStatus, scoped ListInstanceProfiles)", () => {
    const reference = referenceStatements({
      ClusterName: "c", "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "KarpenterNodeRole.Arn": "arn:aws:iam::123456789012:role/n", "KarpenterInterruptionQueue.Arn": "arn:aws:sqs:us-east-1:123456789012:q",
    });
    const read = reference.find((s) => s.Sid === "AllowRegionalReadActions")!;
    assert.ok(read.Action.includes("ec2:DescribeInstanceStatus"));
    const list = reference.find((s) => s.Action === "iam:ListInstanceProfiles")!;
    assert.equal(list.Resource, "*");
    const create = reference.find((s) => Array.isArray(s.Action) && s.Action.includes("iam:CreateInstanceProfile"))!;
    assert.ok(Object.keys(create.Condition.StringEquals).some((k: string) => k.startsWith("aws:RequestTag/")));
  });
});
