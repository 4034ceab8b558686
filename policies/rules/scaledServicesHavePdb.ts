import { type StackValidationPolicy, UnknownValueError } from "@pulumi/policy";
import { hpaType, objectName, pdbType, scaledObjectType } from "../lib";

export interface ScaledServicesHavePdbConfig {
  /** Pod label whose value is the workload's name (lib/scaling/workloads.ts labels every pod so). */
  labelKey: string;
}

// Values that cannot be judged: preview unknowns (the analyzer's proxy throws UnknownValueError when one
// is read; the offline plan records `{ __pulumiUnknown: true }`) and masked secrets.
const UNKNOWN = Symbol("unknown");
const isUnknown = (v: unknown): boolean =>
  v === UNKNOWN || v === "[secret]" || (typeof v === "object" && v !== null && (v as { __pulumiUnknown?: unknown }).__pulumiUnknown === true);
/** `value[path[0]][path[1]]...`: undefined when absent, UNKNOWN when it cannot be judged. */
function peek(value: unknown, ...path: (string | number)[]): unknown {
  try {
    for (const key of path) {
      if (isUnknown(value)) return UNKNOWN;
      value = (value as Record<string | number, unknown> | null | undefined)?.[key];
    }
    return isUnknown(value) ? UNKNOWN : value;
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN;
    throw e;
  }
}
/** The elements (each peeked) of the array at `path`; UNKNOWN, or undefined when absent. */
function peekList(value: unknown, ...path: (string | number)[]): unknown[] | typeof UNKNOWN | undefined {
  const list = peek(value, ...path);
  if (list === UNKNOWN) return UNKNOWN;
  return Array.isArray(list) ? Array.from({ length: list.length }, (_, i) => peek(list, i)) : undefined;
}

const namespaceOf = (props: unknown) => {
  const ns = peek(props, "metadata", "namespace");
  return ns === undefined ? "default" : ns;
};

/**
 * Workloads that scale in and out also get drained: Karpenter consolidates the nodes scale-in empties,
 * spot nodes are reclaimed. Without a PodDisruptionBudget a drain may evict every replica of a service
 * at once. Every HPA and ScaledObject target therefore has a PDB in its namespace that selects the
 * target's pods by the `labelKey: <target>` label (in `matchLabels`, or a `matchExpressions` `In` with
 * that value), or that is named after the target. A PDB whose selector cannot be known yet counts as
 * covering the namespace (it cannot be judged).
 */
export const scaledServicesHavePdb: StackValidationPolicy = {
  name: "scaled-services-have-pdb",
  description: "Every workload scaled by an HPA or KEDA ScaledObject has a PodDisruptionBudget selecting its pods.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Add a PodDisruptionBudget in the workload's namespace selecting `app.kubernetes.io/name: <workload>` (lib/scaling/workloads.ts buildPdb: maxUnavailable 1), next to its HPA or ScaledObject.",
  configSchema: {
    properties: {
      labelKey: { type: "string", minLength: 1, default: "app.kubernetes.io/name" },
    },
  },
  validateStack: (args, reportViolation) => {
    const { labelKey } = args.getConfig<ScaledServicesHavePdbConfig>();
    const pdbs = args.resources.filter((r) => r.type === pdbType).map((r) => r.props);

    const covers = (pdb: unknown, namespace: string, target: string): boolean => {
      const ns = namespaceOf(pdb);
      if (ns !== UNKNOWN && ns !== namespace) return false;
      const name = peek(pdb, "metadata", "name");
      if (name === target) return true;
      const selector = peek(pdb, "spec", "selector");
      if (ns === UNKNOWN || selector === UNKNOWN || name === UNKNOWN) return true;
      const label = peek(selector, "matchLabels", labelKey);
      if (label === UNKNOWN || label === target) return true;
      const expressions = peekList(selector, "matchExpressions");
      if (expressions === UNKNOWN) return true;
      return (expressions ?? []).some((e) => {
        if (peek(e, "key") !== labelKey || peek(e, "operator") !== "In") return false;
        const values = peekList(e, "values");
        return values === UNKNOWN || (values ?? []).includes(target);
      });
    };

    for (const r of args.resources) {
      const isHpa = r.type === hpaType;
      if (!isHpa && r.type !== scaledObjectType) continue;
      const namespace = namespaceOf(r.props);
      const target = peek(r.props, "spec", "scaleTargetRef", "name");
      if (typeof namespace !== "string" || typeof target !== "string") continue;
      if (pdbs.some((pdb) => covers(pdb, namespace, target))) continue;
      reportViolation(
        `${isHpa ? "HPA" : "ScaledObject"} ${objectName(r.props)}: no PodDisruptionBudget in namespace '${namespace}' selects '${labelKey}: ${target}' or is named '${target}'`,
        r.urn,
      );
    }
  },
};
