import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * A customer-managed KMS key with rotation on and an alias. Every data service gets its own key so a
 * key policy or a compromised grant concerns one service only.
 */
export function customerManagedKey(
  name: string,
  description: string,
  opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource },
  policy?: pulumi.Input<string>,
): aws.kms.Key {
  const key = new aws.kms.Key(
    name,
    {
      description,
      enableKeyRotation: true,
      rotationPeriodInDays: 365,
      deletionWindowInDays: 30,
      ...(policy ? { policy } : {}),
    },
    opts,
  );
  new aws.kms.Alias(`${name}-alias`, { name: `alias/${name}`, targetKeyId: key.keyId }, { ...opts, parent: opts.parent });
  return key;
}

/**
 * Key policy for a key that CloudWatch Logs uses to encrypt log groups: the account administers it,
 * the regional Logs service principal may use it for log groups of this account only.
 */
export function logsKeyPolicy(accountId: pulumi.Input<string>, region: pulumi.Input<string>, partition: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.all([accountId, region, partition]).apply(([account, reg, part]) =>
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
          Sid: "CloudWatchLogsUse",
          Effect: "Allow",
          Principal: { Service: `logs.${reg}.amazonaws.com` },
          // No kms:Describe*: no Describe action carries an encryption context, so under this condition
          // it could never be allowed (Service Authorization Reference; test/iamPolicies.test.ts).
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
          Resource: "*",
          Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${part}:logs:${reg}:${account}:log-group:*` } },
        },
      ],
    }),
  );
}
