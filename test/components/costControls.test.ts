import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { CostControls, type CostControlsArgs } from "../../components/costControls";
import { settingsWithSecrets } from "../support/stacks";
import type { PlatformSettings } from "../../lib/config/settings";
import { runUnderMocks, type MockRunResult, type PlannedResource } from "../../lib/plan/mockRuntime";

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

const alertEmail = "oncall@example.invalid";
const accountId = "123456789012";

function settingsFor(stack: "prod" | "dev"): PlatformSettings {
  return settingsWithSecrets(stack, { alertEmail });
}

function argsFor(settings: PlatformSettings, extra: Partial<CostControlsArgs> = {}): CostControlsArgs {
  return { ...settings.budgets, environment: settings.environment, alertEmail: settings.secrets.alertEmail, ...extra };
}

interface Notification {
  notificationType: string;
  comparisonOperator: string;
  thresholdType: string;
  threshold: number;
  subscriberSnsTopicArns?: string[];
  subscriberEmailAddresses?: string[];
}

interface Run extends MockRunResult {
  /** Budget notifications as the Budget resources received them, secrets unwrapped (test-only view). */
  readonly notifications: Record<string, Notification[]>;
}

/**
 * Builds the component under the mock runtime. The recorded inputs hoist a nested secret to the whole
 * property (the e-mail subscriber makes `notifications` "[secret]"), so a stack transformation also
 * captures each Budget's `notifications` input and returns it unwrapped for the threshold checks.
 */
async function build(stack: "prod" | "dev", extra: Partial<CostControlsArgs> = {}): Promise<Run> {
  const settings = settingsFor(stack);
  const captured: Record<string, pulumi.Output<unknown>> = {};
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      if (t.type === "aws:budgets/budget:Budget") captured[t.name] = pulumi.unsecret(pulumi.output(t.props.notifications));
      return undefined;
    });
    const c = new CostControls(`${stack}-cost`, argsFor(settings, extra));
    return {
      costAlertTopicArn: c.costAlertTopicArn,
      emergencyTopicArn: c.emergencyTopicArn,
      emergencyQueueUrl: c.emergencyQueueUrl,
      emergencyQueueArn: c.emergencyQueueArn,
      dailyBudgetName: c.dailyBudgetName,
      monthlyBudgetName: c.monthlyBudgetName,
      weeklyLimitUsd: c.weeklyLimitUsd,
      anomalyMonitorArn: c.anomalyMonitorArn,
      kmsKeyArn: c.kmsKeyArn,
      notifications: pulumi.output(captured),
    };
  });
  return { ...result, notifications: result.outputs.notifications as Record<string, Notification[]> };
}

function ofType(run: MockRunResult, type: string): PlannedResource[] {
  return run.resources.filter((r) => r.type === type);
}

function one(run: MockRunResult, type: string, name: string): PlannedResource {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length} (have: ${run.resources.map((r) => r.name).join(", ")})`);
  return found[0]!;
}

interface Statement {
  Sid?: string;
  Effect: string;
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

function statements(policy: unknown): Statement[] {
  assert.equal(typeof policy, "string", "policy must be a JSON string");
  return (JSON.parse(policy as string) as { Statement: Statement[] }).Statement;
}

const servicePrincipals = (s: Statement): string[] => {
  const p = s.Principal as { Service?: string | string[] };
  return p && typeof p === "object" && p.Service !== undefined ? ([] as string[]).concat(p.Service) : [];
};

/** Design values per stack: prod from the architecture document, dev from Pulumi.dev.yaml. */
const expected = {
  prod: { daily: 500, weekly: 3000, monthly: 12000, warning: 80, emergency: 95, anomaly: 100, dailyEmergencyUsd: 475, monthlyEmergencyUsd: 11400 },
  dev: { daily: 40, weekly: 250, monthly: 1000, warning: 80, emergency: 95, anomaly: 25, dailyEmergencyUsd: 38, monthlyEmergencyUsd: 950 },
} as const;

// ---------------------------------------------------------------------------------------------------------
// Prod and dev
// ---------------------------------------------------------------------------------------------------------

for (const stack of ["prod", "dev"] as const) {
  describe(`CostControls (${stack})`, () => {
    const want = expected[stack];
    const name = `${stack}-cost`;
    let run: Run;
    let costAlertsArn: string;
    let emergencyArn: string;
    let keyArn: string;

    before(async () => {
      run = await build(stack);
      costAlertsArn = run.outputs.costAlertTopicArn as string;
      emergencyArn = run.outputs.emergencyTopicArn as string;
      keyArn = run.outputs.kmsKeyArn as string;
      assert.ok(costAlertsArn && emergencyArn && keyArn && costAlertsArn !== emergencyArn);
    });

    it("reads the design's budget numbers from the stack file", () => {
      const b = settingsFor(stack).budgets;
      assert.deepEqual(
        { daily: b.dailyUsd, weekly: b.weeklyUsd, monthly: b.monthlyUsd, warning: b.warningPercent, emergency: b.emergencyPercent, anomaly: b.anomalyImpactUsd },
        { daily: want.daily, weekly: want.weekly, monthly: want.monthly, warning: want.warning, emergency: want.emergency, anomaly: want.anomaly },
      );
    });

    it("creates a DAILY and a MONTHLY cost budget with the design's limits, filtered on the environment tag", () => {
      const daily = one(run, "aws:budgets/budget:Budget", `${name}-daily`).inputs;
      const monthly = one(run, "aws:budgets/budget:Budget", `${name}-monthly`).inputs;
      assert.equal(ofType(run, "aws:budgets/budget:Budget").length, 2, "AWS Budgets has no weekly period: only daily and monthly");
      for (const [b, unit, limit] of [[daily, "DAILY", want.daily], [monthly, "MONTHLY", want.monthly]] as const) {
        assert.equal(b.budgetType, "COST");
        assert.equal(b.timeUnit, unit);
        assert.equal(b.limitAmount, String(limit));
        assert.equal(b.limitUnit, "USD");
        assert.deepEqual(b.costFilters, [{ name: "TagKeyValue", values: [`user:environment$${stack}`] }]);
      }
      assert.equal(run.outputs.dailyBudgetName, `${name}-daily`);
      assert.equal(run.outputs.monthlyBudgetName, `${name}-monthly`);
    });

    it("notifies the daily budget at 80% (cost-alerts) and 95% (emergency topic, mirrored to cost-alerts), never FORECASTED", () => {
      const n = run.notifications[`${name}-daily`]!;
      assert.ok(Array.isArray(n), "daily notifications captured");
      assert.equal(n.filter((x) => x.notificationType === "FORECASTED").length, 0, "AWS rejects FORECASTED notifications on daily budgets");
      assert.deepEqual(sortNotifications(n), sortNotifications([
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "PERCENTAGE", threshold: want.warning, subscriberSnsTopicArns: [costAlertsArn] },
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "PERCENTAGE", threshold: want.emergency, subscriberSnsTopicArns: [emergencyArn] },
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "ABSOLUTE_VALUE", threshold: want.dailyEmergencyUsd, subscriberSnsTopicArns: [costAlertsArn] },
      ]));
    });

    it("notifies the monthly budget at 80%, 95% (emergency topic, mirrored to cost-alerts) and FORECASTED 100% to cost-alerts", () => {
      const n = run.notifications[`${name}-monthly`]!;
      assert.deepEqual(sortNotifications(n), sortNotifications([
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "PERCENTAGE", threshold: want.warning, subscriberSnsTopicArns: [costAlertsArn] },
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "PERCENTAGE", threshold: want.emergency, subscriberSnsTopicArns: [emergencyArn] },
        { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", thresholdType: "ABSOLUTE_VALUE", threshold: want.monthlyEmergencyUsd, subscriberSnsTopicArns: [costAlertsArn] },
        { notificationType: "FORECASTED", comparisonOperator: "GREATER_THAN", thresholdType: "PERCENTAGE", threshold: 100, subscriberSnsTopicArns: [costAlertsArn] },
      ]));
    });

    it("respects AWS Budgets' limit of one SNS subscriber per notification", () => {
      for (const list of Object.values(run.notifications)) {
        for (const n of list) assert.ok((n.subscriberSnsTopicArns ?? []).length <= 1, `notification at ${n.threshold} has ${n.subscriberSnsTopicArns?.length} SNS subscribers`);
        assert.ok(list.length <= 10, "AWS Budgets allows at most 10 notifications per budget");
      }
    });

    it("keeps the alert e-mail secret in every recorded input", () => {
      const email = one(run, "aws:sns/topicSubscription:TopicSubscription", `${name}-cost-alerts-email`).inputs;
      assert.equal(email.protocol, "email");
      assert.equal(email.endpoint, "[secret]");
      assert.equal(email.topic, costAlertsArn);
      // The e-mail lives only on the topic subscription, so budget thresholds stay readable.
      for (const b of ofType(run, "aws:budgets/budget:Budget")) assert.ok(Array.isArray(b.inputs.notifications), `${b.name}: notifications must be visible, not secret`);
      assert.ok(!JSON.stringify(run.resources).includes(alertEmail), "the address must not appear in plain text in any input");
    });

    it("covers the weekly limit with anomaly detection at the anomaly impact threshold, IMMEDIATE to cost-alerts", () => {
      const services = one(run, "aws:costexplorer/anomalyMonitor:AnomalyMonitor", `${name}-services`).inputs;
      assert.equal(services.monitorType, "DIMENSIONAL");
      assert.equal(services.monitorDimension, "SERVICE");
      const sub = one(run, "aws:costexplorer/anomalySubscription:AnomalySubscription", `${name}-anomalies`).inputs;
      assert.equal(sub.frequency, "IMMEDIATE");
      assert.deepEqual(sub.subscribers, [{ type: "SNS", address: costAlertsArn }]);
      assert.deepEqual(sub.thresholdExpression, {
        dimension: { key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE", matchOptions: ["GREATER_THAN_OR_EQUAL"], values: [String(want.anomaly)] },
      });
      const monitors = sub.monitorArnLists as string[];
      assert.ok(monitors.includes(run.outputs.anomalyMonitorArn as string));
      assert.equal(run.outputs.weeklyLimitUsd, want.weekly);
    });

    if (stack === "prod") {
      it("adds a custom anomaly monitor on the environment tag in prod, subscribed too", () => {
        const tagMonitor = one(run, "aws:costexplorer/anomalyMonitor:AnomalyMonitor", `${name}-tag`).inputs;
        assert.equal(tagMonitor.monitorType, "CUSTOM");
        const spec = JSON.parse(tagMonitor.monitorSpecification as string) as { Tags: { Key: string; Values: string[] } };
        assert.deepEqual({ key: spec.Tags.Key, values: spec.Tags.Values }, { key: "environment", values: ["prod"] });
        const sub = one(run, "aws:costexplorer/anomalySubscription:AnomalySubscription", `${name}-anomalies`).inputs;
        assert.equal((sub.monitorArnLists as string[]).length, 2);
      });
    } else {
      it("uses only the services monitor in dev", () => {
        assert.equal(ofType(run, "aws:costexplorer/anomalyMonitor:AnomalyMonitor").length, 1);
        const sub = one(run, "aws:costexplorer/anomalySubscription:AnomalySubscription", `${name}-anomalies`).inputs;
        assert.deepEqual(sub.monitorArnLists, [run.outputs.anomalyMonitorArn]);
      });
    }

    it("encrypts both topics and both queues with the component's rotating customer-managed key", () => {
      const key = one(run, "aws:kms/key:Key", `${name}-key`).inputs;
      assert.equal(key.enableKeyRotation, true);
      const topics = ofType(run, "aws:sns/topic:Topic");
      assert.deepEqual(topics.map((t) => t.name).sort(), [`${name}-budget-emergency`, `${name}-cost-alerts`]);
      for (const t of topics) assert.equal(t.inputs.kmsMasterKeyId, keyArn, `${t.name} must use the component key`);
      const queues = ofType(run, "aws:sqs/queue:Queue");
      assert.deepEqual(queues.map((q) => q.name).sort(), [`${name}-emergency`, `${name}-emergency-dlq`]);
      for (const q of queues) {
        assert.equal(q.inputs.kmsMasterKeyId, keyArn, `${q.name} must use the component key`);
        assert.notEqual(q.inputs.sqsManagedSseEnabled, true);
      }
    });

    it("lets Budgets, Cost Anomaly Detection and SNS use the key", () => {
      const s = statements(one(run, "aws:kms/key:Key", `${name}-key`).inputs.policy);
      const users = s.filter((x) => x.Effect === "Allow").flatMap(servicePrincipals);
      for (const p of ["budgets.amazonaws.com", "costalerts.amazonaws.com", "sns.amazonaws.com"]) assert.ok(users.includes(p), `key policy must admit ${p}`);
    });

    it("lets only this account's Budgets (and Cost Anomaly Detection on cost-alerts) publish to the topics", () => {
      const costPolicy = one(run, "aws:sns/topicPolicy:TopicPolicy", `${name}-cost-alerts-policy`).inputs;
      const emergencyPolicy = one(run, "aws:sns/topicPolicy:TopicPolicy", `${name}-budget-emergency-policy`).inputs;
      assert.equal(costPolicy.arn, costAlertsArn);
      assert.equal(emergencyPolicy.arn, emergencyArn);
      const check = (policy: unknown, arn: string, publishers: string[]) => {
        const s = statements(policy);
        const services = s.filter((x) => x.Effect === "Allow" && servicePrincipals(x).length > 0);
        assert.deepEqual(services.flatMap(servicePrincipals).sort(), [...publishers].sort());
        for (const x of services) {
          assert.equal(x.Action, "SNS:Publish");
          assert.equal(x.Resource, arn);
          assert.equal(x.Condition?.StringEquals?.["aws:SourceAccount"], accountId, `${servicePrincipals(x)} must be limited with aws:SourceAccount`);
        }
        assert.ok(s.some((x) => x.Effect === "Deny" && x.Condition?.Bool?.["aws:SecureTransport"] === "false"), "non-TLS publishing denied");
        assert.ok(!s.some((x) => x.Effect === "Allow" && x.Principal === "*"), "no anonymous allow");
      };
      check(costPolicy.policy, costAlertsArn, ["budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudwatch.amazonaws.com"]);
      check(emergencyPolicy.policy, emergencyArn, ["budgets.amazonaws.com"]);
    });

    it("fans the emergency topic out to the queue, whose policy admits only that topic", () => {
      const queueArn = run.outputs.emergencyQueueArn as string;
      const sub = one(run, "aws:sns/topicSubscription:TopicSubscription", `${name}-emergency-queue`).inputs;
      assert.deepEqual({ topic: sub.topic, protocol: sub.protocol, endpoint: sub.endpoint }, { topic: emergencyArn, protocol: "sqs", endpoint: queueArn });
      const policy = one(run, "aws:sqs/queuePolicy:QueuePolicy", `${name}-emergency-policy`).inputs;
      assert.equal(policy.queueUrl, run.outputs.emergencyQueueUrl);
      const allows = statements(policy.policy).filter((x) => x.Effect === "Allow");
      assert.equal(allows.length, 1, "exactly one allow statement");
      assert.deepEqual(servicePrincipals(allows[0]!), ["sns.amazonaws.com"]);
      assert.equal(allows[0]!.Action, "sqs:SendMessage");
      assert.equal(allows[0]!.Resource, queueArn);
      assert.deepEqual(allows[0]!.Condition, { ArnEquals: { "aws:SourceArn": emergencyArn } });
      assert.ok(statements(policy.policy).some((x) => x.Effect === "Deny" && x.Condition?.Bool?.["aws:SecureTransport"] === "false"));
      assert.equal(ofType(run, "aws:sns/topicSubscription:TopicSubscription").filter((s) => s.inputs.protocol === "https").length, 0, "no webhook unless one is given");
    });

    it("dead-letters emergency messages the service cannot process, and alarms on them", () => {
      const queue = one(run, "aws:sqs/queue:Queue", `${name}-emergency`).inputs;
      const dlqArn = `arn:aws:mock:us-east-1:${accountId}:Queue/${name}-emergency-dlq`;
      const redrive = JSON.parse(queue.redrivePolicy as string) as { deadLetterTargetArn: string; maxReceiveCount: number };
      assert.equal(redrive.deadLetterTargetArn, dlqArn);
      assert.ok(redrive.maxReceiveCount >= 1 && redrive.maxReceiveCount <= 10);
      const allow = JSON.parse(one(run, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", `${name}-emergency-dlq-redrive-allow`).inputs.redriveAllowPolicy as string);
      assert.deepEqual(allow, { redrivePermission: "byQueue", sourceQueueArns: [run.outputs.emergencyQueueArn] });
      const alarms = ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm");
      assert.deepEqual(alarms.map((a) => (a.inputs.dimensions as { QueueName: string }).QueueName).sort(), [`${name}-emergency`, `${name}-emergency-dlq`]);
      for (const a of alarms) assert.deepEqual(a.inputs.alarmActions, [costAlertsArn]);
    });

    it("parents every resource to the component and names it after the component", () => {
      const component = one(run, "pyairtable:cost:CostControls", name);
      const children = run.resources.filter((r) => r.custom);
      assert.ok(children.length > 0);
      for (const r of children) {
        assert.ok(r.urn.includes("pyairtable:cost:CostControls$"), `${r.type} ${r.name} must be a child of the component`);
        assert.ok(r.name.startsWith(`${name}-`), `${r.name} must start with ${name}-`);
      }
      assert.ok(component.urn.endsWith(`::${name}`));
    });
  });
}

describe("CostControls options", () => {
  it("adds an HTTPS subscription to the emergency topic when a webhook is given, keeping the URL secret", async () => {
    const run = await build("prod", { emergencyWebhookUrl: "https://automation.example.invalid/sns/budget-emergency" });
    const hooks = ofType(run, "aws:sns/topicSubscription:TopicSubscription").filter((s) => s.inputs.protocol === "https");
    assert.equal(hooks.length, 1);
    const hook = hooks[0]!.inputs;
    assert.equal(hook.topic, run.outputs.emergencyTopicArn);
    assert.equal(hook.endpoint, "[secret]");
    assert.equal(hook.rawMessageDelivery, false, "the envelope carries the signature the service verifies");
    assert.match(hook.redrivePolicy as string, /emergency-dlq/);
    const dlqPolicy = statements(one(run, "aws:sqs/queuePolicy:QueuePolicy", "prod-cost-emergency-dlq-policy").inputs.policy);
    assert.deepEqual(dlqPolicy.filter((x) => x.Effect === "Allow").map((x) => x.Condition), [{ ArnEquals: { "aws:SourceArn": run.outputs.emergencyTopicArn } }]);
  });

  it("filters budgets and the tag monitor on a custom cost allocation tag", async () => {
    const run = await build("prod", { costAllocationTag: { key: "cost-center", value: "pyairtable-prod" } });
    for (const b of ofType(run, "aws:budgets/budget:Budget")) {
      assert.deepEqual(b.inputs.costFilters, [{ name: "TagKeyValue", values: ["user:cost-center$pyairtable-prod"] }]);
    }
    const spec = JSON.parse(one(run, "aws:costexplorer/anomalyMonitor:AnomalyMonitor", "prod-cost-tag").inputs.monitorSpecification as string);
    assert.deepEqual(spec.Tags.Values, ["pyairtable-prod"]);
    assert.equal(spec.Tags.Key, "cost-center");
  });

  it("subscribes an existing services monitor instead of creating a second one (one per account)", async () => {
    const existing = `arn:aws:ce::${accountId}:anomalymonitor/existing`;
    const run = await build("dev", { serviceAnomalyMonitorArn: existing });
    assert.equal(ofType(run, "aws:costexplorer/anomalyMonitor:AnomalyMonitor").length, 0);
    assert.deepEqual(one(run, "aws:costexplorer/anomalySubscription:AnomalySubscription", "dev-cost-anomalies").inputs.monitorArnLists, [existing]);
    assert.equal(run.outputs.anomalyMonitorArn, existing);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Invalid arguments
// ---------------------------------------------------------------------------------------------------------

describe("CostControls argument validation", () => {
  const base = () => argsFor(settingsFor("prod"));

  /** Builds with bad args; returns the error and what was registered besides the component. */
  async function reject(overrides: Partial<CostControlsArgs>): Promise<{ message: string; children: PlannedResource[] }> {
    let error: Error | undefined;
    const run = await runUnderMocks({ project: "autoscaling", stack: "prod", config: { "aws:region": "us-east-1" } }, async () => {
      try {
        new CostControls("bad-cost", { ...base(), ...overrides });
      } catch (e) {
        error = e as Error;
      }
    });
    assert.ok(error, `expected ${JSON.stringify(overrides)} to be rejected`);
    return { message: error.message, children: run.resources.filter((r) => r.custom) };
  }

  const cases: Array<[string, Partial<CostControlsArgs>, RegExp]> = [
    ["warning at or above emergency", { warningPercent: 95, emergencyPercent: 95 }, /warningPercent = 95: must be below emergencyPercent \(95\)/],
    ["daily above weekly", { dailyUsd: 3500 }, /dailyUsd = 3500: must not exceed weeklyUsd \(3000\)/],
    ["weekly above monthly", { weeklyUsd: 13000 }, /weeklyUsd = 13000: must not exceed monthlyUsd \(12000\)/],
    ["zero daily budget", { dailyUsd: 0 }, /dailyUsd = 0: must be a number greater than 0/],
    ["negative monthly budget", { monthlyUsd: -1 }, /monthlyUsd = -1: must be a number greater than 0/],
    ["NaN anomaly impact", { anomalyImpactUsd: Number.NaN }, /anomalyImpactUsd = NaN: must be a number greater than 0/],
    ["emergency above 100%", { emergencyPercent: 120 }, /emergencyPercent = 120: must be a number greater than 0 and at most 100/],
    ["unknown environment", { environment: "staging" as "prod" }, /environment = "staging": must be one of prod, dev/],
    ["tag key with \\$", { costAllocationTag: { key: "env$x", value: "prod" } }, /costAllocationTag.key = "env\$x": must be an AWS tag key/],
    ["reserved tag key", { costAllocationTag: { key: "aws:createdBy", value: "prod" } }, /costAllocationTag.key = "aws:createdBy"/],
    ["empty tag value", { costAllocationTag: { key: "environment", value: "" } }, /costAllocationTag.value = "": must be an AWS tag value/],
    ["plain-http webhook", { emergencyWebhookUrl: "http://automation.internal/hook" }, /emergencyWebhookUrl = \[secret\]: must be an https:\/\/ URL/],
  ];
  for (const [what, overrides, pattern] of cases) {
    it(`rejects ${what} before creating any resource`, async () => {
      const { message, children } = await reject(overrides);
      assert.match(message, pattern);
      assert.match(message, /^CostControls "bad-cost": invalid arguments/);
      assert.deepEqual(children.map((c) => c.name), []);
    });
  }

  it("rejects a malformed e-mail without echoing it", async () => {
    const { message, children } = await reject({ alertEmail: "not-an-address" });
    assert.match(message, /alertEmail = \[secret\]: must be an e-mail address/);
    assert.ok(!message.includes("not-an-address"));
    assert.equal(children.length, 0);
  });

  it("lists every problem at once", async () => {
    const { message } = await reject({ dailyUsd: 0, warningPercent: 99 });
    assert.match(message, /invalid arguments \(2\)/);
    assert.match(message, /dailyUsd = 0/);
    assert.match(message, /warningPercent = 99/);
  });

  it("accepts the prod and dev settings unchanged", async () => {
    for (const stack of ["prod", "dev"] as const) {
      const run = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
        new CostControls("ok-cost", argsFor(settingsFor(stack)));
      });
      assert.ok(run.resources.some((r) => r.type === "aws:budgets/budget:Budget"));
    }
  });
});

function sortNotifications(list: Notification[]): Notification[] {
  const key = (n: Notification) => `${n.notificationType}/${n.thresholdType}/${String(n.threshold).padStart(10, "0")}`;
  return [...list].map((n) => Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined)) as unknown as Notification).sort((a, b) => key(a).localeCompare(key(b)));
}
