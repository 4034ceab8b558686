import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { planSubnets } from "../lib/aws/cidr";

export interface NetworkArgs {
  /** VPC CIDR block, /20 or larger (e.g. `10.40.0.0/16`). */
  cidrBlock: string;
  /** Availability zones to span, 2-3. The design uses 3. */
  availabilityZones: number;
  /** `one-per-az` keeps egress alive through an AZ outage (prod); `single` saves ~$33/month per gateway (dev). */
  natGateways: "one-per-az" | "single";
  /** VPC flow log retention in CloudWatch Logs, days. */
  flowLogRetentionDays: number;
  /** KMS key ARN for the flow-log group (a key whose policy admits CloudWatch Logs). */
  logsKmsKeyArn: pulumi.Input<string>;
  /** EKS cluster name: tags subnets for load balancers and Karpenter discovery. */
  clusterName: string;
  /**
   * Create the VPC interface endpoints of `interfaceEndpointServices` in every private subnet, with
   * their own security group (HTTPS from the VPC only). The S3 gateway endpoint is created either way.
   */
  interfaceEndpoints: boolean;
}

/**
 * AWS services the nodes and pods call, reached through VPC interface endpoints (private DNS) instead
 * of the NAT gateways: kubelet and Karpenter (EC2), image pulls (ECR API and registry; layers come
 * from S3 through the gateway endpoint), IRSA (STS), KEDA and the automation service (SQS), External
 * Secrets (Secrets Manager) and log shipping (CloudWatch Logs). Endpoint service name:
 * `com.amazonaws.<region>.<service>`.
 */
export const interfaceEndpointServices = ["ec2", "ecr.api", "ecr.dkr", "sts", "sqs", "secretsmanager", "logs"] as const;

/**
 * Trust policy of the flow-log delivery role: only VPC Flow Logs acting for a flow log of this account
 * and region may assume it (confused-deputy protection with `aws:SourceAccount` and `aws:SourceArn`,
 * as the Amazon VPC User Guide's "IAM role for publishing flow logs to CloudWatch Logs" recommends;
 * the flow-log id is not known before the flow log exists, which needs the role, hence `vpc-flow-log/*`).
 */
export function flowLogTrustPolicy(accountId: string, region: string, partition: string) {
  return {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": accountId },
        ArnLike: { "aws:SourceArn": `arn:${partition}:ec2:${region}:${accountId}:vpc-flow-log/*` },
      },
    }],
  };
}

/**
 * VPC over several AZs: public subnets (load balancers, NAT), private subnets (nodes, data tier),
 * NAT gateways, a locked-down default security group and flow logs of all traffic.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly vpcCidrBlock: pulumi.Output<string>;
  public readonly publicSubnetIds: pulumi.Output<string>[];
  public readonly privateSubnetIds: pulumi.Output<string>[];
  public readonly availabilityZones: pulumi.Output<string>[];
  public readonly natGatewayCount: number;
  /** Interface endpoints created (0 when `interfaceEndpoints` is off). */
  public readonly interfaceEndpointCount: number;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:network:Network", name, {}, opts);
    // Validate before creating anything: a bad layout must not leave half a VPC behind.
    const layout = planSubnets(args.cidrBlock, args.availabilityZones);
    const parent = { parent: this };

    const zones = aws.getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, parent);
    this.availabilityZones = layout.privateCidrs.map((_, i) =>
      zones.names.apply((names) => {
        if (names.length < args.availabilityZones) {
          throw new Error(`network.availabilityZones = ${args.availabilityZones}: the region offers only ${names.length} zones`);
        }
        return names[i]!;
      }),
    );

    const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
      cidrBlock: args.cidrBlock,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: `${name}-vpc` },
    }, parent);
    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;

    // The default security group allows all traffic between its members; nothing should use it.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, ingress: [], egress: [], tags: { Name: `${name}-default-deny` } }, parent);

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, parent);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { Name: `${name}-public` },
    }, parent);

    const publicSubnets = layout.publicCidrs.map((cidr, i) => {
      const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: this.availabilityZones[i],
        // Nodes never live here; only load balancers and NAT gateways, which get their own addresses.
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1", [`kubernetes.io/cluster/${args.clusterName}`]: "shared" },
      }, parent);
      new aws.ec2.RouteTableAssociation(`${name}-public-${i}-rta`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
      return subnet;
    });
    this.publicSubnetIds = publicSubnets.map((s) => s.id);

    this.natGatewayCount = args.natGateways === "one-per-az" ? args.availabilityZones : 1;
    const natGateways = Array.from({ length: this.natGatewayCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-${i}-eip`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, parent);
      return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
        allocationId: eip.id,
        subnetId: publicSubnets[i]!.id,
        connectivityType: "public",
        tags: { Name: `${name}-nat-${i}` },
      }, { parent: this, dependsOn: [igw] });
    });

    const privateRouteTables: aws.ec2.RouteTable[] = [];
    const privateSubnets = layout.privateCidrs.map((cidr, i) => {
      const subnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: this.availabilityZones[i],
        mapPublicIpOnLaunch: false,
        tags: {
          Name: `${name}-private-${i}`,
          "kubernetes.io/role/internal-elb": "1",
          [`kubernetes.io/cluster/${args.clusterName}`]: "shared",
          // Karpenter launches nodes into subnets carrying this tag.
          "karpenter.sh/discovery": args.clusterName,
        },
      }, parent);
      // Each AZ egresses through its own NAT gateway when there is one per AZ.
      const nat = natGateways[Math.min(i, natGateways.length - 1)]!;
      const routes = new aws.ec2.RouteTable(`${name}-private-${i}-rt`, {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: { Name: `${name}-private-${i}` },
      }, parent);
      privateRouteTables.push(routes);
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}-rta`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
      return subnet;
    });
    this.privateSubnetIds = privateSubnets.map((s) => s.id);

    // --- Private paths to AWS ---------------------------------------------------------------------
    const region = aws.getRegionOutput({}, parent);
    // S3 through the route tables (gateway endpoint, no charge): ECR image layers and S3 data stay off the NAT.
    new aws.ec2.VpcEndpoint(`${name}-s3`, {
      vpcId: vpc.id,
      serviceName: pulumi.interpolate`com.amazonaws.${region.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: privateRouteTables.map((t) => t.id),
      tags: { Name: `${name}-s3` },
    }, parent);
    this.interfaceEndpointCount = 0;
    if (args.interfaceEndpoints) {
      const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoints-sg`, {
        vpcId: vpc.id,
        description: `VPC interface endpoints of ${name}: HTTPS from the VPC only`,
        // No egress rules: an endpoint answers connections (stateful) and opens none.
        tags: { Name: `${name}-endpoints` },
      }, parent);
      new aws.vpc.SecurityGroupIngressRule(`${name}-endpoints-https`, {
        securityGroupId: endpointSg.id,
        cidrIpv4: args.cidrBlock,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        description: "HTTPS to the AWS APIs from inside the VPC",
        tags: { Name: `${name}-endpoints-https` },
      }, parent);
      for (const service of interfaceEndpointServices) {
        new aws.ec2.VpcEndpoint(`${name}-${service.replace(".", "-")}`, {
          vpcId: vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region.region}.${service}`,
          vpcEndpointType: "Interface",
          // The service's public name resolves to the endpoint's private addresses inside the VPC:
          // the SDKs need no endpoint configuration.
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIds,
          securityGroupIds: [endpointSg.id],
          tags: { Name: `${name}-${service}` },
        }, parent);
      }
      this.interfaceEndpointCount = interfaceEndpointServices.length;
    }

    const flowLogGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, {
      name: `/aws/vpc/${name}/flow-logs`,
      retentionInDays: args.flowLogRetentionDays,
      kmsKeyId: args.logsKmsKeyArn,
    }, parent);
    const identity = aws.getCallerIdentityOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);
    const flowLogRole = new aws.iam.Role(`${name}-flow-logs-role`, {
      assumeRolePolicy: pulumi.all([identity.accountId, region.region, partition.partition])
        .apply(([account, reg, part]) => JSON.stringify(flowLogTrustPolicy(account, reg, part))),
    }, parent);
    new aws.iam.RolePolicy(`${name}-flow-logs-policy`, {
      role: flowLogRole.id,
      policy: flowLogGroup.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            // The group's streams (`<group ARN>:*`): CreateLogStream and PutLogEvents act on log-stream resources only.
            { Sid: "WriteFlowLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: `${arn}:*` },
            // DescribeLogGroups supports no resource type: it is granted on * or not at all.
            { Sid: "FindTheLogGroup", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
          ],
        }),
      ),
    }, parent);
    new aws.ec2.FlowLog(`${name}-flow-log`, {
      vpcId: vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: flowLogGroup.arn,
      iamRoleArn: flowLogRole.arn,
      maxAggregationInterval: 60,
    }, parent);

    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      availabilityZones: this.availabilityZones,
      natGatewayCount: this.natGatewayCount,
      interfaceEndpointCount: this.interfaceEndpointCount,
    });
  }
}
