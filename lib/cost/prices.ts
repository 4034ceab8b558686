/**
 * The price catalog: every unit price the cost estimator uses, with its source and snapshot date
 * (`data/prices-us-east-1.json`, copied from `../shared/data/pricing/unit_prices_us_east_1.csv`).
 *
 * The file is read and validated (zod) at first use; a malformed entry fails with a message that
 * names the entry's key. `priceOf(key)` throws `UnknownPriceError` for a key the catalog lacks, so a
 * missing price is never read as $0.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

/** Hours in a month, the AWS (and Infracost) convention: 365 x 24 / 12. */
export const hoursPerMonth = 730;
/**
 * Days in a month consistent with `hoursPerMonth` (730 / 24 = 30.42), so a daily run-rate is
 * exactly 24 x the hourly one. The design's daily budget is compared against `monthly / daysPerMonth`.
 */
export const daysPerMonth = hoursPerMonth / 24;

export const priceCatalogFile = path.resolve(__dirname, "../../data/prices-us-east-1.json");

export const confidenceLevels = ["high", "medium-high", "medium", "low"] as const;
export type PriceConfidence = (typeof confidenceLevels)[number];

const nonEmpty = z.string().trim().min(1, { error: "must be a non-empty string" });

const priceEntrySchema = z.strictObject({
  key: z.string().regex(/^[a-z0-9]+(\.[A-Za-z0-9]+)+$/, { error: "must be dot-separated words, e.g. ec2.m5.large.hour" }),
  item: nonEmpty,
  unit: nonEmpty,
  usd: z.number({ error: "must be a number" }).nonnegative({ error: "must be a non-negative number (USD)" }),
  sourceId: z.string().regex(/^S\d+(;S\d+)*$/, { error: "must be source ids separated by ';', e.g. S1;S2" }),
  snapshot: nonEmpty,
  confidence: z.enum(confidenceLevels, { error: `must be one of ${confidenceLevels.join(", ")}` }),
  notes: z.string(),
});

const sourceSchema = z.strictObject({
  id: z.string().regex(/^S\d+$/, { error: "must look like S1" }),
  source: nonEmpty,
  gave: nonEmpty,
  snapshot: nonEmpty,
});

const catalogSchema = z.strictObject({
  region: nonEmpty,
  currency: z.literal("USD", { error: "must be USD" }),
  hoursPerMonth: z.literal(hoursPerMonth, { error: `must be ${hoursPerMonth}` }),
  description: z.string(),
  sources: z.array(sourceSchema).min(1),
  prices: z.array(z.unknown()).min(1),
});

export type PriceEntry = z.infer<typeof priceEntrySchema>;
export type PriceSource = z.infer<typeof sourceSchema>;

export interface PriceCatalog {
  readonly region: string;
  readonly currency: "USD";
  readonly hoursPerMonth: number;
  readonly sources: readonly PriceSource[];
  readonly entries: ReadonlyMap<string, PriceEntry>;
}

/** A catalog file that does not validate; the message names the entry's key where there is one. */
export class PriceCatalogError extends Error {
  constructor(readonly origin: string, readonly problems: readonly string[]) {
    super(`invalid price catalog ${origin} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PriceCatalogError";
  }
}

/** A price key the catalog does not have. */
export class UnknownPriceError extends Error {
  constructor(readonly key: string, readonly origin: string) {
    super(`no price for '${key}' in ${origin}: add it (with its source) before pricing this resource`);
    this.name = "UnknownPriceError";
  }
}

function issuePath(pathParts: readonly PropertyKey[]): string {
  return pathParts.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
}

/** Validates a parsed catalog document; throws PriceCatalogError listing every problem. */
export function parsePriceCatalog(raw: unknown, origin = "price catalog"): PriceCatalog {
  const top = catalogSchema.safeParse(raw);
  if (!top.success) {
    throw new PriceCatalogError(origin, top.error.issues.map((i) => `${issuePath(i.path) || "(document)"}: ${i.message}`));
  }
  const problems: string[] = [];
  const sourceIds = new Set<string>();
  for (const s of top.data.sources) {
    if (sourceIds.has(s.id)) problems.push(`sources: duplicate id ${s.id}`);
    sourceIds.add(s.id);
  }
  const entries = new Map<string, PriceEntry>();
  top.data.prices.forEach((rawEntry, index) => {
    const key = rawEntry !== null && typeof rawEntry === "object" && typeof (rawEntry as { key?: unknown }).key === "string"
      ? (rawEntry as { key: string }).key
      : undefined;
    const where = key ? `price '${key}'` : `prices[${index}] (no key)`;
    const parsed = priceEntrySchema.safeParse(rawEntry);
    if (!parsed.success) {
      for (const i of parsed.error.issues) problems.push(`${where}: ${issuePath(i.path) || "(entry)"} ${i.message}`);
      return;
    }
    const entry = parsed.data;
    for (const id of entry.sourceId.split(";")) {
      if (!sourceIds.has(id)) problems.push(`${where}: sourceId ${id} is not in the sources table (${[...sourceIds].join(", ")})`);
    }
    if (entries.has(entry.key)) problems.push(`${where}: duplicate key`);
    entries.set(entry.key, entry);
  });
  if (problems.length > 0) throw new PriceCatalogError(origin, problems);
  return { region: top.data.region, currency: top.data.currency, hoursPerMonth: top.data.hoursPerMonth, sources: top.data.sources, entries };
}

/** Reads and validates a catalog file. */
export function loadPriceCatalog(file: string = priceCatalogFile): PriceCatalog {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new PriceCatalogError(file, [`cannot read JSON: ${(error as Error).message}`]);
  }
  return parsePriceCatalog(raw, path.basename(file));
}

let cached: PriceCatalog | undefined;

/**
 * The repository's catalog, validated at first use. Imported as a module (not read by path) so that
 * a bundled policy pack (`npm run policy:bundle`) carries it.
 */
export function priceCatalog(): PriceCatalog {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cached ??= parsePriceCatalog(require("../../data/prices-us-east-1.json") as unknown, path.basename(priceCatalogFile));
  return cached;
}

export function hasPrice(key: string, catalog: PriceCatalog = priceCatalog()): boolean {
  return catalog.entries.has(key);
}

/** The catalog entry of `key` (price, unit, source, confidence); throws UnknownPriceError. */
export function priceEntry(key: string, catalog: PriceCatalog = priceCatalog()): PriceEntry {
  const entry = catalog.entries.get(key);
  if (!entry) throw new UnknownPriceError(key, `the ${catalog.region} price catalog`);
  return entry;
}

/** Unit price of `key` in USD; throws UnknownPriceError for a key the catalog lacks. */
export function priceOf(key: string, catalog: PriceCatalog = priceCatalog()): number {
  return priceEntry(key, catalog).usd;
}

/** `$0.096`, `$0.10`, `$1.00`, `$0.0416`: at least two decimals, no rounding of the catalog's digits. */
export function formatUnitPrice(usd: number): string {
  const cents = Math.round(usd * 100);
  return Math.abs(usd * 100 - cents) < 1e-9 ? `$${usd.toFixed(2)}` : `$${String(usd)}`;
}

/** `$1,234.56` */
export function formatUsd(usd: number): string {
  const sign = usd < 0 ? "-" : "";
  return `${sign}$${Math.abs(usd).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
