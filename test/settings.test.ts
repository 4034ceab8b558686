import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { parseSettings, SettingsError, settingsKeys, settingsWarnings, type RawConfig } from "../lib/config/settings";
import { rawConfigFromRuntimeConfig } from "../lib/config/load";
import { offlineStackConfig } from "../lib/plan/stackConfig";
import { serviceNames } from "../lib/catalog/services";
import { loadStackSettings, repoRoot, stacks } from "./support/stacks";

/** The raw config of a shipped stack, for mutation. */
function rawOf(stack: string): RawConfig {
  const offline = offlineStackConfig(repoRoot, stack);
  return rawConfigFromRuntimeConfig(offline.config, new Set(offline.secretKeys));
}

function withChange(stack: string, change: (values: Record<string, any>) => void, secretKeys?: Set<string>): RawConfig {
  const raw = rawOf(stack);
  const values = structuredClone(raw.values) as Record<string, any>;
  change(values);
  return { values, secretKeys: secretKeys ?? new Set(raw.secretKeys) };
}

function problemsOf(stack: string, raw: RawConfig): string[] {
  try {
    parseSettings(stack, raw);
  } catch (e) {
    assert.ok(e instanceof SettingsError, `expected SettingsError, got ${e}`);
    return e.message.split("\n").slice(1).map((l) => l.replace(/^\s+- /, ""));
  }
  assert.fail("expected the settings to be rejected");
}

describe("settings schema", () => {
  for (const stack of stacks) {
    it(`accepts the shipped ${stack} stack`, () => {
      const s = loadStackSettings(stack);
      assert.equal(s.environment, stack);
      assert.deepEqual(Object.keys(s.services).sort(), [...serviceNames].sort());
    });
  }

  it("carries the design's production numbers", () => {
    const s = loadStackSettings("prod");
    assert.equal(s.network.availabilityZones, 3);
    assert.equal(s.network.natGateways, "one-per-az");
    assert.deepEqual([s.cluster.systemNodeGroup.instanceTypes, s.cluster.systemNodeGroup.desiredSize, s.cluster.systemNodeGroup.capacityType], [["m5.large"], 3, "ON_DEMAND"]);
    assert.equal(s.cluster.expectedSpotNodes, 6);
    assert.ok(s.cluster.spotInstanceTypes.length >= 4);
    assert.deepEqual([s.cluster.workloadClasses.batch.spotPercent, s.cluster.workloadClasses.api.spotPercent, s.cluster.workloadClasses.data.spotPercent], [90, 30, 0]);
    assert.deepEqual([s.database.minAcu, s.database.maxAcu, s.database.readReplicaScaling.minReplicas, s.database.readReplicaScaling.maxReplicas], [2, 16, 0, 15]);
    assert.ok(s.cache.mode === "cluster");
    assert.deepEqual([s.cache.nodeType, s.cache.shards, s.cache.minShards, s.cache.maxShards], ["cache.r6g.large", 3, 3, 9]);
    assert.deepEqual([s.streaming.brokerInstanceType, s.streaming.brokers], ["kafka.m5.xlarge", 3]);
    assert.deepEqual([s.search.dataInstanceType, s.search.dataNodes], ["t3.medium.search", 3]);
    assert.deepEqual([s.budgets.dailyUsd, s.budgets.weeklyUsd, s.budgets.monthlyUsd, s.budgets.warningPercent, s.budgets.emergencyPercent], [500, 3000, 12000, 80, 95]);
    assert.deepEqual([s.schedules.timezone, s.schedules.businessHours.start, s.schedules.businessHours.end], ["UTC", "08:00", "18:00"]);
    assert.deepEqual(s.services["api-gateway"], { minReplicas: 2, maxReplicas: 25 });
    assert.deepEqual(s.services["automation"], { minReplicas: 0, maxReplicas: 20 });
  });

  it("carries the design's development numbers", () => {
    const s = loadStackSettings("dev");
    assert.deepEqual([s.cluster.systemNodeGroup.instanceTypes[0], s.cluster.systemNodeGroup.desiredSize, s.cluster.systemNodeGroup.capacityType], ["t3.medium", 2, "SPOT"]);
    assert.deepEqual([s.database.minAcu, s.database.maxAcu], [0.5, 4]);
    assert.deepEqual([s.cache.mode, s.cache.nodeType], ["single-node", "cache.t3.micro"]);
    assert.deepEqual([s.streaming.brokerInstanceType, s.streaming.brokers], ["kafka.t3.small", 3]);
    assert.deepEqual([s.search.dataInstanceType, s.search.dataNodes], ["t3.small.search", 1]);
    assert.equal(s.network.natGateways, "single");
    assert.ok(s.budgets.monthlyUsd < 12000);
  });

  it("accepts digest-pinned images (tag@sha256 and @sha256) and, in dev only, an @latest AMI", () => {
    const d = "0123456789abcdef".repeat(4);
    assert.equal(parseSettings("prod", withChange("prod", (v) => (v.automation.image = `ghcr.io/pyairtable/autoscaling-automation:0.1.0@sha256:${d}`))).automation.image.endsWith(d), true);
    assert.equal(parseSettings("prod", withChange("prod", (v) => (v.automation.image = `ghcr.io/pyairtable/autoscaling-automation@sha256:${d}`))).automation.image.endsWith(d), true);
    assert.equal(parseSettings("dev", withChange("dev", (v) => (v.cluster.amiAlias = "al2023@latest"))).cluster.amiAlias, "al2023@latest");
    assert.equal(loadStackSettings("prod").cluster.amiAlias, "al2023@v20260714");
  });

  describe("rejects bad configuration with a message naming key, value and what is allowed", () => {
    const cases: Array<{ what: string; stack?: string; change: (v: Record<string, any>) => void; expect: RegExp }> = [
      { what: "an out-of-range integer", change: (v) => (v.cache.maxShards = 12), expect: /^autoscaling:cache\.maxShards = 12: must be an integer from 3 to 9$/ },
      { what: "a wrong type", change: (v) => (v.database.maxAcu = "sixteen"), expect: /^autoscaling:database\.maxAcu = "sixteen": must be a number from 0\.5 to 256 in steps of 0\.5$/ },
      { what: "an ACU off the 0.5 grid", change: (v) => (v.database.minAcu = 0.7), expect: /^autoscaling:database\.minAcu = 0\.7: must be a number from 0 to 256 in steps of 0\.5$/ },
      { what: "a missing required section", change: (v) => delete v.budgets, expect: /^autoscaling:budgets is missing: must be an object/ },
      { what: "a missing required field", change: (v) => delete v.streaming.brokers, expect: /^autoscaling:streaming\.brokers is missing: must be an integer from 3 to 6$/ },
      { what: "an unknown field (typo)", change: (v) => (v.network.natGateway = "single"), expect: /^autoscaling:network\.natGateway = "single": unknown setting \(allowed: cidrBlock, availabilityZones, natGateways, flowLogRetentionDays, dataStoreAccess, interfaceEndpoints\)$/ },
      { what: "an unknown top-level key", change: (v) => (v.clusterr = {}), expect: /^autoscaling:clusterr = \{\}: unknown setting \(known: environment, network/ },
      { what: "a bad enum value", change: (v) => (v.network.natGateways = "two"), expect: /^autoscaling:network\.natGateways = "two": must be one of one-per-az, single$/ },
      { what: "a bad CIDR", change: (v) => (v.network.cidrBlock = "10.40.0.0/33"), expect: /^autoscaling:network\.cidrBlock = "10\.40\.0\.0\/33": must be an IPv4 CIDR block/ },
      { what: "too few spot instance types", change: (v) => (v.cluster.spotInstanceTypes = ["m5.large", "m5a.large"]), expect: /^autoscaling:cluster\.spotInstanceTypes = \["m5\.large","m5a\.large"\]: must be a list of at least 4 EC2 instance types$/ },
      { what: "spot for data workloads", change: (v) => (v.cluster.workloadClasses.data.spotPercent = 10), expect: /^autoscaling:cluster\.workloadClasses\.data\.spotPercent = 10: must be 0: data and database workloads never run on spot capacity$/ },
      { what: "a node ceiling below the pools' limits", change: (v) => (v.cluster.maxNodes = 20), expect: /^autoscaling:cluster\.maxNodes = 20: must be at least 36/ },
      { what: "min above max (ACU)", change: (v) => (v.database.minAcu = 20), expect: /^autoscaling:database\.minAcu = 20: must not exceed maxAcu \(16\)$/ },
      { what: "min above max (service replicas)", change: (v) => (v.services["api-gateway"].minReplicas = 30), expect: /^autoscaling:services\.api-gateway\.minReplicas = 30: must not exceed maxReplicas \(25\)$/ },
      { what: "an unknown service", change: (v) => (v.services["billing"] = { minReplicas: 1, maxReplicas: 2 }), expect: /^autoscaling:services\.billing = .*: unknown service \(known: api-gateway,/ },
      { what: "a service without a range", change: (v) => delete v.services["webhooks"], expect: /^autoscaling:services\.webhooks is missing: is required: every service in the catalog needs a replica range$/ },
      { what: "brokers not a multiple of the AZs", change: (v) => (v.streaming.brokers = 4), expect: /^autoscaling:streaming\.brokers = 4: must be a multiple of network\.availabilityZones \(3\)/ },
      { what: "UltraWarm on T3 data nodes", change: (v) => (v.search.warm = { instanceType: "ultrawarm1.medium.search", count: 2 }), expect: /^autoscaling:search\.warm = .*: must be null: UltraWarm is not available with T2\/T3 data nodes \(t3\.medium\.search\)$/ },
      { what: "flow logs kept less than a year in prod", change: (v) => (v.network.flowLogRetentionDays = 90), expect: /^autoscaling:network\.flowLogRetentionDays = 90: must be at least 365 in prod/ },
      { what: "EKS audit logs kept less than a year in prod", change: (v) => (v.cluster.logRetentionDays = 180), expect: /^autoscaling:cluster\.logRetentionDays = 180: must be at least 365 in prod/ },
      { what: "OpenSearch audit logs kept less than a year in prod", change: (v) => (v.search.logRetentionDays = 30), expect: /^autoscaling:search\.logRetentionDays = 30: must be at least 365 in prod/ },
      { what: "PostgreSQL log kept less than a year in prod", change: (v) => (v.database.logRetentionDays = 90), expect: /^autoscaling:database\.logRetentionDays = 90: must be at least 365 in prod/ },
      { what: "a retention CloudWatch does not offer", change: (v) => (v.cache.logRetentionDays = 366), expect: /^autoscaling:cache\.logRetentionDays = 366: must be one of 1, 3, 5/ },
      { what: "data stores open to every node in prod", change: (v) => (v.network.dataStoreAccess = "cluster-security-group"), expect: /^autoscaling:network\.dataStoreAccess = "cluster-security-group": must be pod-security-groups in prod/ },
      { what: "a bad data-store access mode", change: (v) => (v.network.dataStoreAccess = "open"), expect: /^autoscaling:network\.dataStoreAccess = "open": must be one of pod-security-groups, cluster-security-group$/ },
      { what: "a t3 node type with security groups for pods", change: (v) => (v.cluster.onDemandInstanceTypes = ["m5.large", "t3.large"]), expect: /^autoscaling:cluster\.onDemandInstanceTypes = \["m5\.large","t3\.large"\]: t3\.large: no trunk ENI \(security groups for pods need Nitro instance types/ },
      { what: "an instance type the trunk table does not know", change: (v) => (v.cluster.systemNodeGroup.instanceTypes = ["m99.large"]), expect: /^autoscaling:cluster\.systemNodeGroup\.instanceTypes = \["m99\.large"\]: m99\.large: no trunk ENI/ },
      { what: "an @latest AMI in prod", change: (v) => (v.cluster.amiAlias = "al2023@latest"), expect: /^autoscaling:cluster\.amiAlias = "al2023@latest": must name a dated AMI release in prod/ },
      { what: "a latest automation image in prod", change: (v) => (v.automation.image = "ghcr.io/pyairtable/autoscaling-automation:latest"), expect: /^autoscaling:automation\.image = "ghcr\.io\/pyairtable\/autoscaling-automation:latest": must not use the latest tag in prod/ },
      { what: "a malformed digest", change: (v) => (v.automation.image = "ghcr.io/pyairtable/autoscaling-automation:0.1.0@sha256:abc"), expect: /^autoscaling:automation\.image = .*: must be a container image reference pinned by tag or digest/ },
      { what: "Aurora on PostgreSQL's default port", change: (v) => (v.database.port = 5432), expect: /^autoscaling:database\.port = 5432: must not be 5432, the engine's default port \(AWS Security Hub RDS\.23\): pick another port from 1150 to 65535$/ },
      { what: "Aurora on a port RDS does not allow", change: (v) => (v.database.port = 1024), expect: /^autoscaling:database\.port = 1024: must be an integer from 1150 to 65535 other than 5432/ },
      { what: "deletion protection off in prod", change: (v) => (v.database.deletionProtection = false), expect: /^autoscaling:database\.deletionProtection = false: must be true in prod$/ },
      { what: "warning at or above emergency", change: (v) => (v.budgets.warningPercent = 95), expect: /^autoscaling:budgets\.warningPercent = 95: must be below emergencyPercent \(95\)$/ },
      { what: "an unknown time zone", change: (v) => (v.schedules.timezone = "Mars/Olympus"), expect: /^autoscaling:schedules\.timezone = "Mars\/Olympus": must be an IANA time zone/ },
      { what: "business hours ending before they start", change: (v) => (v.schedules.businessHours.end = "07:00"), expect: /^autoscaling:schedules\.businessHours\.end = "07:00": must be after start \(08:00\)$/ },
      { what: "cluster-mode fields on a single node", stack: "dev", change: (v) => (v.cache.maxShards = 9), expect: /^autoscaling:cache\.maxShards = 9: unknown setting \(allowed: mode, nodeType, engineVersion, maxmemoryPolicy, snapshotRetentionDays, logRetentionDays\)$/ },
    ];
    for (const c of cases) {
      it(c.what, () => {
        const problems = problemsOf(c.stack ?? "prod", withChange(c.stack ?? "prod", c.change));
        assert.ok(problems.some((p) => c.expect.test(p)), `no problem matched ${c.expect}; got:\n${problems.join("\n")}`);
      });
    }

    it("reports every problem at once", () => {
      const problems = problemsOf("prod", withChange("prod", (v) => {
        v.cache.maxShards = 12;
        v.streaming.brokers = 9;
      }));
      assert.equal(problems.length, 2, problems.join("\n"));
    });
  });

  describe("secrets", () => {
    it("requires each secret key", () => {
      const raw = withChange("prod", (v) => delete v.slackWebhookUrl);
      const problems = problemsOf("prod", raw);
      assert.ok(problems.includes("autoscaling:slackWebhookUrl is missing: is required: set it with `pulumi config set --secret slackWebhookUrl <value>`"), problems.join("\n"));
    });

    it("rejects a secret stored in plain text without echoing it", () => {
      const raw = rawOf("prod");
      const secretKeys = new Set(raw.secretKeys);
      secretKeys.delete("redisAuthToken");
      const problems = problemsOf("prod", { values: raw.values, secretKeys });
      const line = problems.find((p) => p.startsWith("autoscaling:redisAuthToken"));
      assert.equal(line, "autoscaling:redisAuthToken = [plain text]: must be a secret: run `pulumi config set --secret redisAuthToken <value>` (plain text is not accepted)");
      assert.ok(!problems.join("\n").includes(String(raw.values.redisAuthToken)), "the secret value leaked into the message");
    });

    it("validates a secret's format without echoing it", () => {
      const raw = withChange("prod", (v) => (v.redisAuthToken = "short"));
      const problems = problemsOf("prod", raw);
      const line = problems.find((p) => p.startsWith("autoscaling:redisAuthToken"));
      assert.match(line ?? "", /^autoscaling:redisAuthToken = \[secret\]: must be 16-128 printable characters/);
    });
  });

  it("Pulumi.yaml declares exactly the keys the schema reads, with a type and description each", () => {
    const project = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type: string; description: string; secret?: boolean }> };
    assert.deepEqual(Object.keys(project.config).sort(), [...settingsKeys].sort());
    for (const [key, decl] of Object.entries(project.config)) {
      assert.ok(["string", "integer", "boolean", "array", "object"].includes(decl.type), `${key} has no valid type`);
      assert.ok(decl.description.length > 20, `${key} needs a description`);
    }
    for (const key of ["redisAuthToken", "slackWebhookUrl", "alertEmail"]) assert.equal(project.config[key]?.secret, true, `${key} must be declared secret`);
  });

  it("the shipped stack files hold no secret in plain text", () => {
    for (const stack of stacks) {
      const text = fs.readFileSync(path.join(repoRoot, `Pulumi.${stack}.yaml`), "utf8");
      assert.doesNotMatch(text, /^\s*autoscaling:(redisAuthToken|slackWebhookUrl|alertEmail):\s*[^{\s]/m);
      assert.doesNotMatch(text, /hooks\.slack\.com\/services\/T/);
    }
  });
});

describe("settings: the Kubernetes version against the EKS calendar (lib/catalog/eksVersions.ts)", () => {
  const day = (iso: string) => new Date(`${iso}T12:00:00Z`);
  const cluster = (kubernetesVersion: string) => ({ cluster: { ...loadStackSettings("prod").cluster, kubernetesVersion } });

  it("accepts only versions the calendar lists, naming them", () => {
    for (const version of ["1.36", "1.27", "1.3", "v1.35"]) {
      const problems = problemsOf("prod", withChange("prod", (v) => (v.cluster.kubernetesVersion = version)));
      assert.equal(problems.length, 1, problems.join("; "));
      assert.match(problems[0]!, new RegExp(`^autoscaling:cluster\\.kubernetesVersion = "${version.replace(/\./g, "\\.")}": must be a Kubernetes minor version in the EKS calendar \\(lib/catalog/eksVersions\\.ts\\), as a string: 1\\.28, .*1\\.35$`));
    }
    assert.match(problemsOf("dev", withChange("dev", (v) => (v.cluster.kubernetesVersion = 1.35)))[0]!, /kubernetesVersion = 1\.35: must be a Kubernetes minor version in the EKS calendar/);
  });

  it("no warning more than 60 days before the end of standard support (both stacks today, 2026-12-01)", () => {
    for (const stack of stacks) assert.deepEqual(settingsWarnings(loadStackSettings(stack), day("2026-12-01")), [], stack);
    assert.deepEqual(settingsWarnings(cluster("1.35"), day("2027-01-25")), [], "62 days before 2027-03-27");
  });

  it("warns within 60 days of the end of standard support, counting the days", () => {
    assert.deepEqual(settingsWarnings(cluster("1.35"), day("2027-01-26")), [
      "autoscaling:cluster.kubernetesVersion = \"1.35\": EKS standard support ends on 2027-03-27 (in 60 days); from then the control plane bills extended support ($0.60/h instead of $0.10/h). Plan the upgrade.",
    ]);
    assert.match(settingsWarnings(cluster("1.34"), day("2026-12-01"))[0]!, /standard support ends on 2026-12-02 \(in 1 day\)/);
  });

  it("says so once the version is in extended support, or past it", () => {
    assert.deepEqual(settingsWarnings(cluster("1.34"), day("2026-12-02")), [
      "autoscaling:cluster.kubernetesVersion = \"1.34\": EKS standard support ended on 2026-12-02; the control plane bills extended support ($0.60/h instead of $0.10/h) until 2027-12-02. Upgrade to a version in standard support.",
    ]);
    assert.match(settingsWarnings(cluster("1.33"), day("2026-12-01"))[0]!, /standard support ended on 2026-07-29/);
    assert.match(settingsWarnings(cluster("1.29"), day("2026-12-01"))[0]!, /extended support ended on 2026-03-23/);
  });
});
