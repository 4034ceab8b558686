/**
 * Workload classes: every node and every workload belongs to exactly one. The class decides which
 * capacity a pod may land on, and so how much of it may be spot capacity.
 */
export const workloadClasses = ["system", "api", "batch", "data"] as const;
export type WorkloadClass = (typeof workloadClasses)[number];

/** Classes whose nodes Karpenter provisions (system nodes are a managed node group Karpenter runs on). */
export const karpenterWorkloadClasses = ["api", "batch", "data"] as const;
export type KarpenterWorkloadClass = (typeof karpenterWorkloadClasses)[number];

/** Node label and taint key that carries the class (`pyairtable.io/workload-class=api:NoSchedule`). */
export const workloadClassLabel = "pyairtable.io/workload-class";

/**
 * Node label used to split one class over spot and on-demand NodePools in a fixed ratio: the class's
 * pods spread evenly (topologySpreadConstraints, maxSkew 1) over the label's ten values, and spot
 * NodePools own `spotPercent / 10` of them. This is the pattern of the Karpenter blueprints
 * ("split between On-Demand and Spot"); it makes the share a property of the manifests that the
 * policy pack can check.
 */
export const capacitySpreadLabel = "pyairtable.io/capacity-spread";
export const capacitySpreadDomains = 10;

/** Standard capacity-type label set by Karpenter on every node it launches. */
export const karpenterCapacityTypeLabel = "karpenter.sh/capacity-type";
