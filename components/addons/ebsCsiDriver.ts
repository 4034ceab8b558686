/**
 * Block storage: the `aws-ebs-csi-driver` EKS managed add-on with its own IRSA role (least
 * privilege: volumes this cluster's driver tagged, and the one KMS key of the volumes), and the
 * default StorageClass `gp3` (encrypted with that key, WaitForFirstConsumer, expandable). The
 * Prometheus and Alertmanager volumes bind through it.
 *
 * EKS no longer marks its `gp2` StorageClass as the default (clusters created on 1.30 and later),
 * so `gp3` below is the only default class: a PVC without a class gets an encrypted gp3 volume.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicy } from "../../lib/aws/irsa";
import { eksAddons } from "../../lib/catalog/addons";
import { childOptions, failer, k8sChildOptions, managedLabels, systemNodeSelector, type AddonBaseArgs } from "./shared";

/** The default StorageClass: name, and the EBS CSI driver's provisioner name. */
export const defaultStorageClass = {
  name: "gp3",
  provisioner: "ebs.csi.aws.com",
  /** Annotation that makes a StorageClass the cluster default. */
  defaultAnnotation: "storageclass.kubernetes.io/is-default-class",
} as const;

/** The driver's controller service account (the add-on creates it in kube-system). */
export const ebsCsiControllerServiceAccount = { namespace: "kube-system", name: "ebs-csi-controller-sa" } as const;

/**
 * Tag the driver puts on every volume it creates (`controller.extraVolumeTags` of the add-on
 * configuration); the IAM policy lets the role create, change and delete only volumes carrying it
 * with this cluster's name, so one cluster's driver never touches another's volumes.
 */
export const ebsCsiClusterTag = "pyairtable.io/ebs-csi-cluster";

export interface EbsCsiDriverArgs extends AddonBaseArgs {
  /** EKS cluster name: the add-on's cluster, the role name prefix and the volumes' ownership tag. */
  clusterName: string;
  /** Kubernetes minor version of the cluster (e.g. `1.35`): must be one the pinned add-on build supports. */
  kubernetesVersion: string;
  /** ARN of the cluster's IAM OIDC provider (IRSA trust). */
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  oidcIssuer: pulumi.Input<string>;
  /** Customer-managed KMS key that encrypts the volumes (the StorageClass's `kmsKeyId`). */
  kmsKeyArn: pulumi.Input<string>;
  /** What the add-on waits for (the system node group: the controller runs there). Default: nothing. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Checks the arguments before anything is created (ClusterAddons runs it first too); returns the add-on pin. */
export function validateEbsCsiDriverArgs(name: string, args: Pick<EbsCsiDriverArgs, "kubernetesVersion" | "kmsKeyArn">) {
  const fail = failer("EbsCsiDriver", name);
  const pin = eksAddons.ebsCsiDriver;
  if (!(pin.kubernetesVersions as readonly string[]).includes(args.kubernetesVersion)) {
    fail(`kubernetesVersion = ${JSON.stringify(args.kubernetesVersion)}: the pinned ${pin.name} ${pin.version} is listed for ${pin.kubernetesVersions.join(", ")} only (lib/catalog/addons.ts eksAddons); pick its build for the new version deliberately`);
  }
  if (args.kmsKeyArn === undefined || (typeof args.kmsKeyArn === "string" && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(args.kmsKeyArn))) {
    fail(`kmsKeyArn = ${JSON.stringify(args.kmsKeyArn)}: must be the ARN of the customer-managed KMS key of the volumes (arn:aws:kms:<region>:<account>:key/<id>)`);
  }
  return pin;
}

export class EbsCsiDriver extends pulumi.ComponentResource {
  public readonly addon: aws.eks.Addon;
  public readonly roleArn: pulumi.Output<string>;
  public readonly storageClass: k8s.storage.v1.StorageClass;
  /** `gp3`. */
  public readonly storageClassName: string;

  constructor(name: string, args: EbsCsiDriverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:EbsCsiDriver", name, {}, opts);
    const pin = validateEbsCsiDriverArgs(name, args);
    const awsChild = childOptions(this, undefined);

    const role = new aws.iam.Role(`${name}-ebs-csi-controller`, {
      description: `EBS CSI driver of ${args.clusterName}: creates, attaches, resizes and deletes its own encrypted volumes`,
      assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, ebsCsiControllerServiceAccount.namespace, ebsCsiControllerServiceAccount.name),
      tags: { Name: `${args.clusterName}-ebs-csi-controller` },
    }, awsChild);
    const policy = new aws.iam.RolePolicy(`${name}-ebs-csi-controller-policy`, {
      role: role.id,
      policy: pulumi.output(args.kmsKeyArn).apply((key) => JSON.stringify(ebsCsiDriverPolicy(args.clusterName, key))),
    }, awsChild);
    this.roleArn = role.arn;

    this.addon = new aws.eks.Addon(`${name}-ebs-csi-driver`, {
      clusterName: args.clusterName,
      addonName: pin.name,
      addonVersion: pin.version,
      serviceAccountRoleArn: role.arn,
      // The add-on is the only owner of its objects: a change made by hand is overwritten.
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "OVERWRITE",
      configurationValues: JSON.stringify(ebsCsiAddonConfiguration(args.clusterName)),
      tags: { Name: `${args.clusterName}-ebs-csi-driver` },
    }, { ...awsChild, dependsOn: [policy, ...(args.dependsOn ?? [])] });

    this.storageClassName = defaultStorageClass.name;
    this.storageClass = new k8s.storage.v1.StorageClass(`${name}-storageclass-gp3`, {
      metadata: {
        name: defaultStorageClass.name,
        labels: managedLabels,
        annotations: { [defaultStorageClass.defaultAnnotation]: "true" },
      },
      ...gp3StorageClassSpec(args.kmsKeyArn),
    }, k8sChildOptions(this, { ...args, formerParent: undefined }, this.addon));
    this.registerOutputs({ roleArn: this.roleArn, storageClassName: this.storageClassName });
  }
}

/**
 * The StorageClass body: the driver's parameters (aws-ebs-csi-driver docs/parameters.md at the
 * pinned tag): gp3 at its baseline 3,000 IOPS and 125 MiB/s (no extra charge), ext4, encrypted with
 * the given key. WaitForFirstConsumer creates the volume in the zone the pod is scheduled to;
 * Delete removes the volume with its PVC (Prometheus data is rebuilt from scrapes, not backed up).
 */
export function gp3StorageClassSpec(kmsKeyArn: pulumi.Input<string>) {
  return {
    provisioner: defaultStorageClass.provisioner,
    parameters: {
      type: "gp3",
      encrypted: "true",
      kmsKeyId: kmsKeyArn,
      "csi.storage.k8s.io/fstype": "ext4",
    },
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
    reclaimPolicy: "Delete",
  };
}

/** Add-on configuration (`aws eks describe-addon-configuration` schema): controller placement and the ownership tag. */
export function ebsCsiAddonConfiguration(clusterName: string) {
  return {
    controller: {
      // Two controller replicas are the add-on's default; keep them on the system (on-demand) nodes.
      nodeSelector: systemNodeSelector,
      extraVolumeTags: { [ebsCsiClusterTag]: clusterName },
    },
  };
}

/**
 * The driver's IAM policy: the upstream example policy (kubernetes-sigs/aws-ebs-csi-driver
 * docs/example-iam-policy.json at the pinned tag) without the snapshot statements (this stack runs
 * no snapshot controller), every volume-changing action limited to volumes tagged with this
 * cluster's ownership tag, and the KMS statement of docs/install.md ("Encrypted EBS Volumes via KMS")
 * limited to the one key of the volumes and to calls made through EC2.
 */
export function ebsCsiDriverPolicy(clusterName: string, kmsKeyArn: string) {
  const volume = "arn:aws:ec2:*:*:volume/*";
  const owned = { StringEquals: { [`aws:ResourceTag/${ebsCsiClusterTag}`]: clusterName } };
  const region = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(kmsKeyArn)?.[1];
  const viaEc2 = region ? { StringEquals: { "kms:ViaService": `ec2.${region}.amazonaws.com` } } : { StringLike: { "kms:ViaService": "ec2.*.amazonaws.com" } };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Describe",
        Effect: "Allow",
        Action: [
          "ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeSnapshots",
          "ec2:DescribeTags", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeVolumeStatus",
        ],
        Resource: "*",
      },
      // CreateVolume is authorized on the new volume with its request tags: only with this cluster's tag.
      { Sid: "CreateOwnedVolumes", Effect: "Allow", Action: ["ec2:CreateVolume"], Resource: volume, Condition: { StringEquals: { [`aws:RequestTag/${ebsCsiClusterTag}`]: clusterName } } },
      { Sid: "TagOnCreate", Effect: "Allow", Action: ["ec2:CreateTags"], Resource: volume, Condition: { StringEquals: { "ec2:CreateAction": ["CreateVolume"] } } },
      { Sid: "ChangeOwnedVolumes", Effect: "Allow", Action: ["ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"], Resource: volume, Condition: owned },
      { Sid: "AttachToInstances", Effect: "Allow", Action: ["ec2:AttachVolume", "ec2:DetachVolume"], Resource: "arn:aws:ec2:*:*:instance/*" },
      {
        Sid: "UseVolumeKey",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey"],
        Resource: kmsKeyArn,
        Condition: viaEc2,
      },
      // EC2 holds a grant on the key for as long as a volume is attached.
      { Sid: "GrantVolumeKeyToEc2", Effect: "Allow", Action: ["kms:CreateGrant"], Resource: kmsKeyArn, Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
    ],
  };
}
