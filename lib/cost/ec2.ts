/**
 * EC2 facts per instance type (us-east-1), from the AWS data in `data/aws/` (sources in
 * data/aws/SOURCES.md):
 * - on-demand Linux $/hour: Karpenter's generated price table (from the AWS pricing API);
 * - spot: AWS Spot Instance Advisor's savings over on-demand (`s`, %, AWS's 30-day average) and its
 *   interruption-frequency band (`r`: 0 <5%, 1 5-10%, 2 10-15%, 3 15-20%, 4 >20% a month);
 *   spot $/hour = on-demand × (1 − s/100);
 * - allocatable cpu / memory / pods that Karpenter v1.14 computes for the type.
 *
 * Imported as modules (not read by path) so that a bundled policy pack carries them.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const onDemandFile = require("../../data/aws/ec2-on-demand-us-east-1.json") as { source: string; prices: Record<string, number> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const spotFile = require("../../data/aws/spot-advisor-us-east-1.json") as {
  source: string;
  ranges: { index: number; label: string; max: number }[];
  instanceTypes: Record<string, { s: number; r: number }>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const allocatableFile = require("../../data/aws/karpenter-instance-types-v1.14.json") as {
  source: string;
  instanceTypes: Record<string, { cpu: number; memoryMiB: number; allocatable: Record<string, string> }>;
};

export const ec2DataSources = { onDemand: onDemandFile.source, spotAdvisor: spotFile.source, allocatable: allocatableFile.source } as const;

/** A type the data does not know: named, with what is missing. */
export class UnknownInstanceTypeError extends Error {
  constructor(readonly instanceType: string, readonly what: string) {
    super(`instance type '${instanceType}': no ${what} in data/aws/ (see data/aws/SOURCES.md)`);
    this.name = "UnknownInstanceTypeError";
  }
}

export function hasOnDemandPrice(instanceType: string): boolean {
  return onDemandFile.prices[instanceType] !== undefined;
}

/** Linux on-demand USD per hour. */
export function onDemandHourly(instanceType: string): number {
  const p = onDemandFile.prices[instanceType];
  if (p === undefined) throw new UnknownInstanceTypeError(instanceType, "on-demand price");
  return p;
}

export interface InterruptionBand {
  /** AWS's band index, 0-4. */
  readonly index: number;
  /** AWS's label, e.g. "15-20%". */
  readonly label: string;
  /**
   * The monthly interruption frequency the model uses for the band: its midpoint (2.5%, 7.5%, 12.5%,
   * 17.5%); the open top band ">20%" is taken as 25% (an assumption: AWS gives no upper bound).
   */
  readonly monthlyRate: number;
}

const bandRates = [0.025, 0.075, 0.125, 0.175, 0.25] as const;

export function interruptionBand(index: number): InterruptionBand {
  const range = spotFile.ranges.find((r) => r.index === index);
  if (!range || bandRates[index] === undefined) throw new RangeError(`interruption band ${index}: must be 0-4 (AWS Spot Advisor ranges)`);
  return { index, label: range.label, monthlyRate: bandRates[index]! };
}

export interface SpotFacts {
  readonly instanceType: string;
  /** AWS Spot Advisor: savings over on-demand, percent. */
  readonly savingsPercent: number;
  readonly band: InterruptionBand;
  readonly onDemandHourly: number;
  /** on-demand × (1 − savings). */
  readonly spotHourly: number;
}

export function hasSpotFacts(instanceType: string): boolean {
  return spotFile.instanceTypes[instanceType] !== undefined && hasOnDemandPrice(instanceType);
}

export function spotFacts(instanceType: string): SpotFacts {
  const a = spotFile.instanceTypes[instanceType];
  if (!a) throw new UnknownInstanceTypeError(instanceType, "Spot Advisor entry");
  const od = onDemandHourly(instanceType);
  return { instanceType, savingsPercent: a.s, band: interruptionBand(a.r), onDemandHourly: od, spotHourly: od * (1 - a.s / 100) };
}

/** Every type the Spot Advisor lists (for choosing spot types from data). */
export function spotAdvisorTypes(): string[] {
  return Object.keys(spotFile.instanceTypes);
}

export interface Allocatable {
  readonly vcpu: number;
  readonly memoryMiB: number;
  /** Allocatable CPU, millicores. */
  readonly cpuMillis: number;
  /** Allocatable memory, MiB. */
  readonly allocatableMemoryMiB: number;
  readonly pods: number;
  /** Branch ENIs for security groups for pods (0 when the type has no trunk ENI). */
  readonly podEni: number;
}

/** Kubernetes quantity → millicores (cpu). */
export function cpuMillis(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q.trim());
  if (!m) throw new RangeError(`cpu quantity '${q}': expected e.g. 1930m or 2`);
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

const memoryUnits: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, k: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, "": 1 / 1048576 };

/** Kubernetes quantity → MiB (memory). */
export function memoryMiB(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|)$/.exec(q.trim());
  if (!m) throw new RangeError(`memory quantity '${q}': expected e.g. 6903Mi or 4Gi`);
  return Number(m[1]) * memoryUnits[m[2]!]!;
}

export function hasAllocatable(instanceType: string): boolean {
  return allocatableFile.instanceTypes[instanceType] !== undefined;
}

/** What Karpenter v1.14 can schedule onto one node of the type. */
export function allocatable(instanceType: string): Allocatable {
  const t = allocatableFile.instanceTypes[instanceType];
  if (!t) throw new UnknownInstanceTypeError(instanceType, "Karpenter v1.14 allocatable");
  return {
    vcpu: t.cpu,
    memoryMiB: t.memoryMiB,
    cpuMillis: cpuMillis(t.allocatable.cpu!),
    allocatableMemoryMiB: memoryMiB(t.allocatable.memory!),
    pods: Number(t.allocatable.pods),
    podEni: Number(t.allocatable["vpc.amazonaws.com/pod-eni"] ?? 0),
  };
}

/** Instance facts as listed by Karpenter's table (vCPU, memory, arch-relevant family). */
export function instanceTypeFacts(instanceType: string): { vcpu: number; memoryMiB: number; family: string } | undefined {
  const t = allocatableFile.instanceTypes[instanceType] as { cpu: number; memoryMiB: number; family?: string } | undefined;
  return t ? { vcpu: t.cpu, memoryMiB: t.memoryMiB, family: t.family ?? instanceType.split(".")[0]! } : undefined;
}
