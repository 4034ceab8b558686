/**
 * The load each service sees during the replay, one value a minute (the trace's own units: the
 * replay sizes each service so that the trace's peak needs the service's maximum replicas at its
 * target, see engine.ts).
 *
 * Sources:
 * - default: real public traces (NAB, `../shared/data/traces`, see its SOURCES.md) mapped onto the
 *   eleven services by `defaultTraceMapping` (why each: the comment on the row);
 * - `--load <service>=<csv>`: the user's own trace (`timestamp,value`, parsed by the backtest's
 *   reader); every row must parse (a bad row is an error naming the file, the line and the value);
 * - `--from-store`: the samples the automation service collected (automation/store), per service.
 *
 * Alignment: each trace is laid onto the replay's calendar from its first Monday 00:00 (UTC), so
 * weekdays stay weekdays (business hours and the scheduled profiles see the trace's own week).
 * A trace shorter than the replay repeats in whole weeks. Between samples the last value holds.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { serviceNames } from "../../lib/catalog/services";
import { parseTimestamp, parseTraceCsv } from "../backtest/trace";

export const minuteMs = 60_000;
const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

/** Where the NAB traces are (override with --traces or REPLAY_TRACES_DIR). */
export const defaultTracesDir = process.env.REPLAY_TRACES_DIR ?? "/work/shared/data/traces";

export interface TraceMappingRow {
  readonly service: string;
  /** Path under the traces directory. */
  readonly file: string;
  /** Start at the first Monday on or after this date (YYYY-MM-DD), else the trace's first Monday. */
  readonly from?: string;
  readonly why: string;
}

/** The documented default mapping of the real traces onto the eleven services. */
export const defaultTraceMapping: readonly TraceMappingRow[] = [
  { service: "api-gateway", file: "nab/realKnownCause/nyc_taxi.csv", from: "2014-10-06", why: "user-facing demand with a daily and a weekly cycle; the window holds the NYC marathon (2 Nov) as a real surge" },
  { service: "platform-services", file: "nab/realKnownCause/cpu_utilization_asg_misconfiguration.csv", why: "a real service's CPU with a daily cycle and a misconfiguration incident" },
  { service: "user-services", file: "nab/realKnownCause/nyc_taxi.csv", from: "2014-08-04", why: "user-facing demand, another month of the same city (summer)" },
  { service: "file-service", file: "nab/realTweets/Twitter_volume_AMZN.csv", why: "bursty event volume (uploads arrive in bursts)" },
  { service: "file-processing", file: "nab/realTweets/Twitter_volume_GOOG.csv", why: "bursty event volume, idle stretches (scale to zero)" },
  { service: "saga-orchestrator", file: "nab/realAWSCloudwatch/elb_request_count_8c0756.csv", why: "request count behind a load balancer, spiky (14 days, repeated)" },
  { service: "ai-llm", file: "nab/realTweets/Twitter_volume_AAPL.csv", why: "extreme peaks over a low base (peak/mean 157): the hardest case for a fixed size" },
  { service: "analytics", file: "nab/realAWSCloudwatch/grok_asg_anomaly.csv", why: "an autoscaling group's load with a daily cycle (16 days, repeated)" },
  { service: "notifications", file: "nab/realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv", why: "database-driven fan-out with a daily cycle (14 days, repeated)" },
  { service: "webhooks", file: "nab/realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", why: "steady CPU with a daily cycle (14 days, repeated)" },
  { service: "automation", file: "nab/realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv", why: "scheduled jobs with a daily cycle (14 days, repeated)" },
];

/** Bad input (a CSV row, an unknown service, a missing file): one clear message, exit 2. */
export class ReplayInputError extends Error {}

export interface ServiceLoad {
  readonly service: string;
  /** One value per minute from the replay start. */
  readonly perMinute: Float64Array;
  /** Where it came from (file, store, trace window). */
  readonly source: string;
  /** Samples before the replay start (the same source), for the forecaster's history. */
  readonly history: { t: number; v: number }[];
}

/** Monday 00:00 UTC on or after t. */
export function mondayOnOrAfter(t: number): number {
  const day = Math.floor(t / dayMs) * dayMs;
  const dow = new Date(day).getUTCDay(); // 0 = Sunday
  const add = (8 - dow) % 7;
  const m = day + add * dayMs;
  return m < t ? m + weekMs : m;
}

/**
 * Lays samples onto `days` × 1440 minutes from `replayStart`: source minute 0 is the first Monday
 * 00:00 on or after `from` (or the first sample); past the trace's end it repeats in whole weeks.
 */
export function layOnto(samples: readonly { t: number; v: number }[], replayStartMs: number, days: number, from?: number): { perMinute: Float64Array; sourceStart: number; repeatMs: number; history: { t: number; v: number }[] } {
  if (samples.length < 2) throw new ReplayInputError("a load needs at least 2 samples");
  const first = samples[0]!.t;
  const last = samples[samples.length - 1]!.t;
  let sourceStart = mondayOnOrAfter(from ?? first);
  if (sourceStart > last) sourceStart = mondayOnOrAfter(first);
  const spanWeeks = Math.floor((last - sourceStart) / weekMs);
  const repeatMs = Math.max(1, spanWeeks) * weekMs;
  const n = days * 1440;
  const perMinute = new Float64Array(n);
  // Step-hold: the last sample at or before the minute (the first sample before any).
  const times = Float64Array.from(samples, (s) => s.t);
  const values = Float64Array.from(samples, (s) => s.v);
  const at = (t: number) => {
    let lo = 0;
    let hi = times.length - 1;
    if (t < times[0]!) return values[0]!;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return values[lo]!;
  };
  for (let m = 0; m < n; m++) {
    const offset = (m * minuteMs) % repeatMs;
    perMinute[m] = at(sourceStart + offset);
  }
  // History for the forecaster: up to 7 days before the source window, re-timed before the replay.
  const history = samples.filter((s) => s.t < sourceStart && s.t >= sourceStart - weekMs).map((s) => ({ t: s.t - sourceStart + replayStartMs, v: s.v }));
  void replayStartMs;
  return { perMinute, sourceStart, repeatMs, history };
}

/** Parses a user's CSV strictly: every non-header row must be `timestamp,value` with value ≥ 0. */
export function readLoadCsv(file: string, service: string): { t: number; v: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ReplayInputError(`--load ${service}=${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const cells = line.split(",");
    if (i === 0 && Number.isNaN(parseTimestamp(cells[0] ?? ""))) return; // header
    const where = `--load ${service}=${file}: line ${i + 1}`;
    if (cells.length !== 2) throw new ReplayInputError(`${where}: '${line}' must be 'timestamp,value' (2 cells, found ${cells.length})`);
    if (Number.isNaN(parseTimestamp(cells[0]!))) throw new ReplayInputError(`${where}: timestamp '${cells[0]}' is not a date (YYYY-MM-DD HH:MM[:SS], ISO 8601 or epoch seconds/ms)`);
    const v = Number(cells[1]!.trim());
    if (cells[1]!.trim() === "" || !Number.isFinite(v) || v < 0) throw new ReplayInputError(`${where}: value '${cells[1]}' must be a number ≥ 0`);
  });
  try {
    return parseTraceCsv(text, path.basename(file)).samples;
  } catch (e) {
    throw new ReplayInputError(`--load ${service}=${file}: ${(e as Error).message}`);
  }
}

export function checkServiceName(service: string, flag: string): void {
  if (!serviceNames.includes(service as never)) throw new ReplayInputError(`${flag}: unknown service '${service}' (known: ${serviceNames.join(", ")})`);
}

/** The default (trace) load of every service not given otherwise. */
export function defaultLoad(service: string, replayStartMs: number, days: number, tracesDir = defaultTracesDir): ServiceLoad {
  const row = defaultTraceMapping.find((r) => r.service === service);
  if (!row) throw new ReplayInputError(`no default trace for service '${service}'`);
  const file = path.join(tracesDir, row.file);
  if (!fs.existsSync(file)) throw new ReplayInputError(`default trace for ${service} not found: ${file} (set --traces <dir> or REPLAY_TRACES_DIR to the NAB traces directory, or give --load ${service}=<csv>)`);
  const samples = parseTraceCsv(fs.readFileSync(file, "utf8"), row.file).samples;
  const laid = layOnto(samples, replayStartMs, days, row.from ? Date.parse(`${row.from}T00:00:00Z`) : undefined);
  return { service, perMinute: laid.perMinute, history: laid.history, source: `${row.file} from ${new Date(laid.sourceStart).toISOString().slice(0, 10)}${laid.repeatMs < days * dayMs ? ` (repeats every ${laid.repeatMs / dayMs} days)` : ""}` };
}

export function loadFromSamples(service: string, samples: readonly { t: number; v: number }[], replayStartMs: number, days: number, source: string): ServiceLoad {
  const laid = layOnto(samples, replayStartMs, days);
  return { service, perMinute: laid.perMinute, history: laid.history, source };
}
