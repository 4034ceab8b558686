/** Small synthetic stacks for the replay engine's tests: one HPA service of the api class. */
import type { ReplayStack, ServiceModel } from "../../../automation/replay/stack";
import type { HpaBehavior } from "../../../automation/backtest/hpa";
import { scalingBehavior } from "../../../lib/scaling/responseTime";

export interface TinyStackOptions {
  readonly max: number;
  readonly min?: number;
  readonly types?: readonly string[];
  /** All pods on a spot pool (an on-demand pool exists beside it). */
  readonly spot?: boolean;
  readonly maxNodes?: number;
}

export function tinyStack(o: TinyStackOptions): ReplayStack {
  const service: ServiceModel = {
    name: "svc",
    scaler: "hpa",
    workloadClass: "api",
    min: o.min ?? 1,
    max: o.max,
    targetUtilization: 0.7,
    behavior: scalingBehavior as unknown as HpaBehavior,
    metricDelaySeconds: 30,
    cooldownSeconds: 300,
    requests: { cpuMillis: 150, memoryMiB: 192 },
    spotPods: Array.from({ length: o.max + 1 }, (_, n) => (o.spot ? n : 0)),
  };
  const pool = (capacityType: "spot" | "on-demand") => ({
    name: `api-${capacityType}`,
    workloadClass: "api",
    capacityType,
    instanceTypes: [...(o.types ?? ["m5.large"])],
    weight: 0,
    maxNodes: o.maxNodes ?? 10,
    consolidationPolicy: "WhenEmptyOrUnderutilized" as const,
    consolidateAfterSeconds: 60,
    budgetPercent: 10,
  });
  return {
    stack: "tiny",
    environment: "prod",
    services: [service],
    pools: o.spot ? [pool("spot"), pool("on-demand")] : [pool("on-demand")],
    system: { instanceType: "m5.large", nodes: 0 },
    rootVolumeGiB: 50,
    aurora: { minAcu: 0.5, maxAcu: 1, readers: 0 },
    fixed: [],
    calendar: { timezone: "UTC", businessHours: { start: "08:00", end: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] }, holidays: [] },
    spotToSpotConsolidation: false,
    settings: { cluster: { systemNodeGroup: { diskSizeGiB: 50 } } } as unknown as ReplayStack["settings"],
  };
}
