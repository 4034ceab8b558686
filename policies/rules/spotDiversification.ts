import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import {
  known,
  nodeGroupCapacityType,
  nodeGroupName,
  nodePoolCapacityType,
  nodePoolName,
  nodePoolRequirements,
  nodePoolType,
  UNKNOWN,
  type NodeSelectorRequirement,
} from "../lib";

export interface SpotDiversificationConfig {
  /** Fewest instance types a spot pool or node group may draw from. */
  minInstanceTypes: number;
  /** Fewest availability zones a spot pool or node group may draw from. */
  minZones: number;
}

const instanceTypeLabel = "node.kubernetes.io/instance-type";
const zoneLabel = "topology.kubernetes.io/zone";
const instanceFamilyLabel = "karpenter.k8s.aws/instance-family";
const instanceSizeLabel = "karpenter.k8s.aws/instance-size";

/** Values every `In` requirement on `key` admits (their intersection), or undefined without one. */
function inValues(requirements: readonly NodeSelectorRequirement[], key: string): string[] | undefined {
  const ins = requirements.filter((r) => r.key === key && r.operator === "In");
  if (ins.length === 0) return undefined;
  let values = [...new Set(ins[0]!.values ?? [])];
  for (const r of ins.slice(1)) values = values.filter((v) => (r.values ?? []).includes(v));
  const excluded = requirements.filter((r) => r.key === key && r.operator === "NotIn").flatMap((r) => r.values ?? []);
  return values.filter((v) => !excluded.includes(v));
}

/**
 * How many instance types a NodePool may use, or undefined when the manifest does not bound it.
 * An explicit `node.kubernetes.io/instance-type In` list is counted. Without one, the pool selects
 * types by family / category / generation / size / CPU requirements (or by none): each of those
 * matches many EC2 types (one family comes in many sizes, one size in many families), and the exact
 * number depends on the EC2 catalog, which the manifest does not hold, so the pool counts as
 * diversified. The exception is a family list combined with a size list: that allows at most
 * families x sizes types, which is checked.
 */
function instanceTypeCount(requirements: readonly NodeSelectorRequirement[]): { count: number; how: string } | undefined {
  const types = inValues(requirements, instanceTypeLabel);
  if (types !== undefined) return { count: types.length, how: `${instanceTypeLabel} In [${types.join(", ")}]` };
  const families = inValues(requirements, instanceFamilyLabel);
  const sizes = inValues(requirements, instanceSizeLabel);
  if (families !== undefined && sizes !== undefined) {
    return { count: families.length * sizes.length, how: `at most ${families.length} families x ${sizes.length} sizes` };
  }
  return undefined;
}

/**
 * Spot capacity is diversified: every spot NodePool and every SPOT managed node group may use at
 * least `minInstanceTypes` instance types in at least `minZones` availability zones, so one spot
 * pool's interruption or shortage never takes the class down.
 */
export const spotDiversification: ResourceValidationPolicy = {
  name: "spot-diversification",
  description: "Spot NodePools and SPOT managed node groups draw from enough instance types and availability zones.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "List more instance types (`autoscaling:cluster.spotInstanceTypes`, or `systemNodeGroup.instanceTypes` for a SPOT system node group) and keep the pools and node groups in at least two availability zones (`autoscaling:network.availabilityZones`) in the stack file.",
  configSchema: {
    properties: {
      minInstanceTypes: { type: "integer", minimum: 1, default: 3 },
      minZones: { type: "integer", minimum: 1, default: 2 },
    },
  },
  validateResource: [
    (args, reportViolation) => {
      if (args.type !== nodePoolType) return; // a CustomResource: no typed class
      const { minInstanceTypes, minZones } = args.getConfig<SpotDiversificationConfig>();
      const requirements = nodePoolRequirements(args.props);
      if (requirements === UNKNOWN || nodePoolCapacityType(requirements) !== "spot") return;
      const what = `NodePool ${nodePoolName(args.props, args.name)}`;
      const types = instanceTypeCount(requirements);
      if (types !== undefined && types.count < minInstanceTypes) {
        reportViolation(`${what}: spot capacity over ${types.count} instance type(s) (${types.how}), fewer than the minimum of ${minInstanceTypes}`);
      }
      // Without a zone requirement the pool may use every zone of its EC2NodeClass's subnets.
      const zones = inValues(requirements, zoneLabel);
      if (zones !== undefined && zones.length < minZones) {
        reportViolation(`${what}: spot capacity in ${zones.length} availability zone(s) (${zoneLabel} In [${zones.join(", ")}]), fewer than the minimum of ${minZones}`);
      }
    },
    validateResourceOfType(aws.eks.NodeGroup, (group, args, reportViolation) => {
      if (nodeGroupCapacityType(args.props) !== "spot") return;
      const { minInstanceTypes, minZones } = args.getConfig<SpotDiversificationConfig>();
      const what = `node group ${nodeGroupName(args.props, args.name)}`;
      const types = known(() => group.instanceTypes as unknown);
      if (types !== UNKNOWN) {
        // EKS defaults to a single type (t3.medium) when none is listed.
        const list = [...new Set(Array.isArray(types) ? (types as string[]) : [])];
        const count = list.length > 0 ? list.length : 1;
        if (count < minInstanceTypes) {
          reportViolation(`${what}: SPOT capacity over ${count} instance type(s) (${list.length > 0 ? list.join(", ") : "none listed: EKS uses t3.medium"}), fewer than the minimum of ${minInstanceTypes}`);
        }
      }
      // Subnets stand for zones: the stack places one private subnet per AZ.
      const subnets = known(() => group.subnetIds as unknown);
      if (subnets !== UNKNOWN && Array.isArray(subnets) && new Set(subnets).size < minZones) {
        reportViolation(`${what}: SPOT capacity in ${new Set(subnets).size} subnet(s), fewer than the minimum of ${minZones} availability zones`);
      }
    }),
  ],
};
