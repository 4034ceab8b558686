/**
 * Block storage as the stack plans it: the EBS CSI managed add-on (pinned build, IRSA role of its
 * controller service account, least-privilege policy with the volume key) and the default gp3
 * StorageClass, whose fields are checked here against the driver's documented parameters (no
 * StorageClass schema is vendored: lib/k8s/schemaValidator.ts kindsWithoutSchema).
 */
import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "../support/plans";
import { stacks } from "../support/stacks";
import { ebsCsiClusterTag, ebsCsiControllerServiceAccount, ebsCsiDriverPolicy, validateEbsCsiDriverArgs } from "../../components/addons/ebsCsiDriver";
import { eksAddons } from "../../lib/catalog/addons";
import { iamPolicyProblems } from "../support/iamDataset";

const json = (v: unknown) => JSON.parse(String(v)) as Record<string, any>;

describe("block storage: EBS CSI add-on and the gp3 default StorageClass", function () {
  this.timeout(180_000);
  const plans: Partial<Record<string, StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  for (const stack of stacks) {
    it(`${stack}: the add-on is pinned, uses its own IRSA role and keeps its controller on the system nodes`, () => {
      const plan = plans[stack]!;
      const addons = plan.resources.filter((r) => r.type === "aws:eks/addon:Addon");
      assert.equal(addons.length, 1);
      const addon = addons[0]!.inputs;
      assert.equal(addon.addonName, "aws-ebs-csi-driver");
      assert.equal(addon.addonVersion, eksAddons.ebsCsiDriver.version);
      assert.match(String(addon.addonVersion), /^v\d+\.\d+\.\d+-eksbuild\.\d+$/);
      assert.ok((eksAddons.ebsCsiDriver.kubernetesVersions as readonly string[]).includes(plan.settings.cluster.kubernetesVersion));
      const config = json(addon.configurationValues);
      assert.deepEqual(config.controller.extraVolumeTags, { [ebsCsiClusterTag]: plan.settings.cluster.name });
      assert.deepEqual(config.controller.nodeSelector, { "pyairtable.io/workload-class": "system" });
      const role = plan.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("ebs-csi-controller"))!;
      const trust = json(role.inputs.assumeRolePolicy).Statement[0];
      const sub = Object.entries(trust.Condition.StringEquals).find(([k]) => k.endsWith(":sub"))![1];
      assert.equal(sub, `system:serviceaccount:${ebsCsiControllerServiceAccount.namespace}:${ebsCsiControllerServiceAccount.name}`);
    });

    it(`${stack}: the StorageClass is the only default, gp3, encrypted with the stack's EBS key, WaitForFirstConsumer, expandable`, () => {
      const plan = plans[stack]!;
      const classes = plan.resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass");
      assert.equal(classes.length, 1);
      const sc = classes[0]!.inputs as Record<string, any>;
      assert.equal(sc.metadata.name, "gp3");
      assert.equal(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
      assert.equal(sc.provisioner, "ebs.csi.aws.com");
      // aws-ebs-csi-driver docs/parameters.md: keys the driver reads; values are strings.
      const documented = new Set(["type", "encrypted", "kmsKeyId", "csi.storage.k8s.io/fstype", "iops", "iopsPerGB", "throughput", "blockExpress", "tagSpecification_1"]);
      for (const [k, v] of Object.entries(sc.parameters)) {
        assert.ok(documented.has(k), `parameter ${k} is not one the driver documents`);
        assert.equal(typeof v, "string", `parameter ${k} must be a string`);
      }
      assert.deepEqual([sc.parameters.type, sc.parameters.encrypted], ["gp3", "true"]);
      const ebsKey = plan.resources.find((r) => r.type === "aws:kms/key:Key" && r.name.endsWith("node-ebs"))!;
      assert.match(sc.parameters.kmsKeyId, new RegExp(`${ebsKey.name}$`), "the node EBS key of the stack");
      assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
      assert.equal(sc.allowVolumeExpansion, true);
      assert.equal(sc.reclaimPolicy, "Delete");
    });

    it(`${stack}: Prometheus and Alertmanager claim their volumes through gp3, and wait for it`, () => {
      const plan = plans[stack]!;
      const kps = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!;
      const values = kps.inputs.values as Record<string, any>;
      assert.equal(values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName, "gp3");
      assert.equal(values.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName, "gp3");
      const sc = plan.resources.find((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass")!;
      assert.ok((kps.dependencies ?? []).includes(sc.urn), "kube-prometheus-stack must wait for the StorageClass");
    });
  }

  it("the controller's policy: only this cluster's tagged volumes change, the volume key only through EC2, and it passes the IAM reference", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/0000ebs0-0000-0000-0000-000000000000";
    const policy = ebsCsiDriverPolicy("pyairtable-prod", key);
    const byId = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s])) as Record<string, any>;
    assert.deepEqual(byId.CreateOwnedVolumes.Condition, { StringEquals: { [`aws:RequestTag/${ebsCsiClusterTag}`]: "pyairtable-prod" } });
    assert.deepEqual(byId.ChangeOwnedVolumes.Condition, { StringEquals: { [`aws:ResourceTag/${ebsCsiClusterTag}`]: "pyairtable-prod" } });
    assert.deepEqual(byId.UseVolumeKey.Resource, key);
    assert.deepEqual(byId.UseVolumeKey.Condition, { StringEquals: { "kms:ViaService": "ec2.us-east-1.amazonaws.com" } });
    assert.deepEqual(byId.GrantVolumeKeyToEc2.Condition, { Bool: { "kms:GrantIsForAWSResource": "true" } });
    // No statement grants a write action on every resource.
    for (const s of policy.Statement) if (s.Resource === "*") for (const a of s.Action) assert.match(a, /^ec2:Describe/);
    assert.deepEqual(await iamPolicyProblems(policy, "ebs-csi"), []);
  });

  it("refuses a cluster version the pinned build was not chosen for, and a key that is not a KMS key ARN", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/0000ebs0-0000-0000-0000-000000000000";
    assert.throws(() => validateEbsCsiDriverArgs("s", { kubernetesVersion: "1.36", kmsKeyArn: key }), /EbsCsiDriver s: kubernetesVersion = "1\.36": the pinned aws-ebs-csi-driver v\d/);
    assert.throws(() => validateEbsCsiDriverArgs("s", { kubernetesVersion: "1.35", kmsKeyArn: "alias/aws/ebs" }), /kmsKeyArn = "alias\/aws\/ebs": must be the ARN of the customer-managed KMS key/);
    assert.equal(validateEbsCsiDriverArgs("s", { kubernetesVersion: "1.35", kmsKeyArn: key }).name, "aws-ebs-csi-driver");
  });
});
