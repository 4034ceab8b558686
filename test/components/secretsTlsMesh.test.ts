/**
 * External Secrets, cert-manager (with the RDS CA bundle) and Istio as the stacks plan them: the
 * objects PgBouncer and Grafana wait for, the store's IAM role scoped to exact secrets, the private
 * CA chain, the add-on namespaces' Pod Security and network isolation, Istio only with sidecars.
 * The RDS bundle check runs on real X.509 certificates made with openssl here.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planStack, type StackPlan } from "../support/plans";
import { stacks } from "../support/stacks";
import { iamPolicyProblems } from "../support/iamDataset";
import { externalSecretRefreshInterval, pgbouncerUserlistTemplate, secretStore, secretStorePolicy, validateExternalSecretsArgs } from "../../components/addons/externalSecrets";
import { pgbouncerCertificate, privateCa } from "../../components/addons/certManager";
import { rdsCaBundleProvider } from "../../components/addons/rdsCaBundle";
import { grafanaAdminSecret } from "../../components/addons/kubePrometheusStack";
import { pgbouncer } from "../../components/addons/pgbouncerPool";
import { checkRdsCaBundle, downloadRdsCaBundle, rdsGlobalBundleUrl } from "../../lib/aws/rdsCaBundle";
import { ingressAllowed } from "../../lib/k8s/networkPolicyEval";
import { defaultDenyIngressPolicyName } from "../../lib/k8s/platformNetworkPolicies";
import { namespacePodSecurity } from "../../lib/k8s/podSecurity";
import { applicationNamespaces, namespaces, stackNamespaces } from "../../lib/catalog/cluster";
import { validateManifest } from "../../lib/k8s/schemaValidator";
import { deniesIngress } from "../../policies/rules/everyNamespaceDeniesIngressByDefault";

type R = Record<string, any>;
const cr = (plan: StackPlan, kind: string, name: string) =>
  plan.resources.find((r) => (r.inputs as R).kind === kind && (r.inputs as R).metadata?.name === name)?.inputs as R | undefined;

describe("secrets, TLS and the mesh", function () {
  this.timeout(180_000);
  const plans: Partial<Record<string, StackPlan>> = {};
  before(async () => {
    for (const stack of stacks) plans[stack] = await planStack(stack);
  });

  describe("External Secrets", () => {
    for (const stack of stacks) {
      it(`${stack}: the ClusterSecretStore reads Secrets Manager with its own service account's role, for the listed namespaces`, () => {
        const plan = plans[stack]!;
        const store = cr(plan, "ClusterSecretStore", "aws-secrets-manager")!;
        assert.equal(store.apiVersion, "external-secrets.io/v1");
        assert.equal(store.spec.provider.aws.service, "SecretsManager");
        assert.deepEqual(store.spec.provider.aws.auth.jwt.serviceAccountRef, { name: secretStore.serviceAccount, namespace: namespaces.externalSecrets });
        // Only the namespaces the stack renders Secrets into: the role reads the databases' master secrets.
        assert.deepEqual([...store.spec.conditions[0].namespaces].sort(), ["monitoring", "pyairtable-automation", "pyairtable-data"]);
        assert.ok(!store.spec.conditions[0].namespaces.includes("pyairtable-api") && !store.spec.conditions[0].namespaces.includes("pyairtable-workers"));
        const sa = plan.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && (r.inputs as R).metadata.name === secretStore.serviceAccount)!.inputs as R;
        assert.ok(String(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).includes("secret-store"));
        const role = plan.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("-secret-store"))!;
        const sub = Object.entries(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Condition.StringEquals).find(([k]) => k.endsWith(":sub"))![1];
        assert.equal(sub, `system:serviceaccount:${namespaces.externalSecrets}:${secretStore.serviceAccount}`);
      });

      it(`${stack}: the store's role reads exactly the RDS master secret, the generated Grafana secret and (with its own database) the automation service's`, () => {
        const plan = plans[stack]!;
        const policy = JSON.parse(String(plan.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.endsWith("secret-store-policy"))!.inputs.policy));
        const read = policy.Statement.find((s: R) => s.Sid === "ReadListedSecrets");
        assert.deepEqual(read.Action, ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]);
        const automationSecret = plan.outputs.automationDatabaseSecretArn as string | null | undefined;
        assert.equal(read.Resource.length, automationSecret ? 3 : 2);
        assert.ok(read.Resource.some((a: string) => a.includes(":secret:rds!cluster-") && !a.includes("automation-db")), "the platform's RDS-managed master secret");
        if (automationSecret) {
          assert.ok(read.Resource.includes(automationSecret), "the automation database's RDS-managed secret");
          // Its ExternalSecret is applied after the store exists (the add-ons are built after the database).
          const es = plan.resources.find((r) => r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" && (r.inputs as R).metadata.namespace === namespaces.automation)!;
          const store = plan.resources.find((r) => r.type === "kubernetes:external-secrets.io/v1:ClusterSecretStore")!;
          assert.ok((es.dependencies ?? []).includes(store.urn), "the automation ExternalSecret waits for the ClusterSecretStore");
        }
        assert.ok(read.Resource.every((a: string) => !a.includes("*")), "exact ARNs, no wildcards");
        const decrypt = policy.Statement.find((s: R) => s.Sid === "DecryptThroughSecretsManager");
        assert.deepEqual(decrypt.Condition, { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } });
      });

      it(`${stack}: renders the PgBouncer userlist from the RDS master secret and grafana-admin from the generated secret, refreshed hourly`, () => {
        const plan = plans[stack]!;
        const userlist = cr(plan, "ExternalSecret", pgbouncer.authSecret.name)!;
        assert.equal(userlist.metadata.namespace, pgbouncer.namespace);
        assert.equal(userlist.spec.refreshInterval, externalSecretRefreshInterval);
        assert.deepEqual(userlist.spec.secretStoreRef, { kind: "ClusterSecretStore", name: "aws-secrets-manager" });
        assert.equal(userlist.spec.target.template.data[pgbouncer.authSecret.key], pgbouncerUserlistTemplate);
        assert.match(userlist.spec.dataFrom[0].extract.key, /:secret:rds!cluster-/);
        const grafana = cr(plan, "ExternalSecret", grafanaAdminSecret.name)!;
        assert.equal(grafana.metadata.namespace, "monitoring");
        const smSecret = plan.resources.find((r) => r.type === "aws:secretsmanager/secret:Secret")!;
        assert.equal(smSecret.inputs.name, `${plan.settings.cluster.name}/grafana-admin`);
        assert.ok(String(smSecret.inputs.kmsKeyId).includes("platform-secrets"), "a customer-managed key");
        // The value is generated, stored as a secret, never in the plan.
        const version = plan.resources.find((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion")!;
        assert.equal(version.inputs.secretString, "[secret]");
        // Grafana (kube-prometheus-stack) waits for its Secret's ExternalSecret.
        const kps = plan.resources.find((r) => r.inputs.chart === "kube-prometheus-stack")!;
        const es = plan.resources.find((r) => (r.inputs as R).kind === "ExternalSecret" && (r.inputs as R).metadata.name === grafanaAdminSecret.name)!;
        assert.ok(kps.dependencies!.includes(es.urn));
      });
    }

    it("the store policy passes the IAM reference; bad secret ARNs and missing namespaces are refused", async () => {
      const policy = secretStorePolicy(["arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1-AbCdEf", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x/y-AbCdEf"], ["arn:aws:kms:us-east-1:123456789012:key/k"], "us-east-1");
      assert.deepEqual(await iamPolicyProblems(policy, "store"), []);
      assert.throws(() => validateExternalSecretsArgs("e", { secretArns: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:*"] }), /ExternalSecrets e: secretArns\[0\] = .*no wildcards/);
      assert.throws(() => validateExternalSecretsArgs("e", { allowedNamespaces: ["monitoring"] }), /must include pyairtable-data/);
    });
  });

  describe("cert-manager and the RDS CA bundle", () => {
    for (const stack of stacks) {
      it(`${stack}: self-signed ClusterIssuer -> CA Certificate -> CA ClusterIssuer -> PgBouncer's certificate for its service names`, () => {
        const plan = plans[stack]!;
        assert.deepEqual(cr(plan, "ClusterIssuer", privateCa.selfSignedIssuer)!.spec, { selfSigned: {} });
        const ca = cr(plan, "Certificate", privateCa.certificate)!;
        assert.equal(ca.spec.isCA, true);
        assert.equal(ca.spec.issuerRef.name, privateCa.selfSignedIssuer);
        assert.deepEqual(cr(plan, "ClusterIssuer", privateCa.issuer)!.spec, { ca: { secretName: ca.spec.secretName } });
        const server = cr(plan, "Certificate", pgbouncer.clientTlsSecret.name)!;
        assert.equal(server.metadata.namespace, pgbouncer.namespace);
        assert.equal(server.spec.secretName, "pgbouncer-tls");
        assert.deepEqual(server.spec.dnsNames, ["pgbouncer", "pgbouncer.pyairtable-data", "pgbouncer.pyairtable-data.svc", "pgbouncer.pyairtable-data.svc.cluster.local"]);
        assert.equal(server.spec.issuerRef.name, privateCa.issuer);
        // Renewed automatically a third of its life before expiry.
        assert.deepEqual([server.spec.duration, server.spec.renewBefore], [pgbouncerCertificate.duration, pgbouncerCertificate.renewBefore]);
        for (const o of [ca, server, cr(plan, "ClusterIssuer", privateCa.issuer)!]) assert.deepEqual(validateManifest(o).errors, []);
      });

      it(`${stack}: the rds-ca-bundle ConfigMap comes from the bundle downloaded at deploy, and PgBouncer waits for it and its certificate`, () => {
        const plan = plans[stack]!;
        const cm = plan.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs as R).metadata.name === "rds-ca-bundle")!;
        assert.equal((cm.inputs as R).metadata.namespace, pgbouncer.namespace);
        assert.match((cm.inputs as R).data["global-bundle.pem"], /downloaded from https:\/\/truststore\.pki\.rds\.amazonaws\.com\/global\/global-bundle\.pem at deploy time/);
        const download = plan.resources.find((r) => r.type === "pulumi-nodejs:dynamic/pyairtable:RdsCaBundle")!;
        assert.equal(download.inputs.url, rdsGlobalBundleUrl);
        const deployment = plan.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as R).metadata.name === "pgbouncer")!;
        const cert = plan.resources.find((r) => (r.inputs as R).kind === "Certificate" && (r.inputs as R).metadata.name === "pgbouncer-tls")!;
        const userlist = plan.resources.find((r) => (r.inputs as R).kind === "ExternalSecret" && (r.inputs as R).metadata.name === pgbouncer.authSecret.name)!;
        for (const dep of [cm, cert, userlist]) assert.ok(deployment.dependencies!.includes(dep.urn), `PgBouncer waits for ${dep.name}`);
        // A bundle AWS changed rolls the pods (PgBouncer reads the CA file at start).
        assert.equal((deployment.inputs as R).spec.template.metadata.annotations["pyairtable.io/rds-ca-bundle-sha256"], "0".repeat(64));
      });
    }

    describe("the bundle check (real certificates)", () => {
      let dir: string;
      const makeCa = (name: string, subject: string, days = 365) => {
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, `${name}.key`), "-out", path.join(dir, `${name}.pem`), "-days", String(days), "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE"], { stdio: "ignore" });
        return fs.readFileSync(path.join(dir, `${name}.pem`), "utf8");
      };
      before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-ca-"));
      });
      after(() => fs.rmSync(dir, { recursive: true, force: true }));

      it("accepts a bundle of Amazon RDS CAs; refuses another issuer, a non-CA, garbage and an empty body", () => {
        const rds = "/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/ST=WA/L=Seattle/CN=Amazon RDS us-east-1 Root CA ECC384 G1";
        const bundle = makeCa("a", rds) + makeCa("b", rds.replace("us-east-1", "eu-west-1"));
        const info = checkRdsCaBundle(bundle);
        assert.equal(info.certificates, 2);
        assert.match(info.sha256, /^[0-9a-f]{64}$/);
        assert.deepEqual(info.commonNames, ["Amazon RDS eu-west-1 Root CA ECC384 G1", "Amazon RDS us-east-1 Root CA ECC384 G1"]);
        assert.throws(() => checkRdsCaBundle(bundle + makeCa("evil", "/O=Evil Corp/CN=Amazon RDS lookalike")), /certificate 3 is issued by .*Evil Corp.*not an Amazon RDS CA/);
        assert.throws(() => checkRdsCaBundle("<html>maintenance</html>"), /no PEM certificate/);
        assert.throws(() => checkRdsCaBundle(`${bundle}\n<html>`), /text outside the PEM certificates/);
        assert.throws(() => checkRdsCaBundle(bundle, new Date(Date.now() + 400 * 86_400_000)), /none of its 2 certificates is valid/);
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "leaf.key"), "-out", path.join(dir, "leaf.pem"), "-days", "30", "-subj", rds, "-addext", "basicConstraints=critical,CA:FALSE"], { stdio: "ignore" });
        assert.throws(() => checkRdsCaBundle(fs.readFileSync(path.join(dir, "leaf.pem"), "utf8")), /is not a CA certificate/);
      });

      it("downloads only from AWS's truststore URL, and the provider's diff reports a changed bundle", async () => {
        const rds = "/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/CN=Amazon RDS Root 2019 CA";
        const first = makeCa("first", rds);
        const urls: string[] = [];
        const got = await downloadRdsCaBundle(async (url) => (urls.push(url), first));
        assert.deepEqual(urls, ["https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"]);
        assert.equal(got.pem, first);
        // diff compares the digest of what AWS serves now with the deployed one (no network here:
        // the deployed digest differs from any real bundle, so the provider must at least try to fetch).
        await assert.rejects(
          rdsCaBundleProvider.diff!("id", { url: rdsGlobalBundleUrl, pem: first, sha256: got.info.sha256, certificates: 1, latestNotAfter: got.info.latestNotAfter }, { url: "https://example.invalid/bundle.pem" } as never).then(async (d) => {
            // A changed URL is a change without downloading.
            assert.equal(d.changes, true);
            throw new Error("ok: url change detected");
          }),
          /ok: url change detected/,
        );
      });
    });
  });

  describe("add-on namespaces and Istio", () => {
    const addonSpaces: string[] = [namespaces.externalSecrets, namespaces.certManager, namespaces.istio];
    const networkPolicies = (plan: StackPlan) => plan.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs as R);
    for (const stack of stacks) {
      it(`${stack}: every add-on namespace is a stack namespace (restricted, default-deny ingress, valid policies); Istio only with sidecars`, () => {
        const plan = plans[stack]!;
        const withIstio = plan.settings.workloads.istioSidecars;
        assert.deepEqual(stackNamespaces({ istioSidecars: withIstio }).filter((n) => addonSpaces.includes(n)), withIstio ? addonSpaces : addonSpaces.slice(0, 2));
        for (const ns of addonSpaces) {
          const created = plan.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs as R).metadata.name === ns);
          if (ns === namespaces.istio && !withIstio) {
            assert.equal(created, undefined);
            assert.equal(networkPolicies(plan).some((p) => p.metadata.namespace === ns), false, "no policies for a namespace not created");
            continue;
          }
          assert.ok(created, `${ns} is created`);
          assert.equal((created!.inputs as R).metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
          assert.equal((namespacePodSecurity as Record<string, string>)[ns], "restricted");
          const policies = networkPolicies(plan).filter((p) => p.metadata.namespace === ns);
          assert.ok(policies.some((p) => p.metadata.name === defaultDenyIngressPolicyName && deniesIngress(p, ns) === true), `${ns}: default deny`);
          for (const p of policies) assert.deepEqual(validateManifest(p).errors, []);
        }
        const releases = plan.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => String(r.inputs.chart));
        assert.equal(releases.includes("istiod"), withIstio);
        assert.equal(releases.includes("cni"), withIstio);
        assert.equal(releases.includes("base"), withIstio);
        for (const app of applicationNamespaces) {
          const n = plan.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs as R).metadata.name === app)!;
          assert.equal((n.inputs as R).metadata.labels["istio-injection"], withIstio ? "enabled" : undefined);
        }
        if (withIstio) {
          const istiod = plan.resources.find((r) => r.inputs.chart === "istiod")!.inputs as R;
          assert.equal(istiod.values.cni.enabled, true, "sidecars without NET_ADMIN init containers (restricted namespaces)");
          // restricted needs a seccomp profile; the chart renders one only when set (istiod and the injected containers).
          assert.deepEqual(istiod.values.seccompProfile, { type: "RuntimeDefault" });
          assert.deepEqual(istiod.values.global.proxy.seccompProfile, { type: "RuntimeDefault" });
          assert.equal(istiod.values.global.proxy.privileged, false);
          assert.equal(plan.resources.find((r) => r.inputs.chart === "cni")!.inputs.namespace, "kube-system");
        }
      });
    }

    it("prod: the API server reaches the webhooks, the sidecars istiod's xDS; nothing else comes in", () => {
      const plan = plans.prod!;
      const policies = networkPolicies(plan);
      const apiServer = { ip: `${plan.settings.network.cidrBlock.split("/")[0]!.split(".").slice(0, 3).join(".")}.17` };
      const eso = { namespace: namespaces.externalSecrets, labels: { "app.kubernetes.io/name": "external-secrets-webhook" } };
      const cmWebhook = { namespace: namespaces.certManager, labels: { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager" } };
      const istiod = { namespace: namespaces.istio, labels: { app: "istiod" } };
      assert.ok(ingressAllowed(policies, eso, { port: 10250 }, apiServer));
      assert.ok(ingressAllowed(policies, cmWebhook, { port: 10250 }, apiServer));
      assert.ok(ingressAllowed(policies, istiod, { port: 15017 }, apiServer));
      for (const app of applicationNamespaces) assert.ok(ingressAllowed(policies, istiod, { port: 15012 }, { namespace: app, labels: {} }), app);
      // ...and nothing else: not the webhook from a pod, not xDS from monitoring, not a controller's port from the API server.
      assert.ok(!ingressAllowed(policies, eso, { port: 10250 }, { namespace: namespaces.workers, labels: {} }));
      assert.ok(!ingressAllowed(policies, istiod, { port: 15012 }, { namespace: namespaces.monitoring, labels: {} }));
      assert.ok(!ingressAllowed(policies, { namespace: namespaces.certManager, labels: { "app.kubernetes.io/name": "cert-manager" } }, { port: 9403 }, apiServer));
    });
  });
});
