/**
 * The status page at `/`: one server-rendered HTML document (no script, no build step, no external
 * asset; the CSP forbids them) that tells an operator what the service is doing: leader and epoch,
 * the active profile, the floors in force and why, the last decisions and requested runs with their
 * state, the next scheduled runs, the budget state and the forecast accuracy.
 */
import type { PlatformSettings } from "../lib/config/settings";
import type { BudgetStatus } from "./budget";
import { getPath } from "./overrides";
import type { AutomationState, DecisionRecord, ForecastRow, RunRequest } from "./store";

export interface ForecastAccuracy {
  readonly service: string;
  readonly signal: string;
  /** Forecasts whose target time has passed and has an observed value. */
  readonly scored: number;
  /** Mean absolute percentage error of the point forecast, 0-1 (null: nothing scored). */
  readonly mape: number | null;
  /** Share of observations inside the forecast interval, 0-1. */
  readonly coverage: number | null;
}

export interface StatusPageInput {
  readonly stack: string;
  readonly now: Date;
  readonly holder: string;
  readonly isLeader: boolean;
  readonly leader: { holder: string; acquiredAt: Date; heartbeatAt: Date; epoch: number } | null;
  readonly state: AutomationState;
  /** The overrides in force (composed from the state). */
  readonly overrides: Readonly<Record<string, number>>;
  readonly base: PlatformSettings;
  readonly decisions: readonly DecisionRecord[];
  readonly runs: readonly RunRequest[];
  readonly nextRuns: readonly { profile: string; next: Date | null }[];
  readonly budgets: readonly BudgetStatus[];
  readonly accuracy: readonly ForecastAccuracy[];
  /** Readiness problems and degraded inputs. */
  readonly problems: readonly string[];
}

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** HTML-escapes any value (decision reasons and callers come from outside). */
export const esc = (v: unknown): string => String(v ?? "").replace(/[&<>"']/g, (c) => escapes[c]!);
const time = (d: Date | null | undefined) => (d ? `<time datetime="${esc(d.toISOString())}">${esc(d.toISOString().replace("T", " ").slice(0, 19))} UTC</time>` : "—");
const pct = (v: number | null) => (v === null ? "unknown" : `${(v * 100).toFixed(1)}%`);
const usd = (v: number | null) => (v === null ? "unknown" : `$${v.toFixed(2)}`);

/** Scores forecasts against observations: per service and signal, forecasts whose target has an observation. */
export function forecastAccuracy(forecasts: readonly ForecastRow[], observed: (service: string, signal: string, at: Date) => number | undefined): ForecastAccuracy[] {
  const groups = new Map<string, { service: string; signal: string; errors: number[]; inside: number; scored: number }>();
  for (const f of forecasts) {
    const key = `${f.service}\u0000${f.signal}`;
    const g = groups.get(key) ?? { service: f.service, signal: f.signal, errors: [], inside: 0, scored: 0 };
    groups.set(key, g);
    const actual = observed(f.service, f.signal, f.targetTs);
    if (actual === undefined) continue;
    g.scored++;
    if (actual >= f.lower && actual <= f.upper) g.inside++;
    if (actual > 0) g.errors.push(Math.abs(f.point - actual) / actual);
  }
  return [...groups.values()]
    .sort((a, b) => a.service.localeCompare(b.service) || a.signal.localeCompare(b.signal))
    .map((g) => ({
      service: g.service,
      signal: g.signal,
      scored: g.scored,
      mape: g.errors.length > 0 ? g.errors.reduce((s, e) => s + e, 0) / g.errors.length : null,
      coverage: g.scored > 0 ? g.inside / g.scored : null,
    }));
}

/** Where a `services.x.minReplicas` value comes from. */
function floorReason(key: string, s: StatusPageInput): string {
  if (s.state.emergencyActive) return "emergency profile (budget guard or a requested emergency)";
  if (key in s.state.predictiveFloors && s.state.predictiveFloors[key] === s.overrides[key]) return "predictive floor (forecast above the scheduled minimum)";
  return s.state.scheduledProfile ? `profile ${s.state.scheduledProfile}` : "stack file";
}

export function renderStatusPage(s: StatusPageInput): string {
  const profile = s.state.emergencyActive ? "emergency" : (s.state.scheduledProfile ?? "none (stack file values)");
  const overrides = Object.entries(s.overrides).sort(([a], [b]) => a.localeCompare(b));
  const section = (id: string, title: string, inner: string) => `<section id="${id}"><h2>${esc(title)}</h2>${inner}</section>`;
  const table = (head: string[], rows: string[][], empty: string) =>
    rows.length === 0 ? `<p class="empty">${esc(empty)}</p>` : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  const stateClass = (st: string) => `state state-${esc(st)}`;

  const leader = s.leader
    ? `<p><strong>${esc(s.leader.holder)}</strong> leads, epoch <strong class="epoch">${esc(s.leader.epoch)}</strong>, since ${time(s.leader.acquiredAt)}, heartbeat ${time(s.leader.heartbeatAt)}.</p>`
    : `<p class="warn">No leader: nothing is being applied.</p>`;
  const me = `<p>This replica (${esc(s.holder)}) ${s.isLeader ? "is the leader" : "stands by"}.</p>`;

  const body = [
    section("leader", "Leader", leader + me),
    section("profile", "Active profile", `<p><strong class="profile">${esc(profile)}</strong>${s.state.emergencyActive ? `, since ${time(s.state.emergencySince)}` : s.state.scheduledAt ? `, applied ${time(s.state.scheduledAt)}` : ""}</p>`),
    section("floors", "Settings in force", table(["setting", "stack file", "in force", "why"], overrides.map(([k, v]) => {
      const was = getPath(s.base, k);
      return [`<code>${esc(k)}</code>`, esc(was), `<strong>${esc(v)}</strong>`, esc(k.endsWith(".minReplicas") ? floorReason(k, s) : s.state.emergencyActive ? "emergency profile" : `profile ${s.state.scheduledProfile ?? "-"}`)];
    }), "No overrides: the stack file's values are in force.")),
    section("decisions", "Last decisions", table(["id", "kind", "profile", "state", "created", "reason"], s.decisions.map((d) => [
      esc(d.id), esc(d.kind), esc(d.profile ?? ""), `<span class="${stateClass(d.status)}">${esc(d.status)}</span>`, time(d.createdAt), esc(d.reason ?? ""),
    ]), "No decision yet.")),
    section("runs", "Requested runs (POST /api/runs)", table(["run", "caller", "command", "state", "decision", "requested"], s.runs.map((r) => [
      esc(r.id), esc(r.caller), esc(r.command + (r.profile ? ` ${r.profile}` : "")), `<span class="${stateClass(r.status)}">${esc(r.status)}</span>`, esc(r.decisionId ?? ""), time(r.createdAt),
    ]), "No run requested.")),
    section("next-runs", "Next scheduled runs", table(["profile", "next run"], s.nextRuns.map((n) => [esc(n.profile), time(n.next)]), "No scheduled profile.")),
    section("budget", "Budget", table(["period", "spend", "limit", "used"], s.budgets.map((b) => [esc(`${b.period} ${b.periodKey}`), esc(usd(b.spendUsd)), esc(usd(b.limitUsd)), esc(pct(b.utilisation))]), "No budget data.")),
    section("forecast-accuracy", "Forecast accuracy", table(["service", "signal", "scored", "MAPE", "interval coverage"], s.accuracy.map((a) => [esc(a.service), esc(a.signal), esc(a.scored), esc(pct(a.mape)), esc(pct(a.coverage))]), "No forecast scored yet.")),
    section("problems", "Problems", s.problems.length === 0 ? `<p class="ok">None.</p>` : `<ul>${s.problems.map((p) => `<li class="warn">${esc(p)}</li>`).join("")}</ul>`),
  ].join("\n");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>PyAirtable automation: ${esc(s.stack)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:1.5rem 2rem;background:#f7f7f5;color:#1d1d1b}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:0 0 .5rem}
header p{margin:0 0 1rem;color:#555}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(28rem,1fr));gap:1rem}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.9rem 1rem;overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#444}code{font-size:.9em}
.state{padding:.05rem .4rem;border-radius:3px;background:#eee}
.state-succeeded,.state-no-change{background:#dff3e2}.state-failed,.state-refused{background:#fbe0de}
.state-applying,.state-running,.state-queued,.state-pending{background:#fff3cd}
.warn{color:#9b1c1c}.ok{color:#1e6b2f}.empty{color:#777}
</style>
</head>
<body>
<header><h1>PyAirtable automation: stack ${esc(s.stack)}</h1><p>As of ${time(s.now)}. JSON: <code>/api/state</code>, <code>/api/decisions</code>, <code>/api/forecasts</code>; metrics: <code>/metrics</code>.</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}
