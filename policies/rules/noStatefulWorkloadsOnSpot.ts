import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { karpenterCapacityTypeLabel, workloadClassLabel } from "../../lib/catalog/workloadClasses";
import { isMasked, known, nodeGroupFacts, nodePoolFacts, nodePoolType, objectName, UNKNOWN, type Props } from "../lib";

/** Node label EKS managed node groups set to their capacity type (`SPOT` / `ON_DEMAND`). */
export const eksCapacityTypeLabel = "eks.amazonaws.com/capacityType";
const capacityTypeKeys = [karpenterCapacityTypeLabel, eksCapacityTypeLabel];
const isSpotValue = (v: unknown) => typeof v === "string" && v.toLowerCase() === "spot";

export interface NoStatefulWorkloadsOnSpotConfig {
  /** Workload classes whose capacity holds state and so must be on-demand only. */
  statefulClasses: string[];
}

interface MatchExpression {
  key?: string;
  operator?: string;
  values?: string[];
}

const describeExpression = (e: MatchExpression) => `${e.key} ${e.operator}${e.values ? ` [${e.values.join(", ")}]` : ""}`;

/** Whether a node-selector expression steers a pod to spot capacity: `In` with spot, or `NotIn` that excludes only non-spot types. */
function selectsSpot(e: MatchExpression): boolean {
  if (!e.key || !capacityTypeKeys.includes(e.key)) return false;
  const values = e.values ?? [];
  if (e.operator === "In") return values.some(isSpotValue);
  if (e.operator === "NotIn") return values.length > 0 && !values.some(isSpotValue);
  return false;
}

const expressionsOf = (term: unknown): MatchExpression[] => {
  const exprs = (term as { matchExpressions?: unknown } | undefined)?.matchExpressions;
  return Array.isArray(exprs) ? (exprs as MatchExpression[]) : [];
};

interface PodPlacement {
  nodeSelector: Record<string, unknown>;
  requiredTerms: unknown[];
  preferredTerms: unknown[];
  tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
  /** The workload's own labels and its pods' labels. */
  labels: Record<string, unknown>[];
}

/** Placement fields of a workload's pod template; UNKNOWN when any of them cannot be judged. */
function podPlacement(props: Props): PodPlacement | typeof UNKNOWN {
  const spec = known(() => {
    const pod = props.spec?.template?.spec ?? {};
    return {
      nodeSelector: pod.nodeSelector,
      required: pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      preferred: pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
      tolerations: pod.tolerations,
      templateLabels: props.spec?.template?.metadata?.labels,
      objectLabels: props.metadata?.labels,
    };
  });
  if (spec === UNKNOWN) return UNKNOWN;
  const obj = (v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const arr = (v: unknown) => (Array.isArray(v) ? v : []);
  return {
    nodeSelector: obj(spec.nodeSelector),
    requiredTerms: arr(spec.required),
    preferredTerms: arr(spec.preferred).map((p) => (p as { preference?: unknown })?.preference),
    tolerations: arr(spec.tolerations),
    labels: [obj(spec.objectLabels), obj(spec.templateLabels)],
  };
}

/** `namespace/name` of a workload for messages, else its logical name. */
function workloadName(args: { props: Props; name: string }): string {
  const name = known(() => objectName(args.props));
  return name === UNKNOWN || isMasked(name) ? args.name : name;
}

/** The stateful class a pod template selects or carries, if any. */
function statefulClassOf(p: PodPlacement, classes: readonly string[]): string | undefined {
  const selected = p.nodeSelector[workloadClassLabel];
  if (typeof selected === "string" && classes.includes(selected)) return selected;
  for (const term of p.requiredTerms) {
    for (const e of expressionsOf(term)) {
      if (e.key === workloadClassLabel && e.operator === "In") {
        const hit = (e.values ?? []).find((v) => classes.includes(v));
        if (hit) return hit;
      }
    }
  }
  // The class the workload claims: its own label or its pods' label.
  for (const labels of p.labels) {
    const label = labels[workloadClassLabel];
    if (typeof label === "string" && classes.includes(label)) return label;
  }
  return undefined;
}

/** How a pod template selects or tolerates spot capacity (empty when it does not). */
function spotPlacements(p: PodPlacement, includePreferred: boolean): string[] {
  const found: string[] = [];
  for (const key of capacityTypeKeys) {
    if (isSpotValue(p.nodeSelector[key])) found.push(`nodeSelector ${key}=${p.nodeSelector[key]}`);
  }
  for (const term of p.requiredTerms) {
    for (const e of expressionsOf(term).filter(selectsSpot)) found.push(`required node affinity ${describeExpression(e)}`);
  }
  if (includePreferred) {
    for (const term of p.preferredTerms) {
      for (const e of expressionsOf(term).filter(selectsSpot)) found.push(`preferred node affinity ${describeExpression(e)}`);
    }
  }
  for (const t of p.tolerations) {
    if (t?.key === undefined || t.key === "") {
      if (t?.operator === "Exists") found.push("a toleration of every taint (operator Exists without a key), spot taints included");
    } else if (capacityTypeKeys.includes(t.key) && (t.operator === "Exists" || isSpotValue(t.value))) {
      found.push(`a toleration of ${t.key}${t.operator === "Exists" ? " (Exists)" : `=${t.value}`}`);
    }
  }
  return found;
}

/**
 * Stateful workloads never run on spot capacity: the NodePools and node groups of the stateful
 * classes (`data`) are on-demand only, Deployments and StatefulSets of those classes do not select
 * or tolerate spot capacity, and no StatefulSet selects spot at all (not even as a preference).
 */
export const noStatefulWorkloadsOnSpot: ResourceValidationPolicy = {
  name: "no-stateful-workloads-on-spot",
  description: "Data-class NodePools and node groups are on-demand only; data-class Deployments and all StatefulSets do not select or tolerate spot capacity.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Keep `spotPercent: 0` for the data class in `autoscaling:cluster.workloadClasses` of the stack file (its NodePool then requires `karpenter.sh/capacity-type In [on-demand]`); remove spot nodeSelectors, node affinity and tolerations (`karpenter.sh/capacity-type`, `eks.amazonaws.com/capacityType`) from the pod templates of data-class workloads and StatefulSets.",
  configSchema: {
    properties: {
      statefulClasses: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, uniqueItems: true, default: ["data"] },
    },
  },
  validateResource: [
    (args, reportViolation) => {
      if (args.type !== nodePoolType) return; // a CustomResource: no typed class
      const { statefulClasses } = args.getConfig<NoStatefulWorkloadsOnSpotConfig>();
      const pool = nodePoolFacts(args);
      if (pool === UNKNOWN || pool.workloadClass === undefined || !statefulClasses.includes(pool.workloadClass)) return;
      if (pool.capacityType === "spot") {
        reportViolation(`NodePool ${pool.name}: workload class '${pool.workloadClass}' holds stateful workloads and must be on-demand only, but the pool allows spot capacity (${karpenterCapacityTypeLabel})`);
      }
    },
    validateResourceOfType(aws.eks.NodeGroup, (_group, args, reportViolation) => {
      const { statefulClasses } = args.getConfig<NoStatefulWorkloadsOnSpotConfig>();
      const group = nodeGroupFacts(args);
      if (group === UNKNOWN || group.workloadClass === undefined || !statefulClasses.includes(group.workloadClass)) return;
      if (group.capacityType === "spot") {
        reportViolation(`node group ${group.name}: workload class '${group.workloadClass}' holds stateful workloads and must be on-demand only, but the node group's capacity type is SPOT`);
      }
    }),
    validateResourceOfType(k8s.apps.v1.Deployment, (_deployment, args, reportViolation) => {
      const { statefulClasses } = args.getConfig<NoStatefulWorkloadsOnSpotConfig>();
      const placement = podPlacement(args.props);
      if (placement === UNKNOWN) return;
      const cls = statefulClassOf(placement, statefulClasses);
      if (cls === undefined) return;
      const found = spotPlacements(placement, false);
      if (found.length > 0) {
        reportViolation(`Deployment ${workloadName(args)}: workload class '${cls}' is stateful and must not run on spot capacity, but its pod template has ${found.join("; ")}`);
      }
    }),
    validateResourceOfType(k8s.apps.v1.StatefulSet, (_statefulSet, args, reportViolation) => {
      // Any StatefulSet, whatever its class, and not even as a preference.
      const placement = podPlacement(args.props);
      if (placement === UNKNOWN) return;
      const found = spotPlacements(placement, true);
      if (found.length > 0) {
        reportViolation(`StatefulSet ${workloadName(args)}: stateful workloads must not run on spot capacity, but its pod template has ${found.join("; ")}`);
      }
    }),
  ],
};
