/**
 * PgBouncer in front of Aurora, as data: its names and ports, its sizing per environment, and the
 * pool plan that keeps every PgBouncer pod together within Aurora's `max_connections`.
 */
import { rdsCaBundleConfigMap } from "../../lib/aws/rdsCaBundle";
import { namespaces } from "../../lib/catalog/cluster";
import { workloadClassLabel } from "../../lib/catalog/workloadClasses";
import type { Environment } from "../../lib/config/settings";
import type { ContainerResources } from "./shared";

/** PgBouncer in front of Aurora: what applications connect to, and what it needs. */
export const pgbouncer = {
  name: "pgbouncer",
  namespace: namespaces.data,
  port: 6432,
  metricsPort: 9127,
  /**
   * Secret with PgBouncer's `auth_file` (userlist.txt), rendered in `pyairtable-data` by External
   * Secrets (components/addons/externalSecrets.ts) from the RDS-managed master secret in Secrets
   * Manager (JSON with `username` and `password`; RDS rotates it), with this template:
   *
   *     userlist.txt: |
   *       "{{ .username }}" "{{ .password }}"
   *       "pgbouncer_exporter" ""
   *
   * The second line lets the metrics sidecar into the admin console; pg_hba.conf admits that user
   * only from 127.0.0.1 (the pod itself) and only to the `pgbouncer` console database. No password
   * is invented or stored by this stack. After a rotation, roll the Deployment (or run RELOAD) so
   * PgBouncer re-reads the file.
   */
  authSecret: { name: "pyairtable-pgbouncer-userlist", key: "userlist.txt" },
  /** Admin-console user of the metrics sidecar (stats_users). */
  exporterUser: "pgbouncer_exporter",
  /**
   * Amazon RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) in a
   * ConfigMap of `pyairtable-data`, downloaded at deploy time (components/addons/certManager.ts,
   * lib/aws/rdsCaBundle.ts): PgBouncer verifies Aurora's certificate and host name with it (verify-full).
   */
  serverCaBundle: { configMapName: rdsCaBundleConfigMap.name, key: rdsCaBundleConfigMap.key },
  /**
   * `kubernetes.io/tls` Secret with PgBouncer's server certificate for its clients (`tls.crt`,
   * `tls.key`), issued for its service names by cert-manager from the cluster's private CA
   * (components/addons/certManager.ts): no private key passes through the stack state.
   */
  clientTlsSecret: { name: "pgbouncer-tls" },
  labels: {
    "app.kubernetes.io/name": "pgbouncer",
    "app.kubernetes.io/part-of": "pyairtable",
    "app.kubernetes.io/managed-by": "pulumi",
    [workloadClassLabel]: "data",
  },
} as const;

/** Where PgBouncer's TLS material is mounted. */
export const pgbouncerTlsPaths = { serverCaDir: "/etc/pgbouncer-tls/server-ca", clientTlsDir: "/etc/pgbouncer-tls/client" } as const;

/** In-cluster address of PgBouncer (`host:port`). */
export const pgbouncerServiceAddress = `${pgbouncer.name}.${pgbouncer.namespace}.svc.cluster.local:${pgbouncer.port}`;

/** The two containers of a PgBouncer pod. */
export const pgbouncerContainerResources = {
  pgbouncer: { request: { cpuMillis: 250, memoryMiB: 128 }, limit: { cpuMillis: 1000, memoryMiB: 256 } },
  exporter: { request: { cpuMillis: 50, memoryMiB: 32 }, limit: { cpuMillis: 200, memoryMiB: 64 } },
} as const satisfies Record<string, ContainerResources>;

/** PgBouncer per environment. Replica range and HPA target; the pool sizes follow from Aurora. */
export interface PgBouncerSizing {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** `max_client_conn` per pod: application connections one PgBouncer accepts. */
  readonly maxClientConnPerPod: number;
  /**
   * Upper bound of `default_pool_size` (server connections per database per pod) regardless of how
   * many Aurora would accept: more concurrent transactions than this per pod only queue inside
   * PostgreSQL instead of inside PgBouncer.
   */
  readonly poolSizeCap: number;
  /** `reserve_pool_size`: extra server connections for bursts (after `reserve_pool_timeout`). */
  readonly reservePoolSize: number;
  /** HPA target: average client-connection utilisation per pod, percent. */
  readonly targetClientUtilisationPercent: number;
}

export const pgbouncerSizing: Readonly<Record<Environment, PgBouncerSizing>> = {
  prod: { minReplicas: 2, maxReplicas: 6, maxClientConnPerPod: 1000, poolSizeCap: 100, reservePoolSize: 5, targetClientUtilisationPercent: 70 },
  dev: { minReplicas: 1, maxReplicas: 2, maxClientConnPerPod: 200, poolSizeCap: 20, reservePoolSize: 2, targetClientUtilisationPercent: 70 },
};

/**
 * Aurora PostgreSQL Serverless v2 sets `max_connections` from the memory of the cluster's maximum
 * ACU (LEAST(DBInstanceClassMemory/9531392, 5000)); AWS documents 189 connections at 1 ACU and
 * 3,360 at 16 ACU. 189 per ACU is therefore a lower bound for every maximum of 1 ACU or more.
 */
export const auroraConnectionsPerAcu = 189;
/** AWS caps max_connections at 2,000 when the minimum capacity is 0 or 0.5 ACU, else at 5,000. */
export const auroraConnectionCaps = { lowMinimumAcu: 2000, default: 5000 } as const;
/**
 * Connections left to everything that is not PgBouncer: rds_superuser and replication slots, the
 * automation service, migrations, Performance Insights and operators' psql sessions.
 */
export const auroraReservedConnections = { percent: 20, minimum: 20 } as const;

/** The worst-case `max_connections` of every Aurora instance (writer and each reader) at maxAcu. */
export function auroraMaxConnections(minAcu: number, maxAcu: number): number {
  const byMemory = Math.floor(auroraConnectionsPerAcu * maxAcu);
  const cap = minAcu <= 0.5 ? auroraConnectionCaps.lowMinimumAcu : auroraConnectionCaps.default;
  return Math.min(byMemory, cap);
}

export interface PgBouncerPoolPlan {
  readonly auroraMaxConnections: number;
  readonly reservedForOthers: number;
  /** Server connections all PgBouncer pods together may open to one Aurora instance. */
  readonly pgbouncerBudget: number;
  /** budget / maxReplicas: what one pod may open to one instance (`max_db_connections`). */
  readonly serverConnectionsPerPod: number;
  readonly defaultPoolSize: number;
  readonly reservePoolSize: number;
  readonly maxDbConnections: number;
  readonly maxClientConn: number;
}

/**
 * PgBouncer pool sizes that can never exceed what Aurora accepts:
 *
 *     max_connections  = min(floor(189 x maxAcu), 2000 if minAcu <= 0.5 else 5000)
 *     budget           = max_connections - max(20, ceil(20% x max_connections))
 *     per pod          = floor(budget / pgbouncer maxReplicas)          -> max_db_connections
 *     default_pool_size = min(poolSizeCap, per pod - reserve_pool_size)
 *
 * `max_db_connections` caps every database entry per pod, reserve pool included, and the writer
 * and reader entries reach different instances (each with its own max_connections), so even with
 * every PgBouncer pod at its cap no instance sees more than `budget` PgBouncer connections.
 */
export function planPgBouncerPool(environment: Environment, minAcu: number, maxAcu: number): PgBouncerPoolPlan {
  const sizing = pgbouncerSizing[environment];
  const max = auroraMaxConnections(minAcu, maxAcu);
  const reserved = Math.max(auroraReservedConnections.minimum, Math.ceil((max * auroraReservedConnections.percent) / 100));
  const budget = max - reserved;
  const perPod = Math.floor(budget / sizing.maxReplicas);
  return {
    auroraMaxConnections: max,
    reservedForOthers: reserved,
    pgbouncerBudget: budget,
    serverConnectionsPerPod: perPod,
    defaultPoolSize: Math.min(sizing.poolSizeCap, perPod - sizing.reservePoolSize),
    reservePoolSize: sizing.reservePoolSize,
    maxDbConnections: perPod,
    maxClientConn: sizing.maxClientConnPerPod,
  };
}
