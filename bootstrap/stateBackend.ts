import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface StateBackendArgs {
  /** S3 bucket name (globally unique; 3-63 lowercase letters, digits, '.', '-'). */
  bucketName: pulumi.Input<string>;
  /** KMS alias of the key that encrypts the bucket and the stacks' secrets (default `alias/pyairtable-pulumi`). */
  keyAlias?: string;
  /** Days a noncurrent (replaced) checkpoint is kept (default 90). */
  noncurrentVersionDays?: number;
  /** Region (for the backend URL and the secrets provider string). */
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
}

/**
 * The Pulumi state backend of the autoscaling project: an S3 bucket, versioned (every checkpoint
 * recoverable), encrypted with a customer-managed KMS key, public access blocked, objects owned by
 * the bucket owner, TLS 1.2+ only; and that key (rotated yearly) behind an alias, which is also
 * the `awskms://` secrets provider of the stacks. Both are protected against deletion.
 */
export class StateBackend extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly keyArn: pulumi.Output<string>;
  public readonly keyAlias: string;
  /** `s3://<bucket>?region=<region>&awssdk=v2`: PULUMI_BACKEND_URL and `pulumi login`. */
  public readonly backendUrl: pulumi.Output<string>;
  /** `awskms://<alias>?region=<region>`: `pulumi stack init --secrets-provider`. */
  public readonly secretsProvider: pulumi.Output<string>;

  constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:bootstrap:StateBackend", name, {}, opts);
    const keyAlias = args.keyAlias ?? "alias/pyairtable-pulumi";
    const noncurrentVersionDays = args.noncurrentVersionDays ?? 90;
    if (!/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(keyAlias) || keyAlias.startsWith("alias/aws/")) {
      throw new Error(`keyAlias = ${JSON.stringify(keyAlias)}: must be alias/<name> (letters, digits, '/', '_', '-'), not an AWS-managed alias/aws/...`);
    }
    if (!Number.isInteger(noncurrentVersionDays) || noncurrentVersionDays < 1 || noncurrentVersionDays > 3650) {
      throw new Error(`noncurrentVersionDays = ${noncurrentVersionDays}: must be a whole number of days from 1 to 3650`);
    }
    // A name given in config is checked now; the default (account and region) is valid by construction.
    if (typeof args.bucketName === "string" && (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(args.bucketName) || args.bucketName.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(args.bucketName))) {
      throw new Error(`bucketName = ${JSON.stringify(args.bucketName)}: must be an S3 bucket name (3-63 lowercase letters, digits, '.', '-')`);
    }
    this.keyAlias = keyAlias;
    const parent = { parent: this, protect: true };

    const key = new aws.kms.Key(`${name}-key`, {
      description: "Pulumi state and secrets of the PyAirtable autoscaling stacks",
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: pulumi.all([args.partition, args.accountId]).apply(([partition, accountId]) => JSON.stringify({
        Version: "2012-10-17",
        // The account administers the key; IAM policies (operators, the deploy role) grant its use.
        Statement: [{ Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" }],
      })),
    }, parent);
    new aws.kms.Alias(`${name}-alias`, { name: keyAlias, targetKeyId: key.keyId }, parent);

    const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, forceDestroy: false }, parent);
    const child = { parent: this };
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
      bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, child);
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
    }, child);
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
      bucket: bucket.id,
      rules: [{
        id: "checkpoint-history",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: noncurrentVersionDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      }],
    }, child);
    new aws.s3.BucketPolicy(`${name}-tls-only`, {
      bucket: bucket.id,
      policy: bucket.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
          { Sid: "DenyOldTls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } } },
        ],
      })),
    }, child);

    this.bucketName = bucket.bucket;
    this.keyArn = key.arn;
    this.backendUrl = pulumi.interpolate`s3://${bucket.bucket}?region=${args.region}&awssdk=v2`;
    this.secretsProvider = pulumi.interpolate`awskms://${keyAlias}?region=${args.region}`;
    this.registerOutputs({ bucketName: this.bucketName, keyArn: this.keyArn, backendUrl: this.backendUrl, secretsProvider: this.secretsProvider });
  }
}
