import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";
import { namespaceType } from "./namespaceDefaultDenyNetworkPolicy";

export interface NamespacePodSecurityEnforcedConfig {
  /** Namespaces that must enforce a Pod Security Standard (the application namespaces). */
  namespaces: string[];
  /** Lowest level enforced: `restricted` unless an exception names the namespace. */
  minimumLevel: "baseline" | "restricted";
  /** Namespaces allowed a lower level (`baseline`), each with the level it may use. */
  exceptions: Record<string, "baseline" | "restricted">;
}

/** The Pod Security Admission label a Namespace enforces its level with, and the levels' order. */
export const enforceLabel = "pod-security.kubernetes.io/enforce";
export const rank: Readonly<Record<string, number>> = { privileged: 0, baseline: 1, restricted: 2 };

/**
 * Pod Security Admission enforces a standard in every application namespace: the Namespace carries
 * `pod-security.kubernetes.io/enforce` at the minimum level (`restricted`), or at the level of a
 * configured exception. A missing Namespace is reported too: nothing labels it then.
 */
export const namespacePodSecurityEnforced: StackValidationPolicy = {
  name: "namespace-pod-security-enforced",
  description: "Every application namespace has a Pod Security Admission enforce label at the required level (restricted unless excepted).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Label the Namespace `pod-security.kubernetes.io/enforce: restricted` (lib/k8s/podSecurity.ts podSecurityLabels); a namespace that needs `baseline` gets an exception in the policy config and its reason in lib/k8s/podSecurity.ts.",
  configSchema: {
    properties: {
      namespaces: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [] },
      minimumLevel: { type: "string", enum: ["baseline", "restricted"], default: "restricted" },
      exceptions: { type: "object", additionalProperties: { type: "string", enum: ["baseline", "restricted"] }, default: {} },
    },
  },
  validateStack: (args, reportViolation) => {
    const { namespaces, minimumLevel, exceptions } = args.getConfig<NamespacePodSecurityEnforcedConfig>();
    for (const namespace of namespaces) {
      const required = exceptions[namespace] ?? minimumLevel;
      const nsResources = args.resources.filter((r) => r.type === namespaceType);
      const names = nsResources.map((r) => peek(r.props, "metadata", "name"));
      const found = nsResources.find((_, i) => names[i] === namespace);
      if (!found) {
        // A Namespace whose name is not known yet may be this one.
        if (names.includes(UNKNOWN)) continue;
        reportViolation(`Namespace ${namespace}: not created by this stack, so nothing enforces Pod Security '${required}' on it`);
        continue;
      }
      const level = peek(found.props, "metadata", "labels", enforceLabel);
      if (level === UNKNOWN) continue;
      if (typeof level !== "string" || !(level in rank)) {
        reportViolation(`Namespace ${namespace}: label ${enforceLabel} = ${level === undefined ? "not set" : JSON.stringify(level)}: must be '${required}'${required === "restricted" ? "" : " or restricted"}`, found.urn);
      } else if (rank[level]! < rank[required]!) {
        reportViolation(`Namespace ${namespace}: label ${enforceLabel} = '${level}': must be at least '${required}'`, found.urn);
      }
    }
  },
};
