/**
 * Vertical Pod Autoscaler: recommender, updater and admission controller on the system nodes. The
 * stack's VPAs right-size the services that do not scale horizontally on the same resource.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaces } from "../../lib/catalog/cluster";
import { addonSizing, criticalPriorityClass, failer, helmRelease, k8sChildOptions, systemNodeSelector, type HelmAddonArgs } from "./shared";
import { addonContainerResources, chartResources } from "./workloadHygiene";

/** VPA in its own namespace (`dependsOn` should hold that Namespace). */
export type VpaArgs = HelmAddonArgs;

export class Vpa extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: VpaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:Vpa", name, {}, opts);
    const fail = failer("Vpa", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const sizing = addonSizing[args.environment];

    const release = helmRelease(name, "vpa", namespaces.vpa, {
      priorityClassName: criticalPriorityClass,
      recommender: {
        enabled: true,
        replicaCount: 1,
        nodeSelector: systemNodeSelector,
        extraArgs: { "pod-recommendation-min-cpu-millicores": 15, "pod-recommendation-min-memory-mb": 100 },
        resources: chartResources(addonContainerResources.vpaRecommender),
      },
      updater: {
        enabled: true,
        replicaCount: 1,
        nodeSelector: systemNodeSelector,
        resources: chartResources(addonContainerResources.vpaUpdater),
        // VPAs of this stack use InPlaceOrRecreate (resize without eviction where the kubelet can):
        // GA in VPA 1.7, no feature gate (the gate was removed; naming it stops the binary).
      },
      admissionController: {
        enabled: true,
        generateCertificate: true,
        replicaCount: sizing.controllerReplicas,
        nodeSelector: systemNodeSelector,
        resources: chartResources(addonContainerResources.vpaAdmissionController),
        certGen: { resources: chartResources(addonContainerResources.vpaCertGen) },
      },
    }, k8sChildOptions(this, args, ...(args.dependsOn ?? [])));
    this.release = release;
    this.registerOutputs({ release: release.name });
  }
}
