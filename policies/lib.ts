/**
 * Small helpers shared by the policies: reading Kubernetes objects out of resource props, reading
 * values that may not be known (preview unknowns, masked secrets), reading capacity out of Karpenter
 * NodePools and EKS managed node groups, and describing resources in violation messages.
 * Side-effect free.
 */
import { UnknownValueError, type PolicyResource, type ResourceValidationArgs } from "@pulumi/policy";
import { workloadClassLabel } from "../lib/catalog/workloadClasses";
import { isUnknownMarker, maskedSecret, unknownMarker } from "../lib/policy/wire";
import type { CapacityType } from "../lib/scaling/capacity";
import {
  admittedValues,
  nodePoolCapacityType,
  nodePoolSpreadValues,
  type NodeSelectorRequirement,
} from "../lib/scaling/nodePoolRequirements";

export { admittedValues, nodePoolCapacityType, nodePoolSpreadValues, type NodeSelectorRequirement };

export type Props = Record<string, any>;

/** Kubernetes kind of a resource, whether typed (`kubernetes:autoscaling/v2:HorizontalPodAutoscaler`) or a CustomResource. */
export function kubernetesKind(type: string): string | undefined {
  if (!type.startsWith("kubernetes:")) return undefined;
  return type.split(":").pop();
}

export function isKind(args: { type: string }, apiGroupVersion: string, kind: string): boolean {
  return args.type === `kubernetes:${apiGroupVersion}:${kind}`;
}

export const hpaType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
export const scaledObjectType = "kubernetes:keda.sh/v1alpha1:ScaledObject";
export const vpaType = "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler";
export const pdbType = "kubernetes:policy/v1:PodDisruptionBudget";
export const nodePoolType = "kubernetes:karpenter.sh/v1:NodePool";
export const nodeClassType = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass";
export const deploymentType = "kubernetes:apps/v1:Deployment";
/** Pulumi type of an EKS managed node group (`aws.eks.NodeGroup`). */
export const managedNodeGroupType = "aws:eks/nodeGroup:NodeGroup";

/** `namespace/name` of a Kubernetes object's props. */
export function objectName(props: Props): string {
  const m = props.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : String(m.name);
}

/** Replica bounds of an HPA or a KEDA ScaledObject, whichever `props` is. */
export function replicaBounds(type: string, props: Props): { min: number; max: number; target?: string } | undefined {
  if (type === hpaType) return { min: props.spec?.minReplicas ?? 1, max: props.spec?.maxReplicas, target: props.spec?.scaleTargetRef?.name };
  if (type === scaledObjectType) return { min: props.spec?.minReplicaCount ?? 0, max: props.spec?.maxReplicaCount ?? 100, target: props.spec?.scaleTargetRef?.name };
  return undefined;
}

export type ValidationArgs = Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">;

// ---------------------------------------------------------------------------------------------
// Values that cannot be judged: preview unknowns (the analyzer's proxy throws UnknownValueError when
// one is read; the offline plan records `{ __pulumiUnknown: true }`) and masked secrets (`[secret]`).
// Two families of readers: `known` / `knownShallow` take a getter and keep masked strings (the
// capacity and budget policies check them with `isMasked`); `peek` / `peekList` take a path and
// treat a masked secret as unknown.
// ---------------------------------------------------------------------------------------------

/** A value that cannot be judged: unknown during preview, or masked (`[secret]`) in an offline plan. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

const maskedValue = maskedSecret;

/** Whether `value` is a masked secret (`"[secret]"`, as an offline plan records it). */
export const isMasked = (value: unknown): boolean => value === maskedValue;


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
export function knownShallow<T>(get: () => T): T | Unknown {
  try {
    const value = get();
    return isUnknownMarker(value) ? UNKNOWN : value;
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

/** Whether `v` cannot be judged: UNKNOWN, a masked secret or the offline plan's unknown marker. */
export const isUnknown = (v: unknown): boolean => v === UNKNOWN || isMasked(v) || isUnknownMarker(v);

/** `value[path[0]][path[1]]...`: undefined when absent, UNKNOWN when it cannot be judged. */
export function peek(value: unknown, ...path: (string | number)[]): unknown {
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
export function peekList(value: unknown, ...path: (string | number)[]): unknown[] | Unknown | undefined {
  const list = peek(value, ...path);
  if (list === UNKNOWN) return UNKNOWN;
  return Array.isArray(list) ? Array.from({ length: list.length }, (_, i) => peek(list, i)) : undefined;
}

/**
 * Whether `from.props[prop]` refers to `to`: by the engine's property dependencies (during a preview a
 * new resource's id is unknown, but the dependency is recorded, as it is at an update), else by value
 * against `to`'s ids (its physical names in `ids`, its `id` output, its logical name). No guess at the
 * mocks' stand-in ids: the engine's property dependencies decide. UNKNOWN when it cannot be told.
 */
export function refersTo(from: PolicyResource, prop: string, to: PolicyResource, ids: unknown[]): boolean | Unknown {
  const deps = from.propertyDependencies?.[prop] ?? [];
  if (deps.some((d) => d.urn === to.urn)) return true;
  const value = peek(from.props, prop);
  if (value === UNKNOWN) return deps.length > 0 ? false : UNKNOWN;
  const candidates = [...ids, peek(to.props, "id"), to.name].filter((v) => typeof v === "string" && v !== "");
  return typeof value === "string" && candidates.includes(value);
}

/**
 * A plain copy of props read through the analyzer's unknown-checking proxy: every field that is
 * unknown during the preview becomes the plan's marker `{ __pulumiUnknown: true }` instead of
 * throwing, so code that is not a policy (the cost model) can read it and say what it cannot decide.
 */
export function plainProps(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  const read = (get: () => unknown): unknown => {
    try {
      return plainProps(get());
    } catch (e) {
      if (isUnknownValueError(e)) return { ...unknownMarker };
      throw e;
    }
  };
  if (Array.isArray(value)) return Array.from({ length: value.length }, (_, i) => read(() => value[i]));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = read(() => (value as Record<string, unknown>)[key]);
  return out;
}

/** Set, or to be set by an output not known yet (which is a value being present). */
export const isSet = (v: unknown) => v === UNKNOWN || (v !== undefined && v !== null && v !== "");

/** A (peeked) value for violation messages: "not set" when absent, else its JSON. */
export const show = (v: unknown) => (v === undefined ? "not set" : JSON.stringify(v));

/** A number from a number or a numeric string (`"4"`); undefined for anything else (absent, masked, unknown). */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading capacity out of NodePools and managed node groups. Shared by the capacity policies
// (spot-share-by-workload-class, no-stateful-workloads-on-spot, spot-diversification,
// node-count-ceiling). The pure requirement readers live in lib/scaling/nodePoolRequirements.ts.
// ---------------------------------------------------------------------------------------------

/** `spec.template.spec.requirements` of a NodePool, or UNKNOWN. */
export function nodePoolRequirements(props: Props): NodeSelectorRequirement[] | Unknown {
  const reqs = known(() => props.spec?.template?.spec?.requirements as unknown);
  if (reqs === UNKNOWN) return UNKNOWN;
  if (!Array.isArray(reqs)) return [];
  if (reqs.some((r) => typeof r?.key !== "string" || typeof r?.operator !== "string" || isMasked(r.key))) return UNKNOWN;
  return reqs as NodeSelectorRequirement[];
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
