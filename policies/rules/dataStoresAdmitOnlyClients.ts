import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, refersTo, UNKNOWN } from "../lib";

/** The security-group property of each data store (a list of ids, or an object holding one). */
const dataStoreGroupProps: readonly { readonly type: string; readonly what: string; readonly prop: string; readonly path: readonly string[] }[] = [
  { type: "aws:rds/cluster:Cluster", what: "Aurora cluster", prop: "vpcSecurityGroupIds", path: ["vpcSecurityGroupIds"] },
  { type: "aws:elasticache/replicationGroup:ReplicationGroup", what: "ElastiCache replication group", prop: "securityGroupIds", path: ["securityGroupIds"] },
  { type: "aws:msk/cluster:Cluster", what: "MSK cluster", prop: "brokerNodeGroupInfo", path: ["brokerNodeGroupInfo", "securityGroups"] },
  { type: "aws:opensearch/domain:Domain", what: "OpenSearch domain", prop: "vpcOptions", path: ["vpcOptions", "securityGroupIds"] },
];

export interface DataStoresAdmitOnlyClientsConfig {
  /**
   * Further ids of security groups that nodes carry and the plan does not show (e.g. a node group
   * outside this stack): never admitted by a data store either.
   */
  nodeSecurityGroupIds: string[];
}

/** EKS clusters: the security group every node carries is one of their outputs. */
const isEksCluster = (r: PolicyResource) => r.type === "eks:index:Cluster" || r.type === "aws:eks/cluster:Cluster";

/** A CIDR with a zero-length prefix matches every address: 0.0.0.0/0, ::/0. */
const isOpenCidr = (cidr: unknown) => typeof cidr === "string" && /\/0+$/.test(cidr.trim());

/**
 * Data stores admit only the workloads that use them: no security group of Aurora, ElastiCache, MSK
 * or OpenSearch admits the EKS cluster security group (every node and every pod without its own
 * group carries it) or the whole internet. The clients reach them through their own security groups
 * (security groups for pods). Stack-wide: the rules are separate resources, matched to the store's
 * group by reference, and the cluster group is recognised by the engine's property dependencies on
 * the EKS cluster (its id is not known before the cluster exists) or by the ids nodes are given
 * (EC2NodeClass `securityGroupSelectorTerms`).
 */
export const dataStoresAdmitOnlyClients: StackValidationPolicy = {
  name: "data-stores-admit-only-their-clients",
  description: "No data-store security group (Aurora, ElastiCache, MSK, OpenSearch) admits the EKS cluster security group or 0.0.0.0/0 / ::/0.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `autoscaling:network.dataStoreAccess: pod-security-groups`: each store then admits only the client security groups of the workloads that use it, which their pods get through SecurityGroupPolicy objects (components/dataStoreClientGroups.ts, components/podSecurityGroups.ts). Never pass the cluster security group or an open CIDR as a data-store client.",
  configSchema: {
    properties: {
      nodeSecurityGroupIds: { type: "array", items: { type: "string", pattern: "^sg-[0-9a-f]+$" }, uniqueItems: true, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const groups = args.resources.filter((r) => r.isType(aws.ec2.SecurityGroup));
    const clusters = args.resources.filter(isEksCluster);
    const nodeGroupIds = new Set<string>(args.getConfig<DataStoresAdmitOnlyClientsConfig>().nodeSecurityGroupIds ?? []);
    for (const r of args.resources) {
      if (r.type !== "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass") continue;
      const terms = peekList(r.props, "spec", "securityGroupSelectorTerms");
      if (terms === UNKNOWN || terms === undefined) continue;
      for (const t of terms) {
        const id = peek(t, "id");
        if (typeof id === "string") nodeGroupIds.add(id);
      }
    }

    // The data stores' own security groups, with the store they protect.
    const storeGroups = new Map<string, { sg: PolicyResource; store: string }>();
    for (const r of args.resources) {
      const spec = dataStoreGroupProps.find((d) => d.type === r.type);
      if (!spec) continue;
      const deps = new Set((r.propertyDependencies?.[spec.prop] ?? []).map((d) => d.urn));
      const ids = peekList(r.props, ...spec.path);
      for (const sg of groups) {
        const byValue = ids !== UNKNOWN && (ids ?? []).some((id) => [peek(sg.props, "id"), sg.name].includes(id as string));
        if (deps.has(sg.urn) || byValue) storeGroups.set(sg.urn, { sg, store: `${spec.what} ${r.name}` });
      }
    }
    if (storeGroups.size === 0) return;

    /** Whether `prop` of `from` is the cluster security group: by dependency on an EKS cluster, or a node group id. */
    const isClusterGroup = (from: PolicyResource, prop: string, value: unknown): boolean => {
      if (value === undefined || value === null) return false;
      const deps = from.propertyDependencies?.[prop] ?? [];
      if (deps.some((d) => clusters.some((c) => c.urn === d.urn))) return true;
      return typeof value === "string" && nodeGroupIds.has(value);
    };
    const targetOf = (rule: PolicyResource, prop: string) => {
      for (const { sg, store } of storeGroups.values()) {
        if (refersTo(rule, prop, sg, []) === true) return store;
      }
      return undefined;
    };

    for (const r of args.resources) {
      const p = r.props;
      if (r.isType(aws.vpc.SecurityGroupIngressRule)) {
        const store = targetOf(r, "securityGroupId");
        if (!store) continue;
        if (isClusterGroup(r, "referencedSecurityGroupId", peek(p, "referencedSecurityGroupId"))) {
          reportViolation(`${store}: ingress rule ${r.name} admits the EKS cluster security group (every node and pod): admit only the client security groups of the workloads that use it`, r.urn);
        }
        for (const key of ["cidrIpv4", "cidrIpv6"]) {
          if (isOpenCidr(peek(p, key))) reportViolation(`${store}: ingress rule ${r.name} admits ${String(peek(p, key))} (${key}): data stores are never open to every address`, r.urn);
        }
      } else if (r.isType(aws.ec2.SecurityGroupRule)) {
        if (peek(p, "type") !== "ingress") continue;
        const store = targetOf(r, "securityGroupId");
        if (!store) continue;
        if (isClusterGroup(r, "sourceSecurityGroupId", peek(p, "sourceSecurityGroupId"))) {
          reportViolation(`${store}: rule ${r.name} admits the EKS cluster security group (every node and pod): admit only the client security groups of the workloads that use it`, r.urn);
        }
        for (const key of ["cidrBlocks", "ipv6CidrBlocks"]) {
          const cidrs = peekList(p, key);
          if (cidrs !== UNKNOWN && (cidrs ?? []).some(isOpenCidr)) reportViolation(`${store}: rule ${r.name} admits an open CIDR (${key}): data stores are never open to every address`, r.urn);
        }
      } else if (r.isType(aws.ec2.SecurityGroup) && storeGroups.has(r.urn)) {
        const store = storeGroups.get(r.urn)!.store;
        const ingress = peekList(p, "ingress");
        if (ingress === UNKNOWN) continue;
        for (const rule of ingress ?? []) {
          const sources = peekList(rule, "securityGroups");
          const known = (l: unknown[] | typeof UNKNOWN | undefined): unknown[] => (l === UNKNOWN || l === undefined ? [] : l);
          const cidrs = [...known(peekList(rule, "cidrBlocks")), ...known(peekList(rule, "ipv6CidrBlocks"))];
          if (cidrs.some(isOpenCidr)) reportViolation(`${store}: security group ${r.name} has an inline ingress rule open to every address`, r.urn);
          if (sources !== UNKNOWN && (sources ?? []).some((s) => typeof s === "string" && nodeGroupIds.has(s))) {
            reportViolation(`${store}: security group ${r.name} has an inline ingress rule admitting the EKS cluster security group`, r.urn);
          }
        }
      }
    }
  },
};
