/**
 * The service's HTTP endpoints (node:http):
 *   GET /healthz          200 while the process runs
 *   GET /readyz           200 when the store answers, 503 otherwise
 *   GET /metrics          Prometheus exposition (prom-client registry)
 *   GET /api/forecasts    recent forecasts (issued, with the realised bucket once complete) and the
 *                         realised accuracy per series, JSON (?service=&limit=)
 *   GET /api/decisions    recent decisions with their update attempts, JSON (?limit=)
 *   GET /api/state        the applied state (scheduled profile, emergency, predictive floors)
 * Read-only: anything but GET/HEAD is 405.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import type { Store } from "./store";

export interface HttpServerOptions {
  readonly store: Store;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  readonly stack: string;
  /** Extra readiness check (e.g. "initialised"); the store must answer as well. */
  readonly ready?: () => boolean;
  /** Further readiness problems (a missing Pulumi CLI, a failing collector); any makes /readyz 503. */
  readonly problems?: () => Promise<string[]>;
  readonly readyTimeoutMs?: number;
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json; charset=utf-8"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(text);
}

function limitParam(url: URL, dflt: number, max: number): number {
  const v = Number(url.searchParams.get("limit") ?? dflt);
  return Number.isInteger(v) && v > 0 ? Math.min(v, max) : dflt;
}

export function createHttpServer(opts: HttpServerOptions): http.Server {
  const { store, metrics, logger } = opts;
  const withTimeout = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, { error: "read-only endpoint: use GET" });
      return;
    }
    const handle = async () => {
      switch (url.pathname) {
        case "/healthz":
          return send(res, 200, { status: "ok" });
        case "/readyz":
          try {
            await withTimeout(store.ping(), opts.readyTimeoutMs ?? 2000);
          } catch (e) {
            return send(res, 503, { status: "store unreachable", error: (e as Error).message });
          }
          if (opts.ready && !opts.ready()) return send(res, 503, { status: "starting" });
          {
            const problems = opts.problems ? await withTimeout(opts.problems(), 15_000).catch((e) => [`readiness check failed: ${(e as Error).message}`]) : [];
            if (problems.length > 0) return send(res, 503, { status: "not ready", problems });
          }
          return send(res, 200, { status: "ready", store: store.db.kind });
        case "/metrics":
          return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        case "/api/forecasts": {
          const service = url.searchParams.get("service") ?? undefined;
          if (service !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(service)) {
            return send(res, 400, { error: `service = ${JSON.stringify(service)}: must be a service name (lowercase letters, digits and '-', at most 63 characters)` });
          }
          const rows = await store.recentForecasts(limitParam(url, 100, 1000), service);
          // Realised accuracy per series (issue 20): MAPE, interval and peak coverage, peak error, the gate's last outcome.
          const accuracy = await store.forecastAccuracy(service);
          return send(res, 200, { forecasts: rows, accuracy });
        }
        case "/api/decisions": {
          const decisions = await store.recentDecisions(limitParam(url, 50, 500), opts.stack);
          // One query for every decision's attempts (not one per decision).
          const attempts = await store.attemptsForDecisions(decisions.map((d) => d.id));
          const withAttempts = decisions.map((d) => ({ ...d, attempts: attempts.get(d.id) ?? [] }));
          return send(res, 200, { decisions: withAttempts });
        }
        case "/api/state":
          return send(res, 200, { state: await store.getState(opts.stack), leader: (await store.leader(opts.stack)) ?? null });
        default:
          return send(res, 404, { error: `not found: ${url.pathname}` });
      }
    };
    handle().catch((e) => {
      logger.error({ path: url.pathname, err: (e as Error).message }, "http handler failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
    });
  });
}

export async function listen(server: http.Server, port: number, host = "0.0.0.0"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
