/**
 * `npm run backtest -- --trace <csv> [options]` (package.json: "backtest": "tsx scripts/backtest.ts"):
 * replays a load trace through the scaling policies (oracle, static peak, reactive HPA, scheduled +
 * reactive, predictive + reactive) and the forecasters, and prints the scores.
 *
 *   --trace <csv>            timestamp,value (header optional; any interval; bad rows tolerated)
 *   --service <name>         catalog service whose range/target apply (default api-gateway)
 *   --stack <name>           stack file for ranges and schedules (default prod)
 *   --capacity <load>        load one replica carries at 100% (default: peak / (u × maxReplicas))
 *   --json <file>            write { trace, intervalMinutes, policies, forecast } (documented shape)
 *   --svg <file>             where to write the chart of load vs replicas over the window
 *                            (default out/backtest-<trace>.svg)
 *   --window <start>,<end>   chart window (timestamps or dates; default: the last 7 days)
 *   --holidays <d1,d2,…>     extra holidays YYYY-MM-DD for the forecaster and the schedule
 *   --timezone <IANA zone>   zone of the schedule and the calendar features (default: the stack's)
 *   --confidence <0-1>       decision confidence threshold (default 0.8)
 *   --no-sarima              leave SARIMA out of the ensemble
 *   --pod-start <s>          pod start delay (default 60)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { formatBacktest, renderBacktestSvg, runBacktest, toBacktestJson } from "../automation/backtest/run";
import { loadServiceContext } from "../automation/backtest/service";
import { parseTimestamp, readTrace } from "../automation/backtest/trace";
import { validateConfidenceThreshold } from "../automation/forecast/options";

const usage = "usage: tsx scripts/backtest.ts --trace <csv> [--service <name>] [--stack <name>] [--capacity <load per replica>] [--json <file>] [--svg <file>] [--window <start>,<end>] [--holidays <d1,d2>] [--timezone <zone>] [--confidence <0-1>] [--no-sarima] [--pod-start <s>]";

function parseArgs(argv: string[]): Map<string, string> {
  const flags = new Set(["--no-sarima", "--help"]);
  const known = new Set(["--trace", "--service", "--stack", "--capacity", "--json", "--svg", "--window", "--holidays", "--timezone", "--confidence", "--pod-start", ...flags]);
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!known.has(a)) throw new Error(`unknown argument '${a}'\n${usage}`);
    if (flags.has(a)) out.set(a, "true");
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
      out.set(a, v);
    }
  }
  return out;
}

function positive(name: string, s: string): number {
  const n = Number(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${name} = ${s}: must be a positive number`);
  return n;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.has("--help")) {
    console.log(usage);
    return;
  }
  const tracePath = args.get("--trace");
  if (!tracePath) throw new Error(`--trace is required\n${usage}`);
  const repo = path.resolve(__dirname, "..");
  const service = loadServiceContext(repo, args.get("--stack") ?? "prod", args.get("--service") ?? "api-gateway");
  const trace = readTrace(tracePath);
  let window: { fromMs: number; toMs: number } | undefined;
  if (args.has("--window")) {
    const [a, b] = args.get("--window")!.split(",");
    const fromMs = parseTimestamp(a ?? "");
    const toMs = parseTimestamp(b ?? "");
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) throw new Error(`--window = ${args.get("--window")}: must be <start>,<end> timestamps with end after start`);
    window = { fromMs, toMs };
  }
  const holidays = args.get("--holidays")?.split(",").map((s) => s.trim()).filter(Boolean);
  const tz = args.get("--timezone");
  const confidence = args.has("--confidence") ? validateConfidenceThreshold(Number(args.get("--confidence")), "--confidence") : undefined;
  const result = runBacktest(trace, {
    service: tz ? { ...service, calendar: { ...service.calendar, timezone: tz } } : service,
    capacity: args.has("--capacity") ? positive("--capacity", args.get("--capacity")!) : undefined,
    extraHolidays: holidays,
    window,
    podStartSeconds: args.has("--pod-start") ? positive("--pod-start", args.get("--pod-start")!) : undefined,
    noChart: false,
    forecast: {
      ...(confidence !== undefined ? { confidenceThreshold: confidence } : {}),
      ...(args.has("--no-sarima") ? { sarima: { enabled: false } } : {}),
    },
  });
  console.log(formatBacktest(result));
  if (args.has("--json")) {
    fs.writeFileSync(args.get("--json")!, JSON.stringify(toBacktestJson(result), null, 2) + "\n");
    console.log(`wrote ${args.get("--json")}`);
  }
  // The chart is always written: to --svg, or next to the other outputs in out/.
  const svgFile = args.get("--svg") ?? path.join("out", `backtest-${path.basename(args.get("--trace")!).replace(/\.[^.]+$/, "")}.svg`);
  fs.mkdirSync(path.dirname(path.resolve(svgFile)), { recursive: true });
  fs.writeFileSync(svgFile, renderBacktestSvg(result));
  console.log(`wrote ${svgFile}`);
}

try {
  main();
} catch (e) {
  // Every failure here is a bad argument or input file: one message, exit 2 (usage), no stack trace.
  console.error(`backtest: ${(e as Error).message}`);
  process.exit(2);
}
