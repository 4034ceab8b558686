/**
 * The replay: four scenarios of one stack on one load, side by side, a 10x spike run, and the
 * design's KPIs (docs/replay.md).
 *
 * - static: no autoscaling: every service at the replicas its peak needs, on on-demand nodes, the
 *   data tier at its peak capacity (the design's "without optimization");
 * - reactive: the rendered HPA/KEDA objects (without the cron trigger) + Karpenter;
 * - scheduled: + KEDA's business-hours cron floors and the automation service's scheduled profiles
 *   (automation/config/<stack>.yaml, chosen at each time by the service's own Scheduler.currentRun);
 * - predictive: + the predictive floors (the adapter in ./predictive.ts).
 */
import { Cron } from "croner";
import { defaultConfigFile, loadAutomationConfig, type AutomationConfig } from "../config";
import { ceilingFor } from "../overrides";
import { Scheduler } from "../scheduler";
import { mulberry32 } from "../backtest/synthetic";
import { costCategories, type CostItem } from "../../lib/cost/estimate";
import { hoursPerMonth } from "../../lib/cost/prices";
import { runScenario, scenarioNames, type ProfileTimeline, type ScenarioName, type ScenarioResult } from "./engine";
import type { ServiceLoad } from "./load";
import { percentile, replayConstants } from "./model";
import { designReactionTargets } from "../../lib/scaling/responseTime";
import { predictiveFloorsFor, type PredictiveFloors } from "./predictive";
import type { ReplayStack } from "./stack";

void costCategories;

export interface ReplayOptions {
  readonly stack: ReplayStack;
  readonly loads: readonly ServiceLoad[];
  readonly startMs: number;
  readonly days: number;
  readonly seed: number;
  /** The automation service's configuration (default automation/config/<stack>.yaml). */
  readonly automation?: AutomationConfig;
  readonly projectDir?: string;
  /** Pod creation to Ready, seconds (default: the model's, docs/replay.md). */
  readonly podStartSeconds?: number;
  /** Skip the spike run (tests of other parts). */
  readonly noSpike?: boolean;
}

export interface ScenarioReport {
  readonly monthlyUsd: number;
  readonly byComponent: Record<string, number>;
  readonly savingsPercent: number;
  readonly availability: number;
  readonly responseSeconds: ScenarioResult["responseSeconds"];
  readonly decisionSeconds: ScenarioResult["decisionSeconds"];
  readonly efficiency: ScenarioResult["efficiency"];
  readonly nodeHours: ScenarioResult["nodeHours"];
  readonly interruptions: number;
  readonly podsEvicted: number;
  readonly consolidations: ScenarioResult["consolidations"];
  readonly nodesLaunched: number;
  readonly peakNodes: number;
  readonly launchesByType: Record<string, number>;
  readonly aurora: ScenarioResult["aurora"];
  readonly perService: ScenarioResult["perService"];
  readonly chart: ScenarioResult["chart"];
}

export interface SpikeReport {
  readonly scenario: ScenarioName;
  readonly startedAt: string;
  readonly factor: number;
  readonly durationMinutes: number;
  readonly services: Record<string, { baseLoad: number; neededReplicas: number; maxReplicas: number; secondsToCapacity: number | null; underMinutes: number }>;
  /** Slowest service's time to capacity (null: a service never reached it). */
  readonly secondsToCapacity: number | null;
  readonly underMinutes: number;
}

export interface Kpi {
  readonly name: string;
  readonly design: string;
  readonly measured: string;
  readonly pass: boolean;
  readonly note?: string;
}

export interface ReplayReport {
  readonly stack: string;
  readonly days: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly loads: Record<string, string>;
  readonly scenarios: Record<ScenarioName, ScenarioReport>;
  readonly spike?: SpikeReport;
  readonly kpis: Kpi[];
  readonly reservation: { readonly steadyOnDemandUsdPerHour: number; readonly note: string };
  readonly notes: string[];
  readonly seconds: { readonly predictive: number; readonly scenarios: number };
}

const minuteMs = 60_000;

/** Instants a cron expression fires within [from, to). */
function firings(expr: string, timezone: string, from: number, to: number): number[] {
  const job = new Cron(expr, { timezone, paused: true });
  try {
    const out: number[] = [];
    let ref = new Date(from - 1);
    for (;;) {
      const next = job.nextRun(ref);
      if (!next || next.getTime() >= to) return out;
      out.push(next.getTime());
      ref = next;
    }
  } finally {
    job.stop();
  }
}

/** Per minute: 1 where the KEDA cron trigger (start/end expressions) holds its replicas. */
export function cronWindow(start: string, end: string, timezone: string, startMs: number, minutes: number): Uint8Array {
  const from = startMs - 8 * 86_400_000;
  const to = startMs + minutes * minuteMs;
  const events = [...firings(start, timezone, from, to).map((t) => ({ t, on: 1 })), ...firings(end, timezone, from, to).map((t) => ({ t, on: 0 }))].sort((a, b) => a.t - b.t);
  const out = new Uint8Array(minutes);
  let state = 0;
  let k = 0;
  while (k < events.length && events[k]!.t <= startMs) state = events[k++]!.on;
  for (let m = 0; m < minutes; m++) {
    const t = startMs + m * minuteMs;
    while (k < events.length && events[k]!.t <= t) state = events[k++]!.on;
    out[m] = state;
  }
  return out;
}

/** The scheduled profiles in force each minute, as the service's Scheduler chooses them. */
export function profileTimeline(config: AutomationConfig, stack: ReplayStack, startMs: number, minutes: number): ProfileTimeline {
  // currentRun() reads only the configuration; the store, applier and logger are not used by it.
  const scheduler = new Scheduler({ config, store: undefined as never, applier: undefined as never, logger: undefined as never });
  const to = startMs + minutes * minuteMs;
  const changes = new Set<number>([startMs]);
  for (const p of config.profiles) for (const t of firings(p.schedule, config.timezone, startMs, to)) changes.add(t);
  const at = [...changes].sort((a, b) => a - b);
  const serviceMin = stack.services.map(() => new Int16Array(minutes).fill(-1));
  const systemNodes = new Int16Array(minutes).fill(-1);
  const auroraMinAcu = new Float32Array(minutes).fill(-1);
  for (let k = 0; k < at.length; k++) {
    const run = scheduler.currentRun(new Date(at[k]!));
    const o = run?.profile.overrides ?? {};
    const m0 = Math.max(0, Math.floor((at[k]! - startMs) / minuteMs));
    const m1 = k + 1 < at.length ? Math.floor((at[k + 1]! - startMs) / minuteMs) : minutes;
    stack.services.forEach((s, i) => {
      const v = o[`services.${s.name}.minReplicas`];
      if (v !== undefined) serviceMin[i]!.fill(v, m0, m1);
    });
    if (o["cluster.systemNodeGroup.desiredSize"] !== undefined) systemNodes.fill(o["cluster.systemNodeGroup.desiredSize"]!, m0, m1);
    if (o["database.minAcu"] !== undefined) auroraMinAcu.fill(o["database.minAcu"]!, m0, m1);
  }
  return { serviceMin, systemNodes, auroraMinAcu };
}

/** Monthly cost by component: the simulated span scaled to 730 h, plus the fixed items. */
function monthly(r: ScenarioResult, fixed: readonly CostItem[]): { total: number; byComponent: Record<string, number> } {
  const scale = r.hours > 0 ? hoursPerMonth / r.hours : 0;
  const by: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.usd)) by[k] = v * scale;
  const group = (c: string) => (["aurora", "elasticache", "msk", "opensearch"].includes(c) ? c : "other");
  for (const i of fixed) by[group(i.category)] = (by[group(i.category)] ?? 0) + i.monthlyUsd;
  const rounded = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  return { total: Math.round(Object.values(by).reduce((a, b) => a + b, 0) * 100) / 100, byComponent: rounded };
}

export function runReplay(o: ReplayOptions): ReplayReport {
  const { stack, days, seed, startMs } = o;
  const minutes = days * 1440;
  const services = stack.services;
  const notes: string[] = [];
  const byName = new Map(o.loads.map((l) => [l.service, l]));
  const loads = services.map((s) => {
    const l = byName.get(s.name);
    if (!l) throw new Error(`no load for service ${s.name}`);
    return l.perMinute;
  });
  const peaks = loads.map((l) => l.reduce((m, v) => (v > m ? v : m), 0));
  services.forEach((s, i) => {
    if (!(peaks[i]! > 0)) notes.push(`${s.name}: the load is never above 0; the service stays at its floor`);
  });
  const C = services.map((s, i) => Math.max(peaks[i]! / (s.targetUtilization * s.max), 1e-12));
  const config = o.automation ?? loadAutomationConfig(defaultConfigFile(stack.stack), o.projectDir ? { projectDir: o.projectDir } : {});
  const cronActive = services.map((s) => (s.cron ? cronWindow(s.cron.start, s.cron.end, s.cron.timezone, startMs, minutes) : undefined));
  const profiles = profileTimeline(config, stack, startMs, minutes);

  // Predictive floors (the automation service's decision path, via the one adapter).
  const tp = process.hrtime.bigint();
  const floors: (PredictiveFloors | undefined)[] = services.map((s, i) => {
    if (!config.predictive.enabled || !(peaks[i]! > 0)) return undefined;
    const series = Array.from(loads[i]!, (v, m) => ({ t: startMs + m * minuteMs, v }));
    const ceiling = ceilingFor(config.policyLimits, `services.${s.name}.maxReplicas`) ?? Number.POSITIVE_INFINITY;
    return predictiveFloorsFor({
      automation: config,
      service: s.name,
      samples: [...o.loads[o.loads.findIndex((l) => l.service === s.name)]!.history, ...series],
      replayStartMs: startMs,
      minutes,
      capacityPerReplica: C[i]!,
      range: { min: s.min, max: s.max },
      policyCeiling: ceiling,
    });
  });
  const predictiveSeconds = Number(process.hrtime.bigint() - tp) / 1e9;
  const fallbackShare = floors.reduce((a, f) => a + (f ? f.fallbackBuckets / f.floors.length : 1), 0) / services.length;
  notes.push(`predictive floors fell back to reactive scaling in ${(fallbackShare * 100).toFixed(0)}% of the 15-minute buckets (no model in the first days, low confidence)`);

  const ts = process.hrtime.bigint();
  const base = { stack, loads, startMs, minutes, seed, cronActive, profiles, capacityPerReplica: C, peaks, chartEveryMinutes: 60, ...(o.podStartSeconds !== undefined ? { podStartSeconds: o.podStartSeconds } : {}) } as const;
  const results = {} as Record<ScenarioName, ScenarioResult>;
  for (const scenario of scenarioNames) {
    results[scenario] = runScenario({ ...base, scenario, predictiveFloors: floors.map((f) => f?.floors), predictiveBucketMinutes: floors.find((f) => f)?.bucketMinutes ?? 15, predictiveApplyDelayMs: floors.find((f) => f)?.applyDelayMs ?? 0 });
  }
  const scenarioSeconds = Number(process.hrtime.bigint() - ts) / 1e9;
  const staticMonthly = monthly(results.static, stack.fixed).total;
  const scenarios = {} as Record<ScenarioName, ScenarioReport>;
  for (const name of scenarioNames) {
    const r = results[name];
    const m = monthly(r, stack.fixed);
    scenarios[name] = {
      monthlyUsd: m.total,
      byComponent: m.byComponent,
      savingsPercent: staticMonthly > 0 ? Math.round((1 - m.total / staticMonthly) * 1000) / 10 : 0,
      availability: r.availability,
      responseSeconds: r.responseSeconds,
      decisionSeconds: r.decisionSeconds,
      efficiency: r.efficiency,
      nodeHours: r.nodeHours,
      interruptions: r.interruptions,
      podsEvicted: r.podsEvicted,
      consolidations: r.consolidations,
      nodesLaunched: r.nodesLaunched,
      peakNodes: r.peakNodes,
      launchesByType: r.launchesByType,
      aurora: r.aurora,
      perService: r.perService,
      chart: r.chart,
    };
  }

  const spike = o.noSpike ? undefined : runSpike({ ...base, scenario: "predictive", predictiveFloors: floors.map((f) => f?.floors), predictiveBucketMinutes: floors.find((f) => f)?.bucketMinutes ?? 15, predictiveApplyDelayMs: floors.find((f) => f)?.applyDelayMs ?? 0 }, seed, days);
  // Reservation: the steady on-demand base (the lowest hourly on-demand node spend over the replay).
  const steady = steadyOnDemand(results.predictive);
  const reservation = {
    steadyOnDemandUsdPerHour: steady,
    note: `a Savings Plan or reservation could cover the steady on-demand base of $${steady.toFixed(2)}/h (predictive, 5th percentile hour); its discount is not modelled: no primary source of commitment rates in data/, so the design's "20% on stable workloads" is not checked`,
  };
  const kpis = designKpis(scenarios, spike, new Map(services.map((x) => [x.name, x.scaler])));
  return {
    stack: stack.stack,
    days,
    seed,
    startedAt: new Date(startMs).toISOString(),
    loads: Object.fromEntries(o.loads.map((l) => [l.service, l.source])),
    scenarios,
    ...(spike ? { spike } : {}),
    kpis,
    reservation,
    notes,
    seconds: { predictive: predictiveSeconds, scenarios: scenarioSeconds },
  };
}

function steadyOnDemand(r: ScenarioResult): number {
  // The chart's hourly spend includes spot and Aurora; the system node group is on-demand and constant.
  const rates = r.chart.usdPerHour;
  if (rates.length === 0) return 0;
  const sorted = [...rates].sort((a, b) => a - b);
  const low = percentile(sorted, 5);
  const share = r.usd["nodes-on-demand"]! + r.usd["system-nodes"]! > 0 ? (r.usd["nodes-on-demand"]! + r.usd["system-nodes"]!) / Object.values(r.usd).reduce((a, b) => a + b, 0) : 0;
  return Math.round(low * share * 1000) / 1000;
}

/**
 * A seeded 10x step on the API (HPA) services, 60 minutes long, from a quiet hour (a weekday
 * 02:00-05:00 UTC after the first week): 10x of a busy hour would exceed every maximum by design.
 * Time to capacity: from the step until ready ≥ min(needed, max replicas) for every API service.
 */
function runSpike(base: Parameters<typeof runScenario>[0], seed: number, days: number): SpikeReport {
  const rand = mulberry32(seed ^ 0x5eed);
  const factor = 10;
  const duration = 60;
  let day = days > 8 ? 7 + Math.floor(rand() * (days - 8)) : Math.floor(days / 2);
  for (let k = 0; k < 7 && new Date(base.startMs + day * 86_400_000).getUTCDay() % 6 === 0; k++) day = day + 1 < days ? day + 1 : 1;
  const minute = day * 1440 + 120 + Math.floor(rand() * 180);
  const services = base.stack.services;
  const api = services.map((s, i) => (s.scaler === "hpa" ? i : -1)).filter((i) => i >= 0);
  const loads = base.loads.map((l, i) => {
    if (!api.includes(i)) return l;
    const copy = Float64Array.from(l);
    const baseLoad = l[minute]!;
    for (let m = minute; m < Math.min(copy.length, minute + duration); m++) copy[m] = Math.max(copy[m]!, baseLoad * factor);
    return copy;
  });
  const r = runScenario({ ...base, loads, window: { fromMinute: Math.max(0, minute - 60), toMinute: Math.min(base.minutes, minute + duration + 30) } });
  const t = r.ticks!.t;
  const spikeAt = base.startMs + minute * minuteMs;
  const out: SpikeReport["services"] = {};
  let slowest: number | null = 0;
  let under = 0;
  for (const i of api) {
    const s = services[i]!;
    let reached: number | null = null;
    let u = 0;
    let peakNeed = 0;
    for (let k = 0; k < t.length; k++) {
      if (t[k]! < spikeAt || t[k]! >= spikeAt + duration * minuteMs) continue;
      const need = r.ticks!.need[i]![k]!;
      const ready = r.ticks!.ready[i]![k]!;
      peakNeed = Math.max(peakNeed, need);
      if (ready < need) u++;
      if (ready >= Math.min(need, s.max) && reached === null) reached = (t[k]! - spikeAt) / 1000;
    }
    const um = (u * 15) / 60;
    under += um;
    out[s.name] = { baseLoad: base.loads[i]![minute]!, neededReplicas: peakNeed, maxReplicas: s.max, secondsToCapacity: reached, underMinutes: um };
    if (reached === null) slowest = null;
    else if (slowest !== null) slowest = Math.max(slowest, reached);
  }
  return { scenario: base.scenario, startedAt: new Date(spikeAt).toISOString(), factor, durationMinutes: duration, services: out, secondsToCapacity: slowest, underMinutes: under };
}

const fixedUsd = (p: ScenarioReport) => (p.byComponent.elasticache ?? 0) + (p.byComponent.msk ?? 0) + (p.byComponent.opensearch ?? 0) + (p.byComponent.other ?? 0);
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;

/** The design's KPI table: claimed vs measured. */
export function designKpis(s: Record<ScenarioName, ScenarioReport>, spike?: SpikeReport, scalers: ReadonlyMap<string, "hpa" | "keda"> = new Map()): Kpi[] {
  const p = s.predictive;
  const minAvail = Math.min(...Object.values(p.perService).map((x) => x.availability));
  const worst = Object.entries(p.perService).sort((a, b) => a[1].availability - b[1].availability)[0];
  const kpis: Kpi[] = [
    {
      name: "Cost reduction (predictive vs static)",
      design: "39%",
      measured: `${p.savingsPercent.toFixed(1)}%`,
      pass: p.savingsPercent >= 39,
      ...(p.savingsPercent < 39 ? { note: `Redis, MSK, OpenSearch and the fixed lines ($${fixedUsd(p).toFixed(0)}/month) do not scale with load in any scenario` } : {}),
    },
    {
      name: "Immediate savings (reactive vs static)",
      design: "$1,273/month (25%)",
      measured: `$${(s.static.monthlyUsd - s.reactive.monthlyUsd).toFixed(0)}/month (${s.reactive.savingsPercent.toFixed(1)}%)`,
      pass: s.reactive.savingsPercent >= 25,
      ...(s.reactive.savingsPercent < 25 ? { note: "Redis, MSK, OpenSearch and the fixed lines do not scale with load" } : {}),
    },
    // The design's "Scaling Response Time" is the autoscaler's decision (load change -> replicas
    // requested; lib/scaling/responseTime.ts): judged on it, with ready capacity beside it.
    ...(["hpa", "keda"] as const).map((c): Kpi => {
      const limit = c === "hpa" ? designReactionTargets.hpaSeconds : designReactionTargets.kedaSeconds;
      const d = p.decisionSeconds[c];
      const r = p.responseSeconds[c];
      return {
        name: `Scaling decision p95, ${c === "hpa" ? "HPA" : "KEDA"}`,
        design: `< ${limit} s`,
        measured: `${d.p95.toFixed(0)} s (${d.events} rises); ready p95 ${r.p95.toFixed(0)} s, max ${r.max.toFixed(0)} s`,
        pass: d.p95 < limit,
        ...(d.p95 >= limit ? { note: `the ${c === "hpa" ? "HPA" : "KEDA"} decision takes longer than the design allows (metric delay + sync + rate limits)` } : {}),
      };
    }),
    {
      name: "CPU efficiency (used ÷ allocatable)",
      design: "> 70%",
      measured: `${pct(p.efficiency.cpu.usedOfAllocatable)} (used/req ${pct(p.efficiency.cpu.usedOfRequested, 0)}, req/alloc ${pct(p.efficiency.cpu.requestedOfAllocatable, 0)})`,
      pass: p.efficiency.cpu.usedOfAllocatable > 0.7,
      ...(p.efficiency.cpu.usedOfAllocatable <= 0.7 ? { note: "replicas run at their target (≤ 70-75%) and headroom stays for rises" } : {}),
    },
    {
      name: "Memory efficiency (requested ÷ allocatable)",
      design: "> 70%",
      measured: pct(p.efficiency.memory.requestedOfAllocatable),
      pass: p.efficiency.memory.requestedOfAllocatable > 0.7,
      ...(p.efficiency.memory.requestedOfAllocatable <= 0.7 ? { note: "CPU fills the nodes first: the contract's pods ask less memory per core than the instance types hold" } : {}),
    },
    {
      name: "Availability (service-minutes ready ≥ needed)",
      design: "99.9%",
      measured: `${pct(p.availability, 2)}; lowest ${worst ? `${worst[0]} ` : ""}${pct(minAvail, 2)}`,
      pass: minAvail >= 0.999,
      ...(minAvail < 0.999 ? { note: `${worst && scalers.get(worst[0]) === "keda" ? `${worst[0]} is a queue consumer (KEDA): its short minutes delay messages (at worst ${worst[1].backlogMaxSeconds.toFixed(0)} s of work queued), they do not lose them; ` : ""}load rises faster than the autoscaler's decision plus a ${replayConstants.podStartSeconds} s pod start (and a node launch when no node has room); predictive floors fall back while the forecaster has no confident model` } : {}),
    },
  ];
  if (spike) {
    const capped = Object.entries(spike.services).filter(([, v]) => v.neededReplicas > v.maxReplicas);
    kpis.push({
      name: "Handle 10x traffic spikes (API services)",
      design: "10x",
      measured: spike.secondsToCapacity === null ? `not reached in ${spike.durationMinutes} min; ${spike.underMinutes.toFixed(0)} svc-min under` : `${spike.secondsToCapacity.toFixed(0)} s to capacity; ${spike.underMinutes.toFixed(0)} svc-min under`,
      pass: spike.secondsToCapacity !== null && capped.length === 0,
      ...(capped.length ? { note: `10x needs more than the maximum for ${capped.map(([n, v]) => `${n} (${v.neededReplicas} > ${v.maxReplicas})`).join(", ")}` } : {}),
    });
  }
  return kpis;
}
