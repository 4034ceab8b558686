/**
 * `npm run -s replay -- --stack <name> [--load <service>=<csv> ...] [--from-store <DATABASE_URL>]
 *   [--days N] [--seed N] [--json out.json] [--svg out.svg] [--format text|markdown]
 *   [--plan <saved plan.json>] [--traces <dir>] [--start YYYY-MM-DD] [--pod-start-seconds N]`
 *
 * Replays per-service load through the stack's own rendered configuration (the offline plan, or a
 * plan saved with `npm run plan -- --stack <name> --json <file>`), in four scenarios (static,
 * reactive, scheduled, predictive), prices them and prints the scenario and KPI tables.
 * docs/replay.md says what is modelled, what is not and where every constant comes from.
 *
 * Exit codes: 0 ok; 2 bad input (an unknown flag, service or stack, a CSV with a bad row, a store
 * that cannot be read), checked before anything is planned or written; 1 anything else.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { serviceByName, serviceNames } from "../lib/catalog/services";
import { SettingsError } from "../lib/config/settings";
import { StackFileError } from "../lib/config/load";
import { planStack, projectDir, stackSettings } from "../lib/plan/plan";
import { readPlanFile, PlanFileError } from "../lib/plan/planFile";
import { seriesFor } from "../lib/monitoring/signals";
import { AutomationConfigError } from "../automation/config";
import { checkServiceName, defaultLoad, defaultTracesDir, loadFromSamples, readLoadCsv, ReplayInputError, type ServiceLoad } from "../automation/replay/load";
import { ReplayConfigError, replayStackFromPlan } from "../automation/replay/stack";
import { runReplay } from "../automation/replay/scenarios";
import { formatMarkdown, formatText, renderSvg, toJson } from "../automation/replay/report";

const usage =
  "usage: npm run -s replay -- --stack <name> [--load <service>=<csv> ...] [--from-store <DATABASE_URL>] [--days N] [--seed N] [--json out.json] [--svg out.svg] [--format text|markdown] [--plan <plan.json>] [--traces <dir>] [--start YYYY-MM-DD] [--pod-start-seconds N]";

/** Default replay calendar start: a Monday (so weekdays stay weekdays) clear of the stack's holidays. */
export const defaultReplayStart = "2026-11-02";

class UsageError extends Error {}

function int(flag: string, text: string | undefined, def: number, min: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} = '${text}': must be a whole number from ${min} to ${max}`);
  return n;
}

async function storeLoads(url: string, days: number, replayStartMs: number, skip: ReadonlySet<string>): Promise<ServiceLoad[]> {
  // The automation service's store: its samples table, one series per service (the first load
  // signal the predictor scales on: a per-replica target, else the first series).
  const { PostgresDatabase } = await import("../automation/store/db");
  const { Store } = await import("../automation/store/store");
  const store = new Store(new PostgresDatabase({ connectionString: url, retry: { retryForMs: 2000 } }));
  try {
    const series = await store.sampleSeries();
    const out: ServiceLoad[] = [];
    for (const name of serviceNames) {
      if (skip.has(name)) continue;
      const defs = seriesFor(serviceByName(name));
      const def = defs.find((d) => d.perReplica !== undefined && series.some((s) => s.service === name && s.signal === d.signal)) ?? defs.find((d) => series.some((s) => s.service === name && s.signal === d.signal));
      if (!def) continue;
      const last = series.find((s) => s.service === name && s.signal === def.signal)!.last;
      const rows = await store.samples(name, def.signal, new Date(last.getTime() - days * 86_400_000), last);
      if (rows.length < 2) continue;
      out.push(loadFromSamples(name, rows.map((r) => ({ t: r.ts.getTime(), v: r.value })), replayStartMs, days, `store samples ${name}/${def.signal} (${rows.length} samples to ${last.toISOString().slice(0, 16)}Z)`));
    }
    if (out.length === 0) throw new ReplayInputError(`--from-store: the store has no samples of any catalog service (known: ${serviceNames.join(", ")})`);
    return out;
  } catch (e) {
    if (e instanceof ReplayInputError) throw e;
    throw new ReplayInputError(`--from-store: cannot read the automation store's samples: ${(e as Error).message}`);
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        load: { type: "string", multiple: true },
        "from-store": { type: "string" },
        days: { type: "string" },
        seed: { type: "string" },
        json: { type: "string" },
        svg: { type: "string" },
        format: { type: "string" },
        plan: { type: "string" },
        traces: { type: "string" },
        start: { type: "string" },
        "pod-start-seconds": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${usage}`);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const stack = values.stack as string | undefined;
  if (!stack) throw new UsageError(`--stack is required\n${usage}`);
  const days = int("--days", values.days as string | undefined, 30, 1, 366);
  const seed = int("--seed", values.seed as string | undefined, 1, 0, 2 ** 31 - 1);
  // Pod creation to Ready: the model's default (the pod startup SLO + the contract's readiness probe)
  // leaves out image pulls and an application's warm-up; a team that measured its own sets it here.
  const podStartSeconds = values["pod-start-seconds"] === undefined ? undefined : int("--pod-start-seconds", values["pod-start-seconds"] as string, 0, 0, 3600);
  const format = (values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "markdown") throw new UsageError(`--format = '${format}': must be text or markdown`);
  const startText = (values.start as string | undefined) ?? defaultReplayStart;
  const startMs = Date.parse(`${startText}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(startText) || Number.isNaN(startMs)) throw new UsageError(`--start = '${startText}': must be a date YYYY-MM-DD`);
  // Everything the user gave is checked before anything is planned or written.
  const { settings } = stackSettings(stack);
  const given = new Map<string, ServiceLoad>();
  for (const spec of (values.load as string[] | undefined) ?? []) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new ReplayInputError(`--load '${spec}': must be <service>=<csv file>`);
    const service = spec.slice(0, eq);
    const file = spec.slice(eq + 1);
    checkServiceName(service, `--load ${spec}`);
    if (given.has(service)) throw new ReplayInputError(`--load: service '${service}' given twice`);
    given.set(service, loadFromSamples(service, readLoadCsv(file, service), startMs, days, path.basename(file)));
  }
  const traces = (values.traces as string | undefined) ?? defaultTracesDir;
  const fromStore = values["from-store"] as string | undefined;
  const stored = fromStore ? await storeLoads(fromStore, days, startMs, new Set(given.keys())) : [];
  for (const l of stored) given.set(l.service, l);
  const loads = serviceNames.map((s) => given.get(s) ?? defaultLoad(s, startMs, days, traces));
  for (const out of [values.json, values.svg] as (string | undefined)[]) {
    if (out && !fs.existsSync(path.dirname(path.resolve(out)))) throw new UsageError(`output ${out}: directory ${path.dirname(path.resolve(out))} does not exist`);
  }

  const planFile = values.plan as string | undefined;
  const plan = planFile ? readPlanFile(planFile) : await planStack(stack);
  if (plan.stack !== stack) throw new UsageError(`--plan ${planFile}: is a plan of stack '${plan.stack}', not '${stack}'`);
  // Fixed items (the EKS control plane's support phase) priced on the replay's first day.
  const model = replayStackFromPlan({ stack, settings, resources: plan.resources }, { asOf: new Date(startMs) });
  const report = runReplay({ stack: model, loads, startMs, days, seed, projectDir, ...(podStartSeconds !== undefined ? { podStartSeconds } : {}) });
  if (values.json) fs.writeFileSync(values.json as string, `${JSON.stringify(toJson(report), null, 2)}\n`);
  if (values.svg) fs.writeFileSync(values.svg as string, renderSvg(report));
  console.log(format === "markdown" ? formatMarkdown(report) : formatText(report));
  return 0;
}

function exitCodeOf(e: unknown): number {
  return e instanceof UsageError || e instanceof ReplayInputError || e instanceof StackFileError || e instanceof SettingsError || e instanceof PlanFileError || e instanceof ReplayConfigError || e instanceof AutomationConfigError ? 2 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const code = exitCodeOf(e);
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${message}${code === 1 ? "\n(an unexpected failure: run with REPLAY_DEBUG=1 for the stack trace)" : ""}\n`);
    if (process.env.REPLAY_DEBUG) console.error(e);
    process.exit(code);
  },
);
