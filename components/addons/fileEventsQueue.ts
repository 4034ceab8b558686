/**
 * The file-events queue: the S3 file bucket's event notifications go to SQS (customer-managed KMS
 * key, dead-letter queue after five failed receives), and file-processing scales on its depth.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../../lib/aws/kms";
import { fileEventsQueueName } from "../../lib/catalog/cluster";
import type { Environment } from "../../lib/config/settings";
import { childOptions, failer } from "./shared";

export interface FileEventsQueueArgs {
  /** `prod` or `dev`: tagged on both queues. */
  environment: Environment;
  /** EKS cluster name: the queues are `<clusterName>-file-events` and `<clusterName>-file-events-dlq`. */
  clusterName: string;
  /** AWS account id: only S3 buckets of this account may send, and it administers the key. */
  accountId: pulumi.Input<string>;
  /** AWS partition (`aws`, `aws-cn`, `aws-us-gov`) of the key policy's ARNs. */
  partition: pulumi.Input<string>;
  /** Parent of these resources before the add-on split (see ./shared.ts). Default: none. */
  formerParent?: pulumi.Resource;
}

export class FileEventsQueue extends pulumi.ComponentResource {
  public readonly queueUrl: pulumi.Output<string>;
  public readonly queueArn: pulumi.Output<string>;
  /** Physical queue name: `<clusterName>-file-events`. */
  public readonly queueName: pulumi.Output<string>;
  public readonly deadLetterQueueArn: pulumi.Output<string>;
  /** Key of both queues: consumers need kms:Decrypt on it, S3 may use it (key policy). */
  public readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: FileEventsQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:FileEventsQueue", name, {}, opts);
    const fail = failer("FileEventsQueue", name);
    if (typeof args.clusterName !== "string" || args.clusterName === "") fail(`clusterName = ${JSON.stringify(args.clusterName)}: must be the EKS cluster name`);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const child = childOptions(this, args.formerParent);

    const queueKey = customerManagedKey(`${name}-file-events`, `SQS ${args.clusterName}-${fileEventsQueueName}: file bucket event notifications`, child,
      pulumi.all([args.accountId, args.partition]).apply(([account, partition]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
          {
            // S3 encrypts the notifications it sends to the queue with this key.
            Sid: "S3EventNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
        ],
      })));
    const queueTags = (what: string) => ({ Name: what, environment: args.environment });
    const deadLetterName = `${args.clusterName}-${fileEventsQueueName}-dlq`;
    const deadLetters = new aws.sqs.Queue(`${name}-file-events-dlq`, {
      name: deadLetterName,
      // Two weeks (the SQS maximum) to inspect and redrive failed events.
      messageRetentionSeconds: 1_209_600,
      kmsMasterKeyId: queueKey.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      tags: queueTags(deadLetterName),
    }, child);
    const queueName = `${args.clusterName}-${fileEventsQueueName}`;
    const queue = new aws.sqs.Queue(`${name}-file-events`, {
      name: queueName,
      // Longer than file-processing takes for one file, so a message is not delivered twice meanwhile.
      visibilityTimeoutSeconds: 300,
      messageRetentionSeconds: 345_600,
      // Long polling: consumers wait for messages instead of paying for empty receives.
      receiveWaitTimeSeconds: 20,
      // Five failed attempts move an event to the dead-letter queue instead of blocking the queue.
      redrivePolicy: deadLetters.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 })),
      kmsMasterKeyId: queueKey.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      tags: queueTags(queueName),
    }, child);
    new aws.sqs.RedriveAllowPolicy(`${name}-file-events-dlq-redrive`, {
      queueUrl: deadLetters.url,
      redriveAllowPolicy: queue.arn.apply((arn) => JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [arn] })),
    }, child);
    new aws.sqs.QueuePolicy(`${name}-file-events-policy`, {
      queueUrl: queue.url,
      policy: pulumi.all([queue.arn, args.accountId]).apply(([arn, account]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            // Only S3 buckets of this account may send (confused-deputy protection).
            Sid: "S3EventNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: arn,
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
          { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ],
      })),
    }, child);
    this.queueUrl = queue.url;
    this.queueArn = queue.arn;
    this.queueName = queue.name;
    this.deadLetterQueueArn = deadLetters.arn;
    this.kmsKeyArn = queueKey.arn;
    this.registerOutputs({ queueUrl: this.queueUrl, queueArn: this.queueArn, deadLetterQueueArn: this.deadLetterQueueArn, kmsKeyArn: this.kmsKeyArn });
  }
}
