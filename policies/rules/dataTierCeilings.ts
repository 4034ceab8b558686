import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { asNumber, isMasked, known } from "../lib";

export interface DataTierCeilingsConfig {
  /** Highest Aurora Serverless v2 maxCapacity, ACU. */
  maxAuroraAcu: number;
  /** Highest maxCapacity of the Aurora read-replica auto scaling target. */
  maxReadReplicas: number;
  /** Highest Redis shard count (numNodeGroups, and the shard auto scaling target's maxCapacity). */
  maxRedisShards: number;
  /** Highest MSK broker volume, GiB (initial size, and the storage auto scaling target's maxCapacity). */
  maxKafkaVolumeGiB: number;
  /** Highest MSK broker count. */
  maxKafkaBrokers: number;
  /** Highest OpenSearch data node count. */
  maxSearchDataNodes: number;
}

/** A number input (number or numeric string), or undefined when absent, unknown or masked. */
const numberAt = (get: () => unknown): number | undefined => {
  const v = known(get);
  return typeof v === "symbol" ? undefined : asNumber(v);
};

/** A name for messages: the given property if it is a known string, else the logical name. */
const nameOf = (get: () => unknown, fallback: string): string => {
  const v = known(get);
  return typeof v === "string" && !isMasked(v) ? v : fallback;
};

/** Application Auto Scaling dimensions of the data tier and the config key that caps each. */
const scalableDimensions: Record<string, { key: keyof DataTierCeilingsConfig; unit: string }> = {
  "rds:cluster:ReadReplicaCount": { key: "maxReadReplicas", unit: "read replicas" },
  "elasticache:replication-group:NodeGroups": { key: "maxRedisShards", unit: "shards" },
  "kafka:broker-storage:VolumeSize": { key: "maxKafkaVolumeGiB", unit: "GiB per broker" },
};

/**
 * Data tier ceilings: the design's upper bounds for what scales in the data tier, whether it scales
 * natively (Aurora Serverless v2 capacity), through Application Auto Scaling (read replicas, Redis
 * shards, MSK broker storage) or by config changes the automation service makes (Redis shards, MSK
 * brokers, OpenSearch data nodes).
 */
export const dataTierCeilings: ResourceValidationPolicy = {
  name: "data-tier-ceilings",
  description: "Aurora ACU, read replicas, Redis shards, MSK brokers and broker storage, and OpenSearch data nodes stay within the design's ceilings, including the Application Auto Scaling targets' maxCapacity.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Lower the value in the stack file (`autoscaling:database.maxAcu` / `readReplicaScaling.maxReplicas`, `autoscaling:cache.maxShards` / `shards`, `autoscaling:streaming.brokers` / `volumeSizeGiB` / `storageAutoscaling.maxVolumeSizeGiB`, `autoscaling:search.dataNodes`); if the design's ceiling itself must change, raise it in policies/config/<stack>.json through a reviewed change.",
  configSchema: {
    properties: {
      maxAuroraAcu: { type: "number", minimum: 1, maximum: 256, default: 16 },
      maxReadReplicas: { type: "integer", minimum: 0, maximum: 15, default: 15 },
      maxRedisShards: { type: "integer", minimum: 1, maximum: 500, default: 9 },
      // The design gives no figure for broker storage: 4000 GiB is twice the prod stack's storage
      // scaling maximum (2000 GiB), a quarter of MSK's 16384 GiB per-broker limit.
      maxKafkaVolumeGiB: { type: "integer", minimum: 1, maximum: 16384, default: 4000 },
      maxKafkaBrokers: { type: "integer", minimum: 1, default: 6 },
      maxSearchDataNodes: { type: "integer", minimum: 1, default: 6 },
    },
  },
  validateResource: [
    validateResourceOfType(aws.rds.Cluster, (cluster, args, reportViolation) => {
      const { maxAuroraAcu } = args.getConfig<DataTierCeilingsConfig>();
      const max = numberAt(() => cluster.serverlessv2ScalingConfiguration?.maxCapacity);
      if (max !== undefined && max > maxAuroraAcu) {
        const name = nameOf(() => cluster.clusterIdentifier, args.name);
        reportViolation(`Aurora cluster ${name}: Serverless v2 max capacity ${max} ACU exceeds the ceiling of ${maxAuroraAcu} ACU`);
      }
    }),
    validateResourceOfType(aws.appautoscaling.Target, (target, args, reportViolation) => {
      const config = args.getConfig<DataTierCeilingsConfig>();
      const dimension = known(() => target.scalableDimension);
      if (typeof dimension !== "string") return;
      const cap = scalableDimensions[dimension];
      if (!cap) return;
      const max = numberAt(() => target.maxCapacity);
      if (max !== undefined && max > config[cap.key]) {
        const name = nameOf(() => target.resourceId, args.name);
        reportViolation(`Application Auto Scaling target ${name} (${dimension}): max capacity ${max} exceeds the ceiling of ${config[cap.key]} ${cap.unit}`);
      }
    }),
    validateResourceOfType(aws.elasticache.ReplicationGroup, (group, args, reportViolation) => {
      const { maxRedisShards } = args.getConfig<DataTierCeilingsConfig>();
      const shards = numberAt(() => group.numNodeGroups);
      if (shards !== undefined && shards > maxRedisShards) {
        const name = nameOf(() => group.replicationGroupId, args.name);
        reportViolation(`ElastiCache replication group ${name}: ${shards} shards (numNodeGroups) exceeds the ceiling of ${maxRedisShards} shards`);
      }
    }),
    validateResourceOfType(aws.msk.Cluster, (cluster, args, reportViolation) => {
      const { maxKafkaBrokers, maxKafkaVolumeGiB } = args.getConfig<DataTierCeilingsConfig>();
      const name = nameOf(() => cluster.clusterName, args.name);
      const brokers = numberAt(() => cluster.numberOfBrokerNodes);
      if (brokers !== undefined && brokers > maxKafkaBrokers) {
        reportViolation(`MSK cluster ${name}: ${brokers} broker nodes exceeds the ceiling of ${maxKafkaBrokers} brokers`);
      }
      const volume = numberAt(() => cluster.brokerNodeGroupInfo?.storageInfo?.ebsStorageInfo?.volumeSize);
      if (volume !== undefined && volume > maxKafkaVolumeGiB) {
        reportViolation(`MSK cluster ${name}: broker volume ${volume} GiB exceeds the ceiling of ${maxKafkaVolumeGiB} GiB per broker`);
      }
    }),
    validateResourceOfType(aws.opensearch.Domain, (domain, args, reportViolation) => {
      const { maxSearchDataNodes } = args.getConfig<DataTierCeilingsConfig>();
      const nodes = numberAt(() => domain.clusterConfig?.instanceCount);
      if (nodes !== undefined && nodes > maxSearchDataNodes) {
        const name = nameOf(() => domain.domainName, args.name);
        reportViolation(`OpenSearch domain ${name}: ${nodes} data nodes (clusterConfig.instanceCount) exceeds the ceiling of ${maxSearchDataNodes} data nodes`);
      }
    }),
  ],
};
