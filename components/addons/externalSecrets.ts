/**
 * Secrets from AWS: External Secrets Operator (Helm, pinned), the ClusterSecretStore
 * `aws-secrets-manager` with its own IRSA role that may read exactly the listed secrets, and the
 * ExternalSecrets of the Secrets this stack used to ask operators to create by hand:
 * - `pyairtable-pgbouncer-userlist` (pyairtable-data) from the RDS-managed master secret;
 * - `grafana-admin` (monitoring) from a Secrets Manager secret this component generates.
 *
 * The store's role is separate from the operator's pod (the store authenticates with a token of its
 * own service account, `auth.jwt`), so the operator itself holds no AWS permission and another store
 * could never borrow this one's. Other components add the secrets they need through
 * `ExternalSecretsArgs.secretArns` (and their keys through `secretKmsKeyArns`): the role's policy is
 * exactly that list.
 */
import { randomBytes } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicy } from "../../lib/aws/irsa";
import { customerManagedKey } from "../../lib/aws/kms";
import { namespaces } from "../../lib/catalog/cluster";
import { grafanaAdminSecret } from "./kubePrometheusStack";
import { pgbouncer } from "./pgbouncerPool";
import { addonContainerResources as res, chartResources } from "./workloadHygiene";
import { prometheusScrapeIntervalSeconds } from "../../lib/scaling/responseTime";
import { addonSizing, criticalPriorityClass, failer, helmRelease, helmReleaseNames, managedLabels, systemNodeSelector, type HelmAddonArgs } from "./shared";

/** The ClusterSecretStore every ExternalSecret of the stack uses, and its service account. */
export const secretStore = {
  name: "aws-secrets-manager",
  kind: "ClusterSecretStore",
  /** Service account whose token the store exchanges for its IAM role (IRSA). */
  serviceAccount: "aws-secrets-manager",
  namespace: namespaces.externalSecrets,
} as const;

/**
 * How often each ExternalSecret re-reads Secrets Manager: after RDS rotates the master password
 * (or someone changes the Grafana secret), the Kubernetes Secret follows within this interval.
 * One hour: 2 secrets x 24 reads a day stays far inside Secrets Manager's free API tier's noise
 * ($0.05 per 10,000 calls, not in the price catalog).
 */
export const externalSecretRefreshInterval = "1h";

/** The userlist template: the master user, and the metrics sidecar's console user (pg_hba.conf limits it to loopback). */
export const pgbouncerUserlistTemplate = `"{{ .username }}" "{{ .password }}"\n"${pgbouncer.exporterUser}" ""\n`;

export interface ExternalSecretsArgs extends HelmAddonArgs {
  /** EKS cluster name: prefixes the IAM role and the generated secrets' names. */
  clusterName: string;
  region: pulumi.Input<string>;
  /** ARN of the cluster's IAM OIDC provider (IRSA trust). */
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme. */
  oidcIssuer: pulumi.Input<string>;
  /** The `external-secrets` Namespace (ClusterNamespaces: Pod Security, NetworkPolicies, quota). */
  namespace: pulumi.Resource;
  /** Aurora's master-user secret (RDS-managed, JSON `username`/`password`) and the KMS key it is encrypted with. */
  databaseMasterSecret: { arn: pulumi.Input<string>; kmsKeyArn: pulumi.Input<string> };
  /**
   * Further Secrets Manager secrets the store may read (exact ARNs, no wildcards), added by other
   * components for their own ExternalSecrets. Default none.
   */
  secretArns?: pulumi.Input<string>[];
  /** KMS keys of those secrets (kms:Decrypt through Secrets Manager only). Default none. */
  secretKmsKeyArns?: pulumi.Input<string>[];
  /**
   * Namespaces whose ExternalSecrets may use the store (`spec.conditions`). Default: only those the
   * stack renders Secrets into (`storeConsumerNamespaces`): the store's role reads the databases'
   * master secrets, so an ExternalSecret in an API or worker namespace must not be able to copy them.
   */
  allowedNamespaces?: string[];
  /** Namespaces the ExternalSecrets are created in (their Namespace resources). */
  targetNamespaces: { data: pulumi.Resource; monitoring: pulumi.Resource };
  /** What installs the ServiceMonitor CRD (kube-prometheus-stack); without it, no ServiceMonitor. */
  monitoringReady?: pulumi.Input<pulumi.Resource>;
}

/**
 * The namespaces the stack renders Secrets into through the store: PgBouncer's userlist (data),
 * grafana-admin (monitoring) and the automation service's database URL (automation).
 */
export const storeConsumerNamespaces: readonly string[] = [pgbouncer.namespace, namespaces.monitoring, namespaces.automation];

/**
 * Checks the arguments before anything is created (ClusterAddons runs it first too); returns the
 * namespaces allowed to use the store.
 */
export function validateExternalSecretsArgs(name: string, args: Pick<ExternalSecretsArgs, "secretArns" | "allowedNamespaces">): string[] {
  const fail = failer("ExternalSecrets", name);
  for (const [i, arn] of (args.secretArns ?? []).entries()) {
    if (typeof arn === "string" && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+$/.test(arn)) {
      fail(`secretArns[${i}] = ${JSON.stringify(arn)}: must be the exact ARN of one Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>), no wildcards`);
    }
  }
  const allowedNamespaces = args.allowedNamespaces ?? [...storeConsumerNamespaces];
  for (const ns of allowedNamespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) fail(`allowedNamespaces: ${JSON.stringify(ns)} is not a namespace name`);
  }
  for (const need of [pgbouncer.namespace, namespaces.monitoring]) {
    if (!allowedNamespaces.includes(need)) fail(`allowedNamespaces = ${JSON.stringify(allowedNamespaces)}: must include ${need} (its ExternalSecret uses the store)`);
  }
  return allowedNamespaces;
}

export class ExternalSecrets extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly storeRoleArn: pulumi.Output<string>;
  public readonly clusterSecretStore: k8s.apiextensions.CustomResource;
  /** The generated Grafana admin secret in Secrets Manager. */
  public readonly grafanaAdminSecretArn: pulumi.Output<string>;
  /** Key of the secrets this component generates. */
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** Everything an ExternalSecret needs first: the CRDs, the webhook and the store. */
  public readonly ready: pulumi.Resource[];
  /** The ExternalSecrets rendering `grafana-admin` (Grafana waits for it) and PgBouncer's userlist. */
  public readonly grafanaAdmin: k8s.apiextensions.CustomResource;
  public readonly pgbouncerUserlist: k8s.apiextensions.CustomResource;
  private readonly namePrefix: string;
  private readonly provider: k8s.Provider;

  constructor(name: string, args: ExternalSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:ExternalSecrets", name, {}, opts);
    const allowedNamespaces = validateExternalSecretsArgs(name, args);
    const prod = args.environment === "prod";
    const parent = { parent: this };
    const k8sOpts = (...deps: pulumi.Input<pulumi.Resource>[]) => ({ parent: this, provider: args.provider, ...(deps.length ? { dependsOn: deps } : {}) });

    // --- Secrets this stack generates -------------------------------------------------------------
    const key = customerManagedKey(`${name}-platform-secrets`, `Secrets Manager secrets generated for ${args.clusterName}`, parent);
    this.kmsKeyArn = key.arn;
    const grafana = new aws.secretsmanager.Secret(`${name}-grafana-admin-secret`, {
      name: `${args.clusterName}/grafana-admin`,
      description: `Grafana admin login of ${args.clusterName} (rendered into monitoring/grafana-admin by External Secrets)`,
      kmsKeyId: key.arn,
      recoveryWindowInDays: prod ? 30 : 7,
    }, parent);
    // Generated once: later runs generate a different value, which ignoreChanges discards. The value
    // lives only in Secrets Manager and, encrypted, in the stack state (a Pulumi secret).
    new aws.secretsmanager.SecretVersion(`${name}-grafana-admin-secret-value`, {
      secretId: grafana.id,
      secretString: pulumi.secret(JSON.stringify({ [grafanaAdminSecret.userKey]: "admin", [grafanaAdminSecret.passwordKey]: randomBytes(24).toString("base64url") })),
    }, { ...parent, ignoreChanges: ["secretString"] });
    this.grafanaAdminSecretArn = grafana.arn;

    // --- The store's IAM role: exactly these secrets --------------------------------------------
    const secretArns = [args.databaseMasterSecret.arn, grafana.arn, ...(args.secretArns ?? [])];
    const keyArns = [args.databaseMasterSecret.kmsKeyArn, key.arn, ...(args.secretKmsKeyArns ?? [])];
    const role = new aws.iam.Role(`${name}-secret-store`, {
      description: `ClusterSecretStore ${secretStore.name} of ${args.clusterName}: reads the listed Secrets Manager secrets`,
      assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, secretStore.namespace, secretStore.serviceAccount),
      tags: { Name: `${args.clusterName}-secret-store` },
    }, parent);
    const policy = new aws.iam.RolePolicy(`${name}-secret-store-policy`, {
      role: role.id,
      policy: pulumi.all([pulumi.all(secretArns), pulumi.all(keyArns), args.region]).apply(([s, k, region]) => JSON.stringify(secretStorePolicy(s, k, region))),
    }, parent);
    this.storeRoleArn = role.arn;

    this.release = helmRelease(name, "externalSecrets", namespaces.externalSecrets, externalSecretsValues(args.environment), k8sOpts(args.namespace, ...(args.dependsOn ?? [])));

    const storeAccount = new k8s.core.v1.ServiceAccount(`${name}-secret-store-sa`, {
      metadata: {
        name: secretStore.serviceAccount,
        namespace: secretStore.namespace,
        labels: managedLabels,
        annotations: { "eks.amazonaws.com/role-arn": role.arn, "eks.amazonaws.com/sts-regional-endpoints": "true" },
      },
      // The store asks the API server for this account's token; no pod mounts it.
      automountServiceAccountToken: false,
    }, k8sOpts(args.namespace));

    this.clusterSecretStore = new k8s.apiextensions.CustomResource(`${name}-cluster-secret-store`, {
      apiVersion: "external-secrets.io/v1",
      kind: secretStore.kind,
      metadata: { name: secretStore.name, labels: managedLabels },
      spec: {
        provider: {
          aws: {
            service: "SecretsManager",
            region: args.region,
            auth: { jwt: { serviceAccountRef: { name: secretStore.serviceAccount, namespace: secretStore.namespace } } },
          },
        },
        conditions: [{ namespaces: allowedNamespaces }],
        // Re-validate the store's access every 10 minutes (its Ready condition and metrics).
        refreshInterval: 600,
      },
    }, k8sOpts(this.release, storeAccount, policy));
    this.ready = [this.release, this.clusterSecretStore];

    const externalSecret = (resourceName: string, namespace: string, nsResource: pulumi.Resource, spec: Record<string, unknown>) =>
      new k8s.apiextensions.CustomResource(`${name}-externalsecret-${resourceName}`, {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name: (spec.target as { name: string }).name, namespace, labels: managedLabels },
        spec: { refreshInterval: externalSecretRefreshInterval, secretStoreRef: { kind: secretStore.kind, name: secretStore.name }, ...spec },
      }, k8sOpts(this.clusterSecretStore, nsResource));

    this.pgbouncerUserlist = externalSecret("pgbouncer-userlist", pgbouncer.namespace, args.targetNamespaces.data, {
      target: {
        name: pgbouncer.authSecret.name,
        creationPolicy: "Owner",
        deletionPolicy: "Retain",
        template: { engineVersion: "v2", type: "Opaque", data: { [pgbouncer.authSecret.key]: pgbouncerUserlistTemplate } },
      },
      // The RDS-managed secret is JSON {"username", "password", ...}: extract its keys for the template.
      dataFrom: [{ extract: { key: args.databaseMasterSecret.arn } }],
    });
    this.grafanaAdmin = externalSecret("grafana-admin", namespaces.monitoring, args.targetNamespaces.monitoring, {
      target: { name: grafanaAdminSecret.name, creationPolicy: "Owner", deletionPolicy: "Retain" },
      dataFrom: [{ extract: { key: grafana.arn } }],
    });

    this.namePrefix = name;
    this.provider = args.provider;
    if (args.monitoringReady) this.addServiceMonitor(args.monitoringReady);

    this.registerOutputs({ storeRoleArn: this.storeRoleArn, grafanaAdminSecretArn: this.grafanaAdminSecretArn });
  }

  /**
   * The operator's ServiceMonitor, once the Prometheus Operator CRDs exist. Separate from the
   * constructor because kube-prometheus-stack itself waits for this component's grafana-admin Secret.
   */
  public addServiceMonitor(monitoringReady: pulumi.Input<pulumi.Resource>): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(`${this.namePrefix}-external-secrets-servicemonitor`, {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "external-secrets", namespace: namespaces.externalSecrets, labels: managedLabels },
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": helmReleaseNames.externalSecrets } },
        endpoints: [{ port: "metrics", path: "/metrics", interval: `${prometheusScrapeIntervalSeconds}s` }],
      },
    }, { parent: this, provider: this.provider, dependsOn: [this.release, monitoringReady] });
  }
}

/** Chart values (checked against the chart at its tag: contracts/charts/external-secrets-2.9.0.values-keys.json). */
export function externalSecretsValues(environment: "prod" | "dev") {
  const sizing = addonSizing[environment];
  const prod = environment === "prod";
  const placement = { nodeSelector: systemNodeSelector, priorityClassName: criticalPriorityClass };
  return {
    installCRDs: true,
    replicaCount: sizing.controllerReplicas,
    // Leader election keeps one active controller; the standby takes over within the lease.
    leaderElect: true,
    // The stack uses ExternalSecrets and one ClusterSecretStore: no PushSecret (nothing writes to AWS).
    processPushSecret: false,
    // ClusterPushSecrets build on PushSecrets: the chart refuses one off without the other (rendered).
    processClusterPushSecret: false,
    ...placement,
    podDisruptionBudget: { enabled: prod, minAvailable: 1 },
    // Requests and limits of every container: workloadHygiene.ts (the namespace quota is sized from it).
    // The chart's security contexts are already `restricted` with a read-only root filesystem.
    resources: chartResources(res.externalSecretsController),
    // The metrics Service only: the ServiceMonitor is created by the component once the Prometheus
    // Operator CRDs exist (kube-prometheus-stack itself waits for the grafana-admin Secret rendered here).
    metrics: { service: { enabled: true } },
    serviceMonitor: { enabled: false },
    webhook: {
      replicaCount: sizing.controllerReplicas,
      ...placement,
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      resources: chartResources(res.externalSecretsWebhook),
    },
    certController: {
      replicaCount: 1,
      ...placement,
      resources: chartResources(res.externalSecretsCertController),
    },
  };
}

/**
 * The store's IAM policy: read exactly the listed secrets, and decrypt with their keys only when
 * Secrets Manager asks (kms:ViaService).
 */
export function secretStorePolicy(secretArns: string[], kmsKeyArns: string[], region: string) {
  const uniq = (xs: string[]) => [...new Set(xs.filter((x) => x !== ""))];
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadListedSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: uniq(secretArns) },
      { Sid: "DecryptThroughSecretsManager", Effect: "Allow", Action: ["kms:Decrypt"], Resource: uniq(kmsKeyArns), Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } } },
    ],
  };
}
