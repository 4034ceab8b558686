/**
 * Alertmanager configuration (the alertmanager.yml file format, not the AlertmanagerConfig CRD) for
 * the alerts built by ./alertRules.ts.
 *
 * Routing (first match wins unless `continue`):
 *   1. category=cost, severity=critical -> "cost"   (continue: true, so it also pages)
 *   2. severity=critical                -> "pager"  (paging Slack channel + on-call e-mail)
 *   3. category=cost                    -> "cost"   (cost Slack channel + cost e-mail)
 *   4. severity=warning                 -> "slack-warnings"
 *   5. severity=info                    -> "slack-info" in prod, "null" in dev
 *   otherwise the root receiver "slack-warnings".
 * Alerts are grouped by alertname, namespace and category.
 *
 * Inhibition: a firing critical silences the warning/info alerts of the same `alertgroup` and
 * `target` (e.g. HPAMaxReplicasReached silences HPANearMaxReplicas for the same HPA), and a firing
 * BudgetEmergency silences BudgetThresholdExceeded for the same budget period.
 *
 * Secrets: the Slack webhook URL and the SMTP password are secrets in production. Pass either the
 * value (the caller wraps the rendered YAML in a Kubernetes Secret / pulumi.secret) or, preferably,
 * a file path (`*File` options) where the Secret is mounted in the Alertmanager pod, so the value
 * never appears in the rendered config. Tests use obviously fake values only.
 */
import YAML from "yaml";
import type { AlertSeverity, Environment } from "./alertRules";

export interface SmtpOptions {
  /** host:port of the SMTP relay, e.g. "email-smtp.us-east-1.amazonaws.com:587". */
  smarthost: string;
  /** Envelope/From address. */
  from: string;
  authUsername: string;
  /** The password itself (secret). Exactly one of authPassword / authPasswordFile. */
  authPassword?: string;
  /** Path of a mounted file holding the password (preferred). */
  authPasswordFile?: string;
  /** Default true. */
  requireTls?: boolean;
}

export interface SlackChannels {
  /** Paging channel for critical alerts. */
  paging: string;
  warnings: string;
  info: string;
  cost: string;
}

export interface AlertmanagerOptions {
  environment: Environment;
  /** Slack incoming-webhook URL (secret). Exactly one of slackWebhookUrl / slackWebhookUrlFile. */
  slackWebhookUrl?: string;
  /** Path of a mounted file holding the webhook URL (preferred). */
  slackWebhookUrlFile?: string;
  /** Channel overrides; defaults in `DEFAULT_SLACK_CHANNELS[environment]`. */
  slackChannels?: Partial<SlackChannels>;
  /** On-call e-mail address(es), comma-separated, for critical alerts. */
  emailTo: string;
  /** Cost owners' address(es) for cost alerts. Default `emailTo`. */
  costEmailTo?: string;
  smtp: SmtpOptions;
  /** Root route timings. Defaults 30s / 5m / 4h. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

export const DEFAULT_SLACK_CHANNELS: Readonly<Record<Environment, Readonly<SlackChannels>>> = Object.freeze({
  prod: Object.freeze({
    paging: "#pyairtable-oncall",
    warnings: "#pyairtable-alerts",
    info: "#pyairtable-alerts-info",
    cost: "#pyairtable-cost",
  }),
  dev: Object.freeze({
    paging: "#pyairtable-dev-alerts",
    warnings: "#pyairtable-dev-alerts",
    info: "#pyairtable-dev-alerts",
    cost: "#pyairtable-dev-cost",
  }),
});

/** Receiver names (stable: runbook and tests refer to them). */
export const RECEIVERS = {
  pager: "pager",
  warnings: "slack-warnings",
  info: "slack-info",
  cost: "cost",
  null: "null",
} as const;

export interface SlackConfig {
  channel: string;
  send_resolved: boolean;
  api_url?: string;
  api_url_file?: string;
  title: string;
  text: string;
  color?: string;
}

export interface EmailConfig {
  to: string;
  send_resolved: boolean;
  headers?: Record<string, string>;
}

export interface Receiver {
  name: string;
  slack_configs?: SlackConfig[];
  email_configs?: EmailConfig[];
}

export interface Route {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: Route[];
}

export interface InhibitRule {
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

export interface AlertmanagerConfig {
  global: {
    resolve_timeout: string;
    smtp_smarthost: string;
    smtp_from: string;
    smtp_auth_username: string;
    smtp_auth_password?: string;
    smtp_auth_password_file?: string;
    smtp_require_tls: boolean;
  };
  route: Route & { receiver: string };
  inhibit_rules: InhibitRule[];
  receivers: Receiver[];
}

const DURATION = /^(?:[0-9]+(?:ms|[smhdwy]))+$/;

const SLACK_TITLE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] ' +
  "{{ .CommonLabels.alertname }} ({{ .CommonLabels.environment }}, {{ .CommonLabels.severity }})";
const SLACK_TEXT =
  "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n" +
  "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}";
const EMAIL_SUBJECT =
  "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.environment }}, {{ .CommonLabels.category }})";

function matcher(label: string, value: string): string {
  return `${label}=${JSON.stringify(value)}`;
}

/** Builds the Alertmanager configuration object. Throws on missing/ambiguous secrets or bad values. */
export function buildAlertmanagerConfig(opts: AlertmanagerOptions): AlertmanagerConfig {
  const problems: string[] = [];
  if (opts.environment !== "prod" && opts.environment !== "dev") problems.push(`environment must be prod or dev`);
  if ((opts.slackWebhookUrl === undefined) === (opts.slackWebhookUrlFile === undefined)) {
    problems.push("exactly one of slackWebhookUrl / slackWebhookUrlFile is required");
  }
  if (opts.slackWebhookUrl !== undefined && !/^https:\/\/\S+$/.test(opts.slackWebhookUrl)) {
    problems.push("slackWebhookUrl must be an https URL");
  }
  if ((opts.smtp.authPassword === undefined) === (opts.smtp.authPasswordFile === undefined)) {
    problems.push("exactly one of smtp.authPassword / smtp.authPasswordFile is required");
  }
  if (!/^[^\s:]+:[0-9]+$/.test(opts.smtp.smarthost)) problems.push(`smtp.smarthost must be host:port, got "${opts.smtp.smarthost}"`);
  const email = /^[^\s@,]+@[^\s@,]+$/;
  if (!email.test(opts.smtp.from)) problems.push(`smtp.from must be an e-mail address`);
  for (const [k, v] of [["emailTo", opts.emailTo], ["costEmailTo", opts.costEmailTo ?? opts.emailTo]] as const) {
    if (!v.split(",").every((a) => email.test(a.trim()))) problems.push(`${k} must be comma-separated e-mail addresses`);
  }
  const timings = {
    group_wait: opts.groupWait ?? "30s",
    group_interval: opts.groupInterval ?? "5m",
    repeat_interval: opts.repeatInterval ?? "4h",
  };
  for (const [k, v] of Object.entries(timings)) if (!DURATION.test(v)) problems.push(`${k} must be a duration, got "${v}"`);
  if (problems.length > 0) throw new Error(`invalid Alertmanager options:\n- ${problems.join("\n- ")}`);

  const env = opts.environment;
  const channels: SlackChannels = { ...DEFAULT_SLACK_CHANNELS[env], ...(opts.slackChannels ?? {}) };
  const slack = (channel: string, severity?: AlertSeverity): SlackConfig => ({
    channel,
    send_resolved: true,
    ...(opts.slackWebhookUrl !== undefined ? { api_url: opts.slackWebhookUrl } : { api_url_file: opts.slackWebhookUrlFile }),
    title: SLACK_TITLE,
    text: SLACK_TEXT,
    ...(severity === "critical" ? { color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}' } : {}),
  });
  const mail = (to: string): EmailConfig => ({ to, send_resolved: true, headers: { Subject: EMAIL_SUBJECT } });

  const receivers: Receiver[] = [
    { name: RECEIVERS.pager, slack_configs: [slack(channels.paging, "critical")], email_configs: [mail(opts.emailTo)] },
    { name: RECEIVERS.warnings, slack_configs: [slack(channels.warnings)] },
    { name: RECEIVERS.cost, slack_configs: [slack(channels.cost)], email_configs: [mail(opts.costEmailTo ?? opts.emailTo)] },
    ...(env === "prod" ? [{ name: RECEIVERS.info, slack_configs: [slack(channels.info)] }] : []),
    { name: RECEIVERS.null },
  ];

  const route: AlertmanagerConfig["route"] = {
    receiver: RECEIVERS.warnings,
    group_by: ["alertname", "namespace", "category"],
    ...timings,
    routes: [
      { matchers: [matcher("category", "cost"), matcher("severity", "critical")], receiver: RECEIVERS.cost, continue: true },
      { matchers: [matcher("severity", "critical")], receiver: RECEIVERS.pager, group_wait: "10s", repeat_interval: "1h" },
      { matchers: [matcher("category", "cost")], receiver: RECEIVERS.cost, repeat_interval: "12h" },
      { matchers: [matcher("severity", "warning")], receiver: RECEIVERS.warnings },
      {
        matchers: [matcher("severity", "info")],
        receiver: env === "prod" ? RECEIVERS.info : RECEIVERS.null,
        group_interval: "30m",
        repeat_interval: "24h",
      },
    ],
  };

  const inhibit_rules: InhibitRule[] = [
    {
      // A critical silences its warning/info twin about the same object.
      source_matchers: [matcher("severity", "critical")],
      target_matchers: ['severity=~"warning|info"'],
      equal: ["environment", "alertgroup", "target"],
    },
    {
      // A budget emergency silences the 80% cost-threshold warning of the same period.
      source_matchers: [matcher("alertname", "BudgetEmergency")],
      target_matchers: [matcher("alertname", "BudgetThresholdExceeded")],
      equal: ["environment", "period"],
    },
  ];

  return {
    global: {
      resolve_timeout: "5m",
      smtp_smarthost: opts.smtp.smarthost,
      smtp_from: opts.smtp.from,
      smtp_auth_username: opts.smtp.authUsername,
      ...(opts.smtp.authPassword !== undefined
        ? { smtp_auth_password: opts.smtp.authPassword }
        : { smtp_auth_password_file: opts.smtp.authPasswordFile }),
      smtp_require_tls: opts.smtp.requireTls ?? true,
    },
    route,
    inhibit_rules,
    receivers,
  };
}

/** Renders the configuration as alertmanager.yml text. */
export function renderAlertmanagerYaml(config: AlertmanagerConfig): string {
  return (
    "# Generated by lib/monitoring/alertmanagerConfig.ts - do not edit by hand.\n" +
    YAML.stringify(config, { lineWidth: 0 })
  );
}
