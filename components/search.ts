import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { customerManagedKey } from "../lib/aws/kms";
import type { Environment, SearchSettings } from "../lib/config/settings";
import { designLimits } from "../lib/design";

/** TLS 1.2+ with perfect forward secrecy only. */
export const openSearchTlsPolicy = "Policy-Min-TLS-1-2-PFS-2023-10";

/**
 * What the domain's access policy lets IAM principals of the account do: the HTTP API verbs the
 * services (search and indexing: GET, HEAD, POST, PUT, DELETE) and the administrators' role (the
 * security plugin's bulk edits use PATCH) call. Nothing else (`es:*` would include the configuration API).
 */
export const openSearchHttpActions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"] as const;

/** Log types the domain publishes (AUDIT_LOGS needs fine-grained access control, which is always on). */
export const openSearchLogTypes = ["INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"] as const;

/** T2/T3 ("burstable") instance types: no UltraWarm, no Auto-Tune. */
export function isBurstableSearchInstance(instanceType: string): boolean {
  return /^t[23]\./.test(instanceType);
}

/**
 * Amazon OpenSearch Service domain for search.
 *
 * OpenSearch has no native data-node autoscaling and no automatic EBS growth: the design's "1-6 instances"
 * and "automatic EBS volume expansion" are carried out by the automation service, which changes `dataNodes`
 * and `volumeSizeGiB` in the stack configuration and runs `pulumi up` (a blue/green domain update).
 */
export interface SearchArgs extends SearchSettings {
  /** `prod` or `dev`: tags the resources. */
  environment: Environment;
  /** VPC of the subnets (the domain's security group lives here). */
  vpcId: pulumi.Input<string>;
  /**
   * Private subnets, one per AZ. The domain uses the first `zoneAwarenessAzs` of them (the first one when
   * zone awareness is off), so at least that many are needed.
   */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of search clients (e.g. the EKS node group): the only sources admitted on 443. */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /** KMS key ARN for the domain's log groups (a key whose policy admits CloudWatch Logs). */
  logsKmsKeyArn: pulumi.Input<string>;
  /** Domain name, 3-28 lowercase letters, digits and hyphens, starting with a letter. Default: the component name. */
  domainName?: string;
  /**
   * Principals allowed to assume the administrators' role (the fine-grained access control master user).
   * Default: the account root, i.e. any IAM principal of this account whose own policy allows sts:AssumeRole.
   */
  adminPrincipalArns?: pulumi.Input<string>[];
  /**
   * Create the OpenSearch service-linked role (`opensearchservice.amazonaws.com`) that VPC domains need.
   * Only once per account: leave false where it already exists (creating it twice fails). Default false.
   */
  createServiceLinkedRole?: boolean;
}

/**
 * A VPC-only OpenSearch domain: encrypted at rest under its own KMS key, node-to-node encryption, HTTPS with
 * TLS 1.2+ PFS, fine-grained access control with an IAM master role, gp3 storage, every log type published to
 * KMS-encrypted CloudWatch log groups, and an access policy limited to the account.
 */
export class Search extends pulumi.ComponentResource {
  public readonly domainName: pulumi.Output<string>;
  public readonly domainArn: pulumi.Output<string>;
  /** VPC endpoint host name (HTTPS, port 443). */
  public readonly endpoint: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** IAM role mapped to the security plugin's all_access (the fine-grained access control master user). */
  public readonly adminRoleArn: pulumi.Output<string>;
  public readonly dataNodeCount: number;
  public readonly masterNodeCount: number;

  constructor(name: string, args: SearchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:search:Search", name, {}, opts);
    // Validate before creating anything: AWS would reject these only after the key and log groups exist.
    const domainName = validateSearchArgs(name, args);
    const parent = { parent: this };
    const zones = args.zoneAwarenessAzs ?? 1;

    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);
    const domainArn = pulumi.interpolate`arn:${partition.partition}:es:${region.region}:${identity.accountId}:domain/${domainName}`;

    const key = customerManagedKey(`${name}-kms`, `OpenSearch ${domainName}: encryption at rest`, parent);

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `OpenSearch ${domainName}: HTTPS from search clients only`,
      // No egress rules: the domain's ENIs only answer inbound requests (stateful).
      tags: { Name: `${name}-opensearch` },
    }, parent);
    args.clientSecurityGroupIds.forEach((source, i) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-https-${i}`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: source,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        description: "OpenSearch HTTPS",
        tags: { Name: `${name}-https-${i}` },
      }, parent),
    );

    const adminRole = new aws.iam.Role(`${name}-admin`, {
      description: `Administrators of OpenSearch domain ${domainName} (fine-grained access control master user)`,
      assumeRolePolicy: pulumi
        .all([identity.accountId, partition.partition, pulumi.output(args.adminPrincipalArns ?? [])])
        .apply(([account, part, principals]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [{
              Effect: "Allow",
              Principal: { AWS: principals.length > 0 ? principals : `arn:${part}:iam::${account}:root` },
              Action: "sts:AssumeRole",
            }],
          }),
        ),
      tags: { Name: `${name}-admin` },
    }, parent);

    const logGroups = openSearchLogTypes.map((logType) => ({
      logType,
      group: new aws.cloudwatch.LogGroup(`${name}-${logType.toLowerCase().replace(/_/g, "-")}`, {
        name: `/aws/opensearch/${domainName}/${logType.toLowerCase().replace(/_/g, "-")}`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.logsKmsKeyArn,
        tags: { Name: `${name}-${logType.toLowerCase()}` },
      }, parent),
    }));

    // OpenSearch writes to the groups as es.amazonaws.com; only this domain of this account may.
    const logPolicy = new aws.cloudwatch.LogResourcePolicy(`${name}-log-policy`, {
      policyName: `${domainName}-opensearch-logs`,
      policyDocument: pulumi
        .all([identity.accountId, domainArn, ...logGroups.map((l) => l.group.arn)])
        .apply(([account, arn, ...groupArns]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [{
              Sid: "OpenSearchPublishLogs",
              Effect: "Allow",
              Principal: { Service: "es.amazonaws.com" },
              Action: ["logs:PutLogEvents", "logs:CreateLogStream"],
              Resource: groupArns.map((g) => `${g}:*`),
              Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": arn } },
            }],
          }),
        ),
    }, parent);

    const serviceLinkedRole = args.createServiceLinkedRole
      ? [new aws.iam.ServiceLinkedRole(`${name}-service-role`, { awsServiceName: "opensearchservice.amazonaws.com" }, parent)]
      : [];

    const burstable = isBurstableSearchInstance(args.dataInstanceType);
    const domain = new aws.opensearch.Domain(`${name}-domain`, {
      domainName,
      engineVersion: args.engineVersion,
      clusterConfig: {
        instanceType: args.dataInstanceType,
        instanceCount: args.dataNodes,
        dedicatedMasterEnabled: args.dedicatedMasters !== null,
        ...(args.dedicatedMasters ? { dedicatedMasterType: args.dedicatedMasters.instanceType, dedicatedMasterCount: args.dedicatedMasters.count } : {}),
        zoneAwarenessEnabled: args.zoneAwarenessAzs !== null,
        ...(args.zoneAwarenessAzs !== null ? { zoneAwarenessConfig: { availabilityZoneCount: args.zoneAwarenessAzs } } : {}),
        warmEnabled: args.warm !== null,
        ...(args.warm ? { warmType: args.warm.instanceType, warmCount: args.warm.count } : {}),
      },
      vpcOptions: {
        // Exactly one subnet per zone the domain spans: OpenSearch rejects more subnets than zones.
        subnetIds: args.subnetIds.slice(0, zones),
        securityGroupIds: [sg.id],
      },
      ebsOptions: {
        ebsEnabled: true,
        volumeType: "gp3",
        volumeSize: args.volumeSizeGiB,
        iops: args.volumeIops,
        throughput: args.volumeThroughputMiBps,
      },
      encryptAtRest: { enabled: true, kmsKeyId: key.arn },
      nodeToNodeEncryption: { enabled: true },
      domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: openSearchTlsPolicy },
      advancedSecurityOptions: {
        enabled: true,
        anonymousAuthEnabled: false,
        // IAM identities only: no passwords to rotate or leak.
        internalUserDatabaseEnabled: false,
        masterUserOptions: { masterUserArn: adminRole.arn },
      },
      // IAM lets the account in for the HTTP API only; fine-grained access control then decides per
      // index and action. Configuration actions (UpdateDomainConfig, DeleteDomain...) are not granted
      // here: the deploy role's own identity policy governs them.
      accessPolicies: pulumi.all([identity.accountId, partition.partition, domainArn]).apply(([account, part, arn]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{
            Effect: "Allow",
            Principal: { AWS: `arn:${part}:iam::${account}:root` },
            Action: [...openSearchHttpActions],
            Resource: `${arn}/*`,
          }],
        }),
      ),
      logPublishingOptions: logGroups.map((l) => ({ logType: l.logType, cloudwatchLogGroupArn: l.group.arn, enabled: true })),
      // Auto-Tune is not available on T2/T3 instance types (AWS rejects it): left unset there.
      ...(burstable ? {} : { autoTuneOptions: { desiredState: "ENABLED", rollbackOnDisable: "NO_ROLLBACK", useOffPeakWindow: true } }),
      // Service software updates and Auto-Tune run in the off-peak window, outside business hours (08-18 UTC).
      offPeakWindowOptions: { enabled: true, offPeakWindow: { windowStartTime: { hours: 2, minutes: 0 } } },
      softwareUpdateOptions: { autoSoftwareUpdateEnabled: true },
      tags: { Name: domainName },
    }, { parent: this, dependsOn: [logPolicy, ...serviceLinkedRole] });

    this.domainName = domain.domainName;
    this.domainArn = domain.arn;
    this.endpoint = domain.endpoint;
    this.securityGroupId = sg.id;
    this.kmsKeyArn = key.arn;
    this.adminRoleArn = adminRole.arn;
    this.dataNodeCount = args.dataNodes;
    this.masterNodeCount = args.dedicatedMasters?.count ?? 0;

    this.registerOutputs({
      domainName: this.domainName,
      domainArn: this.domainArn,
      endpoint: this.endpoint,
      securityGroupId: this.securityGroupId,
      kmsKeyArn: this.kmsKeyArn,
      adminRoleArn: this.adminRoleArn,
      dataNodeCount: this.dataNodeCount,
      masterNodeCount: this.masterNodeCount,
    });
  }
}

/** Checks the arguments; returns the domain name. Throws naming the field, value and what is allowed. */
function validateSearchArgs(name: string, args: SearchArgs): string {
  const domainName = args.domainName ?? name;
  if (!/^[a-z][a-z0-9-]{2,27}$/.test(domainName)) {
    throw new Error(`search domainName = ${JSON.stringify(domainName)}: must be 3-28 lowercase letters, digits and hyphens, starting with a letter (OpenSearch domain names)`);
  }
  const { min, max } = designLimits.openSearchDataNodes;
  if (!Number.isInteger(args.dataNodes) || args.dataNodes < min || args.dataNodes > max) {
    throw new Error(`search.dataNodes = ${args.dataNodes}: must be an integer from ${min} to ${max} (design: OpenSearch 1-6 instances)`);
  }
  const azs = args.zoneAwarenessAzs;
  if (azs !== null) {
    if (azs !== 2 && azs !== 3) {
      throw new Error(`search.zoneAwarenessAzs = ${azs}: must be 2, 3 or null`);
    }
    if (args.dataNodes % azs !== 0) {
      throw new Error(`search.dataNodes = ${args.dataNodes}: must be a multiple of zoneAwarenessAzs (${azs}) so every zone holds the same number of data nodes`);
    }
  }
  const needed = azs ?? 1;
  if (args.subnetIds.length < needed) {
    throw new Error(`search subnetIds has ${args.subnetIds.length} subnet${args.subnetIds.length === 1 ? "" : "s"}: zoneAwarenessAzs = ${azs} needs ${needed}, one per availability zone`);
  }
  if (args.clientSecurityGroupIds.length === 0) {
    throw new Error("search clientSecurityGroupIds is empty: at least one client security group must be admitted, or no client can reach the domain");
  }
  if (args.dedicatedMasters !== null && args.dedicatedMasters.count !== 3 && args.dedicatedMasters.count !== 5) {
    throw new Error(`search.dedicatedMasters.count = ${args.dedicatedMasters.count}: must be 3 or 5 (a master quorum that survives one loss)`);
  }
  if (args.warm !== null) {
    if (isBurstableSearchInstance(args.dataInstanceType)) {
      throw new Error(`search.warm = ${JSON.stringify(args.warm)}: UltraWarm is not available with T2/T3 data nodes (search.dataInstanceType = ${JSON.stringify(args.dataInstanceType)}); use null or a non-burstable data instance type such as r6g.large.search`);
    }
    if (args.dedicatedMasters === null) {
      throw new Error(`search.warm = ${JSON.stringify(args.warm)}: UltraWarm requires dedicated master nodes (search.dedicatedMasters = null); set dedicatedMasters or use warm: null`);
    }
  }
  if (!Number.isInteger(args.volumeSizeGiB) || args.volumeSizeGiB < 10) {
    throw new Error(`search.volumeSizeGiB = ${args.volumeSizeGiB}: must be an integer of at least 10 (gp3 GiB per data node)`);
  }
  return domainName;
}
