/**
 * Alarms for the tiers that autoscale outside Kubernetes (Aurora Serverless v2, ElastiCache shards,
 * MSK broker storage, OpenSearch): the counterpart of "max replicas reached" for capacity that
 * Prometheus does not see. CloudWatch alarms on the services' own metrics, with thresholds derived
 * from the stack's ceilings; components/dataTierAlarms.ts creates them and routes them by severity.
 *
 * Why CloudWatch alarms and not a CloudWatch exporter + Prometheus rules: the metrics live in
 * CloudWatch already and the alarms keep working when the cluster (and its Prometheus) is the thing
 * in trouble; an exporter would add an in-cluster component, IAM, GetMetricData cost and a metric
 * catalog to keep in step with its version, for no gain in what can be alerted on.
 *
 * Metric names, namespaces, dimensions and units (AWS documentation):
 * - AWS/RDS `ServerlessDatabaseCapacity` (ACU), dimension `DBClusterIdentifier` (Aurora Serverless v2).
 * - AWS/ElastiCache `DatabaseMemoryUsagePercentage` (percent), per node: dimension `CacheClusterId`
 *   (the node id: `<replication group>-<shard 0001..>-<node 001..>` in cluster mode, `<group>-001` otherwise).
 * - AWS/Kafka `KafkaDataLogsDiskUsed` (percent of the data-log volume), DEFAULT monitoring level,
 *   dimensions `Cluster Name` and `Broker ID` (1..brokers).
 * - AWS/ES `ClusterStatus.red` (1 when red) and `FreeStorageSpace` (MiB, per node; `Minimum` is the
 *   fullest node), dimensions `DomainName` and `ClientId` (the account id). AWS recommends
 *   ClusterStatus.red >= 1 for 1 minute and FreeStorageSpace at 25% of each node's storage.
 */
import type { PlatformSettings } from "../config/settings";

export type AlarmSeverity = "critical" | "warning";

export interface AlarmMetric {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: "Maximum" | "Minimum" | "Average";
}

/** One data-tier alarm: a single metric, or several combined by `expression` (metric math). */
export interface DataTierAlarm {
  /** Stable key, also the alarm's name suffix and the runbook heading (`DataTier<Key>`). */
  readonly key: string;
  readonly alertname: string;
  readonly severity: AlarmSeverity;
  readonly tier: "database" | "cache" | "streaming" | "search";
  readonly summary: string;
  readonly metrics: readonly AlarmMetric[];
  /** Metric math over the metrics' ids; absent: the single metric itself. */
  readonly expression?: string;
  readonly comparison: "GreaterThanOrEqualToThreshold" | "LessThanOrEqualToThreshold";
  readonly threshold: number;
  /** Seconds per datapoint. */
  readonly periodSeconds: number;
  /** Consecutive breaching datapoints before it fires (periodSeconds x this = the "for"). */
  readonly evaluationPeriods: number;
  readonly treatMissingData: "missing" | "notBreaching" | "breaching";
  /** How the threshold follows from the settings, for the runbook and the plan review. */
  readonly derivation: string;
}

/** The physical names the alarms' dimensions need (known from the settings and the account). */
export interface DataTierNames {
  readonly auroraClusterIdentifier: string;
  readonly redisReplicationGroupId: string;
  readonly mskClusterName: string;
  readonly openSearchDomainName: string;
  readonly accountId: string;
}

/** Ratios and durations of the data-tier alarms (the numbers of issue 9 and AWS's recommendations). */
export const dataTierAlarmPolicy = {
  /** Aurora: ACU at or above this share of maxAcu ... */
  auroraAcuCeilingRatio: 0.9,
  /** ... for this many 1-minute datapoints. */
  auroraForMinutes: 15,
  /** Redis: memory above the shard-scaling target for this long means shard autoscaling is pinned at maxShards. */
  redisForMinutes: 30,
  /** Redis single-node (no shard scaling): the node is the ceiling; alarm at this memory percent. */
  redisSingleNodePercent: 90,
  /** MSK: alarm once the fullest broker is halfway from the autoscaling target to a full disk ... */
  mskHeadroomShare: 0.5,
  /** ... for this long (storage autoscaling would have acted: it is at maxVolumeSizeGiB or cannot keep up). */
  mskForMinutes: 30,
  /** MSK without storage autoscaling: the volume is the ceiling; alarm at this percent. */
  mskFixedVolumePercent: 80,
  /** OpenSearch: free storage of the fullest data node at or below this share of its volume (AWS: 25%). */
  openSearchFreeStorageShare: 0.25,
} as const;

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;

/** The alarms for a stack's settings. Pure: the same settings give the same alarms. */
export function dataTierAlarms(s: PlatformSettings, names: DataTierNames, policy = dataTierAlarmPolicy): DataTierAlarm[] {
  const alarms: DataTierAlarm[] = [];
  const db = s.database;
  const acuThreshold = Math.round(db.maxAcu * policy.auroraAcuCeilingRatio * 10) / 10;
  alarms.push({
    key: "aurora-acu-ceiling",
    alertname: "DataTierAuroraAcuAtCeiling",
    severity: "critical",
    tier: "database",
    summary: `Aurora ${names.auroraClusterIdentifier} has run at or above ${acuThreshold} ACU (${pct(policy.auroraAcuCeilingRatio * 100)} of maxAcu ${db.maxAcu}) for ${policy.auroraForMinutes} minutes`,
    metrics: [{ id: "acu", namespace: "AWS/RDS", metricName: "ServerlessDatabaseCapacity", dimensions: { DBClusterIdentifier: names.auroraClusterIdentifier }, stat: "Maximum" }],
    comparison: "GreaterThanOrEqualToThreshold",
    threshold: acuThreshold,
    periodSeconds: 60,
    evaluationPeriods: policy.auroraForMinutes,
    treatMissingData: "missing",
    derivation: `${policy.auroraAcuCeilingRatio} x database.maxAcu (${db.maxAcu})`,
  });

  const cache = s.cache;
  if (cache.mode === "cluster") {
    // One node per shard (node 001) up to maxShards: a replica holds the same dataset, so after a
    // failover node 001 still reports the shard's memory. Shards not created yet have no data and
    // drop out of MAX(); at most 9 shards (schema), within CloudWatch's 10 metrics per alarm.
    const metrics = Array.from({ length: cache.maxShards }, (_, i): AlarmMetric => ({
      id: `shard${i + 1}`,
      namespace: "AWS/ElastiCache",
      metricName: "DatabaseMemoryUsagePercentage",
      dimensions: { CacheClusterId: `${names.redisReplicationGroupId}-${String(i + 1).padStart(4, "0")}-001` },
      stat: "Maximum",
    }));
    alarms.push({
      key: "redis-memory-at-max-shards",
      alertname: "DataTierRedisMemoryAtMaxShards",
      severity: "warning",
      tier: "cache",
      summary: `Redis ${names.redisReplicationGroupId} memory above the shard-scaling target (${cache.targetMemoryPercent}%) for ${policy.redisForMinutes} minutes: shards are at maxShards (${cache.maxShards})`,
      metrics,
      expression: `MAX([${metrics.map((m) => m.id).join(", ")}])`,
      comparison: "GreaterThanOrEqualToThreshold",
      threshold: cache.targetMemoryPercent,
      periodSeconds: 60,
      evaluationPeriods: policy.redisForMinutes,
      treatMissingData: "missing",
      derivation: `cache.targetMemoryPercent (${cache.targetMemoryPercent}) held for ${policy.redisForMinutes} min, longer than a shard scale-out takes: autoscaling is at cache.maxShards (${cache.maxShards})`,
    });
  } else {
    alarms.push({
      key: "redis-memory-single-node",
      alertname: "DataTierRedisMemoryAtMaxShards",
      severity: "warning",
      tier: "cache",
      summary: `Redis ${names.redisReplicationGroupId} (single node, no shard scaling) uses at least ${policy.redisSingleNodePercent}% of its memory`,
      metrics: [{ id: "node", namespace: "AWS/ElastiCache", metricName: "DatabaseMemoryUsagePercentage", dimensions: { CacheClusterId: `${names.redisReplicationGroupId}-001` }, stat: "Maximum" }],
      comparison: "GreaterThanOrEqualToThreshold",
      threshold: policy.redisSingleNodePercent,
      periodSeconds: 60,
      evaluationPeriods: policy.redisForMinutes,
      treatMissingData: "missing",
      derivation: `single-node mode: the node is the ceiling; ${policy.redisSingleNodePercent}% of its memory for ${policy.redisForMinutes} min`,
    });
  }

  const st = s.streaming;
  const brokers = Array.from({ length: st.brokers }, (_, i): AlarmMetric => ({
    id: `broker${i + 1}`,
    namespace: "AWS/Kafka",
    metricName: "KafkaDataLogsDiskUsed",
    dimensions: { "Cluster Name": names.mskClusterName, "Broker ID": String(i + 1) },
    stat: "Maximum",
  }));
  const target = st.storageAutoscaling?.targetUtilizationPercent;
  const mskThreshold = target !== undefined ? Math.round(target + (100 - target) * policy.mskHeadroomShare) : policy.mskFixedVolumePercent;
  alarms.push({
    key: "msk-disk-at-max-volume",
    alertname: "DataTierMskBrokerDiskFull",
    severity: "critical",
    tier: "streaming",
    summary:
      target !== undefined
        ? `MSK ${names.mskClusterName}: the fullest broker uses at least ${mskThreshold}% of its data volume (storage autoscaling targets ${target}% up to ${st.storageAutoscaling!.maxVolumeSizeGiB} GiB)`
        : `MSK ${names.mskClusterName}: the fullest broker uses at least ${mskThreshold}% of its fixed ${st.volumeSizeGiB} GiB data volume`,
    metrics: brokers,
    expression: `MAX([${brokers.map((m) => m.id).join(", ")}])`,
    comparison: "GreaterThanOrEqualToThreshold",
    threshold: mskThreshold,
    periodSeconds: 60,
    evaluationPeriods: policy.mskForMinutes,
    treatMissingData: "missing",
    derivation:
      target !== undefined
        ? `halfway from streaming.storageAutoscaling.targetUtilizationPercent (${target}) to 100: autoscaling keeps disks at the target until maxVolumeSizeGiB (${st.storageAutoscaling!.maxVolumeSizeGiB})`
        : `no storage autoscaling: ${policy.mskFixedVolumePercent}% of the fixed volume (streaming.volumeSizeGiB ${st.volumeSizeGiB})`,
  });

  const se = s.search;
  const es = { DomainName: names.openSearchDomainName, ClientId: names.accountId };
  alarms.push({
    key: "opensearch-red",
    alertname: "DataTierOpenSearchRed",
    severity: "critical",
    tier: "search",
    summary: `OpenSearch ${names.openSearchDomainName} cluster status is red (a primary shard is unassigned)`,
    metrics: [{ id: "red", namespace: "AWS/ES", metricName: "ClusterStatus.red", dimensions: es, stat: "Maximum" }],
    comparison: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    periodSeconds: 60,
    evaluationPeriods: 1,
    treatMissingData: "missing",
    derivation: "AWS recommendation: ClusterStatus.red maximum >= 1 for 1 minute",
  });
  const freeMiB = Math.round(se.volumeSizeGiB * 1024 * policy.openSearchFreeStorageShare);
  alarms.push({
    key: "opensearch-free-storage",
    alertname: "DataTierOpenSearchStorageLow",
    severity: "warning",
    tier: "search",
    summary: `OpenSearch ${names.openSearchDomainName}: a data node has at most ${freeMiB} MiB free (${pct(policy.openSearchFreeStorageShare * 100)} of its ${se.volumeSizeGiB} GiB volume)`,
    metrics: [{ id: "free", namespace: "AWS/ES", metricName: "FreeStorageSpace", dimensions: es, stat: "Minimum" }],
    comparison: "LessThanOrEqualToThreshold",
    threshold: freeMiB,
    periodSeconds: 60,
    evaluationPeriods: 5,
    treatMissingData: "missing",
    derivation: `${policy.openSearchFreeStorageShare} x search.volumeSizeGiB (${se.volumeSizeGiB} GiB = ${se.volumeSizeGiB * 1024} MiB)`,
  });
  return alarms;
}
