import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { kubernetesObjects } from "../lib/plan/manifests";
import { applicationNamespaces, namespaces } from "../lib/catalog/cluster";
import { defaultDenyPolicyName, namespaceNetworkPolicies, type NetworkPolicyContext } from "../lib/k8s/networkPolicies";
import { podSecurityLabels, restrictedViolations } from "../lib/k8s/podSecurity";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { stacks } from "./support/stacks";

type R = Record<string, any>;

const ctx: NetworkPolicyContext = { vpcCidr: "10.40.0.0/16", ports: { postgres: 5432, pgbouncer: 6432, redis: 6379, kafkaIam: 9098, openSearch: 443, prometheus: 9090 }, istioSidecars: false };
const pgbLabels = { "app.kubernetes.io/name": "pgbouncer" };

/** A pod spec that passes `restricted`, to break one field at a time. */
const goodPod = (): R => ({
  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
  containers: [{ name: "app", image: "x", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
  volumes: [{ name: "tmp", emptyDir: {} }],
});

describe("security controls", function () {
  this.timeout(180_000);
  const plans: Partial<Record<"prod" | "dev", StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  describe("Pod Security", () => {
    it("the restricted checker accepts a conforming pod and names each field that breaks it", () => {
      assert.deepEqual(restrictedViolations(goodPod()), []);
      const broken: [string, (p: R) => void, RegExp][] = [
        ["privileged", (p) => (p.containers[0].securityContext.privileged = true), /container app: privileged/],
        ["escalation", (p) => delete p.containers[0].securityContext.allowPrivilegeEscalation, /allowPrivilegeEscalation must be false/],
        ["no drop ALL", (p) => (p.containers[0].securityContext.capabilities.drop = ["NET_RAW"]), /capabilities.drop must contain ALL/],
        ["NET_ADMIN", (p) => (p.containers[0].securityContext.capabilities.add = ["NET_ADMIN"]), /capability NET_ADMIN added/],
        ["root", (p) => (p.securityContext.runAsUser = 0), /runAsUser = 0/],
        ["runAsNonRoot", (p) => delete p.securityContext.runAsNonRoot, /runAsNonRoot must be true/],
        ["seccomp", (p) => delete p.securityContext.seccompProfile, /seccompProfile must be RuntimeDefault or Localhost/],
        ["hostPath", (p) => p.volumes.push({ name: "host", hostPath: { path: "/" } }), /volume host: type hostPath is not allowed/],
        ["hostNetwork", (p) => (p.hostNetwork = true), /spec.hostNetwork = true/],
        ["hostPort", (p) => (p.containers[0].ports = [{ containerPort: 80, hostPort: 80 }]), /hostPort 80/],
        ["init container", (p) => (p.initContainers = [{ name: "init", securityContext: {} }]), /initContainer init: securityContext.allowPrivilegeEscalation/],
      ];
      for (const [what, breakIt, expected] of broken) {
        const pod = goodPod();
        breakIt(pod);
        const found = restrictedViolations(pod);
        assert.ok(found.some((m) => expected.test(m)), `${what}: ${JSON.stringify(found)}`);
      }
    });

    for (const stack of stacks) {
      it(`${stack}: every pod template the program defines passes restricted, and unused service-account tokens are not mounted`, () => {
        const deployments = kubernetesObjects(plans[stack]!.resources).filter((o) => o.kind === "Deployment") as R[];
        assert.ok(deployments.length >= 2, "PgBouncer and the automation service");
        for (const d of deployments) {
          assert.deepEqual(restrictedViolations(d.spec.template.spec), [], `${d.metadata.namespace}/${d.metadata.name}`);
          assert.ok((applicationNamespaces as readonly string[]).includes(d.metadata.namespace), `${d.metadata.name} runs in an application namespace`);
        }
        for (const name of ["pgbouncer", "automation"]) {
          const d = deployments.find((x) => x.metadata.name.includes(name));
          assert.ok(d, name);
          assert.equal(d.spec.template.spec.automountServiceAccountToken, false, `${name}: automountServiceAccountToken`);
        }
      });

      it(`${stack}: every container of the program has a liveness and a readiness probe`, () => {
        const deployments = kubernetesObjects(plans[stack]!.resources).filter((o) => o.kind === "Deployment") as R[];
        for (const d of deployments) {
          for (const c of d.spec.template.spec.containers) {
            assert.ok(c.livenessProbe, `${d.metadata.name}/${c.name}: livenessProbe`);
            assert.ok(c.readinessProbe, `${d.metadata.name}/${c.name}: readinessProbe`);
          }
        }
      });
    }

    it("namespace labels: enforce, audit and warn at the namespace's level; unknown namespaces are refused", () => {
      assert.deepEqual(podSecurityLabels("pyairtable-api"), {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      });
      assert.throws(() => podSecurityLabels("kube-system"), /namespace = "kube-system": not a namespace of lib\/catalog\/cluster.ts namespaces/);
    });
  });

  describe("network isolation", () => {
    for (const stack of stacks) {
      it(`${stack}: every application namespace in the rendered manifests has a default-deny NetworkPolicy and a Pod Security enforce label`, () => {
        const objects = kubernetesObjects(plans[stack]!.resources) as R[];
        for (const ns of applicationNamespaces) {
          const nsObject = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
          assert.equal(nsObject?.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted", ns);
          const deny = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === ns && o.metadata.name === defaultDenyPolicyName);
          assert.deepEqual(deny?.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, ns);
        }
        for (const np of objects.filter((o) => o.kind === "NetworkPolicy")) {
          const result = validateManifest(np);
          assert.ok(result.ok, JSON.stringify(result));
        }
      });

      it(`${stack}: the cluster's VPC CNI enforces network policies`, () => {
        const cluster = plans[stack]!.resources.find((r) => r.type === "eks:index:Cluster");
        assert.equal((cluster?.inputs as R).vpcCniOptions?.enableNetworkPolicy, true);
      });

      it(`${stack}: the flow-log role trusts VPC Flow Logs only for flow logs of this account and region (confused deputy)`, () => {
        const role = plans[stack]!.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("-flow-logs-role"))!;
        const doc = JSON.parse((role.inputs as R).assumeRolePolicy);
        assert.deepEqual(doc.Statement, [{
          Effect: "Allow",
          Principal: { Service: "vpc-flow-logs.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*" } },
        }]);
      });
    }

    it("only the data namespace reaches Aurora; PgBouncer admits only its client namespaces", () => {
      const egressPorts = (ns: (typeof applicationNamespaces)[number]) =>
        namespaceNetworkPolicies(ns, ctx, pgbLabels).flatMap((p) => (p.spec.egress as R[] | undefined) ?? []).filter((e) => e.to?.some((t: R) => t.ipBlock?.cidr === ctx.vpcCidr)).flatMap((e) => e.ports.map((p: R) => p.port));
      assert.deepEqual(egressPorts(namespaces.data), [5432]);
      for (const ns of [namespaces.api, namespaces.workers]) {
        assert.deepEqual(egressPorts(ns).sort(), [443, 6379, 9098]);
      }
      assert.deepEqual(egressPorts(namespaces.automation), [443], "the Kubernetes API endpoint only");
      const clients = namespaceNetworkPolicies(namespaces.data, ctx, pgbLabels).find((p) => p.metadata.name === "allow-pgbouncer-clients")!;
      const from = (clients.spec.ingress as R[])[0].from.map((f: R) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
      assert.deepEqual(from, [namespaces.api, namespaces.workers, namespaces.automation]);
      assert.deepEqual((clients.spec.ingress as R[])[0].ports, [{ protocol: "TCP", port: 6432 }]);
    });

    it("HTTPS to the outside never includes the VPC; istiod is allowed only with sidecars", () => {
      const https = namespaceNetworkPolicies(namespaces.workers, ctx, pgbLabels).find((p) => p.metadata.name === "allow-https-outside-vpc")!;
      assert.deepEqual((https.spec.egress as R[])[0].to, [{ ipBlock: { cidr: "0.0.0.0/0", except: [ctx.vpcCidr] } }]);
      assert.equal(namespaceNetworkPolicies(namespaces.api, ctx, pgbLabels).some((p) => p.metadata.name === "allow-istiod"), false);
      assert.equal(namespaceNetworkPolicies(namespaces.api, { ...ctx, istioSidecars: true }, pgbLabels).some((p) => p.metadata.name === "allow-istiod"), true);
    });

    it("bad input is refused with the key, the value and what is allowed", () => {
      assert.throws(() => namespaceNetworkPolicies(namespaces.api, { ...ctx, vpcCidr: "10.40.0.0" }, pgbLabels), /vpcCidr = "10.40.0.0": must be an IPv4 CIDR block/);
      assert.throws(() => namespaceNetworkPolicies("kube-system" as never, ctx, pgbLabels), /namespace = "kube-system": must be an application namespace/);
    });
  });
});
