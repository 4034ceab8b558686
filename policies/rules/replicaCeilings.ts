import type { ResourceValidationPolicy } from "@pulumi/policy";
import { objectName, replicaBounds } from "../lib";

export interface ReplicaCeilingsConfig {
  /** Highest maxReplicas (HPA) or maxReplicaCount (KEDA) per service, keyed by the scale target's name. */
  serviceCeilings: Record<string, number>;
  /** Ceiling for any scaled workload, listed or not. */
  globalMaxReplicas: number;
}

/**
 * Runaway scaling guardrail: no HPA or ScaledObject may scale a service past the design's ceiling,
 * nor any workload past the global one, and minimums must not exceed maximums.
 */
export const replicaCeilings: ResourceValidationPolicy = {
  name: "replica-ceilings",
  description: "HPA maxReplicas and KEDA maxReplicaCount stay within the per-service and global ceilings; min <= max.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Lower the service's maxReplicas in `autoscaling:services` of the stack file, or, if the design's ceiling itself must change, raise it in the policy config (policies/config/<stack>.json) through a reviewed change.",
  configSchema: {
    properties: {
      serviceCeilings: { type: "object", additionalProperties: { type: "integer", minimum: 1 }, default: {} },
      globalMaxReplicas: { type: "integer", minimum: 1, default: 25 },
    },
  },
  validateResource: (args, reportViolation) => {
    const bounds = replicaBounds(args.type, args.props);
    if (!bounds) return;
    const config = args.getConfig<ReplicaCeilingsConfig>();
    const what = `${args.type.endsWith("ScaledObject") ? "ScaledObject" : "HPA"} ${objectName(args.props)}`;
    const ceiling = bounds.target !== undefined ? config.serviceCeilings[bounds.target] : undefined;
    if (ceiling !== undefined && bounds.max > ceiling) {
      reportViolation(`${what}: max replicas ${bounds.max} exceeds the ceiling of ${ceiling} for '${bounds.target}'`);
    }
    if (bounds.max > config.globalMaxReplicas) {
      reportViolation(`${what}: max replicas ${bounds.max} exceeds the global ceiling of ${config.globalMaxReplicas}`);
    }
    if (bounds.min > bounds.max) {
      reportViolation(`${what}: min replicas ${bounds.min} exceeds max replicas ${bounds.max}`);
    }
  },
};
