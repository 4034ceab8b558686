/**
 * The automation service's store: samples, forecasts, decisions (applied at most once, by their
 * idempotency key), update attempts (audit), budget events, the applied state and the leader lock.
 * Every write is idempotent, so a statement retried after a lost connection never duplicates.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "./db";
import { migrate } from "./migrations";

export type DecisionKind = "scheduled" | "predictive" | "emergency";
export type DecisionStatus = "pending" | "applying" | "succeeded" | "failed" | "refused" | "no-change" | "skipped";
export type UpdateOutcome = "succeeded" | "failed" | "refused" | "no-change";
export type BudgetPeriod = "daily" | "weekly" | "monthly";

export interface NewDecision {
  /** Unique per decision, e.g. `scheduled:prod:business-hours:2026-05-20T08:00:00.000Z`. */
  readonly key: string;
  readonly stack: string;
  readonly kind: DecisionKind;
  readonly trigger: string;
  readonly profile?: string;
  readonly scheduledFor?: Date;
  readonly overrides: Readonly<Record<string, number>>;
  readonly reason?: string;
}

export interface DecisionRecord {
  readonly id: number;
  readonly key: string;
  readonly stack: string;
  readonly kind: DecisionKind;
  readonly trigger: string;
  readonly profile: string | null;
  readonly scheduledFor: Date | null;
  readonly overrides: Record<string, number>;
  readonly reason: string | null;
  readonly status: DecisionStatus;
  readonly attempts: number;
  readonly holder: string | null;
  readonly detail: unknown;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
  /** The leader lock epoch it was claimed under (fencing token). */
  readonly lockEpoch: number | null;
  /** The state it establishes once applied (recovery saves it when the update is found to have succeeded). */
  readonly nextState: AutomationState | null;
}

export interface AttemptRecord {
  readonly id: number;
  readonly decisionId: number | null;
  readonly stack: string;
  readonly trigger: string;
  readonly dryRun: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly outcome: UpdateOutcome | "running";
  readonly changes: Record<string, number>;
  readonly adjustments: unknown;
  readonly changeSummary: unknown;
  readonly policyViolations: unknown;
  readonly error: string | null;
}

export interface AutomationState {
  readonly stack: string;
  readonly scheduledProfile: string | null;
  readonly scheduledAt: Date | null;
  readonly emergencyActive: boolean;
  readonly emergencySince: Date | null;
  readonly emergencyReason: unknown;
  /** The scheduled profile that was active when the emergency started (audit; recovery re-applies the current one). */
  readonly previousProfile: string | null;
  /** Predictive replica floors: `services.<name>.minReplicas` → replicas. */
  readonly predictiveFloors: Record<string, number>;
}

export interface Sample {
  readonly service: string;
  readonly signal: string;
  readonly ts: Date;
  readonly value: number;
}

export interface ForecastRow {
  readonly service: string;
  readonly signal: string;
  readonly model: string;
  readonly madeAt: Date;
  readonly targetTs: Date;
  readonly horizonSeconds: number;
  readonly point: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  /** The τ-quantile peak forecast the floor carried (null before schema version 4). */
  readonly peak?: number | null;
  /** The realised bucket mean and peak, once the bucket completed (null until then). */
  readonly actual?: number | null;
  readonly actualPeak?: number | null;
}

/** One load series' engine state (automation/forecast/live.ts) and realised accuracy. */
export interface ForecastStateRow {
  readonly service: string;
  readonly signal: string;
  readonly seriesStart: Date | null;
  readonly committed: number;
  readonly fitDay: string | null;
  readonly fit: string | null;
  readonly live: string;
  readonly fittedAt: Date | null;
  readonly updatedAt: Date;
  readonly mape: number | null;
  readonly coverage80: number | null;
  readonly peakError: number | null;
  readonly peakCoverage: number | null;
  readonly scored: number;
  readonly confidence: number | null;
  readonly fallbackReason: string | null;
  readonly fallbackDetail: string | null;
}

export type ForecastAccuracyRow = Omit<ForecastStateRow, "fit" | "live" | "seriesStart" | "committed" | "fitDay">;

export interface BudgetEvent {
  /** SQS/SNS message id, or a synthetic id for polled spend; a repeated id is recorded once. */
  readonly messageId?: string;
  readonly source: string;
  readonly period: BudgetPeriod;
  readonly periodKey: string;
  readonly spendUsd: number;
  readonly limitUsd: number;
  readonly observedAt: Date;
  readonly detail?: unknown;
}

const num = (v: unknown) => (v === null || v === undefined ? v : Number(v)) as number;
const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
const json = <T>(v: unknown): T => (typeof v === "string" ? (JSON.parse(v) as T) : (v as T));

function toDecision(r: Record<string, unknown>): DecisionRecord {
  return {
    id: num(r.id),
    key: String(r.idempotency_key),
    stack: String(r.stack),
    kind: r.kind as DecisionKind,
    trigger: String(r.trigger),
    profile: (r.profile as string | null) ?? null,
    scheduledFor: date(r.scheduled_for),
    overrides: json<Record<string, number>>(r.overrides),
    reason: (r.reason as string | null) ?? null,
    status: r.status as DecisionStatus,
    attempts: num(r.attempts),
    holder: (r.holder as string | null) ?? null,
    detail: json(r.detail ?? null),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
    finishedAt: date(r.finished_at),
    lockEpoch: r.lock_epoch === null || r.lock_epoch === undefined ? null : num(r.lock_epoch),
    nextState: r.next_state ? reviveState(json<Record<string, unknown>>(r.next_state)) : null,
  };
}

function reviveState(s: Record<string, unknown>): AutomationState {
  return {
    ...(s as unknown as AutomationState),
    scheduledAt: date(s.scheduledAt),
    emergencySince: date(s.emergencySince),
  };
}

function toAttempt(r: Record<string, unknown>): AttemptRecord {
  return {
    id: num(r.id),
    decisionId: r.decision_id === null ? null : num(r.decision_id),
    stack: String(r.stack),
    trigger: String(r.trigger),
    dryRun: Boolean(r.dry_run),
    startedAt: date(r.started_at)!,
    finishedAt: date(r.finished_at),
    outcome: r.outcome as AttemptRecord["outcome"],
    changes: json<Record<string, number>>(r.changes),
    adjustments: json(r.adjustments ?? null),
    changeSummary: json(r.change_summary ?? null),
    policyViolations: json(r.policy_violations ?? null),
    error: (r.error as string | null) ?? null,
  };
}

export class Store {
  constructor(readonly db: Database) {}

  /** Opens the schema (runs pending migrations). */
  async init(): Promise<number[]> {
    return migrate(this.db);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async ping(): Promise<void> {
    await this.db.ping();
  }

  // ---------------------------------------------------------------------------------------------
  // Decisions
  // ---------------------------------------------------------------------------------------------

  /**
   * Records a decision and claims it for application, once. `claimed` is false when the decision
   * already exists and is finished (succeeded, no-change, refused, skipped), or is being applied by
   * a live holder: the caller must not apply it. A failed decision, or one left `applying` by a
   * holder that died (older than `staleAfterMs`), is claimed again.
   */
  async claimDecision(
    d: NewDecision,
    holder: string,
    staleAfterMs = 30 * 60_000,
    fencing: { epoch?: number; nextState?: AutomationState } = {},
  ): Promise<{ decision: DecisionRecord; claimed: boolean }> {
    const epoch = fencing.epoch ?? null;
    const nextState = fencing.nextState ? JSON.stringify(fencing.nextState) : null;
    const inserted = await this.db.query(
      `INSERT INTO decisions (idempotency_key, stack, kind, trigger, profile, scheduled_for, overrides, reason, status, attempts, holder, lock_epoch, next_state)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 'applying', 1, $9, $10, $11::jsonb)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
      [d.key, d.stack, d.kind, d.trigger, d.profile ?? null, d.scheduledFor ?? null, JSON.stringify(d.overrides), d.reason ?? null, holder, epoch, nextState],
    );
    if (inserted.length > 0) return { decision: toDecision(inserted[0]!), claimed: true };
    const existing = await this.decisionByKey(d.key);
    if (!existing) throw new Error(`decision ${d.key} vanished`);
    // Our own insert, retried after a lost connection.
    if (existing.status === "applying" && existing.holder === holder && (epoch === null || existing.lockEpoch === epoch)) return { decision: existing, claimed: true };
    const stale = existing.status === "applying" && Date.now() - existing.updatedAt.getTime() > staleAfterMs;
    // A failed decision was not applied: it may be tried again. Refused, succeeded, no-change and
    // skipped are final.
    if (existing.status !== "pending" && existing.status !== "failed" && !stale) return { decision: existing, claimed: false };
    const reclaimed = await this.db.query(
      `UPDATE decisions SET status = 'applying', attempts = attempts + 1, holder = $2, updated_at = now(),
         lock_epoch = $5, next_state = COALESCE($6::jsonb, next_state), overrides = $7::jsonb
       WHERE id = $1 AND status = $3 AND attempts = $4
       RETURNING *`,
      [existing.id, holder, existing.status, existing.attempts, epoch, nextState, JSON.stringify(d.overrides)],
    );
    if (reclaimed.length > 0) return { decision: toDecision(reclaimed[0]!), claimed: true };
    return { decision: (await this.decisionByKey(d.key))!, claimed: false };
  }

  /** Records a decision that is not applied (e.g. superseded catch-up runs, low confidence). Idempotent. */
  async recordSkippedDecision(d: NewDecision, detail: unknown): Promise<DecisionRecord> {
    await this.db.query(
      `INSERT INTO decisions (idempotency_key, stack, kind, trigger, profile, scheduled_for, overrides, reason, status, detail, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 'skipped', $9::jsonb, now())
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [d.key, d.stack, d.kind, d.trigger, d.profile ?? null, d.scheduledFor ?? null, JSON.stringify(d.overrides), d.reason ?? null, JSON.stringify(detail ?? null)],
    );
    return (await this.decisionByKey(d.key))!;
  }

  /**
   * Records a decision's outcome. With `onlyIf`, only while it is still `applying` under that
   * holder and epoch (a fenced former leader never overwrites what the new leader recorded).
   * Returns whether the row was written.
   */
  async finishDecision(id: number, status: Exclude<DecisionStatus, "pending" | "applying">, detail: unknown, onlyIf?: { holder: string; epoch: number | null }): Promise<boolean> {
    const rows = onlyIf
      ? await this.db.query(
          `UPDATE decisions SET status = $2, detail = $3::jsonb, updated_at = now(), finished_at = now()
           WHERE id = $1 AND status = 'applying' AND holder = $4 AND lock_epoch IS NOT DISTINCT FROM $5 RETURNING id`,
          [id, status, JSON.stringify(detail ?? null), onlyIf.holder, onlyIf.epoch],
        )
      : await this.db.query(`UPDATE decisions SET status = $2, detail = $3::jsonb, updated_at = now(), finished_at = now() WHERE id = $1 RETURNING id`, [id, status, JSON.stringify(detail ?? null)]);
    return rows.length > 0;
  }

  /** Decisions still `applying` for a stack (in flight, or orphaned by a former leader). */
  async inFlightDecisions(stack: string): Promise<DecisionRecord[]> {
    const rows = await this.db.query(`SELECT * FROM decisions WHERE stack = $1 AND status = 'applying' ORDER BY id`, [stack]);
    return rows.map(toDecision);
  }

  /** Attempts of a decision still `running` are closed with this outcome (recovery). */
  async closeRunningAttempts(decisionId: number, outcome: UpdateOutcome, error: string): Promise<number> {
    const rows = await this.db.query(
      `UPDATE update_attempts SET outcome = $2, error = $3, finished_at = now() WHERE decision_id = $1 AND outcome = 'running' RETURNING id`,
      [decisionId, outcome, error],
    );
    return rows.length;
  }

  /** Hands a claimed decision back (e.g. leadership lost before applying): it can be claimed again. */
  async releaseDecision(id: number): Promise<void> {
    await this.db.query(`UPDATE decisions SET status = 'pending', holder = NULL, updated_at = now() WHERE id = $1 AND status = 'applying'`, [id]);
  }

  async decisionByKey(key: string): Promise<DecisionRecord | undefined> {
    const rows = await this.db.query(`SELECT * FROM decisions WHERE idempotency_key = $1`, [key]);
    return rows[0] ? toDecision(rows[0]) : undefined;
  }

  async decisionById(id: number): Promise<DecisionRecord | undefined> {
    const rows = await this.db.query(`SELECT * FROM decisions WHERE id = $1`, [id]);
    return rows[0] ? toDecision(rows[0]) : undefined;
  }

  async recentDecisions(limit = 50, stack?: string): Promise<DecisionRecord[]> {
    const rows = stack
      ? await this.db.query(`SELECT * FROM decisions WHERE stack = $2 ORDER BY created_at DESC, id DESC LIMIT $1`, [limit, stack])
      : await this.db.query(`SELECT * FROM decisions ORDER BY created_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(toDecision);
  }

  // ---------------------------------------------------------------------------------------------
  // Update attempts (audit)
  // ---------------------------------------------------------------------------------------------

  async startAttempt(a: {
    decisionId?: number;
    stack: string;
    trigger: string;
    dryRun: boolean;
    changes: Record<string, number>;
    adjustments?: unknown;
    holder: string;
    attemptKey?: string;
    lockEpoch?: number;
  }): Promise<number> {
    const key = a.attemptKey ?? randomUUID();
    const rows = await this.db.query<{ id: number }>(
      `INSERT INTO update_attempts (attempt_key, decision_id, stack, trigger, dry_run, outcome, changes, adjustments, holder, lock_epoch)
       VALUES ($1, $2, $3, $4, $5, 'running', $6::jsonb, $7::jsonb, $8, $9)
       ON CONFLICT (attempt_key) DO UPDATE SET attempt_key = EXCLUDED.attempt_key
       RETURNING id`,
      [key, a.decisionId ?? null, a.stack, a.trigger, a.dryRun, JSON.stringify(a.changes), JSON.stringify(a.adjustments ?? []), a.holder, a.lockEpoch ?? null],
    );
    return num(rows[0]!.id);
  }

  async finishAttempt(id: number, r: { outcome: UpdateOutcome; changeSummary?: unknown; policyViolations?: unknown; error?: string }): Promise<void> {
    await this.db.query(
      `UPDATE update_attempts SET outcome = $2, change_summary = $3::jsonb, policy_violations = $4::jsonb, error = $5, finished_at = now() WHERE id = $1`,
      [id, r.outcome, JSON.stringify(r.changeSummary ?? null), JSON.stringify(r.policyViolations ?? []), r.error ?? null],
    );
  }

  /** The attempts of many decisions in one query, by decision id. */
  async attemptsForDecisions(decisionIds: readonly number[]): Promise<Map<number, AttemptRecord[]>> {
    const out = new Map<number, AttemptRecord[]>(decisionIds.map((id) => [id, []]));
    if (decisionIds.length === 0) return out;
    const rows = await this.db.query(`SELECT * FROM update_attempts WHERE decision_id = ANY($1::int[]) ORDER BY id`, [decisionIds]);
    for (const r of rows.map(toAttempt)) out.get(r.decisionId!)?.push(r);
    return out;
  }

  async attemptsForDecision(decisionId: number): Promise<AttemptRecord[]> {
    const rows = await this.db.query(`SELECT * FROM update_attempts WHERE decision_id = $1 ORDER BY id`, [decisionId]);
    return rows.map(toAttempt);
  }

  async recentAttempts(limit = 50): Promise<AttemptRecord[]> {
    const rows = await this.db.query(`SELECT * FROM update_attempts ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(toAttempt);
  }

  // ---------------------------------------------------------------------------------------------
  // Applied state and schedule runs
  // ---------------------------------------------------------------------------------------------

  async getState(stack: string): Promise<AutomationState> {
    const rows = await this.db.query(`SELECT * FROM automation_state WHERE stack = $1`, [stack]);
    const r = rows[0];
    if (!r) {
      return { stack, scheduledProfile: null, scheduledAt: null, emergencyActive: false, emergencySince: null, emergencyReason: null, previousProfile: null, predictiveFloors: {} };
    }
    return {
      stack,
      scheduledProfile: (r.scheduled_profile as string | null) ?? null,
      scheduledAt: date(r.scheduled_at),
      emergencyActive: Boolean(r.emergency_active),
      emergencySince: date(r.emergency_since),
      emergencyReason: json(r.emergency_reason ?? null),
      previousProfile: (r.previous_profile as string | null) ?? null,
      predictiveFloors: json<Record<string, number>>(r.predictive_floors ?? {}),
    };
  }

  async saveState(s: AutomationState): Promise<void> {
    await this.db.query(
      `INSERT INTO automation_state (stack, scheduled_profile, scheduled_at, emergency_active, emergency_since, emergency_reason, previous_profile, predictive_floors, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, now())
       ON CONFLICT (stack) DO UPDATE SET
         scheduled_profile = EXCLUDED.scheduled_profile, scheduled_at = EXCLUDED.scheduled_at,
         emergency_active = EXCLUDED.emergency_active, emergency_since = EXCLUDED.emergency_since,
         emergency_reason = EXCLUDED.emergency_reason, previous_profile = EXCLUDED.previous_profile,
         predictive_floors = EXCLUDED.predictive_floors, updated_at = now()`,
      [s.stack, s.scheduledProfile, s.scheduledAt, s.emergencyActive, s.emergencySince, JSON.stringify(s.emergencyReason ?? null), s.previousProfile, JSON.stringify(s.predictiveFloors)],
    );
  }

  async lastScheduledRun(stack: string, profile: string): Promise<Date | undefined> {
    const rows = await this.db.query(`SELECT last_run_at FROM schedule_runs WHERE stack = $1 AND profile = $2`, [stack, profile]);
    return rows[0] ? date(rows[0].last_run_at)! : undefined;
  }

  /** Records that the run scheduled at `at` was handled; never moves backwards. */
  async recordScheduledRun(stack: string, profile: string, at: Date, decisionId: number | null): Promise<void> {
    await this.db.query(
      `INSERT INTO schedule_runs (stack, profile, last_run_at, decision_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (stack, profile) DO UPDATE SET
         decision_id = CASE WHEN EXCLUDED.last_run_at >= schedule_runs.last_run_at THEN EXCLUDED.decision_id ELSE schedule_runs.decision_id END,
         last_run_at = GREATEST(schedule_runs.last_run_at, EXCLUDED.last_run_at)`,
      [stack, profile, at, decisionId],
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Samples and forecasts
  // ---------------------------------------------------------------------------------------------

  /** Upserts samples (a re-collected window overwrites, never duplicates). Returns the rows written. */
  async insertSamples(samples: readonly Sample[]): Promise<number> {
    if (samples.length === 0) return 0;
    let written = 0;
    for (let i = 0; i < samples.length; i += 5000) {
      const chunk = samples.slice(i, i + 5000);
      await this.db.query(
        `INSERT INTO samples (service, signal, ts, value)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[])
         ON CONFLICT (service, signal, ts) DO UPDATE SET value = EXCLUDED.value`,
        [chunk.map((s) => s.service), chunk.map((s) => s.signal), chunk.map((s) => s.ts.toISOString()), chunk.map((s) => s.value)],
      );
      written += chunk.length;
    }
    return written;
  }

  async samples(service: string, signal: string, from: Date, to: Date): Promise<{ ts: Date; value: number }[]> {
    const rows = await this.db.query(
      `SELECT ts, value FROM samples WHERE service = $1 AND signal = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts`,
      [service, signal, from, to],
    );
    return rows.map((r) => ({ ts: date(r.ts)!, value: Number(r.value) }));
  }

  async sampleSeries(): Promise<{ service: string; signal: string; count: number; last: Date }[]> {
    const rows = await this.db.query(`SELECT service, signal, count(*)::int AS count, max(ts) AS last FROM samples GROUP BY service, signal ORDER BY service, signal`);
    return rows.map((r) => ({ service: String(r.service), signal: String(r.signal), count: num(r.count), last: date(r.last)! }));
  }

  async startCollectionRun(at: Date, windowStart: Date, windowEnd: Date): Promise<number> {
    const rows = await this.db.query<{ id: number }>(
      `INSERT INTO collection_runs (started_at, window_start, window_end, status) VALUES ($1, $2, $3, 'running') RETURNING id`,
      [at, windowStart, windowEnd],
    );
    return num(rows[0]!.id);
  }

  /** End of the window of the last successful collection run. */
  async lastCollectedUntil(): Promise<Date | undefined> {
    const rows = await this.db.query(`SELECT max(window_end) AS until FROM collection_runs WHERE status = 'succeeded'`);
    return rows[0]?.until ? date(rows[0].until)! : undefined;
  }

  async finishCollectionRun(id: number, r: { status: "succeeded" | "failed"; written: number; dropped: number; error?: string }): Promise<void> {
    await this.db.query(`UPDATE collection_runs SET status = $2, written = $3, dropped = $4, error = $5, finished_at = now() WHERE id = $1`, [id, r.status, r.written, r.dropped, r.error ?? null]);
  }

  async recentCollectionRuns(limit = 10): Promise<{ id: number; status: string; written: number; dropped: number; error: string | null }[]> {
    const rows = await this.db.query(`SELECT id, status, written, dropped, error FROM collection_runs ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({ id: num(r.id), status: String(r.status), written: num(r.written), dropped: num(r.dropped), error: (r.error as string | null) ?? null }));
  }

  async insertForecasts(rows: readonly ForecastRow[]): Promise<void> {
    for (const f of rows) {
      await this.db.query(
        `INSERT INTO forecasts (service, signal, model, made_at, target_ts, horizon_seconds, point, lower, upper, confidence, peak)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (service, signal, model, made_at, target_ts) DO UPDATE SET
           point = EXCLUDED.point, lower = EXCLUDED.lower, upper = EXCLUDED.upper, confidence = EXCLUDED.confidence, peak = EXCLUDED.peak`,
        [f.service, f.signal, f.model, f.madeAt, f.targetTs, f.horizonSeconds, f.point, f.lower, f.upper, f.confidence, f.peak ?? null],
      );
    }
  }

  async recentForecasts(limit = 100, service?: string): Promise<ForecastRow[]> {
    const rows = service
      ? await this.db.query(`SELECT * FROM forecasts WHERE service = $2 ORDER BY made_at DESC, id DESC LIMIT $1`, [limit, service])
      : await this.db.query(`SELECT * FROM forecasts ORDER BY made_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({
      service: String(r.service),
      signal: String(r.signal),
      model: String(r.model),
      madeAt: date(r.made_at)!,
      targetTs: date(r.target_ts)!,
      horizonSeconds: num(r.horizon_seconds),
      point: Number(r.point),
      lower: Number(r.lower),
      upper: Number(r.upper),
      confidence: Number(r.confidence),
      peak: r.peak === null || r.peak === undefined ? null : Number(r.peak),
      actual: r.actual === null || r.actual === undefined ? null : Number(r.actual),
      actualPeak: r.actual_peak === null || r.actual_peak === undefined ? null : Number(r.actual_peak),
    }));
  }

  /** Fills the realised mean and peak of a completed bucket into the forecasts that targeted it. */
  async scoreForecasts(service: string, signal: string, targetTs: Date, actual: number, actualPeak: number, at: Date): Promise<number> {
    const rows = await this.db.query(
      `UPDATE forecasts SET actual = $4, actual_peak = $5, scored_at = $6 WHERE service = $1 AND signal = $2 AND target_ts = $3 AND actual IS NULL RETURNING id`,
      [service, signal, targetTs, actual, actualPeak, at],
    );
    return rows.length;
  }

  async forecastState(service: string, signal: string): Promise<ForecastStateRow | undefined> {
    const rows = await this.db.query(`SELECT * FROM forecast_state WHERE service = $1 AND signal = $2`, [service, signal]);
    return rows[0] ? forecastStateRow(rows[0]) : undefined;
  }

  /** The committed buckets of the stored state (cheap: tells a process whether its in-memory state is behind). */
  async forecastStateVersion(service: string, signal: string): Promise<{ committed: number; updatedAt: Date } | undefined> {
    const rows = await this.db.query(`SELECT committed, updated_at FROM forecast_state WHERE service = $1 AND signal = $2`, [service, signal]);
    return rows[0] ? { committed: num(rows[0].committed), updatedAt: date(rows[0].updated_at)! } : undefined;
  }

  /** Upserts the engine's state; `fit` undefined keeps the stored fit (it changes once a day). */
  async saveForecastState(r: Omit<ForecastStateRow, "fit" | "fittedAt"> & { fit?: string | null; fittedAt?: Date | null }): Promise<void> {
    const keepFit = r.fit === undefined;
    await this.db.query(
      `INSERT INTO forecast_state (service, signal, series_start, committed, fit_day, fit, live, fitted_at, updated_at, mape, coverage80, peak_error, peak_coverage, scored, confidence, fallback_reason, fallback_detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (service, signal) DO UPDATE SET
         series_start = EXCLUDED.series_start, committed = EXCLUDED.committed, fit_day = EXCLUDED.fit_day,
         fit = CASE WHEN $18::boolean THEN forecast_state.fit ELSE EXCLUDED.fit END,
         fitted_at = CASE WHEN $18::boolean THEN forecast_state.fitted_at ELSE EXCLUDED.fitted_at END,
         live = EXCLUDED.live, updated_at = EXCLUDED.updated_at, mape = EXCLUDED.mape, coverage80 = EXCLUDED.coverage80,
         peak_error = EXCLUDED.peak_error, peak_coverage = EXCLUDED.peak_coverage, scored = EXCLUDED.scored,
         confidence = EXCLUDED.confidence, fallback_reason = EXCLUDED.fallback_reason, fallback_detail = EXCLUDED.fallback_detail`,
      [r.service, r.signal, r.seriesStart, r.committed, r.fitDay, r.fit ?? null, r.live, r.fittedAt ?? null, r.updatedAt, fin(r.mape), fin(r.coverage80), fin(r.peakError), fin(r.peakCoverage), r.scored, fin(r.confidence), r.fallbackReason, r.fallbackDetail, keepFit],
    );
  }

  /** Realised accuracy and gate outcome per series (GET /api/forecasts). */
  async forecastAccuracy(service?: string): Promise<ForecastAccuracyRow[]> {
    const cols = "service, signal, fitted_at, updated_at, mape, coverage80, peak_error, peak_coverage, scored, confidence, fallback_reason, fallback_detail";
    const rows = service
      ? await this.db.query(`SELECT ${cols} FROM forecast_state WHERE service = $1 ORDER BY service, signal`, [service])
      : await this.db.query(`SELECT ${cols} FROM forecast_state ORDER BY service, signal`);
    return rows.map((r) => {
      const { fit: _f, live: _l, seriesStart: _s, committed: _c, fitDay: _d, ...rest } = forecastStateRow({ ...r, live: "", committed: 0 });
      return rest;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Budget
  // ---------------------------------------------------------------------------------------------

  /** Records a spend observation; false when the message id was recorded before (redelivery). */
  async recordBudgetEvent(e: BudgetEvent): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO budget_events (message_id, source, period, period_key, spend_usd, limit_usd, utilisation, observed_at, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       ON CONFLICT (message_id) DO NOTHING
       RETURNING id`,
      [e.messageId ?? null, e.source, e.period, e.periodKey, e.spendUsd, e.limitUsd, e.limitUsd > 0 ? e.spendUsd / e.limitUsd : 0, e.observedAt, JSON.stringify(e.detail ?? null)],
    );
    return rows.length > 0;
  }

  /** The highest spend observed for a period instance (spend only grows within a period). */
  async periodSpend(period: BudgetPeriod, periodKey: string): Promise<{ spendUsd: number; limitUsd: number; observedAt: Date } | undefined> {
    const rows = await this.db.query(
      `SELECT spend_usd, limit_usd, observed_at FROM budget_events WHERE period = $1 AND period_key = $2 ORDER BY spend_usd DESC, observed_at DESC LIMIT 1`,
      [period, periodKey],
    );
    const r = rows[0];
    return r ? { spendUsd: Number(r.spend_usd), limitUsd: Number(r.limit_usd), observedAt: date(r.observed_at)! } : undefined;
  }

  async budgetEventCount(): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM budget_events`);
    return num(rows[0]!.n);
  }

  // ---------------------------------------------------------------------------------------------
  // Leader lock
  // ---------------------------------------------------------------------------------------------

  static leaderLockName(stack: string): string {
    return `pyairtable-autoscaler:leader:${stack}`;
  }

  /** Tries to become the leader for a stack (advisory lock). Records the holder when it succeeds. */
  async tryLead(stack: string, holder: string): Promise<boolean> {
    return (await this.acquireLeadership(stack, holder)) !== undefined;
  }

  /**
   * Takes the leader lock if free; returns the new lock epoch (the fencing token: one more than
   * any epoch before), or undefined when another session holds the lock.
   */
  async acquireLeadership(stack: string, holder: string): Promise<number | undefined> {
    const ok = await this.db.tryAdvisoryLock(Store.leaderLockName(stack));
    if (!ok) return undefined;
    const rows = await this.db.query<{ epoch: string | number }>(
      `INSERT INTO leader_lock (stack, holder, acquired_at, heartbeat_at, epoch) VALUES ($1, $2, now(), now(), 1)
       ON CONFLICT (stack) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = now(), heartbeat_at = now(), epoch = leader_lock.epoch + 1
       RETURNING epoch`,
      [stack, holder],
    );
    return num(rows[0]!.epoch);
  }

  /** Records a heartbeat; false when the lock row names another holder or epoch (leadership lost). */
  async heartbeat(stack: string, holder: string, epoch?: number): Promise<boolean> {
    const rows = epoch === undefined
      ? await this.db.query(`UPDATE leader_lock SET heartbeat_at = now() WHERE stack = $1 AND holder = $2 RETURNING stack`, [stack, holder])
      : await this.db.query(`UPDATE leader_lock SET heartbeat_at = now() WHERE stack = $1 AND holder = $2 AND epoch = $3 RETURNING stack`, [stack, holder, epoch]);
    return rows.length > 0;
  }

  async stepDown(stack: string): Promise<void> {
    await this.db.releaseAdvisoryLock(Store.leaderLockName(stack));
  }

  async stillLeading(): Promise<boolean> {
    return this.db.lockHealthy();
  }

  async leader(stack: string): Promise<{ holder: string; acquiredAt: Date; heartbeatAt: Date; epoch: number } | undefined> {
    const rows = await this.db.query(`SELECT holder, acquired_at, heartbeat_at, epoch FROM leader_lock WHERE stack = $1`, [stack]);
    const r = rows[0];
    return r ? { holder: String(r.holder), acquiredAt: date(r.acquired_at)!, heartbeatAt: date(r.heartbeat_at)!, epoch: num(r.epoch) } : undefined;
  }
}

const fin = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);
const optNum = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));

function forecastStateRow(r: Record<string, unknown>): ForecastStateRow {
  return {
    service: String(r.service),
    signal: String(r.signal),
    seriesStart: date(r.series_start) ?? null,
    committed: num(r.committed),
    fitDay: (r.fit_day as string | null) ?? null,
    fit: (r.fit as string | null) ?? null,
    live: String(r.live),
    fittedAt: date(r.fitted_at) ?? null,
    updatedAt: date(r.updated_at)!,
    mape: optNum(r.mape),
    coverage80: optNum(r.coverage80),
    peakError: optNum(r.peak_error),
    peakCoverage: optNum(r.peak_coverage),
    scored: num(r.scored),
    confidence: optNum(r.confidence),
    fallbackReason: (r.fallback_reason as string | null) ?? null,
    fallbackDetail: (r.fallback_detail as string | null) ?? null,
  };
}
