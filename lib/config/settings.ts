/**
 * The settings schema: one place that turns a stack's raw configuration into typed
 * `PlatformSettings`, or fails with messages that name the key, the value and what is allowed
 * (`autoscaling:cache.maxShards = 12: must be an integer from 3 to 9`).
 *
 * It runs before any resource is registered, so a bad stack file never half-applies.
 */
import { dataStoreAccessModes, instanceTypesWithoutTrunking } from "../k8s/podSecurityGroups";
import { z } from "zod";
import { designLimits } from "../design";
import { karpenterWorkloadClasses } from "../catalog/workloadClasses";
import { serviceNames } from "../catalog/services";
import { formatUnitPrice, priceOf } from "../cost/prices";
import { calendarDay, daysOfStandardSupportLeft, eksCalendarVersions, eksVersion, standardSupportWarningDays, supportPhase } from "../catalog/eksVersions";

export const configNamespace = "autoscaling";

// ---------------------------------------------------------------------------------------------
// Small schema builders whose messages say what is allowed.
// ---------------------------------------------------------------------------------------------

function intIn(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function numberIn(min: number, max: number, step?: number) {
  const error = step
    ? `must be a number from ${min} to ${max} in steps of ${step}`
    : `must be a number from ${min} to ${max}`;
  let schema = z.number({ error }).min(min, { error }).max(max, { error });
  if (step) schema = schema.multipleOf(step, { error });
  return schema;
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

const bool = z.boolean({ error: "must be true or false" });

function matching(pattern: RegExp, what: string) {
  const error = `must be ${what}`;
  return z.string({ error }).regex(pattern, { error });
}

function listOf<T extends z.ZodType>(item: T, min: number, what: string) {
  return z
    .array(item, { error: `must be a list of ${what}` })
    .min(min, { error: `must be a list of at least ${min} ${what}` });
}

const cidr = matching(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(3[0-2]|[12]?\d)$/,
  "an IPv4 CIDR block such as 10.40.0.0/16",
);

/** CloudWatch Logs only accepts these retention periods (days). */
const logRetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const retention = z
  .number({ error: `must be one of ${logRetentionDays.join(", ")} (CloudWatch Logs retention days)` })
  .refine((v) => (logRetentionDays as readonly number[]).includes(v), {
    error: `must be one of ${logRetentionDays.join(", ")} (CloudWatch Logs retention days)`,
  });

/**
 * Least CloudWatch Logs retention of every log group in prod, days: audit, flow and service logs are
 * kept a year (Checkov CKV_AWS_338). Dev may keep less (README, security deviations).
 */
export const prodMinimumLogRetentionDays = 365;

const ec2InstanceType = matching(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "an EC2 instance type such as m5.large");
const clockTime = matching(/^([01]\d|2[0-3]):[0-5]\d$/, "a 24-hour time HH:MM");
const isoDate = matching(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "a date YYYY-MM-DD");
const weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const strict = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, { error: "must be an object (a map of settings)" });

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const networkSchema = strict({
  /** VPC CIDR block. */
  cidrBlock: cidr,
  /** Number of availability zones (design: 3). */
  availabilityZones: intIn(designLimits.availabilityZones.min, designLimits.availabilityZones.max),
  /** NAT gateways: one per AZ (prod, survives an AZ outage) or a single one (dev, cost). */
  natGateways: oneOf(["one-per-az", "single"]),
  /** VPC flow log retention in CloudWatch Logs, days. */
  flowLogRetentionDays: retention,
  /**
   * How Aurora, Redis, MSK and OpenSearch admit clients: `pod-security-groups` (only the client
   * security groups of the workloads that use each store, given to their pods by SecurityGroupPolicy;
   * required in prod, needs trunk-capable instance types) or `cluster-security-group` (every node and pod).
   */
  dataStoreAccess: oneOf(dataStoreAccessModes),
  /**
   * VPC interface endpoints for the AWS APIs the nodes and pods call (components/network.ts
   * `interfaceEndpointServices`): that traffic stays in the VPC instead of crossing the NAT gateways.
   * Each costs $0.01 per AZ-hour (7 endpoints x 3 AZs = $153.30 a month) plus $0.01/GB instead of
   * NAT's $0.045/GB. The S3 gateway endpoint (free) is always there.
   */
  interfaceEndpoints: bool,
});

const nodeGroupSchema = strict({
  /** Instance types of the managed node group (the first is preferred). */
  instanceTypes: listOf(ec2InstanceType, 1, "EC2 instance types"),
  /** ON_DEMAND or SPOT. */
  capacityType: oneOf(["ON_DEMAND", "SPOT"]),
  minSize: intIn(1, 50),
  desiredSize: intIn(1, 50),
  maxSize: intIn(1, 50),
  /** Root volume, GiB (gp3, encrypted with the cluster KMS key). */
  diskSizeGiB: intIn(20, 1000),
});

const workloadClassCapacitySchema = strict({
  /** Share of the class's capacity that may be spot, percent, in steps of 10 (the capacity-spread domains). */
  spotPercent: z
    .number({ error: "must be a multiple of 10 from 0 to 100" })
    .int({ error: "must be a multiple of 10 from 0 to 100" })
    .min(0, { error: "must be a multiple of 10 from 0 to 100" })
    .max(100, { error: "must be a multiple of 10 from 0 to 100" })
    .multipleOf(10, { error: "must be a multiple of 10 from 0 to 100" }),
  /** Hard ceiling on nodes Karpenter may launch for the class (NodePool `limits.nodes`, split over its pools). */
  maxNodes: intIn(1, 200),
});

const clusterSchema = strict({
  /** EKS cluster name; also the Karpenter discovery tag value. */
  name: matching(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, "a lowercase name of 3-40 letters, digits and hyphens"),
  /**
   * Kubernetes minor version, e.g. "1.35": one the EKS calendar (lib/catalog/eksVersions.ts) lists,
   * so the cost model and the pack know its support dates.
   */
  kubernetesVersion: z.enum(eksCalendarVersions as [string, ...string[]], {
    error: `must be a Kubernetes minor version in the EKS calendar (lib/catalog/eksVersions.ts), as a string: ${eksCalendarVersions.join(", ")}`,
  }),
  /**
   * Whether the API server endpoint is also reachable from the internet (restricted by
   * publicAccessCidrs). Default false: private only, reached from inside the VPC (README, "Reaching
   * the private API endpoint"). Opt in with the operators' egress ranges.
   */
  endpointPublicAccess: bool.default(false),
  /**
   * CIDR blocks allowed to reach the public endpoint (the operators' egress ranges). Default none.
   * The policy pack refuses documentation ranges (RFC 5737) and 0.0.0.0/0 here in prod.
   */
  publicAccessCidrs: z.array(cidr, { error: "must be a list of IPv4 CIDR blocks" }).default([]),
  /** Control-plane log retention, days. */
  logRetentionDays: retention,
  /** The managed node group for system add-ons (Karpenter itself, CoreDNS, monitoring). */
  systemNodeGroup: nodeGroupSchema,
  /** Instance types Karpenter may use for spot capacity (at least 4, for diversification). */
  spotInstanceTypes: listOf(ec2InstanceType, designLimits.spotInstanceTypes.min, "EC2 instance types"),
  /** Instance types Karpenter may use for on-demand capacity. */
  onDemandInstanceTypes: listOf(ec2InstanceType, 1, "EC2 instance types"),
  /** Spot nodes expected in steady state (design: 6 in prod); the cost model prices them. */
  expectedSpotNodes: intIn(0, 200),
  /** Spot and ceiling per Karpenter workload class. */
  workloadClasses: strict({
    api: workloadClassCapacitySchema,
    batch: workloadClassCapacitySchema,
    data: workloadClassCapacitySchema,
  }),
  /** Hard ceiling on the total node count (system node group max + every class's maxNodes). */
  maxNodes: intIn(1, 500),
  /** Karpenter AMI alias for EC2NodeClass (pin a version in production, e.g. al2023@v20251209). */
  amiAlias: matching(/^(al2023|al2|bottlerocket|windows2019|windows2022)@(latest|v\d{8})$/, "an AMI alias such as al2023@v20251209 or al2023@latest"),
});

/** PostgreSQL's default port, which the settings refuse for Aurora. */
export const postgresEnginePort = 5432;

const databaseSchema = strict({
  /** Aurora PostgreSQL engine version. */
  engineVersion: matching(/^1[3-7]\.\d+$/, "an Aurora PostgreSQL version such as 16.6"),
  /**
   * TCP port Aurora listens on (RDS allows 1150-65535). Not the engine's default 5432 (AWS Security
   * Hub RDS.23, CIS): scans for PostgreSQL on its default port find nothing. PgBouncer, the security
   * group and the data namespace's NetworkPolicy follow it.
   */
  port: z
    .number({ error: "must be an integer from 1150 to 65535 other than 5432 (the engine's default port)" })
    .int({ error: "must be an integer from 1150 to 65535 other than 5432 (the engine's default port)" })
    .min(1150, { error: "must be an integer from 1150 to 65535 other than 5432 (the engine's default port)" })
    .max(65535, { error: "must be an integer from 1150 to 65535 other than 5432 (the engine's default port)" })
    .refine((v) => v !== postgresEnginePort, { error: "must not be 5432, the engine's default port (AWS Security Hub RDS.23): pick another port from 1150 to 65535" }),
  /** Serverless v2 minimum capacity, ACU. */
  minAcu: numberIn(designLimits.auroraAcu.min, designLimits.auroraAcu.max, designLimits.auroraAcu.step),
  /** Serverless v2 maximum capacity, ACU. */
  maxAcu: numberIn(0.5, designLimits.auroraAcu.max, designLimits.auroraAcu.step),
  /** Readers created with the cluster (for failover), besides those Application Auto Scaling adds. */
  readers: intIn(0, designLimits.auroraReadReplicas.max),
  /** Application Auto Scaling of Aurora replicas (`rds:cluster:ReadReplicaCount`). */
  readReplicaScaling: strict({
    minReplicas: intIn(designLimits.auroraReadReplicas.min, designLimits.auroraReadReplicas.max),
    maxReplicas: intIn(designLimits.auroraReadReplicas.min, designLimits.auroraReadReplicas.max),
    /** Target average reader CPU, percent (RDSReaderAverageCPUUtilization). */
    targetCpuPercent: intIn(10, 90),
    /** Seconds between scale-in activities. */
    scaleInCooldownSeconds: intIn(0, 3600),
    /** Seconds between scale-out activities. */
    scaleOutCooldownSeconds: intIn(0, 3600),
  }),
  /** Automated backup retention, days (AWS: 1-35). */
  backupRetentionDays: intIn(1, 35),
  deletionProtection: bool,
  /** CloudWatch Logs retention of the exported PostgreSQL log (statements, DDL, connections), days. */
  logRetentionDays: retention,
  /** Performance Insights retention, days (7 is free; otherwise a multiple of 31 up to 731). */
  performanceInsightsRetentionDays: z
    .number({ error: "must be 7 or a multiple of 31 up to 731 (Performance Insights retention days)" })
    .refine((v) => v === 7 || v === 731 || (Number.isInteger(v) && v % 31 === 0 && v > 0 && v <= 713), {
      error: "must be 7 or a multiple of 31 up to 731 (Performance Insights retention days)",
    }),
});

const cacheClusterSchema = strict({
  /** Cluster mode: shards scaled by Application Auto Scaling (`elasticache:replication-group:NodeGroups`). */
  mode: z.literal("cluster"),
  nodeType: matching(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "an ElastiCache node type such as cache.r6g.large"),
  engineVersion: matching(/^\d+\.\d+$/, "a Redis engine version such as 7.1"),
  /** Shards at creation. */
  shards: intIn(designLimits.redisShards.min, designLimits.redisShards.max),
  minShards: intIn(designLimits.redisShards.min, designLimits.redisShards.max),
  maxShards: intIn(designLimits.redisShards.min, designLimits.redisShards.max),
  replicasPerShard: intIn(designLimits.redisReplicasPerShard.min, designLimits.redisReplicasPerShard.max),
  /** Target memory use, percent (ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage). */
  targetMemoryPercent: intIn(10, 90),
  maxmemoryPolicy: oneOf(["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"]),
  snapshotRetentionDays: intIn(0, 35),
  /** CloudWatch Logs retention of the slow and engine logs, days. */
  logRetentionDays: retention,
});

const cacheSingleSchema = strict({
  /** One node, no cluster mode, no replicas (dev). */
  mode: z.literal("single-node"),
  nodeType: matching(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "an ElastiCache node type such as cache.t3.micro"),
  engineVersion: matching(/^\d+\.\d+$/, "a Redis engine version such as 7.1"),
  maxmemoryPolicy: oneOf(["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"]),
  snapshotRetentionDays: intIn(0, 35),
  /** CloudWatch Logs retention of the slow and engine logs, days. */
  logRetentionDays: retention,
});

const cacheSchema = z.discriminatedUnion("mode", [cacheClusterSchema, cacheSingleSchema], {
  error: "must be an object whose mode is cluster or single-node",
});

const streamingSchema = strict({
  brokerInstanceType: matching(/^kafka\.[a-z0-9]+\.[a-z0-9]+$/, "an MSK broker type such as kafka.m5.xlarge"),
  kafkaVersion: matching(/^\d+\.\d+\.(\d+|x)(\.kraft)?$/, "an MSK Kafka version such as 3.8.x"),
  /** Broker count: not autoscaled by MSK; the automation service changes it within this range. */
  brokers: intIn(designLimits.mskBrokers.min, designLimits.mskBrokers.max),
  /** Broker EBS volume at creation, GiB. */
  volumeSizeGiB: intIn(1, 16384),
  /** Storage autoscaling (`kafka:broker-storage:VolumeSize`); null disables it. */
  storageAutoscaling: z.union(
    [
      strict({
        maxVolumeSizeGiB: intIn(1, 16384),
        targetUtilizationPercent: intIn(10, 80),
      }),
      z.null(),
    ],
    { error: "must be null or { maxVolumeSizeGiB, targetUtilizationPercent }" },
  ),
  /** DEFAULT, PER_BROKER, PER_TOPIC_PER_BROKER or PER_TOPIC_PER_PARTITION. */
  enhancedMonitoring: oneOf(["DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION"]),
  logRetentionDays: retention,
});

const searchSchema = strict({
  engineVersion: matching(/^OpenSearch_\d+\.\d+$/, "an OpenSearch version such as OpenSearch_2.17"),
  dataInstanceType: matching(/^[a-z0-9]+\.[a-z0-9]+\.search$/, "an OpenSearch instance type such as t3.medium.search"),
  /** Data nodes (no native autoscaling; the automation service changes it within this range). */
  dataNodes: intIn(designLimits.openSearchDataNodes.min, designLimits.openSearchDataNodes.max),
  /** Dedicated master nodes; null for none. */
  dedicatedMasters: z.union(
    [strict({ instanceType: matching(/^[a-z0-9]+\.[a-z0-9]+\.search$/, "an OpenSearch instance type"), count: z.union([z.literal(3), z.literal(5)], { error: "must be 3 or 5" }) }), z.null()],
    { error: "must be null or { instanceType, count }" },
  ),
  /** Zone awareness over this many AZs (2 or 3); null for a single AZ. */
  zoneAwarenessAzs: z.union([z.literal(2), z.literal(3), z.null()], { error: "must be 2, 3 or null" }),
  /** gp3 EBS volume per data node, GiB. */
  volumeSizeGiB: intIn(10, 3072),
  volumeIops: intIn(3000, 16000),
  volumeThroughputMiBps: intIn(125, 1000),
  /** UltraWarm tier; null when the data instance type cannot use it (T2/T3). */
  warm: z.union(
    [strict({ instanceType: oneOf(["ultrawarm1.medium.search", "ultrawarm1.large.search"]), count: intIn(2, 150) }), z.null()],
    { error: "must be null or { instanceType, count }" },
  ),
  logRetentionDays: retention,
});

const budgetsSchema = strict({
  dailyUsd: numberIn(1, 1_000_000),
  /** AWS Budgets has no weekly period: enforced by anomaly detection and the automation service. */
  weeklyUsd: numberIn(1, 1_000_000),
  monthlyUsd: numberIn(1, 10_000_000),
  /** Warning notification threshold, percent of a budget. */
  warningPercent: intIn(1, 100),
  /** Emergency threshold, percent: the automation service scales down non-critical services. */
  emergencyPercent: intIn(1, 100),
  /** Cost Anomaly Detection: alert when an anomaly's total impact exceeds this, USD. */
  anomalyImpactUsd: numberIn(1, 100_000),
  /**
   * Who activates the `environment` cost allocation tag the budgets filter on (account-wide, payer
   * account only). `automation` (default): the automation service activates it as soon as AWS lists
   * the key (up to 24 h after the first tagged resource; nothing can activate it sooner), then keeps it
   * active. `stack`: an `aws.costexplorer.CostAllocationTag` resource of this stack (only once AWS
   * lists the key: on a first deploy its creation fails). `payer-account`: activated by the
   * organization's management account (member accounts cannot); the plan lists it as a human step.
   */
  costAllocationTagActivation: oneOf(["automation", "stack", "payer-account"]).default("automation"),
});

const monitoringSchema = strict({
  /**
   * Absolute http(s) URL of docs/runbook.md as published (no #fragment): every alert's `runbook_url`
   * is this plus `#<anchor>`. The plan warns about a placeholder (`.invalid`, example domains).
   */
  runbookBaseUrl: matching(/^https?:\/\/[^\s#]+$/, "an absolute http(s) URL without a #fragment, e.g. https://github.com/<org>/pyairtable-autoscaling/blob/main/docs/runbook.md"),
});

const schedulesSchema = strict({
  /** IANA time zone for every schedule (design: UTC). */
  timezone: z
    .string({ error: "must be an IANA time zone such as UTC or Europe/Berlin" })
    .refine(isValidTimeZone, { error: "must be an IANA time zone such as UTC or Europe/Berlin" }),
  businessHours: strict({
    start: clockTime,
    end: clockTime,
    days: listOf(oneOf(weekdays), 1, "weekdays (mon..sun)"),
  }),
  /** Known low-usage days (holiday profile). */
  holidays: z.array(isoDate, { error: "must be a list of dates YYYY-MM-DD" }),
  /** Whether non-production services may scale to zero at weekends and nights. */
  scaleToZeroOffHours: bool,
});

const workloadsSchema = strict({
  /** Whether app pods run an Istio sidecar (`istio-proxy`): VPAs then right-size it too. */
  istioSidecars: bool,
  /**
   * Business-hours floor as a percent of each KEDA service's maxReplicas (rounded up, at least its
   * minReplicas): KEDA cron triggers hold it 08:00-18:00 on business days. 0 disables the floors.
   */
  businessHoursFloorPercent: intIn(0, 100),
  /**
   * What the workload-contract admission policy does with a non-conforming Deployment or
   * StatefulSet in the application namespaces: `deny` rejects it, `warn` warns and audits.
   * Default `deny`.
   */
  admissionEnforcement: oneOf(["deny", "warn"]).optional(),
  /**
   * Whether the stack deploys a reference Deployment (built with the workload contract) for every
   * catalog service, so every HPA and ScaledObject has its target. Default false.
   */
  referenceDeployments: bool.optional(),
});

const automationSchema = strict({
  /** Container image of the automation service, pinned by tag or digest. */
  image: matching(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64})$/, "a container image reference pinned by tag or digest, e.g. registry.example.com/team/app:1.2.3 or registry.example.com/team/app:1.2.3@sha256:<64 hex digits>"),
  /** Replicas; one is the leader (PostgreSQL advisory lock), the others stand by. */
  replicas: intIn(1, 3),
  /** Pulumi backend the service runs `pulumi up` against (s3://bucket, https://api.pulumi.com, ...). */
  backendUrl: matching(/^(s3|gs|azblob|file|https):\/\/\S+$/, "a Pulumi backend URL (s3://, gs://, azblob://, file:// or https://)"),
  /**
   * IAM role the service's `pulumi up` runs as. null (default): the stack creates its own deploy role
   * (components/automationDeployRole.ts: capacity settings only, EKS access entry and RBAC); an ARN:
   * a role managed elsewhere, which must grant at least as much.
   */
  deployRoleArn: z.union([matching(/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/, "an IAM role ARN"), z.null()], { error: "must be an IAM role ARN or null" }),
  /** Kubernetes Secret (in the automation namespace) whose key DATABASE_URL points at PostgreSQL; null: embedded database. */
  databaseSecretName: z.union([matching(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "a Kubernetes Secret name"), z.null()], { error: "must be a Secret name or null" }),
});

const replicaRangeSchema = strict({
  minReplicas: intIn(designLimits.replicas.min, designLimits.replicas.max),
  maxReplicas: intIn(1, designLimits.replicas.max),
});

const servicesSchema = z
  .record(z.string(), replicaRangeSchema, { error: "must be a map of service name to { minReplicas, maxReplicas }" })
  .superRefine((value, ctx) => {
    for (const name of Object.keys(value)) {
      if (!(serviceNames as readonly string[]).includes(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: `unknown service (known: ${serviceNames.join(", ")})` });
      }
    }
    for (const name of serviceNames) {
      if (!(name in value)) {
        ctx.addIssue({ code: "custom", path: [name], message: "is required: every service in the catalog needs a replica range" });
      }
    }
  });

// ---------------------------------------------------------------------------------------------
// The whole stack
// ---------------------------------------------------------------------------------------------

export const environments = ["prod", "dev"] as const;
export type Environment = (typeof environments)[number];

const settingsObjectSchema = z.strictObject(
    {
      environment: oneOf(environments),
      network: networkSchema,
      cluster: clusterSchema,
      database: databaseSchema,
      cache: cacheSchema,
      streaming: streamingSchema,
      search: searchSchema,
      budgets: budgetsSchema,
      schedules: schedulesSchema,
      workloads: workloadsSchema,
      automation: automationSchema,
      monitoring: monitoringSchema,
      services: servicesSchema,
    },
  { error: "must be a map of settings" },
);
const plainSettingsSchema = settingsObjectSchema.superRefine(checkCrossFieldRules);

/** Keys that must be set as secrets (`pulumi config set --secret`). */
export const secretKeys = ["redisAuthToken", "slackWebhookUrl", "alertEmail"] as const;
export type SecretKey = (typeof secretKeys)[number];

const secretSchemas: Record<SecretKey, z.ZodType<string>> = {
  /** ElastiCache AUTH: 16-128 printable characters, no spaces, `"`, `/` or `@`. */
  redisAuthToken: matching(/^[!#-.0-?A-~]{16,128}$/, "16-128 printable characters without spaces, \", / or @ (ElastiCache AUTH rules)"),
  slackWebhookUrl: matching(/^https:\/\/\S+$/, "an https:// URL"),
  alertEmail: matching(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an e-mail address"),
};

export type PlainSettings = z.infer<typeof plainSettingsSchema>;
export type NetworkSettings = PlainSettings["network"];
export type ClusterSettings = PlainSettings["cluster"];
export type NodeGroupSettings = ClusterSettings["systemNodeGroup"];
export type DatabaseSettings = PlainSettings["database"];
export type CacheSettings = PlainSettings["cache"];
export type StreamingSettings = PlainSettings["streaming"];
export type SearchSettings = PlainSettings["search"];
export type BudgetSettings = PlainSettings["budgets"];
export type ScheduleSettings = PlainSettings["schedules"];
export type ServiceReplicaSettings = PlainSettings["services"];
export type WorkloadSettings = PlainSettings["workloads"];
export type AutomationSettings = PlainSettings["automation"];
export type MonitoringSettings = PlainSettings["monitoring"];

/** Secret values are kept apart from plain settings, so nothing logs them by accident. */
export interface PlatformSettings extends PlainSettings {
  readonly secrets: Readonly<Record<SecretKey, string>>;
}

/** Keys of the `autoscaling` namespace this program reads (the Pulumi.yaml declarations must match). */
export const settingsKeys = [...Object.keys(settingsObjectSchema.shape), ...secretKeys] as const;

function checkCrossFieldRules(s: z.infer<typeof settingsObjectSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });

  const ng = s.cluster.systemNodeGroup;
  if (ng.minSize > ng.desiredSize || ng.desiredSize > ng.maxSize) {
    issue(["cluster", "systemNodeGroup", "desiredSize"], `must be between minSize (${ng.minSize}) and maxSize (${ng.maxSize})`);
  }
  const classCeilings = karpenterWorkloadClasses.reduce((sum, c) => sum + s.cluster.workloadClasses[c].maxNodes, 0);
  const nodeCeiling = ng.maxSize + classCeilings;
  if (nodeCeiling > s.cluster.maxNodes) {
    issue(["cluster", "maxNodes"], `must be at least ${nodeCeiling}: the system node group's maxSize (${ng.maxSize}) plus every workload class's maxNodes (${classCeilings})`);
  }
  if (s.cluster.workloadClasses.data.spotPercent !== 0) {
    issue(["cluster", "workloadClasses", "data", "spotPercent"], "must be 0: data and database workloads never run on spot capacity");
  }
  if (s.cluster.endpointPublicAccess && s.cluster.publicAccessCidrs.length === 0) {
    issue(["cluster", "publicAccessCidrs"], "must list at least one CIDR block when endpointPublicAccess is true");
  }
  if (s.cluster.expectedSpotNodes > classCeilings) {
    issue(["cluster", "expectedSpotNodes"], `must be at most ${classCeilings}, the workload classes' node ceilings`);
  }

  if (s.database.minAcu > s.database.maxAcu) {
    issue(["database", "minAcu"], `must not exceed maxAcu (${s.database.maxAcu})`);
  }
  const rr = s.database.readReplicaScaling;
  if (rr.minReplicas > rr.maxReplicas) issue(["database", "readReplicaScaling", "minReplicas"], `must not exceed maxReplicas (${rr.maxReplicas})`);
  if (s.environment === "prod" && !s.database.deletionProtection) {
    issue(["database", "deletionProtection"], "must be true in prod");
  }
  if (s.environment === "prod" && s.network.dataStoreAccess !== "pod-security-groups") {
    issue(["network", "dataStoreAccess"], "must be pod-security-groups in prod: data stores admit only the workloads that use them, never every node (cluster security group)");
  }
  if (s.network.dataStoreAccess === "pod-security-groups") {
    // Pods with security groups need a trunk ENI on their node: PgBouncer (data class), the services
    // (api and batch classes) and the KEDA operator (system node group) all run with one.
    const nodeTypes: [string[], readonly string[]][] = [
      [["cluster", "systemNodeGroup", "instanceTypes"], s.cluster.systemNodeGroup.instanceTypes],
      [["cluster", "spotInstanceTypes"], s.cluster.spotInstanceTypes],
      [["cluster", "onDemandInstanceTypes"], s.cluster.onDemandInstanceTypes],
    ];
    for (const [path, types] of nodeTypes) {
      const without = instanceTypesWithoutTrunking(types);
      if (without.length > 0) {
        issue(path, `${without.join(", ")}: no trunk ENI (security groups for pods need Nitro instance types with IsTrunkingCompatible in the VPC resource controller's limits; no t family), required by network.dataStoreAccess = pod-security-groups`);
      }
    }
  }
  if (s.environment === "prod" && s.cluster.amiAlias.endsWith("@latest")) {
    issue(["cluster", "amiAlias"], "must name a dated AMI release in prod (e.g. al2023@v20260714), not @latest: node images change only with a reviewed stack change");
  }
  if (s.environment === "prod" && /:latest(@|$)/.test(s.automation.image)) {
    issue(["automation", "image"], "must not use the latest tag in prod: pin a version tag, ideally with its digest (tag@sha256:<64 hex>)");
  }
  if (s.environment === "prod") {
    const retentions: [string[], number][] = [
      [["network", "flowLogRetentionDays"], s.network.flowLogRetentionDays],
      [["cluster", "logRetentionDays"], s.cluster.logRetentionDays],
      [["database", "logRetentionDays"], s.database.logRetentionDays],
      [["cache", "logRetentionDays"], s.cache.logRetentionDays],
      [["streaming", "logRetentionDays"], s.streaming.logRetentionDays],
      [["search", "logRetentionDays"], s.search.logRetentionDays],
    ];
    for (const [path, days] of retentions) {
      if (days < prodMinimumLogRetentionDays) issue(path, `must be at least ${prodMinimumLogRetentionDays} in prod (audit, flow and service logs are kept a year)`);
    }
  }

  if (s.cache.mode === "cluster") {
    const c = s.cache;
    if (c.minShards > c.maxShards) issue(["cache", "minShards"], `must not exceed maxShards (${c.maxShards})`);
    if (c.shards < c.minShards || c.shards > c.maxShards) {
      issue(["cache", "shards"], `must be between minShards (${c.minShards}) and maxShards (${c.maxShards})`);
    }
    if (c.replicasPerShard < 1) {
      issue(["cache", "replicasPerShard"], "must be at least 1 in cluster mode: Multi-AZ automatic failover needs a replica per shard");
    }
  }

  const st = s.streaming;
  if (st.brokers % s.network.availabilityZones !== 0) {
    issue(["streaming", "brokers"], `must be a multiple of network.availabilityZones (${s.network.availabilityZones}): MSK spreads brokers evenly over the client subnets`);
  }
  if (st.storageAutoscaling && st.storageAutoscaling.maxVolumeSizeGiB <= st.volumeSizeGiB) {
    issue(["streaming", "storageAutoscaling", "maxVolumeSizeGiB"], `must exceed volumeSizeGiB (${st.volumeSizeGiB})`);
  }

  const se = s.search;
  if (se.zoneAwarenessAzs !== null) {
    if (se.zoneAwarenessAzs > s.network.availabilityZones) {
      issue(["search", "zoneAwarenessAzs"], `must not exceed network.availabilityZones (${s.network.availabilityZones})`);
    }
    if (se.dataNodes % se.zoneAwarenessAzs !== 0) {
      issue(["search", "dataNodes"], `must be a multiple of zoneAwarenessAzs (${se.zoneAwarenessAzs}) so every zone holds the same number of data nodes`);
    }
  }
  if (se.warm !== null) {
    if (/^t[23]\./.test(se.dataInstanceType)) {
      issue(["search", "warm"], `must be null: UltraWarm is not available with T2/T3 data nodes (${se.dataInstanceType})`);
    }
    if (se.dedicatedMasters === null) {
      issue(["search", "warm"], "must be null unless dedicatedMasters is set: UltraWarm requires dedicated master nodes");
    }
  }

  const b = s.budgets;
  if (b.warningPercent >= b.emergencyPercent) issue(["budgets", "warningPercent"], `must be below emergencyPercent (${b.emergencyPercent})`);
  if (b.weeklyUsd > b.monthlyUsd) issue(["budgets", "weeklyUsd"], `must not exceed monthlyUsd (${b.monthlyUsd})`);
  if (b.dailyUsd > b.weeklyUsd) issue(["budgets", "dailyUsd"], `must not exceed weeklyUsd (${b.weeklyUsd})`);

  if (s.environment === "prod" && s.automation.databaseSecretName === null) {
    issue(["automation", "databaseSecretName"], "must name a Secret with DATABASE_URL in prod: the embedded database does not survive a pod restart or serve several replicas");
  }

  const bh = s.schedules.businessHours;
  if (bh.start >= bh.end) issue(["schedules", "businessHours", "end"], `must be after start (${bh.start})`);

  for (const [name, range] of Object.entries(s.services) as [string, { minReplicas: number; maxReplicas: number }][]) {
    if (range.minReplicas > range.maxReplicas) {
      issue(["services", name, "minReplicas"], `must not exceed maxReplicas (${range.maxReplicas})`);
    }
  }
}

/**
 * Warnings that do not stop a plan: the cluster's Kubernetes version within
 * `standardSupportWarningDays` (60) days of the end of EKS standard support, or past it (then the
 * control plane bills extended support; the pack refuses such a prod stack). `asOf` defaults to
 * `calendarDay()` (now, unless pinned).
 */
export function settingsWarnings(s: Pick<PlainSettings, "cluster">, asOf: Date = calendarDay("settingsWarnings")): string[] {
  const key = `${configNamespace}:cluster.kubernetesVersion`;
  const v = eksVersion(s.cluster.kubernetesVersion);
  if (!v) return [];
  const left = daysOfStandardSupportLeft(v, asOf);
  const phase = supportPhase(v, asOf);
  const prices = `${formatUnitPrice(priceOf("eks.cluster.extendedSupport.hour"))}/h instead of ${formatUnitPrice(priceOf("eks.cluster.hour"))}/h`;
  if (phase === "ended") return [`${key} = "${v.version}": EKS extended support ended on ${v.endOfExtendedSupport}; EKS upgrades such clusters itself. Upgrade to a version in standard support.`];
  if (phase === "extended") {
    return [`${key} = "${v.version}": EKS standard support ended on ${v.endOfStandardSupport}; the control plane bills extended support (${prices}) until ${v.endOfExtendedSupport}. Upgrade to a version in standard support.`];
  }
  if (left <= standardSupportWarningDays) {
    return [`${key} = "${v.version}": EKS standard support ends on ${v.endOfStandardSupport} (in ${left} day${left === 1 ? "" : "s"}); from then the control plane bills extended support (${prices}). Plan the upgrade.`];
  }
  return [];
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and error messages
// ---------------------------------------------------------------------------------------------

/** One problem with one key: `autoscaling:cache.maxShards = 12: must be an integer from 3 to 9`. */
export interface SettingsProblem {
  /** Full config key with path, e.g. `autoscaling:cache.maxShards`. */
  readonly key: string;
  /** The offending value as JSON, `[secret]` for secrets, undefined when missing. */
  readonly value?: string;
  readonly message: string;
}

export class SettingsError extends Error {
  constructor(readonly stack_: string, readonly problems: readonly SettingsProblem[]) {
    super(
      `invalid configuration for stack '${stack_}' (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
    );
    this.name = "SettingsError";
  }
}

export function formatProblem(p: SettingsProblem): string {
  return p.value === undefined ? `${p.key} is missing: ${p.message}` : `${p.key} = ${p.value}: ${p.message}`;
}

/** Raw configuration: the `autoscaling` namespace's keys (without namespace) with decoded values. */
export interface RawConfig {
  readonly values: Readonly<Record<string, unknown>>;
  /** Keys (without namespace) whose values are stored encrypted. */
  readonly secretKeys: ReadonlySet<string>;
}

/**
 * Validates raw configuration into settings. Throws `SettingsError` listing every problem at once.
 */
export function parseSettings(stack: string, raw: RawConfig): PlatformSettings {
  const problems: SettingsProblem[] = [];
  const known = new Set<string>(settingsKeys);
  for (const key of Object.keys(raw.values)) {
    if (!known.has(key)) {
      problems.push({
        key: `${configNamespace}:${key}`,
        value: raw.secretKeys.has(key) ? "[secret]" : show(raw.values[key]),
        message: `unknown setting (known: ${[...known].join(", ")})`,
      });
    }
  }

  const plainInput: Record<string, unknown> = {};
  for (const key of Object.keys(settingsObjectSchema.shape)) {
    if (key in raw.values) plainInput[key] = raw.values[key];
    if (raw.secretKeys.has(key)) {
      problems.push({ key: `${configNamespace}:${key}`, value: "[secret]", message: "must be plain configuration, not a secret" });
    }
  }
  const parsed = plainSettingsSchema.safeParse(plainInput);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(toProblem(issue, plainInput));
  }

  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const key of secretKeys) {
    const fullKey = `${configNamespace}:${key}`;
    const value = raw.values[key];
    if (value === undefined) {
      problems.push({ key: fullKey, message: `is required: set it with \`pulumi config set --secret ${key} <value>\`` });
      continue;
    }
    if (!raw.secretKeys.has(key)) {
      problems.push({ key: fullKey, value: "[plain text]", message: `must be a secret: run \`pulumi config set --secret ${key} <value>\` (plain text is not accepted)` });
      continue;
    }
    const checked = secretSchemas[key].safeParse(value);
    if (!checked.success) {
      problems.push({ key: fullKey, value: "[secret]", message: checked.error.issues[0]?.message ?? "is invalid" });
      continue;
    }
    secrets[key] = checked.data;
  }

  if (problems.length > 0 || !parsed.success) throw new SettingsError(stack, dedupe(problems));
  return { ...parsed.data, secrets: secrets as Record<SecretKey, string> };
}

function toProblem(issue: z.core.$ZodIssue, input: Record<string, unknown>): SettingsProblem {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const key = `${configNamespace}:${formatPath(path)}`;
  if (issue.code === "unrecognized_keys") {
    const parentKey = path.length ? key : configNamespace;
    return {
      key: issue.keys.length === 1 ? `${parentKey}${path.length ? "." : ":"}${issue.keys[0]}` : parentKey,
      value: issue.keys.length === 1 ? show(valueAt(input, [...path, issue.keys[0]!])) : undefined,
      message: `unknown setting${issue.keys.length === 1 ? "" : `s ${issue.keys.join(", ")}`}${describeAllowed(input, path)}`,
    };
  }
  const value = valueAt(input, path);
  return { key, value: value === undefined ? undefined : show(value), message: issue.message };
}

function describeAllowed(input: Record<string, unknown>, path: (string | number)[]): string {
  // The schema's shape at this path names the allowed keys.
  let schema: z.ZodType = settingsObjectSchema;
  for (const p of path) {
    const def = (schema as unknown as { def: { shape?: Record<string, z.ZodType>; options?: z.ZodType[] } }).def;
    if (def.shape && typeof p === "string" && def.shape[p]) schema = def.shape[p]!;
    else if (def.options) {
      const mode = (valueAt(input, path.slice(0, path.indexOf(p))) as { mode?: string } | undefined)?.mode;
      const match = def.options.find((o) => (o as unknown as { def: { shape: { mode?: { def: { values: string[] } } } } }).def.shape?.mode?.def.values.includes(mode ?? ""));
      if (!match) return "";
      schema = (match as unknown as { def: { shape: Record<string, z.ZodType> } }).def.shape[p as string] ?? match;
    } else return "";
  }
  let def = (schema as unknown as { def: { shape?: Record<string, unknown>; options?: z.ZodType[] } }).def;
  if (!def.shape && def.options) {
    const mode = (valueAt(input, path) as { mode?: string } | undefined)?.mode;
    const match = def.options.find((o) => (o as unknown as { def: { shape: { mode?: { def: { values: string[] } } } } }).def.shape?.mode?.def.values.includes(mode ?? ""));
    def = (match as unknown as { def: { shape?: Record<string, unknown> } } | undefined)?.def ?? def;
  }
  return def.shape ? ` (allowed: ${Object.keys(def.shape).join(", ")})` : "";
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** One problem per key: the first is the most basic (a wrong type hides the range check behind it). */
function dedupe(problems: SettingsProblem[]): SettingsProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    if (seen.has(p.key)) return false;
    seen.add(p.key);
    return true;
  });
}
