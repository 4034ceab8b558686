/**
 * eks-version-in-standard-support: judged on a fixed day (`evaluationDate`), so the verdicts here do
 * not depend on the clock; the default (no date) judges today, shown with an injected clock.
 */
import { strict as assert } from "node:assert";
import { evaluatePolicies } from "../support/policyEvaluation";
import { PolicyConfigError, resolvePolicyConfig, type PolicyPackConfig } from "../../lib/policy/evaluate";
import { loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../../lib/plan/review";
import { planStack, type StackPlan } from "../support/plans";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import { calendarDay, eksVersion, eksVersionCalendar, evaluationDateEnv, isoDay, supportPhase, wallClockEnv, WallClockReadError } from "../../lib/catalog/eksVersions";
import { settingsWarnings } from "../../lib/config/settings";
import { estimateCost, resolveUsageAssumptions } from "../../lib/cost/estimate";
import { costWithinBudget } from "../../policies/rules/costWithinBudget";
import { loadStackSettings } from "../support/stacks";
import { eksVersionInStandardSupport, evaluationDay } from "../../policies/rules/eksVersionInStandardSupport";
import { repoRoot } from "../support/stacks";

const name = "eks-version-in-standard-support";
const stackUrn = "urn:pulumi:test::autoscaling::pulumi:pulumi:Stack::autoscaling-test";
const resource = (type: string, rname: string, inputs: Record<string, unknown>): PlannedResource => ({
  urn: `urn:pulumi:test::autoscaling::${type}::${rname}`, type, name: rname, parent: stackUrn, custom: true, inputs,
});
const on = (day: string): PolicyPackConfig => ({ [name]: { evaluationDate: day } });
const judge = async (resources: PlannedResource[], config: PolicyPackConfig) =>
  (await evaluatePolicies([eksVersionInStandardSupport], resources, config)).map((v) => `${v.enforcementLevel}: ${v.message}`);

describe("eks-version-in-standard-support", function () {
  this.timeout(120_000);

  it("metadata: mandatory, medium, documented; evaluationDate defaults to empty (today) and must be a date", () => {
    assert.equal(eksVersionInStandardSupport.name, name);
    assert.equal(eksVersionInStandardSupport.enforcementLevel, "mandatory");
    assert.equal(eksVersionInStandardSupport.severity, "medium");
    assert.ok((eksVersionInStandardSupport.description ?? "").length > 20 && (eksVersionInStandardSupport.remediationSteps ?? "").length > 20);
    assert.deepEqual(resolvePolicyConfig(eksVersionInStandardSupport, {}), { evaluationDate: "" });
    assert.throws(() => resolvePolicyConfig(eksVersionInStandardSupport, { [name]: { evaluationDate: "tomorrow" } }), PolicyConfigError);
    assert.throws(() => resolvePolicyConfig(eksVersionInStandardSupport, { [name]: { unknownKey: 1 } }), /unknownKey/);
  });

  it("the stacks' policy config: mandatory in prod, advisory in dev, judged on the day of the preview", () => {
    const prod = loadPolicyConfig(policyConfigPath(repoRoot, "prod"))[name];
    const dev = loadPolicyConfig(policyConfigPath(repoRoot, "dev"))[name];
    assert.deepEqual(prod, { enforcementLevel: "mandatory", evaluationDate: "" });
    assert.deepEqual(dev, { enforcementLevel: "advisory", evaluationDate: "" });
  });

  it("passes a version in standard support, up to the last day (1.34 on 2026-12-01, 1.35 on 2027-03-26)", async () => {
    assert.deepEqual(await judge([resource("eks:index:Cluster", "c", { version: "1.34" })], on("2026-12-01")), []);
    assert.deepEqual(await judge([resource("eks:index:Cluster", "c", { version: "1.35" }), resource("aws:eks/cluster:Cluster", "plain", { version: "1.35" })], on("2027-03-26")), []);
  });

  it("refuses a version past standard support: 1.34 from 2026-12-02, 1.33 (the issue's stacks) on 2026-12-01", async () => {
    assert.deepEqual(await judge([resource("eks:index:Cluster", "c", { version: "1.34" })], on("2026-12-02")), [
      "mandatory: EKS cluster c: Kubernetes 1.34 left EKS standard support on 2026-12-02 (judged on 2026-12-02): the control plane bills extended support, $0.60 instead of $0.10 per hour, until 2027-12-02",
    ]);
    assert.deepEqual(await judge([resource("aws:eks/cluster:Cluster", "plain", { version: "1.33" })], on("2026-12-01")), [
      "mandatory: EKS cluster plain: Kubernetes 1.33 left EKS standard support on 2026-07-29 (judged on 2026-12-01): the control plane bills extended support, $0.60 instead of $0.10 per hour, until 2027-07-29",
    ]);
    assert.deepEqual(await judge([resource("eks:index:Cluster", "c", { version: "1.29" })], on("2026-12-01")), [
      "mandatory: EKS cluster c: Kubernetes 1.29 left EKS extended support on 2026-03-23 (judged on 2026-12-01): EKS upgrades the cluster on its own schedule",
    ]);
  });

  it("refuses a version the calendar does not list, and a cluster without a version", async () => {
    const found = await judge([resource("eks:index:Cluster", "new", { version: "1.36" }), resource("eks:index:Cluster", "none", {})], on("2026-12-01"));
    assert.equal(found.length, 2);
    assert.match(found[0]!, /EKS cluster new: Kubernetes version "1\.36" is not in the EKS calendar \(lib\/catalog\/eksVersions\.ts, known: 1\.28, .*1\.35\)/);
    assert.match(found[1]!, /EKS cluster none: no Kubernetes version set/);
  });

  it("without evaluationDate it judges the day the pack runs (clock injected here)", () => {
    assert.equal(evaluationDay({ evaluationDate: "" }, () => new Date("2026-12-02T08:00:00Z")).toISOString(), "2026-12-02T08:00:00.000Z");
    assert.equal(evaluationDay({ evaluationDate: "2027-01-15" }, () => new Date("2030-01-01T00:00:00Z")).toISOString(), "2027-01-15T00:00:00.000Z");
    assert.throws(() => evaluationDay({ evaluationDate: "2027-02-30" }), /evaluationDate = "2027-02-30": must be a calendar date YYYY-MM-DD/);
  });

  describe("tests that do not expire (test/support/clock.ts)", () => {
    const prodCluster = () => [resource("eks:index:Cluster", "c", { version: "1.35" })];
    it("the suites forbid the wall clock: a verdict without a pinned day fails the test that asks for it", async () => {
      assert.equal(process.env[wallClockEnv], "forbidden");
      assert.equal(process.env[evaluationDateEnv], undefined);
      assert.throws(() => calendarDay("this test"), WallClockReadError);
      assert.throws(() => evaluationDay({ evaluationDate: "" }), /eks-version-in-standard-support read the wall clock/);
      assert.throws(() => settingsWarnings(loadStackSettings("prod")), /settingsWarnings read the wall clock/);
      assert.throws(() => estimateCost(prodCluster(), resolveUsageAssumptions("prod")), /the cost model .* read the wall clock/);
      // The policies themselves, in process (and served, in the integration suite): an error, not a verdict.
      await assert.rejects(judge(prodCluster(), { [name]: { evaluationDate: "" } }), /read the wall clock/);
      await assert.rejects(
        evaluatePolicies([costWithinBudget], prodCluster(), { "cost-within-budget": { environment: "prod", monthlyBudgetUsd: 12000, dailyBudgetUsd: 500 } } as never),
        /cost-within-budget read the wall clock/,
      );
    });

    it("a pinned day (the plan's --evaluation-date sets PYAIRTABLE_EVALUATION_DATE) decides instead of the clock", () => {
      process.env[evaluationDateEnv] = "2027-06-01";
      try {
        assert.equal(isoDay(calendarDay()), "2027-06-01");
        assert.match(settingsWarnings(loadStackSettings("prod"))[0]!, /standard support ended on 2027-03-27/);
        process.env[evaluationDateEnv] = "2027-13-01";
        assert.throws(() => calendarDay(), /PYAIRTABLE_EVALUATION_DATE = "2027-13-01": must be a calendar date/);
      } finally {
        delete process.env[evaluationDateEnv];
      }
      const pinned = pinEvaluationDate({ [name]: "advisory", "cost-within-budget": { monthlyBudgetUsd: 1 } }, "2027-06-01");
      assert.deepEqual(pinned, { [name]: { enforcementLevel: "advisory", evaluationDate: "2027-06-01" }, "cost-within-budget": { monthlyBudgetUsd: 1, evaluationDate: "2027-06-01" } });
    });

    it("the cost-within-budget policy prices the control plane on its evaluationDate", async () => {
      const onDay = (evaluationDate: string) =>
        evaluatePolicies([costWithinBudget], [resource("eks:index:Cluster", "c", { version: "1.35", skipDefaultNodeGroup: true })], {
          "cost-within-budget": { environment: "dev", monthlyBudgetUsd: 100, dailyBudgetUsd: 100, evaluationDate, usage: { cloudwatchUsd: 0, s3Usd: 0, dataTransferUsd: 0, lambdaUsd: 0, snsSqsUsd: 0, albCount: 0, natGbPerMonth: 0 } },
        } as never);
      assert.deepEqual((await onDay("2027-03-26")).map((v) => v.message), []);
      assert.deepEqual((await onDay("2027-03-27")).map((v) => v.message), ["monthly cost estimate $438.00 exceeds the monthly budget of $100.00"]);
    });
  });

  describe("the planned stacks", () => {
    const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
    before(async () => {
      plans.prod = await planStack("prod");
      plans.dev = await planStack("dev");
    });

    for (const stack of ["prod", "dev"] as const) {
      it(`${stack}: its version is in the calendar and passes on 2026-12-01 with the stack's policy config`, async () => {
        const version = plans[stack]!.settings.cluster.kubernetesVersion;
        const row = eksVersion(version);
        assert.ok(row, `${version} in the calendar`);
        assert.equal(supportPhase(row, new Date("2026-12-01T00:00:00Z")), "standard");
        const config = loadPolicyConfig(policyConfigPath(repoRoot, stack));
        const pinned = { ...config, [name]: { ...(config[name] as object), evaluationDate: "2026-12-01" } } as PolicyPackConfig;
        assert.deepEqual(await judge(plans[stack]!.resources, pinned), []);
      });
    }

    it("dev past standard support is an advisory finding, prod's a mandatory one", async () => {
      const moved = (stack: "prod" | "dev") => plans[stack]!.resources.map((r) => (r.type === "eks:index:Cluster" ? { ...r, inputs: { ...r.inputs, version: "1.34" } } : r));
      const pinned = (stack: "prod" | "dev") => {
        const config = loadPolicyConfig(policyConfigPath(repoRoot, stack));
        return { ...config, [name]: { ...(config[name] as object), evaluationDate: "2026-12-02" } } as PolicyPackConfig;
      };
      assert.deepEqual((await judge(moved("prod"), pinned("prod"))).map((m) => m.split(":")[0]), ["mandatory"]);
      assert.deepEqual((await judge(moved("dev"), pinned("dev"))).map((m) => m.split(":")[0]), ["advisory"]);
    });
  });

  it("the calendar is ordered, consistent (release < end of standard < end of extended) and sourced", () => {
    for (const [i, v] of eksVersionCalendar.entries()) {
      assert.ok(v.eksRelease < v.endOfStandardSupport && v.endOfStandardSupport < v.endOfExtendedSupport, v.version);
      assert.ok(v.source.length > 20, `${v.version} source`);
      if (i > 0) assert.ok(eksVersionCalendar[i - 1]!.eksRelease < v.eksRelease, `${v.version} after its predecessor`);
    }
    assert.equal(eksVersion("1.33")!.endOfStandardSupport, "2026-07-29");
    assert.equal(eksVersion("1.34")!.endOfStandardSupport, "2026-12-02");
  });
});
