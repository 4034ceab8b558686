/**
 * The automation service acting in production (issue 18), with the fake Pulumi CLI that records
 * its arguments and environment, real PostgreSQL, and a local HTTPS API server that answers
 * TokenReview (authentication.k8s.io/v1) as the Kubernetes API server does:
 * - a scheduled run: every CLI process acts as the deploy role (AWS profile assuming it from the
 *   service's IRSA identity; the competing variables removed);
 * - a preview whose steps leave the remit (replace, another type, another property) is refused
 *   before any `up`, recorded, and counted for the alert;
 * - POST /api/runs from an allowed and from a refused service account; idempotency; GET /api/runs/<id>;
 *   a request to the replica that does not lead is run by the leader.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../automation/logger";
import { AutomationMetrics } from "../../automation/metrics";
import { PulumiStackRunner } from "../../automation/runner";
import { AutomationService } from "../../automation/service";
import { PostgresDatabase, Store } from "../../automation/store";
import { KubernetesTokenReviewer } from "../../automation/tokenReview";
import { parseAutomationConfig } from "../../automation/config";
import { FakePulumi, hpaUpdate } from "./support/fakePulumi";
import { TestPostgres, requireTool } from "./support/postgres";
import { metricValue, repoRoot, sleep, until } from "./support/harness";
import { parse as parseYaml } from "yaml";

const deployRoleArn = "arn:aws:iam::123456789012:role/pyairtable-prod-automation-deploy";
const serviceRoleArn = "arn:aws:iam::123456789012:role/pyairtable-prod-automation-role";

/** The prod configuration with short timings, jobs driven by the test. */
function config() {
  const file = path.join(repoRoot, "automation", "config", "prod.yaml");
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as Record<string, any>;
  doc.runner = { ...doc.runner, timeoutSeconds: 60, killGraceSeconds: 1, fenceCheckSeconds: 1, shutdownSeconds: 8, maxAttempts: 2, baseDelayMs: 200 };
  doc.collector.enabled = false;
  doc.predictive.enabled = false;
  doc.budget.enabled = false;
  return parseAutomationConfig(doc, file);
}

/**
 * A fake Kubernetes API server (HTTPS, self-signed CA for 127.0.0.1) that answers
 * POST /apis/authentication.k8s.io/v1/tokenreviews as the API server does (TokenReview with
 * status.authenticated, status.user.username, status.audiences: the intersection of the requested
 * audiences and the token's), and only to a caller presenting the service's own token.
 */
class FakeApiServer {
  readonly requests: { authorization?: string; body: any }[] = [];
  private server!: https.Server;
  port = 0;
  constructor(readonly dir: string, readonly ownToken: string, readonly tokens: Record<string, { username: string; audiences: string[] }>) {}

  async start(): Promise<void> {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", path.join(this.dir, "server.key"), "-out", path.join(this.dir, "ca.crt")], { stdio: "ignore" });
    this.server = https.createServer({ key: fs.readFileSync(path.join(this.dir, "server.key")), cert: fs.readFileSync(path.join(this.dir, "ca.crt")) }, (req, res) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => {
        const body = text ? JSON.parse(text) : undefined;
        this.requests.push({ authorization: req.headers.authorization, body });
        const reply = (status: number, obj: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(obj));
        };
        if (req.method !== "POST" || req.url !== "/apis/authentication.k8s.io/v1/tokenreviews") return reply(404, { kind: "Status", status: "Failure", code: 404 });
        if (req.headers.authorization !== `Bearer ${this.ownToken}`) return reply(401, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Unauthorized", code: 401 });
        if (body?.apiVersion !== "authentication.k8s.io/v1" || body?.kind !== "TokenReview" || typeof body?.spec?.token !== "string") return reply(400, { kind: "Status", status: "Failure", code: 400 });
        const known = this.tokens[body.spec.token];
        const requested: string[] = body.spec.audiences ?? [];
        const audiences = known ? (requested.length === 0 ? known.audiences : requested.filter((a) => known.audiences.includes(a))) : [];
        const authenticated = Boolean(known) && (requested.length === 0 || audiences.length > 0);
        reply(201, {
          kind: "TokenReview",
          apiVersion: "authentication.k8s.io/v1",
          metadata: { creationTimestamp: null },
          spec: body.spec,
          status: authenticated
            ? { authenticated: true, user: { username: known!.username, uid: "u-1", groups: ["system:serviceaccounts", "system:authenticated"] }, audiences }
            : { user: {}, error: known ? "[invalid bearer token, token audiences don't match]" : "[invalid bearer token, square/go-jose: error in cryptographic primitive]" },
        });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("the service in production: deploy role, remit, requested runs (real PostgreSQL, fake CLI, fake TokenReview)", function () {
  this.timeout(120_000);
  let pg: TestPostgres;
  let fake: FakePulumi;
  let backend: string;
  let saved: NodeJS.ProcessEnv;
  let tokenFile: string;
  const services: AutomationService[] = [];

  before(async function () {
    requireTool(this, TestPostgres.available(), "PostgreSQL server binaries", "apt-get install postgresql");
    pg = await TestPostgres.start();
    // The pod's environment under IRSA: the webhook's variables. The CLI must not see them.
    saved = { ...process.env };
    tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "irsa-")), "token");
    fs.writeFileSync(tokenFile, "irsa-web-identity-token");
    Object.assign(process.env, { AWS_ROLE_ARN: serviceRoleArn, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" });
  });
  after(async () => {
    for (const k of ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_ACCESS_KEY_ID"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await pg?.stop();
  });
  beforeEach(async () => {
    await pg.resetSchema();
    fake = FakePulumi.create();
    backend = `file://${fs.mkdtempSync(path.join(os.tmpdir(), "deploy-backend-"))}`;
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop(5000).catch(() => undefined);
    fake.remove();
  });

  async function service(opts: { reviewer?: KubernetesTokenReviewer } = {}): Promise<AutomationService> {
    const store = new Store(new PostgresDatabase({ connectionString: pg.url, retry: { retryForMs: 30_000 } }));
    await store.init();
    const cfg = config();
    const runner = new PulumiStackRunner({
      stack: "prod", projectDir: repoRoot, pulumiCommand: await fake.command(), backendUrl: backend, timeoutMs: 60_000, killGraceMs: 1000,
      retry: { maxAttempts: 2, baseDelayMs: 200 },
      // As in the pod: DEPLOY_ROLE_ARN from the component, the IRSA variables from the webhook.
      env: { ...process.env, DEPLOY_ROLE_ARN: deployRoleArn },
    });
    const s = new AutomationService({ config: cfg, store, runner, logger: silentLogger(), metrics: new AutomationMetrics(), port: 0, host: "127.0.0.1", startJobs: false, fenceCheckMs: 300, reviewer: opts.reviewer, costEstimate: async () => [] });
    services.push(s);
    return s;
  }

  it("a scheduled run: every CLI process acts as the deploy role, assumed from the service's IRSA identity", async () => {
    const s = await service();
    await s.start();
    await s.catchingUp; // leader: recovery, then the schedule's catch-up applies the current profile
    const decisions = await s.store.recentDecisions(10, "prod");
    const applied = decisions.filter((d) => d.status !== "skipped");
    assert.equal(applied.length, 1, JSON.stringify(decisions));
    assert.equal(applied[0]!.kind, "scheduled");
    assert.equal(applied[0]!.status, "succeeded");
    const calls = fake.calls().filter((c) => c.args[0] !== "version");
    assert.deepEqual([...new Set(calls.map((c) => c.args[0]))].sort(), ["config", "preview", "stack", "up"]);
    for (const c of calls) {
      assert.equal(c.aws.profile, "pyairtable-deploy", `${c.args.join(" ")}: AWS_PROFILE`);
      assert.equal(c.aws.roleArn, undefined, "AWS_ROLE_ARN removed: it would compete with the profile");
      assert.equal(c.aws.webIdentityTokenFile, undefined, "AWS_WEB_IDENTITY_TOKEN_FILE removed");
      assert.equal(c.aws.accessKeyId, undefined, "static keys removed");
      const ini = c.aws.config!;
      assert.match(ini, new RegExp(`\\[profile pyairtable-deploy\\]\\nrole_arn = ${deployRoleArn}\\nrole_session_name = pyairtable-automation-prod\\nregion = us-east-1\\nsource_profile = pyairtable-deploy-source`));
      assert.match(ini, new RegExp(`\\[profile pyairtable-deploy-source\\]\\nrole_arn = ${serviceRoleArn}\\nweb_identity_token_file = ${tokenFile}`));
    }
    // The profile file lives in the operation's staged directory, removed afterwards.
    assert.equal(fs.existsSync(calls[0]!.aws.configFile!), false);
  });

  it("a preview that leaves the remit is refused before any up: decision refused with the steps, counted for AutomationStackUpdateFailing", async () => {
    fake.update((sc) => {
      sc.preview.changeSummary = { same: 118, update: 2, replace: 1 };
      sc.preview.steps = [
        hpaUpdate("api-gateway"),
        { op: "replace", urn: "urn:pulumi:prod::autoscaling::aws:rds/cluster:Cluster::pyairtable-prod-db", type: "aws:rds/cluster:Cluster", diffs: ["engineVersion"], detailedDiff: { engineVersion: { kind: "update-replace", inputDiff: true } } },
        { op: "update", urn: "urn:pulumi:prod::autoscaling::kubernetes:core/v1:ConfigMap::dashboards", type: "kubernetes:core/v1:ConfigMap", diffs: ["data"] },
      ];
    });
    const s = await service();
    await s.start();
    await s.catchingUp;
    const decision = (await s.store.recentDecisions(10, "prod")).find((d) => d.status !== "skipped")!;
    assert.equal(decision.status, "refused");
    const error = (decision.detail as { error: string }).error;
    assert.match(error, /leaves the automation's remit \(2 step\(s\)\)/);
    assert.match(error, /aws:rds\/cluster:Cluster::pyairtable-prod-db: replace is outside the automation's remit/);
    assert.match(error, /ConfigMap::dashboards: update of a kubernetes:core\/v1:ConfigMap is outside/);
    assert.equal(fake.calls().filter((c) => c.args[0] === "up").length, 0, "no up after the refused preview");
    assert.equal(await metricValue(s.metrics, "pyairtable_autoscaler_updates_total", { trigger: "scheduled", outcome: "refused" }), 1);
    // Inside the remit again (only the HPA): applied.
    fake.update((sc) => {
      sc.preview.changeSummary = { same: 120, update: 1 };
      sc.preview.steps = [hpaUpdate("api-gateway")];
    });
    const r = await s.applier.apply({ kind: "scheduled", trigger: "scheduled", key: "again", profile: "evening", reason: "test", nextState: (st) => ({ ...st, scheduledProfile: "evening" }) });
    assert.equal(r.outcome, "succeeded", r.error);
    assert.equal(fake.calls().filter((c) => c.args[0] === "up").length, 1);
  });

  describe("POST /api/runs", () => {
    let api: FakeApiServer;
    let saDir: string;
    before(async () => {
      saDir = fs.mkdtempSync(path.join(os.tmpdir(), "sa-"));
      fs.writeFileSync(path.join(saDir, "token"), "the-service-own-token");
      api = new FakeApiServer(saDir, "the-service-own-token", {
        "scheduler-token": { username: "system:serviceaccount:pyairtable-automation:pyairtable-scheduler", audiences: ["pyairtable-automation"] },
        "intruder-token": { username: "system:serviceaccount:default:intruder", audiences: ["pyairtable-automation"] },
        "api-audience-token": { username: "system:serviceaccount:pyairtable-automation:pyairtable-scheduler", audiences: ["https://kubernetes.default.svc"] },
      });
      await api.start();
    });
    after(() => api.stop());

    const reviewer = () => KubernetesTokenReviewer.fromEnvironment({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) }, saDir)!;
    const post = (base: string, token: string | undefined, key: string | undefined, body: unknown) =>
      fetch(`${base}/api/runs`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...(key ? { "idempotency-key": key } : {}) },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any, location: r.headers.get("location") }));

    it("an allowed service account: 202 with the decision id, run by the leader with the deploy role; the same key again is the same run; another body is 409", async () => {
      const s = await service({ reviewer: reviewer() });
      await s.start();
      await s.catchingUp;
      fake.clearCalls();
      const base = `http://127.0.0.1:${s.port}`;
      const r = await post(base, "scheduler-token", "cron-2026-05-20T08:00Z", { command: "emergency" });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal(typeof r.body.decisionId, "number");
      assert.equal(r.location, `/api/runs/${r.body.runId}`);
      // TokenReview was asked with the service's own token, for the configured audience.
      const review = api.requests.at(-1)!;
      assert.equal(review.authorization, "Bearer the-service-own-token");
      assert.deepEqual(review.body.spec, { token: "scheduler-token", audiences: ["pyairtable-automation"] });
      const done = await until("the run finished", 30_000, async () => {
        const g = await fetch(`${base}${r.location}`).then((x) => x.json() as Promise<any>);
        return ["queued", "running"].includes(g.run.status) ? undefined : g;
      });
      assert.equal(done.run.status, "succeeded", JSON.stringify(done.run.result));
      assert.equal(done.run.caller, "pyairtable-automation/pyairtable-scheduler");
      assert.equal(done.decision.id, r.body.decisionId);
      assert.equal(done.decision.kind, "emergency");
      assert.equal(done.decision.status, "succeeded");
      assert.equal(done.decision.attempts.length, 1);
      assert.equal((await s.store.getState("prod")).emergencyActive, true);
      const ups = fake.calls().filter((c) => c.args[0] === "up");
      assert.equal(ups.length, 1);
      assert.equal(ups[0]!.aws.profile, "pyairtable-deploy");
      // A retried request (same key, same body): the same run, nothing applied again.
      const again = await post(base, "scheduler-token", "cron-2026-05-20T08:00Z", { command: "emergency" });
      assert.equal(again.status, 202);
      assert.equal(again.body.runId, r.body.runId);
      assert.equal(again.body.duplicate, true);
      await sleep(500);
      assert.equal(fake.calls().filter((c) => c.args[0] === "up").length, 1);
      const conflict = await post(base, "scheduler-token", "cron-2026-05-20T08:00Z", { command: "profile", profile: "evening" });
      assert.equal(conflict.status, 409);
      assert.match(conflict.body.error, /was used by pyairtable-automation\/pyairtable-scheduler for a different request/);
    });

    it("refused: a service account not on the allow-list (403), a bad token, a token for another audience, no token (401); bad bodies and keys (400); nothing recorded or applied", async () => {
      const s = await service({ reviewer: reviewer() });
      await s.start();
      await s.catchingUp;
      fake.clearCalls();
      const base = `http://127.0.0.1:${s.port}`;
      const intruder = await post(base, "intruder-token", "k1", { command: "emergency" });
      assert.equal(intruder.status, 403);
      assert.match(intruder.body.error, /service account default\/intruder is not allowed to request runs \(api\.allowedServiceAccounts/);
      const bad = await post(base, "forged-token-value", "k1", { command: "emergency" });
      assert.equal(bad.status, 401);
      assert.match(bad.body.error, /token not authenticated: \[invalid bearer token/);
      const audience = await post(base, "api-audience-token", "k1", { command: "emergency" });
      assert.equal(audience.status, 401);
      const none = await post(base, undefined, "k1", { command: "emergency" });
      assert.equal(none.status, 401);
      assert.equal((await post(base, "scheduler-token", undefined, { command: "emergency" })).status, 400);
      const badBody = await post(base, "scheduler-token", "k2", { command: "profile", profile: "lunch" });
      assert.equal(badBody.status, 400);
      assert.match(badBody.body.error, /profile = "lunch": must be one of business-hours, evening, weekend, holiday/);
      assert.equal((await post(base, "scheduler-token", "k3", { command: "emergency", extra: 1 })).status, 400);
      assert.equal((await fetch(`${base}/api/runs/abc`)).status, 400);
      assert.equal((await fetch(`${base}/api/runs/999`)).status, 404);
      await sleep(300);
      assert.equal(fake.calls().filter((c) => c.args[0] === "up" || c.args[0] === "preview").length, 0);
      assert.equal((await s.runs.recent("prod")).length, 0);
      assert.equal((await s.store.getState("prod")).emergencyActive, false);
    });

    it("a request to the replica that does not lead is run by the leader (same lock and fencing)", async () => {
      const leader = await service({ reviewer: reviewer() });
      const standby = await service({ reviewer: reviewer() });
      await leader.start();
      await standby.start();
      await leader.catchingUp;
      assert.equal(leader.elector.leader, true);
      assert.equal(standby.elector.leader, false);
      fake.clearCalls();
      const r = await post(`http://127.0.0.1:${standby.port}`, "scheduler-token", "k-standby", { command: "profile", profile: "evening" });
      assert.equal(r.status, 202);
      assert.equal((await standby.runs.get(r.body.runId))!.status, "queued", "the standby does not run it");
      await leader.leaderTick(); // the leader's periodic check picks up requests recorded by another replica
      const run = await until("run finished", 30_000, async () => {
        const x = await leader.runs.get(r.body.runId);
        return x && !["queued", "running"].includes(x.status) ? x : undefined;
      });
      assert.equal(run.status, "succeeded", JSON.stringify(run.result));
      assert.equal(run.holder, leader.applier.holder);
      assert.equal((await leader.store.getState("prod")).scheduledProfile, "evening");
    });
  });
});
