/**
 * The cost model: prices the resources a stack plans (the offline plan's `PlannedResource`s, or a
 * CrossGuard policy's resources mapped to the same shape) with the price catalog, plus usage-driven
 * lines from `UsageAssumptions`.
 *
 * Every resource ends up in exactly one of three places, never silently at $0:
 * - `items`: one or more priced lines, each with a `basis` that shows quantity x unit price;
 * - `free`: a type on the explicit free list (`freeResourceTypes`, `freeTypePrefixes`) or a component;
 * - `unpriced`: anything else, with the reason (unknown type, a price missing from the catalog, a
 *   quantity unknown until deploy). A resource can also have priced lines and an unpriced part.
 *
 * Monthly = 730 h (`hoursPerMonth`); daily run-rate = monthly / (730 / 24) (`daysPerMonth`).
 * Prices are us-east-1 on-demand list prices; spot is on-demand x (1 - the type's AWS Spot Advisor
 * savings) (`lib/cost/ec2.ts`, data/aws/spot-advisor-us-east-1.json), or x (1 - `spotDiscount`) when
 * that assumption is set (an override for every type).
 */
import { z } from "zod";
import type { PlannedResource } from "../plan/mockRuntime";
import { calendarDay, eksVersion, isoDay, supportPhase } from "../catalog/eksVersions";
import { isUnknownMarker } from "../policy/wire";
import type { Environment } from "../config/settings";
import { expectedNodesAnnotation } from "../scaling/capacity";
import { hasOnDemandPrice, hasSpotFacts, onDemandHourly, spotFacts } from "./ec2";
import {
  daysPerMonth,
  formatUnitPrice,
  formatUsd,
  hoursPerMonth,
  priceCatalog,
  priceEntry,
  UnknownPriceError,
  type PriceCatalog,
  type PriceEntry,
} from "./prices";

// ---------------------------------------------------------------------------------------------
// Usage assumptions
// ---------------------------------------------------------------------------------------------

const usd = (what: string) => z.number().nonnegative().describe(`${what}, USD per month`);

/**
 * What the plan cannot tell: average load, data volumes and usage-priced services. Units in the
 * field descriptions; `defaultUsageAssumptions(environment)` says where each default comes from.
 */
export const usageAssumptionsSchema = z.strictObject({
  spotDiscount: z.number().min(0).max(0.95).optional().describe("Spot discount against on-demand for every type, 0-0.95 (0.70 = 70% cheaper); unset (the default) = each type's AWS Spot Advisor savings (data/aws/spot-advisor-us-east-1.json)"),
  auroraAverageAcuFraction: z.number().min(0).max(1).describe("Average Aurora Serverless v2 capacity of every instance as a fraction of its [minCapacity, maxCapacity] range, 0-1"),
  auroraAverageAcu: z.number().positive().optional().describe("Average ACU of every instance; overrides auroraAverageAcuFraction (clamped to the range)"),
  auroraStorageGb: z.number().nonnegative().describe("Aurora cluster storage, GB-month"),
  auroraIoMillionRequests: z.number().nonnegative().describe("Aurora standard-storage I/O, millions of requests per month"),
  natGbPerMonth: z.number().nonnegative().describe("Data processed by all NAT gateways together, GB per month (split evenly over the gateways)"),
  interfaceEndpointGbPerMonth: z.number().nonnegative().describe("Data processed by all VPC interface endpoints together (AWS API calls and ECR pulls that would otherwise cross the NAT gateways), GB per month (split evenly over the endpoints)"),
  albCount: z.number().int().nonnegative().describe("Application Load Balancers (created by the AWS Load Balancer Controller, not by this program)"),
  albLcuPerAlb: z.number().nonnegative().describe("Average LCUs per ALB (LCU-hours per hour)"),
  albPublicIpv4PerAlb: z.number().int().nonnegative().describe("Public IPv4 addresses per internet-facing ALB (one per enabled AZ); 0 for internal ALBs"),
  cloudwatchUsd: usd("CloudWatch metrics, logs ingestion (incl. VPC flow logs, EKS control-plane logs, MSK enhanced monitoring), dashboards; log storage is priced per log group from its retention"),
  logGroupGbPerDay: z.number().nonnegative().describe("Average log data each CloudWatch log group receives, GB per day (stored for its retention period)"),
  s3Usd: usd("S3 storage and requests (ML models, backups, logs)"),
  dataTransferUsd: usd("Inter-AZ and internet egress data transfer"),
  lambdaUsd: usd("Lambda functions (scaling logic)"),
  snsSqsUsd: usd("SNS and SQS requests and deliveries (topics and queues themselves are free)"),
});

export type UsageAssumptions = z.infer<typeof usageAssumptionsSchema>;

/**
 * Defaults per environment. "design" = the cost tables of `autoscaling-architecture.md`;
 * "derived" = solved from a design row and the catalog's list prices; "assumption" = not in the
 * design, a stated guess to be replaced by real usage.
 */
export function defaultUsageAssumptions(environment: Environment): UsageAssumptions {
  if (environment === "prod") {
    return {
      // Spot: each type's AWS Spot Advisor savings (54-68% for the prod spot list), not the design's flat
      // "70% savings": set spotDiscount to override.
      auroraAverageAcuFraction: 3 / 7, // design: "2-16 ACU, Average 8 ACU" -> (8 - 2) / (16 - 2); not the midpoint (9 ACU)
      auroraStorageGb: 100, // assumption (the design has no storage figure)
      auroraIoMillionRequests: 100, // assumption: 100M I/O requests/month on standard storage ($20)
      natGbPerMonth: 810, // derived: design NAT row $135 - 3 x 730 h x $0.045 = $36.45 of data at $0.045/GB
      interfaceEndpointGbPerMonth: 300, // assumption: ECR image pulls, CloudWatch Logs, STS/SQS/EC2 calls, moved off the NAT gateways
      albCount: 2, // design: "Application Load Balancer 2 ALBs"
      albLcuPerAlb: 0.27, // derived: design $36 for 2 ALBs - 2 x 730 h x $0.0225 = $3.15 = 2 x 0.27 LCU x 730 h x $0.008
      albPublicIpv4PerAlb: 3, // assumption: internet-facing over the stack's 3 AZs (public IPv4 is not in the design)
      cloudwatchUsd: 150, // design: "CloudWatch/Monitoring $150"
      logGroupGbPerDay: 0.2, // assumption: audit, flow and service logs average 200 MB/day per group (stored compressed size)
      s3Usd: 25, // design: "S3 Storage $25"
      dataTransferUsd: 100, // design: "Data Transfer $100"
      lambdaUsd: 20, // design: "Lambda Functions $20"
      snsSqsUsd: 15, // design: "SNS/SQS $15"
    };
  }
  return {
    auroraAverageAcuFraction: 0.25, // derived: design dev $120 for 0.5-4 ACU -> 1.37 ACU; 0.5 + 0.25 x 3.5 = 1.375 ACU
    auroraStorageGb: 20, // assumption
    auroraIoMillionRequests: 5, // assumption ($1)
    natGbPerMonth: 100, // assumption: the dev table has no NAT line
    interfaceEndpointGbPerMonth: 30, // assumption: a tenth of prod's (only priced when dev turns the endpoints on)
    albCount: 1, // design: "Application Load Balancer 1 ALB"
    albLcuPerAlb: 0.27, // derived: design $18 - 730 h x $0.0225 = $1.58 = 0.27 LCU x 730 h x $0.008 ("Minimal LCU")
    albPublicIpv4PerAlb: 3, // assumption: internet-facing over 3 AZs
    cloudwatchUsd: 50, // design: "CloudWatch/Monitoring $50"
    logGroupGbPerDay: 0.02, // assumption: a tenth of prod's
    // design: "Other Services $40 (S3, Lambda, etc.)", split in the prod table's proportions 25:100:20:15
    s3Usd: 6.25,
    dataTransferUsd: 25,
    lambdaUsd: 5,
    snsSqsUsd: 3.75,
  };
}

/** Defaults of `environment` with `overrides` applied, validated (the policy config's shape). */
export function resolveUsageAssumptions(environment: Environment, overrides: Partial<UsageAssumptions> = {}): UsageAssumptions {
  return usageAssumptionsSchema.parse({ ...defaultUsageAssumptions(environment), ...overrides });
}

/**
 * The spot discount of an instance type: the `spotDiscount` assumption when set, else AWS Spot
 * Advisor's savings for the type (undefined when the advisor does not list it).
 */
export function spotDiscountFor(instanceType: string, assumptions: Pick<UsageAssumptions, "spotDiscount">): { discount: number; source: string } | undefined {
  if (assumptions.spotDiscount !== undefined) return { discount: assumptions.spotDiscount, source: "spotDiscount assumption" };
  if (!hasSpotFacts(instanceType)) return undefined;
  return { discount: spotFacts(instanceType).savingsPercent / 100, source: `AWS Spot Advisor savings for ${instanceType}` };
}

// ---------------------------------------------------------------------------------------------
// Result types
// ---------------------------------------------------------------------------------------------

/** Rows of the design's cost tables a line belongs to (see data/design-cost-table.json). */
export const costCategories = [
  "eks", "nodes-on-demand", "nodes-spot", "aurora", "elasticache", "msk", "opensearch", "alb", "nat",
  "public-ipv4", "cloudwatch", "s3", "data-transfer", "lambda", "sns-sqs", "kms", "budgets", "automation-database", "vpc-endpoints", "ebs-volumes", "secrets-manager",
] as const;
export type CostCategory = (typeof costCategories)[number];

export interface CostItem {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Name of the nearest component ancestor; `usage assumptions` for assumption lines. */
  readonly component: string;
  /** What the line prices: `nodes`, `root volumes`, `dedicated masters`, `storage`, ... */
  readonly line: string;
  readonly category: CostCategory;
  /** USD per month, rounded to cents. */
  readonly monthlyUsd: number;
  /** The formula with quantities and unit prices, e.g. `3 x m5.large on-demand x 730 h x $0.096/hour = $210.24`. */
  readonly basis: string;
  /** The main quantity of the line (nodes, ACU, GB, keys, ...). */
  readonly quantity: number;
  readonly quantityUnit: string;
  /** The main unit price (USD per `priceUnit`) before any spot discount. */
  readonly unitPriceUsd: number;
  readonly priceUnit: string;
  /** Catalog keys used (empty for pure USD assumptions). */
  readonly priceKeys: readonly string[];
  readonly capacityType?: "spot" | "on-demand";
  /** True for lines driven by `UsageAssumptions` rather than by a planned quantity. */
  readonly assumption: boolean;
}

export interface UnpricedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly component: string;
  readonly reason: string;
}

export interface CostEstimate {
  readonly region: string;
  readonly monthlyUsd: number;
  /** Daily run-rate: monthlyUsd / daysPerMonth (730 / 24 = 30.42 days). */
  readonly dailyUsd: number;
  readonly items: CostItem[];
  readonly unpriced: UnpricedResource[];
  /** Resources counted free (free-list types and components). */
  readonly free: number;
  readonly freeByType: Record<string, number>;
  readonly assumptions: UsageAssumptions;
  readonly hoursPerMonth: number;
  readonly daysPerMonth: number;
}

// ---------------------------------------------------------------------------------------------
// Free resources: an explicit allow-list
// ---------------------------------------------------------------------------------------------

/** Types with no charge of their own, and why. */
export const freeResourceTypes: Readonly<Record<string, string>> = {
  "aws:ec2/vpc:Vpc": "VPCs are free",
  "aws:ec2/subnet:Subnet": "subnets are free",
  "aws:ec2/routeTable:RouteTable": "route tables are free",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "route table associations are free",
  "aws:ec2/route:Route": "routes are free",
  "aws:ec2/defaultRouteTable:DefaultRouteTable": "route tables are free",
  "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": "network ACLs are free",
  "aws:ec2/internetGateway:InternetGateway": "internet gateways are free (egress is in the data transfer assumption)",
  "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups are free",
  "aws:ec2/securityGroupRule:SecurityGroupRule": "security group rules are free",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security group rules are free",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security group rules are free",
  "aws:ec2/launchTemplate:LaunchTemplate": "launch templates are free (their volumes are priced with the node group)",
  "aws:ec2/flowLog:FlowLog": "flow log ingestion is in the CloudWatch assumption",
  "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "resource policies are free",
  "aws:cloudwatch/eventRule:EventRule": "EventBridge rules on AWS service events (default bus) are free",
  "aws:cloudwatch/eventTarget:EventTarget": "event targets are free (delivery to SQS is in the SNS/SQS assumption)",
  "aws:sns/topic:Topic": "topics are free; requests are in the SNS/SQS assumption",
  "aws:sns/topicPolicy:TopicPolicy": "topic policies are free",
  "aws:sns/topicSubscription:TopicSubscription": "subscriptions are free; deliveries are in the SNS/SQS assumption",
  "aws:sqs/queue:Queue": "queues are free; requests are in the SNS/SQS assumption",
  "aws:sqs/queuePolicy:QueuePolicy": "queue policies are free",
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "redrive policies are free",
  "aws:sqs/redrivePolicy:RedrivePolicy": "redrive policies are free",
  "aws:budgets/budget:Budget": "budgets without actions are free (AWS Budgets price list, S6)",
  "aws:costexplorer/anomalyMonitor:AnomalyMonitor": "Cost Anomaly Detection is free",
  "aws:costexplorer/anomalySubscription:AnomalySubscription": "Cost Anomaly Detection is free",
  "aws:costexplorer/costAllocationTag:CostAllocationTag": "activating a cost allocation tag is free",
  "aws:sesv2/emailIdentity:EmailIdentity": "SES identities are free (alert e-mails bill per message, USD 0.10 per 1,000: negligible, not priced)",
  "aws:kms/alias:Alias": "aliases are free (keys are priced)",
  "aws:ecr/repository:Repository": "a repository has no fixed charge; image storage is billed per GB-month kept, not modelled (the lifecycle policy bounds it to the newest images)",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": "lifecycle policies are free",
  "aws:appautoscaling/target:Target": "Application Auto Scaling is free (capacity it adds is priced on the scaled resource)",
  "aws:appautoscaling/policy:Policy": "Application Auto Scaling is free",
  "aws:appautoscaling/scheduledAction:ScheduledAction": "Application Auto Scaling is free",
  "aws:rds/clusterParameterGroup:ClusterParameterGroup": "parameter groups are free",
  "aws:rds/parameterGroup:ParameterGroup": "parameter groups are free",
  "aws:rds/subnetGroup:SubnetGroup": "subnet groups are free",
  "aws:elasticache/parameterGroup:ParameterGroup": "parameter groups are free",
  "aws:elasticache/subnetGroup:SubnetGroup": "subnet groups are free",
  "aws:msk/configuration:Configuration": "MSK configurations are free",
  "aws:eks/accessEntry:AccessEntry": "EKS access entries are free",
  "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "EKS access policies are free",
  "aws:eks/addon:Addon": "EKS add-ons are free (they run on the priced nodes)",
  "aws:eks/podIdentityAssociation:PodIdentityAssociation": "EKS Pod Identity is free",
  "aws:secretsmanager/secretVersion:SecretVersion": "secret versions are free (the secret is priced)",
  "pulumi-nodejs:dynamic/pyairtable:RdsCaBundle": "a download at deploy time, no cloud resource",
};

/** Type prefixes that are free as a whole. */
export const freeTypePrefixes: ReadonlyArray<readonly [prefix: string, reason: string]> = [
  ["aws:iam/", "IAM is free"],
  ["kubernetes:", "Kubernetes objects and Helm releases run on the priced nodes"],
  ["pulumi:providers:", "providers are not cloud resources"],
];

/** Why `type` is free, or undefined when it is not on the free list. */
export function freeReason(type: string): string | undefined {
  return freeResourceTypes[type] ?? freeTypePrefixes.find(([prefix]) => type.startsWith(prefix))?.[1];
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
/** A known finite number (numeric strings too, as Kubernetes quantities come); unknowns are undefined. */
function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}
const round2 = (n: number) => Math.round((n + Number.EPSILON) * 100) / 100;
/** `3`, `0.4286`, `1.375` */
export function formatQuantity(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(4)));
}

/** Kubernetes storage quantity (`50Gi`, `100G`, `1Ti`) in GiB (what EBS bills as "GB"). */
function gibOf(v: unknown): number | undefined {
  const n = num(v);
  if (n !== undefined) return n;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)(Gi|G|Ti|T|Mi|M)$/.exec(v.trim()) : null;
  if (!m) return undefined;
  const value = Number(m[1]);
  const factor: Record<string, number> = { Gi: 1, Ti: 1024, Mi: 1 / 1024, G: 1e9 / 2 ** 30, T: 1e12 / 2 ** 30, M: 1e6 / 2 ** 30 };
  return value * factor[m[2]!]!;
}

interface Context {
  readonly resources: readonly PlannedResource[];
  readonly byUrn: ReadonlyMap<string, PlannedResource>;
  readonly assumptions: UsageAssumptions;
  readonly catalog: PriceCatalog;
  readonly ofType: (type: string) => PlannedResource[];
  /** The day the estimate is for (EKS support phase). */
  readonly asOf: Date;
}

/** Collects one resource's lines and unpriced parts. */
class Pricing {
  readonly items: CostItem[] = [];
  readonly unpriced: string[] = [];
  constructor(readonly r: PlannedResource, readonly component: string, readonly ctx: Context) {}

  entry(key: string): PriceEntry {
    try {
      return priceEntry(key, this.ctx.catalog);
    } catch (error) {
      // EC2 types beyond the catalog's: the on-demand table of data/aws (Karpenter's generated AWS prices, S2).
      const type = /^ec2\.(.+)\.hour$/.exec(key)?.[1];
      if (!(error instanceof UnknownPriceError) || !type || !hasOnDemandPrice(type)) throw error;
      return { key, item: `EC2 ${type} Linux on-demand`, unit: "hour", usd: onDemandHourly(type), sourceId: "S2", snapshot: "2026-07-20", confidence: "high", notes: "data/aws/ec2-on-demand-us-east-1.json" };
    }
  }

  /**
   * A line `quantity x what [x 730 h] x unit price [x (1 - spot discount)]`. A price missing from
   * the catalog makes the line unpriced (with the key) instead of failing the estimate.
   */
  line(spec: {
    line: string;
    category: CostCategory;
    quantity: number;
    quantityUnit: string;
    what: string;
    priceKey: string;
    hourly: boolean;
    capacityType?: "spot" | "on-demand";
    /** The instance type whose Spot Advisor savings a spot line takes. */
    instanceType?: string;
    note?: string;
  }): void {
    let entry: PriceEntry;
    try {
      entry = this.entry(spec.priceKey);
    } catch (error) {
      if (error instanceof UnknownPriceError) {
        this.unpriced.push(`${spec.line}: ${formatQuantity(spec.quantity)} x ${spec.what}: ${error.message}`);
        return;
      }
      throw error;
    }
    const spot = spec.capacityType === "spot";
    let discount = 0;
    let discountSource = "";
    if (spot) {
      const d = spotDiscountFor(spec.instanceType ?? "", this.ctx.assumptions);
      if (d === undefined) {
        this.unpriced.push(`${spec.line}: ${formatQuantity(spec.quantity)} x ${spec.what}: no AWS Spot Advisor savings for '${spec.instanceType}' and no spotDiscount assumption`);
        return;
      }
      discount = d.discount;
      discountSource = d.source;
    }
    const monthly = round2(spec.quantity * entry.usd * (spec.hourly ? hoursPerMonth : 1) * (spot ? 1 - discount : 1));
    const confidence = entry.confidence === "high" ? "" : ` (price confidence ${entry.confidence}, ${entry.sourceId})`;
    const basis =
      `${formatQuantity(spec.quantity)} x ${spec.what}${spec.hourly ? ` x ${hoursPerMonth} h` : ""} x ${formatUnitPrice(entry.usd)}/${entry.unit}` +
      `${spot ? ` x (1 - ${discount} spot discount, ${discountSource})` : ""} = ${formatUsd(monthly)}${confidence}${spec.note ? `; ${spec.note}` : ""}`;
    this.items.push({
      urn: this.r.urn,
      type: this.r.type,
      name: this.r.name,
      component: this.component,
      line: spec.line,
      category: spec.category,
      monthlyUsd: monthly,
      basis,
      quantity: spec.quantity,
      quantityUnit: spec.quantityUnit,
      unitPriceUsd: entry.usd,
      priceUnit: entry.unit,
      priceKeys: [spec.priceKey],
      ...(spec.capacityType ? { capacityType: spec.capacityType } : {}),
      assumption: false,
    });
  }

  cannot(reason: string): void {
    this.unpriced.push(reason);
  }
}

type Pricer = (p: Pricing) => void;

// ---------------------------------------------------------------------------------------------
// Pricers per resource type
// ---------------------------------------------------------------------------------------------

/**
 * The control plane at the plan's date (`asOf`): standard support (`eks.cluster.hour`) until the
 * version's end of standard support in the EKS calendar, extended support
 * (`eks.cluster.extendedSupport.hour`) from that day on (AWS
 * bills extended support from the beginning of the day standard support ends). A version the calendar does not
 * list, or one not known before the update, is priced at standard support with a note saying so.
 */
function eksControlPlane(p: Pricing): void {
  const version = str(p.r.inputs.version);
  const row = version === undefined ? undefined : eksVersion(version);
  const phase = row ? supportPhase(row, p.ctx.asOf) : undefined;
  const extended = phase === "extended" || phase === "ended";
  const day = isoDay(p.ctx.asOf);
  let extendedPrice = "the extended-support price";
  try {
    extendedPrice = `${formatUnitPrice(p.entry("eks.cluster.extendedSupport.hour").usd)}/h`;
  } catch (error) {
    if (!(error instanceof UnknownPriceError)) throw error;
  }
  p.line({
    line: "control plane",
    category: "eks",
    quantity: 1,
    quantityUnit: "cluster",
    what: `EKS control plane${version ? ` v${version}` : ""} (${extended ? "extended" : "standard"} support)`,
    priceKey: extended ? "eks.cluster.extendedSupport.hour" : "eks.cluster.hour",
    hourly: true,
    note: !row
      ? `version ${version ?? "unknown"} is not in the EKS calendar (lib/catalog/eksVersions.ts): priced at standard support; extended support costs ${extendedPrice}`
      : extended
        ? `standard support of ${row.version} ended on ${row.endOfStandardSupport} (plan date ${day}); extended support until ${row.endOfExtendedSupport}`
        : `standard support of ${row.version} until ${row.endOfStandardSupport} (plan date ${day}); extended support costs ${extendedPrice} from then`,
  });
}

/**
 * `eks:index:Cluster` is a remote component: the analyzer (and this plan) see its inputs, never its
 * children. The control plane is priced from the inputs; capacity it would create itself (the
 * default node group) is invisible, so a cluster that does not skip it cannot vouch for a budget.
 */
function eksComponent(p: Pricing): void {
  const hasChild = p.ctx.ofType("aws:eks/cluster:Cluster").some((c) => c.parent === p.r.urn);
  if (!hasChild) eksControlPlane(p);
  if (p.r.inputs.skipDefaultNodeGroup !== true) {
    p.cannot("skipDefaultNodeGroup is not true: the component creates a default node group among its children, which are not sent to the analyzer; declare capacity as aws.eks.NodeGroup or Karpenter NodePools");
  }
}

function rootVolumeLine(p: Pricing, nodes: number, gib: number, volumeType: string, category: CostCategory, source: string): void {
  if (nodes <= 0) return;
  p.line({
    line: "root volumes",
    category,
    quantity: nodes * gib,
    quantityUnit: "GB-month",
    what: `GB ${volumeType} root volumes (${nodes} node${nodes === 1 ? "" : "s"} x ${formatQuantity(gib)} GB, ${source})`,
    priceKey: `ebs.${volumeType}.gbMonth`,
    hourly: false,
  });
}

/**
 * The resource among `candidates` that `p.r.inputs[prop]` came from, by the engine's property
 * dependencies: they are sent even in a first preview, when the id itself is still unknown.
 */
function dependencyOf(p: Pricing, prop: string, candidates: readonly PlannedResource[]): PlannedResource | undefined {
  const urns = p.r.propertyDependencies?.[prop] ?? [];
  return candidates.find((c) => urns.includes(c.urn));
}

/** The only candidate beside `p.r` (same parent component), if there is exactly one. */
function onlySibling(p: Pricing, candidates: readonly PlannedResource[]): PlannedResource | undefined {
  const siblings = candidates.filter((c) => c.parent === p.r.parent);
  return siblings.length === 1 ? siblings[0] : undefined;
}

/** The launch template a node group references: by property dependency, else by its declared name, else the only one beside it. */
function launchTemplateOf(p: Pricing): PlannedResource | undefined {
  const ref = obj(p.r.inputs.launchTemplate);
  if (!ref) return undefined;
  const templates = p.ctx.ofType("aws:ec2/launchTemplate:LaunchTemplate");
  const name = str(ref.name);
  return (
    dependencyOf(p, "launchTemplate", templates) ??
    templates.find((t) => name !== undefined && (str(t.inputs.name) === name || t.name === name)) ??
    onlySibling(p, templates)
  );
}

function rootDevice(mappings: unknown[]): Obj | undefined {
  const all = mappings.map(obj).filter((m): m is Obj => m !== undefined);
  return all.find((m) => m.rootVolume === true) ?? all.find((m) => m.deviceName === "/dev/xvda") ?? all[0];
}

function eksNodeGroup(p: Pricing): void {
  const i = p.r.inputs;
  const nodes = num(obj(i.scalingConfig)?.desiredSize);
  const instanceType = str(arr(i.instanceTypes)[0]);
  const spot = str(i.capacityType) === "SPOT";
  const category: CostCategory = spot ? "nodes-spot" : "nodes-on-demand";
  if (isUnknownMarker(i.instanceTypes) || arr(i.instanceTypes).some(isUnknownMarker)) return p.cannot("instanceTypes is not known before the update: instance price unknown");
  if (isUnknownMarker(i.capacityType)) return p.cannot("capacityType is not known before the update: spot or on-demand price unknown");
  if (nodes === undefined) return p.cannot("scalingConfig.desiredSize is unknown in this plan");
  if (!instanceType) return p.cannot("no instanceTypes on the node group (set in the launch template?): instance price unknown");
  p.line({
    line: "nodes",
    category,
    quantity: nodes,
    quantityUnit: "nodes",
    what: `${instanceType} ${spot ? "spot" : "on-demand"}${arr(i.instanceTypes).length > 1 ? ` (first of ${arr(i.instanceTypes).length} types)` : ""}`,
    priceKey: `ec2.${instanceType}.hour`,
    hourly: true,
    capacityType: spot ? "spot" : "on-demand",
    instanceType,
  });
  const lt = launchTemplateOf(p);
  if (lt) {
    const ebs = obj(rootDevice(arr(lt.inputs.blockDeviceMappings))?.ebs);
    const gib = num(ebs?.volumeSize);
    const volumeType = str(ebs?.volumeType);
    if (gib === undefined) return p.cannot(`root volume size unknown in launch template ${lt.name}`);
    if (!volumeType) return p.cannot(`root volume type not set in launch template ${lt.name} (it inherits the AMI's): not priced`);
    rootVolumeLine(p, nodes, gib, volumeType, category, `launch template ${lt.name}`);
  } else {
    const gib = num(i.diskSize) ?? 20;
    p.cannot(`root volumes: no launch template found; ${nodes} x ${gib} GiB of a volume type not known offline`);
  }
}

function requirementValues(spec: Obj | undefined, key: string): string[] | undefined {
  const req = arr(spec?.requirements).map(obj).find((r) => r?.key === key && r.operator === "In");
  return req ? arr(req.values).filter((v): v is string => typeof v === "string") : undefined;
}

function karpenterNodePool(p: Pricing): void {
  const i = p.r.inputs;
  const metadata = obj(i.metadata);
  const expected = num(obj(metadata?.annotations)?.[expectedNodesAnnotation]);
  const templateSpec = obj(obj(obj(i.spec)?.template)?.spec);
  if (expected === undefined) return p.cannot(`no ${expectedNodesAnnotation} annotation: the steady-state node count is unknown`);
  const types = requirementValues(templateSpec, "node.kubernetes.io/instance-type");
  if (!types || types.length === 0) return p.cannot("no node.kubernetes.io/instance-type requirement: instance price unknown");
  // Karpenter's default capacity type is on-demand; with both allowed it launches spot first.
  const capacity = requirementValues(templateSpec, "karpenter.sh/capacity-type") ?? ["on-demand"];
  const spot = capacity.includes("spot");
  const category: CostCategory = spot ? "nodes-spot" : "nodes-on-demand";
  p.line({
    line: "nodes",
    category,
    quantity: expected,
    quantityUnit: "nodes",
    what: `${types[0]} ${spot ? "spot" : "on-demand"} (${expectedNodesAnnotation}; first of ${types.length} types)`,
    priceKey: `ec2.${types[0]}.hour`,
    hourly: true,
    capacityType: spot ? "spot" : "on-demand",
    instanceType: types[0],
  });
  if (expected === 0) return;
  const className = str(obj(templateSpec?.nodeClassRef)?.name);
  const nodeClass = p.ctx.ofType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").find((c) => str(obj(c.inputs.metadata)?.name) === className);
  if (!nodeClass) return p.cannot(`root volumes: EC2NodeClass '${className ?? "?"}' is not in the plan`);
  const mappings = arr(obj(nodeClass.inputs.spec)?.blockDeviceMappings);
  if (mappings.length === 0) {
    // Karpenter's default root volume for AL2023 nodes.
    return rootVolumeLine(p, expected, 20, "gp3", category, `Karpenter's AL2023 default, EC2NodeClass '${className}'`);
  }
  const ebs = obj(rootDevice(mappings)?.ebs);
  const gib = gibOf(ebs?.volumeSize);
  const volumeType = str(ebs?.volumeType);
  if (gib === undefined || !volumeType) return p.cannot(`root volume size or type unknown in EC2NodeClass ${className}`);
  rootVolumeLine(p, expected, gib, volumeType, category, `EC2NodeClass '${className}'`);
}

/** The cluster an instance belongs to: by property dependency, else by a declared identifier, else the only one beside it. */
function rdsClusterOf(p: Pricing): PlannedResource | undefined {
  const id = str(p.r.inputs.clusterIdentifier);
  const clusters = p.ctx.ofType("aws:rds/cluster:Cluster");
  return (
    dependencyOf(p, "clusterIdentifier", clusters) ??
    clusters.find((c) => id !== undefined && id === str(c.inputs.clusterIdentifier)) ??
    onlySibling(p, clusters)
  );
}

/**
 * The automation service's own Aurora cluster (components/automationDatabase.ts, `purpose` tag
 * `automation-state`): priced apart from the platform database, whose usage assumptions do not fit
 * it. Assumptions: its load (a leader-lock check every 15 s, a few writes a minute) keeps it at its
 * minimum capacity; its state (decisions, metric samples, forecasts) stays within 2 GB with about
 * 1 million I/O requests a month.
 */
export const automationDatabaseAssumptions = { purposeTag: "automation-state", storageGb: 2, ioMillionRequests: 1 } as const;
const isAutomationDatabase = (cluster: PlannedResource | undefined) => str(obj(cluster?.inputs.tags)?.purpose) === automationDatabaseAssumptions.purposeTag;

function auroraInstance(p: Pricing): void {
  const i = p.r.inputs;
  if (str(i.instanceClass) !== "db.serverless") return p.cannot(`instance class ${String(i.instanceClass)}: only Aurora Serverless v2 (db.serverless) is priced`);
  const cluster = rdsClusterOf(p);
  const scaling = obj(cluster?.inputs.serverlessv2ScalingConfiguration);
  const min = num(scaling?.minCapacity);
  const max = num(scaling?.maxCapacity);
  if (!cluster || min === undefined || max === undefined) return p.cannot("the cluster's serverlessv2ScalingConfiguration (ACU range) is not in the plan");
  const a = p.ctx.assumptions;
  const automation = isAutomationDatabase(cluster);
  const acu = automation ? min : Number(
    (a.auroraAverageAcu !== undefined ? Math.min(max, Math.max(min, a.auroraAverageAcu)) : min + a.auroraAverageAcuFraction * (max - min)).toFixed(6),
  );
  const how = automation
    ? `the automation service's database at its minimum, range ${min}-${max} ACU`
    : a.auroraAverageAcu !== undefined ? `assumed average, range ${min}-${max} ACU` : `average = ${min} + ${formatQuantity(a.auroraAverageAcuFraction)} x (${max} - ${min})`;
  const tier = num(i.promotionTier);
  p.line({
    line: "ACU",
    category: automation ? "automation-database" : "aurora",
    quantity: acu,
    quantityUnit: "ACU",
    what: `ACU (${how})`,
    priceKey: str(cluster.inputs.storageType) === "aurora-iopt1" ? "aurora.serverlessV2.ioOptimized.acuHour" : "aurora.serverlessV2.acuHour",
    hourly: true,
    note: tier !== undefined && tier > 0 && tier <= 1 ? `promotion tier ${tier}: scales with the writer` : undefined,
  });
}

function auroraCluster(p: Pricing): void {
  const i = p.r.inputs;
  if (!str(i.engine)?.startsWith("aurora")) return p.cannot(`engine ${String(i.engine)}: only Aurora clusters are priced`);
  const a = p.ctx.assumptions;
  const identifier = str(i.clusterIdentifier);
  const replicaTarget = p.ctx.ofType("aws:appautoscaling/target:Target").find(
    (t) => t.inputs.serviceNamespace === "rds" && (t.inputs.resourceId === `cluster:${identifier}` || t.parent === p.r.parent),
  );
  const replicas = replicaTarget
    ? `read-replica auto scaling (${String(replicaTarget.inputs.minCapacity)}-${String(replicaTarget.inputs.maxCapacity)} replicas) adds no fixed cost: replicas it adds bill per ACU-hour while they run`
    : undefined;
  const iopt = str(i.storageType) === "aurora-iopt1";
  const automation = isAutomationDatabase(p.r);
  const category = automation ? "automation-database" : "aurora";
  p.line({
    line: "storage (assumption)",
    category,
    quantity: automation ? automationDatabaseAssumptions.storageGb : a.auroraStorageGb,
    quantityUnit: "GB-month",
    what: automation ? "GB storage (automation database assumption)" : "GB storage (assumption auroraStorageGb)",
    priceKey: iopt ? "aurora.ioOptimized.storage.gbMonth" : "aurora.storage.gbMonth",
    hourly: false,
    note: replicas,
  });
  if (!iopt) {
    p.line({
      line: "I/O (assumption)",
      category,
      quantity: automation ? automationDatabaseAssumptions.ioMillionRequests : a.auroraIoMillionRequests,
      quantityUnit: "million requests",
      what: automation ? "million I/O requests (automation database assumption)" : "million I/O requests (assumption auroraIoMillionRequests)",
      priceKey: "aurora.io.millionRequests",
      hourly: false,
    });
  }
}

function elasticacheReplicationGroup(p: Pricing): void {
  const i = p.r.inputs;
  const nodeType = str(i.nodeType);
  if (!nodeType) return p.cannot("nodeType unknown");
  const shards = num(i.numNodeGroups);
  const replicas = num(i.replicasPerNodeGroup) ?? 0;
  const clusters = num(i.numCacheClusters);
  let nodes: number;
  let layout: string;
  if (shards !== undefined || str(i.clusterMode) === "enabled") {
    const s = shards ?? 1;
    nodes = s * (1 + replicas);
    layout = `cluster mode: ${s} shards x (1 primary + ${replicas} replica${replicas === 1 ? "" : "s"})`;
  } else if (clusters !== undefined) {
    nodes = clusters;
    layout = `${clusters} cache cluster${clusters === 1 ? "" : "s"}`;
  } else {
    return p.cannot("neither numNodeGroups nor numCacheClusters is known: node count unknown");
  }
  const autoscaling = p.ctx.ofType("aws:appautoscaling/target:Target").find((t) => t.inputs.serviceNamespace === "elasticache" && t.parent === p.r.parent);
  p.line({
    line: "nodes",
    category: "elasticache",
    quantity: nodes,
    quantityUnit: "nodes",
    what: `${nodeType} nodes (${layout})`,
    priceKey: `elasticache.${nodeType}.hour`,
    hourly: true,
    note: autoscaling ? `shard auto scaling (${String(autoscaling.inputs.minCapacity)}-${String(autoscaling.inputs.maxCapacity)} shards) prices the current shards` : undefined,
  });
}

function elasticacheCluster(p: Pricing): void {
  const i = p.r.inputs;
  const nodeType = str(i.nodeType);
  const nodes = num(i.numCacheNodes) ?? 1;
  if (!nodeType) return p.cannot("nodeType unknown (a cluster in a replication group is priced there)");
  p.line({ line: "nodes", category: "elasticache", quantity: nodes, quantityUnit: "nodes", what: `${nodeType} nodes`, priceKey: `elasticache.${nodeType}.hour`, hourly: true });
}

function mskCluster(p: Pricing): void {
  const i = p.r.inputs;
  const info = obj(i.brokerNodeGroupInfo);
  const brokers = num(i.numberOfBrokerNodes);
  const instanceType = str(info?.instanceType);
  if (brokers === undefined || !instanceType) return p.cannot("broker count or instance type unknown");
  p.line({
    line: "brokers",
    category: "msk",
    quantity: brokers,
    quantityUnit: "brokers",
    what: `${instanceType} brokers`,
    priceKey: `msk.${instanceType}.hour`,
    hourly: true,
    note: str(i.enhancedMonitoring) && i.enhancedMonitoring !== "DEFAULT" ? `${String(i.enhancedMonitoring)} monitoring bills as CloudWatch metrics (CloudWatch assumption)` : undefined,
  });
  const ebs = obj(obj(info?.storageInfo)?.ebsStorageInfo);
  const gib = num(ebs?.volumeSize);
  if (gib === undefined) return p.cannot("broker volume size unknown");
  const target = p.ctx.ofType("aws:appautoscaling/target:Target").find((t) => t.inputs.serviceNamespace === "kafka" && t.parent === p.r.parent);
  const maxGib = num(target?.inputs.maxCapacity);
  let note: string | undefined;
  if (maxGib !== undefined) {
    const storage = priceEntry("msk.storage.gbMonth", p.ctx.catalog).usd;
    note = `storage auto scaling may grow each volume to ${maxGib} GB (up to ${formatUsd(round2(brokers * maxGib * storage))}/month)`;
  }
  p.line({
    line: "storage",
    category: "msk",
    quantity: brokers * gib,
    quantityUnit: "GB-month",
    what: `GB broker storage (${brokers} brokers x ${gib} GB)`,
    priceKey: "msk.storage.gbMonth",
    hourly: false,
    note,
  });
  if (obj(obj(ebs?.provisionedThroughput))?.enabled === true) p.cannot("provisioned storage throughput is not in the price catalog");
}

function openSearchDomain(p: Pricing): void {
  const i = p.r.inputs;
  const c = obj(i.clusterConfig) ?? {};
  const dataType = str(c.instanceType);
  const dataNodes = num(c.instanceCount) ?? 1;
  if (!dataType) return p.cannot("data instance type unknown");
  p.line({ line: "data nodes", category: "opensearch", quantity: dataNodes, quantityUnit: "nodes", what: `${dataType} data nodes`, priceKey: `opensearch.${dataType}.hour`, hourly: true });
  if (c.dedicatedMasterEnabled === true) {
    const masterType = str(c.dedicatedMasterType);
    const masters = num(c.dedicatedMasterCount) ?? 3;
    if (!masterType) p.cannot("dedicated master type unknown");
    else p.line({ line: "dedicated masters", category: "opensearch", quantity: masters, quantityUnit: "nodes", what: `${masterType} dedicated masters`, priceKey: `opensearch.${masterType}.hour`, hourly: true });
  }
  if (c.warmEnabled === true) {
    const warmType = str(c.warmType);
    const warm = num(c.warmCount) ?? 2;
    if (!warmType) p.cannot("warm node type unknown");
    else p.line({ line: "warm nodes", category: "opensearch", quantity: warm, quantityUnit: "nodes", what: `${warmType} warm nodes`, priceKey: `opensearch.${warmType}.hour`, hourly: true });
    p.cannot("UltraWarm managed storage is usage-priced and not in the catalog");
  }
  const ebs = obj(i.ebsOptions);
  if (ebs?.ebsEnabled === true) {
    const gib = num(ebs.volumeSize);
    const volumeType = str(ebs.volumeType);
    if (gib === undefined || !volumeType) return p.cannot("EBS volume size or type unknown");
    p.line({
      line: "storage",
      category: "opensearch",
      quantity: dataNodes * gib,
      quantityUnit: "GB-month",
      what: `GB ${volumeType} (${dataNodes} data node${dataNodes === 1 ? "" : "s"} x ${gib} GB)`,
      priceKey: `opensearch.${volumeType}.gbMonth`,
      hourly: false,
      note: volumeType === "gp3" ? "3,000 IOPS and 125 MiB/s per volume included" : undefined,
    });
    if (volumeType === "gp3" && ((num(ebs.iops) ?? 3000) > 3000 || (num(ebs.throughput) ?? 125) > 125)) {
      p.cannot("gp3 IOPS or throughput above the included 3,000 IOPS / 125 MiB/s are not in the price catalog");
    }
  }
}

function natGateway(p: Pricing): void {
  const gateways = p.ctx.ofType("aws:ec2/natGateway:NatGateway").length;
  const gb = p.ctx.assumptions.natGbPerMonth / gateways;
  p.line({ line: "hours", category: "nat", quantity: 1, quantityUnit: "gateway", what: "NAT gateway", priceKey: "nat.hour", hourly: true });
  p.line({
    line: "data processed (assumption)",
    category: "nat",
    quantity: Number(gb.toFixed(4)),
    quantityUnit: "GB",
    what: `GB processed (natGbPerMonth ${formatQuantity(p.ctx.assumptions.natGbPerMonth)} GB / ${gateways} gateway${gateways === 1 ? "" : "s"})`,
    priceKey: "nat.gb",
    hourly: false,
  });
}

/**
 * A VPC endpoint. Interface endpoints (PrivateLink) bill per AZ-hour, one ENI per subnet, and per GB
 * processed (`interfaceEndpointGbPerMonth` split over the interface endpoints); gateway endpoints
 * (S3, DynamoDB) bill nothing.
 */
function vpcEndpoint(p: Pricing): void {
  const type = p.r.inputs.vpcEndpointType ?? "Gateway";
  if (type === "Gateway") return;
  if (type !== "Interface") return p.cannot(`vpcEndpointType ${JSON.stringify(type)} is not priced (Interface and Gateway are)`);
  const subnets = arr(p.r.inputs.subnetIds);
  if (subnets.length === 0) return p.cannot("an interface endpoint without subnetIds: its AZ count is unknown");
  const endpoints = p.ctx.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((r) => r.inputs.vpcEndpointType === "Interface").length;
  const total = p.ctx.assumptions.interfaceEndpointGbPerMonth;
  p.line({ line: "AZ-hours", category: "vpc-endpoints", quantity: subnets.length, quantityUnit: "AZs", what: `interface endpoint ${str(p.r.inputs.serviceName) ?? ""} ENIs`.replace(/ +/g, " "), priceKey: "vpce.interface.azHour", hourly: true });
  p.line({
    line: "data processed (assumption)",
    category: "vpc-endpoints",
    quantity: Number((total / endpoints).toFixed(4)),
    quantityUnit: "GB",
    what: `GB processed (interfaceEndpointGbPerMonth ${formatQuantity(total)} GB / ${endpoints} endpoint${endpoints === 1 ? "" : "s"})`,
    priceKey: "vpce.interface.gb",
    hourly: false,
  });
}

function elasticIp(p: Pricing): void {
  if (str(p.r.inputs.publicIpv4Pool) && p.r.inputs.publicIpv4Pool !== "amazon") return; // BYOIP: no public IPv4 charge
  const natUse = p.ctx.ofType("aws:ec2/natGateway:NatGateway").some((n) => (n.propertyDependencies?.allocationId ?? []).includes(p.r.urn));
  p.line({
    line: "public IPv4",
    category: "public-ipv4",
    quantity: 1,
    quantityUnit: "address",
    what: `public IPv4 address${natUse ? " (Elastic IP of a NAT gateway)" : ""}`,
    priceKey: "vpc.publicIpv4.hour",
    hourly: true,
    note: "charged in use or idle since 2024-02-01",
  });
}

function kmsKey(p: Pricing): void {
  p.line({
    line: "key",
    category: "kms",
    quantity: 1,
    quantityUnit: "key",
    what: "customer managed key",
    priceKey: "kms.keyMonth",
    hourly: false,
    note: "requests ($0.03/10k beyond 20k free) not modelled",
  });
}

function metricAlarm(p: Pricing): void {
  const i = p.r.inputs;
  const queries = arr(i.metricQueries).map(obj).filter((q): q is Obj => q !== undefined);
  const metrics = queries.length > 0 ? queries.filter((q) => q.metric !== undefined).length || 1 : 1;
  const period = num(i.period) ?? Math.min(...queries.map((q) => num(obj(q.metric)?.period) ?? 60), 60);
  const high = period < 60;
  p.line({
    line: "alarm metrics",
    category: "cloudwatch",
    quantity: metrics,
    quantityUnit: "alarm metrics",
    what: `${high ? "high" : "standard"}-resolution alarm metric${metrics === 1 ? "" : "s"}`,
    priceKey: high ? "cloudwatch.alarm.highResolution.month" : "cloudwatch.alarm.standard.month",
    hourly: false,
  });
}

/**
 * Log storage at steady state: a group holds `logGroupGbPerDay` x its retention days (ingestion is in
 * the CloudWatch assumption). A group without retention keeps logs forever: it cannot be priced.
 */
function logGroup(p: Pricing): void {
  const days = num(p.r.inputs.retentionInDays);
  if (days === undefined || days <= 0) {
    p.cannot(`log group ${p.r.name}: no retentionInDays, logs are kept (and billed) forever`);
    return;
  }
  const perDay = p.ctx.assumptions.logGroupGbPerDay;
  p.line({
    line: "log storage",
    category: "cloudwatch",
    quantity: Number((perDay * days).toFixed(4)),
    quantityUnit: "GB",
    what: `GB stored (${formatQuantity(perDay)} GB/day x ${days} days retention)`,
    priceKey: "cloudwatch.logs.storage.gbMonth",
    hourly: false,
  });
}

/** Action-enabled budgets: the account's first 62 budget-days a month (2 budgets) are free. */
function budgetAction(p: Pricing): void {
  const actions = p.ctx.ofType("aws:budgets/budgetAction:BudgetAction");
  const budgets = [...new Set(actions.map((a) => str(a.inputs.budgetName) ?? a.name))];
  const mine = str(p.r.inputs.budgetName) ?? p.r.name;
  const first = actions.find((a) => (str(a.inputs.budgetName) ?? a.name) === budgets[0]);
  if (mine !== budgets[0] || first !== p.r) return; // priced once, on the first budget's first action
  const billable = Math.max(0, budgets.length * daysPerMonth - 62);
  p.line({
    line: "action-enabled budgets",
    category: "budgets",
    quantity: Number(billable.toFixed(2)),
    quantityUnit: "budget-days",
    what: `billable budget-days (${budgets.length} budgets with actions x ${daysPerMonth.toFixed(2)} days - 62 free)`,
    priceKey: "budgets.actionBudgetDay",
    hourly: false,
  });
}

/** A Secrets Manager secret: per secret-month; External Secrets' reads are a few thousand calls a month. */
function secretsManagerSecret(p: Pricing): void {
  p.line({
    line: "secret",
    category: "secrets-manager",
    quantity: 1,
    quantityUnit: "secret",
    what: "Secrets Manager secret",
    priceKey: "secretsmanager.secretMonth",
    hourly: false,
    note: "API calls ($0.05/10k; External Secrets reads each secret hourly, ~730/month) not modelled",
  });
}

/**
 * The persistent volumes a chart release claims: kube-prometheus-stack's Prometheus and
 * Alertmanager (one volume per replica, through the stack's gp3 StorageClass). Other releases claim none.
 */
function helmReleaseVolumes(p: Pricing): void {
  if (p.r.inputs.chart !== "kube-prometheus-stack") return;
  const values = obj(p.r.inputs.values);
  const claims: [string, Obj | undefined, Obj | undefined][] = [
    ["Prometheus", obj(obj(values?.prometheus)?.prometheusSpec), obj(obj(obj(obj(values?.prometheus)?.prometheusSpec)?.storageSpec)?.volumeClaimTemplate)],
    ["Alertmanager", obj(obj(values?.alertmanager)?.alertmanagerSpec), obj(obj(obj(obj(values?.alertmanager)?.alertmanagerSpec)?.storage)?.volumeClaimTemplate)],
  ];
  for (const [what, spec, claim] of claims) {
    if (!claim) continue;
    const gib = gibOf(obj(obj(obj(claim.spec)?.resources)?.requests)?.storage);
    const replicas = num(spec?.replicas) ?? 1;
    if (gib === undefined) {
      p.cannot(`${what} volume: its size is not a Kubernetes storage quantity`);
      continue;
    }
    p.line({
      line: `${what} volumes`,
      category: "ebs-volumes",
      quantity: replicas * gib,
      quantityUnit: "GB",
      what: `GB of gp3 (${replicas} x ${gib} GiB ${what} volume${replicas === 1 ? "" : "s"})`,
      priceKey: "ebs.gp3.gbMonth",
      hourly: false,
      note: "3,000 IOPS and 125 MiB/s per volume included",
    });
  }
}

/** Pricing rules by resource type. */
const pricers: Readonly<Record<string, Pricer>> = {
  "eks:index:Cluster": eksComponent,
  "aws:eks/cluster:Cluster": eksControlPlane,
  "aws:eks/nodeGroup:NodeGroup": eksNodeGroup,
  "kubernetes:karpenter.sh/v1:NodePool": karpenterNodePool,
  "aws:rds/clusterInstance:ClusterInstance": auroraInstance,
  "aws:rds/cluster:Cluster": auroraCluster,
  "aws:elasticache/replicationGroup:ReplicationGroup": elasticacheReplicationGroup,
  "aws:elasticache/cluster:Cluster": elasticacheCluster,
  "aws:msk/cluster:Cluster": mskCluster,
  "aws:opensearch/domain:Domain": openSearchDomain,
  "aws:ec2/natGateway:NatGateway": natGateway,
  "aws:ec2/vpcEndpoint:VpcEndpoint": vpcEndpoint,
  "aws:ec2/eip:Eip": elasticIp,
  "aws:kms/key:Key": kmsKey,
  "aws:cloudwatch/metricAlarm:MetricAlarm": metricAlarm,
  "aws:cloudwatch/logGroup:LogGroup": logGroup,
  "aws:budgets/budgetAction:BudgetAction": budgetAction,
  "aws:secretsmanager/secret:Secret": secretsManagerSecret,
  "kubernetes:helm.sh/v3:Release": helmReleaseVolumes,
};

/** Resource types the estimator prices. */
export const pricedResourceTypes: readonly string[] = Object.keys(pricers);

// ---------------------------------------------------------------------------------------------
// Usage-driven lines
// ---------------------------------------------------------------------------------------------

export const assumptionsComponent = "usage assumptions";

function assumptionItems(a: UsageAssumptions, catalog: PriceCatalog): CostItem[] {
  const items: CostItem[] = [];
  const base = (name: string) => ({ urn: `assumption:${name}`, type: "assumption", name, component: assumptionsComponent, assumption: true });
  const flat = (name: string, category: CostCategory, line: string, label: string, value: number) =>
    items.push({
      ...base(name),
      line,
      category,
      monthlyUsd: round2(value),
      basis: `assumption: 1 x ${label} at ${formatUsd(value)}/month`,
      quantity: 1,
      quantityUnit: "month",
      unitPriceUsd: value,
      priceUnit: "month",
      priceKeys: [],
    });
  const priced = (line: string, quantity: number, quantityUnit: string, what: string, key: string, hourly: boolean) => {
    const entry = priceEntry(key, catalog);
    const monthly = round2(quantity * entry.usd * (hourly ? hoursPerMonth : 1));
    items.push({
      ...base("alb"),
      line,
      category: "alb",
      monthlyUsd: monthly,
      basis: `assumption: ${formatQuantity(quantity)} x ${what}${hourly ? ` x ${hoursPerMonth} h` : ""} x ${formatUnitPrice(entry.usd)}/${entry.unit} = ${formatUsd(monthly)}`,
      quantity,
      quantityUnit,
      unitPriceUsd: entry.usd,
      priceUnit: entry.unit,
      priceKeys: [key],
    });
  };
  if (a.albCount > 0) {
    priced("ALB hours", a.albCount, "ALBs", "ALB (albCount)", "alb.hour", true);
    priced("ALB LCUs", Number((a.albCount * a.albLcuPerAlb).toFixed(4)), "LCU", `LCU (${a.albCount} ALB${a.albCount === 1 ? "" : "s"} x ${formatQuantity(a.albLcuPerAlb)} albLcuPerAlb)`, "alb.lcuHour", true);
    if (a.albPublicIpv4PerAlb > 0) {
      priced("ALB public IPv4", a.albCount * a.albPublicIpv4PerAlb, "addresses", `public IPv4 address (${a.albCount} ALB${a.albCount === 1 ? "" : "s"} x ${a.albPublicIpv4PerAlb} albPublicIpv4PerAlb)`, "vpc.publicIpv4.hour", true);
    }
  }
  flat("cloudwatch", "cloudwatch", "CloudWatch", "CloudWatch metrics and logs (cloudwatchUsd)", a.cloudwatchUsd);
  flat("s3", "s3", "S3", "S3 storage and requests (s3Usd)", a.s3Usd);
  flat("data-transfer", "data-transfer", "data transfer", "data transfer, inter-AZ and egress (dataTransferUsd)", a.dataTransferUsd);
  flat("lambda", "lambda", "Lambda", "Lambda functions (lambdaUsd)", a.lambdaUsd);
  flat("sns-sqs", "sns-sqs", "SNS/SQS", "SNS/SQS requests and deliveries (snsSqsUsd)", a.snsSqsUsd);
  return items;
}

// ---------------------------------------------------------------------------------------------
// The estimator
// ---------------------------------------------------------------------------------------------

/** Name of the nearest component ancestor of `r` (walking `parent` URNs), `(stack)` at the top. */
export function componentOf(r: Pick<PlannedResource, "parent" | "urn">, byUrn: ReadonlyMap<string, PlannedResource>): string {
  const seen = new Set<string>([r.urn]);
  let parentUrn: string | undefined = r.parent;
  while (parentUrn && !seen.has(parentUrn)) {
    seen.add(parentUrn);
    const parent = byUrn.get(parentUrn);
    if (!parent) break;
    if (!parent.custom && parent.type !== "pulumi:pulumi:Stack") return parent.name;
    parentUrn = parent.parent;
  }
  return "(stack)";
}

/** Options of `estimateCost`. */
export interface EstimateOptions {
  /** The day to price for (EKS standard or extended support); default: `calendarDay()` (now, unless pinned). Tests pass a fixed day. */
  readonly asOf?: Date;
}

/**
 * Prices `resources` with the catalog and `assumptions` (validated with `usageAssumptionsSchema`).
 * Never throws for a resource it cannot price: such resources are listed in `unpriced`.
 */
export function estimateCost(
  resources: readonly PlannedResource[],
  assumptions: UsageAssumptions,
  catalog: PriceCatalog = priceCatalog(),
  options: EstimateOptions = {},
): CostEstimate {
  const a = usageAssumptionsSchema.parse(assumptions);
  const asOf = options.asOf ?? calendarDay("the cost model (estimateCost without asOf)");
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const byType = new Map<string, PlannedResource[]>();
  for (const r of resources) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const ctx: Context = { resources, byUrn, assumptions: a, catalog, ofType: (type) => byType.get(type) ?? [], asOf };

  const items: CostItem[] = [];
  const unpriced: UnpricedResource[] = [];
  const freeByType: Record<string, number> = {};
  const countFree = (type: string) => (freeByType[type] = (freeByType[type] ?? 0) + 1);

  for (const r of resources) {
    const component = componentOf(r, byUrn);
    const pricer = pricers[r.type];
    if (pricer) {
      const p = new Pricing(r, component, ctx);
      pricer(p);
      items.push(...p.items);
      for (const reason of p.unpriced) unpriced.push({ urn: r.urn, type: r.type, name: r.name, component, reason });
      if (p.items.length === 0 && p.unpriced.length === 0) countFree(r.type); // priced elsewhere (e.g. the EKS component with its cluster child)
    } else if (freeReason(r.type) !== undefined || !r.custom) {
      countFree(r.type);
    } else {
      unpriced.push({
        urn: r.urn,
        type: r.type,
        name: r.name,
        component,
        reason: `no pricing rule for ${r.type}: price it in lib/cost/estimate.ts or, if it has no charge, add it to the free list`,
      });
    }
  }
  items.push(...assumptionItems(a, catalog));

  const monthlyUsd = round2(items.reduce((sum, i) => sum + i.monthlyUsd, 0));
  return {
    region: catalog.region,
    monthlyUsd,
    dailyUsd: round2(monthlyUsd / daysPerMonth),
    items,
    unpriced,
    free: Object.values(freeByType).reduce((s, n) => s + n, 0),
    freeByType,
    assumptions: a,
    hoursPerMonth,
    daysPerMonth,
  };
}
