/**
 * The automation service's remit: the resources and properties its updates may change (replica
 * ranges, node floors and ceilings, Aurora ACU and reader scaling, cache shards, MSK brokers,
 * OpenSearch data nodes: the `overridableKeys` of automation/overrides.ts), nothing else.
 *
 * One table, read by three consumers:
 * - the service's runner refuses, before any `up`, a preview whose steps leave it (remitViolations):
 *   a create, delete or replace anywhere, or an update of another type or property;
 * - the deploy role's IAM policy (components/automationDeployRole.ts) allows writes only for these
 *   types (`iamWrite`), reads for every type of the program;
 * - its Kubernetes RBAC (same component) may patch only these kinds (`k8s`).
 */

export interface RemitEntry {
  /** Pulumi resource type token. */
  readonly type: string;
  /** Property paths (top-level input, or `a.b` inside it) an update may change; a prefix covers what is below it. */
  readonly properties: readonly string[];
  /** The overridable keys that lead here (documentation and the tests). */
  readonly from: string;
  /** IAM actions the provider's update of those properties calls. */
  readonly iamWrite: readonly string[];
  /** Kubernetes API group and resource the update patches. */
  readonly k8s?: { readonly group: string; readonly resource: string };
}

export const automationRemit: readonly RemitEntry[] = [
  { type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", properties: ["spec.minReplicas", "spec.maxReplicas"], from: "services.<name>.minReplicas/maxReplicas", iamWrite: [], k8s: { group: "autoscaling", resource: "horizontalpodautoscalers" } },
  { type: "kubernetes:keda.sh/v1alpha1:ScaledObject", properties: ["spec.minReplicaCount", "spec.maxReplicaCount", "spec.fallback.replicas", "spec.triggers", "spec.advanced"], from: "services.<name>.minReplicas/maxReplicas (fallback replicas follow them), workloads.businessHoursFloorPercent", iamWrite: [], k8s: { group: "keda.sh", resource: "scaledobjects" } },
  { type: "kubernetes:karpenter.sh/v1:NodePool", properties: ["spec.limits"], from: "cluster.workloadClasses.<class>.maxNodes", iamWrite: [], k8s: { group: "karpenter.sh", resource: "nodepools" } },
  { type: "aws:eks/nodeGroup:NodeGroup", properties: ["scalingConfig"], from: "cluster.systemNodeGroup.minSize/desiredSize/maxSize", iamWrite: ["eks:UpdateNodegroupConfig"] },
  { type: "aws:rds/cluster:Cluster", properties: ["serverlessv2ScalingConfiguration"], from: "database.minAcu/maxAcu", iamWrite: ["rds:ModifyDBCluster"] },
  { type: "aws:appautoscaling/target:Target", properties: ["minCapacity", "maxCapacity"], from: "database.readReplicaScaling.*, cache.minShards/maxShards", iamWrite: ["application-autoscaling:RegisterScalableTarget"] },
  { type: "aws:msk/cluster:Cluster", properties: ["numberOfBrokerNodes"], from: "streaming.brokers", iamWrite: ["kafka:UpdateBrokerCount"] },
  { type: "aws:opensearch/domain:Domain", properties: ["clusterConfig.instanceCount"], from: "search.dataNodes", iamWrite: ["es:UpdateDomainConfig"] },
];

/** One step of a preview (the engine's resourcePreEvent metadata). */
export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  /** Top-level properties that differ. */
  readonly diffs?: readonly string[];
  /** Property paths that differ (providers that report a detailed diff). */
  readonly detailedDiff?: Readonly<Record<string, unknown>>;
}

/** Operations that never change anything. */
const harmlessOps = new Set(["same", "read", "refresh"]);

/** `spec.minReplicas` or `spec.minReplicas[0]` is covered by `spec.minReplicas`; `spec` is not covered by `spec.minReplicas`. */
function covered(property: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => property === a || property.startsWith(`${a}.`) || property.startsWith(`${a}[`));
}

/** Why the steps leave the remit (empty: they stay inside it). */
export function remitViolations(steps: readonly PreviewStep[], remit: readonly RemitEntry[] = automationRemit): string[] {
  const out: string[] = [];
  for (const s of steps) {
    if (harmlessOps.has(s.op)) continue;
    if (s.type === "pulumi:pulumi:Stack" || s.type.startsWith("pulumi:providers:")) {
      if (s.op === "update" && s.type === "pulumi:pulumi:Stack") continue; // stack outputs
      if (s.op === "update") {
        out.push(`${s.urn}: update of a provider (${(s.diffs ?? []).join(", ") || "unknown properties"}) is outside the automation's remit`);
        continue;
      }
    }
    if (s.op !== "update") {
      out.push(`${s.urn}: ${s.op} is outside the automation's remit (it only updates capacity settings in place)`);
      continue;
    }
    const entry = remit.find((e) => e.type === s.type);
    if (!entry) {
      out.push(`${s.urn}: update of a ${s.type} is outside the automation's remit`);
      continue;
    }
    const detailed = Object.keys(s.detailedDiff ?? {});
    const properties = detailed.length > 0 ? detailed : [...(s.diffs ?? [])];
    if (properties.length === 0) {
      out.push(`${s.urn}: update without a property diff cannot be checked against the remit`);
      continue;
    }
    const outside = properties.filter((p) => !covered(p, entry.properties));
    if (outside.length > 0) out.push(`${s.urn}: update of ${outside.join(", ")} is outside the automation's remit (${entry.type}: ${entry.properties.join(", ")})`);
  }
  return out;
}
