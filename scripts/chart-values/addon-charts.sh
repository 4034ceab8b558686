#!/bin/sh
# Regenerates contracts/charts/<chart>-<version>.values-keys.json of the add-on charts other than
# kube-prometheus-stack (see kube-prometheus-stack-88.5.3.sh). R: a folder holding the charts' bare
# git dirs as <owner>+<name>/repo (e.g. from `git clone --bare`); the tags are the versions in
# lib/catalog/addons.ts (Fairwinds tags charts by commit: 5f478fce is stable/vpa 5.0.0).
set -eu
: "${R:?folder of <owner>+<name>/repo git dirs}"
cd "$(dirname "$0")/../.."
k=scripts/chart-values/keys.py
python3 $k contracts/charts/keda-2.20.2.values-keys.json keda 2.20.2 "=kedacore/charts@$R/kedacore+charts/repo:v2.20.2:keda/values.yaml"
python3 $k contracts/charts/vpa-5.0.0.values-keys.json vpa 5.0.0 "=FairwindsOps/charts@$R/FairwindsOps+charts/repo:5f478fce:stable/vpa/values.yaml"
python3 $k contracts/charts/prometheus-adapter-5.3.0.values-keys.json prometheus-adapter 5.3.0 "=prometheus-community/helm-charts@$R/prometheus-community+helm-charts/repo:prometheus-adapter-5.3.0:charts/prometheus-adapter/values.yaml"
python3 $k contracts/charts/metrics-server-3.13.1.values-keys.json metrics-server 3.13.1 "=kubernetes-sigs/metrics-server@$R/kubernetes-sigs+metrics-server/repo:metrics-server-helm-chart-3.13.1:charts/metrics-server/values.yaml"
python3 $k contracts/charts/karpenter-1.14.1.values-keys.json karpenter 1.14.1 "=aws/karpenter-provider-aws@$R/aws+karpenter-provider-aws/repo:v1.14.1:charts/karpenter/values.yaml"
