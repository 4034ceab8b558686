/**
 * A real Prometheus for tests: series backfilled with `promtool tsdb create-blocks-from openmetrics`
 * into a temp data dir, then `prometheus` started on a free local port with a minimal config (no
 * scrape targets), stopped (and restartable) on demand. Debian package: `prometheus`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./postgres";

export function prometheusAvailable(): boolean {
  const has = (c: string) => spawnSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).stdout.trim() !== "";
  return has("prometheus") && has("promtool");
}

export class TestPrometheus {
  private child: ChildProcess | undefined;
  private constructor(readonly dir: string, readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Backfills the OpenMetrics text (must end with `# EOF`) and starts the server; `ruleFile` (a
   * Prometheus rule file's text) is loaded as the server's rules.
   */
  static async start(openMetrics: string, opts: { ruleFile?: string } = {}): Promise<TestPrometheus> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-prom-"));
    fs.writeFileSync(path.join(dir, "data.om"), openMetrics);
    const r = spawnSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", path.join(dir, "data.om"), path.join(dir, "data")], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`promtool backfill failed: ${r.stderr || r.stdout}`);
    let config = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n";
    if (opts.ruleFile !== undefined) {
      fs.writeFileSync(path.join(dir, "rules.yaml"), opts.ruleFile);
      config += `rule_files:\n  - ${JSON.stringify(path.join(dir, "rules.yaml"))}\n`;
    }
    fs.writeFileSync(path.join(dir, "prometheus.yml"), config);
    const p = new TestPrometheus(dir, await freePort());
    await p.startServer();
    return p;
  }

  async startServer(): Promise<void> {
    const log = fs.openSync(path.join(this.dir, "prometheus.log"), "a");
    this.child = spawn(
      "prometheus",
      [`--config.file=${path.join(this.dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(this.dir, "data")}`, `--web.listen-address=127.0.0.1:${this.port}`, "--storage.tsdb.retention.time=30d"],
      { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        /* not yet */
      }
      if (this.child.exitCode !== null) throw new Error(`prometheus exited: ${fs.readFileSync(path.join(this.dir, "prometheus.log"), "utf8").slice(-2000)}`);
      if (Date.now() > deadline) throw new Error("prometheus did not become ready in 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopServer(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  async stop(): Promise<void> {
    await this.stopServer();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
