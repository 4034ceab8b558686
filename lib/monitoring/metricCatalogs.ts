/**
 * Upstream metric catalogs (`../shared/contracts/metrics/*.json`, read-only, and the project's own
 * `contracts/metrics/*.json` in the same shape): what the exporters this stack deploys really
 * export, at the versions it deploys. The PromQL contract check (promqlContract.ts) reads them.
 *
 * A catalog belongs to a deployment: `deployed_as.helm_chart` + `chart_version`, `parent_chart` +
 * `parent_chart_version` (sub-charts of kube-prometheus-stack), or `image` (a pinned container
 * image). `deployedCatalogs` keeps only the catalogs whose chart/image version is the one the stack
 * deploys and reports every deployed exporter without a catalog at its version, so bumping a chart
 * without its catalog is a finding.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const sharedCatalogDir = path.resolve(__dirname, "../../../shared/contracts/metrics");
export const projectCatalogDir = path.resolve(__dirname, "../../contracts/metrics");

export interface LabelValues {
  readonly values?: readonly string[];
  readonly open?: boolean;
  /** The value comes from the project's own objects, e.g. `NodePool.spec.limits`. */
  readonly source?: string;
  readonly rule?: string;
}

export interface CatalogMetric {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
  readonly labels_open?: boolean;
  readonly label_pattern?: string;
  readonly label_values?: Readonly<Record<string, LabelValues>>;
  readonly series?: readonly string[];
  readonly available?: boolean;
  readonly dropped_at_ingestion?: boolean | string;
  readonly resource?: string;
  readonly help?: string;
}

export interface DeployedAs {
  readonly helm_chart?: string;
  readonly chart_version?: string;
  readonly parent_chart?: string;
  readonly parent_chart_version?: string;
  readonly image?: string;
  readonly [key: string]: unknown;
}

export interface MetricCatalogFile {
  readonly exporter: string;
  readonly version: string;
  readonly deployed_as: DeployedAs;
  readonly target_labels?: readonly string[];
  readonly scrape_target_labels?: { readonly servicemonitor?: readonly string[]; readonly podmonitor?: readonly string[] };
  readonly removed?: readonly { name: string; removed_in: string; notes?: string }[];
  readonly renamed_labels?: readonly { metric_prefix: string; from: string; to: string; since?: string }[];
  readonly metrics: readonly CatalogMetric[];
  /**
   * Deployment rules of the exporter (kube-state-metrics: `collectors.chart_default`, the resources
   * the chart passes as `--resources` unless its `collectors` value says otherwise).
   */
  readonly rules?: { readonly collectors?: { readonly chart_default?: readonly string[] } } & Readonly<Record<string, unknown>>;
  /** Set by the loader: where the catalog was read from. */
  file?: string;
}

export class MetricCatalogError extends Error {}

/** Reads every `*.json` catalog of the given directories (missing directories are skipped). */
export function loadCatalogFiles(dirs: readonly string[] = [sharedCatalogDir, projectCatalogDir]): MetricCatalogFile[] {
  const out: MetricCatalogFile[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
      const file = path.join(dir, f);
      const doc = JSON.parse(fs.readFileSync(file, "utf8")) as MetricCatalogFile;
      for (const key of ["exporter", "version", "deployed_as", "metrics"] as const) {
        if (doc[key] === undefined) throw new MetricCatalogError(`${file}: missing key '${key}' (a catalog has exporter, version, deployed_as, metrics)`);
      }
      if (!Array.isArray(doc.metrics)) throw new MetricCatalogError(`${file}: 'metrics' must be an array`);
      for (const m of doc.metrics) {
        if (typeof m.name !== "string" || !Array.isArray(m.labels)) throw new MetricCatalogError(`${file}: metric ${JSON.stringify(m.name)} needs a name and a labels array`);
      }
      doc.file = file;
      out.push(doc);
    }
  }
  return out;
}

/** What the stack deploys: Helm releases (chart name without repository, version) and pinned images. */
export interface Deployment {
  readonly charts: readonly { readonly chart: string; readonly version: string }[];
  readonly images: readonly string[];
}

export interface CatalogSelection {
  readonly catalogs: MetricCatalogFile[];
  /** Deployed exporters with no catalog at their version, and catalogs that match nothing deployed. */
  readonly problems: string[];
}

const chartName = (ref: string) => ref.replace(/^oci:\/\//, "").split("/").pop()!;

/**
 * Keeps the catalogs whose chart (or parent chart) at its version, or image, is deployed. A catalog
 * of a chart that is deployed at another version is a problem (the chart was bumped without its
 * catalog); so is a catalog for something the stack does not deploy at all.
 */
export function deployedCatalogs(files: readonly MetricCatalogFile[], deployment: Deployment): CatalogSelection {
  const charts = new Map(deployment.charts.map((c) => [chartName(c.chart), c.version]));
  const images = new Set(deployment.images);
  const catalogs: MetricCatalogFile[] = [];
  const problems: string[] = [];
  for (const c of files) {
    const d = c.deployed_as;
    const chart = d.helm_chart ?? d.parent_chart;
    const version = d.helm_chart ? d.chart_version : d.parent_chart_version;
    const where = path.basename(c.file ?? c.exporter);
    if (chart) {
      const deployed = charts.get(chartName(chart));
      if (deployed === undefined) problems.push(`${where}: catalog of chart ${chart} ${version}, which the stack does not deploy`);
      else if (deployed === version) catalogs.push(c);
      else continue; // another version's catalog: harmless if the deployed version has its own (checked below)
    } else if (d.image) {
      if (images.has(d.image)) catalogs.push(c);
      else if (![...images].some((i) => i.split(":")[0] === d.image!.split(":")[0])) problems.push(`${where}: catalog of image ${d.image}, which the stack does not run`);
    } else {
      problems.push(`${where}: deployed_as names neither a Helm chart nor an image`);
    }
  }
  for (const c of files) {
    const d = c.deployed_as;
    const chart = d.helm_chart ?? d.parent_chart;
    if (chart) {
      const deployed = charts.get(chartName(chart));
      if (deployed !== undefined && !catalogs.some((k) => k.exporter === c.exporter)) {
        problems.push(`chart ${chartName(chart)} is deployed at ${deployed}, but the ${c.exporter} catalog is for ${d.helm_chart ? d.chart_version : d.parent_chart_version} (${path.basename(c.file ?? "")}): add the catalog for ${deployed} (contracts/metrics/, from the exporter's source at that tag)`);
      }
    } else if (d.image) {
      const repo = d.image.split(":")[0];
      const running = [...images].find((i) => i.split(":")[0] === repo);
      if (running && running !== d.image && !catalogs.some((k) => k.exporter === c.exporter)) {
        problems.push(`image ${running} is deployed, but the ${c.exporter} catalog is for ${d.image}: add the catalog for the new tag`);
      }
    }
  }
  return { catalogs, problems: [...new Set(problems)] };
}
