/**
 * The replay's report: text (fits a screen), markdown, the JSON document of issue 21 and an SVG of
 * cost and capacity over time per scenario.
 */
import { renderChart } from "../backtest/svg";
import { scenarioNames, type ScenarioName } from "./engine";
import type { ReplayReport } from "./scenarios";

const usd = (x: number) => `$${x.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 0 })}`;
const pct = (x: number, d = 1) => `${(x * 100).toFixed(d)}%`;
/** p95 of the scaling decision / p95 of ready capacity, seconds. */
const secs = (decide: { p95: number }, ready: { p95: number }) => `${decide.p95.toFixed(0)}/${ready.p95.toFixed(0)}`;

const componentOrder = ["nodes-on-demand", "nodes-spot", "system-nodes", "node-volumes", "aurora", "elasticache", "msk", "opensearch", "other"];

function table(header: string[], rows: string[][], right: Set<number>): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)];
}

function md(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

export function scenarioRows(r: ReplayReport): { header: string[]; rows: string[][] } {
  const header = ["scenario", "$/month", "savings", "avail.", "HPA p95 s decide/ready", "KEDA p95 s decide/ready", "CPU used/req", "CPU/mem req/alloc", "node-h OD/spot", "interr.", "evicted"];
  const rows = scenarioNames.map((n) => {
    const s = r.scenarios[n];
    return [
      n,
      usd(s.monthlyUsd),
      pct(s.savingsPercent / 100),
      pct(s.availability, 2),
      secs(s.decisionSeconds.hpa, s.responseSeconds.hpa),
      secs(s.decisionSeconds.keda, s.responseSeconds.keda),
      pct(s.efficiency.cpu.usedOfRequested, 0),
      `${pct(s.efficiency.cpu.requestedOfAllocatable, 0)}/${pct(s.efficiency.memory.requestedOfAllocatable, 0)}`,
      `${s.nodeHours.onDemand.toFixed(0)}/${s.nodeHours.spot.toFixed(0)}`,
      String(s.interruptions),
      String(s.podsEvicted),
    ];
  });
  return { header, rows };
}

export function kpiRows(r: ReplayReport): { header: string[]; rows: string[][] } {
  return { header: ["KPI", "design", "measured", "result", "why"], rows: r.kpis.map((k) => [k.name, k.design, k.measured, k.pass ? "PASS" : "MISS", k.note ?? ""]) };
}

function componentRows(r: ReplayReport): { header: string[]; rows: string[][] } {
  const keys = componentOrder.filter((k) => scenarioNames.some((n) => (r.scenarios[n].byComponent[k] ?? 0) !== 0));
  return { header: ["$/month", ...scenarioNames], rows: keys.map((k) => [k, ...scenarioNames.map((n) => usd(r.scenarios[n].byComponent[k] ?? 0))]) };
}

function spikeLine(r: ReplayReport): string | undefined {
  const s = r.spike;
  if (!s) return undefined;
  const per = Object.entries(s.services).map(([n, v]) => `${n} ${v.secondsToCapacity === null ? "never" : `${v.secondsToCapacity.toFixed(0)} s`} (${v.underMinutes.toFixed(1)} min under)`).join(", ");
  return `10x spike on the API services at ${s.startedAt.slice(0, 16)}Z for ${s.durationMinutes} min (${s.scenario}): ${per}`;
}

export function formatText(r: ReplayReport): string {
  const lines: string[] = [];
  lines.push(`Replay of stack ${r.stack}: ${r.days} days from ${r.startedAt.slice(0, 10)}, seed ${r.seed}, ${Object.keys(r.loads).length} services (loads and per-service results: --json)`);
  lines.push("");
  const s = scenarioRows(r);
  lines.push(...table(s.header, s.rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
  lines.push("");
  const c = componentRows(r);
  lines.push(...table(c.header, c.rows, new Set([1, 2, 3, 4])));
  lines.push("");
  const sp = spikeLine(r);
  if (sp) lines.push(sp, "");
  lines.push("Design KPIs (predictive = the full design):");
  const k = kpiRows(r);
  const kt = table(k.header.slice(0, 4), k.rows.map((x) => x.slice(0, 4)), new Set());
  lines.push(...kt.slice(0, 2));
  k.rows.forEach((x, i) => {
    lines.push(kt[i + 2]!);
    if (x[4]) lines.push(`    why: ${x[4]}`);
  });
  lines.push("");
  lines.push(`Reservation: ${r.reservation.note}`);
  for (const n of r.notes) lines.push(`Note: ${n}`);
  return lines.join("\n");
}

export function formatMarkdown(r: ReplayReport): string {
  const lines: string[] = [];
  lines.push(`Replay of stack \`${r.stack}\`: ${r.days} days from ${r.startedAt.slice(0, 10)}, seed ${r.seed}.`, "");
  const s = scenarioRows(r);
  lines.push(...md(s.header, s.rows), "");
  const c = componentRows(r);
  lines.push(...md(c.header, c.rows), "");
  const sp = spikeLine(r);
  if (sp) lines.push(sp, "");
  const k = kpiRows(r);
  lines.push(...md(["KPI", "design", "measured", "result", "why"], k.rows.map((x) => x.map((y) => y.replace(/\|/g, "\\|")))), "");
  lines.push(`Reservation: ${r.reservation.note}`);
  return lines.join("\n");
}

/** The JSON document: { stack, days, seed, scenarios: {...}, spike, kpis } (issue 21's shape, plus context). */
export function toJson(r: ReplayReport): unknown {
  const scenarios = Object.fromEntries(
    scenarioNames.map((n) => {
      const s = r.scenarios[n];
      return [
        n,
        {
          monthlyUsd: s.monthlyUsd,
          byComponent: s.byComponent,
          savingsPercent: s.savingsPercent,
          availability: s.availability,
          responseSeconds: { hpa: s.responseSeconds.hpa, keda: s.responseSeconds.keda },
          decisionSeconds: { hpa: s.decisionSeconds.hpa, keda: s.decisionSeconds.keda },
          efficiency: s.efficiency,
          nodeHours: s.nodeHours,
          interruptions: s.interruptions,
          podsEvicted: s.podsEvicted,
          consolidations: s.consolidations,
          nodesLaunched: s.nodesLaunched,
          peakNodes: s.peakNodes,
          launchesByType: s.launchesByType,
          aurora: s.aurora,
          perService: Object.fromEntries(Object.entries(s.perService).map(([name, v]) => [name, { availability: v.availability, replicaHours: Math.round(v.replicaHours * 100) / 100, underMinutes: v.underMinutes, peakReplicas: v.peakReplicas, ...(v.backlogMaxSeconds > 0 ? { backlogMaxSeconds: Math.round(v.backlogMaxSeconds) } : {}) }])),
        },
      ];
    }),
  );
  return { stack: r.stack, days: r.days, seed: r.seed, startedAt: r.startedAt, loads: r.loads, scenarios, spike: r.spike ?? null, kpis: r.kpis, reservation: r.reservation, notes: r.notes };
}

/** Cost ($/hour) and capacity (pods vs pods needed) over time, every scenario. */
export function renderSvg(r: ReplayReport): string {
  const first = r.scenarios.static.chart;
  const t = (n: ScenarioName) => r.scenarios[n].chart.minute.map((m) => Date.parse(r.startedAt) + m * 60_000);
  const fromMs = Date.parse(r.startedAt);
  const toMs = fromMs + r.days * 86_400_000;
  const costMax = Math.max(...scenarioNames.flatMap((n) => r.scenarios[n].chart.usdPerHour));
  const podMax = Math.max(...scenarioNames.flatMap((n) => r.scenarios[n].chart.pods), ...first.neededPods);
  const cost = renderChart({
    title: `${r.stack}: compute and Aurora spend, $/hour (scaled nodes, system nodes, node volumes, ACU)`,
    subtitle: `${r.days} days from ${r.startedAt.slice(0, 10)}, seed ${r.seed}; shaded: static`,
    fromMs,
    toMs,
    load: { name: "static $/h", t: t("static"), v: r.scenarios.static.chart.usdPerHour },
    policies: scenarioNames.filter((n) => n !== "static").map((n) => ({ name: `${n} $/h`, t: t(n), v: r.scenarios[n].chart.usdPerHour })),
    yMax: costMax * 1.05,
  });
  const capacity = renderChart({
    title: `${r.stack}: pods of the eleven services vs pods needed at 100% (shaded)`,
    subtitle: "hourly samples",
    fromMs,
    toMs,
    load: { name: "needed", t: t("static"), v: first.neededPods },
    policies: scenarioNames.map((n) => ({ name: `${n} pods`, t: t(n), v: r.scenarios[n].chart.pods })),
    yMax: podMax * 1.05,
  });
  const h = (svg: string) => Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 460);
  const w = (svg: string) => Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 1200);
  const strip = (svg: string) => svg.replace(/^<\?xml[^>]*>\s*/, "");
  const nest = (svg: string, y: number) => strip(svg).replace(/^<svg /, `<svg y="${y}" `);
  // The backtest's chart labels its y axis "replicas": the cost chart's axis is $/hour, the other's pods.
  const costChart = cost.replace(/fill="#555">replicas<\/text>/, 'fill="#555">$/hour</text>');
  const podChart = capacity.replace(/fill="#555">replicas<\/text>/, 'fill="#555">pods</text>');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w(cost)}" height="${h(cost) + h(capacity)}" viewBox="0 0 ${w(cost)} ${h(cost) + h(capacity)}">\n${nest(costChart, 0)}\n${nest(podChart, h(cost))}\n</svg>\n`;
}
