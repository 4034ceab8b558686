import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isSet, nodeClassType, objectName, peek, peekList, refersTo, show, UNKNOWN } from "../lib";

export interface EncryptionAtRestWithCustomerKeysConfig {
  /** Accept SQS-managed encryption (SSE-SQS) for queues instead of a customer-managed key. */
  allowSqsManagedSse: boolean;
}

const isBucket = (r: PolicyResource) => r.isType(aws.s3.Bucket) || r.isType(aws.s3.BucketV2);
const isBucketEncryption = (r: PolicyResource) =>
  r.isType(aws.s3.BucketServerSideEncryptionConfiguration) || r.isType(aws.s3.BucketServerSideEncryptionConfigurationV2);
const kmsAlgorithms = ["aws:kms", "aws:kms:dsse"];

/**
 * Encryption at rest with customer-managed KMS keys ("Each data service has its own customer-managed
 * KMS key"): a customer key can be rotated, audited and revoked, and its key policy decides who
 * decrypts; the AWS-owned or AWS-managed default keys give none of that. Checks Aurora, ElastiCache,
 * MSK, OpenSearch, EKS secrets, node volumes (launch templates and Karpenter EC2NodeClasses), SQS,
 * SNS, S3 buckets and CloudWatch log groups (vended-log groups included). Stack-wide because an S3
 * bucket's encryption lives in a separate resource.
 */
export const encryptionAtRestWithCustomerKeys: StackValidationPolicy = {
  name: "encryption-at-rest-with-customer-keys",
  description: "Data services, node volumes, queues, topics, buckets and log groups are encrypted at rest with customer-managed KMS keys.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Turn encryption at rest on and pass a customer-managed key (lib/aws/kms.ts customerManagedKey) to the resource's key property: kmsKeyId (Aurora, ElastiCache, OpenSearch, log groups, EBS), encryptionAtRestKmsKeyArn (MSK), encryptionConfigKeyArn (EKS), kmsMasterKeyId (SQS, SNS, S3 aws:kms default encryption).",
  configSchema: {
    properties: {
      allowSqsManagedSse: { type: "boolean", default: true },
    },
  },
  validateStack: (args, reportViolation) => {
    const { allowSqsManagedSse } = args.getConfig<EncryptionAtRestWithCustomerKeysConfig>();
    const noCustomerKey = (what: string, field: string) =>
      `${what}: ${field} is not set: data at rest would be encrypted with an AWS-owned or AWS-managed key, not a customer-managed KMS key`;

    for (const r of args.resources) {
      const p = r.props;
      const report = (message: string) => reportViolation(message, r.urn);
      const requireOn = (what: string, field: string, value: unknown) => {
        if (value !== UNKNOWN && value !== true && value !== "true") report(`${what}: ${field} is ${show(value)}: data at rest is not encrypted`);
      };
      const requireKey = (what: string, field: string, value: unknown) => {
        if (!isSet(value)) report(noCustomerKey(what, field));
      };

      if (r.isType(aws.rds.Cluster)) {
        const what = `Aurora cluster ${r.name}`;
        requireOn(what, "storageEncrypted", peek(p, "storageEncrypted"));
        requireKey(what, "kmsKeyId", peek(p, "kmsKeyId"));
      } else if (r.isType(aws.elasticache.ReplicationGroup)) {
        const what = `ElastiCache replication group ${r.name}`;
        requireOn(what, "atRestEncryptionEnabled", peek(p, "atRestEncryptionEnabled"));
        requireKey(what, "kmsKeyId", peek(p, "kmsKeyId"));
      } else if (r.isType(aws.msk.Cluster)) {
        // MSK always encrypts at rest; without a key ARN it uses the AWS-managed aws/kafka key.
        requireKey(`MSK cluster ${r.name}`, "encryptionInfo.encryptionAtRestKmsKeyArn", peek(p, "encryptionInfo", "encryptionAtRestKmsKeyArn"));
      } else if (r.isType(aws.opensearch.Domain)) {
        const what = `OpenSearch domain ${r.name}`;
        requireOn(what, "encryptAtRest.enabled", peek(p, "encryptAtRest", "enabled"));
        requireKey(what, "encryptAtRest.kmsKeyId", peek(p, "encryptAtRest", "kmsKeyId"));
      } else if (r.type === "eks:index:Cluster") {
        requireKey(`EKS cluster ${r.name}`, "encryptionConfigKeyArn (secrets envelope encryption)", peek(p, "encryptionConfigKeyArn"));
      } else if (r.isType(aws.eks.Cluster)) {
        // The cluster @pulumi/eks creates underneath (or a plain aws.eks.Cluster).
        const what = `EKS cluster ${r.name}`;
        const config = peek(p, "encryptionConfig");
        const resources = peekList(config, "resources");
        requireKey(what, "encryptionConfig.provider.keyArn (secrets envelope encryption)", peek(config, "provider", "keyArn"));
        if (isSet(config) && resources !== UNKNOWN && !(resources ?? []).some((x) => x === "secrets" || x === UNKNOWN)) {
          report(`${what}: encryptionConfig.resources ${show(resources)} does not include "secrets"`);
        }
      } else if (r.isType(aws.ec2.LaunchTemplate)) {
        const what = `launch template ${r.name}`;
        const mappings = peekList(p, "blockDeviceMappings");
        if (mappings === UNKNOWN) continue;
        if (!mappings || mappings.length === 0) {
          report(`${what}: declares no blockDeviceMappings: the root volume takes the AMI's settings; declare it with encrypted "true" and a customer-managed kmsKeyId`);
          continue;
        }
        for (const m of mappings) {
          const ebs = peek(m, "ebs");
          if (ebs === undefined || ebs === UNKNOWN) continue; // instance store or no-device mappings
          const device = `${what} volume ${peek(m, "deviceName") ?? "(unnamed)"}`;
          requireOn(device, "ebs.encrypted", peek(ebs, "encrypted"));
          requireKey(device, "ebs.kmsKeyId", peek(ebs, "kmsKeyId"));
        }
      } else if (r.type === nodeClassType) {
        const what = `EC2NodeClass ${objectName(p)}`;
        const mappings = peekList(p, "spec", "blockDeviceMappings");
        if (mappings === UNKNOWN) continue;
        if (!mappings || mappings.length === 0) {
          report(`${what}: declares no blockDeviceMappings: Karpenter's default root volume is encrypted with the AWS-managed aws/ebs key; declare it with encrypted true and a customer-managed kmsKeyID`);
          continue;
        }
        for (const m of mappings) {
          const device = `${what} volume ${peek(m, "deviceName") ?? "(unnamed)"}`;
          requireOn(device, "ebs.encrypted", peek(m, "ebs", "encrypted"));
          requireKey(device, "ebs.kmsKeyID", peek(m, "ebs", "kmsKeyID"));
        }
      } else if (r.isType(aws.sqs.Queue)) {
        const key = peek(p, "kmsMasterKeyId");
        const managed = peek(p, "sqsManagedSseEnabled");
        if (!isSet(key) && !(allowSqsManagedSse && (managed === true || managed === UNKNOWN))) {
          report(allowSqsManagedSse
            ? `SQS queue ${r.name}: neither kmsMasterKeyId nor sqsManagedSseEnabled is set: messages at rest are not known to be encrypted`
            : noCustomerKey(`SQS queue ${r.name}`, "kmsMasterKeyId"));
        }
      } else if (r.isType(aws.sns.Topic)) {
        requireKey(`SNS topic ${r.name}`, "kmsMasterKeyId", peek(p, "kmsMasterKeyId"));
      } else if (r.isType(aws.cloudwatch.LogGroup)) {
        const name = peek(p, "name");
        requireKey(`log group ${typeof name === "string" ? name : r.name}`, "kmsKeyId", peek(p, "kmsKeyId"));
      } else if (isBucket(r)) {
        checkBucket(r, args.resources, report);
      }
    }
  },
};

/**
 * An S3 bucket's default encryption: inline (`serverSideEncryptionConfiguration` on aws.s3.Bucket,
 * `serverSideEncryptionConfigurations` on the deprecated BucketV2) or a separate
 * BucketServerSideEncryptionConfiguration(V2) naming the bucket. It must be aws:kms (or aws:kms:dsse)
 * with a customer-managed key; without kmsMasterKeyId S3 uses the AWS-managed aws/s3 key.
 */
function checkBucket(bucket: PolicyResource, all: readonly PolicyResource[], report: (message: string) => void): void {
  const what = `S3 bucket ${bucket.name}`;
  const defaults: unknown[] = [];
  const inline = peek(bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault");
  if (inline !== undefined) defaults.push(inline);
  const inlineV2 = peekList(bucket.props, "serverSideEncryptionConfigurations");
  if (inlineV2 === UNKNOWN) return;
  for (const c of inlineV2 ?? []) {
    const rules = peekList(c, "rules");
    if (rules === UNKNOWN) return;
    for (const rule of rules ?? []) {
      const byDefault = peekList(rule, "applyServerSideEncryptionByDefaults");
      if (byDefault === UNKNOWN) return;
      defaults.push(...(byDefault ?? []));
    }
  }
  for (const sse of all.filter(isBucketEncryption)) {
    const ref = refersTo(sse, "bucket", bucket, [peek(bucket.props, "bucket")]);
    if (ref === UNKNOWN) return;
    if (!ref) continue;
    const rules = peekList(sse.props, "rules");
    if (rules === UNKNOWN) return;
    for (const rule of rules ?? []) defaults.push(peek(rule, "applyServerSideEncryptionByDefault"));
  }
  if (defaults.some((d) => d === UNKNOWN)) return;

  const algorithms = defaults.map((d) => peek(d, "sseAlgorithm"));
  const customer = defaults.some((d) => {
    const algorithm = peek(d, "sseAlgorithm");
    return (algorithm === UNKNOWN || kmsAlgorithms.includes(algorithm as string)) && isSet(peek(d, "kmsMasterKeyId"));
  });
  if (customer) return;
  if (defaults.length === 0) {
    report(`${what}: no server-side encryption configuration: objects are encrypted with S3-managed keys (SSE-S3), not aws:kms with a customer-managed key`);
  } else if (algorithms.some((a) => kmsAlgorithms.includes(a as string))) {
    report(`${what}: default encryption is aws:kms without kmsMasterKeyId: objects are encrypted with the AWS-managed aws/s3 key, not a customer-managed KMS key`);
  } else {
    report(`${what}: default encryption is ${algorithms.map(String).join(", ")}, not aws:kms with a customer-managed key`);
  }
}
