/**
 * Network isolation of the platform namespaces (every namespace the stack creates that is not an
 * application namespace: monitoring, keda, vpa, node-exporter, external-secrets, cert-manager,
 * istio-system): default-deny ingress, then one
 * allow per path a component needs, from the table below. Egress stays open there except for
 * Alertmanager (its receivers are outside the cluster: SES and Slack); the controllers' egress is
 * the Kubernetes API, AWS APIs and every scrape target, which an allow list would only mirror.
 *
 * Pure data, like lib/k8s/networkPolicies.ts: ClusterNamespaces creates one NetworkPolicy per
 * manifest, the README's access table is generated from `platformIngressAllows`
 * (scripts/readme-access.ts), and test/platformNetworkPolicies.test.ts checks that every webhook,
 * aggregated API and scrape target in the plan and the rendered charts has its allow.
 */
import { applicationNamespaces, namespaces, type NamespaceName } from "../catalog/cluster";
import { namespaceNameLabel, networkPolicyFactory, prometheusPodLabels, type NetworkPolicyManifest } from "./networkPolicies";

/** Namespaces the stack creates that are not application namespaces. */
export const platformNamespaces = Object.values(namespaces).filter((n) => !(applicationNamespaces as readonly string[]).includes(n)) as NamespaceName[];

/** Name of the default-deny-ingress policy of every platform namespace. */
export const defaultDenyIngressPolicyName = "default-deny-ingress";

/** Where traffic comes from. `apiServer`: the EKS control plane's ENIs, which sit in the VPC's subnets. */
export type IngressSource =
  | { readonly kind: "apiServer" }
  | { readonly kind: "pods"; readonly namespace: NamespaceName; readonly labels?: Readonly<Record<string, string>>; readonly what: string };

export interface IngressAllow {
  readonly namespace: NamespaceName;
  /** NetworkPolicy name. */
  readonly name: string;
  /** Pods admitted to (label selector), and what they are. */
  readonly pods: { readonly labels: Readonly<Record<string, string>>; readonly what: string };
  readonly from: readonly IngressSource[];
  /** Ports (TCP unless said); none: every port (Prometheus scrapes whatever port a monitor names). */
  readonly ports: readonly { readonly port: number; readonly protocol?: "TCP" | "UDP" }[];
  /** Why the path exists. */
  readonly why: string;
}

const prometheus: IngressSource = { kind: "pods", namespace: namespaces.monitoring, labels: prometheusPodLabels, what: "Prometheus" };
const apiServer: IngressSource = { kind: "apiServer" };
const scrape = (namespace: NamespaceName): IngressAllow => ({
  namespace, name: "allow-prometheus-scrape", pods: { labels: {}, what: "every pod" }, from: [prometheus], ports: [],
  why: "Prometheus scrapes the ServiceMonitors and PodMonitors of the namespace (metrics ports differ per component)",
});

/** Labels the charts give the pods (from the charts at their tags; contracts/charts/rendered/ proves them). */
export const platformPodLabels = {
  prometheus: prometheusPodLabels,
  alertmanager: { "app.kubernetes.io/name": "alertmanager" },
  grafana: { "app.kubernetes.io/name": "grafana" },
  prometheusOperator: { app: "kube-prometheus-stack-operator" },
  prometheusAdapter: { "app.kubernetes.io/name": "prometheus-adapter" },
  kedaOperator: { app: "keda-operator" },
  kedaMetricsApiServer: { app: "keda-operator-metrics-apiserver" },
  kedaWebhooks: { app: "keda-admission-webhooks" },
  vpaAdmissionController: { "app.kubernetes.io/name": "vpa", "app.kubernetes.io/component": "admission-controller" },
  externalSecretsWebhook: { "app.kubernetes.io/name": "external-secrets-webhook" },
  certManagerWebhook: { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager" },
  istiod: { app: "istiod" },
} as const;

/** Container ports the paths open (the charts' defaults at their tags). */
export const platformPorts = {
  prometheusWeb: 9090,
  alertmanagerWeb: 9093,
  alertmanagerMesh: 9094,
  prometheusOperatorWebhook: 10250,
  prometheusAdapter: 6443,
  kedaMetricsApiServer: 6443,
  kedaWebhooks: 9443,
  kedaOperatorGrpc: 9666,
  vpaAdmissionController: 8000,
  externalSecretsWebhook: 10250,
  certManagerWebhook: 10250,
  /** istiod's sidecar injector and config validation webhooks. */
  istiodWebhooks: 15017,
  /** istiod's xDS over TLS (config and workload certificates for the sidecars). */
  istiodXds: 15012,
  /** SES SMTP submission with STARTTLS (Alertmanager's e-mail receiver). */
  smtpSubmission: 587,
} as const;

const L = platformPodLabels;
const P = platformPorts;

/** The API server calling a webhook or aggregated API served by `pods` on `port`. */
const fromApiServer = (namespace: NamespaceName, name: string, labels: Readonly<Record<string, string>>, what: string, port: number, why: string): IngressAllow => ({
  namespace, name, pods: { labels, what }, from: [apiServer], ports: [{ port }], why,
});

/** Every ingress path into a platform namespace besides its default deny. */
export const platformIngressAllows: readonly IngressAllow[] = [
  scrape(namespaces.monitoring),
  {
    namespace: namespaces.monitoring, name: "allow-prometheus-queries", pods: { labels: L.prometheus, what: "Prometheus" },
    from: [
      { kind: "pods", namespace: namespaces.monitoring, labels: L.grafana, what: "Grafana" },
      { kind: "pods", namespace: namespaces.monitoring, labels: L.prometheusAdapter, what: "prometheus-adapter" },
      { kind: "pods", namespace: namespaces.keda, labels: L.kedaOperator, what: "KEDA operator (prometheus triggers)" },
      { kind: "pods", namespace: namespaces.automation, what: "the automation service" },
    ],
    ports: [{ port: P.prometheusWeb }],
    why: "dashboards, the custom metrics API, KEDA's prometheus triggers and the automation service query Prometheus",
  },
  {
    namespace: namespaces.monitoring, name: "allow-alertmanager", pods: { labels: L.alertmanager, what: "Alertmanager" },
    from: [prometheus], ports: [{ port: P.alertmanagerWeb }],
    why: "Prometheus sends alerts",
  },
  {
    namespace: namespaces.monitoring, name: "allow-alertmanager-mesh", pods: { labels: L.alertmanager, what: "Alertmanager" },
    from: [{ kind: "pods", namespace: namespaces.monitoring, labels: L.alertmanager, what: "Alertmanager peers" }],
    ports: [{ port: P.alertmanagerMesh, protocol: "TCP" }, { port: P.alertmanagerMesh, protocol: "UDP" }],
    why: "the replicas gossip silences and notification state (no duplicate pages)",
  },
  fromApiServer(namespaces.monitoring, "allow-api-server-operator-webhook", L.prometheusOperator, "prometheus-operator", P.prometheusOperatorWebhook,
    "admission webhooks validating and mutating PrometheusRules and AlertmanagerConfigs"),
  fromApiServer(namespaces.monitoring, "allow-api-server-prometheus-adapter", L.prometheusAdapter, "prometheus-adapter", P.prometheusAdapter,
    "the aggregated custom.metrics.k8s.io API the HPAs read"),
  scrape(namespaces.keda),
  fromApiServer(namespaces.keda, "allow-api-server-metrics-apiserver", L.kedaMetricsApiServer, "KEDA metrics API server", P.kedaMetricsApiServer,
    "the aggregated external.metrics.k8s.io API the ScaledObjects' HPAs read"),
  fromApiServer(namespaces.keda, "allow-api-server-webhooks", L.kedaWebhooks, "KEDA admission webhooks", P.kedaWebhooks,
    "validating webhooks of ScaledObjects, ScaledJobs and trigger authentications"),
  {
    namespace: namespaces.keda, name: "allow-metrics-apiserver-to-operator", pods: { labels: L.kedaOperator, what: "KEDA operator" },
    from: [{ kind: "pods", namespace: namespaces.keda, labels: L.kedaMetricsApiServer, what: "KEDA metrics API server" }],
    ports: [{ port: P.kedaOperatorGrpc }],
    why: "the metrics API server asks the operator for scaler values (gRPC)",
  },
  // vpa: nothing scrapes the VPA components (no monitor selects them), so no scrape allow.
  fromApiServer(namespaces.vpa, "allow-api-server-admission-controller", L.vpaAdmissionController, "VPA admission controller", P.vpaAdmissionController,
    "the mutating webhook that applies VPA recommendations to new pods"),
  // node-exporter runs in the host network namespace, where NetworkPolicies do not apply (the VPC
  // CNI enforces them on pod interfaces only); the allow documents the one path it serves.
  scrape(namespaces.nodeExporter),
  // external-secrets: the ServiceMonitor externalSecrets.ts creates scrapes the controller.
  scrape(namespaces.externalSecrets),
  fromApiServer(namespaces.externalSecrets, "allow-api-server-webhook", L.externalSecretsWebhook, "External Secrets webhook", P.externalSecretsWebhook,
    "validating webhooks of ExternalSecrets, SecretStores and ClusterSecretStores"),
  // cert-manager: the chart's ServiceMonitor scrapes controller, webhook and cainjector.
  scrape(namespaces.certManager),
  fromApiServer(namespaces.certManager, "allow-api-server-webhook", L.certManagerWebhook, "cert-manager webhook", P.certManagerWebhook,
    "validating and mutating webhooks of Certificates, Issuers and ClusterIssuers"),
  // istio-system (only with sidecars): nothing scrapes istiod (no monitor selects it), so no scrape allow.
  fromApiServer(namespaces.istio, "allow-api-server-webhooks", L.istiod, "istiod", P.istiodWebhooks,
    "the sidecar injector (mutating) and Istio config validation webhooks"),
  {
    namespace: namespaces.istio, name: "allow-sidecars-xds", pods: { labels: L.istiod, what: "istiod" },
    from: applicationNamespaces.map((ns): IngressSource => ({ kind: "pods", namespace: ns, what: "sidecars" })),
    ports: [{ port: P.istiodXds }],
    why: "the application pods' sidecars fetch their config and workload certificates (xDS over TLS)",
  },
];

export interface PlatformNetworkContext {
  /** VPC CIDR: the API server's ENIs (webhook and aggregated-API calls) have addresses in it. */
  readonly vpcCidr: string;
}

const peer = (s: IngressSource, ctx: PlatformNetworkContext) =>
  s.kind === "apiServer"
    ? { ipBlock: { cidr: ctx.vpcCidr } }
    : { namespaceSelector: { matchLabels: { [namespaceNameLabel]: s.namespace } }, ...(s.labels ? { podSelector: { matchLabels: { ...s.labels } } } : {}) };

/** The NetworkPolicies of one platform namespace: default-deny ingress, its allows, Alertmanager's egress. */
export function platformNetworkPolicies(namespace: NamespaceName, ctx: PlatformNetworkContext, labels: Record<string, string> = {}): NetworkPolicyManifest[] {
  if (!platformNamespaces.includes(namespace)) {
    throw new Error(`platformNetworkPolicies: namespace = ${JSON.stringify(namespace)}: must be a platform namespace (${platformNamespaces.join(", ")})`);
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(ctx.vpcCidr)) {
    throw new Error(`platformNetworkPolicies: vpcCidr = ${JSON.stringify(ctx.vpcCidr)}: must be an IPv4 CIDR block such as 10.40.0.0/16`);
  }
  const policy = networkPolicyFactory(namespace, labels);
  const out = [policy(defaultDenyIngressPolicyName, { podSelector: {}, policyTypes: ["Ingress"] })];
  for (const a of platformIngressAllows.filter((x) => x.namespace === namespace)) {
    out.push(policy(a.name, {
      podSelector: Object.keys(a.pods.labels).length ? { matchLabels: { ...a.pods.labels } } : {},
      policyTypes: ["Ingress"],
      ingress: [{ from: a.from.map((s) => peer(s, ctx)), ...(a.ports.length ? { ports: a.ports.map((p) => ({ protocol: p.protocol ?? "TCP", port: p.port })) } : {}) }],
    }));
  }
  if (namespace === namespaces.monitoring) {
    // Alertmanager talks only to DNS, its peers and its receivers: Slack and SES (HTTPS, SMTP
    // submission) outside the VPC, or an SES endpoint inside it.
    out.push(policy("alertmanager-egress", {
      podSelector: { matchLabels: { ...L.alertmanager } },
      policyTypes: ["Egress"],
      egress: [
        { to: [{ namespaceSelector: { matchLabels: { [namespaceNameLabel]: "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] },
        { to: [{ podSelector: { matchLabels: { ...L.alertmanager } } }], ports: [{ protocol: "TCP", port: P.alertmanagerMesh }, { protocol: "UDP", port: P.alertmanagerMesh }] },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: P.smtpSubmission }] },
      ],
    }));
  }
  return out;
}

/** The README's access table: one row per allowed path. */
export function platformAccessTable(): string {
  const src = (s: IngressSource) => (s.kind === "apiServer" ? "Kubernetes API server (VPC CIDR)" : `${s.what} (\`${s.namespace}\`)`);
  const rows = platformIngressAllows.map((a) =>
    `| \`${a.namespace}\` | ${a.pods.what} | ${a.from.map(src).join("; ")} | ${a.ports.length ? a.ports.map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(", ") : "any"} | \`${a.name}\`: ${a.why} |`);
  rows.push(`| \`${namespaces.monitoring}\` (egress) | Alertmanager | to kube-dns, its peers, and 443/TCP and ${P.smtpSubmission}/TCP anywhere | 53, ${P.alertmanagerMesh}, 443, ${P.smtpSubmission} | \`alertmanager-egress\`: Slack webhooks and SES (API or SMTP); nothing else leaves Alertmanager |`);
  return [
    "| namespace | pods | from | ports | policy: why |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
