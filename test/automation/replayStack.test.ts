/**
 * The replay reads the stack's RENDERED configuration (the offline plan), not a copy of its numbers:
 * the model follows the manifests, and a changed manifest changes the model. Plus the node model's
 * Karpenter behaviours on small synthetic stacks: emptiness after consolidateAfter, node limits
 * leaving pods pending, spot interruptions with the 2-minute notice.
 */
import { strict as assert } from "node:assert";
import { planStack } from "../support/plans";
import { replayStackFromPlan } from "../../automation/replay/stack";
import { tinyStack } from "./support/replayStacks";
import { runScenario } from "../../automation/replay/engine";
import { hourlyInterruptionHazard } from "../../automation/replay/model";
import { spotFacts } from "../../lib/cost/ec2";

describe("replay: the stack model is the rendered configuration", function () {
  this.timeout(300_000);

  it("reads ranges, targets, cron floors, NodePools, the system group and Aurora from the plan", async () => {
    const plan = await planStack("prod");
    const m = replayStackFromPlan(plan, { asOf: new Date(Date.UTC(2026, 10, 2)) });
    const s = plan.settings;
    for (const svc of m.services) {
      assert.equal(svc.min, svc.scaler === "keda" && svc.min === 0 ? 0 : s.services[svc.name]!.minReplicas, svc.name);
      assert.equal(svc.max, s.services[svc.name]!.maxReplicas, svc.name);
    }
    assert.equal(m.services.find((x) => x.name === "api-gateway")!.targetUtilization, 0.7);
    assert.equal(m.services.find((x) => x.name === "platform-services")!.targetUtilization, 0.75);
    assert.equal(m.services.find((x) => x.name === "webhooks")!.cron!.replicas, 3, "25% of 12");
    // What each autoscaler reads, from the rendered triggers: the HPA's CPU metric through the
    // pipeline (30 s); KEDA's Kafka lag and Redis list at the sync (0 s); a Prometheus trigger one scrape.
    assert.equal(m.services.find((x) => x.name === "api-gateway")!.metricDelaySeconds, 30);
    assert.equal(m.services.find((x) => x.name === "saga-orchestrator")!.metricDelaySeconds, 0);
    const ai = plan.resources.find((r) => r.inputs.kind === "ScaledObject" && (r.inputs.metadata as { name: string }).name === "ai-llm")!;
    const aiTriggers = ((ai.inputs.spec as { triggers: { type: string }[] }).triggers).map((t) => t.type);
    assert.equal(m.services.find((x) => x.name === "ai-llm")!.metricDelaySeconds, aiTriggers.includes("prometheus") ? 15 : 0);
    // The spread over the rendered pools: 3 of 10 api pods and 9 of 10 batch pods on spot.
    assert.equal(m.services.find((x) => x.name === "api-gateway")!.spotPods[10], 3);
    assert.equal(m.services.find((x) => x.name === "automation")!.spotPods[10], 9);
    const apiSpot = m.pools.find((p) => p.name === "api-spot")!;
    assert.deepEqual(apiSpot.instanceTypes, s.cluster.spotInstanceTypes);
    assert.equal(apiSpot.consolidateAfterSeconds, 60);
    assert.equal(m.pools.find((p) => p.name === "data-on-demand")!.consolidationPolicy, "WhenEmpty");
    assert.deepEqual(m.system, { instanceType: s.cluster.systemNodeGroup.instanceTypes[0], nodes: s.cluster.systemNodeGroup.desiredSize });
    assert.equal(m.aurora.minAcu, s.database.minAcu);
    assert.equal(m.aurora.maxAcu, s.database.maxAcu);
    assert.equal(m.aurora.readerScaling!.targetCpuPercent, 60);
    assert.equal(m.spotToSpotConsolidation, false, "Karpenter's default: the gate is off");
    assert.ok(!m.fixed.some((i) => i.category === "nodes-spot" || i.category === "nodes-on-demand"), "nodes are the replay's to price");
  });

  it("a changed manifest changes the model (no copy of the numbers)", async () => {
    const plan = await planStack("prod");
    const hpa = plan.resources.find((r) => r.inputs.kind === "HorizontalPodAutoscaler" && (r.inputs.metadata as { name: string }).name === "api-gateway")!;
    (hpa.inputs.spec as { maxReplicas: number }).maxReplicas = 40;
    const pool = plan.resources.find((r) => r.inputs.kind === "NodePool" && (r.inputs.metadata as { name: string }).name === "batch-spot")!;
    (pool.inputs.spec as { disruption: { consolidateAfter: string } }).disruption.consolidateAfter = "5m";
    const m = replayStackFromPlan(plan, { asOf: new Date(Date.UTC(2026, 10, 2)) });
    assert.equal(m.services.find((x) => x.name === "api-gateway")!.max, 40);
    assert.equal(m.pools.find((p) => p.name === "batch-spot")!.consolidateAfterSeconds, 300);
  });
});

describe("replay: Karpenter behaviours of the node model", () => {
  it("empty nodes go after consolidateAfter; a node limit leaves pods pending (unavailable)", () => {
    const minutes = 120;
    const load = new Float64Array(minutes).map((_, m) => (m >= 20 && m < 50 ? 38 : 1));
    const roomy = runScenario({ stack: tinyStack({ max: 40, maxNodes: 10 }), loads: [load], startMs: 0, minutes, seed: 1, scenario: "reactive" });
    assert.ok(roomy.nodesLaunched >= 3, `scale-up launches nodes (${roomy.nodesLaunched})`);
    assert.ok(roomy.consolidations.empty + roomy.consolidations.deleted >= 1, "after the load falls, nodes are consolidated away");
    const tight = runScenario({ stack: tinyStack({ max: 40, maxNodes: 1 }), loads: [load], startMs: 0, minutes, seed: 1, scenario: "reactive" });
    assert.equal(tight.peakNodes, 1, "limits.nodes holds");
    assert.ok(tight.perService.svc!.underMinutes > roomy.perService.svc!.underMinutes + 10, `pending pods are not Ready (${tight.perService.svc!.underMinutes} vs ${roomy.perService.svc!.underMinutes} min)`);
  });

  it("spot nodes are interrupted at their band's rate, with the 2-minute notice and rescheduled pods", () => {
    const minutes = 30 * 1440;
    const load = new Float64Array(minutes).fill(20);
    // m5.xlarge: AWS band >20% a month (25% in the model). A steady load keeps the same nodes all
    // month; over 10 seeds the interruptions follow node-hours × λ (Poisson).
    let interruptions = 0;
    let evicted = 0;
    let nodeHours = 0;
    let worstAvailability = 1;
    for (let seed = 1; seed <= 10; seed++) {
      const r = runScenario({ stack: tinyStack({ max: 40, maxNodes: 10, types: ["m5.xlarge"], spot: true }), loads: [load], startMs: 0, minutes, seed, scenario: "reactive" });
      assert.equal(r.nodeHours.onDemand, 0);
      interruptions += r.interruptions;
      evicted += r.podsEvicted;
      nodeHours += r.nodeHours.spot;
      worstAvailability = Math.min(worstAvailability, r.availability);
    }
    const expected = nodeHours * hourlyInterruptionHazard(spotFacts("m5.xlarge").band.monthlyRate);
    assert.ok(Math.abs(interruptions - expected) <= 3 * Math.sqrt(expected) + 1, `${interruptions} interruptions, expected ${expected.toFixed(1)}`);
    assert.ok(interruptions >= 1);
    assert.ok(evicted >= interruptions, "an interrupted node's pods are evicted and rescheduled");
    // With the notice, replacements are mostly Ready before the node goes: little unavailability.
    assert.ok(worstAvailability > 0.999, `${worstAvailability}`);
  });
});
