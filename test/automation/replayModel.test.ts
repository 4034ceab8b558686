/**
 * The replay's model parts against their sources (issue 21): allocatable per type (Karpenter v1.14's
 * table), the batch window, a Spot Advisor band → interruption rate, the ACU step, launch-to-ready,
 * and the static scenario's node cost recomputed by hand for one small case; plus the load readers'
 * bad-input errors.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allocatable, interruptionBand, onDemandHourly, spotFacts } from "../../lib/cost/ec2";
import { runScenario } from "../../automation/replay/engine";
import { layOnto, mondayOnOrAfter, readLoadCsv, ReplayInputError } from "../../automation/replay/load";
import { acuStep, hourlyInterruptionHazard, replayConstants, triangular } from "../../automation/replay/model";
import { cronWindow } from "../../automation/replay/scenarios";
import { durationSeconds } from "../../automation/replay/stack";
import { tinyStack } from "./support/replayStacks";
import { mulberry32 } from "../../automation/backtest/synthetic";

const shared = "/work/shared/data/aws";

describe("replay model parts against their sources", () => {
  it("allocatable of three types is Karpenter v1.14's (instance-types.md): m5.large 1930m / 6903Mi / 29 pods", () => {
    assert.deepEqual(pick(allocatable("m5.large")), { cpuMillis: 1930, allocatableMemoryMiB: 6903, pods: 29 });
    assert.deepEqual(pick(allocatable("m5.xlarge")), { cpuMillis: 3920, allocatableMemoryMiB: 14162, pods: 58 });
    assert.deepEqual(pick(allocatable("c5.large")), { cpuMillis: 1930, allocatableMemoryMiB: 3114, pods: 29 });
    // The repository's copies are the shared snapshot, byte for byte (where the snapshot is present).
    for (const f of ["karpenter-instance-types-v1.14.json", "spot-advisor-us-east-1.json", "ec2-on-demand-us-east-1.json"]) {
      if (!fs.existsSync(path.join(shared, f))) continue;
      assert.equal(fs.readFileSync(path.resolve(__dirname, "../../data/aws", f), "utf8"), fs.readFileSync(path.join(shared, f), "utf8"), f);
    }
  });

  it("on-demand and spot prices: spot = on-demand × (1 − Spot Advisor savings)", () => {
    assert.equal(onDemandHourly("m5.large"), 0.096);
    const s = spotFacts("m5.large");
    assert.equal(s.savingsPercent, 66);
    assert.equal(s.band.label, "15-20%");
    assert.ok(Math.abs(s.spotHourly - 0.096 * 0.34) < 1e-12);
    assert.equal(spotFacts("m5.xlarge").band.label, ">20%");
    assert.equal(spotFacts("c5.large").band.label, "<5%");
    assert.throws(() => onDemandHourly("m99.huge"), /m99\.huge.*no on-demand price/);
  });

  it("Karpenter's batch window is 1 s idle, 10 s at most (BATCH_IDLE_DURATION / BATCH_MAX_DURATION)", () => {
    assert.equal(replayConstants.batchIdleSeconds, 1);
    assert.equal(replayConstants.batchMaxSeconds, 10);
    // Behaviour: a scale-up that needs a new node launches it 1 s after the pods are pending, and the
    // pods are Ready launch-to-ready + pod start later (not before 1 + 30 + 60 s).
    const stack = tinyStack({ max: 40, types: ["m5.large"] });
    const minutes = 30;
    const load = new Float64Array(minutes).fill(1);
    for (let m = 10; m < minutes; m++) load[m] = 38; // peak 38 → C = 38 / (0.7 × 40)
    const r = runScenario({ stack, loads: [load], startMs: 0, minutes, seed: 3, scenario: "reactive", window: { fromMinute: 0, toMinute: minutes } });
    assert.ok(r.nodesLaunched >= 2, `a scale-up to ~28 pods of 150m needs more than the warm node (launched ${r.nodesLaunched})`);
    const need = r.ticks!.need[0]!;
    const ready = r.ticks!.ready[0]!;
    const rise = r.ticks!.t.findIndex((t) => t >= 10 * 60_000);
    const ok = ready.findIndex((x, k) => k >= rise && x >= need[k]!);
    const seconds = (r.ticks!.t[ok]! - r.ticks!.t[rise]!) / 1000;
    assert.ok(seconds >= replayConstants.batchIdleSeconds + replayConstants.launchToReady.min + replayConstants.podStartSeconds, `capacity after ${seconds} s`);
  });

  it("a Spot Advisor band → a monthly interruption rate → an hourly hazard whose month adds up to it", () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((b) => interruptionBand(b).monthlyRate), [0.025, 0.075, 0.125, 0.175, 0.25]);
    assert.deepEqual([0, 1, 2, 3, 4].map((b) => interruptionBand(b).label), ["<5%", "5-10%", "10-15%", "15-20%", ">20%"]);
    const lambda = hourlyInterruptionHazard(0.175);
    assert.ok(Math.abs(1 - Math.exp(-lambda * 730) - 0.175) < 1e-12);
    // The engine's draw (exponential by inverse CDF) reproduces it over many nodes.
    const rand = mulberry32(7);
    let within = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (-Math.log(1 - rand()) / lambda <= 730) within++;
    assert.ok(Math.abs(within / n - 0.175) < 0.01, `${within / n}`);
  });

  it("Aurora Serverless v2 capacity moves in 0.5-ACU steps", () => {
    assert.equal(acuStep(2.1), 2.5);
    assert.equal(acuStep(2.5), 2.5);
    assert.equal(acuStep(0.01), 0.5);
    assert.equal(acuStep(7.6), 8);
  });

  it("launch-to-ready draws stay within 30-60 s with the documented mode", () => {
    const rand = mulberry32(1);
    const { min, mode, max } = replayConstants.launchToReady;
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = triangular(rand(), min, mode, max);
      assert.ok(x >= min && x <= max);
      sum += x;
    }
    assert.ok(Math.abs(sum / 10_000 - (min + mode + max) / 3) < 0.5);
  });

  it("the static scenario's node cost equals the hand computation for one small case", () => {
    // 20 replicas of 150m / 192Mi on m5.large (1930m, 6903Mi, 29 pods): 12 pods a node by CPU →
    // 2 nodes (12 + 8), 24 h on-demand at $0.096 = $4.608, plus 2 × 50 GiB gp3 at $0.08/GB-month.
    const stack = tinyStack({ max: 20, types: ["m5.large"] });
    const minutes = 24 * 60;
    const load = new Float64Array(minutes).map((_, m) => 1 + (m % 60));
    const r = runScenario({ stack, loads: [load], startMs: 0, minutes, seed: 1, scenario: "static" });
    assert.equal(r.perService.svc!.peakReplicas, 20);
    assert.equal(r.peakNodes, 2);
    assert.ok(Math.abs(r.usd["nodes-on-demand"]! - 2 * 0.096 * 24) < 1e-9, `${r.usd["nodes-on-demand"]}`);
    assert.ok(Math.abs(r.usd["node-volumes"]! - (2 * 24 * 50 * 0.08) / 730) < 1e-9);
    assert.equal(r.nodeHours.spot, 0);
    assert.equal(r.availability, 1);
  });

  it("reads Karpenter durations and KEDA's cron window as rendered", () => {
    assert.equal(durationSeconds("1m"), 60);
    assert.equal(durationSeconds("1h30m"), 5400);
    assert.equal(durationSeconds("Never"), Number.POSITIVE_INFINITY);
    assert.throws(() => durationSeconds("soon"), /duration 'soon'/);
    const monday = Date.UTC(2026, 10, 2);
    assert.equal(mondayOnOrAfter(monday), monday);
    const w = cronWindow("0 8 * * 1,2,3,4,5", "0 18 * * 1,2,3,4,5", "UTC", monday, 7 * 1440);
    assert.equal(w[8 * 60 - 1], 0);
    assert.equal(w[8 * 60], 1);
    assert.equal(w[18 * 60 - 1], 1);
    assert.equal(w[18 * 60], 0);
    assert.equal(w[5 * 1440 + 9 * 60], 0, "Saturday");
  });
});

describe("replay load input", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-load-"));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it("a bad row is an error naming the file, the line and the value", () => {
    const f = write("bad.csv", "timestamp,value\n2026-01-05 00:00,1\n2026-01-05 00:05,-3\n");
    assert.throws(() => readLoadCsv(f, "api-gateway"), (e: Error) => e instanceof ReplayInputError && /bad\.csv: line 3: value '-3' must be a number ≥ 0/.test(e.message));
    const g = write("ts.csv", "2026-01-05 00:00,1\nyesterday,2\n");
    assert.throws(() => readLoadCsv(g, "api-gateway"), /line 2: timestamp 'yesterday' is not a date/);
    assert.throws(() => readLoadCsv(path.join(dir, "missing.csv"), "api-gateway"), /cannot read the file \(ENOENT\)/);
  });

  it("lays a trace onto the replay from its first Monday and repeats it in whole weeks", () => {
    const start = Date.UTC(2026, 10, 2);
    const monday = Date.UTC(2014, 1, 17); // a Monday
    const samples = Array.from({ length: 15 * 24 }, (_, h) => ({ t: monday - 86_400_000 + h * 3_600_000, v: h }));
    const laid = layOnto(samples, start, 21);
    assert.equal(laid.sourceStart, monday);
    assert.equal(laid.repeatMs, 7 * 86_400_000, "13 days after the first Monday: one whole week repeats");
    assert.equal(laid.perMinute[0], 24);
    assert.equal(laid.perMinute[7 * 1440], 24);
    assert.equal(laid.perMinute[90], 25);
    assert.equal(laid.history.length, 24);
  });
});

function pick(a: ReturnType<typeof allocatable>) {
  return { cpuMillis: a.cpuMillis, allocatableMemoryMiB: a.allocatableMemoryMiB, pods: a.pods };
}
