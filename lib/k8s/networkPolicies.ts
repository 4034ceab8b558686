/**
 * Network isolation of the application namespaces: a default-deny NetworkPolicy in each, then one
 * policy per allowed path (DNS, Prometheus scrapes, the service-to-service paths below, egress to the
 * data stores each namespace uses). Enforced by the VPC CNI's network policy agent
 * (`vpcCniOptions.enableNetworkPolicy` on the cluster).
 *
 * Pure data: the ClusterAddons component creates one `networking.k8s.io/v1` NetworkPolicy per entry,
 * the tests check the rendered manifests against the real schema and the policy pack checks the
 * default-deny policy is there.
 */
import type * as k8s from "@pulumi/kubernetes";
import { applicationNamespaces, namespaces } from "../catalog/cluster";

export type ApplicationNamespaceName = (typeof applicationNamespaces)[number];

/** Ports the paths open. Data-store ports are the ones the data-tier security groups admit. */
export interface NetworkPorts {
  /** Aurora PostgreSQL (the `database.port` setting). */
  postgres: number;
  /** PgBouncer's client port. */
  pgbouncer: number;
  /** ElastiCache Redis (cache.ts redisPort). */
  redis: number;
  /** MSK brokers, SASL/IAM over TLS. */
  kafkaIam: number;
  /** OpenSearch HTTPS endpoint. */
  openSearch: number;
  /** Prometheus HTTP API (the automation service reads metrics). */
  prometheus: number;
  /** The automation service's HTTP port (`POST /api/runs` of the schedulers). */
  automationHttp: number;
}

export interface NetworkPolicyContext {
  /** VPC CIDR: the data stores (and the EKS API endpoint's ENIs) have addresses only in it. */
  vpcCidr: string;
  ports: NetworkPorts;
  /** Istio sidecars injected: the proxies need istiod (xDS on 15012). */
  istioSidecars: boolean;
  /** Labels selecting the automation service's pods (its Deployment's selector). */
  automationPodLabels: Readonly<Record<string, string>>;
}

/** Name of the default-deny policy every application namespace has (the policy pack looks for it). */
export const defaultDenyPolicyName = "default-deny-all";

/** Label Kubernetes sets on every namespace with its own name (selectors across namespaces use it). */
export const namespaceNameLabel = "kubernetes.io/metadata.name";

/** Prometheus pods of kube-prometheus-stack (the operator labels them so). */
export const prometheusPodLabels = { "app.kubernetes.io/name": "prometheus" } as const;

/**
 * The label a pod carries to reach the automation service's HTTP API (schedulers' CronJobs and Jobs
 * calling `POST /api/runs`, docs/automation.md): only such pods of the automation namespace get the
 * egress to the service's pods, and the service's pods admit only them (and Prometheus).
 * Authentication is still the caller's ServiceAccount token; this only lets the packets through.
 */
export const automationClientPodLabels = { "pyairtable.io/automation-client": "true" } as const;

/** Data stores and the application namespaces that use them (through PgBouncer for Aurora). */
export type DataStore = "postgres" | "redis" | "kafka" | "openSearch";

/**
 * Which namespace reaches what. Services in `pyairtable-api` and `pyairtable-workers` use Redis
 * (queues, cache), Kafka (saga and analytics events) and OpenSearch (search), and PostgreSQL through
 * PgBouncer; only PgBouncer's namespace reaches the platform's Aurora itself (the automation namespace
 * reaches its own database on the same port; the platform cluster's security group does not admit it).
 */
export const namespaceAccess: Readonly<Record<ApplicationNamespaceName, {
  /** Data stores reached directly (TCP to VPC addresses on the store's port). */
  dataStores: readonly DataStore[];
  /** Reaches PgBouncer. */
  pgbouncer: boolean;
  /** Public AWS APIs and third parties on TCP 443 (outside the VPC only). */
  internetHttps: boolean;
  /** Pods of the namespace talk to each other (service to service). */
  intraNamespace: boolean;
  /** Reaches the EKS API server (private endpoint, in the VPC, TCP 443). */
  kubernetesApi: boolean;
  /** Reaches Prometheus' HTTP API. */
  prometheus: boolean;
  /**
   * The automation service runs here: pods labelled `automationClientPodLabels` reach its HTTP port
   * (egress from them, ingress on the service's pods), nothing else in the namespace does.
   */
  automationClients: boolean;
}>> = {
  // API gateway -> platform, user and file services; S3 and other AWS APIs over HTTPS.
  [namespaces.api]: { dataStores: ["redis", "kafka", "openSearch"], pgbouncer: true, internetHttps: true, intraNamespace: true, kubernetesApi: false, prometheus: false, automationClients: false },
  // Queue consumers: SQS, S3, LLM providers and webhook targets are HTTPS outside the VPC.
  [namespaces.workers]: { dataStores: ["redis", "kafka", "openSearch"], pgbouncer: true, internetHttps: true, intraNamespace: false, kubernetesApi: false, prometheus: false, automationClients: false },
  // PgBouncer: clients in, Aurora out, nothing else.
  [namespaces.data]: { dataStores: ["postgres"], pgbouncer: false, internetHttps: false, intraNamespace: false, kubernetesApi: false, prometheus: false, automationClients: false },
  // The automation service: Pulumi state (S3), Cost Explorer, SQS, STS; the Kubernetes API; Prometheus;
  // its own PostgreSQL directly (a session-level advisory lock elects the leader: PgBouncer's
  // transaction pooling cannot carry it; components/automationDatabase.ts). Schedulers' pods (CronJobs)
  // reach its API; no other pod-to-pod path, so a scheduler pod gets only that one.
  [namespaces.automation]: { dataStores: ["postgres"], pgbouncer: true, internetHttps: true, intraNamespace: false, kubernetesApi: true, prometheus: true, automationClients: true },
};

/** Namespaces whose pods connect to PgBouncer. */
export const pgbouncerClientNamespaces = applicationNamespaces.filter((n) => namespaceAccess[n].pgbouncer);

/** A NetworkPolicy manifest (networking.k8s.io/v1). */
export interface NetworkPolicyManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}

const tcp = (port: number) => ({ protocol: "TCP", port });
const inNamespace = (name: string, podLabels?: Record<string, string>) => ({
  namespaceSelector: { matchLabels: { [namespaceNameLabel]: name } },
  ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
});

/** Builds the NetworkPolicy manifests of one namespace, all with the same labels. */
export function networkPolicyFactory(namespace: string, labels: Record<string, string>) {
  return (name: string, spec: NetworkPolicyManifest["spec"]): NetworkPolicyManifest => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels },
    spec,
  });
}

/**
 * What every isolated namespace starts with: the default deny (selects every pod, both directions,
 * no rule: nothing in or out unless a policy allows it) and DNS to kube-dns.
 */
export function defaultDenyAndDns(namespace: string, labels: Record<string, string>): NetworkPolicyManifest[] {
  const policy = networkPolicyFactory(namespace, labels);
  return [
    policy(defaultDenyPolicyName, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    policy("allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [inNamespace("kube-system", { "k8s-app": "kube-dns" })], ports: [{ protocol: "UDP", port: 53 }, tcp(53)] }],
    }),
  ];
}

/**
 * The NetworkPolicies of one application namespace: default deny first, then the allowed paths.
 * `pgbouncerPodLabels` select PgBouncer's pods in the data namespace.
 */
export function namespaceNetworkPolicies(
  namespace: ApplicationNamespaceName,
  ctx: NetworkPolicyContext,
  pgbouncerPodLabels: Record<string, string>,
  labels: Record<string, string> = {},
): NetworkPolicyManifest[] {
  if (!(applicationNamespaces as readonly string[]).includes(namespace)) {
    throw new Error(`namespaceNetworkPolicies: namespace = ${JSON.stringify(namespace)}: must be an application namespace (${applicationNamespaces.join(", ")})`);
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(ctx.vpcCidr)) {
    throw new Error(`namespaceNetworkPolicies: vpcCidr = ${JSON.stringify(ctx.vpcCidr)}: must be an IPv4 CIDR block such as 10.40.0.0/16`);
  }
  if (Object.keys(ctx.automationPodLabels ?? {}).length === 0) {
    // An empty selector would open the port to every pod of the namespace (the scheduler pods included).
    throw new Error(`namespaceNetworkPolicies: automationPodLabels = ${JSON.stringify(ctx.automationPodLabels)}: must be the automation service's non-empty pod selector labels`);
  }
  const access = namespaceAccess[namespace];
  const policy = networkPolicyFactory(namespace, labels);
  const all = { podSelector: {} };
  const out: NetworkPolicyManifest[] = [
    ...defaultDenyAndDns(namespace, labels),
    // Prometheus scrapes every pod's metrics port (ServiceMonitors, PodMonitors, sidecar metrics).
    policy("allow-prometheus-scrape", { ...all, policyTypes: ["Ingress"], ingress: [{ from: [inNamespace(namespaces.monitoring, { ...prometheusPodLabels })] }] }),
  ];
  if (ctx.istioSidecars) {
    out.push(policy("allow-istiod", { ...all, policyTypes: ["Egress"], egress: [{ to: [inNamespace(namespaces.istio, { app: "istiod" })], ports: [tcp(15012), tcp(15017)] }] }));
  }
  if (access.intraNamespace) {
    out.push(policy("allow-same-namespace", {
      ...all,
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }));
  }
  if (access.automationClients) {
    // Schedulers -> the automation service's HTTP port, both ends in this namespace.
    const service = { ...ctx.automationPodLabels };
    const clients = { ...automationClientPodLabels };
    out.push(policy("allow-automation-clients", {
      podSelector: { matchLabels: service },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: clients } }], ports: [tcp(ctx.ports.automationHttp)] }],
    }));
    out.push(policy("allow-automation-api", {
      podSelector: { matchLabels: clients },
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: service } }], ports: [tcp(ctx.ports.automationHttp)] }],
    }));
  }
  if (namespace === namespaces.data) {
    // PgBouncer: its clients' namespaces in, Aurora out.
    out.push(policy("allow-pgbouncer-clients", {
      podSelector: { matchLabels: pgbouncerPodLabels },
      policyTypes: ["Ingress"],
      ingress: [{ from: pgbouncerClientNamespaces.map((n) => inNamespace(n)), ports: [tcp(ctx.ports.pgbouncer)] }],
    }));
  }
  if (access.pgbouncer) {
    out.push(policy("allow-pgbouncer", { ...all, policyTypes: ["Egress"], egress: [{ to: [inNamespace(namespaces.data, pgbouncerPodLabels)], ports: [tcp(ctx.ports.pgbouncer)] }] }));
  }
  if (access.dataStores.length > 0) {
    const port = { postgres: ctx.ports.postgres, redis: ctx.ports.redis, kafka: ctx.ports.kafkaIam, openSearch: ctx.ports.openSearch };
    out.push(policy("allow-data-stores", {
      ...all,
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: ctx.vpcCidr } }], ports: access.dataStores.map((s) => tcp(port[s])) }],
    }));
  }
  if (access.kubernetesApi) {
    out.push(policy("allow-kubernetes-api", { ...all, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: ctx.vpcCidr } }], ports: [tcp(443)] }] }));
  }
  if (access.prometheus) {
    out.push(policy("allow-prometheus-api", { ...all, policyTypes: ["Egress"], egress: [{ to: [inNamespace(namespaces.monitoring, { ...prometheusPodLabels })], ports: [tcp(ctx.ports.prometheus)] }] }));
  }
  if (access.internetHttps) {
    out.push(policy("allow-https-outside-vpc", {
      ...all,
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [ctx.vpcCidr] } }], ports: [tcp(443)] }],
    }));
  }
  return out;
}
