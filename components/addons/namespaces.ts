/**
 * Every namespace the stack creates, through one function (`createStackNamespace`): the Namespace
 * with its Pod Security labels (lib/k8s/podSecurity.ts: restricted unless an exception names it),
 * and its `default` ServiceAccount patched not to mount an API token. Then their network isolation:
 * default deny (ingress and egress) in every application namespace with the allowed paths
 * (lib/k8s/networkPolicies.ts), default-deny ingress in every platform namespace with the paths its
 * components need (lib/k8s/platformNetworkPolicies.ts). Quotas and LimitRanges: quotas.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { applicationNamespaces, automationHttpPort, namespaces, stackNamespaces } from "../../lib/catalog/cluster";
import { defaultDenyPolicyName, namespaceNetworkPolicies, type NetworkPorts } from "../../lib/k8s/networkPolicies";
import { platformNamespaces, platformNetworkPolicies } from "../../lib/k8s/platformNetworkPolicies";
import { podSecurityLabels } from "../../lib/k8s/podSecurity";
import { redisPort } from "../cache";
import { automationMetricsService } from "../monitoring";
import { mskIamPort } from "../streaming";
import { pgbouncer } from "./pgbouncerPool";
import { failer, k8sChildOptions, managedLabels, type AddonBaseArgs } from "./shared";

/**
 * Creates one namespace of the stack: the Namespace, labelled with its Pod Security level (enforce,
 * audit, warn; `podSecurityLabels` refuses a namespace it has no level for), and a server-side-apply
 * patch of its `default` ServiceAccount so pods that name no account get no API token (CIS EKS 4.1.5).
 * Every Namespace of the stack goes through here; the tests and the pack check all of them.
 */
export function createStackNamespace(
  resourceName: string,
  nsName: string,
  extraLabels: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): { namespace: k8s.core.v1.Namespace; defaultServiceAccount: k8s.core.v1.ServiceAccountPatch } {
  const namespace = new k8s.core.v1.Namespace(resourceName, {
    metadata: { name: nsName, labels: { ...managedLabels, ...extraLabels, ...podSecurityLabels(nsName) } },
  }, opts);
  const defaultServiceAccount = new k8s.core.v1.ServiceAccountPatch(`${resourceName}-default-sa`, {
    metadata: {
      name: "default",
      namespace: nsName,
      // The namespace controller created the account: take over just this field.
      annotations: { "pulumi.com/patchForce": "true" },
    },
    automountServiceAccountToken: false,
  }, { ...opts, dependsOn: [namespace] });
  return { namespace, defaultServiceAccount };
}

export interface ClusterNamespacesArgs extends AddonBaseArgs {
  /** Label the application namespaces for Istio sidecar injection (and allow the mesh's ports). Default false. */
  istioSidecars?: boolean;
  /**
   * VPC CIDR block (IPv4): the NetworkPolicies open egress to the data stores' ports only inside it,
   * and HTTPS to public AWS APIs only outside it.
   */
  vpcCidr: string;
  /** TCP port Aurora listens on (`database.port` setting): the data namespace's egress to Aurora opens only it. */
  databasePort: number;
}

export class ClusterNamespaces extends pulumi.ComponentResource {
  /** Every namespace of the stack (`stackNamespaces` of lib/catalog/cluster.ts), by Kubernetes name. */
  public readonly byName: Readonly<Record<string, k8s.core.v1.Namespace>>;
  public readonly networkPolicies: readonly k8s.networking.v1.NetworkPolicy[];
  /** The `default` ServiceAccount patch of every namespace (no token mount), by namespace name. */
  public readonly defaultServiceAccounts: Readonly<Record<string, k8s.core.v1.ServiceAccountPatch>>;

  constructor(name: string, args: ClusterNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:ClusterNamespaces", name, {}, opts);
    const fail = failer("ClusterNamespaces", name);
    if (typeof args.vpcCidr !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(args.vpcCidr)) {
      fail(`vpcCidr = ${JSON.stringify(args.vpcCidr)}: must be the VPC's IPv4 CIDR block (e.g. 10.40.0.0/16)`);
    }
    const istioSidecars = args.istioSidecars ?? false;
    const child = (...deps: pulumi.Input<pulumi.Resource>[]) => k8sChildOptions(this, args, ...deps);

    const byName: Record<string, k8s.core.v1.Namespace> = {};
    const defaultServiceAccounts: Record<string, k8s.core.v1.ServiceAccountPatch> = {};
    const created = new Set<string>(stackNamespaces({ istioSidecars }));
    for (const [key, nsName] of Object.entries(namespaces).filter(([, n]) => created.has(n))) {
      const app = (applicationNamespaces as readonly string[]).includes(nsName);
      const made = createStackNamespace(`${name}-ns-${key}`, nsName, app && istioSidecars ? { "istio-injection": "enabled" } : {}, child());
      byName[nsName] = made.namespace;
      defaultServiceAccounts[nsName] = made.defaultServiceAccount;
    }
    this.defaultServiceAccounts = defaultServiceAccounts;
    this.byName = byName;

    const ports: NetworkPorts = { postgres: args.databasePort, pgbouncer: pgbouncer.port, redis: redisPort, kafkaIam: mskIamPort, openSearch: 443, prometheus: 9090, automationHttp: automationHttpPort };
    const selectorLabels = { "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] };
    const policies: k8s.networking.v1.NetworkPolicy[] = [];
    for (const nsName of applicationNamespaces) {
      for (const np of namespaceNetworkPolicies(nsName, { vpcCidr: args.vpcCidr, ports, istioSidecars, automationPodLabels: automationMetricsService.selector }, selectorLabels, managedLabels)) {
        // The default-deny policy keeps its short resource name; the allows are named after it.
        const suffix = np.metadata.name === defaultDenyPolicyName ? "default-deny" : np.metadata.name;
        policies.push(new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${nsName}-${suffix}`, np, child(byName[nsName]!)));
      }
    }
    for (const nsName of platformNamespaces.filter((n) => created.has(n))) {
      for (const np of platformNetworkPolicies(nsName, { vpcCidr: args.vpcCidr }, managedLabels)) {
        policies.push(new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${nsName}-${np.metadata.name}`, np, child(byName[nsName]!)));
      }
    }
    this.networkPolicies = policies;
    this.registerOutputs({ namespaces: Object.keys(byName) });
  }
}
