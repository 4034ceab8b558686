import type { StackValidationPolicy } from "@pulumi/policy";
import { hpaType, objectName, pdbType, peek, peekList, scaledObjectType, UNKNOWN } from "../lib";

export interface ScaledServicesHavePdbConfig {
  /** Pod label whose value is the workload's name (lib/scaling/workloads.ts labels every pod so). */
  labelKey: string;
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
