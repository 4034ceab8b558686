/**
 * Reading a load trace: CSV `timestamp,value` (header optional), any interval, possibly irregular.
 * Timestamps: `YYYY-MM-DD HH:MM[:SS]`, ISO 8601 (with or without a zone) or epoch seconds/ms.
 * Timestamps without a zone are read as UTC (NAB traces carry none).
 * Rows whose value is missing, not a number or negative are kept out of the load and counted;
 * so are unparsable timestamps. Duplicate timestamps keep the last row.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Sample } from "../forecast/types";

export interface TraceQuality {
  readonly rows: number;
  readonly badTimestamps: number;
  readonly missingValues: number;
  readonly nonFinite: number;
  readonly negative: number;
  readonly duplicates: number;
}

export interface Trace {
  readonly name: string;
  /** Valid samples, sorted by time. */
  readonly samples: Sample[];
  /** Typical sampling interval: the median gap between consecutive samples, ms. */
  readonly intervalMs: number;
  readonly startMs: number;
  /** Last sample's time plus one interval. */
  readonly endMs: number;
  readonly quality: TraceQuality;
}

export function parseTimestamp(text: string): number {
  const s = text.trim().replace(/^"|"$/g, "");
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n; // seconds or milliseconds
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, se, frac, zone] = m;
    let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se ?? 0)) + Math.round(Number(frac ?? 0) * 1000);
    if (zone && zone !== "Z") {
      const sign = zone[0] === "-" ? -1 : 1;
      const digits = zone.slice(1).replace(":", "");
      t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return t;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(`${s}T00:00:00Z`);
  return Number.NaN;
}

export function parseTraceCsv(text: string, name = "trace"): Trace {
  const lines = text.split(/\r?\n/);
  let rows = 0;
  let badTimestamps = 0;
  let missingValues = 0;
  let nonFinite = 0;
  let negative = 0;
  const byTime = new Map<number, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const cells = line.split(",");
    if (i === 0 && Number.isNaN(parseTimestamp(cells[0] ?? ""))) continue; // header
    rows++;
    const t = parseTimestamp(cells[0] ?? "");
    if (!Number.isFinite(t)) {
      badTimestamps++;
      continue;
    }
    const raw = (cells[1] ?? "").trim().replace(/^"|"$/g, "");
    if (raw === "") {
      missingValues++;
      continue;
    }
    const v = Number(raw);
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < 0) {
      negative++;
      continue;
    }
    byTime.set(t, v);
  }
  const samples = [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
  const valid = rows - badTimestamps - missingValues - nonFinite - negative;
  const duplicates = valid - samples.length;
  if (samples.length < 2) throw new Error(`${name}: needs at least 2 valid samples, found ${samples.length} (of ${rows} rows)`);
  const gaps: number[] = [];
  for (let i = 1; i < samples.length; i++) gaps.push(samples[i]!.t - samples[i - 1]!.t);
  gaps.sort((a, b) => a - b);
  const intervalMs = gaps[Math.floor(gaps.length / 2)]!;
  return {
    name,
    samples,
    intervalMs,
    startMs: samples[0]!.t,
    endMs: samples[samples.length - 1]!.t + intervalMs,
    quality: { rows, badTimestamps, missingValues, nonFinite, negative, duplicates },
  };
}

export function readTrace(file: string): Trace {
  return parseTraceCsv(fs.readFileSync(file, "utf8"), path.basename(file));
}
