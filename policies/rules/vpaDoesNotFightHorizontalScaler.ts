import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { deploymentType, hpaType, objectName, peek, peekList, scaledObjectType, UNKNOWN, vpaType } from "../lib";

export interface VpaDoesNotFightHorizontalScalerConfig {
  /** Resources a VPA must leave alone when the horizontal scaler of the same workload scales on them. */
  resources: string[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** What a horizontal scaler scales one workload on: a resource, for every container or for one. */
interface ScaledResource {
  readonly resource: string;
  /** Set for an HPA ContainerResource metric: only that container's usage counts. */
  readonly container?: string;
}

interface HorizontalScaler {
  readonly what: string;
  readonly namespace: string;
  readonly targetKind: string;
  readonly targetName: string;
  readonly scalesOn: ScaledResource[];
}

/** A workload's identity across HPA / ScaledObject / VPA / Deployment; undefined when it cannot be known. */
function workloadKey(namespace: unknown, kind: unknown, name: unknown): string | undefined {
  const ns = namespace === undefined ? "default" : str(namespace);
  return ns !== undefined && str(kind) !== undefined && str(name) !== undefined ? `${ns}/${kind}/${name}` : undefined;
}
const namespaceOf = (props: unknown) => peek(props, "metadata", "namespace");

function horizontalScalerOf(r: PolicyResource, resources: readonly string[]): HorizontalScaler | undefined {
  const props = r.props;
  const isHpa = r.type === hpaType;
  const ref = peek(props, "spec", "scaleTargetRef");
  // KEDA defaults the target's kind to Deployment; an HPA always names it.
  const kind = peek(ref, "kind") ?? (isHpa ? undefined : "Deployment");
  const name = peek(ref, "name");
  const namespace = namespaceOf(props);
  if (workloadKey(namespace, kind, name) === undefined) return undefined;
  const scalesOn: ScaledResource[] = [];
  if (isHpa) {
    const metrics = peekList(props, "spec", "metrics");
    for (const m of metrics === UNKNOWN ? [] : metrics ?? []) {
      const type = peek(m, "type");
      const resource = type === "Resource" ? peek(m, "resource", "name") : type === "ContainerResource" ? peek(m, "containerResource", "name") : undefined;
      const container = type === "ContainerResource" ? str(peek(m, "containerResource", "container")) : undefined;
      if (typeof resource === "string" && resources.includes(resource)) scalesOn.push({ resource, container });
    }
  } else {
    const triggers = peekList(props, "spec", "triggers");
    for (const t of triggers === UNKNOWN ? [] : triggers ?? []) {
      const type = peek(t, "type");
      if (typeof type === "string" && resources.includes(type)) scalesOn.push({ resource: type });
    }
  }
  return {
    what: `${isHpa ? "HPA" : "ScaledObject"} ${objectName(props)}`,
    namespace: (namespace as string | undefined) ?? "default",
    targetKind: kind as string,
    targetName: name as string,
    scalesOn,
  };
}

/**
 * Two controllers on one resource fight: the VPA raises a pod's CPU request, the HPA's utilisation
 * drops, it removes pods, utilisation rises, and so on. For every VPA whose target is also scaled by an
 * HPA or a KEDA ScaledObject on CPU or memory, the VPA must not act on that resource: either it only
 * recommends (`updateMode: "Off"`), or no container policy that acts (`mode` not "Off") controls it.
 * A container policy without `controlledResources` controls CPU and memory (the VPA's default), and so
 * does the VPA's default policy for containers without one (checked when the VPA has no container
 * policies at all, or when the target Deployment is in the stack and lists containers the policies
 * miss).
 */
export const vpaDoesNotFightHorizontalScaler: StackValidationPolicy = {
  name: "vpa-does-not-fight-horizontal-scaler",
  description: "A VPA never acts on a resource (CPU, memory) the HPA or ScaledObject of the same workload scales on.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "In the VPA (lib/scaling/workloads.ts buildVpa), leave the resources the horizontal scaler uses out of every container policy's `controlledResources`, or set `updatePolicy.updateMode: \"Off\"` so the VPA only recommends.",
  configSchema: {
    properties: {
      resources: { type: "array", items: { type: "string", enum: ["cpu", "memory"] }, uniqueItems: true, default: ["cpu", "memory"] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { resources } = args.getConfig<VpaDoesNotFightHorizontalScalerConfig>();
    const scalers = new Map<string, HorizontalScaler[]>();
    for (const r of args.resources) {
      if (r.type !== hpaType && r.type !== scaledObjectType) continue;
      const scaler = horizontalScalerOf(r, resources);
      if (!scaler || scaler.scalesOn.length === 0) continue;
      const key = workloadKey(scaler.namespace, scaler.targetKind, scaler.targetName)!;
      scalers.set(key, [...(scalers.get(key) ?? []), scaler]);
    }
    const deploymentContainers = new Map<string, string[] | typeof UNKNOWN>();
    for (const r of args.resources) {
      if (r.type !== deploymentType) continue;
      const key = workloadKey(namespaceOf(r.props), "Deployment", peek(r.props, "metadata", "name"));
      const containers = peekList(r.props, "spec", "template", "spec", "containers");
      if (key) deploymentContainers.set(key, containers === UNKNOWN || containers === undefined ? UNKNOWN : containers.map((c) => str(peek(c, "name")) ?? ""));
    }

    for (const vpa of args.resources) {
      if (vpa.type !== vpaType) continue;
      const target = peek(vpa.props, "spec", "targetRef");
      const key = workloadKey(namespaceOf(vpa.props), peek(target, "kind"), peek(target, "name"));
      const fighting = key ? scalers.get(key) : undefined;
      if (!fighting) continue;
      // The VPA's default update mode is Auto; Off only records recommendations.
      const updateMode = peek(vpa.props, "spec", "updatePolicy", "updateMode") ?? "Auto";
      if (updateMode === UNKNOWN || updateMode === "Off") continue;
      const policies = peekList(vpa.props, "spec", "resourcePolicy", "containerPolicies");
      if (policies === UNKNOWN) continue;

      // Container (or "*", or the VPA's default for containers without a policy) -> resources it controls.
      const controls: { container: string; label: string; resources: string[] | typeof UNKNOWN }[] = [];
      const named = new Set<string>();
      for (const p of policies ?? []) {
        const container = peek(p, "containerName");
        if (container === UNKNOWN) continue;
        const name = str(container) ?? "*";
        named.add(name);
        const mode = peek(p, "mode") ?? "Auto";
        if (mode === UNKNOWN || mode === "Off") continue;
        const controlled = peekList(p, "controlledResources") ?? ["cpu", "memory"];
        controls.push({
          container: name,
          label: name === "*" ? "container policy '*'" : `container '${name}'`,
          resources: controlled === UNKNOWN ? UNKNOWN : controlled.filter((x): x is string => typeof x === "string"),
        });
      }
      if (!named.has("*")) {
        const known = deploymentContainers.get(key!);
        if (!policies || policies.length === 0) {
          controls.push({ container: "*", label: "every container (no container policies)", resources: ["cpu", "memory"] });
        } else if (known && known !== UNKNOWN) {
          for (const c of known.filter((c) => !named.has(c))) {
            controls.push({ container: c, label: `container '${c}' (no container policy: the VPA default)`, resources: ["cpu", "memory"] });
          }
        }
      }

      for (const scaler of fighting) {
        for (const control of controls) {
          const controlled = control.resources;
          if (controlled === UNKNOWN) continue;
          const clash = [...new Set(scaler.scalesOn
            .filter((s) => controlled.includes(s.resource) && (s.container === undefined || control.container === "*" || control.container === s.container))
            .map((s) => s.resource))];
          if (clash.length === 0) continue;
          reportViolation(
            `VPA ${objectName(vpa.props)} (updateMode ${updateMode}): ${control.label} controls ${clash.join(" and ")}, which ${scaler.what} scales ${scaler.targetKind}/${scaler.targetName} on; leave ${clash.length > 1 ? "them" : "it"} out of controlledResources or set updateMode "Off"`,
            vpa.urn,
          );
        }
      }
    }
  },
};
