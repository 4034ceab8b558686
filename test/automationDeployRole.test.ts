/**
 * The deploy role the automation service's `pulumi up` runs as (components/automationDeployRole.ts),
 * its remit (lib/automation/remit.ts) and how the CLI gets it (automation/deployRole.ts): the planned
 * stack's role, policy, access entry and RBAC; the image repository; the pod's settings.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack, type StackPlan } from "./support/plans";
import { automationRemit, remitViolations } from "../lib/automation/remit";
import { deployRoleRbacRules, iamServiceOf, readActionsByService, stateBucketOf } from "../lib/automation/deployPolicy";
import { deployRoleEnvironment } from "../automation/deployRole";
import { iamPolicyProblems, realArns } from "./support/iamDataset";

describe("automation deploy role and remit", function () {
  this.timeout(180_000);
  let plan: StackPlan;
  before(async () => {
    plan = await planStack("prod");
  });
  const ofType = (type: string) => plan.resources.filter((r) => r.type === type);
  const byName = (type: string, name: RegExp) => {
    const found = ofType(type).filter((r) => name.test(r.name));
    assert.equal(found.length, 1, `${type} ${name}: ${found.map((f) => f.name).join(", ")}`);
    return found[0]!.inputs as Record<string, any>;
  };

  it("every AWS type the program manages maps to an IAM service the role may read; every remit type exists in the program", () => {
    const awsTypes = [...new Set(plan.resources.filter((r) => r.custom && r.type.startsWith("aws:")).map((r) => r.type))];
    const unmapped = awsTypes.filter((t) => !readActionsByService[iamServiceOf(t) ?? ""]);
    assert.deepEqual(unmapped, []);
    for (const e of automationRemit) assert.ok(ofType(e.type).length > 0, `remit type ${e.type} is not in the prod plan`);
  });

  it("the role: trusted only by the service's role; writes exactly the remit's actions, on the stack's tagged resources; state bucket and key", async () => {
    const role = byName("aws:iam/role:Role", /automation-deploy-role$/);
    const trust = JSON.parse(role.assumeRolePolicy);
    assert.equal(trust.Statement.length, 1);
    assert.match(trust.Statement[0].Principal.AWS, /automation-role/);
    assert.equal(trust.Statement[0].Action, "sts:AssumeRole");
    const policy = JSON.parse(realArns(byName("aws:iam/rolePolicy:RolePolicy", /automation-deploy-policy$/).policy));
    const write = policy.Statement.find((s: any) => s.Sid === "ChangeCapacityOnly");
    assert.deepEqual(write.Action, [...new Set(automationRemit.flatMap((e) => e.iamWrite))].sort());
    assert.deepEqual(write.Condition, { StringEquals: { "aws:ResourceTag/environment": "prod" } });
    const read = policy.Statement.find((s: any) => s.Sid === "ReadTheStacksResources");
    for (const a of read.Action as string[]) assert.match(a, /:(Describe|Get|List|View)/, `${a}: read only`);
    // Nothing that could widen the role or touch other IAM.
    const all = policy.Statement.flatMap((s: any) => s.Action) as string[];
    assert.deepEqual(all.filter((a) => /^iam:(Put|Attach|Create|Update|Delete|PassRole)/.test(a)), []);
    assert.deepEqual(await iamPolicyProblems(policy, "deploy role"), []);
    assert.equal(stateBucketOf("s3://pyairtable-pulumi-state-1-us-east-1?region=us-east-1&awssdk=v2"), "pyairtable-pulumi-state-1-us-east-1");
    assert.ok(policy.Statement.some((s: any) => s.Sid === "StateObjects" && s.Resource === "arn:aws:s3:::pyairtable-pulumi-state/*"));
    // The service's own role may assume it.
    const svc = JSON.parse(realArns(byName("aws:iam/rolePolicy:RolePolicy", /automation-policy$/).policy));
    assert.ok(svc.Statement.some((s: any) => s.Sid === "UpdateTheStack" && s.Action === "sts:AssumeRole"));
  });

  it("an EKS access entry maps it to a group whose RBAC reads and patches only the remit's kinds", () => {
    const entry = byName("aws:eks/accessEntry:AccessEntry", /automation-deploy-access$/);
    assert.deepEqual(entry.kubernetesGroups, ["pyairtable:automation-deployer"]);
    assert.equal(entry.type, "STANDARD");
    const cr = byName("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", /automation-deploy-deployer$/);
    assert.deepEqual(cr.rules, deployRoleRbacRules());
    const kinds = cr.rules.flatMap((r: any) => r.resources);
    assert.deepEqual(kinds.sort(), ["horizontalpodautoscalers", "nodepools", "scaledobjects"]);
    for (const r of cr.rules) assert.deepEqual(r.verbs, ["get", "list", "watch", "patch"]);
    const crb = byName("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", /automation-deploy-deployer$/);
    assert.deepEqual(crb.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "pyairtable:automation-deployer" }]);
  });

  it("the pod: DEPLOY_ROLE_ARN set, its token mounted for TokenReview only (system:auth-delegator), /work and /tmp writable", () => {
    const dep = ofType("kubernetes:apps/v1:Deployment").find((d) => /automation-deployment$/.test(d.name))!.inputs as any;
    const spec = dep.spec.template.spec;
    const env = spec.containers[0].env as { name: string; value?: string }[];
    assert.ok(env.find((e) => e.name === "DEPLOY_ROLE_ARN")?.value);
    assert.equal(spec.automountServiceAccountToken, true);
    // Writable: /work and /tmp only (the database URL's Secret volume is read-only).
    assert.deepEqual(spec.containers[0].volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath).sort(), ["/tmp", "/work"]);
    const crb = byName("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", /automation-token-review$/);
    assert.equal(crb.roleRef.name, "system:auth-delegator");
  });

  it("the image repository: immutable tags, scan on push, KMS, lifecycle", () => {
    const repo = byName("aws:ecr/repository:Repository", /automation-image-repo$/);
    assert.equal(repo.name, "pyairtable-automation-prod");
    assert.equal(repo.imageTagMutability, "IMMUTABLE");
    assert.equal(repo.imageScanningConfiguration.scanOnPush, true);
    assert.equal(repo.encryptionConfigurations[0].encryptionType, "KMS");
    assert.ok(repo.encryptionConfigurations[0].kmsKey);
    assert.equal(JSON.parse(byName("aws:ecr/lifecyclePolicy:LifecyclePolicy", /automation-image-lifecycle$/).policy).rules.length, 2);
  });
});

describe("remit check of preview steps", () => {
  const hpa = { op: "update", urn: "u1", type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", diffs: ["spec"], detailedDiff: { "spec.minReplicas": {} } };
  it("passes in-place updates of the remit's properties and unchanged resources", () => {
    assert.deepEqual(remitViolations([hpa, { op: "same", urn: "u2", type: "aws:rds/cluster:Cluster" }, { op: "update", urn: "u3", type: "aws:rds/cluster:Cluster", diffs: ["serverlessv2ScalingConfiguration"] }, { op: "update", urn: "s", type: "pulumi:pulumi:Stack" }]), []);
  });
  it("refuses create, delete, replace, other types, other properties, and updates without a diff", () => {
    const v = remitViolations([
      { op: "create", urn: "c", type: "aws:s3/bucket:Bucket" },
      { op: "delete", urn: "d", type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" },
      { op: "replace", urn: "r", type: "aws:rds/cluster:Cluster", diffs: ["serverlessv2ScalingConfiguration"] },
      { op: "update", urn: "t", type: "aws:iam/rolePolicy:RolePolicy", diffs: ["policy"] },
      { op: "update", urn: "p", type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", diffs: ["spec"], detailedDiff: { "spec.metrics[0].resource.target": {} } },
      { op: "update", urn: "n", type: "aws:msk/cluster:Cluster" },
      { op: "update", urn: "k", type: "pulumi:providers:kubernetes", diffs: ["kubeconfig"] },
    ]);
    assert.equal(v.length, 7, v.join("\n"));
    assert.match(v[0]!, /^c: create is outside/);
    assert.match(v[2]!, /^r: replace is outside/);
    assert.match(v[3]!, /^t: update of a aws:iam\/rolePolicy:RolePolicy is outside/);
    assert.match(v[4]!, /^p: update of spec\.metrics\[0\]\.resource\.target is outside the automation's remit/);
    assert.match(v[5]!, /^n: update without a property diff cannot be checked/);
    assert.match(v[6]!, /^k: update of a provider/);
  });
});

describe("the CLI's AWS identity (deployRoleEnvironment)", () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), "deploy-env-"));
  const arn = "arn:aws:iam::123456789012:role/deploy";
  it("IRSA: chains the service account's web identity to the deploy role; removes the variables that would compete", () => {
    const e = deployRoleEnvironment(arn, "prod", { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/svc", AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", AWS_REGION: "us-east-1" }, dir());
    const ini = fs.readFileSync(e.configFile, "utf8");
    assert.match(ini, /\[profile pyairtable-deploy-source\]\nrole_arn = arn:aws:iam::123456789012:role\/svc\nweb_identity_token_file = \/var\/run\/secrets\/eks\.amazonaws\.com\/serviceaccount\/token/);
    assert.match(ini, /\[profile pyairtable-deploy\]\nrole_arn = arn:aws:iam::123456789012:role\/deploy\n[\s\S]*source_profile = pyairtable-deploy-source/);
    assert.equal(e.set.AWS_PROFILE, "pyairtable-deploy");
    assert.ok(e.unset.includes("AWS_ROLE_ARN") && e.unset.includes("AWS_WEB_IDENTITY_TOKEN_FILE") && e.unset.includes("AWS_ACCESS_KEY_ID"));
    assert.equal((fs.statSync(e.configFile).mode & 0o777).toString(8), "600");
  });
  it("EKS Pod Identity and static keys use credential_source; no identity or a bad ARN is a clear error", () => {
    assert.match(fs.readFileSync(deployRoleEnvironment(arn, "dev", { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials" }, dir()).configFile, "utf8"), /credential_source = EcsContainer/);
    const s = deployRoleEnvironment(arn, "dev", { AWS_ACCESS_KEY_ID: "AKIA" }, dir());
    assert.match(fs.readFileSync(s.configFile, "utf8"), /credential_source = Environment/);
    assert.ok(!s.unset.includes("AWS_ACCESS_KEY_ID"));
    assert.throws(() => deployRoleEnvironment(arn, "dev", {}, dir()), /DEPLOY_ROLE_ARN is set but the service has no AWS identity to assume it from/);
    assert.throws(() => deployRoleEnvironment("role/deploy", "dev", { AWS_ACCESS_KEY_ID: "x" }, dir()), /DEPLOY_ROLE_ARN = "role\/deploy": must be an IAM role ARN/);
  });
});
