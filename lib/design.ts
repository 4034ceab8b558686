/**
 * The limits of the design (`autoscaling-architecture.md`) that bound what a stack may configure.
 * Per-environment values live in the stack files; this table holds only the design's allowed ranges,
 * once, for the settings schema and the documentation. The policy pack deliberately keeps its own
 * copy of the ceilings in its policy configuration (a guardrail must not read what it guards).
 */
export const designLimits = {
  /** Aurora Serverless v2 capacity, ACU. AWS allows 0-256 in steps of 0.5; the design uses 0.5-16. */
  auroraAcu: { min: 0, max: 256, step: 0.5 },
  /** Aurora read replicas scaled by Application Auto Scaling ("Read Replicas: 0-15"). */
  auroraReadReplicas: { min: 0, max: 15 },
  /** ElastiCache Redis shards (node groups) in cluster mode ("Redis Cluster: 3-9"). */
  redisShards: { min: 3, max: 9 },
  /** Replicas per shard; AWS allows 0-5. Automatic failover needs at least 1. */
  redisReplicasPerShard: { min: 0, max: 5 },
  /** MSK brokers ("Amazon MSK: 3-6 brokers"). */
  mskBrokers: { min: 3, max: 6 },
  /** OpenSearch data nodes ("OpenSearch: 1-6 instances"). */
  openSearchDataNodes: { min: 1, max: 6 },
  /** Availability zones the network spans ("VPC over 3 AZs"). */
  availabilityZones: { min: 2, max: 3 },
  /** Spot instance types for diversification (at least 4 of the design's "mixed instances"). */
  spotInstanceTypes: { min: 4 },
  /** HPA / KEDA replica numbers accepted anywhere (the per-service ceilings live in the policy pack). */
  replicas: { min: 0, max: 100 },
} as const;
