/**
 * Policy data-stores-admit-only-their-clients on the real plans: prod (security groups for pods)
 * passes; dev (data stores admit the cluster security group, its documented deviation) judged by the
 * prod rule is refused for each of the four stores; edits that open a store are refused.
 */
import { strict as assert } from "node:assert";
import { evaluatePolicies } from "../support/policyEvaluation";
import { allPolicies } from "../../policies/rules";
import { dataStoresAdmitOnlyClients } from "../../policies/rules/dataStoresAdmitOnlyClients";
import { planStack, type StackPlan } from "../support/plans";
import { loadPolicyConfig, policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { repoRoot } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";

type R = Record<string, any>;
const policy = "data-stores-admit-only-their-clients";
const mandatory = { [policy]: { enforcementLevel: "mandatory" } } as const;
const ingressType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const messages = async (resources: PlannedResource[]) => (await evaluatePolicies([dataStoresAdmitOnlyClients], resources, mandatory)).map((v) => v.message);

describe("policy data-stores-admit-only-their-clients", function () {
  this.timeout(300_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    plans.prod = await planStack("prod");
    plans.dev = await planStack("dev");
  });

  it("is mandatory in prod and disabled in dev (dev's t3 nodes cannot carry trunk ENIs: README deviation)", () => {
    assert.equal((loadPolicyConfig(policyConfigPath(repoRoot, "prod")) as R)[policy].enforcementLevel, "mandatory");
    assert.equal((loadPolicyConfig(policyConfigPath(repoRoot, "dev")) as R)[policy].enforcementLevel, "disabled");
  });

  it("pass: the prod plan (each store admits only its client groups)", async () => {
    assert.deepEqual(await messages(plans.prod!.resources), []);
    // It judged something: the four stores' ingress rules reference client groups only.
    const rules = plans.prod!.resources.filter((r) => r.type === ingressType && /(database|cache|streaming|search)/.test(r.name));
    assert.ok(rules.length >= 4, `${rules.length} data-store ingress rules`);
  });

  it("fail: the dev plan judged by the prod rule (every store admits the cluster security group)", async () => {
    const found = await messages(plans.dev!.resources);
    assert.equal(found.length, 4, found.join("\n"));
    for (const store of ["Aurora cluster", "ElastiCache replication group", "MSK cluster", "OpenSearch domain"]) {
      assert.ok(found.some((m) => m.startsWith(store) && /admits the EKS cluster security group/.test(m)), `${store}: ${found.join("\n")}`);
    }
  });

  it("fail: the prod plan with Aurora's rule opened to 0.0.0.0/0 is refused (mandatory, through the review)", async () => {
    const resources = structuredClone(plans.prod!.resources);
    const rule = resources.find((r) => r.type === ingressType && r.name.endsWith("database-postgres-0"))!;
    assert.ok(rule, "Aurora's ingress rule");
    delete (rule.inputs as R).referencedSecurityGroupId;
    (rule.inputs as R).cidrIpv4 = "0.0.0.0/0";
    const { violations } = await reviewPlan(resources, "prod", policyConfigPath(repoRoot, "prod"), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });
    assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [[policy, "mandatory"]]);
    assert.match(violations[0]!.message, /^Aurora cluster .*admits 0\.0\.0\.0\/0 \(cidrIpv4\)/);
  });

  it("fail: a rule admitting the nodes' group by id (EC2NodeClass securityGroupSelectorTerms) is refused", async () => {
    const resources = structuredClone(plans.prod!.resources);
    const nodeClass = resources.find((r) => r.type === "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")!;
    const nodeGroupId = (nodeClass.inputs as R).spec.securityGroupSelectorTerms[0].id as string;
    const rule = resources.find((r) => r.type === ingressType && r.name.endsWith("cache-redis-0"))!;
    (rule.inputs as R).referencedSecurityGroupId = nodeGroupId;
    Object.assign(rule, { propertyDependencies: { ...rule.propertyDependencies, referencedSecurityGroupId: [] } });
    const found = await messages(resources);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, /^ElastiCache replication group .*admits the EKS cluster security group/);
  });

  it("fail: a rule admitting a node group id listed in the config (nodes outside the plan)", async () => {
    const resources = structuredClone(plans.prod!.resources);
    const rule = resources.find((r) => r.type === ingressType && r.name.endsWith("search-https-0"))!;
    (rule.inputs as R).referencedSecurityGroupId = "sg-0123456789abcdef0";
    Object.assign(rule, { propertyDependencies: { ...rule.propertyDependencies, referencedSecurityGroupId: [] } });
    assert.deepEqual(await messages(resources), [], "an unknown group is not judged");
    const found = (await evaluatePolicies([dataStoresAdmitOnlyClients], resources, { [policy]: { enforcementLevel: "mandatory", nodeSecurityGroupIds: ["sg-0123456789abcdef0"] } })).map((v) => v.message);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, /^OpenSearch domain .*admits the EKS cluster security group/);
  });

  it("pass: a rule on a security group that protects no data store is not judged", async () => {
    const resources = structuredClone(plans.dev!.resources).filter((r) => !/(database|cache|streaming|search)-sg$/.test(r.name));
    assert.deepEqual(await messages(resources), []);
  });
});
