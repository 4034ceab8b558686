/**
 * The deploy role, as the Pulumi CLI and everything it starts use it.
 *
 * The service's own identity (IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, injected by the pod
 * identity webhook; or EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI) may only assume the
 * deploy role. Every CLI process gets an AWS shared config file with a profile that assumes it from
 * that identity, and `AWS_PROFILE` naming it. The AWS provider plugin (aws-sdk-go-v2), the AWS CLI
 * that the cluster's kubeconfig runs (`aws eks get-token`) and the Automation API all resolve an
 * explicitly named profile before any environment credential, and the variables that could
 * compete are removed from the CLI's environment: each AWS and Kubernetes call of the update is the
 * deploy role's.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const deployProfile = "pyairtable-deploy";

export interface DeployRoleEnvironment {
  /** Variables set for every CLI process. */
  readonly set: Record<string, string>;
  /** Variables removed from every CLI process's environment. */
  readonly unset: readonly string[];
  /** The AWS config file written (AWS_CONFIG_FILE). */
  readonly configFile: string;
}

const competing = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_DEFAULT_PROFILE"];

/**
 * Writes `<dir>/aws-config` and returns the CLI environment that uses the deploy role. `stack`
 * names the session (CloudTrail shows `pyairtable-automation-<stack>`).
 */
export function deployRoleEnvironment(roleArn: string, stack: string, env: NodeJS.ProcessEnv, dir: string): DeployRoleEnvironment {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) {
    throw new Error(`DEPLOY_ROLE_ARN = ${JSON.stringify(roleArn)}: must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)`);
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const regionLine = region ? [`region = ${region}`] : [];
  const deploy = [`[profile ${deployProfile}]`, `role_arn = ${roleArn}`, `role_session_name = pyairtable-automation-${stack}`.slice(0, 64), ...regionLine];
  let lines: string[];
  let keep: string[] = [];
  if (env.AWS_ROLE_ARN && env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    // IRSA: the service account's role from its projected token, then the deploy role (role chaining).
    lines = [`[profile ${deployProfile}-source]`, `role_arn = ${env.AWS_ROLE_ARN}`, `web_identity_token_file = ${env.AWS_WEB_IDENTITY_TOKEN_FILE}`, "role_session_name = pyairtable-automation-source", ...regionLine, "", ...deploy, `source_profile = ${deployProfile}-source`];
  } else if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
    // EKS Pod Identity: the agent's credentials (the container variables stay set).
    lines = [...deploy, "credential_source = EcsContainer"];
  } else if (env.AWS_ACCESS_KEY_ID) {
    // Static credentials (a workstation): they stay in the environment as the source.
    lines = [...deploy, "credential_source = Environment"];
    keep = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
  } else {
    throw new Error("DEPLOY_ROLE_ARN is set but the service has no AWS identity to assume it from (IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI; or AWS_ACCESS_KEY_ID)");
  }
  lines = ["# Written by the automation service (automation/deployRole.ts): the CLI's AWS identity is the deploy role.", ...lines, ""];
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = path.join(dir, "aws-config");
  fs.writeFileSync(configFile, lines.join("\n"), { mode: 0o600 });
  const unset = competing.filter((k) => !keep.includes(k));
  return { set: { AWS_CONFIG_FILE: configFile, AWS_PROFILE: deployProfile, AWS_SDK_LOAD_CONFIG: "1" }, unset, configFile };
}
