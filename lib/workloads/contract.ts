/**
 * The workload contract: what every catalog service's Deployment must carry so that the program's
 * scaling and capacity work for it. Derived from the service catalog (one table), never re-typed:
 *
 * - labels the HPA/ScaledObject targets, the PDB selector and the PodMonitor relabelling read
 *   (`app.kubernetes.io/name`, `app.kubernetes.io/part-of`, the workload class);
 * - `nodeSelector` and toleration of the class's Karpenter NodePools
 *   (`pyairtable.io/workload-class=<class>:NoSchedule`);
 * - a `DoNotSchedule` spread with `maxSkew: 1` over `pyairtable.io/capacity-spread`, which makes
 *   the class's spot share follow the pools' split of its ten values (plus a soft zone spread);
 * - the class's priority class, CPU and memory requests (HPA utilisation targets need them),
 *   probes and the named `metrics` port the PodMonitor scrapes, with the request metrics the
 *   service's HPA reads.
 *
 * Pure functions: the Pulumi helper (`applyWorkloadContract`), the reference Deployments, the
 * admission policy's tests and the generated Helm/Kustomize snippets and docs all use them.
 */
import { serviceCatalog, type ServiceDefinition } from "../catalog/services";
import { capacitySpreadLabel, karpenterCapacityTypeLabel, workloadClassLabel } from "../catalog/workloadClasses";
import { customMetricNames, priorityClasses } from "../catalog/cluster";
import { applicationMetrics } from "../monitoring/metricNames";
import { containerBounds } from "../scaling/workloads";

/** Pod label whose value is the service name (HPA/PDB/PodMonitor `service` label read it). */
export const serviceNameLabel = "app.kubernetes.io/name";
/** Pod label the PodMonitors select application pods by. */
export const partOfLabel = { "app.kubernetes.io/part-of": "pyairtable" } as const;
/** Standard zone label; pods also spread over zones (softly: the capacity-spread is the hard one). */
export const zoneLabel = "topology.kubernetes.io/zone";
/** Named container ports of the contract: HTTP (probes) and Prometheus metrics (PodMonitor `port`). */
export const contractPorts = { http: "http", metrics: "metrics" } as const;
/** Probe paths every service serves on its `http` port. */
export const probePaths = { liveness: "/healthz", readiness: "/readyz" } as const;

type Labels = Record<string, string>;

export interface Toleration {
  readonly key: string;
  readonly operator: "Equal";
  readonly value: string;
  readonly effect: "NoSchedule";
}

export interface TopologySpreadConstraint {
  readonly maxSkew: number;
  readonly minDomains?: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  readonly labelSelector: { readonly matchLabels: Labels };
  readonly matchLabelKeys?: readonly string[];
}

/** The contract of one service: the exact fragment its Deployment must carry. */
export interface WorkloadContract {
  readonly service: string;
  readonly namespace: string;
  readonly workloadClass: ServiceDefinition["workloadClass"];
  /** Labels on the Deployment and on its pod template. */
  readonly labels: Labels;
  /** The Deployment's `spec.selector.matchLabels` (stable: never the class). */
  readonly selector: Labels;
  /** Fields of the pod template's `spec`. */
  readonly podSpec: {
    readonly priorityClassName: string;
    readonly nodeSelector: Labels;
    readonly tolerations: readonly Toleration[];
    readonly topologySpreadConstraints: readonly TopologySpreadConstraint[];
    /**
     * A preference (not a requirement) for on-demand nodes: among the capacity-spread values the
     * spread allows, Karpenter (which tries preferences first, then relaxes them) and the scheduler
     * fill on-demand values before spot ones, so a partly filled round of the ten values rounds the
     * spot share down, never up (README: spot share by replica count).
     */
    readonly affinity: {
      readonly nodeAffinity: {
        readonly preferredDuringSchedulingIgnoredDuringExecution: readonly {
          readonly weight: number;
          readonly preference: { readonly matchExpressions: readonly { readonly key: string; readonly operator: "In"; readonly values: readonly string[] }[] };
        }[];
      };
    };
  };
  /** What the main container (named after `container` of the catalog) must carry. */
  readonly container: {
    readonly name: string;
    /** Requests every container must set (an HPA utilisation target is a share of them). */
    readonly requiredRequests: readonly ("cpu" | "memory")[];
    /** The smallest requests the class's VPA bounds allow (used by the reference Deployments). */
    readonly minimumRequests: { readonly cpu: string; readonly memory: string };
    /** Named ports: `http` (probes) and `metrics` (PodMonitor). Numbers are the team's. */
    readonly portNames: readonly string[];
    readonly livenessProbe: { readonly httpGet: { readonly path: string; readonly port: string } };
    readonly readinessProbe: { readonly httpGet: { readonly path: string; readonly port: string } };
    /** Prometheus metrics the service must export on `metrics` (its HPA reads them through prometheus-adapter). */
    readonly requiredMetrics: readonly string[];
  };
}

/** Metrics a service must export for its HPA's custom-metric signals. */
function requiredMetricsFor(service: ServiceDefinition): string[] {
  const metrics = new Set<string>();
  for (const signal of service.signals) {
    if (signal.type === "requestsPerSecond") metrics.add(`${applicationMetrics.httpRequestsTotal} (→ ${customMetricNames.requestsPerSecond})`);
    if (signal.type === "latencyP95") metrics.add(`${applicationMetrics.httpRequestDurationSeconds} histogram (→ ${customMetricNames.latencyP95})`);
    if (signal.type === "dbConnections") metrics.add(`${applicationMetrics.dbConnectionsInUse} (→ ${customMetricNames.dbConnections})`);
  }
  return [...metrics];
}

/** The contract of one catalog service. */
export function workloadContract(service: ServiceDefinition): WorkloadContract {
  const cls = service.workloadClass;
  const selector = { [serviceNameLabel]: service.name };
  return {
    service: service.name,
    namespace: service.namespace,
    workloadClass: cls,
    labels: { ...selector, ...partOfLabel, [workloadClassLabel]: cls },
    selector,
    podSpec: {
      priorityClassName: priorityClasses[cls].name,
      nodeSelector: { [workloadClassLabel]: cls },
      tolerations: [{ key: workloadClassLabel, operator: "Equal", value: cls, effect: "NoSchedule" }],
      topologySpreadConstraints: [
        {
          // The hard one: pods spread evenly over the ten capacity-spread values, which the class's
          // spot and on-demand NodePools split in the class's ratio. No minDomains: the pools' node
          // limits can make fewer than ten values reachable (dev), and minDomains would then cap
          // the replicas at the reachable values.
          maxSkew: 1,
          topologyKey: capacitySpreadLabel,
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: selector },
          matchLabelKeys: ["pod-template-hash"],
        },
        {
          // Zones: soft, so a zone outage never blocks the capacity split.
          maxSkew: 1,
          topologyKey: zoneLabel,
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selector },
          matchLabelKeys: ["pod-template-hash"],
        },
      ],
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, preference: { matchExpressions: [{ key: karpenterCapacityTypeLabel, operator: "In", values: ["on-demand"] }] } },
          ],
        },
      },
    },
    container: {
      name: service.container,
      requiredRequests: ["cpu", "memory"],
      minimumRequests: { ...containerBounds[cls].minAllowed },
      portNames: [contractPorts.http, contractPorts.metrics],
      livenessProbe: { httpGet: { path: probePaths.liveness, port: contractPorts.http } },
      readinessProbe: { httpGet: { path: probePaths.readiness, port: contractPorts.http } },
      requiredMetrics: requiredMetricsFor(service),
    },
  };
}

/** Contracts of the whole catalog. */
export const workloadContracts = (): WorkloadContract[] => (serviceCatalog as readonly ServiceDefinition[]).map(workloadContract);

/** Error naming the service, the key and what the contract requires. */
export class WorkloadContractError extends Error {}

type Json = Record<string, any>;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/**
 * Applies the contract to a Deployment (or StatefulSet) manifest an application team writes in a
 * Pulumi program: merges labels, selector, nodeSelector, tolerations, spread constraints and the
 * priority class; checks (does not invent) the main container's requests. Throws before returning
 * anything when the manifest contradicts the contract (another class, a spot toleration on data).
 */
export function applyWorkloadContract<T extends Json>(service: ServiceDefinition, manifest: T): T {
  const c = workloadContract(service);
  const where = (key: string) => `service '${service.name}': ${key}`;
  const pod = (manifest.spec?.template?.spec ?? {}) as Json;
  const selected = pod.nodeSelector?.[workloadClassLabel];
  if (selected !== undefined && selected !== c.workloadClass) {
    throw new WorkloadContractError(`${where(`spec.template.spec.nodeSelector["${workloadClassLabel}"]`)} = ${JSON.stringify(selected)}: must be '${c.workloadClass}' (the catalog's class)`);
  }
  const containers = (pod.containers ?? []) as Json[];
  const main = containers.find((x) => x.name === c.container.name);
  if (!main) {
    throw new WorkloadContractError(`${where("spec.template.spec.containers")}: no container named '${c.container.name}' (the catalog's container; VPA and resource metrics use that name)`);
  }
  for (const container of containers) {
    for (const r of c.container.requiredRequests) {
      if (container.resources?.requests?.[r] === undefined) {
        throw new WorkloadContractError(`${where(`containers[${container.name}].resources.requests.${r}`)} is not set: every container needs cpu and memory requests (HPA utilisation is a share of them)`);
      }
    }
  }
  const tolerations = [...((pod.tolerations ?? []) as Json[]).filter((t) => t.key !== workloadClassLabel), ...c.podSpec.tolerations];
  const spreads = [
    ...((pod.topologySpreadConstraints ?? []) as Json[]).filter((s) => !c.podSpec.topologySpreadConstraints.some((k) => k.topologyKey === s.topologyKey)),
    ...c.podSpec.topologySpreadConstraints,
  ];
  return {
    ...manifest,
    metadata: { ...manifest.metadata, name: manifest.metadata?.name ?? service.name, namespace: c.namespace, labels: { ...manifest.metadata?.labels, ...c.labels } },
    spec: {
      ...manifest.spec,
      selector: { matchLabels: { ...c.selector } },
      template: {
        ...manifest.spec?.template,
        metadata: { ...manifest.spec?.template?.metadata, labels: { ...manifest.spec?.template?.metadata?.labels, ...c.labels } },
        spec: {
          ...pod,
          priorityClassName: c.podSpec.priorityClassName,
          affinity: { ...pod.affinity, nodeAffinity: { ...pod.affinity?.nodeAffinity, ...clone(c.podSpec.affinity.nodeAffinity) } },
          nodeSelector: { ...pod.nodeSelector, ...c.podSpec.nodeSelector },
          tolerations: tolerations.map((t) => ({ ...t })),
          topologySpreadConstraints: spreads.map((s) => ({ ...s, labelSelector: { matchLabels: { ...s.labelSelector.matchLabels } }, ...(s.matchLabelKeys ? { matchLabelKeys: [...s.matchLabelKeys] } : {}) })),
        },
      },
    },
  };
}

/** Image of the reference Deployments: serves `/healthz`, `/readyz` (port 9898) and `/metrics` (9797). */
export const referenceImage = { image: "ghcr.io/stefanprodan/podinfo:6.7.1", httpPort: 9898, metricsPort: 9797 } as const;

/**
 * A reference Deployment of a catalog service, built with the contract: the target of its HPA or
 * ScaledObject in stacks without the real application (dev), so the stack is end-to-end.
 * `replicas` is omitted: the HPA/ScaledObject owns it.
 */
export function referenceDeployment(service: ServiceDefinition) {
  const c = workloadContract(service);
  const base = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: service.name, namespace: service.namespace, labels: { "app.kubernetes.io/managed-by": "pulumi", "pyairtable.io/reference": "true" } },
    spec: {
      selector: { matchLabels: c.selector },
      template: {
        metadata: { labels: {} as Labels },
        spec: {
          automountServiceAccountToken: false,
          // podinfo's image user is not numeric: run as nobody so runAsNonRoot can be verified.
          securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
          containers: [{
            name: c.container.name,
            image: referenceImage.image,
            args: ["./podinfo", `--port=${referenceImage.httpPort}`, `--port-metrics=${referenceImage.metricsPort}`],
            ports: [
              { name: contractPorts.http, containerPort: referenceImage.httpPort, protocol: "TCP" },
              { name: contractPorts.metrics, containerPort: referenceImage.metricsPort, protocol: "TCP" },
            ],
            // A CPU limit too (every container in the stack has both): one core, far above podinfo's use.
            resources: { requests: { ...c.container.minimumRequests }, limits: { cpu: "1", memory: c.container.minimumRequests.memory } },
            livenessProbe: { ...c.container.livenessProbe, periodSeconds: 10 },
            readinessProbe: { ...c.container.readinessProbe, periodSeconds: 5 },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          }],
        },
      },
    },
  };
  return applyWorkloadContract(service, base);
}
