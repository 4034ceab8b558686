/**
 * Run requests of schedulers (POST /api/runs): recorded once per (stack, caller, idempotency key),
 * executed by the leader (the same applier, leader lock and fencing as every other decision).
 */
import type { Database } from "./db";

export type RunCommand = "profile" | "emergency" | "predict" | "budget-check";
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "refused" | "no-change";

export interface RunRequest {
  readonly id: number;
  readonly stack: string;
  readonly caller: string;
  readonly idempotencyKey: string;
  readonly command: RunCommand;
  readonly profile: string | null;
  readonly requestHash: string;
  readonly status: RunStatus;
  readonly decisionId: number | null;
  readonly holder: string | null;
  readonly result: unknown;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

function toRun(r: Record<string, unknown>): RunRequest {
  return {
    id: Number(r.id),
    stack: String(r.stack),
    caller: String(r.caller),
    idempotencyKey: String(r.idempotency_key),
    command: r.command as RunCommand,
    profile: (r.profile as string | null) ?? null,
    requestHash: String(r.request_hash),
    status: r.status as RunStatus,
    decisionId: r.decision_id === null || r.decision_id === undefined ? null : Number(r.decision_id),
    holder: (r.holder as string | null) ?? null,
    result: typeof r.result === "string" ? JSON.parse(r.result) : (r.result ?? null),
    createdAt: date(r.created_at)!,
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
  };
}

export interface NewRunRequest extends Pick<RunRequest, "stack" | "caller" | "idempotencyKey" | "command" | "profile" | "requestHash"> {
  /** For profile and emergency runs: the decision recorded with the request (status pending). */
  readonly decision?: { readonly key: string; readonly kind: "scheduled" | "emergency"; readonly trigger: string; readonly reason: string };
}

export class RunRequests {
  constructor(private readonly db: Database) {}

  /**
   * Records a request, or returns the one recorded earlier under the same (stack, caller, key):
   * `created` tells which. The pending decision (profile, emergency) is inserted in the same transaction.
   */
  async submit(r: NewRunRequest): Promise<{ run: RunRequest; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const existing = await tx.query(`SELECT * FROM run_requests WHERE stack = $1 AND caller = $2 AND idempotency_key = $3`, [r.stack, r.caller, r.idempotencyKey]);
      if (existing.length > 0) return { run: toRun(existing[0]!), created: false };
      let decisionId: number | null = null;
      if (r.decision) {
        const d = await tx.query<{ id: number }>(
          `INSERT INTO decisions (idempotency_key, stack, kind, trigger, profile, overrides, reason, status)
           VALUES ($1, $2, $3, $4, $5, '{}'::jsonb, $6, 'pending')
           ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
           RETURNING id`,
          [r.decision.key, r.stack, r.decision.kind, r.decision.trigger, r.profile, r.decision.reason],
        );
        decisionId = Number(d[0]!.id);
      }
      const rows = await tx.query(
        `INSERT INTO run_requests (stack, caller, idempotency_key, command, profile, request_hash, status, decision_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) RETURNING *`,
        [r.stack, r.caller, r.idempotencyKey, r.command, r.profile, r.requestHash, decisionId],
      );
      return { run: toRun(rows[0]!), created: true };
    });
  }

  async get(id: number): Promise<RunRequest | undefined> {
    const rows = await this.db.query(`SELECT * FROM run_requests WHERE id = $1`, [id]);
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  /** Takes the oldest queued request of the stack (one taker wins; SKIP LOCKED). */
  async takeNext(stack: string, holder: string): Promise<RunRequest | undefined> {
    const rows = await this.db.query(
      `UPDATE run_requests SET status = 'running', holder = $2, started_at = now()
       WHERE id = (SELECT id FROM run_requests WHERE stack = $1 AND status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [stack, holder],
    );
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  async finish(id: number, status: Exclude<RunStatus, "queued" | "running">, result: unknown, decisionId?: number): Promise<void> {
    await this.db.query(
      `UPDATE run_requests SET status = $2, result = $3::jsonb, finished_at = now(), decision_id = COALESCE($4, decision_id) WHERE id = $1`,
      [id, status, JSON.stringify(result ?? null), decisionId ?? null],
    );
  }

  /** Requests left running by another holder (a former leader died): queued again, so the new leader runs them (their decision key keeps them applying once). */
  async requeueOrphans(stack: string, holder: string): Promise<number> {
    const rows = await this.db.query(`UPDATE run_requests SET status = 'queued', holder = NULL WHERE stack = $1 AND status = 'running' AND holder IS DISTINCT FROM $2 RETURNING id`, [stack, holder]);
    return rows.length;
  }

  async recent(stack: string, limit = 20): Promise<RunRequest[]> {
    const rows = await this.db.query(`SELECT * FROM run_requests WHERE stack = $1 ORDER BY id DESC LIMIT $2`, [stack, limit]);
    return rows.map(toRun);
  }
}
