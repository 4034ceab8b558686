import * as aws from "@pulumi/aws";
import type { StackValidationPolicy } from "@pulumi/policy";
import { workloadClassLabel, type KarpenterWorkloadClass } from "../../lib/catalog/workloadClasses";
import { spotShareByWorkloadClass as sharesOfPools } from "../../lib/scaling/capacity";
import {
  nodeGroupFacts,
  nodePoolFacts,
  nodePoolType,
  nodePoolWorkloadClass,
  UNKNOWN,
  type NodeGroupFacts,
  type PoolFacts,
  type Unknown,
} from "../lib";

// ---------------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------------

/** Formats a share (0-1) as a percentage: 0.3 -> "30%", 1/3 -> "33.3%". */
function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** The design's spot shares: 90% for batch, 30% for APIs, 0% for data; the system base is on-demand. */
export const defaultMaxSpotShare: Readonly<Record<string, number>> = { batch: 0.9, api: 0.3, data: 0, system: 0 };

export interface SpotShareByWorkloadClassConfig {
  /** Highest spot share (0-1) of each workload class's capacity. A class not listed may not use spot at all. */
  maxSpotShare: Record<string, number>;
}

const share = { type: "number", minimum: 0, maximum: 1 } as const;

interface ClassShare {
  share: number;
  /** Spot resources behind the share, with what each contributes. */
  spot: { urn: string; describe: string; weight: number }[];
}

/** Spot share of each class over its Karpenter NodePools (by capacity-spread values, see lib/scaling/capacity.ts). */
function poolShares(pools: readonly PoolFacts[]): Map<string, ClassShare> {
  const result = new Map<string, ClassShare>();
  const classes = [...new Set(pools.map((p) => p.workloadClass).filter((c): c is string => c !== undefined))];
  for (const cls of classes) {
    const inClass = pools.filter((p) => p.workloadClass === cls);
    // Normalise overlaps before applying the shared formula: a spread value that any spot pool
    // owns is a spot domain (pods of that value may land on spot), whichever other pool owns it too.
    const spotValues = new Set(inClass.filter((p) => p.capacityType === "spot").flatMap((p) => p.spreadValues));
    const onDemandValues = new Set(inClass.filter((p) => p.capacityType === "on-demand").flatMap((p) => p.spreadValues).filter((v) => !spotValues.has(v)));
    const shares = sharesOfPools([
      { workloadClass: cls as KarpenterWorkloadClass, capacityType: "spot", spreadValues: [...spotValues] },
      { workloadClass: cls as KarpenterWorkloadClass, capacityType: "on-demand", spreadValues: [...onDemandValues] },
    ]);
    const total = spotValues.size + onDemandValues.size;
    result.set(cls, {
      share: shares[cls] ?? 0,
      spot: inClass
        .filter((p) => p.capacityType === "spot" && p.spreadValues.length > 0)
        .map((p) => ({ urn: p.urn, weight: p.spreadValues.length, describe: `NodePool ${p.name} (${p.spreadValues.length} of ${total} capacity-spread values)` })),
    });
  }
  return result;
}

/** Spot share of each class over its EKS managed node groups, weighted by desired size. */
function nodeGroupShares(groups: readonly NodeGroupFacts[]): Map<string, ClassShare | Unknown> {
  const result = new Map<string, ClassShare | Unknown>();
  const classes = [...new Set(groups.map((g) => g.workloadClass).filter((c): c is string => c !== undefined))];
  for (const cls of classes) {
    const inClass = groups.filter((g) => g.workloadClass === cls);
    if (inClass.some((g) => g.desiredSize === undefined)) {
      result.set(cls, UNKNOWN);
      continue;
    }
    const total = inClass.reduce((n, g) => n + g.desiredSize!, 0);
    const spot = inClass.filter((g) => g.capacityType === "spot");
    const spotNodes = spot.reduce((n, g) => n + g.desiredSize!, 0);
    result.set(cls, {
      share: total === 0 ? 0 : spotNodes / total,
      spot: spot.map((g) => ({ urn: g.urn, weight: g.desiredSize!, describe: `node group ${g.name} (SPOT, desired ${g.desiredSize} of ${total} nodes)` })),
    });
  }
  return result;
}

/**
 * Spot share per workload class: the share of each class's capacity that may be spot stays within
 * the configured limit. For Karpenter NodePools the share is the spot pools' part of the class's
 * capacity-spread values (the class's pods spread evenly over them); for EKS managed node groups it
 * is the SPOT groups' part of the class's desired nodes. A class with both is held to the larger.
 */
export const spotShareByWorkloadClass: StackValidationPolicy = {
  name: "spot-share-by-workload-class",
  description: "The spot share of each workload class's capacity (Karpenter NodePools by capacity-spread values, managed node groups by desired size) stays within the class's limit.",
  enforcementLevel: "mandatory",
  // Critical because of the data class (0% spot: losing a node loses state); the same limit holds the
  // api and batch shares that the cost model and availability targets are built on.
  severity: "critical",
  remediationSteps:
    "Lower `spotPercent` of the class in `autoscaling:cluster.workloadClasses` (or make the node group ON_DEMAND) in the stack file so the spot pools own fewer capacity-spread values; if the design's share itself must change, change `maxSpotShare` in policies/config/<stack>.json through a reviewed change.",
  configSchema: {
    properties: {
      maxSpotShare: {
        type: "object",
        properties: {
          batch: { ...share, default: defaultMaxSpotShare.batch },
          api: { ...share, default: defaultMaxSpotShare.api },
          data: { ...share, default: defaultMaxSpotShare.data },
          system: { ...share, default: defaultMaxSpotShare.system },
        },
        additionalProperties: share,
        default: { ...defaultMaxSpotShare },
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<SpotShareByWorkloadClassConfig>();
    // Defaults merged here as well: an engine that does not fill nested defaults still gets the design's.
    const limits: Record<string, number> = { ...defaultMaxSpotShare, ...(config.maxSpotShare ?? {}) };

    const undecidable = new Set<string>();
    const pools: PoolFacts[] = [];
    const groups: NodeGroupFacts[] = [];
    for (const r of args.resources) {
      if (r.type === nodePoolType) {
        const facts = nodePoolFacts(r);
        if (facts === UNKNOWN) {
          // Which class it belongs to may itself be unknown: then no class can be judged.
          const cls = nodePoolWorkloadClass(r.props, []);
          undecidable.add(typeof cls === "string" ? cls : "*");
        } else pools.push(facts);
      } else if (r.isType(aws.eks.NodeGroup)) {
        const facts = nodeGroupFacts(r);
        if (facts === UNKNOWN) undecidable.add("*");
        else groups.push(facts);
      }
    }
    if (undecidable.has("*")) return;

    // Every node belongs to exactly one workload class: spot capacity outside any class escapes every limit.
    for (const unclassified of [...pools, ...groups].filter((p) => p.workloadClass === undefined && p.capacityType === "spot")) {
      reportViolation(`${unclassified.kind} ${unclassified.name}: spot capacity without a ${workloadClassLabel} label belongs to no workload class, so no spot limit holds it`, unclassified.urn);
    }

    const byPools = poolShares(pools);
    const byGroups = nodeGroupShares(groups);
    const classes = [...new Set([...byPools.keys(), ...byGroups.keys()])].sort();
    for (const cls of classes) {
      if (undecidable.has(cls)) continue;
      const fromGroups = byGroups.get(cls);
      if (fromGroups === UNKNOWN) continue;
      const configured = Object.hasOwn(limits, cls);
      const limit = configured ? limits[cls]! : 0;
      const over = [byPools.get(cls), fromGroups].filter((s): s is ClassShare => s !== undefined && s.share > limit + 1e-9);
      if (over.length === 0) continue;
      const worst = Math.max(...over.map((s) => s.share));
      const responsible = over.flatMap((s) => s.spot).sort((a, b) => b.weight - a.weight);
      const limitText = configured ? `the limit of ${percent(limit)}` : "the limit of 0% (no spot limit configured for this class)";
      reportViolation(
        `workload class '${cls}': spot share ${percent(worst)} exceeds ${limitText}; spot capacity: ${responsible.map((s) => s.describe).join(", ")}`,
        responsible[0]?.urn,
      );
    }
  },
};
