/**
 * The workload contract in the forms application teams use, generated from the catalog: per-service
 * Helm values snippets, Kustomize components, docs/workload-contract.md, and the README's spot-share
 * table from the scheduling simulation. `npm run readme:contract` writes them; a test checks that
 * the committed files equal the rendering.
 */
import { stringify } from "yaml";
import { serviceCatalog, type ServiceDefinition } from "../catalog/services";
import { karpenterWorkloadClasses } from "../catalog/workloadClasses";
import { spotShareRange, withoutSpreadContract, type PodPlacement, type ShareRange } from "../scaling/spotSimulation";
import { contractNamespaces, contractValidations, validationActionsFor, workloadContractPolicyName } from "./admissionPolicy";
import { workloadContract, type WorkloadContract } from "./contract";

type Json = Record<string, any>;
const yaml = (v: unknown) => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });
const header = (what: string) => `# ${what}\n# Generated from lib/catalog/services.ts by \`npm run readme:contract\`; do not edit by hand.\n`;

/** Requests the snippets carry as a starting point (the class's smallest VPA bounds; tune them). */
const requestsOf = (c: WorkloadContract) => ({ requests: { ...c.container.minimumRequests } });

/** Helm values fragment (the keys most charts, e.g. the bitnami/common-style ones, expose). */
export function helmValuesSnippet(service: ServiceDefinition): string {
  const c = workloadContract(service);
  const values = {
    fullnameOverride: service.name,
    podLabels: c.labels,
    priorityClassName: c.podSpec.priorityClassName,
    nodeSelector: c.podSpec.nodeSelector,
    tolerations: c.podSpec.tolerations,
    topologySpreadConstraints: c.podSpec.topologySpreadConstraints,
    affinity: c.podSpec.affinity,
    resources: requestsOf(c),
    livenessProbe: c.container.livenessProbe,
    readinessProbe: c.container.readinessProbe,
    containerPorts: { [c.container.portNames[0]!]: "<your HTTP port>", [c.container.portNames[1]!]: "<your metrics port>" },
  };
  return `${header(`Workload contract of ${service.name} as Helm values: merge into the chart's values (namespace ${service.namespace}).`)}${yaml(values)}`;
}

/** A Kustomize Component patching the service's Deployment with the contract. */
export function kustomizeComponent(service: ServiceDefinition): string {
  const c = workloadContract(service);
  const patch = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: service.name, namespace: service.namespace, labels: c.labels },
    spec: {
      selector: { matchLabels: c.selector },
      template: {
        metadata: { labels: c.labels },
        spec: {
          priorityClassName: c.podSpec.priorityClassName,
          nodeSelector: c.podSpec.nodeSelector,
          tolerations: c.podSpec.tolerations,
          topologySpreadConstraints: c.podSpec.topologySpreadConstraints,
          affinity: c.podSpec.affinity,
          containers: [{ name: c.container.name, resources: requestsOf(c), livenessProbe: c.container.livenessProbe, readinessProbe: c.container.readinessProbe }],
        },
      },
    },
  };
  const component = {
    apiVersion: "kustomize.config.k8s.io/v1alpha1",
    kind: "Component",
    patches: [{ target: { group: "apps", version: "v1", kind: "Deployment", name: service.name }, patch: yaml(patch) }],
  };
  return `${header(`Workload contract of ${service.name} as a Kustomize component: add it under \`components:\` of the service's kustomization.`)}${yaml(component)}`;
}

/** Per-class simulation results of one stack. */
export interface StackSimulation {
  readonly stack: string;
  readonly classes: readonly {
    readonly workloadClass: string;
    readonly limit: number;
    readonly withContract: readonly ShareRange[];
    /** With the contract, if the scheduler broke value ties against the on-demand preference. */
    readonly adverseTies: readonly ShareRange[];
    readonly withoutContract: readonly ShareRange[];
  }[];
}

/** Runs the simulation for every class that has catalog services, up to the class's largest maximum. */
export function simulateStack(stack: string, nodePools: readonly Json[], maxReplicas: Readonly<Record<string, { maxReplicas: number }>>, limits: Readonly<Record<string, number>>): StackSimulation {
  const classes = karpenterWorkloadClasses.flatMap((cls) => {
    const services = serviceCatalog.filter((s) => s.workloadClass === cls);
    if (services.length === 0) return [];
    const pod = workloadContract(services[0]!).podSpec as unknown as PodPlacement;
    const max = Math.max(...services.map((s) => maxReplicas[s.name]?.maxReplicas ?? 1));
    const limit = limits[cls];
    if (limit === undefined) throw new Error(`spot-share-by-workload-class.maxSpotShare.${cls} is not set: the simulation needs the class's limit`);
    return [{
      workloadClass: cls,
      limit,
      withContract: spotShareRange(nodePools, pod, max, ["preference"]),
      adverseTies: spotShareRange(nodePools, pod, max, ["adverse"]),
      withoutContract: spotShareRange(nodePools, withoutSpreadContract(pod), max, ["preference", "adverse"]),
    }];
  });
  return { stack, classes };
}

const pct = (spot: number, n: number) => `${Math.round((100 * spot) / n)}%`;
const cell = (r: ShareRange) => {
  const share = r.minSpot === r.maxSpot ? `${r.maxSpot} (${pct(r.maxSpot, r.replicas)})` : `${r.minSpot}-${r.maxSpot} (${pct(r.minSpot, r.replicas)}-${pct(r.maxSpot, r.replicas)})`;
  return r.maxPending > 0 ? `${share}, ${r.maxPending} pending` : share;
};

/** The README table: spot pods (share) per replica count, per class. */
export function spotSimulationTable(sim: StackSimulation): string {
  const lines: string[] = [];
  for (const c of sim.classes) {
    lines.push(`**${sim.stack}, ${c.workloadClass} class** (limit ${Math.round(c.limit * 100)}%): spot pods (share) of one Deployment at each replica count`, "");
    lines.push("| replicas | with the contract | contract, ties against the preference | without the spread contract (any pool order) | within limit with the contract |");
    lines.push("| ---: | --- | --- | --- | --- |");
    c.withContract.forEach((r, i) => {
      const ok = r.maxSpot <= c.limit * r.replicas + 1e-9;
      lines.push(`| ${r.replicas} | ${cell(r)} | ${cell(c.adverseTies[i]!)} | ${cell(c.withoutContract[i]!)} | ${ok ? "yes" : "**no**"} |`);
    });
    lines.push("");
  }
  return lines.join("\n");
}

/** docs/workload-contract.md */
export function contractMarkdown(): string {
  const out: string[] = [
    "# The workload contract",
    "",
    "<!-- Generated from lib/catalog/services.ts by `npm run readme:contract`; do not edit by hand. -->",
    "",
    "The platform scales eleven services it does not deploy: their HPAs and ScaledObjects target",
    "Deployments by name, the Karpenter NodePools of each workload class carry a",
    "`pyairtable.io/workload-class=<class>:NoSchedule` taint, and each class's spot share holds only if",
    "its pods spread evenly over `pyairtable.io/capacity-spread`. Every service's Deployment must carry",
    "the fragment below. Use it as",
    "",
    "- a TypeScript function in Pulumi programs: `applyWorkloadContract(serviceByName(\"<service>\"), deployment)`",
    "  from `lib/workloads/contract.ts` (it merges the fragment and rejects a manifest of another class,",
    "  without the catalog's container or without requests);",
    "- Helm values: `contracts/workload-contract/helm/<service>.yaml`;",
    "- a Kustomize component: `contracts/workload-contract/kustomize/<service>/kustomization.yaml`.",
    "",
    "## Enforcement",
    "",
    `The ValidatingAdmissionPolicy \`${workloadContractPolicyName}\` (CEL, admissionregistration.k8s.io/v1) is bound to`,
    `the namespaces ${contractNamespaces().map((n) => `\`${n}\``).join(", ")} for Deployments and StatefulSets (CREATE, UPDATE).`,
    `Its binding's actions are a stack setting (\`autoscaling:workloads.admissionEnforcement\`): \`deny\` → ${validationActionsFor.deny.join(" + ")} (prod),`,
    `\`warn\` → ${validationActionsFor.warn.join(" + ")} (dev). The policy pack's \`workload-contract-admission\` checks that the policy and`,
    "binding exist in every stack. The rules:",
    "",
    "| rule | must hold (CEL) | message when it does not |",
    "| --- | --- | --- |",
    ...contractValidations.map((v) => `| \`${v.id}\` | \`${v.expression.replace(/\|/g, "\\|")}\` | ${v.message.replace(/\|/g, "\\|")} |`),
    "",
    "Probes, the `metrics` port and the request metrics are part of the contract but not checked at",
    "admission (their absence does not break placement or the spot share).",
    "",
    "## Per service",
    "",
  ];
  for (const service of serviceCatalog) {
    const c = workloadContract(service);
    out.push(
      `### ${service.displayName} (\`${service.name}\`)`,
      "",
      `- namespace \`${c.namespace}\`, class \`${c.workloadClass}\`, priority class \`${c.podSpec.priorityClassName}\`, container \`${c.container.name}\``,
      `- requests: ${c.container.requiredRequests.join(" and ")} on every container (the class's smallest: cpu ${c.container.minimumRequests.cpu}, memory ${c.container.minimumRequests.memory})`,
      `- probes: liveness \`${c.container.livenessProbe.httpGet.path}\`, readiness \`${c.container.readinessProbe.httpGet.path}\` on port \`${c.container.livenessProbe.httpGet.port}\`; metrics on the named port \`metrics\` (\`/metrics\`)`,
      `- metrics its HPA reads: ${c.container.requiredMetrics.length > 0 ? c.container.requiredMetrics.map((m) => `\`${m}\``).join(", ") : "none (scaled by KEDA on queues/lag, or on CPU and memory)"}`,
      "",
      "```yaml",
      yaml({ metadata: { labels: c.labels }, spec: { selector: { matchLabels: c.selector }, template: { metadata: { labels: c.labels }, spec: c.podSpec } } }).trimEnd(),
      "```",
      "",
    );
  }
  return out.join("\n");
}

/** Every generated file of the contract (path relative to the repository → content). */
export function contractFiles(): Record<string, string> {
  const files: Record<string, string> = { "docs/workload-contract.md": contractMarkdown() };
  for (const service of serviceCatalog) {
    files[`contracts/workload-contract/helm/${service.name}.yaml`] = helmValuesSnippet(service);
    files[`contracts/workload-contract/kustomize/${service.name}/kustomization.yaml`] = kustomizeComponent(service);
  }
  return files;
}
