/**
 * Policy statements and number formats of the CostControls component (topics, queues, budgets).
 */
import * as pulumi from "@pulumi/pulumi";

/** AWS tag keys and values: letters, digits, spaces and `_ . : / = + - @` (keys up to 128, values up to 256). */
export const tagCharacters = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
export const httpsUrlPattern = /^https:\/\/[^\s/]+\S*$/;

/** Messages received by the automation service more often than this go to the dead-letter queue. */
export const emergencyMaxReceiveCount = 5;

export function roundCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** Budget limits as AWS Budgets takes them: a decimal string, at most two decimals. */
export function formatUsd(usd: number): string {
  return String(roundCents(usd));
}

export function ownerStatement(topicArn: string, account: string, partition: string) {
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

export function budgetsPublishStatement(topicArn: string, account: string, partition: string) {
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

export function denyInsecureTransport(resourceArn: string, action: string) {
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
export function onlyTopicMaySend(queueArn: pulumi.Input<string>, topicArn: pulumi.Input<string>): pulumi.Output<string> {
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
