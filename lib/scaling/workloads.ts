/**
 * The scaling objects of one catalog service, as plain Kubernetes manifests: an HPA (autoscaling/v2)
 * or a KEDA ScaledObject, a VPA that never fights it, and a PodDisruptionBudget. Pure functions:
 * the WorkloadScaling component turns them into resources; tests and the policy pack read them.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  eventSignalTypes,
  hpaSignalTypes,
  resourceSignalTypes,
  type ServiceDefinition,
  type Signal,
} from "../catalog/services";
import { customMetricNames, prometheusUrl, triggerAuthentications } from "../catalog/cluster";
import type { ScheduleSettings, WorkloadSettings } from "../config/settings";
import {
  kedaCooldownPeriodSeconds,
  kedaFallbackFailureThreshold,
  kedaFallbackReplicas,
  kedaPollingIntervalSeconds,
  scalingBehavior,
} from "./responseTime";

export interface ReplicaRange {
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/** Where the event sources are; values may be Pulumi outputs (endpoints known after creation). */
export interface EventSources {
  readonly redis: { readonly mode: "cluster" | "single-node"; readonly address: pulumi.Input<string> };
  readonly kafka: { readonly bootstrapServers: pulumi.Input<string> };
  /** URL of an SQS queue by name. */
  readonly sqsQueueUrl: (queueName: string) => pulumi.Input<string>;
  readonly awsRegion: pulumi.Input<string>;
}

export interface ScalingContext {
  readonly environment: "prod" | "dev";
  readonly range: ReplicaRange;
  readonly schedules: ScheduleSettings;
  readonly workloads: WorkloadSettings;
  readonly sources: EventSources;
}

/** An error about one service's scaling definition: names the service and the field. */
export class ScalingDefinitionError extends Error {}

const fail = (service: string, field: string, message: string): never => {
  throw new ScalingDefinitionError(`service '${service}': ${field}: ${message}`);
};

/**
 * Checks a catalog entry and its replica range before anything is built: min <= max, signal types the
 * scaler supports, no CPU/memory triggers on KEDA (its fallback rejects them), scale-to-zero only
 * with an event signal that can wake the service.
 */
export function validateServiceScaling(service: ServiceDefinition, range: ReplicaRange): void {
  const { name } = service;
  if (!Number.isInteger(range.minReplicas) || range.minReplicas < 0) fail(name, "minReplicas", `${range.minReplicas} must be a whole number >= 0`);
  if (!Number.isInteger(range.maxReplicas) || range.maxReplicas < 1) fail(name, "maxReplicas", `${range.maxReplicas} must be a whole number >= 1`);
  if (range.minReplicas > range.maxReplicas) fail(name, "minReplicas", `${range.minReplicas} must not exceed maxReplicas (${range.maxReplicas})`);
  if (service.signals.length === 0) fail(name, "signals", "at least one signal is required");
  const known = [...hpaSignalTypes, ...eventSignalTypes];
  service.signals.forEach((signal, i) => {
    if (!known.includes(signal.type)) fail(name, `signals[${i}].type`, `'${signal.type}' is not a known signal type (known: ${known.join(", ")})`);
    const allowed = service.scaler === "hpa" ? hpaSignalTypes : eventSignalTypes;
    if (!allowed.includes(signal.type)) {
      fail(name, `signals[${i}].type`, service.scaler === "hpa"
        ? `'${signal.type}' needs an event scaler: use scaler 'keda' (HPA signals: ${hpaSignalTypes.join(", ")})`
        : `'${signal.type}' is not allowed on a KEDA ScaledObject (KEDA fallback does not support CPU/memory triggers; allowed: ${eventSignalTypes.join(", ")})`);
    }
    const targets = Object.entries(signal).filter(([k]) => k !== "type" && typeof (signal as Record<string, unknown>)[k] === "number");
    for (const [k, v] of targets) if (!((v as number) > 0)) fail(name, `signals[${i}].${k}`, `${v} must be greater than 0`);
  });
  if (range.minReplicas === 0) {
    if (service.scaler !== "keda" || !service.signals.some((s) => eventSignalTypes.includes(s.type))) {
      fail(name, "minReplicas", `0 (scale to zero) needs an event signal that can wake the service; it has only ${service.signals.map((s) => s.type).join(", ")}`);
    }
  }
}

/** Resources (cpu, memory) the horizontal scaler scales on; a VPA must not act on them. */
export function horizontallyScaledResources(service: ServiceDefinition): ("cpu" | "memory")[] {
  return service.signals.filter((s) => resourceSignalTypes.includes(s.type)).map((s) => s.type as "cpu" | "memory");
}

/** Replicas held during business hours: `businessHoursFloorPercent` of the maximum, at least the minimum. */
export function businessHoursFloor(range: ReplicaRange, workloads: WorkloadSettings): number {
  if (workloads.businessHoursFloorPercent === 0) return range.minReplicas;
  return Math.min(range.maxReplicas, Math.max(range.minReplicas, Math.ceil((range.maxReplicas * workloads.businessHoursFloorPercent) / 100)));
}

/**
 * The replica floor outside business hours. Non-production stacks with `scaleToZeroOffHours` let
 * event-driven services sleep at night and at weekends; business hours restore their minimum.
 */
export function offHoursMinimum(service: ServiceDefinition, ctx: Pick<ScalingContext, "range" | "schedules">): number {
  const canWake = service.scaler === "keda" && service.signals.some((s) => eventSignalTypes.includes(s.type));
  return ctx.schedules.scaleToZeroOffHours && canWake ? 0 : ctx.range.minReplicas;
}

const labelsFor = (service: ServiceDefinition) => ({
  "app.kubernetes.io/name": service.name,
  "app.kubernetes.io/part-of": "pyairtable",
  "app.kubernetes.io/managed-by": "pulumi",
  "pyairtable.io/workload-class": service.workloadClass,
});

const deploymentRef = (service: ServiceDefinition) => ({ apiVersion: "apps/v1", kind: "Deployment", name: service.name });

function hpaMetric(signal: Signal) {
  switch (signal.type) {
    case "cpu":
    case "memory":
      return { type: "Resource", resource: { name: signal.type, target: { type: "Utilization", averageUtilization: signal.targetUtilizationPercent } } };
    case "requestsPerSecond":
      return { type: "Pods", pods: { metric: { name: customMetricNames.requestsPerSecond }, target: { type: "AverageValue", averageValue: String(signal.targetPerPod) } } };
    case "latencyP95":
      // Quantity in seconds: 500 ms = "500m".
      return { type: "Pods", pods: { metric: { name: customMetricNames.latencyP95 }, target: { type: "AverageValue", averageValue: `${signal.targetMilliseconds}m` } } };
    case "dbConnections":
      return { type: "Pods", pods: { metric: { name: customMetricNames.dbConnections }, target: { type: "AverageValue", averageValue: String(signal.targetPerPod) } } };
    default:
      throw new ScalingDefinitionError(`signal type '${signal.type}' has no HPA metric`);
  }
}

/** The HPA (autoscaling/v2) of an HPA-scaled service. */
export function buildHpa(service: ServiceDefinition, ctx: ScalingContext) {
  validateServiceScaling(service, ctx.range);
  if (service.scaler !== "hpa") throw new ScalingDefinitionError(`service '${service.name}': scaler: is '${service.scaler}', not 'hpa'`);
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: service.name, namespace: service.namespace, labels: labelsFor(service) },
    spec: {
      scaleTargetRef: deploymentRef(service),
      minReplicas: ctx.range.minReplicas,
      maxReplicas: ctx.range.maxReplicas,
      metrics: service.signals.map(hpaMetric),
      behavior: structuredClone(scalingBehavior) as unknown as Record<string, unknown>,
    },
  };
}

function kedaTrigger(service: ServiceDefinition, signal: Signal, sources: EventSources) {
  // AverageValue everywhere: the target is per replica, and KEDA's fallback requires it.
  const base = { metricType: "AverageValue" };
  switch (signal.type) {
    case "redisList": {
      const cluster = sources.redis.mode === "cluster";
      return {
        ...base,
        type: cluster ? "redis-cluster" : "redis",
        name: `redis-${signal.listName.replace(/[^a-z0-9]+/gi, "-")}`,
        metadata: {
          ...(cluster ? { addresses: sources.redis.address } : { address: sources.redis.address }),
          listName: signal.listName,
          listLength: String(signal.targetPerReplica),
        },
        authenticationRef: { name: triggerAuthentications.redis, kind: "ClusterTriggerAuthentication" },
      };
    }
    case "kafkaLag":
      return {
        ...base,
        type: "kafka",
        name: `kafka-${signal.topic}`,
        metadata: {
          bootstrapServers: sources.kafka.bootstrapServers,
          consumerGroup: signal.consumerGroup,
          topic: signal.topic,
          lagThreshold: String(signal.lagPerReplica),
          awsRegion: sources.awsRegion,
        },
        authenticationRef: { name: triggerAuthentications.kafka, kind: "ClusterTriggerAuthentication" },
      };
    case "sqsQueue":
      return {
        ...base,
        type: "aws-sqs-queue",
        name: `sqs-${signal.queueName}`,
        metadata: { queueURL: sources.sqsQueueUrl(signal.queueName), queueLength: String(signal.targetPerReplica), awsRegion: sources.awsRegion },
        authenticationRef: { name: triggerAuthentications.aws, kind: "ClusterTriggerAuthentication" },
      };
    case "prometheus":
      return {
        ...base,
        type: "prometheus",
        name: `prometheus-${signal.metricName.replace(/_/g, "-")}`,
        metadata: { serverAddress: prometheusUrl, query: signal.query, threshold: String(signal.threshold) },
      };
    default:
      throw new ScalingDefinitionError(`service '${service.name}': signal type '${signal.type}' has no KEDA trigger`);
  }
}

const cronDay: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** Cron day-of-week field for the business days, e.g. `1,2,3,4,5`. */
export function cronDays(days: readonly string[]): string {
  return [...new Set(days.map((d) => cronDay[d]!))].sort((a, b) => a - b).join(",");
}

/** The KEDA cron trigger holding the business-hours floor, or undefined when there is none to hold. */
export function businessHoursTrigger(service: ServiceDefinition, ctx: ScalingContext) {
  const floor = businessHoursFloor(ctx.range, ctx.workloads);
  if (floor <= offHoursMinimum(service, ctx)) return undefined;
  const bh = ctx.schedules.businessHours;
  const [startH, startM] = bh.start.split(":").map(Number);
  const [endH, endM] = bh.end.split(":").map(Number);
  const days = cronDays(bh.days);
  return {
    type: "cron",
    name: "business-hours",
    metricType: "AverageValue",
    metadata: {
      timezone: ctx.schedules.timezone,
      start: `${startM} ${startH} * * ${days}`,
      end: `${endM} ${endH} * * ${days}`,
      desiredReplicas: String(floor),
    },
  };
}

/** The KEDA ScaledObject of an event-driven service. */
export function buildScaledObject(service: ServiceDefinition, ctx: ScalingContext) {
  validateServiceScaling(service, ctx.range);
  if (service.scaler !== "keda") throw new ScalingDefinitionError(`service '${service.name}': scaler: is '${service.scaler}', not 'keda'`);
  const minimum = offHoursMinimum(service, ctx);
  const cron = businessHoursTrigger(service, ctx);
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: service.name, namespace: service.namespace, labels: labelsFor(service) },
    spec: {
      scaleTargetRef: deploymentRef(service),
      pollingInterval: kedaPollingIntervalSeconds,
      cooldownPeriod: kedaCooldownPeriodSeconds,
      minReplicaCount: minimum,
      maxReplicaCount: ctx.range.maxReplicas,
      fallback: { failureThreshold: kedaFallbackFailureThreshold, replicas: kedaFallbackReplicas(ctx.range.minReplicas, ctx.range.maxReplicas) },
      advanced: {
        horizontalPodAutoscalerConfig: {
          name: `keda-hpa-${service.name}`,
          behavior: structuredClone(scalingBehavior) as unknown as Record<string, unknown>,
        },
      },
      triggers: [...service.signals.map((s) => kedaTrigger(service, s, ctx.sources)), ...(cron ? [cron] : [])],
    },
  };
}

/** Right-sizing bounds per container kind (requests), from the class's node sizes. */
export const containerBounds = {
  api: { minAllowed: { cpu: "100m", memory: "128Mi" }, maxAllowed: { cpu: "2", memory: "4Gi" } },
  batch: { minAllowed: { cpu: "100m", memory: "256Mi" }, maxAllowed: { cpu: "4", memory: "8Gi" } },
  data: { minAllowed: { cpu: "100m", memory: "128Mi" }, maxAllowed: { cpu: "2", memory: "2Gi" } },
  istioProxy: { minAllowed: { cpu: "50m", memory: "64Mi" }, maxAllowed: { cpu: "1", memory: "1Gi" } },
} as const;

/**
 * The VPA of a service. It never acts on a resource the horizontal scaler uses: if the scaler uses
 * CPU or memory, the VPA acts only on the other; if it uses both, the VPA only recommends
 * (`updateMode: "Off"`), which still feeds the waste dashboards and alerts.
 */
export function buildVpa(service: ServiceDefinition, ctx: Pick<ScalingContext, "workloads">) {
  const scaled = horizontallyScaledResources(service);
  const free = (["cpu", "memory"] as const).filter((r) => !scaled.includes(r));
  const recommendOnly = free.length === 0;
  const controlledResources = recommendOnly ? ["cpu", "memory"] : [...free];
  const policy = (containerName: string, bounds: (typeof containerBounds)[keyof typeof containerBounds]) => ({
    containerName,
    mode: "Auto",
    controlledResources,
    // Limits follow requests proportionally, so QoS class and headroom stay as the team set them.
    controlledValues: "RequestsAndLimits",
    minAllowed: { ...bounds.minAllowed },
    maxAllowed: { ...bounds.maxAllowed },
  });
  return {
    apiVersion: "autoscaling.k8s.io/v1",
    kind: "VerticalPodAutoscaler",
    metadata: { name: service.name, namespace: service.namespace, labels: labelsFor(service) },
    spec: {
      targetRef: deploymentRef(service),
      // In place where the kubelet can resize, else by eviction (respecting the PDB).
      updatePolicy: { updateMode: recommendOnly ? "Off" : "InPlaceOrRecreate" },
      resourcePolicy: {
        containerPolicies: [
          policy(service.container, containerBounds[service.workloadClass]),
          ...(ctx.workloads.istioSidecars ? [policy("istio-proxy", containerBounds.istioProxy)] : []),
        ],
      },
    },
  };
}

/** The PDB: at most one pod of the service down at a time for voluntary disruptions (drains, consolidation). */
export function buildPdb(service: ServiceDefinition) {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: service.name, namespace: service.namespace, labels: labelsFor(service) },
    spec: {
      // maxUnavailable, not minAvailable: a 1-replica service must still let Karpenter drain its node.
      maxUnavailable: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": service.name } },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

/** All scaling objects of one service. */
export function scalingObjectsFor(service: ServiceDefinition, ctx: ScalingContext) {
  return {
    scaler: service.scaler === "hpa" ? buildHpa(service, ctx) : buildScaledObject(service, ctx),
    vpa: buildVpa(service, ctx),
    pdb: buildPdb(service),
  };
}
