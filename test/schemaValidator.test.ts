import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createManifestValidator,
  describeSchemaRegistry,
  formatValidationErrors,
  kindsWithoutSchema,
  resolveSchemasDir,
  validateManifest,
  validateManifests,
  type ManifestValidationResult,
} from "../lib/k8s/schemaValidator";
import { crdSchemaDigests } from "../lib/k8s/crdSchemaDigest";
import { addonCharts } from "../lib/catalog/addons";

// ---------------------------------------------------------------------------------------------
// Fixtures: one realistic, valid object per registered kind
// ---------------------------------------------------------------------------------------------

type Manifest = Record<string, any>;

const NS = "pyairtable";
const appLabels = { "app.kubernetes.io/name": "api-server", "app.kubernetes.io/part-of": "pyairtable" };

const podSpec = (): Manifest => ({
  serviceAccountName: "api-server",
  containers: [
    {
      name: "api",
      image: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/pyairtable/api:1.4.2",
      ports: [{ name: "http", containerPort: 8000, protocol: "TCP" }],
      env: [
        { name: "LOG_LEVEL", value: "info" },
        { name: "REDIS_URL", valueFrom: { secretKeyRef: { name: "redis", key: "url" } } },
      ],
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
      readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
    },
  ],
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: appLabels },
    },
  ],
});

const scaledObject = (): Manifest => ({
  apiVersion: "keda.sh/v1alpha1",
  kind: "ScaledObject",
  metadata: { name: "api-server", namespace: NS, labels: appLabels },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api-server" },
    pollingInterval: 15,
    cooldownPeriod: 300,
    minReplicaCount: 2,
    maxReplicaCount: 40,
    fallback: { failureThreshold: 3, replicas: 6 },
    advanced: {
      restoreToOriginalReplicaCount: false,
      horizontalPodAutoscalerConfig: {
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policies: [
              { type: "Percent", value: 100, periodSeconds: 15 },
              { type: "Pods", value: 4, periodSeconds: 15 },
            ],
          },
          scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 10, periodSeconds: 60 }] },
        },
      },
    },
    triggers: [
      {
        type: "redis",
        name: "job-queue",
        metadata: { address: "redis.pyairtable.svc:6379", listName: "jobs", listLength: "50" },
        authenticationRef: { name: "redis-auth" },
      },
      { type: "cpu", metricType: "Utilization", metadata: { value: "70" } },
    ],
  },
});

const scaledJob = (): Manifest => ({
  apiVersion: "keda.sh/v1alpha1",
  kind: "ScaledJob",
  metadata: { name: "csv-import", namespace: NS },
  spec: {
    jobTargetRef: {
      parallelism: 1,
      backoffLimit: 2,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "import", image: "pyairtable/worker:1.4.2", args: ["import-csv"] }],
        },
      },
    },
    pollingInterval: 10,
    maxReplicaCount: 20,
    successfulJobsHistoryLimit: 3,
    scalingStrategy: { strategy: "accurate" },
    triggers: [{ type: "redis", metadata: { address: "redis.pyairtable.svc:6379", listName: "imports", listLength: "1" } }],
  },
});

const triggerAuthentication = (): Manifest => ({
  apiVersion: "keda.sh/v1alpha1",
  kind: "TriggerAuthentication",
  metadata: { name: "redis-auth", namespace: NS },
  spec: { secretTargetRef: [{ parameter: "password", name: "redis", key: "password" }] },
});

const clusterTriggerAuthentication = (): Manifest => ({
  apiVersion: "keda.sh/v1alpha1",
  kind: "ClusterTriggerAuthentication",
  metadata: { name: "aws-pod-identity" },
  spec: { podIdentity: { provider: "aws", identityOwner: "keda" } },
});

const verticalPodAutoscaler = (): Manifest => ({
  apiVersion: "autoscaling.k8s.io/v1",
  kind: "VerticalPodAutoscaler",
  metadata: { name: "worker", namespace: NS },
  spec: {
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "worker" },
    updatePolicy: { updateMode: "Initial", minReplicas: 2 },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: "worker",
          mode: "Auto",
          controlledResources: ["cpu", "memory"],
          controlledValues: "RequestsAndLimits",
          minAllowed: { cpu: "100m", memory: "128Mi" },
          maxAllowed: { cpu: 2, memory: "4Gi" },
        },
        { containerName: "istio-proxy", mode: "Off" },
      ],
    },
  },
});

const verticalPodAutoscalerCheckpoint = (): Manifest => ({
  apiVersion: "autoscaling.k8s.io/v1",
  kind: "VerticalPodAutoscalerCheckpoint",
  metadata: { name: "worker-worker", namespace: NS },
  spec: { vpaObjectName: "worker", containerName: "worker" },
  status: {
    version: "v3",
    lastUpdateTime: null,
    firstSampleStart: "2026-01-01T00:00:00Z",
    cpuHistogram: { bucketWeights: { "3": 10000 }, totalWeight: 1.5, referenceTimestamp: null },
    totalSamplesCount: 12,
  },
});

const prometheusRule = (): Manifest => ({
  apiVersion: "monitoring.coreos.com/v1",
  kind: "PrometheusRule",
  metadata: { name: "autoscaling", namespace: "monitoring", labels: { release: "kube-prometheus-stack" } },
  spec: {
    groups: [
      {
        name: "autoscaling.rules",
        interval: "30s",
        partial_response_strategy: "warn",
        rules: [
          {
            record: "pyairtable:request_rate:5m",
            expr: 'sum(rate(http_requests_total{namespace="pyairtable"}[5m]))',
          },
          {
            alert: "HPAMaxedOut",
            expr: "kube_horizontalpodautoscaler_status_current_replicas >= kube_horizontalpodautoscaler_spec_max_replicas",
            for: "15m",
            labels: { severity: "warning" },
            annotations: { summary: "HPA {{ $labels.horizontalpodautoscaler }} is at max replicas" },
          },
        ],
      },
    ],
  },
});

const serviceMonitor = (): Manifest => ({
  apiVersion: "monitoring.coreos.com/v1",
  kind: "ServiceMonitor",
  metadata: { name: "api-server", namespace: NS },
  spec: {
    selector: { matchLabels: appLabels },
    namespaceSelector: { matchNames: [NS] },
    endpoints: [{ port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s", honorLabels: false }],
  },
});

const nodePool = (): Manifest => ({
  apiVersion: "karpenter.sh/v1",
  kind: "NodePool",
  metadata: { name: "general-purpose" },
  spec: {
    weight: 10,
    template: {
      metadata: { labels: { workload: "general" } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
        expireAfter: "720h",
        requirements: [
          { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] },
          { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
          { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
          { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["5"] },
        ],
        taints: [{ key: "pyairtable.io/dedicated", value: "general", effect: "NoSchedule" }],
      },
    },
    limits: { cpu: "1000", memory: "2000Gi" },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "1m",
      budgets: [{ nodes: "10%" }, { nodes: "0", schedule: "0 9 * * mon-fri", duration: "8h", reasons: ["Drifted"] }],
    },
  },
});

const ec2NodeClass = (): Manifest => ({
  apiVersion: "karpenter.k8s.aws/v1",
  kind: "EC2NodeClass",
  metadata: { name: "default" },
  spec: {
    amiSelectorTerms: [{ alias: "al2023@latest" }],
    role: "KarpenterNodeRole-pyairtable",
    subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "pyairtable" } }],
    securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": "pyairtable" } }, { id: "sg-0123456789abcdef0" }],
    metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
    blockDeviceMappings: [
      { deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: "100Gi", volumeType: "gp3", encrypted: true } },
    ],
    tags: { "pyairtable.io/team": "platform" },
  },
});

const horizontalPodAutoscaler = (): Manifest => ({
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "frontend", namespace: NS },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "frontend" },
    minReplicas: 2,
    maxReplicas: 20,
    metrics: [
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
      {
        type: "Pods",
        pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "100" } },
      },
    ],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
    },
  },
});

const deployment = (): Manifest => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "api-server", namespace: NS, labels: appLabels, annotations: { "pyairtable.io/owner": "platform" } },
  spec: {
    replicas: 3,
    revisionHistoryLimit: 5,
    selector: { matchLabels: appLabels },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
    template: { metadata: { labels: appLabels }, spec: podSpec() },
  },
});

const cronJob = (): Manifest => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "predictive-prescale", namespace: NS },
  spec: {
    schedule: "*/5 * * * *",
    timeZone: "Etc/UTC",
    concurrencyPolicy: "Forbid",
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    jobTemplate: {
      spec: {
        backoffLimit: 1,
        activeDeadlineSeconds: 240,
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "prescale", image: "pyairtable/autoscaler:0.3.0", args: ["prescale"] }],
          },
        },
      },
    },
  },
});

const podDisruptionBudget = (): Manifest => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "api-server", namespace: NS },
  spec: { maxUnavailable: "20%", selector: { matchLabels: appLabels }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
});

const configMap = (): Manifest => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "autoscaler-config", namespace: NS },
  data: { "config.yaml": "targetUtilization: 0.7\n", LOG_LEVEL: "info" },
});

const secret = (): Manifest => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "redis", namespace: NS },
  type: "Opaque",
  data: { password: Buffer.from("s3cr3t").toString("base64") },
  stringData: { url: "redis://redis.pyairtable.svc:6379/0" },
});

const service = (): Manifest => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "api-server", namespace: NS, labels: appLabels },
  spec: { type: "ClusterIP", selector: appLabels, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
});

const namespace = (): Manifest => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: NS, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
});

const podMonitor = (): Manifest => ({
  apiVersion: "monitoring.coreos.com/v1",
  kind: "PodMonitor",
  metadata: { name: "pyairtable-workers", namespace: "monitoring" },
  spec: {
    namespaceSelector: { matchNames: [NS] },
    selector: { matchLabels: { "app.kubernetes.io/part-of": "pyairtable" } },
    podMetricsEndpoints: [
      {
        port: "metrics",
        path: "/metrics",
        interval: "15s",
        relabelings: [{ action: "replace", sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], targetLabel: "service" }],
      },
    ],
  },
});

const priorityClass = (): Manifest => ({
  apiVersion: "scheduling.k8s.io/v1",
  kind: "PriorityClass",
  metadata: { name: "pyairtable-critical" },
  value: 1000000,
  globalDefault: false,
  preemptionPolicy: "PreemptLowerPriority",
  description: "User-facing API services",
});

const resourceQuota = (): Manifest => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "compute", namespace: NS },
  spec: { hard: { "requests.cpu": "40", "requests.memory": "80Gi", "limits.memory": "160Gi", pods: "200" } },
});

const limitRange = (): Manifest => ({
  apiVersion: "v1",
  kind: "LimitRange",
  metadata: { name: "defaults", namespace: NS },
  spec: { limits: [{ type: "Container", default: { memory: "512Mi" }, defaultRequest: { cpu: "100m", memory: "256Mi" }, max: { memory: "8Gi" } }] },
});

const serviceAccount = (): Manifest => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name: "autoscaler", namespace: NS, annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/autoscaler" } },
  automountServiceAccountToken: false,
});

const networkPolicy = (): Manifest => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "default-deny", namespace: NS },
  spec: {
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }], ports: [{ protocol: "UDP", port: 53 }] }],
  },
});

const validatingAdmissionPolicy = (): Manifest => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: "pyairtable-workload-contract" },
  spec: {
    failurePolicy: "Fail",
    matchConstraints: {
      resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments", "statefulsets"] }],
    },
    validations: [{ expression: "object.spec.template.spec.containers.all(c, has(c.resources.requests))", message: "every container sets resource requests" }],
  },
});

const validatingAdmissionPolicyBinding = (): Manifest => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  metadata: { name: "pyairtable-workload-contract" },
  spec: {
    policyName: "pyairtable-workload-contract",
    validationActions: ["Deny"],
    matchResources: { namespaceSelector: { matchLabels: { "app.kubernetes.io/part-of": "pyairtable" } } },
  },
});

const statefulSet = (): Manifest => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "search-indexer", namespace: NS, labels: appLabels },
  spec: {
    serviceName: "search-indexer",
    replicas: 2,
    selector: { matchLabels: appLabels },
    template: { metadata: { labels: appLabels }, spec: podSpec() },
    volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } }],
  },
});

const daemonSet = (): Manifest => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "dcgm-exporter", namespace: "monitoring", labels: appLabels },
  spec: {
    selector: { matchLabels: appLabels },
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
    template: { metadata: { labels: appLabels }, spec: podSpec() },
  },
});

const securityGroupPolicy = (): Manifest => ({
  apiVersion: "vpcresources.k8s.aws/v1beta1",
  kind: "SecurityGroupPolicy",
  metadata: { name: "database-clients", namespace: NS },
  spec: { podSelector: { matchLabels: { "pyairtable.io/data-access": "aurora" } }, securityGroups: { groupIds: ["sg-0123456789abcdef0"] } },
});


// cert-manager v1.21.1 and External Secrets v2.9.0 (issue 19): the kinds their charts install.
const issuerRef = { group: "cert-manager.io", kind: "ClusterIssuer", name: "pyairtable-ca" };
const certificate = (): Manifest => ({
  apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: "pgbouncer-tls", namespace: NS },
  spec: { secretName: "pgbouncer-tls", dnsNames: ["pgbouncer.pyairtable-data.svc"], duration: "2160h", renewBefore: "720h", privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" }, usages: ["server auth"], issuerRef },
});
const certificateRequest = (): Manifest => ({
  apiVersion: "cert-manager.io/v1", kind: "CertificateRequest", metadata: { name: "pgbouncer-tls-1", namespace: NS },
  spec: { request: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K", issuerRef, usages: ["server auth"] },
});
const clusterIssuer = (): Manifest => ({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "pyairtable-ca" }, spec: { ca: { secretName: "pyairtable-ca" } } });
const issuer = (): Manifest => ({ apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: { name: "selfsigned", namespace: NS }, spec: { selfSigned: {} } });
const awsProvider = { aws: { service: "SecretsManager", region: "us-east-1", auth: { jwt: { serviceAccountRef: { name: "aws-secrets-manager", namespace: "external-secrets" } } } } };
const clusterSecretStore = (): Manifest => ({
  apiVersion: "external-secrets.io/v1", kind: "ClusterSecretStore", metadata: { name: "aws-secrets-manager" },
  spec: { provider: awsProvider, conditions: [{ namespaces: [NS] }], refreshInterval: 600 },
});
const secretStore = (): Manifest => ({ apiVersion: "external-secrets.io/v1", kind: "SecretStore", metadata: { name: "aws", namespace: NS }, spec: { provider: { aws: { service: "SecretsManager", region: "us-east-1" } } } });
const externalSecretSpec = {
  refreshInterval: "1h",
  secretStoreRef: { kind: "ClusterSecretStore", name: "aws-secrets-manager" },
  target: { name: "pyairtable-pgbouncer-userlist", creationPolicy: "Owner", template: { engineVersion: "v2", data: { "userlist.txt": '"{{ .username }}" "{{ .password }}"' } } },
  dataFrom: [{ extract: { key: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1-AbCdEf" } }],
};
const externalSecret = (): Manifest => ({ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "pyairtable-pgbouncer-userlist", namespace: NS }, spec: externalSecretSpec });
const clusterExternalSecret = (): Manifest => ({
  apiVersion: "external-secrets.io/v1", kind: "ClusterExternalSecret", metadata: { name: "shared" },
  spec: { namespaceSelectors: [{ matchLabels: { "app.kubernetes.io/part-of": "pyairtable" } }], externalSecretSpec },
});
const pushSecret = (): Manifest => ({
  apiVersion: "external-secrets.io/v1alpha1", kind: "PushSecret", metadata: { name: "push", namespace: NS },
  spec: { secretStoreRefs: [{ kind: "ClusterSecretStore", name: "aws-secrets-manager" }], selector: { secret: { name: "x" } }, data: [{ match: { secretKey: "k", remoteRef: { remoteKey: "pyairtable/x" } } }] },
});

/** Keyed like the registry (`apiVersion kind`), so a new schema without a fixture fails a test. */
const validFixtures: Record<string, () => Manifest> = {
  "keda.sh/v1alpha1 ScaledObject": scaledObject,
  "keda.sh/v1alpha1 ScaledJob": scaledJob,
  "keda.sh/v1alpha1 TriggerAuthentication": triggerAuthentication,
  "keda.sh/v1alpha1 ClusterTriggerAuthentication": clusterTriggerAuthentication,
  "autoscaling.k8s.io/v1 VerticalPodAutoscaler": verticalPodAutoscaler,
  "autoscaling.k8s.io/v1 VerticalPodAutoscalerCheckpoint": verticalPodAutoscalerCheckpoint,
  "monitoring.coreos.com/v1 PrometheusRule": prometheusRule,
  "monitoring.coreos.com/v1 ServiceMonitor": serviceMonitor,
  "karpenter.sh/v1 NodePool": nodePool,
  "karpenter.k8s.aws/v1 EC2NodeClass": ec2NodeClass,
  "autoscaling/v2 HorizontalPodAutoscaler": horizontalPodAutoscaler,
  "apps/v1 Deployment": deployment,
  "batch/v1 CronJob": cronJob,
  "policy/v1 PodDisruptionBudget": podDisruptionBudget,
  "v1 ConfigMap": configMap,
  "v1 Secret": secret,
  "v1 Service": service,
  "v1 Namespace": namespace,
  "monitoring.coreos.com/v1 PodMonitor": podMonitor,
  "scheduling.k8s.io/v1 PriorityClass": priorityClass,
  "v1 ResourceQuota": resourceQuota,
  "v1 LimitRange": limitRange,
  "v1 ServiceAccount": serviceAccount,
  "networking.k8s.io/v1 NetworkPolicy": networkPolicy,
  "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy": validatingAdmissionPolicy,
  "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding": validatingAdmissionPolicyBinding,
  "apps/v1 StatefulSet": statefulSet,
  "apps/v1 DaemonSet": daemonSet,
  "vpcresources.k8s.aws/v1beta1 SecurityGroupPolicy": securityGroupPolicy,
  "cert-manager.io/v1 Certificate": certificate,
  "cert-manager.io/v1 CertificateRequest": certificateRequest,
  "cert-manager.io/v1 ClusterIssuer": clusterIssuer,
  "cert-manager.io/v1 Issuer": issuer,
  "external-secrets.io/v1 ClusterSecretStore": clusterSecretStore,
  "external-secrets.io/v1 SecretStore": secretStore,
  "external-secrets.io/v1 ExternalSecret": externalSecret,
  "external-secrets.io/v1 ClusterExternalSecret": clusterExternalSecret,
  "external-secrets.io/v1alpha1 PushSecret": pushSecret,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function assertValid(result: ManifestValidationResult): void {
  assert.deepEqual(result.errors, [], `expected no errors, got:\n${result.errors.join("\n")}`);
  assert.equal(result.ok, true);
}

/** Asserts the result failed with exactly one error line equal to `expected`. */
function assertSingleError(result: ManifestValidationResult, expected: string): void {
  assert.equal(result.ok, false);
  assert.deepEqual(result.errors, [expected]);
}

/** Asserts the result failed and one of its errors ends with `suffix`. */
function assertHasError(result: ManifestValidationResult, suffix: string): void {
  assert.equal(result.ok, false, "expected the object to be rejected");
  assert.ok(
    result.errors.some((e) => e.endsWith(suffix)),
    `expected an error ending with:\n  ${suffix}\ngot:\n  ${result.errors.join("\n  ")}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe("schemaValidator", () => {
  describe("registry", () => {
    it("resolves the schemas folder beside the repo, overridable by PYAIRTABLE_SCHEMAS_DIR", () => {
      const repoRoot = path.resolve(__dirname, "..");
      assert.equal(resolveSchemasDir({}), path.resolve(repoRoot, "../shared/schemas"));
      assert.equal(resolveSchemasDir({ PYAIRTABLE_SCHEMAS_DIR: "/tmp/other-schemas" }), "/tmp/other-schemas");
    });

    it("registers exactly the served CRD versions and the core kinds, without warnings", () => {
      const { schemas, warnings } = describeSchemaRegistry();
      const keys = schemas.map((s) => `${s.apiVersion} ${s.kind}`).sort();
      assert.deepEqual(keys, Object.keys(validFixtures).sort());
      assert.deepEqual(warnings, []);
      assert.equal(schemas.filter((s) => s.origin === "crd").length, 21);
      assert.equal(schemas.filter((s) => s.origin === "core").length, 17);
    });

    it("takes CRD versions from the files (VPA v1 served, v1beta2 not)", () => {
      const vpa = describeSchemaRegistry().schemas.filter((s) => s.kind === "VerticalPodAutoscaler");
      assert.deepEqual(
        vpa.map((s) => [s.apiVersion, s.source]),
        [["autoscaling.k8s.io/v1", "vpa/vpa-v1-crd-gen.yaml"]],
      );
    });

    it("reads nothing until first use, and fails clearly when the folder is missing", () => {
      const validator = createManifestValidator({ schemasDir: path.join(os.tmpdir(), "no-such-schemas-dir") });
      assert.throws(() => validator.validateManifest(configMap()), /Kubernetes schemas folder not found/);
    });

    it("is side-effect free at import (a missing folder only matters on first use)", () => {
      const script = `require(${JSON.stringify(path.resolve(__dirname, "../lib/k8s/schemaValidator.ts"))}); console.log("imported")`;
      const run = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", script], {
        cwd: path.resolve(__dirname, ".."),
        env: { ...process.env, PYAIRTABLE_SCHEMAS_DIR: "/nonexistent/schemas" },
        encoding: "utf8",
      });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), "imported");
    });

    it("builds its registry only from the files present in an overridden folder", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "schemas-"));
      try {
        fs.mkdirSync(path.join(dir, "kubernetes"));
        fs.copyFileSync(
          path.join(resolveSchemasDir({}), "kubernetes/configmap-v1.json"),
          path.join(dir, "kubernetes/configmap-v1.json"),
        );
        const validator = createManifestValidator({ schemasDir: resolveSchemasDir({ PYAIRTABLE_SCHEMAS_DIR: dir }) });
        assert.deepEqual(
          validator.describeSchemaRegistry().schemas.map((s) => `${s.apiVersion} ${s.kind}`),
          ["v1 ConfigMap"],
        );
        assertValid(validator.validateManifest(configMap()));
        assertHasError(validator.validateManifest(scaledObject()), "/: no schema for keda.sh/v1alpha1 ScaledObject (vendor its schema in shared/schemas or add it to kindsWithoutSchema)");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("structural-schema conversion (synthetic CRD in an overridden folder)", () => {
    const widgetCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  names: { kind: Widget, plural: widgets }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                timeout: { type: string, format: duration }
                checksum: { type: string, format: md5-hex }
                replicas: { x-kubernetes-int-or-string: true }
                note: { type: string, nullable: true }
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties: { known: { type: string } }
    - name: v2
      served: false
      storage: false
      schema: { openAPIV3Schema: { type: object } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: not-a-crd }
`;
    let dir = "";
    let validator: ReturnType<typeof createManifestValidator>;
    const widget = (spec: Manifest): Manifest => ({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "default" },
      spec,
    });

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "schemas-"));
      fs.writeFileSync(path.join(dir, "widgets.yaml"), widgetCrd);
      validator = createManifestValidator({ schemasDir: dir });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("registers only the served version and ignores non-CRD documents", () => {
      const { schemas, warnings } = validator.describeSchemaRegistry();
      assert.deepEqual(schemas, [{ apiVersion: "example.com/v1", kind: "Widget", origin: "crd", source: "widgets.yaml" }]);
      assert.deepEqual(warnings, []);
      assertHasError(
        validator.validateManifest({ ...widget({}), apiVersion: "example.com/v2" }),
        "/: no schema for example.com/v2 Widget (this version is defined in widgets.yaml but not served)",
      );
    });

    it("accepts Go durations, unknown formats, int-or-string, nullable and preserved unknown fields", () => {
      assertValid(
        validator.validateManifest(
          widget({ timeout: "1h30m", checksum: "anything", replicas: "50%", note: null, extra: { known: "a", free: { x: 1 } } }),
        ),
      );
      assertValid(validator.validateManifest(widget({ replicas: 3 })));
    });

    it("rejects ISO durations, non-int-or-string values and unknown fields", () => {
      const { errors } = validator.validateManifest(widget({ timeout: "PT5M", replicas: true, extra: { known: 1 }, colour: "red" }));
      assert.deepEqual([...errors].sort(), [
        'example.com/v1 Widget default/w: /spec/extra/known: must be string',
        'example.com/v1 Widget default/w: /spec/replicas: must be integer or string',
        'example.com/v1 Widget default/w: /spec/timeout: must match format "duration"',
        "example.com/v1 Widget default/w: /spec: must NOT have additional property 'colour'",
      ]);
    });
  });

  describe("valid objects pass", () => {
    for (const [key, fixture] of Object.entries(validFixtures)) {
      it(key, () => {
        const result = validateManifest(fixture());
        assertValid(result);
        const obj = fixture();
        assert.equal(`${result.apiVersion} ${result.kind}`, key);
        assert.equal(result.name, obj.metadata.name);
        assert.equal(result.skipped, undefined);
      });
    }

    it("KEDA accepts behavior tolerance under advanced.horizontalPodAutoscalerConfig (KEDA v2.20 CRD)", () => {
      const obj = scaledObject();
      obj.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance = "0.05";
      assertValid(validateManifest(obj));
    });

    it("accepts explicit null for an IntOrString field of a core schema (oneOf quirk)", () => {
      const obj = podDisruptionBudget();
      obj.spec = { minAvailable: 2, maxUnavailable: null, selector: { matchLabels: appLabels } };
      assertValid(validateManifest(obj));
    });

    it("accepts integer and string quantities for x-kubernetes-int-or-string", () => {
      const obj = nodePool();
      obj.spec.limits = { cpu: 1000, memory: "2000Gi" };
      assertValid(validateManifest(obj));
    });

    it("applies Go's (?i) inline flag of a CRD pattern as case-insensitive", () => {
      const obj = prometheusRule();
      obj.spec.groups[0].partial_response_strategy = "ABORT";
      assertValid(validateManifest(obj));
    });

    it("ignores undefined fields, as serialization would", () => {
      const obj = deployment();
      obj.spec.paused = undefined;
      obj.metadata.annotations = undefined;
      assertValid(validateManifest(obj));
    });
  });

  describe("invalid objects fail with precise errors", () => {
    it("rejects an unknown field in a CRD spec", () => {
      const obj = scaledObject();
      obj.spec.pollingIntervall = 30;
      assertSingleError(
        validateManifest(obj),
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec: must NOT have additional property 'pollingIntervall'",
      );
    });

    it("rejects an unknown field deep inside a CRD", () => {
      const obj = ec2NodeClass();
      obj.spec.blockDeviceMappings[0].ebs.sizeGi = 100;
      assertSingleError(
        validateManifest(obj),
        "karpenter.k8s.aws/v1 EC2NodeClass default: /spec/blockDeviceMappings/0/ebs: must NOT have additional property 'sizeGi'",
      );
    });

    it("rejects an unknown field in a core spec", () => {
      const obj = deployment();
      obj.spec.template.spec.containers[0].resource = { requests: { cpu: "1" } };
      assertSingleError(
        validateManifest(obj),
        "apps/v1 Deployment pyairtable/api-server: /spec/template/spec/containers/0: must NOT have additional property 'resource'",
      );
    });

    it("rejects a non-string KEDA trigger metadata value", () => {
      const obj = scaledObject();
      obj.spec.triggers[0].metadata.listLength = 50;
      assertSingleError(
        validateManifest(obj),
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec/triggers/0/metadata/listLength: must be string",
      );
    });

    it("rejects a wrong type (CRD and core)", () => {
      const so = scaledObject();
      so.spec.minReplicaCount = "2";
      assertHasError(validateManifest(so), "/spec/minReplicaCount: must be integer");
      const dep = deployment();
      dep.spec.replicas = "3";
      assertSingleError(validateManifest(dep), "apps/v1 Deployment pyairtable/api-server: /spec/replicas: must be integer");
    });

    it("rejects a missing required field (ScaledObject without scaleTargetRef)", () => {
      const obj = scaledObject();
      delete obj.spec.scaleTargetRef;
      assertSingleError(
        validateManifest(obj),
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec: must have required property 'scaleTargetRef'",
      );
    });

    it("rejects an HPA behavior tolerance, absent from the v1.32 schema", () => {
      const obj = horizontalPodAutoscaler();
      obj.spec.behavior.scaleUp.tolerance = "0.05";
      assertSingleError(
        validateManifest(obj),
        "autoscaling/v2 HorizontalPodAutoscaler pyairtable/frontend: /spec/behavior/scaleUp: must NOT have additional property 'tolerance'",
      );
    });

    it("rejects an enum violation and lists the allowed values", () => {
      const obj = ec2NodeClass();
      obj.spec.metadataOptions.httpTokens = "requried";
      assertHasError(validateManifest(obj), '/spec/metadataOptions/httpTokens: must be one of "required", "optional"');
    });

    it("rejects a pattern violation", () => {
      const obj = nodePool();
      obj.spec.disruption.consolidateAfter = "5 minutes";
      assertHasError(validateManifest(obj), '/spec/disruption/consolidateAfter: must match pattern "^(([0-9]+(s|m|h))+|Never)$"');
    });

    it("still enforces a (?i) pattern", () => {
      const obj = prometheusRule();
      obj.spec.groups[0].partial_response_strategy = "sometimes";
      assertHasError(validateManifest(obj), '/spec/groups/0/partial_response_strategy: must match pattern "^(?i)(abort|warn)?$"');
    });

    it("rejects a value that is neither integer nor string for x-kubernetes-int-or-string", () => {
      const obj = verticalPodAutoscaler();
      obj.spec.resourcePolicy.containerPolicies[0].minAllowed.memory = true;
      assertSingleError(
        validateManifest(obj),
        "autoscaling.k8s.io/v1 VerticalPodAutoscaler pyairtable/worker: /spec/resourcePolicy/containerPolicies/0/minAllowed/memory: must be integer or string",
      );
    });

    it("rejects a malformed quantity string for x-kubernetes-int-or-string with a pattern", () => {
      const obj = verticalPodAutoscaler();
      obj.spec.resourcePolicy.containerPolicies[0].maxAllowed.memory = "4 GB";
      const quantityPattern = String.raw`^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`;
      assertSingleError(
        validateManifest(obj),
        `autoscaling.k8s.io/v1 VerticalPodAutoscaler pyairtable/worker: /spec/resourcePolicy/containerPolicies/0/maxAllowed/memory: must match pattern "${quantityPattern}"`,
      );
    });

    it("rejects a non-IntOrString value in a core oneOf field", () => {
      const obj = podDisruptionBudget();
      obj.spec.maxUnavailable = true;
      assertSingleError(
        validateManifest(obj),
        "policy/v1 PodDisruptionBudget pyairtable/api-server: /spec/maxUnavailable: must be string or integer",
      );
    });

    it("checks formats: byte (base64) and int32 range", () => {
      const sec = secret();
      sec.data.password = "not base64!";
      assertSingleError(validateManifest(sec), 'v1 Secret pyairtable/redis: /data/password: must match format "byte"');
      const dep = deployment();
      dep.spec.replicas = 2 ** 31;
      assertSingleError(validateManifest(dep), 'apps/v1 Deployment pyairtable/api-server: /spec/replicas: must match format "int32"');
    });

    it("rejects null where a CRD field is not nullable", () => {
      const obj = scaledObject();
      obj.spec.cooldownPeriod = null;
      assertSingleError(
        validateManifest(obj),
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec/cooldownPeriod: must be integer",
      );
    });

    it("reports every problem of an object at once", () => {
      const obj = scaledObject();
      obj.spec.foo = 1;
      obj.spec.fallback.bar = 2;
      delete obj.spec.triggers[1].type;
      const { errors } = validateManifest(obj);
      assert.deepEqual([...errors].sort(), [
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec/fallback: must NOT have additional property 'bar'",
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec/triggers/1: must have required property 'type'",
        "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /spec: must NOT have additional property 'foo'",
      ]);
    });

    it("rejects unknown top-level fields of a CRD object", () => {
      const obj = nodePool();
      obj.specs = {};
      assertSingleError(validateManifest(obj), "karpenter.sh/v1 NodePool general-purpose: /: must NOT have additional property 'specs'");
    });
  });

  describe("unknown and allow-listed kinds", () => {
    it("rejects VPA v1beta2 (defined but not served) as having no schema", () => {
      const obj = verticalPodAutoscaler();
      obj.apiVersion = "autoscaling.k8s.io/v1beta2";
      const result = validateManifest(obj);
      assert.equal(result.ok, false);
      assert.equal(result.errors.length, 1);
      assert.match(
        result.errors[0] ?? "",
        /^autoscaling\.k8s\.io\/v1beta2 VerticalPodAutoscaler pyairtable\/worker: \/: no schema for autoscaling\.k8s\.io\/v1beta2 VerticalPodAutoscaler \(this version is defined in vpa\/vpa-v1-crd-gen\.yaml but not served\)$/,
      );
    });

    it("rejects an unknown kind", () => {
      const result = validateManifest({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: "web", namespace: NS },
        spec: {},
      });
      assertHasError(result, "/: no schema for networking.k8s.io/v1 Ingress (vendor its schema in shared/schemas or add it to kindsWithoutSchema)");
    });

    it("names the known versions when only the version is wrong", () => {
      const obj = horizontalPodAutoscaler();
      obj.apiVersion = "autoscaling/v1";
      assertHasError(validateManifest(obj), "no schema for autoscaling/v1 HorizontalPodAutoscaler (known versions: autoscaling/v2)");
    });

    it("skips an allow-listed kind with its reason", () => {
      const result = validateManifest({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "keda-operator-secrets", namespace: NS },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
      });
      assertValid(result);
      assert.equal(result.skipped, kindsWithoutSchema["rbac.authorization.k8s.io/v1 Role"]);
      assert.ok((result.skipped ?? "").length > 0);
    });

    it("allows RBAC names with colons but still checks the envelope of allow-listed kinds", () => {
      assertValid(
        validateManifest({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "pyairtable:autoscaler" }, rules: [] }),
      );
      const result = validateManifest({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { namespace: NS } });
      assert.equal(result.skipped, kindsWithoutSchema["rbac.authorization.k8s.io/v1 RoleBinding"]);
      assertSingleError(result, "rbac.authorization.k8s.io/v1 RoleBinding pyairtable/<unnamed>: /metadata: must have required property 'name'");
    });

    it("lists every allow-listed kind with a reason, and none that has a vendored schema", () => {
      const registered = new Set(describeSchemaRegistry().schemas.map((s) => `${s.apiVersion} ${s.kind}`));
      assert.deepEqual(Object.keys(kindsWithoutSchema).sort(), [
        "rbac.authorization.k8s.io/v1 ClusterRole",
        "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1 Role",
        "rbac.authorization.k8s.io/v1 RoleBinding",
        "storage.k8s.io/v1 StorageClass",
      ]);
      for (const [key, reason] of Object.entries(kindsWithoutSchema)) {
        assert.ok(reason.length > 10, `missing reason for ${key}`);
        assert.ok(!registered.has(key), `${key} has a vendored schema: validate it instead of allow-listing it`);
      }
    });

    it("validates the kinds vendored since the first release instead of skipping them", () => {
      for (const key of [
        "monitoring.coreos.com/v1 PodMonitor",
        "scheduling.k8s.io/v1 PriorityClass",
        "v1 ResourceQuota",
        "v1 LimitRange",
        "v1 ServiceAccount",
        "networking.k8s.io/v1 NetworkPolicy",
        "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy",
        "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding",
        "apps/v1 StatefulSet",
        "apps/v1 DaemonSet",
        "vpcresources.k8s.aws/v1beta1 SecurityGroupPolicy",
      ]) {
        const obj = validFixtures[key]!();
        (obj as Record<string, unknown>).unexpectedField = true;
        const result = validateManifest(obj);
        assert.equal(result.skipped, undefined, key);
        assert.equal(result.ok, false, `${key} accepted an unknown field`);
      }
    });
  });

  describe("envelope and metadata", () => {
    it("requires apiVersion, kind, metadata and metadata.name, even where core schemas do not", () => {
      assertSingleError(validateManifest({ kind: "ConfigMap", metadata: { name: "x" } }), "<no apiVersion> ConfigMap x: /: must have required property 'apiVersion'");
      assertSingleError(validateManifest({ apiVersion: "v1", kind: "ConfigMap" }), "v1 ConfigMap <unnamed>: /: must have required property 'metadata'");
      assertSingleError(validateManifest({ apiVersion: "v1", kind: "ConfigMap", metadata: {} }), "v1 ConfigMap <unnamed>: /metadata: must have required property 'name'");
      assertSingleError(validateManifest("apiVersion: v1"), "<no apiVersion> <no kind> <unnamed>: /: must be object");
    });

    it("validates names as DNS-1123 subdomains (labels for namespaces, DNS-1035 for services)", () => {
      const cm = configMap();
      cm.metadata.name = "Autoscaler_Config";
      assertHasError(validateManifest(cm), "/metadata/name: must be a DNS-1123 subdomain (at most 253 lowercase alphanumerics, '-' or '.', starting and ending alphanumeric)");
      const ns = namespace();
      ns.metadata.name = "pyairtable.prod";
      assertHasError(validateManifest(ns), "/metadata/name: must be a DNS-1123 label (at most 63 lowercase alphanumerics or '-', starting and ending alphanumeric)");
      const svc = service();
      svc.metadata.name = "1api";
      assertHasError(validateManifest(svc), "/metadata/name: must be a DNS-1035 label (at most 63 lowercase alphanumerics or '-', starting with a letter)");
      const long = configMap();
      long.metadata.name = "a".repeat(254);
      assertHasError(validateManifest(long), "/metadata/name: must be a DNS-1123 subdomain (at most 253 lowercase alphanumerics, '-' or '.', starting and ending alphanumeric)");
    });

    it("validates the namespace as a DNS-1123 label", () => {
      const obj = scaledObject();
      obj.metadata.namespace = "PyAirtable";
      assertHasError(validateManifest(obj), "/metadata/namespace: must be a DNS-1123 label (at most 63 lowercase alphanumerics or '-', starting and ending alphanumeric)");
    });

    it("validates labels and annotations of CRD objects (metadata is open in CRD schemas)", () => {
      const obj = scaledObject();
      obj.metadata.labels = { "app.kubernetes.io/name": "x".repeat(64), "bad key!": "ok", team: 7 };
      obj.metadata.annotations = { "example.com/": "x" };
      const { errors } = validateManifest(obj);
      const prefix = "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: ";
      assert.deepEqual(errors, [
        `${prefix}/metadata/labels/app.kubernetes.io~1name: invalid label value '${"x".repeat(64)}': must be at most 63 characters`,
        `${prefix}/metadata/labels/bad key!: invalid label key 'bad key!': name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric`,
        `${prefix}/metadata/labels/team: must be string`,
        `${prefix}/metadata/annotations/example.com~1: invalid annotation key 'example.com/': name part must be 1 to 63 characters`,
      ]);
    });

    it("rejects unknown metadata fields of CRD objects, without duplicating core schema errors", () => {
      const so = scaledObject();
      so.metadata.label = { a: "b" };
      assertSingleError(validateManifest(so), "keda.sh/v1alpha1 ScaledObject pyairtable/api-server: /metadata: must NOT have additional property 'label'");
      const cm = configMap();
      cm.metadata.label = { a: "b" };
      assertSingleError(validateManifest(cm), "v1 ConfigMap pyairtable/autoscaler-config: /metadata: must NOT have additional property 'label'");
    });
  });

  describe("batches, reporting and speed", () => {
    it("validateManifests keeps input order and formatValidationErrors reports only failures", () => {
      const bad = deployment();
      bad.spec.replica = 3;
      const results = validateManifests([configMap(), bad, namespace()]);
      assert.deepEqual(
        results.map((r) => [r.kind, r.ok]),
        [
          ["ConfigMap", true],
          ["Deployment", false],
          ["Namespace", true],
        ],
      );
      assert.equal(
        formatValidationErrors(results),
        "Schema validation failed for 1 of 3 manifest(s):\n" +
          "  - apps/v1 Deployment pyairtable/api-server: /spec: must NOT have additional property 'replica'",
      );
      assert.equal(formatValidationErrors(validateManifests([configMap()])), "");
    });

    // Its speed is measured in `npm run bench`, not asserted here (a loaded CI machine is not a benchmark).
    it("validates a few hundred objects of every kind in one call, all accepted", () => {
      const fixtures = Object.values(validFixtures);
      const objects = Array.from({ length: 360 }, (_, i) => fixtures[i % fixtures.length]!());
      const results = validateManifests(objects);
      assert.equal(results.length, objects.length);
      assert.deepEqual(results.filter((r) => !r.ok).map((r) => r.errors), []);
    });
  });
});

describe("prometheus-operator CRDs: the shared schemas are the ones kube-prometheus-stack installs", () => {
  const recorded = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../contracts/prometheus-operator/crd-schema-digests-v0.93.1.json"), "utf8")) as { operator_version: string; source: { tag: string }; crds: Record<string, string> };
  const sharedDir = path.join(resolveSchemasDir(), "prometheus-operator");
  const sharedText = (plural: string) => fs.readFileSync(path.join(sharedDir, `monitoring.coreos.com_${plural}.yaml`), "utf8");

  it("the recorded digests belong to the chart version the stack deploys", () => {
    assert.equal(recorded.source.tag, `kube-prometheus-stack-${addonCharts.kubePrometheusStack.version}`);
  });

  for (const plural of ["servicemonitors", "podmonitors", "prometheusrules"]) {
    it(`${plural}: the validator's schema has the served schemas of the ${recorded.operator_version} CRD`, () => {
      const name = `${plural}.monitoring.coreos.com`;
      assert.deepEqual(crdSchemaDigests(sharedText(plural)), [{ name, sha256: recorded.crds[name] }]);
    });
  }

  it("the digest ignores annotations and sees a schema change", () => {
    const text = sharedText("prometheusrules");
    const [base] = crdSchemaDigests(text);
    assert.deepEqual(crdSchemaDigests(text.replace(/operator\.prometheus\.io\/version: [\d.]+/, "operator.prometheus.io/version: 9.9.9")), [base]);
    const changed = text.replace(/(\n\s+)partial_response_strategy:/, "$1partialResponseStrategyX:");
    assert.notEqual(changed, text);
    assert.notEqual(crdSchemaDigests(changed)[0]!.sha256, base!.sha256);
  });
});
