/**
 * The two database backends behind one small interface: a real PostgreSQL (`pg`, when
 * DATABASE_URL is set) and an embedded PGlite (in memory, or in a data directory). The same SQL
 * runs on both, including the advisory lock that elects the leader.
 *
 * PostgreSQL: queries go through a pool that reconnects by itself; a query that fails because the
 * server went away (restart, failover) is retried with backoff for up to `retryForMs`, so a restart
 * in the middle of a run delays the service instead of failing it. Every write of the store is
 * idempotent (unique keys, ON CONFLICT), which makes the retry safe. The leader lock lives on its own
 * dedicated connection: advisory locks belong to a session, and losing that connection loses the
 * lock, which `lockHealthy()` reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Pool, Client, type PoolConfig } from "pg";
import type { PGlite } from "@electric-sql/pglite";

export interface SqlClient {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends SqlClient {
  readonly kind: "postgres" | "pglite";
  /** Where the data is, with any password removed (for logs). */
  readonly description: string;
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Non-blocking: true when this process now holds the named lock (session-level advisory lock). */
  tryAdvisoryLock(name: string): Promise<boolean>;
  releaseAdvisoryLock(name: string): Promise<void>;
  /** Whether the locks taken are still held (the lock session is alive). */
  lockHealthy(): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The advisory lock's key: a fixed class id and the name's hash (`hashtext`, same on both backends). */
export const advisoryLockClass = 0x5079; // "Py"
const lockSql = "SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked";
const unlockSql = "SELECT pg_advisory_unlock($1::int, hashtext($2)) AS unlocked";

/** Removes a password from a connection string. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "[unparseable DATABASE_URL]";
  }
}

/** Errors that mean "the server went away or is not back yet": worth retrying on a new connection. */
export function isTransientDbError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? "";
  if (/^08/.test(code)) return true; // connection exceptions
  if (["57P01", "57P02", "57P03", "53300", "40001", "40P01"].includes(code)) return true; // shutdown, cannot connect now, too many connections, serialization, deadlock
  if (["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"].includes(code)) return true;
  const msg = String(err?.message ?? "");
  return /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down)|timeout exceeded when trying to connect|Connection refused/i.test(msg);
}

export interface RetryOptions {
  /** Give up after this long, ms. */
  readonly retryForMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
}

export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
      if (!isTransientDbError(e) || Date.now() - started + delay > opts.retryForMs) throw e;
      opts.onRetry?.(attempt, e, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

// -------------------------------------------------------------------------------------------------
// PostgreSQL
// -------------------------------------------------------------------------------------------------

export interface PostgresOptions {
  readonly connectionString: string;
  readonly retry?: Partial<RetryOptions>;
  readonly pool?: Omit<PoolConfig, "connectionString">;
  /** Called for errors that happen outside a query (idle connections dropped by a restart). */
  readonly onBackgroundError?: (e: Error) => void;
}

export class PostgresDatabase implements Database {
  readonly kind = "postgres" as const;
  readonly description: string;
  private readonly pool: Pool;
  private readonly retry: RetryOptions;
  private lockClient: Client | undefined;
  private lockClientAlive = false;
  private readonly heldLocks = new Set<string>();

  constructor(private readonly opts: PostgresOptions) {
    this.description = `postgres ${redactDatabaseUrl(opts.connectionString)}`;
    this.pool = new Pool({ connectionString: opts.connectionString, max: 5, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, ...opts.pool });
    // An idle client that loses its server emits on the pool; without a listener the process dies.
    this.pool.on("error", (e) => opts.onBackgroundError?.(e));
    this.retry = { retryForMs: 60_000, baseDelayMs: 200, maxDelayMs: 5000, ...opts.retry };
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return retryTransient(async () => (await this.pool.query(sql, params as unknown[])).rows as R[], this.retry);
  }

  async exec(sql: string): Promise<void> {
    await retryTransient(() => this.pool.query(sql), this.retry);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    // The whole transaction is retried: a dropped connection rolls it back on the server.
    return retryTransient(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const tx: SqlClient = {
          query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[],
          exec: async (sql: string) => {
            await client.query(sql);
          },
        };
        const result = await fn(tx);
        await client.query("COMMIT");
        return result;
      } catch (e) {
        broken = isTransientDbError(e);
        if (!broken) await client.query("ROLLBACK").catch(() => undefined);
        throw e;
      } finally {
        client.release(broken ? true : undefined);
      }
    }, this.retry);
  }

  private async lockConnection(): Promise<Client> {
    if (this.lockClient && this.lockClientAlive) return this.lockClient;
    const client = new Client({ connectionString: this.opts.connectionString, connectionTimeoutMillis: 5000 });
    const lost = (e?: Error) => {
      if (this.lockClient !== client) return;
      this.lockClientAlive = false;
      this.heldLocks.clear();
      if (e) this.opts.onBackgroundError?.(e);
    };
    client.on("error", lost);
    client.on("end", () => lost());
    await client.connect();
    this.lockClient = client;
    this.lockClientAlive = true;
    return client;
  }

  async tryAdvisoryLock(name: string): Promise<boolean> {
    const client = await this.lockConnection();
    const rows = (await client.query(lockSql, [advisoryLockClass, name])).rows as { locked: boolean }[];
    const locked = rows[0]?.locked === true;
    if (locked) this.heldLocks.add(name);
    return locked;
  }

  async releaseAdvisoryLock(name: string): Promise<void> {
    if (!this.heldLocks.has(name) || !this.lockClient || !this.lockClientAlive) {
      this.heldLocks.delete(name);
      return;
    }
    await this.lockClient.query(unlockSql, [advisoryLockClass, name]).catch(() => undefined);
    this.heldLocks.delete(name);
  }

  async lockHealthy(): Promise<boolean> {
    if (!this.lockClient || !this.lockClientAlive || this.heldLocks.size === 0) return false;
    try {
      await this.lockClient.query("SELECT 1");
      return this.lockClientAlive && this.heldLocks.size > 0;
    } catch {
      this.lockClientAlive = false;
      this.heldLocks.clear();
      return false;
    }
  }

  async ping(): Promise<void> {
    // No retry: readiness must say "not ready" while the database is away.
    await this.pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    const lock = this.lockClient;
    this.lockClient = undefined;
    this.lockClientAlive = false;
    this.heldLocks.clear();
    if (lock) await lock.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

// -------------------------------------------------------------------------------------------------
// PGlite (embedded)
// -------------------------------------------------------------------------------------------------

export interface PgliteOptions {
  /** A data directory; undefined for in-memory. */
  readonly dataDir?: string;
}

/**
 * PGlite is a single session in this process: its advisory locks are re-entrant for that session,
 * so they cannot exclude anything inside the process, and no other process may open the same data
 * directory. The data directory is therefore guarded by a lock file (`<dataDir>.lock` with the pid),
 * and the leader lock is held by at most one owner within the process.
 */
export class PgliteDatabase implements Database {
  readonly kind = "pglite" as const;
  readonly description: string;
  private readonly heldLocks = new Set<string>();
  private lockFile: string | undefined;

  private constructor(private readonly db: PGlite, opts: PgliteOptions, lockFile: string | undefined) {
    this.description = opts.dataDir ? `pglite ${opts.dataDir}` : "pglite (in memory)";
    this.lockFile = lockFile;
  }

  static async open(opts: PgliteOptions = {}): Promise<PgliteDatabase> {
    let lockFile: string | undefined;
    if (opts.dataDir) {
      fs.mkdirSync(path.dirname(path.resolve(opts.dataDir)), { recursive: true });
      lockFile = `${path.resolve(opts.dataDir)}.lock`;
      acquireLockFile(lockFile);
    }
    try {
      // Loaded lazily: the WASM module is large and only needed without DATABASE_URL.
      const { PGlite } = await import("@electric-sql/pglite");
      const db = opts.dataDir ? new PGlite(opts.dataDir) : new PGlite();
      await db.waitReady;
      return new PgliteDatabase(db, opts, lockFile);
    } catch (e) {
      if (lockFile) fs.rmSync(lockFile, { force: true });
      throw e;
    }
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.db.query<R>(sql, params as unknown[])).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) =>
      fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => (await t.query<R>(sql, params as unknown[])).rows,
        exec: async (sql: string) => {
          await t.exec(sql);
        },
      }),
    );
  }

  async tryAdvisoryLock(name: string): Promise<boolean> {
    if (this.heldLocks.has(name)) return false; // one owner per process
    const rows = await this.query<{ locked: boolean }>(lockSql, [advisoryLockClass, name]);
    const locked = rows[0]?.locked === true;
    if (locked) this.heldLocks.add(name);
    return locked;
  }

  async releaseAdvisoryLock(name: string): Promise<void> {
    if (!this.heldLocks.delete(name)) return;
    await this.query(unlockSql, [advisoryLockClass, name]);
  }

  async lockHealthy(): Promise<boolean> {
    return this.heldLocks.size > 0;
  }

  async ping(): Promise<void> {
    await this.db.query("SELECT 1");
  }

  async close(): Promise<void> {
    this.heldLocks.clear();
    await this.db.close().catch(() => undefined);
    if (this.lockFile) fs.rmSync(this.lockFile, { force: true });
    this.lockFile = undefined;
  }
}

function acquireLockFile(file: string): void {
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(
          `the embedded database ${file.replace(/\.lock$/, "")} is in use by process ${pid}: PGlite is single-process. ` +
            "Stop that process, or set DATABASE_URL to a PostgreSQL server to run several processes.",
        );
      }
      fs.rmSync(file, { force: true }); // stale
    }
  }
  throw new Error(`cannot create lock file ${file}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The PostgreSQL URL from the environment: `DATABASE_URL`, or the content of the file
 * `DATABASE_URL_FILE` names (a Secret mounted as a volume: the URL is then in no environment
 * variable, so not in `/proc/<pid>/environ`, `kubectl describe` or a crash dump of the environment).
 * Both set, an unreadable or empty file: an error naming the variable and the path, never the URL.
 * Undefined when neither is set.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env.DATABASE_URL?.trim();
  const file = env.DATABASE_URL_FILE?.trim();
  if (direct && file) throw new Error(`DATABASE_URL and DATABASE_URL_FILE = ${JSON.stringify(file)} are both set: set only one (the file is how the deployment passes it)`);
  if (!file) return direct || undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`DATABASE_URL_FILE = ${JSON.stringify(file)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must be a file holding the PostgreSQL URL (the Secret's DATABASE_URL key, mounted)`);
  }
  const url = text.trim();
  if (!url) throw new Error(`DATABASE_URL_FILE = ${JSON.stringify(file)}: the file is empty; it must hold the PostgreSQL URL`);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`DATABASE_URL_FILE = ${JSON.stringify(file)}: the file does not hold a postgres:// or postgresql:// URL`);
  return url;
}

/** `DATABASE_URL` (or `DATABASE_URL_FILE`) → PostgreSQL; otherwise PGlite in `AUTOMATION_DATA_DIR` (or in memory when unset). */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env, opts: { onBackgroundError?: (e: Error) => void; retry?: Partial<RetryOptions> } = {}): Promise<Database> {
  const url = databaseUrlFromEnv(env);
  if (url) return new PostgresDatabase({ connectionString: url, onBackgroundError: opts.onBackgroundError, retry: opts.retry });
  const dir = env.AUTOMATION_DATA_DIR?.trim();
  return PgliteDatabase.open({ dataDir: dir || undefined });
}
