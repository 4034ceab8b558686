/**
 * The Monitoring component under Pulumi's mock runtime, with the prod and dev stack settings:
 * the PrometheusRule, the Alertmanager Secret (no plain-text secret anywhere in the recorded inputs),
 * the four dashboard ConfigMaps, the ServiceMonitors/PodMonitors, schema validation of every object,
 * the pure render functions the offline plan uses (checked with promtool/amtool when installed), and
 * argument validation before any child is registered.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import {
  alertmanagerConfigKey,
  DEFAULT_SMTP_PASSWORD_FILE,
  Monitoring,
  type MonitoringArgs,
  monitoringRuleGroups,
  renderAlertmanagerFileForReview,
  renderRuleFile,
  REVIEW_SECRET_PLACEHOLDERS,
} from "../../components/monitoring";
import { namespaces } from "../../lib/catalog/cluster";
import { serviceCatalog } from "../../lib/catalog/services";
import { type PlatformSettings } from "../../lib/config/settings";
import { validateManifest } from "../../lib/k8s/schemaValidator";
import { DASHBOARD_FOLDER, GRAFANA_DASHBOARD_LABEL, GRAFANA_FOLDER_ANNOTATION, type GrafanaDashboard, type GrafanaPanel } from "../../lib/monitoring/dashboards";
import { runUnderMocks, type PlannedResource } from "../../lib/plan/mockRuntime";
import { loadStackSettings, settingsWithSecrets } from "../support/stacks";

const webhookPlaceholder = "https://hooks.slack.invalid/services/PLAN";
const emailPlaceholder = "oncall@example.invalid";
const stacks = ["prod", "dev"] as const;
type Stack = (typeof stacks)[number];
type Any = Record<string, any>;

function settingsOf(stack: Stack): PlatformSettings {
  return settingsWithSecrets(stack, { slackWebhookUrl: webhookPlaceholder, alertEmail: emailPlaceholder });
}

const services = serviceCatalog.map((s) => ({ name: s.name, namespace: s.namespace }));
const smtp = { authUsername: "AKIAPLANSMTPUSER0000" };
const secretName = "alertmanager-pyairtable";

/** Args from the stack settings; the provider is filled in inside the mock run. */
function argsFor(stack: Stack, overrides: Partial<MonitoringArgs> = {}): Omit<MonitoringArgs, "provider"> & { provider?: k8s.Provider } {
  const s = settingsOf(stack);
  return {
    environment: s.environment,
    services,
    budgets: s.budgets,
    // Plain placeholders, as the settings hold them: the component must make them secret itself.
    slackWebhookUrl: s.secrets.slackWebhookUrl,
    alertEmail: s.secrets.alertEmail,
    smtp,
    alertmanagerConfigSecretName: secretName,
    runbookBaseUrl: s.monitoring.runbookBaseUrl,
    ...overrides,
  };
}

interface Run {
  resources: PlannedResource[];
  /** The rendered alertmanager.yaml, read through an apply (the recorded inputs only hold "[secret]"). */
  alertmanagerYaml: string;
  /** Options each resource was registered with, by logical name. */
  options: Map<string, { provider?: pulumi.ProviderResource; dependsOn: unknown; parent?: pulumi.Resource }>;
  component?: Monitoring;
  /** Whether the component's alertmanagerConfig output is a Pulumi secret. */
  configIsSecret: boolean;
}

async function build(stack: Stack, overrides: Partial<MonitoringArgs> = {}): Promise<Run> {
  const options: Run["options"] = new Map();
  let alertmanagerYaml = "";
  let component: Monitoring | undefined;
  let configIsSecret = false;
  // No maskValues: the placeholders must be hidden because they are Pulumi secrets, not because the harness hides them.
  const result = await runUnderMocks({ project: "autoscaling", stack, config: { "aws:region": "us-east-1" } }, async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      options.set(t.name, { provider: t.opts.provider, dependsOn: t.opts.dependsOn, parent: t.opts.parent });
      return undefined;
    });
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    component = new Monitoring(`pyairtable-${stack}-monitoring`, { provider, ...argsFor(stack, overrides) } as MonitoringArgs);
    component.alertmanagerConfig.apply((v) => (alertmanagerYaml = v));
    configIsSecret = await pulumi.isSecret(component.alertmanagerConfig);
  });
  return { resources: result.resources, alertmanagerYaml, options, component, configIsSecret };
}

async function buildFailing(stack: Stack, overrides: Partial<MonitoringArgs>, config: Record<string, string> = { "aws:region": "us-east-1" }): Promise<{ error: Error; custom: PlannedResource[] }> {
  let error: Error | undefined;
  const result = await runUnderMocks({ project: "autoscaling", stack, config }, async () => {
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    try {
      new Monitoring(`pyairtable-${stack}-monitoring`, { provider, ...argsFor(stack, overrides) } as MonitoringArgs);
    } catch (e) {
      error = e as Error;
    }
  });
  assert.ok(error, "expected the Monitoring constructor to throw");
  return { error, custom: result.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")) };
}

const ofKind = (run: Run, kind: string): Any[] =>
  run.resources.filter((r) => r.custom && r.inputs.kind === kind).map((r) => r.inputs as Any);

function panel(d: GrafanaDashboard, title: string): GrafanaPanel {
  const p = d.panels.find((x): x is GrafanaPanel => x.type !== "row" && x.title === title);
  assert.ok(p, `${d.uid}: no panel ${JSON.stringify(title)}`);
  return p;
}
const thresholds = (p: GrafanaPanel): number[] => p.fieldConfig.defaults.thresholds.steps.map((s) => s.value).filter((v): v is number => v !== null);

// --- real tools (skipped locally when missing, required in CI) -------------------------------------
const inCI = (): boolean => !!process.env.CI && process.env.CI !== "0" && process.env.CI.toLowerCase() !== "false";
function requireTool(ctx: Mocha.Context, tool: string): void {
  if (!spawnSync(tool, ["--version"], { encoding: "utf8" }).error) return;
  if (inCI()) assert.fail(`${tool} is not on PATH but CI is set (apt-get install -y prometheus prometheus-alertmanager)`);
  console.log(`      [skipped] ${tool} is not on PATH`);
  ctx.skip();
}
function checkWithTool(tool: string, args: string[], file: string, content: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-test-"));
  try {
    const target = path.join(dir, file);
    fs.writeFileSync(target, content);
    const r = spawnSync(tool, [...args, target], { encoding: "utf8" });
    assert.equal(r.status, 0, `${tool} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("Monitoring component", function () {
  this.timeout(120_000);

  for (const stack of stacks) {
    describe(`${stack} settings`, () => {
      const settings = settingsOf(stack);
      let run: Run;
      before(async () => {
        run = await build(stack);
      });

      it("creates one PrometheusRule with every group, the stack's budget ratios, selected by kube-prometheus-stack, schema-valid", () => {
        const rules = ofKind(run, "PrometheusRule");
        assert.equal(rules.length, 1);
        const rule = rules[0]!;
        assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
        assert.equal(rule.metadata.namespace, namespaces.monitoring);
        assert.equal(rule.metadata.labels.release, "kube-prometheus-stack");
        const expected = monitoringRuleGroups({ environment: settings.environment, budgets: settings.budgets, services, runbookBaseUrl: settings.monitoring.runbookBaseUrl });
        assert.deepEqual(rule.spec.groups, JSON.parse(JSON.stringify(expected)));
        assert.deepEqual(rule.spec.groups.map((g: Any) => g.name), [
          "pyairtable-autoscaling.scaling", "pyairtable-autoscaling.capacity", "pyairtable-autoscaling.cost", "pyairtable-autoscaling.prediction",
        ]);
        const alerts = new Map<string, Any>(rule.spec.groups.flatMap((g: Any) => g.rules.map((r: Any) => [r.alert, r] as [string, Any])));
        const warning = settings.budgets.warningPercent / 100;
        const emergency = settings.budgets.emergencyPercent / 100;
        assert.match(alerts.get("BudgetThresholdExceeded")!.expr, new RegExp(`>= ${warning}\\b`));
        assert.match(alerts.get("BudgetEmergency")!.expr, new RegExp(`>= ${emergency}\\b`));
        for (const r of alerts.values()) {
          assert.equal(r.labels.environment, stack);
          // The stack setting monitoring.runbookBaseUrl, not a placeholder.
          assert.ok(r.annotations.runbook_url.startsWith(`${settings.monitoring.runbookBaseUrl}#`), r.annotations.runbook_url);
          assert.doesNotMatch(r.annotations.runbook_url, /\.invalid\b|example\.(com|org|net)/);
        }
        // Scoped to the catalog's namespaces.
        assert.ok(rule.spec.groups.some((g: Any) => g.rules.some((r: Any) => r.expr.includes("pyairtable-api|pyairtable-workers"))));
        const v = validateManifest(rule);
        assert.ok(v.ok, v.errors.join("\n"));
      });

      it("puts the Alertmanager config in a Secret whose data is secret: no webhook or e-mail in plain text anywhere", () => {
        const secrets = ofKind(run, "Secret");
        assert.equal(secrets.length, 1);
        const secret = secrets[0]!;
        assert.equal(secret.metadata.name, secretName);
        assert.equal(secret.metadata.namespace, namespaces.monitoring);
        assert.equal(secret.stringData, "[secret]");
        assert.equal(run.configIsSecret, true, "the rendered config output must be secret too");
        assert.equal(secret.data, undefined);
        const everything = JSON.stringify(run.resources);
        assert.ok(everything.includes("[secret]"));
        for (const plain of [webhookPlaceholder, emailPlaceholder, "hooks.slack", "oncall@"]) {
          assert.ok(!everything.includes(plain), `recorded inputs contain ${plain}`);
        }
        // The schema check needs the data's shape, which the recorded inputs hide: validate it with a stand-in value.
        const v = validateManifest({ ...secret, stringData: { [alertmanagerConfigKey]: "redacted" } });
        assert.ok(v.ok, v.errors.join("\n"));
      });

      it("renders alertmanager.yaml with the secrets, SES SMTP in the region and the password from a mounted file", () => {
        const config = YAML.parse(run.alertmanagerYaml) as Any;
        assert.equal(config.global.smtp_smarthost, "email-smtp.us-east-1.amazonaws.com:587");
        assert.equal(config.global.smtp_auth_username, smtp.authUsername);
        assert.equal(config.global.smtp_auth_password_file, DEFAULT_SMTP_PASSWORD_FILE);
        assert.equal(config.global.smtp_auth_password, undefined);
        assert.equal(config.global.smtp_require_tls, true);
        assert.equal(config.global.smtp_from, emailPlaceholder);
        const slack = config.receivers.flatMap((r: Any) => r.slack_configs ?? []);
        assert.ok(slack.length > 0 && slack.every((c: Any) => c.api_url === webhookPlaceholder));
        const mails = config.receivers.flatMap((r: Any) => r.email_configs ?? []);
        assert.ok(mails.length > 0 && mails.every((c: Any) => c.to === emailPlaceholder));
        assert.equal(config.receivers.some((r: Any) => r.name === "slack-info"), stack === "prod");
      });

      it("amtool accepts the deployed Alertmanager config", function () {
        requireTool(this, "amtool");
        checkWithTool("amtool", ["check-config"], "alertmanager.yml", run.alertmanagerYaml);
      });

      it("creates the four dashboards as sidecar-labelled ConfigMaps with valid JSON and the stack's thresholds", () => {
        const maps = ofKind(run, "ConfigMap");
        assert.equal(maps.length, 4);
        const dashboards = new Map<string, GrafanaDashboard>();
        for (const cm of maps) {
          assert.equal(cm.metadata.namespace, namespaces.monitoring);
          for (const [k, v] of Object.entries(GRAFANA_DASHBOARD_LABEL)) assert.equal(cm.metadata.labels[k], v);
          assert.equal(cm.metadata.annotations[GRAFANA_FOLDER_ANNOTATION], DASHBOARD_FOLDER);
          const keys = Object.keys(cm.data);
          assert.equal(keys.length, 1);
          const text = cm.data[keys[0]!] as string;
          // ConfigMaps are limited to 1 MiB.
          assert.ok(Buffer.byteLength(text) < 1024 * 1024, `${cm.metadata.name} is ${Buffer.byteLength(text)} bytes`);
          const d = JSON.parse(text) as GrafanaDashboard;
          assert.equal(keys[0], `${d.uid}.json`);
          dashboards.set(d.uid.replace("pyairtable-autoscaling-", ""), d);
          const v = validateManifest(cm);
          assert.ok(v.ok, v.errors.join("\n"));
        }
        assert.deepEqual([...dashboards.keys()].sort(), ["cost", "executive", "operations", "predictive"]);
        const b = settings.budgets;
        const w = b.warningPercent / 100;
        const cost = dashboards.get("cost")!;
        const exec = dashboards.get("executive")!;
        assert.deepEqual(thresholds(panel(cost, "Spend vs budget: daily")), [Math.round(b.dailyUsd * w * 100) / 100, b.dailyUsd]);
        assert.deepEqual(thresholds(panel(cost, "Spend vs budget: weekly")), [Math.round(b.weeklyUsd * w * 100) / 100, b.weeklyUsd]);
        assert.deepEqual(thresholds(panel(cost, "Spend vs budget: monthly")), [Math.round(b.monthlyUsd * w * 100) / 100, b.monthlyUsd]);
        assert.deepEqual(thresholds(panel(cost, "Budget utilisation by period")), [w, b.emergencyPercent / 100]);
        // The design's KPIs.
        assert.deepEqual(thresholds(panel(exec, "Availability (time range)")), [0.999]);
        assert.deepEqual(thresholds(panel(exec, "p95 latency by service vs target")), [0.5]);
        assert.deepEqual(thresholds(panel(cost, "CPU efficiency by namespace (usage / requests)")), [0.7]);
        assert.deepEqual(thresholds(panel(dashboards.get("predictive")!, "Forecast MAPE by service and model")), [0.2]);
        if (stack === "prod") assert.deepEqual(thresholds(panel(cost, "Spend vs budget: daily")), [400, 500]);
        else assert.deepEqual(thresholds(panel(cost, "Spend vs budget: daily")), [32, 40]);
      });

      it("creates schema-valid ServiceMonitors for KEDA (honorLabels), Karpenter and the automation service (honorLabels)", () => {
        const monitors = new Map<string, Any>(ofKind(run, "ServiceMonitor").map((m) => [m.metadata.name, m]));
        assert.deepEqual([...monitors.keys()].sort(), ["pyairtable-automation", "pyairtable-karpenter", "pyairtable-keda-operator"]);
        for (const m of monitors.values()) {
          assert.equal(m.metadata.namespace, namespaces.monitoring);
          assert.equal(m.metadata.labels.release, "kube-prometheus-stack");
          const v = validateManifest(m);
          assert.ok(v.ok, v.errors.join("\n"));
        }
        const keda = monitors.get("pyairtable-keda-operator")!;
        assert.deepEqual(keda.spec.namespaceSelector, { matchNames: [namespaces.keda] });
        assert.equal(keda.spec.endpoints[0].honorLabels, true);
        assert.equal(keda.spec.endpoints[0].port, "metrics");
        const karpenter = monitors.get("pyairtable-karpenter")!;
        assert.deepEqual(karpenter.spec.namespaceSelector, { matchNames: ["kube-system"] });
        assert.equal(karpenter.spec.endpoints[0].port, "http-metrics");
        assert.notEqual(karpenter.spec.endpoints[0].honorLabels, true);
        const automation = monitors.get("pyairtable-automation")!;
        assert.deepEqual(automation.spec.namespaceSelector, { matchNames: [namespaces.automation] });
        assert.equal(automation.spec.endpoints[0].honorLabels, true);
        for (const m of monitors.values()) assert.equal(m.spec.endpoints[0].interval, "15s");
      });

      it("creates a PodMonitor per application namespace that labels series with the service name", () => {
        const pods = ofKind(run, "PodMonitor");
        const appNamespaces = [...new Set(services.map((s) => s.namespace))];
        assert.deepEqual(pods.map((p) => p.spec.namespaceSelector.matchNames).flat().sort(), [...appNamespaces].sort());
        for (const p of pods) {
          assert.equal(p.metadata.namespace, namespaces.monitoring);
          assert.deepEqual(p.spec.selector, { matchLabels: { "app.kubernetes.io/part-of": "pyairtable" } });
          assert.deepEqual(p.spec.podMetricsEndpoints[0].relabelings, [
            { action: "replace", sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], targetLabel: "service" },
          ]);
          // Strictly against the vendored PodMonitor CRD (prometheus-operator v0.93.0).
          const v = validateManifest(p);
          assert.ok(v.ok, v.errors.join("\n"));
          assert.equal(v.skipped, undefined);
          assert.deepEqual(Object.keys(p.spec).sort(), ["namespaceSelector", "podMetricsEndpoints", "selector"]);
        }
      });

      it("every object is in the monitoring namespace, parented to the component, on the cluster provider, after the chart", () => {
        const objects = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"));
        assert.equal(objects.length, 1 + 1 + 4 + 3 + 2);
        for (const r of objects) {
          assert.equal((r.inputs as Any).metadata.namespace, namespaces.monitoring, r.name);
          assert.ok(r.parent.includes("pyairtable:monitoring:Monitoring"), `${r.name} parent ${r.parent}`);
          const o = run.options.get(r.name)!;
          assert.ok(o.provider, `${r.name} has no provider`);
          assert.equal(o.parent, run.component);
          const kind = (r.inputs as Any).kind as string;
          const v = validateManifest(kind === "Secret" ? { ...r.inputs, stringData: { [alertmanagerConfigKey]: "redacted" } } : r.inputs);
          assert.ok(v.ok, v.errors.join("\n"));
        }
      });
    });
  }

  it("waits for the chart passed in dependsOn", async () => {
    let chart: pulumi.Resource | undefined;
    const options = new Map<string, unknown>();
    await runUnderMocks({ project: "autoscaling", stack: "prod", config: { "aws:region": "us-east-1" } }, async () => {
      pulumi.runtime.registerStackTransformation((t) => {
        options.set(t.name, t.opts.dependsOn);
        return undefined;
      });
      const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
      chart = new k8s.core.v1.Namespace("chart-stand-in", { metadata: { name: "monitoring" } }, { provider });
      new Monitoring("m", { provider, ...argsFor("prod"), dependsOn: [chart] } as MonitoringArgs);
    });
    for (const name of ["m-alert-rules", "m-alertmanager-config", "m-dashboard-cost", "m-servicemonitor-keda-operator", "m-podmonitor-pyairtable-api"]) {
      assert.deepEqual(options.get(name), [chart], name);
    }
  });

  it("uses a given smarthost, sender and password file", async () => {
    const run = await build("dev", { smtp: { smarthost: "smtp.example.invalid:2587", from: "alerts@example.invalid", authUsername: "u", authPasswordFile: "/etc/alertmanager/secrets/x/y" } });
    const config = YAML.parse(run.alertmanagerYaml) as Any;
    assert.equal(config.global.smtp_smarthost, "smtp.example.invalid:2587");
    assert.equal(config.global.smtp_from, "alerts@example.invalid");
    assert.equal(config.global.smtp_auth_password_file, "/etc/alertmanager/secrets/x/y");
  });

  describe("files for the offline plan", () => {
    const groups = monitoringRuleGroups({ environment: "prod", budgets: settingsOf("prod").budgets, services, runbookBaseUrl: settingsOf("prod").monitoring.runbookBaseUrl });

    it("renderRuleFile writes the same groups as a Prometheus rule file", () => {
      const text = renderRuleFile(groups);
      assert.deepEqual(YAML.parse(text), { groups: JSON.parse(JSON.stringify(groups)) });
    });

    it("promtool accepts the rule file", function () {
      requireTool(this, "promtool");
      checkWithTool("promtool", ["check", "rules"], "rules.yml", renderRuleFile(groups));
    });

    it("renderAlertmanagerFileForReview has placeholders instead of secrets and passes amtool", function () {
      const text = renderAlertmanagerFileForReview({ environment: "prod", smtp, region: "eu-west-1" });
      const config = YAML.parse(text) as Any;
      assert.equal(config.global.smtp_smarthost, "email-smtp.eu-west-1.amazonaws.com:587");
      assert.equal(config.global.smtp_auth_password_file, DEFAULT_SMTP_PASSWORD_FILE);
      assert.ok(config.receivers.flatMap((r: Any) => r.slack_configs ?? []).every((c: Any) => c.api_url === REVIEW_SECRET_PLACEHOLDERS.slackWebhookUrl));
      assert.ok(config.receivers.flatMap((r: Any) => r.email_configs ?? []).every((c: Any) => c.to === REVIEW_SECRET_PLACEHOLDERS.alertEmail));
      assert.ok(!text.includes(webhookPlaceholder) && !text.includes(emailPlaceholder));
      const custom = renderAlertmanagerFileForReview({ environment: "dev", smtp, region: "us-east-1", placeholders: { slackWebhookUrl: "https://x.invalid/hook", alertEmail: "a@b.invalid" } });
      assert.ok(custom.includes("https://x.invalid/hook") && custom.includes("a@b.invalid"));
      requireTool(this, "amtool");
      checkWithTool("amtool", ["check-config"], "alertmanager.yml", text);
    });
  });

  describe("invalid arguments fail before any child is registered", () => {
    const cases: Array<[string, Partial<MonitoringArgs>, RegExp]> = [
      ["an empty SMTP user name", { smtp: { authUsername: "" } }, /monitoring\.smtp\.authUsername = "": must be the SES SMTP user name/],
      ["warning budget at the emergency level", { budgets: { ...settingsOf("prod").budgets, warningPercent: 95 } }, /monitoring\.budgets\.warningPercent = 95: .*below budgets\.emergencyPercent \(95\)/],
      ["a non-positive budget", { budgets: { ...settingsOf("prod").budgets, dailyUsd: 0 } }, /monitoring\.budgets\.dailyUsd = 0: must be a positive number/],
      ["a bad Secret name", { alertmanagerConfigSecretName: "Alertmanager_Config" }, /monitoring\.alertmanagerConfigSecretName = "Alertmanager_Config": must be a Secret name/],
      ["no services", { services: [] }, /monitoring\.services = \[\]: must list at least one service/],
      ["a duplicate service", { services: [...services, services[0]!] }, /monitoring\.services\[11\]\.name = "api-gateway": appears twice/],
      ["a bad namespace", { services: [{ name: "x", namespace: "Bad_NS" }] }, /monitoring\.services\[0\]\.namespace = "Bad_NS": must be a DNS-1123 label/],
      ["a runbook URL with a fragment", { runbookBaseUrl: "https://x.invalid/runbook.md#top" }, /monitoring\.runbookBaseUrl = "https:\/\/x\.invalid\/runbook\.md#top": must be an absolute http\(s\) URL/],
      ["a bad sender", { smtp: { authUsername: "u", from: "not-an-address" } }, /monitoring\.smtp\.from = "not-an-address": must be an e-mail address/],
      ["a relative password file", { smtp: { authUsername: "u", authPasswordFile: "secrets/pw" } }, /monitoring\.smtp\.authPasswordFile = "secrets\/pw": must be an absolute path/],
      ["a smarthost without port", { smtp: { authUsername: "u", smarthost: "email-smtp.us-east-1.amazonaws.com" } }, /monitoring\.smtp\.smarthost = .*: must be host:port/],
      ["a bad environment", { environment: "staging" as never }, /monitoring\.environment = "staging": must be "prod" or "dev"/],
    ];
    for (const [what, overrides, message] of cases) {
      it(what, async () => {
        const { error, custom } = await buildFailing("prod", overrides);
        assert.match(error.message, message);
        assert.deepEqual(custom.map((r) => `${r.type}::${r.name}`), []);
      });
    }

    it("no region and no smarthost", async () => {
      const { error, custom } = await buildFailing("prod", {}, {});
      assert.match(error.message, /monitoring\.region = undefined: an AWS region is needed for the default SES smarthost/);
      assert.deepEqual(custom, []);
    });
  });
});

describe("Monitoring SES SMTP credentials", function () {
  this.timeout(120_000);
  it("creates a send-only IAM user and puts its SMTP password in the mounted Secret when no user name is given", async () => {
    const s = loadStackSettings("prod");
    const { resources } = await runUnderMocks({ project: "autoscaling", stack: "prod", config: { "aws:region": "us-east-1" } }, () => {
      const provider = new k8s.Provider("k", { kubeconfig: "{}" });
      new Monitoring("m", {
        environment: "prod", provider, services: serviceCatalog.map((x) => ({ name: x.name, namespace: x.namespace })), budgets: s.budgets,
        slackWebhookUrl: "https://hooks.slack.invalid/services/T", alertEmail: "oncall@example.invalid", smtp: {},
        alertmanagerConfigSecretName: "alertmanager-pyairtable", region: "us-east-1", runbookBaseUrl: s.monitoring.runbookBaseUrl,
      });
    });
    // No policy on the user (CKV_AWS_40): the permission is on a group the user belongs to.
    assert.equal(resources.some((r) => r.type === "aws:iam/userPolicy:UserPolicy" || r.type === "aws:iam/userPolicyAttachment:UserPolicyAttachment"), false);
    const policy = resources.find((r) => r.type === "aws:iam/groupPolicy:GroupPolicy")!;
    const statement = JSON.parse(String(policy.inputs.policy)).Statement[0];
    assert.equal(statement.Action, "ses:SendRawEmail");
    // The default sender is the (secret) alert address: scoped to this account's identities in the region, never "*".
    assert.match(statement.Resource, /^arn:aws:ses:us-east-1:\d{12}:identity\/\*$/);
    assert.ok(!String(policy.inputs.policy).includes("oncall@example.invalid"), "the secret address is not in the policy");
    const membership = resources.find((r) => r.type === "aws:iam/userGroupMembership:UserGroupMembership")!;
    const group = resources.find((r) => r.type === "aws:iam/group:Group")!;
    const user = resources.find((r) => r.type === "aws:iam/user:User")!;
    assert.deepEqual([membership.inputs.user, membership.inputs.groups], [user.name, [group.name]]);
    assert.ok(resources.some((r) => r.type === "aws:iam/accessKey:AccessKey"));
    const secret = resources.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as any).name === "alertmanager-smtp")!;
    assert.equal(secret.inputs.stringData, "[secret]");
    // The sender (the secret alert address) is an SES identity of the stack, kept secret in its inputs.
    const identities = resources.filter((r) => r.type === "aws:sesv2/emailIdentity:EmailIdentity");
    assert.equal(identities.length, 1);
    assert.equal(identities[0]!.inputs.emailIdentity, "[secret]");
  });

  it("scopes the send permission to the verified identity when smtp.from names it", async () => {
    const s = loadStackSettings("prod");
    const { resources } = await runUnderMocks({ project: "autoscaling", stack: "prod", config: { "aws:region": "us-east-1" } }, () => {
      const provider = new k8s.Provider("k", { kubeconfig: "{}" });
      new Monitoring("m", {
        environment: "prod", provider, services: serviceCatalog.map((x) => ({ name: x.name, namespace: x.namespace })), budgets: s.budgets,
        slackWebhookUrl: "https://hooks.slack.invalid/services/T", alertEmail: "oncall@example.invalid", smtp: { from: "alerts@example.com" },
        alertmanagerConfigSecretName: "alertmanager-pyairtable", region: "us-east-1", runbookBaseUrl: s.monitoring.runbookBaseUrl,
      });
    });
    const policy = resources.find((r) => r.type === "aws:iam/groupPolicy:GroupPolicy")!;
    assert.match(JSON.parse(String(policy.inputs.policy)).Statement[0].Resource, /^arn:aws:ses:us-east-1:\d{12}:identity\/alerts@example\.com$/);
    // The identity created is the sender's, in plain text (smtp.from is not a secret).
    const identity = resources.find((r) => r.type === "aws:sesv2/emailIdentity:EmailIdentity")!;
    assert.equal(identity.inputs.emailIdentity, "alerts@example.com");
  });
});
