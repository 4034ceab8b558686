import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config/settings";
import { clientsOfStore, type DataStoreClient } from "../lib/k8s/podSecurityGroups";
import type { DataStore } from "../lib/k8s/networkPolicies";

export interface DataStoreClientGroupsArgs {
  /** `prod` or `dev`: tags the groups. */
  environment: Environment;
  /** EKS cluster name: prefixes the group names. */
  clusterName: string;
  /** VPC of the cluster and the data stores. */
  vpcId: pulumi.Input<string>;
  /** The workloads that reach data stores (lib/k8s/podSecurityGroups.ts `dataStoreClients`). */
  clients: readonly DataStoreClient[];
}

/**
 * One EC2 security group per data-store client workload (PgBouncer, API services, worker services,
 * the KEDA operator). The groups carry no rules: they are the identity the data stores admit. Their
 * pods also carry the cluster security group (see the SecurityGroupPolicy), which gives them the
 * cluster's usual in-VPC egress and the kubelet, DNS and scrape paths.
 */
export class DataStoreClientGroups extends pulumi.ComponentResource {
  /** Security group id per client key. */
  public readonly groupIds: Readonly<Record<string, pulumi.Output<string>>>;
  /** The client groups each data store admits (and nothing else). */
  public readonly admittedBy: Readonly<Record<DataStore, pulumi.Output<string>[]>>;

  constructor(name: string, args: DataStoreClientGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:network:DataStoreClientGroups", name, {}, opts);
    if (args.clients.length === 0) throw new Error(`DataStoreClientGroups ${name}: clients = []: at least one data-store client is needed, or no workload can reach a data store`);
    const keys = args.clients.map((c) => c.key);
    const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
    if (duplicate) throw new Error(`DataStoreClientGroups ${name}: client key '${duplicate}' appears twice: keys name the groups and must be unique`);
    const parent = { parent: this };

    const groupIds: Record<string, pulumi.Output<string>> = {};
    for (const client of args.clients) {
      const sg = new aws.ec2.SecurityGroup(`${name}-${client.key}`, {
        vpcId: args.vpcId,
        description: `${args.clusterName} ${client.key} pods: client of ${client.dataStores.join(", ")} (security groups for pods)`,
        // No rules: the pods' other group (the cluster security group) carries their traffic rules.
        tags: { Name: `${args.clusterName}-${client.key}-data-client`, environment: args.environment },
      }, parent);
      groupIds[client.key] = sg.id;
    }
    this.groupIds = groupIds;
    const stores: DataStore[] = ["postgres", "redis", "kafka", "openSearch"];
    this.admittedBy = Object.fromEntries(stores.map((store) => [store, clientsOfStore(args.clients, groupIds, store)])) as Record<DataStore, pulumi.Output<string>[]>;

    this.registerOutputs({ groupIds: this.groupIds });
  }
}
