/**
 * metrics-server: the resource metrics (CPU, memory) the HPAs read, at a 15 s resolution so the
 * HPA's 60 s reaction budget holds (lib/scaling/responseTime.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { metricsServerResolutionSeconds } from "../../lib/scaling/responseTime";
import { addonContainerResources, chartResources } from "./workloadHygiene";
import { addonSizing, criticalPriorityClass, failer, helmRelease, k8sChildOptions, systemNodeSelector, type HelmAddonArgs } from "./shared";

/** metrics-server in kube-system. */
export type MetricsServerArgs = HelmAddonArgs;

export class MetricsServer extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:MetricsServer", name, {}, opts);
    const fail = failer("MetricsServer", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const sizing = addonSizing[args.environment];
    const prod = args.environment === "prod";

    const release = helmRelease(name, "metricsServer", "kube-system", {
      replicas: sizing.controllerReplicas,
      // The HPA's 60 s reaction budget: metrics-server resolution (15 s) + HPA sync (15 s) + scrape
      // (15 s) = 45 s. The chart's default args are spelled out so the resolution cannot drift.
      defaultArgs: [
        "--cert-dir=/tmp",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        `--metric-resolution=${metricsServerResolutionSeconds}s`,
      ],
      nodeSelector: systemNodeSelector,
      priorityClassName: criticalPriorityClass,
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      resources: chartResources(addonContainerResources.metricsServer),
    }, k8sChildOptions(this, args, ...(args.dependsOn ?? [])));
    this.release = release;
    this.registerOutputs({ release: release.name });
  }
}
