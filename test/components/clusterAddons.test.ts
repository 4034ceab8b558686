import assert from "node:assert/strict";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  adapterCustomRules,
  alertmanagerConfigSecretName,
  auroraMaxConnections,
  ClusterAddons,
  type ClusterAddonsArgs,
  containerBounds,
  containerDefaults,
  platformNamespaceQuota,
  type PlatformNamespace,
  cpuQuantity,
  customMetricNames,
  helmReleaseNames,
  kedaAuthParameters,
  kedaOperatorServiceAccount,
  memoryQuantity,
  namespaceQuotas,
  grafanaAdminSecret,
  nodeLabelsAllowlist,
  pgbouncer,
  pgbouncerServiceAddress,
  pgbouncerSizing,
  planPgBouncerPool,
  requiredNamespaceCapacity,
  systemNodeSelector,
} from "../../components/clusterAddons";
import { monitoringChartValues } from "../../components/monitoring";
import { mib, milli } from "../support/quotaCapacity";
import { addonCharts, addonImages } from "../../lib/catalog/addons";
import { loadChartValuesKeys, unknownValuesKeys, valuesLeafPaths } from "../../lib/catalog/chartValuesKeys";
import {
  applicationNamespaces,
  fileEventsQueueName,
  namespaces,
  priorityClasses,
  prometheusUrl,
  stackNamespaces,
  redisAuthSecret,
  triggerAuthentications,
} from "../../lib/catalog/cluster";
import { serviceCatalog } from "../../lib/catalog/services";
import { workloadClassLabel } from "../../lib/catalog/workloadClasses";
import { rawConfigFromStackFile, readStackFile } from "../../lib/config/load";
import { parseSettings, type PlatformSettings } from "../../lib/config/settings";
import { validateManifest } from "../../lib/k8s/schemaValidator";
import { addonCustomMetricNames, applicationMetrics } from "../../lib/monitoring/metricNames";
import { type PlannedResource, runUnderMocks } from "../../lib/plan/mockRuntime";
import { scalingBehavior } from "../../lib/scaling/responseTime";

const projectDir = path.resolve(__dirname, "../..");
const tokenPlaceholder = "plan-placeholder-redis-token-0000";
const secretPlaceholders = {
  "autoscaling:redisAuthToken": tokenPlaceholder,
  "autoscaling:slackWebhookUrl": "https://hooks.slack.invalid/services/PLAN",
  "autoscaling:alertEmail": "oncall@example.invalid",
};
type Stack = "prod" | "dev";

function settingsOf(stack: Stack): PlatformSettings {
  return parseSettings(stack, rawConfigFromStackFile(readStackFile(projectDir, stack), secretPlaceholders));
}

const account = "123456789012";
const issuer = "oidc.eks.us-east-1.amazonaws.com/id/PLAN";
const mskArn = (stack: Stack) => `arn:aws:kafka:us-east-1:${account}:cluster/pyairtable-${stack}-msk/0a1b2c3d-1111-2222-3333-444455556666-7`;
const writer = (stack: Stack) => `pyairtable-${stack}-database.cluster-abc.us-east-1.rds.amazonaws.com`;
const reader = (stack: Stack) => `pyairtable-${stack}-database.cluster-ro-abc.us-east-1.rds.amazonaws.com`;

/** Arguments as the Platform passes them; the provider is created inside the mock run. */
function argsFor(stack: Stack, provider: k8s.Provider, overrides: Partial<ClusterAddonsArgs> = {}): ClusterAddonsArgs {
  const s = settingsOf(stack);
  return {
    environment: s.environment,
    clusterName: s.cluster.name,
    provider,
    oidcProviderArn: `arn:aws:iam::${account}:oidc-provider/${issuer}`,
    oidcIssuer: issuer,
    region: "us-east-1",
    accountId: account,
    partition: "aws",
    // The plain placeholder, as settings hold it: the component must make it a secret itself.
    redis: { endpoint: `pyairtable-${stack}-redis.cache.amazonaws.com`, port: 6379, authToken: s.secrets.redisAuthToken },
    kafka: { clusterArn: mskArn(stack), bootstrapBrokersSaslIam: `b-1.pyairtable-${stack}-msk.kafka.us-east-1.amazonaws.com:9098` },
    database: { endpoint: writer(stack), readerEndpoint: reader(stack), port: s.database.port, minAcu: s.database.minAcu, maxAcu: s.database.maxAcu },
    services: s.services,
    istioSidecars: stack === "prod",
    maxNodes: s.cluster.maxNodes,
    vpcCidr: s.network.cidrBlock,
    kubernetesVersion: s.cluster.kubernetesVersion,
    ebsKmsKeyArn: `arn:aws:kms:us-east-1:${account}:key/0000ebs0-0000-0000-0000-000000000000`,
    databaseMasterSecret: {
      arn: `arn:aws:secretsmanager:us-east-1:${account}:secret:rds!cluster-0a1b2c3d-aBcDeF`,
      kmsKeyArn: `arn:aws:kms:us-east-1:${account}:key/0000db00-0000-0000-0000-000000000000`,
    },
    ...overrides,
  };
}

interface Run {
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Logical names of the resources registered with the test's Kubernetes provider. */
  withClusterProvider: Set<string>;
}

const addonsName = (stack: Stack) => `pyairtable-${stack}-addons`;

async function build(stack: Stack, overrides: (provider: k8s.Provider) => Partial<ClusterAddonsArgs> = () => ({})): Promise<Run> {
  const withClusterProvider = new Set<string>();
  // No maskValues: the token must be masked because it is a Pulumi secret, not because the harness hides it.
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    pulumi.runtime.registerStackTransformation((t) => {
      if (t.opts.provider === provider) withClusterProvider.add(t.name);
      return undefined;
    });
    const addons = new ClusterAddons(addonsName(stack), argsFor(stack, provider, overrides(provider)));
    return {
      kedaOperatorRoleArn: addons.kedaOperatorRoleArn,
      fileEventsQueueUrl: addons.fileEventsQueueUrl,
      fileEventsQueueArn: addons.fileEventsQueueArn,
      fileEventsQueueName: addons.fileEventsQueueName,
      fileEventsDeadLetterQueueArn: addons.fileEventsDeadLetterQueueArn,
      fileEventsKmsKeyArn: addons.fileEventsKmsKeyArn,
      pgbouncerService: addons.pgbouncerService,
      releases: addons.releases,
      redisAddress: addons.redisAddress,
      scalingReady: addons.scalingReady.length,
    };
  });
  return { resources: result.resources, outputs: result.outputs, withClusterProvider };
}

/** Builds the component expecting a validation error; returns it and what was registered. */
async function buildFailing(stack: Stack, overrides: Partial<ClusterAddonsArgs>): Promise<{ error: Error; children: PlannedResource[] }> {
  let error: Error | undefined;
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    try {
      new ClusterAddons(addonsName(stack), argsFor(stack, provider, overrides));
    } catch (e) {
      error = e as Error;
    }
  });
  assert.ok(error, "expected the ClusterAddons constructor to throw");
  return { error, children: result.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")) };
}

const T = {
  release: "kubernetes:helm.sh/v3:Release",
  namespace: "kubernetes:core/v1:Namespace",
  priorityClass: "kubernetes:scheduling.k8s.io/v1:PriorityClass",
  quota: "kubernetes:core/v1:ResourceQuota",
  limitRange: "kubernetes:core/v1:LimitRange",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  cta: "kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication",
  serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  redrive: "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
  key: "aws:kms/key:Key",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

const ofType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);
function one(run: Run, type: string, where: (r: PlannedResource) => boolean = () => true): PlannedResource {
  const found = ofType(run, type).filter(where);
  assert.equal(found.length, 1, `expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}
const metaName = (r: PlannedResource) => (r.inputs.metadata as { name?: string } | undefined)?.name;
const metaNamespace = (r: PlannedResource) => (r.inputs.metadata as { namespace?: string } | undefined)?.namespace;
function release(run: Run, releaseName: string) {
  return one(run, T.release, (r) => r.inputs.name === releaseName).inputs as Record<string, any>;
}
const json = (s: unknown) => JSON.parse(String(s)) as Record<string, any>;

/** The Kubernetes objects the component creates (their recorded inputs are the manifests). */
function kubernetesObjects(run: Run): PlannedResource[] {
  return run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type !== T.release);
}

describe("ClusterAddons", function () {
  this.timeout(120_000);
  const runs = {} as Record<Stack, Run>;
  before(async () => {
    runs.prod = await build("prod");
    runs.dev = await build("dev");
  });

  describe("Helm releases", () => {
    it("installs the add-ons (Istio's three charts only with sidecars on), each pinned to the chart table's version and repository, atomically", () => {
      const istio = ["istioBase", "istioCni", "istiod"] as const;
      for (const stack of ["prod", "dev"] as const) {
        const releases = ofType(runs[stack], T.release);
        const keys = (Object.keys(helmReleaseNames) as (keyof typeof helmReleaseNames)[]).filter((k) => stack === "prod" || !(istio as readonly string[]).includes(k));
        assert.deepEqual(releases.map((r) => r.inputs.name).sort(), keys.map((k) => helmReleaseNames[k]).sort());
        for (const key of keys) {
          const releaseName = helmReleaseNames[key];
          const r = release(runs[stack], releaseName);
          const chart = addonCharts[key];
          assert.equal(r.chart, chart.chart, `${releaseName} chart`);
          assert.equal(r.version, chart.version, `${releaseName} version`);
          // Exact versions (Jetstack names cert-manager's chart versions with a leading v).
          assert.match(r.version, /^v?\d+\.\d+\.\d+$/, `${releaseName} must be pinned to an exact version`);
          assert.deepEqual(r.repositoryOpts, { repo: chart.repo }, `${releaseName} repository`);
          assert.equal(r.atomic, true);
        }
        assert.equal(release(runs[stack], "metrics-server").namespace, "kube-system");
        assert.equal(release(runs[stack], "keda").namespace, namespaces.keda);
        assert.equal(release(runs[stack], "vpa").namespace, namespaces.vpa);
        assert.equal(release(runs[stack], "kube-prometheus-stack").namespace, namespaces.monitoring);
        assert.equal(release(runs[stack], "prometheus-adapter").namespace, namespaces.monitoring);
        assert.equal(release(runs[stack], "external-secrets").namespace, namespaces.externalSecrets);
        assert.equal(release(runs[stack], "cert-manager").namespace, namespaces.certManager);
      }
      assert.equal(release(runs.prod, "istiod").namespace, namespaces.istio);
      assert.equal(release(runs.prod, "istio-base").namespace, namespaces.istio);
      assert.equal(release(runs.prod, "istio-cni").namespace, "kube-system");
      assert.deepEqual(runs.prod.outputs.releases, ["external-secrets", "kube-prometheus-stack", "cert-manager", "metrics-server", "keda", "vpa", "prometheus-adapter", "istio-base", "istio-cni", "istiod"]);
      assert.deepEqual(runs.dev.outputs.releases, ["external-secrets", "kube-prometheus-stack", "cert-manager", "metrics-server", "keda", "vpa", "prometheus-adapter"]);
    });

    it("metrics-server resolves metrics every 15 s (the HPA's 60 s reaction budget)", () => {
      for (const stack of ["prod", "dev"] as const) {
        const values = release(runs[stack], "metrics-server").values;
        const args = values.defaultArgs as string[];
        assert.ok(args.includes("--metric-resolution=15s"), `args: ${args.join(" ")}`);
        assert.equal(args.filter((a) => a.startsWith("--metric-resolution")).length, 1);
      }
      assert.equal(release(runs.prod, "metrics-server").values.replicas, 2);
      assert.equal(release(runs.prod, "metrics-server").values.podDisruptionBudget.enabled, true);
    });

    it("KEDA: IRSA enabled on the operator's service account with the role this component creates", () => {
      for (const stack of ["prod", "dev"] as const) {
        const values = release(runs[stack], "keda").values;
        assert.equal(values.podIdentity.aws.irsa.enabled, true);
        assert.equal(values.podIdentity.aws.irsa.roleArn, runs[stack].outputs.kedaOperatorRoleArn);
        assert.match(String(values.podIdentity.aws.irsa.roleArn), /^arn:aws:.*keda-operator/);
        assert.equal(values.serviceAccount.operator.name, kedaOperatorServiceAccount);
        assert.equal(values.permissions.operator.restrict.secret, true);
        // The Monitoring component scrapes the operator itself (honorLabels): no second monitor.
        assert.equal(values.prometheus.operator.enabled, true);
        assert.equal(values.prometheus.operator.serviceMonitor.enabled, false);
      }
    });

    it("KEDA's role trusts only keda:keda-operator through the cluster's OIDC provider", () => {
      const trust = json(one(runs.prod, T.role, (r) => r.name.endsWith("keda-operator")).inputs.assumeRolePolicy);
      assert.equal(trust.Statement.length, 1);
      const st = trust.Statement[0];
      assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
      assert.equal(st.Principal.Federated, `arn:aws:iam::${account}:oidc-provider/${issuer}`);
      assert.deepEqual(st.Condition.StringEquals, {
        [`${issuer}:sub`]: `system:serviceaccount:${namespaces.keda}:${kedaOperatorServiceAccount}`,
        [`${issuer}:aud`]: "sts.amazonaws.com",
      });
    });

    it("KEDA's role reads only the file-events queue depth and MSK consumer lag (no message contents)", () => {
      const policy = json(one(runs.prod, T.rolePolicy, (r) => r.name.endsWith("keda-operator-policy")).inputs.policy);
      const byAction = new Map<string, unknown>();
      for (const st of policy.Statement) {
        assert.equal(st.Effect, "Allow");
        assert.notEqual(st.Resource, "*", `${st.Sid} must be scoped`);
        for (const a of [st.Action].flat()) byAction.set(a, st.Resource);
      }
      assert.deepEqual([...byAction.keys()].sort(), [
        "kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:DescribeGroup", "kafka-cluster:DescribeTopic", "sqs:GetQueueAttributes",
      ]);
      assert.equal(byAction.get("sqs:GetQueueAttributes"), runs.prod.outputs.fileEventsQueueArn);
      assert.equal(byAction.get("kafka-cluster:Connect"), mskArn("prod"));
      assert.equal(byAction.get("kafka-cluster:DescribeTopic"), `arn:aws:kafka:us-east-1:${account}:topic/pyairtable-prod-msk/0a1b2c3d-1111-2222-3333-444455556666-7/*`);
      assert.equal(byAction.get("kafka-cluster:DescribeGroup"), `arn:aws:kafka:us-east-1:${account}:group/pyairtable-prod-msk/0a1b2c3d-1111-2222-3333-444455556666-7/*`);
    });

    it("VPA: recommender, updater and admission controller", () => {
      const values = release(runs.prod, "vpa").values;
      for (const c of ["recommender", "updater", "admissionController"]) assert.equal(values[c].enabled, true, c);
      assert.equal(values.admissionController.replicaCount, 2);
      assert.equal(release(runs.dev, "vpa").values.admissionController.replicaCount, 1);
    });

    it("VPA: every feature gate passed is one VPA 1.7.1 knows (chart 5.0.0); InPlaceOrRecreate is GA and has no gate", () => {
      // kubernetes/autoscaler vertical-pod-autoscaler-1.7.1, pkg/features/versioned_features.go: the only
      // gates. 1.6 locked InPlaceOrRecreate to true (GA), 1.7 removed it; an unknown gate fails flag
      // parsing (pkg/updater/config/config.go and pkg/admission-controller/config/config.go: kube_flag.InitFlags).
      const knownGates = new Set(["CPUStartupBoost", "InPlace", "PerVPAConfig"]);
      assert.equal(addonCharts.vpa.version, "5.0.0", "the gate list above is VPA 1.7.1's: re-read it when the chart moves");
      for (const stack of ["prod", "dev"] as const) {
        const values = release(runs[stack], "vpa").values;
        for (const c of ["recommender", "updater", "admissionController"]) {
          const gates = String(values[c].extraArgs?.["feature-gates"] ?? "").split(",").filter(Boolean).map((g) => g.split("=")[0]!);
          for (const g of gates) assert.ok(knownGates.has(g), `${stack} ${c}: feature gate ${g} is not a VPA 1.7.1 gate (${[...knownGates].join(", ")})`);
        }
      }
    });

    it("kube-prometheus-stack: 15 s scrape and evaluation, retention on persistent storage, open selectors", () => {
      for (const stack of ["prod", "dev"] as const) {
        const values = release(runs[stack], "kube-prometheus-stack").values;
        const spec = values.prometheus.prometheusSpec;
        assert.equal(spec.scrapeInterval, "15s");
        assert.equal(spec.evaluationInterval, "15s");
        for (const k of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"]) {
          assert.equal(spec[`${k}SelectorNilUsesHelmValues`], false, k);
        }
        assert.match(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, /^\d+Gi$/);
        assert.equal(values.fullnameOverride, "kube-prometheus-stack");
        // The service prometheusUrl names comes from that full name.
        assert.ok(prometheusUrl.startsWith(`http://${values.fullnameOverride}-prometheus.${namespaces.monitoring}.svc`));
      }
      const prod = release(runs.prod, "kube-prometheus-stack").values.prometheus.prometheusSpec;
      assert.equal(prod.retention, "15d");
      assert.equal(prod.replicas, 2);
      assert.equal(prod.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "100Gi");
      // retentionSize must leave room on the volume.
      assert.ok(parseInt(prod.retentionSize, 10) < 100);
      assert.equal(release(runs.dev, "kube-prometheus-stack").values.prometheus.prometheusSpec.retention, "7d");
    });

    it("kube-prometheus-stack: Alertmanager reads the Monitoring component's config Secret", () => {
      const am = release(runs.prod, "kube-prometheus-stack").values.alertmanager.alertmanagerSpec;
      assert.equal(am.useExistingSecret, true);
      assert.equal(am.configSecret, alertmanagerConfigSecretName);
      assert.equal(alertmanagerConfigSecretName, "pyairtable-alertmanager-config");
    });

    it("kube-prometheus-stack: Grafana's dashboard sidecar watches grafana_dashboard=1 in all namespaces; admin credentials from an existing Secret, no password", () => {
      for (const stack of ["prod", "dev"] as const) {
        const grafana = release(runs[stack], "kube-prometheus-stack").values.grafana;
        const dashboards = grafana.sidecar.dashboards;
        assert.deepEqual([dashboards.enabled, dashboards.label, dashboards.labelValue, dashboards.searchNamespace], [true, "grafana_dashboard", "1", "ALL"]);
        assert.deepEqual(grafana.admin, { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
        assert.deepEqual(grafanaAdminSecret, { name: grafana.admin.existingSecret, userKey: grafana.admin.userKey, passwordKey: grafana.admin.passwordKey });
        // No password in the values at all (any key or env var naming one).
        const paths = valuesLeafPaths(release(runs[stack], "kube-prometheus-stack").values).map((p) => p.join("."));
        assert.deepEqual(paths.filter((p) => /password/i.test(p) && !p.endsWith("admin.passwordKey")), [], `${stack}: password-like values keys`);
      }
    });

    it("every values key set on a chart exists in that chart version (values.yaml and templates of the chart and its subcharts, contracts/charts/)", () => {
      for (const stack of ["prod", "dev"] as const) {
        const r = release(runs[stack], "kube-prometheus-stack");
        assert.equal(r.version, addonCharts.kubePrometheusStack.version);
        const keys = loadChartValuesKeys("kube-prometheus-stack", r.version);
        assert.deepEqual(unknownValuesKeys(r.values, keys), [], `${stack}: kube-prometheus-stack ${r.version}`);
        // The check bites: the pre-88 values this stack used to set are refused or flagged.
        assert.deepEqual(unknownValuesKeys({ grafana: { adminPasswordd: "" }, prometheus: { prometheusSpec: { scrapeIntervall: "15s" } } }, keys).length, 2);
      }
      // The charts issue 19 added, at their pinned tags (Istio's only where it is installed).
      for (const stack of ["prod", "dev"] as const) {
        for (const key of ["externalSecrets", "certManager", "istioBase", "istiod", "istioCni"] as const) {
          if (stack === "dev" && key.startsWith("istio")) continue;
          const r = release(runs[stack], helmReleaseNames[key]);
          assert.equal(r.version, addonCharts[key].version);
          const keys = loadChartValuesKeys(addonCharts[key].chart, r.version);
          assert.deepEqual(unknownValuesKeys(r.values, keys), [], `${stack}: ${addonCharts[key].chart} ${r.version}`);
        }
      }
      // And bites on each: a misspelt or misplaced key is reported.
      assert.equal(unknownValuesKeys({ installCRD: true }, loadChartValuesKeys("external-secrets", "2.9.0")).length, 1);
      assert.equal(unknownValuesKeys({ crds: { enable: true } }, loadChartValuesKeys("cert-manager", "v1.21.1")).length, 1);
      assert.equal(unknownValuesKeys({ pilot: { cni: { enabled: true } } }, loadChartValuesKeys("istiod", "1.30.3")).length, 1);
    });

    it("kube-prometheus-stack: kube-state-metrics exports the node labels and VPA targets the dashboards use", () => {
      const ksm = release(runs.prod, "kube-prometheus-stack").values["kube-state-metrics"];
      assert.deepEqual(ksm.metricLabelsAllowlist, ["nodes=[karpenter.sh/capacity-type,node.kubernetes.io/instance-type,pyairtable.io/workload-class]"]);
      assert.deepEqual([...nodeLabelsAllowlist], ["karpenter.sh/capacity-type", "node.kubernetes.io/instance-type", workloadClassLabel]);
      assert.equal(ksm.customResourceState.enabled, true);
      const resource = ksm.customResourceState.config.spec.resources[0];
      assert.equal(resource.groupVersionKind.kind, "VerticalPodAutoscaler");
      const names = new Set(resource.metrics.map((m: { name: string }) => `${resource.metricNamePrefix}_${m.name}`));
      assert.deepEqual([...names], ["kube_customresource_vpa_containerrecommendations_target"]);
      assert.deepEqual(ksm.rbac.extraRules[0].resources, ["verticalpodautoscalers"]);
    });

    it("carries every chart value the Monitoring component's objects rely on", () => {
      const required = monitoringChartValues(alertmanagerConfigSecretName);
      const leaves = (v: unknown, at: string[] = []): [string[], unknown][] =>
        v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, k])) : [[at, v]];
      const get = (v: any, at: string[]) => at.reduce((o, k) => o?.[k], v);
      for (const stack of ["prod", "dev"] as const) {
        for (const [key, releaseName] of [["kubePrometheusStack", "kube-prometheus-stack"], ["keda", "keda"]] as const) {
          const values = release(runs[stack], releaseName).values;
          for (const [at, expected] of leaves(required[key])) {
            assert.deepEqual(get(values, at), expected, `${stack} ${releaseName} ${at.join(".")}`);
          }
        }
      }
      // The Alertmanager SMTP password Secret is mounted as the Monitoring component expects.
      assert.ok(Array.isArray(release(runs.prod, "kube-prometheus-stack").values.alertmanager.alertmanagerSpec.secrets));
    });

    it("prometheus-adapter: queries the in-cluster Prometheus and serves exactly the custom metrics the HPAs name", () => {
      const values = release(runs.prod, "prometheus-adapter").values;
      const url = new URL(prometheusUrl);
      assert.equal(values.prometheus.url, `http://${url.hostname}`);
      assert.equal(values.prometheus.port, 9090);
      assert.equal(values.rules.default, false);
      const served = (values.rules.custom as { name: { as: string } }[]).map((r) => r.name.as).sort();
      assert.deepEqual(served, [
        customMetricNames.latencyP95,
        customMetricNames.dbConnections,
        customMetricNames.requestsPerSecond,
        addonCustomMetricNames.pgbouncerClientConnectionUtilisation,
      ].sort());
      assert.deepEqual(customMetricNames, { requestsPerSecond: "http_requests_per_second", latencyP95: "http_request_duration_seconds_p95", dbConnections: "db_connections_in_use" });
    });

    it("prometheus-adapter: rate and quantile over 1 m, per namespace and pod, on series of the metric contract", () => {
      const rules = adapterCustomRules();
      const by = (as: string) => rules.find((r) => r.name.as === as)!;
      const rps = by(customMetricNames.requestsPerSecond);
      assert.equal(rps.seriesQuery, `${applicationMetrics.httpRequestsTotal}{namespace!="",pod!=""}`);
      assert.equal(rps.metricsQuery, "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)");
      const p95 = by(customMetricNames.latencyP95);
      assert.equal(p95.seriesQuery, 'http_request_duration_seconds_bucket{namespace!="",pod!=""}');
      assert.equal(p95.metricsQuery, "histogram_quantile(0.95, sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (le, <<.GroupBy>>))");
      const db = by(customMetricNames.dbConnections);
      assert.equal(db.seriesQuery, 'db_connections_in_use{namespace!="",pod!=""}');
      // The series each rule reads are checked against the exporters' catalogs by the PromQL contract (test/metricsContract.test.ts).
      for (const r of rules) {
        assert.deepEqual(r.resources, { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } });
        assert.ok((r.seriesQuery.match(/\b[a-z_]+(?=\{)/g) ?? []).length > 0, `${r.name.as}: a series`);
      }
      const pgb = by(addonCustomMetricNames.pgbouncerClientConnectionUtilisation);
      assert.match(pgb.metricsQuery, /database!="pgbouncer"/);
      assert.match(pgb.metricsQuery, /\/ max by \(<<\.GroupBy>>\) \(pgbouncer_config_max_client_connections/);
    });

    it("runs every add-on on the system nodes, with system-cluster-critical priority where the chart takes it", () => {
      for (const stack of ["prod", "dev"] as const) {
        const crit = "system-cluster-critical";
        const ms = release(runs[stack], "metrics-server").values;
        const keda = release(runs[stack], "keda").values;
        const vpa = release(runs[stack], "vpa").values;
        const kps = release(runs[stack], "kube-prometheus-stack").values;
        const adapter = release(runs[stack], "prometheus-adapter").values;
        const placements: [string, unknown, unknown][] = [
          ["metrics-server", ms.nodeSelector, ms.priorityClassName],
          ["keda", keda.nodeSelector, keda.priorityClassName],
          ["vpa recommender", vpa.recommender.nodeSelector, vpa.priorityClassName],
          ["vpa updater", vpa.updater.nodeSelector, vpa.priorityClassName],
          ["vpa admission", vpa.admissionController.nodeSelector, vpa.priorityClassName],
          ["prometheus", kps.prometheus.prometheusSpec.nodeSelector, kps.prometheus.prometheusSpec.priorityClassName],
          ["alertmanager", kps.alertmanager.alertmanagerSpec.nodeSelector, kps.alertmanager.alertmanagerSpec.priorityClassName],
          ["grafana", kps.grafana.nodeSelector, kps.grafana.priorityClassName],
          ["kube-state-metrics", kps["kube-state-metrics"].nodeSelector, kps["kube-state-metrics"].priorityClassName],
          ["prometheus-adapter", adapter.nodeSelector, adapter.priorityClassName],
        ];
        for (const [what, nodeSelector, priority] of placements) {
          assert.deepEqual(nodeSelector, { ...systemNodeSelector }, `${stack} ${what} nodeSelector`);
          assert.equal(priority, crit, `${stack} ${what} priorityClassName`);
        }
        assert.deepEqual(kps.prometheusOperator.nodeSelector, { [workloadClassLabel]: "system" });
        // node-exporter belongs on every node, tainted or not.
        assert.deepEqual(kps["prometheus-node-exporter"].tolerations, [{ operator: "Exists", effect: "NoSchedule" }]);
      }
    });
  });

  describe("namespaces, priority classes, quotas and limit ranges", () => {
    it("creates every namespace of the catalog (istio-system only with sidecars), labelled as managed; Istio injection only on application namespaces when enabled", () => {
      for (const stack of ["prod", "dev"] as const) {
        const created = ofType(runs[stack], T.namespace);
        const expected = stack === "prod" ? Object.values(namespaces) : Object.values(namespaces).filter((n) => n !== namespaces.istio);
        assert.deepEqual(created.map(metaName).sort(), [...expected].sort());
        assert.deepEqual([...expected].sort(), stackNamespaces({ istioSidecars: stack === "prod" }).sort());
        for (const r of created) {
          const labels = (r.inputs.metadata as { labels: Record<string, string> }).labels;
          assert.equal(labels["pyairtable.io/managed-by"], "pulumi");
          const app = (applicationNamespaces as readonly string[]).includes(metaName(r)!);
          assert.equal(labels["istio-injection"], app && stack === "prod" ? "enabled" : undefined, `${stack} ${metaName(r)}`);
        }
      }
    });

    it("creates the priority classes with their values, preempting lower priorities, none the default", () => {
      const created = ofType(runs.prod, T.priorityClass);
      assert.equal(created.length, Object.keys(priorityClasses).length);
      for (const pc of Object.values(priorityClasses)) {
        const r = one(runs.prod, T.priorityClass, (x) => metaName(x) === pc.name).inputs;
        assert.equal(r.apiVersion, "scheduling.k8s.io/v1");
        assert.equal(r.value, pc.value);
        assert.equal(r.globalDefault, false);
        assert.equal(r.preemptionPolicy, "PreemptLowerPriority");
      }
    });

    it("gives every namespace a quota (application: the table; platform: its charts' workloads) and a LimitRange with defaults, min and max", () => {
      for (const stack of ["prod", "dev"] as const) {
        const stackSpaces = stackNamespaces({ istioSidecars: settingsOf(stack).workloads.istioSidecars });
        for (const ns of stackSpaces) {
          const q = one(runs[stack], T.quota, (r) => metaNamespace(r) === ns).inputs as { spec: { hard: Record<string, string> } };
          const app = (applicationNamespaces as readonly string[]).includes(ns);
          const row = app ? namespaceQuotas[stack][ns as (typeof applicationNamespaces)[number]] : platformNamespaceQuota(ns as PlatformNamespace, stack, settingsOf(stack).cluster.maxNodes);
          assert.deepEqual(q.spec.hard, {
            pods: String(row.pods),
            "requests.cpu": cpuQuantity(row.requestsCpuMillis),
            "requests.memory": memoryQuantity(row.requestsMemoryMiB),
            "limits.cpu": cpuQuantity(row.limitsCpuMillis),
            "limits.memory": memoryQuantity(row.limitsMemoryMiB),
          }, `${stack} ${ns}`);
          const lr = one(runs[stack], T.limitRange, (r) => metaNamespace(r) === ns).inputs as { spec: { limits: Record<string, any>[] } };
          const b = containerBounds[ns];
          const item = lr.spec.limits[0]!;
          assert.equal(lr.spec.limits.length, 1);
          assert.deepEqual([item.type, item.min, item.max], ["Container", { cpu: cpuQuantity(b.min.cpuMillis), memory: memoryQuantity(b.min.memoryMiB) }, { cpu: cpuQuantity(b.max.cpuMillis), memory: memoryQuantity(b.max.memoryMiB) }], `${stack} ${ns}`);
          if (app) {
            const d = containerDefaults[ns as (typeof applicationNamespaces)[number]];
            assert.deepEqual([item.defaultRequest, item.default], [
              { cpu: cpuQuantity(d.request.cpuMillis), memory: memoryQuantity(d.request.memoryMiB) },
              { cpu: cpuQuantity(d.limit.cpuMillis), memory: memoryQuantity(d.limit.memoryMiB) },
            ]);
          }
          // Defaults lie within min and max (the API server refuses a LimitRange otherwise).
          for (const x of [item.defaultRequest, item.default]) {
            assert.ok(milli(x.cpu) >= b.min.cpuMillis && milli(x.cpu) <= b.max.cpuMillis, `${stack} ${ns} cpu ${x.cpu}`);
            assert.ok(mib(x.memory) >= b.min.memoryMiB && mib(x.memory) <= b.max.memoryMiB, `${stack} ${ns} memory ${x.memory}`);
          }
        }
        assert.equal(ofType(runs[stack], T.quota).length, stackSpaces.length);
        assert.equal(ofType(runs[stack], T.limitRange).length, stackSpaces.length);
      }
      assert.deepEqual(namespaceQuotas.prod[namespaces.api].pods, 80);
      assert.equal(cpuQuantity(1600), "1600m");
      assert.equal(memoryQuantity(51200), "50Gi");
    });

    it("quotas hold every catalog service at its maximum (x 1.2, sidecars included) in both stacks", () => {
      for (const stack of ["prod", "dev"] as const) {
        const s = settingsOf(stack);
        for (const ns of applicationNamespaces) {
          const need = requiredNamespaceCapacity(ns, stack, s.services, true);
          const have = namespaceQuotas[stack][ns];
          // Independent count: the catalog's services in the namespace at their stack maximum.
          const catalogMax = serviceCatalog.filter((svc) => svc.namespace === ns).reduce((sum, svc) => sum + s.services[svc.name]!.maxReplicas, 0);
          const extra = ns === namespaces.data ? pgbouncerSizing[stack].maxReplicas : ns === namespaces.automation ? 6 : 0;
          assert.equal(need.replicas, catalogMax + extra, `${stack} ${ns} replicas`);
          assert.ok(have.pods >= Math.ceil((catalogMax + extra) * 1.2), `${stack} ${ns}: quota ${have.pods} pods < ${(catalogMax + extra) * 1.2}`);
          for (const f of ["pods", "requestsCpuMillis", "requestsMemoryMiB", "limitsCpuMillis", "limitsMemoryMiB"] as const) {
            assert.ok(have[f] >= need[f], `${stack} ${ns} ${f}: quota ${have[f]} < needed ${need[f]}`);
          }
        }
      }
      // The design's prod numbers.
      assert.equal(requiredNamespaceCapacity(namespaces.api, "prod", settingsOf("prod").services, true).pods, 75);
      assert.equal(requiredNamespaceCapacity(namespaces.workers, "prod", settingsOf("prod").services, true).pods, 102);
    });

    it("refuses a service maximum that outgrows its namespace's quota, before creating anything", async () => {
      const services = { ...settingsOf("prod").services, "api-gateway": { minReplicas: 2, maxReplicas: 40 } };
      const { error, children } = await buildFailing("prod", { services });
      // The settings' quota check (components/quotaCheck.ts), run by the constructor too.
      assert.match(error.message, /services: services\.api-gateway\.maxReplicas = 40: over the ResourceQuota of namespace pyairtable-api \(80 pods.*\): its maxima \(api-gateway 40, .*\) are 77 replicas and with the 20% surge headroom need 93 pods/);
      assert.match(error.message, /raise namespaceQuotas\.prod\["pyairtable-api"\]/);
      assert.deepEqual(children.map((r) => `${r.type} ${r.name}`), []);
    });
  });

  describe("KEDA authentication", () => {
    it("keeps the Redis token in a Secret in the KEDA namespace, masked as a Pulumi secret", () => {
      for (const stack of ["prod", "dev"] as const) {
        const s = one(runs[stack], T.secret).inputs;
        assert.deepEqual(s.metadata, { name: redisAuthSecret.name, namespace: namespaces.keda, labels: { "pyairtable.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "pyairtable" } });
        assert.equal(s.stringData, "[secret]");
        assert.equal(s.data, undefined);
        const everything = JSON.stringify({ resources: runs[stack].resources, outputs: runs[stack].outputs });
        assert.equal(everything.includes(tokenPlaceholder), false, "the Redis token leaked in plain text");
      }
    });

    it("ClusterTriggerAuthentications reference the Secret, non-secret parameters and pod identity, never credentials", () => {
      const ctas = ofType(runs.prod, T.cta);
      assert.deepEqual(ctas.map(metaName).sort(), Object.values(triggerAuthentications).sort());
      const spec = (authName: string) => (one(runs.prod, T.cta, (r) => metaName(r) === authName).inputs.spec as Record<string, any>);
      const params = (authName: string) => (spec(authName).configMapTargetRef ?? []).map((p: Record<string, string>) => [p.parameter, p.name, p.key]);

      const redis = spec(triggerAuthentications.redis);
      assert.deepEqual(redis.secretTargetRef, [{ parameter: "password", name: redisAuthSecret.name, key: redisAuthSecret.key }]);
      assert.deepEqual(params(triggerAuthentications.redis), [["tls", kedaAuthParameters.configMapName, kedaAuthParameters.keys.redisTls]]);
      assert.equal(redis.podIdentity, undefined);

      const kafka = spec(triggerAuthentications.kafka);
      assert.deepEqual(kafka.podIdentity, { provider: "aws" });
      assert.deepEqual(params(triggerAuthentications.kafka).map((p: string[]) => p[0]), ["sasl", "saslTokenProvider", "tls"]);
      assert.equal(kafka.secretTargetRef, undefined);

      assert.deepEqual(spec(triggerAuthentications.aws), { podIdentity: { provider: "aws" } });

      const cm = one(runs.prod, T.configMap, (r) => metaName(r) === kedaAuthParameters.configMapName).inputs;
      assert.equal(metaNamespace({ inputs: cm } as PlannedResource), namespaces.keda);
      assert.deepEqual(cm.data, { "redis-tls": "enable", "kafka-sasl": "oauthbearer", "kafka-sasl-token-provider": "aws_msk_iam", "kafka-tls": "enable" });
      // No credential-like parameter is inlined anywhere in the KEDA objects.
      const inlined = JSON.stringify([ctas.map((r) => r.inputs), cm]);
      assert.doesNotMatch(inlined, /awsAccessKeyID|awsSecretAccessKey|"password":"(?!\[secret\])/);
    });
  });

  describe("file-events queue", () => {
    it("is encrypted with the component's own KMS key and backed by a dead-letter queue", () => {
      const queues = ofType(runs.prod, T.queue);
      assert.deepEqual(queues.map((q) => q.inputs.name).sort(), [`pyairtable-prod-${fileEventsQueueName}`, `pyairtable-prod-${fileEventsQueueName}-dlq`]);
      const key = one(runs.prod, T.key, (r) => r.name.includes("file-events"));
      assert.equal(key.inputs.enableKeyRotation, true);
      for (const q of queues) assert.equal(q.inputs.kmsMasterKeyId, runs.prod.outputs.fileEventsKmsKeyArn);
      const main = queues.find((q) => q.inputs.name === `pyairtable-prod-${fileEventsQueueName}`)!.inputs;
      assert.deepEqual(json(main.redrivePolicy), { deadLetterTargetArn: runs.prod.outputs.fileEventsDeadLetterQueueArn, maxReceiveCount: 5 });
      assert.equal(main.receiveWaitTimeSeconds, 20);
      assert.equal(json(one(runs.prod, T.redrive).inputs.redriveAllowPolicy).redrivePermission, "byQueue");
      assert.equal(runs.prod.outputs.fileEventsQueueName, `pyairtable-prod-${fileEventsQueueName}`);
      assert.match(String(runs.prod.outputs.fileEventsQueueUrl), /^https:\/\/sqs\.us-east-1\.amazonaws\.com\/123456789012\/pyairtable-prod-file-events$/);
    });

    it("admits S3 notifications of this account only, over TLS; the key lets S3 encrypt them", () => {
      const policy = json(one(runs.prod, T.queuePolicy).inputs.policy);
      const allow = policy.Statement.find((s: Record<string, any>) => s.Effect === "Allow");
      assert.deepEqual(allow.Principal, { Service: "s3.amazonaws.com" });
      assert.equal(allow.Action, "sqs:SendMessage");
      assert.equal(allow.Resource, runs.prod.outputs.fileEventsQueueArn);
      assert.deepEqual(allow.Condition, { StringEquals: { "aws:SourceAccount": account } });
      const deny = policy.Statement.find((s: Record<string, any>) => s.Effect === "Deny");
      assert.deepEqual(deny.Condition, { Bool: { "aws:SecureTransport": "false" } });
      const keyPolicy = json(one(runs.prod, T.key, (r) => r.name.includes("file-events")).inputs.policy);
      const s3 = keyPolicy.Statement.find((s: Record<string, any>) => s.Sid === "S3EventNotifications");
      assert.deepEqual(s3.Condition, { StringEquals: { "aws:SourceAccount": account } });
    });
  });

  describe("PgBouncer", () => {
    const pgbObject = (run: Run, type: string, objectName: string = pgbouncer.name) =>
      one(run, type, (r) => metaName(r) === objectName && metaNamespace(r) === namespaces.data).inputs as Record<string, any>;

    it("HPA: 2-6 replicas in prod, 1-2 in dev, on client-connection utilisation, with the shared response times", () => {
      const expected = { prod: [2, 6], dev: [1, 2] } as const;
      for (const stack of ["prod", "dev"] as const) {
        const hpa = pgbObject(runs[stack], T.hpa);
        assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], expected[stack]);
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: pgbouncer.name });
        const pods = hpa.spec.metrics.find((m: Record<string, any>) => m.type === "Pods").pods;
        assert.equal(pods.metric.name, "pgbouncer_client_connection_utilisation");
        assert.deepEqual(pods.target, { type: "AverageValue", averageValue: "700m" });
        const b = hpa.spec.behavior;
        assert.deepEqual(b, JSON.parse(JSON.stringify(scalingBehavior)));
        assert.equal(b.scaleUp.stabilizationWindowSeconds, 0);
        assert.ok(b.scaleUp.policies.some((p: Record<string, unknown>) => p.type === "Percent" && p.value === 100 && p.periodSeconds === 15));
        assert.equal(b.scaleDown.stabilizationWindowSeconds, 300);
        assert.deepEqual(b.scaleDown.policies, [{ type: "Percent", value: 10, periodSeconds: 60 }]);
      }
    });

    it("Deployment: data-class on-demand nodes, data priority, spread over zones, pinned images, credentials from the out-of-band Secret", () => {
      for (const stack of ["prod", "dev"] as const) {
        const d = pgbObject(runs[stack], T.deployment);
        assert.equal(d.spec.replicas, undefined, "the HPA owns the replica count");
        const pod = d.spec.template.spec;
        assert.deepEqual(pod.nodeSelector, { [workloadClassLabel]: "data" });
        assert.deepEqual(pod.tolerations, [{ key: workloadClassLabel, operator: "Equal", value: "data", effect: "NoSchedule" }]);
        assert.equal(pod.priorityClassName, priorityClasses.data.name);
        const zone = pod.topologySpreadConstraints.find((t: Record<string, any>) => t.topologyKey === "topology.kubernetes.io/zone");
        assert.equal(zone.maxSkew, 1);
        assert.equal(zone.whenUnsatisfiable, stack === "prod" ? "DoNotSchedule" : "ScheduleAnyway");
        assert.deepEqual(pod.containers.map((c: Record<string, any>) => c.image), [addonImages.pgbouncer, addonImages.pgbouncerExporter]);
        for (const c of pod.containers) {
          assert.match(c.image, /:v\d+\.\d+\.\d+(-p\d+)?(@sha256:[0-9a-f]{64})?$/, `${c.name} image must be pinned by release tag (and digest where known)`);
          assert.equal(c.env, undefined, `${c.name} must not carry credentials in env`);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        }
        assert.equal(pod.securityContext.runAsNonRoot, true);
        const auth = pod.volumes.find((vol: Record<string, any>) => vol.name === "auth");
        assert.equal(auth.secret.secretName, pgbouncer.authSecret.name);
        assert.deepEqual(auth.secret.items, [{ key: pgbouncer.authSecret.key, path: "userlist.txt" }]);
        assert.match(d.spec.template.metadata.annotations["pyairtable.io/config-sha256"], /^[0-9a-f]{64}$/);
      }
    });

    it("pgbouncer.ini: transaction pooling against the writer and readers, pools that fit Aurora's connections at max ACU", () => {
      for (const stack of ["prod", "dev"] as const) {
        const s = settingsOf(stack);
        const ini: string = pgbObject(runs[stack], T.configMap, "pgbouncer-config").data["pgbouncer.ini"];
        const setting = (k: string) => new RegExp(`^${k} = (.*)$`, "m").exec(ini)?.[1];
        assert.equal(setting("pool_mode"), "transaction");
        assert.equal(setting("pyairtable"), `host=${writer(stack)} port=${s.database.port} dbname=pyairtable`);
        assert.equal(setting("pyairtable_ro"), `host=${reader(stack)} port=${s.database.port} dbname=pyairtable`);
        assert.equal(setting("auth_type"), "hba");
        // Aurora's certificate and host name verified against the RDS CA bundle; clients must use TLS.
        assert.equal(setting("server_tls_sslmode"), "verify-full");
        assert.equal(setting("server_tls_ca_file"), "/etc/pgbouncer-tls/server-ca/global-bundle.pem");
        assert.equal(setting("client_tls_sslmode"), "require");
        assert.equal(setting("client_tls_cert_file"), "/etc/pgbouncer-tls/client/tls.crt");
        assert.equal(setting("client_tls_key_file"), "/etc/pgbouncer-tls/client/tls.key");
        const d = pgbObject(runs[stack], T.deployment, "pgbouncer");
        const pod = d.spec.template.spec;
        const mounts = pod.containers.find((c: Record<string, any>) => c.name === "pgbouncer").volumeMounts.map((m: Record<string, any>) => [m.name, m.mountPath]);
        assert.deepEqual(mounts.filter(([n]: string[]) => n === "server-ca" || n === "client-tls"), [["server-ca", "/etc/pgbouncer-tls/server-ca"], ["client-tls", "/etc/pgbouncer-tls/client"]]);
        assert.equal(pod.volumes.find((v: Record<string, any>) => v.name === "server-ca").configMap.name, "rds-ca-bundle");
        assert.equal(pod.volumes.find((v: Record<string, any>) => v.name === "client-tls").secret.secretName, "pgbouncer-tls");
        const exporterArgs: string[] = pod.containers.find((c: Record<string, any>) => c.name === "exporter").args;
        assert.ok(exporterArgs.some((a) => a.includes("sslmode=require")), "the exporter uses TLS too");
        const plan = planPgBouncerPool(stack, s.database.minAcu, s.database.maxAcu);
        assert.equal(Number(setting("default_pool_size")), plan.defaultPoolSize);
        assert.equal(Number(setting("max_db_connections")), plan.maxDbConnections);
        assert.equal(Number(setting("max_client_conn")), pgbouncerSizing[stack].maxClientConnPerPod);
        // Every pod at its cap stays within what Aurora allows PgBouncer on one instance.
        const perPod = Math.min(plan.maxDbConnections, plan.defaultPoolSize + plan.reservePoolSize);
        assert.ok(perPod * pgbouncerSizing[stack].maxReplicas <= auroraMaxConnections(s.database.minAcu, s.database.maxAcu) - plan.reservedForOthers);
        const hba: string = pgbObject(runs[stack], T.configMap, "pgbouncer-config").data["pg_hba.conf"];
        assert.match(hba, /^hostssl\s+pgbouncer\s+pgbouncer_exporter\s+127\.0\.0\.1\/32\s+trust$/m);
        assert.match(hba, /^hostssl\s+all\s+all\s+0\.0\.0\.0\/0\s+scram-sha-256$/m);
        assert.match(hba, /^hostnossl\s+all\s+all\s+0\.0\.0\.0\/0\s+reject$/m);
        assert.doesNotMatch(hba, /^host\s+\S+\s+\S+\s+\S+\s+(trust|scram-sha-256)$/m, "no plaintext line admits anyone");
        assert.doesNotMatch(hba, /0\.0\.0\.0\/0\s+trust/);
      }
      // The design's Aurora numbers: prod 2-16 ACU, dev 0.5-4 ACU.
      assert.equal(auroraMaxConnections(2, 16), 3024);
      assert.equal(auroraMaxConnections(0.5, 16), 2000);
      assert.equal(auroraMaxConnections(0.5, 4), 756);
      assert.deepEqual(planPgBouncerPool("prod", 2, 16), { auroraMaxConnections: 3024, reservedForOthers: 605, pgbouncerBudget: 2419, serverConnectionsPerPod: 403, defaultPoolSize: 100, reservePoolSize: 5, maxDbConnections: 403, maxClientConn: 1000 });
    });

    it("pool sizing never exceeds Aurora's connections for any capacity range", () => {
      for (const stack of ["prod", "dev"] as const) {
        for (let maxAcu = 1; maxAcu <= 256; maxAcu += 0.5) {
          for (const minAcu of [0, 0.5, 1]) {
            const p = planPgBouncerPool(stack, minAcu, maxAcu);
            assert.ok(p.maxDbConnections * pgbouncerSizing[stack].maxReplicas <= p.auroraMaxConnections - p.reservedForOthers, `${stack} ${minAcu}-${maxAcu}`);
            assert.ok(p.defaultPoolSize + p.reservePoolSize <= p.maxDbConnections);
            assert.ok(p.defaultPoolSize >= 1);
          }
        }
      }
    });

    it("Service, PDB and ServiceMonitor: in-cluster address, drainable, scraped every 15 s", () => {
      const svc = pgbObject(runs.prod, T.service);
      assert.equal(svc.spec.type, "ClusterIP");
      assert.deepEqual(svc.spec.ports.map((p: Record<string, unknown>) => [p.name, p.port]), [["tcp-postgres", 6432], ["http-metrics", 9127]]);
      assert.equal(runs.prod.outputs.pgbouncerService, pgbouncerServiceAddress);
      assert.equal(pgbouncerServiceAddress, "pgbouncer.pyairtable-data.svc.cluster.local:6432");
      const pdb = pgbObject(runs.prod, T.pdb);
      assert.equal(pdb.spec.maxUnavailable, 1);
      assert.deepEqual(pdb.spec.selector, svc.spec.selector ? { matchLabels: svc.spec.selector } : undefined);
      const sm = pgbObject(runs.prod, T.serviceMonitor);
      assert.deepEqual(sm.spec.endpoints, [{ port: "http-metrics", path: "/metrics", interval: "15s" }]);
    });
  });

  describe("manifests", () => {
    it("every Kubernetes object validates against the real schemas", () => {
      for (const stack of ["prod", "dev"] as const) {
        const objects = kubernetesObjects(runs[stack]);
        const kinds = new Set(objects.map((o) => o.inputs.kind));
        for (const kind of ["Namespace", "PriorityClass", "ResourceQuota", "LimitRange", "Secret", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ClusterTriggerAuthentication", "ServiceMonitor"]) {
          assert.ok(kinds.has(kind), `${stack}: no ${kind} recorded`);
        }
        const problems: string[] = [];
        for (const o of objects) {
          let manifest = o.inputs;
          if (o.inputs.kind === "Secret") {
            // The Kubernetes SDK makes stringData a Pulumi secret as a whole, so it is recorded as
            // "[secret]"; validate the object with its key shape restored (the value stays masked).
            assert.equal(o.inputs.stringData, "[secret]");
            manifest = { ...o.inputs, stringData: { [redisAuthSecret.key]: "[secret]" } };
          }
          const result = validateManifest(manifest);
          if (!result.ok) problems.push(...result.errors);
        }
        assert.deepEqual(problems, [], `${stack}:\n${problems.join("\n")}`);
      }
    });

    it("the validator rejects a broken object of the same kinds (the check can fail)", () => {
      const hpa = one(runs.prod, T.hpa).inputs as Record<string, any>;
      const broken = { ...hpa, spec: { ...hpa.spec, behavior: { ...hpa.spec.behavior, scaleUp: { ...hpa.spec.behavior.scaleUp, stabilisationWindowSeconds: 0 } } } };
      assert.equal(validateManifest(broken).ok, false);
      const cta = one(runs.prod, T.cta, (r) => metaName(r) === triggerAuthentications.aws).inputs as Record<string, any>;
      assert.equal(validateManifest({ ...cta, spec: { podIdentity: { provider: "aws-iam" } } }).ok, false);
    });

    it("parents every resource to the component and gives Kubernetes objects the cluster's provider", () => {
      for (const r of runs.prod.resources.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) {
        assert.ok(r.urn.includes("pyairtable:cluster:ClusterAddons$"), `${r.type} ${r.name} is not a child of the component`);
        const kubernetes = r.type.startsWith("kubernetes:");
        assert.equal(runs.prod.withClusterProvider.has(r.name), kubernetes, `${r.type} ${r.name}: ${kubernetes ? "needs" : "must not use"} the cluster's provider`);
      }
      assert.equal(runs.prod.outputs.redisAddress, "pyairtable-prod-redis.cache.amazonaws.com:6379");
    });
  });

  describe("argument validation (before any child resource)", () => {
    const rejects = async (overrides: Partial<ClusterAddonsArgs>, pattern: RegExp, stack: Stack = "prod") => {
      const { error, children } = await buildFailing(stack, overrides);
      assert.match(error.message, pattern);
      assert.equal(error.message.includes(tokenPlaceholder), false, "the error message must not echo the token");
      assert.deepEqual(children.map((r) => `${r.type} ${r.name}`), [], "no child resource may be registered");
    };

    it("rejects bad names, ARNs, endpoints and ports", async () => {
      await rejects({ clusterName: "PyAirtable_Prod" }, /ClusterAddons pyairtable-prod-addons: clusterName = "PyAirtable_Prod": must be 3-40 lowercase letters/);
      await rejects({ kafka: { clusterArn: "arn:aws:kafka:us-east-1:123456789012:topic/x/y/z", bootstrapBrokersSaslIam: "b:9098" } }, /kafka\.clusterArn = "arn:aws:kafka:us-east-1:123456789012:topic\/x\/y\/z": must be an MSK cluster ARN/);
      await rejects({ oidcIssuer: `https://${issuer}` }, /oidcIssuer = "https:\/\/oidc\.eks.*": must be given without the scheme/);
      await rejects({ redis: { endpoint: "", port: 6379, authToken: tokenPlaceholder } }, /redis\.endpoint = "": must be a non-empty host name/);
      await rejects({ redis: { endpoint: "r.cache.amazonaws.com", port: 70000, authToken: tokenPlaceholder } }, /redis\.port = 70000: must be a TCP port from 1 to 65535/);
      await rejects({ storageClassName: "GP3 Encrypted" }, /storageClassName = "GP3 Encrypted": must be a Kubernetes object name/);
    });

    it("rejects an EBS CSI build not chosen for the cluster version, a non-KMS volume key and a wildcard secret ARN, before anything exists", async () => {
      await rejects({ kubernetesVersion: "1.36" }, /EbsCsiDriver pyairtable-prod-addons: kubernetesVersion = "1\.36": the pinned aws-ebs-csi-driver/);
      await rejects({ ebsKmsKeyArn: "alias/aws/ebs" }, /kmsKeyArn = "alias\/aws\/ebs": must be the ARN of the customer-managed KMS key/);
      await rejects({ secretStoreSecretArns: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:*"] }, /secretArns\[0\] = .*no wildcards/);
    });

    it("rejects a malformed Redis token without echoing it", async () => {
      await rejects({ redis: { endpoint: "r.cache.amazonaws.com", port: 6379, authToken: `${tokenPlaceholder} with spaces` } }, /redis\.authToken: must be 16-128 printable characters/);
    });

    it("rejects Aurora capacities outside Serverless v2's range", async () => {
      const db = (minAcu: number, maxAcu: number) => ({ database: { endpoint: writer("prod"), readerEndpoint: reader("prod"), port: 15432, minAcu, maxAcu } });
      await rejects(db(4, 2), /database\.minAcu = 4: must not exceed maxAcu \(2\)/);
      await rejects(db(0.5, 0.5), /database\.maxAcu = 0\.5: must be a number from 1 to 256 in steps of 0\.5/);
      await rejects(db(1, 16.3), /database\.maxAcu = 16\.3/);
    });

    it("rejects a missing service range", async () => {
      const { "user-services": _omitted, ...services } = settingsOf("prod").services;
      await rejects({ services }, /services\.user-services\.maxReplicas = undefined: must be a whole number >= 1/);
    });
  });
});
