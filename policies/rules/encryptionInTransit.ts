import * as aws from "@pulumi/aws";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, refersTo, show, UNKNOWN } from "../lib";

export interface EncryptionInTransitConfig {
  /** OpenSearch TLS security policies accepted on the domain endpoint (TLS 1.2 minimum). */
  allowedTlsSecurityPolicies: string[];
}

/**
 * The cluster parameter that makes an Aurora engine refuse unencrypted connections, and the values
 * that turn it on. Both default to off, in the engines' default parameter groups too.
 */
function tlsParameterFor(engine: unknown): { name: string; on: string[] } | undefined {
  if (engine === "aurora-postgresql") return { name: "rds.force_ssl", on: ["1"] };
  if (engine === "aurora-mysql" || engine === "aurora" || engine === undefined) return { name: "require_secure_transport", on: ["1", "ON", "on"] };
  return undefined;
}

/**
 * Encryption in transit: "Redis and MSK require TLS; OpenSearch enforces HTTPS with TLS 1.2 and
 * node-to-node encryption", and Aurora refuses plain-text connections. Checks ElastiCache (TLS on, in
 * `required` mode), MSK (client-broker TLS only and in-cluster encryption; absent fields take MSK's
 * defaults, TLS and true), OpenSearch (HTTPS enforced, an allowed TLS policy, node-to-node encryption)
 * and Aurora (`rds.force_ssl = 1`, or `require_secure_transport = ON` for MySQL, in the cluster's
 * parameter group). Stack-wide because the parameter group is a separate resource. A parameter group
 * that is not in the stack (shared, managed elsewhere) cannot be judged and passes; the engines'
 * `default.*` groups do not force TLS and fail.
 */
export const encryptionInTransit: StackValidationPolicy = {
  name: "encryption-in-transit",
  description: "Redis, Kafka, OpenSearch and Aurora accept only TLS-encrypted connections, with TLS 1.2 at least on OpenSearch.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "ElastiCache: transitEncryptionEnabled true (mode required). MSK: encryptionInTransit clientBroker TLS, inCluster true. OpenSearch: domainEndpointOptions enforceHttps true with an allowed tlsSecurityPolicy, nodeToNodeEncryption enabled. Aurora: a cluster parameter group in the stack with rds.force_ssl = 1 (PostgreSQL) or require_secure_transport = ON (MySQL).",
  configSchema: {
    properties: {
      allowedTlsSecurityPolicies: {
        type: "array",
        items: { type: "string", enum: ["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"] },
        minItems: 1,
        uniqueItems: true,
        default: ["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"],
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { allowedTlsSecurityPolicies } = args.getConfig<EncryptionInTransitConfig>();
    const parameterGroups = args.resources.filter((r) => r.isType(aws.rds.ClusterParameterGroup));

    for (const r of args.resources) {
      const p = r.props;
      const report = (message: string) => reportViolation(message, r.urn);

      if (r.isType(aws.elasticache.ReplicationGroup)) {
        const what = `ElastiCache replication group ${r.name}`;
        const enabled = peek(p, "transitEncryptionEnabled");
        const mode = peek(p, "transitEncryptionMode");
        if (enabled !== UNKNOWN && enabled !== true) report(`${what}: transitEncryptionEnabled is ${show(enabled)}: clients connect in plain text`);
        else if (mode === "preferred") report(`${what}: transitEncryptionMode is "preferred": plain-text connections are still accepted; use "required"`);
      } else if (r.isType(aws.msk.Cluster)) {
        const what = `MSK cluster ${r.name}`;
        const transit = peek(p, "encryptionInfo", "encryptionInTransit");
        const clientBroker = peek(transit, "clientBroker") ?? "TLS";
        const inCluster = peek(transit, "inCluster") ?? true;
        if (clientBroker !== UNKNOWN && clientBroker !== "TLS") report(`${what}: encryptionInTransit.clientBroker is ${show(clientBroker)}: clients may connect in plain text; use "TLS"`);
        if (inCluster !== UNKNOWN && inCluster !== true) report(`${what}: encryptionInTransit.inCluster is ${show(inCluster)}: brokers replicate in plain text`);
      } else if (r.isType(aws.opensearch.Domain)) {
        const what = `OpenSearch domain ${r.name}`;
        // The provider defaults enforceHttps to true; the TLS policy has no safe default to rely on.
        const https = peek(p, "domainEndpointOptions", "enforceHttps") ?? true;
        const tlsPolicy = peek(p, "domainEndpointOptions", "tlsSecurityPolicy");
        const nodeToNode = peek(p, "nodeToNodeEncryption", "enabled");
        if (https !== UNKNOWN && https !== true) report(`${what}: domainEndpointOptions.enforceHttps is ${show(https)}: the endpoint accepts plain HTTP`);
        if (tlsPolicy !== UNKNOWN && !allowedTlsSecurityPolicies.includes(tlsPolicy as string)) {
          report(`${what}: domainEndpointOptions.tlsSecurityPolicy is ${show(tlsPolicy)}, not one of ${allowedTlsSecurityPolicies.join(", ")} (TLS 1.2 minimum)`);
        }
        if (nodeToNode !== UNKNOWN && nodeToNode !== true) report(`${what}: nodeToNodeEncryption.enabled is ${show(nodeToNode)}: nodes talk in plain text`);
      } else if (r.isType(aws.rds.Cluster)) {
        checkAuroraTls(r, parameterGroups, report);
      }
    }
  },
};

function checkAuroraTls(cluster: PolicyResource, parameterGroups: readonly PolicyResource[], report: (message: string) => void): void {
  const what = `Aurora cluster ${cluster.name}`;
  const engine = peek(cluster.props, "engine");
  if (engine === UNKNOWN) return;
  const parameter = tlsParameterFor(engine);
  if (!parameter) return;
  const groupName = peek(cluster.props, "dbClusterParameterGroupName");
  const matches = parameterGroups.map((g) => ({ group: g, ref: refersTo(cluster, "dbClusterParameterGroupName", g, [peek(g.props, "name")]) }));
  if (matches.some((m) => m.ref === UNKNOWN)) return;
  const group = matches.find((m) => m.ref === true)?.group;
  if (!group) {
    if (groupName === undefined || (typeof groupName === "string" && groupName.startsWith("default."))) {
      report(`${what}: uses the engine's default cluster parameter group, where ${parameter.name} is off: connections without TLS are accepted; use a parameter group with ${parameter.name} = ${parameter.on[0]}`);
    }
    // A group outside the stack cannot be judged here.
    return;
  }
  const parameters = peekList(group.props, "parameters");
  if (parameters === UNKNOWN || (parameters ?? []).some((x) => x === UNKNOWN)) return;
  const setting = (parameters ?? []).find((x) => peek(x, "name") === parameter.name);
  const value = setting === undefined ? undefined : peek(setting, "value");
  if (value === UNKNOWN) return;
  if (!parameter.on.includes(String(value))) {
    const found = value === undefined ? `does not set ${parameter.name} (default off)` : `sets ${parameter.name} to ${show(value)}`;
    report(`${what}: cluster parameter group ${group.name} ${found}: connections without TLS are accepted; set it to ${parameter.on[0]}`);
  }
}
