/**
 * The status page at `/` in a real browser: Debian's headless Chromium loads it from the running
 * service, dumps the DOM it built (checked element by element) and takes a screenshot (a PNG of
 * the requested size with visible content). The page is server-rendered: no script, no external
 * asset; values from outside (decision reasons, callers) are escaped.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { silentLogger } from "../../automation/logger";
import { AutomationMetrics } from "../../automation/metrics";
import { AutomationService } from "../../automation/service";
import { PgliteDatabase, RunRequests, Store } from "../../automation/store";
import { forecastAccuracy, renderStatusPage } from "../../automation/statusPage";
import { RecordingRunner, testConfig } from "./support/harness";
import { requireTool } from "./support/postgres";

const chromiumBin = ["chromium", "chromium-browser", "google-chrome"].map((b) => ["/usr/bin/" + b, b]).flat().find((b) => fs.existsSync(b));

function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-"));
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    execFile(chromiumBin!, [...flags, ...args], { timeout: 60_000, maxBuffer: 20 * 1024 * 1024 }, (err, stdout, stderr) => {
      fs.rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** Width, height and the number of distinct RGB colours of an 8-bit RGB/RGBA PNG (IDAT inflated and unfiltered enough to count colours of filter-0/1 rows approximately: we count raw bytes per pixel after undoing the filters). */
function pngSummary(file: string): { width: number; height: number; colours: number } {
  const buf = fs.readFileSync(file);
  assert.equal(buf.subarray(0, 8).toString("hex"), "89504e470d0a1a0a", "a PNG");
  let offset = 8;
  let width = 0, height = 0, colourType = 0, bitDepth = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const len = buf.readUInt32BE(offset);
    const type = buf.subarray(offset + 4, offset + 8).toString("ascii");
    const data = buf.subarray(offset + 8, offset + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8]!;
      colourType = data[9]!;
    } else if (type === "IDAT") idat.push(data);
    offset += 12 + len;
  }
  assert.equal(bitDepth, 8);
  const bpp = colourType === 6 ? 4 : colourType === 2 ? 3 : assert.fail(`colour type ${colourType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? line[x - bpp]! : 0, b = prev[x]!, c = x >= bpp ? prev[x - bpp]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      line[x] = (src[x]! + pred) & 0xff;
    }
    for (let x = 0; x < width; x += 3) colours.add((line[x * bpp]! << 16) | (line[x * bpp + 1]! << 8) | line[x * bpp + 2]!);
    line.copy(prev);
  }
  return { width, height, colours: colours.size };
}

describe("status page at / (headless Chromium)", function () {
  this.timeout(180_000);
  let service: AutomationService;
  let base: string;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "status-page-"));

  before(async function () {
    requireTool(this, chromiumBin !== undefined, "Chromium", "apt-get install chromium");
    const store = new Store(await PgliteDatabase.open());
    await store.init();
    const config = testConfig("prod");
    service = new AutomationService({ config, store, runner: new RecordingRunner(), logger: silentLogger(), metrics: new AutomationMetrics(), port: 0, host: "127.0.0.1", startJobs: false, costEstimate: async () => [] });
    await service.start();
    await service.catchingUp;
    // A refused decision whose reason carries markup: shown as text.
    const d = await store.claimDecision({ key: "manual:prod:x", stack: "prod", kind: "emergency", trigger: "emergency", profile: "emergency", overrides: {}, reason: "<script>alert(1)</script> by hand" }, "h");
    await store.finishDecision(d.decision.id, "refused", { error: "policy" });
    await new RunRequests(store.db).submit({ stack: "prod", caller: "automation/pyairtable-scheduler", idempotencyKey: "k", command: "predict", profile: null, requestHash: "h" });
    const t0 = new Date(Date.now() - 3 * 3600_000);
    t0.setUTCMinutes(0, 0, 0);
    const forecasts = [0, 1, 2, 3].map((i) => ({ service: "api-gateway", signal: "requests_per_second", model: "ensemble", madeAt: new Date(t0.getTime() + i * 900_000 - 900_000), targetTs: new Date(t0.getTime() + i * 900_000), horizonSeconds: 900, point: 100, lower: 90, upper: 110, confidence: 0.9 }));
    await store.insertForecasts(forecasts);
    await store.insertSamples(forecasts.map((f, i) => ({ service: f.service, signal: f.signal, ts: f.targetTs, value: [100, 125, 80, 105][i]! })));
    base = `http://127.0.0.1:${service.port}`;
  });
  after(async () => {
    await service?.stop(5000);
    if (process.env.KEEP_SCREENSHOT) fs.copyFileSync(path.join(out, "status.png"), process.env.KEEP_SCREENSHOT);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it("is served as HTML with a CSP that forbids scripts", async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
    assert.doesNotMatch(await res.text(), /<script/i);
  });

  it("the DOM Chromium builds shows leader and epoch, profile, settings in force and why, decisions, runs, next runs, budget and forecast accuracy", async () => {
    const { stdout: dom } = await chromium(["--dump-dom", `${base}/`]);
    const sectionText = (id: string) => {
      const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(dom);
      assert.ok(m, `section #${id} in the DOM`);
      return m![1]!.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    };
    const leader = await service.store.leader("prod");
    assert.match(sectionText("leader"), new RegExp(`${leader!.holder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} leads, epoch ${leader!.epoch}`));
    const state = await service.store.getState("prod");
    assert.match(sectionText("profile"), new RegExp(state.scheduledProfile!));
    const floors = sectionText("floors");
    assert.match(floors, /services\.api-gateway\.minReplicas/);
    assert.match(floors, new RegExp(`profile ${state.scheduledProfile}`));
    const decisions = sectionText("decisions");
    assert.match(decisions, /refused/);
    assert.match(decisions, /&lt;script&gt;alert\(1\)&lt;\/script&gt; by hand/, "markup from a reason is text");
    assert.doesNotMatch(dom, /<script>alert/);
    assert.match(sectionText("runs"), /automation\/pyairtable-scheduler predict queued/);
    assert.match(sectionText("next-runs"), /business-hours .*UTC/);
    assert.match(sectionText("budget"), /daily .* unknown/);
    // Four forecasts scored: errors 0, 20%, 25%, 4.76% → MAPE 12.4%; 2 of 4 inside [90, 110].
    assert.match(sectionText("forecast-accuracy"), /api-gateway requests_per_second 4 12\.4% 50\.0%/);
  });

  it("a screenshot: a PNG of the window's size with visible content", async () => {
    const file = path.join(out, "status.png");
    await chromium([`--screenshot=${file}`, "--window-size=1280,1600", "--hide-scrollbars", `${base}/`]);
    const png = pngSummary(file);
    assert.equal(png.width, 1280);
    assert.equal(png.height, 1600);
    assert.ok(png.colours >= 8, `${png.colours} distinct colours: the page rendered (not blank)`);
  });

  it("renderStatusPage escapes every value and scores forecasts only where an observation exists", () => {
    const acc = forecastAccuracy([
      { service: "a", signal: "s", model: "m", madeAt: new Date(0), targetTs: new Date(1000), horizonSeconds: 900, point: 10, lower: 5, upper: 15, confidence: 1 },
      { service: "a", signal: "s", model: "m", madeAt: new Date(0), targetTs: new Date(2000), horizonSeconds: 900, point: 10, lower: 5, upper: 15, confidence: 1 },
    ], (_s, _g, at) => (at.getTime() === 1000 ? 20 : undefined));
    assert.deepEqual(acc, [{ service: "a", signal: "s", scored: 1, mape: 0.5, coverage: 0 }]);
    assert.equal(renderStatusPage({
      stack: "<b>", now: new Date(0), holder: "h", isLeader: false, leader: null,
      state: { stack: "x", scheduledProfile: null, scheduledAt: null, emergencyActive: false, emergencySince: null, emergencyReason: null, previousProfile: null, predictiveFloors: {} },
      overrides: {}, base: testConfig("prod").base.settings, decisions: [], runs: [], nextRuns: [], budgets: [], accuracy: [], problems: ["<i>x</i>"],
    }).match(/<b>|<i>/g), null);
  });
});
