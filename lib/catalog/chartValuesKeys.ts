/**
 * Values keys of a Helm chart at a version (`contracts/charts/<chart>-<version>.values-keys.json`,
 * derived from the chart's values.yaml and its subcharts' at their tags by
 * scripts/chart-values/keys.py; see contracts/charts/SOURCES.md). A key the program sets that the
 * chart does not have is silently ignored by Helm, so the check below is the only thing that
 * notices a renamed or dropped value (e.g. `grafana.adminPassword` in kube-prometheus-stack 88).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const chartKeysDir = path.resolve(__dirname, "../../contracts/charts");

/** `map`: a mapping with keys; `open`: an empty mapping or null (free-form below); `list`; `scalar`. */
export type ValuesKeyKind = "map" | "open" | "list" | "scalar";

export interface ChartValuesKeys {
  readonly chart: string;
  readonly version: string;
  readonly sources: readonly { values_prefix: string; repo: string; tag: string; commit: string; path: string }[];
  readonly keys: Readonly<Record<string, ValuesKeyKind>>;
}

/** The keys file of a chart version; a clear error naming the file when that version has none. */
export function loadChartValuesKeys(chart: string, version: string, dir: string = chartKeysDir): ChartValuesKeys {
  const file = path.join(dir, `${chart}-${version}.values-keys.json`);
  if (!fs.existsSync(file)) {
    throw new Error(`no values keys for chart ${chart} ${version}: ${file} is missing (generate it with scripts/chart-values/keys.py from the chart's values.yaml at its tag)`);
  }
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as ChartValuesKeys;
  if (doc.chart !== chart || doc.version !== version) throw new Error(`${file}: describes ${doc.chart} ${doc.version}, expected ${chart} ${version}`);
  return doc;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Leaf paths (dotted) of a values object; arrays and scalars are leaves. */
export function valuesLeafPaths(values: unknown, at: string[] = []): string[][] {
  if (!isMap(values)) return [at];
  const entries = Object.entries(values);
  if (entries.length === 0) return [at];
  return entries.flatMap(([k, v]) => valuesLeafPaths(v, [...at, k]));
}

/**
 * The program's values paths the chart does not have, one message each. A path is known when it is
 * a key of the chart, or lies below a free-form (`open`) key such as `nodeSelector` or
 * `resources`. Setting a map below a scalar or list key is reported too.
 */
export function unknownValuesKeys(values: unknown, chartKeys: ChartValuesKeys): string[] {
  const problems: string[] = [];
  for (const leaf of valuesLeafPaths(values)) {
    let verdict: string | undefined = `not a key of ${chartKeys.chart} ${chartKeys.version}`;
    for (let n = leaf.length; n >= 1; n--) {
      const prefix = leaf.slice(0, n).join(".");
      const kind = chartKeys.keys[prefix];
      if (kind === undefined) continue;
      if (n === leaf.length) verdict = undefined;
      else if (kind === "open") verdict = undefined;
      else if (kind === "map") {
        const parent = leaf.slice(0, n + 1).join(".");
        verdict = `${parent}: not a key of ${chartKeys.chart} ${chartKeys.version} (its parent ${prefix} has keys ${Object.keys(chartKeys.keys).filter((k) => k.startsWith(`${prefix}.`) && !k.slice(prefix.length + 1).includes(".")).map((k) => k.slice(prefix.length + 1)).slice(0, 12).join(", ")}${Object.keys(chartKeys.keys).filter((k) => k.startsWith(`${prefix}.`) && !k.slice(prefix.length + 1).includes(".")).length > 12 ? ", ..." : ""})`;
      } else verdict = `${prefix} is a ${kind} in ${chartKeys.chart} ${chartKeys.version}, not a map`;
      break;
    }
    if (verdict) problems.push(`${leaf.join(".")}: ${verdict}`);
  }
  return problems;
}
