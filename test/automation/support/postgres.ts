/**
 * A throw-away PostgreSQL server for tests: `initdb` into a temp dir, `pg_ctl start` on a free
 * port (as the `postgres` user when the tests run as root), stop/restart on demand, removed at the
 * end. TEST_DATABASE_URL, when set, is used instead (a server someone else runs; restart tests are
 * then skipped).
 *
 * Needs the PostgreSQL server binaries (Debian: `postgresql`, found on PATH or in
 * /usr/lib/postgresql/<version>/bin). Without them the tests skip with a message, or fail when CI
 * is set.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";

export function findPostgresBin(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return path.dirname(fs.realpathSync(onPath));
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class TestPostgres {
  private constructor(
    readonly url: string,
    private readonly dir: string | undefined,
    private readonly bin: string | undefined,
    private readonly port: number,
    private readonly asUser: string | undefined,
  ) {}

  /** Whether stop/start is possible (false for TEST_DATABASE_URL). */
  get restartable(): boolean {
    return this.dir !== undefined;
  }

  static available(): boolean {
    return Boolean(process.env.TEST_DATABASE_URL) || findPostgresBin() !== undefined;
  }

  static async start(): Promise<TestPostgres> {
    if (process.env.TEST_DATABASE_URL) {
      const t = new TestPostgres(process.env.TEST_DATABASE_URL, undefined, undefined, 0, undefined);
      await t.resetSchema();
      return t;
    }
    const bin = findPostgresBin();
    if (!bin) throw new Error("PostgreSQL server binaries (initdb, pg_ctl) not found");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-pg-"));
    const asUser = process.getuid?.() === 0 ? "postgres" : undefined;
    if (asUser) {
      fs.chmodSync(dir, 0o755);
      execFileSync("chown", [`${asUser}:`, dir]);
    }
    const port = await freePort();
    const t = new TestPostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, dir, bin, port, asUser);
    t.run("initdb", ["-D", t.dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    t.startServer();
    return t;
  }

  private get dataDir(): string {
    return path.join(this.dir!, "data");
  }

  private run(tool: string, args: string[]): string {
    const exe = path.join(this.bin!, tool);
    const cmd = this.asUser ? "runuser" : exe;
    const full = this.asUser ? ["-u", this.asUser, "--", exe, ...args] : args;
    const r = spawnSync(cmd, full, { encoding: "utf8", cwd: this.dir });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  startServer(): void {
    this.run("pg_ctl", [
      "-D", this.dataDir,
      "-l", path.join(this.dir!, "server.log"),
      "-o", `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      "-w", "-t", "30", "start",
    ]);
  }

  stopServer(): void {
    this.run("pg_ctl", ["-D", this.dataDir, "-m", "fast", "-w", "-t", "30", "stop"]);
  }

  /** Stops the server and starts it again after `downMs`. */
  async restart(downMs = 500): Promise<void> {
    this.stopServer();
    await new Promise((r) => setTimeout(r, downMs));
    this.startServer();
  }

  /** A fresh database for a test: drops every table of the store. */
  async resetSchema(): Promise<void> {
    const c = new Client({ connectionString: this.url });
    await c.connect();
    try {
      await c.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    if (!this.dir) return;
    try {
      this.stopServer();
    } catch {
      /* already stopped */
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Skips (or fails in CI) when a tool is missing. Call from a mocha `before`. */
export function requireTool(ctx: Mocha.Context, available: boolean, what: string, hint: string): void {
  if (available) return;
  const message = `${what} is not available (${hint})`;
  if (process.env.CI) throw new Error(`${message}: required when CI is set`);
  console.log(`      skipped: ${message}`);
  ctx.skip();
}
