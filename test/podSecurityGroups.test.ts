/**
 * Security groups for pods on the planned stacks: who each data store admits, the SecurityGroupPolicy
 * objects (vendored CRD schema), that they exist before the pods they select, the VPC CNI and cluster
 * role settings they need, and the trunk-ENI table they depend on.
 */
import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { applyOrder, kubernetesObjects } from "../lib/plan/manifests";
import type { PlannedResource } from "../lib/plan/mockRuntime";
import { namespaces } from "../lib/catalog/cluster";
import { serviceCatalog } from "../lib/catalog/services";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { workloadContract } from "../lib/workloads/contract";
import {
  dataStoreClients,
  instanceNetworkLimits,
  instanceTypesWithoutTrunking,
  securityGroupPolicy,
} from "../lib/k8s/podSecurityGroups";
import { loadStackSettings, stacks } from "./support/stacks";

type R = Record<string, any>;
const ingressType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const sgpType = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy";
const pgbLabels = { "app.kubernetes.io/name": "pgbouncer" };

/** The security groups (by logical name) whose ids a data store's ingress rules reference, per port. */
function admitted(plan: StackPlan, component: string): Record<number, string[]> {
  const sgNames = new Map(plan.resources.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup").map((r) => [`${r.name}-id`, r.name]));
  const out: Record<number, string[]> = {};
  for (const r of plan.resources.filter((x) => x.type === ingressType && x.parent?.endsWith(`::${component}`))) {
    const i = r.inputs as R;
    const source = sgNames.get(i.referencedSecurityGroupId) ?? i.referencedSecurityGroupId;
    (out[i.fromPort] ??= []).push(source);
  }
  for (const k of Object.keys(out)) out[Number(k)]!.sort();
  return out;
}
const byUrn = (plan: StackPlan, suffix: string): PlannedResource => {
  const found = plan.resources.find((r) => r.urn.endsWith(suffix));
  assert.ok(found, `no resource ${suffix}`);
  return found;
};

describe("security groups for pods", function () {
  this.timeout(240_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  it("prod: each data store admits only the client groups of the workloads that use it, never the cluster security group", () => {
    const p = plans.prod!;
    const g = (key: string) => `pyairtable-prod-data-clients-${key}`;
    assert.deepEqual(admitted(p, "pyairtable-prod-database"), { 15432: [g("pgbouncer")] });
    assert.deepEqual(admitted(p, "pyairtable-prod-cache"), { 6379: [g("api-services"), g("keda-operator"), g("worker-services")] });
    // MSK: IAM listener only; nothing scrapes the open-monitoring exporters, so no source for them.
    assert.deepEqual(admitted(p, "pyairtable-prod-streaming"), { 9098: [g("api-services"), g("keda-operator"), g("worker-services")] });
    assert.deepEqual(admitted(p, "pyairtable-prod-search"), { 443: [g("api-services"), g("worker-services")] });
    const eks = p.resources.find((r) => r.type === "eks:index:Cluster")!;
    for (const r of p.resources.filter((x) => x.type === ingressType)) {
      assert.ok(!(r.propertyDependencies?.referencedSecurityGroupId ?? []).includes(eks.urn), `${r.name} admits the cluster security group`);
    }
    // The client groups carry no rules of their own.
    const clientGroups = p.resources.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.startsWith("pyairtable-prod-data-clients-"));
    assert.equal(clientGroups.length, 4);
    for (const sg of clientGroups) assert.equal((sg.inputs as R).ingress ?? (sg.inputs as R).egress, undefined, sg.name);
  });

  it("dev (t3 nodes, documented deviation): the stores admit the cluster security group and no SecurityGroupPolicy exists", () => {
    const d = plans.dev!;
    assert.equal(loadStackSettings("dev").network.dataStoreAccess, "cluster-security-group");
    assert.deepEqual(admitted(d, "pyairtable-dev-database"), { 15432: ["sg-pyairtable-dev-cluster-eks-cluster"] });
    assert.equal(d.resources.filter((r) => r.type === sgpType).length, 0);
  });

  it("prod: one SecurityGroupPolicy per client, valid against the vendored CRD, with the client group and the cluster group", () => {
    const objects = kubernetesObjects(plans.prod!.resources).filter((o) => o.kind === "SecurityGroupPolicy");
    assert.deepEqual(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(), [
      "keda/keda-operator-data-store-client",
      "pyairtable-api/api-services-data-store-client",
      // The automation service, client of its own database (components/automationDatabase.ts).
      "pyairtable-automation/automation-service-data-store-client",
      "pyairtable-data/pgbouncer-data-store-client",
      "pyairtable-workers/worker-services-data-store-client",
    ]);
    for (const o of objects) {
      const result = validateManifest(o);
      assert.ok(result.ok, JSON.stringify(result));
      const ids = (o as R).spec.securityGroups.groupIds as string[];
      const key = String(o.metadata.name).replace(/-data-store-client$/, "");
      const groups = key === "automation-service" ? "pyairtable-prod-automation-db-clients" : "pyairtable-prod-data-clients";
      assert.deepEqual(ids, [`${groups}-${key}-id`, "sg-pyairtable-prod-cluster-eks-cluster"]);
    }
    // The schema really judges: a policy without groups is refused.
    const broken = structuredClone(objects[0]) as R;
    broken.spec.securityGroups.groupIds = [];
    assert.equal(validateManifest(broken).ok, false);
  });

  it("the selectors select the pods: PgBouncer's template labels, every catalog service's contract labels, the KEDA operator's chart label", () => {
    const clients = dataStoreClients(pgbLabels);
    const matches = (sel: R, labels: Record<string, string>) =>
      Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
      (sel.matchExpressions ?? []).every((e: R) => e.operator === "In" && e.values.includes(labels[e.key]));
    const pgbDeployment = plans.prod!.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as R).metadata.name === "pgbouncer")!;
    const pgbClient = clients.find((c) => c.key === "pgbouncer")!;
    assert.equal(pgbClient.namespace, namespaces.data);
    assert.ok(matches(pgbClient.podSelector, (pgbDeployment.inputs as R).spec.template.metadata.labels));
    assert.deepEqual(pgbClient.dataStores, ["postgres"], "Aurora only through PgBouncer");
    for (const svc of serviceCatalog) {
      const selecting = clients.filter((c) => c.namespace === svc.namespace && matches(c.podSelector, workloadContract(svc).labels));
      assert.equal(selecting.length, 1, `${svc.name}: selected by ${selecting.map((c) => c.key).join(", ") || "nothing"}`);
      assert.ok(!selecting[0]!.dataStores.includes("postgres"), `${svc.name} reaches Aurora directly`);
    }
    const keda = clients.find((c) => c.key === "keda-operator")!;
    assert.equal(keda.namespace, namespaces.keda);
    assert.deepEqual([...keda.dataStores].sort(), ["kafka", "redis"]);
    // Pods selected by a SecurityGroupPolicy must not have terminationGracePeriodSeconds 0 (VPC CNI <= 1.10.2).
    assert.ok((pgbDeployment.inputs as R).spec.template.spec.terminationGracePeriodSeconds > 0);
  });

  it("prod: the policies exist before the pods they select (PgBouncer Deployment, KEDA release; manifest apply order)", () => {
    const p = plans.prod!;
    const policies = p.resources.filter((r) => r.type === sgpType).map((r) => r.urn);
    assert.equal(policies.length, 5);
    const pgb = byUrn(p, "kubernetes:apps/v1:Deployment::pyairtable-prod-addons-pgbouncer");
    const keda = byUrn(p, "kubernetes:helm.sh/v3:Release::pyairtable-prod-addons-keda");
    const platformPolicies = policies.filter((urn) => !urn.includes("automation-db"));
    for (const dependent of [pgb, keda]) for (const urn of platformPolicies) assert.ok(dependent.dependencies?.includes(urn), `${dependent.name} does not wait for ${urn}`);
    const automation = byUrn(p, "kubernetes:apps/v1:Deployment::pyairtable-prod-automation-deployment");
    for (const urn of policies.filter((u) => u.includes("automation-db"))) assert.ok(automation.dependencies?.includes(urn), `the automation service does not wait for ${urn}`);
    assert.ok(applyOrder.indexOf("SecurityGroupPolicy") < applyOrder.indexOf("Deployment"));
    assert.ok(applyOrder.indexOf("SecurityGroupPolicy") > applyOrder.indexOf("Namespace"));
  });

  it("prod: VPC CNI with pod ENIs in standard mode, cluster role with AmazonEKSVPCResourceController, Karpenter reserves the trunk ENI", () => {
    for (const stack of stacks) {
      const plan = plans[stack]!;
      const on = stack === "prod";
      const eks = plan.resources.find((r) => r.type === "eks:index:Cluster")!.inputs as R;
      assert.equal(eks.vpcCniOptions.enableNetworkPolicy, true, stack);
      assert.equal(eks.vpcCniOptions.enablePodEni ?? false, on, stack);
      assert.equal(eks.vpcCniOptions.configurationValues?.env?.POD_SECURITY_GROUP_ENFORCING_MODE, on ? "standard" : undefined, stack);
      const policies = plan.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.name.includes("-cluster-service-")).map((r) => (r.inputs as R).policyArn).sort();
      assert.deepEqual(policies, on
        ? ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"]
        : ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"], stack);
      const role = plan.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("-cluster-service-role"))!;
      assert.equal(JSON.parse((role.inputs as R).assumeRolePolicy).Statement[0].Principal.Service, "eks.amazonaws.com");
      const karpenter = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name.endsWith("-capacity-karpenter"))!;
      assert.equal((karpenter.inputs as R).values.settings.reservedENIs, on ? "1" : "0", stack);
    }
  });

  it("trunk ENIs: the table from the VPC resource controller, pods per node with and without the trunk, and the prod instance types", () => {
    const m5 = instanceNetworkLimits("m5.large")!;
    // eni-max-pods: 3 x (10 - 1) + 2 = 29; the trunk takes one interface: 2 x 9 + 2 = 20; 9 branch ENIs.
    assert.deepEqual([m5.trunking, m5.maxPods, m5.maxPodsWithTrunk, m5.branchInterfaces], [true, 29, 20, 9]);
    assert.equal(instanceNetworkLimits("t3.medium")!.trunking, false, "no t family");
    assert.equal(instanceNetworkLimits("m99.large"), undefined);
    const prod = loadStackSettings("prod");
    const types = [...prod.cluster.systemNodeGroup.instanceTypes, ...prod.cluster.spotInstanceTypes, ...prod.cluster.onDemandInstanceTypes];
    assert.deepEqual(instanceTypesWithoutTrunking(types), []);
    const dev = loadStackSettings("dev");
    assert.ok(instanceTypesWithoutTrunking(dev.cluster.spotInstanceTypes).length > 0, "dev's t3 types cannot carry trunks");
  });

  it("bad input is refused naming the value", () => {
    const client = dataStoreClients(pgbLabels)[0]!;
    assert.throws(() => securityGroupPolicy(client, "", "sg-1"), /pgbouncer: client group = "": must be a security group id/);
    assert.throws(() => securityGroupPolicy(client, "sg-1", "sg-1"), /must not be the cluster security group \(sg-1\)/);
  });
});
