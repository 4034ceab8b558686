import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { automationHttpPort, namespaces, priorityClasses, prometheusUrl } from "../lib/catalog/cluster";
import { workloadClassLabel } from "../lib/catalog/workloadClasses";
import type { AutomationSettings } from "../lib/config/settings";
import { automationMetricsService } from "./monitoring";
import { irsaTrustPolicy } from "../lib/aws/irsa";
import { rdsCaBundleConfigMap, rdsCaBundleSha256Annotation } from "../lib/aws/rdsCaBundle";
import { AutomationDeployRole } from "./automationDeployRole";
import { databaseUrlKey } from "./automationDatabase";

export interface AutomationServiceArgs extends AutomationSettings {
  /** Stack the service updates (`pulumi up --stack <stack>`). */
  stack: string;
  provider: k8s.Provider;
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme. */
  oidcIssuer: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** SQS queue subscribed to the budget-emergency topic (the budget guard consumes it). */
  emergencyQueueArn: pulumi.Input<string>;
  emergencyQueueUrl: pulumi.Input<string>;
  /** KMS key encrypting that queue. */
  emergencyQueueKmsKeyArn: pulumi.Input<string>;
  /** Weekly spend limit the service enforces (AWS Budgets has no weekly period), USD. */
  weeklyLimitUsd: number;
  /** Whether the service activates the budgets' cost allocation tag (budgets.costAllocationTagActivation = automation). Default false. */
  activateCostAllocationTag?: boolean;
  /** EKS cluster (the deploy role's access entry). */
  clusterName: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  /** `environment` tag of the stack's resources (the deploy role writes only those). */
  environment: string;
  /**
   * The Amazon RDS CA bundle the service verifies its own Aurora cluster with (only with
   * `databaseSecretName`): the ConfigMap `rds-ca-bundle` in the service's namespace (the add-ons
   * create it) is mounted read-only at {@link databaseCaBundlePath}, and `sha256`, the deployed
   * bundle's digest, is a pod-template annotation, so a bundle AWS changed rolls the pods (the
   * client reads the file when it opens a connection). Default none.
   */
  databaseCaBundle?: { sha256: pulumi.Input<string> };
  /** What must exist first (namespace, monitoring CRDs). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export const automationServiceAccount = "pyairtable-automation";
/** The service account schedulers (CronJob, runbook) request runs as. */
export const schedulerServiceAccount = "pyairtable-scheduler";
const appName = automationMetricsService.selector["app.kubernetes.io/name"];
const httpPort = automationHttpPort;
/** The writable volume: PULUMI_HOME, HOME and the CLI's working files (the root filesystem is read-only). */
const workDir = "/work";
/** Where the Secret's volume is mounted; the service reads `DATABASE_URL_FILE` = `<this>/DATABASE_URL`. */
export const databaseUrlMountPath = "/var/run/secrets/pyairtable/database";
/** Where the RDS CA bundle ConfigMap is mounted (read-only). */
export const databaseCaBundleMountPath = "/etc/pyairtable/rds-ca";
/** The CA bundle file in the pod: the database URL's `sslrootcert` (components/automationDatabase.ts). */
export const databaseCaBundlePath = `${databaseCaBundleMountPath}/${rdsCaBundleConfigMap.key}`;

/**
 * The automation service in the cluster: a Deployment on on-demand system capacity (it must not
 * be evicted by the spot interruptions it reacts to), its ServiceAccount with an IRSA role
 * (consume the budget-emergency queue, read Cost Explorer, assume the deploy role that may update
 * the stack), a Service for /metrics and a PodDisruptionBudget. Replicas elect a leader with a
 * PostgreSQL advisory lock, so more than one is safe.
 */
export class AutomationService extends pulumi.ComponentResource {
  public readonly roleArn: pulumi.Output<string>;
  /** The role `pulumi up` runs as: the stack's own AutomationDeployRole unless `deployRoleArn` names one. */
  public readonly deployRoleArn: pulumi.Output<string>;

  constructor(name: string, args: AutomationServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:automation:AutomationService", name, {}, opts);
    if (args.replicas > 1 && args.databaseSecretName === null) {
      throw new Error(`automation.replicas = ${args.replicas}: more than one replica needs automation.databaseSecretName (a shared PostgreSQL); the embedded database is per pod`);
    }
    if (args.databaseCaBundle && args.databaseSecretName === null) {
      throw new Error(`AutomationService ${name}: databaseCaBundle is set but automation.databaseSecretName = null: the CA bundle verifies the shared PostgreSQL, the embedded database has no TLS`);
    }
    const ns = namespaces.automation;
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: args.dependsOn };

    const role = new aws.iam.Role(`${name}-role`, {
      description: `PyAirtable automation service (${args.stack})`,
      assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, ns, automationServiceAccount),
    }, { parent: this });
    this.roleArn = role.arn;
    this.deployRoleArn = args.deployRoleArn
      ? pulumi.output(args.deployRoleArn)
      : new AutomationDeployRole(`${name}-deploy`, {
        stack: args.stack,
        environment: args.environment,
        serviceRoleArn: role.arn,
        clusterName: args.clusterName,
        backendUrl: args.backendUrl,
        partition: args.partition,
        region: args.region,
        accountId: args.accountId,
        provider: args.provider,
      }, { parent: this }).roleArn;
    new aws.iam.RolePolicy(`${name}-policy`, {
      role: role.id,
      policy: pulumi.all([args.emergencyQueueArn, args.emergencyQueueKmsKeyArn, this.deployRoleArn]).apply(([queueArn, keyArn, deployRoleArn]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "ConsumeBudgetEmergencies", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], Resource: queueArn },
          { Sid: "DecryptBudgetEmergencies", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn },
          { Sid: "ReadSpend", Effect: "Allow", Action: ["ce:GetCostAndUsage", "ce:GetCostForecast", "budgets:ViewBudget"], Resource: "*" },
          // Activates the budgets' cost allocation tag once AWS lists it (automation/costAllocationTag.ts);
          // these actions take no resource-level permissions (Service Authorization Reference).
          ...(args.activateCostAllocationTag ? [{ Sid: "ActivateCostAllocationTag", Effect: "Allow", Action: ["ce:ListCostAllocationTags", "ce:UpdateCostAllocationTagsStatus"], Resource: "*" }] : []),
          { Sid: "UpdateTheStack", Effect: "Allow", Action: "sts:AssumeRole", Resource: deployRoleArn },
        ],
      })),
    }, { parent: this });

    const labels = { ...automationMetricsService.selector, "app.kubernetes.io/part-of": "pyairtable", "app.kubernetes.io/managed-by": "pulumi" };
    new k8s.core.v1.ServiceAccount(`${name}-sa`, {
      metadata: { name: automationServiceAccount, namespace: ns, labels, annotations: { "eks.amazonaws.com/role-arn": role.arn } },
    }, k8sOpts);

    // The identity schedulers use for POST /api/runs (api.allowedServiceAccounts of the service's
    // configuration): no RBAC, no token mounted by default; a CronJob projects one with the audience,
    // and its pods carry `automationClientPodLabels` (lib/k8s/networkPolicies.ts) to get through the
    // namespace's NetworkPolicies to the service's port.
    new k8s.core.v1.ServiceAccount(`${name}-scheduler-sa`, {
      metadata: { name: schedulerServiceAccount, namespace: ns, labels },
      automountServiceAccountToken: false,
    }, k8sOpts);

    const env: k8s.types.input.core.v1.EnvVar[] = [
      { name: "PORT", value: String(httpPort) },
      // Read by one-shot commands run inside a replica (docs/runbook.md): they act on the same stack.
      { name: "AUTOMATION_STACK", value: args.stack },
      { name: "PULUMI_BACKEND_URL", value: args.backendUrl },
      { name: "AWS_REGION", value: args.region },
      { name: "PROMETHEUS_URL", value: prometheusUrl },
      { name: "BUDGET_EMERGENCY_QUEUE_URL", value: args.emergencyQueueUrl },
      { name: "WEEKLY_LIMIT_USD", value: String(args.weeklyLimitUsd) },
      { name: "DEPLOY_ROLE_ARN", value: this.deployRoleArn },
      // The URL comes as a file from the Secret's volume, not as an environment variable (which
      // `kubectl describe`, /proc/<pid>/environ and crash reports show).
      ...(args.databaseSecretName ? [{ name: "DATABASE_URL_FILE", value: `${databaseUrlMountPath}/${databaseUrlKey}` }] : []),
    ];
    const databaseVolume = args.databaseSecretName
      ? {
          mount: { name: "database-url", mountPath: databaseUrlMountPath, readOnly: true },
          // 0440: the owner (root) and the pod's fsGroup (the service's group) read it, nobody writes.
          volume: { name: "database-url", secret: { secretName: args.databaseSecretName, items: [{ key: databaseUrlKey, path: databaseUrlKey }], defaultMode: 0o440 } },
        }
      : undefined;
    const caBundleVolume = args.databaseCaBundle
      ? {
          mount: { name: "rds-ca-bundle", mountPath: databaseCaBundleMountPath, readOnly: true },
          // Public CA certificates: readable by all, written by none.
          volume: { name: "rds-ca-bundle", configMap: { name: rdsCaBundleConfigMap.name, items: [{ key: rdsCaBundleConfigMap.key, path: rdsCaBundleConfigMap.key }], defaultMode: 0o444 } },
        }
      : undefined;
    const mounted = [databaseVolume, caBundleVolume].filter((v) => v !== undefined);
    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: appName, namespace: ns, labels },
      spec: {
        replicas: args.replicas,
        selector: { matchLabels: { ...automationMetricsService.selector } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels, ...(args.databaseCaBundle ? { annotations: { [rdsCaBundleSha256Annotation]: args.databaseCaBundle.sha256 } } : {}) },
          spec: {
            serviceAccountName: automationServiceAccount,
            // The service changes Kubernetes objects only through `pulumi up` with the deploy role's
            // EKS token. Its own service-account token is mounted for one call: TokenReview of the
            // schedulers that POST /api/runs (system:auth-delegator below; no other permission).
            automountServiceAccountToken: true,
            priorityClassName: priorityClasses.automation.name,
            nodeSelector: { [workloadClassLabel]: "system" },
            // The service's bounded stop (runner.shutdownSeconds, 45 s) fits inside it.
            terminationGracePeriodSeconds: 60,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "automation",
              image: args.image,
              // node itself as PID 1's child-free entry point: SIGTERM reaches the service (an npm
              // wrapper would not forward it).
              command: ["node", "--import", "tsx", "scripts/automation.ts"],
              args: ["--stack", args.stack],
              ports: [{ name: automationMetricsService.port, containerPort: httpPort }],
              env,
              readinessProbe: { httpGet: { path: "/readyz", port: automationMetricsService.port }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: "/healthz", port: automationMetricsService.port }, periodSeconds: 20, failureThreshold: 3 },
              resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "work", mountPath: workDir }, { name: "tmp", mountPath: "/tmp" }, ...mounted.map((v) => v.mount)],
            }],
            volumes: [{ name: "work", emptyDir: { sizeLimit: "2Gi" } }, { name: "tmp", emptyDir: { sizeLimit: "1Gi" } }, ...mounted.map((v) => v.volume)],
          },
        },
      },
    }, k8sOpts);

    // TokenReview (POST /api/runs): the built-in role that allows exactly tokenreviews/subjectaccessreviews create.
    new k8s.rbac.v1.ClusterRoleBinding(`${name}-token-review`, {
      metadata: { name: `${appName}-token-review`, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: [{ kind: "ServiceAccount", name: automationServiceAccount, namespace: ns }],
    }, k8sOpts);

    new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: appName, namespace: ns, labels },
      spec: { selector: { ...automationMetricsService.selector }, ports: [{ name: automationMetricsService.port, port: httpPort, targetPort: automationMetricsService.port }] },
    }, k8sOpts);
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
      metadata: { name: appName, namespace: ns, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: { ...automationMetricsService.selector } } },
    }, k8sOpts);

    this.registerOutputs({ roleArn: this.roleArn, deployRoleArn: this.deployRoleArn });
  }
}
