import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { settingsWithSecrets } from "../support/stacks";
import { buildFailing as buildFailingWith, one, ofType } from "../support/components";
import { Streaming, StreamingArgs } from "../../components/streaming";
import { PlatformSettings } from "../../lib/config/settings";
import { PlannedResource, runUnderMocks } from "../../lib/plan/mockRuntime";


function settingsOf(stack: "prod" | "dev"): PlatformSettings {
  return settingsWithSecrets(stack);
}

const logsKmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/logs-key";
const clientSgs = ["sg-eks-nodes", "sg-eks-cluster"];

function argsFor(stack: "prod" | "dev", overrides: Partial<StreamingArgs> = {}): StreamingArgs {
  const s = settingsOf(stack);
  return {
    ...s.streaming,
    environment: s.environment,
    vpcId: "vpc-plan",
    subnetIds: Array.from({ length: s.network.availabilityZones }, (_, i) => `subnet-private-${i}`),
    clientSecurityGroupIds: clientSgs,
    logsKmsKeyArn,
    ...overrides,
  };
}

interface Run {
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** ignoreChanges of each custom resource, by logical name (captured with a stack transformation). */
  ignoreChanges: Map<string, string[]>;
}

async function build(stack: "prod" | "dev", args: StreamingArgs): Promise<Run> {
  const ignoreChanges = new Map<string, string[]>();
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      ignoreChanges.set(t.name, [...(t.opts.ignoreChanges ?? [])]);
      return undefined;
    });
    const kafka = new Streaming(`pyairtable-${stack}-kafka`, args);
    return {
      clusterArn: kafka.clusterArn,
      clusterName: kafka.clusterName,
      bootstrapBrokersTls: kafka.bootstrapBrokersTls,
      bootstrapBrokersSaslIam: kafka.bootstrapBrokersSaslIam,
      securityGroupId: kafka.securityGroupId,
      kmsKeyArn: kafka.kmsKeyArn,
      brokerCount: kafka.brokerCount,
    };
  });
  return { resources: result.resources, outputs: result.outputs, ignoreChanges };
}

const buildFailing = (args: StreamingArgs) => buildFailingWith(() => new Streaming("pyairtable-prod-kafka", args), "Streaming");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

describe("components/streaming (Amazon MSK)", () => {
  let prod: Run;
  let dev: Run;
  before(async () => {
    prod = await build("prod", argsFor("prod"));
    dev = await build("dev", argsFor("dev"));
  });

  describe("prod (design: 3 x kafka.m5.xlarge, storage autoscaling, enhanced monitoring)", () => {
    it("runs 3 kafka.m5.xlarge brokers over the 3 private subnets with 500 GiB each", () => {
      const c = one(prod, "aws:msk/cluster:Cluster").inputs as Any;
      assert.equal(c.numberOfBrokerNodes, 3);
      assert.equal(c.brokerNodeGroupInfo.instanceType, "kafka.m5.xlarge");
      assert.deepEqual(c.brokerNodeGroupInfo.clientSubnets, ["subnet-private-0", "subnet-private-1", "subnet-private-2"]);
      assert.equal(c.brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize, 500);
      assert.equal(c.kafkaVersion, "3.8.x");
      assert.equal(prod.outputs.brokerCount, 3);
    });

    it("encrypts at rest with the component's own rotating KMS key and in transit with TLS only", () => {
      const c = one(prod, "aws:msk/cluster:Cluster").inputs as Any;
      const key = one(prod, "aws:kms/key:Key");
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(c.encryptionInfo.encryptionAtRestKmsKeyArn, prod.outputs.kmsKeyArn);
      assert.match(String(prod.outputs.kmsKeyArn), new RegExp(`/${key.name}$`));
      assert.deepEqual(c.encryptionInfo.encryptionInTransit, { clientBroker: "TLS", inCluster: true });
    });

    it("authenticates clients with IAM only: no unauthenticated access, no SCRAM, no TLS auth without a private CA", () => {
      const auth = (one(prod, "aws:msk/cluster:Cluster").inputs as Any).clientAuthentication;
      assert.deepEqual(auth, { sasl: { iam: true, scram: false }, unauthenticated: false });
    });

    it("admits only the client security groups: 9098 for Kafka, 11001-11002 for Prometheus, nothing from CIDRs", () => {
      const rules = ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs as Any);
      assert.equal(rules.length, 4);
      for (const r of rules) {
        assert.equal(r.cidrIpv4, undefined);
        assert.equal(r.cidrIpv6, undefined);
        assert.ok(clientSgs.includes(r.referencedSecurityGroupId), `unexpected source ${r.referencedSecurityGroupId}`);
        assert.equal(r.securityGroupId, prod.outputs.securityGroupId);
      }
      const ports = rules.map((r) => `${r.fromPort}-${r.toPort}`).sort();
      assert.deepEqual(ports, ["11001-11002", "11001-11002", "9098-9098", "9098-9098"]);
      const sg = one(prod, "aws:ec2/securityGroup:SecurityGroup").inputs as Any;
      assert.equal(sg.ingress, undefined);
      assert.equal(sg.egress, undefined);
      assert.deepEqual((one(prod, "aws:msk/cluster:Cluster").inputs as Any).brokerNodeGroupInfo.securityGroups, [prod.outputs.securityGroupId]);
    });

    it("enables PER_TOPIC_PER_BROKER enhanced monitoring and both Prometheus exporters", () => {
      const c = one(prod, "aws:msk/cluster:Cluster").inputs as Any;
      assert.equal(c.enhancedMonitoring, "PER_TOPIC_PER_BROKER");
      assert.deepEqual(c.openMonitoring, { prometheus: { jmxExporter: { enabledInBroker: true }, nodeExporter: { enabledInBroker: true } } });
    });

    it("ships broker logs to a KMS-encrypted log group kept a year (prod)", () => {
      const group = one(prod, "aws:cloudwatch/logGroup:LogGroup").inputs as Any;
      assert.equal(group.retentionInDays, 365);
      assert.equal(group.kmsKeyId, logsKmsKeyArn);
      const logs = (one(prod, "aws:msk/cluster:Cluster").inputs as Any).loggingInfo.brokerLogs.cloudwatchLogs;
      assert.deepEqual(logs, { enabled: true, logGroup: group.name });
    });

    it("attaches a hardened Kafka configuration (no auto-create, RF 3, min ISR 2, 12 partitions, no unclean election)", () => {
      const cfg = one(prod, "aws:msk/configuration:Configuration");
      const props = Object.fromEntries(
        String((cfg.inputs as Any).serverProperties).trim().split("\n").map((l) => l.split("=") as [string, string]),
      );
      assert.deepEqual(props, {
        "auto.create.topics.enable": "false",
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "num.partitions": "12",
        "unclean.leader.election.enable": "false",
      });
      assert.ok(Number(props["default.replication.factor"]) <= 3, "replication factor must not exceed the brokers");
      assert.deepEqual((cfg.inputs as Any).kafkaVersions, ["3.8.x"]);
      const c = one(prod, "aws:msk/cluster:Cluster").inputs as Any;
      assert.match(c.configurationInfo.arn, new RegExp(`Configuration/${(cfg.inputs as Any).name}$`));
    });

    it("scales broker storage on kafka:broker-storage:VolumeSize from 500 to 2000 GiB at 60%, never in", () => {
      const target = one(prod, "aws:appautoscaling/target:Target").inputs as Any;
      assert.equal(target.serviceNamespace, "kafka");
      assert.equal(target.scalableDimension, "kafka:broker-storage:VolumeSize");
      assert.equal(target.resourceId, prod.outputs.clusterArn);
      assert.equal(target.minCapacity, 500);
      assert.equal(target.maxCapacity, 2000);
      const policy = one(prod, "aws:appautoscaling/policy:Policy").inputs as Any;
      assert.equal(policy.policyType, "TargetTrackingScaling");
      assert.equal(policy.resourceId, prod.outputs.clusterArn);
      assert.equal(policy.scalableDimension, "kafka:broker-storage:VolumeSize");
      assert.deepEqual(policy.targetTrackingScalingPolicyConfiguration, {
        predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
        targetValue: 60,
        disableScaleIn: true,
      });
    });

    it("ignores the broker volume size Application Auto Scaling grows", () => {
      const cluster = one(prod, "aws:msk/cluster:Cluster");
      assert.deepEqual(prod.ignoreChanges.get(cluster.name), ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]);
    });

    it("parents every resource to the component and exports its outputs", () => {
      const component = one(prod, "pyairtable:streaming:Streaming");
      for (const r of prod.resources.filter((x) => x.custom)) assert.equal(r.parent, component.urn, `${r.name} is not parented`);
      assert.equal(prod.outputs.clusterName, "pyairtable-prod-kafka");
      assert.match(String(prod.outputs.bootstrapBrokersSaslIam), /:9098$/);
      assert.ok(typeof prod.outputs.bootstrapBrokersTls === "string");
      assert.ok(prod.outputs.clusterArn);
    });
  });

  describe("dev (design: 3 x kafka.t3.small, basic configuration)", () => {
    it("runs 3 kafka.t3.small brokers with 50 GiB each and DEFAULT monitoring", () => {
      const c = one(dev, "aws:msk/cluster:Cluster").inputs as Any;
      assert.equal(c.numberOfBrokerNodes, 3);
      assert.equal(c.brokerNodeGroupInfo.instanceType, "kafka.t3.small");
      assert.equal(c.brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize, 50);
      assert.equal(c.enhancedMonitoring, "DEFAULT");
      assert.equal(one(dev, "aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays, 7);
    });

    it("keeps the same security: customer key, TLS only, IAM auth", () => {
      const c = one(dev, "aws:msk/cluster:Cluster").inputs as Any;
      assert.equal(c.encryptionInfo.encryptionAtRestKmsKeyArn, dev.outputs.kmsKeyArn);
      assert.deepEqual(c.encryptionInfo.encryptionInTransit, { clientBroker: "TLS", inCluster: true });
      assert.equal(c.clientAuthentication.unauthenticated, false);
      assert.equal(c.clientAuthentication.sasl.iam, true);
    });

    it("has no storage autoscaling and no ignored volume size", () => {
      assert.equal(ofType(dev, "aws:appautoscaling/target:Target").length, 0);
      assert.equal(ofType(dev, "aws:appautoscaling/policy:Policy").length, 0);
      const cluster = one(dev, "aws:msk/cluster:Cluster");
      assert.deepEqual(dev.ignoreChanges.get(cluster.name), []);
    });
  });

  describe("mutual TLS", () => {
    it("enables TLS client auth and opens 9094 only when a private CA is given", async () => {
      const ca = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/plan";
      const run = await build("prod", argsFor("prod", { tlsCertificateAuthorityArns: [ca] }));
      const auth = (one(run, "aws:msk/cluster:Cluster").inputs as Any).clientAuthentication;
      assert.deepEqual(auth, { sasl: { iam: true, scram: false }, tls: { certificateAuthorityArns: [ca] }, unauthenticated: false });
      const tlsRules = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 9094);
      assert.deepEqual(tlsRules.map((r) => r.inputs.referencedSecurityGroupId).sort(), [...clientSgs].sort());
      assert.equal(ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 9094).length, 0);
    });
  });

  describe("invalid arguments fail before any resource is created", () => {
    const cases: Array<[string, Partial<StreamingArgs>, RegExp]> = [
      ["brokers not a multiple of the subnets", { brokers: 4 }, /streaming\.brokers = 4: must be a multiple of the client subnets \(3\)/],
      ["brokers above the design's 6", { brokers: 9 }, /streaming\.brokers = 9: must be an integer from 3 to 6/],
      ["brokers below the design's 3", { brokers: 2, subnetIds: ["a", "b"] }, /streaming\.brokers = 2: must be an integer from 3 to 6/],
      ["a single client subnet", { subnetIds: ["subnet-only"] }, /subnetIds has 1 subnet: MSK needs 2 or 3 client subnets/],
      ["no client security group", { clientSecurityGroupIds: [] }, /clientSecurityGroupIds is empty/],
      ["a storage ceiling not above the initial size", { storageAutoscaling: { maxVolumeSizeGiB: 500, targetUtilizationPercent: 60 } }, /storageAutoscaling\.maxVolumeSizeGiB = 500: must be an integer above volumeSizeGiB \(500\)/],
      ["a storage target out of range", { storageAutoscaling: { maxVolumeSizeGiB: 2000, targetUtilizationPercent: 95 } }, /targetUtilizationPercent = 95: must be an integer from 10 to 80/],
    ];
    for (const [what, overrides, message] of cases) {
      it(`rejects ${what}`, async () => {
        const { error, custom } = await buildFailing(argsFor("prod", overrides));
        assert.match(error.message, message);
        assert.deepEqual(custom.map((r) => r.type), [], "no child resource may be registered");
      });
    }

    it("accepts 6 brokers over 3 subnets and 4 over 2", async () => {
      const six = await build("prod", argsFor("prod", { brokers: 6 }));
      assert.equal((one(six, "aws:msk/cluster:Cluster").inputs as Any).numberOfBrokerNodes, 6);
      const four = await build("prod", argsFor("prod", { brokers: 4, subnetIds: ["subnet-a", "subnet-b"] }));
      assert.equal((one(four, "aws:msk/cluster:Cluster").inputs as Any).numberOfBrokerNodes, 4);
    });
  });
});
