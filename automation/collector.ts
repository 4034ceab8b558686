/**
 * The 15-minute collection: Prometheus HTTP API `query_range` for every catalog series (see
 * signals.ts), written to the store's samples.
 *
 * - NaN, infinite, negative and missing samples are dropped and counted;
 * - Prometheus unreachable (network error, 5xx, timeout) → logged, the run fails and nothing is
 *   written; the next run starts where the last successful run ended (up to `maxBackfillMinutes`),
 *   so the gap is filled when Prometheus is back;
 * - a query Prometheus rejects (4xx: bad query) is logged and skipped, the others are written.
 */
import type { Logger } from "./logger";
import { catalogSeries, type SeriesDefinition } from "../lib/monitoring/signals";
import type { Sample, Store } from "./store";

export interface DroppedCounts {
  nan: number;
  infinite: number;
  negative: number;
  missing: number;
}

export interface CollectionResult {
  readonly ok: boolean;
  readonly written: number;
  readonly dropped: DroppedCounts;
  readonly droppedTotal: number;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  /** Series whose query Prometheus rejected. */
  readonly rejected: readonly { service: string; signal: string; error: string }[];
  readonly error?: string;
}

export interface CollectorOptions {
  readonly prometheusUrl: string;
  readonly store: Store;
  readonly logger: Logger;
  readonly stepSeconds?: number;
  readonly windowMinutes?: number;
  /** How far back a run reaches to fill a gap left by failed runs. */
  readonly maxBackfillMinutes?: number;
  readonly timeoutMs?: number;
  readonly series?: readonly SeriesDefinition[];
  readonly fetch?: typeof fetch;
}

export class PrometheusUnavailableError extends Error {}

interface QueryRangeResponse {
  status: "success" | "error";
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

export class Collector {
  private readonly stepSeconds: number;
  private readonly windowMinutes: number;
  private readonly maxBackfillMinutes: number;
  private readonly timeoutMs: number;
  private readonly series: readonly SeriesDefinition[];
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: CollectorOptions) {
    this.stepSeconds = opts.stepSeconds ?? 60;
    this.windowMinutes = opts.windowMinutes ?? 15;
    this.maxBackfillMinutes = opts.maxBackfillMinutes ?? 24 * 60;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.series = opts.series ?? catalogSeries();
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Time range of the next run: the last `windowMinutes`, reaching back to the end of the last successful run after failures (bounded). */
  async window(now: Date): Promise<{ start: Date; end: Date }> {
    const step = this.stepSeconds * 1000;
    const end = Math.floor(now.getTime() / step) * step;
    let start = end - this.windowMinutes * 60_000;
    const last = await this.opts.store.lastCollectedUntil();
    if (last && last.getTime() + step < start) {
      start = Math.max(end - this.maxBackfillMinutes * 60_000, Math.floor(last.getTime() / step) * step + step);
    }
    return { start: new Date(start), end: new Date(end) };
  }

  async collect(now: Date = new Date()): Promise<CollectionResult> {
    const { store, logger } = this.opts;
    const { start, end } = await this.window(now);
    const runId = await store.startCollectionRun(now, start, end);
    const dropped: DroppedCounts = { nan: 0, infinite: 0, negative: 0, missing: 0 };
    const rejected: { service: string; signal: string; error: string }[] = [];
    const samples: Sample[] = [];
    const expected = Math.floor((end.getTime() - start.getTime()) / (this.stepSeconds * 1000)) + 1;
    try {
      for (const s of this.series) {
        let values: [number, string][];
        try {
          values = await this.queryRange(s.query, start, end);
        } catch (e) {
          if (e instanceof PrometheusUnavailableError) throw e;
          rejected.push({ service: s.service, signal: s.signal, error: (e as Error).message });
          logger.warn({ service: s.service, signal: s.signal, query: s.query, err: (e as Error).message }, "query rejected by Prometheus: series skipped");
          continue;
        }
        for (const [ts, text] of values) {
          const v = Number(text);
          if (Number.isNaN(v)) dropped.nan++;
          else if (!Number.isFinite(v)) dropped.infinite++;
          else if (v < 0) dropped.negative++;
          else {
            samples.push({ service: s.service, signal: s.signal, ts: new Date(ts * 1000), value: v });
          }
        }
        dropped.missing += Math.max(0, expected - values.length);
      }
    } catch (e) {
      const error = (e as Error).message;
      logger.error({ err: error, prometheusUrl: this.opts.prometheusUrl }, "Prometheus unavailable: nothing written, the next run retries this window");
      await store.finishCollectionRun(runId, { status: "failed", written: 0, dropped: 0, error });
      return { ok: false, written: 0, dropped: { nan: 0, infinite: 0, negative: 0, missing: 0 }, droppedTotal: 0, windowStart: start, windowEnd: end, rejected, error };
    }
    const written = await store.insertSamples(samples);
    const droppedTotal = dropped.nan + dropped.infinite + dropped.negative + dropped.missing;
    await store.finishCollectionRun(runId, { status: "succeeded", written, dropped: droppedTotal });
    logger.info({ written, dropped, rejected: rejected.length, windowStart: start, windowEnd: end }, "samples collected");
    return { ok: true, written, dropped, droppedTotal, windowStart: start, windowEnd: end, rejected };
  }

  /** One `query_range`; the series of the result are summed per timestamp. */
  async queryRange(query: string, start: Date, end: Date): Promise<[number, string][]> {
    const url = new URL("/api/v1/query_range", this.opts.prometheusUrl);
    const body = new URLSearchParams({ query, start: String(start.getTime() / 1000), end: String(end.getTime() / 1000), step: `${this.stepSeconds}s` });
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new PrometheusUnavailableError(`Prometheus at ${this.opts.prometheusUrl} unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (res.status >= 500 || res.status === 429) throw new PrometheusUnavailableError(`Prometheus at ${this.opts.prometheusUrl} answered ${res.status}`);
    let doc: QueryRangeResponse;
    try {
      doc = (await res.json()) as QueryRangeResponse;
    } catch {
      throw new PrometheusUnavailableError(`Prometheus at ${this.opts.prometheusUrl} answered ${res.status} without JSON`);
    }
    if (res.status >= 400 || doc.status !== "success") throw new Error(`${doc.errorType ?? res.status}: ${doc.error ?? "query failed"}`);
    const result = doc.data?.result ?? [];
    if (result.length <= 1) return result[0]?.values ?? [];
    const sum = new Map<number, number>();
    for (const series of result) for (const [ts, v] of series.values) sum.set(ts, (sum.get(ts) ?? 0) + Number(v));
    return [...sum.entries()].sort((a, b) => a[0] - b[0]).map(([ts, v]) => [ts, String(v)]);
  }
}
