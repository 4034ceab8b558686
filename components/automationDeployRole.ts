import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { deployRolePolicy, deployRoleRbacRules, stateBucketOf } from "../lib/automation/deployPolicy";

export interface AutomationDeployRoleArgs {
  /** Stack the role updates (role name and session tags). */
  stack: string;
  /** `environment` tag of the stack's resources: writes are limited to resources carrying it. */
  environment: string;
  /** The automation service's own role (IRSA), the only principal that may assume this one. */
  serviceRoleArn: pulumi.Input<string>;
  /** EKS cluster the access entry is created in. */
  clusterName: pulumi.Input<string>;
  /** State backend URL (`s3://bucket[/prefix]`): the role may read and write that bucket. */
  backendUrl: string;
  /** KMS alias of the state and secrets-provider key created by bootstrap/ (default `alias/pyairtable-pulumi`). */
  stateKeyAlias?: string;
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  provider: k8s.Provider;
}

/** Kubernetes group the access entry maps the role to; only the ClusterRoleBinding below grants it anything. */
export const deployerGroup = "pyairtable:automation-deployer";

/**
 * The role the automation service's `pulumi up` runs as (automation/deployRole.ts): trusted by the
 * service's own role only; its IAM policy reads what the program manages and writes only the
 * capacity settings of lib/automation/remit.ts; an EKS access entry maps it to a Kubernetes group
 * whose RBAC reads and patches only the remit's kinds. It holds no IAM write action, so it cannot
 * widen itself.
 */
export class AutomationDeployRole extends pulumi.ComponentResource {
  public readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: AutomationDeployRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:automation:AutomationDeployRole", name, {}, opts);
    if (!/^[a-z0-9-]+$/.test(args.environment)) throw new Error(`environment = ${JSON.stringify(args.environment)}: must be lowercase letters, digits and '-'`);
    const stateKeyAlias = args.stateKeyAlias ?? "alias/pyairtable-pulumi";
    if (!/^alias\/[A-Za-z0-9/_-]+$/.test(stateKeyAlias)) throw new Error(`stateKeyAlias = ${JSON.stringify(stateKeyAlias)}: must be a KMS alias (alias/<name>)`);
    const parent = { parent: this };

    const role = new aws.iam.Role(`${name}-role`, {
      description: `PyAirtable automation deploy role (${args.stack}): capacity settings only`,
      maxSessionDuration: 3600,
      assumeRolePolicy: pulumi.output(args.serviceRoleArn).apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: arn }, Action: "sts:AssumeRole" }],
      })),
    }, parent);
    this.roleArn = role.arn;

    new aws.iam.RolePolicy(`${name}-policy`, {
      role: role.id,
      policy: pulumi.all([args.partition, args.region, args.accountId]).apply(([partition, region, accountId]) => JSON.stringify(deployRolePolicy({
        partition, region, accountId, environment: args.environment, stateBucket: stateBucketOf(args.backendUrl), stateKeyAlias,
      }))),
    }, parent);

    new aws.eks.AccessEntry(`${name}-access`, {
      clusterName: args.clusterName,
      principalArn: role.arn,
      type: "STANDARD",
      kubernetesGroups: [deployerGroup],
    }, parent);

    const k8sOpts = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/part-of": "pyairtable", "app.kubernetes.io/managed-by": "pulumi" };
    const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-deployer`, {
      metadata: { name: "pyairtable-automation-deployer", labels },
      rules: deployRoleRbacRules(),
    }, k8sOpts);
    new k8s.rbac.v1.ClusterRoleBinding(`${name}-deployer`, {
      metadata: { name: "pyairtable-automation-deployer", labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: deployerGroup }],
    }, k8sOpts);

    this.registerOutputs({ roleArn: this.roleArn });
  }
}
