import type { ResourceValidationPolicy } from "@pulumi/policy";
import { hasSpotFacts, spotFacts } from "../../lib/cost/ec2";
import { nodePoolCapacityType, nodePoolName, nodePoolRequirements, nodePoolType, UNKNOWN } from "../lib";

export interface SpotInterruptionBandConfig {
  /** Highest weighted monthly interruption frequency a spot NodePool may expect, percent (AWS Spot Advisor bands). */
  maxMonthlyInterruptionPercent: number;
}

const instanceTypeLabel = "node.kubernetes.io/instance-type";

/**
 * A spot NodePool's weighted interruption band: the mean of its instance types' monthly interruption
 * frequencies (AWS Spot Instance Advisor, us-east-1, data/aws/spot-advisor-us-east-1.json; each band
 * taken at its midpoint: <5% → 2.5%, 5-10% → 7.5%, 10-15% → 12.5%, 15-20% → 17.5%, >20% → 25%),
 * every listed type weighted equally (price-capacity-optimized may launch any of them; no capacity
 * data says which more often). Advisory: the replay (`npm run replay`) shows what the band costs in
 * evicted pods; the team decides.
 */
export function weightedInterruption(types: readonly string[]): { percent: number; known: string[]; unknown: string[]; worst: string[] } {
  const known = types.filter(hasSpotFacts);
  const unknown = types.filter((t) => !hasSpotFacts(t));
  const rates = known.map((t) => spotFacts(t).band.monthlyRate);
  const percent = rates.length ? (rates.reduce((a, b) => a + b, 0) / rates.length) * 100 : Number.NaN;
  const worst = known.filter((t) => spotFacts(t).band.index >= 3).map((t) => `${t} (${spotFacts(t).band.label})`);
  return { percent, known, unknown, worst };
}

/**
 * Spot NodePools draw from instance types AWS rarely interrupts: the pool's weighted monthly
 * interruption frequency stays at or below `maxMonthlyInterruptionPercent` (default 10%).
 */
export const spotInterruptionBand: ResourceValidationPolicy = {
  name: "spot-interruption-band",
  description: "Spot NodePools list instance types whose weighted AWS Spot Advisor interruption frequency stays within the limit.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "Replace the types with the highest interruption bands in `autoscaling:cluster.spotInstanceTypes` by types in lower bands (AWS Spot Instance Advisor; README \"Spot instance types\" lists how the stack's were chosen), and run `npm run replay` to see the evictions before and after.",
  configSchema: {
    properties: {
      maxMonthlyInterruptionPercent: { type: "number", minimum: 0, maximum: 100, default: 10 },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== nodePoolType) return; // a CustomResource: no typed class
    const { maxMonthlyInterruptionPercent } = args.getConfig<SpotInterruptionBandConfig>();
    const requirements = nodePoolRequirements(args.props);
    if (requirements === UNKNOWN || nodePoolCapacityType(requirements) !== "spot") return;
    const list = requirements.find((r) => r.key === instanceTypeLabel && r.operator === "In")?.values;
    if (!list || list.length === 0) return; // selected by family/size: the types are not in the manifest
    const what = `NodePool ${nodePoolName(args.props, args.name)}`;
    const w = weightedInterruption(list);
    if (w.unknown.length) reportViolation(`${what}: ${w.unknown.join(", ")} not in AWS Spot Advisor's us-east-1 data: interruption frequency unknown`);
    if (w.known.length && w.percent > maxMonthlyInterruptionPercent) {
      reportViolation(
        `${what}: weighted spot interruption frequency ${w.percent.toFixed(1)}% a month over ${w.known.length} type(s), above ${maxMonthlyInterruptionPercent}%` +
          (w.worst.length ? `; highest bands: ${w.worst.join(", ")}` : ""),
      );
    }
  },
};
