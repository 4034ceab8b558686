import assert from "node:assert/strict";
import { settingsWithSecrets } from "../support/stacks";
import { buildFailing as buildFailingWith, one, ofType } from "../support/components";
import { openSearchTlsPolicy, Search, SearchArgs } from "../../components/search";
import { PlatformSettings } from "../../lib/config/settings";
import { PlannedResource, runUnderMocks } from "../../lib/plan/mockRuntime";

const account = "123456789012";

function settingsOf(stack: "prod" | "dev"): PlatformSettings {
  return settingsWithSecrets(stack);
}

const logsKmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/logs-key";
const clientSgs = ["sg-eks-nodes"];

function argsFor(stack: "prod" | "dev", overrides: Partial<SearchArgs> = {}): SearchArgs {
  const s = settingsOf(stack);
  return {
    ...s.search,
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
  unknownInvokes: string[];
}

async function build(stack: "prod" | "dev", args: SearchArgs): Promise<Run> {
  return runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    const search = new Search(`pyairtable-${stack}-search`, args);
    return {
      domainName: search.domainName,
      domainArn: search.domainArn,
      endpoint: search.endpoint,
      securityGroupId: search.securityGroupId,
      kmsKeyArn: search.kmsKeyArn,
      adminRoleArn: search.adminRoleArn,
      dataNodeCount: search.dataNodeCount,
      masterNodeCount: search.masterNodeCount,
    };
  });
}

const buildFailing = (args: SearchArgs) => buildFailingWith(() => new Search("pyairtable-prod-search", args), "Search");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const domainOf = (run: Run) => one(run, "aws:opensearch/domain:Domain").inputs as Any;

describe("components/search (Amazon OpenSearch Service)", () => {
  let prod: Run;
  let dev: Run;
  before(async () => {
    prod = await build("prod", argsFor("prod"));
    dev = await build("dev", argsFor("dev"));
  });

  describe("prod (design: 3 x t3.medium.search with dedicated masters, multi-AZ)", () => {
    it("runs 3 t3.medium.search data nodes and 3 dedicated masters over 3 zones", () => {
      const c = domainOf(prod).clusterConfig;
      assert.equal(c.instanceType, "t3.medium.search");
      assert.equal(c.instanceCount, 3);
      assert.equal(c.dedicatedMasterEnabled, true);
      assert.equal(c.dedicatedMasterType, "m6g.large.search");
      assert.equal(c.dedicatedMasterCount, 3);
      assert.equal(c.zoneAwarenessEnabled, true);
      assert.deepEqual(c.zoneAwarenessConfig, { availabilityZoneCount: 3 });
      assert.equal(c.warmEnabled, false);
      assert.equal(prod.outputs.dataNodeCount, 3);
      assert.equal(prod.outputs.masterNodeCount, 3);
      assert.equal(domainOf(prod).engineVersion, "OpenSearch_2.17");
    });

    it("places the domain in exactly one private subnet per zone behind its own security group", () => {
      const vpc = domainOf(prod).vpcOptions;
      assert.deepEqual(vpc.subnetIds, ["subnet-private-0", "subnet-private-1", "subnet-private-2"]);
      assert.deepEqual(vpc.securityGroupIds, [prod.outputs.securityGroupId]);
    });

    it("encrypts at rest with the component's own rotating KMS key, node to node, and HTTPS with TLS 1.2 PFS", () => {
      const d = domainOf(prod);
      const key = one(prod, "aws:kms/key:Key");
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.deepEqual(d.encryptAtRest, { enabled: true, kmsKeyId: prod.outputs.kmsKeyArn });
      assert.match(String(prod.outputs.kmsKeyArn), new RegExp(`/${key.name}$`));
      assert.deepEqual(d.nodeToNodeEncryption, { enabled: true });
      assert.deepEqual(d.domainEndpointOptions, { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" });
      assert.equal(openSearchTlsPolicy, "Policy-Min-TLS-1-2-PFS-2023-10");
    });

    it("stores data on gp3 volumes of 100 GiB with 3000 IOPS and 125 MiB/s", () => {
      assert.deepEqual(domainOf(prod).ebsOptions, { ebsEnabled: true, volumeType: "gp3", volumeSize: 100, iops: 3000, throughput: 125 });
    });

    it("enforces fine-grained access control with an IAM administrators' role as master user", () => {
      const sec = domainOf(prod).advancedSecurityOptions;
      assert.equal(sec.enabled, true);
      assert.equal(sec.internalUserDatabaseEnabled, false);
      assert.equal(sec.anonymousAuthEnabled, false);
      const role = one(prod, "aws:iam/role:Role");
      assert.equal(sec.masterUserOptions.masterUserArn, prod.outputs.adminRoleArn);
      assert.match(String(prod.outputs.adminRoleArn), new RegExp(`/${role.name}$`));
      assert.equal(sec.masterUserOptions.masterUserPassword, undefined);
      const trust = JSON.parse(role.inputs.assumeRolePolicy as string);
      assert.deepEqual(trust.Statement[0].Principal, { AWS: `arn:aws:iam::${account}:root` });
    });

    it("limits the access policy to the account and this domain", () => {
      const policy = JSON.parse(domainOf(prod).accessPolicies);
      assert.equal(policy.Statement.length, 1);
      assert.deepEqual(policy.Statement[0].Principal, { AWS: `arn:aws:iam::${account}:root` });
      assert.equal(policy.Statement[0].Resource, `arn:aws:es:us-east-1:${account}:domain/pyairtable-prod-search/*`);
      // The HTTP API verbs only: no es:* (which would include the configuration API).
      assert.deepEqual([...policy.Statement[0].Action].sort(), ["es:ESHttpDelete", "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPatch", "es:ESHttpPost", "es:ESHttpPut"]);
    });

    it("publishes slow, application and audit logs to KMS-encrypted groups that only this domain may write", () => {
      const groups = ofType(prod, "aws:cloudwatch/logGroup:LogGroup");
      assert.equal(groups.length, 4);
      for (const g of groups) {
        assert.equal(g.inputs.retentionInDays, 365, "prod keeps OpenSearch audit and service logs a year");
        assert.equal(g.inputs.kmsKeyId, logsKmsKeyArn);
      }
      const published = domainOf(prod).logPublishingOptions as Array<{ logType: string; cloudwatchLogGroupArn: string; enabled: boolean }>;
      assert.deepEqual(published.map((p) => p.logType).sort(), ["AUDIT_LOGS", "ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"]);
      assert.ok(published.every((p) => p.enabled));
      const groupArns = groups.map((g) => `arn:aws:mock:us-east-1:${account}:LogGroup/${g.inputs.name}`);
      assert.deepEqual(published.map((p) => p.cloudwatchLogGroupArn).sort(), [...groupArns].sort());

      const resourcePolicy = JSON.parse(one(prod, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy").inputs.policyDocument as string);
      const st = resourcePolicy.Statement[0];
      assert.deepEqual(st.Principal, { Service: "es.amazonaws.com" });
      assert.deepEqual([...st.Action].sort(), ["logs:CreateLogStream", "logs:PutLogEvents"]);
      assert.deepEqual([...st.Resource].sort(), groupArns.map((a) => `${a}:*`).sort());
      assert.equal(st.Condition.StringEquals["aws:SourceAccount"], account);
      assert.equal(st.Condition.ArnLike["aws:SourceArn"], `arn:aws:es:us-east-1:${account}:domain/pyairtable-prod-search`);
    });

    it("admits only the client security groups, on 443", () => {
      const rules = ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs as Any);
      assert.equal(rules.length, 1);
      assert.deepEqual(
        { from: rules[0].fromPort, to: rules[0].toPort, source: rules[0].referencedSecurityGroupId, cidr: rules[0].cidrIpv4, sg: rules[0].securityGroupId },
        { from: 443, to: 443, source: "sg-eks-nodes", cidr: undefined, sg: prod.outputs.securityGroupId },
      );
      const sg = one(prod, "aws:ec2/securityGroup:SecurityGroup").inputs as Any;
      assert.equal(sg.ingress, undefined);
    });

    it("skips Auto-Tune on T3 data nodes and turns on automatic software updates", () => {
      assert.equal(domainOf(prod).autoTuneOptions, undefined);
      assert.deepEqual(domainOf(prod).softwareUpdateOptions, { autoSoftwareUpdateEnabled: true });
      assert.equal(domainOf(prod).offPeakWindowOptions.enabled, true);
    });

    it("parents every resource to the component and answers every lookup", () => {
      const component = one(prod, "pyairtable:search:Search");
      for (const r of prod.resources.filter((x) => x.custom)) assert.equal(r.parent, component.urn, `${r.name} is not parented`);
      assert.deepEqual(prod.unknownInvokes, []);
      assert.equal(prod.outputs.domainName, "pyairtable-prod-search");
      assert.match(String(prod.outputs.endpoint), /^vpc-/);
      assert.ok(prod.outputs.domainArn);
    });
  });

  describe("dev (design: 1 x t3.small.search)", () => {
    it("runs one t3.small.search node without masters, zone awareness or warm tier, in one subnet", () => {
      const d = domainOf(dev);
      assert.equal(d.clusterConfig.instanceType, "t3.small.search");
      assert.equal(d.clusterConfig.instanceCount, 1);
      assert.equal(d.clusterConfig.dedicatedMasterEnabled, false);
      assert.equal(d.clusterConfig.dedicatedMasterCount, undefined);
      assert.equal(d.clusterConfig.zoneAwarenessEnabled, false);
      assert.equal(d.clusterConfig.zoneAwarenessConfig, undefined);
      assert.equal(d.clusterConfig.warmEnabled, false);
      assert.deepEqual(d.vpcOptions.subnetIds, ["subnet-private-0"]);
      assert.equal(dev.outputs.dataNodeCount, 1);
      assert.equal(dev.outputs.masterNodeCount, 0);
    });

    it("keeps encryption, HTTPS and fine-grained access control on; gp3 20 GiB; 7-day logs", () => {
      const d = domainOf(dev);
      assert.deepEqual(d.encryptAtRest, { enabled: true, kmsKeyId: dev.outputs.kmsKeyArn });
      assert.deepEqual(d.nodeToNodeEncryption, { enabled: true });
      assert.equal(d.domainEndpointOptions.enforceHttps, true);
      assert.equal(d.advancedSecurityOptions.enabled, true);
      assert.equal(d.ebsOptions.volumeType, "gp3");
      assert.equal(d.ebsOptions.volumeSize, 20);
      assert.ok(ofType(dev, "aws:cloudwatch/logGroup:LogGroup").every((g) => g.inputs.retentionInDays === 7));
      assert.equal(d.autoTuneOptions, undefined);
    });
  });

  describe("non-burstable data nodes with a warm tier", () => {
    it("enables UltraWarm and Auto-Tune when the data nodes support them", async () => {
      const run = await build("prod", argsFor("prod", { dataInstanceType: "r6g.large.search", warm: { instanceType: "ultrawarm1.medium.search", count: 2 } }));
      const d = domainOf(run);
      assert.equal(d.clusterConfig.warmEnabled, true);
      assert.equal(d.clusterConfig.warmType, "ultrawarm1.medium.search");
      assert.equal(d.clusterConfig.warmCount, 2);
      assert.equal(d.autoTuneOptions.desiredState, "ENABLED");
      assert.equal(d.autoTuneOptions.useOffPeakWindow, true);
    });
  });

  describe("invalid arguments fail before any resource is created", () => {
    const warm = { instanceType: "ultrawarm1.medium.search" as const, count: 2 };
    const cases: Array<[string, Partial<SearchArgs>, RegExp]> = [
      ["a warm tier with t3 data nodes", { warm }, /search\.warm = .*UltraWarm is not available with T2\/T3 data nodes \(search\.dataInstanceType = "t3\.medium\.search"\)/],
      ["a warm tier without dedicated masters", { warm, dataInstanceType: "r6g.large.search", dedicatedMasters: null }, /search\.warm = .*UltraWarm requires dedicated master nodes \(search\.dedicatedMasters = null\)/],
      ["data nodes not a multiple of the zones", { dataNodes: 4 }, /search\.dataNodes = 4: must be a multiple of zoneAwarenessAzs \(3\)/],
      ["more data nodes than the design's 6", { dataNodes: 9 }, /search\.dataNodes = 9: must be an integer from 1 to 6/],
      ["no data nodes", { dataNodes: 0, zoneAwarenessAzs: null }, /search\.dataNodes = 0: must be an integer from 1 to 6/],
      ["fewer subnets than zones", { subnetIds: ["subnet-a", "subnet-b"] }, /subnetIds has 2 subnets: zoneAwarenessAzs = 3 needs 3/],
      ["no client security group", { clientSecurityGroupIds: [] }, /clientSecurityGroupIds is empty/],
      ["a domain name OpenSearch rejects", { domainName: "PyAirtable_Search" }, /search domainName = "PyAirtable_Search": must be 3-28 lowercase letters/],
    ];
    for (const [what, overrides, message] of cases) {
      it(`rejects ${what}`, async () => {
        const { error, custom } = await buildFailing(argsFor("prod", overrides));
        assert.match(error.message, message);
        assert.deepEqual(custom.map((r) => r.type), [], "no child resource may be registered");
      });
    }
  });
});
