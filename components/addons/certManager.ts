/**
 * TLS in the cluster: cert-manager (Helm, pinned), a private CA for in-cluster services
 * (self-signed ClusterIssuer -> CA Certificate -> CA ClusterIssuer), PgBouncer's server
 * Certificate `pgbouncer-tls` for its service names (renewed by cert-manager a third of its lifetime
 * before it expires), and the Amazon RDS CA bundle as the ConfigMap `rds-ca-bundle` PgBouncer
 * verifies Aurora with (downloaded from AWS at deploy time: components/addons/rdsCaBundle.ts), and
 * the same ConfigMap from the same download in the automation namespace when the automation
 * service verifies its own Aurora cluster with it.
 *
 * PgBouncer reads its certificate files at start and on RELOAD: a renewed `pgbouncer-tls` reaches
 * the mounted files within a minute, and the pods pick it up at their next restart (every rollout,
 * node replacement or scale event); the certificate's 30-day renewal margin covers that.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { rdsCaBundleConfigMap, rdsGlobalBundleUrl } from "../../lib/aws/rdsCaBundle";
import { namespaces } from "../../lib/catalog/cluster";
import { pgbouncer } from "./pgbouncerPool";
import { RdsCaBundle } from "./rdsCaBundle";
import { addonContainerResources as res, chartResources } from "./workloadHygiene";
import { addonSizing, criticalPriorityClass, helmRelease, managedLabels, systemNodeSelector, type HelmAddonArgs } from "./shared";

/** The private CA's issuers and its certificate's Secret. */
export const privateCa = {
  selfSignedIssuer: "pyairtable-selfsigned",
  certificate: "pyairtable-ca",
  /** Secret of the CA key pair, in cert-manager's namespace (its cluster resource namespace). */
  secretName: "pyairtable-ca",
  issuer: "pyairtable-ca",
  /** CA lifetime and renewal: 5 years, renewed with a year to spare. */
  duration: "43800h",
  renewBefore: "8760h",
} as const;

/** PgBouncer's server certificate: 90 days, renewed 30 days before it expires. */
export const pgbouncerCertificate = {
  duration: "2160h",
  renewBefore: "720h",
  /** The names its clients connect to. */
  dnsNames: [
    pgbouncer.name,
    `${pgbouncer.name}.${pgbouncer.namespace}`,
    `${pgbouncer.name}.${pgbouncer.namespace}.svc`,
    `${pgbouncer.name}.${pgbouncer.namespace}.svc.cluster.local`,
  ],
} as const;

export interface CertManagerArgs extends HelmAddonArgs {
  /** EKS cluster name: the CA's subject. */
  clusterName: string;
  /** The `cert-manager` Namespace (ClusterNamespaces: Pod Security, NetworkPolicies, quota). */
  namespace: pulumi.Resource;
  /** The `pyairtable-data` Namespace (PgBouncer's Certificate and the RDS CA bundle live there). */
  dataNamespace: pulumi.Resource;
  /**
   * The `pyairtable-automation` Namespace, when the automation service connects to its own Aurora
   * cluster (it verifies the server certificate with the bundle). Default none: no bundle there.
   */
  automationNamespace?: pulumi.Resource;
}

export class CertManager extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** What PgBouncer needs before it can start: its server certificate and the RDS CA bundle. */
  public readonly pgbouncerTlsReady: pulumi.Resource[];
  /** SHA-256 of the RDS CA bundle deployed (changes when AWS changes the bundle). */
  public readonly rdsCaBundleSha256: pulumi.Output<string>;
  /** The bundle's ConfigMap in the automation namespace (with `automationNamespace`): the service's pods need it. */
  public readonly automationCaBundle: k8s.core.v1.ConfigMap | undefined;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:CertManager", name, {}, opts);
    const k8sOpts = (...deps: pulumi.Input<pulumi.Resource>[]) => ({ parent: this, provider: args.provider, ...(deps.length ? { dependsOn: deps } : {}) });
    this.release = helmRelease(name, "certManager", namespaces.certManager, certManagerValues(args.environment), k8sOpts(args.namespace, ...(args.dependsOn ?? [])));

    const certManagerObject = (resourceName: string, kind: string, metadata: Record<string, unknown>, spec: Record<string, unknown>, ...deps: pulumi.Resource[]) =>
      new k8s.apiextensions.CustomResource(`${name}-${resourceName}`, {
        apiVersion: "cert-manager.io/v1",
        kind,
        metadata: { ...metadata, labels: managedLabels },
        spec,
      }, k8sOpts(this.release, ...deps));

    const selfSigned = certManagerObject("selfsigned-issuer", "ClusterIssuer", { name: privateCa.selfSignedIssuer }, { selfSigned: {} });
    const caCert = certManagerObject("ca-certificate", "Certificate", { name: privateCa.certificate, namespace: namespaces.certManager }, {
      isCA: true,
      commonName: `${args.clusterName} internal CA`,
      secretName: privateCa.secretName,
      duration: privateCa.duration,
      renewBefore: privateCa.renewBefore,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: privateCa.selfSignedIssuer },
    }, selfSigned);
    const caIssuer = certManagerObject("ca-issuer", "ClusterIssuer", { name: privateCa.issuer }, { ca: { secretName: privateCa.secretName } }, caCert);
    const serverCert = certManagerObject("pgbouncer-certificate", "Certificate", { name: pgbouncer.clientTlsSecret.name, namespace: pgbouncer.namespace }, {
      secretName: pgbouncer.clientTlsSecret.name,
      secretTemplate: { labels: { ...managedLabels } },
      commonName: pgbouncerCertificate.dnsNames[3],
      dnsNames: [...pgbouncerCertificate.dnsNames],
      duration: pgbouncerCertificate.duration,
      renewBefore: pgbouncerCertificate.renewBefore,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["server auth", "digital signature", "key encipherment"],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: privateCa.issuer },
      revisionHistoryLimit: 3,
    }, caIssuer, args.dataNamespace);

    const bundle = new RdsCaBundle(`${name}-rds-ca-bundle-download`, { parent: this });
    this.rdsCaBundleSha256 = bundle.sha256;
    // One download, one ConfigMap per namespace that reads it (a ConfigMap volume is namespace-local).
    const bundleConfigMap = (resourceName: string, namespace: string, namespaceResource: pulumi.Resource) =>
      new k8s.core.v1.ConfigMap(resourceName, {
        metadata: {
          name: rdsCaBundleConfigMap.name,
          namespace,
          labels: managedLabels,
          annotations: { "pyairtable.io/source": rdsGlobalBundleUrl },
        },
        data: { [rdsCaBundleConfigMap.key]: bundle.pem },
      }, k8sOpts(namespaceResource));
    this.pgbouncerTlsReady = [serverCert, bundleConfigMap(`${name}-rds-ca-bundle`, pgbouncer.namespace, args.dataNamespace)];
    this.automationCaBundle = args.automationNamespace
      ? bundleConfigMap(`${name}-rds-ca-bundle-automation`, namespaces.automation, args.automationNamespace)
      : undefined;
    this.registerOutputs({ rdsCaBundleSha256: this.rdsCaBundleSha256 });
  }
}

/** Chart values (checked against deploy/charts/cert-manager at v1.21.1: contracts/charts/cert-manager-v1.21.1.values-keys.json). */
export function certManagerValues(environment: "prod" | "dev") {
  const sizing = addonSizing[environment];
  const prod = environment === "prod";
  return {
    crds: { enabled: true, keep: true },
    global: { priorityClassName: criticalPriorityClass, leaderElection: { namespace: namespaces.certManager } },
    replicaCount: sizing.controllerReplicas,
    nodeSelector: systemNodeSelector,
    podDisruptionBudget: { enabled: prod },
    // Requests and limits of every container: workloadHygiene.ts (the namespace quota is sized from it).
    // The chart's security contexts are already `restricted` with a read-only root filesystem.
    resources: chartResources(res.certManagerController),
    prometheus: { enabled: true, servicemonitor: { enabled: true } },
    webhook: {
      replicaCount: sizing.controllerReplicas,
      nodeSelector: systemNodeSelector,
      podDisruptionBudget: { enabled: prod },
      resources: chartResources(res.certManagerWebhook),
    },
    cainjector: {
      replicaCount: 1,
      nodeSelector: systemNodeSelector,
      resources: chartResources(res.certManagerCainjector),
    },
    startupapicheck: { nodeSelector: systemNodeSelector, resources: chartResources(res.certManagerStartupApiCheck) },
  };
}
