/**
 * Helm charts of the cluster add-ons, pinned. Upgrading one is a reviewed change of this table.
 *
 * There is no network where this program is planned, so nothing here is resolved at plan time:
 * every version below was chosen from the chart's published release line (the newest release we
 * could confirm as published when the table was written) and must be bumped deliberately, with the
 * chart's upgrade notes read and the values in components/clusterAddons.ts checked against the new
 * chart. `helm show values <repo>/<chart> --version <version>` is the reference for the values keys.
 */
export interface AddonChart {
  /** Chart reference: `oci://...` or a chart name in `repo`. */
  readonly chart: string;
  /** Repository URL for non-OCI charts. */
  readonly repo?: string;
  readonly version: string;
}

export const addonCharts = {
  /** Karpenter v1.14 (the CRD schemas in shared/schemas come from the same tag). */
  karpenter: { chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" },
  /**
   * metrics-server chart 3.13.1 (metrics-server 0.8.1; tag metrics-server-helm-chart-3.13.1 of
   * kubernetes-sigs/metrics-server, values.yaml unchanged from 3.13.0): resource metrics (CPU,
   * memory) for HPAs and the VPA recommender. metrics-server v0.9.0 is tagged but no chart ships it yet.
   */
  metricsServer: { chart: "metrics-server", repo: "https://kubernetes-sigs.github.io/metrics-server/", version: "3.13.1" },
  /**
   * KEDA 2.20.2: the chart is versioned like KEDA itself, and 2.20.2 is the tag the KEDA CRD schemas
   * in shared/schemas were copied from, so the ScaledObjects and ClusterTriggerAuthentications this
   * stack validates are exactly what this chart's CRDs accept.
   */
  keda: { chart: "keda", repo: "https://kedacore.github.io/charts", version: "2.20.2" },
  /**
   * Fairwinds' VPA chart (recommender, updater, admission controller), the maintained Helm packaging
   * of kubernetes/autoscaler's VPA (the upstream repository publishes manifests, not a chart release
   * line). 5.0.0 (FairwindsOps/charts 5f478fc, stable/vpa) ships VPA 1.7.1, the version of the VPA
   * CRD schema in shared/schemas; its CRD accepts `updateMode: InPlaceOrRecreate`, which is GA in VPA
   * 1.7 (no feature gate: the `InPlaceOrRecreate` gate was removed, and an unknown gate stops the
   * binary). Upgrading a running 4.x install: apply the chart's `crds/` first (Helm does not upgrade
   * CRDs; the chart's "Upgrading to >=5.0.0" note).
   */
  vpa: { chart: "vpa", repo: "https://charts.fairwinds.com/stable", version: "5.0.0" },
  /**
   * kube-prometheus-stack 88.5.3 (newest tag of prometheus-community/helm-charts read here,
   * 2026-08-21): prometheus-operator v0.93.1, Prometheus v3.14.0, Alertmanager, kube-state-metrics
   * 2.20.0 (chart 8.4.0), node-exporter 1.12.1 (chart 4.56.1) and Grafana from the grafana-community
   * chart 12.11.1 (Grafana 13.2.0). Moving from 78.2.1:
   * - the metric catalogs moved with it: ../shared/contracts/metrics has kube-state-metrics 2.20.0,
   *   node-exporter 1.12.1, Prometheus 3.14.0 and cAdvisor v0.53.0 (kubelet 1.35), built from their
   *   code at those tags (contracts/metrics/SOURCES.md);
   * - Grafana's admin credentials come from an existing Secret (`grafana.admin.existingSecret`);
   *   the chart no longer sets a default `grafana.adminPassword`;
   * - every values key set here is checked against the chart's and its subcharts' values.yaml and
   *   templates at those tags (contracts/charts/, test/chartValues.test.ts);
   * - the ServiceMonitor, PodMonitor and PrometheusRule CRDs the chart ships (operator v0.93.1,
   *   charts/crds/crds/) have the same schemas as the v0.93.0 ones in shared/schemas: the files differ
   *   only in the `operator.prometheus.io/version` annotation, so the validator keeps those.
   * Upgrading a running install: apply the chart's CRDs first (Helm does not upgrade CRDs).
   */
  kubePrometheusStack: { chart: "kube-prometheus-stack", repo: "https://prometheus-community.github.io/helm-charts", version: "88.5.3" },
  /**
   * prometheus-adapter 5.3.0 (adapter v0.12.0, as 4.13; 5.x removed the PodSecurityPolicy values this
   * stack never set): custom metrics API (custom.metrics.k8s.io) for HPA Pods metrics.
   */
  prometheusAdapter: { chart: "prometheus-adapter", repo: "https://prometheus-community.github.io/helm-charts", version: "5.3.0" },
  /**
   * External Secrets Operator 2.9.0 (chart and app v2.9.0, tag helm-chart-2.9.0 of
   * external-secrets/external-secrets): the ExternalSecret and ClusterSecretStore schemas in
   * shared/schemas/external-secrets are from the same release, so what the stack validates is what
   * the chart's CRDs (installed by the chart, `installCRDs`) accept. Values checked against the chart
   * at its tag (contracts/charts/external-secrets-2.9.0.values-keys.json).
   */
  externalSecrets: { chart: "external-secrets", repo: "https://charts.external-secrets.io", version: "2.9.0" },
  /**
   * cert-manager v1.21.1 (Jetstack's chart repository names versions with the `v`): the Certificate,
   * Issuer and ClusterIssuer schemas in shared/schemas/cert-manager are from the same tag. CRDs by the
   * chart (`crds.enabled`, kept on uninstall: `crds.keep`). Values checked against
   * deploy/charts/cert-manager at v1.21.1 (contracts/charts/cert-manager-v1.21.1.values-keys.json).
   */
  certManager: { chart: "cert-manager", repo: "https://charts.jetstack.io", version: "v1.21.1" },
  /**
   * Istio 1.30.3 (newest tag of the repository snapshot read here, 2026-07-13; istio.io lists
   * 1.30.4 of 2026-08-27, not read: bump with its values re-checked). Kubernetes: istioctl 1.30.3
   * requires at least 1.32 (MinK8SVersion, istioctl/pkg/install/k8sversion); Istio's support table
   * was only found for 1.29 (1.31-1.35, endoflife.date's copy), so 1.35 for 1.30 is assumed from
   * the one-minor-per-release pattern, not read. Three charts of one release, upgraded together: `base` (CRDs and
   * cluster roles), `istiod` (the control plane) and `cni` (the node agent that sets up the sidecars'
   * traffic redirection, so application pods need no NET_ADMIN init container and stay `restricted`).
   * Values checked against manifests/charts/{base,istio-control/istio-discovery,istio-cni} at the tag.
   */
  istioBase: { chart: "base", repo: "https://istio-release.storage.googleapis.com/charts", version: "1.30.3" },
  istiod: { chart: "istiod", repo: "https://istio-release.storage.googleapis.com/charts", version: "1.30.3" },
  istioCni: { chart: "cni", repo: "https://istio-release.storage.googleapis.com/charts", version: "1.30.3" },
} as const satisfies Record<string, AddonChart>;

/** An EKS managed add-on, pinned: its name, build, and the cluster versions that build was chosen for. */
export interface EksAddonPin {
  readonly name: string;
  /** `v<upstream>-eksbuild.<n>`: what `aws eks describe-addon-versions` lists. */
  readonly version: string;
  /** Kubernetes minor versions of the cluster this build is used with (the component refuses others). */
  readonly kubernetesVersions: readonly string[];
}

/**
 * EKS managed add-ons, pinned like the charts. A build must be listed for the cluster's version by
 * `aws eks describe-addon-versions --addon-name <name> --kubernetes-version <v>`; EKS refuses an
 * unsupported pair at `pulumi up` (CreateAddon fails, nothing else is half-applied: the
 * StorageClass waits for the add-on). Not resolvable here (no AWS API): chosen from the upstream
 * release line and bumped deliberately.
 */
export const eksAddons = {
  /**
   * aws-ebs-csi-driver v1.64.0 (kubernetes-sigs/aws-ebs-csi-driver tag v1.64.0, 2026-08-17; its IAM
   * example policy and parameters are read at that tag), first EKS build. `v1.64.0-eksbuild.1` is
   * found pinned beside `kube-proxy v1.35.3-eksbuild.18` for EKS 1.35 clusters in public
   * repositories (one Terraform test asserts them as "the reviewed Kubernetes 1.35 versions"; an
   * add-on's tags show it created 2026-08-20). Newer builds exist (v1.66.0-eksbuild.1 is AWS's
   * default for 1.36 per a public pin bump of 2026-09-21): move with the driver's policy re-read at
   * the new tag.
   */
  ebsCsiDriver: { name: "aws-ebs-csi-driver", version: "v1.64.0-eksbuild.1", kubernetesVersions: ["1.33", "1.34", "1.35"] },
} as const satisfies Record<string, EksAddonPin>;

/**
 * Container images this stack runs directly (not through a chart), pinned by tag like the charts, and
 * by digest where the tag's published digest was found in a real source (named next to it).
 * Same rule: chosen from the projects' published release lines, bumped deliberately.
 */
export const addonImages = {
  /**
   * PgBouncer 1.25.1 packaged by edoburu (Alpine, runs as uid 70); `-p0` is the packaging revision.
   * Digest as published for this tag, found pinned (`edoburu/pgbouncer:v1.25.1-p0@sha256:c7bfcaa2...`)
   * in the test scripts of github.com/fluxo-kt/aza-pg (e.g. scripts/test/test-pgbouncer-*.ts), which
   * pull it; not re-checked against Docker Hub from here (`crane digest docker.io/edoburu/pgbouncer:v1.25.1-p0`).
   */
  pgbouncer: "docker.io/edoburu/pgbouncer:v1.25.1-p0@sha256:c7bfcaa24de830e29588bb9ad1eb39cebaf07c27149e1974445899b695634bb4",
  /**
   * prometheus-community pgbouncer_exporter: pools, stats and config (max_client_conn) metrics. By tag
   * only: no published digest for v0.12.0 was found in any source reachable from here (never invented).
   */
  pgbouncerExporter: "quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.0",
} as const;
