import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { workloadClassLabel } from "../lib/catalog/workloadClasses";
import type { NodeGroupSettings } from "../lib/config/settings";
import { customerManagedKey } from "../lib/aws/kms";

export interface ClusterArgs {
  /** EKS cluster name (fixed, so Karpenter discovery tags and log group names can use it). */
  clusterName: string;
  /** Kubernetes minor version, e.g. "1.35" (one of the EKS calendar, lib/catalog/eksVersions.ts). */
  kubernetesVersion: string;
  vpcId: pulumi.Input<string>;
  /** Private subnets for nodes and the control plane's network interfaces. */
  privateSubnetIds: pulumi.Input<string>[];
  /** Public subnets (internet-facing load balancers only). */
  publicSubnetIds: pulumi.Input<string>[];
  /** Whether the API endpoint is reachable from the internet; it is always reachable privately. */
  endpointPublicAccess: boolean;
  /** CIDR blocks allowed to reach the public endpoint. Required (non-empty) when public. */
  publicAccessCidrs: string[];
  /**
   * CIDR blocks the cluster security group admits on 443, i.e. who may reach the private endpoint
   * (CI runners, bastions, VPN-routed networks). Typically the VPC CIDR. Default none (only the
   * cluster security group itself: nodes and pods).
   */
  privateAccessCidrs?: string[];
  /** Control-plane log retention, days. */
  logRetentionDays: number;
  /** KMS key ARN for the control-plane log group. */
  logsKmsKeyArn: pulumi.Input<string>;
  /** The on-demand (prod) or spot (dev) node group that runs system add-ons, Karpenter included. */
  systemNodeGroup: NodeGroupSettings;
  /** AWS account id and partition, for key policies. */
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  /**
   * Security groups for pods: the VPC CNI manages trunk and branch ENIs (`ENABLE_POD_ENI`) in
   * `standard` enforcing mode, and the cluster role may manage those ENIs
   * (AmazonEKSVPCResourceController). Default false.
   */
  podSecurityGroups?: boolean;
}

/** AWS managed policies of the cluster (service) role. */
export const clusterRolePolicies = {
  base: ["AmazonEKSClusterPolicy"],
  withPodSecurityGroups: ["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"],
} as const;

/**
 * VPC CNI add-on options. Network policies always; with security groups for pods also
 * `ENABLE_POD_ENI=true` and `POD_SECURITY_GROUP_ENFORCING_MODE=standard`: in standard mode pods with
 * security groups stay subject to NetworkPolicies, kubelet probes and same-node traffic bypass the
 * pod's groups, and traffic leaving the VPC is SNATed to the node's primary ENI (EKS user guide,
 * "Configure the Amazon VPC CNI plugin for security groups for Pods"; plugin >= 1.11). Standard mode
 * makes the TCP early demux change unnecessary (same guide), so `disableTcpEarlyDemux` stays off.
 */
export function vpcCniOptions(podSecurityGroups: boolean) {
  return podSecurityGroups
    ? { enableNetworkPolicy: true, enablePodEni: true, configurationValues: { env: { POD_SECURITY_GROUP_ENFORCING_MODE: "standard" } } }
    : { enableNetworkPolicy: true };
}

/** Control-plane log types: all five, so audit trails and scheduler decisions are kept. */
export const controlPlaneLogTypes = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;

/**
 * The EKS cluster: secrets envelope-encrypted with a customer KMS key, all control-plane logs,
 * endpoint access restricted by CIDR, an OIDC provider for IRSA, and the managed node group for
 * system workloads. Application capacity comes from Karpenter (see `ClusterCapacity`).
 */
export class Cluster extends pulumi.ComponentResource {
  public readonly clusterName: string;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly oidcProviderArn: pulumi.Output<string>;
  /** Issuer host and path without scheme, as IAM trust-policy conditions need it. */
  public readonly oidcIssuer: pulumi.Output<string>;
  public readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** IAM role of every node (system node group and Karpenter nodes). */
  public readonly nodeRole: aws.iam.Role;
  /** KMS key encrypting node EBS volumes. */
  public readonly ebsKmsKeyArn: pulumi.Output<string>;
  public readonly provider: k8s.Provider;
  public readonly systemNodeGroup: aws.eks.NodeGroup;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cluster:Cluster", name, {}, opts);
    validateClusterArgs(args);
    const parent = { parent: this };
    this.clusterName = args.clusterName;

    const secretsKey = customerManagedKey(`${name}-eks-secrets`, `EKS secrets envelope encryption for ${args.clusterName}`, parent);
    const ebsKey = customerManagedKey(
      `${name}-node-ebs`,
      `EBS encryption of ${args.clusterName} nodes`,
      parent,
      ebsKeyPolicy(args.accountId, args.partition),
    );
    this.ebsKmsKeyArn = ebsKey.arn;

    // EKS creates this group on first log write with infinite retention; owning it sets retention and KMS.
    const controlPlaneLogs = new aws.cloudwatch.LogGroup(`${name}-control-plane-logs`, {
      name: `/aws/eks/${args.clusterName}/cluster`,
      retentionInDays: args.logRetentionDays,
      kmsKeyId: args.logsKmsKeyArn,
    }, parent);

    this.nodeRole = new aws.iam.Role(`${name}-node-role`, {
      description: `Nodes of ${args.clusterName} (system node group and Karpenter)`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    }, parent);
    const nodePolicies = {
      worker: "AmazonEKSWorkerNodePolicy",
      cni: "AmazonEKS_CNI_Policy",
      ecr: "AmazonEC2ContainerRegistryPullOnly",
      ssm: "AmazonSSMManagedInstanceCore",
    };
    const nodePolicyAttachments = Object.entries(nodePolicies).map(([key, policy]) =>
      new aws.iam.RolePolicyAttachment(`${name}-node-${key}`, {
        role: this.nodeRole.name,
        policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/${policy}`,
      }, parent),
    );

    // The cluster role, owned here so its managed policies are visible and reviewed: the EKS cluster
    // policy, plus the VPC resource controller policy that security groups for pods need (the
    // controller creates and attaches trunk and branch ENIs as this role; EKS user guide).
    const serviceRole = new aws.iam.Role(`${name}-service-role`, {
      description: `EKS control plane of ${args.clusterName}`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
      }),
    }, parent);
    const servicePolicies = args.podSecurityGroups ? clusterRolePolicies.withPodSecurityGroups : clusterRolePolicies.base;
    const servicePolicyAttachments = servicePolicies.map((policy) =>
      new aws.iam.RolePolicyAttachment(`${name}-service-${policy}`, {
        role: serviceRole.name,
        policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/${policy}`,
      }, parent),
    );

    const cluster = new eks.Cluster(`${name}-eks`, {
      name: args.clusterName,
      version: args.kubernetesVersion,
      vpcId: args.vpcId,
      privateSubnetIds: args.privateSubnetIds,
      publicSubnetIds: args.publicSubnetIds,
      endpointPrivateAccess: true,
      endpointPublicAccess: args.endpointPublicAccess,
      publicAccessCidrs: args.endpointPublicAccess ? args.publicAccessCidrs : undefined,
      encryptionConfigKeyArn: secretsKey.arn,
      enabledClusterLogTypes: [...controlPlaneLogTypes],
      createOidcProvider: true,
      authenticationMode: eks.AuthenticationMode.Api,
      // Capacity is the managed node group below plus Karpenter; no default node group, no legacy SGs.
      skipDefaultNodeGroup: true,
      skipDefaultSecurityGroups: true,
      serviceRole,
      // The VPC CNI's network policy agent enforces the application namespaces' NetworkPolicies.
      vpcCniOptions: vpcCniOptions(args.podSecurityGroups ?? false),
      // Karpenter nodes join through an access entry for the shared node role.
      accessEntries: {
        nodes: { principalArn: this.nodeRole.arn, type: eks.AccessEntryType.EC2_LINUX },
      },
      tags: { Name: args.clusterName },
    }, { parent: this, dependsOn: [controlPlaneLogs, ...servicePolicyAttachments] });

    // The private endpoint's network interfaces carry the cluster security group, which admits only
    // itself: a CI runner or bastion in the VPC needs this rule to reach the API (still authenticated
    // by IAM and the access entries).
    (args.privateAccessCidrs ?? []).forEach((cidr, i) => {
      new aws.vpc.SecurityGroupIngressRule(`${name}-api-from-${i}`, {
        securityGroupId: cluster.clusterSecurityGroupId,
        description: `Kubernetes API (private endpoint) from ${cidr}`,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        cidrIpv4: cidr,
      }, parent);
    });

    this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
    this.oidcProviderArn = cluster.oidcProviderArn;
    this.oidcIssuer = cluster.oidcIssuer;
    this.clusterSecurityGroupId = cluster.clusterSecurityGroupId;

    this.provider = new k8s.Provider(`${name}-k8s`, {
      kubeconfig: cluster.kubeconfigJson,
      enableServerSideApply: true,
    }, parent);

    const ng = args.systemNodeGroup;
    const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-system-lt`, {
      description: `System nodes of ${args.clusterName}`,
      // IMDSv2 only, and one hop: pods use IRSA, never the node's instance role.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{
        deviceName: "/dev/xvda",
        ebs: { volumeSize: ng.diskSizeGiB, volumeType: "gp3", encrypted: "true", kmsKeyId: ebsKey.arn, deleteOnTermination: "true" },
      }],
      monitoring: { enabled: true },
      tagSpecifications: [
        { resourceType: "instance", tags: { Name: `${args.clusterName}-system`, [workloadClassLabel]: "system" } },
        { resourceType: "volume", tags: { Name: `${args.clusterName}-system` } },
      ],
    }, parent);

    this.systemNodeGroup = new aws.eks.NodeGroup(`${name}-system`, {
      clusterName: args.clusterName,
      nodeGroupNamePrefix: `${args.clusterName}-system-`,
      nodeRoleArn: this.nodeRole.arn,
      subnetIds: args.privateSubnetIds,
      amiType: "AL2023_x86_64_STANDARD",
      capacityType: ng.capacityType,
      instanceTypes: ng.instanceTypes,
      scalingConfig: { minSize: ng.minSize, desiredSize: ng.desiredSize, maxSize: ng.maxSize },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
      labels: { [workloadClassLabel]: "system" },
      tags: { Name: `${args.clusterName}-system` },
    }, { parent: this, dependsOn: [cluster, ...nodePolicyAttachments] });

    this.registerOutputs({
      clusterName: this.clusterName,
      oidcProviderArn: this.oidcProviderArn,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      nodeRoleArn: this.nodeRole.arn,
    });
  }
}

function validateClusterArgs(args: ClusterArgs): void {
  const ng = args.systemNodeGroup;
  if (!(ng.minSize <= ng.desiredSize && ng.desiredSize <= ng.maxSize)) {
    throw new Error(`cluster.systemNodeGroup: desiredSize = ${ng.desiredSize} must be between minSize (${ng.minSize}) and maxSize (${ng.maxSize})`);
  }
  if (args.endpointPublicAccess && args.publicAccessCidrs.length === 0) {
    throw new Error("cluster.publicAccessCidrs = []: must list at least one CIDR block when endpointPublicAccess is true");
  }
  if (args.privateSubnetIds.length < 2) {
    throw new Error(`privateSubnetIds has ${args.privateSubnetIds.length} subnet(s): EKS needs subnets in at least 2 AZs`);
  }
}

/**
 * The node EBS key must be usable by EC2 Auto Scaling's service-linked role (managed node groups)
 * and by EC2 on behalf of Karpenter (which calls CreateFleet with its own role, granted in its policy).
 * The service-linked role is named in a condition (`aws:PrincipalArn`), not as the principal: KMS
 * refuses a key policy whose principal does not exist, and in a fresh account
 * `AWSServiceRoleForAutoScaling` is only created by the first Auto Scaling group (after this key).
 */
export function ebsKeyPolicy(accountId: pulumi.Input<string>, partition: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.all([accountId, partition]).apply(([account, part]) => {
    const autoscalingRole = `arn:${part}:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
    const accountRoot = `arn:${part}:iam::${account}:root`;
    return JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: accountRoot }, Action: "kms:*", Resource: "*" },
        {
          Sid: "AutoScalingUsesKey",
          Effect: "Allow",
          Principal: { AWS: accountRoot },
          Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
          Resource: "*",
          Condition: { ArnEquals: { "aws:PrincipalArn": autoscalingRole } },
        },
        {
          Sid: "AutoScalingGrantsForAttachedVolumes",
          Effect: "Allow",
          Principal: { AWS: accountRoot },
          Action: "kms:CreateGrant",
          Resource: "*",
          Condition: { ArnEquals: { "aws:PrincipalArn": autoscalingRole }, Bool: { "kms:GrantIsForAWSResource": "true" } },
        },
      ],
    });
  });
}
