/**
 * Cost reports: totals by component, a plain-text table for the offline plan, Markdown for
 * pull-request comments, and the line-up with the design's cost tables (`data/design-cost-table.json`,
 * copied from the design) with a short reason for each difference.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import type { Environment } from "../config/settings";
import { costCategories, spotDiscountFor, type CostCategory, type CostEstimate, type CostItem } from "./estimate";
import { daysPerMonth, formatUnitPrice, formatUsd, hoursPerMonth, priceCatalog, priceEntry, type PriceCatalog } from "./prices";

const round2 = (n: number) => Math.round((n + Number.EPSILON) * 100) / 100;
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

// ---------------------------------------------------------------------------------------------
// By component
// ---------------------------------------------------------------------------------------------

export interface ComponentCost {
  readonly component: string;
  readonly monthlyUsd: number;
  readonly dailyUsd: number;
  readonly items: number;
}

/** Monthly and daily cost per component (assumption lines under `usage assumptions`), most expensive first. */
export function costByComponent(estimate: CostEstimate): ComponentCost[] {
  const groups = new Map<string, CostItem[]>();
  for (const item of estimate.items) groups.set(item.component, [...(groups.get(item.component) ?? []), item]);
  return [...groups]
    .map(([component, items]) => {
      const monthlyUsd = round2(sum(items.map((i) => i.monthlyUsd)));
      return { component, monthlyUsd, dailyUsd: round2(monthlyUsd / daysPerMonth), items: items.length };
    })
    .sort((a, b) => b.monthlyUsd - a.monthlyUsd || a.component.localeCompare(b.component));
}

// ---------------------------------------------------------------------------------------------
// The design's table
// ---------------------------------------------------------------------------------------------

export const designCostTableFile = path.resolve(__dirname, "../../data/design-cost-table.json");

const designRowSchema = z.strictObject({
  env: z.enum(["prod", "dev"]),
  item: z.string().min(1),
  configuration: z.string(),
  designUsd: z.number().nonnegative(),
  notes: z.string(),
  categories: z.array(z.enum(costCategories)).min(1),
  check: z
    .strictObject({
      quantity: z.number().positive(),
      unit: z.string().min(1),
      label: z.string().min(1),
      priceKey: z.string().min(1),
      spot: z.boolean().optional(),
      /** Estimate lines (CostItem.line) that the design's figure also covers, e.g. NAT data processing. */
      includesLines: z.array(z.string()).optional(),
      quantityNote: z.string().optional(),
    })
    .optional(),
  reason: z.string().optional(),
});

const designTableSchema = z.strictObject({
  source: z.string(),
  totals: z.strictObject({ prod: z.number(), dev: z.number() }),
  rows: z.array(designRowSchema),
});

export type DesignCostRow = z.infer<typeof designRowSchema>;

let designCache: z.infer<typeof designTableSchema> | undefined;

function designTable(): z.infer<typeof designTableSchema> {
  if (!designCache) {
    const parsed = designTableSchema.safeParse(JSON.parse(fs.readFileSync(designCostTableFile, "utf8")));
    if (!parsed.success) {
      throw new Error(`invalid ${path.basename(designCostTableFile)}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    for (const env of ["prod", "dev"] as const) {
      const total = sum(parsed.data.rows.filter((r) => r.env === env).map((r) => r.designUsd));
      if (Math.abs(total - parsed.data.totals[env]) > 0.005) throw new Error(`design-cost-table.json: ${env} rows add up to ${total}, not the design's total ${parsed.data.totals[env]}`);
    }
    designCache = parsed.data;
  }
  return designCache;
}

/** The design's cost table rows of `environment` (a copy of the design document's table). */
export function designCostTable(environment: Environment): DesignCostRow[] {
  return designTable().rows.filter((r) => r.env === environment);
}

/** The design's stated total ($3,775 prod, $600 dev). */
export function designTotalUsd(environment: Environment): number {
  return designTable().totals[environment];
}

// ---------------------------------------------------------------------------------------------
// Comparison with the design
// ---------------------------------------------------------------------------------------------

export interface DesignComparisonRow {
  readonly item: string;
  readonly configuration: string;
  /** Null for estimate lines the design's table has no row for. */
  readonly designUsd: number | null;
  readonly estimateUsd: number;
  /** estimate - design. */
  readonly deltaUsd: number;
  readonly categories: readonly CostCategory[];
  /** Short reasons, one per cause; joined in `explanation`. */
  readonly reasons: readonly string[];
  readonly explanation: string;
}

export interface DesignComparison {
  readonly environment: Environment;
  readonly rows: DesignComparisonRow[];
  readonly designTotalUsd: number;
  readonly estimateTotalUsd: number;
  readonly deltaUsd: number;
  /** Resources the estimate could not price (their cost is missing from estimateTotalUsd). */
  readonly unpricedCount: number;
}

const categoryLabels: Record<CostCategory, string> = {
  eks: "EKS control plane",
  "nodes-on-demand": "Worker nodes (on-demand)",
  "nodes-spot": "Worker nodes (spot)",
  aurora: "Aurora",
  elasticache: "ElastiCache",
  msk: "MSK",
  opensearch: "OpenSearch",
  alb: "Application Load Balancers",
  nat: "NAT gateways",
  "public-ipv4": "Public IPv4 addresses",
  cloudwatch: "CloudWatch",
  s3: "S3",
  "data-transfer": "Data transfer",
  lambda: "Lambda",
  "sns-sqs": "SNS/SQS",
  kms: "KMS keys",
  budgets: "AWS Budgets actions",
  "automation-database": "Automation database (Aurora)",
  "vpc-endpoints": "VPC interface endpoints",
  "ebs-volumes": "EBS volumes (Prometheus, Alertmanager)",
  "secrets-manager": "Secrets Manager",
};

const fmtQ = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(4))));

/** `storage $150.00, dedicated masters $280.32 (price confidence medium, S8)`: lines grouped by name. */
function describeLines(items: readonly CostItem[], catalog: PriceCatalog): string {
  const groups = new Map<string, CostItem[]>();
  for (const i of items) groups.set(i.line, [...(groups.get(i.line) ?? []), i]);
  return [...groups]
    .map(([line, group]) => {
      const keys = [...new Set(group.flatMap((i) => i.priceKeys))];
      const weak = keys.map((k) => catalog.entries.get(k)).filter((e) => e && e.confidence !== "high");
      const confidence = weak.length ? ` (price confidence ${weak.map((e) => `${e!.confidence}, ${e!.sourceId}`).join("; ")})` : "";
      return `${line} ${formatUsd(round2(sum(group.map((i) => i.monthlyUsd))))}${confidence}`;
    })
    .join(", ");
}

function explainRow(row: DesignCostRow, items: readonly CostItem[], estimate: CostEstimate, catalog: PriceCatalog): string[] {
  const estimateUsd = round2(sum(items.map((i) => i.monthlyUsd)));
  if (items.length === 0) return ["nothing in the plan maps to this row"];
  if (Math.abs(estimateUsd - row.designUsd) < 0.005) {
    return [items.every((i) => i.assumption) ? "usage assumption taken from the design's table" : "matches the design"];
  }
  const reasons: string[] = [];
  let extras: readonly CostItem[];
  if (row.check) {
    const check = row.check;
    const entry = priceEntry(check.priceKey, catalog);
    const hourly = entry.unit === "hour" || entry.unit.endsWith("-hour");
    const discount = check.spot ? (spotDiscountFor(check.priceKey.replace(/^ec2\.|\.hour$/g, ""), estimate.assumptions)?.discount ?? 0) : 0;
    const onDemand = round2(check.quantity * entry.usd * (hourly ? hoursPerMonth : 1));
    const included = items.filter((i) => check.includesLines?.includes(i.line));
    const includedUsd = round2(sum(included.map((i) => i.monthlyUsd)));
    const list = round2(onDemand * (1 - discount));
    const source = `${entry.sourceId}${entry.confidence === "high" ? "" : `, ${entry.confidence} confidence`}`;
    const formula = `${fmtQ(check.quantity)} x ${check.label}${hourly ? ` x ${hoursPerMonth} h` : ""} x ${formatUnitPrice(entry.usd)}`;
    const plus = included.length ? ` + ${describeLines(included, catalog)}` : "";
    if (check.spot && Math.abs(row.designUsd - onDemand) <= Math.max(1, 0.02 * row.designUsd) && Math.abs(row.designUsd - list) > 0.5) {
      reasons.push(`the design's ${formatUsd(row.designUsd)} is the on-demand price (${formula} = ${formatUsd(onDemand)}): its spot discount was not applied (${formatUsd(list)} at ${Math.round(discount * 100)}% off)`);
    } else if (Math.abs(row.designUsd - (list + includedUsd)) > 0.5) {
      const implied = hourly && !included.length && !row.reason ? ` (it implies ${formatUnitPrice(Number((row.designUsd / ((1 - discount) * check.quantity * hoursPerMonth)).toFixed(4)))}/${entry.unit})` : "";
      reasons.push(
        `list-price mismatch: ${formula}${discount ? ` x (1 - ${discount})` : ""} = ${formatUsd(list)}${plus}${plus ? ` = ${formatUsd(round2(list + includedUsd))}` : ""}, not the design's ${formatUsd(row.designUsd)}${implied} [${source}]${row.reason ? `; ${row.reason}` : ""}`,
      );
    } else if (row.reason) {
      reasons.push(row.reason);
    }
    const main = items.filter((i) => i.priceKeys.includes(check.priceKey));
    const planned = sum(main.map((i) => i.quantity));
    if (main.length === 0) {
      reasons.push(`the plan has no ${check.label} (it prices ${describeLines(items, catalog)})`);
    } else if (Math.abs(planned - check.quantity) > 1e-9) {
      reasons.push(`the stack runs ${fmtQ(planned)} ${check.unit} where the design has ${fmtQ(check.quantity)}${check.quantityNote ? ` (${check.quantityNote})` : ""}: ${formatUsd(round2(sum(main.map((i) => i.monthlyUsd))))}`);
    }
    extras = main.length === 0 ? [] : items.filter((i) => !i.priceKeys.includes(check.priceKey) && !included.includes(i) && i.monthlyUsd > 0);
  } else {
    if (row.reason) reasons.push(row.reason);
    const flat = items.filter((i) => i.assumption && i.priceKeys.length === 0);
    const flatUsd = round2(sum(flat.map((i) => i.monthlyUsd)));
    if (flat.length > 0 && Math.abs(flatUsd - row.designUsd) >= 0.005) reasons.push(`usage assumption ${formatUsd(flatUsd)} (design ${formatUsd(row.designUsd)})`);
    extras = items.filter((i) => !(i.assumption && i.priceKeys.length === 0) && i.monthlyUsd > 0);
  }
  if (extras.length > 0) reasons.push(`${row.check ? "also priced, not in the design's row" : "priced from the plan"}: ${describeLines(extras, catalog)}`);
  if (reasons.length === 0) reasons.push("difference from rounding the line items");
  return reasons;
}

/**
 * Lines the estimate up with the design's cost table of `environment`: each design row with the
 * estimate lines of its categories, plus a row per estimate category the design's table lacks.
 */
export function compareWithDesign(estimate: CostEstimate, environment: Environment, catalog: PriceCatalog = priceCatalog()): DesignComparison {
  const rows: DesignComparisonRow[] = [];
  const design = designCostTable(environment);
  const mapped = new Set<CostCategory>();
  for (const row of design) {
    const items = estimate.items.filter((i) => row.categories.includes(i.category));
    row.categories.forEach((c) => mapped.add(c));
    const estimateUsd = round2(sum(items.map((i) => i.monthlyUsd)));
    const reasons = explainRow(row, items, estimate, catalog);
    rows.push({
      item: row.item,
      configuration: row.configuration,
      designUsd: row.designUsd,
      estimateUsd,
      deltaUsd: round2(estimateUsd - row.designUsd),
      categories: row.categories,
      reasons,
      explanation: `${reasons.join("; ")}.`,
    });
  }
  for (const category of costCategories) {
    if (mapped.has(category)) continue;
    const items = estimate.items.filter((i) => i.category === category);
    if (items.length === 0) continue;
    const estimateUsd = round2(sum(items.map((i) => i.monthlyUsd)));
    const reasons = [`not in the design's ${environment} table: ${describeLines(items, catalog)}`];
    rows.push({
      item: categoryLabels[category],
      configuration: [...new Set(items.map((i) => i.name))].length === 1 ? items[0]!.name : `${new Set(items.map((i) => i.urn)).size} resources`,
      designUsd: null,
      estimateUsd,
      deltaUsd: estimateUsd,
      categories: [category],
      reasons,
      explanation: `${reasons.join("; ")}.`,
    });
  }
  const designTotal = designTotalUsd(environment);
  return {
    environment,
    rows,
    designTotalUsd: designTotal,
    estimateTotalUsd: estimate.monthlyUsd,
    deltaUsd: round2(estimate.monthlyUsd - designTotal),
    unpricedCount: estimate.unpriced.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Text and Markdown
// ---------------------------------------------------------------------------------------------

function textTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === cells.length - 1 && !rightAligned.has(c) ? cell : rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  return [fmt(header), fmt(widths.map((w, c) => "-".repeat(c === widths.length - 1 ? header[c]!.length : w))), ...rows.map(fmt)];
}

function assumptionSummary(estimate: CostEstimate): string {
  const a = estimate.assumptions;
  const acu = a.auroraAverageAcu !== undefined ? `Aurora average ${a.auroraAverageAcu} ACU` : `Aurora average ${fmtQ(a.auroraAverageAcuFraction)} of the ACU range`;
  return [
    a.spotDiscount !== undefined ? `spot discount ${Math.round(a.spotDiscount * 100)}% (override)` : "spot at each type's AWS Spot Advisor savings",
    acu,
    `Aurora storage ${a.auroraStorageGb} GB, ${a.auroraIoMillionRequests}M I/O`,
    `NAT ${a.natGbPerMonth} GB/month`,
    `${a.albCount} ALB x ${a.albLcuPerAlb} LCU`,
    `CloudWatch ${formatUsd(a.cloudwatchUsd)}, S3 ${formatUsd(a.s3Usd)}, data transfer ${formatUsd(a.dataTransferUsd)}, Lambda ${formatUsd(a.lambdaUsd)}, SNS/SQS ${formatUsd(a.snsSqsUsd)}`,
  ].join("; ");
}

function headline(estimate: CostEstimate): string {
  return `${formatUsd(estimate.monthlyUsd)} per month, ${formatUsd(estimate.dailyUsd)} per day run-rate (${estimate.region} list prices, ${estimate.hoursPerMonth} h/month, day = month / ${estimate.daysPerMonth.toFixed(2)})`;
}

/** Plain text for the offline plan: by component, by line (with the basis), unpriced and free resources. */
export function formatCostTable(estimate: CostEstimate): string {
  const out: string[] = [`Estimated cost: ${headline(estimate)}`, ""];
  out.push("Cost by component");
  const byComponent = costByComponent(estimate);
  out.push(
    ...textTable(
      ["component", "monthly", "daily"],
      [...byComponent.map((c) => [c.component, formatUsd(c.monthlyUsd), formatUsd(c.dailyUsd)]), ["total", formatUsd(estimate.monthlyUsd), formatUsd(estimate.dailyUsd)]],
      new Set([1, 2]),
    ).map((l) => `  ${l}`),
  );
  out.push("", "Cost by line");
  const order = new Map(byComponent.map((c, i) => [c.component, i]));
  const lines = [...estimate.items].sort((a, b) => (order.get(a.component)! - order.get(b.component)!) || b.monthlyUsd - a.monthlyUsd);
  out.push(
    ...textTable(
      ["component", "resource", "line", "monthly", "daily", "basis"],
      lines.map((i) => [i.component, i.name, i.line, formatUsd(i.monthlyUsd), formatUsd(round2(i.monthlyUsd / daysPerMonth)), i.basis]),
      new Set([3, 4]),
    ).map((l) => `  ${l}`),
  );
  out.push("");
  if (estimate.unpriced.length === 0) out.push("Unpriced: none (every resource is priced or on the free list).");
  else {
    out.push(`Unpriced (${estimate.unpriced.length}): NOT included in the total`);
    for (const u of estimate.unpriced) out.push(`  ${u.component} ${u.type} ${u.name}: ${u.reason}`);
  }
  out.push(`Free: ${estimate.free} resources (${Object.keys(estimate.freeByType).length} types: IAM, networking, log groups, SNS/SQS, budgets, Kubernetes objects, components, ...).`);
  out.push(`Assumptions: ${assumptionSummary(estimate)}.`);
  return out.join("\n");
}

const md = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const signed = (n: number) => (n > 0 ? `+${formatUsd(n)}` : n < 0 ? formatUsd(n) : "$0.00");

/** Markdown for pull-request comments; with `comparison` (compareWithDesign) it adds the design line-up. */
export function formatCostMarkdown(estimate: CostEstimate, comparison?: DesignComparison): string {
  const out: string[] = [`### Estimated cost: ${formatUsd(estimate.monthlyUsd)}/month (${formatUsd(estimate.dailyUsd)}/day)`, ""];
  out.push(`${md(headline(estimate))}. Assumptions: ${md(assumptionSummary(estimate))}.`, "");
  out.push("| Component | Monthly | Daily |", "|---|---:|---:|");
  for (const c of costByComponent(estimate)) out.push(`| ${md(c.component)} | ${formatUsd(c.monthlyUsd)} | ${formatUsd(c.dailyUsd)} |`);
  out.push(`| **Total** | **${formatUsd(estimate.monthlyUsd)}** | **${formatUsd(estimate.dailyUsd)}** |`, "");
  if (estimate.unpriced.length > 0) {
    out.push(`> [!WARNING]`, `> ${estimate.unpriced.length} resource(s) could not be priced and are **not** in the total:`);
    for (const u of estimate.unpriced) out.push(`> - \`${md(u.type)}\` ${md(u.name)}: ${md(u.reason)}`);
    out.push("");
  }
  out.push(`<details><summary>Line items (${estimate.items.length}), free resources: ${estimate.free}</summary>`, "");
  out.push("| Component | Resource | Line | Monthly | Basis |", "|---|---|---|---:|---|");
  for (const i of estimate.items) out.push(`| ${md(i.component)} | ${md(i.name)} | ${md(i.line)} | ${formatUsd(i.monthlyUsd)} | ${md(i.basis)} |`);
  out.push("", "</details>");
  if (comparison) {
    out.push("", `#### Compared with the design's ${comparison.environment} table`, "");
    out.push("| Design row | Configuration | Design | Estimate | Difference | Why |", "|---|---|---:|---:|---:|---|");
    for (const r of comparison.rows) {
      out.push(`| ${md(r.item)} | ${md(r.configuration)} | ${r.designUsd === null ? "-" : formatUsd(r.designUsd)} | ${formatUsd(r.estimateUsd)} | ${signed(r.deltaUsd)} | ${md(r.explanation)} |`);
    }
    out.push(`| **Total** | | **${formatUsd(comparison.designTotalUsd)}** | **${formatUsd(comparison.estimateTotalUsd)}** | **${signed(comparison.deltaUsd)}** | ${comparison.unpricedCount ? `${comparison.unpricedCount} unpriced resource(s) not included` : ""} |`);
  }
  return out.join("\n");
}
