import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { settingsWithSecrets } from "../support/stacks";
import { buildFailing as buildFailingWith, one, ofType } from "../support/components";
import { Cache, CacheArgs, redisPort } from "../../components/cache";
import { CacheSettings, PlatformSettings } from "../../lib/config/settings";
import { PlannedResource, runUnderMocks } from "../../lib/plan/mockRuntime";

const tokenPlaceholder = "plan-placeholder-redis-token-0000";

function settingsOf(stack: "prod" | "dev"): PlatformSettings {
  return settingsWithSecrets(stack, { redisAuthToken: tokenPlaceholder });
}

const logsKmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/logs-key";
const clientSgs = ["sg-eks-nodes", "sg-eks-cluster"];

function argsFor(stack: "prod" | "dev", overrides: Partial<CacheArgs> = {}, settings: Partial<Record<string, unknown>> = {}): CacheArgs {
  const s = settingsOf(stack);
  return {
    settings: { ...s.cache, ...settings } as CacheSettings,
    environment: s.environment,
    vpcId: "vpc-plan",
    subnetIds: ["subnet-private-0", "subnet-private-1", "subnet-private-2"],
    clientSecurityGroupIds: clientSgs,
    // The plain placeholder, as settings hold it: the component must make it secret itself.
    authToken: s.secrets.redisAuthToken,
    logsKmsKeyArn,
    logRetentionDays: 30,
    ...overrides,
  };
}

interface Run {
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** ignoreChanges of each resource, by logical name (captured with a stack transformation). */
  ignoreChanges: Map<string, string[]>;
}

const cacheName = (stack: string) => `pyairtable-${stack}-redis`;

async function build(stack: "prod" | "dev", args: CacheArgs): Promise<Run> {
  const ignoreChanges = new Map<string, string[]>();
  // No maskValues: the placeholder must be masked because it is a Pulumi secret, not because the harness hides it.
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      ignoreChanges.set(t.name, [...(t.opts.ignoreChanges ?? [])]);
      return undefined;
    });
    const cache = new Cache(cacheName(stack), args);
    return {
      replicationGroupId: cache.replicationGroupId,
      endpoint: cache.endpoint,
      port: cache.port,
      securityGroupId: cache.securityGroupId,
      kmsKeyArn: cache.kmsKeyArn,
      nodeCount: cache.nodeCount,
    };
  });
  return { resources: result.resources, outputs: result.outputs, ignoreChanges };
}

const buildFailing = (args: CacheArgs, name = cacheName("prod")) => buildFailingWith(() => new Cache(name, args), "Cache");


const T = {
  group: "aws:elasticache/replicationGroup:ReplicationGroup",
  params: "aws:elasticache/parameterGroup:ParameterGroup",
  subnets: "aws:elasticache/subnetGroup:SubnetGroup",
  key: "aws:kms/key:Key",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  target: "aws:appautoscaling/target:Target",
  policy: "aws:appautoscaling/policy:Policy",
};

describe("Cache (ElastiCache Redis)", () => {
  let prod: Run;
  let dev: Run;
  before(async () => {
    prod = await build("prod", argsFor("prod"));
    dev = await build("dev", argsFor("dev"));
  });

  describe("prod (cluster mode)", () => {
    it("creates 3 shards of 1 primary + 1 replica on cache.r6g.large with Multi-AZ failover", () => {
      const g = one(prod, T.group).inputs;
      assert.equal(g.replicationGroupId, cacheName("prod"));
      assert.equal(g.engine, "redis");
      assert.equal(g.engineVersion, "7.1");
      assert.equal(g.nodeType, "cache.r6g.large");
      assert.equal(g.clusterMode, "enabled");
      assert.equal(g.numNodeGroups, 3);
      assert.equal(g.replicasPerNodeGroup, 1);
      assert.equal(g.numCacheClusters, undefined);
      assert.equal(g.automaticFailoverEnabled, true);
      assert.equal(g.multiAzEnabled, true);
      assert.equal(g.port, redisPort);
      assert.equal(prod.outputs.nodeCount, 6);
    });

    it("encrypts at rest with the component's own KMS key and in transit (TLS required)", () => {
      const key = one(prod, T.key);
      assert.equal(key.inputs.enableKeyRotation, true);
      const g = one(prod, T.group).inputs;
      assert.equal(g.atRestEncryptionEnabled, true);
      assert.equal(g.kmsKeyId, `arn:aws:mock:us-east-1:123456789012:Key/${key.name}`);
      assert.equal(g.kmsKeyId, prod.outputs.kmsKeyArn);
      assert.equal(g.transitEncryptionEnabled, true);
      assert.equal(g.transitEncryptionMode, "required");
    });

    it("passes the AUTH token only as a secret: masked in the recorded inputs, the plaintext nowhere", () => {
      assert.equal(one(prod, T.group).inputs.authToken, "[secret]");
      const everything = JSON.stringify({ resources: prod.resources, outputs: prod.outputs });
      assert.equal(everything.includes(tokenPlaceholder), false, "the AUTH token placeholder leaked in plain text");
    });

    it("sets the eviction policy and cluster mode in a parameter group of the engine's family", () => {
      const pg = one(prod, T.params);
      assert.equal(pg.inputs.family, "redis7");
      assert.deepEqual(pg.inputs.parameters, [
        { name: "maxmemory-policy", value: "allkeys-lru" },
        { name: "cluster-enabled", value: "yes" },
      ]);
      assert.equal(one(prod, T.group).inputs.parameterGroupName, pg.name);
    });

    it("autoscales shards 3-9 on elasticache:replication-group:NodeGroups, tracking memory at 70%", () => {
      const t = one(prod, T.target).inputs;
      assert.equal(t.serviceNamespace, "elasticache");
      assert.equal(t.scalableDimension, "elasticache:replication-group:NodeGroups");
      assert.equal(t.resourceId, `replication-group/${cacheName("prod")}`);
      assert.equal(t.minCapacity, 3);
      assert.equal(t.maxCapacity, 9);
      const p = one(prod, T.policy).inputs;
      assert.equal(p.policyType, "TargetTrackingScaling");
      assert.equal(p.serviceNamespace, "elasticache");
      assert.equal(p.scalableDimension, "elasticache:replication-group:NodeGroups");
      assert.equal(p.resourceId, t.resourceId);
      const cfg = p.targetTrackingScalingPolicyConfiguration as Record<string, unknown>;
      assert.deepEqual(cfg.predefinedMetricSpecification, { predefinedMetricType: "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage" });
      assert.equal(cfg.targetValue, 70);
    });

    it("lets the autoscaler own the shard count (ignoreChanges numNodeGroups)", () => {
      assert.deepEqual(prod.ignoreChanges.get(`${cacheName("prod")}-redis`), ["numNodeGroups"]);
    });

    it("delivers slow and engine logs to CloudWatch log groups with retention and the logs KMS key", () => {
      const groups = ofType(prod, T.logGroup);
      assert.deepEqual(groups.map((g) => g.inputs.name).sort(), [
        `/aws/vendedlogs/elasticache/${cacheName("prod")}/engine-log`,
        `/aws/vendedlogs/elasticache/${cacheName("prod")}/slow-log`,
      ]);
      for (const g of groups) {
        assert.equal(g.inputs.retentionInDays, 30);
        assert.equal(g.inputs.kmsKeyId, logsKmsKeyArn);
      }
      const delivery = one(prod, T.group).inputs.logDeliveryConfigurations as Record<string, string>[];
      assert.deepEqual(delivery.map((d) => [d.logType, d.destinationType, d.destination]).sort(), [
        ["engine-log", "cloudwatch-logs", `/aws/vendedlogs/elasticache/${cacheName("prod")}/engine-log`],
        ["slow-log", "cloudwatch-logs", `/aws/vendedlogs/elasticache/${cacheName("prod")}/slow-log`],
      ]);
    });

    it("keeps 7 days of snapshots, a final snapshot and a maintenance window", () => {
      const g = one(prod, T.group).inputs;
      assert.equal(g.snapshotRetentionLimit, 7);
      assert.equal(g.snapshotWindow, "03:00-04:00");
      assert.equal(g.finalSnapshotIdentifier, `${cacheName("prod")}-final`);
      assert.equal(g.maintenanceWindow, "sun:05:00-sun:06:00");
    });

    it("admits Redis only from the client security groups, in private subnets", () => {
      const sg = one(prod, T.sg).inputs;
      assert.equal(sg.ingress, undefined);
      assert.equal(sg.egress, undefined);
      const rules = ofType(prod, T.ingress);
      assert.deepEqual(rules.map((r) => r.inputs.referencedSecurityGroupId).sort(), [...clientSgs].sort());
      for (const r of rules) {
        assert.equal(r.inputs.fromPort, redisPort);
        assert.equal(r.inputs.toPort, redisPort);
        assert.equal(r.inputs.cidrIpv4, undefined);
      }
      const g = one(prod, T.group).inputs;
      assert.deepEqual(g.securityGroupIds, [prod.outputs.securityGroupId]);
      assert.equal(g.subnetGroupName, one(prod, T.subnets).name);
      assert.deepEqual(one(prod, T.subnets).inputs.subnetIds, ["subnet-private-0", "subnet-private-1", "subnet-private-2"]);
    });

    it("exposes the configuration endpoint and port", () => {
      assert.equal(prod.outputs.replicationGroupId, cacheName("prod"));
      assert.equal(prod.outputs.endpoint, `${cacheName("prod")}-redis.cache.amazonaws.com`);
      assert.equal(prod.outputs.port, 6379);
    });

    it("parents every resource to the component", () => {
      for (const r of prod.resources.filter((x) => x.custom)) {
        assert.ok(r.urn.includes("pyairtable:cache:Cache$"), `${r.type} ${r.name} is not a child of the component`);
      }
    });
  });

  describe("dev (single node)", () => {
    it("is one cache.t3.micro node without failover", () => {
      const g = one(dev, T.group).inputs;
      assert.equal(g.nodeType, "cache.t3.micro");
      assert.equal(g.clusterMode, "disabled");
      assert.equal(g.numCacheClusters, 1);
      assert.equal(g.numNodeGroups, undefined);
      assert.equal(g.replicasPerNodeGroup, undefined);
      assert.equal(g.automaticFailoverEnabled, false);
      assert.equal(g.multiAzEnabled, false);
      assert.equal(dev.outputs.nodeCount, 1);
      assert.equal(dev.outputs.endpoint, `${cacheName("dev")}-redis.cache.amazonaws.com`);
    });

    it("has no Application Auto Scaling and no ignoreChanges", () => {
      assert.equal(ofType(dev, T.target).length, 0);
      assert.equal(ofType(dev, T.policy).length, 0);
      assert.deepEqual(dev.ignoreChanges.get(`${cacheName("dev")}-redis`), []);
    });

    it("keeps encryption, the secret AUTH token and the eviction policy; no cluster-enabled parameter", () => {
      const g = one(dev, T.group).inputs;
      assert.equal(g.atRestEncryptionEnabled, true);
      assert.equal(g.kmsKeyId, dev.outputs.kmsKeyArn);
      assert.equal(g.transitEncryptionEnabled, true);
      assert.equal(g.authToken, "[secret]");
      assert.equal(JSON.stringify(dev.resources).includes(tokenPlaceholder), false);
      assert.deepEqual(one(dev, T.params).inputs.parameters, [{ name: "maxmemory-policy", value: "allkeys-lru" }]);
    });

    it("turns snapshots off (retention 0) without a final snapshot", () => {
      const g = one(dev, T.group).inputs;
      assert.equal(g.snapshotRetentionLimit, 0);
      assert.equal(g.finalSnapshotIdentifier, undefined);
      assert.equal(g.snapshotWindow, undefined);
    });
  });

  describe("argument validation (before any child resource)", () => {
    const rejects = async (args: CacheArgs, pattern: RegExp, name?: string) => {
      const { error, custom } = await buildFailing(args, name);
      assert.match(error.message, pattern);
      assert.equal(error.message.includes(tokenPlaceholder), false, "the error message must not echo the token");
      assert.deepEqual(custom.map((r) => `${r.type} ${r.name}`), [], "no child resource may be registered");
    };

    it("rejects node types shard autoscaling cannot use in cluster mode", async () => {
      await rejects(argsFor("prod", {}, { nodeType: "cache.t3.micro" }), /cache\.nodeType = "cache\.t3\.micro": shard autoscaling on memory supports the r7g, r6g/);
      await rejects(argsFor("prod", {}, { nodeType: "cache.r6gd.xlarge" }), /cache\.nodeType = "cache\.r6gd\.xlarge"/);
      await rejects(argsFor("prod", {}, { nodeType: "cache.r6g.4xlarge" }), /large, xlarge, 2xlarge sizes only/);
    });

    it("rejects shard settings outside the design or AWS ranges", async () => {
      await rejects(argsFor("prod", {}, { shards: 10, maxShards: 12 }), /cache\.maxShards = 12: must be an integer from 3 to 9/);
      await rejects(argsFor("prod", {}, { shards: 2 }), /cache\.shards = 2: must be an integer between minShards \(3\) and maxShards \(9\)/);
      await rejects(argsFor("prod", {}, { replicasPerShard: 0 }), /cache\.replicasPerShard = 0: .*Multi-AZ automatic failover needs a replica per shard/);
      await rejects(argsFor("prod", {}, { targetMemoryPercent: 80 }), /cache\.targetMemoryPercent = 80: must be an integer from 35 to 70/);
      await rejects(argsFor("prod", { subnetIds: ["subnet-a"] }), /cluster mode with Multi-AZ needs subnets in at least 2 availability zones/);
    });

    it("rejects engine versions without engine-log delivery and T2 nodes", async () => {
      await rejects(argsFor("dev", {}, { engineVersion: "6.0" }), /cache\.engineVersion = "6\.0": must be a Redis OSS version from 6\.2/);
      await rejects(argsFor("dev", {}, { nodeType: "cache.t2.micro" }), /cache\.nodeType = "cache\.t2\.micro": ElastiCache no longer creates clusters on previous-generation T1\/T2 nodes/);
    });

    it("rejects an AUTH token that breaks ElastiCache rules without echoing it", async () => {
      await rejects(argsFor("dev", { authToken: "short@token" }), /cache authToken: must be 16-128 printable characters without spaces, ", \/ or @/);
      await rejects(argsFor("dev", { authToken: `${tokenPlaceholder} with spaces` }), /cache authToken: must be 16-128 printable characters/);
    });

    it("makes an AUTH token that is already an Output secret too", async () => {
      const run = await build("dev", argsFor("dev", { authToken: pulumi.output(tokenPlaceholder) }));
      assert.equal(one(run, T.group).inputs.authToken, "[secret]");
      assert.equal(JSON.stringify(run.resources).includes(tokenPlaceholder), false);
    });

    it("rejects missing clients, bad names and bad retention", async () => {
      await rejects(argsFor("prod", { clientSecurityGroupIds: [] }), /cache clientSecurityGroupIds is empty/);
      await rejects(argsFor("prod", { logRetentionDays: 10 }), /cache logRetentionDays = 10: must be one of 1, 3, 5, 7, 14, 30/);
      await rejects(argsFor("prod"), /Cache name = "pyairtable-production-redis-cluster-cache-01": must be 1-40 lowercase letters/, "pyairtable-production-redis-cluster-cache-01");
    });
  });
});
