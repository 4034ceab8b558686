/**
 * What a plan means to a person: resources grouped by component and type, and the capacity
 * figures read back from the planned resources' inputs (not from the settings), so the summary shows
 * what would actually be deployed.
 */
import type { PlannedResource } from "./mockRuntime";

export interface ComponentSummary {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly resourceCount: number;
  readonly byType: Record<string, number>;
}

/** What one registration is, for counting: the stack, a component (local or remote), a provider or a resource. */
export type RegistrationKind = "stack" | "component" | "provider" | "resource";

export function registrationKind(r: Pick<PlannedResource, "type" | "custom">): RegistrationKind {
  if (r.type === "pulumi:pulumi:Stack") return "stack";
  if (r.type.startsWith("pulumi:providers:")) return "provider";
  return r.custom ? "resource" : "component";
}

/**
 * THE resource count of a plan, used by every output (plan text and Markdown, `--json`, `--input`,
 * the bench, the README): every registration, as `pulumi preview` counts them ("N to create"), i.e.
 * the stack, the components (local `pyairtable:*` ones and remote ones such as the EKS cluster,
 * which registers once and whose children the provider creates), the providers and the custom
 * resources, with that split.
 */
export interface ResourceCount {
  readonly total: number;
  readonly components: number;
  readonly providers: number;
  /** Custom (cloud and Kubernetes) resources: what the providers create. */
  readonly custom: number;
  /** Components that register no children in the plan (remote components: the EKS cluster, Helm v4 charts). */
  readonly remoteComponents: number;
  /** 1 when the stack resource itself is in the plan (always, for plans this program writes). */
  readonly stack: number;
}

export function resourceCount(resources: readonly Pick<PlannedResource, "type" | "custom" | "parent" | "urn">[]): ResourceCount {
  const kinds = resources.map(registrationKind);
  const parents = new Set(resources.map((r) => r.parent));
  const n = (k: RegistrationKind) => kinds.filter((x) => x === k).length;
  return {
    total: resources.length,
    components: n("component"),
    providers: n("provider"),
    custom: n("resource"),
    remoteComponents: resources.filter((r, i) => kinds[i] === "component" && !parents.has(r.urn)).length,
    stack: n("stack"),
  };
}

/** `287 resources: 16 components (1 remote), 1 provider, 269 cloud and Kubernetes resources, and the stack`. */
export function formatResourceCount(c: ResourceCount): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(c.total, "resource")}: ${plural(c.components, "component")}${c.remoteComponents ? ` (${c.remoteComponents} remote)` : ""}, ${plural(c.providers, "provider")}, ${c.custom} cloud and Kubernetes resources${c.stack ? " and the stack" : ""}`;
}

/**
 * Groups custom resources under their nearest component ancestor. Components with no children of
 * their own in the plan (remote components such as the EKS cluster) are listed with a count of 0.
 */
export function resourcesByComponent(resources: readonly PlannedResource[]): ComponentSummary[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const groups = new Map<string, Record<string, number>>();
  for (const r of resources) {
    if (!r.custom || r.type.startsWith("pulumi:providers:")) continue;
    let owner = byUrn.get(r.parent);
    while (owner && owner.custom) owner = byUrn.get(owner.parent);
    const key = owner?.urn ?? r.parent;
    const counts = groups.get(key) ?? {};
    counts[r.type] = (counts[r.type] ?? 0) + 1;
    groups.set(key, counts);
  }
  const parents = new Set(resources.map((r) => r.parent));
  for (const r of resources) {
    if (registrationKind(r) === "component" && !parents.has(r.urn) && !groups.has(r.urn)) groups.set(r.urn, {});
  }
  return [...groups].map(([urn, byType]) => {
    const owner = byUrn.get(urn);
    return {
      urn,
      type: owner?.type ?? "pulumi:pulumi:Stack",
      name: owner?.name ?? urn.split("::").pop()!,
      resourceCount: Object.values(byType).reduce((a, b) => a + b, 0),
      byType,
    };
  }).sort((a, b) => a.urn.localeCompare(b.urn));
}

export interface CapacityFigure {
  readonly area: string;
  readonly figure: string;
  readonly value: string;
}

type Inputs = Record<string, any>;
const ofType = (resources: readonly PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const range = (min: unknown, max: unknown) => `${min}-${max}`;

/** Key capacity figures of the plan, read from resource inputs. */
export function capacityFigures(resources: readonly PlannedResource[]): CapacityFigure[] {
  const out: CapacityFigure[] = [];
  const add = (area: string, figure: string, value: unknown) => out.push({ area, figure, value: String(value) });
  const scalingTarget = (dimension: string) => ofType(resources, "aws:appautoscaling/target:Target").find((t) => t.inputs.scalableDimension === dimension)?.inputs as Inputs | undefined;

  const privateSubnets = ofType(resources, "aws:ec2/subnet:Subnet").filter((s) => (s.inputs.tags as Inputs | undefined)?.["kubernetes.io/role/internal-elb"]);
  add("network", "private subnets (AZs)", privateSubnets.length);
  add("network", "NAT gateways", ofType(resources, "aws:ec2/natGateway:NatGateway").length);

  for (const c of ofType(resources, "eks:index:Cluster")) {
    const i = c.inputs as Inputs;
    add("cluster", "EKS", `${i.name} v${i.version}, public endpoint ${i.endpointPublicAccess ? `from ${(i.publicAccessCidrs ?? []).join(", ")}` : "off"}`);
  }
  for (const ng of ofType(resources, "aws:eks/nodeGroup:NodeGroup")) {
    const i = ng.inputs as Inputs;
    add("cluster", `node group ${i.labels?.["pyairtable.io/workload-class"] ?? ng.name}`, `${i.scalingConfig.desiredSize} x ${i.instanceTypes.join("|")} ${i.capacityType} (${range(i.scalingConfig.minSize, i.scalingConfig.maxSize)})`);
  }
  for (const np of ofType(resources, "kubernetes:karpenter.sh/v1:NodePool")) {
    const spec = (np.inputs as Inputs).spec;
    const req = (key: string) => (spec.template.spec.requirements as Inputs[]).find((r) => r.key === key)?.values ?? [];
    add("cluster", `NodePool ${(np.inputs as Inputs).metadata?.name}`, `${req("karpenter.sh/capacity-type").join("")}, ${req("node.kubernetes.io/instance-type").length} instance types, ${req("topology.kubernetes.io/zone").length} AZs, spread ${req("pyairtable.io/capacity-spread").length}/10, max ${spec.limits.nodes} nodes`);
  }

  for (const db of ofType(resources, "aws:rds/cluster:Cluster")) {
    const i = db.inputs as Inputs;
    add("database", "Aurora Serverless v2 ACU", range(i.serverlessv2ScalingConfiguration?.minCapacity, i.serverlessv2ScalingConfiguration?.maxCapacity));
  }
  const dbInstances = ofType(resources, "aws:rds/clusterInstance:ClusterInstance");
  if (dbInstances.length) add("database", "instances (writer + readers)", `${dbInstances.length} x ${dbInstances[0]!.inputs.instanceClass}`);
  const readReplicas = scalingTarget("rds:cluster:ReadReplicaCount");
  if (readReplicas) add("database", "read replica auto scaling", range(readReplicas.minCapacity, readReplicas.maxCapacity));

  for (const rg of ofType(resources, "aws:elasticache/replicationGroup:ReplicationGroup")) {
    const i = rg.inputs as Inputs;
    const shards = i.numNodeGroups;
    add("cache", "Redis", shards ? `${shards} shards x (1 + ${i.replicasPerNodeGroup}) ${i.nodeType}` : `${i.numCacheClusters ?? 1} x ${i.nodeType}`);
  }
  const shardScaling = scalingTarget("elasticache:replication-group:NodeGroups");
  if (shardScaling) add("cache", "shard auto scaling", range(shardScaling.minCapacity, shardScaling.maxCapacity));

  for (const msk of ofType(resources, "aws:msk/cluster:Cluster")) {
    const i = msk.inputs as Inputs;
    add("streaming", "MSK brokers", `${i.numberOfBrokerNodes} x ${i.brokerNodeGroupInfo?.instanceType}, ${i.brokerNodeGroupInfo?.storageInfo?.ebsStorageInfo?.volumeSize} GiB each`);
  }
  const storage = scalingTarget("kafka:broker-storage:VolumeSize");
  add("streaming", "broker storage auto scaling", storage ? `${storage.minCapacity}-${storage.maxCapacity} GiB` : "off");

  for (const os of ofType(resources, "aws:opensearch/domain:Domain")) {
    const c = (os.inputs as Inputs).clusterConfig ?? {};
    add("search", "OpenSearch data nodes", `${c.instanceCount} x ${c.instanceType}`);
    add("search", "dedicated masters", c.dedicatedMasterEnabled ? `${c.dedicatedMasterCount} x ${c.dedicatedMasterType}` : "none");
    add("search", "warm tier", c.warmEnabled ? `${c.warmCount} x ${c.warmType}` : "none");
  }

  const count = (type: string) => ofType(resources, type).length;
  const hpas = count("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
  const scaledObjects = count("kubernetes:keda.sh/v1alpha1:ScaledObject");
  if (hpas + scaledObjects > 0) {
    add("workloads", "scaling objects", `${hpas} HPAs, ${scaledObjects} KEDA ScaledObjects, ${count("kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler")} VPAs, ${count("kubernetes:policy/v1:PodDisruptionBudget")} PDBs`);
  }
  for (const h of ofType(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")) {
    const spec = (h.inputs as Inputs).spec;
    add("workloads", `HPA ${(h.inputs as Inputs).metadata?.name}`, `${spec.minReplicas}-${spec.maxReplicas} on ${(spec.metrics as Inputs[]).map((m) => m.resource?.name ?? m.pods?.metric?.name).join(", ")}`);
  }
  for (const so of ofType(resources, "kubernetes:keda.sh/v1alpha1:ScaledObject")) {
    const spec = (so.inputs as Inputs).spec;
    add("workloads", `ScaledObject ${(so.inputs as Inputs).metadata?.name}`, `${spec.minReplicaCount}-${spec.maxReplicaCount} on ${(spec.triggers as Inputs[]).map((t) => t.type).join(", ")}`);
  }

  for (const b of ofType(resources, "aws:budgets/budget:Budget")) {
    const i = b.inputs as Inputs;
    const thresholds = ((i.notifications ?? []) as Inputs[]).map((n) =>
      `${n.thresholdType === "ABSOLUTE_VALUE" ? `$${n.threshold}` : `${n.threshold}%`}${n.notificationType === "FORECASTED" ? " forecast" : ""}`);
    add("cost", `${String(i.timeUnit).toLowerCase()} budget`, `$${i.limitAmount} (${thresholds.join(", ")})`);
  }
  for (const a of ofType(resources, "aws:costexplorer/anomalySubscription:AnomalySubscription")) {
    add("cost", "anomaly subscription", `${(a.inputs as Inputs).frequency}`);
  }
  return out;
}

export function formatTable(rows: readonly (readonly string[])[], header: readonly string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
