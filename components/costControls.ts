import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import type { BudgetSettings } from "../lib/config/settings";

/** A cost allocation tag that budgets and the tag anomaly monitor filter on. */
export interface CostAllocationTag {
  /** Tag key as it is set on resources (without the `user:` prefix), e.g. `environment`. */
  key: string;
  /** Tag value that marks this stack's resources, e.g. `prod`. */
  value: string;
}

export interface CostControlsArgs extends BudgetSettings {
  /** Daily budget, USD (design: $500 in prod). AWS Budgets `DAILY` period, UTC days. */
  dailyUsd: number;
  /**
   * Weekly limit, USD (design: $3,000 in prod). AWS Budgets has no weekly period, so no budget is
   * created for it: Cost Anomaly Detection watches the week and the automation service tracks spend
   * against this number (read it from the `weeklyLimitUsd` output).
   */
  weeklyUsd: number;
  /** Monthly budget, USD (design: $12,000 in prod). AWS Budgets `MONTHLY` period. */
  monthlyUsd: number;
  /** Warning notification threshold, percent of a budget's limit (design: 80). */
  warningPercent: number;
  /** Emergency threshold, percent (design: 95): the automation service scales down non-critical services. */
  emergencyPercent: number;
  /** Cost Anomaly Detection alerts on anomalies whose total impact is at least this, USD. */
  anomalyImpactUsd: number;
  /** Environment; prod additionally gets a customer-managed anomaly monitor on the cost allocation tag. */
  environment: "prod" | "dev";
  /** Address for cost alerts (budgets and the cost-alerts topic). A secret: it is wrapped in `pulumi.secret` and never logged. */
  alertEmail: pulumi.Input<string>;
  /**
   * Cost allocation tag that scopes the budgets (and, in prod, the tag anomaly monitor) to this
   * environment, so prod and dev budgets don't count each other's spend. Default
   * `{ key: "environment", value: environment }` (the provider's default tags set it).
   *
   * The tag must be activated as a cost allocation tag in the Billing console (payer account) before
   * budgets can see it; until then the budgets read $0. This component does not activate it itself:
   * activation is account-wide (shared by every stack), only allowed in the payer account, and fails
   * until the tag has appeared in billing data.
   */
  costAllocationTag?: CostAllocationTag;
  /**
   * Optional HTTPS endpoint of the automation service that should also receive the 95% emergency
   * notifications (it confirms the subscription and verifies SNS signatures). Default: none; the
   * service polls the emergency queue instead.
   */
  emergencyWebhookUrl?: pulumi.Input<string>;
  /**
   * ARN of an existing AWS-services anomaly monitor (DIMENSIONAL / SERVICE) to subscribe instead of
   * creating one. AWS allows only one such monitor per account, and many accounts already have a
   * default one; pass its ARN there, or when prod and dev share an account. Default: create one.
   */
  serviceAnomalyMonitorArn?: pulumi.Input<string>;
}

/** AWS tag keys and values: letters, digits, spaces and `_ . : / = + - @` (keys up to 128, values up to 256). */
const tagCharacters = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const httpsUrlPattern = /^https:\/\/[^\s/]+\S*$/;

/** Messages received by the automation service more often than this go to the dead-letter queue. */
const emergencyMaxReceiveCount = 5;

/**
 * AWS Budgets, Cost Anomaly Detection, the cost alert topics and the 95% emergency path:
 *
 * - `cost-alerts` SNS topic (e-mail subscription) for every warning, forecast and anomaly;
 * - `budget-emergency` SNS topic, fanned out to an SQS queue (with a dead-letter queue) that the
 *   automation service polls, and optionally to its HTTPS endpoint;
 * - a DAILY and a MONTHLY cost budget filtered on the cost allocation tag, notifying at the warning
 *   and emergency thresholds;
 * - anomaly monitors and an IMMEDIATE anomaly subscription, which cover the weekly limit (AWS
 *   Budgets has no weekly period) together with the automation service.
 *
 * Everything is encrypted with the component's own customer-managed KMS key. Budget and monitor
 * names derive from the component name, which must therefore be unique in the AWS account.
 */
export class CostControls extends pulumi.ComponentResource {
  public readonly kmsKeyArn: pulumi.Output<string>;
  public readonly costAlertTopicArn: pulumi.Output<string>;
  public readonly emergencyTopicArn: pulumi.Output<string>;
  /** Queue the automation service polls for 95% emergency notifications (SNS JSON envelopes). */
  public readonly emergencyQueueUrl: pulumi.Output<string>;
  public readonly emergencyQueueArn: pulumi.Output<string>;
  public readonly emergencyDeadLetterQueueUrl: pulumi.Output<string>;
  public readonly emergencyDeadLetterQueueArn: pulumi.Output<string>;
  public readonly dailyBudgetName: pulumi.Output<string>;
  public readonly monthlyBudgetName: pulumi.Output<string>;
  /**
   * The weekly limit, USD. AWS Budgets has no weekly period, so nothing in AWS enforces it: the
   * automation service reads this output and tracks spend against it (Cost Anomaly Detection
   * covers sudden weekly spikes).
   */
  public readonly weeklyLimitUsd: pulumi.Output<number>;
  /** The AWS-services anomaly monitor (created here or passed in as `serviceAnomalyMonitorArn`). */
  public readonly anomalyMonitorArn: pulumi.Output<string>;
  /** The cost-allocation-tag anomaly monitor (prod only). */
  public readonly tagAnomalyMonitorArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: CostControlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cost:CostControls", name, {}, opts);
    // Validate before creating anything: a bad budget must not leave half an alert path behind.
    const tag = validateCostControlsArgs(name, args);
    const parent = { parent: this };
    const tags = (what: string) => ({ Name: `${name}-${what}` });

    const alertEmail = pulumi.secret(args.alertEmail).apply((email) => {
      // The message never contains the address itself.
      if (!emailPattern.test(email)) throw new Error(`CostControls "${name}": alertEmail = [secret]: must be an e-mail address`);
      return email;
    });

    const identity = aws.getCallerIdentityOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const accountId = identity.accountId;

    // One key for the topics and queues. Budgets, Cost Anomaly Detection and CloudWatch alarms
    // publish to the encrypted topics and SNS delivers to the encrypted queues, so each needs
    // GenerateDataKey/Decrypt; the topic and queue policies limit what they may publish where.
    const key = customerManagedKey(
      `${name}-key`,
      `Cost alert topics and emergency queues (${name})`,
      parent,
      pulumi.all([accountId, partition.partition]).apply(([account, part]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AccountAdministers",
              Effect: "Allow",
              Principal: { AWS: `arn:${part}:iam::${account}:root` },
              Action: "kms:*",
              Resource: "*",
            },
            {
              Sid: "CostServicesPublishToEncryptedTopics",
              Effect: "Allow",
              Principal: { Service: ["budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudwatch.amazonaws.com"] },
              Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
              Resource: "*",
              // Only on behalf of this account's budgets, monitors and alarms (confused-deputy protection).
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
            {
              Sid: "SnsDeliversToEncryptedQueues",
              Effect: "Allow",
              Principal: { Service: "sns.amazonaws.com" },
              Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
      ),
    );
    this.kmsKeyArn = key.arn;

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
    this.costAlertTopicArn = costAlerts.arn;
    this.emergencyTopicArn = emergency.arn;

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
    this.emergencyQueueUrl = queue.url;
    this.emergencyQueueArn = queue.arn;
    this.emergencyDeadLetterQueueUrl = deadLetterQueue.url;
    this.emergencyDeadLetterQueueArn = deadLetterQueue.arn;

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
    }, { parent: this, dependsOn: [queuePolicy] });

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
      }, { parent: this, dependsOn: [deadLetterPolicy] });
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
    }, { parent: this, dependsOn: [costAlertsPolicy] });
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
    }, { parent: this, dependsOn: [costAlertsPolicy] });

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
    const budgetDependsOn = { parent: this, dependsOn: [costAlertsPolicy, emergencyPolicy] };

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
    this.dailyBudgetName = daily.name;
    this.monthlyBudgetName = monthly.name;
    this.weeklyLimitUsd = pulumi.output(args.weeklyUsd);

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
    this.anomalyMonitorArn = serviceMonitorArn;

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
      this.tagAnomalyMonitorArn = tagMonitor.arn;
    }

    new aws.costexplorer.AnomalySubscription(`${name}-anomalies`, {
      name: `${name}-anomalies`,
      // IMMEDIATE alerts can only go to SNS.
      frequency: "IMMEDIATE",
      monitorArnLists: this.tagAnomalyMonitorArn ? [serviceMonitorArn, this.tagAnomalyMonitorArn] : [serviceMonitorArn],
      subscribers: [{ type: "SNS", address: costAlerts.arn }],
      thresholdExpression: {
        dimension: {
          key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
          matchOptions: ["GREATER_THAN_OR_EQUAL"],
          values: [String(args.anomalyImpactUsd)],
        },
      },
      tags: tags("anomalies"),
    }, { parent: this, dependsOn: [costAlertsPolicy] });

    this.registerOutputs({
      kmsKeyArn: this.kmsKeyArn,
      costAlertTopicArn: this.costAlertTopicArn,
      emergencyTopicArn: this.emergencyTopicArn,
      emergencyQueueUrl: this.emergencyQueueUrl,
      emergencyQueueArn: this.emergencyQueueArn,
      emergencyDeadLetterQueueUrl: this.emergencyDeadLetterQueueUrl,
      emergencyDeadLetterQueueArn: this.emergencyDeadLetterQueueArn,
      dailyBudgetName: this.dailyBudgetName,
      monthlyBudgetName: this.monthlyBudgetName,
      weeklyLimitUsd: this.weeklyLimitUsd,
      anomalyMonitorArn: this.anomalyMonitorArn,
      tagAnomalyMonitorArn: this.tagAnomalyMonitorArn,
    });
  }
}

/**
 * Checks the arguments and returns the effective cost allocation tag. Throws one error listing
 * every problem, each naming the field, its value and what is allowed.
 */
export function validateCostControlsArgs(name: string, args: CostControlsArgs): CostAllocationTag {
  const problems: string[] = [];
  const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
  const problem = (field: string, value: unknown, message: string) => problems.push(`${field} = ${show(value)}: ${message}`);

  if (args.environment !== "prod" && args.environment !== "dev") problem("environment", args.environment, "must be one of prod, dev");

  const positive = (field: keyof BudgetSettings, max?: number) => {
    const v = args[field] as unknown;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (max !== undefined && v > max)) {
      problem(field, v, max === undefined ? "must be a number greater than 0" : `must be a number greater than 0 and at most ${max}`);
      return false;
    }
    return true;
  };
  const dailyOk = positive("dailyUsd");
  const weeklyOk = positive("weeklyUsd");
  const monthlyOk = positive("monthlyUsd");
  const warningOk = positive("warningPercent", 100);
  const emergencyOk = positive("emergencyPercent", 100);
  positive("anomalyImpactUsd");

  if (warningOk && emergencyOk && args.warningPercent >= args.emergencyPercent) {
    problem("warningPercent", args.warningPercent, `must be below emergencyPercent (${args.emergencyPercent})`);
  }
  if (dailyOk && weeklyOk && args.dailyUsd > args.weeklyUsd) {
    problem("dailyUsd", args.dailyUsd, `must not exceed weeklyUsd (${args.weeklyUsd})`);
  }
  if (weeklyOk && monthlyOk && args.weeklyUsd > args.monthlyUsd) {
    problem("weeklyUsd", args.weeklyUsd, `must not exceed monthlyUsd (${args.monthlyUsd})`);
  }

  const tag = args.costAllocationTag ?? { key: "environment", value: args.environment };
  if (typeof tag.key !== "string" || tag.key.length < 1 || tag.key.length > 128 || !tagCharacters.test(tag.key) || tag.key.toLowerCase().startsWith("aws:")) {
    problem("costAllocationTag.key", tag.key, "must be an AWS tag key: 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:");
  }
  if (typeof tag.value !== "string" || tag.value.length < 1 || tag.value.length > 256 || !tagCharacters.test(tag.value)) {
    problem("costAllocationTag.value", tag.value, "must be an AWS tag value: 1-256 letters, digits, spaces or _ . : / = + - @");
  }

  // Secrets: checked here when known, never echoed.
  if (typeof args.alertEmail === "string" && !emailPattern.test(args.alertEmail)) {
    problems.push("alertEmail = [secret]: must be an e-mail address");
  }
  if (typeof args.emergencyWebhookUrl === "string" && !httpsUrlPattern.test(args.emergencyWebhookUrl)) {
    problems.push("emergencyWebhookUrl = [secret]: must be an https:// URL");
  }

  if (problems.length > 0) {
    throw new Error(`CostControls "${name}": invalid arguments (${problems.length}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return tag;
}

function roundCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** Budget limits as AWS Budgets takes them: a decimal string, at most two decimals. */
function formatUsd(usd: number): string {
  return String(roundCents(usd));
}

function ownerStatement(topicArn: string, account: string, partition: string) {
  return {
    Sid: "AccountAdministers",
    Effect: "Allow",
    Principal: { AWS: `arn:${partition}:iam::${account}:root` },
    Action: [
      "SNS:GetTopicAttributes",
      "SNS:SetTopicAttributes",
      "SNS:AddPermission",
      "SNS:RemovePermission",
      "SNS:DeleteTopic",
      "SNS:Subscribe",
      "SNS:ListSubscriptionsByTopic",
      "SNS:Publish",
    ],
    Resource: topicArn,
  };
}

function budgetsPublishStatement(topicArn: string, account: string, partition: string) {
  return {
    Sid: "BudgetsPublish",
    Effect: "Allow",
    Principal: { Service: "budgets.amazonaws.com" },
    Action: "SNS:Publish",
    Resource: topicArn,
    // Only this account's budgets (confused-deputy protection).
    Condition: {
      StringEquals: { "aws:SourceAccount": account },
      ArnLike: { "aws:SourceArn": `arn:${partition}:budgets::${account}:*` },
    },
  };
}

function denyInsecureTransport(resourceArn: string, action: string) {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: action,
    Resource: resourceArn,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/** Queue policy: SNS may send only from the given topic; nothing is reachable without TLS. */
function onlyTopicMaySend(queueArn: pulumi.Input<string>, topicArn: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.all([queueArn, topicArn]).apply(([queue, topic]) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "EmergencyTopicSends",
          Effect: "Allow",
          Principal: { Service: "sns.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: queue,
          Condition: { ArnEquals: { "aws:SourceArn": topic } },
        },
        denyInsecureTransport(queue, "sqs:*"),
      ],
    }),
  );
}
