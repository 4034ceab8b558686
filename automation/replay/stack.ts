/**
 * What the replay reads from a stack: the stack's own RENDERED configuration, taken from the offline
 * plan (lib/plan: the real program under the mock runtime), never a copy of its numbers:
 * - the HPA and KEDA ScaledObject manifests (ranges, CPU target, behaviour, cron trigger, cooldown);
 * - the Karpenter NodePools (class, capacity type, instance types, weight, limits, disruption) and the
 *   EC2NodeClass root volume; the system managed node group;
 * - the Aurora cluster (ACU range, readers, the reader auto scaling target);
 * - every other priced line of the cost model (lib/cost/estimate.ts) as fixed monthly items;
 * - pod requests from the workload contract (lib/workloads/contract.ts, the requests the reference
 *   Deployments carry, plus the Istio sidecar's when the stack injects it);
 * - each service's spot share per replica count from the spread over the rendered NodePools
 *   (lib/scaling/spotSimulation.ts, the same simulation the policy pack's spot check uses).
 */
import { serviceByName, serviceNames, type ServiceDefinition } from "../../lib/catalog/services";
import type { CalendarOptions } from "../forecast/calendar";
import { defaultUsageAssumptions, estimateCost, type CostItem } from "../../lib/cost/estimate";
import { allocatable, cpuMillis, memoryMiB, onDemandHourly } from "../../lib/cost/ec2";
import { priceOf } from "../../lib/cost/prices";
import type { PlatformSettings } from "../../lib/config/settings";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { kubernetesObjects, type KubernetesObject } from "../../lib/plan/manifests";
import { nodePoolCapacityType, type NodeSelectorRequirement } from "../../lib/scaling/nodePoolRequirements";
import { poolOrders, poolsForPod, simulateScaleUp } from "../../lib/scaling/spotSimulation";
import { containerBounds } from "../../lib/scaling/workloads";
import { hpaSyncPeriodSeconds, kedaScaleOutWorstCaseSeconds } from "../../lib/scaling/responseTime";
import { replayConstants } from "./model";
import { workloadContract } from "../../lib/workloads/contract";
import { defaultTargetUtilization } from "../backtest/service";
import type { HpaBehavior } from "../backtest/hpa";

type Json = Record<string, any>;

export interface CronFloor {
  readonly start: string;
  readonly end: string;
  readonly timezone: string;
  readonly replicas: number;
}

export interface ServiceModel {
  readonly name: string;
  readonly scaler: "hpa" | "keda";
  readonly workloadClass: "api" | "batch" | "data";
  readonly min: number;
  readonly max: number;
  /** u: the HPA's CPU averageUtilization, or (KEDA) the backtest's default 0.7 of a replica's capacity at the trigger's target. */
  readonly targetUtilization: number;
  readonly behavior: HpaBehavior;
  /**
   * Seconds from a load change to what the autoscaler reads: an HPA's CPU metric goes through a
   * scrape and metrics-server (30 s); KEDA reads a Kafka, Redis or SQS scaler when the HPA asks at
   * its sync (0 s), a Prometheus trigger one scrape late (lib/scaling/responseTime.ts).
   */
  readonly metricDelaySeconds: number;
  /** KEDA cooldownPeriod (seconds) before scaling to zero. */
  readonly cooldownSeconds: number;
  /** KEDA's business-hours cron trigger, when rendered. */
  readonly cron?: CronFloor;
  /** Requests of one pod (main container + sidecar). */
  readonly requests: { readonly cpuMillis: number; readonly memoryMiB: number };
  /** Pods on spot capacity when the service runs n replicas (index n, 0..max). */
  readonly spotPods: readonly number[];
}

export interface PoolModel {
  readonly name: string;
  readonly workloadClass: string;
  readonly capacityType: "spot" | "on-demand";
  readonly instanceTypes: readonly string[];
  readonly weight: number;
  readonly maxNodes: number;
  readonly consolidationPolicy: "WhenEmpty" | "WhenEmptyOrUnderutilized";
  readonly consolidateAfterSeconds: number;
  /** Disruption budget, percent of the pool's nodes. */
  readonly budgetPercent: number;
}

export interface AuroraModel {
  readonly minAcu: number;
  readonly maxAcu: number;
  /** Reader instances the stack creates. */
  readonly readers: number;
  /** Application Auto Scaling of the read replica count, when rendered. */
  readonly readerScaling?: { readonly min: number; readonly max: number; readonly targetCpuPercent: number; readonly scaleInCooldownSeconds: number; readonly scaleOutCooldownSeconds: number };
}

export interface ReplayStack {
  readonly stack: string;
  readonly environment: string;
  readonly services: readonly ServiceModel[];
  readonly pools: readonly PoolModel[];
  readonly system: { readonly instanceType: string; readonly nodes: number };
  /** Root volume per Karpenter node (GiB, gp3) from the EC2NodeClass. */
  readonly rootVolumeGiB: number;
  readonly aurora: AuroraModel;
  /** Every other priced line of the cost model, per month. */
  readonly fixed: readonly CostItem[];
  readonly calendar: CalendarOptions;
  /** Karpenter's SpotToSpotConsolidation feature gate as rendered (Karpenter's default: off). */
  readonly spotToSpotConsolidation: boolean;
  readonly settings: PlatformSettings;
}

/** A stack whose rendered configuration the replay cannot read: names the object and the field. */
export class ReplayConfigError extends Error {}

const fail = (message: string): never => {
  throw new ReplayConfigError(message);
};

/** "1m", "30s", "1h30m", "Never" → seconds (Never = Infinity). */
export function durationSeconds(text: string): number {
  if (text === "Never") return Number.POSITIVE_INFINITY;
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0;
  let matched = "";
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
    matched += m[0];
  }
  if (matched !== text || text === "") throw new ReplayConfigError(`duration '${text}': expected e.g. 30s, 1m, 1h30m or Never`);
  return total;
}

function behaviorOf(raw: unknown, where: string): HpaBehavior {
  const b = raw as HpaBehavior | undefined;
  if (!b?.scaleUp?.policies || !b.scaleDown?.policies) return fail(`${where}: behavior with scaleUp and scaleDown policies is required`);
  return b;
}

function serviceModel(def: ServiceDefinition, scaler: KubernetesObject, pods: { nodePools: Json[]; istio: boolean }): ServiceModel {
  const spec = scaler.spec as Json;
  const where = `${scaler.kind} ${scaler.metadata.namespace}/${scaler.metadata.name}`;
  const contract = workloadContract(def);
  const req = contract.container.minimumRequests;
  const cpu = cpuMillis(req.cpu) + (pods.istio ? cpuMillis(containerBounds.istioProxy.minAllowed.cpu) : 0);
  const mem = memoryMiB(req.memory) + (pods.istio ? memoryMiB(containerBounds.istioProxy.minAllowed.memory) : 0);
  let min: number;
  let max: number;
  let u = defaultTargetUtilization;
  let behavior: HpaBehavior;
  let cooldownSeconds = 300;
  let cron: CronFloor | undefined;
  let metricDelaySeconds = replayConstants.metricDelaySeconds;
  if (scaler.kind === "HorizontalPodAutoscaler") {
    min = Number(spec.minReplicas ?? 1);
    max = Number(spec.maxReplicas);
    const cpuMetric = ((spec.metrics ?? []) as Json[]).find((m) => m.type === "Resource" && m.resource?.name === "cpu");
    if (cpuMetric) u = Number(cpuMetric.resource.target.averageUtilization) / 100;
    behavior = behaviorOf(spec.behavior, where);
  } else {
    min = Number(spec.minReplicaCount ?? 0);
    max = Number(spec.maxReplicaCount ?? 100);
    cooldownSeconds = Number(spec.cooldownPeriod ?? 300);
    behavior = behaviorOf(spec.advanced?.horizontalPodAutoscalerConfig?.behavior, where);
    const c = ((spec.triggers ?? []) as Json[]).find((t) => t.type === "cron");
    if (c) cron = { start: String(c.metadata.start), end: String(c.metadata.end), timezone: String(c.metadata.timezone), replicas: Number(c.metadata.desiredReplicas) };
    // KEDA 1 -> N: the scaler is read at the HPA's sync; only a Prometheus trigger adds a scrape.
    const loadTriggers = ((spec.triggers ?? []) as Json[]).map((t) => String(t.type)).filter((t) => t !== "cron");
    metricDelaySeconds = kedaScaleOutWorstCaseSeconds(loadTriggers) - hpaSyncPeriodSeconds;
  }
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max) fail(`${where}: replica range ${min}-${max} is not usable`);
  if (!(u > 0 && u <= 1)) fail(`${where}: CPU target ${u} must be in (0, 1]`);
  // Spot share per replica count: the spread over the rendered NodePools (one pool order, the
  // scheduler taking the contract's on-demand preference).
  const pod = contract.podSpec as unknown as Parameters<typeof poolsForPod>[1];
  const pools = poolsForPod(pods.nodePools, pod);
  const order = poolOrders(pools)[0] ?? [];
  const sim = simulateScaleUp(pools, order, pod, max, "preference");
  return {
    name: def.name,
    scaler: def.scaler,
    workloadClass: def.workloadClass,
    min,
    max,
    targetUtilization: u,
    behavior,
    metricDelaySeconds,
    cooldownSeconds,
    ...(cron ? { cron } : {}),
    requests: { cpuMillis: cpu, memoryMiB: mem },
    spotPods: sim.spotPods,
  };
}

function poolModel(np: KubernetesObject): PoolModel {
  const name = String(np.metadata.name);
  const spec = np.spec as Json;
  const tspec = spec.template?.spec ?? {};
  const requirements = (tspec.requirements ?? []) as NodeSelectorRequirement[];
  const types = requirements.find((r) => r.key === "node.kubernetes.io/instance-type" && r.operator === "In")?.values ?? [];
  if (types.length === 0) fail(`NodePool ${name}: no node.kubernetes.io/instance-type In requirement: the replay needs the instance types`);
  for (const t of types) {
    allocatable(t);
    onDemandHourly(t);
  }
  const cls = String(spec.template?.metadata?.labels?.["pyairtable.io/workload-class"] ?? (np.metadata.labels as Json | undefined)?.["pyairtable.io/workload-class"]);
  const budgets = (spec.disruption?.budgets ?? [{ nodes: "10%" }]) as Json[];
  const pct = /^(\d+)%$/.exec(String(budgets[0]?.nodes ?? "10%"));
  return {
    name,
    workloadClass: cls,
    capacityType: nodePoolCapacityType(requirements),
    instanceTypes: [...types],
    weight: Number(spec.weight ?? 0),
    maxNodes: Number(spec.limits?.nodes ?? Number.POSITIVE_INFINITY),
    consolidationPolicy: spec.disruption?.consolidationPolicy === "WhenEmpty" ? "WhenEmpty" : "WhenEmptyOrUnderutilized",
    consolidateAfterSeconds: durationSeconds(String(spec.disruption?.consolidateAfter ?? "0s")),
    budgetPercent: pct ? Number(pct[1]) : 10,
  };
}

/** Reads the replay's model of a planned stack (the offline plan's resources and settings). */
/**
 * `asOf`: the day the fixed items are priced on (the EKS control plane's support phase); the replay's
 * first day by default of the callers (scripts/replay.ts), else `$PYAIRTABLE_EVALUATION_DATE` or today.
 */
export function replayStackFromPlan(plan: { stack: string; settings: PlatformSettings; resources: readonly PlannedResource[] }, o: { asOf?: Date } = {}): ReplayStack {
  const objects = kubernetesObjects(plan.resources);
  const nodePools = objects.filter((o) => o.kind === "NodePool");
  if (nodePools.length === 0) fail(`stack ${plan.stack}: the plan has no Karpenter NodePool`);
  const istio = plan.settings.workloads.istioSidecars;
  const services = serviceNames.map((name) => {
    const scaler = objects.find((o) => (o.kind === "HorizontalPodAutoscaler" || o.kind === "ScaledObject") && o.metadata.name === name);
    if (!scaler) return fail(`stack ${plan.stack}: no HorizontalPodAutoscaler or ScaledObject named '${name}' in the plan`);
    return serviceModel(serviceByName(name), scaler, { nodePools: nodePools as Json[], istio });
  });
  const ng = plan.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
  if (!ng) fail(`stack ${plan.stack}: no system managed node group in the plan`);
  const ngTypes = (ng!.inputs.instanceTypes ?? []) as string[];
  const system = { instanceType: ngTypes[0] ?? fail("system node group: no instanceTypes"), nodes: Number((ng!.inputs.scalingConfig as Json | undefined)?.desiredSize) };
  const nodeClass = objects.find((o) => o.kind === "EC2NodeClass");
  const bdm = ((nodeClass?.spec as Json | undefined)?.blockDeviceMappings ?? []) as Json[];
  const rootVolumeGiB = bdm.length ? memoryMiB(String(bdm[0]!.ebs?.volumeSize ?? "20Gi")) / 1024 : 20;
  const cluster = plan.resources.find((r) => r.type === "aws:rds/cluster:Cluster");
  const scaling = cluster?.inputs.serverlessv2ScalingConfiguration as Json | undefined;
  if (!scaling) fail(`stack ${plan.stack}: no Aurora Serverless v2 cluster (serverlessv2ScalingConfiguration) in the plan`);
  const readers = plan.resources.filter((r) => r.type === "aws:rds/clusterInstance:ClusterInstance").length - 1;
  const rTarget = plan.resources.find((r) => r.type === "aws:appautoscaling/target:Target" && r.inputs.scalableDimension === "rds:cluster:ReadReplicaCount");
  const rPolicy = plan.resources.find((r) => r.type === "aws:appautoscaling/policy:Policy" && r.inputs.scalableDimension === "rds:cluster:ReadReplicaCount");
  const tt = rPolicy?.inputs.targetTrackingScalingPolicyConfiguration as Json | undefined;
  const aurora: AuroraModel = {
    minAcu: Number(scaling!.minCapacity),
    maxAcu: Number(scaling!.maxCapacity),
    readers: Math.max(0, readers),
    ...(rTarget && tt
      ? {
          readerScaling: {
            min: Number(rTarget.inputs.minCapacity),
            max: Number(rTarget.inputs.maxCapacity),
            targetCpuPercent: Number(tt.targetValue),
            scaleInCooldownSeconds: Number(tt.scaleInCooldown ?? 300),
            scaleOutCooldownSeconds: Number(tt.scaleOutCooldown ?? 300),
          },
        }
      : {}),
  };
  const estimate = estimateCost(plan.resources, defaultUsageAssumptions(plan.settings.environment), undefined, o.asOf ? { asOf: o.asOf } : {});
  // Nodes (all node lines and their root volumes) and the Aurora ACU lines are what the replay
  // prices itself; everything else is a fixed monthly item as the cost model prices it.
  const fixed = estimate.items.filter((i) => i.category !== "nodes-on-demand" && i.category !== "nodes-spot" && !(i.category === "aurora" && i.line === "ACU"));
  const karpenter = plan.resources.find((r) => r.type.startsWith("kubernetes:helm.sh/") && /karpenter$/.test(r.name) && !/crd/.test(r.name));
  const gates = ((karpenter?.inputs.values as Json | undefined)?.settings?.featureGates ?? {}) as Json;
  const s = plan.settings.schedules;
  return {
    stack: plan.stack,
    environment: plan.settings.environment,
    services,
    pools: nodePools.map(poolModel),
    system,
    rootVolumeGiB,
    aurora,
    fixed,
    calendar: { timezone: s.timezone, businessHours: s.businessHours, holidays: [...s.holidays] },
    spotToSpotConsolidation: gates.spotToSpotConsolidation === true,
    settings: plan.settings,
  };
}

/** gp3 root volume, USD per node-hour (the cost model's ebs.gp3.gbMonth price / 730 h). */
export function rootVolumeHourly(gib: number): number {
  return (gib * priceOf("ebs.gp3.gbMonth")) / 730;
}
