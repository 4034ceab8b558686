#!/bin/sh
# Regenerates contracts/charts/kube-prometheus-stack-88.5.3.values-keys.json.
# H, G: bare git dirs of prometheus-community/helm-charts and grafana-community/helm-charts
# (e.g. from `git clone --bare`); the tags are the chart and its Chart.yaml dependencies.
set -eu
: "${H:?git dir of prometheus-community/helm-charts}" "${G:?git dir of grafana-community/helm-charts}"
cd "$(dirname "$0")/../.."
python3 scripts/chart-values/keys.py contracts/charts/kube-prometheus-stack-88.5.3.values-keys.json kube-prometheus-stack 88.5.3 \
  "=prometheus-community/helm-charts@$H:kube-prometheus-stack-88.5.3:charts/kube-prometheus-stack/values.yaml" \
  "crds=prometheus-community/helm-charts@$H:kube-prometheus-stack-88.5.3:charts/kube-prometheus-stack/charts/crds/values.yaml" \
  "kube-state-metrics=prometheus-community/helm-charts@$H:kube-state-metrics-8.4.0:charts/kube-state-metrics/values.yaml" \
  "prometheus-node-exporter=prometheus-community/helm-charts@$H:prometheus-node-exporter-4.56.1:charts/prometheus-node-exporter/values.yaml" \
  "grafana=grafana-community/helm-charts@$G:grafana-12.11.1:charts/grafana/values.yaml"
