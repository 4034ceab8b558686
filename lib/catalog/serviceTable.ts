/**
 * The README's service catalog table, generated from the catalog (lib/catalog/services.ts) and the
 * stacks' replica ranges, so the documentation cannot drift from what is deployed.
 * `npm run readme:catalog` (scripts/readme-catalog.ts) rewrites the README section in place;
 * test/serviceTable.test.ts fails when the committed section differs from the rendered one.
 */
import type { ServiceDefinition, Signal } from "./services";
import { readmeSection, replaceReadmeSection, sectionMarkers } from "../readme";

export interface ReplicaRange {
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/** Replica range per service name, per environment (the stacks' `autoscaling:services`). */
export interface CatalogRanges {
  readonly prod: Readonly<Record<string, ReplicaRange>>;
  readonly dev: Readonly<Record<string, ReplicaRange>>;
}

/** Worst-case reaction targets shown per scaler, seconds (the design: HPA 60 s, KEDA 30 s). */
export interface CatalogResponseTime {
  readonly hpaSeconds: number;
  readonly kedaSeconds: number;
}

export const README_CATALOG_SECTION = "service-catalog";
export const README_CATALOG_BEGIN = sectionMarkers(README_CATALOG_SECTION).begin;
export const README_CATALOG_END = sectionMarkers(README_CATALOG_SECTION).end;
/** The command that regenerates the README section (a package.json script). */
export const README_CATALOG_COMMAND = "npm run readme:catalog";

/** A signal and its target in words, e.g. "CPU 70%" or "Redis list `files:processing` 10/replica". */
export function describeSignal(signal: Signal): string {
  switch (signal.type) {
    case "cpu":
      return `CPU ${signal.targetUtilizationPercent}%`;
    case "memory":
      return `memory ${signal.targetUtilizationPercent}%`;
    case "requestsPerSecond":
      return `${signal.targetPerPod} req/s per pod`;
    case "latencyP95":
      return `p95 ${signal.targetMilliseconds} ms`;
    case "dbConnections":
      return `${signal.targetPerPod} DB connections per pod`;
    case "redisList":
      return `Redis list \`${signal.listName}\` ${signal.targetPerReplica}/replica`;
    case "kafkaLag":
      return `Kafka lag on \`${signal.topic}\` (group \`${signal.consumerGroup}\`) ${signal.lagPerReplica}/replica`;
    case "sqsQueue":
      return `SQS \`${signal.queueName}\` ${signal.targetPerReplica}/replica`;
    case "prometheus":
      return `Prometheus \`${signal.metricName}\` ${signal.threshold}/replica`;
    default: {
      const unknown: never = signal;
      throw new Error(`unknown signal type ${JSON.stringify((unknown as { type: string }).type)}`);
    }
  }
}

/** A Markdown table cell: pipes escaped, line breaks flattened. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

function range(services: CatalogRanges, env: keyof CatalogRanges, name: string): string {
  const r = services[env][name];
  if (!r) throw new Error(`service catalog table: no ${env} replica range for '${name}' (autoscaling:services.${name} in Pulumi.${env}.yaml)`);
  if (!(Number.isInteger(r.minReplicas) && Number.isInteger(r.maxReplicas) && r.minReplicas >= 0 && r.minReplicas <= r.maxReplicas)) {
    throw new Error(`service catalog table: ${env} range of '${name}' is ${r.minReplicas}-${r.maxReplicas}: need whole numbers with 0 <= min <= max`);
  }
  return `${r.minReplicas}-${r.maxReplicas}`;
}

/**
 * The Markdown table: one row per service, in catalog order, with its scaler, replica ranges per
 * environment, signals with their targets, and the reaction target of its scaler.
 */
export function renderServiceCatalogTable(
  services: readonly ServiceDefinition[],
  ranges: CatalogRanges,
  responseTime: CatalogResponseTime,
): string {
  for (const [key, value] of Object.entries(responseTime)) {
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`service catalog table: responseTime.${key} = ${value}: must be a positive number of seconds`);
  }
  const header = ["service", "namespace", "class", "scaler", "prod replicas", "dev replicas", "signals (targets)", "response time"];
  const rows = services.map((s) => [
    `${s.displayName} (\`${s.name}\`)`,
    `\`${s.namespace}\``,
    s.workloadClass,
    s.scaler === "hpa" ? "HPA" : "KEDA ScaledObject",
    range(ranges, "prod", s.name),
    range(ranges, "dev", s.name),
    s.signals.map(describeSignal).join(", "),
    `≤ ${s.scaler === "hpa" ? responseTime.hpaSeconds : responseTime.kedaSeconds} s`,
  ]);
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n") + "\n";
}

/**
 * What goes between the markers: a generated-file note and the table, each followed by a blank line
 * (so Markdown renderers never merge the HTML comments into the table).
 */
export function readmeCatalogSectionBody(table: string): string {
  const note = `<!-- Generated from lib/catalog/services.ts and the stack files by \`${README_CATALOG_COMMAND}\`; do not edit by hand. -->`;
  return `${note}\n\n${table.endsWith("\n") ? table : `${table}\n`}\n`;
}

/** The text between the catalog markers. */
export function readmeCatalogSection(readme: string): string {
  return readmeSection(readme, README_CATALOG_SECTION);
}

/** The README with the catalog section replaced by `body`; nothing else changes. */
export function replaceReadmeCatalogSection(readme: string, body: string): string {
  return replaceReadmeSection(readme, README_CATALOG_SECTION, body);
}
