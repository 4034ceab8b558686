/**
 * The sections of the CostControls component, one function each. Every resource is created with
 * the CostControls component itself as parent (`ctx.parent`, `ctx.self`), exactly as when these
 * sections were inline in its constructor: names and URNs are unchanged, no aliases needed.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CostAllocationTag, CostControlsArgs } from "../costControls";
import { budgetsPublishStatement, denyInsecureTransport, emergencyMaxReceiveCount, formatUsd, httpsUrlPattern, onlyTopicMaySend, ownerStatement, roundCents } from "./policies";

/** What every section reads: the component, its arguments and what the constructor made first. */
export interface CostContext {
  readonly name: string;
  readonly args: CostControlsArgs;
  /** The effective cost allocation tag (validateCostControlsArgs). */
  readonly tag: CostAllocationTag;
  /** The CostControls component: parent of every resource. */
  readonly self: pulumi.ComponentResource;
  /** `{ parent: self }`. */
  readonly parent: { parent: pulumi.ComponentResource };
  /** `Name` tag of a resource: `<name>-<what>`. */
  readonly tags: (what: string) => { Name: string };
  /** The alert e-mail address, as a secret. */
  readonly alertEmail: pulumi.Output<string>;
  readonly accountId: pulumi.Output<string>;
  readonly partition: pulumi.Output<aws.GetPartitionResult>;
  readonly region: pulumi.Output<aws.GetRegionResult>;
  /** The KMS key of the topics and queues. */
  readonly key: aws.kms.Key;
}

/** The cost-alert topic (e-mail, Cost Anomaly Detection, CloudWatch alarms) and the budget-emergency topic only Budgets may publish to. */
export function costTopics(ctx: CostContext) {
  const { name, args, parent, tags, alertEmail, accountId, partition, region, key } = ctx;
  const out: { costAlertTopicArn?: pulumi.Output<string>; emergencyTopicArn?: pulumi.Output<string> } = {};
  // ---------------------------------------------------------------------------------------------
  // Topics
  // ---------------------------------------------------------------------------------------------

  const costAlerts = new aws.sns.Topic(`${name}-cost-alerts`, {
    displayName: `PyAirtable ${args.environment} cost alerts`,
    kmsMasterKeyId: key.arn,
    // SHA256 signatures for subscribers that verify them.
    signatureVersion: 2,
    tags: tags("cost-alerts"),
  }, parent);
  const emergency = new aws.sns.Topic(`${name}-budget-emergency`, {
    displayName: `PyAirtable ${args.environment} budget emergency`,
    kmsMasterKeyId: key.arn,
    signatureVersion: 2,
    tags: tags("budget-emergency"),
  }, parent);
  out.costAlertTopicArn = costAlerts.arn;
  out.emergencyTopicArn = emergency.arn;

  const costAlertsPolicy = new aws.sns.TopicPolicy(`${name}-cost-alerts-policy`, {
    arn: costAlerts.arn,
    policy: pulumi.all([costAlerts.arn, accountId, partition.partition, region.region]).apply(([arn, account, part, reg]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          ownerStatement(arn, account, part),
          budgetsPublishStatement(arn, account, part),
          {
            Sid: "CostAnomalyDetectionPublishes",
            Effect: "Allow",
            Principal: { Service: "costalerts.amazonaws.com" },
            Action: "SNS:Publish",
            Resource: arn,
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
          {
            // The emergency queue alarms below.
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "SNS:Publish",
            Resource: arn,
            Condition: {
              StringEquals: { "aws:SourceAccount": account },
              ArnLike: { "aws:SourceArn": `arn:${part}:cloudwatch:${reg}:${account}:alarm:*` },
            },
          },
          denyInsecureTransport(arn, "SNS:Publish"),
        ],
      }),
    ),
  }, parent);
  // Only Budgets publishes emergencies: nothing else can trigger a scale-down.
  const emergencyPolicy = new aws.sns.TopicPolicy(`${name}-budget-emergency-policy`, {
    arn: emergency.arn,
    policy: pulumi.all([emergency.arn, accountId, partition.partition]).apply(([arn, account, part]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [ownerStatement(arn, account, part), budgetsPublishStatement(arn, account, part), denyInsecureTransport(arn, "SNS:Publish")],
      }),
    ),
  }, parent);

  // SNS e-mail subscriptions stay pending until the recipient confirms the e-mail AWS sends.
  new aws.sns.TopicSubscription(`${name}-cost-alerts-email`, {
    topic: costAlerts.arn,
    protocol: "email",
    endpoint: alertEmail,
  }, parent);

  return { costAlerts, emergency, costAlertsPolicy, emergencyPolicy, costAlertTopicArn: out.costAlertTopicArn!, emergencyTopicArn: out.emergencyTopicArn! };
}

/** The emergency queue the automation service polls (no public endpoint), its dead-letter queue and their alarms, and the optional webhook. */
export function emergencyQueue(ctx: CostContext, prior: { costAlerts: aws.sns.Topic; emergency: aws.sns.Topic; costAlertsPolicy: aws.sns.TopicPolicy }) {
  const { name, args, parent, self, tags, key } = ctx;
  const { costAlerts, emergency, costAlertsPolicy } = prior;
  const out: { emergencyQueueUrl?: pulumi.Output<string>; emergencyQueueArn?: pulumi.Output<string>; emergencyDeadLetterQueueUrl?: pulumi.Output<string>; emergencyDeadLetterQueueArn?: pulumi.Output<string> } = {};
  // ---------------------------------------------------------------------------------------------
  // Emergency queue: the automation service polls it, so it needs no public endpoint.
  // ---------------------------------------------------------------------------------------------

  const deadLetterQueue = new aws.sqs.Queue(`${name}-emergency-dlq`, {
    kmsMasterKeyId: key.arn,
    kmsDataKeyReusePeriodSeconds: 300,
    // The maximum, so a failed emergency can still be investigated after a long weekend.
    messageRetentionSeconds: 1_209_600,
    tags: tags("emergency-dlq"),
  }, parent);
  const queue = new aws.sqs.Queue(`${name}-emergency`, {
    kmsMasterKeyId: key.arn,
    kmsDataKeyReusePeriodSeconds: 300,
    messageRetentionSeconds: 345_600,
    // A scale-down takes minutes; the message stays invisible meanwhile.
    visibilityTimeoutSeconds: 300,
    receiveWaitTimeSeconds: 20,
    redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: emergencyMaxReceiveCount }),
    tags: tags("emergency"),
  }, parent);
  out.emergencyQueueUrl = queue.url;
  out.emergencyQueueArn = queue.arn;
  out.emergencyDeadLetterQueueUrl = deadLetterQueue.url;
  out.emergencyDeadLetterQueueArn = deadLetterQueue.arn;

  // Only the emergency queue may redrive into the dead-letter queue.
  new aws.sqs.RedriveAllowPolicy(`${name}-emergency-dlq-redrive-allow`, {
    queueUrl: deadLetterQueue.url,
    redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] }),
  }, parent);

  const queuePolicy = new aws.sqs.QueuePolicy(`${name}-emergency-policy`, {
    queueUrl: queue.url,
    policy: onlyTopicMaySend(queue.arn, emergency.arn),
  }, parent);
  // The dead-letter queue also receives what SNS could not deliver to the webhook.
  const deadLetterPolicy = new aws.sqs.QueuePolicy(`${name}-emergency-dlq-policy`, {
    queueUrl: deadLetterQueue.url,
    policy: onlyTopicMaySend(deadLetterQueue.arn, emergency.arn),
  }, parent);

  new aws.sns.TopicSubscription(`${name}-emergency-queue`, {
    topic: emergency.arn,
    protocol: "sqs",
    endpoint: queue.arn,
    // Keep the SNS envelope: the queue and the webhook then carry the same, signed message.
    rawMessageDelivery: false,
  }, { parent: self, dependsOn: [queuePolicy] });

  if (args.emergencyWebhookUrl !== undefined) {
    const webhookUrl = pulumi.secret(args.emergencyWebhookUrl).apply((url) => {
      if (!httpsUrlPattern.test(url)) throw new Error(`CostControls "${name}": emergencyWebhookUrl = [secret]: must be an https:// URL`);
      return url;
    });
    new aws.sns.TopicSubscription(`${name}-emergency-webhook`, {
      topic: emergency.arn,
      protocol: "https",
      endpoint: webhookUrl,
      // The service confirms the subscription itself (SubscribeURL); Pulumi does not wait for it.
      endpointAutoConfirms: false,
      // Envelope with signature, which the service verifies.
      rawMessageDelivery: false,
      // Retry for about 25 minutes before giving up, then keep the message in the dead-letter queue.
      deliveryPolicy: JSON.stringify({
        healthyRetryPolicy: {
          minDelayTarget: 5,
          maxDelayTarget: 120,
          numRetries: 20,
          numNoDelayRetries: 0,
          numMinDelayRetries: 2,
          numMaxDelayRetries: 10,
          backoffFunction: "exponential",
        },
      }),
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn }),
    }, { parent: self, dependsOn: [deadLetterPolicy] });
  }

  // An emergency nobody acts on is the failure that matters: alarm when the service stops
  // consuming, or when a message ends up in the dead-letter queue.
  new aws.cloudwatch.MetricAlarm(`${name}-emergency-unconsumed`, {
    alarmDescription: "A budget emergency has waited 15 minutes in the queue: the automation service is not scaling down.",
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: queue.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 900,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    // SQS stops publishing metrics for idle queues.
    treatMissingData: "notBreaching",
    alarmActions: [costAlerts.arn],
    tags: tags("emergency-unconsumed"),
  }, { parent: self, dependsOn: [costAlertsPolicy] });
  new aws.cloudwatch.MetricAlarm(`${name}-emergency-dead-letters`, {
    alarmDescription: "A budget emergency could not be delivered or processed and is in the dead-letter queue.",
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: deadLetterQueue.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [costAlerts.arn],
    tags: tags("emergency-dead-letters"),
  }, { parent: self, dependsOn: [costAlertsPolicy] });

  return { emergencyQueueUrl: out.emergencyQueueUrl!, emergencyQueueArn: out.emergencyQueueArn!, emergencyDeadLetterQueueUrl: out.emergencyDeadLetterQueueUrl!, emergencyDeadLetterQueueArn: out.emergencyDeadLetterQueueArn! };
}

/** The daily and monthly AWS Budgets (the weekly limit is tracked by the automation service). */
export function budgets(ctx: CostContext, prior: { costAlerts: aws.sns.Topic; emergency: aws.sns.Topic; costAlertsPolicy: aws.sns.TopicPolicy; emergencyPolicy: aws.sns.TopicPolicy }) {
  const { name, args, tag, self, tags } = ctx;
  const { costAlerts, emergency, costAlertsPolicy, emergencyPolicy } = prior;
  const out: { dailyBudgetName?: pulumi.Output<string>; monthlyBudgetName?: pulumi.Output<string>; weeklyLimitUsd?: pulumi.Output<number> } = {};
  // ---------------------------------------------------------------------------------------------
  // Budgets
  // ---------------------------------------------------------------------------------------------

  // A notification takes at most one SNS subscriber, so the emergency threshold is expressed
  // twice: as a percentage to the emergency topic, and as the same amount in USD to the
  // cost-alerts topic (whose e-mail subscription reaches people). No e-mail address is put on the
  // budgets themselves: it is a secret, and it would make the whole `notifications` input secret,
  // hiding the thresholds from previews and from the policy pack that checks them.
  const notificationsFor = (limitUsd: number): aws.types.input.budgets.BudgetNotification[] => [
    {
      notificationType: "ACTUAL",
      comparisonOperator: "GREATER_THAN",
      thresholdType: "PERCENTAGE",
      threshold: args.warningPercent,
      subscriberSnsTopicArns: [costAlerts.arn],
    },
    {
      notificationType: "ACTUAL",
      comparisonOperator: "GREATER_THAN",
      thresholdType: "PERCENTAGE",
      threshold: args.emergencyPercent,
      subscriberSnsTopicArns: [emergency.arn],
    },
    {
      notificationType: "ACTUAL",
      comparisonOperator: "GREATER_THAN",
      thresholdType: "ABSOLUTE_VALUE",
      threshold: roundCents((limitUsd * args.emergencyPercent) / 100),
      subscriberSnsTopicArns: [costAlerts.arn],
    },
  ];
  const costFilters = [{ name: "TagKeyValue", values: [`user:${tag.key}$${tag.value}`] }];
  // Credits and refunds would hide runaway usage until they are used up.
  const costTypes = { includeCredit: false, includeRefund: false };
  const budgetDependsOn = { parent: self, dependsOn: [costAlertsPolicy, emergencyPolicy] };

  const daily = new aws.budgets.Budget(`${name}-daily`, {
    name: `${name}-daily`,
    budgetType: "COST",
    timeUnit: "DAILY",
    limitAmount: formatUsd(args.dailyUsd),
    limitUnit: "USD",
    costFilters,
    costTypes,
    // AWS does not support FORECASTED notifications on daily budgets.
    notifications: notificationsFor(args.dailyUsd),
    tags: tags("daily"),
  }, budgetDependsOn);
  const monthly = new aws.budgets.Budget(`${name}-monthly`, {
    name: `${name}-monthly`,
    budgetType: "COST",
    timeUnit: "MONTHLY",
    limitAmount: formatUsd(args.monthlyUsd),
    limitUnit: "USD",
    costFilters,
    costTypes,
    notifications: [
      ...notificationsFor(args.monthlyUsd),
      {
        notificationType: "FORECASTED",
        comparisonOperator: "GREATER_THAN",
        thresholdType: "PERCENTAGE",
        threshold: 100,
        subscriberSnsTopicArns: [costAlerts.arn],
      },
    ],
    tags: tags("monthly"),
  }, budgetDependsOn);
  out.dailyBudgetName = daily.name;
  out.monthlyBudgetName = monthly.name;
  out.weeklyLimitUsd = pulumi.output(args.weeklyUsd);

  return { dailyBudgetName: out.dailyBudgetName!, monthlyBudgetName: out.monthlyBudgetName!, weeklyLimitUsd: out.weeklyLimitUsd! };
}

/** Cost Anomaly Detection: the services monitor (created or passed in), prod's tag monitor and the IMMEDIATE subscription. */
export function anomalyDetection(ctx: CostContext, prior: { costAlerts: aws.sns.Topic; costAlertsPolicy: aws.sns.TopicPolicy }) {
  const { name, args, tag, parent, self, tags } = ctx;
  const { costAlerts, costAlertsPolicy } = prior;
  const out: { anomalyMonitorArn?: pulumi.Output<string>; tagAnomalyMonitorArn?: pulumi.Output<string> | undefined } = {};
  // ---------------------------------------------------------------------------------------------
  // Cost Anomaly Detection (global service; covers the weekly limit together with the automation service)
  // ---------------------------------------------------------------------------------------------

  const serviceMonitorArn: pulumi.Output<string> =
    args.serviceAnomalyMonitorArn !== undefined
      ? pulumi.output(args.serviceAnomalyMonitorArn)
      : new aws.costexplorer.AnomalyMonitor(`${name}-services`, {
          name: `${name}-services`,
          monitorType: "DIMENSIONAL",
          monitorDimension: "SERVICE",
          tags: tags("services"),
        }, parent).arn;
  out.anomalyMonitorArn = serviceMonitorArn;

  if (args.environment === "prod") {
    // The services monitor sees the whole account; this one sees prod's tagged spend in aggregate.
    const tagMonitor = new aws.costexplorer.AnomalyMonitor(`${name}-tag`, {
      name: `${name}-${tag.key}-${tag.value}`,
      monitorType: "CUSTOM",
      // The shape AWS returns (unused operators as null, default match options), so no diff after refresh.
      monitorSpecification: JSON.stringify({
        And: null,
        CostCategories: null,
        Dimensions: null,
        Not: null,
        Or: null,
        Tags: { Key: tag.key, MatchOptions: null, Values: [tag.value] },
      }),
      tags: tags("tag-monitor"),
    }, parent);
    out.tagAnomalyMonitorArn = tagMonitor.arn;
  }

  new aws.costexplorer.AnomalySubscription(`${name}-anomalies`, {
    name: `${name}-anomalies`,
    // IMMEDIATE alerts can only go to SNS.
    frequency: "IMMEDIATE",
    monitorArnLists: out.tagAnomalyMonitorArn ? [serviceMonitorArn, out.tagAnomalyMonitorArn] : [serviceMonitorArn],
    subscribers: [{ type: "SNS", address: costAlerts.arn }],
    thresholdExpression: {
      dimension: {
        key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
        matchOptions: ["GREATER_THAN_OR_EQUAL"],
        values: [String(args.anomalyImpactUsd)],
      },
    },
    tags: tags("anomalies"),
  }, { parent: self, dependsOn: [costAlertsPolicy] });
  return { anomalyMonitorArn: out.anomalyMonitorArn!, tagAnomalyMonitorArn: out.tagAnomalyMonitorArn };
}
