import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import type { Environment, StreamingSettings } from "../lib/config/settings";
import { designLimits } from "../lib/design";

/** MSK listener ports: TLS (mutual-TLS clients) and SASL/IAM over TLS. */
export const mskTlsPort = 9094;
export const mskIamPort = 9098;
/** Open-monitoring exporters on every broker: JMX exporter 11001, node exporter 11002. */
export const mskJmxExporterPort = 11001;
export const mskNodeExporterPort = 11002;

/**
 * Amazon MSK (provisioned) for the SAGA orchestrator and analytics consumers.
 *
 * Broker count is NOT autoscaled by MSK: `brokers` is a configuration value (design range 3-6) that the
 * automation service changes through `pulumi up` when consumer lag or broker CPU stays high; MSK then adds
 * brokers (it cannot remove them, so scaling in means a new cluster). Only broker storage scales on its own,
 * through Application Auto Scaling (`storageAutoscaling`).
 */
export interface StreamingArgs extends StreamingSettings {
  /** `prod` or `dev`: tags the resources. */
  environment: Environment;
  /** VPC of the client subnets (the broker security group lives here). */
  vpcId: pulumi.Input<string>;
  /**
   * Private client subnets, one per AZ, 2 or 3. MSK places `brokers / subnetIds.length` brokers in each,
   * so `brokers` must be a multiple of their count.
   */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of Kafka clients (e.g. the EKS node group): the only sources admitted on 9094 and 9098. */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /**
   * Security groups of the Prometheus that scrapes the brokers' JMX (11001) and node (11002) exporters.
   * Default: `clientSecurityGroupIds` (Prometheus runs on the cluster nodes).
   */
  prometheusSecurityGroupIds?: pulumi.Input<string>[];
  /** KMS key ARN for the broker log group (a key whose policy admits CloudWatch Logs). */
  logsKmsKeyArn: pulumi.Input<string>;
  /**
   * ACM Private CA ARNs for mutual-TLS client authentication on port 9094. MSK only enables TLS client
   * authentication with a private CA; without one, clients authenticate with IAM on 9098 only (and
   * `bootstrapBrokersTls` is empty). Default: none.
   */
  tlsCertificateAuthorityArns?: pulumi.Input<string>[];
  /**
   * `num.partitions` for topics created without an explicit count; KEDA's Kafka scaler runs at most one
   * consumer per partition, so this bounds consumer scale-out. Default 12 (divisible by 3 and 6 brokers).
   */
  defaultPartitions?: number;
}

/**
 * An MSK cluster with encryption at rest under its own KMS key, TLS-only client traffic, IAM (and optionally
 * mTLS) client authentication, a hardened Kafka configuration, broker logs in CloudWatch, Prometheus
 * exporters, and broker-storage autoscaling.
 */
export class Streaming extends pulumi.ComponentResource {
  public readonly clusterArn: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  /** TLS (mTLS) bootstrap string, port 9094; empty unless `tlsCertificateAuthorityArns` is set. */
  public readonly bootstrapBrokersTls: pulumi.Output<string>;
  /** SASL/IAM bootstrap string, port 9098. */
  public readonly bootstrapBrokersSaslIam: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  public readonly brokerCount: number;

  constructor(name: string, args: StreamingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:streaming:Streaming", name, {}, opts);
    // Validate before creating anything: a rejected cluster must not leave a key or log group behind.
    const replicationFactor = validateStreamingArgs(name, args);
    const parent = { parent: this };
    const tlsAuth = (args.tlsCertificateAuthorityArns?.length ?? 0) > 0;
    const partitions = args.defaultPartitions ?? 12;

    const key = customerManagedKey(`${name}-kms`, `MSK ${name}: broker storage encryption at rest`, parent);

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `MSK ${name} brokers: Kafka clients and Prometheus only`,
      // No egress rules: brokers answer inbound connections (stateful) and start none into the VPC.
      tags: { Name: `${name}-msk` },
    }, parent);
    const ingress = (suffix: string, sources: pulumi.Input<string>[], fromPort: number, toPort: number, description: string) =>
      sources.forEach((source, i) =>
        new aws.vpc.SecurityGroupIngressRule(`${name}-${suffix}-${i}`, {
          securityGroupId: sg.id,
          referencedSecurityGroupId: source,
          ipProtocol: "tcp",
          fromPort,
          toPort,
          description,
          tags: { Name: `${name}-${suffix}-${i}` },
        }, parent),
      );
    ingress("iam", args.clientSecurityGroupIds, mskIamPort, mskIamPort, "Kafka over TLS with IAM authentication");
    // The TLS listener only exists when mutual TLS is configured; no rule for a port nothing serves.
    if (tlsAuth) ingress("tls", args.clientSecurityGroupIds, mskTlsPort, mskTlsPort, "Kafka over mutual TLS");
    ingress("prometheus", args.prometheusSecurityGroupIds ?? args.clientSecurityGroupIds, mskJmxExporterPort, mskNodeExporterPort, "Prometheus JMX and node exporters");

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-broker-logs`, {
      name: `/aws/msk/${name}/brokers`,
      retentionInDays: args.logRetentionDays,
      kmsKeyId: args.logsKmsKeyArn,
      tags: { Name: `${name}-broker-logs` },
    }, parent);

    // Topics are created deliberately (never by a typo'd producer), survive one broker down without losing
    // writes (RF 3, min ISR 2), and never elect an out-of-sync leader (no silent data loss).
    const configuration = new aws.msk.Configuration(`${name}-config`, {
      name: `${name}-config`,
      description: `Kafka server properties for ${name}`,
      kafkaVersions: [args.kafkaVersion],
      serverProperties: [
        "auto.create.topics.enable=false",
        `default.replication.factor=${replicationFactor}`,
        `min.insync.replicas=${Math.max(1, replicationFactor - 1)}`,
        `num.partitions=${partitions}`,
        "unclean.leader.election.enable=false",
      ].join("\n") + "\n",
    }, parent);

    const cluster = new aws.msk.Cluster(`${name}-cluster`, {
      clusterName: name,
      kafkaVersion: args.kafkaVersion,
      numberOfBrokerNodes: args.brokers,
      brokerNodeGroupInfo: {
        instanceType: args.brokerInstanceType,
        clientSubnets: args.subnetIds,
        securityGroups: [sg.id],
        storageInfo: { ebsStorageInfo: { volumeSize: args.volumeSizeGiB } },
      },
      configurationInfo: { arn: configuration.arn, revision: configuration.latestRevision },
      encryptionInfo: {
        encryptionAtRestKmsKeyArn: key.arn,
        // TLS between clients and brokers and between brokers; no plaintext listener at all.
        encryptionInTransit: { clientBroker: "TLS", inCluster: true },
      },
      clientAuthentication: {
        sasl: { iam: true, scram: false },
        ...(tlsAuth ? { tls: { certificateAuthorityArns: args.tlsCertificateAuthorityArns } } : {}),
        unauthenticated: false,
      },
      enhancedMonitoring: args.enhancedMonitoring,
      // The cluster's Prometheus scrapes these for the consumer-lag dashboards and KEDA cross-checks.
      openMonitoring: {
        prometheus: {
          jmxExporter: { enabledInBroker: true },
          nodeExporter: { enabledInBroker: true },
        },
      },
      loggingInfo: {
        brokerLogs: {
          cloudwatchLogs: { enabled: true, logGroup: logGroup.name },
        },
      },
      tags: { Name: name },
    }, {
      parent: this,
      // Application Auto Scaling grows the broker volumes; without this the next `pulumi up` would try to
      // shrink them back to volumeSizeGiB, which MSK rejects (EBS volumes only grow).
      ...(args.storageAutoscaling ? { ignoreChanges: ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"] } : {}),
    });

    if (args.storageAutoscaling) {
      const target = new aws.appautoscaling.Target(`${name}-storage-target`, {
        serviceNamespace: "kafka",
        scalableDimension: "kafka:broker-storage:VolumeSize",
        resourceId: cluster.arn,
        minCapacity: args.volumeSizeGiB,
        maxCapacity: args.storageAutoscaling.maxVolumeSizeGiB,
        tags: { Name: `${name}-storage` },
      }, parent);
      new aws.appautoscaling.Policy(`${name}-storage-policy`, {
        name: `${name}-broker-storage`,
        policyType: "TargetTrackingScaling",
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
          targetValue: args.storageAutoscaling.targetUtilizationPercent,
          // MSK storage cannot shrink.
          disableScaleIn: true,
        },
      }, parent);
    }

    this.clusterArn = cluster.arn;
    this.clusterName = cluster.clusterName;
    this.bootstrapBrokersTls = cluster.bootstrapBrokersTls;
    this.bootstrapBrokersSaslIam = cluster.bootstrapBrokersSaslIam;
    this.securityGroupId = sg.id;
    this.kmsKeyArn = key.arn;
    this.brokerCount = args.brokers;

    this.registerOutputs({
      clusterArn: this.clusterArn,
      clusterName: this.clusterName,
      bootstrapBrokersTls: this.bootstrapBrokersTls,
      bootstrapBrokersSaslIam: this.bootstrapBrokersSaslIam,
      securityGroupId: this.securityGroupId,
      kmsKeyArn: this.kmsKeyArn,
      brokerCount: this.brokerCount,
    });
  }
}

/** Kafka replication factor the configuration uses: 3, never more than the brokers. */
const targetReplicationFactor = 3;

/** Checks the arguments; returns the replication factor. Throws naming the field, value and what is allowed. */
function validateStreamingArgs(name: string, args: StreamingArgs): number {
  const { min, max } = designLimits.mskBrokers;
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,56}$/.test(name)) {
    throw new Error(`Streaming name = ${JSON.stringify(name)}: must be 1-57 letters, digits and hyphens (MSK cluster and configuration names, plus "-config")`);
  }
  if (!Number.isInteger(args.brokers) || args.brokers < min || args.brokers > max) {
    throw new Error(`streaming.brokers = ${args.brokers}: must be an integer from ${min} to ${max} (design: Amazon MSK 3-6 brokers)`);
  }
  const subnets = args.subnetIds.length;
  if (subnets < 2 || subnets > 3) {
    throw new Error(`streaming subnetIds has ${subnets} subnet${subnets === 1 ? "" : "s"}: MSK needs 2 or 3 client subnets, one per availability zone`);
  }
  if (args.brokers % subnets !== 0) {
    throw new Error(`streaming.brokers = ${args.brokers}: must be a multiple of the client subnets (${subnets}): MSK spreads brokers evenly over the subnets' availability zones`);
  }
  if (args.clientSecurityGroupIds.length === 0) {
    throw new Error("streaming clientSecurityGroupIds is empty: at least one client security group must be admitted, or no client can reach the brokers");
  }
  if (!Number.isInteger(args.volumeSizeGiB) || args.volumeSizeGiB < 1 || args.volumeSizeGiB > 16384) {
    throw new Error(`streaming.volumeSizeGiB = ${args.volumeSizeGiB}: must be an integer from 1 to 16384 (MSK broker EBS GiB)`);
  }
  const sa = args.storageAutoscaling;
  if (sa) {
    if (!Number.isInteger(sa.maxVolumeSizeGiB) || sa.maxVolumeSizeGiB <= args.volumeSizeGiB || sa.maxVolumeSizeGiB > 16384) {
      throw new Error(`streaming.storageAutoscaling.maxVolumeSizeGiB = ${sa.maxVolumeSizeGiB}: must be an integer above volumeSizeGiB (${args.volumeSizeGiB}) and at most 16384`);
    }
    if (!Number.isInteger(sa.targetUtilizationPercent) || sa.targetUtilizationPercent < 10 || sa.targetUtilizationPercent > 80) {
      throw new Error(`streaming.storageAutoscaling.targetUtilizationPercent = ${sa.targetUtilizationPercent}: must be an integer from 10 to 80 (MSK storage target utilisation)`);
    }
  }
  const partitions = args.defaultPartitions ?? 12;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
    throw new Error(`streaming defaultPartitions = ${partitions}: must be an integer from 1 to 1000`);
  }
  const rf = Math.min(targetReplicationFactor, args.brokers);
  return rf;
}
