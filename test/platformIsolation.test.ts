/**
 * Every namespace the stack creates (walked from the plans, so a namespace added later is covered
 * without touching this file): its Pod Security labels, its default ServiceAccount without a token,
 * its default-deny NetworkPolicy, its ResourceQuota and LimitRange (min and max). Then the paths:
 * every admission webhook and aggregated API (the API server calls them) and every scrape target
 * (ServiceMonitor and PodMonitor, of the charts and of the program) in a namespace of the stack is
 * reachable under the plan's NetworkPolicies, judged by the NetworkPolicy API's rules
 * (lib/k8s/networkPolicyEval.ts); and removing one allow breaks its path.
 */
import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { loadStackSettings, stacks } from "./support/stacks";
import { applicationNamespaces, automationHttpPort, namespaces, stackNamespaces } from "../lib/catalog/cluster";
import { loadRenderedChart, podsOfManifests, type RenderedChart, type RenderedPod, type RenderedService } from "../lib/k8s/chartPods";
import { connectionAllowed, egressAllowed, ingressAllowed, selects } from "../lib/k8s/networkPolicyEval";
import { automationClientPodLabels, defaultDenyPolicyName, prometheusPodLabels } from "../lib/k8s/networkPolicies";
import { schedulerServiceAccount } from "../components/automationService";
import YAML from "yaml";
import { defaultDenyIngressPolicyName, platformAccessTable, platformIngressAllows, platformNamespaces } from "../lib/k8s/platformNetworkPolicies";
import { kubeSystemChartExceptions, namespacePodSecurity, podSecurityExceptions, podSecurityLabelKeys } from "../lib/k8s/podSecurity";
import { kubernetesObjects } from "../lib/plan/manifests";
import * as fs from "node:fs";
import { readmeSection } from "../lib/readme";
import { readmeAccessSection, renderPlatformAccessSection } from "../scripts/readme-access";
import * as path from "node:path";

type R = Record<string, any>;

/** The CronJob example of docs/automation.md ("Requesting runs"), as a scheduler would apply it. */
function documentedSchedulerCronJob(): R {
  const doc = fs.readFileSync(path.resolve(__dirname, "../docs/automation.md"), "utf8");
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => YAML.parse(m[1]!) as R).find((o) => o?.kind === "CronJob");
  assert.ok(block, "docs/automation.md: no CronJob example");
  return block;
}

/** An address of the stack's VPC: where the EKS control plane's ENIs (webhook and aggregated-API callers) sit. */
const addressIn = (cidr: string) => cidr.split("/")[0]!.split(".").slice(0, 3).join(".") + ".17";

interface Path { readonly what: string; readonly target: { namespace: string; labels: Record<string, string> }; readonly port: { port: number; name?: string; protocol?: "TCP" | "UDP" }; readonly from: { ip: string } | { namespace: string; labels: Record<string, string> } }

/** The container port a Service port (or a monitor's port name) lands on, in a pod. */
function containerPort(pod: RenderedPod, target: number | string | undefined, fallback: number): { port: number; name?: string } | undefined {
  const ports = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => (c.ports ?? []) as R[]);
  if (typeof target === "string") {
    const p = ports.find((x) => x.name === target);
    return p ? { port: p.containerPort, name: p.name } : undefined;
  }
  const n = target ?? fallback;
  const p = ports.find((x) => x.containerPort === n);
  return { port: n, ...(p?.name ? { name: p.name } : {}) };
}

describe("platform isolation: every namespace the stack creates, and every path its components need", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  const charts: Record<string, RenderedChart[]> = {};
  before(async () => {
    for (const stack of stacks) {
      plans[stack] = await planStack(stack);
      charts[stack] = plans[stack]!.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => loadRenderedChart(stack, (r.inputs as R).name));
    }
  });
  const objects = (stack: "prod" | "dev") => kubernetesObjects(plans[stack]!.resources) as R[];
  const ofKind = (stack: "prod" | "dev", kind: string) => objects(stack).filter((o) => o.kind === kind);
  const planNamespaces = (stack: "prod" | "dev") => ofKind(stack, "Namespace").map((n) => n.metadata.name as string);

  for (const stack of stacks) {
    it(`${stack}: every Namespace enforces its Pod Security level (restricted unless excepted with a reason), audit and warn alike`, () => {
      const names = planNamespaces(stack);
      assert.deepEqual([...names].sort(), stackNamespaces({ istioSidecars: loadStackSettings(stack).workloads.istioSidecars }).sort());
      for (const ns of ofKind(stack, "Namespace")) {
        const level = (namespacePodSecurity as Record<string, string>)[ns.metadata.name];
        assert.ok(level, `${ns.metadata.name}: no Pod Security level in lib/k8s/podSecurity.ts`);
        const labels = ns.metadata.labels ?? {};
        assert.deepEqual([labels[podSecurityLabelKeys.enforce], labels[podSecurityLabelKeys.audit], labels[podSecurityLabelKeys.warn], labels[podSecurityLabelKeys.enforceVersion]], [level, level, level, "latest"], ns.metadata.name);
        if (level !== "restricted") assert.ok((podSecurityExceptions as R)[ns.metadata.name]?.reason.length > 40, `${ns.metadata.name}: exception without a reason`);
      }
      assert.deepEqual(Object.keys(podSecurityExceptions), [namespaces.nodeExporter]);
    });

    it(`${stack}: every namespace's default ServiceAccount does not mount an API token`, () => {
      const patches = plans[stack]!.resources.filter((r) => r.type === "kubernetes:core/v1:ServiceAccountPatch").map((r) => r.inputs as R);
      for (const ns of planNamespaces(stack)) {
        const sa = patches.find((p) => p.metadata?.name === "default" && p.metadata?.namespace === ns);
        assert.ok(sa, `${ns}: no patch of the default ServiceAccount`);
        assert.equal(sa.automountServiceAccountToken, false, ns);
      }
    });

    it(`${stack}: every namespace has a default-deny NetworkPolicy (application: ingress and egress; platform: ingress), a ResourceQuota and a LimitRange with min and max`, () => {
      const policies = ofKind(stack, "NetworkPolicy");
      for (const ns of planNamespaces(stack)) {
        const platform = (platformNamespaces as string[]).includes(ns);
        const deny = policies.find((p) => p.metadata.namespace === ns && p.metadata.name === (platform ? defaultDenyIngressPolicyName : defaultDenyPolicyName));
        assert.ok(deny, `${ns}: no default deny`);
        assert.deepEqual(deny.spec.podSelector, {});
        assert.deepEqual(deny.spec.policyTypes, platform ? ["Ingress"] : ["Ingress", "Egress"]);
        assert.equal(deny.spec.ingress, undefined);
        const quota = ofKind(stack, "ResourceQuota").filter((q) => q.metadata.namespace === ns);
        assert.equal(quota.length, 1, `${ns}: ResourceQuota`);
        for (const k of ["pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]) assert.ok(quota[0].spec.hard[k], `${ns}: quota ${k}`);
        const lr = ofKind(stack, "LimitRange").filter((q) => q.metadata.namespace === ns);
        assert.equal(lr.length, 1, `${ns}: LimitRange`);
        const item = lr[0].spec.limits[0];
        assert.ok(item.min?.cpu && item.min?.memory && item.max?.cpu && item.max?.memory, `${ns}: LimitRange min and max`);
      }
    });

    /** Every path the API server and Prometheus need into the stack's namespaces. */
    const requiredPaths = (): Path[] => {
      const vpc = loadStackSettings(stack).network.cidrBlock;
      const ours = new Set(planNamespaces(stack));
      const pods: RenderedPod[] = [...charts[stack]!.flatMap((c) => c.pods), ...podsOfManifests(objects(stack), "default")];
      const services: RenderedService[] = [
        ...charts[stack]!.flatMap((c) => c.services),
        ...ofKind(stack, "Service").map((s) => ({ namespace: s.metadata.namespace, name: s.metadata.name, selector: s.spec.selector ?? {}, labels: s.metadata.labels ?? {}, ports: s.spec.ports ?? [] })),
      ];
      const podsOf = (ns: string, selector: R) => pods.filter((p) => p.namespace === ns && selects({ matchLabels: selector }, p.labels));
      const paths: Path[] = [];
      // The API server -> webhooks and aggregated APIs.
      for (const callee of charts[stack]!.flatMap((c) => c.apiServerCallees)) {
        if (!ours.has(callee.service.namespace)) continue;
        const svc = services.find((s) => s.namespace === callee.service.namespace && s.name === callee.service.name);
        assert.ok(svc, `${callee.kind} ${callee.name}: no Service ${callee.service.namespace}/${callee.service.name}`);
        const sp = svc.ports.find((p) => p.port === callee.service.port)!;
        const targets = podsOf(svc.namespace, svc.selector);
        assert.ok(targets.length > 0, `${callee.name}: Service ${svc.name} selects no pod`);
        for (const t of targets) {
          const port = containerPort(t, sp.targetPort, sp.port);
          assert.ok(port, `${callee.name}: port ${sp.targetPort} not on ${t.workload}`);
          paths.push({ what: `API server -> ${callee.kind} ${callee.name} (${t.workload}:${port.port})`, target: { namespace: t.namespace, labels: { ...t.labels } }, port, from: { ip: addressIn(vpc) } });
        }
      }
      // Prometheus -> every scrape target.
      const prometheus = { namespace: namespaces.monitoring, labels: { ...prometheusPodLabels } };
      const monitors = [
        ...charts[stack]!.flatMap((c) => c.monitors),
        ...[...ofKind(stack, "ServiceMonitor"), ...ofKind(stack, "PodMonitor")].map((m) => ({
          kind: m.kind, namespace: m.metadata.namespace, name: m.metadata.name, selector: m.spec.selector ?? {}, namespaceSelector: m.spec.namespaceSelector,
          ports: (m.kind === "ServiceMonitor" ? m.spec.endpoints : m.spec.podMetricsEndpoints).map((e: R) => e.port ?? e.targetPort ?? e.portNumber),
        })),
      ];
      for (const m of monitors) {
        const nss = m.namespaceSelector?.any ? [...ours] : m.namespaceSelector?.matchNames ?? [m.namespace];
        for (const ns of nss.filter((n: string) => ours.has(n))) {
          if (m.kind === "ServiceMonitor") {
            for (const svc of services.filter((s) => s.namespace === ns && selects(m.selector, s.labels))) {
              for (const portName of m.ports) {
                const sp = svc.ports.find((p) => p.name === portName || p.port === portName);
                if (!sp) continue;
                for (const t of podsOf(ns, svc.selector)) {
                  const port = containerPort(t, sp.targetPort, sp.port);
                  if (port) paths.push({ what: `Prometheus -> ${m.kind} ${m.name} (${t.workload}:${port.port})`, target: { namespace: ns, labels: { ...t.labels } }, port, from: prometheus });
                }
              }
            }
          } else {
            for (const t of pods.filter((p) => p.namespace === ns && selects(m.selector, p.labels))) {
              for (const portName of m.ports) {
                const port = containerPort(t, portName, 0);
                if (port) paths.push({ what: `Prometheus -> PodMonitor ${m.name} (${t.workload}:${port.port})`, target: { namespace: ns, labels: { ...t.labels } }, port, from: prometheus });
              }
            }
          }
        }
      }
      return paths;
    };

    it(`${stack}: every admission webhook, aggregated API and scrape target in a namespace of the stack has its allow`, () => {
      const policies = ofKind(stack, "NetworkPolicy");
      const paths = requiredPaths();
      const created = new Set(planNamespaces(stack));
      const blocked = paths.filter((p) => !ingressAllowed(policies, p.target, p.port, p.from)).map((p) => p.what);
      assert.deepEqual(blocked, []);
      // The paths the issue names are among them.
      for (const expected of [/API server -> ValidatingWebhookConfiguration keda-admission/, /API server -> APIService v1beta1\.external\.metrics\.k8s\.io/, /API server -> APIService v1beta1\.custom\.metrics\.k8s\.io/,
        /API server -> MutatingWebhookConfiguration vpa-webhook-config/, /API server -> .*prometheusrulevalidate/, /Prometheus -> ServiceMonitor kube-prometheus-stack-kube-state-metrics/,
        /Prometheus -> ServiceMonitor .*grafana/, /Prometheus -> ServiceMonitor .*keda/i, /Prometheus -> ServiceMonitor .*node-exporter/,
        /API server -> ValidatingWebhookConfiguration externalsecret-validate/, /API server -> MutatingWebhookConfiguration cert-manager-webhook/, /Prometheus -> ServiceMonitor external-secrets/,
        /Prometheus -> ServiceMonitor cert-manager/, ...(created.has(namespaces.istio) ? [/API server -> MutatingWebhookConfiguration istio-sidecar-injector/] : [])]) {
        assert.ok(paths.some((p) => expected.test(p.what)), `${expected}: not among ${paths.length} paths`);
      }
      // Grafana -> Prometheus and Prometheus -> Alertmanager, by the same rules.
      const grafana = { namespace: namespaces.monitoring, labels: { "app.kubernetes.io/name": "grafana" } };
      assert.ok(ingressAllowed(policies, { namespace: namespaces.monitoring, labels: { ...prometheusPodLabels } }, { port: 9090 }, grafana));
      assert.ok(ingressAllowed(policies, { namespace: namespaces.monitoring, labels: { "app.kubernetes.io/name": "alertmanager" } }, { port: 9093 }, { namespace: namespaces.monitoring, labels: { ...prometheusPodLabels } }));
      // ...and nothing else: Grafana may not reach Alertmanager, a workers pod may not reach Prometheus.
      assert.ok(!ingressAllowed(policies, { namespace: namespaces.monitoring, labels: { "app.kubernetes.io/name": "alertmanager" } }, { port: 9093 }, grafana));
      assert.ok(!ingressAllowed(policies, { namespace: namespaces.monitoring, labels: { ...prometheusPodLabels } }, { port: 9090 }, { namespace: namespaces.workers, labels: {} }));
      // With sidecars: every application namespace's sidecars reach istiod's xDS, a platform pod does not.
      if (created.has(namespaces.istio)) {
        const istiod = { namespace: namespaces.istio, labels: { app: "istiod" } };
        for (const app of applicationNamespaces) assert.ok(ingressAllowed(policies, istiod, { port: 15012 }, { namespace: app, labels: {} }), app);
        assert.ok(!ingressAllowed(policies, istiod, { port: 15012 }, { namespace: namespaces.keda, labels: {} }));
      }
    });

    it(`${stack}: the documented scheduler CronJob's pods reach the automation service's HTTP port; unlabelled pods and other namespaces do not`, () => {
      const policies = ofKind(stack, "NetworkPolicy");
      const deployment = ofKind(stack, "Deployment").find((d) => d.metadata.namespace === namespaces.automation);
      assert.ok(deployment, `${stack}: no Deployment in ${namespaces.automation}`);
      const service = { namespace: namespaces.automation, labels: { ...deployment.spec.template.metadata.labels } as Record<string, string> };
      const http = (deployment.spec.template.spec.containers as R[]).flatMap((c) => (c.ports ?? []) as R[]).find((p) => p.containerPort === automationHttpPort);
      assert.ok(http, `${stack}: the automation container does not listen on ${automationHttpPort}`);
      const port = { port: http.containerPort as number, name: http.name as string };

      const cronJob = documentedSchedulerCronJob();
      const podTemplate = cronJob.spec.jobTemplate.spec.template;
      assert.equal(cronJob.metadata.namespace, namespaces.automation);
      assert.equal(podTemplate.spec.serviceAccountName, schedulerServiceAccount);
      const scheduler = { namespace: cronJob.metadata.namespace as string, labels: { ...podTemplate.metadata?.labels } as Record<string, string> };
      for (const [k, v] of Object.entries(automationClientPodLabels)) assert.equal(scheduler.labels[k], v, `docs CronJob: pod label ${k}`);

      // Both ends open: the scheduler's egress and the service's ingress (DNS to kube-dns too, to resolve the Service).
      assert.ok(egressAllowed(policies, scheduler, port, service), "scheduler egress to the service");
      assert.ok(ingressAllowed(policies, service, port, scheduler), "service ingress from the scheduler");
      assert.ok(egressAllowed(policies, scheduler, { port: 53, protocol: "UDP" }, { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }), "scheduler DNS");
      // Only that port, and the label does not open anything else.
      assert.ok(!connectionAllowed(policies, scheduler, service, { port: 9999 }));
      assert.ok(!egressAllowed(policies, scheduler, port, { namespace: namespaces.api, labels: { "app.kubernetes.io/name": "api-gateway" } }));
      // A pod of the namespace without the label: neither end lets it through.
      const unlabelled = { namespace: namespaces.automation, labels: { "batch.kubernetes.io/job-name": "other" } };
      assert.ok(!egressAllowed(policies, unlabelled, port, service));
      assert.ok(!ingressAllowed(policies, service, port, unlabelled));
      // The label in another namespace: the service refuses it (and that namespace's egress does too).
      for (const ns of [namespaces.api, namespaces.workers, namespaces.data, namespaces.monitoring]) {
        const elsewhere = { namespace: ns, labels: { ...automationClientPodLabels } };
        assert.ok(!ingressAllowed(policies, service, port, elsewhere), ns);
        assert.ok(!connectionAllowed(policies, elsewhere, service, port), ns);
      }
      // Each policy of the pair is needed.
      for (const name of ["allow-automation-clients", "allow-automation-api"]) {
        const without = policies.filter((p) => !(p.metadata.namespace === namespaces.automation && p.metadata.name === name));
        assert.equal(without.length, policies.length - 1, name);
        assert.ok(!connectionAllowed(without, scheduler, service, port), `${name}: nothing needs it`);
      }
    });

    it(`${stack}: removing any one platform allow blocks a path the components need`, () => {
      const policies = ofKind(stack, "NetworkPolicy");
      const paths = requiredPaths();
      const created = new Set(planNamespaces(stack));
      for (const allow of platformIngressAllows.filter((a) => created.has(a.namespace) && (a.from.some((s) => s.kind === "apiServer") || a.name === "allow-prometheus-scrape"))) {
        const without = policies.filter((p) => !(p.metadata.namespace === allow.namespace && p.metadata.name === allow.name));
        assert.equal(without.length, policies.length - 1, `${allow.namespace}/${allow.name}`);
        assert.ok(paths.some((p) => !ingressAllowed(without, p.target, p.port, p.from)), `${allow.namespace}/${allow.name}: nothing needs it`);
      }
    });
  }

  it("the README's security section lists every Pod Security exception with its reason, and the access table generated from the code", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
    for (const [ns, e] of Object.entries(podSecurityExceptions)) {
      assert.ok(readme.includes(`\`${ns}\``) && readme.includes(e!.reason), `README: exception ${ns}`);
    }
    for (const [workload, e] of Object.entries(kubeSystemChartExceptions)) {
      assert.ok(readme.includes(`\`${workload}\``) && readme.includes(e.reason), `README: exception ${workload} (kube-system)`);
    }
    assert.equal(readmeSection(readme, readmeAccessSection), renderPlatformAccessSection(), "README: the platform-access section is stale (npm run readme:access)");
    assert.ok(renderPlatformAccessSection().includes(platformAccessTable()));
  });
});
