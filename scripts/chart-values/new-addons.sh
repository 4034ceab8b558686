#!/bin/sh
# Regenerates the values keys of the charts issue 19 added (External Secrets, cert-manager, Istio).
# E, C, I: git dirs of external-secrets/external-secrets, cert-manager/cert-manager and istio/istio
# (e.g. `git clone --bare`); the tags are the pinned chart versions of lib/catalog/addons.ts.
set -eu
# Pod-spec maps the charts pass through whole: free-form, whatever example values.yaml shows.
export OPEN_KEYS=nodeSelector,resources,podLabels,podAnnotations
: "${E:?git dir of external-secrets/external-secrets}" "${C:?git dir of cert-manager/cert-manager}" "${I:?git dir of istio/istio}"
cd "$(dirname "$0")/../.."
python3 scripts/chart-values/keys.py contracts/charts/external-secrets-2.9.0.values-keys.json external-secrets 2.9.0 \
  "=external-secrets/external-secrets@$E:helm-chart-2.9.0:deploy/charts/external-secrets/values.yaml"
python3 scripts/chart-values/keys.py contracts/charts/cert-manager-v1.21.1.values-keys.json cert-manager v1.21.1 \
  "=cert-manager/cert-manager@$C:v1.21.1:deploy/charts/cert-manager/values.yaml"
python3 scripts/chart-values/keys.py contracts/charts/base-1.30.3.values-keys.json base 1.30.3 \
  "=istio/istio@$I:1.30.3:manifests/charts/base/values.yaml"
python3 scripts/chart-values/keys.py contracts/charts/istiod-1.30.3.values-keys.json istiod 1.30.3 \
  "=istio/istio@$I:1.30.3:manifests/charts/istio-control/istio-discovery/values.yaml"
python3 scripts/chart-values/keys.py contracts/charts/cni-1.30.3.values-keys.json cni 1.30.3 \
  "=istio/istio@$I:1.30.3:manifests/charts/istio-cni/values.yaml"
