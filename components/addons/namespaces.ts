/**
 * Namespaces of the platform (Pod Security labels, optional Istio injection) and their network
 * isolation: default deny in every application namespace, then the allowed paths
 * (lib/k8s/networkPolicies.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { applicationNamespaces, namespaces } from "../../lib/catalog/cluster";
import { defaultDenyPolicyName, namespaceNetworkPolicies, type NetworkPorts } from "../../lib/k8s/networkPolicies";
import { podSecurityLabels } from "../../lib/k8s/podSecurity";
import { redisPort } from "../cache";
import { mskIamPort } from "../streaming";
import { pgbouncer } from "./pgbouncerPool";
import { failer, k8sChildOptions, managedLabels, type AddonBaseArgs } from "./shared";

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
  /** Every namespace of `lib/catalog/cluster.ts` `namespaces`, by Kubernetes name. */
  public readonly byName: Readonly<Record<string, k8s.core.v1.Namespace>>;
  public readonly networkPolicies: readonly k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: ClusterNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:ClusterNamespaces", name, {}, opts);
    const fail = failer("ClusterNamespaces", name);
    if (typeof args.vpcCidr !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(args.vpcCidr)) {
      fail(`vpcCidr = ${JSON.stringify(args.vpcCidr)}: must be the VPC's IPv4 CIDR block (e.g. 10.40.0.0/16)`);
    }
    const istioSidecars = args.istioSidecars ?? false;
    const child = (...deps: pulumi.Input<pulumi.Resource>[]) => k8sChildOptions(this, args, ...deps);

    const byName: Record<string, k8s.core.v1.Namespace> = {};
    for (const [key, nsName] of Object.entries(namespaces)) {
      const app = (applicationNamespaces as readonly string[]).includes(nsName);
      byName[nsName] = new k8s.core.v1.Namespace(`${name}-ns-${key}`, {
        metadata: {
          name: nsName,
          labels: {
            ...managedLabels,
            ...(app && istioSidecars ? { "istio-injection": "enabled" } : {}),
            // Pod Security Admission: application namespaces admit only `restricted` pods.
            ...(app ? podSecurityLabels(nsName) : {}),
          },
        },
      }, child());
    }
    this.byName = byName;

    const ports: NetworkPorts = { postgres: args.databasePort, pgbouncer: pgbouncer.port, redis: redisPort, kafkaIam: mskIamPort, openSearch: 443, prometheus: 9090 };
    const selectorLabels = { "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] };
    const policies: k8s.networking.v1.NetworkPolicy[] = [];
    for (const nsName of applicationNamespaces) {
      for (const np of namespaceNetworkPolicies(nsName, { vpcCidr: args.vpcCidr, ports, istioSidecars }, selectorLabels, managedLabels)) {
        // The default-deny policy keeps its short resource name; the allows are named after it.
        const suffix = np.metadata.name === defaultDenyPolicyName ? "default-deny" : np.metadata.name;
        policies.push(new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${nsName}-${suffix}`, np, child(byName[nsName]!)));
      }
    }
    this.networkPolicies = policies;
    this.registerOutputs({ namespaces: Object.keys(byName) });
  }
}
