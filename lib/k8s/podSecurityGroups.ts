/**
 * Data-store isolation with security groups for pods (EKS): which workloads reach which data store,
 * the SecurityGroupPolicy objects that give their pods a data-store client security group, and what
 * trunk ENIs cost in pods per node.
 *
 * The data stores' security groups admit only these client groups, never the EKS cluster security
 * group that every node carries: a pod without a SecurityGroupPolicy (or a node process) has no path
 * to Aurora, Redis, MSK or OpenSearch even if a NetworkPolicy allowed it.
 *
 * Pure data and functions: components/dataStoreClientGroups.ts creates the EC2 security groups,
 * components/podSecurityGroups.ts the SecurityGroupPolicy objects, and the data-store components the
 * ingress rules.
 */
import { namespaces } from "../catalog/cluster";
import { serviceCatalog } from "../catalog/services";
import { namespaceAccess, type DataStore } from "./networkPolicies";

/** How the data stores admit clients (`autoscaling:network.dataStoreAccess`). */
export const dataStoreAccessModes = ["pod-security-groups", "cluster-security-group"] as const;
export type DataStoreAccessMode = (typeof dataStoreAccessModes)[number];

/** A workload whose pods connect to data stores directly (TCP to the store's endpoint). */
export interface DataStoreClient {
  /** Key, also the suffix of the security group and SecurityGroupPolicy names. */
  readonly key: string;
  readonly namespace: string;
  /** Pod selector of the SecurityGroupPolicy (the pods' own labels). */
  readonly podSelector: {
    readonly matchLabels?: Readonly<Record<string, string>>;
    readonly matchExpressions?: readonly { readonly key: string; readonly operator: "In"; readonly values: readonly string[] }[];
  };
  readonly dataStores: readonly DataStore[];
  /** Why this workload reaches these stores. */
  readonly reason: string;
}

/** Label every catalog service's pods carry with the service name (lib/workloads/contract.ts). */
const serviceNameLabel = "app.kubernetes.io/name";

const servicesIn = (namespace: string) => serviceCatalog.filter((s) => s.namespace === namespace).map((s) => s.name);

/** Data stores the KEDA operator's scalers read: Redis list lengths, Kafka consumer lag (catalog signals). */
function kedaScalerStores(): DataStore[] {
  const types = new Set<string>(serviceCatalog.flatMap((s) => s.signals.map((sig) => sig.type)));
  return [...(types.has("redisList") ? ["redis" as const] : []), ...(types.has("kafkaLag") ? ["kafka" as const] : [])];
}

/**
 * The data-store clients. Application services and PgBouncer follow the same access table as the
 * NetworkPolicies (`namespaceAccess`), so the two layers cannot disagree; Aurora is reached only
 * through PgBouncer, so only PgBouncer's pods get the Aurora client group. The KEDA operator reads
 * Redis and MSK for its scalers (the stores follow from the catalog's signals).
 */
export function dataStoreClients(pgbouncerPodLabels: Readonly<Record<string, string>>): DataStoreClient[] {
  const inNamespace = (namespace: string) => ({ matchExpressions: [{ key: serviceNameLabel, operator: "In" as const, values: servicesIn(namespace) }] });
  const clients: DataStoreClient[] = [
    {
      key: "pgbouncer",
      namespace: namespaces.data,
      podSelector: { matchLabels: { ...pgbouncerPodLabels } },
      dataStores: namespaceAccess[namespaces.data].dataStores,
      reason: "PgBouncer pools every application connection to Aurora",
    },
    {
      key: "api-services",
      namespace: namespaces.api,
      podSelector: inNamespace(namespaces.api),
      dataStores: namespaceAccess[namespaces.api].dataStores,
      reason: "request-serving services: Redis (queues, cache), Kafka (events), OpenSearch (search)",
    },
    {
      key: "worker-services",
      namespace: namespaces.workers,
      podSelector: inNamespace(namespaces.workers),
      dataStores: namespaceAccess[namespaces.workers].dataStores,
      reason: "queue consumers: Redis (queues), Kafka (saga and analytics events), OpenSearch (indexing)",
    },
    {
      key: "keda-operator",
      namespace: namespaces.keda,
      // The KEDA chart labels the operator's pods with app.kubernetes.io/name = operator.name (keda-operator).
      podSelector: { matchLabels: { [serviceNameLabel]: "keda-operator" } },
      dataStores: kedaScalerStores(),
      reason: "KEDA's redis and kafka scalers read list lengths and consumer lag",
    },
  ];
  return clients.filter((c) => c.dataStores.length > 0);
}

/** Client groups per data store: the only sources its security group admits. */
export function clientsOfStore<T>(clients: readonly DataStoreClient[], groupIds: Readonly<Record<string, T>>, store: DataStore): T[] {
  return clients.filter((c) => c.dataStores.includes(store)).map((c) => {
    const id = groupIds[c.key];
    if (id === undefined) throw new Error(`clientsOfStore: no security group for data-store client '${c.key}' (have: ${Object.keys(groupIds).join(", ")})`);
    return id;
  });
}

/** A SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1, the VPC resource controller's CRD). */
export interface SecurityGroupPolicyManifest {
  apiVersion: "vpcresources.k8s.aws/v1beta1";
  kind: "SecurityGroupPolicy";
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    podSelector: DataStoreClient["podSelector"];
    securityGroups: { groupIds: string[] };
  };
}

/** Name of a client's SecurityGroupPolicy. */
export const securityGroupPolicyName = (client: DataStoreClient) => `${client.key}-data-store-client`;

/**
 * The SecurityGroupPolicy of one client: its pods' branch ENIs get the client group AND the cluster
 * security group. The cluster group keeps everything that works today working (kubelet probes from
 * the node, DNS to CoreDNS, Prometheus scrapes, pod-to-pod, the API server: the EKS user guide's
 * criteria for pod security groups, and its advice to include the cluster security group); the client
 * group is what the data stores admit. NetworkPolicies still filter inside the cluster
 * (POD_SECURITY_GROUP_ENFORCING_MODE=standard).
 */
export function securityGroupPolicy(client: DataStoreClient, clientGroupId: string, clusterSecurityGroupId: string, labels: Record<string, string> = {}): SecurityGroupPolicyManifest {
  for (const [what, id] of [["client group", clientGroupId], ["cluster security group", clusterSecurityGroupId]] as const) {
    if (typeof id !== "string" || id.trim() === "") throw new Error(`securityGroupPolicy ${client.key}: ${what} = ${JSON.stringify(id)}: must be a security group id (sg-...)`);
  }
  if (clientGroupId === clusterSecurityGroupId) throw new Error(`securityGroupPolicy ${client.key}: the client group must not be the cluster security group (${clusterSecurityGroupId}): every node carries it`);
  return {
    apiVersion: "vpcresources.k8s.aws/v1beta1",
    kind: "SecurityGroupPolicy",
    metadata: { name: securityGroupPolicyName(client), namespace: client.namespace, labels },
    spec: { podSelector: structuredClone(client.podSelector) as SecurityGroupPolicyManifest["spec"]["podSelector"], securityGroups: { groupIds: [clientGroupId, clusterSecurityGroupId] } },
  };
}

// ---------------------------------------------------------------------------------------------
// Instance types: trunk ENI support and pods per node
// ---------------------------------------------------------------------------------------------

/** Per instance type: [network interfaces, IPv4 addresses per interface, trunking compatible, branch interfaces]. */
type LimitRow = [number, number, boolean, number];
// eslint-disable-next-line @typescript-eslint/no-require-imports
const limits = require("../../data/aws/vpc-resource-controller-limits.json") as { instanceTypes: Record<string, LimitRow> }; // its `source` names the upstream file and tag
const limitTable = limits.instanceTypes;

export interface InstanceNetworkLimits {
  readonly instanceType: string;
  readonly interfaces: number;
  readonly ipv4PerInterface: number;
  /** Can carry a trunk ENI (security groups for pods). */
  readonly trunking: boolean;
  /** Pods with their own security groups one node can hold (branch ENIs). */
  readonly branchInterfaces: number;
  /** ENI-limited pods without a trunk ENI: interfaces x (IPv4 per interface - 1) + 2 (eni-max-pods). */
  readonly maxPods: number;
  /**
   * ENI-limited pods once the trunk ENI takes one interface slot (Karpenter `reservedENIs: 1`):
   * (interfaces - 1) x (IPv4 per interface - 1) + 2, plus nothing for branch pods (they bring their
   * own ENI but still count against kubelet's max-pods).
   */
  readonly maxPodsWithTrunk: number;
}

/** Network limits of an instance type, or undefined when the VPC resource controller does not know it. */
export function instanceNetworkLimits(instanceType: string): InstanceNetworkLimits | undefined {
  const row = limitTable[instanceType];
  if (!row) return undefined;
  const [interfaces, ipv4PerInterface, trunking, branchInterfaces] = row;
  const pods = (enis: number) => enis * (ipv4PerInterface - 1) + 2;
  return { instanceType, interfaces, ipv4PerInterface, trunking, branchInterfaces, maxPods: pods(interfaces), maxPodsWithTrunk: pods(Math.max(0, interfaces - 1)) };
}

/** The instance types among `types` that cannot run pods with security groups (unknown ones included). */
export function instanceTypesWithoutTrunking(types: readonly string[]): string[] {
  return [...new Set(types)].filter((t) => !(instanceNetworkLimits(t)?.trunking ?? false));
}
