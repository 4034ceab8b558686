/**
 * CloudWatch alarms for the data tier (Aurora ACU ceiling, Redis shards at maxShards, MSK broker
 * disk, OpenSearch red status and free storage), routed by severity like the Kubernetes alerts:
 * one SNS topic per severity (`critical`, `warning`), each with the on-call e-mail subscription.
 * The alarm table and its thresholds are lib/monitoring/dataTierAlarms.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformSettings } from "../lib/config/settings";
import { dataTierAlarms, type AlarmSeverity, type DataTierAlarm, type DataTierNames } from "../lib/monitoring/dataTierAlarms";

export interface DataTierAlarmsArgs {
  /** The validated stack settings (database, cache, streaming, search and environment are read). */
  settings: PlatformSettings;
  /** Aurora cluster identifier (`DBClusterIdentifier`). */
  auroraClusterIdentifier: pulumi.Input<string>;
  /** ElastiCache replication group id (node ids derive from it). */
  redisReplicationGroupId: pulumi.Input<string>;
  /** MSK cluster name (`Cluster Name`). */
  mskClusterName: pulumi.Input<string>;
  /** OpenSearch domain name (`DomainName`). */
  openSearchDomainName: pulumi.Input<string>;
  /** AWS account id (`ClientId` of AWS/ES). */
  accountId: pulumi.Input<string>;
  /** KMS key ARN for the topics; its policy must let cloudwatch.amazonaws.com use it (CostControls' key does). */
  topicKmsKeyArn: pulumi.Input<string>;
  /** On-call e-mail (secret): subscribed to both severities' topics. */
  alertEmail: pulumi.Input<string>;
}

/** Placeholders standing for the physical names until they resolve. */
const token = (k: keyof DataTierNames) => `@@${k}@@`;
const tokens: DataTierNames = {
  auroraClusterIdentifier: token("auroraClusterIdentifier"),
  redisReplicationGroupId: token("redisReplicationGroupId"),
  mskClusterName: token("mskClusterName"),
  openSearchDomainName: token("openSearchDomainName"),
  accountId: token("accountId"),
};

export class DataTierAlarms extends pulumi.ComponentResource {
  /** SNS topic ARN per severity. */
  public readonly topicArns: Record<AlarmSeverity, pulumi.Output<string>>;
  /** The alarms as planned (with placeholders for names that resolve at deploy time). */
  public readonly alarms: readonly DataTierAlarm[];

  constructor(name: string, args: DataTierAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:monitoring:DataTierAlarms", name, {}, opts);
    const alarms = dataTierAlarms(args.settings, tokens);
    if (alarms.length === 0) throw new Error("DataTierAlarms: the settings produce no alarms");
    this.alarms = alarms;
    const parent = { parent: this };
    const env = args.settings.environment;
    const resolved = pulumi.all([args.auroraClusterIdentifier, args.redisReplicationGroupId, args.mskClusterName, args.openSearchDomainName, args.accountId]);
    const resolve = (text: string): pulumi.Output<string> =>
      resolved.apply(([aurora, redis, msk, search, account]) =>
        text
          .replace(new RegExp(token("auroraClusterIdentifier"), "g"), aurora)
          .replace(new RegExp(token("redisReplicationGroupId"), "g"), redis)
          .replace(new RegExp(token("mskClusterName"), "g"), msk)
          .replace(new RegExp(token("openSearchDomainName"), "g"), search)
          .replace(new RegExp(token("accountId"), "g"), account),
      );
    const tags = (what: string) => ({ Name: `${name}-${what}`, component: "data-tier-alarms" });

    const identity = aws.getCallerIdentityOutput({}, parent);
    const topics = {} as Record<AlarmSeverity, aws.sns.Topic>;
    const policies: aws.sns.TopicPolicy[] = [];
    for (const severity of ["critical", "warning"] as const) {
      const topic = new aws.sns.Topic(`${name}-${severity}`, {
        displayName: `PyAirtable ${env} data tier ${severity}`,
        kmsMasterKeyId: args.topicKmsKeyArn,
        signatureVersion: 2,
        tags: tags(severity),
      }, parent);
      topics[severity] = topic;
      policies.push(new aws.sns.TopicPolicy(`${name}-${severity}-policy`, {
        arn: topic.arn,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [{
            Sid: "CloudWatchAlarmsOfThisAccountPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "SNS:Publish",
            Resource: topic.arn,
            Condition: { StringEquals: { "aws:SourceAccount": identity.accountId } },
          }],
        }),
      }, parent));
      new aws.sns.TopicSubscription(`${name}-${severity}-email`, { topic: topic.arn, protocol: "email", endpoint: pulumi.secret(args.alertEmail) }, parent);
    }
    this.topicArns = { critical: topics.critical.arn, warning: topics.warning.arn };

    for (const a of alarms) {
      const topic = topics[a.severity].arn;
      const common = {
        name: `${name}-${a.key}`,
        alarmDescription: resolve(`[${a.severity}] ${a.summary}. Threshold: ${a.derivation}. Runbook: docs/runbook.md#${a.alertname.toLowerCase()}`),
        comparisonOperator: a.comparison,
        threshold: a.threshold,
        evaluationPeriods: a.evaluationPeriods,
        datapointsToAlarm: a.evaluationPeriods,
        treatMissingData: a.treatMissingData,
        alarmActions: [topic],
        okActions: [topic],
        tags: { ...tags(a.key), severity: a.severity, tier: a.tier, alertname: a.alertname },
      };
      const dims = (d: Readonly<Record<string, string>>) => pulumi.all(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, resolve(v)])));
      if (!a.expression) {
        const m = a.metrics[0]!;
        new aws.cloudwatch.MetricAlarm(`${name}-${a.key}`, {
          ...common,
          namespace: m.namespace,
          metricName: m.metricName,
          dimensions: dims(m.dimensions),
          statistic: m.stat,
          period: a.periodSeconds,
        }, { parent: this, dependsOn: policies });
      } else {
        new aws.cloudwatch.MetricAlarm(`${name}-${a.key}`, {
          ...common,
          metricQueries: [
            { id: "e1", expression: a.expression, label: a.alertname, returnData: true },
            ...a.metrics.map((m) => ({
              id: m.id,
              returnData: false,
              metric: { namespace: m.namespace, metricName: m.metricName, dimensions: dims(m.dimensions), stat: m.stat, period: a.periodSeconds },
            })),
          ],
        }, { parent: this, dependsOn: policies });
      }
    }

    this.registerOutputs({ topicArns: this.topicArns, alarmCount: alarms.length });
  }
}
