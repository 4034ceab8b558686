import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { planStack, type StackPlan } from "./support/plans";
import { applyOrder, kubernetesObjects, reviewFilesFromObjects, writeManifests } from "../lib/plan/manifests";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { serviceCatalog } from "../lib/catalog/services";
import { renderAlertmanagerFileForReview } from "../components/monitoring";
import { stacks } from "./support/stacks";

function tool(name: string, ctx: Mocha.Context): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
  if (!found) {
    if (process.env.CI) assert.fail(`${name} is not installed: .ci/run must install it`);
    console.log(`      (skipped: ${name} is not on PATH; CI installs it)`);
    ctx.skip();
  }
  return found;
}

for (const stack of stacks) {
  describe(`rendered manifests (${stack})`, function () {
    this.timeout(120_000);
    let plan: StackPlan;
    let dir: string;
    let files: string[];
    before(async () => {
      plan = await planStack(stack);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `manifests-${stack}-`));
      const objects = kubernetesObjects(plan.resources);
      const alertmanager = renderAlertmanagerFileForReview({ environment: plan.settings.environment, smtp: {}, region: "us-east-1" });
      files = writeManifests(dir, plan.resources, [...reviewFilesFromObjects(objects), { name: "alertmanager.yml", content: alertmanager }]);
    });

    const objectsOnDisk = () =>
      files.filter((f) => /\/\d\d-[a-z0-9]+\.yaml$/.test(f)).flatMap((f) => parseAllDocuments(fs.readFileSync(f, "utf8")).map((d) => d.toJS() as Record<string, any>));

    it("writes one file per kind, in apply order", () => {
      const kinds = files.filter((f) => /\/\d\d-/.test(f)).map((f) => path.basename(f).replace(/^\d\d-|\.yaml$/g, ""));
      const ranks = kinds.map((k) => applyOrder.findIndex((a) => a.toLowerCase() === k));
      assert.ok(ranks.every((r) => r >= 0), `unordered kinds: ${kinds.join(", ")}`);
      assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
      assert.equal(kinds[0], "namespace");
    });

    it("holds a scaler, a VPA and a PDB for each of the 11 services", () => {
      const objects = objectsOnDisk();
      assert.equal(serviceCatalog.length, 11);
      for (const service of serviceCatalog) {
        const named = objects.filter((o) => o.metadata?.name === service.name && o.metadata?.namespace === service.namespace);
        const kinds = named.map((o) => o.kind).sort();
        const scaler = service.scaler === "hpa" ? "HorizontalPodAutoscaler" : "ScaledObject";
        // Stacks with reference Deployments (dev) also hold the scaler's target.
        const reference = plan.settings.workloads.referenceDeployments ? ["Deployment"] : [];
        assert.deepEqual(kinds, [scaler, "PodDisruptionBudget", "VerticalPodAutoscaler", ...reference].sort(), `${service.name}: ${kinds.join(", ")}`);
      }
    });

    it("every object validates against the real schemas", () => {
      const objects = objectsOnDisk();
      assert.ok(objects.length > 50);
      const failures = objects.map(validateManifest).filter((r) => !r.ok);
      assert.deepEqual(failures.flatMap((f) => f.errors), []);
    });

    it("holds the rules, the Alertmanager config and the four dashboards", () => {
      const names = files.map((f) => path.basename(f));
      assert.ok(names.includes("prometheus-rules.yaml"));
      assert.ok(names.includes("alertmanager.yml"));
      const dashboards = names.filter((n) => n.startsWith("dashboard-"));
      assert.equal(dashboards.length, 4);
      for (const d of dashboards) assert.ok(JSON.parse(fs.readFileSync(path.join(dir, d), "utf8")).panels.length > 0);
      assert.ok(!fs.readFileSync(path.join(dir, "alertmanager.yml"), "utf8").includes("offline-plan.invalid"), "review copy must use its own placeholders");
    });

    it("promtool accepts the rule file", function () {
      if (!tool("promtool", this)) return;
      const r = spawnSync("promtool", ["check", "rules", path.join(dir, "prometheus-rules.yaml")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("amtool accepts the Alertmanager config", function () {
      if (!tool("amtool", this)) return;
      const r = spawnSync("amtool", ["check-config", path.join(dir, "alertmanager.yml")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("a Secret's redacted data stays a well-formed object", () => {
      const secrets = objectsOnDisk().filter((o) => o.kind === "Secret");
      assert.ok(secrets.length > 0);
      for (const s of secrets) {
        if (s.stringData !== undefined) assert.equal(typeof s.stringData, "object");
        assert.ok(!JSON.stringify(s).includes("offline-plan-placeholder"), "a secret placeholder leaked");
      }
    });
  });
}
