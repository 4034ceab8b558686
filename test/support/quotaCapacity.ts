/**
 * What a namespace's rendered pods take from its ResourceQuota at most: each workload's replicas,
 * plus one surge pod for a Deployment (rolling update), a DaemonSet's pod on every node; per pod,
 * the sum of its containers (init containers run before them, so a pod counts the larger of the
 * two, as the quota does).
 */
import type { RenderedPod } from "../../lib/k8s/chartPods";

/** A CPU quantity in millicores. */
export const milli = (v: string | number) => (typeof v === "number" ? v * 1000 : v.endsWith("m") ? Number(v.slice(0, -1)) : Number(v) * 1000);
/** A memory quantity in MiB (binary and decimal suffixes, or bytes). */
export const mib = (v: string | number) => {
  if (typeof v === "number") return v / 2 ** 20;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|M|G)?$/.exec(v);
  if (!m) throw new Error(`memory quantity ${v}`);
  const f: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20, "": 1 / 2 ** 20 };
  return Number(m[1]) * f[m[2] ?? ""]!;
};

export function namespaceQuotaCapacity(pods: readonly RenderedPod[], maxNodes: number) {
  const sum = { pods: 0, requestsCpuMillis: 0, requestsMemoryMiB: 0, limitsCpuMillis: 0, limitsMemoryMiB: 0 };
  for (const p of pods) {
    const n = p.replicas === undefined ? maxNodes : p.replicas + (p.workload.startsWith("Deployment/") ? 1 : 0);
    const total = (cs: RenderedPod["spec"]["containers"], k: "requests" | "limits", r: "cpu" | "memory") =>
      cs.reduce((s, c) => s + (c.resources?.[k]?.[r] === undefined ? 0 : r === "cpu" ? milli(c.resources[k][r]) : mib(c.resources[k][r])), 0);
    const per = (k: "requests" | "limits", r: "cpu" | "memory") =>
      Math.max(total(p.spec.containers, k, r), ...(p.spec.initContainers ?? []).map((c) => total([c], k, r)));
    sum.pods += n;
    sum.requestsCpuMillis += n * per("requests", "cpu");
    sum.requestsMemoryMiB += n * per("requests", "memory");
    sum.limitsCpuMillis += n * per("limits", "cpu");
    sum.limitsMemoryMiB += n * per("limits", "memory");
  }
  return sum;
}
