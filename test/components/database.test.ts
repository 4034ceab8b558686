import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { auroraMaxReplicas, Database, DatabaseArgs } from "../../components/database";
import { PlatformSettings } from "../../lib/config/settings";
import { PlannedResource, runUnderMocks } from "../../lib/plan/mockRuntime";
import { loadStackSettings, settingsWithSecrets } from "../support/stacks";
import { buildFailing as buildFailingWith, one, ofType } from "../support/components";


function settingsOf(stack: "prod" | "dev"): PlatformSettings {
  return settingsWithSecrets(stack);
}

const logsKmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/logs-key";
const clientSgs = ["sg-eks-nodes", "sg-eks-cluster"];

function argsFor(stack: "prod" | "dev", overrides: Partial<DatabaseArgs> = {}): DatabaseArgs {
  const s = settingsOf(stack);
  return {
    ...s.database,
    environment: s.environment,
    vpcId: "vpc-plan",
    subnetIds: ["subnet-private-0", "subnet-private-1", "subnet-private-2"],
    clientSecurityGroupIds: clientSgs,
    logsKmsKeyArn,
    ...overrides,
  };
}

interface Run {
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Whether masterUserSecretArn is an Output (it stays unknown under the mocks: RDS fills it after create). */
  secretArnIsOutput: boolean;
}

const dbName = (stack: string) => `pyairtable-${stack}-db`;

async function build(stack: "prod" | "dev", args: DatabaseArgs): Promise<Run> {
  let secretArnIsOutput = false;
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    const db = new Database(dbName(stack), args);
    secretArnIsOutput = pulumi.Output.isInstance(db.masterUserSecretArn);
    // masterUserSecretArn is left out: the mocks do not answer masterUserSecrets, and one unknown value
    // empties the whole output map.
    return {
      clusterIdentifier: db.clusterIdentifier,
      endpoint: db.endpoint,
      readerEndpoint: db.readerEndpoint,
      port: db.port,
      securityGroupId: db.securityGroupId,
      kmsKeyArn: db.kmsKeyArn,
    };
  });
  return { resources: result.resources, outputs: result.outputs, secretArnIsOutput };
}

const buildFailing = (args: DatabaseArgs, name = dbName("prod")) => buildFailingWith(() => new Database(name, args), "Database");


const T = {
  cluster: "aws:rds/cluster:Cluster",
  instance: "aws:rds/clusterInstance:ClusterInstance",
  params: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
  subnets: "aws:rds/subnetGroup:SubnetGroup",
  key: "aws:kms/key:Key",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  target: "aws:appautoscaling/target:Target",
  policy: "aws:appautoscaling/policy:Policy",
};

describe("Database (Aurora PostgreSQL Serverless v2)", () => {
  let prod: Run;
  let dev: Run;
  before(async () => {
    prod = await build("prod", argsFor("prod"));
    dev = await build("dev", argsFor("dev"));
  });

  describe("prod", () => {
    it("is Aurora PostgreSQL Serverless v2 at the design's 2-16 ACU", () => {
      const c = one(prod, T.cluster).inputs;
      assert.equal(c.engine, "aurora-postgresql");
      assert.equal(c.engineMode, "provisioned");
      assert.equal(c.engineVersion, "16.6");
      assert.deepEqual(c.serverlessv2ScalingConfiguration, { minCapacity: 2, maxCapacity: 16 });
      assert.equal(c.clusterIdentifier, dbName("prod"));
    });

    it("encrypts storage, Performance Insights and the master secret with the component's own KMS key", () => {
      const key = one(prod, T.key);
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(prod.outputs.kmsKeyArn, `arn:aws:mock:us-east-1:123456789012:Key/${key.name}`);
      const c = one(prod, T.cluster).inputs;
      assert.equal(c.storageEncrypted, true);
      assert.equal(c.kmsKeyId, prod.outputs.kmsKeyArn);
      assert.equal(c.masterUserSecretKmsKeyId, prod.outputs.kmsKeyArn);
      for (const i of ofType(prod, T.instance)) {
        assert.equal(i.inputs.performanceInsightsEnabled, true, i.name);
        assert.equal(i.inputs.performanceInsightsKmsKeyId, prod.outputs.kmsKeyArn, i.name);
        assert.equal(i.inputs.performanceInsightsRetentionPeriod, 7, i.name);
      }
    });

    it("keeps no password in code: RDS manages the master password in Secrets Manager; IAM auth is on", () => {
      const c = one(prod, T.cluster).inputs;
      assert.equal(c.manageMasterUserPassword, true);
      assert.equal(c.masterPassword, undefined);
      assert.equal(c.masterPasswordWo, undefined);
      assert.equal(c.iamDatabaseAuthenticationEnabled, true);
    });

    it("protects production data: deletion protection, 14 days of backups, a final snapshot, tags copied", () => {
      const c = one(prod, T.cluster).inputs;
      assert.equal(c.deletionProtection, true);
      assert.equal(c.backupRetentionPeriod, 14);
      assert.equal(c.skipFinalSnapshot, false);
      assert.equal(c.finalSnapshotIdentifier, `${dbName("prod")}-final`);
      assert.equal(c.copyTagsToSnapshot, true);
    });

    it("exports the PostgreSQL log to a log group it owns, with retention and the logs KMS key", () => {
      const c = one(prod, T.cluster).inputs;
      assert.deepEqual(c.enabledCloudwatchLogsExports, ["postgresql"]);
      const lg = one(prod, T.logGroup).inputs;
      // The exact name RDS writes to, so RDS does not create its own group without retention.
      assert.equal(lg.name, `/aws/rds/cluster/${c.clusterIdentifier}/postgresql`);
      assert.equal(lg.retentionInDays, 365, "prod keeps a year (Pulumi.prod.yaml database.logRetentionDays)");
      assert.equal(lg.kmsKeyId, logsKmsKeyArn);
    });

    it("forces TLS and logs slow statements in a cluster parameter group of the engine's family", () => {
      const pg = one(prod, T.params).inputs;
      assert.equal(pg.family, "aurora-postgresql16");
      const params = pg.parameters as { name: string; value: string }[];
      assert.equal(params.find((p) => p.name === "rds.force_ssl")?.value, "1");
      assert.equal(params.find((p) => p.name === "log_min_duration_statement")?.value, "1000");
      // DDL audit trail (CKV2_AWS_27): every CREATE/ALTER/DROP lands in the exported log.
      assert.equal(params.find((p) => p.name === "log_statement")?.value, "ddl");
      const c = one(prod, T.cluster).inputs;
      assert.equal(c.dbClusterParameterGroupName, one(prod, T.params).name);
    });

    it("every planned parameter value is accepted by a real PostgreSQL (PGlite) where the setting exists there", async () => {
      const { PGlite } = await import("@electric-sql/pglite");
      const db = new PGlite();
      try {
        for (const p of one(prod, T.params).inputs.parameters as { name: string; value: string }[]) {
          if (p.name.startsWith("rds.")) continue; // RDS-only settings
          await db.query(`SET ${p.name} = '${p.value}'`);
          const shown = await db.query<Record<string, string>>(`SHOW ${p.name}`);
          assert.ok(Object.values(shown.rows[0]!)[0], p.name);
        }
        await assert.rejects(db.query("SET log_statement = 'ddl-only'"), /invalid value for parameter "log_statement"/);
      } finally {
        await db.close();
      }
    });

    it("runs a writer and the configured reader, all db.serverless, with PI, enhanced monitoring and promotion tiers", () => {
      const instances = ofType(prod, T.instance);
      assert.equal(instances.length, 2);
      const role = one(prod, T.role);
      for (const i of instances) {
        assert.equal(i.inputs.instanceClass, "db.serverless", i.name);
        assert.equal(i.inputs.engine, "aurora-postgresql", i.name);
        assert.equal(i.inputs.clusterIdentifier, `${dbName("prod")}-cluster-id`, i.name);
        assert.equal(i.inputs.autoMinorVersionUpgrade, true, i.name);
        assert.equal(i.inputs.publiclyAccessible, false, i.name);
        assert.equal(i.inputs.monitoringInterval, 60, i.name);
        assert.equal(i.inputs.monitoringRoleArn, `arn:aws:mock:us-east-1:123456789012:Role/${role.name}`, i.name);
      }
      const tier = (suffix: string) => instances.find((i) => i.name === `${dbName("prod")}-${suffix}`)?.inputs.promotionTier;
      assert.equal(tier("writer"), 0);
      assert.equal(tier("reader-0"), 1);
      assert.match(String(role.inputs.assumeRolePolicy), /monitoring\.rds\.amazonaws\.com/);
      assert.equal(one(prod, T.attachment).inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
    });

    it("scales readers 0-15 on rds:cluster:ReadReplicaCount with target tracking on reader CPU", () => {
      const t = one(prod, T.target).inputs;
      assert.equal(t.serviceNamespace, "rds");
      assert.equal(t.scalableDimension, "rds:cluster:ReadReplicaCount");
      assert.equal(t.resourceId, `cluster:${dbName("prod")}`);
      assert.equal(t.minCapacity, 0);
      assert.equal(t.maxCapacity, 15);
      const p = one(prod, T.policy).inputs;
      assert.equal(p.policyType, "TargetTrackingScaling");
      assert.equal(p.serviceNamespace, "rds");
      assert.equal(p.scalableDimension, "rds:cluster:ReadReplicaCount");
      assert.equal(p.resourceId, t.resourceId);
      assert.deepEqual(p.targetTrackingScalingPolicyConfiguration, {
        predefinedMetricSpecification: { predefinedMetricType: "RDSReaderAverageCPUUtilization" },
        targetValue: 60,
        scaleInCooldown: 600,
        scaleOutCooldown: 120,
      });
    });

    it("admits PostgreSQL only from the client security groups, in private subnets", () => {
      const sg = one(prod, T.sg).inputs;
      assert.equal(sg.ingress, undefined);
      assert.equal(sg.egress, undefined);
      const rules = ofType(prod, T.ingress);
      assert.deepEqual(rules.map((r) => r.inputs.referencedSecurityGroupId).sort(), [...clientSgs].sort());
      for (const r of rules) {
        // The stack's port (not PostgreSQL's default 5432), and only it.
        assert.equal(r.inputs.fromPort, 15432);
        assert.equal(r.inputs.toPort, 15432);
        assert.equal(r.inputs.cidrIpv4, undefined);
        assert.equal(r.inputs.cidrIpv6, undefined);
      }
      const c = one(prod, T.cluster).inputs;
      assert.deepEqual(c.vpcSecurityGroupIds, [`${one(prod, T.sg).name}-id`]);
      assert.deepEqual(one(prod, T.subnets).inputs.subnetIds, ["subnet-private-0", "subnet-private-1", "subnet-private-2"]);
      assert.equal(c.port, argsFor("prod").port);
      assert.equal(c.port, 15432);
    });

    it("exposes the endpoints, port and ids", () => {
      assert.equal(prod.outputs.clusterIdentifier, dbName("prod"));
      assert.equal(prod.outputs.endpoint, `${dbName("prod")}-cluster.cluster.us-east-1.rds.amazonaws.com`);
      assert.equal(prod.outputs.readerEndpoint, `${dbName("prod")}-cluster.cluster-ro.us-east-1.rds.amazonaws.com`);
      assert.equal(prod.outputs.port, 15432);
      assert.equal(prod.outputs.securityGroupId, `${dbName("prod")}-sg-id`);
      assert.equal(prod.secretArnIsOutput, true);
    });

    it("parents every resource to the component", () => {
      const component = prod.resources.find((r) => r.type === "pyairtable:database:Database");
      assert.ok(component);
      for (const r of prod.resources.filter((x) => x.custom)) {
        assert.ok(r.urn.includes("pyairtable:database:Database$"), `${r.type} ${r.name} is not a child of the component`);
      }
    });
  });

  describe("dev", () => {
    it("runs 0.5-4 ACU with only a writer", () => {
      const c = one(dev, T.cluster).inputs;
      assert.deepEqual(c.serverlessv2ScalingConfiguration, { minCapacity: 0.5, maxCapacity: 4 });
      const instances = ofType(dev, T.instance);
      assert.deepEqual(instances.map((i) => i.name), [`${dbName("dev")}-writer`]);
      assert.equal(instances[0]!.inputs.instanceClass, "db.serverless");
    });

    it("skips the final snapshot and deletion protection but keeps encryption, IAM auth and log export", () => {
      const c = one(dev, T.cluster).inputs;
      assert.equal(c.skipFinalSnapshot, true);
      assert.equal(c.finalSnapshotIdentifier, undefined);
      assert.equal(c.deletionProtection, false);
      assert.equal(c.backupRetentionPeriod, 1);
      assert.equal(c.storageEncrypted, true);
      assert.equal(c.iamDatabaseAuthenticationEnabled, true);
      assert.deepEqual(c.enabledCloudwatchLogsExports, ["postgresql"]);
    });

    it("takes the dev replica range from the stack file (0-0: no read replicas in dev)", () => {
      const t = one(dev, T.target).inputs;
      const range = loadStackSettings("dev").database.readReplicaScaling;
      assert.equal(t.minCapacity, range.minReplicas);
      assert.equal(t.maxCapacity, range.maxReplicas);
      assert.equal(t.scalableDimension, "rds:cluster:ReadReplicaCount");
    });
  });

  describe("argument validation (before any child resource)", () => {
    const rejects = async (overrides: Partial<DatabaseArgs>, pattern: RegExp, stack: "prod" | "dev" = "prod", name?: string) => {
      const { error, custom } = await buildFailing(argsFor(stack, overrides), name);
      assert.match(error.message, pattern);
      assert.deepEqual(custom.map((r) => `${r.type} ${r.name}`), [], "no child resource may be registered");
    };
    const prodScaling = () => settingsOf("prod").database.readReplicaScaling;

    it("rejects a replica ceiling above Aurora's 15 replicas", async () => {
      await rejects(
        { readReplicaScaling: { ...prodScaling(), maxReplicas: 16 } },
        /database\.readReplicaScaling\.maxReplicas = 16: must be an integer from 0 to 15 \(Aurora allows 15 replicas per cluster\)/,
      );
      await rejects({ readers: 16 }, /database\.readers = 16: must be an integer from 0 to 15/);
    });

    it("rejects more fixed readers than the autoscaling ceiling (AAS counts them towards maxReplicas)", async () => {
      await rejects(
        { readers: 3, readReplicaScaling: { ...prodScaling(), maxReplicas: 2 } },
        /database\.readers = 3: must not exceed readReplicaScaling\.maxReplicas \(2\): Application Auto Scaling counts these readers/,
      );
    });

    it("accepts the design's prod combination: 1 fixed reader within the 0-15 ceiling", () => {
      assert.equal(auroraMaxReplicas, 15);
      const t = one(prod, T.target).inputs;
      assert.equal(ofType(prod, T.instance).length - 1 <= (t.maxCapacity as number), true);
    });

    it("rejects inverted or out-of-range capacity", async () => {
      await rejects({ maxAcu: 0.5 }, /database\.maxAcu = 0\.5: must be a number from 1 to 256 in steps of 0\.5/);
      await rejects({ minAcu: 8, maxAcu: 4 }, /database\.minAcu = 8: must not exceed maxAcu \(4\)/);
      await rejects({ minAcu: 1.25 }, /database\.minAcu = 1\.25: must be a number from 0 to 256 in steps of 0\.5/);
      await rejects({ minAcu: 0, engineVersion: "16.2" }, /database\.minAcu = 0: automatic pause needs Aurora PostgreSQL .*16\.3/);
      await rejects(
        { readReplicaScaling: { ...prodScaling(), minReplicas: 5, maxReplicas: 3 } },
        /database\.readReplicaScaling\.minReplicas = 5: must not exceed maxReplicas \(3\)/,
      );
    });

    it("rejects unsafe production settings and bad network inputs", async () => {
      await rejects({ deletionProtection: false }, /database\.deletionProtection = false: must be true in prod/);
      await rejects({ subnetIds: ["subnet-a"] }, /database subnetIds has 1 subnet: a DB subnet group needs subnets in at least 2 availability zones/);
      await rejects({ clientSecurityGroupIds: [] }, /database clientSecurityGroupIds is empty/);
      await rejects({ logRetentionDays: 10 }, /database logRetentionDays = 10: must be one of 1, 3, 5, 7, 14, 30/);
      await rejects({ performanceInsightsRetentionDays: 30 }, /database\.performanceInsightsRetentionDays = 30: must be 7 or a multiple of 31/);
      await rejects({ engineVersion: "12.9" }, /database\.engineVersion = "12\.9": must be an Aurora PostgreSQL version/);
      await rejects({ port: 5432 }, /database\.port = 5432: must be an integer from 1150 to 65535 other than 5432 \(the engine's default port, AWS Security Hub RDS\.23\)/);
      await rejects({ port: 80 }, /database\.port = 80: must be an integer from 1150 to 65535/);
      await rejects({}, /Database name = "Bad_Name": must be 2-53 lowercase letters/, "prod", "Bad_Name");
    });
  });
});
