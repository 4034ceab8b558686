import * as aws from "@pulumi/aws";
import type { StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, refersTo, UNKNOWN } from "../lib";

export interface LoggingEnabledConfig {
  /** EKS control-plane log types that must be on. */
  eksLogTypes: string[];
  /** Aurora PostgreSQL log exports to CloudWatch that must be on. */
  auroraPostgresqlLogExports: string[];
  /** OpenSearch log types that must be published (and enabled). */
  openSearchLogTypes: string[];
  /** Every VPC needs a flow log. */
  requireVpcFlowLogs: boolean;
}

/** The required entries missing from a list; undefined when the list cannot be judged. */
function missingFrom(list: unknown[] | typeof UNKNOWN | undefined, required: readonly string[]): string[] | undefined {
  if (list === UNKNOWN || (list ?? []).some((x) => x === UNKNOWN)) return undefined;
  return required.filter((x) => !(list ?? []).includes(x));
}

/**
 * The audit trail exists before it is needed: EKS control-plane logs (API, audit, authenticator), the
 * Aurora PostgreSQL log, Redis slow and engine logs, MSK broker logs, OpenSearch audit and application
 * logs, and VPC flow logs. Stack-wide because a VPC's flow log is a separate resource (matched by its
 * `vpcId` reference).
 */
export const loggingEnabled: StackValidationPolicy = {
  name: "logging-enabled",
  description: "EKS, Aurora, ElastiCache, MSK and OpenSearch ship their logs to CloudWatch, and every VPC has a flow log.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "EKS: enabledClusterLogTypes with api, audit, authenticator. Aurora: enabledCloudwatchLogsExports [postgresql]. ElastiCache: logDeliveryConfigurations (slow-log, engine-log). MSK: loggingInfo.brokerLogs with a destination enabled. OpenSearch: logPublishingOptions for AUDIT_LOGS and ES_APPLICATION_LOGS. VPC: an aws.ec2.FlowLog with vpcId set to the VPC (components/network.ts).",
  configSchema: {
    properties: {
      eksLogTypes: {
        type: "array",
        items: { type: "string", enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] },
        uniqueItems: true,
        default: ["api", "audit", "authenticator"],
      },
      auroraPostgresqlLogExports: { type: "array", items: { type: "string", enum: ["postgresql", "iam-db-auth-error", "instance"] }, uniqueItems: true, default: ["postgresql"] },
      openSearchLogTypes: {
        type: "array",
        items: { type: "string", enum: ["AUDIT_LOGS", "ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"] },
        uniqueItems: true,
        default: ["AUDIT_LOGS", "ES_APPLICATION_LOGS"],
      },
      requireVpcFlowLogs: { type: "boolean", default: true },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<LoggingEnabledConfig>();
    const flowLogs = args.resources.filter((r) => r.isType(aws.ec2.FlowLog));

    for (const r of args.resources) {
      const p = r.props;
      const report = (message: string) => reportViolation(message, r.urn);

      if (r.type === "eks:index:Cluster" || r.isType(aws.eks.Cluster)) {
        const missing = missingFrom(peekList(p, "enabledClusterLogTypes"), config.eksLogTypes);
        if (missing?.length) report(`EKS cluster ${r.name}: control-plane log types ${missing.join(", ")} are not enabled (enabledClusterLogTypes)`);
      } else if (r.isType(aws.rds.Cluster)) {
        if (peek(p, "engine") !== "aurora-postgresql") continue;
        const missing = missingFrom(peekList(p, "enabledCloudwatchLogsExports"), config.auroraPostgresqlLogExports);
        if (missing?.length) report(`Aurora cluster ${r.name}: log exports ${missing.join(", ")} are not enabled (enabledCloudwatchLogsExports)`);
      } else if (r.isType(aws.elasticache.ReplicationGroup)) {
        const deliveries = peekList(p, "logDeliveryConfigurations");
        if (deliveries !== UNKNOWN && (deliveries ?? []).length === 0) report(`ElastiCache replication group ${r.name}: no logDeliveryConfigurations: slow and engine logs are not delivered`);
      } else if (r.isType(aws.msk.Cluster)) {
        const brokerLogs = peek(p, "loggingInfo", "brokerLogs");
        if (brokerLogs === UNKNOWN) continue;
        const destinations = ["cloudwatchLogs", "firehose", "s3"].map((d) => peek(brokerLogs, d, "enabled"));
        if (!destinations.some((on) => on === true || on === UNKNOWN)) report(`MSK cluster ${r.name}: broker logs are not delivered anywhere (loggingInfo.brokerLogs)`);
      } else if (r.isType(aws.opensearch.Domain)) {
        const options = peekList(p, "logPublishingOptions");
        if (options === UNKNOWN || (options ?? []).some((o) => o === UNKNOWN || peek(o, "logType") === UNKNOWN || peek(o, "enabled") === UNKNOWN)) continue;
        const published = (options ?? []).filter((o) => peek(o, "enabled") !== false).map((o) => peek(o, "logType"));
        const missing = config.openSearchLogTypes.filter((t) => !published.includes(t));
        if (missing.length) report(`OpenSearch domain ${r.name}: log types ${missing.join(", ")} are not published (logPublishingOptions)`);
      } else if (r.isType(aws.ec2.Vpc) && config.requireVpcFlowLogs) {
        const refs = flowLogs.map((f) => refersTo(f, "vpcId", r, []));
        if (refs.includes(UNKNOWN) || refs.includes(true)) continue;
        report(`VPC ${r.name}: no flow log (aws.ec2.FlowLog with vpcId referring to it)`);
      }
    }
  },
};
