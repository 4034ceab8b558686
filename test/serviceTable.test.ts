/**
 * The README's service catalog table: rendered from the catalog and the stack files, and the
 * committed README section must equal the rendering (`npm run readme:catalog` rewrites it).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serviceByName, serviceCatalog, type ServiceDefinition } from "../lib/catalog/services";
import {
  describeSignal,
  README_CATALOG_BEGIN,
  README_CATALOG_END,
  readmeCatalogSection,
  readmeCatalogSectionBody,
  renderServiceCatalogTable,
  replaceReadmeCatalogSection,
  type CatalogRanges,
} from "../lib/catalog/serviceTable";
import { loadStackSettings, repoRoot } from "./support/stacks";

// The design's reaction targets (HPA < 60 s, KEDA < 30 s); the script passes the scaling module's constants.
const responseTime = { hpaSeconds: 60, kedaSeconds: 30 };
const ranges: CatalogRanges = { prod: loadStackSettings("prod").services, dev: loadStackSettings("dev").services };
const readmePath = path.join(repoRoot, "README.md");

function rows(table: string): string[][] {
  return table.trimEnd().split("\n").map((line) => {
    assert.ok(line.startsWith("| ") && line.endsWith(" |"), `not a table row: ${line}`);
    return line.slice(2, -2).split(" | ");
  });
}

describe("service catalog table", () => {
  const table = renderServiceCatalogTable(serviceCatalog, ranges, responseTime);
  const [header, separator, ...body] = rows(table);
  const rowOf = (name: string) => {
    const row = body.find((r) => r[0]!.endsWith(`(\`${name}\`)`));
    assert.ok(row, `no row for ${name}`);
    return row;
  };

  it("has a header, a separator and one row per catalog service, in catalog order", () => {
    assert.deepEqual(header, ["service", "namespace", "class", "scaler", "prod replicas", "dev replicas", "signals (targets)", "response time"]);
    assert.deepEqual(separator, Array(8).fill("---"));
    assert.deepEqual(body.map((r) => r[0]), serviceCatalog.map((s) => `${s.displayName} (\`${s.name}\`)`));
    for (const r of body) assert.equal(r.length, 8);
  });

  it("shows the design's API Gateway row exactly", () => {
    assert.deepEqual(rowOf("api-gateway"), [
      "API Gateway (`api-gateway`)", "`pyairtable-api`", "api", "HPA", "2-25", "1-4",
      "CPU 70%, memory 80%, 100 req/s per pod, p95 500 ms", "≤ 60 s",
    ]);
  });

  it("shows KEDA services with their event signals and the KEDA response time", () => {
    assert.deepEqual(rowOf("file-processing"), [
      "File Processing (`file-processing`)", "`pyairtable-workers`", "batch", "KEDA ScaledObject", "0-12", "0-2",
      "Redis list `files:processing` 10/replica, SQS `file-events` 10/replica", "≤ 30 s",
    ]);
    assert.equal(rowOf("saga-orchestrator")[6], "Kafka lag on `saga-events` (group `saga-orchestrator`) 100/replica, Redis list `saga:pending` 50/replica");
    assert.equal(rowOf("platform-services")[6], "CPU 75%, memory 85%, 40 DB connections per pod");
    assert.equal(rowOf("ai-llm")[6], "Redis list `llm:requests` 5/replica, Prometheus `cpu_cores_busy` 0.7/replica");
  });

  it("takes ranges from the stacks and response times from the arguments", () => {
    for (const s of serviceCatalog) {
      const r = rowOf(s.name);
      assert.equal(r[4], `${ranges.prod[s.name]!.minReplicas}-${ranges.prod[s.name]!.maxReplicas}`);
      assert.equal(r[5], `${ranges.dev[s.name]!.minReplicas}-${ranges.dev[s.name]!.maxReplicas}`);
      assert.equal(r[7], s.scaler === "hpa" ? "≤ 60 s" : "≤ 30 s");
    }
    const other = rows(renderServiceCatalogTable(serviceCatalog, ranges, { hpaSeconds: 45, kedaSeconds: 25 }));
    assert.equal(other.find((r) => r[0]!.includes("`api-gateway`"))![7], "≤ 45 s");
    assert.equal(other.find((r) => r[0]!.includes("`webhooks`"))![7], "≤ 25 s");
  });

  it("describes every signal type", () => {
    assert.equal(describeSignal({ type: "cpu", targetUtilizationPercent: 70 }), "CPU 70%");
    assert.equal(describeSignal({ type: "memory", targetUtilizationPercent: 80 }), "memory 80%");
    assert.equal(describeSignal({ type: "requestsPerSecond", targetPerPod: 100 }), "100 req/s per pod");
    assert.equal(describeSignal({ type: "latencyP95", targetMilliseconds: 500 }), "p95 500 ms");
    assert.equal(describeSignal({ type: "dbConnections", targetPerPod: 40 }), "40 DB connections per pod");
    assert.equal(describeSignal({ type: "sqsQueue", queueName: "file-events", targetPerReplica: 10 }), "SQS `file-events` 10/replica");
  });

  it("escapes pipes in cells and rejects missing or bad ranges and response times", () => {
    const piped: ServiceDefinition = { ...serviceByName("webhooks"), name: "x", displayName: "A | B" };
    const t = renderServiceCatalogTable([piped], { prod: { x: { minReplicas: 1, maxReplicas: 2 } }, dev: { x: { minReplicas: 0, maxReplicas: 1 } } }, responseTime);
    assert.ok(t.includes("A \\| B (`x`)"));
    assert.throws(() => renderServiceCatalogTable(serviceCatalog, { prod: ranges.prod, dev: {} }, responseTime), /no dev replica range for 'api-gateway' \(autoscaling:services\.api-gateway in Pulumi\.dev\.yaml\)/);
    assert.throws(() => renderServiceCatalogTable([piped], { prod: { x: { minReplicas: 3, maxReplicas: 2 } }, dev: { x: { minReplicas: 0, maxReplicas: 1 } } }, responseTime), /prod range of 'x' is 3-2/);
    assert.throws(() => renderServiceCatalogTable(serviceCatalog, ranges, { hpaSeconds: 0, kedaSeconds: 30 }), /responseTime\.hpaSeconds = 0/);
  });

  describe("README.md", () => {
    const readme = fs.readFileSync(readmePath, "utf8");

    it("has the generated section right after the Layout section", () => {
      const headings = readme.split("\n").filter((l) => /^## /.test(l));
      const i = headings.indexOf("## Service catalog");
      assert.ok(i > 0, "README.md has no '## Service catalog' heading");
      assert.equal(headings[i - 1], "## Layout");
      const section = readme.slice(readme.indexOf("## Service catalog\n"), readme.indexOf(`\n${headings[i + 1]}\n`));
      assert.ok(section.includes(README_CATALOG_BEGIN) && section.includes(README_CATALOG_END), "the markers must be under the heading");
    });

    it("section equals the rendered table", () => {
      const expected = readmeCatalogSectionBody(table);
      assert.ok(
        readmeCatalogSection(readme) === expected,
        "README.md service catalog is out of date: run `npm run readme:catalog` (scripts/readme-catalog.ts) and commit README.md\n" +
          `--- expected between the markers ---\n${expected}`,
      );
    });
  });

  describe("section replacement", () => {
    const doc = `# T\n\nbefore\n\n${README_CATALOG_BEGIN}\nold\n${README_CATALOG_END}\n\nafter\n`;

    it("replaces only the text between the markers and round-trips", () => {
      const out = replaceReadmeCatalogSection(doc, "new table\n");
      assert.equal(out, `# T\n\nbefore\n\n${README_CATALOG_BEGIN}\nnew table\n${README_CATALOG_END}\n\nafter\n`);
      assert.equal(readmeCatalogSection(out), "new table\n");
      assert.equal(replaceReadmeCatalogSection(out, "new table\n"), out);
    });

    it("refuses a README without the markers, with duplicates or in the wrong order", () => {
      assert.throws(() => readmeCatalogSection("# no markers\n"), /must contain <!-- service-catalog:begin --> and <!-- service-catalog:end --> exactly once each/);
      assert.throws(() => replaceReadmeCatalogSection(doc + README_CATALOG_BEGIN, "x"), /exactly once each/);
      assert.throws(() => readmeCatalogSection(`${README_CATALOG_END}\n${README_CATALOG_BEGIN}\n`), /comes before/);
    });
  });
});
