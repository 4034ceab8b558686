/**
 * What a namespace's rendered pods take from its ResourceQuota at most: each workload's replicas,
 * plus one surge pod for a Deployment (rolling update), a DaemonSet's pod on every node; per pod,
 * the sum of its containers (init containers run before them, so a pod counts the larger of the
 * two, as the quota does).
 */
import type { RenderedPod } from "../../lib/k8s/chartPods";

const milli = (v: string | number) => (typeof v === "number" ? v * 1000 : v.endsWith("m") ? Number(v.slice(0, -1)) : Number(v) * 1000);
const mib = (v: string | number) => {
  if (typeof v === "number") return v / 2 ** 20;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(v);
  if (!m) throw new Error(`memory quantity ${v}`);
  return Number(m[1]) * ({ Ki: 1 / 1024, Mi: 1, Gi: 1024 } as Record<string, number>)[m[2] ?? "Mi"]! / (m[2] ? 1 : 2 ** 20);
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
