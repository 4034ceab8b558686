/**
 * The add-on charts' pods as Helm renders them (contracts/charts/rendered/, lib/k8s/chartPods.ts)
 * from each chart at its pinned tag and the release's values in the plan: they are current (same
 * values digest), every values key exists in the chart, every pod passes its namespace's Pod
 * Security level, every container has CPU and memory requests and limits within its namespace's
 * LimitRange, and the platform quotas hold them.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { mib, milli, namespaceQuotaCapacity } from "./support/quotaCapacity";
import { planStack, type StackPlan } from "./support/plans";
import { stacks, loadStackSettings } from "./support/stacks";
import { containerBounds, platformNamespaceQuota, type PlatformNamespace } from "../components/addons/quotas";
import { addonCharts } from "../lib/catalog/addons";
import { loadChartValuesKeys, unknownValuesKeys } from "../lib/catalog/chartValuesKeys";
import { namespaces, stackNamespaces, type NamespaceName } from "../lib/catalog/cluster";
import { chartValuesDigest, loadRenderedChart, renderedChartsDir, missingResources, podsOfManifests, type RenderedChart, type RenderedPod } from "../lib/k8s/chartPods";
import { platformNamespaces } from "../lib/k8s/platformNetworkPolicies";
import { kubeSystemChartExceptions, namespacePodSecurity, podSecurityExceptions, restrictedViolations } from "../lib/k8s/podSecurity";
import { kubernetesObjects } from "../lib/plan/manifests";

type R = Record<string, any>;

const chartOfRelease: Record<string, { chart: string; version: string }> = {
  "kube-prometheus-stack": addonCharts.kubePrometheusStack,
  "prometheus-adapter": addonCharts.prometheusAdapter,
  "metrics-server": addonCharts.metricsServer,
  keda: addonCharts.keda,
  vpa: addonCharts.vpa,
  karpenter: addonCharts.karpenter,
  "external-secrets": addonCharts.externalSecrets,
  "cert-manager": addonCharts.certManager,
  "istio-base": addonCharts.istioBase,
  istiod: addonCharts.istiod,
  "istio-cni": addonCharts.istioCni,
};

/** Releases whose chart renders no pod (Istio's base: CRDs, cluster roles and the default webhook only). */
const podlessReleases = new Set(["istio-base"]);

/** The chart's name (an OCI reference's last segment). */
const chartName = (release: string) => chartOfRelease[release]!.chart.split("/").pop()!;

/** Every container of a pod spec with the namespace's LimitRange bounds broken, one message each. */
function outsideBounds(namespace: NamespaceName, spec: RenderedPod["spec"]): string[] {
  const b = containerBounds[namespace];
  const out: string[] = [];
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const k of ["requests", "limits"] as const) {
      const x = c.resources?.[k] ?? {};
      if (x.cpu !== undefined && (milli(x.cpu) < b.min.cpuMillis || milli(x.cpu) > b.max.cpuMillis)) out.push(`${c.name}: ${k}.cpu ${x.cpu} outside ${b.min.cpuMillis}m..${b.max.cpuMillis}m`);
      if (x.memory !== undefined && (mib(x.memory) < b.min.memoryMiB || mib(x.memory) > b.max.memoryMiB)) out.push(`${c.name}: ${k}.memory ${x.memory} outside ${b.min.memoryMiB}Mi..${b.max.memoryMiB}Mi`);
    }
  }
  return out;
}

describe("add-on chart pods (rendered with Helm from the charts at their tags)", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  const rendered: Record<string, RenderedChart[]> = {};
  before(async () => {
    for (const stack of stacks) {
      plans[stack] = await planStack(stack);
      rendered[stack] = plans[stack]!.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => loadRenderedChart(stack, (r.inputs as R).name));
    }
  });
  const releases = (stack: "prod" | "dev") => plans[stack]!.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs as R);
  const pods = (stack: "prod" | "dev") => rendered[stack]!.flatMap((c) => c.pods.map((p) => ({ release: c.release, ...p })));

  for (const stack of stacks) {
    it(`${stack}: every release is rendered from its chart version with the values the plan gives it (re-render with scripts/chart-render/render.ts after a values change)`, () => {
      const istio = loadStackSettings(stack).workloads.istioSidecars;
      const expected = Object.keys(chartOfRelease).filter((r) => istio || !r.startsWith("istio"));
      assert.deepEqual(releases(stack).map((r) => r.name).sort(), expected.sort());
      // No stale render of a release the stack no longer has.
      assert.deepEqual(fs.readdirSync(path.join(renderedChartsDir, stack)).sort(), releases(stack).map((r) => `${r.name}.pods.json`).sort());
      for (const r of releases(stack)) {
        const c = rendered[stack]!.find((x) => x.release === r.name)!;
        assert.equal(r.version, chartOfRelease[r.name]!.version);
        assert.deepEqual([c.chart, c.version, c.namespace], [chartName(r.name), r.version, r.namespace], `${stack} ${r.name}`);
        assert.equal(c.valuesSha256, chartValuesDigest(r.values ?? {}), `${stack} ${r.name}: the values changed since the render`);
        assert.ok((podlessReleases.has(r.name) || c.pods.length > 0) && c.sources[0]!.commit.length === 40, `${stack} ${r.name}`);
      }
      // The digest bites: one changed value is a different digest.
      const kps = releases(stack).find((r) => r.name === "kube-prometheus-stack")!;
      const changed = structuredClone(kps.values);
      changed.grafana.resources.limits.cpu = "2";
      assert.notEqual(chartValuesDigest(changed), chartValuesDigest(kps.values));
    });

    it(`${stack}: every values key set on every add-on chart exists in that chart version (contracts/charts/)`, () => {
      for (const r of releases(stack)) {
        const keys = loadChartValuesKeys(chartName(r.name), r.version);
        assert.deepEqual(unknownValuesKeys(r.values ?? {}, keys), [], `${stack}: ${r.name} ${r.version}`);
      }
      const vpaKeys = loadChartValuesKeys("vpa", addonCharts.vpa.version);
      assert.equal(unknownValuesKeys({ recommender: { resourcez: {} } }, vpaKeys).length, 1);
    });

    it(`${stack}: every chart pod passes its namespace's Pod Security level; the exceptions (node-exporter; Istio's CNI agent in kube-system) break only what their reasons name`, () => {
      const all = pods(stack);
      assert.ok(all.length >= 18, `${all.length} pod templates`);
      for (const p of all) {
        const level = (namespacePodSecurity as Record<string, string>)[p.namespace] ?? (p.namespace === "kube-system" ? "restricted" : undefined);
        assert.ok(level, `${p.release} ${p.workload}: namespace ${p.namespace} is not one the stack creates`);
        const found = restrictedViolations(p.spec);
        const kubeSystemException = p.namespace === "kube-system" ? kubeSystemChartExceptions[p.workload] : undefined;
        if (kubeSystemException) {
          assert.equal(kubeSystemException.release, p.release);
          assert.deepEqual(found.filter((m) => !kubeSystemException.accepted.some((re) => re.test(m))), [], `${stack} ${p.workload}: findings its reason does not name`);
          assert.ok(found.length > 0, `${p.workload}: no longer needs its exception`);
        } else if (level === "restricted") assert.deepEqual(found, [], `${stack} ${p.release} ${p.workload} (${p.namespace})`);
        else {
          assert.equal(p.namespace, namespaces.nodeExporter);
          assert.ok(podSecurityExceptions[namespaces.nodeExporter]);
          // Host namespaces and hostPath mounts only: the container settings are as strict as restricted.
          assert.deepEqual(found.filter((m) => !/^spec\.host(PID|Network) = true$|^volume (proc|sys|root): type hostPath/.test(m)), [], p.workload);
          assert.equal(p.spec.containers.every((c) => c.securityContext?.privileged !== true), true);
        }
        for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
          if (kubeSystemException?.writableRootFilesystem) continue;
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${stack} ${p.workload} ${c.name}: read-only root filesystem`);
        }
      }
      // The checker bites on a rendered pod: Grafana with a privilege-escalating sidecar.
      const grafana = structuredClone(all.find((p) => p.workload.endsWith("-grafana"))!);
      (grafana.spec.containers[0] as R).securityContext = { ...grafana.spec.containers[0]!.securityContext, allowPrivilegeEscalation: true };
      assert.equal(restrictedViolations(grafana.spec).length, 1);
    });

    it(`${stack}: every container (chart pods and the program's own) has CPU and memory requests and limits, inside its namespace's LimitRange`, () => {
      for (const p of pods(stack)) {
        assert.deepEqual(missingResources(p.spec), [], `${stack} ${p.release} ${p.workload}`);
        if (p.namespace !== "kube-system") assert.deepEqual(outsideBounds(p.namespace as NamespaceName, p.spec), [], `${stack} ${p.workload}`);
      }
      const own = podsOfManifests(kubernetesObjects(plans[stack]!.resources) as R[], "default");
      assert.ok(own.length >= 2, "PgBouncer and the automation service");
      for (const p of own) {
        assert.deepEqual(missingResources(p.spec), [], `${stack} ${p.workload}`);
        assert.deepEqual(outsideBounds(p.namespace as NamespaceName, p.spec), [], `${stack} ${p.workload}`);
      }
      assert.deepEqual(missingResources({ containers: [{ name: "x", resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "1Gi" } } }] }), ["container x: no limits.cpu"]);
      // VPA never recommends outside the LimitRange (it would be capped there, silently).
      const vpas = (kubernetesObjects(plans[stack]!.resources) as R[]).filter((o) => o.kind === "VerticalPodAutoscaler");
      assert.ok(vpas.some((v) => v.spec.resourcePolicy?.containerPolicies?.some((p: R) => p.maxAllowed)), `${stack}: VPAs with maxAllowed`);
      for (const v of vpas) {
        const b = containerBounds[v.metadata.namespace as NamespaceName];
        for (const p of v.spec.resourcePolicy?.containerPolicies ?? []) {
          if (p.maxAllowed) assert.ok(milli(p.maxAllowed.cpu) <= b.max.cpuMillis && mib(p.maxAllowed.memory) <= b.max.memoryMiB, `${stack} VPA ${v.metadata.namespace}/${v.metadata.name} ${p.containerName}: maxAllowed over the LimitRange max`);
          if (p.minAllowed) assert.ok(milli(p.minAllowed.cpu) >= b.min.cpuMillis && mib(p.minAllowed.memory) >= b.min.memoryMiB, `${stack} VPA ${v.metadata.name}: minAllowed under the LimitRange min`);
        }
      }
    });

    it(`${stack}: each platform namespace's quota holds its rendered pods at their replicas plus one rolling-update surge pod per Deployment`, () => {
      const maxNodes = loadStackSettings(stack).cluster.maxNodes;
      const created = stackNamespaces({ istioSidecars: loadStackSettings(stack).workloads.istioSidecars }) as string[];
      for (const ns of (platformNamespaces as PlatformNamespace[]).filter((n) => created.includes(n))) {
        const inNs = pods(stack).filter((p) => p.namespace === ns);
        assert.ok(inNs.length > 0, ns);
        const need = namespaceQuotaCapacity(inNs, maxNodes);
        const have = platformNamespaceQuota(ns, stack, maxNodes);
        for (const f of ["pods", "requestsCpuMillis", "requestsMemoryMiB", "limitsCpuMillis", "limitsMemoryMiB"] as const) {
          assert.ok(have[f] >= need[f], `${stack} ${ns} ${f}: quota ${have[f]} < rendered pods' ${need[f]}`);
        }
      }
    });
  }
});
