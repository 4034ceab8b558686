import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import {
  capacitySpreadDomains,
  capacitySpreadLabel,
  karpenterCapacityTypeLabel,
  workloadClassLabel,
  type KarpenterWorkloadClass,
} from "../../lib/catalog/workloadClasses";
import { spotShareByWorkloadClass as sharesOfPools, type CapacityType } from "../../lib/scaling/capacity";
import { nodePoolType, type Props } from "../lib";

// ---------------------------------------------------------------------------------------------
// Reading capacity out of NodePools and managed node groups. Shared by the capacity policies
// (no-stateful-workloads-on-spot, spot-diversification, node-count-ceiling); side-effect free.
// ---------------------------------------------------------------------------------------------

/** A value that cannot be judged: unknown during preview, or masked (`[secret]`) in an offline plan. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

const maskedValue = "[secret]";

function isUnknownMarker(value: unknown): boolean {
  // The offline plan's marker for an output not known before creation.
  return value !== null && typeof value === "object" && (value as { __pulumiUnknown?: unknown }).__pulumiUnknown === true;
}

function isUnknownValueError(e: unknown): boolean {
  // @pulumi/policy's analyzer wraps props in a proxy that throws UnknownValueError on unknown values.
  return e instanceof Error && (e.constructor?.name === "UnknownValueError" || /can't be known during preview/.test(e.message));
}

/** A plain deep copy of `value`; UNKNOWN if it or anything inside it is unknown. Masked strings are kept. */
function materialize(value: unknown): unknown {
  if (isUnknownMarker(value)) return UNKNOWN;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const v = materialize(value[i]);
      if (v === UNKNOWN) return UNKNOWN;
      out.push(v);
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = materialize((value as Record<string, unknown>)[key]);
      if (v === UNKNOWN) return UNKNOWN;
      out[key] = v;
    }
    return out;
  }
  return value;
}

/**
 * Reads `get()` safely: UNKNOWN when the value (or any part of it) is unknown during preview,
 * otherwise a plain copy. Masked secrets stay `"[secret]"` (see `isMasked`).
 */
export function known<T>(get: () => T): T | Unknown {
  try {
    return materialize(get()) as T | Unknown;
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

/** Like `known`, without the deep copy: the value itself (for reading its fields one by one), or UNKNOWN. */
export function peek<T>(get: () => T): T | Unknown {
  try {
    const value = get();
    return isUnknownMarker(value) ? UNKNOWN : value;
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

export const isMasked = (value: unknown): boolean => value === maskedValue;

/** A number from a number or a numeric string (`"4"`); undefined for anything else (absent, masked, unknown). */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Formats a share (0-1) as a percentage: 0.3 -> "30%", 1/3 -> "33.3%". */
export function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

/** `spec.template.spec.requirements` of a NodePool, or UNKNOWN. */
export function nodePoolRequirements(props: Props): NodeSelectorRequirement[] | Unknown {
  const reqs = known(() => props.spec?.template?.spec?.requirements as unknown);
  if (reqs === UNKNOWN) return UNKNOWN;
  if (!Array.isArray(reqs)) return [];
  if (reqs.some((r) => typeof r?.key !== "string" || typeof r?.operator !== "string" || isMasked(r.key))) return UNKNOWN;
  return reqs as NodeSelectorRequirement[];
}

/** Values of `universe` a set of requirements on `key` admits (all of them when there is no requirement on the key). */
export function admittedValues(requirements: readonly NodeSelectorRequirement[], key: string, universe: readonly string[]): string[] {
  let admitted = [...universe];
  for (const r of requirements.filter((q) => q.key === key)) {
    const values = r.values ?? [];
    switch (r.operator) {
      case "In":
        admitted = admitted.filter((v) => values.includes(v));
        break;
      case "NotIn":
        admitted = admitted.filter((v) => !values.includes(v));
        break;
      case "DoesNotExist":
        admitted = [];
        break;
      default: // Exists, Gt, Lt: no restriction among these values
        break;
    }
  }
  return admitted;
}

const karpenterCapacityTypes = ["spot", "on-demand", "reserved"] as const;

/**
 * Capacity type of a NodePool from its `karpenter.sh/capacity-type` requirements. A pool that
 * admits spot at all (alone or with on-demand, `Exists`, `NotIn [on-demand]`) counts as spot.
 * Without any requirement on the key Karpenter launches on-demand capacity only (its documented
 * default), so such a pool counts as on-demand.
 */
export function nodePoolCapacityType(requirements: readonly NodeSelectorRequirement[]): CapacityType {
  if (!requirements.some((r) => r.key === karpenterCapacityTypeLabel)) return "on-demand";
  return admittedValues(requirements, karpenterCapacityTypeLabel, karpenterCapacityTypes).includes("spot") ? "spot" : "on-demand";
}

/** The capacity-spread values a NodePool owns: its `In` values, or every domain it does not exclude. */
export function nodePoolSpreadValues(requirements: readonly NodeSelectorRequirement[]): string[] {
  const domains = Array.from({ length: capacitySpreadDomains }, (_, i) => String(i + 1));
  const ins = requirements.filter((r) => r.key === capacitySpreadLabel && r.operator === "In");
  // `In` values are taken as written (a value outside 1..10 still owns capacity); other operators
  // restrict the ten domains. A pool without any requirement on the key may take every domain.
  let values = ins.length > 0 ? [...new Set(ins[0]!.values ?? [])] : domains;
  for (const r of ins.slice(1)) values = values.filter((v) => (r.values ?? []).includes(v));
  return admittedValues(requirements.filter((r) => r.operator !== "In"), capacitySpreadLabel, values);
}

/** Workload class of a NodePool: its template label, else a single-valued `In` requirement on the label. */
export function nodePoolWorkloadClass(props: Props, requirements: readonly NodeSelectorRequirement[]): string | undefined | Unknown {
  const label = known(() => props.spec?.template?.metadata?.labels?.[workloadClassLabel] as unknown);
  if (label === UNKNOWN || isMasked(label)) return UNKNOWN;
  if (typeof label === "string") return label;
  const req = requirements.find((r) => r.key === workloadClassLabel && r.operator === "In" && r.values?.length === 1);
  return req?.values?.[0];
}

export interface PoolFacts {
  readonly kind: "NodePool";
  readonly name: string;
  readonly urn: string;
  readonly workloadClass: string | undefined;
  readonly capacityType: CapacityType;
  readonly spreadValues: readonly string[];
}

export interface NodeGroupFacts {
  readonly kind: "node group";
  readonly name: string;
  readonly urn: string;
  readonly workloadClass: string | undefined;
  readonly capacityType: CapacityType;
  /** scalingConfig.desiredSize, or undefined when it cannot be judged. */
  readonly desiredSize: number | undefined;
}

/** Pulumi type of an EKS managed node group (`aws.eks.NodeGroup`). */
export const managedNodeGroupType = "aws:eks/nodeGroup:NodeGroup";

/** Name of a NodePool (metadata.name) for messages, else the logical name. */
export function nodePoolName(props: Props, fallback: string): string {
  const name = known(() => props.metadata?.name as unknown);
  return typeof name === "string" && !isMasked(name) ? name : fallback;
}

/** Name of a managed node group for messages: nodeGroupName, else the logical name. */
export function nodeGroupName(props: Props, fallback: string): string {
  const name = known(() => props.nodeGroupName as unknown);
  return typeof name === "string" && !isMasked(name) ? name : fallback;
}

/** What a NodePool contributes to its class's capacity; UNKNOWN when that cannot be judged. */
export function nodePoolFacts(r: Pick<PolicyResource, "props" | "urn" | "name">): PoolFacts | Unknown {
  const requirements = nodePoolRequirements(r.props);
  if (requirements === UNKNOWN) return UNKNOWN;
  const workloadClass = nodePoolWorkloadClass(r.props, requirements);
  if (workloadClass === UNKNOWN) return UNKNOWN;
  return {
    kind: "NodePool",
    name: nodePoolName(r.props, r.name),
    urn: r.urn,
    workloadClass,
    capacityType: nodePoolCapacityType(requirements),
    spreadValues: nodePoolSpreadValues(requirements),
  };
}

/** Capacity type of an EKS managed node group: SPOT, else ON_DEMAND (the EKS default). UNKNOWN if unknown. */
export function nodeGroupCapacityType(props: Props): CapacityType | Unknown {
  const type = known(() => props.capacityType as unknown);
  if (type === UNKNOWN || isMasked(type)) return UNKNOWN;
  return type === "SPOT" ? "spot" : "on-demand";
}

/** What an EKS managed node group contributes to its class's capacity; UNKNOWN when that cannot be judged. */
export function nodeGroupFacts(r: Pick<PolicyResource, "props" | "urn" | "name">): NodeGroupFacts | Unknown {
  const capacityType = nodeGroupCapacityType(r.props);
  const workloadClass = known(() => r.props.labels?.[workloadClassLabel] as unknown);
  if (capacityType === UNKNOWN || workloadClass === UNKNOWN || isMasked(workloadClass)) return UNKNOWN;
  return {
    kind: "node group",
    name: nodeGroupName(r.props, r.name),
    urn: r.urn,
    workloadClass: typeof workloadClass === "string" ? workloadClass : undefined,
    capacityType,
    desiredSize: asNumber(known(() => r.props.scalingConfig?.desiredSize as unknown)),
  };
}

// ---------------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------------

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
