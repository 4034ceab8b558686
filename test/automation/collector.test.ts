import assert from "node:assert/strict";
import { Collector } from "../../automation/collector";
import { silentLogger } from "../../automation/logger";
import { catalogSeries, seriesFor } from "../../lib/monitoring/signals";
import type { Store } from "../../automation/store";
import { serviceByName } from "../../lib/catalog/services";
import { sharedPgliteStore, truncateAll } from "./support/harness";
import { requireTool } from "./support/postgres";
import { prometheusAvailable, TestPrometheus } from "./support/prometheus";

describe("collector queries from the catalog", () => {
  it("queries request rate for HPA services and KEDA's scaler value per trigger for event-driven ones", () => {
    const gw = seriesFor(serviceByName("api-gateway"));
    assert.deepEqual(gw.map((s) => s.signal), ["cpu_cores", "memory_bytes", "requests_per_second", "latency_p95_seconds"]);
    assert.equal(gw[2]!.query, 'sum(rate(http_requests_total{namespace="pyairtable-api", service="api-gateway"}[5m]))');
    assert.equal(gw[2]!.perReplica, 100);
    assert.equal(gw[0]!.perReplica, undefined, "CPU does not size replicas");
    const fp = seriesFor(serviceByName("file-processing"));
    assert.deepEqual(fp.map((s) => [s.signal, s.query, s.perReplica]), [
      ["redis_list:files:processing", 'max(keda_scaler_metrics_value{namespace="pyairtable-workers", scaledObject="file-processing", triggerIndex="0"})', 10],
      ["sqs_queue:file-events", 'max(keda_scaler_metrics_value{namespace="pyairtable-workers", scaledObject="file-processing", triggerIndex="1"})', 10],
    ]);
    const all = catalogSeries();
    assert.equal(new Set(all.map((s) => `${s.service}/${s.signal}`)).size, all.length, "one series per service and signal");
  });
});

describe("collector against a real Prometheus", function () {
  this.timeout(120_000);
  let prom: TestPrometheus | undefined;
  let store: Store;
  const realNow = Math.floor(Date.now() / 60_000) * 60_000;
  const dataFrom = realNow - 3 * 3600_000;
  const gapUntil = realNow - 45 * 60_000 - 10 * 60_000; // the gap series stops 5 minutes into the first window

  // Minute m (epoch minutes) of the file-service queue: NaN every 5th minute, negative every 7th.
  const queueValue = (t: number) => {
    const m = t / 60_000;
    return m % 5 === 0 ? "NaN" : m % 7 === 0 ? "-3" : "42";
  };

  const series = [
    ...seriesFor(serviceByName("api-gateway")).filter((s) => s.signal === "requests_per_second"),
    ...seriesFor(serviceByName("file-service")), // redis_list:files:requests, triggerIndex 0
    ...seriesFor(serviceByName("file-processing")), // index 0: no data at all; index 1: stops early (gap)
  ];

  before(async function () {
    requireTool(this, prometheusAvailable(), "Prometheus (prometheus, promtool)", "Debian: apt-get install -y prometheus");
    const lines: string[] = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"];
    let total = 0;
    for (let t = dataFrom; t <= realNow; t += 15_000) {
      total += 150 * 15;
      lines.push(`http_requests_total{namespace="pyairtable-api",service="api-gateway",code="200"} ${total} ${t / 1000}`);
    }
    lines.push("# HELP keda_scaler_metrics_value Scaler value.", "# TYPE keda_scaler_metrics_value gauge");
    for (let t = dataFrom; t <= realNow; t += 15_000) {
      lines.push(`keda_scaler_metrics_value{namespace="pyairtable-api",scaledObject="file-service",triggerIndex="0",scaler="redisScaler"} ${queueValue(Math.floor(t / 60_000) * 60_000)} ${t / 1000}`);
      if (t <= gapUntil) lines.push(`keda_scaler_metrics_value{namespace="pyairtable-workers",scaledObject="file-processing",triggerIndex="1",scaler="awsSqsQueueScaler"} 7 ${t / 1000}`);
    }
    lines.push("# EOF");
    prom = await TestPrometheus.start(lines.join("\n") + "\n");
    store = await sharedPgliteStore();
  });
  after(async () => prom?.stop());
  beforeEach(async () => {
    if (store) await truncateAll(store.db);
  });

  const collector = () => new Collector({ prometheusUrl: prom!.url, store, logger: silentLogger(), series, stepSeconds: 60, windowMinutes: 15, timeoutMs: 5000 });

  it("writes the window's samples, dropping NaN, negative and missing ones with a count", async () => {
    const now = new Date(realNow - 45 * 60_000 + 20_000);
    const r = await collector().collect(now);
    assert.equal(r.ok, true, r.error);
    assert.equal(r.windowEnd.toISOString(), new Date(realNow - 45 * 60_000).toISOString());
    assert.equal(r.windowStart.toISOString(), new Date(realNow - 60 * 60_000).toISOString());
    const points: number[] = [];
    for (let t = r.windowStart.getTime(); t <= r.windowEnd.getTime(); t += 60_000) points.push(t);
    assert.equal(points.length, 16);

    const rps = await store.samples("api-gateway", "requests_per_second", r.windowStart, r.windowEnd);
    assert.equal(rps.length, 16);
    for (const s of rps) assert.ok(Math.abs(s.value - 150) < 1e-6, `rate ${s.value}`);

    const queue = await store.samples("file-service", "redis_list:files:requests", r.windowStart, r.windowEnd);
    const nan = points.filter((t) => queueValue(t) === "NaN").length;
    const negative = points.filter((t) => queueValue(t) === "-3").length;
    assert.ok(nan > 0 && negative > 0);
    assert.equal(queue.length, 16 - nan - negative);
    assert.ok(queue.every((s) => s.value === 42));
    // Gap series: samples until 5 min into the window, still seen 5 minutes later (Prometheus' 5-minute lookback).
    const gap = await store.samples("file-processing", "sqs_queue:file-events", r.windowStart, r.windowEnd);
    assert.equal(gap.length, 11);
    assert.deepEqual(r.dropped, { nan, infinite: 0, negative, missing: 16 /* no data at all */ + 5 /* after the gap */ });
    assert.equal(r.written, 16 + queue.length + gap.length);
    assert.equal((await store.recentCollectionRuns(1))[0]!.dropped, r.droppedTotal);
  });

  it("writes nothing while Prometheus is down, and fills the gap on the next run", async () => {
    const c = collector();
    const t1 = realNow - 45 * 60_000;
    assert.equal((await c.collect(new Date(t1))).ok, true);
    const before = (await store.sampleSeries()).reduce((n, s) => n + s.count, 0);

    await prom!.stopServer();
    try {
      const down = await c.collect(new Date(t1 + 15 * 60_000));
      assert.equal(down.ok, false);
      assert.match(down.error!, /Prometheus at http:\/\/127\.0\.0\.1:\d+ unreachable: ECONNREFUSED/);
      assert.equal(down.written, 0);
      assert.equal((await store.sampleSeries()).reduce((n, s) => n + s.count, 0), before, "nothing written");
      assert.equal((await store.recentCollectionRuns(1))[0]!.status, "failed");
    } finally {
      await prom!.startServer();
    }

    const back = await c.collect(new Date(t1 + 30 * 60_000));
    assert.equal(back.ok, true, back.error);
    assert.equal(back.windowStart.toISOString(), new Date(t1 + 60_000).toISOString(), "starts where the last successful run ended");
    const rps = await store.samples("api-gateway", "requests_per_second", new Date(t1), new Date(t1 + 30 * 60_000));
    assert.equal(rps.length, 31, "no hole where the failed run was");
  });

  it("skips a series whose query Prometheus rejects, and writes the others", async () => {
    const c = new Collector({
      prometheusUrl: prom!.url,
      store,
      logger: silentLogger(),
      series: [{ service: "x", signal: "broken", query: "sum(rate(http_requests_total[5m]" }, series[0]!],
    });
    const r = await c.collect(new Date(realNow - 45 * 60_000));
    assert.equal(r.ok, true);
    assert.equal(r.rejected.length, 1);
    assert.match(r.rejected[0]!.error, /bad_data/);
    assert.equal((await store.samples("api-gateway", "requests_per_second", r.windowStart, r.windowEnd)).length, 16);
  });
});
