import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { serviceCatalog, type ServiceDefinition } from "../lib/catalog/services";
import type { ScheduleSettings, ServiceReplicaSettings, WorkloadSettings } from "../lib/config/settings";
import { scalingObjectsFor, validateServiceScaling, type EventSources } from "../lib/scaling/workloads";

export interface WorkloadScalingArgs {
  environment: "prod" | "dev";
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** Replica range per catalog service (from `autoscaling:services`). */
  ranges: ServiceReplicaSettings;
  /** Business hours, time zone and off-hours scale-to-zero. */
  schedules: ScheduleSettings;
  workloads: WorkloadSettings;
  /** Event sources the KEDA triggers read (Redis, MSK, SQS). */
  sources: EventSources;
  /** The services to scale. Default: the whole catalog. */
  services?: readonly ServiceDefinition[];
  /** The add-ons whose CRDs and controllers these objects need (KEDA, VPA). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The scaling objects of every catalog service: an HPA or a KEDA ScaledObject with the design's
 * ranges, signals and response times, a VPA that never acts on what the horizontal scaler uses, and
 * a PodDisruptionBudget. The objects are built by lib/scaling/workloads.ts (pure, tested).
 */
export class WorkloadScaling extends pulumi.ComponentResource {
  /** Names of the scaled services. */
  public readonly serviceNames: string[];

  constructor(name: string, args: WorkloadScalingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:workloads:WorkloadScaling", name, {}, opts);
    const services = args.services ?? serviceCatalog;
    // Check every service before creating any object: one bad entry must not half-apply the rest.
    for (const service of services) {
      const range = args.ranges[service.name];
      if (!range) throw new Error(`service '${service.name}': autoscaling:services.${service.name} is missing: every scaled service needs a replica range`);
      validateServiceScaling(service, range);
    }
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: args.dependsOn };

    for (const service of services) {
      const objects = scalingObjectsFor(service, {
        environment: args.environment,
        range: args.ranges[service.name]!,
        schedules: args.schedules,
        workloads: args.workloads,
        sources: args.sources,
      });
      if (objects.scaler.kind === "HorizontalPodAutoscaler") {
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-${service.name}-hpa`, {
          metadata: objects.scaler.metadata,
          spec: objects.scaler.spec as k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec,
        }, childOpts);
      } else {
        new k8s.apiextensions.CustomResource(`${name}-${service.name}-scaledobject`, objects.scaler, childOpts);
      }
      new k8s.apiextensions.CustomResource(`${name}-${service.name}-vpa`, objects.vpa, childOpts);
      new k8s.policy.v1.PodDisruptionBudget(`${name}-${service.name}-pdb`, { metadata: objects.pdb.metadata, spec: objects.pdb.spec }, childOpts);
    }

    this.serviceNames = services.map((s) => s.name);
    this.registerOutputs({ serviceNames: this.serviceNames });
  }
}
