/**
 * Bootstrap: the state backend of the autoscaling project (stateBackend.ts). Its outputs are the
 * exact strings the main project's deploy uses (scripts/deploy.sh reads them):
 *   pulumi -C bootstrap stack output loginCommand       pulumi login 's3://…?region=…&awssdk=v2'
 *   pulumi -C bootstrap stack output secretsProvider    awskms://alias/pyairtable-pulumi?region=…
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StateBackend } from "./stateBackend";

const config = new pulumi.Config();
const identity = aws.getCallerIdentityOutput({});
const region = aws.getRegionOutput({});
const partition = aws.getPartitionOutput({});
const bucketName = config.get("bucketName") || pulumi.interpolate`pyairtable-pulumi-state-${identity.accountId}-${region.name}`;

const backend = new StateBackend("pyairtable-state", {
  bucketName,
  keyAlias: config.get("keyAlias") || undefined,
  noncurrentVersionDays: config.getNumber("noncurrentVersionDays"),
  region: region.name,
  accountId: identity.accountId,
  partition: partition.partition,
});

export const bucket = backend.bucketName;
export const backendUrl = backend.backendUrl;
export const secretsProvider = backend.secretsProvider;
export const keyAlias = backend.keyAlias;
export const keyArn = backend.keyArn;
export const loginCommand = pulumi.interpolate`pulumi login '${backend.backendUrl}'`;
export const stackInitCommand = pulumi.interpolate`pulumi stack init <stack> --secrets-provider '${backend.secretsProvider}'`;
