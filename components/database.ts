import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import { postgresEnginePort, type DatabaseSettings, type Environment } from "../lib/config/settings";
import { designLimits } from "../lib/design";

/** Aurora allows one writer and at most 15 Aurora Replicas per cluster. */
export const auroraMaxReplicas = 15;

/** CloudWatch Logs only accepts these retention periods (days). */
const cloudWatchRetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Aurora PostgreSQL Serverless v2 (design: prod 2-16 ACU, dev 0.5-4 ACU) with reader autoscaling through
 * Application Auto Scaling (`rds:cluster:ReadReplicaCount`, design: 0-15 replicas on read load).
 */
export interface DatabaseArgs extends Omit<DatabaseSettings, "logRetentionDays"> {
  /** `prod` keeps a final snapshot on deletion; `dev` skips it (throw-away data). Also tags the resources. */
  environment: Environment;
  /** VPC of the subnets (the cluster security group lives here). */
  vpcId: pulumi.Input<string>;
  /** Private subnets for the DB subnet group, in at least 2 availability zones (RDS requires 2). */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of database clients (e.g. the EKS nodes): the only sources admitted, on `port` only. */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /**
   * KMS key ARN for the PostgreSQL log group (a key whose policy admits CloudWatch Logs). RDS exports to
   * `/aws/rds/cluster/<id>/postgresql`; this component creates that group first so retention and encryption are ours.
   */
  logsKmsKeyArn: pulumi.Input<string>;
  /** Retention of the exported PostgreSQL log, days (a CloudWatch Logs retention value). Default 30. */
  logRetentionDays?: number;
  /** Statements running at least this long are logged (`log_min_duration_statement`), milliseconds. Default 1000. */
  slowStatementThresholdMs?: number;
  /** Master user name; its password is generated and kept in Secrets Manager by RDS. Default `pyairtable_admin`. */
  masterUsername?: string;
  /** Database created with the cluster. Default `pyairtable`. */
  databaseName?: string;
  /** Daily backup window, UTC `hh24:mi-hh24:mi`, at least 30 minutes. Default `03:00-04:00`. */
  backupWindow?: string;
  /** Weekly maintenance window, UTC `ddd:hh24:mi-ddd:hh24:mi`, must not overlap the backup window. Default `sun:05:00-sun:06:00`. */
  maintenanceWindow?: string;
  /** Seconds of inactivity before a cluster with `minAcu` 0 pauses (300-86400). Ignored unless `minAcu` is 0. Default 1800. */
  secondsUntilAutoPause?: number;
  /**
   * `purpose` tag of every resource (the cost model prices a cluster tagged `automation-state` as the
   * automation service's database, apart from the platform's). Default none.
   */
  purpose?: string;
  /** Create the read-replica Application Auto Scaling target and policy. Default true. */
  readReplicaAutoScaling?: boolean;
}

/**
 * An Aurora PostgreSQL Serverless v2 cluster: storage, Performance Insights and the Secrets Manager master
 * password under the component's own KMS key; TLS forced; IAM database authentication; PostgreSQL log in a
 * CloudWatch log group we own; enhanced monitoring; a writer plus `readers` failover readers; and reader
 * autoscaling with a target-tracking policy on average reader CPU.
 */
export class Database extends pulumi.ComponentResource {
  public readonly clusterIdentifier: pulumi.Output<string>;
  /** Writer (cluster) endpoint. */
  public readonly endpoint: pulumi.Output<string>;
  /** Reader endpoint: load-balances over every reader, including those Application Auto Scaling adds. */
  public readonly readerEndpoint: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** Secrets Manager secret holding the master credentials (managed and rotated by RDS). */
  public readonly masterUserSecretArn: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:database:Database", name, {}, opts);
    // Validate before creating anything: a rejected cluster must not leave a key or a log group behind.
    const v = validateDatabaseArgs(name, args);
    const parent = { parent: this };
    const prod = args.environment === "prod";
    const tags = (what: string) => ({ Name: what, environment: args.environment, ...(args.purpose ? { purpose: args.purpose } : {}) });

    const key = customerManagedKey(`${name}-kms`, `Aurora ${name}: storage, Performance Insights and master secret encryption`, parent);

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `Aurora ${name}: PostgreSQL from client security groups only`,
      // No egress rules: the database answers connections (stateful) and opens none.
      tags: tags(`${name}-aurora`),
    }, parent);
    args.clientSecurityGroupIds.forEach((source, i) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-postgres-${i}`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: source,
        ipProtocol: "tcp",
        fromPort: args.port,
        toPort: args.port,
        description: "PostgreSQL (TLS) from database clients",
        tags: tags(`${name}-postgres-${i}`),
      }, parent),
    );

    const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
      description: `Aurora ${name}: private subnets`,
      subnetIds: args.subnetIds,
      tags: tags(`${name}-subnets`),
    }, parent);

    // Auto-named, so a major-version upgrade (new family) can create the new group before dropping the old one.
    const parameterGroup = new aws.rds.ClusterParameterGroup(`${name}-params`, {
      family: v.parameterGroupFamily,
      description: `Aurora ${name}: TLS only, slow-statement and DDL logging`,
      parameters: [
        // Reject every connection that is not TLS. pending-reboot is accepted for static and dynamic parameters
        // alike; on a new cluster the instances boot with it.
        { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
        // Statements slower than this land in the exported PostgreSQL log (and so in CloudWatch).
        { name: "log_min_duration_statement", value: String(v.slowStatementThresholdMs), applyMethod: "immediate" },
        // Every schema change (CREATE, ALTER, DROP) lands in the exported log: the DDL audit trail (CKV2_AWS_27).
        // log_statement is one of the logging parameters the Aurora User Guide lists for an Aurora
        // PostgreSQL DB cluster ("Turning on query logging for your Aurora PostgreSQL DB cluster"); that
        // aurora-postgresql16 accepts it at cluster level was not confirmed against the engine defaults
        // here (no AWS access): README "Before the first production deploy" has the check.
        { name: "log_statement", value: "ddl", applyMethod: "immediate" },
      ],
      tags: tags(`${name}-params`),
    }, parent);

    // RDS exports to this fixed name and would create it itself with no retention and no encryption if it
    // did not exist; creating it first (the cluster depends on it) makes retention and the key ours.
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-postgresql-log`, {
      name: `/aws/rds/cluster/${name}/postgresql`,
      retentionInDays: v.logRetentionDays,
      kmsKeyId: args.logsKmsKeyArn,
      tags: tags(`${name}-postgresql-log`),
    }, parent);

    const partition = aws.getPartitionOutput({}, parent).partition;
    const monitoringRole = new aws.iam.Role(`${name}-monitoring-role`, {
      description: `Aurora ${name}: enhanced monitoring publishes OS metrics to CloudWatch Logs`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: tags(`${name}-monitoring`),
    }, parent);
    const monitoringPolicy = new aws.iam.RolePolicyAttachment(`${name}-monitoring-policy`, {
      role: monitoringRole.name,
      policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
    }, parent);

    const cluster = new aws.rds.Cluster(`${name}-cluster`, {
      // Fixed identifier: the log group above must carry it before the cluster exists.
      clusterIdentifier: name,
      engine: "aurora-postgresql",
      // Serverless v2 is "provisioned" mode with db.serverless instances.
      engineMode: "provisioned",
      engineVersion: args.engineVersion,
      serverlessv2ScalingConfiguration: {
        minCapacity: args.minAcu,
        maxCapacity: args.maxAcu,
        ...(args.minAcu === 0 ? { secondsUntilAutoPause: v.secondsUntilAutoPause } : {}),
      },
      databaseName: v.databaseName,
      masterUsername: v.masterUsername,
      // RDS generates the password and keeps it in Secrets Manager (encrypted with our key): none in code or config.
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: key.arn,
      // Applications authenticate with IAM tokens (IRSA roles), not shared passwords.
      iamDatabaseAuthenticationEnabled: true,
      storageEncrypted: true,
      kmsKeyId: key.arn,
      port: args.port,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [sg.id],
      dbClusterParameterGroupName: parameterGroup.name,
      enabledCloudwatchLogsExports: ["postgresql"],
      backupRetentionPeriod: args.backupRetentionDays,
      preferredBackupWindow: v.backupWindow,
      preferredMaintenanceWindow: v.maintenanceWindow,
      copyTagsToSnapshot: true,
      deletionProtection: args.deletionProtection,
      // Production keeps a last snapshot when the cluster is deleted; dev data is disposable.
      skipFinalSnapshot: !prod,
      ...(prod ? { finalSnapshotIdentifier: `${name}-final` } : {}),
      tags: tags(name),
    }, { parent: this, dependsOn: [logGroup] });

    const instance = (suffix: string, promotionTier: number) =>
      new aws.rds.ClusterInstance(`${name}-${suffix}`, {
        identifier: `${name}-${suffix}`,
        clusterIdentifier: cluster.id,
        engine: "aurora-postgresql",
        engineVersion: cluster.engineVersion,
        // Serverless v2: each instance scales between the cluster's minAcu and maxAcu.
        instanceClass: "db.serverless",
        dbSubnetGroupName: subnetGroup.name,
        publiclyAccessible: false,
        // Readers in tiers 0-1 follow the writer's capacity, so a failover never lands on a cold, small reader.
        promotionTier,
        autoMinorVersionUpgrade: true,
        caCertIdentifier: "rds-ca-rsa2048-g1",
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: key.arn,
        performanceInsightsRetentionPeriod: args.performanceInsightsRetentionDays,
        monitoringInterval: 60,
        monitoringRoleArn: monitoringRole.arn,
        copyTagsToSnapshot: true,
        tags: tags(`${name}-${suffix}`),
      }, { parent: this, dependsOn: [monitoringPolicy] });

    const writer = instance("writer", 0);
    const readers = Array.from({ length: args.readers }, (_, i) => instance(`reader-${i}`, 1));

    // Application Auto Scaling counts every reader in the cluster (ours included) against min/max, adds
    // replicas (db.serverless, promotion tier 15) above that and removes only the replicas it added. Those
    // replicas are not in Pulumi state: before destroying the cluster, set maxReplicas to the readers count (or
    // delete the target) and wait for them to go, or the cluster deletion fails while they exist.
    const rr = args.readReplicaScaling;
    if (args.readers === 0 && rr.minReplicas === 0 && rr.maxReplicas > 0) {
      // Target tracking reads the readers' average CPU; with no reader there is no data point, so it never
      // adds the first replica. Not an error (dev accepts it), but the maxReplicas ceiling is then unreachable.
      pulumi.log.warn(`${name}: readers = 0 and readReplicaScaling.minReplicas = 0: RDSReaderAverageCPUUtilization has no data without a reader, so Application Auto Scaling will not add replicas (set readers or minReplicas to at least 1 to enable read scaling)`, this);
    }
    // Off: no read scaling at all (the automation service's small database).
    const target = args.readReplicaAutoScaling === false ? undefined : new aws.appautoscaling.Target(`${name}-replicas-target`, {
      serviceNamespace: "rds",
      scalableDimension: "rds:cluster:ReadReplicaCount",
      resourceId: pulumi.interpolate`cluster:${cluster.clusterIdentifier}`,
      minCapacity: rr.minReplicas,
      maxCapacity: rr.maxReplicas,
      tags: tags(`${name}-replicas`),
    }, { parent: this, dependsOn: [writer, ...readers] }); // AAS needs an available cluster with its writer.
    if (target) new aws.appautoscaling.Policy(`${name}-replicas-cpu`, {
      name: `${name}-reader-cpu`,
      policyType: "TargetTrackingScaling",
      serviceNamespace: target.serviceNamespace,
      scalableDimension: target.scalableDimension,
      resourceId: target.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: "RDSReaderAverageCPUUtilization" },
        targetValue: rr.targetCpuPercent,
        scaleInCooldown: rr.scaleInCooldownSeconds,
        scaleOutCooldown: rr.scaleOutCooldownSeconds,
      },
    }, parent);

    this.clusterIdentifier = cluster.clusterIdentifier;
    this.endpoint = cluster.endpoint;
    this.readerEndpoint = cluster.readerEndpoint;
    this.port = cluster.port;
    this.securityGroupId = sg.id;
    this.kmsKeyArn = key.arn;
    this.masterUserSecretArn = cluster.masterUserSecrets.apply((secrets) => secrets?.[0]?.secretArn ?? "");

    this.registerOutputs({
      clusterIdentifier: this.clusterIdentifier,
      endpoint: this.endpoint,
      readerEndpoint: this.readerEndpoint,
      port: this.port,
      securityGroupId: this.securityGroupId,
      kmsKeyArn: this.kmsKeyArn,
      masterUserSecretArn: this.masterUserSecretArn,
    });
  }
}

interface ValidatedDatabaseArgs {
  parameterGroupFamily: string;
  logRetentionDays: number;
  slowStatementThresholdMs: number;
  masterUsername: string;
  databaseName: string;
  backupWindow: string;
  maintenanceWindow: string;
  secondsUntilAutoPause: number;
}

/** Minimum minor version per major that supports 0 ACU (automatic pause). */
const autoPauseMinimumMinor: Record<number, number> = { 13: 15, 14: 12, 15: 7, 16: 3 };

/** Checks the arguments; returns the derived and defaulted values. Throws naming the field, value and what is allowed. */
export function validateDatabaseArgs(name: string, args: DatabaseArgs): ValidatedDatabaseArgs {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const isInt = (n: unknown, min: number, max: number) => typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

  // Cluster identifiers: letter first, lowercase letters/digits/hyphens, no "--", no trailing "-", at most 63
  // characters; "-reader-14" is appended for instance identifiers, so the name keeps 10 characters spare.
  if (!/^[a-z](?!.*--)[a-z0-9-]{0,51}[a-z0-9]$/.test(name)) {
    fail(`Database name = ${JSON.stringify(name)}: must be 2-53 lowercase letters, digits and hyphens, starting with a letter, without "--" or a trailing hyphen (Aurora cluster and instance identifiers)`);
  }
  if (args.environment !== "prod" && args.environment !== "dev") {
    fail(`database environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
  }

  const version = /^(\d+)\.(\d+)$/.exec(String(args.engineVersion));
  const major = version ? Number(version[1]) : NaN;
  const minor = version ? Number(version[2]) : NaN;
  if (!version || major < 13 || major > 17) {
    fail(`database.engineVersion = ${JSON.stringify(args.engineVersion)}: must be an Aurora PostgreSQL version MAJOR.MINOR with major 13-17, such as 16.6`);
  }

  if (!isInt(args.port, 1150, 65535) || args.port === postgresEnginePort) {
    fail(`database.port = ${JSON.stringify(args.port)}: must be an integer from 1150 to 65535 other than ${postgresEnginePort} (the engine's default port, AWS Security Hub RDS.23)`);
  }

  const { max: acuCeiling, step } = designLimits.auroraAcu;
  const isAcu = (n: unknown) => typeof n === "number" && Number.isFinite(n) && Number.isInteger(n / step);
  if (!isAcu(args.minAcu) || args.minAcu < 0 || args.minAcu > acuCeiling) {
    fail(`database.minAcu = ${args.minAcu}: must be a number from 0 to ${acuCeiling} in steps of ${step} (Aurora Serverless v2 capacity units)`);
  }
  if (!isAcu(args.maxAcu) || args.maxAcu < 1 || args.maxAcu > acuCeiling) {
    fail(`database.maxAcu = ${args.maxAcu}: must be a number from 1 to ${acuCeiling} in steps of ${step} (Aurora Serverless v2 requires a maximum above 0.5 ACU)`);
  }
  if (args.minAcu > args.maxAcu) {
    fail(`database.minAcu = ${args.minAcu}: must not exceed maxAcu (${args.maxAcu})`);
  }
  if (args.minAcu === 0) {
    const needed = autoPauseMinimumMinor[major];
    if (needed === undefined ? major < 13 : minor < needed) {
      fail(`database.minAcu = 0: automatic pause needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or later (engineVersion is ${args.engineVersion}); use at least 0.5`);
    }
  }

  if (!isInt(args.readers, 0, auroraMaxReplicas)) {
    fail(`database.readers = ${args.readers}: must be an integer from 0 to ${auroraMaxReplicas} (Aurora allows ${auroraMaxReplicas} replicas per cluster)`);
  }
  const rr = args.readReplicaScaling;
  if (!rr || typeof rr !== "object") fail("database.readReplicaScaling is missing: must be { minReplicas, maxReplicas, targetCpuPercent, scaleInCooldownSeconds, scaleOutCooldownSeconds }");
  if (!isInt(rr.minReplicas, 0, auroraMaxReplicas)) {
    fail(`database.readReplicaScaling.minReplicas = ${rr.minReplicas}: must be an integer from 0 to ${auroraMaxReplicas}`);
  }
  if (!isInt(rr.maxReplicas, 0, auroraMaxReplicas)) {
    fail(`database.readReplicaScaling.maxReplicas = ${rr.maxReplicas}: must be an integer from 0 to ${auroraMaxReplicas} (Aurora allows ${auroraMaxReplicas} replicas per cluster)`);
  }
  if (rr.minReplicas > rr.maxReplicas) {
    fail(`database.readReplicaScaling.minReplicas = ${rr.minReplicas}: must not exceed maxReplicas (${rr.maxReplicas})`);
  }
  // ReadReplicaCount counts every reader of the cluster, the ones created here included: maxReplicas is the
  // ceiling on all readers (so maxReplicas <= 15 alone keeps the cluster within Aurora's limit, and readers
  // need not be added to it), and readers above it would leave Application Auto Scaling nothing to add.
  if (args.readers > rr.maxReplicas) {
    fail(`database.readers = ${args.readers}: must not exceed readReplicaScaling.maxReplicas (${rr.maxReplicas}): Application Auto Scaling counts these readers towards maxReplicas and could never add one`);
  }
  if (!isInt(rr.targetCpuPercent, 10, 90)) {
    fail(`database.readReplicaScaling.targetCpuPercent = ${rr.targetCpuPercent}: must be an integer from 10 to 90 (average reader CPU, percent)`);
  }
  if (!isInt(rr.scaleInCooldownSeconds, 0, 3600)) {
    fail(`database.readReplicaScaling.scaleInCooldownSeconds = ${rr.scaleInCooldownSeconds}: must be an integer from 0 to 3600`);
  }
  if (!isInt(rr.scaleOutCooldownSeconds, 0, 3600)) {
    fail(`database.readReplicaScaling.scaleOutCooldownSeconds = ${rr.scaleOutCooldownSeconds}: must be an integer from 0 to 3600`);
  }

  if (!isInt(args.backupRetentionDays, 1, 35)) {
    fail(`database.backupRetentionDays = ${args.backupRetentionDays}: must be an integer from 1 to 35 (Aurora automated backups)`);
  }
  if (typeof args.deletionProtection !== "boolean") {
    fail(`database.deletionProtection = ${JSON.stringify(args.deletionProtection)}: must be true or false`);
  }
  if (args.environment === "prod" && !args.deletionProtection) {
    fail("database.deletionProtection = false: must be true in prod");
  }
  const pi = args.performanceInsightsRetentionDays;
  if (!(pi === 7 || pi === 731 || (Number.isInteger(pi) && pi > 0 && pi % 31 === 0 && pi <= 713))) {
    fail(`database.performanceInsightsRetentionDays = ${pi}: must be 7 or a multiple of 31 up to 731 (Performance Insights retention days)`);
  }

  if (args.subnetIds.length < 2) {
    fail(`database subnetIds has ${args.subnetIds.length} subnet${args.subnetIds.length === 1 ? "" : "s"}: a DB subnet group needs subnets in at least 2 availability zones`);
  }
  if (args.clientSecurityGroupIds.length === 0) {
    fail("database clientSecurityGroupIds is empty: at least one client security group must be admitted, or nothing can reach PostgreSQL");
  }

  const logRetentionDays = args.logRetentionDays ?? 30;
  if (!cloudWatchRetentionDays.includes(logRetentionDays)) {
    fail(`database logRetentionDays = ${logRetentionDays}: must be one of ${cloudWatchRetentionDays.join(", ")} (CloudWatch Logs retention days)`);
  }
  const slowStatementThresholdMs = args.slowStatementThresholdMs ?? 1000;
  if (!isInt(slowStatementThresholdMs, 0, 3_600_000)) {
    fail(`database slowStatementThresholdMs = ${slowStatementThresholdMs}: must be an integer from 0 to 3600000 (milliseconds)`);
  }
  const masterUsername = args.masterUsername ?? "pyairtable_admin";
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(masterUsername) || /^rds/i.test(masterUsername)) {
    fail(`database masterUsername = ${JSON.stringify(masterUsername)}: must be 1-63 letters, digits and underscores starting with a letter, not starting with "rds" (RDS reserves rdsadmin and rds_* roles)`);
  }
  const databaseName = args.databaseName ?? "pyairtable";
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(databaseName)) {
    fail(`database databaseName = ${JSON.stringify(databaseName)}: must be 1-63 letters, digits and underscores starting with a letter`);
  }
  const backupWindow = args.backupWindow ?? "03:00-04:00";
  const bw = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(backupWindow);
  if (!bw || (toMinutes(bw[3]!, bw[4]!) - toMinutes(bw[1]!, bw[2]!) + 1440) % 1440 < 30) {
    fail(`database backupWindow = ${JSON.stringify(backupWindow)}: must be hh24:mi-hh24:mi (UTC) and at least 30 minutes long`);
  }
  const maintenanceWindow = args.maintenanceWindow ?? "sun:05:00-sun:06:00";
  if (!/^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/.test(maintenanceWindow)) {
    fail(`database maintenanceWindow = ${JSON.stringify(maintenanceWindow)}: must be ddd:hh24:mi-ddd:hh24:mi (UTC), e.g. sun:05:00-sun:06:00`);
  }
  const secondsUntilAutoPause = args.secondsUntilAutoPause ?? 1800;
  if (!isInt(secondsUntilAutoPause, 300, 86_400)) {
    fail(`database secondsUntilAutoPause = ${secondsUntilAutoPause}: must be an integer from 300 to 86400`);
  }

  return {
    parameterGroupFamily: `aurora-postgresql${major}`,
    logRetentionDays,
    slowStatementThresholdMs,
    masterUsername,
    databaseName,
    backupWindow,
    maintenanceWindow,
    secondsUntilAutoPause,
  };
}

function toMinutes(h: string, m: string): number {
  return Number(h) * 60 + Number(m);
}
