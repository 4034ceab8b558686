import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { databaseUrlFromEnv } from "../../automation/store";
import { AutomationConfigError, loadAutomationConfig, checkCron, defaultConfigFile } from "../../automation/config";
import { applyOverrides, clampToPolicy, emergencyOverrides, validateOverrides } from "../../automation/overrides";
import { serviceCatalog } from "../../lib/catalog/services";
import { testConfig } from "./support/harness";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AutomationConfigError, `expected AutomationConfigError, got ${(e as Error).message}`);
    return [...e.problems];
  }
  assert.fail("expected the configuration to be rejected");
}

describe("automation config", () => {
  for (const stack of ["prod", "dev"] as const) {
    it(`accepts the shipped ${stack} configuration`, () => {
      const c = loadAutomationConfig(defaultConfigFile(stack));
      assert.equal(c.stack, stack);
      assert.deepEqual(c.profiles.map((p) => p.name), ["business-hours", "evening", "weekend", "holiday"]);
      assert.equal(c.emergency.nonCriticalToMinimum, true);
      assert.equal(c.timezone, "UTC");
      // Holiday dates come from the stack's autoscaling:schedules.holidays.
      assert.deepEqual(c.holidays, c.base.settings.schedules.holidays);
      assert.equal(c.runner.policyPackConfig, `policies/config/${stack}.json`);
      assert.equal(c.predictive.confidenceThreshold, 0.8);
    });
  }

  it("has business hours 08:00-18:00 Mon-Fri and an aggressive dev weekend", () => {
    const prod = testConfig("prod");
    const dev = testConfig("dev");
    const bh = prod.profiles.find((p) => p.name === "business-hours")!;
    assert.equal(bh.schedule, "0 8 * * 1-5");
    assert.equal(prod.profiles.find((p) => p.name === "evening")!.schedule, "0 18 * * 1-5");
    assert.equal(prod.profiles.find((p) => p.name === "holiday")!.holidays, "only");
    // dev weekend lets workers scale to zero and caps the API lower than the stack file does.
    const weekend = dev.profiles.find((p) => p.name === "weekend")!;
    assert.equal(weekend.overrides["services.saga-orchestrator.minReplicas"], 0);
    assert.ok(weekend.overrides["services.api-gateway.maxReplicas"]! < dev.base.settings.services["api-gateway"]!.maxReplicas);
  });

  it("rejects a profile override with an unknown key, naming the profile, key and value", () => {
    const problems = problemsOf(() => testConfig("prod", (d) => (d.profiles.evening.overrides["database.bogus"] = 3)));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^profiles\.evening\.overrides: database\.bogus = 3: is not an overridable setting \(allowed: services\.<service>\.minReplicas/);
  });

  it("rejects an unknown service name", () => {
    const problems = problemsOf(() => testConfig("prod", (d) => (d.profiles.weekend.overrides["services.billing.minReplicas"] = 1)));
    assert.match(problems[0]!, /profiles\.weekend\.overrides: services\.billing\.minReplicas = 1: unknown service 'billing' \(known: api-gateway/);
  });

  it("rejects out-of-range values through the stack's settings schema (parseSettings)", () => {
    const problems = problemsOf(() =>
      testConfig("prod", (d) => {
        d.profiles["business-hours"].overrides["streaming.brokers"] = 7;
        d.profiles.evening.overrides["services.api-gateway.minReplicas"] = 26;
        d.profiles.weekend.overrides["cluster.systemNodeGroup.desiredSize"] = 9;
      }),
    );
    assert.deepEqual(problems, [
      "profiles.business-hours.overrides: streaming.brokers = 7: must be an integer from 3 to 6",
      "profiles.evening.overrides: services.api-gateway.minReplicas = 26: must not exceed maxReplicas (25)",
      "profiles.weekend.overrides: cluster.systemNodeGroup.desiredSize = 9: must be between minSize (3) and maxSize (4)",
    ]);
  });

  it("rejects a value above the policy pack's ceiling", () => {
    const problems = problemsOf(() => testConfig("dev", (d) => (d.profiles["business-hours"].overrides["services.api-gateway.maxReplicas"] = 6)));
    assert.deepEqual(problems, ["profiles.business-hours.overrides: services.api-gateway.maxReplicas = 6: exceeds the policy ceiling 4 in policies/config/dev.json"]);
  });

  it("rejects non-integer values (pulumi config set --path would store them as strings)", () => {
    const problems = problemsOf(() => testConfig("prod", (d) => (d.profiles.evening.overrides["database.minAcu"] = 2.5)));
    assert.match(problems[0]!, /database\.minAcu = 2\.5: must be a whole number/);
  });

  it("rejects an invalid cron expression with croner's reason", () => {
    const problems = problemsOf(() => testConfig("prod", (d) => (d.profiles.evening.schedule = "0 25 * * 1-5")));
    assert.deepEqual(problems, ['profiles.evening.schedule = "0 25 * * 1-5": not a valid cron expression (croner: CronPattern: Invalid value for hour: 25)']);
    assert.equal(checkCron("0 8 * * 1-5", "UTC"), undefined);
    assert.match(checkCron("every day", "UTC")!, /not a valid cron expression/);
  });

  it("rejects a confidence threshold outside 0-1 and bad step limits", () => {
    const problems = problemsOf(() =>
      testConfig("prod", (d) => {
        d.predictive.confidenceThreshold = 1.2;
        d.predictive.maxStepUp = 0;
      }),
    );
    assert.deepEqual(problems, [
      "predictive.confidenceThreshold = 1.2: must be a number from 0 to 1 (decision confidence)",
      "predictive.maxStepUp = 0: must be an integer from 1 to 100",
    ]);
    assert.match(problemsOf(() => testConfig("prod", (d) => (d.predictive.confidenceThreshold = -0.1)))[0]!, /confidenceThreshold = -0.1: must be a number from 0 to 1/);
  });

  it("reports every problem at once, and unknown keys at any level", () => {
    const problems = problemsOf(() =>
      testConfig("prod", (d) => {
        d.profiles.emergency.schedule = "0 0 * * *";
        d.profiles.evening.typo = true;
        d.budget.weeklyUsd = 3000;
        d.timezone = "Europe/Berlin";
      }),
    );
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.ok(problems.includes("budget: unknown key weeklyUsd"), problems.join("\n"));
    assert.ok(problems.includes("profiles.emergency: unknown key schedule"));
    assert.ok(problems.includes("profiles.evening: unknown key typo"));
    assert.ok(problems.some((p) => /^timezone = "Europe\/Berlin": must equal the stack's autoscaling:schedules.timezone \("UTC"\)/.test(p)));
  });

  it("requires the emergency profile and at least one scheduled profile", () => {
    const problems = problemsOf(() => testConfig("prod", (d) => (d.profiles = {})));
    assert.deepEqual(problems, [
      "profiles: at least one scheduled profile is required (e.g. business-hours, evening, weekend, holiday)",
      "profiles.emergency is missing: the budget guard needs an emergency profile",
    ]);
  });

  it("prints a readable message with the file name", () => {
    try {
      testConfig("prod", (d) => (d.profiles.evening.schedule = "61 * * * *"));
      assert.fail("expected rejection");
    } catch (e) {
      assert.match((e as Error).message, /automation\/config\/prod\.yaml: invalid automation configuration \(1 problem\):\n {2}- profiles\.evening\.schedule = "61 \* \* \* \*": not a valid cron expression/);
    }
  });
});

describe("the database URL from the environment or a mounted file (DATABASE_URL_FILE)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-db-url-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("reads the file the Secret volume mounts (trailing newline trimmed), or DATABASE_URL, or neither", () => {
    const file = write("DATABASE_URL", "postgresql://automation:s3cret@db.internal:15432/automation?sslmode=verify-full\n");
    assert.equal(databaseUrlFromEnv({ DATABASE_URL_FILE: file }), "postgresql://automation:s3cret@db.internal:15432/automation?sslmode=verify-full");
    assert.equal(databaseUrlFromEnv({ DATABASE_URL: "postgres://a@b/c" }), "postgres://a@b/c");
    assert.equal(databaseUrlFromEnv({}), undefined);
  });

  it("refuses both set, a missing or empty file, or one without a PostgreSQL URL, never echoing its content", () => {
    const secretText = "not-a-url-but-secret";
    assert.throws(() => databaseUrlFromEnv({ DATABASE_URL: "postgres://a@b/c", DATABASE_URL_FILE: write("both", "postgres://a@b/c") }), /DATABASE_URL and DATABASE_URL_FILE = ".*both" are both set: set only one/);
    assert.throws(() => databaseUrlFromEnv({ DATABASE_URL_FILE: path.join(dir, "missing") }), /DATABASE_URL_FILE = ".*missing": cannot read it \(ENOENT\)/);
    assert.throws(() => databaseUrlFromEnv({ DATABASE_URL_FILE: write("empty", "\n") }), /DATABASE_URL_FILE = ".*empty": the file is empty/);
    assert.throws(
      () => databaseUrlFromEnv({ DATABASE_URL_FILE: write("garbage", secretText) }),
      (e: Error) => /does not hold a postgres:\/\/ or postgresql:\/\/ URL/.test(e.message) && !e.message.includes(secretText),
    );
  });
});

describe("overrides", () => {
  const config = testConfig("prod");

  it("apply on top of the stack's raw configuration without changing it", () => {
    const applied = applyOverrides(config.base.raw, { "services.api-gateway.minReplicas": 4, "database.minAcu": 4 });
    assert.equal((applied.values.services as any)["api-gateway"].minReplicas, 4);
    assert.equal((applied.values.database as any).minAcu, 4);
    assert.equal((config.base.raw.values.services as any)["api-gateway"].minReplicas, 2);
  });

  it("are validated with the program's settings schema", () => {
    const ok = validateOverrides(config.base, { "services.api-gateway.minReplicas": 4 });
    assert.ok(ok.ok);
    const bad = validateOverrides(config.base, { "database.minAcu": 20 });
    assert.ok(!bad.ok);
    assert.deepEqual(bad.problems.map((p) => p.key), ["database.minAcu"]);
  });

  it("are clamped to the policy ceilings and floors", () => {
    const { overrides, adjustments } = clampToPolicy(
      { "services.api-gateway.maxReplicas": 40, "services.api-gateway.minReplicas": 1, "services.webhooks.minReplicas": 0, "database.maxAcu": 32, "streaming.brokers": 9, "search.dataNodes": 8 },
      config.policyLimits,
    );
    assert.deepEqual(overrides, {
      "services.api-gateway.maxReplicas": 25,
      "services.api-gateway.minReplicas": 2, // production-api-minimum-replicas
      "services.webhooks.minReplicas": 1, // not on the scale-to-zero allow-list
      "database.maxAcu": 16,
      "streaming.brokers": 6,
      "search.dataNodes": 6,
    });
    assert.equal(adjustments.length, 6);
  });

  it("pin every non-critical catalog service to its minimum in the emergency profile", () => {
    const e = emergencyOverrides(config.base.settings);
    for (const s of serviceCatalog) {
      const min = config.base.settings.services[s.name]!.minReplicas;
      if (s.critical) {
        assert.equal(e[`services.${s.name}.minReplicas`], undefined, s.name);
        assert.equal(e[`services.${s.name}.maxReplicas`], undefined, s.name);
      } else {
        assert.equal(e[`services.${s.name}.minReplicas`], min, s.name);
        assert.equal(e[`services.${s.name}.maxReplicas`], Math.max(1, min), s.name);
      }
    }
    assert.ok(validateOverrides(config.base, e).ok);
  });
});
