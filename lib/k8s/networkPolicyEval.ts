/**
 * Whether a set of networking.k8s.io/v1 NetworkPolicies lets one connection in, by the API's rules
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod is isolated for
 * ingress when a policy of its namespace selects it with `Ingress` in policyTypes; an isolated pod
 * admits a connection that some rule of some selecting policy allows (its `from` peers, or none =
 * anyone; its ports, or none = every port). Peers: namespaceSelector and podSelector (ANDed in one
 * peer), ipBlock (cidr minus except). Label selectors: matchLabels and matchExpressions
 * (In, NotIn, Exists, DoesNotExist). Egress is the mirror image (`egressAllowed`: policies of the
 * source pod's namespace, `Egress` in policyTypes, `to` peers). Used by the tests to prove each path
 * the stack needs is open.
 */
type Any = Record<string, any>;

export interface PodRef {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type Source = PodRef | { readonly ip: string };

export interface Port {
  readonly port: number;
  /** The container port's name (a policy may name it). */
  readonly name?: string;
  readonly protocol?: "TCP" | "UDP" | "SCTP";
}

/** Labels Kubernetes puts on every namespace. */
const namespaceLabels = (ns: string) => ({ "kubernetes.io/metadata.name": ns });

export function selects(selector: Any | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = e.operator === "In" ? has && e.values.includes(labels[e.key])
      : e.operator === "NotIn" ? !has || !e.values.includes(labels[e.key])
      : e.operator === "Exists" ? has
      : e.operator === "DoesNotExist" ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

const ipToInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  const block = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / block) === Math.floor(ipToInt(base) / block);
}

function peerMatches(peer: Any, policyNamespace: string, source: Source): boolean {
  if (peer.ipBlock) {
    if (!("ip" in source)) return false;
    return inCidr(source.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(source.ip, c));
  }
  if ("ip" in source) return false;
  const nsOk = peer.namespaceSelector !== undefined ? selects(peer.namespaceSelector, namespaceLabels(source.namespace)) : source.namespace === policyNamespace;
  return nsOk && selects(peer.podSelector ?? {}, source.labels);
}

function portMatches(p: Any, port: Port): boolean {
  if ((p.protocol ?? "TCP") !== (port.protocol ?? "TCP")) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === "string") return p.port === port.name;
  const end = p.endPort ?? p.port;
  return port.port >= p.port && port.port <= end;
}

/** Whether `policies` (NetworkPolicy manifests of any namespaces) admit `source` to `target` on `port`. */
export function ingressAllowed(policies: readonly Any[], target: PodRef, port: Port, source: Source): boolean {
  const selecting = policies.filter((p) =>
    p.metadata?.namespace === target.namespace &&
    selects(p.spec?.podSelector ?? {}, target.labels) &&
    (p.spec?.policyTypes ?? ["Ingress"]).includes("Ingress"));
  if (selecting.length === 0) return true;
  return selecting.some((p) => (p.spec.ingress ?? []).some((rule: Any) =>
    ((rule.from ?? []).length === 0 || rule.from.some((peer: Any) => peerMatches(peer, p.metadata.namespace, source))) &&
    ((rule.ports ?? []).length === 0 || rule.ports.some((x: Any) => portMatches(x, port)))));
}

/** Whether `policies` let `source` (a pod) open a connection to `destination` on `port` (egress side only). */
export function egressAllowed(policies: readonly Any[], source: PodRef, port: Port, destination: Source): boolean {
  const selecting = policies.filter((p) =>
    p.metadata?.namespace === source.namespace &&
    selects(p.spec?.podSelector ?? {}, source.labels) &&
    (p.spec?.policyTypes ?? (p.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"])).includes("Egress"));
  if (selecting.length === 0) return true;
  return selecting.some((p) => (p.spec.egress ?? []).some((rule: Any) =>
    ((rule.to ?? []).length === 0 || rule.to.some((peer: Any) => peerMatches(peer, p.metadata.namespace, destination))) &&
    ((rule.ports ?? []).length === 0 || rule.ports.some((x: Any) => portMatches(x, port)))));
}

/** Both ends: the source's policies let it out and the destination's let it in. */
export function connectionAllowed(policies: readonly Any[], source: PodRef, destination: PodRef, port: Port): boolean {
  return egressAllowed(policies, source, port, destination) && ingressAllowed(policies, destination, port, source);
}
