import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";
import { deniesByDefault, namespaceType, networkPolicyType } from "./namespaceDefaultDenyNetworkPolicy";

export interface EveryNamespaceDeniesIngressByDefaultConfig {
  /** Namespaces of the stack that may admit ingress without a default deny (none). */
  exemptNamespaces: string[];
}

/** Whether a NetworkPolicy denies all ingress in `namespace`: every pod selected, Ingress in policyTypes, no ingress rule. */
export const deniesIngress = (props: unknown, namespace: string) => deniesByDefault(props, namespace, ["Ingress"]);

/**
 * Every Namespace the stack creates (application and platform) has a NetworkPolicy that selects all
 * its pods with `Ingress` and no ingress rule, so only the paths other policies allow reach its pods.
 * `namespace-default-deny-network-policy` additionally requires egress deny in the application namespaces.
 */
export const everyNamespaceDeniesIngressByDefault: StackValidationPolicy = {
  name: "every-namespace-denies-ingress-by-default",
  description: "Every Namespace the stack creates has a default-deny-ingress NetworkPolicy (all pods, Ingress, no rules).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Create a NetworkPolicy with `podSelector: {}`, `policyTypes: [Ingress]` and no ingress rules in the namespace, then one allow per path its components need (lib/k8s/platformNetworkPolicies.ts does both for the platform namespaces).",
  configSchema: {
    properties: {
      exemptNamespaces: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { exemptNamespaces } = args.getConfig<EveryNamespaceDeniesIngressByDefaultConfig>();
    const policies = args.resources.filter((r) => r.type === networkPolicyType);
    for (const ns of args.resources.filter((r) => r.type === namespaceType)) {
      const name = peek(ns.props, "metadata", "name");
      if (typeof name !== "string" || exemptNamespaces.includes(name)) continue;
      if (policies.map((p) => deniesIngress(p.props, name)).some((v) => v === true || v === UNKNOWN)) continue;
      reportViolation(`Namespace ${name}: no default-deny-ingress NetworkPolicy (podSelector {}, Ingress, no rules): any pod in the cluster may connect to its pods`, ns.urn);
    }
  },
};
