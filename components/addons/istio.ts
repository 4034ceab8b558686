/**
 * Istio for the sidecar mesh (`workloads.istioSidecars`): three Helm releases of one Istio version
 * (lib/catalog/addons.ts), installed in order - `base` (CRDs, cluster roles), `istiod` (control
 * plane, sidecar injector) in istio-system, and the `cni` node agent in kube-system.
 *
 * Why the CNI agent: without it every injected pod carries the `istio-init` container with
 * NET_ADMIN and NET_RAW to set up its traffic redirection, which Pod Security `restricted` (the
 * application namespaces' level) refuses. The agent does that from the node instead; istiod is told
 * so (`cni.enabled`) and injects only the unprivileged validation container. The agent is
 * privileged (host network, host paths for the CNI binary and config): it runs in kube-system with
 * the other node agents, so istio-system keeps `restricted` (lib/k8s/podSecurity.ts; the agent's
 * exception is `kubeSystemChartExceptions` there).
 *
 * The application namespaces get the `istio-injection=enabled` label (components/addons/namespaces.ts)
 * and NetworkPolicies that let the sidecars reach istiod (lib/k8s/networkPolicies.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaces } from "../../lib/catalog/cluster";
import { istioSidecarResources } from "./quotas";
import { addonContainerResources as res, chartResources, istiodMaxReplicas } from "./workloadHygiene";
import { addonSizing, criticalPriorityClass, helmRelease, resourcesOf, systemNodeSelector, type HelmAddonArgs } from "./shared";

/** Namespace of the CNI node agent (with the cluster's other node agents). */
export const istioCniNamespace = "kube-system";

export interface IstioArgs extends HelmAddonArgs {
  /** The `istio-system` Namespace (ClusterNamespaces: Pod Security, NetworkPolicies, quota). */
  namespace: pulumi.Resource;
}

export class Istio extends pulumi.ComponentResource {
  public readonly base: k8s.helm.v3.Release;
  public readonly istiod: k8s.helm.v3.Release;
  public readonly cni: k8s.helm.v3.Release;

  constructor(name: string, args: IstioArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:Istio", name, {}, opts);
    const k8sOpts = (...deps: pulumi.Input<pulumi.Resource>[]) => ({ parent: this, provider: args.provider, ...(deps.length ? { dependsOn: deps } : {}) });
    const values = istioValues(args.environment);
    this.base = helmRelease(name, "istioBase", namespaces.istio, values.base, k8sOpts(args.namespace, ...(args.dependsOn ?? [])));
    // The node agent before istiod: a pod injected for CNI mode must find the agent on its node.
    this.cni = helmRelease(name, "istioCni", istioCniNamespace, values.cni, k8sOpts(this.base, ...(args.dependsOn ?? [])));
    this.istiod = helmRelease(name, "istiod", namespaces.istio, values.istiod, k8sOpts(this.base, this.cni, args.namespace));
    this.registerOutputs({});
  }
}

/** Values of the three charts (checked against each chart at its tag: contracts/charts/{base,istiod,cni}-<version>.values-keys.json). */
export function istioValues(environment: "prod" | "dev") {
  const sizing = addonSizing[environment];
  const prod = environment === "prod";
  return {
    base: { defaultRevision: "default" },
    istiod: {
      // Sidecars' traffic redirection is set up by the CNI node agent, not an init container.
      cni: { enabled: true },
      autoscaleEnabled: prod,
      autoscaleMin: sizing.controllerReplicas,
      autoscaleMax: istiodMaxReplicas[environment],
      replicaCount: sizing.controllerReplicas,
      nodeSelector: systemNodeSelector,
      resources: chartResources(res.istiod),
      // Pod Security `restricted` (istio-system and the application namespaces) requires a seccomp
      // profile; the chart's templates set one only when asked (deployment.yaml, injection-template.yaml).
      seccompProfile: { type: "RuntimeDefault" },
      global: {
        priorityClassName: criticalPriorityClass,
        logAsJson: true,
        defaultPodDisruptionBudget: { enabled: prod },
        proxy: {
          // The sidecar's own requests: the namespace quotas count them (requiredNamespaceCapacity).
          resources: resourcesOf(istioSidecarResources),
          privileged: false,
          seccompProfile: { type: "RuntimeDefault" },
        },
      },
    },
    cni: {
      // EKS's VPC CNI writes its conflist to the standard paths; the Istio plugin chains onto it.
      cniBinDir: "/opt/cni/bin",
      cniConfDir: "/etc/cni/net.d",
      chained: true,
      excludeNamespaces: ["kube-system", namespaces.istio],
      resources: chartResources(res.istioCni),
      // The agent is root with NET_ADMIN, NET_RAW, SYS_ADMIN, SYS_PTRACE and DAC_OVERRIDE in the host
      // network (hard-coded in the chart: it rewrites the node's pod networking), so it is a listed
      // exception (lib/k8s/podSecurity.ts kubeSystemChartExceptions); the seccomp profile is the one
      // restricted setting its template takes.
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}
