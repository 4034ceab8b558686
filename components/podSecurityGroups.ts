import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { securityGroupPolicy, securityGroupPolicyName, type DataStoreClient } from "../lib/k8s/podSecurityGroups";

export interface PodSecurityGroupsArgs {
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** The data-store clients whose pods get a security group (lib/k8s/podSecurityGroups.ts). */
  clients: readonly DataStoreClient[];
  /** The client security group of each client key (DataStoreClientGroups). */
  groupIds: Readonly<Record<string, pulumi.Input<string>>>;
  /** The EKS cluster security group, kept on every pod next to its client group. */
  clusterSecurityGroupId: pulumi.Input<string>;
  /** Labels of every object. */
  labels?: Record<string, string>;
  /**
   * What must exist first: the namespaces. The pods these policies select must be created AFTER them
   * (the VPC resource controller's webhook assigns groups at pod creation only), so the PgBouncer
   * Deployment and the KEDA release depend on this component.
   */
  dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/**
 * SecurityGroupPolicy objects (vpcresources.k8s.aws/v1beta1): the pods of each data-store client
 * get a branch ENI with the client's security group and the cluster security group.
 */
export class PodSecurityGroups extends pulumi.ComponentResource {
  /** The policies, for dependencies of the workloads they select. */
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: PodSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:cluster:PodSecurityGroups", name, {}, opts);
    if (!args.provider) throw new Error(`PodSecurityGroups ${name}: provider is missing: the cluster's Kubernetes provider is required`);
    for (const client of args.clients) {
      if (args.groupIds[client.key] === undefined) {
        throw new Error(`PodSecurityGroups ${name}: groupIds.${client.key} is missing: every client needs its security group (have: ${Object.keys(args.groupIds).join(", ") || "none"})`);
      }
    }
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, ...(args.dependsOn ? { dependsOn: args.dependsOn } : {}) };

    this.policies = args.clients.map((client) => {
      const manifest = pulumi
        .all([pulumi.output(args.groupIds[client.key]!), pulumi.output(args.clusterSecurityGroupId)])
        .apply(([groupId, clusterSg]) => securityGroupPolicy(client, groupId, clusterSg, args.labels ?? {}));
      return new k8s.apiextensions.CustomResource(`${name}-${client.key}`, {
        apiVersion: "vpcresources.k8s.aws/v1beta1",
        kind: "SecurityGroupPolicy",
        // Name and namespace known before the group ids (a first preview still shows them).
        metadata: { name: securityGroupPolicyName(client), namespace: client.namespace, labels: args.labels ?? {} },
        spec: manifest.spec,
      }, k8sOpts);
    });

    this.registerOutputs({});
  }
}
