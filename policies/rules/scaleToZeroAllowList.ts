import type { ResourceValidationPolicy } from "@pulumi/policy";
import { asNumber, hpaType, isMasked, known, objectName, scaledObjectType, UNKNOWN, type Props } from "../lib";

export interface ScaleToZeroAllowListConfig {
  /** Services (scale target names) that may scale to zero replicas. */
  allowedServices: string[];
}

export interface ReplicaFloor {
  /** "HPA ns/name" or "ScaledObject ns/name". */
  readonly what: string;
  /** The scale target's name (the service), if known. */
  readonly target: string | undefined;
  /** The fewest replicas the scaler may leave running. */
  readonly floor: number;
  /** Where the floor comes from, for messages: "min replicas 0", "idleReplicaCount 0". */
  readonly source: string;
}

/**
 * The replica floor of an HPA (minReplicas, default 1) or a KEDA ScaledObject (minReplicaCount,
 * default 0; `idleReplicaCount` lowers it while no trigger is active). Undefined for other
 * resources and when the floor cannot be judged (unknown during preview).
 */
export function replicaFloor(args: { type: string; props: Props; name: string }): ReplicaFloor | undefined {
  if (args.type !== hpaType && args.type !== scaledObjectType) return undefined;
  const hpa = args.type === hpaType;
  const fields = known(() => ({
    name: objectName(args.props),
    target: args.props.spec?.scaleTargetRef?.name,
    min: hpa ? args.props.spec?.minReplicas : args.props.spec?.minReplicaCount,
    idle: hpa ? undefined : args.props.spec?.idleReplicaCount,
  }));
  if (fields === UNKNOWN) return undefined;
  const min = fields.min === undefined || fields.min === null ? (hpa ? 1 : 0) : asNumber(fields.min);
  if (min === undefined) return undefined;
  const what = `${hpa ? "HPA" : "ScaledObject"} ${isMasked(fields.name) ? args.name : fields.name}`;
  const target = typeof fields.target === "string" && !isMasked(fields.target) ? fields.target : undefined;
  const idle = asNumber(fields.idle);
  if (idle !== undefined && idle < min) return { what, target, floor: idle, source: `idleReplicaCount ${idle}` };
  return { what, target, floor: min, source: `min replicas ${min}` };
}

/**
 * Scale to zero only where the design allows it: an HPA or ScaledObject may leave zero replicas
 * (minReplicas / minReplicaCount 0, KEDA's default, or idleReplicaCount 0) only for a service on
 * the allow-list. A service at zero answers its first request only after a cold start.
 */
export const scaleToZeroAllowList: ResourceValidationPolicy = {
  name: "scale-to-zero-allow-list",
  description: "HPA minReplicas / KEDA minReplicaCount (or idleReplicaCount) of 0 only for services on the scale-to-zero allow-list.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Give the service a minimum of at least 1 in `autoscaling:services` of the stack file (and set `minReplicaCount` explicitly: KEDA's default is 0), or, if it is meant to sleep, add it to `allowedServices` in policies/config/<stack>.json through a reviewed change.",
  configSchema: {
    properties: {
      allowedServices: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: ["file-processing", "automation"] },
    },
  },
  validateResource: (args, reportViolation) => {
    const floor = replicaFloor(args);
    if (!floor || floor.floor > 0) return;
    const { allowedServices } = args.getConfig<ScaleToZeroAllowListConfig>();
    if (floor.target === undefined) {
      const targetKnown = known(() => args.props.spec?.scaleTargetRef?.name as unknown);
      if (targetKnown === UNKNOWN || isMasked(targetKnown)) return; // cannot judge
      reportViolation(`${floor.what}: ${floor.source} (scale to zero) without a scale target name, so it cannot be on the scale-to-zero allow-list`);
      return;
    }
    if (!allowedServices.includes(floor.target)) {
      const list = allowedServices.length > 0 ? allowedServices.join(", ") : "empty";
      reportViolation(`${floor.what}: ${floor.source} (scale to zero) but '${floor.target}' is not on the scale-to-zero allow-list (${list})`);
    }
  },
};
