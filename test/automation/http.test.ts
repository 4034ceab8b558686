import assert from "node:assert/strict";
import type * as http from "node:http";
import { createHttpServer, listen } from "../../automation/http";
import { createLogger, silentLogger } from "../../automation/logger";
import { AutomationMetrics } from "../../automation/metrics";
import { redactDatabaseUrl, type Store } from "../../automation/store";
import { automationServiceMetrics } from "../../lib/monitoring/metricNames";
import { sharedPgliteStore, truncateAll } from "./support/harness";

describe("http endpoints", function () {
  this.timeout(60_000);
  let store: Store;
  let server: http.Server;
  let base: string;
  let storeUp = true;
  const metrics = new AutomationMetrics({ profiles: ["business-hours", "evening", "weekend", "holiday", "emergency"] });

  before(async () => {
    store = await sharedPgliteStore();
    await truncateAll(store.db);
    // A store whose ping can be made to fail (the database going away).
    const flaky = Object.create(store) as Store;
    flaky.ping = async () => {
      if (!storeUp) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      return store.ping();
    };
    server = createHttpServer({ store: flaky, metrics, logger: silentLogger(), stack: "prod" });
    base = `http://127.0.0.1:${await listen(server, 0, "127.0.0.1")}`;
    const d = await store.claimDecision({ key: "k", stack: "prod", kind: "scheduled", trigger: "scheduled", profile: "evening", overrides: { "services.api-gateway.minReplicas": 2 }, reason: "test" }, "h");
    await store.finishDecision(d.decision.id, "succeeded", {});
    const a = await store.startAttempt({ decisionId: d.decision.id, stack: "prod", trigger: "scheduled", dryRun: false, changes: { "services.api-gateway.minReplicas": 2 }, holder: "h" });
    await store.finishAttempt(a, { outcome: "succeeded", changeSummary: { same: 3, update: 1 } });
    await store.insertForecasts([{ service: "api-gateway", signal: "requests_per_second", model: "ensemble", madeAt: new Date("2026-05-20T10:00:00Z"), targetTs: new Date("2026-05-20T10:15:00Z"), horizonSeconds: 900, point: 300, lower: 250, upper: 350, confidence: 0.9 }]);
  });
  after(async () => {
    await new Promise((r) => server.close(r));
  });

  it("/healthz answers while the process runs", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("/readyz reflects whether the store is reachable", async () => {
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    storeUp = false;
    try {
      const res = await fetch(`${base}/readyz`);
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { error: string }).error, /ECONNREFUSED/);
    } finally {
      storeUp = true;
    }
  });

  it("/metrics exposes every metric of the contract, with the labels the rules query", async () => {
    metrics.updatesTotal.inc({ trigger: "scheduled", outcome: "succeeded" });
    metrics.budgetUtilisation.set({ period: "weekly" }, 0.5);
    metrics.decisionsTotal.inc({ service: "api-gateway", kind: "predictive", outcome: "succeeded" });
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    for (const name of Object.values(automationServiceMetrics)) assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    assert.match(text, /^pyairtable_autoscaler_updates_total\{trigger="scheduled",outcome="succeeded"\} 1$/m);
    assert.match(text, /^pyairtable_autoscaler_updates_total\{trigger="emergency",outcome="refused"\} 0$/m);
    assert.match(text, /^pyairtable_autoscaler_budget_utilisation_ratio\{period="weekly"\} 0.5$/m);
    assert.match(text, /^pyairtable_autoscaler_decisions_total\{service="api-gateway",kind="predictive",outcome="succeeded"\} 1$/m);
    assert.match(text, /^pyairtable_autoscaler_leader_lock_held 0$/m);
  });

  it("/api/decisions lists decisions with their update attempts", async () => {
    const res = await fetch(`${base}/api/decisions?limit=5`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { decisions: { key: string; status: string; attempts: { outcome: string }[] }[] };
    assert.equal(body.decisions.length, 1);
    assert.equal(body.decisions[0]!.key, "k");
    assert.equal(body.decisions[0]!.status, "succeeded");
    assert.deepEqual(body.decisions[0]!.attempts.map((a) => a.outcome), ["succeeded"]);
  });

  it("/api/forecasts lists forecasts, filterable by service", async () => {
    const all = (await (await fetch(`${base}/api/forecasts`)).json()) as { forecasts: { service: string; upper: number }[] };
    assert.equal(all.forecasts.length, 1);
    assert.equal(all.forecasts[0]!.upper, 350);
    const none = (await (await fetch(`${base}/api/forecasts?service=analytics`)).json()) as { forecasts: unknown[] };
    assert.equal(none.forecasts.length, 0);
  });

  it("/api/state shows the applied state", async () => {
    const body = (await (await fetch(`${base}/api/state`)).json()) as { state: { stack: string; emergencyActive: boolean } };
    assert.equal(body.state.stack, "prod");
    assert.equal(body.state.emergencyActive, false);
  });

  it("is read-only, and answers 404 for anything else", async () => {
    const post = await fetch(`${base}/api/decisions`, { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });
});

describe("structured logs", () => {
  it("are JSON lines that never carry secrets", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(l) } });
    logger.info({ databaseUrl: "postgres://app:hunter2@db:5432/a", env: { PULUMI_CONFIG_PASSPHRASE: "s3cret", DATABASE_URL: "postgres://x:y@z/w" }, token: "abc" }, "configured");
    logger.info({ store: redactDatabaseUrl("postgres://app:hunter2@db:5432/a") }, "store");
    const text = lines.join("");
    assert.doesNotMatch(text, /hunter2|s3cret|abc"|x:y@/);
    const first = JSON.parse(lines[0]!) as Record<string, any>;
    assert.equal(first.msg, "configured");
    assert.equal(first.databaseUrl, "[redacted]");
    assert.equal(first.env.PULUMI_CONFIG_PASSPHRASE, "[redacted]");
    assert.equal(JSON.parse(lines[1]!).store, "postgres://app:***@db:5432/a");
  });
});
