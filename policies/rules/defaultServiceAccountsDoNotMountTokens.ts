import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, UNKNOWN } from "../lib";
import { namespaceType } from "./namespaceDefaultDenyNetworkPolicy";

export interface DefaultServiceAccountsDoNotMountTokensConfig {
  /** Namespaces of the stack whose default ServiceAccount may keep mounting its token (none). */
  exemptNamespaces: string[];
}

export const serviceAccountTypes = ["kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ServiceAccountPatch"] as const;

/**
 * The `default` ServiceAccount of every Namespace the stack creates has
 * `automountServiceAccountToken: false` (a ServiceAccount or a server-side-apply ServiceAccountPatch
 * of it in the stack): a pod that names no account gets no Kubernetes API token (CIS Amazon EKS
 * Benchmark 4.1.5; NSA/CISA hardening guide). Workloads that call the API use their own accounts.
 */
export const defaultServiceAccountsDoNotMountTokens: StackValidationPolicy = {
  name: "default-service-accounts-do-not-mount-tokens",
  description: "The default ServiceAccount of every Namespace the stack creates does not auto-mount its token.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Patch the namespace's `default` ServiceAccount with `automountServiceAccountToken: false` (createStackNamespace in components/addons/namespaces.ts does it with a ServiceAccountPatch); give pods that need the API their own ServiceAccount.",
  configSchema: {
    properties: {
      exemptNamespaces: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { exemptNamespaces } = args.getConfig<DefaultServiceAccountsDoNotMountTokensConfig>();
    const accounts = args.resources.filter((r) => (serviceAccountTypes as readonly string[]).includes(r.type));
    for (const ns of args.resources.filter((r) => r.type === namespaceType)) {
      const name = peek(ns.props, "metadata", "name");
      if (name === UNKNOWN || exemptNamespaces.includes(name as string)) continue;
      const found = accounts.filter((a) => peek(a.props, "metadata", "name") === "default" && [name, UNKNOWN].includes(peek(a.props, "metadata", "namespace") as string));
      if (found.length === 0) {
        reportViolation(`Namespace ${String(name)}: its default ServiceAccount is not managed by the stack, so it auto-mounts its token (add a ServiceAccountPatch with automountServiceAccountToken: false)`, ns.urn);
        continue;
      }
      for (const a of found) {
        const mount = peek(a.props, "automountServiceAccountToken");
        if (mount === UNKNOWN || mount === false) continue;
        reportViolation(`Namespace ${String(name)}: default ServiceAccount automountServiceAccountToken = ${mount === undefined ? "not set (true)" : JSON.stringify(mount)}: must be false`, a.urn);
      }
    }
  },
};
