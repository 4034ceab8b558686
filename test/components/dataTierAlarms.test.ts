/**
 * Data-tier alarms in the rendered plans: the real metric names and dimensions, thresholds derived
 * from each stack's ceilings, routed by severity to SNS topics with the on-call e-mail, priced, and
 * each with a runbook entry.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { dataTierAlarmPolicy, dataTierAlarms } from "../../lib/monitoring/dataTierAlarms";
import { estimateCost, resolveUsageAssumptions } from "../../lib/cost/estimate";
import { planStack, type StackPlan } from "../support/plans";
import { loadStackSettings, repoRoot, stacks } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";
import { priceCatalog } from "../../lib/cost/prices";

type Any = Record<string, any>;
const names = { auroraClusterIdentifier: "db", redisReplicationGroupId: "rg", mskClusterName: "msk", openSearchDomainName: "dom", accountId: "123456789012" };

describe("data-tier alarms", function () {
  this.timeout(120_000);
  const plans: Record<string, StackPlan> = {};
  before(async () => {
    for (const s of stacks) plans[s] = await planStack(s);
  });
  const alarmsOf = (s: string) => plans[s]!.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name.includes("-data-alarms-"));
  const byKey = (s: string, key: string): Any => {
    const r = alarmsOf(s).find((a) => a.name.endsWith(`-${key}`));
    assert.ok(r, `${s}: no alarm ${key} (have ${alarmsOf(s).map((a) => a.name).join(", ")})`);
    return r.inputs;
  };

  for (const stack of stacks) {
    it(`${stack}: Aurora at ${dataTierAlarmPolicy.auroraAcuCeilingRatio} x maxAcu for 15 minutes, on AWS/RDS ServerlessDatabaseCapacity by DBClusterIdentifier, critical`, () => {
      const settings = loadStackSettings(stack);
      const a = byKey(stack, "aurora-acu-ceiling");
      assert.equal(a.namespace, "AWS/RDS");
      assert.equal(a.metricName, "ServerlessDatabaseCapacity");
      assert.deepEqual(Object.keys(a.dimensions), ["DBClusterIdentifier"]);
      assert.equal(a.dimensions.DBClusterIdentifier, `pyairtable-${stack}-database`);
      assert.equal(a.threshold, Math.round(settings.database.maxAcu * 0.9 * 10) / 10);
      assert.equal(a.comparisonOperator, "GreaterThanOrEqualToThreshold");
      assert.equal(a.period * a.evaluationPeriods, 15 * 60);
      assert.equal(a.datapointsToAlarm, a.evaluationPeriods);
      assert.match(a.alarmActions[0], /data-alarms-critical/);
    });

    it(`${stack}: Redis memory at its ceiling (shard target at maxShards, or the single node), AWS/ElastiCache DatabaseMemoryUsagePercentage by CacheClusterId`, () => {
      const settings = loadStackSettings(stack);
      const cache = settings.cache;
      if (cache.mode === "cluster") {
        const a = byKey(stack, "redis-memory-at-max-shards");
        assert.equal(a.threshold, cache.targetMemoryPercent);
        const metrics = a.metricQueries.filter((q: Any) => q.metric);
        assert.equal(metrics.length, cache.maxShards, "one node per possible shard");
        assert.ok(metrics.length <= 10, "CloudWatch allows 10 metrics per alarm");
        assert.deepEqual(metrics.map((q: Any) => q.metric.dimensions.CacheClusterId), Array.from({ length: cache.maxShards }, (_, i) => `pyairtable-${stack}-cache-${String(i + 1).padStart(4, "0")}-001`));
        assert.ok(metrics.every((q: Any) => q.metric.namespace === "AWS/ElastiCache" && q.metric.metricName === "DatabaseMemoryUsagePercentage"));
        assert.equal(a.metricQueries.find((q: Any) => q.returnData).expression, `MAX([${metrics.map((q: Any) => q.id).join(", ")}])`);
      } else {
        const a = byKey(stack, "redis-memory-single-node");
        assert.equal(a.dimensions.CacheClusterId, `pyairtable-${stack}-cache-001`);
        assert.equal(a.threshold, dataTierAlarmPolicy.redisSingleNodePercent);
      }
    });

    it(`${stack}: MSK broker disk, AWS/Kafka KafkaDataLogsDiskUsed by "Cluster Name" and "Broker ID" for every broker`, () => {
      const settings = loadStackSettings(stack);
      const a = byKey(stack, "msk-disk-at-max-volume");
      const metrics = a.metricQueries.filter((q: Any) => q.metric);
      assert.deepEqual(metrics.map((q: Any) => q.metric.dimensions["Broker ID"]), Array.from({ length: settings.streaming.brokers }, (_, i) => String(i + 1)));
      assert.ok(metrics.every((q: Any) => q.metric.namespace === "AWS/Kafka" && q.metric.metricName === "KafkaDataLogsDiskUsed" && q.metric.dimensions["Cluster Name"] === `pyairtable-${stack}-streaming`));
      const target = settings.streaming.storageAutoscaling?.targetUtilizationPercent;
      assert.equal(a.threshold, target === undefined ? dataTierAlarmPolicy.mskFixedVolumePercent : Math.round(target + (100 - target) / 2));
      assert.match(a.alarmActions[0], /data-alarms-critical/);
    });

    it(`${stack}: OpenSearch red (critical) and free storage at 25% of a node's volume in MiB (warning), AWS/ES by DomainName and ClientId`, () => {
      const settings = loadStackSettings(stack);
      const red = byKey(stack, "opensearch-red");
      assert.deepEqual([red.namespace, red.metricName, red.statistic, red.threshold, red.evaluationPeriods, red.period], ["AWS/ES", "ClusterStatus.red", "Maximum", 1, 1, 60]);
      assert.deepEqual(Object.keys(red.dimensions).sort(), ["ClientId", "DomainName"]);
      assert.match(red.dimensions.ClientId, /^\d{12}$/);
      const free = byKey(stack, "opensearch-free-storage");
      assert.deepEqual([free.metricName, free.statistic, free.comparisonOperator], ["FreeStorageSpace", "Minimum", "LessThanOrEqualToThreshold"]);
      assert.equal(free.threshold, settings.search.volumeSizeGiB * 1024 * 0.25);
      assert.match(free.alarmActions[0], /data-alarms-warning/);
    });

    it(`${stack}: one SNS topic per severity, published to by CloudWatch only, with the on-call e-mail; alarms priced`, () => {
      const plan = plans[stack]!;
      const topics = plan.resources.filter((r) => r.type === "aws:sns/topic:Topic" && r.name.includes("-data-alarms-"));
      assert.deepEqual(topics.map((t) => t.name.replace(/.*-data-alarms-/, "")).sort(), ["critical", "warning"]);
      assert.ok(topics.every((t) => typeof t.inputs.kmsMasterKeyId === "string"));
      const policies = plan.resources.filter((r) => r.type === "aws:sns/topicPolicy:TopicPolicy" && r.name.includes("-data-alarms-"));
      for (const p of policies) assert.equal(JSON.parse(String(p.inputs.policy)).Statement[0].Principal.Service, "cloudwatch.amazonaws.com");
      const subs = plan.resources.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription" && r.name.includes("-data-alarms-"));
      assert.deepEqual(subs.map((s) => s.inputs.protocol), ["email", "email"]);
      assert.ok(subs.every((s) => s.inputs.endpoint === "[secret]"), "the e-mail is a secret");
      const cost = estimateCost(plan.resources, resolveUsageAssumptions(plan.settings.environment), priceCatalog(), { asOf: new Date(testEvaluationDate) });
      const lines = cost.items.filter((i) => i.urn.includes("-data-alarms-"));
      assert.equal(lines.length, alarmsOf(stack).length);
      assert.ok(lines.every((l) => l.monthlyUsd > 0));
      assert.deepEqual(cost.unpriced, []);
    });
  }

  it("thresholds follow the settings (no number twice): a bigger Aurora, more shards, another target", () => {
    const s = loadStackSettings("prod");
    const changed = { ...s, database: { ...s.database, maxAcu: 32 }, cache: { ...s.cache, maxShards: 6, targetMemoryPercent: 50 } } as typeof s;
    const a = dataTierAlarms(changed, names);
    assert.equal(a.find((x) => x.key === "aurora-acu-ceiling")!.threshold, 28.8);
    const redis = a.find((x) => x.key === "redis-memory-at-max-shards")!;
    assert.equal(redis.threshold, 50);
    assert.equal(redis.metrics.length, 6);
  });

  it("every alarm has a runbook entry under its alertname", () => {
    const md = fs.readFileSync(path.join(repoRoot, "docs", "runbook.md"), "utf8");
    for (const stack of stacks) {
      for (const a of dataTierAlarms(loadStackSettings(stack), names)) {
        assert.ok(md.includes(`### ${a.alertname}\n`), `docs/runbook.md has no '### ${a.alertname}'`);
        assert.ok(a.summary.length > 0 && a.derivation.length > 0);
      }
    }
  });
});
