/**
 * An add-on's own namespace: the Namespace with its Pod Security labels, and its NetworkPolicies
 * (default deny, then the paths lib/k8s/addonNamespaces.ts lists for it).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { addonNamespaceNetworkPolicies, addonPodSecurityLabels, type AddonNamespaceName } from "../../lib/k8s/addonNamespaces";
import { defaultDenyPolicyName } from "../../lib/k8s/networkPolicies";
import { managedLabels } from "./shared";

export interface AddonNamespace {
  readonly namespace: k8s.core.v1.Namespace;
  readonly networkPolicies: readonly k8s.networking.v1.NetworkPolicy[];
}

/** Creates the namespace and its policies as children of `parent` with the cluster's provider. */
export function createAddonNamespace(
  parent: pulumi.Resource,
  prefix: string,
  name: AddonNamespaceName,
  vpcCidr: string,
  provider: k8s.Provider,
): AddonNamespace {
  const namespace = new k8s.core.v1.Namespace(`${prefix}-ns-${name}`, {
    metadata: { name, labels: { ...managedLabels, ...addonPodSecurityLabels(name) } },
  }, { parent, provider });
  const networkPolicies = addonNamespaceNetworkPolicies(name, vpcCidr, managedLabels).map((np) => {
    const suffix = np.metadata.name === defaultDenyPolicyName ? "default-deny" : np.metadata.name;
    return new k8s.networking.v1.NetworkPolicy(`${prefix}-netpol-${name}-${suffix}`, np, { parent, provider, dependsOn: [namespace] });
  });
  return { namespace, networkPolicies };
}
