import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";

export interface DefaultStorageClassEncryptedConfig {
  /** The stack must define a default StorageClass (PVCs without a class stay Pending otherwise). */
  requireDefault: boolean;
  /** EBS classes must name a customer-managed KMS key (`parameters.kmsKeyId`), not the account's aws/ebs key. */
  requireCustomerKey: boolean;
}

export const storageClassType = "kubernetes:storage.k8s.io/v1:StorageClass";
const defaultAnnotation = "storageclass.kubernetes.io/is-default-class";
/** Provisioners of EBS volumes: the CSI driver, and the in-tree plugin its migration maps to it. */
const ebsProvisioners = ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];

/**
 * Volumes a claim gets without asking are encrypted: the stack defines exactly one default
 * StorageClass, and every EBS StorageClass (the default above all) sets `encrypted: "true"` with a
 * customer-managed key. An unencrypted default class would put Prometheus's and any later
 * workload's data on plain disks without anyone choosing it; two defaults make the choice depend
 * on creation order.
 */
export const defaultStorageClassEncrypted: StackValidationPolicy = {
  name: "default-storage-class-encrypted",
  description: "The stack has one default StorageClass, and every EBS StorageClass encrypts its volumes with a customer-managed KMS key.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Give the EBS StorageClass `parameters: { encrypted: \"true\", kmsKeyId: <the stack's EBS key ARN> }` (components/addons/ebsCsiDriver.ts gp3StorageClassSpec) and annotate exactly one class `storageclass.kubernetes.io/is-default-class: \"true\"`.",
  configSchema: {
    properties: {
      requireDefault: { type: "boolean", default: true },
      requireCustomerKey: { type: "boolean", default: true },
    },
  },
  validateStack: (args, reportViolation) => {
    const { requireDefault, requireCustomerKey } = args.getConfig<DefaultStorageClassEncryptedConfig>();
    const classes = args.resources.filter((r) => r.type === storageClassType);
    const nameOf = (props: unknown) => {
      const n = peek(props, "metadata", "name");
      return typeof n === "string" ? n : "(name not known yet)";
    };
    const defaults = classes.filter((r) => peek(r.props, "metadata", "annotations", defaultAnnotation) === "true");
    if (requireDefault && defaults.length === 0 && !classes.some((r) => peek(r.props, "metadata", "annotations", defaultAnnotation) === UNKNOWN)) {
      reportViolation(`no default StorageClass in the stack: a PersistentVolumeClaim without storageClassName (Prometheus, Alertmanager) stays Pending or gets whatever class the cluster happens to mark default`);
    }
    if (defaults.length > 1) {
      reportViolation(`${defaults.length} default StorageClasses (${defaults.map((r) => nameOf(r.props)).join(", ")}): Kubernetes then picks the newest; mark exactly one`, defaults[1]!.urn);
    }
    for (const sc of classes) {
      const provisioner = peek(sc.props, "provisioner");
      if (provisioner === UNKNOWN || typeof provisioner !== "string" || !ebsProvisioners.includes(provisioner)) continue;
      const what = `StorageClass ${nameOf(sc.props)}${defaults.includes(sc) ? " (the default)" : ""}`;
      const encrypted = peek(sc.props, "parameters", "encrypted");
      if (encrypted !== UNKNOWN && encrypted !== "true") {
        reportViolation(`${what}: parameters.encrypted = ${encrypted === undefined ? "not set" : JSON.stringify(encrypted)}: its EBS volumes would be unencrypted unless the account's default encryption happens to be on; set "true"`, sc.urn);
        continue;
      }
      const key = peek(sc.props, "parameters", "kmsKeyId");
      if (requireCustomerKey && key !== UNKNOWN && (typeof key !== "string" || key.trim() === "")) {
        reportViolation(`${what}: parameters.kmsKeyId not set: volumes are encrypted with the AWS-managed aws/ebs key, whose policy this stack cannot restrict; name the stack's customer-managed EBS key`, sc.urn);
      }
    }
  },
};
