import { strict as assert } from "node:assert";
import { evaluatePolicies, type PolicyPackConfig } from "../../lib/policy/evaluate";
import { planStack, type StackPlan } from "../support/plans";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { loadPolicyConfig, policyConfigPath } from "../../lib/plan/review";
import {
  validatingAdmissionPolicyBindingType,
  validatingAdmissionPolicyType,
  workloadContractAdmission,
} from "../../policies/rules/workloadContractAdmission";
import { repoRoot, stacks } from "../support/stacks";

type Any = Record<string, any>;

async function messages(resources: readonly PlannedResource[], config: PolicyPackConfig): Promise<string[]> {
  return (await evaluatePolicies([workloadContractAdmission], resources, config)).map((v) => v.message);
}

/** The plan's resources with the inputs of the resources of `type` edited (deep copies). */
function edited(resources: readonly PlannedResource[], type: string, edit: (inputs: Any) => void): PlannedResource[] {
  return resources.map((r) => {
    if (r.type !== type) return r;
    const inputs = structuredClone(r.inputs) as Any;
    edit(inputs);
    return { ...r, inputs };
  });
}

describe("policy workload-contract-admission", function () {
  this.timeout(180_000);
  const plans: Partial<Record<(typeof stacks)[number], StackPlan>> = {};
  const configs: Partial<Record<(typeof stacks)[number], PolicyPackConfig>> = {};
  before(async () => {
    for (const stack of stacks) {
      plans[stack] = await planStack(stack);
      configs[stack] = loadPolicyConfig(policyConfigPath(repoRoot, stack));
    }
  });

  for (const stack of stacks) {
    it(`passes the shipped ${stack} stack with its policy config`, async () => {
      assert.deepEqual(await messages(plans[stack]!.resources, configs[stack]!), []);
    });
  }

  it("fails a stack without the admission policy", async () => {
    const without = plans.prod!.resources.filter((r) => r.type !== validatingAdmissionPolicyType);
    assert.deepEqual(await messages(without, configs.prod!), ["no ValidatingAdmissionPolicy named 'pyairtable-workload-contract': the workload contract is not enforced in the cluster"]);
  });

  it("fails a policy without a binding", async () => {
    const without = plans.prod!.resources.filter((r) => r.type !== validatingAdmissionPolicyBindingType);
    assert.deepEqual(await messages(without, configs.prod!), ["ValidatingAdmissionPolicy pyairtable-workload-contract has no ValidatingAdmissionPolicyBinding: an unbound policy checks nothing"]);
  });

  it("fails the dev binding (Warn, Audit) under the prod config (Deny)", async () => {
    const found = await messages(plans.dev!.resources, configs.prod!);
    assert.ok(found.some((m) => m.includes('validationActions ["Audit","Warn"], but this stack requires ["Deny"]')), found.join("\n"));
  });

  it("fails a policy whose capacity-spread check was removed", async () => {
    const broken = edited(plans.prod!.resources, validatingAdmissionPolicyType, (p) => {
      p.spec.validations = p.spec.validations.filter((v: Any) => !v.expression.includes("capacity-spread"));
    });
    assert.deepEqual(await messages(broken, configs.prod!), ["ValidatingAdmissionPolicy pyairtable-workload-contract: its validations do not check 'pyairtable.io/capacity-spread'"]);
  });

  it("fails a binding that leaves an application namespace out", async () => {
    const broken = edited(plans.prod!.resources, validatingAdmissionPolicyBindingType, (b) => {
      b.spec.matchResources.namespaceSelector.matchExpressions[0].values = ["pyairtable-api"];
    });
    assert.deepEqual(await messages(broken, configs.prod!), ['ValidatingAdmissionPolicy pyairtable-workload-contract: no binding with validationActions ["Deny"] covers namespace(s) pyairtable-workers']);
  });

  it("counts a binding without a namespace selector as covering every namespace", async () => {
    const broad = edited(plans.prod!.resources, validatingAdmissionPolicyBindingType, (b) => { delete b.spec.matchResources; });
    assert.deepEqual(await messages(broad, configs.prod!), []);
  });
});
