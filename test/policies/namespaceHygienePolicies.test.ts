/**
 * The policies that hold every namespace of the stack to one standard: Pod Security enforced
 * (`every-namespace-enforces-pod-security`), ingress denied by default
 * (`every-namespace-denies-ingress-by-default`) and the default ServiceAccount's token not mounted
 * (`default-service-accounts-do-not-mount-tokens`). Each passes on the real plans and refuses the
 * plan edited to break it; the served pack gives the same verdicts (test/support/policyEvaluation.ts,
 * POLICY_EVALUATION=served, and test/policies/previewMutations.it.test.ts).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import { evaluatePolicies } from "../support/policyEvaluation";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { namespaces } from "../../lib/catalog/cluster";
import { podSecurityExceptions } from "../../lib/k8s/podSecurity";
import { defaultServiceAccountsDoNotMountTokens } from "../../policies/rules/defaultServiceAccountsDoNotMountTokens";
import { everyNamespaceDeniesIngressByDefault } from "../../policies/rules/everyNamespaceDeniesIngressByDefault";
import { everyNamespaceEnforcesPodSecurity } from "../../policies/rules/everyNamespaceEnforcesPodSecurity";
import { namespaceType, networkPolicyType } from "../../policies/rules/namespaceDefaultDenyNetworkPolicy";
import { repoRoot, stacks } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";

type R = Record<string, any>;
const unknown = { __pulumiUnknown: true };
const config = (stack: string): PolicyPackConfig => JSON.parse(fs.readFileSync(policyConfigPath(repoRoot, stack), "utf8"));
const review = (resources: PlannedResource[], stack: "prod" | "dev" = "prod") => reviewPlan(resources, stack, policyConfigPath(repoRoot, stack), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });
const policies = [everyNamespaceEnforcesPodSecurity, everyNamespaceDeniesIngressByDefault, defaultServiceAccountsDoNotMountTokens];

function resource(type: string, name: string, inputs: R): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test", custom: true, inputs };
}
const ns = (name: string, level?: unknown) => resource(namespaceType, `ns-${name}`, { metadata: { name, labels: level === undefined ? {} : { "pod-security.kubernetes.io/enforce": level } } });
const saPatch = (namespace: unknown, automount: unknown) => resource("kubernetes:core/v1:ServiceAccountPatch", `sa-${String(namespace)}`, { metadata: { name: "default", namespace }, automountServiceAccountToken: automount });
const netpol = (namespace: string, spec: R) => resource(networkPolicyType, `np-${namespace}-${JSON.stringify(spec).length}`, { metadata: { name: "p", namespace }, spec });
const cfg = { "every-namespace-enforces-pod-security": { minimumLevel: "restricted", exceptions: { host: "privileged" } } };
const messages = async (policy: (typeof policies)[number], resources: PlannedResource[]) => (await evaluatePolicies([policy], resources, cfg)).map((v) => v.message);

describe("namespace hygiene policies: Pod Security, default-deny ingress, default ServiceAccount tokens, on every namespace", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  it("both stacks' configs: mandatory, restricted, and exactly the exceptions of lib/k8s/podSecurity.ts", () => {
    for (const stack of stacks) {
      const c = config(stack) as R;
      const ps = c["every-namespace-enforces-pod-security"];
      assert.deepEqual(ps, { enforcementLevel: "mandatory", minimumLevel: "restricted", exceptions: Object.fromEntries(Object.entries(podSecurityExceptions).map(([n, e]) => [n, e!.level])) });
      assert.equal(c["every-namespace-denies-ingress-by-default"].enforcementLevel, "mandatory");
      assert.equal(c["default-service-accounts-do-not-mount-tokens"].enforcementLevel, "mandatory");
    }
  });

  it("pass: the planned prod and dev stacks satisfy all three", async () => {
    for (const stack of stacks) assert.deepEqual(await evaluatePolicies(policies, plans[stack]!.resources, config(stack)), [], stack);
  });

  for (const platform of [namespaces.monitoring, namespaces.keda, namespaces.vpa, namespaces.externalSecrets, namespaces.certManager, namespaces.istio]) {
    it(`fail: the prod plan with ${platform} at baseline, without its default-deny-ingress, or with its default ServiceAccount mounting tokens is refused (mandatory)`, async () => {
      const lowered = structuredClone(plans.prod!.resources);
      (lowered.find((r) => r.type === namespaceType && (r.inputs as R).metadata.name === platform)!.inputs as R).metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline";
      // The add-on namespaces are also on namespace-pod-security-enforced's list (policies/config): it reports them first.
      const listed = ([namespaces.externalSecrets, namespaces.certManager, namespaces.istio] as string[]).includes(platform);
      assert.deepEqual((await review(lowered)).violations.map((v) => [v.policy, v.enforcementLevel, v.message]), [
        ...(listed ? [["namespace-pod-security-enforced", "mandatory", `Namespace ${platform}: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted'`]] : []),
        ["every-namespace-enforces-pod-security", "mandatory", `Namespace ${platform}: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted' (no exception names this namespace)`],
      ]);
      const open = plans.prod!.resources.filter((r) => !(r.type === networkPolicyType && (r.inputs as R).metadata.namespace === platform && (r.inputs as R).metadata.name === "default-deny-ingress"));
      assert.equal(open.length, plans.prod!.resources.length - 1);
      assert.deepEqual((await review(open)).violations.map((v) => [v.policy, v.enforcementLevel]), [["every-namespace-denies-ingress-by-default", "mandatory"]]);
      const mounting = structuredClone(plans.prod!.resources);
      (mounting.find((r) => r.type === "kubernetes:core/v1:ServiceAccountPatch" && (r.inputs as R).metadata.namespace === platform)!.inputs as R).automountServiceAccountToken = true;
      assert.deepEqual((await review(mounting)).violations.map((v) => [v.policy, v.enforcementLevel, v.message]), [
        ["default-service-accounts-do-not-mount-tokens", "mandatory", `Namespace ${platform}: default ServiceAccount automountServiceAccountToken = true: must be false`],
      ]);
    });
  }

  it("fail: a namespace added without going through createStackNamespace breaks all three", async () => {
    const added = [...plans.prod!.resources, ns("ad-hoc-tools")];
    const found = (await review(added)).violations.map((v) => v.policy).sort();
    assert.deepEqual(found, ["default-service-accounts-do-not-mount-tokens", "every-namespace-denies-ingress-by-default", "every-namespace-enforces-pod-security"]);
  });

  describe("every-namespace-enforces-pod-security", () => {
    it("restricted passes; baseline, privileged, a missing or misspelt label fail; an exception allows its level only; unknowns are not judged", async () => {
      assert.deepEqual(await messages(everyNamespaceEnforcesPodSecurity, [ns("app", "restricted"), ns("host", "privileged")]), []);
      assert.deepEqual(await messages(everyNamespaceEnforcesPodSecurity, [ns("app", "baseline")]), ["Namespace app: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted' (no exception names this namespace)"]);
      assert.equal((await messages(everyNamespaceEnforcesPodSecurity, [ns("app", "privileged")])).length, 1);
      assert.deepEqual(await messages(everyNamespaceEnforcesPodSecurity, [ns("app")]), ["Namespace app: label pod-security.kubernetes.io/enforce = not set: must be 'restricted' or stricter"]);
      assert.equal((await messages(everyNamespaceEnforcesPodSecurity, [ns("app", "Restricted")])).length, 1);
      assert.deepEqual(await messages(everyNamespaceEnforcesPodSecurity, [ns("host", "restricted")]), []);
      assert.deepEqual(await messages(everyNamespaceEnforcesPodSecurity, [ns("app", unknown)]), []);
    });
  });

  describe("every-namespace-denies-ingress-by-default", () => {
    it("an all-pods Ingress policy without rules passes (with or without Egress); rules, a pod selector or another namespace do not count", async () => {
      assert.deepEqual(await messages(everyNamespaceDeniesIngressByDefault, [ns("a"), netpol("a", { podSelector: {}, policyTypes: ["Ingress"] })]), []);
      assert.deepEqual(await messages(everyNamespaceDeniesIngressByDefault, [ns("a"), netpol("a", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })]), []);
      for (const spec of [{ podSelector: {}, policyTypes: ["Egress"] }, { podSelector: { matchLabels: { x: "y" } }, policyTypes: ["Ingress"] }, { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] }]) {
        assert.deepEqual(await messages(everyNamespaceDeniesIngressByDefault, [ns("a"), netpol("a", spec)]), ["Namespace a: no default-deny-ingress NetworkPolicy (podSelector {}, Ingress, no rules): any pod in the cluster may connect to its pods"], JSON.stringify(spec));
      }
      assert.equal((await messages(everyNamespaceDeniesIngressByDefault, [ns("a"), netpol("b", { podSelector: {}, policyTypes: ["Ingress"] })])).length, 1);
      assert.deepEqual(await messages(everyNamespaceDeniesIngressByDefault, [ns("a"), netpol("a", { podSelector: {}, policyTypes: unknown })]), []);
    });
  });

  describe("default-service-accounts-do-not-mount-tokens", () => {
    it("a default account patched to false passes; true, unset or missing fail; another namespace's does not count; unknowns are not judged", async () => {
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), saPatch("a", false)]), []);
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), saPatch("a", true)]), ["Namespace a: default ServiceAccount automountServiceAccountToken = true: must be false"]);
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), saPatch("a", undefined)]), ["Namespace a: default ServiceAccount automountServiceAccountToken = not set (true): must be false"]);
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a")]), ["Namespace a: its default ServiceAccount is not managed by the stack, so it auto-mounts its token (add a ServiceAccountPatch with automountServiceAccountToken: false)"]);
      assert.equal((await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), saPatch("b", false)])).length, 1);
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), saPatch("a", unknown)]), []);
      // A plain ServiceAccount named default counts the same.
      assert.deepEqual(await messages(defaultServiceAccountsDoNotMountTokens, [ns("a"), resource("kubernetes:core/v1:ServiceAccount", "sa", { metadata: { name: "default", namespace: "a" }, automountServiceAccountToken: false })]), []);
    });
  });
});
