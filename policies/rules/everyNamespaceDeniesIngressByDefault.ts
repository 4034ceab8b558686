import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "../lib";
import { namespaceType, networkPolicyType } from "./namespaceDefaultDenyNetworkPolicy";

export interface EveryNamespaceDeniesIngressByDefaultConfig {
  /** Namespaces of the stack that may admit ingress without a default deny (none). */
  exemptNamespaces: string[];
}

/** Whether a NetworkPolicy denies all ingress in `namespace`: every pod selected, Ingress in policyTypes, no ingress rule. */
export function deniesIngress(props: unknown, namespace: string): boolean | typeof UNKNOWN {
  const ns = peek(props, "metadata", "namespace");
  if (ns === UNKNOWN) return UNKNOWN;
  if (ns !== namespace) return false;
  const selector = peek(props, "spec", "podSelector");
  const types = peekList(props, "spec", "policyTypes");
  const ingress = peekList(props, "spec", "ingress");
  if (selector === UNKNOWN || types === UNKNOWN || ingress === UNKNOWN) return UNKNOWN;
  if (typeof selector !== "object" || selector === null) return false;
  const selectsAll = Object.values(selector as Record<string, unknown>).every((v) => v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && Object.keys(v).length === 0));
  return selectsAll && (types ?? []).includes("Ingress") && (ingress ?? []).length === 0;
}

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
