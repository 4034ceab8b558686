import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { planStack, type StackPlan } from "./support/plans";
import { kubernetesObjects } from "../lib/plan/manifests";
import { serviceCatalog } from "../lib/catalog/services";
import { poolOrders, poolsForPod, spotShareRange, withoutSpreadContract, type PodPlacement, type SimulatedPool } from "../lib/scaling/spotSimulation";
import { contractFiles, simulateStack, spotSimulationTable } from "../lib/workloads/contractDocs";
import { spotSimulationSection, stackSimulation } from "../lib/workloads/spotSimulationReport";
import { workloadContract } from "../lib/workloads/contract";
import { workloadContractPolicy } from "../lib/workloads/admissionPolicy";
import { readmeSection } from "../lib/readme";
import { admit } from "./support/cel";
import { repoRoot, stacks } from "./support/stacks";
import { testEvaluationDate } from "./support/clock";

type Any = Record<string, any>;
const podOf = (cls: string) => workloadContract(serviceCatalog.find((s) => s.workloadClass === cls)!).podSpec as unknown as PodPlacement;

describe("spot-share simulation on the rendered NodePools", function () {
  this.timeout(180_000);
  const plans: Partial<Record<string, StackPlan>> = {};
  const nodePools: Record<string, Any[]> = {};
  before(async () => {
    for (const stack of stacks) {
      plans[stack] = await planStack(stack);
      nodePools[stack] = kubernetesObjects(plans[stack]!.resources).filter((o) => o.kind === "NodePool") as Any[];
    }
  });

  it("reads the class's pools from the NodePools (taint, labels, capacity-spread values, limits)", () => {
    const pools = poolsForPod(nodePools.prod!, podOf("api"));
    assert.deepEqual(pools.map((p) => [p.name, p.capacityType, p.domains.join(","), p.maxNodes, p.weight]).sort(), [
      ["api-on-demand", "on-demand", "4,5,6,7,8,9,10", 9, 0],
      ["api-spot", "spot", "1,2,3", 3, 0],
    ]);
    // Equal weights: both orders are scenarios.
    assert.equal(poolOrders(pools).length, 2);
  });

  it("matches the closed form in prod: each round of ten fills on-demand values before spot ones", () => {
    // Prod's node limits cover every value, so spot pods = spot values per full round + the part of
    // the current round beyond the on-demand values.
    for (const [cls, spotValues] of [["api", 3], ["batch", 9]] as const) {
      const onDemandValues = 10 - spotValues;
      for (const r of spotShareRange(nodePools.prod!, podOf(cls), 40, ["preference"])) {
        const expected = spotValues * Math.floor(r.replicas / 10) + Math.max(0, (r.replicas % 10) - onDemandValues);
        assert.deepEqual([r.minSpot, r.maxSpot, r.maxPending], [expected, expected, 0], `${cls} at ${r.replicas}`);
      }
    }
  });

  for (const stack of stacks) {
    it(`keeps every class within its limit at every replica count of its range with the contract (${stack})`, async () => {
      const sim = await stackSimulation(repoRoot, stack, testEvaluationDate);
      assert.deepEqual(sim.classes.map((c) => c.workloadClass), ["api", "batch"]);
      for (const c of sim.classes) {
        const max = Math.max(...serviceCatalog.filter((s) => s.workloadClass === c.workloadClass).map((s) => plans[stack]!.settings.services[s.name]!.maxReplicas));
        assert.equal(c.withContract.length, max);
        for (const r of c.withContract) {
          assert.ok(r.maxSpot <= c.limit * r.replicas + 1e-9, `${stack} ${c.workloadClass}: ${r.maxSpot} of ${r.replicas} on spot > ${c.limit}`);
          assert.equal(r.maxPending, 0);
        }
        // Without the spread, the pool order decides: anything from none to all on spot.
        for (const r of c.withoutContract) assert.deepEqual([r.minSpot, r.maxSpot], [0, r.replicas]);
      }
    });
  }

  it("shows the rounding at small counts: 2 API replicas are 0% spot, 10 are exactly 30%", () => {
    const api = spotShareRange(nodePools.prod!, podOf("api"), 10, ["preference"]);
    assert.equal(api[1]!.maxSpot, 0);
    assert.equal(api[9]!.maxSpot, 3);
  });

  it("without the on-demand preference equal-weight pools make small counts anything up to all spot", () => {
    const noPreference = { ...podOf("api"), affinity: undefined };
    const r = spotShareRange(nodePools.prod!, noPreference, 3, ["preference"]);
    assert.deepEqual(r.map((x) => [x.minSpot, x.maxSpot]), [[0, 1], [0, 2], [0, 3]]);
  });

  it("sees the node limits: dev's old api ceiling (3 nodes: 1 spot, 2 on-demand) ran 3 replicas 33% spot", () => {
    const shrunk = nodePools.dev!.map((np) => (np.metadata.name === "api-on-demand" ? { ...np, spec: { ...np.spec, limits: { nodes: "2" } } } : np));
    const r = spotShareRange(shrunk, podOf("api"), 6, ["preference"]);
    assert.deepEqual(r.map((x) => x.maxSpot), [0, 0, 1, 1, 1, 2]);
  });

  it("counts pods no pool can take as pending once the reachable values are full", () => {
    const tiny = nodePools.prod!.map((np) => ({ ...np, spec: { ...np.spec, limits: { nodes: "0" } } }));
    const r = spotShareRange(tiny, podOf("api"), 2, ["preference"]);
    assert.deepEqual(r.map((x) => x.maxPending), [1, 2]);
  });

  it("finds no NodePool for a pod without the class toleration", () => {
    const pod = { ...podOf("api"), tolerations: [] };
    assert.throws(() => spotShareRange(nodePools.prod!, pod, 1, ["preference"]), /no NodePool admits the pod .* never leaves the system nodes/);
    assert.deepEqual(poolsForPod(nodePools.prod!, withoutSpreadContract({ ...podOf("api"), nodeSelector: {} })).map((p: SimulatedPool) => p.name).sort(), ["api-on-demand", "api-spot"]);
  });

  it("the README's spot-share section equals the simulation (npm run readme:contract)", async () => {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    assert.equal(readmeSection(readme, "spot-simulation"), await spotSimulationSection(repoRoot, testEvaluationDate),
      "README.md spot-simulation section is out of date: run `npm run readme:contract` and commit README.md");
    const table = spotSimulationTable(simulateStack("prod", nodePools.prod!, plans.prod!.settings.services, { api: 0.3, batch: 0.9, data: 0 }));
    assert.match(table, /\| 2 \| 0 \(0%\) \|/);
  });
});

describe("generated contract files", () => {
  const files = contractFiles();
  it("are committed as generated (npm run readme:contract)", () => {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(repoRoot, file);
      assert.ok(fs.existsSync(full) && fs.readFileSync(full, "utf8") === content, `${file} is out of date: run \`npm run readme:contract\``);
    }
    assert.equal(Object.keys(files).filter((f) => f.endsWith(".yaml")).length, 2 * serviceCatalog.length);
  });

  it("the Kustomize patch of every service is admitted by the policy, and its Helm values carry the contract", () => {
    const policy = workloadContractPolicy();
    for (const service of serviceCatalog) {
      const component = parseYaml(files[`contracts/workload-contract/kustomize/${service.name}/kustomization.yaml`]!) as Any;
      assert.equal(component.kind, "Component");
      const patch = parseYaml(component.patches[0].patch) as Any;
      assert.deepEqual(admit(policy, patch), { failed: [], errors: [] }, service.name);
      const values = parseYaml(files[`contracts/workload-contract/helm/${service.name}.yaml`]!) as Any;
      const c = workloadContract(service);
      assert.deepEqual(values.tolerations, c.podSpec.tolerations);
      assert.deepEqual(values.topologySpreadConstraints, c.podSpec.topologySpreadConstraints);
      assert.deepEqual(values.nodeSelector, c.podSpec.nodeSelector);
      assert.deepEqual(Object.keys(values.resources.requests).sort(), ["cpu", "memory"]);
    }
  });
});
