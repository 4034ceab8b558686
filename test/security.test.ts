import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { kubernetesObjects } from "../lib/plan/manifests";
import { applicationNamespaces, namespaces } from "../lib/catalog/cluster";
import { automationClientPodLabels, defaultDenyPolicyName, namespaceNetworkPolicies, type NetworkPolicyContext } from "../lib/k8s/networkPolicies";
import { podSecurityLabels, restrictedViolations } from "../lib/k8s/podSecurity";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { loadStackSettings, stacks } from "./support/stacks";

type R = Record<string, any>;

const ctx: NetworkPolicyContext = { vpcCidr: "10.40.0.0/16", ports: { postgres: 5432, pgbouncer: 6432, redis: 6379, kafkaIam: 9098, openSearch: 443, prometheus: 9090, automationHttp: 8080 }, istioSidecars: false, automationPodLabels: { "app.kubernetes.io/name": "pyairtable-automation" } };
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
        const pgbouncer = deployments.find((x) => x.metadata.name.includes("pgbouncer"));
        assert.equal(pgbouncer?.spec.template.spec.automountServiceAccountToken, false, "pgbouncer: automountServiceAccountToken");
        // The automation service uses its token for one call, TokenReview of POST /api/runs callers:
        // the only binding of its service account is system:auth-delegator.
        const automation = deployments.find((x) => x.metadata.name.includes("automation"))!;
        assert.equal(automation.spec.template.spec.automountServiceAccountToken, true);
        const sa = automation.spec.template.spec.serviceAccountName;
        const bindings = kubernetesObjects(plans[stack]!.resources).filter((o) => /RoleBinding$/.test(o.kind) && ((o as R).subjects ?? []).some((x: any) => x.kind === "ServiceAccount" && x.name === sa)) as R[];
        assert.deepEqual(bindings.map((b) => `${b.kind}:${b.roleRef.name}`), ["ClusterRoleBinding:system:auth-delegator"]);
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

    for (const stack of stacks) {
      it(`${stack}: Aurora listens on the database.port setting (not 5432); its security group, PgBouncer and the data namespace's NetworkPolicy use that port`, () => {
        const port = loadStackSettings(stack).database.port;
        assert.notEqual(port, 5432);
        const resources = plans[stack]!.resources;
        const cluster = resources.find((r) => r.type === "aws:rds/cluster:Cluster")!;
        assert.equal((cluster.inputs as R).port, port);
        const dbSg = resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.endsWith("-database-sg"))!;
        const rules = resources.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.name.includes("-database-postgres-"));
        assert.ok(rules.length >= 1, "Aurora ingress rules");
        for (const rule of rules) assert.deepEqual([(rule.inputs as R).fromPort, (rule.inputs as R).toPort], [port, port], rule.name);
        assert.ok(dbSg, "Aurora's security group");
        const objects = kubernetesObjects(resources);
        const ini = objects.find((o) => o.kind === "ConfigMap" && (o.metadata as R).name === "pgbouncer-config")!.data as R;
        assert.match(ini["pgbouncer.ini"], new RegExp(`^pyairtable = host=\\S+ port=${port} dbname=pyairtable$`, "m"));
        const dataEgress = objects
          .filter((o) => o.kind === "NetworkPolicy" && (o.metadata as R).namespace === namespaces.data)
          .flatMap((o) => ((o.spec as R).egress as R[] | undefined) ?? [])
          .filter((e) => e.to?.some((t: R) => t.ipBlock?.cidr === loadStackSettings(stack).network.cidrBlock))
          .flatMap((e) => e.ports.map((p: R) => p.port));
        assert.deepEqual(dataEgress, [port]);
      });
    }

    for (const stack of stacks) {
      it(`${stack}: the automation service reads its database URL from the Secret's volume (DATABASE_URL_FILE), never from an environment variable`, () => {
        const secretName = loadStackSettings(stack).automation.databaseSecretName;
        const deployment = kubernetesObjects(plans[stack]!.resources).find((o) => o.kind === "Deployment" && (o.metadata as R).namespace === namespaces.automation)!;
        const pod = (deployment.spec as R).template.spec;
        const container = pod.containers[0];
        const env = container.env as R[];
        assert.equal(env.find((e) => e.name === "DATABASE_URL"), undefined, "no DATABASE_URL variable");
        assert.ok(env.every((e) => e.valueFrom?.secretKeyRef === undefined), "no secret in any variable");
        const fileVar = env.find((e) => e.name === "DATABASE_URL_FILE");
        if (secretName === null) {
          assert.equal(fileVar, undefined, "embedded database: no URL at all");
          return;
        }
        assert.equal(secretName, "pyairtable-automation-database");
        const volume = (pod.volumes as R[]).find((v) => v.secret?.secretName === secretName)!;
        assert.deepEqual(volume.secret, { secretName, items: [{ key: "DATABASE_URL", path: "DATABASE_URL" }], defaultMode: 0o440 });
        const mount = (container.volumeMounts as R[]).find((m) => m.name === volume.name)!;
        assert.equal(mount.readOnly, true);
        assert.equal(fileVar!.value, `${mount.mountPath}/DATABASE_URL`);
      });
    }

    for (const stack of stacks) {
      it(`${stack}: private paths to AWS: the S3 gateway endpoint always; interface endpoints in every private subnet with their own HTTPS-from-the-VPC security group when network.interfaceEndpoints is on`, () => {
        const settings = loadStackSettings(stack);
        const resources = plans[stack]!.resources;
        const endpoints = resources.filter((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint");
        const privateTables = resources.filter((r) => r.type === "aws:ec2/routeTable:RouteTable" && r.name.includes("-private-")).map((r) => r.urn);
        const gateway = endpoints.filter((r) => (r.inputs as R).vpcEndpointType === "Gateway");
        assert.equal(gateway.length, 1);
        assert.match((gateway[0]!.inputs as R).serviceName, /^com\.amazonaws\.us-east-1\.s3$/);
        assert.deepEqual([...(gateway[0]!.propertyDependencies?.routeTableIds ?? [])].sort(), [...privateTables].sort(), "every private route table");
        const interfaces = endpoints.filter((r) => (r.inputs as R).vpcEndpointType === "Interface");
        if (!settings.network.interfaceEndpoints) {
          assert.deepEqual(interfaces, []);
          assert.equal(resources.filter((r) => r.name.endsWith("-endpoints-sg")).length, 0);
          return;
        }
        assert.deepEqual(interfaces.map((r) => (r.inputs as R).serviceName.replace("com.amazonaws.us-east-1.", "")).sort(), ["ec2", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "sts"]);
        const privateSubnets = resources.filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.name.includes("-private-")).map((r) => r.urn);
        assert.equal(privateSubnets.length, settings.network.availabilityZones);
        const sg = resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.endsWith("-endpoints-sg"))!;
        for (const e of interfaces) {
          const i = e.inputs as R;
          assert.equal(i.privateDnsEnabled, true, e.name);
          assert.deepEqual([...(e.propertyDependencies?.subnetIds ?? [])].sort(), [...privateSubnets].sort(), `${e.name}: one ENI per private subnet`);
          assert.deepEqual(e.propertyDependencies?.securityGroupIds, [sg.urn], `${e.name}: the endpoints' own security group`);
        }
        const rules = resources.filter((r) => r.type.startsWith("aws:vpc/securityGroup") && (r.propertyDependencies?.securityGroupId ?? []).includes(sg.urn));
        assert.deepEqual(rules.map((r) => [r.type, (r.inputs as R).cidrIpv4, (r.inputs as R).fromPort, (r.inputs as R).toPort]), [
          ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", settings.network.cidrBlock, 443, 443],
        ]);
      });
    }

    it("only the data namespace (and the automation service, to its own database) reaches PostgreSQL; PgBouncer admits only its client namespaces", () => {
      const egressPorts = (ns: (typeof applicationNamespaces)[number]) =>
        namespaceNetworkPolicies(ns, ctx, pgbLabels).flatMap((p) => (p.spec.egress as R[] | undefined) ?? []).filter((e) => e.to?.some((t: R) => t.ipBlock?.cidr === ctx.vpcCidr)).flatMap((e) => e.ports.map((p: R) => p.port));
      assert.deepEqual(egressPorts(namespaces.data), [5432]);
      for (const ns of [namespaces.api, namespaces.workers]) {
        assert.deepEqual(egressPorts(ns).sort(), [443, 6379, 9098]);
      }
      // Its own Aurora cluster (session advisory lock: not through PgBouncer) and the Kubernetes API endpoint.
      assert.deepEqual(egressPorts(namespaces.automation).sort(), [443, 5432]);
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

    it("only the automation namespace opens a path to the automation service, from its labelled scheduler pods, on its HTTP port", () => {
      const byName = (ns: (typeof applicationNamespaces)[number]) => new Map(namespaceNetworkPolicies(ns, ctx, pgbLabels).map((p) => [p.metadata.name, p.spec as R]));
      const auto = byName(namespaces.automation);
      assert.deepEqual(auto.get("allow-automation-clients"), {
        podSelector: { matchLabels: ctx.automationPodLabels },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: automationClientPodLabels } }], ports: [{ protocol: "TCP", port: 8080 }] }],
      });
      assert.deepEqual(auto.get("allow-automation-api"), {
        podSelector: { matchLabels: automationClientPodLabels },
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: { matchLabels: ctx.automationPodLabels } }], ports: [{ protocol: "TCP", port: 8080 }] }],
      });
      assert.equal(auto.has("allow-same-namespace"), false);
      for (const ns of [namespaces.api, namespaces.workers, namespaces.data]) {
        const names = [...byName(ns).keys()];
        assert.ok(!names.includes("allow-automation-clients") && !names.includes("allow-automation-api"), ns);
      }
    });

    it("bad input is refused with the key, the value and what is allowed", () => {
      assert.throws(() => namespaceNetworkPolicies(namespaces.automation, { ...ctx, automationPodLabels: {} }, pgbLabels), /automationPodLabels = \{\}: must be the automation service's non-empty pod selector labels/);
      assert.throws(() => namespaceNetworkPolicies(namespaces.api, { ...ctx, vpcCidr: "10.40.0.0" }, pgbLabels), /vpcCidr = "10.40.0.0": must be an IPv4 CIDR block/);
      assert.throws(() => namespaceNetworkPolicies("kube-system" as never, ctx, pgbLabels), /namespace = "kube-system": must be an application namespace/);
    });
  });
});
