/**
 * Scheduling simulation: the spot share of one Deployment of a workload class at every replica count,
 * on the NodePool objects the program renders (requirements, taints, template labels, weights,
 * limits), with the pod template the workload contract gives it, and without the contract's
 * scheduling fragment.
 *
 * The model (one Deployment scaling up from zero, one pod at a time):
 * - NodePools: those whose taints the pod tolerates and whose labels/requirements admit its
 *   nodeSelector. A pool owns the `pyairtable.io/capacity-spread` values its requirements admit;
 *   opening a value costs one node of the pool, within `limits.nodes`. Pods per node are not
 *   modelled: one node holds every pod of its value (the spot share depends on values, not nodes).
 * - Spread (`maxSkew`, `DoNotSchedule`): a pod may go to a value whose count is at most the
 *   minimum + maxSkew - 1, the minimum taken over the values still reachable (a node exists, or its
 *   pool has node headroom). Without the constraint the pod may go anywhere.
 * - The scheduler places the pod on an existing node when an allowed value has one. Which one among
 *   several is a scoring tie: the contract's preferred on-demand affinity decides it (`preference`),
 *   and the `adverse` tie-break takes spot first (an upper bound if the scoring ignored the preference).
 * - Otherwise Karpenter provisions: it tries the pools in descending `weight`, every order of
 *   equal-weight pools being a separate scenario; with a preferred node affinity it first tries only
 *   the pools that satisfy it, then relaxes it (as Karpenter does). The pool opens the allowed value
 *   with the fewest pods. No pool can: the pod stays pending.
 *
 * Not modelled: scale-down (the ReplicaSet controller picks victims without regard to the spread),
 * spot interruptions, consolidation moving pods, pods per node and instance sizes.
 */
import { capacitySpreadLabel, karpenterCapacityTypeLabel, workloadClassLabel } from "../catalog/workloadClasses";
import { admittedValues, nodePoolCapacityType, nodePoolSpreadValues, type NodeSelectorRequirement } from "./nodePoolRequirements";

type Json = Record<string, any>;

export interface SimulatedPool {
  readonly name: string;
  readonly weight: number;
  readonly capacityType: "spot" | "on-demand";
  readonly domains: readonly string[];
  readonly maxNodes: number;
}

/** What of a pod template the simulation reads. */
export interface PodPlacement {
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: readonly { key?: string; operator?: string; value?: string; effect?: string }[];
  readonly topologySpreadConstraints?: readonly { topologyKey: string; maxSkew: number; whenUnsatisfiable: string }[];
  readonly affinity?: Json;
}

const tolerates = (pod: PodPlacement, taint: { key: string; value?: string; effect: string }) =>
  (pod.tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === "Exists";
    if (t.key !== taint.key) return false;
    return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
  });

/** The NodePools (rendered manifests) a pod can land on, as simulation pools. */
export function poolsForPod(nodePools: readonly Json[], pod: PodPlacement): SimulatedPool[] {
  const pools: SimulatedPool[] = [];
  for (const np of nodePools) {
    const spec = np.spec?.template?.spec ?? {};
    const requirements = (spec.requirements ?? []) as NodeSelectorRequirement[];
    const labels = (np.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
    const taints = (spec.taints ?? []) as { key: string; value?: string; effect: string }[];
    if (!taints.filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute").every((t) => tolerates(pod, t))) continue;
    const selectorOk = Object.entries(pod.nodeSelector ?? {}).every(([k, v]) =>
      labels[k] !== undefined ? labels[k] === v : requirements.some((r) => r.key === k) && admittedValues(requirements, k, [v]).includes(v));
    if (!selectorOk) continue;
    const limit = Number(np.spec?.limits?.nodes);
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`NodePool ${np.metadata?.name}: spec.limits.nodes = ${JSON.stringify(np.spec?.limits?.nodes)}: the simulation needs a whole node limit`);
    pools.push({
      name: String(np.metadata?.name),
      weight: Number(np.spec?.weight ?? 0),
      capacityType: nodePoolCapacityType(requirements) === "spot" ? "spot" : "on-demand",
      domains: nodePoolSpreadValues(requirements),
      maxNodes: limit,
    });
  }
  return pools;
}

/** Capacity types the pod prefers (its preferred node affinity on the capacity-type label). */
function preferredCapacityTypes(pod: PodPlacement): string[] | undefined {
  const prefs = (pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) as Json[];
  const values = prefs.flatMap((p) => ((p.preference?.matchExpressions ?? []) as Json[])
    .filter((e) => e.key === karpenterCapacityTypeLabel && e.operator === "In").flatMap((e) => e.values as string[]));
  return values.length > 0 ? values : undefined;
}

/** Every order of the pools: descending weight, all permutations within equal weights. */
export function poolOrders(pools: readonly SimulatedPool[]): SimulatedPool[][] {
  const permutations = <T>(xs: readonly T[]): T[][] => xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  const weights = [...new Set(pools.map((p) => p.weight))].sort((a, b) => b - a);
  return weights.reduce<SimulatedPool[][]>((orders, w) => {
    const group = permutations(pools.filter((p) => p.weight === w));
    return orders.flatMap((o) => group.map((g) => [...o, ...g]));
  }, [[]]);
}

export type TieBreak = "preference" | "adverse";

export interface ScaleUpResult {
  /** Spot pods after n replicas were requested, index n (0..maxReplicas). */
  readonly spotPods: number[];
  /** Pods that could not be placed, by replica count. */
  readonly pendingPods: number[];
}

/** One scenario: a pool order and a scheduler tie-break, scaling from 0 to maxReplicas. */
export function simulateScaleUp(pools: readonly SimulatedPool[], order: readonly SimulatedPool[], pod: PodPlacement, maxReplicas: number, tieBreak: TieBreak): ScaleUpResult {
  const spread = (pod.topologySpreadConstraints ?? []).find((c) => c.topologyKey === capacitySpreadLabel && c.whenUnsatisfiable === "DoNotSchedule");
  const preferred = preferredCapacityTypes(pod);
  const counts = new Map<string, number>();
  const openPool = new Map<string, SimulatedPool>(); // value -> pool with a node there
  const nodesUsed = new Map<string, number>();
  const headroom = (p: SimulatedPool) => (nodesUsed.get(p.name) ?? 0) < p.maxNodes;
  const spotPods = [0];
  const pendingPods = [0];
  let pending = 0;
  const allDomains = [...new Set(pools.flatMap((p) => p.domains))];
  const typeRank = (type: string) => {
    if (tieBreak === "adverse") return type === "spot" ? 0 : 1;
    return preferred ? (preferred.includes(type) ? 0 : 1) : 0;
  };
  for (let n = 1; n <= maxReplicas; n++) {
    let allowed: string[];
    if (spread) {
      const reachable = allDomains.filter((d) => openPool.has(d) || pools.some((p) => p.domains.includes(d) && headroom(p)));
      const min = Math.min(...reachable.map((d) => counts.get(d) ?? 0));
      allowed = reachable.filter((d) => (counts.get(d) ?? 0) <= min + spread.maxSkew - 1);
    } else {
      allowed = allDomains;
    }
    // The scheduler: an existing node in an allowed value.
    const open = allowed.filter((d) => openPool.has(d))
      .sort((a, b) => typeRank(openPool.get(a)!.capacityType) - typeRank(openPool.get(b)!.capacityType) || (counts.get(a) ?? 0) - (counts.get(b) ?? 0) || Number(a) - Number(b));
    let placed = open[0];
    if (placed === undefined) {
      // Karpenter: preferences first, then relaxed; pools in the scenario's order.
      const passes = preferred ? [order.filter((p) => preferred.includes(p.capacityType)), order] : [order];
      search: for (const pass of passes) {
        for (const pool of pass) {
          if (!headroom(pool)) continue;
          const candidates = pool.domains.filter((d) => allowed.includes(d) && !openPool.has(d))
            .sort((a, b) => (counts.get(a) ?? 0) - (counts.get(b) ?? 0) || Number(a) - Number(b));
          if (candidates.length === 0) continue;
          placed = candidates[0]!;
          openPool.set(placed, pool);
          nodesUsed.set(pool.name, (nodesUsed.get(pool.name) ?? 0) + 1);
          break search;
        }
      }
    }
    if (placed === undefined) pending++;
    else counts.set(placed, (counts.get(placed) ?? 0) + 1);
    spotPods.push([...counts].filter(([d]) => openPool.get(d)?.capacityType === "spot").reduce((s, [, c]) => s + c, 0));
    pendingPods.push(pending);
  }
  return { spotPods, pendingPods };
}

export interface ShareRange {
  readonly replicas: number;
  /** Fewest and most spot pods over the scenarios. */
  readonly minSpot: number;
  readonly maxSpot: number;
  /** Most pods left pending over the scenarios. */
  readonly maxPending: number;
}

/** Spot pods at every replica count 1..maxReplicas over every pool order, with the given tie-breaks. */
export function spotShareRange(nodePools: readonly Json[], pod: PodPlacement, maxReplicas: number, tieBreaks: readonly TieBreak[]): ShareRange[] {
  const pools = poolsForPod(nodePools, pod);
  if (pools.length === 0) throw new Error(`no NodePool admits the pod (nodeSelector ${JSON.stringify(pod.nodeSelector ?? {})}): it never leaves the system nodes`);
  const runs = poolOrders(pools).flatMap((order) => tieBreaks.map((t) => simulateScaleUp(pools, order, pod, maxReplicas, t)));
  return Array.from({ length: maxReplicas }, (_, i) => {
    const n = i + 1;
    return {
      replicas: n,
      minSpot: Math.min(...runs.map((r) => r.spotPods[n]!)),
      maxSpot: Math.max(...runs.map((r) => r.spotPods[n]!)),
      maxPending: Math.max(...runs.map((r) => r.pendingPods[n]!)),
    };
  });
}

/** The pod template without the contract's spread and preference (class selector and toleration kept). */
export function withoutSpreadContract(pod: PodPlacement): PodPlacement {
  return { nodeSelector: pod.nodeSelector, tolerations: pod.tolerations };
}

export { workloadClassLabel };
