import { strict as assert } from "node:assert";
import { expectedNodesByPool, nodeCeiling, partitionsForConsumers, planNodePools, spotShareByWorkloadClass } from "../lib/scaling/capacity";
import { formatCidr, parseCidr, planSubnets, subdivide } from "../lib/aws/cidr";

const types = { spot: ["m5.large", "m5a.large", "m6i.large", "m6a.large"], onDemand: ["m5.large"] };
const designClasses = { api: { spotPercent: 30, maxNodes: 12 }, batch: { spotPercent: 90, maxNodes: 16 }, data: { spotPercent: 0, maxNodes: 4 } };

describe("capacity planning (pure)", () => {
  it("splits each class into spot and on-demand pools in the design's ratios", () => {
    const pools = planNodePools(designClasses, types);
    assert.deepEqual(pools.map((p) => [p.name, p.spreadValues.length, p.maxNodes]), [
      ["api-spot", 3, 3], ["api-on-demand", 7, 9],
      ["batch-spot", 9, 14], ["batch-on-demand", 1, 2],
      ["data-on-demand", 10, 4],
    ]);
    assert.deepEqual(spotShareByWorkloadClass(pools), { api: 0.3, batch: 0.9, data: 0 });
  });

  it("never lets the spot node ceiling exceed the class's share", () => {
    for (let maxNodes = 2; maxNodes <= 40; maxNodes++) {
      for (const spotPercent of [10, 30, 50, 90]) {
        const pools = planNodePools({ api: { spotPercent, maxNodes }, batch: { spotPercent: 0, maxNodes: 1 }, data: { spotPercent: 0, maxNodes: 1 } }, types);
        const spot = pools.find((p) => p.name === "api-spot")!;
        const allApi = pools.filter((p) => p.workloadClass === "api").reduce((s, p) => s + p.maxNodes, 0);
        assert.equal(allApi, maxNodes);
        assert.ok(spot.maxNodes <= Math.max(1, Math.floor((maxNodes * spotPercent) / 100)), `${spotPercent}% of ${maxNodes}`);
      }
    }
  });

  it("spread values of a class's pools are disjoint and cover 1..10", () => {
    const pools = planNodePools(designClasses, types).filter((p) => p.workloadClass === "batch");
    const values = pools.flatMap((p) => p.spreadValues);
    assert.deepEqual([...values].sort((a, b) => Number(a) - Number(b)), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  });

  it("counts the node ceiling over the system group and every pool", () => {
    assert.equal(nodeCeiling(4, planNodePools(designClasses, types)), 4 + 12 + 16 + 4);
  });

  it("rejects shares that are not a multiple of 10 and classes too small to split", () => {
    assert.throws(() => planNodePools({ ...designClasses, api: { spotPercent: 35, maxNodes: 12 } }, types), /workloadClasses\.api\.spotPercent = 35: must be a multiple of 10/);
    assert.throws(() => planNodePools({ ...designClasses, api: { spotPercent: 30, maxNodes: 1 } }, types), /workloadClasses\.api\.maxNodes = 1: too small/);
  });
});

describe("CIDR layout (pure)", () => {
  it("parses and formats", () => {
    assert.equal(formatCidr(parseCidr("10.40.0.0/16")), "10.40.0.0/16");
    assert.equal(formatCidr(subdivide(parseCidr("10.40.0.0/16"), 18, 3)), "10.40.192.0/18");
    assert.throws(() => parseCidr("10.40.0.1/16"), /host bits set/);
    assert.throws(() => parseCidr("300.0.0.0/8"), /not an IPv4 CIDR/);
  });

  it("lays out three private quarters and small public subnets without overlap", () => {
    const layout = planSubnets("10.40.0.0/16", 3);
    assert.deepEqual(layout.privateCidrs, ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]);
    assert.deepEqual(layout.publicCidrs, ["10.40.192.0/22", "10.40.196.0/22", "10.40.200.0/22"]);
    const blocks = [...layout.privateCidrs, ...layout.publicCidrs].map(parseCidr).map((c) => [c.network, c.network + 2 ** (32 - c.prefix)] as const);
    for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++) {
      assert.ok(blocks[i]![1] <= blocks[j]![0] || blocks[j]![1] <= blocks[i]![0], `blocks ${i} and ${j} overlap`);
    }
  });

  it("rejects VPCs too small and AZ counts it cannot lay out", () => {
    assert.throws(() => planSubnets("10.40.0.0/24", 3), /too small/);
    assert.throws(() => planSubnets("10.40.0.0/16", 4), /1-3 AZs, not 4/);
  });
});

describe("Kafka partitions for consumers (pure)", () => {
  it("covers the largest consumer group, spread evenly over 3 or 6 brokers", () => {
    assert.equal(partitionsForConsumers(15, [3, 6]), 18);
    assert.equal(partitionsForConsumers(12, [3, 6]), 12);
    assert.equal(partitionsForConsumers(3, [3, 6]), 6);
    assert.throws(() => partitionsForConsumers(0, [3]), /maxConsumers = 0/);
  });
});

describe("expected spot nodes per pool (pure)", () => {
  it("splits the design's 6 spot nodes over the spot pools by their limits, exactly", () => {
    const pools = planNodePools(designClasses, types);
    const expected = expectedNodesByPool(6, pools);
    assert.deepEqual(expected, { "api-spot": 1, "api-on-demand": 0, "batch-spot": 5, "batch-on-demand": 0, "data-on-demand": 0 });
    for (let n = 0; n <= 17; n++) assert.equal(Object.values(expectedNodesByPool(n, pools)).reduce((a, b) => a + b, 0), n);
    assert.throws(() => expectedNodesByPool(18, pools), /expectedSpotNodes = 18: must not exceed the spot pools' node limits \(17\)/);
  });
});
