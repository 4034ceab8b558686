/**
 * Contract tests against the upstream metric catalogs (../shared/contracts/metrics, plus the
 * project's contracts/metrics): every PromQL expression of the rendered stacks, parsed with the real
 * PromQL grammar, names only metrics, labels and label values the deployed exporter versions (or
 * the project's own registries) have.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { addonCharts } from "../lib/catalog/addons";
import { AutomationMetrics } from "../automation/metrics";
import { catalogSeries } from "../lib/monitoring/signals";
import { serviceCatalog } from "../lib/catalog/services";
import { kubernetesObjects } from "../lib/plan/manifests";
import { planStack, type StackPlan } from "./support/plans";
import { deployedCatalogs, loadCatalogFiles, projectCatalogDir, sharedCatalogDir, type MetricCatalogFile } from "../lib/monitoring/metricCatalogs";
import { buildContractIndex, checkExpression, checkTemplates, type ContractIndex } from "../lib/monitoring/promqlContract";
import { checkUses, deploymentOf, indexInputFromPlan, promqlUses, type PromqlUse } from "../lib/monitoring/renderedPromql";
import { stacks } from "./support/stacks";

const files = loadCatalogFiles();

describe("metric catalogs", () => {
  it("reads the shared catalogs (read-only) and the project's own directory", () => {
    assert.ok(fs.existsSync(sharedCatalogDir), `${sharedCatalogDir} missing`);
    assert.ok(fs.existsSync(`${projectCatalogDir}/SOURCES.md`), "contracts/metrics/SOURCES.md documents the project's own catalogs");
    const exporters = files.map((f) => f.exporter).sort();
    for (const e of ["keda", "karpenter", "kube-state-metrics", "cadvisor", "node-exporter", "pgbouncer-exporter", "prometheus"]) assert.ok(exporters.includes(e), `no ${e} catalog`);
  });

  it("ties chart and image versions to catalog versions: a bump without its catalog is a finding", () => {
    const deployment = { charts: [{ chart: "keda", version: "2.20.2" }, { chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" }, { chart: "kube-prometheus-stack", version: "78.2.1" }], images: ["quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.0"] };
    const ok = deployedCatalogs(files, deployment);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.catalogs.length, 7);

    const bumped = deployedCatalogs(files, { ...deployment, charts: deployment.charts.map((c) => (c.chart === "keda" ? { ...c, version: "2.21.0" } : c)) });
    assert.ok(!bumped.catalogs.some((c) => c.exporter === "keda"), "the 2.20.2 catalog does not vouch for 2.21.0");
    assert.ok(bumped.problems.some((p) => /chart keda is deployed at 2\.21\.0, but the keda catalog is for 2\.20\.2/.test(p)), bumped.problems.join("\n"));

    const kps = deployedCatalogs(files, { ...deployment, charts: deployment.charts.map((c) => (c.chart === "kube-prometheus-stack" ? { ...c, version: "79.0.0" } : c)) });
    for (const e of ["kube-state-metrics", "cadvisor", "node-exporter", "prometheus"]) assert.ok(kps.problems.some((p) => p.includes(`the ${e} catalog is for 78.2.1`)), `${e}: ${kps.problems.join("\n")}`);

    // The deployed kube-prometheus-stack (88.5.3) is covered by the shared catalogs built from the
    // exporters' code at the versions the chart ships (kubelet 1.35 for cAdvisor), one per exporter.
    const current = deployedCatalogs(files, { ...deployment, charts: deployment.charts.map((c) => (c.chart === "kube-prometheus-stack" ? { ...c, version: addonCharts.kubePrometheusStack.version } : c)) });
    assert.deepEqual(current.problems, []);
    const kpsCatalogs = current.catalogs.filter((c) => c.deployed_as.parent_chart === "kube-prometheus-stack" || c.deployed_as.helm_chart === "kube-prometheus-stack");
    assert.deepEqual(kpsCatalogs.map((c) => `${c.exporter} ${c.version} ${path.relative(sharedCatalogDir, c.file ?? "")}`).sort(), [
      "cadvisor kubelet 1.35 (cAdvisor v0.53.0) cadvisor-0.53.0-kubelet-1.35.json",
      "kube-state-metrics 2.20.0 kube-state-metrics-2.20.0.json",
      "node-exporter 1.12.1 node-exporter-1.12.1.json",
      "prometheus 3.14.0 prometheus-3.14.0.json",
    ]);

    const image = deployedCatalogs(files, { ...deployment, images: ["quay.io/prometheuscommunity/pgbouncer-exporter:v0.13.0"] });
    assert.ok(image.problems.some((p) => /pgbouncer-exporter:v0\.13\.0 is deployed/.test(p)), image.problems.join("\n"));
  });
});

for (const stack of stacks) {
  describe(`PromQL contract (${stack} stack, rendered)`, function () {
    this.timeout(120_000);
    let plan: StackPlan;
    let uses: PromqlUse[];
    let index: ContractIndex;
    let catalogs: MetricCatalogFile[];
    before(async () => {
      plan = await planStack(stack);
      const sel = deployedCatalogs(files, deploymentOf(plan.resources));
      assert.deepEqual(sel.problems, [], "every deployed exporter has a catalog at its version");
      catalogs = sel.catalogs;
      index = buildContractIndex(indexInputFromPlan(plan.resources, catalogs, new AutomationMetrics({ defaultMetrics: true })));
      uses = promqlUses(plan.resources);
    });

    it("collects every kind of expression: rules, panels, variables, annotations, adapter rules, KEDA triggers, collector queries", () => {
      const kinds = (re: RegExp) => uses.filter((u) => re.test(u.context)).length;
      assert.ok(kinds(/^rule /) >= 25, `rules: ${kinds(/^rule /)}`);
      assert.ok(kinds(/^dashboard .* panel /) >= 60, `panels: ${kinds(/^dashboard .* panel /)}`);
      assert.ok(kinds(/^dashboard .* variable /) >= 4);
      assert.ok(kinds(/^dashboard .* annotation /) >= 4);
      assert.ok(kinds(/^adapter rule /) >= 8);
      assert.equal(kinds(/^ScaledObject /), serviceCatalog.reduce((n, s) => n + (s.signals as readonly { type: string }[]).filter((x) => x.type === "prometheus").length, 0));
      assert.equal(kinds(/^collector /), catalogSeries().length);
    });

    it("every selector names a metric, labels and label values that exist in the deployed versions (or the project's own registries)", () => {
      const findings = checkUses(uses, index);
      assert.deepEqual(findings, []);
    });

    it("the rendered label values the check relies on come from the rendered objects", () => {
      const objects = kubernetesObjects(plan.resources);
      const limits = index.sourceValues.get("NodePool.spec.limits")!;
      assert.deepEqual([...limits], ["nodes"], "the NodePools limit only nodes");
      assert.equal(index.sourceValues.get("ScaledObject.metadata.name")!.size, objects.filter((o) => o.kind === "ScaledObject").length);
    });

    it("every collector event-signal query selects one existing KEDA trigger of the service's ScaledObject (triggerIndex in range)", () => {
      const objects = kubernetesObjects(plan.resources);
      for (const s of catalogSeries().filter((x) => x.query.includes("keda_scaler_metrics_value"))) {
        const m = /namespace="([^"]+)", scaledObject="([^"]+)", triggerIndex="(\d+)"/.exec(s.query);
        assert.ok(m, `${s.service}/${s.signal}: ${s.query}`);
        const so = objects.find((o) => o.kind === "ScaledObject" && o.metadata.name === m[2] && o.metadata.namespace === m[1]);
        assert.ok(so, `${s.service}: no ScaledObject ${m[1]}/${m[2]}`);
        const triggers = (so.spec as { triggers: { type: string; name?: string }[] }).triggers;
        const t = triggers[Number(m[3])];
        assert.ok(t && t.type !== "cron", `${s.service}/${s.signal}: trigger ${m[3]} is ${t?.type ?? "missing"}`);
      }
    });
  });
}

describe("PromQL contract check (negative cases: it finds what the issue found)", function () {
  this.timeout(120_000);
  let index: ContractIndex;
  before(async () => {
    const plan = await planStack("prod");
    const sel = deployedCatalogs(files, deploymentOf(plan.resources));
    index = buildContractIndex(indexInputFromPlan(plan.resources, sel.catalogs, new AutomationMetrics({ defaultMetrics: true })));
  });
  const findings = (expr: string) => checkExpression(expr, index).findings;

  it("accepts what the exporters' code emits at the deployed tags (kube-state-metrics 2.20.0, cAdvisor v0.53.0 in kubelet 1.35)", () => {
    for (const expr of [
      'kube_endpointslice_endpoints{endpoint_nodename="n", ready="true"}',
      'kube_persistentvolumeclaim_status_condition{condition="Resizing", status="true"}',
      'rate(container_pressure_cpu_waiting_seconds_total{namespace="pyairtable-api"}[5m])',
      "machine_scrape_error",
    ]) assert.deepEqual(findings(expr), [], expr);
    // node_id (v0.53.0's node label, formerly prometheusNodeLabelName) is known, on series the kubelet does not emit here.
    assert.match(findings('machine_node_memory_capacity_bytes{node_id="0"}').join(), /not emitted in this deployment/);
  });

  const cases: [string, string, RegExp][] = [
    ["the pre-2.13 KEDA label", 'max(keda_scaler_metrics_value{namespace="pyairtable-api", scaledObject="file-service", scalerIndex="0"})', /label 'scalerIndex' was renamed 'triggerIndex'/],
    ["a removed KEDA metric", "sum(rate(keda_scaler_errors_total[5m]))", /keda_scaler_errors_total no longer exists: keda 2\.20\.2: removed in v2\.17\.0/],
    ["a NodePool limit no NodePool sets", 'karpenter_nodepools_limit{resource_type=~"cpu|memory"}', /value 'cpu' cannot occur \(from the rendered NodePool\.spec\.limits: nodes\)/],
    ["a ScaledObject that does not exist", 'keda_scaler_active{scaledObject="nope"}', /value 'nope' cannot occur/],
    ["a metric of an exporter nobody deploys", 'sum(DCGM_FI_DEV_GPU_UTIL{namespace="pyairtable-workers"})', /DCGM_FI_DEV_GPU_UTIL is in no catalog/],
    ["an unknown label", 'kube_pod_info{deployment="x"}', /kube_pod_info \(kube-state-metrics 2\.20\.0\) has no label 'deployment'/],
    ["a label value the exporter never sets", 'kube_pod_status_phase{phase="running"}', /value 'running' cannot occur/],
    ["a node label outside the allowlist", 'kube_node_labels{label_topology_kubernetes_io_zone="a"}', /not in the chart's metricLabelsAllowlist/],
    ["a series kube-prometheus-stack drops", "container_cpu_cfs_throttled_seconds_total", /dropped at ingestion/],
    ["by() a label the operand lacks", "sum by (deployment) (kube_pod_info)", /sum by \(…\) names label 'deployment'/],
    ["on() a label one side lacks", "kube_pod_info * on (horizontalpodautoscaler) kube_horizontalpodautoscaler_info", /left side names label 'horizontalpodautoscaler'/],
    ["histogram_quantile without le", "histogram_quantile(0.95, sum by (service) (rate(http_request_duration_seconds_bucket[5m])))", /histogram_quantile names label 'le'/],
    ["an own metric label that is not registered", 'pyairtable_autoscaler_budget_utilisation_ratio{window="daily"}', /has no label 'window'/],
    ["an expression that does not parse", "sum(rate(up[5m])", /does not parse/],
    // kube-state-metrics 2.20.0 as chart 8.4.0 runs it (code at v2.20.0, not the docs):
    ["a family of a resource the chart does not collect (endpoints)", 'kube_endpoint_info{namespace="pyairtable-api"}', /resource 'endpoints' is not in the chart's collectors/],
    ["an admission-policy family (not collected)", "kube_validatingadmissionpolicy_info", /resource 'validatingadmissionpolicies' is not in the chart's collectors/],
    ["the docs' nodename on endpointslice endpoints (the code says endpoint_nodename)", 'kube_endpointslice_endpoints{nodename="n"}', /has no label 'nodename'/],
    ["the docs' type on PVC conditions (the code says condition and status)", 'kube_persistentvolumeclaim_status_condition{type="Resizing"}', /has no label 'type'/],
  ];
  for (const [what, expr, re] of cases) {
    it(`flags ${what}`, () => {
      const f = findings(expr);
      assert.ok(f.some((x) => re.test(x)), `${expr}\n${f.join("\n") || "(no findings)"}`);
    });
  }

  it("accepts correct expressions, Grafana macros and variables", () => {
    assert.deepEqual(findings('sum by (namespace, scaledObject) (rate(keda_scaler_detail_errors_total{namespace=~"$namespace", scaledObject=~"$service"}[$__rate_interval]))'), []);
    assert.deepEqual(findings('kube_node_labels{label_karpenter_sh_capacity_type="spot"}'), []);
    assert.deepEqual(findings("karpenter_nodepools_usage / on (nodepool, resource_type) karpenter_nodepools_limit"), []);
  });

  it("templates must name labels of the result", () => {
    const c = checkExpression("sum by (namespace) (kube_pod_info)", index);
    assert.deepEqual(checkTemplates(c, ["{{ $labels.namespace }}"], "alert", "x"), []);
    assert.match(checkTemplates(c, ["{{ $labels.namespace }}/{{ $labels.pod }}"], "alert", "x")[0]!, /names label 'pod'/);
    const one = checkExpression("kube_horizontalpodautoscaler_status_current_replicas >= on (namespace, horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas", index);
    assert.deepEqual([...one.resultLabels].sort(), ["horizontalpodautoscaler", "namespace"], "one-to-one matching with on() keeps only the on() labels");
    assert.match(checkTemplates(one, ["{{scaletargetref_name}}"], "legend", "y")[0]!, /names label 'scaletargetref_name'/);
  });
});
