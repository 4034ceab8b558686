import * as aws from "@pulumi/aws";
import { type PolicyResource, type StackValidationPolicy, UnknownValueError } from "@pulumi/policy";

export interface EncryptionInTransitConfig {
  /** OpenSearch TLS security policies accepted on the domain endpoint (TLS 1.2 minimum). */
  allowedTlsSecurityPolicies: string[];
}

// Values that cannot be judged: preview unknowns (the analyzer's proxy throws UnknownValueError when one
// is read; the offline plan records `{ __pulumiUnknown: true }`) and masked secrets.
const UNKNOWN = Symbol("unknown");
const isUnknown = (v: unknown): boolean =>
  v === UNKNOWN || v === "[secret]" || (typeof v === "object" && v !== null && (v as { __pulumiUnknown?: unknown }).__pulumiUnknown === true);
/** `value[path[0]][path[1]]...`: undefined when absent, UNKNOWN when it cannot be judged. */
function peek(value: unknown, ...path: (string | number)[]): unknown {
  try {
    for (const key of path) {
      if (isUnknown(value)) return UNKNOWN;
      value = (value as Record<string | number, unknown> | null | undefined)?.[key];
    }
    return isUnknown(value) ? UNKNOWN : value;
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN;
    throw e;
  }
}
/** The elements (each peeked) of the array at `path`; UNKNOWN, or undefined when absent. */
function peekList(value: unknown, ...path: (string | number)[]): unknown[] | typeof UNKNOWN | undefined {
  const list = peek(value, ...path);
  if (list === UNKNOWN) return UNKNOWN;
  return Array.isArray(list) ? Array.from({ length: list.length }, (_, i) => peek(list, i)) : undefined;
}
/**
 * Whether `from.props[prop]` refers to `to`: by the engine's property dependencies (during a preview a
 * new resource's id is unknown, but the dependency is recorded), else by value against `to`'s ids
 * (its physical name, its `id` output, its logical name and `<logical name>-id`, which the offline
 * plan's mocks use for autonamed resources). UNKNOWN when it cannot be told.
 */
function refersTo(from: PolicyResource, prop: string, to: PolicyResource, ids: unknown[]): boolean | typeof UNKNOWN {
  const deps = from.propertyDependencies?.[prop] ?? [];
  if (deps.some((d) => d.urn === to.urn)) return true;
  const value = peek(from.props, prop);
  if (value === UNKNOWN) return deps.length > 0 ? false : UNKNOWN;
  const known = [...ids, peek(to.props, "id"), to.name, `${to.name}-id`].filter((v) => typeof v === "string" && v !== "");
  return typeof value === "string" && known.includes(value);
}

const show = (v: unknown) => (v === undefined ? "not set" : JSON.stringify(v));

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
