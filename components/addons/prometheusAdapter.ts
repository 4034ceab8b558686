/**
 * prometheus-adapter: serves the custom metrics the HPAs scale on (requests per second, p95 latency,
 * DB connections, PgBouncer client-slot utilisation) from Prometheus. Resource metrics stay with
 * metrics-server.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { customMetricNames, namespaces, prometheusUrl } from "../../lib/catalog/cluster";
import { addonCustomMetricNames, applicationMetrics, pgbouncerExporterMetrics } from "../../lib/monitoring/metricNames";
import { addonContainerResources, chartResources } from "./workloadHygiene";
import { addonSizing, criticalPriorityClass, failer, helmRelease, k8sChildOptions, systemNodeSelector, type HelmAddonArgs } from "./shared";

/** prometheus-adapter in the monitoring namespace (`dependsOn` should hold kube-prometheus-stack). */
export type PrometheusAdapterArgs = HelmAddonArgs;

export class PrometheusAdapter extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: PrometheusAdapterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:PrometheusAdapter", name, {}, opts);
    const fail = failer("PrometheusAdapter", name);
    if (args.environment !== "prod" && args.environment !== "dev") fail(`environment = ${JSON.stringify(args.environment)}: must be prod or dev`);
    const sizing = addonSizing[args.environment];
    const prod = args.environment === "prod";
    const adapterUrl = new URL(prometheusUrl);

    const release = helmRelease(name, "prometheusAdapter", namespaces.monitoring, {
      prometheus: { url: `${adapterUrl.protocol}//${adapterUrl.hostname}`, port: Number(adapterUrl.port), path: "" },
      replicas: sizing.controllerReplicas,
      priorityClassName: criticalPriorityClass,
      nodeSelector: systemNodeSelector,
      podDisruptionBudget: { enabled: prod, maxUnavailable: 1 },
      // Only the custom metrics below: resource metrics stay with metrics-server.
      rules: { default: false, custom: adapterCustomRules(), external: [] },
      resources: chartResources(addonContainerResources.prometheusAdapter),
    }, k8sChildOptions(this, args, ...(args.dependsOn ?? [])));
    this.release = release;
    this.registerOutputs({ release: release.name });
  }
}

/** The adapter's custom-metric rules (per pod, from series scraped with namespace and pod labels). */
export function adapterCustomRules() {
  const resources = { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } };
  const seriesOf = (metric: string) => `${metric}{namespace!="",pod!=""}`;
  const pgb = pgbouncerExporterMetrics;
  return [
    {
      // Requests per second per pod over the last minute (4 samples at the 15 s scrape interval).
      seriesQuery: seriesOf(applicationMetrics.httpRequestsTotal),
      resources,
      name: { matches: `^${applicationMetrics.httpRequestsTotal}$`, as: customMetricNames.requestsPerSecond },
      metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
    },
    {
      // p95 latency per pod, seconds (an HPA target of 500 ms is the quantity "500m").
      seriesQuery: seriesOf(`${applicationMetrics.httpRequestDurationSeconds}_bucket`),
      resources,
      name: { matches: `^${applicationMetrics.httpRequestDurationSeconds}_bucket$`, as: customMetricNames.latencyP95 },
      metricsQuery: "histogram_quantile(0.95, sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (le, <<.GroupBy>>))",
    },
    {
      seriesQuery: seriesOf(applicationMetrics.dbConnectionsInUse),
      resources,
      name: { matches: `^${applicationMetrics.dbConnectionsInUse}$`, as: customMetricNames.dbConnections },
      metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    },
    {
      // PgBouncer client-slot utilisation per pod (0-1): clients (active + waiting, the admin console
      // excluded) over max_client_conn. Zero, not absent, before the first client connects.
      seriesQuery: seriesOf(pgb.maxClientConnections),
      resources,
      name: { matches: `^${pgb.maxClientConnections}$`, as: addonCustomMetricNames.pgbouncerClientConnectionUtilisation },
      metricsQuery:
        `(sum by (<<.GroupBy>>) (${pgb.clientActiveConnections}{<<.LabelMatchers>>,database!="pgbouncer"})` +
        ` + sum by (<<.GroupBy>>) (${pgb.clientWaitingConnections}{<<.LabelMatchers>>,database!="pgbouncer"})` +
        ` or 0 * max by (<<.GroupBy>>) (${pgb.maxClientConnections}{<<.LabelMatchers>>}))` +
        ` / max by (<<.GroupBy>>) (${pgb.maxClientConnections}{<<.LabelMatchers>>})`,
    },
  ];
}
