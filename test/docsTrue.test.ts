/**
 * Docs true: names and figures in README.md and docs/*.md that no generator writes are checked here
 * against the code (docs/forecasting.md has its own checks).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { addonCharts } from "../lib/catalog/addons";
import { serviceCatalog } from "../lib/catalog/services";
import { deployedCatalogs, loadCatalogFiles } from "../lib/monitoring/metricCatalogs";
import {
  hpaSyncPeriodSeconds,
  hpaWorstCaseReactionSeconds,
  kedaCooldownPeriodSeconds,
  kedaFromZeroWorstCaseSeconds,
  kedaPollingIntervalSeconds,
  kedaScaleOutWorstCaseSeconds,
  prometheusScrapeIntervalSeconds,
} from "../lib/scaling/responseTime";
import { loadStackSettings, repoRoot } from "./support/stacks";

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8");
const docs = ["README.md", ...fs.readdirSync(path.join(repoRoot, "docs")).filter((f) => f.endsWith(".md") && f !== "forecasting.md").map((f) => `docs/${f}`)];

/** The README table row whose first cell is `setting`. */
function row(readme: string, setting: string): string[] {
  const line = readme.split("\n").find((l) => l.startsWith(`| ${setting} |`));
  assert.ok(line, `README.md has no row '${setting}'`);
  return line!.split(" | ").map((c) => c.replace(/^\| ?| ?\|$/g, ""));
}

describe("docs are true to the code", () => {
  it("every AWS SDK client the docs name is a pinned dependency, and no doc says it is missing", () => {
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    for (const file of docs) {
      const text = read(file);
      for (const name of new Set(text.match(/@aws-sdk\/[a-z0-9-]+/g) ?? [])) {
        assert.match(pkg.dependencies[name] ?? "", /^\d+\.\d+\.\d+$/, `${file} names ${name}, which is not a pinned dependency`);
      }
      assert.doesNotMatch(text, /(SDK clients? (are|is) not installed|not dependencies yet)/i, `${file} says the SDK clients are missing`);
    }
  });

  it("the README's response-time table carries the figures of lib/scaling/responseTime.ts", () => {
    const readme = read("README.md");
    assert.equal(row(readme, "HPA sync period")[1], `${hpaSyncPeriodSeconds} s`);
    assert.match(row(readme, "HPA worst case")[1]!, new RegExp(`= \\*\\*${hpaWorstCaseReactionSeconds} s\\*\\*`));
    assert.equal(row(readme, "KEDA `pollingInterval`")[1], `${kedaPollingIntervalSeconds} s`);
    // The poll matters only at zero: the row must not credit it for scaling between 1 and N.
    assert.match(row(readme, "KEDA `pollingInterval`")[2]!, /only at zero.*From 1 to N .*plays no part/);
    assert.equal(row(readme, "KEDA worst case from zero")[1], `${kedaPollingIntervalSeconds} + ${hpaSyncPeriodSeconds} = **${kedaFromZeroWorstCaseSeconds} s**`);
    assert.equal(
      row(readme, "KEDA worst case 1 → N")[1],
      `**${kedaScaleOutWorstCaseSeconds([])} s**; ${hpaSyncPeriodSeconds} + ${prometheusScrapeIntervalSeconds} = **${kedaScaleOutWorstCaseSeconds(["prometheus"])} s** with a Prometheus trigger`,
    );
    const cooldown = row(readme, "KEDA `cooldownPeriod`");
    assert.equal(cooldown[1], `${kedaCooldownPeriodSeconds} s`);
    // It names exactly the prod services that can be at zero (minimum 0), and no other.
    const prod = loadStackSettings("prod").services;
    const atZero = serviceCatalog.filter((s) => s.scaler === "keda" && prod[s.name]!.minReplicas === 0).map((s) => s.name);
    assert.ok(cooldown[2]!.includes(`(prod: ${atZero.join(", ")})`), cooldown[2]);
  });

  it("the response-time model: pollingInterval counts only from zero, a Prometheus trigger adds a scrape", () => {
    assert.equal(kedaScaleOutWorstCaseSeconds(["redis-cluster", "kafka"]), hpaSyncPeriodSeconds);
    assert.equal(kedaScaleOutWorstCaseSeconds(["redis-cluster", "prometheus"]), hpaSyncPeriodSeconds + prometheusScrapeIntervalSeconds);
    assert.equal(kedaFromZeroWorstCaseSeconds, kedaPollingIntervalSeconds + hpaSyncPeriodSeconds);
  });
});

describe("README: kube-prometheus-stack and the exporter versions it ships", () => {
  it("names the deployed chart version and the versions of the catalogs keyed to it", () => {
    const readme = read("README.md");
    const version = addonCharts.kubePrometheusStack.version;
    const named = [...readme.matchAll(/kube-prometheus-stack (\d+\.\d+\.\d+)/g)].map((m) => m[1]);
    assert.ok(named.length > 0, "README names no kube-prometheus-stack version");
    assert.deepEqual([...new Set(named)], [version], `README names kube-prometheus-stack ${named.join(", ")}; the chart table pins ${version}`);
    const selected = deployedCatalogs(loadCatalogFiles(), { charts: [{ chart: "kube-prometheus-stack", version }], images: [] }).catalogs;
    for (const exporter of ["kube-state-metrics", "node-exporter", "prometheus"]) {
      const catalog = selected.find((c) => c.exporter === exporter);
      assert.ok(catalog, `no ${exporter} catalog for kube-prometheus-stack ${version}`);
      const label = exporter === "prometheus" ? "Prometheus" : exporter;
      assert.ok(new RegExp(`${label} ${catalog!.version.replace(/\./g, "\\.")}\\b`).test(readme), `README should name ${label} ${catalog!.version}`);
    }
  });
});
