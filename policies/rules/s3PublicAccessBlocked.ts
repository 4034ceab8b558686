import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { peek, refersTo, UNKNOWN } from "../lib";

export interface S3PublicAccessBlockedConfig {
  /** Buckets (logical or bucket names) reviewed to be public; none by default. */
  exemptBuckets: string[];
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
