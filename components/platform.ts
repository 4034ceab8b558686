import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformSettings } from "../lib/config/settings";
import { customerManagedKey, logsKeyPolicy } from "../lib/aws/kms";
import { serviceCatalog } from "../lib/catalog/services";
import { designLimits } from "../lib/design";
import { partitionsForConsumers } from "../lib/scaling/capacity";
import { Network } from "./network";
import { Cluster } from "./cluster";
import { ClusterCapacity } from "./clusterCapacity";
import { Database } from "./database";
import { Cache } from "./cache";
import { Streaming } from "./streaming";
import { Search } from "./search";
import { CostControls } from "./costControls";
import { DataTierAlarms } from "./dataTierAlarms";
import { alertmanagerConfigSecretName, ClusterAddons, pgbouncer } from "./clusterAddons";
import { DataStoreClientGroups } from "./dataStoreClientGroups";
import { dataStoreClients } from "../lib/k8s/podSecurityGroups";
import type { DataStore } from "../lib/k8s/networkPolicies";
import { fileEventsQueueName } from "../lib/catalog/cluster";
import { WorkloadScaling } from "./workloadScaling";
import { WorkloadContract } from "./workloadContract";
import { Monitoring } from "./monitoring";
import { AutomationService, databaseCaBundlePath } from "./automationService";
import { AutomationDatabase } from "./automationDatabase";
import { AutomationImageRepository } from "./automationImageRepository";

export interface PlatformArgs {
  /** Validated settings of the stack (lib/config/settings.ts). */
  settings: PlatformSettings;
}

/**
 * One whole environment: network, EKS with its capacity, the data tier with its autoscaling, and
 * cost controls. It only wires components together; each component owns its resources.
 */
export class Platform extends pulumi.ComponentResource {
  public readonly network: Network;
  public readonly cluster: Cluster;
  public readonly capacity: ClusterCapacity;
  public readonly database: Database;
  public readonly cache: Cache;
  public readonly streaming: Streaming;
  public readonly search: Search;
  /** Data-store client security groups (pod-security-groups mode only). */
  public readonly dataStoreClients: DataStoreClientGroups | undefined;
  public readonly costControls: CostControls;
  public readonly dataTierAlarms: DataTierAlarms;
  public readonly addons: ClusterAddons;
  public readonly workloads: WorkloadScaling;
  public readonly workloadContract: WorkloadContract;
  public readonly monitoring: Monitoring;
  public readonly automation: AutomationService;
  /** The automation service's own PostgreSQL (when automation.databaseSecretName is set). */
  public readonly automationDatabase: AutomationDatabase | undefined;
  public readonly imageRepository: AutomationImageRepository;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:index:Platform", name, {}, opts);
    const s = args.settings;
    const parent = { parent: this };

    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);

    // One key for every log group of the environment (flow logs, control plane, data services).
    const logsKey = customerManagedKey(`${name}-logs`, `CloudWatch Logs encryption for ${name}`, parent,
      logsKeyPolicy(identity.accountId, region.name, partition.partition));

    this.network = new Network(`${name}-network`, {
      ...s.network,
      logsKmsKeyArn: logsKey.arn,
      clusterName: s.cluster.name,
    }, parent);

    this.cluster = new Cluster(`${name}-cluster`, {
      clusterName: s.cluster.name,
      kubernetesVersion: s.cluster.kubernetesVersion,
      vpcId: this.network.vpcId,
      privateSubnetIds: this.network.privateSubnetIds,
      publicSubnetIds: this.network.publicSubnetIds,
      endpointPublicAccess: s.cluster.endpointPublicAccess,
      publicAccessCidrs: s.cluster.publicAccessCidrs,
      // Who reaches the private endpoint: hosts in the VPC (README, "Reaching the private API endpoint").
      privateAccessCidrs: [s.network.cidrBlock],
      logRetentionDays: s.cluster.logRetentionDays,
      logsKmsKeyArn: logsKey.arn,
      systemNodeGroup: s.cluster.systemNodeGroup,
      accountId: identity.accountId,
      partition: partition.partition,
      podSecurityGroups: s.network.dataStoreAccess === "pod-security-groups",
    }, parent);

    this.capacity = new ClusterCapacity(`${name}-capacity`, {
      clusterName: s.cluster.name,
      provider: this.cluster.provider,
      oidcProviderArn: this.cluster.oidcProviderArn,
      oidcIssuer: this.cluster.oidcIssuer,
      clusterSecurityGroupId: this.cluster.clusterSecurityGroupId,
      nodeRole: this.cluster.nodeRole,
      ebsKmsKeyArn: this.cluster.ebsKmsKeyArn,
      availabilityZones: this.network.availabilityZones,
      workloadClasses: s.cluster.workloadClasses,
      spotInstanceTypes: s.cluster.spotInstanceTypes,
      onDemandInstanceTypes: s.cluster.onDemandInstanceTypes,
      systemNodeGroupMaxSize: s.cluster.systemNodeGroup.maxSize,
      maxNodes: s.cluster.maxNodes,
      expectedSpotNodes: s.cluster.expectedSpotNodes,
      amiAlias: s.cluster.amiAlias,
      // Security groups for pods: the trunk ENI is not available for pod addresses.
      reservedEnis: s.network.dataStoreAccess === "pod-security-groups" ? 1 : 0,
      nodeDiskSizeGiB: s.cluster.systemNodeGroup.diskSizeGiB,
      dependsOn: [this.cluster.systemNodeGroup],
      region: region.name,
      accountId: identity.accountId,
      partition: partition.partition,
    }, parent);

    // Who the data stores admit. pod-security-groups (prod): only the client security group of the
    // workloads that use each store (PgBouncer for Aurora; services and the KEDA operator for Redis and
    // MSK; services for OpenSearch), given to their pods by SecurityGroupPolicy. cluster-security-group
    // (dev, t3 nodes without trunk ENIs): every node and pod, NetworkPolicies being the only filter.
    const podSecurityGroups = s.network.dataStoreAccess === "pod-security-groups";
    const clients = dataStoreClients({ "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] });
    this.dataStoreClients = podSecurityGroups
      ? new DataStoreClientGroups(`${name}-data-clients`, { environment: s.environment, clusterName: s.cluster.name, vpcId: this.network.vpcId, clients }, parent)
      : undefined;
    const admitted = (store: DataStore): pulumi.Input<string>[] =>
      this.dataStoreClients ? this.dataStoreClients.admittedBy[store] : [this.cluster.clusterSecurityGroupId];
    const dataTierAccess = {
      environment: s.environment,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      logsKmsKeyArn: logsKey.arn,
    };

    this.database = new Database(`${name}-database`, { ...s.database, ...dataTierAccess, clientSecurityGroupIds: admitted("postgres") }, parent);
    this.cache = new Cache(`${name}-cache`, {
      ...dataTierAccess,
      clientSecurityGroupIds: admitted("redis"),
      settings: s.cache,
      logRetentionDays: s.cache.logRetentionDays,
      authToken: pulumi.secret(s.secrets.redisAuthToken),
    }, parent);
    // Enough partitions for the largest Kafka consumer group at its maximum, spread evenly over any
    // broker count the design allows (3 or 6).
    const kafkaConsumerCeiling = Math.max(...serviceCatalog
      .filter((svc) => svc.signals.some((sig) => sig.type === "kafkaLag"))
      .map((svc) => s.services[svc.name]?.maxReplicas ?? 1));
    this.streaming = new Streaming(`${name}-streaming`, {
      ...s.streaming,
      ...dataTierAccess,
      clientSecurityGroupIds: admitted("kafka"),
      // Nothing scrapes the brokers' open-monitoring exporters (docs/monitoring-contract.md): no source.
      prometheusSecurityGroupIds: [],
      defaultPartitions: partitionsForConsumers(kafkaConsumerCeiling, [designLimits.mskBrokers.min, designLimits.mskBrokers.max]),
    }, parent);
    this.search = new Search(`${name}-search`, { ...s.search, ...dataTierAccess, clientSecurityGroupIds: admitted("openSearch") }, parent);

    this.costControls = new CostControls(`${name}-cost`, {
      ...s.budgets,
      environment: s.environment,
      alertEmail: pulumi.secret(s.secrets.alertEmail),
    }, parent);

    // The data tier's ceilings, alarmed in CloudWatch (Prometheus does not see them).
    this.dataTierAlarms = new DataTierAlarms(`${name}-data-alarms`, {
      settings: s,
      auroraClusterIdentifier: this.database.clusterIdentifier,
      redisReplicationGroupId: this.cache.replicationGroupId,
      mskClusterName: this.streaming.clusterName,
      openSearchDomainName: this.search.domainName,
      accountId: identity.accountId,
      topicKmsKeyArn: this.costControls.kmsKeyArn,
      alertEmail: pulumi.secret(s.secrets.alertEmail),
    }, parent);

    // The service's PostgreSQL and the Secret with its DATABASE_URL, rendered from Secrets Manager
    // through the add-ons' ClusterSecretStore (whose IAM role reads exactly the secrets named here).
    let addonsAreBuilt!: (r: pulumi.Resource[]) => void;
    const addonsBuilt = new Promise<pulumi.Resource[]>((resolve) => (addonsAreBuilt = resolve));
    this.automationDatabase = s.automation.databaseSecretName === null ? undefined : new AutomationDatabase(`${name}-automation-db`, {
      environment: s.environment,
      engineVersion: s.database.engineVersion,
      port: s.database.port,
      backupRetentionDays: s.database.backupRetentionDays,
      deletionProtection: s.database.deletionProtection,
      logRetentionDays: s.database.logRetentionDays,
      logsKmsKeyArn: logsKey.arn,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      clusterName: s.cluster.name,
      access: s.network.dataStoreAccess,
      clusterSecurityGroupId: this.cluster.clusterSecurityGroupId,
      provider: this.cluster.provider,
      secretName: s.automation.databaseSecretName,
      // verify-full against the RDS CA bundle the service's pods mount (the add-ons deploy it in
      // the automation namespace; the Deployment rolls when it changes).
      caBundlePath: databaseCaBundlePath,
      // Its Kubernetes objects wait for the add-ons (the namespace, External Secrets and its
      // ClusterSecretStore), which are built after it: the store's role must name this secret.
      dependsOn: addonsBuilt,
    }, parent);

    // --- In the cluster -------------------------------------------------------------------------
    this.addons = new ClusterAddons(`${name}-addons`, {
      environment: s.environment,
      clusterName: s.cluster.name,
      provider: this.cluster.provider,
      oidcProviderArn: this.cluster.oidcProviderArn,
      oidcIssuer: this.cluster.oidcIssuer,
      region: region.name,
      accountId: identity.accountId,
      partition: partition.partition,
      redis: { endpoint: this.cache.endpoint, port: this.cache.port, authToken: pulumi.secret(s.secrets.redisAuthToken) },
      kafka: { clusterArn: this.streaming.clusterArn, bootstrapBrokersSaslIam: this.streaming.bootstrapBrokersSaslIam },
      database: {
        endpoint: this.database.endpoint,
        readerEndpoint: this.database.readerEndpoint,
        port: s.database.port,
        minAcu: s.database.minAcu,
        maxAcu: s.database.maxAcu,
      },
      services: s.services,
      istioSidecars: s.workloads.istioSidecars,
      kubernetesVersion: s.cluster.kubernetesVersion,
      ebsKmsKeyArn: this.cluster.ebsKmsKeyArn,
      databaseMasterSecret: { arn: this.database.masterUserSecretArn, kmsKeyArn: this.database.kmsKeyArn },
      ...(this.automationDatabase
        ? { secretStoreSecretArns: [this.automationDatabase.masterUserSecretArn], secretStoreKmsKeyArns: [this.automationDatabase.secretKmsKeyArn], automationDatabaseCaBundle: true }
        : {}),
      maxNodes: s.cluster.maxNodes,
      vpcCidr: s.network.cidrBlock,
      ...(this.dataStoreClients
        ? { podSecurityGroups: { clients, groupIds: this.dataStoreClients.groupIds, clusterSecurityGroupId: this.cluster.clusterSecurityGroupId } }
        : {}),
      dependsOn: [this.capacity],
    }, parent);

    addonsAreBuilt([this.addons]);

    this.workloads = new WorkloadScaling(`${name}-workloads`, {
      environment: s.environment,
      provider: this.cluster.provider,
      ranges: s.services,
      schedules: s.schedules,
      workloads: s.workloads,
      sources: {
        redis: { mode: s.cache.mode, address: this.addons.redisAddress },
        kafka: { bootstrapServers: this.addons.kafkaBootstrapServers },
        sqsQueueUrl: (queue) => {
          if (queue !== fileEventsQueueName) throw new Error(`no SQS queue '${queue}' in this stack (only ${fileEventsQueueName})`);
          return this.addons.fileEventsQueueUrl;
        },
        awsRegion: region.name,
      },
      dependsOn: this.addons.scalingReady,
    }, parent);

    // What every service's Deployment must carry, enforced by admission; reference Deployments in dev.
    this.workloadContract = new WorkloadContract(`${name}-workload-contract`, {
      provider: this.cluster.provider,
      enforcement: s.workloads.admissionEnforcement,
      referenceDeployments: s.workloads.referenceDeployments,
      dependsOn: [this.addons],
    }, parent);

    this.monitoring = new Monitoring(`${name}-monitoring`, {
      environment: s.environment,
      provider: this.cluster.provider,
      services: serviceCatalog.map((svc) => ({ name: svc.name, namespace: svc.namespace })),
      budgets: s.budgets,
      slackWebhookUrl: pulumi.secret(s.secrets.slackWebhookUrl),
      alertEmail: pulumi.secret(s.secrets.alertEmail),
      smtp: {},
      alertmanagerConfigSecretName,
      runbookBaseUrl: s.monitoring.runbookBaseUrl,
      region: pulumi.runtime.getConfig("aws:region") ?? "us-east-1",
      dependsOn: this.addons.monitoringReady,
    }, parent);

    this.automation = new AutomationService(`${name}-automation`, {
      ...s.automation,
      stack: pulumi.getStack(),
      provider: this.cluster.provider,
      oidcProviderArn: this.cluster.oidcProviderArn,
      oidcIssuer: this.cluster.oidcIssuer,
      region: region.name,
      clusterName: this.cluster.clusterName,
      partition: partition.partition,
      accountId: identity.accountId,
      environment: s.environment,
      emergencyQueueArn: this.costControls.emergencyQueueArn,
      emergencyQueueUrl: this.costControls.emergencyQueueUrl,
      emergencyQueueKmsKeyArn: this.costControls.kmsKeyArn,
      weeklyLimitUsd: s.budgets.weeklyUsd,
      activateCostAllocationTag: s.budgets.costAllocationTagActivation === "automation",
      ...(this.automationDatabase ? { databaseCaBundle: { sha256: this.addons.rdsCaBundleSha256 } } : {}),
      // The namespace, priority class and the monitoring CRDs come from the add-ons; the database's
      // Secret and the pods' security group policy must exist before the pods.
      dependsOn: [this.addons, ...(this.automationDatabase?.ready ?? [])],
    }, parent);

    this.imageRepository = new AutomationImageRepository(`${name}-automation-image`, { name: `pyairtable-automation-${s.environment}` }, parent);

    this.registerOutputs({});
  }
}
