import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  capacitySpreadLabel,
  karpenterCapacityTypeLabel,
  type KarpenterWorkloadClass,
  workloadClassLabel,
} from "../lib/catalog/workloadClasses";
import {
  expectedNodesAnnotation,
  expectedNodesByPool,
  nodeCeiling,
  planNodePools,
  type NodePoolPlan,
  type WorkloadClassCapacity,
} from "../lib/scaling/capacity";
import { addonCharts } from "../lib/catalog/addons";
import { irsaTrustPolicy } from "../lib/aws/irsa";
import { addonContainerResources, chartResources } from "./addons/workloadHygiene";

export interface ClusterCapacityArgs {
  clusterName: string;
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  oidcIssuer: pulumi.Input<string>;
  /** Security group attached to Karpenter nodes (the EKS cluster security group). */
  clusterSecurityGroupId: pulumi.Input<string>;
  /** IAM role of the nodes Karpenter launches. */
  nodeRole: aws.iam.Role;
  /** KMS key for node EBS volumes. */
  ebsKmsKeyArn: pulumi.Input<string>;
  /** AZ names Karpenter may place nodes in (several, for spot diversification). */
  availabilityZones: pulumi.Input<string>[];
  /** Spot and ceiling per workload class (api, batch, data). */
  workloadClasses: Readonly<Record<KarpenterWorkloadClass, WorkloadClassCapacity>>;
  /** Instance types for spot pools; at least 4 for diversification. */
  spotInstanceTypes: string[];
  /** Instance types for on-demand pools. */
  onDemandInstanceTypes: string[];
  /** The system node group's maxSize, counted in the node ceiling. */
  systemNodeGroupMaxSize: number;
  /** Hard ceiling on total nodes; the pools' limits plus the system group must not exceed it. */
  maxNodes: number;
  /** Spot nodes expected in steady state (design: 6 in prod), annotated on the spot pools for the cost model. */
  expectedSpotNodes: number;
  /** AMI alias, e.g. `al2023@v20251209` (pinned) or `al2023@latest`. */
  amiAlias: string;
  /** Root volume per node, GiB. Default 50. */
  nodeDiskSizeGiB?: number;
  /**
   * Network interfaces per node Karpenter leaves out of its max-pods calculation (`reservedENIs`):
   * 1 with security groups for pods, where the trunk ENI takes an interface slot the VPC CNI cannot
   * give pod addresses from. Default 0.
   */
  reservedEnis?: number;
  /** Something Karpenter's controller must wait for (the system node group it runs on). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
}

/** Minimum spot instance types: fewer makes a spot pool easy to drain by one capacity shortage. */
export const minimumSpotInstanceTypes = 4;
export const karpenterNamespace = "kube-system";
export const karpenterServiceAccount = "karpenter";

/**
 * Cluster autoscaling with Karpenter: its controller role (IRSA), the SQS interruption queue fed by
 * EventBridge (spot interruption warnings, rebalance recommendations, instance state changes and
 * scheduled health events, so nodes are drained before AWS reclaims them), the chart, one
 * EC2NodeClass and a spot and an on-demand NodePool per workload class whose labels fix the class's
 * spot share.
 */
export class ClusterCapacity extends pulumi.ComponentResource {
  public readonly interruptionQueueName: pulumi.Output<string>;
  public readonly controllerRoleArn: pulumi.Output<string>;
  public readonly nodePools: readonly NodePoolPlan[];
  /** The most nodes the cluster can have (system node group max + pool limits). */
  public readonly nodeCeiling: number;

  constructor(name: string, args: ClusterCapacityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cluster:ClusterCapacity", name, {}, opts);
    if (args.spotInstanceTypes.length < minimumSpotInstanceTypes) {
      throw new Error(`cluster.spotInstanceTypes = ${JSON.stringify(args.spotInstanceTypes)}: must list at least ${minimumSpotInstanceTypes} instance types`);
    }
    if (args.availabilityZones.length < 2) {
      throw new Error(`availabilityZones has ${args.availabilityZones.length} zone(s): spot capacity needs at least 2`);
    }
    this.nodePools = planNodePools(args.workloadClasses, { spot: args.spotInstanceTypes, onDemand: args.onDemandInstanceTypes });
    this.nodeCeiling = nodeCeiling(args.systemNodeGroupMaxSize, this.nodePools);
    if (this.nodeCeiling > args.maxNodes) {
      throw new Error(`cluster.maxNodes = ${args.maxNodes}: must be at least ${this.nodeCeiling}, the system node group's maximum plus every NodePool's node limit`);
    }
    const parent = { parent: this };

    // --- Interruption handling -------------------------------------------------------------------
    const queue = new aws.sqs.Queue(`${name}-interruptions`, {
      name: args.clusterName,
      // Interruption warnings are useless after two minutes; five keeps a margin.
      messageRetentionSeconds: 300,
      sqsManagedSseEnabled: true,
    }, parent);
    this.interruptionQueueName = queue.name;
    new aws.sqs.QueuePolicy(`${name}-interruptions-policy`, {
      queueUrl: queue.url,
      policy: queue.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "EventBridgeSends", Effect: "Allow", Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] }, Action: "sqs:SendMessage", Resource: arn },
          { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ],
      })),
    }, parent);
    for (const [key, pattern] of Object.entries(interruptionEventPatterns)) {
      const rule = new aws.cloudwatch.EventRule(`${name}-${key}`, {
        description: `Karpenter interruption handling for ${args.clusterName}: ${pattern["detail-type"][0]}`,
        eventPattern: JSON.stringify(pattern),
      }, parent);
      new aws.cloudwatch.EventTarget(`${name}-${key}-target`, { rule: rule.name, arn: queue.arn }, parent);
    }

    // --- Controller identity (IRSA) --------------------------------------------------------------
    const controllerRole = new aws.iam.Role(`${name}-karpenter-controller`, {
      description: `Karpenter controller of ${args.clusterName}`,
      assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, karpenterNamespace, karpenterServiceAccount),
    }, parent);
    this.controllerRoleArn = controllerRole.arn;
    new aws.iam.RolePolicy(`${name}-karpenter-controller-policy`, {
      role: controllerRole.id,
      policy: pulumi.all([queue.arn, args.nodeRole.arn, args.ebsKmsKeyArn, args.region, args.accountId, args.partition])
        .apply(([queueArn, nodeRoleArn, keyArn, region, account, partition]) =>
          JSON.stringify(karpenterControllerPolicy({ clusterName: args.clusterName, queueArn, nodeRoleArn, keyArn, region, account, partition }))),
    }, parent);

    // --- Controller -------------------------------------------------------------------------------
    const chart = addonCharts.karpenter;
    const release = new k8s.helm.v3.Release(`${name}-karpenter`, {
      name: "karpenter",
      chart: chart.chart,
      version: chart.version,
      namespace: karpenterNamespace,
      atomic: true,
      timeout: 600,
      values: {
        // reservedENIs is a string in the chart's values (default "0").
        settings: { clusterName: args.clusterName, interruptionQueue: queue.name, reservedENIs: String(args.reservedEnis ?? 0) },
        serviceAccount: { name: karpenterServiceAccount, annotations: { "eks.amazonaws.com/role-arn": controllerRole.arn } },
        replicas: 2,
        // Karpenter must not run on nodes it manages: pin it to the system node group.
        nodeSelector: { [workloadClassLabel]: "system" },
        priorityClassName: "system-cluster-critical",
        controller: { resources: chartResources(addonContainerResources.karpenter) },
        podDisruptionBudget: { name: "karpenter", maxUnavailable: 1 },
        serviceMonitor: { enabled: false },
      },
    }, { parent: this, provider: args.provider, dependsOn: args.dependsOn });

    // --- Node class and pools -----------------------------------------------------------------------
    const nodeClassName = "default";
    new k8s.apiextensions.CustomResource(`${name}-nodeclass`, {
      apiVersion: "karpenter.k8s.aws/v1",
      kind: "EC2NodeClass",
      metadata: { name: nodeClassName },
      spec: {
        role: args.nodeRole.name,
        amiSelectorTerms: [{ alias: args.amiAlias }],
        subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": args.clusterName } }],
        securityGroupSelectorTerms: [{ id: args.clusterSecurityGroupId }],
        metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
        blockDeviceMappings: [{
          deviceName: "/dev/xvda",
          ebs: { volumeSize: `${args.nodeDiskSizeGiB ?? 50}Gi`, volumeType: "gp3", encrypted: true, kmsKeyID: args.ebsKmsKeyArn, deleteOnTermination: true },
        }],
        tags: { "karpenter.sh/discovery": args.clusterName },
      },
    }, { parent: this, provider: args.provider, dependsOn: [release] });

    const expected = expectedNodesByPool(args.expectedSpotNodes, this.nodePools);
    for (const pool of this.nodePools) {
      new k8s.apiextensions.CustomResource(`${name}-pool-${pool.name}`, {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: {
          name: pool.name,
          labels: { [workloadClassLabel]: pool.workloadClass },
          // Karpenter decides the real count; this is the steady state the cost model prices.
          annotations: { [expectedNodesAnnotation]: String(expected[pool.name] ?? 0) },
        },
        spec: nodePoolSpec(pool, nodeClassName, args.availabilityZones),
      }, { parent: this, provider: args.provider, dependsOn: [release] });
    }

    this.registerOutputs({
      interruptionQueueName: this.interruptionQueueName,
      controllerRoleArn: this.controllerRoleArn,
      nodeCeiling: this.nodeCeiling,
      nodePools: this.nodePools.map((p) => p.name),
    });
  }
}

/** The NodePool spec for one pool (exported for the policy pack's tests). */
export function nodePoolSpec(pool: NodePoolPlan, nodeClassName: string, zones: pulumi.Input<string>[]) {
  return {
    template: {
      metadata: { labels: { [workloadClassLabel]: pool.workloadClass } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: nodeClassName },
        requirements: [
          { key: karpenterCapacityTypeLabel, operator: "In", values: [pool.capacityType] },
          { key: "node.kubernetes.io/instance-type", operator: "In", values: [...pool.instanceTypes] },
          { key: "topology.kubernetes.io/zone", operator: "In", values: zones },
          { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
          { key: capacitySpreadLabel, operator: "In", values: [...pool.spreadValues] },
        ],
        // Only pods of this class tolerate its nodes.
        taints: [{ key: workloadClassLabel, value: pool.workloadClass, effect: "NoSchedule" }],
        // Nodes are replaced monthly so AMI and kernel patches roll out.
        expireAfter: "720h",
      },
    },
    disruption: {
      // Data pods (connection poolers) are not moved for bin-packing, only when a node is empty.
      consolidationPolicy: pool.workloadClass === "data" ? "WhenEmpty" : "WhenEmptyOrUnderutilized",
      consolidateAfter: pool.workloadClass === "data" ? "10m" : "1m",
      budgets: [{ nodes: "10%" }],
    },
    limits: { nodes: String(pool.maxNodes) },
    // On-demand first within a class would defeat the split: equal weights, the spread decides.
  };
}

/** EventBridge patterns Karpenter's interruption controller understands. */
export const interruptionEventPatterns = {
  "spot-interruption": { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
  "rebalance-recommendation": { source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] },
  "instance-state-change": { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
  "scheduled-change": { source: ["aws.health"], "detail-type": ["AWS Health Event"] },
} as const;

export interface ControllerPolicyInput {
  clusterName: string;
  queueArn: string;
  nodeRoleArn: string;
  keyArn: string;
  region: string;
  account: string;
  partition: string;
}

/**
 * Karpenter v1 controller permissions: the statements of the reference CloudFormation template of
 * the deployed version (contracts/karpenter/cloudformation-v1.14.1.yaml: NodeLifecycle,
 * IAMIntegration, EKSIntegration, Interruption, ZonalShift and ResourceDiscovery policies), in its
 * order and with its conditions, plus one statement the reference does not need: the node volumes'
 * customer-managed KMS key (the reference uses the account's default EBS key).
 * test/components/karpenterPolicy.test.ts compares them statement by statement.
 */
export function karpenterControllerPolicy(p: ControllerPolicyInput) {
  const ec2 = (resource: string) => `arn:${p.partition}:ec2:${p.region}:*:${resource}`;
  const ec2NoAccount = (resource: string) => `arn:${p.partition}:ec2:${p.region}::${resource}`;
  const instanceProfiles = `arn:${p.partition}:iam::${p.account}:instance-profile/*`;
  const clusterArn = `arn:${p.partition}:eks:${p.region}:${p.account}:cluster/${p.clusterName}`;
  const clusterTag = `aws:RequestTag/kubernetes.io/cluster/${p.clusterName}`;
  const ownedTag = `aws:ResourceTag/kubernetes.io/cluster/${p.clusterName}`;
  const launched = [ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"), ec2("launch-template/*"), ec2("spot-instances-request/*")];
  return {
    Version: "2012-10-17",
    Statement: [
      // --- NodeLifecyclePolicy ---
      {
        Sid: "AllowScopedEC2InstanceAccessActions",
        Effect: "Allow",
        Resource: [ec2NoAccount("image/*"), ec2NoAccount("snapshot/*"), ec2("security-group/*"), ec2("subnet/*"), ec2("capacity-reservation/*"), ec2("placement-group/*")],
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
      },
      {
        Sid: "AllowScopedEC2LaunchTemplateAccessActions",
        Effect: "Allow",
        Resource: ec2("launch-template/*"),
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
        Condition: { StringEquals: { [ownedTag]: "owned" }, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowScopedEC2InstanceActionsWithTags",
        Effect: "Allow",
        Resource: launched,
        Action: ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
        Condition: { StringEquals: { [clusterTag]: "owned", "aws:RequestTag/eks:eks-cluster-name": p.clusterName }, StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowScopedResourceCreationTagging",
        Effect: "Allow",
        Resource: launched,
        Action: "ec2:CreateTags",
        Condition: {
          StringEquals: { [clusterTag]: "owned", "aws:RequestTag/eks:eks-cluster-name": p.clusterName, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"] },
          StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
        },
      },
      {
        Sid: "AllowScopedResourceTagging",
        Effect: "Allow",
        Resource: ec2("instance/*"),
        Action: "ec2:CreateTags",
        Condition: {
          StringEquals: { [ownedTag]: "owned" },
          StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
          StringEqualsIfExists: { "aws:RequestTag/eks:eks-cluster-name": p.clusterName },
          "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] },
        },
      },
      {
        Sid: "AllowScopedDeletion",
        Effect: "Allow",
        Resource: [ec2("instance/*"), ec2("launch-template/*")],
        Action: ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
        Condition: { StringEquals: { [ownedTag]: "owned" }, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      // --- IAMIntegrationPolicy ---
      {
        Sid: "AllowPassingInstanceRole",
        Effect: "Allow",
        Resource: p.nodeRoleArn,
        Action: "iam:PassRole",
        Condition: { StringEquals: { "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"] } },
      },
      {
        Sid: "AllowScopedInstanceProfileCreationActions",
        Effect: "Allow",
        Resource: instanceProfiles,
        Action: ["iam:CreateInstanceProfile"],
        Condition: {
          StringEquals: { [clusterTag]: "owned", "aws:RequestTag/eks:eks-cluster-name": p.clusterName, "aws:RequestTag/topology.kubernetes.io/region": p.region },
          StringLike: { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      {
        Sid: "AllowScopedInstanceProfileTagActions",
        Effect: "Allow",
        Resource: instanceProfiles,
        Action: ["iam:TagInstanceProfile"],
        Condition: {
          StringEquals: {
            [ownedTag]: "owned",
            "aws:ResourceTag/topology.kubernetes.io/region": p.region,
            [clusterTag]: "owned",
            "aws:RequestTag/eks:eks-cluster-name": p.clusterName,
            "aws:RequestTag/topology.kubernetes.io/region": p.region,
          },
          StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      {
        Sid: "AllowScopedInstanceProfileActions",
        Effect: "Allow",
        Resource: instanceProfiles,
        Action: ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
        Condition: {
          StringEquals: { [ownedTag]: "owned", "aws:ResourceTag/topology.kubernetes.io/region": p.region },
          StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      // --- EKSIntegrationPolicy ---
      { Sid: "AllowAPIServerEndpointDiscovery", Effect: "Allow", Resource: clusterArn, Action: "eks:DescribeCluster" },
      // --- InterruptionPolicy ---
      { Sid: "AllowInterruptionQueueActions", Effect: "Allow", Resource: p.queueArn, Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"] },
      // --- ZonalShiftPolicy ---
      {
        Sid: "AllowZonalShiftStatusReadOnly",
        Effect: "Allow",
        Resource: "*",
        Action: ["arc-zonal-shift:GetManagedResource"],
        Condition: { StringEquals: { "arc-zonal-shift:ResourceIdentifier": clusterArn } },
      },
      // --- ResourceDiscoveryPolicy ---
      {
        Sid: "AllowRegionalReadActions",
        Effect: "Allow",
        Resource: "*",
        Action: [
          "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
        ],
        Condition: { StringEquals: { "aws:RequestedRegion": p.region } },
      },
      { Sid: "AllowSSMReadActions", Effect: "Allow", Resource: `arn:${p.partition}:ssm:${p.region}::parameter/aws/service/*`, Action: "ssm:GetParameter" },
      { Sid: "AllowPricingReadActions", Effect: "Allow", Resource: "*", Action: "pricing:GetProducts" },
      { Sid: "AllowUnscopedInstanceProfileListAction", Effect: "Allow", Resource: "*", Action: "iam:ListInstanceProfiles" },
      { Sid: "AllowInstanceProfileReadActions", Effect: "Allow", Resource: instanceProfiles, Action: "iam:GetInstanceProfile" },
      // --- Not in the reference: the node volumes' customer-managed key, used through EC2 only ---
      {
        Sid: "AllowNodeVolumeEncryption",
        Effect: "Allow",
        Resource: p.keyArn,
        Action: ["kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
        Condition: { StringEquals: { "kms:ViaService": `ec2.${p.region}.amazonaws.com` } },
      },
    ],
  };
}
