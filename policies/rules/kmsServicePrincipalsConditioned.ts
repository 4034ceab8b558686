import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";

export interface KmsServicePrincipalsConditionedConfig {
  /** Condition keys that tie a service principal's use to this account or resource (case-insensitive). */
  sourceConditionKeys: string[];
  /** Condition key prefixes that do the same (e.g. `kms:EncryptionContext:` naming this account's resources). */
  sourceConditionKeyPrefixes: string[];
}

type Statement = Record<string, unknown>;
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * KMS key policies give AWS services their key only on behalf of this account (confused-deputy
 * protection): every Allow statement with a `Service` principal has a condition on a source key
 * (`aws:SourceAccount`, `aws:SourceArn`, ...). And no statement names a service-linked role as its
 * principal: KMS refuses a policy whose principal does not exist, and a service-linked role may not exist
 * yet when the key is created (name it in an `aws:PrincipalArn` condition instead).
 */
export const kmsServicePrincipalsConditioned: ResourceValidationPolicy = {
  name: "kms-service-principals-conditioned",
  description: "KMS key policies grant service principals only with source conditions, and name no service-linked role as a principal.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Add `Condition: { StringEquals: { \"aws:SourceAccount\": <account> } }` (or aws:SourceArn) to each statement whose Principal is a Service; replace a service-linked role principal by the account root with an `ArnEquals: { \"aws:PrincipalArn\": <role ARN> }` condition.",
  configSchema: {
    properties: {
      sourceConditionKeys: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: ["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths", "kms:ViaService", "kms:CallerAccount"],
      },
      sourceConditionKeyPrefixes: { type: "array", items: { type: "string", minLength: 1 }, default: ["kms:EncryptionContext:"] },
    },
  },
  validateResource: validateResourceOfType(aws.kms.Key, (key, args, reportViolation) => {
    const config = args.getConfig<KmsServicePrincipalsConditionedConfig>();
    const raw = peek(key, "policy");
    if (raw === UNKNOWN || typeof raw !== "string") return;
    let document: { Statement?: unknown };
    try {
      document = JSON.parse(raw) as { Statement?: unknown };
    } catch {
      reportViolation(`KMS key ${args.name}: policy is not valid JSON`);
      return;
    }
    const keys = new Set(config.sourceConditionKeys.map((k) => k.toLowerCase()));
    const prefixes = config.sourceConditionKeyPrefixes.map((p) => p.toLowerCase());
    const statements = asList(document.Statement) as Statement[];
    statements.forEach((s, i) => {
      const sid = typeof s.Sid === "string" ? s.Sid : `#${i}`;
      const principal = (s.Principal ?? {}) as Record<string, unknown>;
      if (s.Effect === "Allow" && typeof principal === "object") {
        const services = asList(principal.Service).filter((x): x is string => typeof x === "string");
        const conditionKeys = Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>)
          .flatMap((block) => Object.keys(block ?? {}))
          .map((k) => k.toLowerCase());
        const sourced = conditionKeys.some((k) => keys.has(k) || prefixes.some((p) => k.startsWith(p)));
        if (services.length > 0 && !sourced) {
          reportViolation(`KMS key ${args.name}: statement ${sid} allows ${services.join(", ")} without a source condition (one of ${config.sourceConditionKeys.join(", ")} or ${config.sourceConditionKeyPrefixes.join(", ")}*)`);
        }
      }
      const awsPrincipals = asList(typeof principal === "object" ? principal.AWS : undefined).filter((x): x is string => typeof x === "string");
      for (const p of awsPrincipals.filter((a) => a.includes(":role/aws-service-role/"))) {
        reportViolation(`KMS key ${args.name}: statement ${sid} names the service-linked role ${p} as principal: key creation fails while the role does not exist; use the account root with an aws:PrincipalArn condition`);
      }
    });
  }),
};
