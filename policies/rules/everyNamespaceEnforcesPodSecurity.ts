import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";
import { namespaceType } from "./namespaceDefaultDenyNetworkPolicy";
import { enforceLabel, rank } from "./namespacePodSecurityEnforced";

export interface EveryNamespaceEnforcesPodSecurityConfig {
  /** Lowest level every Namespace of the stack enforces. */
  minimumLevel: "baseline" | "restricted";
  /** Namespaces allowed a lower level, each with the level it may use (its reason is in lib/k8s/podSecurity.ts). */
  exceptions: Record<string, "privileged" | "baseline" | "restricted">;
}


/**
 * Every Namespace the stack creates (platform and add-on namespaces included, whatever their names)
 * carries `pod-security.kubernetes.io/enforce` at the minimum level, or at the level of a configured
 * exception. Unlike `namespace-pod-security-enforced` (a configured list that must exist), this one
 * needs no list: a namespace added to the stack is judged the moment it appears.
 */
export const everyNamespaceEnforcesPodSecurity: StackValidationPolicy = {
  name: "every-namespace-enforces-pod-security",
  description: "Every Namespace the stack creates enforces a Pod Security Standard: restricted, or the level of a configured exception.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Create the namespace through createStackNamespace (components/addons/namespaces.ts), which labels it from lib/k8s/podSecurity.ts; a namespace whose workloads cannot run `restricted` gets an entry in podSecurityExceptions (with its reason, listed in the README) and in this policy's `exceptions`.",
  configSchema: {
    properties: {
      minimumLevel: { type: "string", enum: ["baseline", "restricted"], default: "restricted" },
      exceptions: { type: "object", additionalProperties: { type: "string", enum: ["privileged", "baseline", "restricted"] }, default: {} },
    },
  },
  validateStack: (args, reportViolation) => {
    const { minimumLevel, exceptions } = args.getConfig<EveryNamespaceEnforcesPodSecurityConfig>();
    for (const ns of args.resources.filter((r) => r.type === namespaceType)) {
      const name = peek(ns.props, "metadata", "name");
      const level = peek(ns.props, "metadata", "labels", enforceLabel);
      if (name === UNKNOWN || level === UNKNOWN) continue;
      const required = (typeof name === "string" ? exceptions[name] : undefined) ?? minimumLevel;
      const what = `Namespace ${typeof name === "string" ? name : ns.name}`;
      if (typeof level !== "string" || !(level in rank)) {
        reportViolation(`${what}: label ${enforceLabel} = ${level === undefined ? "not set" : JSON.stringify(level)}: must be '${required}' or stricter`, ns.urn);
      } else if (rank[level]! < rank[required]!) {
        reportViolation(`${what}: label ${enforceLabel} = '${level}': must be at least '${required}'${required === minimumLevel ? " (no exception names this namespace)" : ""}`, ns.urn);
      }
    }
  },
};
