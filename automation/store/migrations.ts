/**
 * Versioned schema migrations, applied in order and recorded in `schema_migrations`. Running them
 * again is a no-op; two processes migrating at once are serialised by a transaction-level
 * advisory lock. Never edit a released migration: add a new one.
 */
import type { Database } from "./db";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      -- 15-minute collection: one value per service, signal and timestamp.
      CREATE TABLE samples (
        service text NOT NULL,
        signal text NOT NULL,
        ts timestamptz NOT NULL,
        value double precision NOT NULL,
        PRIMARY KEY (service, signal, ts)
      );
      CREATE TABLE collection_runs (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        -- The time range queried; the next run starts where the last successful one ended.
        window_start timestamptz,
        window_end timestamptz,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        written integer NOT NULL DEFAULT 0,
        dropped integer NOT NULL DEFAULT 0,
        error text
      );
      CREATE TABLE forecasts (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        service text NOT NULL,
        signal text NOT NULL,
        model text NOT NULL,
        made_at timestamptz NOT NULL,
        target_ts timestamptz NOT NULL,
        horizon_seconds integer NOT NULL,
        point double precision NOT NULL,
        lower double precision NOT NULL,
        upper double precision NOT NULL,
        confidence double precision NOT NULL,
        UNIQUE (service, signal, model, made_at, target_ts)
      );
      CREATE INDEX forecasts_made_at ON forecasts (made_at DESC);
      -- What the service decided to apply; the idempotency key makes every decision apply once.
      CREATE TABLE decisions (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        idempotency_key text NOT NULL UNIQUE,
        stack text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('scheduled', 'predictive', 'emergency')),
        trigger text NOT NULL,
        profile text,
        scheduled_for timestamptz,
        overrides jsonb NOT NULL,
        reason text,
        status text NOT NULL CHECK (status IN ('pending', 'applying', 'succeeded', 'failed', 'refused', 'no-change', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        holder text,
        detail jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE INDEX decisions_created_at ON decisions (created_at DESC);
      -- Audit: every preview/up the service ran, with its outcome.
      CREATE TABLE update_attempts (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- Client-generated: recording the same attempt twice (a retried insert) keeps one row.
        attempt_key text NOT NULL UNIQUE,
        decision_id integer REFERENCES decisions (id),
        stack text NOT NULL,
        trigger text NOT NULL,
        dry_run boolean NOT NULL DEFAULT false,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        outcome text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'refused', 'no-change')),
        changes jsonb NOT NULL,
        adjustments jsonb,
        change_summary jsonb,
        policy_violations jsonb,
        error text,
        holder text
      );
      CREATE INDEX update_attempts_decision ON update_attempts (decision_id);
      CREATE TABLE budget_events (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- SQS/SNS message id (or a synthetic id for polled spend): a redelivered message is recorded once.
        message_id text UNIQUE,
        source text NOT NULL,
        period text NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
        period_key text NOT NULL,
        spend_usd double precision NOT NULL,
        limit_usd double precision NOT NULL,
        utilisation double precision NOT NULL,
        observed_at timestamptz NOT NULL,
        detail jsonb
      );
      CREATE INDEX budget_events_period ON budget_events (period, period_key, observed_at DESC);
      -- What is applied now: the scheduled profile, the emergency flag, predictive floors.
      CREATE TABLE automation_state (
        stack text PRIMARY KEY,
        scheduled_profile text,
        scheduled_at timestamptz,
        emergency_active boolean NOT NULL DEFAULT false,
        emergency_since timestamptz,
        emergency_reason jsonb,
        previous_profile text,
        predictive_floors jsonb NOT NULL DEFAULT '{}'::jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- The last scheduled run applied per profile (catch-up after downtime).
      CREATE TABLE schedule_runs (
        stack text NOT NULL,
        profile text NOT NULL,
        last_run_at timestamptz NOT NULL,
        decision_id integer REFERENCES decisions (id),
        PRIMARY KEY (stack, profile)
      );
      -- Who leads (informational; exclusion is the advisory lock).
      CREATE TABLE leader_lock (
        stack text PRIMARY KEY,
        holder text NOT NULL,
        acquired_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "fencing and recovery: lock epochs, the state a decision establishes",
    sql: `
      -- Incremented every time a process takes the leader lock: the fencing token.
      ALTER TABLE leader_lock ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
      -- The epoch a decision (and each attempt) ran under, and the state it establishes (recovery).
      ALTER TABLE decisions ADD COLUMN lock_epoch bigint;
      ALTER TABLE decisions ADD COLUMN next_state jsonb;
      ALTER TABLE update_attempts ADD COLUMN lock_epoch bigint;
      CREATE INDEX decisions_in_flight ON decisions (stack) WHERE status = 'applying';
    `,
  },
  {
    version: 3,
    name: "run requests of schedulers (POST /api/runs)",
    sql: `
      -- One row per request; (stack, caller, idempotency_key) makes a retried request the same run.
      CREATE TABLE run_requests (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stack text NOT NULL,
        caller text NOT NULL,
        idempotency_key text NOT NULL,
        command text NOT NULL CHECK (command IN ('profile', 'emergency', 'predict', 'budget-check')),
        profile text,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'refused', 'no-change')),
        -- The decision it applies (created with the request for profile and emergency runs).
        decision_id integer REFERENCES decisions (id),
        holder text,
        result jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        UNIQUE (stack, caller, idempotency_key)
      );
      CREATE INDEX run_requests_queued ON run_requests (stack, id) WHERE status = 'queued';
    `,
  },
  {
    version: 4,
    name: "predictive engine: chained fit state, issued peaks, realised accuracy",
    sql: `
      -- The forecast as issued carries the peak the floor used; the realised bucket is filled when it completes.
      ALTER TABLE forecasts ADD COLUMN peak double precision;
      ALTER TABLE forecasts ADD COLUMN actual double precision;
      ALTER TABLE forecasts ADD COLUMN actual_peak double precision;
      ALTER TABLE forecasts ADD COLUMN scored_at timestamptz;
      CREATE INDEX forecasts_target ON forecasts (service, signal, target_ts) WHERE actual IS NULL;
      -- One row per load series: the engine's state (automation/forecast/live.ts), its realised accuracy and gate.
      CREATE TABLE forecast_state (
        service text NOT NULL,
        signal text NOT NULL,
        -- Start of bucket 0 of the engine's series, and the buckets committed (complete) so far.
        series_start timestamptz,
        committed integer NOT NULL,
        fit_day text,
        -- JSON (live.ts encode): the fit (daily) and the live part (every bucket).
        fit text,
        live text NOT NULL,
        fitted_at timestamptz,
        updated_at timestamptz NOT NULL,
        -- Realised accuracy over the engine's window (NULL: nothing scored yet) and the last gate outcome.
        mape double precision,
        coverage80 double precision,
        peak_error double precision,
        peak_coverage double precision,
        scored integer NOT NULL DEFAULT 0,
        confidence double precision,
        fallback_reason text,
        fallback_detail text,
        PRIMARY KEY (service, signal)
      );
    `,
  },
];

/** Applies the migrations not yet recorded. Returns the versions applied now. */
export async function migrate(db: Database, list: readonly Migration[] = migrations): Promise<number[]> {
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.version <= list[i - 1]!.version) throw new Error(`migrations out of order at version ${list[i]!.version}`);
  }
  // Serialised by a transaction-level advisory lock: replicas starting at the same time would
  // otherwise race even on CREATE TABLE IF NOT EXISTS.
  const lock = "SELECT pg_advisory_xact_lock($1::int, hashtext('schema_migrations'))";
  await db.transaction(async (tx) => {
    await tx.query(lock, [0x5079]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });
  const applied: number[] = [];
  for (const m of list) {
    const done = await db.transaction(async (tx) => {
      await tx.query(lock, [0x5079]);
      const seen = await tx.query<{ version: number }>("SELECT version FROM schema_migrations WHERE version = $1", [m.version]);
      if (seen.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

export async function appliedMigrations(db: Database): Promise<number[]> {
  const rows = await db.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
  return rows.map((r) => Number(r.version));
}
