import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config/settings";
import { namespaces } from "../lib/catalog/cluster";
import type { DataStoreClient } from "../lib/k8s/podSecurityGroups";
import { automationMetricsService } from "./monitoring";
import { Database } from "./database";
import { secretStore } from "./addons/externalSecrets";
import { DataStoreClientGroups } from "./dataStoreClientGroups";
import { PodSecurityGroups } from "./podSecurityGroups";
import { automationDatabaseAssumptions } from "../lib/cost/estimate";

/** The ClusterSecretStore (External Secrets Operator, AWS Secrets Manager) the cluster add-ons provide. */
export const awsSecretsManagerStore = { kind: secretStore.kind, name: secretStore.name } as const;

/** Key of the rendered Secret: the service reads its connection URL from it (automation/store). */
export const databaseUrlKey = "DATABASE_URL";

/** The `purpose` tag of the cluster's resources; the cost model prices it apart from the platform's database. */
export const automationStatePurpose = automationDatabaseAssumptions.purposeTag;

export interface AutomationDatabaseArgs {
  /** `prod` keeps deletion protection and a final snapshot; also tags the resources. */
  environment: Environment;
  /** Aurora PostgreSQL engine version, the platform database's (one engine to patch). */
  engineVersion: string;
  /** PostgreSQL port, the platform database's (`database.port`: not the engine default 5432; NetworkPolicies follow it). */
  port: number;
  /** Capacity range, ACU (Aurora Serverless v2: 0.5 steps). Default 0.5-1: a few connections, a few queries a minute. */
  minAcu?: number;
  maxAcu?: number;
  /** Daily backups kept, days (1-35). */
  backupRetentionDays: number;
  deletionProtection: boolean;
  /** Retention of the exported PostgreSQL log, days. */
  logRetentionDays: number;
  logsKmsKeyArn: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Private subnets (at least 2 AZs). */
  subnetIds: pulumi.Input<string>[];
  /** EKS cluster name (names the client security group). */
  clusterName: string;
  /**
   * How the service's pods are admitted: `pod-security-groups` gives them a client security group
   * (SecurityGroupPolicy) that alone is admitted on the database port; `cluster-security-group`
   * admits the cluster security group (every node and pod).
   */
  access: "pod-security-groups" | "cluster-security-group";
  clusterSecurityGroupId: pulumi.Input<string>;
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** Secret rendered in the automation namespace with `DATABASE_URL` (stack setting automation.databaseSecretName). */
  secretName: string;
  /**
   * CA bundle to verify the database's certificate and host name, mounted by the service at this
   * path (`sslmode=verify-full&sslrootcert=<path>`; node-postgres reads the file when a client is
   * created, so it must exist in the pod). The platform passes the RDS CA bundle the service mounts
   * (components/automationService.ts). Default none: encrypted but unverified (`sslmode=require`
   * with libpq semantics).
   */
  caBundlePath?: string;
  /** What must exist first in the cluster (the namespace, the External Secrets CRDs and its store). */
  dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/** Labels of the automation service's pods (its SecurityGroupPolicy selects them). */
const servicePodLabels = { ...automationMetricsService.selector };

/**
 * The automation service's PostgreSQL: its own small Aurora Serverless v2 cluster (the `Database`
 * component with no readers and no read scaling, 0.5-1 ACU), not a database on the platform's
 * cluster. Why: the service holds a session-level advisory lock (leader election), which PgBouncer's
 * transaction pooling cannot carry, so it connects directly; a cluster of its own keeps the
 * platform database admitting only PgBouncer, needs no bootstrap Job holding the platform's master
 * credentials, and keeps the controller's state out of the failovers and capacity changes it
 * drives. RDS creates the database `automation` and its user (the master user of this cluster) and
 * keeps the password in Secrets Manager (rotated by RDS); External Secrets renders the Kubernetes
 * Secret with `DATABASE_URL` from it, through the `aws-secrets-manager` ClusterSecretStore, whose
 * IAM role must be allowed to read `masterUserSecretArn`. Priced apart by the cost model
 * (`automation-state` purpose tag).
 */
export class AutomationDatabase extends pulumi.ComponentResource {
  public readonly database: Database;
  /** Secrets Manager secret with the user and password (RDS-managed): the ClusterSecretStore's role must read it. */
  public readonly masterUserSecretArn: pulumi.Output<string>;
  /** KMS key encrypting that secret: the ClusterSecretStore's role needs kms:Decrypt on it too. */
  public readonly secretKmsKeyArn: pulumi.Output<string>;
  public readonly endpoint: pulumi.Output<string>;
  /** The ExternalSecret and the SecurityGroupPolicy: the service's pods must be created after them. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: AutomationDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:automation:AutomationDatabase", name, {}, opts);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.secretName)) {
      throw new Error(`AutomationDatabase ${name}: secretName = ${JSON.stringify(args.secretName)}: must be a Kubernetes Secret name`);
    }
    if (args.caBundlePath !== undefined && !/^\/\S+$/.test(args.caBundlePath)) {
      throw new Error(`AutomationDatabase ${name}: caBundlePath = ${JSON.stringify(args.caBundlePath)}: must be an absolute path in the pod`);
    }
    const parent = { parent: this };
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, ...(args.dependsOn ? { dependsOn: args.dependsOn } : {}) };
    this.ready = [];

    // Who may connect: the service's pods only (their own security group), or every node in dev.
    let clients: pulumi.Input<string>[] = [args.clusterSecurityGroupId];
    if (args.access === "pod-security-groups") {
      const client: DataStoreClient = {
        key: "automation-service",
        namespace: namespaces.automation,
        podSelector: { matchLabels: servicePodLabels },
        dataStores: ["postgres"],
        reason: "the automation service's own PostgreSQL (leader lock, decisions, samples)",
      };
      const groups = new DataStoreClientGroups(`${name}-clients`, { environment: args.environment, clusterName: args.clusterName, vpcId: args.vpcId, clients: [client] }, parent);
      clients = [groups.groupIds[client.key]!];
      const sgp = new PodSecurityGroups(`${name}-pod-sgs`, {
        provider: args.provider, clients: [client], groupIds: groups.groupIds, clusterSecurityGroupId: args.clusterSecurityGroupId,
        labels: { "app.kubernetes.io/part-of": "pyairtable-autoscaling" }, ...(args.dependsOn ? { dependsOn: args.dependsOn } : {}),
      }, parent);
      this.ready.push(...sgp.policies);
    }

    const databaseName = "automation";
    this.database = new Database(`${name}`, {
      environment: args.environment,
      engineVersion: args.engineVersion,
      port: args.port,
      minAcu: args.minAcu ?? 0.5,
      maxAcu: args.maxAcu ?? 1,
      // The service tolerates a writer restart (it reconnects and re-elects); no failover reader to pay for.
      readers: 0,
      readReplicaScaling: { minReplicas: 0, maxReplicas: 0, targetCpuPercent: 60, scaleInCooldownSeconds: 600, scaleOutCooldownSeconds: 120 },
      readReplicaAutoScaling: false,
      backupRetentionDays: args.backupRetentionDays,
      deletionProtection: args.deletionProtection,
      performanceInsightsRetentionDays: 7,
      vpcId: args.vpcId,
      subnetIds: args.subnetIds,
      clientSecurityGroupIds: clients,
      logsKmsKeyArn: args.logsKmsKeyArn,
      logRetentionDays: args.logRetentionDays,
      databaseName,
      masterUsername: "automation",
      purpose: automationStatePurpose,
    }, parent);
    this.masterUserSecretArn = this.database.masterUserSecretArn;
    this.secretKmsKeyArn = this.database.kmsKeyArn;
    this.endpoint = this.database.endpoint;

    // The URL is a template: External Secrets fills in the user and password (URL-escaped) from the
    // RDS-managed secret and re-renders it when RDS rotates the password (refreshInterval).
    const tls = args.caBundlePath ? `sslmode=verify-full&sslrootcert=${args.caBundlePath}` : "sslmode=require&uselibpqcompat=true";
    const url = pulumi.interpolate`postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@${this.database.endpoint}:${this.database.port}/${databaseName}?${tls}`;
    const externalSecret = new k8s.apiextensions.CustomResource(`${name}-external-secret`, {
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: args.secretName, namespace: namespaces.automation, labels: { "app.kubernetes.io/part-of": "pyairtable-autoscaling" } },
      spec: {
        refreshInterval: "1h",
        secretStoreRef: { ...awsSecretsManagerStore },
        target: {
          name: args.secretName,
          creationPolicy: "Owner",
          template: { engineVersion: "v2", type: "Opaque", data: { [databaseUrlKey]: url } },
        },
        data: ["username", "password"].map((property) => ({ secretKey: property, remoteRef: { key: this.database.masterUserSecretArn, property } })),
      },
    }, k8sOpts);
    this.ready.push(externalSecret);

    this.registerOutputs({ masterUserSecretArn: this.masterUserSecretArn, secretKmsKeyArn: this.secretKmsKeyArn, endpoint: this.endpoint });
  }
}
