/**
 * POST /api/runs and GET /api/runs/<id>: how schedulers (a Kubernetes CronJob, EventBridge Scheduler
 * through a Kubernetes Job) ask the service for a run.
 *
 *   POST /api/runs
 *   Authorization: Bearer <the caller's projected service-account token, audience api.audience>
 *   Idempotency-Key: <1-200 of A-Z a-z 0-9 . _ : ->
 *   Content-Type: application/json
 *   {"command": "profile", "profile": "business-hours"} | {"command": "emergency"} | {"command": "predict"} | {"command": "budget-check"}
 *
 * 202 {runId, decisionId, status, location}: recorded; the leader runs it with the same applier,
 * leader lock and fencing as its own schedule. The same key again (same caller) is the same run
 * (202 again, `duplicate: true`); with a different body, 409. 401: no or a bad token; 403: a
 * service account not in api.allowedServiceAccounts; 400: a bad body or key; 503: no TokenReview.
 */
import { createHash } from "node:crypto";
import type { AutomationConfig } from "./config";
import { emergencyProfileName } from "./config";
import type { HttpAnswer, RunsEndpoint } from "./http";
import type { Logger } from "./logger";
import type { RunCommand, RunRequests } from "./store";
import type { Store } from "./store";
import type { TokenReviewer } from "./tokenReview";

export const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{1,200}$/;

export interface RunsApiOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly runs: RunRequests;
  readonly reviewer: TokenReviewer | undefined;
  readonly logger: Logger;
  /** Called after a new request is recorded (the leader starts it at once). */
  readonly onQueued?: () => void;
}

/** The decision key of a requested profile or emergency run. */
export function runDecisionKey(stack: string, caller: string, idempotencyKey: string): string {
  return `api:${stack}:${caller}:${idempotencyKey}`;
}

const fail = (status: number, error: string, headers?: Record<string, string>): HttpAnswer => ({ status, body: { error }, headers });

export function parseRunBody(body: unknown, config: AutomationConfig): { command: RunCommand; profile: string | null } | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "the body must be a JSON object such as {\"command\": \"emergency\"}";
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== "command" && k !== "profile");
  if (unknown.length > 0) return `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}: allowed are command and profile`;
  const commands: RunCommand[] = ["profile", "emergency", "predict", "budget-check"];
  if (typeof b.command !== "string" || !commands.includes(b.command as RunCommand)) return `command = ${JSON.stringify(b.command)}: must be one of ${commands.join(", ")}`;
  const command = b.command as RunCommand;
  if (command !== "profile") {
    if (b.profile !== undefined) return `profile = ${JSON.stringify(b.profile)}: only the command profile takes a profile`;
    return { command, profile: null };
  }
  const names = config.profiles.map((p) => p.name);
  if (typeof b.profile !== "string" || !names.includes(b.profile)) {
    return `profile = ${JSON.stringify(b.profile)}: must be one of ${names.join(", ")} (the emergency profile is the command emergency)`;
  }
  return { command, profile: b.profile };
}

export class RunsApi implements RunsEndpoint {
  constructor(private readonly o: RunsApiOptions) {}

  /** The caller's `<namespace>/<name>`, or the answer that refuses it. */
  private async authenticate(authorization: string | undefined): Promise<string | HttpAnswer> {
    const challenge = { "www-authenticate": 'Bearer realm="pyairtable-automation"' };
    const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,8192})$/.exec(authorization ?? "");
    if (!m) return fail(401, "Authorization: Bearer <service-account token> is required", challenge);
    if (!this.o.reviewer) return fail(503, "cannot authenticate callers here: no Kubernetes TokenReview (KUBERNETES_SERVICE_HOST and the service-account files are missing)");
    const audience = this.o.config.api.audience;
    const id = await this.o.reviewer.review(m[1]!, [audience]);
    if (!id.authenticated) return fail(401, `token not authenticated${id.error ? `: ${id.error}` : ""}`, challenge);
    // An audience-aware API server names the audience it verified; an empty list means the token is
    // only valid for the API server itself (TokenReviewStatus.audiences).
    if (!id.audiences?.includes(audience)) return fail(401, `token not issued for audience ${audience} (request it with a projected service-account token)`, challenge);
    const sa = /^system:serviceaccount:([a-z0-9-]+):([a-z0-9.-]+)$/.exec(id.username ?? "");
    if (!sa) return fail(403, `${id.username ?? "the caller"} is not a service account: only service accounts may request runs`);
    const caller = `${sa[1]}/${sa[2]}`;
    if (!this.o.config.api.allowedServiceAccounts.includes(caller)) {
      this.o.logger.warn({ caller }, "run request refused: service account not in api.allowedServiceAccounts");
      return fail(403, `service account ${caller} is not allowed to request runs (api.allowedServiceAccounts of ${this.o.config.file})`);
    }
    return caller;
  }

  async submit(req: { authorization: string | undefined; idempotencyKey: string | undefined; body: unknown }): Promise<HttpAnswer> {
    const caller = await this.authenticate(req.authorization);
    if (typeof caller !== "string") return caller;
    const key = req.idempotencyKey;
    if (key === undefined || !idempotencyKeyPattern.test(key)) {
      return fail(400, `Idempotency-Key = ${JSON.stringify(key ?? null)}: required, 1-200 characters of letters, digits, '.', '_', ':' and '-' (e.g. the CronJob's scheduled time)`);
    }
    const parsed = parseRunBody(req.body, this.o.config);
    if (typeof parsed === "string") return fail(400, parsed);
    const { stack } = this.o.config;
    const requestHash = createHash("sha256").update(JSON.stringify([parsed.command, parsed.profile])).digest("hex");
    const decisionKey = runDecisionKey(stack, caller, key);
    const { run, created } = await this.o.runs.submit({
      stack,
      caller,
      idempotencyKey: key,
      command: parsed.command,
      profile: parsed.profile,
      requestHash,
      decision:
        parsed.command === "profile" ? { key: decisionKey, kind: "scheduled", trigger: "scheduled", reason: `${parsed.profile} requested by ${caller} (POST /api/runs)` } :
        parsed.command === "emergency" ? { key: decisionKey, kind: "emergency", trigger: "emergency", reason: `${emergencyProfileName} requested by ${caller} (POST /api/runs)` } :
        undefined,
    });
    if (!created && run.requestHash !== requestHash) {
      return fail(409, `Idempotency-Key ${JSON.stringify(key)} was used by ${caller} for a different request (run ${run.id}: ${run.command}${run.profile ? ` ${run.profile}` : ""})`);
    }
    if (created) {
      this.o.logger.info({ caller, runId: run.id, command: run.command, profile: run.profile, decisionId: run.decisionId }, "run requested");
      this.o.onQueued?.();
    }
    const location = `/api/runs/${run.id}`;
    return { status: 202, body: { runId: run.id, decisionId: run.decisionId, status: run.status, duplicate: !created, location }, headers: { location } };
  }

  async get(idText: string): Promise<HttpAnswer> {
    if (!/^[1-9][0-9]{0,9}$/.test(idText) || Number(idText) > 2_147_483_647) return fail(400, `run id ${JSON.stringify(idText.slice(0, 50))}: must be a positive whole number`);
    const run = await this.o.runs.get(Number(idText));
    if (!run || run.stack !== this.o.config.stack) return fail(404, `no run ${idText}`);
    const decision = run.decisionId ? (await this.o.store.decisionById(run.decisionId)) ?? null : null;
    const attempts = decision ? await this.o.store.attemptsForDecision(decision.id) : [];
    return { status: 200, body: { run, decision: decision ? { ...decision, attempts } : null } };
  }
}
