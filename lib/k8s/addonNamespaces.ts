/**
 * Namespaces of the cluster-infrastructure add-ons this stack installs (External Secrets,
 * cert-manager, Istio): their Pod Security level, and their network isolation in the same shape
 * as the application namespaces' (lib/k8s/networkPolicies.ts): a default-deny NetworkPolicy, then
 * one policy per path the add-on needs - DNS, the Kubernetes API, the API server calling its
 * webhooks, Prometheus scraping its metrics, and what else its table row below says.
 *
 * Pure data: each add-on component creates one Namespace and one NetworkPolicy per entry; the tests
 * validate them against the real schemas, and the pack's namespace policies can list these names.
 */
import { applicationNamespaces, namespaces } from "../catalog/cluster";
import {
  defaultDenyAndDns,
  namespaceNameLabel,
  networkPolicyFactory,
  prometheusPodLabels,
  type NetworkPolicyManifest,
} from "./networkPolicies";
import { podSecurityLabelKeys, type PodSecurityLevel } from "./podSecurity";

/** The add-on namespaces this stack creates, by add-on. */
export const addonNamespaces = {
  externalSecrets: "external-secrets",
  certManager: "cert-manager",
  istio: "istio-system",
} as const;
export type AddonNamespaceName = (typeof addonNamespaces)[keyof typeof addonNamespaces];

/** What one add-on namespace's pods need on the network. Ports are the pods' container ports. */
export interface AddonNetworkNeeds {
  /** Ports of admission webhooks the API server calls (from the EKS control-plane ENIs, in the VPC). */
  readonly webhookPorts: readonly number[];
  /** Ports Prometheus scrapes. */
  readonly metricsPorts: readonly number[];
  /** HTTPS to AWS APIs (Secrets Manager, STS): through VPC endpoints or outside the VPC. */
  readonly awsApis: boolean;
  /** Ports the application namespaces' pods connect to (Istio's xDS from the sidecars). */
  readonly fromApplicationNamespaces: readonly number[];
}

/**
 * Pod Security level and network needs per add-on namespace. Every one is `restricted`: the
 * charts' pods run as non-root with all capabilities dropped and RuntimeDefault seccomp (checked
 * against the charts' values at their tags). Istio's CNI node agent (privileged, host paths) is
 * not in istio-system: it runs in kube-system with the other node agents (aws-node, ebs-csi-node),
 * so istiod's namespace keeps `restricted`.
 */
export const addonNamespaceProfiles: Readonly<Record<AddonNamespaceName, { podSecurity: PodSecurityLevel; network: AddonNetworkNeeds }>> = {
  // Controller 8080 metrics; webhook 10250 (chart webhook.port), its metrics 8080; cert-controller 8080.
  "external-secrets": { podSecurity: "restricted", network: { webhookPorts: [10250], metricsPorts: [8080], awsApis: true, fromApplicationNamespaces: [] } },
  // Webhook 10250 (webhook.securePort); controller metrics 9402. No ACME: no egress beyond the API.
  "cert-manager": { podSecurity: "restricted", network: { webhookPorts: [10250], metricsPorts: [9402], awsApis: false, fromApplicationNamespaces: [] } },
  // istiod: sidecar injector and validation webhook on 15017, monitoring on 15014, xDS (TLS) on 15012.
  "istio-system": { podSecurity: "restricted", network: { webhookPorts: [15017], metricsPorts: [15014], awsApis: false, fromApplicationNamespaces: [15012, 15017] } },
};

/** The Pod Security labels of an add-on namespace: enforce, audit and warn at its level. */
export function addonPodSecurityLabels(namespace: AddonNamespaceName): Record<string, string> {
  const profile = addonNamespaceProfiles[namespace];
  if (!profile) throw new Error(`addonPodSecurityLabels: namespace = ${JSON.stringify(namespace)}: not an add-on namespace (${Object.values(addonNamespaces).join(", ")})`);
  return {
    [podSecurityLabelKeys.enforce]: profile.podSecurity,
    [podSecurityLabelKeys.enforceVersion]: "latest",
    [podSecurityLabelKeys.audit]: profile.podSecurity,
    [podSecurityLabelKeys.warn]: profile.podSecurity,
  };
}

const tcp = (port: number) => ({ protocol: "TCP", port });

/** The NetworkPolicies of one add-on namespace: default deny first, then the allowed paths. */
export function addonNamespaceNetworkPolicies(namespace: AddonNamespaceName, vpcCidr: string, labels: Record<string, string> = {}): NetworkPolicyManifest[] {
  const profile = addonNamespaceProfiles[namespace];
  if (!profile) throw new Error(`addonNamespaceNetworkPolicies: namespace = ${JSON.stringify(namespace)}: not an add-on namespace (${Object.values(addonNamespaces).join(", ")})`);
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(vpcCidr)) {
    throw new Error(`addonNamespaceNetworkPolicies: vpcCidr = ${JSON.stringify(vpcCidr)}: must be an IPv4 CIDR block such as 10.40.0.0/16`);
  }
  const need = profile.network;
  const policy = networkPolicyFactory(namespace, labels);
  const all = { podSelector: {} };
  const out: NetworkPolicyManifest[] = [
    ...defaultDenyAndDns(namespace, labels),
    // Controllers watch and write through the API server (private endpoint ENIs, in the VPC).
    policy("allow-kubernetes-api", { ...all, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: vpcCidr } }], ports: [tcp(443)] }] }),
  ];
  if (need.webhookPorts.length > 0) {
    // The EKS control plane calls admission webhooks from its ENIs in the cluster's subnets.
    out.push(policy("allow-webhooks-from-api-server", { ...all, policyTypes: ["Ingress"], ingress: [{ from: [{ ipBlock: { cidr: vpcCidr } }], ports: need.webhookPorts.map(tcp) }] }));
  }
  if (need.metricsPorts.length > 0) {
    out.push(policy("allow-prometheus-scrape", {
      ...all,
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { [namespaceNameLabel]: namespaces.monitoring } }, podSelector: { matchLabels: { ...prometheusPodLabels } } }], ports: need.metricsPorts.map(tcp) }],
    }));
  }
  if (need.fromApplicationNamespaces.length > 0) {
    out.push(policy("allow-application-namespaces", {
      ...all,
      policyTypes: ["Ingress"],
      ingress: [{ from: applicationNamespaces.map((n) => ({ namespaceSelector: { matchLabels: { [namespaceNameLabel]: n } } })), ports: need.fromApplicationNamespaces.map(tcp) }],
    }));
  }
  if (need.awsApis) {
    // AWS APIs answer on 443 at public addresses or, with interface endpoints, inside the VPC.
    out.push(policy("allow-aws-apis", { ...all, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(443)] }] }));
  }
  return out;
}
