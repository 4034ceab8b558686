import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { planStack, type StackPlan } from "../support/plans";
import { loadStackSettings } from "../support/stacks";
import { kubernetesObjects } from "../../lib/plan/manifests";
import { validateManifest } from "../../lib/k8s/schemaValidator";
import { estimatePlan, loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../../lib/plan/review";
import { testEvaluationDate } from "../support/clock";
import { repoRoot } from "../support/stacks";
import { awsSecretsManagerStore, databaseUrlKey } from "../../components/automationDatabase";
import { databaseCaBundlePath } from "../../components/automationService";
import { rdsCaBundleConfigMap, rdsCaBundleSha256Annotation } from "../../lib/aws/rdsCaBundle";

type R = Record<string, any>;

/** Go's url.QueryEscape (what ESO's `urlquery` template function applies): unreserved kept, space as +, the rest %XX. */
function goQueryEscape(s: string): string {
  return [...Buffer.from(s, "utf8")].map((b) => {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
    if (c === " ") return "+";
    return `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

describe("the automation service's database (prod)", function () {
  this.timeout(300_000);
  let prod: StackPlan;
  let dev: StackPlan;
  before(async () => {
    prod = await planStack("prod");
    dev = await planStack("dev");
  });
  const ofType = (plan: StackPlan, type: string) => plan.resources.filter((r) => r.type === type);
  const automationCluster = (plan: StackPlan) => ofType(plan, "aws:rds/cluster:Cluster").find((r) => (r.inputs as R).tags?.purpose === "automation-state");

  it("is its own small Aurora Serverless v2 cluster: database and user `automation`, RDS-managed password, encrypted, protected, no readers", () => {
    const c = automationCluster(prod)!;
    assert.ok(c, "no automation cluster");
    const i = c.inputs as R;
    assert.deepEqual([i.serverlessv2ScalingConfiguration.minCapacity, i.serverlessv2ScalingConfiguration.maxCapacity], [0.5, 1]);
    assert.deepEqual([i.databaseName, i.masterUsername, i.manageMasterUserPassword, i.storageEncrypted, i.deletionProtection, i.skipFinalSnapshot], ["automation", "automation", true, true, true, false]);
    assert.equal(i.engineVersion, loadStackSettings("prod").database.engineVersion);
    const instances = ofType(prod, "aws:rds/clusterInstance:ClusterInstance").filter((r) => r.parent === c.parent);
    assert.equal(instances.length, 1, "a writer only");
    // No read-replica auto scaling on it (the platform's target stays).
    const targets = ofType(prod, "aws:appautoscaling/target:Target").filter((t) => (t.inputs as R).serviceNamespace === "rds");
    assert.equal(targets.length, 1);
    assert.ok(!String((targets[0]!.inputs as R).resourceId).includes("automation"));
    // Dev keeps the embedded database (automation.databaseSecretName: null): nothing created.
    assert.equal(automationCluster(dev), undefined);
  });

  it("admits only the automation service's pods (their own security group); the platform database does not admit them", () => {
    const rules = ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs as R);
    const intoAutomation = rules.filter((r) => String(r.securityGroupId).includes("automation-db-sg"));
    assert.deepEqual(intoAutomation.map((r) => [r.referencedSecurityGroupId, r.fromPort, r.toPort]), [["pyairtable-prod-automation-db-clients-automation-service-id", loadStackSettings("prod").database.port, loadStackSettings("prod").database.port]]);
    const intoPlatform = rules.filter((r) => String(r.securityGroupId).startsWith("pyairtable-prod-database-sg"));
    assert.ok(intoPlatform.length > 0);
    assert.ok(intoPlatform.every((r) => !String(r.referencedSecurityGroupId).includes("automation")));
  });

  it("renders Secret `pyairtable-automation-database` (key DATABASE_URL) with External Secrets from the RDS-managed secret, schema-valid", () => {
    const settings = loadStackSettings("prod");
    const es = kubernetesObjects(prod.resources).find((o) => o.kind === "ExternalSecret" && (o.metadata as R).namespace === "pyairtable-automation")! as R;
    assert.ok(es, "no ExternalSecret");
    assert.deepEqual(validateManifest(es).errors ?? [], []);
    assert.equal(es.metadata.namespace, "pyairtable-automation");
    assert.equal(es.spec.target.name, settings.automation.databaseSecretName);
    assert.deepEqual(es.spec.secretStoreRef, { ...awsSecretsManagerStore });
    const secretArn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-pyairtable-prod-automation-db-cluster-AbCdEf`;
    assert.deepEqual(es.spec.data.map((d: R) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]), [["username", secretArn, "username"], ["password", secretArn, "password"]]);
    assert.equal(prod.outputs.automationDatabaseSecretArn, secretArn, "exported for the ClusterSecretStore's role");
    // The service reads that key from that Secret.
    const deployment = ofType(prod, "kubernetes:apps/v1:Deployment").find((r) => (r.inputs as R).metadata.name === "pyairtable-automation")!.inputs as R;
    const pod = deployment.spec.template.spec;
    const volume = (pod.volumes as R[]).find((v) => v.secret?.secretName === settings.automation.databaseSecretName)!;
    assert.deepEqual(volume.secret.items, [{ key: databaseUrlKey, path: databaseUrlKey }]);
    const mount = (pod.containers[0].volumeMounts as R[]).find((m) => m.name === volume.name)!;
    assert.equal((pod.containers[0].env as R[]).find((e) => e.name === "DATABASE_URL_FILE")!.value, `${mount.mountPath}/${databaseUrlKey}`);

    // The template, filled as ESO fills it (urlquery = Go's QueryEscape), gives pg the right connection:
    // an RDS-generated password may hold any printable ASCII but / " @ and space.
    const password = "p%a:ss#w?o&r=d+!;{}[]$'`^|\\~<>,1";
    const url = String(es.spec.target.template.data[databaseUrlKey])
      .replace("{{ .username | urlquery }}", goQueryEscape("automation"))
      .replace("{{ .password | urlquery }}", goQueryEscape(password));
    // As the service's store opens it (automation/store/db.ts: new Client({ connectionString })), without
    // connecting; pg reads sslrootcert then, so the pod's CA file is stood in for by a local one.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-ca-"));
    const caFile = path.join(dir, rdsCaBundleConfigMap.key);
    fs.writeFileSync(caFile, "CA");
    let parsed: R;
    try {
      parsed = (new Client({ connectionString: url.replace(databaseCaBundlePath, caFile) }) as unknown as { connectionParameters: R }).connectionParameters;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual([parsed.user, parsed.password, parsed.host, parsed.port, parsed.database], ["automation", password, "pyairtable-prod-automation-db-cluster.cluster.us-east-1.rds.amazonaws.com", settings.database.port, "automation"]);
    assert.ok(parsed.ssl, "TLS on (the cluster's parameter group forces it)");
  });

  const automationDeployment = (plan: StackPlan) => ofType(plan, "kubernetes:apps/v1:Deployment").find((r) => (r.inputs as R).metadata.name === "pyairtable-automation")!;
  const bundleConfigMaps = (plan: StackPlan) => ofType(plan, "kubernetes:core/v1:ConfigMap").filter((r) => (r.inputs as R).metadata.name === rdsCaBundleConfigMap.name);

  it("verifies the server (verify-full) with the RDS CA bundle the pods mount read-only; the URL's sslrootcert is that file, and pg builds a verifying TLS config from it", () => {
    // The same download (one dynamic resource) fills the bundle in PgBouncer's and the service's namespace.
    assert.equal(ofType(prod, "pulumi-nodejs:dynamic/pyairtable:RdsCaBundle").length, 1);
    const maps = bundleConfigMaps(prod);
    assert.deepEqual(maps.map((m) => (m.inputs as R).metadata.namespace).sort(), ["pyairtable-automation", "pyairtable-data"]);
    const [dataMap, automationMap] = ["pyairtable-data", "pyairtable-automation"].map((n) => maps.find((m) => (m.inputs as R).metadata.namespace === n)!.inputs as R);
    assert.deepEqual(automationMap!.data, dataMap!.data);
    assert.deepEqual(validateManifest(kubernetesObjects([maps.find((m) => (m.inputs as R).metadata.namespace === "pyairtable-automation")!])[0]!).errors ?? [], []);

    // Mounted read-only from that ConfigMap, at the path the URL names; the pods wait for it and roll on its digest.
    const deployment = automationDeployment(prod);
    const template = (deployment.inputs as R).spec.template;
    const volume = (template.spec.volumes as R[]).find((v) => v.configMap?.name === rdsCaBundleConfigMap.name)!;
    assert.ok(volume, "no CA bundle volume");
    assert.deepEqual(volume.configMap.items, [{ key: rdsCaBundleConfigMap.key, path: rdsCaBundleConfigMap.key }]);
    const mount = (template.spec.containers[0].volumeMounts as R[]).find((m) => m.name === volume.name)!;
    assert.equal(mount.readOnly, true);
    assert.equal(`${mount.mountPath}/${rdsCaBundleConfigMap.key}`, databaseCaBundlePath);
    assert.equal(template.metadata.annotations[rdsCaBundleSha256Annotation], "0".repeat(64), "a bundle AWS changed rolls the pods");
    const automationMapUrn = maps.find((m) => (m.inputs as R).metadata.namespace === "pyairtable-automation")!.urn;
    assert.ok(deployment.dependencies!.includes(automationMapUrn), "the pods wait for the bundle");

    const es = kubernetesObjects(prod.resources).find((o) => o.kind === "ExternalSecret" && (o.metadata as R).namespace === "pyairtable-automation")! as R;
    const template_ = String(es.spec.target.template.data[databaseUrlKey]);
    const query = new URL(template_.replace(/\{\{[^}]+\}\}/g, "x")).searchParams;
    assert.deepEqual([...query.entries()], [["sslmode", "verify-full"], ["sslrootcert", databaseCaBundlePath]]);

    // pg reads sslrootcert when the client is created: the pod's file, here a copy of the ConfigMap's content.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-ca-"));
    try {
      const caFile = path.join(dir, rdsCaBundleConfigMap.key);
      fs.writeFileSync(caFile, automationMap!.data[rdsCaBundleConfigMap.key]);
      const url = template_.replace(/\{\{[^}]+\}\}/g, "automation").replace(databaseCaBundlePath, caFile);
      const ssl = (new Client({ connectionString: url }) as unknown as { connectionParameters: R }).connectionParameters.ssl as R;
      assert.equal(ssl.ca, automationMap!.data[rdsCaBundleConfigMap.key], "the CA is the mounted bundle");
      // Not switched off: Node's TLS defaults then verify the chain (rejectUnauthorized true) and the host name.
      assert.notEqual(ssl.rejectUnauthorized, false);
      assert.equal(ssl.checkServerIdentity, undefined);
      // The missing file fails at client creation, as it would in a pod without the mount.
      assert.throws(() => new Client({ connectionString: template_.replace(/\{\{[^}]+\}\}/g, "automation").replace(databaseCaBundlePath, path.join(dir, "absent.pem")) }), /ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("dev (embedded database): no bundle in the automation namespace, no CA volume or roll annotation on the service", () => {
    assert.deepEqual(bundleConfigMaps(dev).map((m) => (m.inputs as R).metadata.namespace), ["pyairtable-data"]);
    const template = (automationDeployment(dev).inputs as R).spec.template;
    assert.ok(!(template.spec.volumes as R[]).some((v) => v.configMap), "no ConfigMap volume");
    assert.equal(template.metadata.annotations, undefined);
  });

  it("is priced apart from the platform's database, at its minimum capacity", () => {
    const estimate = estimatePlan(prod.resources, "prod", pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, "prod")), testEvaluationDate));
    const lines = estimate.items.filter((i) => i.category === "automation-database");
    assert.deepEqual(lines.map((l) => [l.line, l.quantity]).sort(), [["ACU", 0.5], ["I/O (assumption)", 1], ["storage (assumption)", 2]]);
    const acu = lines.find((l) => l.line === "ACU")!;
    assert.equal(acu.monthlyUsd, 43.8, "0.5 ACU x 730 h x $0.12");
  });
});
