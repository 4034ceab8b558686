/**
 * The service's HTTP endpoints (node:http):
 *   GET  /                 the status page (server-rendered HTML, statusPage.ts)
 *   GET  /healthz          200 while the process runs
 *   GET  /readyz           200 when the service can act: started, the store answers and the Pulumi CLI
 *                          runs; 503 otherwise. Degraded inputs (a failing collector) are listed, still 200.
 *   GET  /metrics          Prometheus exposition (prom-client registry)
 *   GET  /api/forecasts    recent forecasts (issued, with the realised bucket once complete) and the
 *                          realised accuracy per series, JSON (?service=&limit=)
 *   GET  /api/decisions    recent decisions with their update attempts, JSON (?limit=)
 *   GET  /api/state        the applied state (scheduled profile, emergency, predictive floors)
 *   POST /api/runs         a scheduler asks for a run (runsApi.ts: TokenReview, allow-list, idempotency key)
 *   GET  /api/runs/<id>    that run and its decision
 * Any request target, method or header gets a 4xx/5xx answer, never an uncaught exception: the
 * target is parsed inside the error handling, bodies are bounded, malformed requests are answered 400.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import type { Store } from "./store";

/** An answer of a handler that is not plain JSON 200. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** POST /api/runs and GET /api/runs/<id> (runsApi.ts). */
export interface RunsEndpoint {
  submit(req: { authorization: string | undefined; idempotencyKey: string | undefined; body: unknown }): Promise<HttpAnswer>;
  get(id: string): Promise<HttpAnswer>;
}

export interface HttpServerOptions {
  readonly store: Store;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  readonly stack: string;
  /** Extra readiness check (e.g. "initialised"); the store must answer as well. */
  readonly ready?: () => boolean;
  /** Problems that keep the service from acting (a Pulumi CLI that cannot run): any makes /readyz 503. */
  readonly problems?: () => Promise<string[]>;
  /** Degraded inputs (a failing collector): listed by /readyz, which stays 200 (the API must stay reachable). */
  readonly degraded?: () => string[];
  readonly readyTimeoutMs?: number;
  /** The status page at `/` (HTML). */
  readonly statusPage?: () => Promise<string>;
  readonly runs?: RunsEndpoint;
}

/** Largest request body accepted (POST /api/runs is a few hundred bytes), bytes. */
export const maxBodyBytes = 16 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json; charset=utf-8", headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
  res.end(text);
}

function limitParam(url: URL, dflt: number, max: number): number {
  const v = Number(url.searchParams.get("limit") ?? dflt);
  return Number.isInteger(v) && v > 0 ? Math.min(v, max) : dflt;
}

/**
 * The request target as a URL, or undefined when it is not one this server serves: origin-form
 * (`/path?query`) only; `//x`, `http://[bad`, `*` and absolute URLs are refused.
 */
export function parseTarget(target: string | undefined): URL | undefined {
  if (!target || !target.startsWith("/") || target.startsWith("//")) return undefined;
  try {
    const url = new URL(target, "http://localhost");
    return url.host === "localhost" ? url : undefined;
  } catch {
    return undefined;
  }
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBodyBytes) return reject(new HttpError(413, `request body of ${declared} bytes: at most ${maxBodyBytes} allowed`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBodyBytes) {
        reject(new HttpError(413, `request body larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

interface Route {
  readonly methods: readonly string[];
  readonly handle: (req: http.IncomingMessage, res: http.ServerResponse, url: URL, match: RegExpExecArray) => Promise<void>;
}

export function createHttpServer(opts: HttpServerOptions): http.Server {
  const { store, metrics, logger } = opts;
  const withTimeout = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
  const json = (res: http.ServerResponse, a: HttpAnswer) => send(res, a.status, a.body, undefined, a.headers);

  const routes: [RegExp, Route][] = [
    [/^\/$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res) => {
        if (!opts.statusPage) return send(res, 404, { error: "no status page" });
        send(res, 200, await opts.statusPage(), "text/html; charset=utf-8", { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:" });
      },
    }],
    [/^\/healthz$/, { methods: ["GET", "HEAD"], handle: async (_req, res) => send(res, 200, { status: "ok" }) }],
    [/^\/readyz$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res) => {
        try {
          await withTimeout(store.ping(), opts.readyTimeoutMs ?? 2000);
        } catch (e) {
          return send(res, 503, { status: "store unreachable", error: (e as Error).message });
        }
        if (opts.ready && !opts.ready()) return send(res, 503, { status: "starting" });
        const problems = opts.problems ? await withTimeout(opts.problems(), 15_000).catch((e) => [`readiness check failed: ${(e as Error).message}`]) : [];
        const degraded = opts.degraded?.() ?? [];
        if (problems.length > 0) return send(res, 503, { status: "not ready", problems, degraded });
        return send(res, 200, { status: "ready", store: store.db.kind, degraded });
      },
    }],
    [/^\/metrics$/, { methods: ["GET", "HEAD"], handle: async (_req, res) => send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType) }],
    [/^\/api\/forecasts$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res, url) => {
        const service = url.searchParams.get("service") ?? undefined;
        if (service !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(service)) {
          return send(res, 400, { error: `service = ${JSON.stringify(service)}: must be a service name (lowercase letters, digits and '-', at most 63 characters)` });
        }
        const rows = await store.recentForecasts(limitParam(url, 100, 1000), service);
        // Realised accuracy per series (issue 20): MAPE, interval and peak coverage, peak error, the gate's last outcome.
        const accuracy = await store.forecastAccuracy(service);
        return send(res, 200, { forecasts: rows, accuracy });
      },
    }],
    [/^\/api\/decisions$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res, url) => {
        const decisions = await store.recentDecisions(limitParam(url, 50, 500), opts.stack);
        // One query for every decision's attempts (not one per decision).
        const attempts = await store.attemptsForDecisions(decisions.map((d) => d.id));
        return send(res, 200, { decisions: decisions.map((d) => ({ ...d, attempts: attempts.get(d.id) ?? [] })) });
      },
    }],
    [/^\/api\/state$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res) => send(res, 200, { state: await store.getState(opts.stack), leader: (await store.leader(opts.stack)) ?? null }),
    }],
    [/^\/api\/runs$/, {
      methods: ["POST"],
      handle: async (req, res) => {
        if (!opts.runs) return send(res, 404, { error: "runs are not served by this process" });
        const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
        if (type !== "application/json") return send(res, 415, { error: `content-type = ${JSON.stringify(req.headers["content-type"] ?? "")}: must be application/json` });
        const text = await readBody(req);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (e) {
          return send(res, 400, { error: `request body is not JSON: ${(e as Error).message}` });
        }
        const key = req.headers["idempotency-key"];
        json(res, await opts.runs.submit({ authorization: req.headers.authorization, idempotencyKey: Array.isArray(key) ? key[0] : key, body }));
      },
    }],
    [/^\/api\/runs\/([^/]+)$/, {
      methods: ["GET", "HEAD"],
      handle: async (_req, res, _url, m) => {
        if (!opts.runs) return send(res, 404, { error: "runs are not served by this process" });
        json(res, await opts.runs.get(m[1]!));
      },
    }],
  ];

  const server = http.createServer((req, res) => {
    let pathname = "(unparsed)";
    const handle = async () => {
      const url = parseTarget(req.url);
      if (!url) return send(res, 400, { error: `request target ${JSON.stringify(String(req.url ?? "").slice(0, 200))}: must be a path starting with a single '/'` });
      pathname = url.pathname;
      for (const [pattern, route] of routes) {
        const m = pattern.exec(url.pathname);
        if (!m) continue;
        if (!route.methods.includes(req.method ?? "")) {
          return send(res, 405, { error: `method ${JSON.stringify(req.method)} not allowed on ${url.pathname}: use ${route.methods.join(" or ")}` }, undefined, { allow: route.methods.join(", ") });
        }
        return route.handle(req, res, url, m);
      }
      return send(res, 404, { error: `not found: ${url.pathname}` });
    };
    handle().catch((e) => {
      if (e instanceof HttpError) return send(res, e.status, { error: e.message }, undefined, { connection: "close" });
      logger.error({ path: pathname, err: (e as Error).message }, "http handler failed");
      send(res, 500, { error: "internal error" });
    });
  });
  // Bounded: a client that sends headers or a body slowly is cut off.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 100;
  // A request the HTTP parser rejects (bad request line, header overflow): 400, then close.
  const rawAnswer = (socket: import("node:stream").Duplex, status: number, error: string, extra = "") => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`);
  };
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    rawAnswer(socket, status, `malformed request (${err.code ?? "parse error"})`);
  });
  // CONNECT is a proxy's method: without this listener node:http would drop the connection silently.
  server.on("connect", (_req, socket) => rawAnswer(socket, 405, "method CONNECT not allowed", "allow: GET, HEAD, POST\r\n"));
  return server;
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
