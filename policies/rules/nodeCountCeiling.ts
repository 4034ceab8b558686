import * as aws from "@pulumi/aws";
import type { StackValidationPolicy } from "@pulumi/policy";
import { asNumber, isMasked, known, nodeGroupName, nodePoolName, nodePoolType, UNKNOWN } from "../lib";

export interface NodeCountCeilingConfig {
  /** Most nodes the cluster may ever have: managed node groups' maxSize plus every NodePool's limits.nodes. */
  maxNodes: number;
}

const decimalSuffixes: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9 };

/** `limits.nodes` as a count: a whole number or a Kubernetes quantity with a decimal suffix ("12", "1k"). */
function nodeCount(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = /^\s*(\d+)([kMG]?)\s*$/.exec(value);
  return m ? Number(m[1]) * decimalSuffixes[m[2]!]! : undefined;
}

/**
 * Hard node ceiling: the most nodes the cluster can ever run (every managed node group at its
 * maxSize plus every Karpenter NodePool at its `limits.nodes`) stays within `maxNodes`. A NodePool
 * without a node limit is unbounded and is a violation by itself.
 */
export const nodeCountCeiling: StackValidationPolicy = {
  name: "node-count-ceiling",
  description: "Managed node groups' maxSize plus every NodePool's limits.nodes stays within the cluster's node ceiling; every NodePool has a node limit.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Give every NodePool `spec.limits.nodes` and lower the class node ceilings (`autoscaling:cluster.workloadClasses.<class>.maxNodes`) or `systemNodeGroup.maxSize` in the stack file; if the design's ceiling itself must change, raise `maxNodes` in policies/config/<stack>.json through a reviewed change.",
  configSchema: {
    properties: {
      maxNodes: { type: "integer", minimum: 1, default: 40 },
    },
  },
  validateStack: (args, reportViolation) => {
    const { maxNodes } = args.getConfig<NodeCountCeilingConfig>();
    const parts: string[] = [];
    let total = 0;
    let judgeable = true;

    for (const r of args.resources) {
      if (r.isType(aws.eks.NodeGroup)) {
        const max = known(() => r.props.scalingConfig?.maxSize as unknown);
        const n = asNumber(max);
        if (n === undefined) {
          judgeable = false; // unknown or masked: the total cannot be judged
          continue;
        }
        total += n;
        parts.push(`node group ${nodeGroupName(r.props, r.name)} ${n}`);
      } else if (r.type === nodePoolType) {
        const name = nodePoolName(r.props, r.name);
        const limit = known(() => r.props.spec?.limits?.nodes as unknown);
        if (limit === UNKNOWN || isMasked(limit)) {
          judgeable = false;
          continue;
        }
        if (limit === undefined || limit === null) {
          reportViolation(`NodePool ${name}: no spec.limits.nodes, so its node count is unbounded (the cluster's ceiling is ${maxNodes} nodes)`, r.urn);
          judgeable = false;
          continue;
        }
        const n = nodeCount(limit);
        if (n === undefined) {
          reportViolation(`NodePool ${name}: spec.limits.nodes '${String(limit)}' is not a whole node count, so its node count is unbounded`, r.urn);
          judgeable = false;
          continue;
        }
        total += n;
        parts.push(`NodePool ${name} ${n}`);
      }
    }

    // The known part is a lower bound when something is unknown or unbounded: still report it if it is over.
    if (total > maxNodes) {
      reportViolation(`the cluster can grow to ${judgeable ? "" : "at least "}${total} nodes (${parts.join(", ")}), more than the ceiling of ${maxNodes}`);
    }
  },
};
