/**
 * Pod Security Admission for every namespace the stack creates, and a checker of the `restricted` Pod
 * Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/, the
 * Baseline and Restricted tables) that the tests run on every pod template the program defines and
 * every pod template the add-on charts render (lib/k8s/chartPods.ts).
 */
import { namespaces, type NamespaceName } from "../catalog/cluster";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** Label keys of Pod Security Admission. */
export const podSecurityLabelKeys = {
  enforce: "pod-security.kubernetes.io/enforce",
  enforceVersion: "pod-security.kubernetes.io/enforce-version",
  audit: "pod-security.kubernetes.io/audit",
  warn: "pod-security.kubernetes.io/warn",
} as const;

/**
 * Enforced level of every namespace the stack creates. `restricted` unless the namespace is in
 * `podSecurityExceptions` (with its reason, listed in the README's security section). A namespace
 * missing here cannot be created: `podSecurityLabels` throws, and the tests walk every Namespace of
 * the plans.
 */
export const podSecurityExceptions: Readonly<Partial<Record<NamespaceName, { readonly level: PodSecurityLevel; readonly reason: string }>>> = {
  [namespaces.nodeExporter]: {
    level: "privileged",
    reason:
      "node-exporter reads the host's /proc, /sys and root filesystem (hostPath volumes) and runs in the host's PID and network namespaces " +
      "so node metrics describe the node, not the pod; even `baseline` forbids all three. It runs alone here, non-root, read-only root " +
      "filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.",
  },
};

/**
 * Chart pods in kube-system (not a namespace the stack creates: EKS's, at its own `privileged`
 * level) are held to `restricted` too, except these, each with its reason (listed in the README's
 * security section) and exactly the findings of restrictedViolations the reason accepts; a finding
 * outside `accepted` fails test/chartPods.test.ts.
 */
export const kubeSystemChartExceptions: Readonly<Record<string, { readonly release: string; readonly reason: string; readonly accepted: readonly RegExp[]; readonly writableRootFilesystem: boolean }>> = {
  "DaemonSet/istio-cni-node": {
    release: "istio-cni",
    reason:
      "Istio's CNI node agent (only with `workloads.istioSidecars`) installs the Istio CNI plugin into the node's CNI configuration (hostPath " +
      "/opt/cni/bin, /etc/cni/net.d) and sets up each injected pod's traffic redirection from the node (host /proc and the pods' " +
      "network namespaces): the chart hard-codes root with NET_ADMIN, NET_RAW, SYS_ADMIN, SYS_PTRACE and DAC_OVERRIDE added " +
      "(privileged: false, all else dropped) and a writable root filesystem. It is what keeps every application pod `restricted` (no " +
      "istio-init container with NET_ADMIN); it runs in kube-system with EKS's other node agents, with RuntimeDefault seccomp and CPU and memory limits.",
    accepted: [
      /^volume cni-(bin-dir|net-dir|host-procfs|socket-dir|netns-dir|log-dir): type hostPath/,
      /^container install-cni: (securityContext\.allowPrivilegeEscalation must be false|runAsNonRoot must be true|securityContext\.runAsUser = 0)/,
      /^container install-cni: capability (NET_ADMIN|NET_RAW|SYS_ADMIN|SYS_PTRACE|DAC_OVERRIDE) added/,
    ],
    writableRootFilesystem: true,
  },
};

/** Enforced level per namespace the stack creates (restricted unless excepted above). */
export const namespacePodSecurity: Readonly<Record<NamespaceName, PodSecurityLevel>> = Object.fromEntries(
  Object.values(namespaces).map((ns) => [ns, podSecurityExceptions[ns]?.level ?? "restricted"]),
) as Record<NamespaceName, PodSecurityLevel>;

/**
 * The namespace labels: enforce, and audit/warn at the same level. `enforce-version: latest` follows
 * the cluster's Kubernetes version (the standard only tightens between versions; a pinned version
 * would silently stop covering new fields).
 */
export function podSecurityLabels(namespace: string): Record<string, string> {
  const level = (namespacePodSecurity as Record<string, PodSecurityLevel | undefined>)[namespace];
  if (level === undefined) {
    throw new Error(`podSecurityLabels: namespace = ${JSON.stringify(namespace)}: not a namespace of lib/catalog/cluster.ts namespaces (${Object.values(namespaces).join(", ")}); add it there (restricted) or to podSecurityExceptions with its reason`);
  }
  return {
    [podSecurityLabelKeys.enforce]: level,
    [podSecurityLabelKeys.enforceVersion]: "latest",
    [podSecurityLabelKeys.audit]: level,
    [podSecurityLabelKeys.warn]: level,
  };
}

type Any = Record<string, any>;

const baselineCapabilities = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const restrictedVolumeTypes = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const safeSysctls = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
]);
const seLinuxTypes = new Set(["container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

/**
 * What keeps a pod spec from passing the `restricted` standard (empty when it passes). Each message
 * names the container and the field.
 */
export function restrictedViolations(podSpec: Any): string[] {
  const out: string[] = [];
  const pod = podSpec.securityContext ?? {};
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (podSpec[f] === true) out.push(`spec.${f} = true`);
  if (pod.windowsOptions?.hostProcess === true) out.push("spec.securityContext.windowsOptions.hostProcess = true");
  for (const v of podSpec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type === undefined || !restrictedVolumeTypes.has(type)) out.push(`volume ${v.name}: type ${type ?? "(none)"} is not allowed (allowed: ${[...restrictedVolumeTypes].join(", ")})`);
  }
  for (const s of pod.sysctls ?? []) if (!safeSysctls.has(s.name)) out.push(`spec.securityContext.sysctls: ${s.name} is not a safe sysctl`);
  const badSeLinux = (o: Any | undefined) => o !== undefined && ((o.type !== undefined && !seLinuxTypes.has(o.type)) || o.user !== undefined || o.role !== undefined);
  if (badSeLinux(pod.seLinuxOptions)) out.push("spec.securityContext.seLinuxOptions: custom type, user or role");
  const goodSeccomp = (p: Any | undefined) => p?.type === "RuntimeDefault" || p?.type === "Localhost";
  if (pod.seccompProfile !== undefined && !goodSeccomp(pod.seccompProfile)) out.push(`spec.securityContext.seccompProfile.type = ${pod.seccompProfile.type}: must be RuntimeDefault or Localhost`);
  if (pod.runAsUser === 0) out.push("spec.securityContext.runAsUser = 0");
  const appArmor = (p: Any | undefined) => p === undefined || p.type === "RuntimeDefault" || p.type === "Localhost";
  if (!appArmor(pod.appArmorProfile)) out.push("spec.securityContext.appArmorProfile: must be RuntimeDefault or Localhost");

  const containers: [string, Any][] = [
    ...(podSpec.initContainers ?? []).map((c: Any) => [`initContainer ${c.name}`, c] as [string, Any]),
    ...(podSpec.containers ?? []).map((c: Any) => [`container ${c.name}`, c] as [string, Any]),
    ...(podSpec.ephemeralContainers ?? []).map((c: Any) => [`ephemeralContainer ${c.name}`, c] as [string, Any]),
  ];
  if (containers.length === 0) out.push("no containers");
  for (const [what, c] of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) out.push(`${what}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${what}: securityContext.allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && pod.runAsNonRoot === true))) out.push(`${what}: runAsNonRoot must be true (container or pod securityContext)`);
    if (sc.runAsUser === 0) out.push(`${what}: securityContext.runAsUser = 0`);
    if (!(goodSeccomp(sc.seccompProfile) || (sc.seccompProfile === undefined && goodSeccomp(pod.seccompProfile)))) out.push(`${what}: seccompProfile must be RuntimeDefault or Localhost (container or pod securityContext)`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) out.push(`${what}: securityContext.capabilities.drop must contain ALL`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== "NET_BIND_SERVICE") out.push(`${what}: capability ${cap} added (restricted allows only NET_BIND_SERVICE${baselineCapabilities.has(cap) ? "; baseline would allow it" : ""})`);
    }
    for (const p of c.ports ?? []) if (p.hostPort !== undefined && p.hostPort !== 0) out.push(`${what}: hostPort ${p.hostPort}`);
    if (sc.procMount !== undefined && sc.procMount !== "Default") out.push(`${what}: procMount ${sc.procMount}`);
    if (badSeLinux(sc.seLinuxOptions)) out.push(`${what}: seLinuxOptions: custom type, user or role`);
    if (!appArmor(sc.appArmorProfile)) out.push(`${what}: appArmorProfile must be RuntimeDefault or Localhost`);
    if (sc.windowsOptions?.hostProcess === true) out.push(`${what}: windowsOptions.hostProcess = true`);
  }
  return out;
}
