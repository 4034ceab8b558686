/**
 * What the replay counts: availability's "needed" is the replicas at 100% of the request with the
 * same per-replica capacity C the HPA scales on; the pod start comes from named sources (the pod
 * startup SLO and the contract's readiness probe); a pod goes onto a node with room without a
 * launch; the scaling decision (the design's KPI) and ready capacity are measured apart, KEDA
 * reading its scaler at the sync and the HPA its metric through the pipeline.
 */
import { strict as assert } from "node:assert";
import { runScenario, type ScenarioResult } from "../../automation/replay/engine";
import { contractReadinessPeriodSeconds, podStartupSloSeconds, replayConstants } from "../../automation/replay/model";
import { referenceDeployment } from "../../lib/workloads/contract";
import { serviceByName } from "../../lib/catalog/services";
import { tinyStack } from "./support/replayStacks";
import type { ReplayStack } from "../../automation/replay/stack";

const run = (stack: ReplayStack, load: Float64Array, extra: Partial<Parameters<typeof runScenario>[0]> = {}): ScenarioResult =>
  runScenario({ stack, loads: [load], startMs: 0, minutes: load.length, seed: 1, scenario: "reactive", window: { fromMinute: 0, toMinute: load.length }, capacityPerReplica: [1], peaks: [7], ...extra });

const withDelay = (stack: ReplayStack, scaler: "hpa" | "keda", metricDelaySeconds: number): ReplayStack => ({ ...stack, services: stack.services.map((s) => ({ ...s, scaler, metricDelaySeconds })) });

describe("replay: what is counted and how fast", () => {
  it("pod start = the pod startup SLO (5 s) + the contract's readiness probe period", () => {
    const probe = (referenceDeployment(serviceByName("api-gateway")) as any).spec.template.spec.containers[0].readinessProbe;
    assert.equal(podStartupSloSeconds, 5);
    assert.equal(contractReadinessPeriodSeconds(), (probe.initialDelaySeconds ?? 0) + probe.periodSeconds);
    assert.equal(replayConstants.podStartSeconds, 5 + probe.periodSeconds);
  });

  it("needed = replicas at 100% with the HPA's own C: a load within the HPA's tolerance above target is available", () => {
    // C = 1, u = 0.7: 7 replicas carry 4.9 at target; 5.25 is 1.07 × target (inside the 10%
    // tolerance, so the HPA stays at 7), and needs ceil(5.25) = 6 at 100%: available. Counting
    // "needed" at the target (ceil(5.25 / 0.7) = 8) would call every minute unavailable.
    const load = new Float64Array(40).fill(5.25);
    const r = run(tinyStack({ max: 10 }), load, { peaks: [7] });
    assert.equal(r.perService.svc!.peakReplicas, 8, "the warm start sizes at the target: ceil(5.25 / 0.7)");
    const need = r.ticks!.need[0]!;
    assert.ok(need.every((n) => n === 6), `needed ${[...new Set(need)]}`);
    assert.equal(r.availability, 1);
  });

  it("a pod goes onto a node with room: no launch, Ready one pod start after the decision", () => {
    // Warm: 2 pods of 150m on one m5.large (1930m: room for 12). The load doubles: 4 pods, same node.
    const load = new Float64Array(30).fill(1.4);
    for (let m = 10; m < 30; m++) load[m] = 2.8;
    const r = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load);
    assert.equal(r.nodesLaunched, 1, "only the warm node");
    assert.equal(r.responseSeconds.hpa.events, 1);
    const decide = r.decisionSeconds.hpa.max;
    const ready = r.responseSeconds.hpa.max;
    assert.ok(ready - decide <= replayConstants.podStartSeconds + replayConstants.tickSeconds, `decision ${decide} s, ready ${ready} s`);
  });

  it("the decision: HPA one metric pipeline (30 s) + one sync late, KEDA one sync; ready capacity after it", () => {
    const load = new Float64Array(30).fill(1.4);
    for (let m = 10; m < 30; m++) load[m] = 2.8;
    const hpa = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load);
    const keda = run(withDelay(tinyStack({ max: 10 }), "keda", 0), load);
    assert.equal(hpa.decisionSeconds.hpa.max, 45);
    assert.equal(keda.decisionSeconds.keda.max, 15);
    assert.ok(hpa.responseSeconds.hpa.max >= hpa.decisionSeconds.hpa.max + replayConstants.podStartSeconds - 1e-9);
    assert.ok(keda.responseSeconds.keda.max >= keda.decisionSeconds.keda.max + replayConstants.podStartSeconds - 1e-9);
  });

  it("a rise beyond the maximum is timed to the maximum (no scaling reaches past it), and still counts as unavailable", () => {
    const load = new Float64Array(30).fill(1.4);
    for (let m = 10; m < 30; m++) load[m] = 20; // needs 20 > max 10
    const r = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load);
    assert.ok(r.responseSeconds.hpa.events >= 1 && r.responseSeconds.hpa.max < 20 * 60, `ready ${r.responseSeconds.hpa.max} s`);
    assert.ok(r.availability < 0.7);
  });

  it("--pod-start-seconds: a slower pod start delays ready capacity, not the decision", () => {
    const load = new Float64Array(30).fill(1.4);
    for (let m = 10; m < 30; m++) load[m] = 2.8;
    const fast = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load);
    const slow = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load, { podStartSeconds: 60 });
    assert.equal(slow.decisionSeconds.hpa.max, fast.decisionSeconds.hpa.max);
    assert.ok(slow.responseSeconds.hpa.max >= fast.responseSeconds.hpa.max + 45, `${fast.responseSeconds.hpa.max} → ${slow.responseSeconds.hpa.max}`);
  });

  it("a KEDA consumer's short minutes queue work (backlog in seconds of Ready capacity); an HPA service has none", () => {
    const load = new Float64Array(30).fill(1.4);
    for (let m = 10; m < 30; m++) load[m] = 2.8;
    const keda = run(withDelay(tinyStack({ max: 10 }), "keda", 0), load);
    const hpa = run(withDelay(tinyStack({ max: 10 }), "hpa", 30), load);
    // 2 Ready replicas (C = 1) take 2.8 until the new pods are Ready: 0.8 load-minutes a minute queue up.
    const short = keda.responseSeconds.keda.max;
    const b = keda.perService.svc!.backlogMaxSeconds;
    assert.ok(b > 0 && b <= (0.8 * (short / 60) / 2) * 60 + 1e-9, `backlog ${b} s after ${short} s short`);
    assert.equal(hpa.perService.svc!.backlogMaxSeconds, 0);
  });
});
