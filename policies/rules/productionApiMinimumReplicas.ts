import type { ResourceValidationPolicy } from "@pulumi/policy";
import { replicaFloor } from "./scaleToZeroAllowList";

export interface ProductionApiMinimumReplicasConfig {
  /** Services (scale target names) on the public API path. */
  services: string[];
  /** Fewest replicas each of them keeps. */
  minimumReplicas: number;
}

/**
 * The public API path stays redundant: every HPA or ScaledObject scaling one of the listed services
 * keeps at least `minimumReplicas` replicas, so one pod's loss (a spot interruption, a drain) never
 * takes the API down.
 */
export const productionApiMinimumReplicas: ResourceValidationPolicy = {
  name: "production-api-minimum-replicas",
  description: "HPAs and ScaledObjects of the public API path's services keep at least the minimum replica count.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Raise the service's minReplicas in `autoscaling:services` of the stack file to at least the minimum (and give a ScaledObject no idleReplicaCount below it).",
  configSchema: {
    properties: {
      services: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: ["api-gateway", "platform-services"] },
      minimumReplicas: { type: "integer", minimum: 1, default: 2 },
    },
  },
  validateResource: (args, reportViolation) => {
    const floor = replicaFloor(args);
    if (!floor || floor.target === undefined) return;
    const { services, minimumReplicas } = args.getConfig<ProductionApiMinimumReplicasConfig>();
    if (services.includes(floor.target) && floor.floor < minimumReplicas) {
      reportViolation(`${floor.what}: ${floor.source} is below the minimum of ${minimumReplicas} for '${floor.target}' (public API path)`);
    }
  },
};
