import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "../lib";

export interface NamespaceDefaultDenyNetworkPolicyConfig {
  /** Namespaces that must have a default-deny NetworkPolicy (the application namespaces). */
  namespaces: string[];
}

export const namespaceType = "kubernetes:core/v1:Namespace";
export const networkPolicyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/**
 * Whether a NetworkPolicy's props deny the given directions by default in `namespace`: it selects
 * every pod (empty `podSelector`), lists each direction in `policyTypes` and has no rule for any of
 * them. UNKNOWN when a value it depends on is not known yet (preview).
 */
export function deniesByDefault(props: unknown, namespace: string, directions: readonly ("Ingress" | "Egress")[]): boolean | typeof UNKNOWN {
  const ns = peek(props, "metadata", "namespace");
  if (ns === UNKNOWN) return UNKNOWN;
  if (ns !== namespace) return false;
  const selector = peek(props, "spec", "podSelector");
  const types = peekList(props, "spec", "policyTypes");
  const rules = directions.map((d) => peekList(props, "spec", d === "Ingress" ? "ingress" : "egress"));
  if (selector === UNKNOWN || types === UNKNOWN || rules.includes(UNKNOWN)) return UNKNOWN;
  if (typeof selector !== "object" || selector === null) return false;
  const selectsAll = Object.values(selector as Record<string, unknown>).every((v) => v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && Object.keys(v).length === 0));
  return selectsAll && directions.every((d) => (types ?? []).includes(d)) && rules.every((r) => ((r as unknown[] | undefined) ?? []).length === 0);
}

/** Ingress and egress denied by default (see deniesByDefault). */
export const isDefaultDeny = (props: unknown, namespace: string) => deniesByDefault(props, namespace, ["Ingress", "Egress"]);

/**
 * Every application namespace denies all pod traffic by default: a NetworkPolicy in it selects every
 * pod with both policy types and no rules, so only the paths other policies allow are open. Reports a
 * configured namespace that the stack does not create too (it cannot be isolated by this stack).
 */
export const namespaceDefaultDenyNetworkPolicy: StackValidationPolicy = {
  name: "namespace-default-deny-network-policy",
  description: "Every application namespace has a default-deny NetworkPolicy (all pods, Ingress and Egress, no rules).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Create a networking.k8s.io/v1 NetworkPolicy in the namespace with `podSelector: {}`, `policyTypes: [Ingress, Egress]` and no rules, then one NetworkPolicy per allowed path (lib/k8s/networkPolicies.ts namespaceNetworkPolicies does both).",
  configSchema: {
    properties: {
      namespaces: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { namespaces } = args.getConfig<NamespaceDefaultDenyNetworkPolicyConfig>();
    const policies = args.resources.filter((r) => r.type === networkPolicyType);
    for (const namespace of namespaces) {
      const nsResource = args.resources.find((r) => r.type === namespaceType && peek(r.props, "metadata", "name") === namespace);
      const verdicts = policies.map((p) => isDefaultDeny(p.props, namespace));
      if (verdicts.some((v) => v === true || v === UNKNOWN)) continue;
      reportViolation(
        nsResource
          ? `Namespace ${namespace}: no default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress, Egress], no rules): every pod may send and receive anything`
          : `Namespace ${namespace}: not created by this stack and no default-deny NetworkPolicy in it`,
        nsResource?.urn,
      );
    }
  },
};
