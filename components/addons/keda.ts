/**
 * KEDA: the operator (Helm release) with its IRSA role (SQS queue depth and MSK consumer lag,
 * nothing else) and the cluster-wide trigger authentications the ScaledObjects use: secrets and pod
 * identity only, never inline credentials.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaces, redisAuthSecret, triggerAuthentications } from "../../lib/catalog/cluster";
import { monitoringChartValues } from "../monitoring";
import { irsaTrustPolicy } from "../../lib/aws/irsa";
import {
  alertmanagerConfigSecretName,
  childOptions,
  criticalPriorityClass,
  failer,
  helmRelease,
  k8sChildOptions,
  managedLabels,
  mergeValues,
  systemNodeSelector,
  addonSizing,
  type HelmAddonArgs,
} from "./shared";
import { addonContainerResources, chartResources } from "./workloadHygiene";

/** The KEDA operator's service account (its IRSA role reads SQS depth and MSK consumer lag). */
export const kedaOperatorServiceAccount = "keda-operator";

/**
 * Non-secret KEDA authentication parameters, in a ConfigMap of the KEDA namespace that the
 * ClusterTriggerAuthentications read (`configMapTargetRef`). Scalers take these as auth parameters:
 * the ScaledObjects need not (and for Redis must not) repeat them.
 */
export const kedaAuthParameters = {
  configMapName: "pyairtable-keda-auth-parameters",
  keys: {
    /** Redis scaler `tls` auth parameter: `enable` (ElastiCache requires TLS). */
    redisTls: "redis-tls",
    /** Kafka scaler `sasl`: `oauthbearer`, with the MSK IAM token provider below. */
    kafkaSasl: "kafka-sasl",
    /** Kafka scaler `saslTokenProvider`: `aws_msk_iam` (signs with the operator's IRSA role). */
    kafkaSaslTokenProvider: "kafka-sasl-token-provider",
    /** Kafka scaler `tls`: `enable` (MSK IAM listeners are TLS only). */
    kafkaTls: "kafka-tls",
  },
} as const;

export interface KedaArgs extends HelmAddonArgs {
  /** EKS cluster name (names the operator's IAM role description and tag). */
  clusterName: string;
  /** ARN of the cluster's IAM OIDC provider (IRSA trust). */
  oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without scheme, e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`. */
  oidcIssuer: pulumi.Input<string>;
  /** The file-events queue whose depth the operator may read (sqs:GetQueueAttributes only). */
  queueArn: pulumi.Input<string>;
  /** MSK cluster whose consumer lag the operator reads with IAM (metadata only, no ReadData). */
  kafkaClusterArn: pulumi.Input<string>;
  /** Redis AUTH token: stored only in a Kubernetes Secret of the KEDA namespace, as a Pulumi secret. */
  redisAuthToken: pulumi.Input<string>;
  /** The KEDA Namespace (the Secret and ConfigMap of the trigger authentications live there). */
  namespace: k8s.core.v1.Namespace;
}

export class Keda extends pulumi.ComponentResource {
  public readonly operatorRoleArn: pulumi.Output<string>;
  public readonly release: k8s.helm.v3.Release;
  /** The ClusterTriggerAuthentications (redis, kafka, aws). */
  public readonly triggerAuthentications: readonly k8s.apiextensions.CustomResource[];

  constructor(name: string, args: KedaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:Keda", name, {}, opts);
    const fail = failer("Keda", name);
    if (args.namespace === undefined) fail("namespace is missing: pass the KEDA Namespace");
    if (args.redisAuthToken === undefined) fail("redisAuthToken is missing: the Redis scalers authenticate with it");
    const sizing = addonSizing[args.environment];
    const prod = args.environment === "prod";
    const awsChild = childOptions(this, args.formerParent);
    const child = (...deps: pulumi.Input<pulumi.Resource>[]) => k8sChildOptions(this, args, ...deps);

    const role = new aws.iam.Role(`${name}-keda-operator`, {
      description: `KEDA operator of ${args.clusterName}: reads SQS queue depth and MSK consumer lag`,
      assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, namespaces.keda, kedaOperatorServiceAccount),
      tags: { Name: `${args.clusterName}-keda-operator` },
    }, awsChild);
    new aws.iam.RolePolicy(`${name}-keda-operator-policy`, {
      role: role.id,
      policy: pulumi.all([args.queueArn, args.kafkaClusterArn]).apply(([queueArn, mskArn]) => JSON.stringify(kedaOperatorPolicy(queueArn, mskArn))),
    }, awsChild);
    this.operatorRoleArn = role.arn;

    const release = helmRelease(name, "keda", namespaces.keda, mergeValues({
      crds: { install: true },
      operator: { replicaCount: sizing.controllerReplicas },
      metricsServer: { replicaCount: sizing.controllerReplicas },
      webhooks: { enabled: true, replicaCount: sizing.controllerReplicas },
      serviceAccount: { operator: { create: true, name: kedaOperatorServiceAccount } },
      // IRSA: the chart annotates the operator's service account with the role; ClusterTrigger-
      // Authentications with podIdentity `aws` then sign SQS and MSK calls as that role.
      podIdentity: { aws: { irsa: { enabled: true, roleArn: role.arn, audience: "sts.amazonaws.com", stsRegionalEndpoints: "true" } } },
      // The operator reads Secrets of its own namespace only (ClusterTriggerAuthentication secrets live there).
      permissions: { operator: { restrict: { secret: true } } },
      nodeSelector: systemNodeSelector,
      priorityClassName: criticalPriorityClass,
      resources: {
        operator: chartResources(addonContainerResources.kedaOperator),
        metricServer: chartResources(addonContainerResources.kedaMetricsServer),
        webhooks: chartResources(addonContainerResources.kedaWebhooks),
      },
      podDisruptionBudget: prod ? { operator: { minAvailable: 1 }, metricServer: { minAvailable: 1 }, webhooks: { minAvailable: 1 } } : {},
      // keda_scaler_* metrics: the operator exposes them; the Monitoring component scrapes them
      // (its values below turn the chart's own monitors off so nothing is scraped twice).
    }, monitoringChartValues(alertmanagerConfigSecretName).keda), child(...(args.dependsOn ?? [])));
    this.release = release;

    const redisSecret = new k8s.core.v1.Secret(`${name}-redis-auth`, {
      metadata: { name: redisAuthSecret.name, namespace: namespaces.keda, labels: managedLabels },
      type: "Opaque",
      stringData: { [redisAuthSecret.key]: pulumi.secret(args.redisAuthToken) },
    }, child(args.namespace));
    const kp = kedaAuthParameters.keys;
    const authParameters = new k8s.core.v1.ConfigMap(`${name}-keda-auth-parameters`, {
      metadata: { name: kedaAuthParameters.configMapName, namespace: namespaces.keda, labels: managedLabels },
      data: {
        [kp.redisTls]: "enable",
        [kp.kafkaSasl]: "oauthbearer",
        [kp.kafkaSaslTokenProvider]: "aws_msk_iam",
        [kp.kafkaTls]: "enable",
      },
    }, child(args.namespace));
    const fromConfigMap = (parameter: string, key: string) => ({ parameter, name: kedaAuthParameters.configMapName, key });
    const clusterAuth = (key: string, authName: string, spec: Record<string, unknown>) =>
      new k8s.apiextensions.CustomResource(`${name}-cta-${key}`, {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ClusterTriggerAuthentication",
        metadata: { name: authName, labels: managedLabels },
        spec,
      }, child(release, redisSecret, authParameters));
    const triggerAuthResources = [
      // Redis: AUTH token from the Secret; TLS via the scaler's `tls` auth parameter. ScaledObjects
      // must not also set `enableTLS` (KEDA rejects TLS set in both places).
      clusterAuth("redis", triggerAuthentications.redis, {
        secretTargetRef: [{ parameter: "password", name: redisAuthSecret.name, key: redisAuthSecret.key }],
        configMapTargetRef: [fromConfigMap("tls", kp.redisTls)],
      }),
      // MSK: SASL/OAUTHBEARER with the MSK IAM token provider, signed as the operator's IRSA role.
      clusterAuth("kafka", triggerAuthentications.kafka, {
        podIdentity: { provider: "aws" },
        configMapTargetRef: [fromConfigMap("sasl", kp.kafkaSasl), fromConfigMap("saslTokenProvider", kp.kafkaSaslTokenProvider), fromConfigMap("tls", kp.kafkaTls)],
      }),
      // SQS (and any other AWS scaler): the operator's IRSA role.
      clusterAuth("aws", triggerAuthentications.aws, { podIdentity: { provider: "aws" } }),
    ];
    this.triggerAuthentications = triggerAuthResources;
    this.registerOutputs({ operatorRoleArn: this.operatorRoleArn });
  }
}

/**
 * MSK IAM resources of a cluster ARN: `...:cluster/<name>/<uuid>` -> topic and group ARNs
 * `...:topic/<name>/<uuid>/*` and `...:group/<name>/<uuid>/*`.
 */
export function mskResourceArns(clusterArn: string): { cluster: string; topics: string; groups: string } {
  const m = /^(arn:[^:]+:[^:]+:[^:]*:[^:]*:)cluster\/(.+)$/i.exec(clusterArn);
  if (!m) throw new Error(`kafka.clusterArn = ${JSON.stringify(clusterArn)}: must be an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)`);
  const [, prefix, rest] = m;
  return { cluster: clusterArn, topics: `${prefix}topic/${rest}/*`, groups: `${prefix}group/${rest}/*` };
}

/**
 * KEDA operator permissions. Lag reading needs only metadata: ListOffsets and OffsetFetch map to
 * DescribeTopic and DescribeGroup in MSK IAM, so no ReadData (message contents) is granted.
 */
export function kedaOperatorPolicy(queueArn: string, mskClusterArn: string) {
  const msk = mskResourceArns(mskClusterArn);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadFileEventsQueueDepth", Effect: "Allow", Action: ["sqs:GetQueueAttributes"], Resource: queueArn },
      { Sid: "ConnectToMsk", Effect: "Allow", Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], Resource: msk.cluster },
      { Sid: "ReadTopicOffsets", Effect: "Allow", Action: ["kafka-cluster:DescribeTopic"], Resource: msk.topics },
      { Sid: "ReadConsumerGroupOffsets", Effect: "Allow", Action: ["kafka-cluster:DescribeGroup"], Resource: msk.groups },
    ],
  };
}
