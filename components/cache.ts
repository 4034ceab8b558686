import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import type { CacheSettings, Environment } from "../lib/config/settings";
import { designLimits } from "../lib/design";

/** Redis port: the only port the security group opens. */
export const redisPort = 6379;

/** CloudWatch Logs only accepts these retention periods (days). */
const cloudWatchRetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * ElastiCache shard autoscaling is limited to these node families and sizes (ElastiCache User Guide, "Auto Scaling
 * Valkey and Redis OSS clusters"). R6gd is left out: data-tiered nodes cannot use the memory metric this component
 * tracks.
 */
const autoscalingFamilies = ["r7g", "r6g", "r5", "m7g", "m6g", "m5", "c7gn"];
const autoscalingSizes = ["large", "xlarge", "2xlarge"];
/** Target values ElastiCache accepts for shard target tracking, percent. */
const shardTargetRange = { min: 35, max: 70 };

export interface CacheArgs {
  /**
   * The cache section of the stack settings. `cluster` (prod): cluster mode with `shards` node groups of
   * 1 + `replicasPerShard` nodes, Multi-AZ failover and shard autoscaling between `minShards` and `maxShards`
   * (design 3-9). `single-node` (dev): one node, no replica, no autoscaling (design 1 x cache.t3.micro).
   */
  settings: CacheSettings;
  /** `prod` or `dev`: tags the resources. Optional (the stack's default tags carry it too). */
  environment?: Environment;
  /** VPC of the subnets (the cache security group lives here). */
  vpcId: pulumi.Input<string>;
  /** Private subnets for the cache subnet group; at least 2 (in different AZs) in cluster mode, for Multi-AZ. */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of Redis clients (e.g. the EKS nodes): the only sources admitted on 6379. */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /**
   * Redis AUTH token: 16-128 printable characters without spaces, `"`, `/` or `@` (checked here when given as a
   * plain string). Always wrapped with `pulumi.secret`, so it is encrypted in state and masked in every output.
   */
  authToken: pulumi.Input<string>;
  /** KMS key ARN for the slow-log and engine-log groups (a key whose policy admits CloudWatch Logs). */
  logsKmsKeyArn: pulumi.Input<string>;
  /** Retention of the slow and engine logs, days (a CloudWatch Logs retention value). Default 30. */
  logRetentionDays?: number;
  /** Daily snapshot window, UTC `hh24:mi-hh24:mi`, at least 60 minutes. Used when snapshots are kept. Default `03:00-04:00`. */
  snapshotWindow?: string;
  /** Weekly maintenance window, UTC `ddd:hh24:mi-ddd:hh24:mi`, at least 60 minutes. Default `sun:05:00-sun:06:00`. */
  maintenanceWindow?: string;
  /** Cluster mode: seconds after a shard scale-out before the next one. Default 600 (resharding moves slots). */
  scaleOutCooldownSeconds?: number;
  /** Cluster mode: seconds after a shard scale-in before the next one. Default 1800. */
  scaleInCooldownSeconds?: number;
}

/**
 * ElastiCache for Redis OSS as a replication group: encryption at rest under the component's own KMS key,
 * TLS-only traffic with an AUTH token, a parameter group with the configured eviction policy, slow and engine
 * logs in CloudWatch, snapshots, and in cluster mode Multi-AZ failover plus shard autoscaling on memory.
 */
export class Cache extends pulumi.ComponentResource {
  public readonly replicationGroupId: pulumi.Output<string>;
  /** Configuration endpoint in cluster mode (cluster-aware clients), primary endpoint otherwise. Use TLS. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** Nodes at creation: shards x (1 + replicasPerShard), or 1. Shard autoscaling changes it later. */
  public readonly nodeCount: number;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cache:Cache", name, {}, opts);
    // Validate before creating anything: a rejected cache must not leave a key or log groups behind.
    const v = validateCacheArgs(name, args);
    const s = args.settings;
    const parent = { parent: this };
    const clustered = s.mode === "cluster";
    const tags = (what: string) => ({ Name: what, ...(args.environment ? { environment: args.environment } : {}) });

    const key = customerManagedKey(`${name}-kms`, `ElastiCache ${name}: encryption at rest`, parent);

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `ElastiCache ${name}: Redis from client security groups only`,
      // No egress rules: Redis answers connections (stateful) and opens none.
      tags: tags(`${name}-redis`),
    }, parent);
    args.clientSecurityGroupIds.forEach((source, i) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-redis-${i}`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: source,
        ipProtocol: "tcp",
        fromPort: redisPort,
        toPort: redisPort,
        description: "Redis (TLS) from cache clients",
        tags: tags(`${name}-redis-${i}`),
      }, parent),
    );

    const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-subnets`, {
      description: `ElastiCache ${name}: private subnets`,
      subnetIds: args.subnetIds,
      tags: tags(`${name}-subnets`),
    }, parent);

    // Auto-named, so an engine upgrade to a new family can create the new group before dropping the old one.
    const parameterGroup = new aws.elasticache.ParameterGroup(`${name}-params`, {
      family: v.parameterGroupFamily,
      description: `ElastiCache ${name}: ${s.maxmemoryPolicy} eviction${clustered ? ", cluster mode" : ""}`,
      parameters: [
        { name: "maxmemory-policy", value: s.maxmemoryPolicy },
        // A custom group must say so explicitly: the family default is cluster-enabled "no".
        ...(clustered ? [{ name: "cluster-enabled", value: "yes" }] : []),
      ],
      tags: tags(`${name}-params`),
    }, parent);

    // The /aws/vendedlogs/ prefix lets CloudWatch Logs cover every delivery with one wildcard resource-policy
    // statement instead of growing its 5,120-character policy by one statement per log group.
    const logGroup = (logType: "slow-log" | "engine-log") =>
      new aws.cloudwatch.LogGroup(`${name}-${logType}`, {
        name: `/aws/vendedlogs/elasticache/${name}/${logType}`,
        retentionInDays: v.logRetentionDays,
        kmsKeyId: args.logsKmsKeyArn,
        tags: tags(`${name}-${logType}`),
      }, parent);
    const slowLog = logGroup("slow-log");
    const engineLog = logGroup("engine-log");

    // Secret whatever the caller passed, so state encrypts it and no output or log shows it. A plain string is
    // checked above; an Output (e.g. from config) is the settings schema's to check, which runs before the program.
    const authToken = pulumi.secret(args.authToken);

    const topology = clustered
      ? {
          clusterMode: "enabled",
          numNodeGroups: s.shards,
          replicasPerNodeGroup: s.replicasPerShard,
          automaticFailoverEnabled: true,
          multiAzEnabled: true,
        }
      : {
          clusterMode: "disabled",
          numCacheClusters: 1,
          automaticFailoverEnabled: false,
          multiAzEnabled: false,
        };

    const group = new aws.elasticache.ReplicationGroup(`${name}-redis`, {
      replicationGroupId: name,
      description: `PyAirtable Redis ${name} (${s.mode})`,
      engine: "redis",
      engineVersion: s.engineVersion,
      nodeType: s.nodeType,
      port: redisPort,
      parameterGroupName: parameterGroup.name,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [sg.id],
      ...topology,
      atRestEncryptionEnabled: true,
      kmsKeyId: key.arn,
      // TLS only: "required" refuses plaintext connections (AUTH needs transit encryption anyway).
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      authToken,
      autoMinorVersionUpgrade: true,
      maintenanceWindow: v.maintenanceWindow,
      snapshotRetentionLimit: s.snapshotRetentionDays,
      ...(s.snapshotRetentionDays > 0 ? { snapshotWindow: v.snapshotWindow, finalSnapshotIdentifier: `${name}-final` } : {}),
      logDeliveryConfigurations: [
        { destination: slowLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
        { destination: engineLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "engine-log" },
      ],
      tags: tags(name),
    }, {
      parent: this,
      // Application Auto Scaling adds and removes shards, which changes numNodeGroups behind Pulumi's back;
      // without this, the next `pulumi up` would reshard the cluster back to `shards` and fight the autoscaler.
      // To change the shard count deliberately, change minShards/maxShards instead.
      ...(clustered ? { ignoreChanges: ["numNodeGroups"] } : {}),
    });

    if (s.mode === "cluster") {
      const target = new aws.appautoscaling.Target(`${name}-shards-target`, {
        serviceNamespace: "elasticache",
        scalableDimension: "elasticache:replication-group:NodeGroups",
        resourceId: pulumi.interpolate`replication-group/${group.replicationGroupId}`,
        minCapacity: s.minShards,
        maxCapacity: s.maxShards,
        tags: tags(`${name}-shards`),
      }, parent);
      // Memory, not CPU: adding a shard is how a cluster gains memory (each shard holds a slice of the keyspace),
      // the design asks for memory optimisation, and memory is the hard limit (past maxmemory Redis evicts hot keys
      // or, with noeviction, rejects writes), whereas Redis 7's I/O threads keep engine CPU on r6g/m6g nodes well
      // below saturation for this workload. Caveat: with an allkeys-* policy and keys without TTLs, a warm cache
      // fills to maxmemory by design, so this policy then holds the cluster near maxShards, which bounds the cost.
      new aws.appautoscaling.Policy(`${name}-shards-memory`, {
        name: `${name}-shards-memory`,
        policyType: "TargetTrackingScaling",
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage" },
          targetValue: s.targetMemoryPercent,
          scaleOutCooldown: v.scaleOutCooldownSeconds,
          scaleInCooldown: v.scaleInCooldownSeconds,
        },
      }, parent);
    }

    this.replicationGroupId = group.replicationGroupId;
    this.endpoint = clustered ? group.configurationEndpointAddress : group.primaryEndpointAddress;
    this.port = group.port.apply((p) => p ?? redisPort);
    this.securityGroupId = sg.id;
    this.kmsKeyArn = key.arn;
    this.nodeCount = s.mode === "cluster" ? s.shards * (1 + s.replicasPerShard) : 1;

    this.registerOutputs({
      replicationGroupId: this.replicationGroupId,
      endpoint: this.endpoint,
      port: this.port,
      securityGroupId: this.securityGroupId,
      kmsKeyArn: this.kmsKeyArn,
      nodeCount: this.nodeCount,
    });
  }
}

/** Why a token breaks ElastiCache AUTH rules, or undefined when it is fine. Never includes the token. */
function authTokenProblem(token: unknown): string | undefined {
  if (typeof token !== "string") return "must be a string";
  if (!/^[!#-.0-?A-~]{16,128}$/.test(token)) {
    return `must be 16-128 printable characters without spaces, ", / or @ (ElastiCache AUTH rules; got ${token.length} characters)`;
  }
  return undefined;
}

interface ValidatedCacheArgs {
  parameterGroupFamily: string;
  logRetentionDays: number;
  snapshotWindow: string;
  maintenanceWindow: string;
  scaleOutCooldownSeconds: number;
  scaleInCooldownSeconds: number;
}

/** Checks the arguments; returns the derived and defaulted values. Throws naming the field, value and what is allowed. */
export function validateCacheArgs(name: string, args: CacheArgs): ValidatedCacheArgs {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const isInt = (n: unknown, min: number, max: number) => typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

  // Replication group ids: letter first, lowercase letters/digits/hyphens, no "--", no trailing "-", 1-40 characters.
  if (!/^[a-z](?!.*--)([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    fail(`Cache name = ${JSON.stringify(name)}: must be 1-40 lowercase letters, digits and hyphens, starting with a letter, without "--" or a trailing hyphen (ElastiCache replication group id)`);
  }
  if (args.environment !== undefined && args.environment !== "prod" && args.environment !== "dev") {
    fail(`cache environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
  }
  const s = args.settings;
  if (!s || (s.mode !== "cluster" && s.mode !== "single-node")) {
    fail(`cache.mode = ${JSON.stringify((s as { mode?: unknown } | undefined)?.mode)}: must be cluster or single-node`);
  }

  const version = /^(\d+)\.(\d+)$/.exec(String(s.engineVersion));
  const major = version ? Number(version[1]) : NaN;
  const minor = version ? Number(version[2]) : NaN;
  // 6.2 is the first version that delivers the engine log (the slow log needs 6.0; shard autoscaling 6.0).
  if (!version || major < 6 || (major === 6 && minor < 2) || major > 7) {
    fail(`cache.engineVersion = ${JSON.stringify(s.engineVersion)}: must be a Redis OSS version from 6.2 to 7.x, such as 7.1 (engine-log delivery needs 6.2 or later)`);
  }
  const nodeType = /^cache\.([a-z0-9]+)\.([a-z0-9]+)$/.exec(String(s.nodeType));
  if (!nodeType) fail(`cache.nodeType = ${JSON.stringify(s.nodeType)}: must be an ElastiCache node type such as cache.r6g.large`);
  if (/^t[12]$/.test(nodeType![1]!)) {
    fail(`cache.nodeType = ${JSON.stringify(s.nodeType)}: ElastiCache no longer creates clusters on previous-generation T1/T2 nodes; use cache.t3.micro, cache.t4g.micro or larger`);
  }
  const policies = ["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"];
  if (!policies.includes(s.maxmemoryPolicy)) {
    fail(`cache.maxmemoryPolicy = ${JSON.stringify(s.maxmemoryPolicy)}: must be one of ${policies.join(", ")}`);
  }
  if (!isInt(s.snapshotRetentionDays, 0, 35)) {
    fail(`cache.snapshotRetentionDays = ${s.snapshotRetentionDays}: must be an integer from 0 to 35 (0 turns backups off)`);
  }

  if (s.mode === "cluster") {
    const { min, max } = designLimits.redisShards;
    if (!isInt(s.minShards, min, max)) fail(`cache.minShards = ${s.minShards}: must be an integer from ${min} to ${max} (design: Redis cluster ${min}-${max})`);
    if (!isInt(s.maxShards, min, max)) fail(`cache.maxShards = ${s.maxShards}: must be an integer from ${min} to ${max} (design: Redis cluster ${min}-${max})`);
    if (s.minShards > s.maxShards) fail(`cache.minShards = ${s.minShards}: must not exceed maxShards (${s.maxShards})`);
    if (!isInt(s.shards, s.minShards, s.maxShards)) {
      fail(`cache.shards = ${s.shards}: must be an integer between minShards (${s.minShards}) and maxShards (${s.maxShards})`);
    }
    const { max: maxReplicas } = designLimits.redisReplicasPerShard;
    if (!isInt(s.replicasPerShard, 1, maxReplicas)) {
      fail(`cache.replicasPerShard = ${s.replicasPerShard}: must be an integer from 1 to ${maxReplicas} in cluster mode (Multi-AZ automatic failover needs a replica per shard)`);
    }
    const [, family, size] = nodeType!;
    if (!autoscalingFamilies.includes(family!) || !autoscalingSizes.includes(size!)) {
      fail(`cache.nodeType = ${JSON.stringify(s.nodeType)}: shard autoscaling on memory supports the ${autoscalingFamilies.join(", ")} families in ${autoscalingSizes.join(", ")} sizes only (e.g. cache.r6g.large)`);
    }
    if (!isInt(s.targetMemoryPercent, shardTargetRange.min, shardTargetRange.max)) {
      fail(`cache.targetMemoryPercent = ${s.targetMemoryPercent}: must be an integer from ${shardTargetRange.min} to ${shardTargetRange.max} (ElastiCache shard target-tracking range)`);
    }
    if (args.subnetIds.length < 2) {
      fail(`cache subnetIds has ${args.subnetIds.length} subnet${args.subnetIds.length === 1 ? "" : "s"}: cluster mode with Multi-AZ needs subnets in at least 2 availability zones`);
    }
  } else if (args.subnetIds.length < 1) {
    fail("cache subnetIds is empty: the cache subnet group needs at least one private subnet");
  }
  if (args.clientSecurityGroupIds.length === 0) {
    fail("cache clientSecurityGroupIds is empty: at least one client security group must be admitted, or nothing can reach Redis");
  }
  if (typeof args.authToken === "string") {
    const problem = authTokenProblem(args.authToken);
    if (problem) fail(`cache authToken: ${problem}`);
  } else if (args.authToken === undefined || args.authToken === null) {
    fail("cache authToken is missing: transit encryption with AUTH needs a token (pulumi config set --secret redisAuthToken <token>)");
  }

  const logRetentionDays = args.logRetentionDays ?? 30;
  if (!cloudWatchRetentionDays.includes(logRetentionDays)) {
    fail(`cache logRetentionDays = ${logRetentionDays}: must be one of ${cloudWatchRetentionDays.join(", ")} (CloudWatch Logs retention days)`);
  }
  const snapshotWindow = args.snapshotWindow ?? "03:00-04:00";
  const sw = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(snapshotWindow);
  if (!sw || (Number(sw[3]) * 60 + Number(sw[4]) - (Number(sw[1]) * 60 + Number(sw[2])) + 1440) % 1440 < 60) {
    fail(`cache snapshotWindow = ${JSON.stringify(snapshotWindow)}: must be hh24:mi-hh24:mi (UTC) and at least 60 minutes long`);
  }
  const maintenanceWindow = args.maintenanceWindow ?? "sun:05:00-sun:06:00";
  if (!/^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/.test(maintenanceWindow)) {
    fail(`cache maintenanceWindow = ${JSON.stringify(maintenanceWindow)}: must be ddd:hh24:mi-ddd:hh24:mi (UTC), e.g. sun:05:00-sun:06:00`);
  }
  const scaleOutCooldownSeconds = args.scaleOutCooldownSeconds ?? 600;
  const scaleInCooldownSeconds = args.scaleInCooldownSeconds ?? 1800;
  if (!isInt(scaleOutCooldownSeconds, 0, 86_400)) fail(`cache scaleOutCooldownSeconds = ${scaleOutCooldownSeconds}: must be an integer from 0 to 86400`);
  if (!isInt(scaleInCooldownSeconds, 0, 86_400)) fail(`cache scaleInCooldownSeconds = ${scaleInCooldownSeconds}: must be an integer from 0 to 86400`);

  return {
    // Redis 6 families are "redis6.x"; from 7 on, the major alone ("redis7").
    parameterGroupFamily: major === 6 ? "redis6.x" : `redis${major}`,
    logRetentionDays,
    snapshotWindow,
    maintenanceWindow,
    scaleOutCooldownSeconds,
    scaleInCooldownSeconds,
  };
}
