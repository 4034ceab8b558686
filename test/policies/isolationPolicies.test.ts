import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import { evaluatePolicies } from "../support/policyEvaluation";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { policyConfigPath, reviewPlan } from "../../lib/plan/review";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { applicationNamespaces, namespaces, stackNamespaces } from "../../lib/catalog/cluster";
import { namespaceDefaultDenyNetworkPolicy, namespaceType, networkPolicyType } from "../../policies/rules/namespaceDefaultDenyNetworkPolicy";
import { namespacePodSecurityEnforced } from "../../policies/rules/namespacePodSecurityEnforced";
import { loadStackSettings, repoRoot, stacks } from "../support/stacks";
import { testEvaluationDate } from "../support/clock";

type R = Record<string, any>;
const unknown = { __pulumiUnknown: true };
const config = (stack: string): PolicyPackConfig => JSON.parse(fs.readFileSync(policyConfigPath(repoRoot, stack), "utf8"));
const review = (resources: PlannedResource[], stack: "prod" | "dev" = "prod") => reviewPlan(resources, stack, policyConfigPath(repoRoot, stack), (rs, c) => evaluatePolicies(allPolicies, rs, c), { evaluationDate: testEvaluationDate });

function resource(type: string, name: string, inputs: R): PlannedResource {
  return { urn: `urn:pulumi:test::autoscaling::${type}::${name}`, type, name, parent: "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test", custom: true, inputs };
}
const namespace = (name: string, labels: R = {}) => resource(namespaceType, `ns-${name}`, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const netpol = (ns: string, name: string, spec: R) => resource(networkPolicyType, `${ns}-${name}`, { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec });
const denyAll = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
const only = { "namespace-default-deny-network-policy": { namespaces: ["app"] }, "namespace-pod-security-enforced": { namespaces: ["app"], minimumLevel: "restricted", exceptions: {} } };
const messages = async (policy: Parameters<typeof evaluatePolicies>[0][number], resources: PlannedResource[], cfg: PolicyPackConfig = only) =>
  (await evaluatePolicies([policy], resources, cfg)).map((v) => v.message);

describe("isolation policies: default-deny NetworkPolicy and Pod Security enforce label", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    plans.prod = await planStack("prod");
    plans.dev = await planStack("dev");
  });

  it("both stacks' policy configs list the application namespaces (default deny of both directions) and every restricted namespace of the add-ons the stack installs (Pod Security)", () => {
    for (const stack of stacks) {
      const c = config(stack) as R;
      assert.deepEqual(c["namespace-default-deny-network-policy"].namespaces, [...applicationNamespaces]);
      // External Secrets, cert-manager and (with sidecars) Istio: they must exist, restricted, wherever the stack installs them.
      const addonSpaces = stackNamespaces({ istioSidecars: loadStackSettings(stack).workloads.istioSidecars }).filter((n) => ([namespaces.externalSecrets, namespaces.certManager, namespaces.istio] as string[]).includes(n));
      assert.deepEqual(addonSpaces.length, stack === "prod" ? 3 : 2);
      assert.deepEqual(c["namespace-pod-security-enforced"].namespaces, [...applicationNamespaces, ...addonSpaces]);
      assert.equal(c["namespace-pod-security-enforced"].minimumLevel, "restricted");
      assert.equal(c["namespace-default-deny-network-policy"].enforcementLevel, "mandatory");
      assert.equal(c["namespace-pod-security-enforced"].enforcementLevel, "mandatory");
    }
  });

  it("pass: the planned prod and dev stacks satisfy both policies", async () => {
    for (const stack of stacks) {
      const found = await evaluatePolicies([namespaceDefaultDenyNetworkPolicy, namespacePodSecurityEnforced], plans[stack]!.resources, config(stack));
      assert.deepEqual(found, [], stack);
    }
  });

  for (const ns of applicationNamespaces) {
    it(`fail: the prod plan edited to drop ${ns}'s default-deny policy is refused (mandatory)`, async () => {
      const resources = plans.prod!.resources.filter((r) => !(r.type === networkPolicyType && (r.inputs as R).metadata.namespace === ns && (r.inputs as R).metadata.name === "default-deny-all"));
      assert.equal(resources.length, plans.prod!.resources.length - 1);
      const { violations } = await review(resources);
      // every-namespace-denies-ingress-by-default (all namespaces, ingress) reports it too.
      assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [["namespace-default-deny-network-policy", "mandatory"], ["every-namespace-denies-ingress-by-default", "mandatory"]]);
      assert.match(violations[0]!.message, new RegExp(`Namespace ${ns}: no default-deny NetworkPolicy`));
    });

    it(`fail: the prod plan edited to drop ${ns}'s Pod Security enforce label is refused (mandatory)`, async () => {
      const resources = structuredClone(plans.prod!.resources);
      const target = resources.find((r) => r.type === namespaceType && (r.inputs as R).metadata.name === ns)!;
      delete (target.inputs as R).metadata.labels["pod-security.kubernetes.io/enforce"];
      const { violations } = await review(resources);
      // every-namespace-enforces-pod-security (all namespaces) reports it too.
      assert.deepEqual(violations.map((v) => [v.policy, v.urn]), [["namespace-pod-security-enforced", target.urn], ["every-namespace-enforces-pod-security", target.urn]]);
      assert.match(violations[0]!.message, /pod-security.kubernetes.io\/enforce = not set: must be 'restricted'/);
    });
  }

  it("fail: the prod plan with cert-manager lowered to baseline, or without istio-system, is refused", async () => {
    const lowered = structuredClone(plans.prod!.resources);
    const cm = lowered.find((r) => r.type === namespaceType && (r.inputs as R).metadata.name === namespaces.certManager)!;
    (cm.inputs as R).metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline";
    const a = await review(lowered);
    assert.deepEqual(a.violations.map((v) => [v.policy, v.urn]), [["namespace-pod-security-enforced", cm.urn], ["every-namespace-enforces-pod-security", cm.urn]]);
    const withoutIstio = plans.prod!.resources.filter((r) => !(r.type === namespaceType && (r.inputs as R).metadata.name === namespaces.istio));
    const b = await review(withoutIstio);
    assert.ok(b.violations.some((v) => v.policy === "namespace-pod-security-enforced" && /Namespace istio-system: not created by this stack/.test(v.message)), JSON.stringify(b.violations.map((v) => v.message)));
  });

  it("fail: the dev plan with the api namespace lowered to baseline is refused", async () => {
    const resources = structuredClone(plans.dev!.resources);
    const target = resources.find((r) => r.type === namespaceType && (r.inputs as R).metadata.name === "pyairtable-api")!;
    (target.inputs as R).metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline";
    const { violations } = await review(resources, "dev");
    assert.deepEqual(violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message), [
      "Namespace pyairtable-api: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted'",
      "Namespace pyairtable-api: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted' (no exception names this namespace)",
    ]);
  });

  describe("default-deny NetworkPolicy", () => {
    it("passes with a deny-all policy next to allow policies", async () => {
      assert.deepEqual(await messages(namespaceDefaultDenyNetworkPolicy, [namespace("app"), netpol("app", "deny", denyAll), netpol("app", "dns", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 53 }] }] })]), []);
    });
    it("fails when the only policy selects some pods, has a rule, lacks Egress, or is in another namespace", async () => {
      const cases: R[] = [
        { podSelector: { matchLabels: { app: "x" } }, policyTypes: ["Ingress", "Egress"] },
        { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}] },
        { podSelector: {}, policyTypes: ["Ingress"] },
      ];
      for (const spec of cases) {
        assert.deepEqual(await messages(namespaceDefaultDenyNetworkPolicy, [namespace("app"), netpol("app", "p", spec)]), [
          "Namespace app: no default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress, Egress], no rules): every pod may send and receive anything",
        ], JSON.stringify(spec));
      }
      assert.equal((await messages(namespaceDefaultDenyNetworkPolicy, [namespace("app"), netpol("other", "deny", denyAll)])).length, 1);
    });
    it("reports a configured namespace the stack does not create", async () => {
      assert.deepEqual(await messages(namespaceDefaultDenyNetworkPolicy, []), ["Namespace app: not created by this stack and no default-deny NetworkPolicy in it"]);
    });
    it("does not judge a policy whose namespace or rules are unknown during a preview", async () => {
      assert.deepEqual(await messages(namespaceDefaultDenyNetworkPolicy, [namespace("app"), resource(networkPolicyType, "np", { metadata: { name: "d", namespace: unknown }, spec: denyAll })]), []);
      assert.deepEqual(await messages(namespaceDefaultDenyNetworkPolicy, [namespace("app"), netpol("app", "d", { podSelector: {}, policyTypes: unknown })]), []);
    });
  });

  describe("Pod Security enforce label", () => {
    it("passes with restricted, fails with baseline, privileged, a typo or no label", async () => {
      assert.deepEqual(await messages(namespacePodSecurityEnforced, [namespace("app", { "pod-security.kubernetes.io/enforce": "restricted" })]), []);
      assert.deepEqual(await messages(namespacePodSecurityEnforced, [namespace("app", { "pod-security.kubernetes.io/enforce": "baseline" })]), [
        "Namespace app: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted'",
      ]);
      assert.equal((await messages(namespacePodSecurityEnforced, [namespace("app", { "pod-security.kubernetes.io/enforce": "privileged" })])).length, 1);
      assert.deepEqual(await messages(namespacePodSecurityEnforced, [namespace("app", { "pod-security.kubernetes.io/enforce": "Restricted" })]), [
        "Namespace app: label pod-security.kubernetes.io/enforce = \"Restricted\": must be 'restricted'",
      ]);
      assert.equal((await messages(namespacePodSecurityEnforced, [namespace("app")])).length, 1);
    });
    it("an exception allows baseline for the namespace it names only", async () => {
      const cfg = { "namespace-pod-security-enforced": { namespaces: ["app", "other"], minimumLevel: "restricted", exceptions: { app: "baseline" } } };
      const found = await messages(namespacePodSecurityEnforced, [
        namespace("app", { "pod-security.kubernetes.io/enforce": "baseline" }),
        namespace("other", { "pod-security.kubernetes.io/enforce": "baseline" }),
      ], cfg);
      assert.deepEqual(found, ["Namespace other: label pod-security.kubernetes.io/enforce = 'baseline': must be at least 'restricted'"]);
    });
    it("reports a missing namespace, and does not judge unknown labels", async () => {
      assert.deepEqual(await messages(namespacePodSecurityEnforced, []), ["Namespace app: not created by this stack, so nothing enforces Pod Security 'restricted' on it"]);
      assert.deepEqual(await messages(namespacePodSecurityEnforced, [namespace("app", unknown)]), []);
    });
  });
});
