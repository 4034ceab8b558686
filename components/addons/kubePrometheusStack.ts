/**
 * kube-prometheus-stack: Prometheus (15 s scrapes, retention and volumes per environment),
 * Alertmanager (configured from the Monitoring component's Secret), kube-state-metrics (VPA
 * recommendations, node labels), node-exporter and the Prometheus Operator CRDs everything else's
 * ServiceMonitors and PrometheusRules need.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaces } from "../../lib/catalog/cluster";
import { workloadClassLabel } from "../../lib/catalog/workloadClasses";
import type { Environment } from "../../lib/config/settings";
import { prometheusScrapeIntervalSeconds } from "../../lib/scaling/responseTime";
import { monitoringChartValues } from "../monitoring";
import { GRAFANA_PROMETHEUS_DATASOURCE } from "../../lib/monitoring/dashboards/model";
import { addonContainerResources as res, chartResources, prometheusResources, restrictedContainerSecurityContext } from "./workloadHygiene";
import { addonSizing, alertmanagerConfigSecretName, criticalPriorityClass, failer, helmRelease, helmReleaseNames, k8sChildOptions, mergeValues, systemNodeSelector, type HelmAddonArgs } from "./shared";

const storageClassPattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface KubePrometheusStackArgs extends HelmAddonArgs {
  /** EKS cluster name: Prometheus's `cluster` external label. */
  clusterName: string;
  /**
   * StorageClass of the Prometheus and Alertmanager volumes. Default: the cluster's default class
   * (ClusterAddons passes `gp3`, the encrypted class of the EBS CSI driver it creates).
   */
  storageClassName?: string;
}

export class KubePrometheusStack extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: KubePrometheusStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:KubePrometheusStack", name, {}, opts);
    const fail = failer("KubePrometheusStack", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    if (args.storageClassName !== undefined && !storageClassPattern.test(args.storageClassName)) {
      fail(`storageClassName = ${JSON.stringify(args.storageClassName)}: must be a Kubernetes object name (lowercase letters, digits, '-' and '.')`);
    }
    // Values the Monitoring component's objects rely on (scrape selectors, Alertmanager Secret and
    // SMTP password mount, dashboard sidecar, KEDA metrics), merged over ours.
    const values = mergeValues(
      kubePrometheusStackValues(args.environment, args.clusterName, args.storageClassName),
      monitoringChartValues(alertmanagerConfigSecretName).kubePrometheusStack,
    );
    this.release = helmRelease(name, "kubePrometheusStack", namespaces.monitoring, values, k8sChildOptions(this, args, ...(args.dependsOn ?? [])), 1200);
    this.registerOutputs({ release: this.release.name });
  }
}

/** kube-state-metrics custom-resource-state config: `kube_customresource_vpa_containerrecommendations_target`. */
export const vpaCustomResourceStateConfig = {
  kind: "CustomResourceStateMetrics",
  spec: {
    resources: [{
      groupVersionKind: { group: "autoscaling.k8s.io", kind: "VerticalPodAutoscaler", version: "v1" },
      metricNamePrefix: "kube_customresource",
      labelsFromPath: {
        verticalpodautoscaler: ["metadata", "name"],
        namespace: ["metadata", "namespace"],
        target_api_version: ["spec", "targetRef", "apiVersion"],
        target_kind: ["spec", "targetRef", "kind"],
        target_name: ["spec", "targetRef", "name"],
      },
      metrics: (["cpu", "memory"] as const).map((resource) => ({
        name: "vpa_containerrecommendations_target",
        help: `VPA target ${resource} recommendation per container.`,
        commonLabels: { resource, unit: resource === "cpu" ? "core" : "byte" },
        each: {
          type: "Gauge",
          gauge: { path: ["status", "recommendation", "containerRecommendations"], valueFrom: ["target", resource], labelsFromPath: { container: ["containerName"] } },
        },
      })),
    }],
  },
};

/**
 * Grafana's admin credentials: a Secret in the monitoring namespace, rendered by External Secrets
 * from the Secrets Manager secret the stack generates (components/addons/externalSecrets.ts; the
 * Grafana pod and this release wait for it). Keys are the Grafana chart's
 * `admin.userKey`/`admin.passwordKey` defaults (grafana-community/helm-charts grafana-12.11.1 values.yaml).
 */
export const grafanaAdminSecret = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" } as const;

/** Node labels kube-state-metrics exports on `kube_node_labels` (dashboards group by them). */
export const nodeLabelsAllowlist = ["karpenter.sh/capacity-type", "node.kubernetes.io/instance-type", workloadClassLabel] as const;

/** kube-prometheus-stack values of an environment (before the Monitoring component's values are merged over them). */
export function kubePrometheusStackValues(env: Environment, clusterName: string, storageClassName: string | undefined) {
  const sizing = addonSizing[env];
  const prod = env === "prod";
  const critical = criticalPriorityClass;
  const volume = (gib: number) => ({
    volumeClaimTemplate: {
      spec: { ...(storageClassName ? { storageClassName } : {}), accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${gib}Gi` } } },
    },
  });
  return {
    // Pins the service names (prometheusUrl) whatever the release is called.
    fullnameOverride: helmReleaseNames.kubePrometheusStack,
    crds: { enabled: true },
    defaultRules: { create: true },
    // EKS runs these on the managed control plane, where they cannot be scraped: no "down" alerts.
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    // EKS's kube-proxy listens for metrics on 127.0.0.1 only.
    kubeProxy: { enabled: false },
    prometheusOperator: {
      nodeSelector: systemNodeSelector,
      // Both certificate Jobs of the webhook (create and patch) read `patch.resources`.
      admissionWebhooks: { patch: { nodeSelector: systemNodeSelector, resources: chartResources(res.admissionWebhookJob) } },
      resources: chartResources(res.prometheusOperator),
      // Passed to the operator as --config-reloader-{cpu,memory}-{request,limit}: the reloader
      // sidecar and init container of every Prometheus and Alertmanager pod.
      prometheusConfigReloader: { resources: chartResources(res.configReloader) },
    },
    prometheus: {
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      prometheusSpec: {
        // 15 s scrape and rule evaluation: part of the HPA's 60 s reaction budget.
        scrapeInterval: `${prometheusScrapeIntervalSeconds}s`,
        evaluationInterval: `${prometheusScrapeIntervalSeconds}s`,
        retention: sizing.prometheus.retention,
        retentionSize: sizing.prometheus.retentionSize,
        replicas: sizing.prometheus.replicas,
        storageSpec: volume(sizing.prometheus.storageGiB),
        // Select every ServiceMonitor, PodMonitor, PrometheusRule, Probe and ScrapeConfig in every
        // namespace, not only those labelled for this Helm release.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        externalLabels: { cluster: clusterName, environment: env },
        nodeSelector: systemNodeSelector,
        priorityClassName: critical,
        resources: chartResources(prometheusResources[env]),
      },
    },
    alertmanager: {
      podDisruptionBudget: { enabled: prod, minAvailable: 1 },
      alertmanagerSpec: {
        // Receivers (Slack webhook, e-mail) live in a Secret the Monitoring component creates.
        useExistingSecret: true,
        configSecret: alertmanagerConfigSecretName,
        replicas: sizing.alertmanager.replicas,
        retention: "120h",
        storage: volume(sizing.alertmanager.storageGiB),
        nodeSelector: systemNodeSelector,
        priorityClassName: critical,
        resources: chartResources(res.alertmanager),
      },
    },
    grafana: {
      // Admin credentials from a Secret created out of band (see grafanaAdminSecret): no password in
      // values, stack config or Pulumi state. kube-prometheus-stack 88 (Grafana chart 12.11.1 from
      // grafana-community) no longer sets a default adminPassword; this keeps the chart from
      // generating its own admin Secret at all.
      admin: { existingSecret: grafanaAdminSecret.name, userKey: grafanaAdminSecret.userKey, passwordKey: grafanaAdminSecret.passwordKey },
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      persistence: { enabled: false },
      resources: chartResources(res.grafana),
      // Read-only root filesystem: Grafana writes only to /var/lib/grafana (the chart's storage
      // emptyDir), logs to the console (grafana.ini log.mode), and temporary files to /tmp.
      containerSecurityContext: restrictedContainerSecurityContext,
      extraEmptyDirMounts: [{ name: "tmp", mountPath: "/tmp" }],
      sidecar: {
        resources: chartResources(res.grafanaSidecar),
        securityContext: restrictedContainerSecurityContext,
        // Dashboards are ConfigMaps labelled grafana_dashboard: "1" in any namespace.
        dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" },
        // The Prometheus data source the dashboards' datasource variable starts on (named, not the chart's implicit default).
        datasources: { enabled: true, name: GRAFANA_PROMETHEUS_DATASOURCE.name, uid: GRAFANA_PROMETHEUS_DATASOURCE.uid },
      },
    },
    "kube-state-metrics": {
      // kube_node_labels carries these: spot share, instance mix and workload class per node.
      metricLabelsAllowlist: [`nodes=[${nodeLabelsAllowlist.join(",")}]`],
      customResourceState: { enabled: true, config: vpaCustomResourceStateConfig },
      rbac: { extraRules: [{ apiGroups: ["autoscaling.k8s.io"], resources: ["verticalpodautoscalers"], verbs: ["list", "watch"] }] },
      nodeSelector: systemNodeSelector,
      priorityClassName: critical,
      resources: chartResources(res.kubeStateMetrics),
    },
    "prometheus-node-exporter": {
      // Its own namespace (Pod Security privileged: host PID and network, hostPath): monitoring
      // stays restricted. Everything the chart lets us tighten is tightened.
      namespaceOverride: namespaces.nodeExporter,
      resources: chartResources(res.nodeExporter),
      containerSecurityContext: restrictedContainerSecurityContext,
      // Every node, tainted workload-class nodes included.
      priorityClassName: "system-node-critical",
      tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
    },
  };
}
