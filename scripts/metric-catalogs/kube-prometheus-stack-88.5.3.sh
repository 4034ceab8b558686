#!/bin/sh
# Regenerates the kube-state-metrics and node-exporter catalogs of kube-prometheus-stack 88.5.3.
# K, N, H: bare git dirs of kubernetes/kube-state-metrics, prometheus/node_exporter and
# prometheus-community/helm-charts; SHARED: the read-only ../shared/contracts/metrics.
set -eu
: "${K:?}" "${N:?}" "${H:?}"
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared/contracts/metrics}
python3 scripts/metric-catalogs/ksm.py "$K" v2.17.0 v2.20.0 "$SHARED/kube-state-metrics-2.17.0.json" contracts/metrics/kube-state-metrics-2.20.0.json \
  '{"subchart":"kube-state-metrics","subchart_version":"8.4.0","parent_chart":"kube-prometheus-stack","parent_chart_version":"88.5.3","enabled_by":["kubeStateMetrics.enabled"],"values_prefix":"kube-state-metrics","scraped_component":"kube-state-metrics ServiceMonitor (honorLabels: true)"}' \
  "$H" kube-state-metrics-8.4.0 kube-prometheus-stack-88.5.3
python3 scripts/metric-catalogs/node_exporter.py "$N" v1.9.1 v1.12.1 "$SHARED/node-exporter-1.9.1.json" contracts/metrics/node-exporter-1.12.1.json \
  '{"subchart":"prometheus-node-exporter","subchart_version":"4.56.1","parent_chart":"kube-prometheus-stack","parent_chart_version":"88.5.3","enabled_by":["nodeExporter.enabled"],"values_prefix":"prometheus-node-exporter","scraped_component":"node-exporter DaemonSet ServiceMonitor (job=\"node-exporter\")"}' \
  "$H" prometheus-node-exporter-4.56.1 kube-prometheus-stack-88.5.3
