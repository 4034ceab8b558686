/**
 * The cost model: price catalog, estimator and reports. Expected amounts are computed here from the
 * catalog's unit prices and the stacks' settings (not from the estimator), then compared with the
 * estimate of the real planned resources.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { planStack, type StackPlan } from "./support/plans";
import type { PlannedResource } from "../lib/plan/mockRuntime";

/** On-demand $/hour of a type: the price catalog's, else data/aws's on-demand table (read straight from the file). */
function odHourly(instanceType: string): number {
  try {
    return priceOf(`ec2.${instanceType}.hour`);
  } catch {
    const doc = JSON.parse(fs.readFileSync(require.resolve("../data/aws/ec2-on-demand-us-east-1.json"), "utf8")) as { prices: Record<string, number> };
    return doc.prices[instanceType]!;
  }
}

/** AWS Spot Advisor savings of a type (fraction), read straight from the data file. */
function advisorSavings(instanceType: string): number {
  const doc = JSON.parse(fs.readFileSync(require.resolve("../data/aws/spot-advisor-us-east-1.json"), "utf8")) as { instanceTypes: Record<string, { s: number }> };
  const entry = doc.instanceTypes[instanceType];
  if (!entry) throw new Error(`${instanceType} is not in the Spot Advisor data`);
  return entry.s / 100;
}
import {
  daysPerMonth,
  hoursPerMonth,
  parsePriceCatalog,
  priceCatalog,
  priceCatalogFile,
  priceEntry,
  priceOf,
  PriceCatalogError,
  UnknownPriceError,
} from "../lib/cost/prices";
import {
  defaultUsageAssumptions,
  estimateCost,
  freeReason,
  pricedResourceTypes,
  resolveUsageAssumptions,
  usageAssumptionsSchema,
  type CostEstimate,
  type CostItem,
} from "../lib/cost/estimate";
import { compareWithDesign, costByComponent, designCostTable, designTotalUsd, formatCostMarkdown, formatCostTable } from "../lib/cost/report";

const stacks = ["prod", "dev"] as const;
type Stack = (typeof stacks)[number];

const round2 = (n: number) => Math.round((n + Number.EPSILON) * 100) / 100;
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
const H = 730;
/** Unit price as the basis prints it (at least two decimals, the catalog's digits). */
const printedPrice = (usd: number) => (Math.abs(usd * 100 - Math.round(usd * 100)) < 1e-9 ? `$${usd.toFixed(2)}` : `$${usd}`);
const printedQuantity = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(4))));

function near(actual: number, expected: number, message: string, tolerance = 0.005): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message}: expected ${expected.toFixed(4)}, got ${actual}`);
}

const byLine = (e: CostEstimate, type: string, line: string) => e.items.filter((i) => i.type === type && i.line === line);
const total = (items: readonly CostItem[]) => round2(sum(items.map((i) => i.monthlyUsd)));
const rawCatalog = () => JSON.parse(fs.readFileSync(priceCatalogFile, "utf8")) as { sources: unknown[]; prices: Array<Record<string, unknown>> } & Record<string, unknown>;

/** The day these tests price for (the control plane's support phase depends on it). */
const planDay = new Date("2026-12-01T12:00:00Z");

describe("cost model", function () {
  const plans = {} as Record<Stack, StackPlan>;
  const estimates = {} as Record<Stack, CostEstimate>;

  before(async () => {
    for (const s of stacks) {
      plans[s] = await planStack(s);
      estimates[s] = estimateCost(plans[s].resources, defaultUsageAssumptions(s), priceCatalog(), { asOf: planDay });
    }
  });

  describe("price catalog", () => {
    it("loads, with 730 h/month and every entry sourced", () => {
      const catalog = priceCatalog();
      assert.equal(hoursPerMonth, 730);
      assert.equal(catalog.hoursPerMonth, 730);
      const ids = new Set(catalog.sources.map((s) => s.id));
      for (const id of ["S1", "S2", "S4", "S5", "S6", "S7"]) assert.ok(ids.has(id), `source ${id} from shared/data/pricing kept`);
      for (const e of catalog.entries.values()) for (const id of e.sourceId.split(";")) assert.ok(ids.has(id), `${e.key}: ${id}`);
    });

    it("copies the shared price list's unit prices", () => {
      const expected: Record<string, number> = {
        "eks.cluster.hour": 0.1, "ec2.m5.large.hour": 0.096, "ec2.t3.medium.hour": 0.0416, "ebs.gp3.gbMonth": 0.08,
        "aurora.serverlessV2.acuHour": 0.12, "aurora.storage.gbMonth": 0.1, "elasticache.cache.r6g.large.hour": 0.206,
        "elasticache.cache.t3.micro.hour": 0.017, "msk.kafka.m5.xlarge.hour": 0.42, "msk.kafka.t3.small.hour": 0.0456,
        "msk.storage.gbMonth": 0.1, "opensearch.t3.medium.search.hour": 0.073, "opensearch.t3.small.search.hour": 0.036,
        "opensearch.gp3.gbMonth": 0.122, "nat.hour": 0.045, "nat.gb": 0.045, "alb.hour": 0.0225, "alb.lcuHour": 0.008, "kms.keyMonth": 1,
        "vpce.interface.azHour": 0.01, "vpce.interface.gb": 0.01,
      };
      for (const [key, usd] of Object.entries(expected)) assert.equal(priceOf(key), usd, key);
    });

    it("does not claim high confidence for the dedicated-master price that is not in the shared list", () => {
      const masters = priceEntry("opensearch.m6g.large.search.hour");
      assert.notEqual(masters.confidence, "high");
      assert.match(masters.notes, /NOT in \.\.\/shared\/data\/pricing/);
      assert.match(masters.notes, /[Uu]nverified/);
    });

    it("priceOf throws a clear error for an unknown key", () => {
      assert.throws(() => priceOf("ec2.x99.mega.hour"), (e: unknown) => e instanceof UnknownPriceError && /'ec2\.x99\.mega\.hour'/.test(e.message));
    });

    it("rejects a malformed entry with a message naming its key", () => {
      const negative = rawCatalog();
      negative.prices.push({ ...negative.prices[0], key: "ec2.bad.hour", usd: -1 });
      assert.throws(() => parsePriceCatalog(negative, "test"), (e: unknown) => e instanceof PriceCatalogError && /price 'ec2\.bad\.hour': usd/.test(e.message));

      const unknownSource = rawCatalog();
      unknownSource.prices.push({ ...unknownSource.prices[0], key: "ec2.nosource.hour", sourceId: "S42" });
      assert.throws(() => parsePriceCatalog(unknownSource, "test"), /price 'ec2\.nosource\.hour': sourceId S42 is not in the sources table/);

      const missing = rawCatalog();
      const { confidence: _dropped, ...rest } = missing.prices[0]!;
      missing.prices.push({ ...rest, key: "ec2.noconfidence.hour" });
      assert.throws(() => parsePriceCatalog(missing, "test"), /price 'ec2\.noconfidence\.hour': confidence/);

      const duplicate = rawCatalog();
      duplicate.prices.push({ ...duplicate.prices[0] });
      assert.throws(() => parsePriceCatalog(duplicate, "test"), new RegExp(`price '${String(duplicate.prices[0]!.key).replace(/\./g, "\\.")}': duplicate key`));
    });
  });

  describe("usage assumptions", () => {
    it("defaults validate; prod averages 8 ACU over 2-16 as the design says (not the midpoint)", () => {
      for (const s of stacks) usageAssumptionsSchema.parse(defaultUsageAssumptions(s));
      const prod = defaultUsageAssumptions("prod");
      near(2 + prod.auroraAverageAcuFraction * (16 - 2), 8, "prod average ACU", 1e-9);
      // Spot is priced per type from AWS Spot Advisor, not at a flat discount (issue 21).
      assert.equal(prod.spotDiscount, undefined);
    });

    it("an absolute auroraAverageAcu overrides the fraction, clamped to the cluster's range", () => {
      const acu = (average: number) =>
        estimateCost(plans.prod.resources, { ...defaultUsageAssumptions("prod"), auroraAverageAcu: average }, priceCatalog(), { asOf: planDay }).items.find((i) => i.type === "aws:rds/clusterInstance:ClusterInstance")!;
      assert.equal(acu(4).quantity, 4);
      assert.equal(acu(4).monthlyUsd, round2(4 * priceOf("aurora.serverlessV2.acuHour") * H));
      assert.equal(acu(100).quantity, plans.prod.settings.database.maxAcu);
    });

    it("rejects out-of-range values and unknown keys", () => {
      assert.throws(() => resolveUsageAssumptions("prod", { spotDiscount: 1.5 }));
      assert.throws(() => resolveUsageAssumptions("prod", { natGbPerMonth: -1 }));
      assert.throws(() => usageAssumptionsSchema.parse({ ...defaultUsageAssumptions("dev"), surprise: 1 }));
    });
  });

  for (const s of stacks) {
    describe(`${s}: line items reproduce hand-computed amounts`, () => {
      it("EKS control plane: 1 x $0.10 x 730 h = $73.00", () => {
        const items = estimates[s].items.filter((i) => i.category === "eks");
        assert.equal(items.length, 1, "control plane priced exactly once");
        assert.equal(items[0]!.monthlyUsd, round2(priceOf("eks.cluster.hour") * H));
        assert.equal(items[0]!.monthlyUsd, 73);
        assert.equal(items[0]!.component, `pyairtable-${s}-cluster`);
      });

      it("system node group: desiredSize x first instance type (spot discounted) + gp3 root volumes", () => {
        const ng = plans[s].settings.cluster.systemNodeGroup;
        const spot = ng.capacityType === "SPOT";
        const hourly = priceOf(`ec2.${ng.instanceTypes[0]}.hour`);
        const nodes = byLine(estimates[s], "aws:eks/nodeGroup:NodeGroup", "nodes");
        assert.equal(nodes.length, 1);
        assert.equal(nodes[0]!.monthlyUsd, round2(ng.desiredSize * hourly * H * (spot ? 1 - advisorSavings(ng.instanceTypes[0]!) : 1)));
        assert.equal(nodes[0]!.capacityType, spot ? "spot" : "on-demand");
        const volumes = byLine(estimates[s], "aws:eks/nodeGroup:NodeGroup", "root volumes");
        assert.equal(volumes[0]!.monthlyUsd, round2(ng.desiredSize * ng.diskSizeGiB * priceOf("ebs.gp3.gbMonth")));
        if (s === "prod") {
          assert.equal(nodes[0]!.monthlyUsd, 210.24);
          assert.equal(volumes[0]!.monthlyUsd, 12);
        } else {
          // 2 x t3.medium x 730 h x $0.0416 x (1 - 0.56): Spot Advisor's 56% for t3.medium (was 18.22 at a flat 70%).
          assert.equal(nodes[0]!.monthlyUsd, 26.72);
        }
      });

      it("Karpenter pools: expected spot nodes x first spot type at its Spot Advisor discount + root volumes", () => {
        const c = plans[s].settings.cluster;
        const pools = byLine(estimates[s], "kubernetes:karpenter.sh/v1:NodePool", "nodes");
        assert.equal(pools.length, 5);
        const spot = pools.filter((i) => i.capacityType === "spot");
        assert.equal(sum(spot.map((i) => i.quantity)), c.expectedSpotNodes);
        const keep = 1 - advisorSavings(c.spotInstanceTypes[0]!);
        near(total(spot), c.expectedSpotNodes * odHourly(c.spotInstanceTypes[0]!) * H * keep, "spot pool nodes", 0.01 * spot.length);
        for (const p of spot) assert.equal(p.monthlyUsd, round2(p.quantity * odHourly(c.spotInstanceTypes[0]!) * H * keep), p.name);
        for (const p of spot) assert.match(p.basis, new RegExp(`AWS Spot Advisor savings for ${c.spotInstanceTypes[0]!.replace(".", "\\.")}`));
        for (const p of pools.filter((i) => i.capacityType === "on-demand")) assert.equal(p.monthlyUsd, 0, `${p.name}: on-demand pools expect no nodes`);
        const volumes = byLine(estimates[s], "kubernetes:karpenter.sh/v1:NodePool", "root volumes");
        near(total(volumes), c.expectedSpotNodes * c.systemNodeGroup.diskSizeGiB * priceOf("ebs.gp3.gbMonth"), "pool root volumes");
        // The design's 6 spot m5.large were $126.14 at a flat 70% off.
        if (s === "prod") near(total(spot), round2(6 * odHourly(c.spotInstanceTypes[0]!) * H * keep), "6 spot nodes of the first type at its Spot Advisor savings", 0.02);
      });

      it("Aurora: every db.serverless instance x average ACU x ACU-hour, + storage and I/O assumptions", () => {
        const db = plans[s].settings.database;
        const a = defaultUsageAssumptions(s);
        const acu = db.minAcu + a.auroraAverageAcuFraction * (db.maxAcu - db.minAcu);
        // The platform's cluster (the automation service's own is priced apart: its own category).
        const instances = byLine(estimates[s], "aws:rds/clusterInstance:ClusterInstance", "ACU").filter((i) => i.category === "aurora");
        assert.equal(instances.length, 1 + db.readers);
        for (const i of instances) assert.equal(i.monthlyUsd, round2(acu * priceOf("aurora.serverlessV2.acuHour") * H), i.name);
        if (s === "prod") assert.equal(instances[0]!.monthlyUsd, 700.8);
        const platformStorage = byLine(estimates[s], "aws:rds/cluster:Cluster", "storage (assumption)").filter((i) => i.category === "aurora");
        assert.equal(total(platformStorage), round2(a.auroraStorageGb * priceOf("aurora.storage.gbMonth")));
        const storage = platformStorage[0]!;
        assert.match(storage.basis, /read-replica auto scaling \(\d+-\d+ replicas\) adds no fixed cost/);
      });

      it("ElastiCache: shards x (1 + replicas) or single nodes x node price", () => {
        const cache = plans[s].settings.cache;
        const nodes = cache.mode === "cluster" ? cache.shards * (1 + cache.replicasPerShard) : 1;
        const item = byLine(estimates[s], "aws:elasticache/replicationGroup:ReplicationGroup", "nodes");
        assert.equal(item.length, 1);
        assert.equal(item[0]!.quantity, nodes);
        assert.equal(item[0]!.monthlyUsd, round2(nodes * priceOf(`elasticache.${cache.nodeType}.hour`) * H));
        if (s === "prod") assert.equal(item[0]!.monthlyUsd, 902.28); // 3 x (1 + 1) x 0.206 x 730
        else assert.equal(item[0]!.monthlyUsd, 12.41);
      });

      it("MSK: brokers x broker price + brokers x volume x storage price", () => {
        const st = plans[s].settings.streaming;
        const brokers = byLine(estimates[s], "aws:msk/cluster:Cluster", "brokers")[0]!;
        const storage = byLine(estimates[s], "aws:msk/cluster:Cluster", "storage")[0]!;
        assert.equal(brokers.monthlyUsd, round2(st.brokers * priceOf(`msk.${st.brokerInstanceType}.hour`) * H));
        assert.equal(storage.monthlyUsd, round2(st.brokers * st.volumeSizeGiB * priceOf("msk.storage.gbMonth")));
        if (s === "prod") {
          assert.equal(brokers.monthlyUsd, 919.8);
          assert.equal(storage.monthlyUsd, 150);
          assert.match(storage.basis, /storage auto scaling may grow each volume to 2000 GB/);
        } else {
          assert.equal(brokers.monthlyUsd, 99.86);
        }
      });

      it("OpenSearch: data nodes + dedicated masters + gp3 per data node", () => {
        const se = plans[s].settings.search;
        const data = byLine(estimates[s], "aws:opensearch/domain:Domain", "data nodes")[0]!;
        assert.equal(data.monthlyUsd, round2(se.dataNodes * priceOf(`opensearch.${se.dataInstanceType}.hour`) * H));
        const masters = byLine(estimates[s], "aws:opensearch/domain:Domain", "dedicated masters");
        if (se.dedicatedMasters) {
          assert.equal(masters[0]!.monthlyUsd, round2(se.dedicatedMasters.count * priceOf(`opensearch.${se.dedicatedMasters.instanceType}.hour`) * H));
          assert.match(masters[0]!.basis, /price confidence medium/);
        } else {
          assert.equal(masters.length, 0);
        }
        const storage = byLine(estimates[s], "aws:opensearch/domain:Domain", "storage")[0]!;
        assert.equal(storage.monthlyUsd, round2(se.dataNodes * se.volumeSizeGiB * priceOf("opensearch.gp3.gbMonth")));
        if (s === "prod") {
          assert.equal(data.monthlyUsd, 159.87);
          assert.equal(storage.monthlyUsd, 36.6);
        }
      });

      it("NAT gateways: hours per gateway + assumed GB processed; their Elastic IPs as public IPv4", () => {
        const n = plans[s].settings.network.natGateways === "one-per-az" ? plans[s].settings.network.availabilityZones : 1;
        const hours = byLine(estimates[s], "aws:ec2/natGateway:NatGateway", "hours");
        assert.equal(hours.length, n);
        assert.equal(total(hours), round2(n * priceOf("nat.hour") * H));
        if (s === "prod") assert.equal(total(hours), 98.55);
        near(total(byLine(estimates[s], "aws:ec2/natGateway:NatGateway", "data processed (assumption)")), defaultUsageAssumptions(s).natGbPerMonth * priceOf("nat.gb"), "NAT data", 0.01);
        assert.equal(total(byLine(estimates[s], "aws:ec2/eip:Eip", "public IPv4")), round2(n * priceOf("vpc.publicIpv4.hour") * H));
      });

      it("VPC endpoints: interface endpoints at $0.01 per AZ-hour (one ENI per private subnet) + assumed GB at $0.01; the S3 gateway endpoint free", () => {
        const settings = plans[s].settings;
        const endpoints = plans[s].resources.filter((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint");
        const interfaces = endpoints.filter((r) => r.inputs.vpcEndpointType === "Interface");
        assert.equal(endpoints.length - interfaces.length, 1, "the S3 gateway endpoint");
        assert.equal(estimates[s].items.filter((i) => i.type === "aws:ec2/vpcEndpoint:VpcEndpoint" && !interfaces.some((e) => e.urn === i.urn)).length, 0, "no line for the gateway");
        assert.ok((estimates[s].freeByType["aws:ec2/vpcEndpoint:VpcEndpoint"] ?? 0) >= 1);
        const hours = byLine(estimates[s], "aws:ec2/vpcEndpoint:VpcEndpoint", "AZ-hours");
        if (!settings.network.interfaceEndpoints) {
          assert.deepEqual(hours, []);
          // What turning them on would cost in this stack: 7 endpoints x its AZs x $0.01 x 730 h.
          assert.equal(round2(7 * settings.network.availabilityZones * priceOf("vpce.interface.azHour") * H), 153.3);
          return;
        }
        assert.equal(hours.length, 7);
        for (const h of hours) assert.equal(h.quantity, settings.network.availabilityZones);
        assert.equal(total(hours), round2(7 * settings.network.availabilityZones * 0.01 * H));
        if (s === "prod") assert.equal(total(hours), 153.3);
        near(total(byLine(estimates[s], "aws:ec2/vpcEndpoint:VpcEndpoint", "data processed (assumption)")), defaultUsageAssumptions(s).interfaceEndpointGbPerMonth * priceOf("vpce.interface.gb"), "endpoint data", 0.01);
      });

      it("KMS: every customer managed key x key-month", () => {
        const keys = plans[s].resources.filter((r) => r.type === "aws:kms/key:Key").length;
        assert.ok(keys > 0);
        assert.equal(total(estimates[s].items.filter((i) => i.category === "kms")), round2(keys * priceOf("kms.keyMonth")));
      });

      it("usage lines come from the assumptions, marked as such", () => {
        const a = defaultUsageAssumptions(s);
        const flat = (name: string) => estimates[s].items.find((i) => i.urn === `assumption:${name}`)!;
        assert.equal(flat("cloudwatch").monthlyUsd, a.cloudwatchUsd);
        assert.equal(flat("s3").monthlyUsd, a.s3Usd);
        assert.equal(flat("data-transfer").monthlyUsd, a.dataTransferUsd);
        assert.equal(flat("lambda").monthlyUsd, a.lambdaUsd);
        assert.equal(flat("sns-sqs").monthlyUsd, a.snsSqsUsd);
        const alb = estimates[s].items.filter((i) => i.category === "alb");
        near(total(alb), a.albCount * H * (priceOf("alb.hour") + a.albLcuPerAlb * priceOf("alb.lcuHour") + a.albPublicIpv4PerAlb * priceOf("vpc.publicIpv4.hour")), "ALB", 0.02);
        for (const i of estimates[s].items.filter((x) => x.assumption)) assert.match(i.basis, /^assumption: /, i.line);
      });
    });

    describe(`${s}: the estimate as a whole`, () => {
      it("every item's basis shows its quantity and unit price, and its amount", () => {
        for (const i of estimates[s].items) {
          assert.ok(Number.isFinite(i.monthlyUsd) && i.monthlyUsd >= 0, `${i.name} ${i.line}`);
          assert.ok(i.basis.includes(`${printedQuantity(i.quantity)} x `), `${i.name} ${i.line}: quantity ${i.quantity} in "${i.basis}"`);
          assert.ok(i.basis.includes(printedPrice(i.unitPriceUsd)), `${i.name} ${i.line}: unit price ${i.unitPriceUsd} in "${i.basis}"`);
          for (const key of i.priceKeys) {
            const ec2 = /^ec2\.(.+)\.hour$/.exec(key);
            assert.equal(ec2 ? odHourly(ec2[1]!) : priceOf(key), i.unitPriceUsd, `${i.name}: ${key}`);
          }
        }
      });

      it("prices or lists as free every planned resource: nothing is unpriced", () => {
        assert.deepEqual(estimates[s].unpriced.map((u) => `${u.type} ${u.name}: ${u.reason}`), []);
        const covered = new Set([...estimates[s].items.filter((i) => !i.assumption).map((i) => i.urn)]);
        assert.equal(estimates[s].free + covered.size, plans[s].resources.length, "each resource priced or free, once");
        for (const r of plans[s].resources) {
          if (covered.has(r.urn)) continue;
          assert.ok(freeReason(r.type) !== undefined || !r.custom || pricedResourceTypes.includes(r.type), `${r.type} counted free without being on the free list`);
        }
      });

      it("the total is the sum of the items and the daily run-rate is monthly / (730 / 24)", () => {
        const e = estimates[s];
        near(e.monthlyUsd, sum(e.items.map((i) => i.monthlyUsd)), "total");
        assert.equal(daysPerMonth, 730 / 24);
        near(e.dailyUsd, e.monthlyUsd / (730 / 24), "daily");
      });

      it("items carry their nearest component", () => {
        const byName = new Map(estimates[s].items.map((i) => [i.name, i.component]));
        assert.equal(byName.get(`pyairtable-${s}-cache-redis`), `pyairtable-${s}-cache`);
        assert.equal(byName.get(`pyairtable-${s}-capacity-pool-batch-spot`), `pyairtable-${s}-capacity`);
        assert.equal(byName.get("cloudwatch"), "usage assumptions");
        near(sum(costByComponent(estimates[s]).map((c) => c.monthlyUsd)), estimates[s].monthlyUsd, "components add up", 0.05);
      });

      it("the spot discount changes only spot lines", () => {
        const other = estimateCost(plans[s].resources, { ...defaultUsageAssumptions(s), spotDiscount: 0.5 }, priceCatalog(), { asOf: planDay });
        let changed = 0;
        estimates[s].items.forEach((item, index) => {
          const o = other.items[index]!;
          assert.equal(o.urn, item.urn);
          assert.equal(o.line, item.line);
          const spotNodes = item.capacityType === "spot" && item.line === "nodes";
          if (spotNodes && item.quantity > 0) {
            assert.ok(o.monthlyUsd > item.monthlyUsd, `${item.name}: 50% off costs more than the Spot Advisor's savings (all above 50% here)`);
            assert.equal(o.monthlyUsd, round2(item.quantity * item.unitPriceUsd * H * 0.5));
            changed++;
          } else {
            assert.equal(o.monthlyUsd, item.monthlyUsd, `${item.name} ${item.line} is not a spot line`);
          }
        });
        assert.ok(changed > 0);
      });
    });
  }

  describe("what cannot be priced is listed, never $0", () => {
    const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
    const fake = (type: string, name: string, inputs: Record<string, unknown>, custom = true): PlannedResource => ({
      urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: stackUrn, custom, inputs,
    });

    it("an unknown resource type appears in unpriced and leaves the total unchanged", () => {
      const resources = [...plans.prod.resources, fake("aws:sagemaker/endpoint:Endpoint", "mystery", { instanceType: "ml.g5.48xlarge" })];
      const e = estimateCost(resources, defaultUsageAssumptions("prod"), priceCatalog(), { asOf: planDay });
      const u = e.unpriced.find((x) => x.name === "mystery");
      assert.ok(u, "listed as unpriced");
      assert.match(u.reason, /no pricing rule for aws:sagemaker\/endpoint:Endpoint/);
      assert.ok(!e.items.some((i) => i.name === "mystery"), "no $0 item for it");
      assert.equal(e.monthlyUsd, estimates.prod.monthlyUsd);
      assert.match(formatCostTable(e), /Unpriced \(1\): NOT included in the total/);
      assert.match(formatCostMarkdown(e), /could not be priced/);
    });

    it("a known type whose price is missing from the catalog is unpriced with the key", () => {
      const ng = plans.prod.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup")!;
      const odd = { ...ng, urn: `${ng.urn}-odd`, name: "odd", inputs: { ...ng.inputs, instanceTypes: ["x9.huge"] } };
      const e = estimateCost([...plans.prod.resources, odd], defaultUsageAssumptions("prod"), priceCatalog(), { asOf: planDay });
      assert.ok(e.unpriced.some((u) => u.name === "odd" && /ec2\.x9\.huge\.hour/.test(u.reason)));
      assert.ok(!e.items.some((i) => i.name === "odd" && i.line === "nodes"));
    });

    it("a NodePool without the expected-nodes annotation is unpriced", () => {
      const pool = plans.prod.resources.find((r) => r.type === "kubernetes:karpenter.sh/v1:NodePool")!;
      const inputs = JSON.parse(JSON.stringify(pool.inputs)) as { metadata: { annotations: Record<string, string> } };
      delete inputs.metadata.annotations["pyairtable.io/expected-nodes"];
      const e = estimateCost([{ ...pool, inputs }], defaultUsageAssumptions("prod"), priceCatalog(), { asOf: planDay });
      assert.match(e.unpriced[0]!.reason, /pyairtable\.io\/expected-nodes/);
    });

    describe("EKS control plane: standard or extended support by the plan's date (lib/catalog/eksVersions.ts)", () => {
      /** The prod plan with its cluster moved to `version`. */
      const withVersion = (version: string) =>
        plans.prod.resources.map((r) => (r.type === "eks:index:Cluster" ? { ...r, inputs: { ...r.inputs, version } } : r));
      const controlPlane = (version: string, day: string) => {
        const items = estimateCost(withVersion(version), defaultUsageAssumptions("prod"), priceCatalog(), { asOf: new Date(day) }).items.filter((i) => i.category === "eks");
        assert.equal(items.length, 1);
        return items[0]!;
      };

      it("1.34 on 2026-12-01 (last day of standard support): $0.10 x 730 h = $73.00", () => {
        const item = controlPlane("1.34", "2026-12-01T23:59:59Z");
        assert.deepEqual(item.priceKeys, ["eks.cluster.hour"]);
        assert.equal(item.monthlyUsd, round2(priceOf("eks.cluster.hour") * H));
        assert.match(item.basis, /standard support of 1\.34 until 2026-12-02 \(plan date 2026-12-01\)/);
      });

      it("1.34 from 2026-12-02 (end of standard support): extended support $0.60 x 730 h = $438.00", () => {
        for (const day of ["2026-12-02T00:00:00Z", "2027-06-30T12:00:00Z"]) {
          const item = controlPlane("1.34", day);
          assert.deepEqual(item.priceKeys, ["eks.cluster.extendedSupport.hour"], day);
          assert.equal(item.monthlyUsd, round2(priceOf("eks.cluster.extendedSupport.hour") * H));
          assert.equal(item.monthlyUsd, 438);
          assert.match(item.basis, /EKS control plane v1\.34 \(extended support\)/);
        }
      });

      it("the issue's case: 1.33 is extended support on 2026-12-01, standard on 2026-07-28", () => {
        assert.equal(controlPlane("1.33", "2026-12-01T00:00:00Z").monthlyUsd, 438);
        assert.equal(controlPlane("1.33", "2026-07-28T00:00:00Z").monthlyUsd, 73);
      });

      it("a version the calendar does not list is priced at standard support, with a note saying so", () => {
        const item = controlPlane("1.99", "2026-12-01T00:00:00Z");
        assert.deepEqual(item.priceKeys, ["eks.cluster.hour"]);
        assert.match(item.basis, /1\.99 is not in the EKS calendar/);
      });

      it("the total moves by exactly the difference ($365.00 a month)", () => {
        const day = { asOf: new Date("2026-12-02T00:00:00Z") };
        const before = estimateCost(withVersion("1.35"), defaultUsageAssumptions("prod"), priceCatalog(), day).monthlyUsd;
        const after = estimateCost(withVersion("1.34"), defaultUsageAssumptions("prod"), priceCatalog(), day).monthlyUsd;
        near(after - before, 365, "extended minus standard");
      });
    });

    it("free types are an explicit list; components are free; an EKS component with its cluster child is priced once", () => {
      assert.ok(freeReason("aws:iam/role:Role"));
      assert.ok(freeReason("kubernetes:apps/v1:Deployment"));
      assert.equal(freeReason("aws:ec2/eip:Eip"), undefined, "public IPv4 is charged since 2024-02");
      assert.equal(freeReason("aws:ec2/instance:Instance"), undefined);
      const eks = fake("eks:index:Cluster", "c", { skipDefaultNodeGroup: true }, false);
      const child: PlannedResource = { ...fake("aws:eks/cluster:Cluster", "c-eksCluster", {}), parent: eks.urn };
      const e = estimateCost([eks, child], defaultUsageAssumptions("dev"), priceCatalog(), { asOf: planDay });
      assert.equal(e.items.filter((i) => i.category === "eks").length, 1);
      assert.equal(e.free, 1);
    });
  });

  describe("reports", () => {
    it("the design table copy adds up to the design's totals", () => {
      assert.equal(designTotalUsd("prod"), 3775);
      assert.equal(designTotalUsd("dev"), 600);
      assert.equal(sum(designCostTable("prod").map((r) => r.designUsd)), 3775);
      assert.equal(sum(designCostTable("dev").map((r) => r.designUsd)), 600);
    });

    it("the plain-text table shows components, lines, monthly and daily", () => {
      const text = formatCostTable(estimates.prod);
      assert.match(text, /Cost by component/);
      assert.match(text, /Cost by line/);
      assert.match(text, /pyairtable-prod-cache\s+\$907\.66/);
      assert.ok(text.includes("3 x m5.large on-demand x 730 h x $0.096/hour = $210.24"));
      assert.match(text, /Unpriced: none/);
    });

    for (const s of stacks) {
      it(`${s}: lines up with the design's table and explains every difference`, () => {
        const c = compareWithDesign(estimates[s], s);
        assert.equal(c.designTotalUsd, designTotalUsd(s));
        near(sum(c.rows.map((r) => r.estimateUsd)), estimates[s].monthlyUsd, "every estimate line in one row", 0.05);
        for (const r of c.rows) {
          assert.ok(r.explanation.length > 0 && r.explanation.endsWith("."), r.item);
          if (Math.abs(r.deltaUsd) >= 0.01) assert.doesNotMatch(r.explanation, /^matches/, `${r.item} differs by ${r.deltaUsd}`);
        }
        const row = (item: string) => c.rows.find((r) => r.item === item)!;
        assert.match(row("EKS Control Plane").explanation, /720 h/);
        if (s === "prod") {
          assert.match(row("ElastiCache Redis").explanation, /6 nodes where the design has 3.*failover/);
          assert.match(row("ElastiCache Redis").explanation, /list-price mismatch: 3 x cache\.r6g\.large x 730 h x \$0\.206 = \$451\.14/);
          assert.match(row("OpenSearch").explanation, /dedicated masters \$280\.32/);
          assert.match(row("Aurora Serverless v2").explanation, /16 ACU where the design has 8/);
          assert.match(row("NAT Gateways").explanation, /public IPv4/);
          assert.equal(row("S3 Storage").explanation, "usage assumption taken from the design's table.");
        } else {
          assert.match(row("Worker Nodes (Spot)").explanation, /on-demand price .* spot discount was not applied/);
          assert.ok(c.rows.some((r) => r.designUsd === null && /not in the design's dev table/.test(r.explanation)), "NAT/KMS have no dev design row");
        }
        const markdown = formatCostMarkdown(estimates[s], c);
        assert.match(markdown, /\| Design row \| Configuration \| Design \| Estimate \| Difference \| Why \|/);
        assert.match(markdown, new RegExp(`\\*\\*\\$${designTotalUsd(s).toLocaleString("en-US")}\\.00\\*\\*`));
      });
    }
  });
});
