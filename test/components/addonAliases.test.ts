/**
 * The add-on split (issue 12) must not replace or delete anything in an existing stack: every
 * resource under an add-on component is aliased to the URN it had when the ClusterAddons component
 * parented it directly, and the plan comparison (lib/plan/planDiff.ts, scripts/plan-diff.ts) sees a
 * moved resource with such an alias as unchanged and one without as deleted and created.
 */
import { strict as assert } from "node:assert";
import { planStack } from "../support/plans";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { diffPlans } from "../../lib/plan/planDiff";

const addonsType = "pyairtable:cluster:ClusterAddons";
/** Add-ons that came after the split (issue 19): they never had a URN under ClusterAddons, so no alias. */
const addedAfterSplit = new Set(["pyairtable:addons:EbsCsiDriver", "pyairtable:addons:ExternalSecrets", "pyairtable:addons:CertManager", "pyairtable:addons:Istio"]);

describe("add-on components keep their children's pre-split URNs", () => {
  for (const stack of ["prod", "dev"] as const) {
    it(`${stack}: every add-on child is aliased to its URN directly under ClusterAddons`, async () => {
      const { resources } = await planStack(stack);
      const addons = resources.filter((r) => r.type === addonsType);
      assert.equal(addons.length, 1, `expected one ${addonsType} in ${stack}`);
      const root = addons[0]!;
      const byUrn = new Map(resources.map((r) => [r.urn, r]));
      const addonComponents = resources.filter((r) => r.parent === root.urn && r.type.startsWith("pyairtable:addons:") && !addedAfterSplit.has(r.type));
      assert.ok(addonComponents.length >= 9, `expected the add-on components under ClusterAddons, found ${addonComponents.map((r) => r.type).join(", ")}`);
      const prefix = root.urn.split("::").slice(0, 3).join("::"); // urn:pulumi:<stack>::<project>::<qualified type of ClusterAddons>
      const formerUrns = new Set<string>();
      let moved = 0;
      for (const r of resources) {
        const parent = byUrn.get(r.parent);
        if (!parent || !addonComponents.includes(parent)) continue;
        const expected = `${prefix}$${r.type}::${r.name}`;
        // (The Kubernetes SDK adds its own aliases for other API versions of a kind; those keep the parent.)
        assert.ok(r.aliases?.includes(expected), `${r.urn}: must be aliased to ${expected}, has ${JSON.stringify(r.aliases)}`);
        assert.ok(!byUrn.has(expected), `${expected}: an alias must not name a resource of the new plan`);
        assert.ok(!formerUrns.has(expected), `${expected}: aliased twice`);
        formerUrns.add(expected);
        moved++;
      }
      assert.ok(moved >= 60, `expected the add-ons' resources to move, found ${moved}`);
      // Nothing else moved: every other alias keeps the resource's parent chain (API-version aliases only).
      const chain = (urn: string) => urn.split("::")[2]!.split("$").slice(0, -1).join("$");
      // The new add-ons' children carry no alias at all.
      const added = resources.filter((r) => r.parent === root.urn && addedAfterSplit.has(r.type));
      assert.ok(added.length >= 3, "the issue-19 add-on components are under ClusterAddons");
      assert.deepEqual(resources.filter((r) => added.some((c) => c.urn === r.parent) && r.custom && (r.aliases ?? []).some((a) => a.startsWith(`${prefix}$`) && !a.includes("$pyairtable:addons:"))).map((r) => r.urn), []);
      const others = resources.filter((r) => !addonComponents.some((c) => c.urn === r.parent)).flatMap((r) => (r.aliases ?? []).filter((a) => chain(a) !== chain(r.urn)).map((a) => `${r.urn} -> ${a}`));
      assert.deepEqual(others, []);
    });
  }
});

describe("plan comparison (planDiff)", () => {
  const res = (urn: string, extra: Partial<PlannedResource> = {}): PlannedResource => {
    const [, , , tail] = urn.split("::");
    const qualified = urn.split("::")[2]!;
    return { urn, type: qualified.split("$").pop()!, name: tail!, parent: "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", custom: true, inputs: { a: 1 }, dependencies: [], propertyDependencies: {}, ...extra };
  };
  const stack = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s";
  const oldUrn = "urn:pulumi:s::p::my:C$aws:sqs/queue:Queue::q";
  const newUrn = "urn:pulumi:s::p::my:C$my:D$aws:sqs/queue:Queue::q";
  const c = res("urn:pulumi:s::p::my:C::c", { type: "pyairtable:x:C", custom: false });
  const d = { ...res("urn:pulumi:s::p::my:C$my:D::c"), type: "pyairtable:x:D", custom: false, parent: c.urn };
  const cBefore = { ...c, type: "pyairtable:x:C", parent: stack };

  it("counts a resource moved under a new component with an alias as moved, not deleted", () => {
    const diff = diffPlans([cBefore, res(oldUrn, { parent: c.urn })], [cBefore, d, res(newUrn, { parent: d.urn, aliases: [oldUrn] })]);
    assert.deepEqual({ deleted: diff.deleted, created: diff.created, changed: diff.changed, moved: diff.moved }, { deleted: [], created: [], changed: [], moved: 1 });
    assert.deepEqual(diff.newComponents, [d.urn]);
  });

  it("reports a move without an alias as a deletion and a creation", () => {
    const diff = diffPlans([cBefore, res(oldUrn, { parent: c.urn })], [cBefore, d, res(newUrn, { parent: d.urn })]);
    assert.deepEqual(diff.deleted, [oldUrn]);
    assert.deepEqual(diff.created, [newUrn]);
  });

  it("reports changed inputs and dependencies of a moved resource", () => {
    const diff = diffPlans(
      [cBefore, res(oldUrn, { parent: c.urn, dependencies: [c.urn] })],
      [cBefore, d, res(newUrn, { parent: d.urn, aliases: [oldUrn], inputs: { a: 2 }, dependencies: [c.urn] })],
    );
    assert.deepEqual(diff.changed, [`${oldUrn}: .inputs.a`]);
  });
});
