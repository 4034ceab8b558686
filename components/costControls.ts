import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import type { BudgetSettings } from "../lib/config/settings";
import { emailPattern, httpsUrlPattern, tagCharacters } from "./cost/policies";
import { anomalyDetection, budgets, costTopics, emergencyQueue, type CostContext } from "./cost/sections";

/** A cost allocation tag that budgets and the tag anomaly monitor filter on. */
export interface CostAllocationTag {
  /** Tag key as it is set on resources (without the `user:` prefix), e.g. `environment`. */
  key: string;
  /** Tag value that marks this stack's resources, e.g. `prod`. */
  value: string;
}

export interface CostControlsArgs extends Omit<BudgetSettings, "costAllocationTagActivation"> {
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
   * The tag must be activated as a cost allocation tag before budgets can see it; until then the
   * budgets read $0. See `costAllocationTagActivation`.
   */
  costAllocationTag?: CostAllocationTag;
  /**
   * Who activates the cost allocation tag (account-wide, payer account only). `stack`: this
   * component, with an `aws.costexplorer.CostAllocationTag` (kept on delete: deactivating would blind
   * every stack's budgets in the account). AWS accepts the activation only once the key appears in
   * billing data, up to 24 h after the first tagged resource: on a first deploy the provider's create
   * fails (it reads the tag back and finds none), so `stack` suits a key AWS already lists.
   * `automation` (default): the automation service activates it as soon as AWS lists it
   * (automation/costAllocationTag.ts). `payer-account`: the organization's management account does.
   */
  costAllocationTagActivation?: "automation" | "stack" | "payer-account";
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

    const ctx: CostContext = { name, args, tag, self: this, parent, tags, alertEmail, accountId, partition, region, key };
    const topics = costTopics(ctx);
    this.costAlertTopicArn = topics.costAlertTopicArn;
    this.emergencyTopicArn = topics.emergencyTopicArn;
    const queues = emergencyQueue(ctx, topics);
    this.emergencyQueueUrl = queues.emergencyQueueUrl;
    this.emergencyQueueArn = queues.emergencyQueueArn;
    this.emergencyDeadLetterQueueUrl = queues.emergencyDeadLetterQueueUrl;
    this.emergencyDeadLetterQueueArn = queues.emergencyDeadLetterQueueArn;
    const budgetNames = budgets(ctx, topics);
    this.dailyBudgetName = budgetNames.dailyBudgetName;
    this.monthlyBudgetName = budgetNames.monthlyBudgetName;
    this.weeklyLimitUsd = budgetNames.weeklyLimitUsd;
    const anomalies = anomalyDetection(ctx, topics);
    if ((args.costAllocationTagActivation ?? "automation") === "stack") {
      new aws.costexplorer.CostAllocationTag(`${name}-tag-activation`, { tagKey: tag.key, status: "Active" }, { parent: this, retainOnDelete: true });
    }
    this.anomalyMonitorArn = anomalies.anomalyMonitorArn;
    this.tagAnomalyMonitorArn = anomalies.tagAnomalyMonitorArn;

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
  const activation = args.costAllocationTagActivation ?? "automation";
  if (!["automation", "stack", "payer-account"].includes(activation)) {
    problem("costAllocationTagActivation", activation, "must be one of automation, stack, payer-account");
  }

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
