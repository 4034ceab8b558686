/**
 * Node capacity per workload class: how each class is split over spot and on-demand Karpenter
 * NodePools, and the spot share and node ceilings that follow. Pure functions, shared by the Cluster
 * component (which renders the NodePools), the policy pack (which checks them) and the plan.
 */
import {
  capacitySpreadDomains,
  karpenterWorkloadClasses,
  type KarpenterWorkloadClass,
} from "../catalog/workloadClasses";

export type CapacityType = "spot" | "on-demand";

export interface WorkloadClassCapacity {
  /** Percent of the class's pods (and so capacity) that may run on spot, a multiple of 10. */
  readonly spotPercent: number;
  /** Node ceiling for the class, split over its pools. */
  readonly maxNodes: number;
}

export interface NodePoolPlan {
  /** NodePool name, e.g. `api-spot`. */
  readonly name: string;
  readonly workloadClass: KarpenterWorkloadClass;
  readonly capacityType: CapacityType;
  /** Values of the capacity-spread label this pool owns ("1".."10"). */
  readonly spreadValues: readonly string[];
  /** `limits.nodes` of the pool. */
  readonly maxNodes: number;
  readonly instanceTypes: readonly string[];
}

/**
 * Splits every class into a spot and an on-demand NodePool. The spread domains are divided in the
 * class's ratio (30% spot = 3 of 10 domains); the node ceiling in the same ratio, rounding the spot
 * share down so the ceiling never allows more spot than the target. A pool with no domain is omitted.
 */
export function planNodePools(
  classes: Readonly<Record<KarpenterWorkloadClass, WorkloadClassCapacity>>,
  instanceTypes: { readonly spot: readonly string[]; readonly onDemand: readonly string[] },
): NodePoolPlan[] {
  const pools: NodePoolPlan[] = [];
  for (const workloadClass of karpenterWorkloadClasses) {
    const { spotPercent, maxNodes } = classes[workloadClass];
    if (!Number.isInteger(spotPercent) || spotPercent < 0 || spotPercent > 100 || spotPercent % (100 / capacitySpreadDomains) !== 0) {
      throw new Error(`workloadClasses.${workloadClass}.spotPercent = ${spotPercent}: must be a multiple of ${100 / capacitySpreadDomains} from 0 to 100`);
    }
    if (!Number.isInteger(maxNodes) || maxNodes < 1) {
      throw new Error(`workloadClasses.${workloadClass}.maxNodes = ${maxNodes}: must be a positive integer`);
    }
    const spotDomains = (spotPercent / 100) * capacitySpreadDomains;
    const values = Array.from({ length: capacitySpreadDomains }, (_, i) => String(i + 1));
    let spotNodes = Math.floor((maxNodes * spotPercent) / 100);
    // A class with spot domains needs at least one spot node to be schedulable at all.
    if (spotDomains > 0 && spotNodes === 0) spotNodes = 1;
    if (spotDomains === capacitySpreadDomains) spotNodes = maxNodes;
    const onDemandNodes = maxNodes - spotNodes;
    if (spotDomains > 0) {
      pools.push({ name: `${workloadClass}-spot`, workloadClass, capacityType: "spot", spreadValues: values.slice(0, spotDomains), maxNodes: spotNodes, instanceTypes: instanceTypes.spot });
    }
    if (spotDomains < capacitySpreadDomains) {
      if (onDemandNodes < 1) {
        throw new Error(`workloadClasses.${workloadClass}.maxNodes = ${maxNodes}: too small to hold both a spot and an on-demand node`);
      }
      pools.push({ name: `${workloadClass}-on-demand`, workloadClass, capacityType: "on-demand", spreadValues: values.slice(spotDomains), maxNodes: onDemandNodes, instanceTypes: instanceTypes.onDemand });
    }
  }
  return pools;
}

/** Spot share of each class implied by the pools' spread domains (0-1). */
export function spotShareByWorkloadClass(pools: readonly Pick<NodePoolPlan, "workloadClass" | "capacityType" | "spreadValues">[]): Record<string, number> {
  const totals = new Map<string, { spot: number; all: number }>();
  for (const pool of pools) {
    const t = totals.get(pool.workloadClass) ?? { spot: 0, all: 0 };
    t.all += pool.spreadValues.length;
    if (pool.capacityType === "spot") t.spot += pool.spreadValues.length;
    totals.set(pool.workloadClass, t);
  }
  return Object.fromEntries([...totals].map(([c, t]) => [c, t.all === 0 ? 0 : t.spot / t.all]));
}

/** The most nodes the cluster can ever have: the system node group's maximum plus every pool's limit. */
export function nodeCeiling(systemNodeGroupMax: number, pools: readonly Pick<NodePoolPlan, "maxNodes">[]): number {
  return pools.reduce((sum, p) => sum + p.maxNodes, systemNodeGroupMax);
}

/**
 * Kafka partitions a consumer group needs so that every replica can consume: KEDA's Kafka scaler
 * never runs more consumers than partitions. Rounded up to a multiple of `spreadOver` (every broker
 * count the stack may grow to), so partitions stay evenly spread when brokers are added.
 */
export function partitionsForConsumers(maxConsumers: number, spreadOver: readonly number[]): number {
  if (!Number.isInteger(maxConsumers) || maxConsumers < 1) throw new Error(`maxConsumers = ${maxConsumers}: must be a positive integer`);
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const step = spreadOver.reduce((l, n) => (l * n) / gcd(l, n), 1);
  return Math.ceil(maxConsumers / step) * step;
}

/** NodePool annotation carrying the steady-state node count the cost model prices. */
export const expectedNodesAnnotation = "pyairtable.io/expected-nodes";

/**
 * Splits the expected steady-state spot nodes over the spot pools in proportion to their node
 * limits (largest remainder, so the parts add up exactly). On-demand pools expect none: the
 * on-demand baseline is the system node group.
 */
export function expectedNodesByPool(expectedSpotNodes: number, pools: readonly Pick<NodePoolPlan, "name" | "capacityType" | "maxNodes">[]): Record<string, number> {
  const spot = pools.filter((p) => p.capacityType === "spot");
  const capacity = spot.reduce((s, p) => s + p.maxNodes, 0);
  const result: Record<string, number> = Object.fromEntries(pools.map((p) => [p.name, 0]));
  if (expectedSpotNodes === 0 || capacity === 0) return result;
  if (expectedSpotNodes > capacity) throw new Error(`expectedSpotNodes = ${expectedSpotNodes}: must not exceed the spot pools' node limits (${capacity})`);
  const shares = spot.map((p) => ({ name: p.name, exact: (expectedSpotNodes * p.maxNodes) / capacity }));
  for (const s of shares) result[s.name] = Math.floor(s.exact);
  let left = expectedSpotNodes - shares.reduce((n, s) => n + Math.floor(s.exact), 0);
  for (const s of [...shares].sort((a, b) => (b.exact % 1) - (a.exact % 1))) {
    if (left-- <= 0) break;
    result[s.name]! += 1;
  }
  return result;
}
