/**
 * Policy default-storage-class-encrypted: passing and failing cases (judged in process and, in the
 * integration suite, by the served pack too: test/support/policyEvaluation.ts), and both real plans.
 */
import { strict as assert } from "node:assert";
import { evaluatePolicies } from "../support/policyEvaluation";
import { planStack } from "../support/plans";
import { stacks } from "../support/stacks";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { defaultStorageClassEncrypted, storageClassType } from "../../policies/rules/defaultStorageClassEncrypted";
import { gp3StorageClassSpec } from "../../components/addons/ebsCsiDriver";
import { resolvePolicyConfig, PolicyConfigError } from "../../lib/policy/evaluate";

const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
const key = "arn:aws:kms:us-east-1:123456789012:key/0000ebs0-0000-0000-0000-000000000000";
function storageClass(name: string, body: Record<string, unknown>, isDefault: boolean): PlannedResource {
  return {
    urn: `urn:pulumi:test::autoscaling::${storageClassType}::${name}`, type: storageClassType, name, parent: stackUrn, custom: true,
    inputs: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name, ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) }, ...body },
  };
}
const messages = async (resources: PlannedResource[], config: Record<string, unknown> = {}) =>
  (await evaluatePolicies([defaultStorageClassEncrypted], resources, { "default-storage-class-encrypted": config })).map((v) => v.message);

describe("policy default-storage-class-encrypted", function () {
  this.timeout(180_000);

  it("is mandatory, high, and rejects a bad config", () => {
    assert.equal(defaultStorageClassEncrypted.enforcementLevel, "mandatory");
    assert.equal(defaultStorageClassEncrypted.severity, "high");
    assert.deepEqual(resolvePolicyConfig(defaultStorageClassEncrypted, {}), { requireDefault: true, requireCustomerKey: true });
    assert.throws(() => resolvePolicyConfig(defaultStorageClassEncrypted, { "default-storage-class-encrypted": { requireDefault: "yes" } }), PolicyConfigError);
  });

  it("passes the stack's gp3 class: the only default, encrypted with the customer key", async () => {
    assert.deepEqual(await messages([storageClass("gp3", gp3StorageClassSpec(key), true)]), []);
  });

  it("fails an unencrypted default class, a class on the aws/ebs key, two defaults and a stack with no default", async () => {
    const plain = { ...gp3StorageClassSpec(key), parameters: { type: "gp3" } };
    assert.deepEqual(await messages([storageClass("gp3", plain, true)]), [
      'StorageClass gp3 (the default): parameters.encrypted = not set: its EBS volumes would be unencrypted unless the account\'s default encryption happens to be on; set "true"',
    ]);
    const awsKey = { ...gp3StorageClassSpec(key), parameters: { type: "gp3", encrypted: "true" } };
    assert.deepEqual(await messages([storageClass("gp3", awsKey, true)]), [
      "StorageClass gp3 (the default): parameters.kmsKeyId not set: volumes are encrypted with the AWS-managed aws/ebs key, whose policy this stack cannot restrict; name the stack's customer-managed EBS key",
    ]);
    // The in-tree provisioner is an EBS class too.
    const gp2 = { provisioner: "kubernetes.io/aws-ebs", parameters: { type: "gp2", encrypted: "false" } };
    assert.deepEqual(await messages([storageClass("gp3", gp3StorageClassSpec(key), true), storageClass("gp2", gp2, true)]), [
      "2 default StorageClasses (gp3, gp2): Kubernetes then picks the newest; mark exactly one",
      'StorageClass gp2 (the default): parameters.encrypted = "false": its EBS volumes would be unencrypted unless the account\'s default encryption happens to be on; set "true"',
    ]);
    assert.deepEqual(await messages([storageClass("gp3", gp3StorageClassSpec(key), false)]), [
      "no default StorageClass in the stack: a PersistentVolumeClaim without storageClassName (Prometheus, Alertmanager) stays Pending or gets whatever class the cluster happens to mark default",
    ]);
  });

  it("follows its config: no default required, the aws/ebs key allowed; other provisioners are not EBS", async () => {
    const awsKey = { ...gp3StorageClassSpec(key), parameters: { type: "gp3", encrypted: "true" } };
    assert.deepEqual(await messages([storageClass("gp3", awsKey, false)], { requireDefault: false, requireCustomerKey: false }), []);
    assert.deepEqual(await messages([storageClass("efs", { provisioner: "efs.csi.aws.com", parameters: {} }, true)]), []);
  });

  for (const stack of stacks) {
    it(`${stack}: the planned stack has exactly one default class, gp3, and passes`, async () => {
      const plan = await planStack(stack);
      const classes = plan.resources.filter((r) => r.type === storageClassType);
      assert.deepEqual(classes.map((r) => (r.inputs.metadata as { name: string }).name), ["gp3"]);
      const sc = classes[0]!.inputs as Record<string, any>;
      assert.equal(sc.parameters.encrypted, "true");
      assert.match(String(sc.parameters.kmsKeyId), /node-ebs/, "the node EBS key of the stack");
      assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
      assert.equal(sc.allowVolumeExpansion, true);
      assert.deepEqual(await messages(plan.resources), []);
    });
  }
});
