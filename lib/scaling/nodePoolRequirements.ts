/**
 * Reading Karpenter NodePool node-selector requirements: which values of a label a pool admits, its
 * capacity type and the capacity-spread domains it owns. Pure; shared by the policy pack
 * (policies/lib.ts) and the spot-share simulation (./spotSimulation.ts).
 */
import { capacitySpreadDomains, capacitySpreadLabel, karpenterCapacityTypeLabel } from "../catalog/workloadClasses";
import type { CapacityType } from "./capacity";

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
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

