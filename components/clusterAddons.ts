/**
 * The cluster add-ons every autoscaling object relies on, composed from one component per add-on
 * (components/addons/): namespaces with network isolation, quotas and priority classes, the
 * file-events SQS queue, kube-prometheus-stack, metrics-server, KEDA (IRSA for SQS and MSK, cluster
 * trigger authentications), VPA, prometheus-adapter (custom metrics) and PgBouncer in front of
 * Aurora with its own HPA; and what those need from the cluster (issue 19, docs/cluster-addons.md):
 * the EBS CSI managed add-on with the encrypted `gp3` default StorageClass, External Secrets with the
 * `aws-secrets-manager` ClusterSecretStore (PgBouncer's userlist, grafana-admin), cert-manager with
 * the private CA, PgBouncer's certificate and the RDS CA bundle, and Istio when sidecars are on.
 *
 * Every add-on component takes this component's name and its resources keep their names; each
 * resource is aliased to its URN from before the split, when this component was its parent (see
 * components/addons/shared.ts), so an existing stack updates in place. The issue-19 add-ons never
 * had such a URN and carry no alias.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { applicationNamespaces, customMetricNames, namespaces, prometheusUrl } from "../lib/catalog/cluster";
import { serviceCatalog } from "../lib/catalog/services";
import type { Environment, ServiceReplicaSettings } from "../lib/config/settings";
import { FileEventsQueue } from "./addons/fileEventsQueue";
import { Keda } from "./addons/keda";
import { KubePrometheusStack } from "./addons/kubePrometheusStack";
import { MetricsServer } from "./addons/metricsServer";
import { ClusterNamespaces } from "./addons/namespaces";
import { PgBouncer } from "./addons/pgbouncer";
import { pgbouncerSizing, planPgBouncerPool, type PgBouncerPoolPlan } from "./addons/pgbouncerPool";
import { PrometheusAdapter } from "./addons/prometheusAdapter";
import { QuotasAndPriorityClasses } from "./addons/quotas";
import { namespaceQuotaProblems } from "./quotaCheck";
import { helmReleaseNames, managedLabels, type AddonBaseArgs, type AddonKey } from "./addons/shared";
import { Vpa } from "./addons/vpa";
import { CertManager } from "./addons/certManager";
import { EbsCsiDriver, validateEbsCsiDriverArgs } from "./addons/ebsCsiDriver";
import { ExternalSecrets, validateExternalSecretsArgs } from "./addons/externalSecrets";
import { Istio } from "./addons/istio";
import { PodSecurityGroups, type PodSecurityGroupsArgs } from "./podSecurityGroups";

/** The custom metric names prometheus-adapter serves; the HPA builder reads the same table. */
export { customMetricNames };
export * from "./addons/shared";
export * from "./addons/pgbouncerPool";
export * from "./addons/quotas";
export * from "./addons/namespaces";
export * from "./addons/fileEventsQueue";
export * from "./addons/keda";
export * from "./addons/kubePrometheusStack";
export * from "./addons/metricsServer";
export * from "./addons/vpa";
export * from "./addons/prometheusAdapter";
export * from "./addons/pgbouncer";
export * from "./addons/ebsCsiDriver";
export * from "./addons/externalSecrets";
export * from "./addons/certManager";
export * from "./addons/istio";

export interface ClusterAddonsArgs {
  /** `prod` or `dev`: picks the sizing rows (replicas, retention, quotas, PgBouncer range). */
  environment: Environment;
  /** EKS cluster name; prefixes the AWS resources (queues, role) so stacks sharing an account never collide. */
  clusterName: string;
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** ARN of the cluster's IAM OIDC provider (IRSA trust). */
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  oidcIssuer: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  /** ElastiCache Redis that KEDA's redis scalers read (TLS, AUTH). */
  redis: {
    /** Configuration endpoint (cluster mode) or primary endpoint. */
    endpoint: pulumi.Input<string>;
    port: pulumi.Input<number>;
    /** AUTH token; stored only in a Kubernetes Secret, always as a Pulumi secret. */
    authToken: pulumi.Input<string>;
  };
  /** MSK cluster whose consumer lag KEDA reads with IAM (SASL/OAUTHBEARER, TLS). */
  kafka: { clusterArn: pulumi.Input<string>; bootstrapBrokersSaslIam: pulumi.Input<string> };
  /** Aurora PostgreSQL behind PgBouncer. */
  database: {
    /** Writer (cluster) endpoint. */
    endpoint: pulumi.Input<string>;
    /** Reader endpoint (all readers, including the autoscaled ones). */
    readerEndpoint: pulumi.Input<string>;
    /** TCP port Aurora listens on (the `database.port` setting): PgBouncer connects to it, the data namespace's NetworkPolicy opens it. */
    port: number;
    /** Serverless v2 minimum capacity, ACU (0 or 0.5 lowers Aurora's connection cap to 2,000). */
    minAcu: number;
    /** Serverless v2 maximum capacity, ACU: sizes PgBouncer's pools (see planPgBouncerPool). */
    maxAcu: number;
    /** Database name. Default `pyairtable` (PgBouncer also serves `<name>_ro` on the readers). */
    name?: string;
  };
  /** Replica ranges of the catalog services (`autoscaling:services`): the quotas must hold their maxima. */
  services: ServiceReplicaSettings;
  /** What must exist first (Karpenter's NodePools: PgBouncer runs on data-class nodes). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Label the application namespaces for Istio sidecar injection. Default false. */
  istioSidecars?: boolean;
  /** The cluster's node ceiling (`cluster.maxNodes`): sizes the node-exporter namespace's quota (one pod per node). Default 500. */
  maxNodes?: number;
  /**
   * VPC CIDR block (IPv4): the NetworkPolicies open egress to the data stores' ports only inside it,
   * and HTTPS to public AWS APIs only outside it.
   */
  vpcCidr: string;
  /** Security groups for pods: the data-store clients' SecurityGroupPolicies (created before their pods). Default none. */
  podSecurityGroups?: Omit<PodSecurityGroupsArgs, "provider" | "dependsOn" | "labels">;
  /**
   * StorageClass of the Prometheus and Alertmanager volumes. Default: `gp3`, the encrypted default
   * class this component creates with the EBS CSI driver.
   */
  storageClassName?: string;
  /** Kubernetes minor version of the cluster (picks the EBS CSI add-on build). */
  kubernetesVersion: string;
  /** Customer-managed KMS key of the EBS volumes (the gp3 StorageClass encrypts with it). */
  ebsKmsKeyArn: pulumi.Input<string>;
  /** Aurora's RDS-managed master secret and its KMS key: External Secrets renders PgBouncer's userlist from it. */
  databaseMasterSecret: { arn: pulumi.Input<string>; kmsKeyArn: pulumi.Input<string> };
  /** Further Secrets Manager secret ARNs the ClusterSecretStore may read (other components' ExternalSecrets). Default none. */
  secretStoreSecretArns?: pulumi.Input<string>[];
  /** KMS keys of those secrets. Default none. */
  secretStoreKmsKeyArns?: pulumi.Input<string>[];
  /**
   * Deploy the RDS CA bundle ConfigMap in the automation namespace too (the automation service
   * verifies its own Aurora cluster with it). Default false (the service's embedded database).
   */
  automationDatabaseCaBundle?: boolean;
}

const clusterNamePattern = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;
const mskClusterArnPattern = /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
const databaseNamePattern = /^[a-z_][a-z0-9_]{0,59}$/;
const storageClassPattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

interface ValidatedArgs {
  readonly pool: PgBouncerPoolPlan;
  readonly databaseName: string;
  readonly istioSidecars: boolean;
}

/**
 * Checks the arguments before anything is created. Errors name the field, the value and what is
 * allowed; a secret (the Redis token) is never echoed.
 */
export function validateClusterAddonsArgs(name: string, args: ClusterAddonsArgs): ValidatedArgs {
  const fail = (message: string): never => {
    throw new Error(`ClusterAddons ${name}: ${message}`);
  };
  const show = (v: unknown) => JSON.stringify(v);
  if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${show(args.environment)}: must be prod or dev`);
  if (typeof args.clusterName !== "string" || !clusterNamePattern.test(args.clusterName)) {
    fail(`clusterName = ${show(args.clusterName)}: must be 3-40 lowercase letters, digits and hyphens, starting with a letter (it prefixes SQS queue and IAM role names)`);
  }
  if (!args.provider) fail("provider is missing: the cluster's Kubernetes provider is required");
  for (const [field, value] of [["redis.endpoint", args.redis?.endpoint], ["database.endpoint", args.database?.endpoint], ["database.readerEndpoint", args.database?.readerEndpoint], ["kafka.bootstrapBrokersSaslIam", args.kafka?.bootstrapBrokersSaslIam], ["oidcIssuer", args.oidcIssuer]] as const) {
    if (value === undefined || (typeof value === "string" && value.trim() === "")) fail(`${field} = ${show(value)}: must be a non-empty host name`);
  }
  if (typeof args.oidcIssuer === "string" && /^https?:\/\//.test(args.oidcIssuer)) {
    fail(`oidcIssuer = ${show(args.oidcIssuer)}: must be given without the scheme (e.g. oidc.eks.us-east-1.amazonaws.com/id/ABC)`);
  }
  if (typeof args.vpcCidr !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(args.vpcCidr)) {
    fail(`vpcCidr = ${show(args.vpcCidr)}: must be the VPC's IPv4 CIDR block (e.g. 10.40.0.0/16)`);
  }
  for (const [field, value] of [["redis.port", args.redis?.port], ["database.port", args.database?.port]] as const) {
    if (value === undefined || (typeof value === "number" && !(Number.isInteger(value) && value >= 1 && value <= 65535))) fail(`${field} = ${show(value)}: must be a TCP port from 1 to 65535`);
  }
  const token = args.redis?.authToken;
  if (token === undefined || (typeof token === "string" && !/^[!#-.0-?A-~]{16,128}$/.test(token))) {
    fail("redis.authToken: must be 16-128 printable characters without spaces, \", / or @ (ElastiCache AUTH rules)");
  }
  if (args.kafka?.clusterArn === undefined || (typeof args.kafka.clusterArn === "string" && !mskClusterArnPattern.test(args.kafka.clusterArn))) {
    fail(`kafka.clusterArn = ${show(args.kafka?.clusterArn)}: must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)`);
  }
  const db = args.database;
  const isAcu = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && Number.isInteger(n * 2);
  if (!isAcu(db?.minAcu) || db.minAcu < 0 || db.minAcu > 256) fail(`database.minAcu = ${show(db?.minAcu)}: must be a number from 0 to 256 in steps of 0.5`);
  if (!isAcu(db.maxAcu) || db.maxAcu < 1 || db.maxAcu > 256) fail(`database.maxAcu = ${show(db.maxAcu)}: must be a number from 1 to 256 in steps of 0.5`);
  if (db.minAcu > db.maxAcu) fail(`database.minAcu = ${db.minAcu}: must not exceed maxAcu (${db.maxAcu})`);
  const databaseName = db.name ?? "pyairtable";
  if (!databaseNamePattern.test(databaseName)) fail(`database.name = ${show(databaseName)}: must be a lowercase PostgreSQL identifier of at most 60 characters`);
  if (args.storageClassName !== undefined && !storageClassPattern.test(args.storageClassName)) {
    fail(`storageClassName = ${show(args.storageClassName)}: must be a Kubernetes object name (lowercase letters, digits, '-' and '.')`);
  }

  // The new add-ons' own checks, here too so a rejected value creates nothing at all.
  validateEbsCsiDriverArgs(name, { kubernetesVersion: args.kubernetesVersion, kmsKeyArn: args.ebsKmsKeyArn });
  validateExternalSecretsArgs(name, { secretArns: args.secretStoreSecretArns });

  const pool = planPgBouncerPool(args.environment, db.minAcu, db.maxAcu);
  const sizing = pgbouncerSizing[args.environment];
  if (pool.defaultPoolSize < 1) {
    fail(`database.maxAcu = ${db.maxAcu}: Aurora then accepts ${pool.auroraMaxConnections} connections, ${pool.pgbouncerBudget} of them for PgBouncer, ${pool.serverConnectionsPerPod} per pod over ${sizing.maxReplicas} pods: too few for a pool of at least 1 plus reserve_pool_size ${sizing.reservePoolSize}; raise maxAcu or lower pgbouncerSizing.${args.environment}.maxReplicas`);
  }

  // Every catalog service needs a range, and every namespace's maxima must fit its quota.
  if (!args.services || typeof args.services !== "object") fail("services is missing: pass the stack's replica ranges (autoscaling:services)");
  for (const s of serviceCatalog) {
    const max = args.services[s.name]?.maxReplicas;
    if (!(typeof max === "number" && Number.isInteger(max) && max >= 1)) fail(`services.${s.name}.maxReplicas = ${show(max)}: must be a whole number >= 1 (every catalog service needs a range)`);
  }
  const istioSidecars = args.istioSidecars ?? false;
  // The same check the settings run before anything is built (components/quotaCheck.ts).
  const quotaProblems = namespaceQuotaProblems({ environment: args.environment, services: args.services, workloads: { istioSidecars } });
  if (quotaProblems.length > 0) fail(`services: ${quotaProblems.map((p) => `${p.key.replace(/^[^:]+:/, "")} = ${p.value}: ${p.message}`).join("; ")}`);

  const expectedPrometheus = `http://${helmReleaseNames.kubePrometheusStack}-prometheus.${namespaces.monitoring}.svc:9090`;
  if (prometheusUrl !== expectedPrometheus) fail(`prometheusUrl = ${show(prometheusUrl)}: must be ${expectedPrometheus}, the service kube-prometheus-stack creates`);
  return { pool, databaseName, istioSidecars };
}


/**
 * The cluster add-ons every autoscaling object relies on (see the file comment): validates its
 * arguments, then composes the add-on components in dependency order.
 */
export class ClusterAddons extends pulumi.ComponentResource {
  public readonly kedaOperatorRoleArn: pulumi.Output<string>;
  /** The S3 file bucket's event notifications go here; file-processing scales on its depth. */
  public readonly fileEventsQueueUrl: pulumi.Output<string>;
  public readonly fileEventsQueueArn: pulumi.Output<string>;
  /** Physical queue name: `<clusterName>-file-events`. */
  public readonly fileEventsQueueName: pulumi.Output<string>;
  public readonly fileEventsDeadLetterQueueArn: pulumi.Output<string>;
  /** Key of both queues: consumers need kms:Decrypt on it, S3 may use it (key policy). */
  public readonly fileEventsKmsKeyArn: pulumi.Output<string>;
  /** `pgbouncer.pyairtable-data.svc.cluster.local:6432`. */
  public readonly pgbouncerService: string;
  public readonly pgbouncerPool: PgBouncerPoolPlan;
  /** Helm release names, in install order. */
  public readonly releases: string[];
  /** The Helm releases by add-on (the Istio charts only with `istioSidecars`). */
  public readonly helmReleases: Readonly<Partial<Record<AddonKey, k8s.helm.v3.Release>>>;
  /** The default StorageClass (`gp3`, encrypted with the EBS key). */
  public readonly storageClassName: string;
  /** IAM role of the ClusterSecretStore `aws-secrets-manager`. */
  public readonly secretStoreRoleArn: pulumi.Output<string>;
  /** What HPAs, ScaledObjects and VPAs need first: the controllers, CRDs, KEDA auth and namespaces. */
  public readonly scalingReady: pulumi.Resource[];
  /** What the Monitoring component needs first: the Prometheus Operator CRDs and the namespace. */
  public readonly monitoringReady: pulumi.Resource[];
  /** SHA-256 of the deployed RDS CA bundle (changes when AWS changes it): pods mounting it roll on it. */
  public readonly rdsCaBundleSha256: pulumi.Output<string>;
  /** The RDS CA bundle's ConfigMap in the automation namespace (with `automationDatabaseCaBundle`). */
  public readonly automationCaBundle: pulumi.Resource | undefined;
  /** `host:port` of Redis, for the KEDA triggers' `address`. */
  public readonly redisAddress: pulumi.Output<string>;
  public readonly kafkaBootstrapServers: pulumi.Output<string>;

  constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cluster:ClusterAddons", name, {}, opts);
    // Validate before creating anything: a rejected configuration must not leave half the add-ons.
    const v = validateClusterAddonsArgs(name, args);
    const base: AddonBaseArgs = { environment: args.environment, provider: args.provider, formerParent: this };
    const parent = { parent: this };
    const capacity = args.dependsOn ?? [];

    const spaces = new ClusterNamespaces(name, { ...base, istioSidecars: v.istioSidecars, vpcCidr: args.vpcCidr, databasePort: args.database.port }, parent);
    const ns = (nsName: string) => spaces.byName[nsName]!;
    // Security groups are assigned to a pod only when it is created: the SecurityGroupPolicies come
    // before the PgBouncer and KEDA pods they select.
    const podSgPolicies = args.podSecurityGroups
      ? new PodSecurityGroups(`${name}-pod-sgs`, { ...args.podSecurityGroups, provider: args.provider, labels: managedLabels, dependsOn: Object.values(spaces.byName) }, parent).policies
      : [];
    const quotas = new QuotasAndPriorityClasses(name, { ...base, namespaces: spaces.byName, maxNodes: args.maxNodes, istioSidecars: v.istioSidecars }, parent);
    const queue = new FileEventsQueue(name, {
      environment: args.environment, clusterName: args.clusterName, accountId: args.accountId, partition: args.partition, formerParent: this,
    }, parent);

    // New add-ons (issue 19) have no pre-split URNs: no aliases.
    const fresh = { ...base, formerParent: undefined };
    const storage = new EbsCsiDriver(name, {
      ...fresh,
      clusterName: args.clusterName,
      kubernetesVersion: args.kubernetesVersion,
      oidcProviderArn: args.oidcProviderArn,
      oidcIssuer: args.oidcIssuer,
      kmsKeyArn: args.ebsKmsKeyArn,
      dependsOn: capacity,
    }, parent);
    // Secrets first: Grafana (in kube-prometheus-stack) starts only with its grafana-admin Secret.
    const externalSecrets = new ExternalSecrets(name, {
      ...fresh,
      clusterName: args.clusterName,
      region: args.region,
      oidcProviderArn: args.oidcProviderArn,
      oidcIssuer: args.oidcIssuer,
      namespace: ns(namespaces.externalSecrets),
      databaseMasterSecret: args.databaseMasterSecret,
      secretArns: args.secretStoreSecretArns,
      secretKmsKeyArns: args.secretStoreKmsKeyArns,
      targetNamespaces: { data: ns(namespaces.data), monitoring: ns(namespaces.monitoring) },
      dependsOn: capacity,
    }, parent);
    const kubePrometheusStack = new KubePrometheusStack(name, {
      ...base,
      clusterName: args.clusterName,
      storageClassName: args.storageClassName ?? storage.storageClassName,
      dependsOn: [ns(namespaces.monitoring), ns(namespaces.nodeExporter), storage.storageClass, externalSecrets.grafanaAdmin, ...capacity],
    }, parent).release;
    externalSecrets.addServiceMonitor(kubePrometheusStack);
    const certManager = new CertManager(name, {
      ...fresh, clusterName: args.clusterName, namespace: ns(namespaces.certManager), dataNamespace: ns(namespaces.data),
      ...(args.automationDatabaseCaBundle ? { automationNamespace: ns(namespaces.automation) } : {}),
      dependsOn: [kubePrometheusStack, ...capacity],
    }, parent);
    const istio = v.istioSidecars ? new Istio(name, { ...fresh, namespace: ns(namespaces.istio), dependsOn: capacity }, parent) : undefined;
    const metricsServer = new MetricsServer(name, { ...base, dependsOn: capacity }, parent).release;
    const keda = new Keda(name, {
      ...base,
      clusterName: args.clusterName,
      oidcProviderArn: args.oidcProviderArn,
      oidcIssuer: args.oidcIssuer,
      queueArn: queue.queueArn,
      kafkaClusterArn: args.kafka.clusterArn,
      redisAuthToken: args.redis.authToken,
      namespace: ns(namespaces.keda),
      dependsOn: [ns(namespaces.keda), kubePrometheusStack, ...podSgPolicies, ...capacity],
    }, parent);
    const vpa = new Vpa(name, { ...base, dependsOn: [ns(namespaces.vpa), ...capacity] }, parent).release;
    const prometheusAdapter = new PrometheusAdapter(name, { ...base, dependsOn: [kubePrometheusStack, ...capacity] }, parent).release;
    const pgbouncer = new PgBouncer(name, {
      ...base,
      writerEndpoint: args.database.endpoint,
      readerEndpoint: args.database.readerEndpoint,
      port: args.database.port,
      databaseName: v.databaseName,
      pool: v.pool,
      namespace: ns(namespaces.data),
      monitoringReady: kubePrometheusStack,
      serverCaBundleSha256: certManager.rdsCaBundleSha256,
      dependsOn: [...quotas.priorityClasses, ...quotas.quotas, ...podSgPolicies, ...certManager.pgbouncerTlsReady, externalSecrets.pgbouncerUserlist, ...(istio ? [istio.istiod] : []), ...capacity],
    }, parent);

    this.fileEventsQueueUrl = queue.queueUrl;
    this.fileEventsQueueArn = queue.queueArn;
    this.fileEventsQueueName = queue.queueName;
    this.fileEventsDeadLetterQueueArn = queue.deadLetterQueueArn;
    this.fileEventsKmsKeyArn = queue.kmsKeyArn;
    this.kedaOperatorRoleArn = keda.operatorRoleArn;
    this.helmReleases = {
      externalSecrets: externalSecrets.release, metricsServer, keda: keda.release, vpa, kubePrometheusStack, prometheusAdapter, certManager: certManager.release,
      ...(istio ? { istioBase: istio.base, istioCni: istio.cni, istiod: istio.istiod } : {}),
    };
    const installOrder: AddonKey[] = [
      "externalSecrets", "kubePrometheusStack", "certManager", "metricsServer", "keda", "vpa", "prometheusAdapter",
      ...(istio ? (["istioBase", "istioCni", "istiod"] as const) : []),
    ];
    this.storageClassName = storage.storageClassName;
    this.secretStoreRoleArn = externalSecrets.storeRoleArn;
    this.releases = installOrder.map((key) => helmReleaseNames[key]);
    this.pgbouncerPool = v.pool;
    this.pgbouncerService = pgbouncer.serviceAddress;
    this.redisAddress = pulumi.interpolate`${args.redis.endpoint}:${args.redis.port}`;
    this.kafkaBootstrapServers = pulumi.output(args.kafka.bootstrapBrokersSaslIam);
    this.scalingReady = [
      ...applicationNamespaces.map(ns), ...quotas.priorityClasses, ...quotas.quotas,
      metricsServer, keda.release, vpa, prometheusAdapter, ...keda.triggerAuthentications,
    ];
    this.monitoringReady = [ns(namespaces.monitoring), kubePrometheusStack];
    this.rdsCaBundleSha256 = certManager.rdsCaBundleSha256;
    this.automationCaBundle = certManager.automationCaBundle;
    // Application pods get sidecars only once istiod's injector is up.
    if (istio) this.scalingReady.push(istio.istiod);

    this.registerOutputs({
      kedaOperatorRoleArn: this.kedaOperatorRoleArn,
      fileEventsQueueUrl: this.fileEventsQueueUrl,
      fileEventsQueueArn: this.fileEventsQueueArn,
      fileEventsDeadLetterQueueArn: this.fileEventsDeadLetterQueueArn,
      fileEventsKmsKeyArn: this.fileEventsKmsKeyArn,
      pgbouncerService: this.pgbouncerService,
      releases: this.releases,
    });
  }
}
