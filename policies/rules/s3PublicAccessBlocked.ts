import * as aws from "@pulumi/aws";
import { type PolicyResource, type StackValidationPolicy, UnknownValueError } from "@pulumi/policy";

export interface S3PublicAccessBlockedConfig {
  /** Buckets (logical or bucket names) reviewed to be public; none by default. */
  exemptBuckets: string[];
}

// Values that cannot be judged: preview unknowns (the analyzer's proxy throws UnknownValueError when one
// is read; the offline plan records `{ __pulumiUnknown: true }`) and masked secrets.
const UNKNOWN = Symbol("unknown");
const isUnknown = (v: unknown): boolean =>
  v === UNKNOWN || v === "[secret]" || (typeof v === "object" && v !== null && (v as { __pulumiUnknown?: unknown }).__pulumiUnknown === true);
/** `value[path[0]][path[1]]...`: undefined when absent, UNKNOWN when it cannot be judged. */
function peek(value: unknown, ...path: (string | number)[]): unknown {
  try {
    for (const key of path) {
      if (isUnknown(value)) return UNKNOWN;
      value = (value as Record<string | number, unknown> | null | undefined)?.[key];
    }
    return isUnknown(value) ? UNKNOWN : value;
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN;
    throw e;
  }
}
/**
 * Whether `from.props[prop]` refers to `to`: by the engine's property dependencies (during a preview a
 * new resource's id is unknown, but the dependency is recorded), else by value against `to`'s ids
 * (its physical name, its `id` output, its logical name and `<logical name>-id`, which the offline
 * plan's mocks use for autonamed resources). UNKNOWN when it cannot be told.
 */
function refersTo(from: PolicyResource, prop: string, to: PolicyResource, ids: unknown[]): boolean | typeof UNKNOWN {
  const deps = from.propertyDependencies?.[prop] ?? [];
  if (deps.some((d) => d.urn === to.urn)) return true;
  const value = peek(from.props, prop);
  if (value === UNKNOWN) return deps.length > 0 ? false : UNKNOWN;
  const known = [...ids, peek(to.props, "id"), to.name, `${to.name}-id`].filter((v) => typeof v === "string" && v !== "");
  return typeof value === "string" && known.includes(value);
}

const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** The flags of a public access block that are not (known to be) true. */
const flagsOff = (block: PolicyResource) => flags.filter((f) => {
  const v = peek(block.props, f);
  return v !== true && v !== UNKNOWN;
});

/**
 * No S3 bucket may become public by an ACL or a bucket policy: each has a BucketPublicAccessBlock with
 * all four flags on (or the account's AccountPublicAccessBlock in the stack has them all on). The block
 * is matched to its bucket by reference. A stack without buckets passes.
 */
export const s3PublicAccessBlocked: StackValidationPolicy = {
  name: "s3-public-access-blocked",
  description: "Every S3 bucket has a public access block with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets on.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Create an aws.s3.BucketPublicAccessBlock for the bucket (`bucket: bucket.id`) with all four flags true, next to the bucket. Serve public content through CloudFront with origin access control, never a public bucket.",
  configSchema: {
    properties: {
      exemptBuckets: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { exemptBuckets } = args.getConfig<S3PublicAccessBlockedConfig>();
    const buckets = args.resources.filter((r) => r.isType(aws.s3.Bucket) || r.isType(aws.s3.BucketV2));
    if (buckets.length === 0) return;
    const accountBlock = args.resources.find((r) => r.isType(aws.s3.AccountPublicAccessBlock) && flagsOff(r).length === 0);
    if (accountBlock) return;
    const blocks = args.resources.filter((r) => r.isType(aws.s3.BucketPublicAccessBlock));

    for (const bucket of buckets) {
      const bucketName = peek(bucket.props, "bucket");
      if (exemptBuckets.includes(bucket.name) || (typeof bucketName === "string" && exemptBuckets.includes(bucketName))) continue;
      const what = `S3 bucket ${typeof bucketName === "string" ? bucketName : bucket.name}`;
      const refs = blocks.map((block) => ({ block, ref: refersTo(block, "bucket", bucket, [bucketName]) }));
      if (refs.some((x) => x.ref === UNKNOWN)) continue;
      const own = refs.filter((x) => x.ref === true).map((x) => x.block);
      if (own.length === 0) {
        reportViolation(`${what}: no BucketPublicAccessBlock: ACLs and bucket policies can make it public`, bucket.urn);
        continue;
      }
      if (own.some((block) => flagsOff(block).length === 0)) continue;
      for (const block of own) {
        reportViolation(`${what}: public access block ${block.name} leaves ${flagsOff(block).join(", ")} off: all four flags must be true`, block.urn);
      }
    }
  },
};
