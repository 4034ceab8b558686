import { strict as assert } from "node:assert";
import { runUnderMocks, type PlannedResource } from "../../lib/plan/mockRuntime";
import { Network } from "../../components/network";
import { Cluster, controlPlaneLogTypes } from "../../components/cluster";
import { ClusterCapacity, interruptionEventPatterns } from "../../components/clusterCapacity";
import { loadStackSettings } from "../support/stacks";
import type { PlatformSettings } from "../../lib/config/settings";

async function buildCluster(settings: PlatformSettings, overrides: { maxNodes?: number; spotInstanceTypes?: string[] } = {}) {
  return runUnderMocks({ project: "autoscaling", stack: settings.environment, config: { "aws:region": "us-east-1" } }, () => {
    const network = new Network("net", { ...settings.network, logsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/logs", clusterName: settings.cluster.name });
    const cluster = new Cluster("c", {
      clusterName: settings.cluster.name,
      kubernetesVersion: settings.cluster.kubernetesVersion,
      vpcId: network.vpcId,
      privateSubnetIds: network.privateSubnetIds,
      publicSubnetIds: network.publicSubnetIds,
      endpointPublicAccess: settings.cluster.endpointPublicAccess,
      publicAccessCidrs: settings.cluster.publicAccessCidrs,
      logRetentionDays: settings.cluster.logRetentionDays,
      logsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/logs",
      systemNodeGroup: settings.cluster.systemNodeGroup,
      accountId: "123456789012",
      partition: "aws",
    });
    const capacity = new ClusterCapacity("cap", {
      clusterName: settings.cluster.name,
      provider: cluster.provider,
      oidcProviderArn: cluster.oidcProviderArn,
      oidcIssuer: cluster.oidcIssuer,
      clusterSecurityGroupId: cluster.clusterSecurityGroupId,
      nodeRole: cluster.nodeRole,
      ebsKmsKeyArn: cluster.ebsKmsKeyArn,
      availabilityZones: network.availabilityZones,
      workloadClasses: settings.cluster.workloadClasses,
      spotInstanceTypes: overrides.spotInstanceTypes ?? settings.cluster.spotInstanceTypes,
      onDemandInstanceTypes: settings.cluster.onDemandInstanceTypes,
      systemNodeGroupMaxSize: settings.cluster.systemNodeGroup.maxSize,
      maxNodes: overrides.maxNodes ?? settings.cluster.maxNodes,
      expectedSpotNodes: settings.cluster.expectedSpotNodes,
      amiAlias: settings.cluster.amiAlias,
      dependsOn: [cluster.systemNodeGroup],
      region: "us-east-1",
      accountId: "123456789012",
      partition: "aws",
    });
    return { nodeCeiling: capacity.nodeCeiling };
  });
}

const one = (rs: PlannedResource[], type: string) => {
  const found = rs.filter((r) => r.type === type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0]!.inputs as Record<string, any>;
};

describe("Network, Cluster and ClusterCapacity components", function () {
  this.timeout(60_000);

  it("prod: 3 AZs with one NAT gateway each, flow logs of all traffic", async () => {
    const { resources } = await buildCluster(loadStackSettings("prod"));
    const subnets = resources.filter((r) => r.type === "aws:ec2/subnet:Subnet");
    assert.equal(subnets.length, 6);
    assert.equal(new Set(subnets.map((s) => s.inputs.availabilityZone)).size, 3);
    assert.equal(resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway").length, 3);
    const flowLog = one(resources, "aws:ec2/flowLog:FlowLog");
    assert.equal(flowLog.trafficType, "ALL");
    assert.equal(one(resources, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").ingress.length, 0);
    assert.ok(subnets.every((s) => s.inputs.mapPublicIpOnLaunch === false));
  });

  it("dev: a single NAT gateway", async () => {
    const { resources } = await buildCluster(loadStackSettings("dev"));
    assert.equal(resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway").length, 1);
  });

  it("prod: EKS with KMS secrets encryption, every control-plane log, restricted endpoint and OIDC", async () => {
    const settings = loadStackSettings("prod");
    const { resources } = await buildCluster(settings);
    const eks = one(resources, "eks:index:Cluster");
    assert.equal(eks.name, "pyairtable-prod");
    assert.match(eks.encryptionConfigKeyArn, /^arn:aws:mock:.*c-eks-secrets/);
    assert.deepEqual(eks.enabledClusterLogTypes, [...controlPlaneLogTypes]);
    assert.equal(eks.endpointPrivateAccess, true);
    // Private by default: the shipped prod stack opens no public endpoint and sends no CIDRs.
    assert.equal(settings.cluster.endpointPublicAccess, false);
    assert.equal(eks.endpointPublicAccess, false);
    assert.equal(eks.publicAccessCidrs, undefined);
    assert.equal(eks.createOidcProvider, true);
    assert.equal(eks.skipDefaultNodeGroup, true);
    const keys = resources.filter((r) => r.type === "aws:kms/key:Key");
    assert.ok(keys.length >= 2 && keys.every((k) => k.inputs.enableKeyRotation === true));
    const logGroup = resources.find((r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.inputs.name === "/aws/eks/pyairtable-prod/cluster");
    assert.equal(logGroup?.inputs.retentionInDays, 365, "prod keeps the EKS audit log a year");
  });

  it("prod: 3 x m5.large on-demand system nodes with IMDSv2 and encrypted gp3 volumes", async () => {
    const { resources } = await buildCluster(loadStackSettings("prod"));
    const ng = one(resources, "aws:eks/nodeGroup:NodeGroup");
    assert.deepEqual([ng.capacityType, ng.instanceTypes, ng.scalingConfig.desiredSize, ng.scalingConfig.minSize], ["ON_DEMAND", ["m5.large"], 3, 3]);
    assert.equal(ng.labels["pyairtable.io/workload-class"], "system");
    const lt = one(resources, "aws:ec2/launchTemplate:LaunchTemplate");
    assert.equal(lt.metadataOptions.httpTokens, "required");
    assert.equal(lt.blockDeviceMappings[0].ebs.encrypted, "true");
    assert.equal(lt.blockDeviceMappings[0].ebs.volumeType, "gp3");
  });

  it("dev: 2 x t3.medium spot system nodes", async () => {
    const { resources } = await buildCluster(loadStackSettings("dev"));
    const ng = one(resources, "aws:eks/nodeGroup:NodeGroup");
    assert.deepEqual([ng.capacityType, ng.instanceTypes[0], ng.scalingConfig.desiredSize], ["SPOT", "t3.medium", 2]);
  });

  it("prod: Karpenter with an interruption queue fed by the four EventBridge rules", async () => {
    const { resources } = await buildCluster(loadStackSettings("prod"));
    const rules = resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule").map((r) => JSON.parse(r.inputs.eventPattern as string));
    assert.deepEqual(rules.map((p) => p["detail-type"][0]).sort(), Object.values(interruptionEventPatterns).map((p) => p["detail-type"][0]).sort());
    const targets = resources.filter((r) => r.type === "aws:cloudwatch/eventTarget:EventTarget");
    assert.equal(targets.length, 4);
    const queue = one(resources, "aws:sqs/queue:Queue");
    assert.ok(targets.every((t) => t.inputs.arn === `arn:aws:mock:us-east-1:123456789012:Queue/${queue.name}`));
    const release = one(resources, "kubernetes:helm.sh/v3:Release");
    assert.equal(release.values.settings.interruptionQueue, "pyairtable-prod");
    assert.equal(release.values.nodeSelector["pyairtable.io/workload-class"], "system");
    const role = resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("karpenter-controller"))!;
    assert.match(String(role.inputs.assumeRolePolicy), /system:serviceaccount:kube-system:karpenter/);
  });

  it("prod: NodePools give batch 90%, api 30% and data 0% spot over >= 4 types in 3 AZs", async () => {
    const { resources, outputs } = await buildCluster(loadStackSettings("prod"));
    const pools = resources.filter((r) => r.type === "kubernetes:karpenter.sh/v1:NodePool").map((r) => r.inputs as Record<string, any>);
    const req = (p: Record<string, any>, key: string) => p.spec.template.spec.requirements.find((r: any) => r.key === key).values as string[];
    const share = (cls: string) => {
      const ofClass = pools.filter((p) => p.spec.template.metadata.labels["pyairtable.io/workload-class"] === cls);
      const spot = ofClass.filter((p) => req(p, "karpenter.sh/capacity-type")[0] === "spot").reduce((n, p) => n + req(p, "pyairtable.io/capacity-spread").length, 0);
      const all = ofClass.reduce((n, p) => n + req(p, "pyairtable.io/capacity-spread").length, 0);
      return spot / all;
    };
    assert.deepEqual([share("batch"), share("api"), share("data")], [0.9, 0.3, 0]);
    for (const p of pools.filter((p) => req(p, "karpenter.sh/capacity-type")[0] === "spot")) {
      assert.ok(req(p, "node.kubernetes.io/instance-type").length >= 4);
      assert.equal(req(p, "topology.kubernetes.io/zone").length, 3);
      assert.deepEqual(p.spec.template.spec.taints[0].key, "pyairtable.io/workload-class");
    }
    const nodeClass = one(resources, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass");
    assert.equal(nodeClass.spec.metadataOptions.httpTokens, "required");
    assert.equal(nodeClass.spec.blockDeviceMappings[0].ebs.encrypted, true);
    const poolLimits = pools.reduce((n, p) => n + Number(p.spec.limits.nodes), 0);
    // The design's 6 steady-state spot nodes are annotated on the spot pools for the cost model.
    const expected = pools.reduce((n, p) => n + Number(p.metadata.annotations["pyairtable.io/expected-nodes"]), 0);
    assert.equal(expected, 6);
    assert.equal(outputs.nodeCeiling, 4 + poolLimits);
    assert.ok((outputs.nodeCeiling as number) <= 40);
  });

  it("rejects a node ceiling below the pools' limits before creating anything in the component", async () => {
    const registered: string[] = [];
    await assert.rejects(
      runUnderMocks({ project: "autoscaling", stack: "prod", config: {}, onRegistration: (t) => registered.push(t) }, () => {
        const s = loadStackSettings("prod");
        new ClusterCapacity("cap", {
          clusterName: "x", provider: undefined as never, oidcProviderArn: "a", oidcIssuer: "i", clusterSecurityGroupId: "sg",
          nodeRole: undefined as never, ebsKmsKeyArn: "k", availabilityZones: ["a", "b", "c"], workloadClasses: s.cluster.workloadClasses,
          spotInstanceTypes: s.cluster.spotInstanceTypes, onDemandInstanceTypes: s.cluster.onDemandInstanceTypes,
          systemNodeGroupMaxSize: 4, maxNodes: 10, expectedSpotNodes: 0, amiAlias: "al2023@latest", region: "us-east-1", accountId: "1", partition: "aws",
        });
      }),
      /cluster\.maxNodes = 10: must be at least 36/,
    );
    assert.ok(!registered.some((t) => t.startsWith("aws:") || t.startsWith("kubernetes:")), registered.join(", "));
  });

  it("rejects fewer than 4 spot instance types", async () => {
    await assert.rejects(buildCluster(loadStackSettings("prod"), { spotInstanceTypes: ["m5.large", "m5a.large", "m6i.large"] }), /cluster\.spotInstanceTypes = .*: must list at least 4 instance types/);
  });
});
