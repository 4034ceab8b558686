import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";

export interface KmsKeyRotationConfig {
  /** Longest automatic rotation period, days (KMS allows 90 to 2560; its default is 365). */
  maxRotationPeriodDays: number;
}

/** KMS rotates key material automatically only for symmetric encryption keys. */
const rotatableSpec = "SYMMETRIC_DEFAULT";
const rotatableUsage = "ENCRYPT_DECRYPT";
const kmsDefaultRotationPeriodDays = 365;

/**
 * Every customer-managed symmetric encryption key rotates its key material automatically
 * ("customer-managed KMS key (rotation on)"), at most every `maxRotationPeriodDays`. Asymmetric and
 * HMAC keys, and keys in a custom key store, cannot rotate automatically and are outside the rule.
 */
export const kmsKeyRotation: ResourceValidationPolicy = {
  name: "kms-key-rotation",
  description: "Symmetric customer-managed KMS keys have automatic key rotation on, within the maximum rotation period.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Set `enableKeyRotation: true` (and `rotationPeriodInDays` within the limit) on the aws.kms.Key; lib/aws/kms.ts customerManagedKey does both.",
  configSchema: {
    properties: {
      maxRotationPeriodDays: { type: "integer", minimum: 90, maximum: 2560, default: 365 },
    },
  },
  validateResource: validateResourceOfType(aws.kms.Key, (key, args, reportViolation) => {
    const { maxRotationPeriodDays } = args.getConfig<KmsKeyRotationConfig>();
    const spec = peek(key, "customerMasterKeySpec") ?? rotatableSpec;
    const usage = peek(key, "keyUsage") ?? rotatableUsage;
    if (spec === UNKNOWN || usage === UNKNOWN || spec !== rotatableSpec || usage !== rotatableUsage) return;
    // Keys in a custom key store (CloudHSM, external) cannot rotate automatically either.
    if (peek(key, "customKeyStoreId") !== undefined) return;
    const what = `KMS key ${args.name}`;
    const rotation = peek(key, "enableKeyRotation");
    if (rotation !== UNKNOWN && rotation !== true) {
      reportViolation(`${what}: enableKeyRotation is ${rotation ?? "not set (default false)"}: its key material never rotates`);
      return;
    }
    const period = peek(key, "rotationPeriodInDays") ?? kmsDefaultRotationPeriodDays;
    if (period !== UNKNOWN && typeof period === "number" && period > maxRotationPeriodDays) {
      reportViolation(`${what}: rotationPeriodInDays ${period} exceeds the maximum of ${maxRotationPeriodDays} days`);
    }
  }),
};
