import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { namespaces } from "../lib/catalog/cluster";
import type { BudgetSettings } from "../lib/config/settings";
import { buildAlertRuleGroups, type PrometheusRuleGroup } from "../lib/monitoring/alertRules";
import {
  buildAlertmanagerConfig,
  renderAlertmanagerYaml,
  type AlertmanagerOptions,
} from "../lib/monitoring/alertmanagerConfig";
import {
  buildDashboards,
  dashboardConfigMapData,
  DASHBOARD_FOLDER,
  DASHBOARD_KINDS,
  GRAFANA_DASHBOARD_LABEL,
  GRAFANA_FOLDER_ANNOTATION,
  type DashboardTargets,
  type GrafanaDashboard,
} from "../lib/monitoring/dashboards";
import { prometheusScrapeIntervalSeconds } from "../lib/scaling/responseTime";

// ---------------------------------------------------------------------------------------------
// Names and contracts other components rely on
// ---------------------------------------------------------------------------------------------

/** Helm release name of kube-prometheus-stack; its default selectors match `release: <name>`. */
export const kubePrometheusStackRelease = "kube-prometheus-stack";


/** The design's KPI targets ("Success Metrics"), drawn as dashboard thresholds. */
export const DESIGN_KPI_TARGETS: DashboardTargets = Object.freeze({
  /** 99.9% availability. */
  availability: 0.999,
  /** p95 latency under 500 ms. */
  p95LatencySeconds: 0.5,
  /** Resource efficiency above 70%. */
  cpuEfficiency: 0.7,
  memoryEfficiency: 0.7,
  /** Prediction accuracy above 80%. */
  predictionAccuracy: 0.8,
});

/**
 * The Secret holding the SES SMTP password, created OUT OF BAND (never by this program, so the
 * password never enters Pulumi state), in the monitoring namespace:
 *
 *   kubectl -n monitoring create secret generic alertmanager-smtp --from-literal=password='<SES SMTP password>'
 *
 * kube-prometheus-stack must list it in `alertmanager.alertmanagerSpec.secrets`; prometheus-operator
 * then mounts it at `/etc/alertmanager/secrets/<name>/<key>`, the `smtp_auth_password_file` below.
 */
export const smtpPasswordSecret = { name: "alertmanager-smtp", key: "password" } as const;
/** Where prometheus-operator mounts `alertmanagerSpec.secrets` in the Alertmanager pods. */
export const alertmanagerSecretsMountPath = "/etc/alertmanager/secrets";
export const DEFAULT_SMTP_PASSWORD_FILE = `${alertmanagerSecretsMountPath}/${smtpPasswordSecret.name}/${smtpPasswordSecret.key}`;

/** Key of the Alertmanager configuration in its Secret (prometheus-operator reads this key). */
export const alertmanagerConfigKey = "alertmanager.yaml";

/**
 * Named container port and path every application pod serves Prometheus metrics on
 * (`http_requests_total`, `http_request_duration_seconds`, `db_connections_in_use`).
 * The app Deployments must declare a container port with this name.
 */
export const applicationMetricsEndpoint = { port: "metrics", path: "/metrics" } as const;

/** Pod label that marks the platform's application pods (set by lib/scaling/workloads.ts too). */
export const applicationPartOfLabel = { "app.kubernetes.io/part-of": "pyairtable" } as const;

/**
 * The automation service's metrics Service: its Deployment's Service must carry this label and a
 * port with this name in `namespaces.automation`.
 */
export const automationMetricsService = {
  namespace: namespaces.automation,
  selector: { "app.kubernetes.io/name": "pyairtable-automation" },
  port: "metrics",
  path: "/metrics",
} as const;

/**
 * Chart values the scrape targets and objects of this component depend on. The add-on component
 * that installs the charts must merge these (the component cannot check another release's values).
 */
export function monitoringChartValues(alertmanagerConfigSecretName: string) {
  return {
    kubePrometheusStack: {
      prometheus: {
        prometheusSpec: {
          // Select every PrometheusRule/ServiceMonitor/PodMonitor, not only the chart's own.
          ruleSelectorNilUsesHelmValues: false,
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          scrapeInterval: `${prometheusScrapeIntervalSeconds}s`,
        },
      },
      alertmanager: {
        alertmanagerSpec: {
          // The configuration comes from the Secret this component writes; the chart's is ignored.
          useExistingSecret: true,
          configSecret: alertmanagerConfigSecretName,
          secrets: [smtpPasswordSecret.name],
        },
      },
      grafana: {
        sidecar: {
          dashboards: {
            enabled: true,
            label: Object.keys(GRAFANA_DASHBOARD_LABEL)[0],
            labelValue: Object.values(GRAFANA_DASHBOARD_LABEL)[0],
            folderAnnotation: GRAFANA_FOLDER_ANNOTATION,
            provider: { foldersFromFilesStructure: true },
          },
        },
      },
    },
    /** KEDA chart: exposes the operator's metrics on the `keda-operator` Service, port `metrics`. */
    keda: { prometheus: { operator: { enabled: true, port: 8080, serviceMonitor: { enabled: false }, podMonitor: { enabled: false } } } },
    /** Karpenter chart: the `karpenter` Service always exposes `http-metrics`; its own ServiceMonitor stays off. */
    karpenter: { serviceMonitor: { enabled: false } },
  };
}

// ---------------------------------------------------------------------------------------------
// Args
// ---------------------------------------------------------------------------------------------

export interface MonitoringSmtpArgs {
  /** host:port of the SMTP relay. Default: SES in the stack's region, `email-smtp.<region>.amazonaws.com:587` (STARTTLS). */
  smarthost?: string;
  /** Sender address; must be a verified SES identity. Default: the alert e-mail address. */
  from?: string;
  /**
   * SMTP user name: for SES, the access key ID of the SMTP credentials (not a secret; its password is).
   * Default: the component creates the credentials itself, an IAM user allowed only `ses:SendRawEmail`
   * whose access key ID is the user name and whose SES SMTP password goes into the
   * `smtpPasswordSecret` Secret. Give one only to use credentials managed elsewhere (then create
   * that Secret out of band).
   */
  authUsername?: string;
  /**
   * File in the Alertmanager pod holding the SMTP password. Default `DEFAULT_SMTP_PASSWORD_FILE`
   * (the out-of-band Secret `smtpPasswordSecret`, mounted by prometheus-operator).
   */
  authPasswordFile?: string;
}

export interface MonitoringArgs {
  environment: "prod" | "dev";
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /**
   * The scaled services (the catalog): drive the dashboards' variables and per-service panels, the
   * alert rules' namespace filter and one PodMonitor per distinct namespace.
   */
  services: ReadonlyArray<{ readonly name: string; readonly namespace: string }>;
  /** The stack's budgets (USD, percentages): dashboard thresholds and the budget alerts' ratios. */
  budgets: BudgetSettings;
  /** Slack incoming-webhook URL (secret). Only ever inside the Alertmanager Secret. */
  slackWebhookUrl: pulumi.Input<string>;
  /** On-call e-mail address (secret) for critical and cost alerts. */
  alertEmail: pulumi.Input<string>;
  /** SMTP relay for e-mail notifications (SES). */
  smtp: MonitoringSmtpArgs;
  /**
   * Base URL of docs/runbook.md as published, absolute http(s), no `#fragment`: the
   * stack setting `monitoring.runbookBaseUrl`. Every alert's `runbook_url` is this plus `#<anchor>`.
   */
  runbookBaseUrl: string;
  /**
   * Create the SES e-mail identity of the sender (`smtp.from`, else `alertEmail`) with
   * `aws.sesv2.EmailIdentity`. SES then mails a verification link to the address; clicking it stays
   * a human step (the plan lists it). Default true; false when the identity (or its domain) is
   * verified elsewhere.
   */
  createSesIdentity?: boolean;
  /** Name of the Secret (in `namespaces.monitoring`) holding alertmanager.yaml; kube-prometheus-stack's `alertmanagerSpec.configSecret`. */
  alertmanagerConfigSecretName: string;
  /** AWS region for the default SES smarthost. Default: the `aws:region` config. */
  region?: string;
  /** The kube-prometheus-stack release (its CRDs and namespace must exist first). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

// ---------------------------------------------------------------------------------------------
// Pure builders (the component and the offline plan use the same ones)
// ---------------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+$/;

function fail(field: string, value: unknown, rule: string): never {
  throw new Error(`monitoring.${field} = ${JSON.stringify(value)}: ${rule}`);
}

/** Distinct namespaces of the services, in first-seen order. */
export function serviceNamespaces(services: MonitoringArgs["services"]): string[] {
  return [...new Set(services.map((s) => s.namespace))];
}

export interface RuleGroupOptions {
  environment: "prod" | "dev";
  budgets: Pick<BudgetSettings, "warningPercent" | "emergencyPercent">;
  services: MonitoringArgs["services"];
  runbookBaseUrl: string;
}

/** The PrometheusRule groups of a stack: budget alerts at the stack's warning/emergency percentages, scoped to the services' namespaces. */
export function monitoringRuleGroups(opts: RuleGroupOptions): PrometheusRuleGroup[] {
  return buildAlertRuleGroups({
    environment: opts.environment,
    runbookBaseUrl: opts.runbookBaseUrl,
    namespaceRegex: serviceNamespaces(opts.services).join("|"),
    thresholds: {
      budgetWarningRatio: opts.budgets.warningPercent / 100,
      budgetEmergencyRatio: opts.budgets.emergencyPercent / 100,
    },
  });
}

/** The four dashboards of a stack: KPI targets of the design, budget lines from the stack. */
export function monitoringDashboards(opts: Pick<MonitoringArgs, "environment" | "services" | "budgets">): GrafanaDashboard[] {
  return buildDashboards({
    environment: opts.environment,
    services: opts.services,
    budgets: {
      dailyUsd: opts.budgets.dailyUsd,
      weeklyUsd: opts.budgets.weeklyUsd,
      monthlyUsd: opts.budgets.monthlyUsd,
      warningRatio: opts.budgets.warningPercent / 100,
      emergencyRatio: opts.budgets.emergencyPercent / 100,
    },
    targets: DESIGN_KPI_TARGETS,
  });
}

/** A Prometheus rule file (`promtool check rules` input) with the same groups the PrometheusRule carries. */
export function renderRuleFile(groups: readonly PrometheusRuleGroup[]): string {
  return (
    "# Generated by components/monitoring.ts (lib/monitoring/alertRules.ts) - do not edit by hand.\n" +
    YAML.stringify({ groups }, { lineWidth: 0 })
  );
}

/** Plain SMTP settings with the defaults applied. */
export function resolveSmtp(smtp: MonitoringSmtpArgs, region: string | undefined): Required<Omit<MonitoringSmtpArgs, "from">> & { from?: string } {
  if (smtp.smarthost === undefined && (region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) {
    fail("region", region, "an AWS region is needed for the default SES smarthost (or set smtp.smarthost)");
  }
  return {
    smarthost: smtp.smarthost ?? `email-smtp.${region}.amazonaws.com:587`,
    ...(smtp.from !== undefined ? { from: smtp.from } : {}),
    authUsername: smtp.authUsername ?? REVIEW_SMTP_USERNAME_PLACEHOLDER,
    authPasswordFile: smtp.authPasswordFile ?? DEFAULT_SMTP_PASSWORD_FILE,
  };
}

/** Stands in for the generated SMTP user name (an access key ID) where it is not known yet. */
export const REVIEW_SMTP_USERNAME_PLACEHOLDER = "GENERATED-SES-SMTP-ACCESS-KEY-ID";

export interface AlertmanagerInputs {
  environment: "prod" | "dev";
  /** Plain values: call inside an apply over the secrets. */
  slackWebhookUrl: string;
  alertEmail: string;
  smtp: MonitoringSmtpArgs;
  region?: string;
}

/** The options `buildAlertmanagerConfig` gets, for the component and the review file alike. */
export function monitoringAlertmanagerOptions(inputs: AlertmanagerInputs): AlertmanagerOptions {
  const smtp = resolveSmtp(inputs.smtp, inputs.region);
  return {
    environment: inputs.environment,
    slackWebhookUrl: inputs.slackWebhookUrl,
    emailTo: inputs.alertEmail,
    smtp: {
      smarthost: smtp.smarthost,
      from: smtp.from ?? inputs.alertEmail,
      authUsername: smtp.authUsername,
      authPasswordFile: smtp.authPasswordFile,
      requireTls: true,
    },
  };
}

/** Syntactically valid stand-ins for the secrets in files written for review (never real values). */
export const REVIEW_SECRET_PLACEHOLDERS = Object.freeze({
  slackWebhookUrl: "https://hooks.slack.invalid/services/SECRET-SLACK-WEBHOOK-URL",
  alertEmail: "secret-alert-email@example.invalid",
});

export interface AlertmanagerReviewOptions {
  environment: "prod" | "dev";
  smtp: MonitoringSmtpArgs;
  region?: string;
  /** Default `REVIEW_SECRET_PLACEHOLDERS`. */
  placeholders?: { slackWebhookUrl: string; alertEmail: string };
}

/**
 * alertmanager.yml exactly as deployed, except that the secrets are placeholders: for the offline
 * plan's review files and for `amtool check-config`.
 */
export function renderAlertmanagerFileForReview(opts: AlertmanagerReviewOptions): string {
  const placeholders = opts.placeholders ?? REVIEW_SECRET_PLACEHOLDERS;
  const yaml = renderAlertmanagerYaml(buildAlertmanagerConfig(monitoringAlertmanagerOptions({
    environment: opts.environment,
    slackWebhookUrl: placeholders.slackWebhookUrl,
    alertEmail: placeholders.alertEmail,
    smtp: opts.smtp,
    region: opts.region,
  })));
  return `# Review copy: the Slack webhook URL and the alert e-mail are placeholders; the deployed Secret holds the real values.\n${yaml}`;
}

// ---------------------------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------------------------

const commonLabels = {
  "app.kubernetes.io/part-of": "pyairtable",
  "app.kubernetes.io/component": "monitoring",
  "app.kubernetes.io/managed-by": "pulumi",
};
/** Labels of objects the Prometheus of kube-prometheus-stack selects (rules, monitors). */
const selectedLabels = { ...commonLabels, release: kubePrometheusStackRelease };
const scrapeInterval = `${prometheusScrapeIntervalSeconds}s`;

/**
 * Alerting and dashboards in the cluster: the alert rules (one PrometheusRule), the Alertmanager
 * configuration (a Secret whose content is secret end to end), the four Grafana dashboards
 * (ConfigMaps the Grafana sidecar loads) and the scrape configuration the metric contract needs
 * that no chart creates: KEDA operator, Karpenter controller, the automation service and the
 * application pods.
 *
 * MSK open-monitoring exporters (JMX 11001, node 11002 on each broker) are deliberately NOT scraped:
 * nothing in the metric contract (alerts, dashboards, prometheus-adapter, KEDA) reads a broker
 * metric (KEDA reads consumer lag from Kafka itself), the brokers already publish enhanced
 * monitoring to CloudWatch, and a static scrape would need the broker host names (known only after
 * creation) inside the kube-prometheus-stack release values plus an ingress rule on the MSK
 * security group for the exporter ports. Add it with the first alert or panel that needs a broker metric.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheusRuleName: string;
  public readonly ruleGroupNames: string[];
  public readonly alertmanagerConfigSecretName: string;
  /** The rendered alertmanager.yaml (secret). */
  public readonly alertmanagerConfig: pulumi.Output<string>;
  public readonly dashboardConfigMapNames: string[];
  public readonly serviceMonitorNames: string[];
  public readonly podMonitorNames: string[];
  /** The SES identity of the alert sender (verification: a human clicks the link SES mails), if created. */
  public readonly sesIdentityArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:monitoring:Monitoring", name, {}, opts);

    // --- Validation: everything pure is built here, before any child exists -----------------
    if (args.environment !== "prod" && args.environment !== "dev") fail("environment", args.environment, 'must be "prod" or "dev"');
    if (!args.provider) fail("provider", args.provider, "a Kubernetes provider of the cluster is required");
    if (!Array.isArray(args.services) || args.services.length === 0) fail("services", args.services, "must list at least one service (the catalog)");
    const seen = new Set<string>();
    args.services.forEach((s, i) => {
      if (!DNS_LABEL.test(s.name)) fail(`services[${i}].name`, s.name, "must be a DNS-1123 label");
      if (!DNS_LABEL.test(s.namespace)) fail(`services[${i}].namespace`, s.namespace, "must be a DNS-1123 label");
      if (seen.has(s.name)) fail(`services[${i}].name`, s.name, "appears twice");
      seen.add(s.name);
    });
    const b = args.budgets;
    for (const key of ["dailyUsd", "weeklyUsd", "monthlyUsd"] as const) {
      if (!(Number.isFinite(b[key]) && b[key] > 0)) fail(`budgets.${key}`, b[key], "must be a positive number of USD");
    }
    if (!(Number.isInteger(b.warningPercent) && Number.isInteger(b.emergencyPercent) && b.warningPercent > 0 && b.warningPercent < b.emergencyPercent && b.emergencyPercent <= 100)) {
      fail("budgets.warningPercent", b.warningPercent, `must be a whole percent above 0 and below budgets.emergencyPercent (${b.emergencyPercent}), which must be at most 100`);
    }
    if (typeof args.alertmanagerConfigSecretName !== "string" || !DNS_SUBDOMAIN.test(args.alertmanagerConfigSecretName)) {
      fail("alertmanagerConfigSecretName", args.alertmanagerConfigSecretName, "must be a Secret name (DNS-1123 subdomain)");
    }
    const runbookBaseUrl = args.runbookBaseUrl;
    if (typeof runbookBaseUrl !== "string" || !/^https?:\/\/[^\s#]+$/.test(runbookBaseUrl)) fail("runbookBaseUrl", runbookBaseUrl, "must be an absolute http(s) URL without a #fragment");
    const smtp = args.smtp;
    if (!smtp || (smtp.authUsername !== undefined && (typeof smtp.authUsername !== "string" || !/^\S+$/.test(smtp.authUsername)))) {
      fail("smtp.authUsername", smtp?.authUsername, "must be the SES SMTP user name (the SMTP credentials' access key ID), or be left out to create credentials");
    }
    if (smtp.smarthost !== undefined && !/^[^\s:]+:[0-9]+$/.test(smtp.smarthost)) fail("smtp.smarthost", smtp.smarthost, "must be host:port");
    if (smtp.from !== undefined && !EMAIL.test(smtp.from)) fail("smtp.from", smtp.from, "must be an e-mail address");
    if (smtp.authPasswordFile !== undefined && !/^\/\S+$/.test(smtp.authPasswordFile)) {
      fail("smtp.authPasswordFile", smtp.authPasswordFile, "must be an absolute path in the Alertmanager pod");
    }
    const region = args.region ?? new pulumi.Config("aws").get("region");
    resolveSmtp(smtp, region);

    let groups: PrometheusRuleGroup[];
    let dashboards: GrafanaDashboard[];
    try {
      groups = monitoringRuleGroups({ environment: args.environment, budgets: b, services: args.services, runbookBaseUrl });
      dashboards = monitoringDashboards(args);
      // A dry run with placeholders: bad SMTP settings fail here, not inside an apply after registration.
      renderAlertmanagerFileForReview({ environment: args.environment, smtp, region });
    } catch (e) {
      throw new Error(`monitoring ${name}: ${(e as Error).message}`);
    }

    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    const ns = namespaces.monitoring;

    // --- Alert rules ----------------------------------------------------------------------------
    this.prometheusRuleName = "pyairtable-autoscaling";
    this.ruleGroupNames = groups.map((g) => g.name);
    new k8s.apiextensions.CustomResource(`${name}-alert-rules`, {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: this.prometheusRuleName, namespace: ns, labels: selectedLabels },
      spec: { groups: structuredClone(groups) },
    }, childOpts);

    // --- Alertmanager configuration -----------------------------------------------------------------
    // Built inside an apply over the secrets and wrapped in pulumi.secret, so the webhook URL and the
    // address exist in plain text only in the cluster, never in state, previews or logs.
    this.alertmanagerConfigSecretName = args.alertmanagerConfigSecretName;
    let smtpUsername: pulumi.Input<string | undefined> = smtp.authUsername;
    if (smtp.authUsername === undefined) {
      // SES SMTP credentials are derived from an IAM access key; this user can only send e-mail. The
      // permission sits on a group (no policy on the user itself, CKV_AWS_40), scoped to the sender's
      // verified identity when `smtp.from` names it, otherwise to this account's identities in the
      // region (the default sender is the alert address, a secret that must not appear in a policy).
      // Rotation: README "SES SMTP key rotation".
      const smtpUser = new aws.iam.User(`${name}-ses-smtp`, { path: "/pyairtable/", tags: { purpose: "alertmanager-ses-smtp" } }, { parent: this });
      const smtpGroup = new aws.iam.Group(`${name}-ses-senders`, { path: "/pyairtable/" }, { parent: this });
      const identity = aws.getCallerIdentityOutput({}, { parent: this });
      const partition = aws.getPartitionOutput({}, { parent: this });
      new aws.iam.GroupPolicy(`${name}-ses-smtp-send`, {
        group: smtpGroup.name,
        policy: pulumi.all([identity.accountId, partition.partition]).apply(([account, part]) => JSON.stringify({
          Version: "2012-10-17",
          Statement: [{
            Sid: "SendAlertMailOnly",
            Effect: "Allow",
            Action: "ses:SendRawEmail",
            Resource: `arn:${part}:ses:${region ?? "*"}:${account}:identity/${smtp.from ?? "*"}`,
          }],
        })),
      }, { parent: this });
      new aws.iam.UserGroupMembership(`${name}-ses-smtp-membership`, { user: smtpUser.name, groups: [smtpGroup.name] }, { parent: this });
      const smtpKey = new aws.iam.AccessKey(`${name}-ses-smtp-key`, { user: smtpUser.name }, { parent: this, additionalSecretOutputs: ["sesSmtpPasswordV4"] });
      smtpUsername = smtpKey.id;
      new k8s.core.v1.Secret(`${name}-smtp-password`, {
        metadata: { name: smtpPasswordSecret.name, namespace: ns, labels: commonLabels },
        type: "Opaque",
        stringData: pulumi.secret(smtpKey.sesSmtpPasswordV4.apply((password) => ({ [smtpPasswordSecret.key]: password }))),
      }, childOpts);
    }
    // The sender must be a verified SES identity before Alertmanager's e-mail route works (in the SES
    // sandbox the recipient too: the alert address is both). The identity is a resource; SES mails
    // the address a verification link, and clicking it is the one step no program can do.
    this.sesIdentityArn = undefined;
    if (args.createSesIdentity ?? true) {
      const sesIdentity = new aws.sesv2.EmailIdentity(`${name}-ses-identity`, {
        emailIdentity: smtp.from ?? pulumi.secret(args.alertEmail),
        tags: { purpose: "alertmanager-sender" },
      }, { parent: this });
      this.sesIdentityArn = sesIdentity.arn;
    }
    this.alertmanagerConfig = pulumi.secret(
      pulumi.all([args.slackWebhookUrl, args.alertEmail, smtpUsername]).apply(([slackWebhookUrl, alertEmail, authUsername]) =>
        renderAlertmanagerYaml(buildAlertmanagerConfig(monitoringAlertmanagerOptions({
          environment: args.environment, slackWebhookUrl, alertEmail, smtp: { ...smtp, authUsername }, region,
        })))),
    );
    new k8s.core.v1.Secret(`${name}-alertmanager-config`, {
      metadata: { name: args.alertmanagerConfigSecretName, namespace: ns, labels: commonLabels },
      type: "Opaque",
      stringData: pulumi.secret(this.alertmanagerConfig.apply((yaml) => ({ [alertmanagerConfigKey]: yaml }))),
    }, childOpts);

    // --- Dashboards ---------------------------------------------------------------------------------
    this.dashboardConfigMapNames = [];
    dashboards.forEach((dashboard, i) => {
      const kind = DASHBOARD_KINDS[i]!;
      const cmName = `pyairtable-dashboard-${kind}`;
      this.dashboardConfigMapNames.push(cmName);
      new k8s.core.v1.ConfigMap(`${name}-dashboard-${kind}`, {
        metadata: {
          name: cmName,
          namespace: ns,
          labels: { ...commonLabels, ...GRAFANA_DASHBOARD_LABEL },
          annotations: { [GRAFANA_FOLDER_ANNOTATION]: DASHBOARD_FOLDER },
        },
        data: dashboardConfigMapData(dashboard),
      }, childOpts);
    });

    // --- Scrape configuration -----------------------------------------------------------------------
    this.serviceMonitorNames = [];
    const serviceMonitor = (key: string, spec: Record<string, unknown>) => {
      const monitorName = `pyairtable-${key}`;
      this.serviceMonitorNames.push(monitorName);
      new k8s.apiextensions.CustomResource(`${name}-servicemonitor-${key}`, {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: monitorName, namespace: ns, labels: selectedLabels },
        spec,
      }, childOpts);
    };
    // KEDA's metrics carry the ScaledObject's `namespace`; honorLabels keeps it instead of the
    // operator pod's (otherwise it becomes `exported_namespace` and every KEDA query misses).
    serviceMonitor("keda-operator", {
      namespaceSelector: { matchNames: [namespaces.keda] },
      selector: { matchLabels: { "app.kubernetes.io/name": "keda-operator" } },
      endpoints: [{ port: "metrics", path: "/metrics", interval: scrapeInterval, honorLabels: true }],
    });
    // The Karpenter chart's own ServiceMonitor is off (clusterCapacity.ts); its Service in kube-system
    // (release "karpenter") always exposes http-metrics.
    serviceMonitor("karpenter", {
      namespaceSelector: { matchNames: ["kube-system"] },
      selector: { matchLabels: { "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter" } },
      endpoints: [{ port: "http-metrics", path: "/metrics", interval: scrapeInterval }],
    });
    // The automation service labels its metrics with the TARGET `service`; honorLabels keeps it.
    serviceMonitor("automation", {
      namespaceSelector: { matchNames: [automationMetricsService.namespace] },
      selector: { matchLabels: { ...automationMetricsService.selector } },
      endpoints: [{ port: automationMetricsService.port, path: automationMetricsService.path, interval: scrapeInterval, honorLabels: true }],
    });

    // Application pods: PodMonitors, because queue workers have no Service. The pod's
    // `app.kubernetes.io/name` (= catalog name = Deployment name) becomes the `service` label the
    // dashboards, alerts and prometheus-adapter rules group by.
    this.podMonitorNames = [];
    for (const appNamespace of serviceNamespaces(args.services)) {
      const monitorName = `pyairtable-apps-${appNamespace}`;
      this.podMonitorNames.push(monitorName);
      new k8s.apiextensions.CustomResource(`${name}-podmonitor-${appNamespace}`, {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: monitorName, namespace: ns, labels: selectedLabels },
        spec: {
          namespaceSelector: { matchNames: [appNamespace] },
          selector: { matchLabels: { ...applicationPartOfLabel } },
          podMetricsEndpoints: [{
            port: applicationMetricsEndpoint.port,
            path: applicationMetricsEndpoint.path,
            interval: scrapeInterval,
            relabelings: [{ action: "replace", sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], targetLabel: "service" }],
          }],
        },
      }, childOpts);
    }

    this.registerOutputs({
      prometheusRuleName: this.prometheusRuleName,
      ruleGroupNames: this.ruleGroupNames,
      alertmanagerConfigSecretName: this.alertmanagerConfigSecretName,
      alertmanagerConfig: this.alertmanagerConfig,
      dashboardConfigMapNames: this.dashboardConfigMapNames,
      serviceMonitorNames: this.serviceMonitorNames,
      podMonitorNames: this.podMonitorNames,
      sesIdentityArn: this.sesIdentityArn,
    });
  }
}
