import type { StackValidationPolicy } from "@pulumi/policy";
import { objectName, peek, peekList, UNKNOWN } from "../lib";

export const validatingAdmissionPolicyType = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
export const validatingAdmissionPolicyBindingType = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding";

export interface WorkloadContractAdmissionConfig {
  /** Name of the ValidatingAdmissionPolicy that enforces the workload contract. */
  policyName: string;
  /** validationActions its binding must carry exactly (prod: Deny; dev: Warn and Audit). */
  validationActions: string[];
  /** Namespaces the binding must cover (those of the catalog services). */
  namespaces: string[];
  /** Terms the policy's validation expressions must mention (what it checks). */
  requiredTerms: string[];
}

/** Namespaces a binding's `matchResources.namespaceSelector` selects by name; UNKNOWN when not by name. */
function boundNamespaces(binding: unknown): string[] | "all" | typeof UNKNOWN {
  const selector = peek(binding, "spec", "matchResources", "namespaceSelector");
  if (selector === UNKNOWN) return UNKNOWN;
  if (selector === undefined) return "all";
  const labels = peek(selector, "matchLabels");
  const expressions = peekList(selector, "matchExpressions");
  if (labels === UNKNOWN || expressions === UNKNOWN) return UNKNOWN;
  const exprs = expressions ?? [];
  const byName = exprs.filter((e) => peek(e, "key") === "kubernetes.io/metadata.name" && peek(e, "operator") === "In");
  const named = labels && typeof labels === "object" ? (labels as Record<string, unknown>)["kubernetes.io/metadata.name"] : undefined;
  if (exprs.length === 0 && (labels === undefined || Object.keys(labels as object).length === 0)) return "all";
  if (byName.length === 0 && typeof named !== "string") return [];
  const sets = [
    ...byName.map((e) => peekList(e, "values")).map((v) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [])),
    ...(typeof named === "string" ? [[named]] : []),
  ];
  // Selector terms are ANDed: a namespace is selected when every by-name term admits it.
  return sets.reduce((acc, s) => acc.filter((n) => s.includes(n)));
}

/**
 * The workload contract (docs/workload-contract.md) holds only if the cluster enforces it: every
 * stack has the contract's ValidatingAdmissionPolicy, its checks (class selector and toleration,
 * capacity-spread, requests) and a binding with the stack's validation actions that covers every
 * namespace the catalog services run in.
 */
export const workloadContractAdmission: StackValidationPolicy = {
  name: "workload-contract-admission",
  description: "The workload-contract ValidatingAdmissionPolicy exists with its checks, and a binding with the stack's validation actions covers every application namespace.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Keep the WorkloadContract component (components/workloadContract.ts) in the program: it renders the policy from lib/workloads/admissionPolicy.ts and its binding; set `autoscaling:workloads.admissionEnforcement` to `deny` (prod) or `warn` (dev) to match `validationActions` of this policy's config, and bind every namespace in `namespaces`.",
  configSchema: {
    properties: {
      policyName: { type: "string", minLength: 1, default: "pyairtable-workload-contract" },
      validationActions: { type: "array", items: { type: "string", enum: ["Deny", "Warn", "Audit"] }, minItems: 1, uniqueItems: true, default: ["Deny"] },
      namespaces: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, uniqueItems: true, default: ["pyairtable-api", "pyairtable-workers"] },
      requiredTerms: {
        type: "array",
        items: { type: "string", minLength: 1 },
        uniqueItems: true,
        default: ["pyairtable.io/workload-class", "pyairtable.io/capacity-spread", "resources.requests"],
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const cfg = args.getConfig<WorkloadContractAdmissionConfig>();
    const policies = args.resources.filter((r) => r.type === validatingAdmissionPolicyType && peek(r.props, "metadata", "name") === cfg.policyName);
    if (policies.length === 0) {
      reportViolation(`no ValidatingAdmissionPolicy named '${cfg.policyName}': the workload contract is not enforced in the cluster`);
      return;
    }
    const policy = policies[0]!;
    const validations = peekList(policy.props, "spec", "validations");
    if (validations !== UNKNOWN) {
      const text = [
        ...(validations ?? []).map((v) => peek(v, "expression")),
        ...(() => { const vars = peekList(policy.props, "spec", "variables"); return vars === UNKNOWN ? [] : (vars ?? []).map((v) => peek(v, "expression")); })(),
      ].filter((x): x is string => typeof x === "string").join("\n");
      const missing = cfg.requiredTerms.filter((t) => !text.includes(t));
      if (missing.length > 0) {
        reportViolation(`ValidatingAdmissionPolicy ${cfg.policyName}: its validations do not check ${missing.map((m) => `'${m}'`).join(", ")}`, policy.urn);
      }
    }
    const bindings = args.resources.filter((r) => r.type === validatingAdmissionPolicyBindingType && peek(r.props, "spec", "policyName") === cfg.policyName);
    if (bindings.length === 0) {
      reportViolation(`ValidatingAdmissionPolicy ${cfg.policyName} has no ValidatingAdmissionPolicyBinding: an unbound policy checks nothing`, policy.urn);
      return;
    }
    const want = [...cfg.validationActions].sort();
    const covered = new Set<string>();
    let unknown = false;
    for (const binding of bindings) {
      const actions = peekList(binding.props, "spec", "validationActions");
      if (actions === UNKNOWN) { unknown = true; continue; }
      const have = (actions ?? []).filter((a): a is string => typeof a === "string").sort();
      if (JSON.stringify(have) !== JSON.stringify(want)) {
        reportViolation(`ValidatingAdmissionPolicyBinding ${objectName(binding.props)}: validationActions ${JSON.stringify(have)}, but this stack requires ${JSON.stringify(want)}`, binding.urn);
        continue;
      }
      const ns = boundNamespaces(binding.props);
      if (ns === UNKNOWN) { unknown = true; continue; }
      if (ns === "all") cfg.namespaces.forEach((n) => covered.add(n));
      else ns.forEach((n) => covered.add(n));
    }
    const uncovered = cfg.namespaces.filter((n) => !covered.has(n));
    if (!unknown && uncovered.length > 0) {
      reportViolation(`ValidatingAdmissionPolicy ${cfg.policyName}: no binding with validationActions ${JSON.stringify(want)} covers namespace(s) ${uncovered.join(", ")}`, policy.urn);
    }
  },
};
