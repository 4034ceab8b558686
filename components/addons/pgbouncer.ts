/**
 * PgBouncer in front of Aurora (transaction pooling, TLS both ways), with its own HPA on client-slot
 * utilisation and CPU, a PodDisruptionBudget and a ServiceMonitor for its exporter sidecar. The pool
 * sizes come from ./pgbouncerPool.ts, so every pod together stays within Aurora's max_connections.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { rdsCaBundleSha256Annotation } from "../../lib/aws/rdsCaBundle";
import { addonImages } from "../../lib/catalog/addons";
import { priorityClasses } from "../../lib/catalog/cluster";
import { workloadClassLabel } from "../../lib/catalog/workloadClasses";
import { addonCustomMetricNames } from "../../lib/monitoring/metricNames";
import { prometheusScrapeIntervalSeconds, scalingBehavior } from "../../lib/scaling/responseTime";
import { pgbouncer, pgbouncerContainerResources, pgbouncerServiceAddress, pgbouncerSizing, pgbouncerTlsPaths, type PgBouncerPoolPlan } from "./pgbouncerPool";
import { failer, k8sChildOptions, resourcesOf, type AddonBaseArgs } from "./shared";

export interface PgBouncerArgs extends AddonBaseArgs {
  /** Aurora writer (cluster) endpoint, host name. */
  writerEndpoint: pulumi.Input<string>;
  /** Aurora reader endpoint (all readers, including the autoscaled ones), host name. */
  readerEndpoint: pulumi.Input<string>;
  /** Aurora's TCP port (1-65535). */
  port: pulumi.Input<number>;
  /** Database name; PgBouncer also serves `<name>_ro` on the readers. */
  databaseName: string;
  /** Pool sizes (planPgBouncerPool of the environment and Aurora's ACU range). */
  pool: PgBouncerPoolPlan;
  /** The `pyairtable-data` Namespace PgBouncer runs in. */
  namespace: k8s.core.v1.Namespace;
  /** What installs the ServiceMonitor CRD (the kube-prometheus-stack release). */
  monitoringReady: pulumi.Resource;
  /** What the Deployment waits for besides its namespace and config: priority classes, quotas, node capacity. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * SHA-256 of the deployed RDS CA bundle: a pod-template annotation, so a bundle AWS changed rolls
   * the pods (PgBouncer reads its CA file at start). Default: none.
   */
  serverCaBundleSha256?: pulumi.Input<string>;
}

/** Pod selector of PgBouncer's Deployment, Service, PDB and ServiceMonitor. */
export const pgbouncerSelector = { "app.kubernetes.io/name": pgbouncer.labels["app.kubernetes.io/name"] };

export class PgBouncer extends pulumi.ComponentResource {
  /** `pgbouncer.pyairtable-data.svc.cluster.local:6432`. */
  public readonly serviceAddress: string;
  public readonly deployment: k8s.apps.v1.Deployment;

  constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:addons:PgBouncer", name, {}, opts);
    const fail = failer("PgBouncer", name);
    if (args.namespace === undefined) fail("namespace is missing: pass the pyairtable-data Namespace");
    if (!(args.pool?.defaultPoolSize >= 1)) fail(`pool.defaultPoolSize = ${JSON.stringify(args.pool?.defaultPoolSize)}: must be at least 1 (see planPgBouncerPool)`);
    const prod = args.environment === "prod";
    const sizing = pgbouncerSizing[args.environment];
    const pool = args.pool;
    const child = (...deps: pulumi.Input<pulumi.Resource>[]) => k8sChildOptions(this, args, ...deps);

    const configFiles = pulumi.all([args.writerEndpoint, args.readerEndpoint, args.port]).apply(([writer, reader, port]) => ({
      "pgbouncer.ini": pgbouncerIni({ writer, reader, port, databaseName: args.databaseName, pool }),
      "pg_hba.conf": pgbouncerHba(),
    }));
    const config = new k8s.core.v1.ConfigMap(`${name}-pgbouncer-config`, {
      metadata: { name: "pgbouncer-config", namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      data: configFiles,
    }, child(args.namespace));
    const configChecksum = configFiles.apply((files) => createHash("sha256").update(JSON.stringify(files)).digest("hex"));

    const deployment = new k8s.apps.v1.Deployment(`${name}-pgbouncer`, {
      metadata: {
        name: pgbouncer.name,
        namespace: pgbouncer.namespace,
        labels: pgbouncer.labels,
        // Credentials arrive out of band (External Secrets): `pulumi up` must not block on them. The
        // PgBouncer alerts watch availability instead.
        annotations: { "pulumi.com/skipAwait": "true" },
      },
      spec: {
        // No `replicas`: the HPA owns the count (2-6 prod, 1-2 dev).
        revisionHistoryLimit: 5,
        selector: { matchLabels: pgbouncerSelector },
        // Never below the current capacity during a rollout: add a pod, then remove one.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: pgbouncerPodTemplate(prod, configChecksum, args.serverCaBundleSha256),
      },
    }, child(args.namespace, config, ...(args.dependsOn ?? [])));
    this.deployment = deployment;

    new k8s.core.v1.Service(`${name}-pgbouncer-service`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        type: "ClusterIP",
        selector: pgbouncerSelector,
        // `tcp-`/`http-` prefixes tell Istio the protocols.
        ports: [
          { name: "tcp-postgres", port: pgbouncer.port, targetPort: "postgres", protocol: "TCP" },
          { name: "http-metrics", port: pgbouncer.metricsPort, targetPort: "metrics", protocol: "TCP" },
        ],
      },
    }, child(args.namespace));

    new k8s.policy.v1.PodDisruptionBudget(`${name}-pgbouncer-pdb`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        // maxUnavailable, so dev's single replica can still be drained; prod keeps >= 1 of >= 2.
        maxUnavailable: 1,
        selector: { matchLabels: pgbouncerSelector },
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    }, child(args.namespace));

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-pgbouncer-hpa`, {
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: pgbouncer.name },
        minReplicas: sizing.minReplicas,
        maxReplicas: sizing.maxReplicas,
        metrics: [
          {
            // Client slots in use per pod (from the exporter, via prometheus-adapter).
            type: "Pods",
            pods: {
              metric: { name: addonCustomMetricNames.pgbouncerClientConnectionUtilisation },
              target: { type: "AverageValue", averageValue: `${sizing.targetClientUtilisationPercent * 10}m` },
            },
          },
          // PgBouncer is single-threaded: a busy core is the other reason to add a pod.
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
        ],
        behavior: structuredClone(scalingBehavior) as unknown as k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerBehavior,
      },
    }, child(deployment));

    new k8s.apiextensions.CustomResource(`${name}-pgbouncer-servicemonitor`, {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: pgbouncer.name, namespace: pgbouncer.namespace, labels: pgbouncer.labels },
      spec: {
        selector: { matchLabels: pgbouncerSelector },
        endpoints: [{ port: "http-metrics", path: "/metrics", interval: `${prometheusScrapeIntervalSeconds}s` }],
      },
    }, child(args.monitoringReady, args.namespace));
    this.serviceAddress = pgbouncerServiceAddress;
    this.registerOutputs({ serviceAddress: this.serviceAddress });
  }
}

/** The pod template of PgBouncer's Deployment: pooler and exporter on data-class nodes, hardened. */
export function pgbouncerPodTemplate(prod: boolean, configChecksum: pulumi.Input<string>, serverCaBundleSha256?: pulumi.Input<string>) {
  const selector = pgbouncerSelector;
  const hardening = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
  return {
    metadata: {
      labels: pgbouncer.labels,
      annotations: {
        "pyairtable.io/config-sha256": configChecksum,
        ...(serverCaBundleSha256 !== undefined ? { [rdsCaBundleSha256Annotation]: serverCaBundleSha256 } : {}),
      },
    },
    spec: {
      priorityClassName: priorityClasses.data.name,
      // PgBouncer never calls the Kubernetes API: no service-account token in the pod.
      automountServiceAccountToken: false,
      // Data class: on-demand nodes only, tainted for data-path pods.
      nodeSelector: { [workloadClassLabel]: "data" },
      tolerations: [{ key: workloadClassLabel, operator: "Equal", value: "data", effect: "NoSchedule" }],
      topologySpreadConstraints: [
        // One zone outage leaves the other zones' poolers up. Prod has data-class capacity in
        // every zone; dev's single data node cannot spread, so there it is a preference.
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: prod ? "DoNotSchedule" : "ScheduleAnyway", labelSelector: { matchLabels: selector } },
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
      ],
      // SIGTERM makes PgBouncer (>= 1.23) stop accepting and finish its clients' transactions.
      terminationGracePeriodSeconds: 60,
      securityContext: { runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "pgbouncer",
          image: addonImages.pgbouncer,
          command: ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
          ports: [{ name: "postgres", containerPort: pgbouncer.port, protocol: "TCP" }],
          resources: resourcesOf(pgbouncerContainerResources.pgbouncer),
          readinessProbe: { tcpSocket: { port: "postgres" }, periodSeconds: 5, failureThreshold: 2 },
          livenessProbe: { tcpSocket: { port: "postgres" }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 3 },
          // Let the Service drop this endpoint before PgBouncer stops accepting connections.
          lifecycle: { preStop: { exec: { command: ["sleep", "10"] } } },
          securityContext: hardening,
          volumeMounts: [
            { name: "config", mountPath: "/etc/pgbouncer", readOnly: true },
            { name: "auth", mountPath: "/etc/pgbouncer-auth", readOnly: true },
            { name: "server-ca", mountPath: pgbouncerTlsPaths.serverCaDir, readOnly: true },
            { name: "client-tls", mountPath: pgbouncerTlsPaths.clientTlsDir, readOnly: true },
          ],
        },
        {
          name: "exporter",
          image: addonImages.pgbouncerExporter,
          // Admin console over loopback; pg_hba.conf trusts this user from 127.0.0.1 only.
          args: [
            // TLS even over loopback: PgBouncer refuses every plaintext client (client_tls_sslmode = require).
            `--pgBouncer.connectionString=postgres://${pgbouncer.exporterUser}@127.0.0.1:${pgbouncer.port}/pgbouncer?sslmode=require`,
            `--web.listen-address=:${pgbouncer.metricsPort}`,
          ],
          ports: [{ name: "metrics", containerPort: pgbouncer.metricsPort, protocol: "TCP" }],
          resources: resourcesOf(pgbouncerContainerResources.exporter),
          readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 15 },
          // A hung exporter is restarted (its /metrics stops answering); PgBouncer is unaffected.
          livenessProbe: { httpGet: { path: "/metrics", port: "metrics" }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
          securityContext: hardening,
        },
      ],
      volumes: [
        { name: "config", configMap: { name: "pgbouncer-config" } },
        { name: "auth", secret: { secretName: pgbouncer.authSecret.name, items: [{ key: pgbouncer.authSecret.key, path: "userlist.txt" }], defaultMode: 0o440 } },
        { name: "server-ca", configMap: { name: pgbouncer.serverCaBundle.configMapName, items: [{ key: pgbouncer.serverCaBundle.key, path: pgbouncer.serverCaBundle.key }] } },
        { name: "client-tls", secret: { secretName: pgbouncer.clientTlsSecret.name, items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }], defaultMode: 0o440 } },
      ],
    },
  };
}

interface IniInput {
  writer: string;
  reader: string;
  port: number;
  databaseName: string;
  pool: PgBouncerPoolPlan;
}

/** pgbouncer.ini: transaction pooling, pools sized by planPgBouncerPool, TLS to Aurora. */
export function pgbouncerIni({ writer, reader, port, databaseName, pool }: IniInput): string {
  return [
    "[databases]",
    `${databaseName} = host=${writer} port=${port} dbname=${databaseName}`,
    `${databaseName}_ro = host=${reader} port=${port} dbname=${databaseName}`,
    "",
    "[pgbouncer]",
    "listen_addr = 0.0.0.0",
    `listen_port = ${pgbouncer.port}`,
    // No unix socket: the root filesystem is read-only and nothing local needs one.
    "unix_socket_dir =",
    "auth_type = hba",
    "auth_hba_file = /etc/pgbouncer/pg_hba.conf",
    "auth_file = /etc/pgbouncer-auth/userlist.txt",
    `stats_users = ${pgbouncer.exporterUser}`,
    // A server connection is held only for a transaction: many clients share few connections.
    "pool_mode = transaction",
    `max_client_conn = ${pool.maxClientConn}`,
    `default_pool_size = ${pool.defaultPoolSize}`,
    "min_pool_size = 0",
    `reserve_pool_size = ${pool.reservePoolSize}`,
    "reserve_pool_timeout = 3",
    // Hard cap per database entry (writer, reader) per pod, reserve included.
    `max_db_connections = ${pool.maxDbConnections}`,
    // Drivers' protocol-level prepared statements work in transaction mode.
    "max_prepared_statements = 200",
    "ignore_startup_parameters = extra_float_digits",
    // Aurora enforces TLS (rds.force_ssl); PgBouncer verifies its certificate chain against the RDS CA
    // bundle and the endpoint's host name (verify-full).
    "server_tls_sslmode = verify-full",
    `server_tls_ca_file = ${pgbouncerTlsPaths.serverCaDir}/${pgbouncer.serverCaBundle.key}`,
    "server_tls_protocols = secure",
    // Clients (and the metrics sidecar) must use TLS; pg_hba.conf admits only hostssl.
    "client_tls_sslmode = require",
    `client_tls_cert_file = ${pgbouncerTlsPaths.clientTlsDir}/tls.crt`,
    `client_tls_key_file = ${pgbouncerTlsPaths.clientTlsDir}/tls.key`,
    "client_tls_protocols = secure",
    // Re-resolve the endpoints quickly: the writer endpoint moves on failover.
    "dns_max_ttl = 15",
    "server_lifetime = 3600",
    "server_idle_timeout = 600",
    "server_connect_timeout = 5",
    "query_wait_timeout = 60",
    "tcp_keepalive = 1",
    "log_connections = 0",
    "log_disconnections = 0",
    "log_pooler_errors = 1",
    "stats_period = 15",
    "application_name_add_host = 1",
    "",
  ].join("\n");
}

/** pg_hba.conf: the metrics sidecar over loopback only, applications with SCRAM. */
export function pgbouncerHba(): string {
  return [
    `hostssl  pgbouncer  ${pgbouncer.exporterUser}  127.0.0.1/32  trust`,
    `host     all        ${pgbouncer.exporterUser}  0.0.0.0/0     reject`,
    "hostssl  all        all                 0.0.0.0/0     scram-sha-256",
    // Plaintext is refused before authentication (client_tls_sslmode = require); this says so again.
    "hostnossl all       all                 0.0.0.0/0     reject",
    "",
  ].join("\n");
}
