/**
 * One scenario of the replay: pods (the HPA simulation of automation/backtest/hpa.ts, driven by the
 * rendered HPA/KEDA settings), nodes (a Karpenter model over the rendered NodePools) and the data
 * tier, stepped together every HPA sync (15 s), priced per second of use.
 *
 * Pods. Each service's load (per minute) is read by its autoscaler `metricDelaySeconds` late (HPA:
 * scrape + metrics-server; KEDA: read at the sync); C, the load
 * one replica carries at 100% of its CPU request, is peak / (u × max): the load's peak needs the
 * service's maximum at its target u. A service needs ceil(load / C) READY replicas; a tick where it
 * has fewer counts as unavailable. Floors: the rendered minimum; KEDA's business-hours cron trigger
 * and the automation service's scheduled profiles (scheduled, predictive); predictive floors
 * (predictive). Pods are Ready `podStartSeconds` (model.ts: the pod startup SLO + the contract's
 * readiness probe) after creation on a node that is Ready, or that long
 * after their node becomes Ready.
 *
 * Nodes (Karpenter v1.14 behaviour, data/aws/SOURCES.md):
 * - each pod goes to its class's spot or on-demand NodePool: the spot pods of n replicas are the
 *   spread over the rendered pools gives (stack.ts); it is scheduled onto the least-allocated node of
 *   the pool with room (allocatable cpu, memory and pods from Karpenter's table);
 * - pods that fit nowhere are batched (1 s idle, at most 10 s) and Karpenter launches nodes for
 *   them: the pool's type with the lowest price per pod it can hold (spot: on-demand × (1 − Spot
 *   Advisor savings), standing in for price-capacity-optimized, which has no capacity data offline),
 *   within the pool's node limit; a node is Ready after a launch-to-Ready draw (model.ts);
 * - the disruption loop runs every 10 s and takes one action: emptiness (empty nodes past
 *   consolidateAfter, within the pool's disruption budget), else single-node consolidation of an
 *   underutilised node (WhenEmptyOrUnderutilized) whose pods fit on the other nodes (delete) or on
 *   one cheaper type (replace; spot→spot only with the SpotToSpotConsolidation gate and ≥ 15
 *   cheaper types). Moved pods are evicted one at a time per service (PDB maxUnavailable 1): each is
 *   down for a pod start;
 * - spot interruptions: each spot node draws its interruption time from its type's Spot Advisor
 *   band (model.ts); at the 2-minute notice the node is cordoned and replacements are scheduled or
 *   provisioned at once; the old pods serve until the node goes, then are down until their
 *   replacements are Ready.
 * Not modelled: multi-node consolidation, drift, expiry (expireAfter 720 h), DaemonSet overhead,
 * zones, ICE (insufficient capacity) and the spot price's movement within a month.
 *
 * Data tier: Aurora Serverless v2 writer ACU follows the API load (the mean of the HPA services'
 * load ÷ peak), 0.5-ACU steps billed per second within the stack's range (the scheduled profile's
 * minimum when it raises it); readers follow Application Auto Scaling's target tracking on the same
 * load (target CPU, cooldowns) with each reader's ACU the read load ÷ readers. Redis, MSK and
 * OpenSearch run at the capacity the stack renders (fixed items of the cost model).
 */
import { HpaSimulator } from "../backtest/hpa";
import { mulberry32 } from "../backtest/synthetic";
import { neededReplicas } from "../backtest/simulate";
import { hasSpotFacts, onDemandHourly, allocatable, spotFacts } from "../../lib/cost/ec2";
import { priceOf } from "../../lib/cost/prices";
import { acuStep, hourlyInterruptionHazard, percentile, replayConstants as K, triangular } from "./model";
import { rootVolumeHourly, type PoolModel, type ReplayStack, type ServiceModel } from "./stack";

export const scenarioNames = ["static", "reactive", "scheduled", "predictive"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** Per-minute floors of the scheduled profiles (−1: no override). */
export interface ProfileTimeline {
  /** serviceMin[s][minute] */
  readonly serviceMin: readonly Int16Array[];
  readonly systemNodes: Int16Array;
  readonly auroraMinAcu: Float32Array;
}

export interface EngineInput {
  readonly stack: ReplayStack;
  /** Per service (stack.services order): load per minute. */
  readonly loads: readonly Float64Array[];
  readonly startMs: number;
  readonly minutes: number;
  readonly seed: number;
  readonly scenario: ScenarioName;
  /** KEDA cron floors per service per minute (scheduled, predictive): 1 inside the window. */
  readonly cronActive?: readonly (Uint8Array | undefined)[];
  readonly profiles?: ProfileTimeline;
  /** Predictive floors per service per 15-minute bucket (−1: fallback to reactive). */
  readonly predictiveFloors?: readonly (Int32Array | undefined)[];
  readonly predictiveBucketMinutes?: number;
  /** From a predictive decision (at its bucket's start) to the floor in force, ms: the service's apply delay. */
  readonly predictiveApplyDelayMs?: number;
  /** Load per replica at 100% (C) per service; default peak / (u × max) of the given loads. */
  readonly capacityPerReplica?: readonly number[];
  /** Peak load per service for the Aurora mapping; default the given loads' peaks. */
  readonly peaks?: readonly number[];
  /** Simulate only these minutes [from, to) (spike runs). */
  readonly window?: { readonly fromMinute: number; readonly toMinute: number };
  /** Pod creation to Ready on a Ready node, seconds (default replayConstants.podStartSeconds). */
  readonly podStartSeconds?: number;
  /** Chart sample every N minutes (default 60). */
  readonly chartEveryMinutes?: number;
}

export interface ResponseStats {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly events: number;
}

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  /** USD over the simulated span, by component. */
  readonly usd: Record<string, number>;
  readonly hours: number;
  readonly availability: number;
  /**
   * backlogMaxSeconds (KEDA services, queue consumers): the work that queued while Ready capacity was
   * short, at its worst, in seconds of the Ready replicas' capacity (of one replica's while none is
   * Ready) (a short minute delays messages,
   * it does not lose them); 0 for HPA services.
   */
  readonly perService: Record<string, { availability: number; replicaHours: number; underMinutes: number; peakReplicas: number; backlogMaxSeconds: number }>;
  /** From a rise that finds ready capacity short to Ready ≥ needed (pod and node start included). */
  readonly responseSeconds: { hpa: ResponseStats; keda: ResponseStats };
  /** The design's KPI: from a rise that finds the requested replicas short to replicas requested ≥ needed (the scaling decision). */
  readonly decisionSeconds: { hpa: ResponseStats; keda: ResponseStats };
  readonly efficiency: { cpu: { usedOfRequested: number; requestedOfAllocatable: number; usedOfAllocatable: number }; memory: { requestedOfAllocatable: number } };
  readonly nodeHours: { onDemand: number; spot: number; system: number };
  readonly interruptions: number;
  readonly podsEvicted: number;
  readonly consolidations: { empty: number; deleted: number; replaced: number };
  readonly nodesLaunched: number;
  readonly peakNodes: number;
  readonly launchesByType: Record<string, number>;
  readonly aurora: { averageWriterAcu: number; peakReaders: number; acuHours: number };
  readonly chart: { minute: number[]; usdPerHour: number[]; pods: number[]; neededPods: number[]; nodes: number[] };
  /** Per API service: ready and needed per tick in the window (spike runs only). */
  readonly ticks?: { t: Float64Array; ready: Int32Array[]; need: Int32Array[] };
}

interface LagRecord {
  /** Node id the pod waits for (−1 pending, no node). */
  node: number;
  pool: number;
  downFrom: number;
  readyAt: number;
}

interface NodeState {
  readonly id: number;
  readonly pool: number;
  readonly type: string;
  readonly spot: boolean;
  readonly cpu: number;
  readonly mem: number;
  readonly podCap: number;
  readonly hourly: number;
  usedCpu: number;
  usedMem: number;
  usedPods: number;
  readonly perSvc: Int16Array;
  readonly launchedAt: number;
  readyAt: number;
  noticeAt: number;
  terminateAt: number;
  draining: boolean;
  lastChange: number;
}


export function runScenario(input: EngineInput): ScenarioResult {
  const { stack, scenario } = input;
  const services = stack.services;
  const S = services.length;
  const tickMs = K.tickSeconds * 1000;
  const podStartSeconds = input.podStartSeconds ?? K.podStartSeconds;
  if (!(podStartSeconds >= 0)) throw new RangeError(`podStartSeconds ${podStartSeconds}: must be >= 0`);
  const podStartMs = podStartSeconds * 1000;
  const rng = mulberry32(input.seed);
  const fromMin = input.window?.fromMinute ?? 0;
  const toMin = input.window?.toMinute ?? input.minutes;
  const t0 = input.startMs + fromMin * 60_000;
  const tEnd = input.startMs + toMin * 60_000;
  const isStatic = scenario === "static";

  const peaks = input.peaks ?? input.loads.map((l) => l.reduce((m, v) => (v > m ? v : m), 0));
  const C = input.capacityPerReplica ?? services.map((s, i) => Math.max(peaks[i]! / (s.targetUtilization * s.max), 1e-12));
  const loadAt = (i: number, t: number) => {
    const m = Math.min(input.minutes - 1, Math.max(0, Math.floor((t - input.startMs) / 60_000)));
    return input.loads[i]![m]!;
  };
  const minuteOf = (t: number) => Math.min(input.minutes - 1, Math.max(0, Math.floor((t - input.startMs) / 60_000)));

  // Pools: class → spot / on-demand pool index (highest weight first).
  const pools = stack.pools;
  const poolFor = (cls: string, spot: boolean): number => {
    let best = -1;
    pools.forEach((p, i) => {
      if (p.workloadClass !== cls || (p.capacityType === "spot") !== spot) return;
      if (best < 0 || p.weight > pools[best]!.weight) best = i;
    });
    return best;
  };
  const svcPools = services.map((s) => ({ spot: isStatic ? -1 : poolFor(s.workloadClass, true), od: poolFor(s.workloadClass, false) }));
  for (const [i, p] of svcPools.entries()) if (p.od < 0 && p.spot < 0) throw new Error(`no NodePool for class '${services[i]!.workloadClass}' (service ${services[i]!.name})`);
  const poolHourly = pools.map((p) => p.instanceTypes.map((type) => (p.capacityType === "spot" && !isStatic ? spotFacts(type).spotHourly : onDemandHourly(type))));
  const poolAlloc = pools.map((p) => p.instanceTypes.map((type) => allocatable(type)));
  const rootHourly = rootVolumeHourly(stack.rootVolumeGiB);

  // Floors.
  const bucketMs = (input.predictiveBucketMinutes ?? 15) * 60_000;
  const staticReplicas = services.map((s, i) => Math.min(s.max, Math.max(s.min, Math.ceil(peaks[i]! / (s.targetUtilization * C[i]!) - 1e-9))));
  const floorAt = (i: number, t: number): number => {
    const s = services[i]!;
    let f = s.min;
    if (scenario === "scheduled" || scenario === "predictive") {
      const m = minuteOf(t);
      if (input.cronActive?.[i]?.[m] && s.cron) f = Math.max(f, s.cron.replicas);
      const p = input.profiles?.serviceMin[i]?.[m] ?? -1;
      if (p >= 0) f = Math.max(f, p);
    }
    if (scenario === "predictive") {
      const floors = input.predictiveFloors?.[i];
      if (floors) {
        // The floor decided at bucket b's start is in force from then plus the apply delay (as in the backtest).
        const b = Math.floor((t - (input.predictiveApplyDelayMs ?? 0) - input.startMs) / bucketMs);
        const v = b >= 0 && b < floors.length ? floors[b]! : -1;
        if (v >= 0) f = Math.max(f, v);
      }
    }
    return Math.min(f, s.max);
  };

  const hpas = services.map((s, i) => {
    const initial = Math.max(floorAt(i, t0), Math.min(s.max, Math.ceil(loadAt(i, t0) / (s.targetUtilization * C[i]!) - 1e-9)));
    return new HpaSimulator(
      { targetUtilization: s.targetUtilization, capacityPerReplica: C[i]!, minReplicas: s.min, maxReplicas: s.max, podStartSeconds, behavior: s.behavior, cooldownSeconds: s.cooldownSeconds },
      isStatic ? staticReplicas[i]! : initial,
      t0,
    );
  });

  // Node state.
  const nodes: NodeState[] = [];
  let nextId = 0;
  const lags: LagRecord[][] = services.map(() => []);
  const pending: number[][] = services.map(() => pools.map(() => 0));
  const pendingSince = pools.map(() => Number.POSITIVE_INFINITY);
  const launchesByType: Record<string, number> = {};
  let nodesLaunched = 0;
  let interruptions = 0;
  let podsEvicted = 0;
  const consolidations = { empty: 0, deleted: 0, replaced: 0 };

  const fits = (n: NodeState, s: ServiceModel) => !n.draining && n.usedCpu + s.requests.cpuMillis <= n.cpu && n.usedMem + s.requests.memoryMiB <= n.mem && n.usedPods + 1 <= n.podCap;
  const addPod = (n: NodeState, i: number, t: number) => {
    const s = services[i]!;
    n.usedCpu += s.requests.cpuMillis;
    n.usedMem += s.requests.memoryMiB;
    n.usedPods++;
    n.perSvc[i]!++;
    n.lastChange = t;
  };
  const removePod = (n: NodeState, i: number, t: number) => {
    const s = services[i]!;
    n.usedCpu -= s.requests.cpuMillis;
    n.usedMem -= s.requests.memoryMiB;
    n.usedPods--;
    n.perSvc[i]!--;
    n.lastChange = t;
  };

  const launchNode = (pool: number, typeIndex: number, at: number, readyAt: number): NodeState => {
    const p = pools[pool]!;
    const type = p.instanceTypes[typeIndex]!;
    const a = poolAlloc[pool]![typeIndex]!;
    const spot = p.capacityType === "spot" && !isStatic;
    let noticeAt = Number.POSITIVE_INFINITY;
    if (spot && hasSpotFacts(type)) {
      const lambda = hourlyInterruptionHazard(spotFacts(type).band.monthlyRate);
      noticeAt = at + (-Math.log(1 - rng()) / lambda) * 3_600_000;
    }
    const n: NodeState = {
      id: nextId++, pool, type, spot, cpu: a.cpuMillis, mem: a.allocatableMemoryMiB, podCap: a.pods, hourly: poolHourly[pool]![typeIndex]!,
      usedCpu: 0, usedMem: 0, usedPods: 0, perSvc: new Int16Array(S), launchedAt: at, readyAt, noticeAt, terminateAt: Number.POSITIVE_INFINITY, draining: false, lastChange: at,
    };
    nodes.push(n);
    nodesLaunched++;
    launchesByType[type] = (launchesByType[type] ?? 0) + 1;
    return n;
  };
  const poolNodeCount = (pool: number) => nodes.reduce((k, n) => k + (n.pool === pool && !n.draining ? 1 : 0), 0);

  /** Pods of service i the pool holds (not on draining nodes) plus its pending ones. */
  const held = (i: number, pool: number) => {
    let k = pending[i]![pool]!;
    for (const n of nodes) if (n.pool === pool && !n.draining) k += n.perSvc[i]!;
    return k;
  };

  /** Places one pod of service i on the least-allocated node of the pool with room; undefined when none. */
  const placeOnExisting = (i: number, pool: number): NodeState | undefined => {
    const s = services[i]!;
    let best: NodeState | undefined;
    for (const n of nodes) {
      if (n.pool !== pool || !fits(n, s)) continue;
      if (!best || n.usedCpu / n.cpu < best.usedCpu / best.cpu) best = n;
    }
    return best;
  };

  /** Pending pods of a pool are provisioned: node per cheapest price per pod held. */
  const provision = (pool: number, at: number, instant: boolean) => {
    const p = pools[pool]!;
    for (;;) {
      const want: number[] = services.map((_, i) => pending[i]![pool]!);
      const total = want.reduce((a, b) => a + b, 0);
      if (total === 0) return;
      if (!isStatic && poolNodeCount(pool) >= p.maxNodes) return; // limits.nodes: the pods stay pending
      let bestType = -1;
      let bestScore = Number.POSITIVE_INFINITY;
      let bestCount = 0;
      p.instanceTypes.forEach((_, ti) => {
        const a = poolAlloc[pool]![ti]!;
        let cpu = 0;
        let mem = 0;
        let count = 0;
        for (let i = 0; i < S; i++) {
          const s = services[i]!;
          for (let k = 0; k < want[i]!; k++) {
            if (cpu + s.requests.cpuMillis > a.cpuMillis || mem + s.requests.memoryMiB > a.allocatableMemoryMiB || count + 1 > a.pods) break;
            cpu += s.requests.cpuMillis;
            mem += s.requests.memoryMiB;
            count++;
          }
        }
        if (count === 0) return;
        const score = poolHourly[pool]![ti]! / count;
        if (score < bestScore - 1e-12) {
          bestScore = score;
          bestType = ti;
          bestCount = count;
        }
      });
      if (bestType < 0) return; // no type holds even one pod
      void bestCount;
      const readyAt = instant ? at : at + triangular(rng(), K.launchToReady.min, K.launchToReady.mode, K.launchToReady.max) * 1000;
      const n = launchNode(pool, bestType, at, readyAt);
      for (let i = 0; i < S; i++) {
        while (pending[i]![pool]! > 0 && fits(n, services[i]!)) {
          addPod(n, i, at);
          pending[i]![pool]!--;
          const lag = lags[i]!.find((l) => l.node === -1 && l.pool === pool);
          if (lag) {
            lag.node = n.id;
            lag.readyAt = readyAt + podStartMs;
          }
        }
      }
    }
  };

  /** Schedules the pending pods of every pool onto existing nodes; what is left waits for a batch. */
  const schedulePending = (t: number) => {
    for (let pool = 0; pool < pools.length; pool++) {
      for (let i = 0; i < S; i++) {
        while (pending[i]![pool]! > 0) {
          const n = placeOnExisting(i, pool);
          if (!n) break;
          addPod(n, i, t);
          pending[i]![pool]!--;
          const lag = lags[i]!.find((l) => l.node === -1 && l.pool === pool);
          if (lag) {
            lag.node = n.id;
            lag.readyAt = Math.max(t, n.readyAt) + podStartMs;
          }
        }
      }
      const any = services.some((_, i) => pending[i]![pool]! > 0);
      if (any && pendingSince[pool] === Number.POSITIVE_INFINITY) pendingSince[pool] = t;
      if (!any) pendingSince[pool] = Number.POSITIVE_INFINITY;
    }
  };

  /** Moves the pods of node n to other places (evictions paced by the PDB, one per service at a time). */
  const evictPaced = (n: NodeState, t: number, targets: Map<number, NodeState[]>): number => {
    let longest = 0;
    for (let i = 0; i < S; i++) {
      const k = n.perSvc[i]!;
      const dest = targets.get(i) ?? [];
      for (let j = 0; j < k; j++) {
        const to = dest[j]!;
        addPod(to, i, t);
        const start = Math.max(t, to.readyAt);
        lags[i]!.push({ node: to.id, pool: to.pool, downFrom: start + j * podStartMs, readyAt: start + (j + 1) * podStartMs });
        longest = Math.max(longest, start + (j + 1) * podStartMs - t);
      }
      while (n.perSvc[i]! > 0) removePod(n, i, t);
    }
    return longest;
  };

  /** Where the pods of n would go on the other Ready nodes of its pool (first fit), or undefined. */
  const reschedulePlan = (n: NodeState, t: number): Map<number, NodeState[]> | undefined => {
    const others = nodes.filter((o) => o !== n && o.pool === n.pool && !o.draining && o.readyAt <= t);
    const room = others.map((o) => ({ o, cpu: o.cpu - o.usedCpu, mem: o.mem - o.usedMem, pods: o.podCap - o.usedPods }));
    const plan = new Map<number, NodeState[]>();
    for (let i = 0; i < S; i++) {
      const s = services[i]!;
      for (let k = 0; k < n.perSvc[i]!; k++) {
        const r = room.find((x) => x.cpu >= s.requests.cpuMillis && x.mem >= s.requests.memoryMiB && x.pods >= 1);
        if (!r) return undefined;
        r.cpu -= s.requests.cpuMillis;
        r.mem -= s.requests.memoryMiB;
        r.pods--;
        plan.set(i, [...(plan.get(i) ?? []), r.o]);
      }
    }
    return plan;
  };

  const budgetLeft = (pool: number) => {
    const inPool = nodes.filter((n) => n.pool === pool);
    const allowed = Math.ceil((inPool.length * pools[pool]!.budgetPercent) / 100);
    return allowed - inPool.filter((n) => n.draining).length;
  };

  type Command = { kind: "empty"; nodes: NodeState[] } | { kind: "delete"; node: NodeState } | { kind: "replace"; node: NodeState; type: number };
  /** A command waiting out Karpenter's 15 s validation: the candidates keep serving (and take pods) meanwhile. */
  let validating: { cmd: Command; decidedAt: number; due: number } | undefined;

  /** The cheapest cheaper type of n's pool that holds all its pods, or −1 (spot→spot only behind the gate). */
  const replacementType = (n: NodeState): number => {
    const p = pools[n.pool]!;
    const cheaper = p.instanceTypes.map((_, ti) => ti).filter((ti) => poolHourly[n.pool]![ti]! < n.hourly - 1e-9);
    if (n.spot && !(stack.spotToSpotConsolidation && cheaper.length >= K.minTypesForSpotToSpot)) return -1;
    const fitting = cheaper.filter((ti) => {
      const a = poolAlloc[n.pool]![ti]!;
      return n.usedCpu <= a.cpuMillis && n.usedMem <= a.allocatableMemoryMiB && n.usedPods <= a.pods;
    });
    return fitting.length === 0 ? -1 : fitting.reduce((b, x) => (poolHourly[n.pool]![x]! < poolHourly[n.pool]![b]! ? x : b));
  };

  /** What one pass of the disruption loop would do at t (no side effects). */
  const decide = (t: number): Command | undefined => {
    // Emptiness: every empty node past consolidateAfter in one pool, within its budget.
    for (let pool = 0; pool < pools.length; pool++) {
      const p = pools[pool]!;
      const empty = nodes.filter((n) => n.pool === pool && !n.draining && n.readyAt <= t && n.usedPods === 0 && t - n.lastChange >= p.consolidateAfterSeconds * 1000);
      if (empty.length === 0) continue;
      const k = Math.min(empty.length, budgetLeft(pool));
      if (k <= 0) continue;
      return { kind: "empty", nodes: empty.slice(0, k) };
    }
    // Single-node consolidation of an underutilised node: the one with the fewest pods first.
    const candidates = nodes
      .filter((n) => !n.draining && n.readyAt <= t && n.usedPods > 0 && pools[n.pool]!.consolidationPolicy === "WhenEmptyOrUnderutilized" && t - n.lastChange >= pools[n.pool]!.consolidateAfterSeconds * 1000)
      .sort((a, b) => a.usedPods - b.usedPods);
    for (const n of candidates) {
      if (budgetLeft(n.pool) <= 0) continue;
      if (reschedulePlan(n, t)) return { kind: "delete", node: n };
      const ti = replacementType(n);
      if (ti >= 0) return { kind: "replace", node: n, type: ti };
    }
    return undefined;
  };

  /**
   * One pass of Karpenter's disruption loop: at most one action. A command is decided, then
   * re-validated after 15 s before anything is tainted: a candidate whose pods changed in the
   * meantime (a scale-up landed on it) or that no longer qualifies is dropped, as Karpenter's
   * validation does; until then the candidates stay schedulable.
   */
  const disrupt = (t: number) => {
    if (validating) {
      if (t < validating.due) return;
      const { cmd, decidedAt, due } = validating;
      validating = undefined;
      const cands = cmd.kind === "empty" ? cmd.nodes : [cmd.node];
      if (cands.some((n) => n.draining || n.lastChange > decidedAt || !nodes.includes(n))) return;
      if (cmd.kind === "empty") {
        for (const n of cmd.nodes) {
          if (n.usedPods > 0) continue;
          n.draining = true;
          n.terminateAt = due;
          consolidations.empty++;
        }
        return;
      }
      const n = cmd.node;
      if (cmd.kind === "delete") {
        const plan = reschedulePlan(n, due);
        if (!plan) return;
        n.draining = true;
        const drain = evictPaced(n, due, plan);
        n.terminateAt = due + drain;
        consolidations.deleted++;
        return;
      }
      if (replacementType(n) !== cmd.type) return;
      const repl = launchNode(n.pool, cmd.type, due, due + triangular(rng(), K.launchToReady.min, K.launchToReady.mode, K.launchToReady.max) * 1000);
      n.draining = true;
      const moves = new Map<number, NodeState[]>();
      for (let i = 0; i < S; i++) moves.set(i, Array.from({ length: n.perSvc[i]! }, () => repl));
      const drain = evictPaced(n, repl.readyAt, moves);
      n.terminateAt = repl.readyAt + drain;
      consolidations.replaced++;
      return;
    }
    const cmd = decide(t);
    if (cmd) validating = { cmd, decidedAt: t, due: t + K.consolidationValidationSeconds * 1000 };
  };

  // Accumulators.
  const usd: Record<string, number> = { "nodes-on-demand": 0, "nodes-spot": 0, "system-nodes": 0, "node-volumes": 0, aurora: 0 };
  const nodeHours = { onDemand: 0, spot: 0, system: 0 };
  const under = new Float64Array(S);
  const replicaTicks = new Float64Array(S);
  const peakReplicas = new Int32Array(S);
  let ticks = 0;
  let usedCpuSum = 0;
  let reqCpuSum = 0;
  let reqMemSum = 0;
  let allocCpuSum = 0;
  let allocMemSum = 0;
  let peakNodes = 0;
  // Response episodes, per service: a rise of the needed replicas (at most the maximum: no scaling
  // reaches past it) that finds ready capacity short / the requested replicas short.
  const shortSince = new Float64Array(S).fill(Number.NaN);
  const decideSince = new Float64Array(S).fill(Number.NaN);
  const prevNeed = new Int32Array(S);
  // KEDA consumers: load-minutes not yet served (arrivals beyond the Ready replicas' 100% capacity).
  const backlog = new Float64Array(S);
  const backlogMax = new Float64Array(S);
  const responses: { hpa: number[]; keda: number[] } = { hpa: [], keda: [] };
  const decisions: { hpa: number[]; keda: number[] } = { hpa: [], keda: [] };
  const chartEvery = (input.chartEveryMinutes ?? 60) * 60_000;
  const chart = { minute: [] as number[], usdPerHour: [] as number[], pods: [] as number[], neededPods: [] as number[], nodes: [] as number[] };
  let nextChart = t0;
  const acuPrice = priceOf("aurora.serverlessV2.acuHour");
  const systemHourly = onDemandHourly(stack.system.instanceType) + rootVolumeHourly(stack.settings.cluster.systemNodeGroup.diskSizeGiB);
  const aurora = stack.aurora;
  const apiIdx = services.map((s, i) => (s.scaler === "hpa" ? i : -1)).filter((i) => i >= 0);
  const dbLoadAt = (t: number) => apiIdx.reduce((a, i) => a + (peaks[i]! > 0 ? loadAt(i, t) / peaks[i]! : 0), 0) / Math.max(1, apiIdx.length);
  let peakDbLoad = 0;
  for (let m = fromMin; m < toMin; m++) peakDbLoad = Math.max(peakDbLoad, dbLoadAt(input.startMs + m * 60_000));
  let readers = aurora.readers;
  let lastReaderOut = Number.NEGATIVE_INFINITY;
  let lastReaderIn = Number.NEGATIVE_INFINITY;
  let writerAcuSum = 0;
  let acuHours = 0;
  let peakReaders = readers;
  const tickRecord = input.window ? { t: [] as number[], ready: services.map(() => [] as number[]), need: services.map(() => [] as number[]) } : undefined;

  // Warm start: the initial pods are on Ready nodes.
  for (let i = 0; i < S; i++) {
    const r = hpas[i]!.replicas;
    const spot = svcPools[i]!.spot >= 0 ? services[i]!.spotPods[Math.min(r, services[i]!.max)] ?? 0 : 0;
    if (svcPools[i]!.spot >= 0) pending[i]![svcPools[i]!.spot]! += spot;
    pending[i]![svcPools[i]!.od >= 0 ? svcPools[i]!.od : svcPools[i]!.spot]! += r - spot;
  }
  for (let pool = 0; pool < pools.length; pool++) provision(pool, t0, true);
  for (let pool = 0; pool < pools.length; pool++) pendingSince[pool] = Number.POSITIVE_INFINITY;
  let nextDisruption = t0;

  for (let t = t0; t < tEnd; t += tickMs) {
    const m = minuteOf(t);
    // 1. Pods: every HPA syncs on what the metrics pipeline shows.
    const replicas = new Int32Array(S);
    for (let i = 0; i < S; i++) {
      if (isStatic) {
        replicas[i] = staticReplicas[i]!;
        continue;
      }
      // The replay's loads change on minute boundaries, which are also sync instants: a real change
      // lands anywhere in a sync period, so the sync sees it up to one period later (the worst case,
      // as lib/scaling/responseTime.ts counts it: HPA 15 + 15 + 15 s, KEDA 15 s).
      const seen = loadAt(i, Math.max(input.startMs, t - (services[i]!.metricDelaySeconds + K.tickSeconds) * 1000));
      replicas[i] = hpas[i]!.sync(t, seen, floorAt(i, t));
      // Fewer replicas: step 3 removes pending pods (and their lag) first, then pods from nodes.
    }
    // 2. Spot interruptions: notice → cordon, replacements now; the node goes 2 minutes later.
    for (const n of nodes) {
      if (n.noticeAt > t || n.draining) continue;
      n.draining = true;
      n.terminateAt = n.noticeAt + K.spotNoticeSeconds * 1000;
      interruptions++;
      for (let i = 0; i < S; i++) {
        const k = n.perSvc[i]!;
        podsEvicted += k;
        for (let j = 0; j < k; j++) {
          pending[i]![n.pool]!++;
          lags[i]!.push({ node: -1, pool: n.pool, downFrom: n.terminateAt, readyAt: Number.POSITIVE_INFINITY });
        }
      }
    }
    // 3. Reconcile pods per pool with the replica counts.
    for (let i = 0; i < S; i++) {
      const s = services[i]!;
      const r = replicas[i]!;
      const sp = svcPools[i]!;
      const spotWant = sp.spot >= 0 ? s.spotPods[Math.min(r, s.max)] ?? 0 : 0;
      const wants: [number, number][] = [];
      if (sp.spot >= 0) wants.push([sp.spot, spotWant]);
      wants.push([sp.od >= 0 ? sp.od : sp.spot, r - spotWant]);
      for (const [pool, want] of wants) {
        let have = held(i, pool);
        while (have < want) {
          pending[i]![pool]!++;
          lags[i]!.push({ node: -1, pool, downFrom: t + podStartMs, readyAt: Number.POSITIVE_INFINITY });
          have++;
        }
        while (have > want) {
          if (pending[i]![pool]! > 0) {
            pending[i]![pool]!--;
            const j = lags[i]!.findIndex((l) => l.node === -1 && l.pool === pool);
            if (j >= 0) lags[i]!.splice(j, 1);
          } else {
            // From the least-loaded node holding the service.
            let victim: NodeState | undefined;
            for (const n of nodes) if (n.pool === pool && !n.draining && n.perSvc[i]! > 0 && (!victim || n.usedPods < victim.usedPods)) victim = n;
            if (!victim) break;
            removePod(victim, i, t);
            const j = lags[i]!.findIndex((l) => l.node === victim!.id && l.readyAt > t);
            if (j >= 0) lags[i]!.splice(j, 1);
          }
          have--;
        }
      }
    }
    // 4. Scheduling, then Karpenter's batch for what is left.
    schedulePending(t);
    for (let pool = 0; pool < pools.length; pool++) {
      if (pendingSince[pool] === Number.POSITIVE_INFINITY) continue;
      const decision = pendingSince[pool]! + K.batchIdleSeconds * 1000;
      if (decision <= t + tickMs) provision(pool, Math.max(decision, t), false);
      if (!services.some((_, i) => pending[i]![pool]! > 0)) pendingSince[pool] = Number.POSITIVE_INFINITY;
    }
    // 5. Disruption loop: every 10 s, one action.
    if (!isStatic) {
      while (nextDisruption <= t) {
        disrupt(nextDisruption);
        nextDisruption += K.disruptionPollSeconds * 1000;
      }
    }
    // 6. Billing for this tick, then remove nodes that are gone.
    const hours = K.tickSeconds / 3600;
    let liveNodes = 0;
    let allocCpu = 0;
    let allocMem = 0;
    for (const n of nodes) {
      const frac = Math.max(0, Math.min(tickMs, n.terminateAt - t)) / tickMs;
      if (frac <= 0) continue;
      liveNodes++;
      usd[n.spot ? "nodes-spot" : "nodes-on-demand"]! += n.hourly * hours * frac;
      usd["node-volumes"]! += rootHourly * hours * frac;
      if (n.spot) nodeHours.spot += hours * frac;
      else nodeHours.onDemand += hours * frac;
      if (n.readyAt <= t) {
        allocCpu += n.cpu;
        allocMem += n.mem;
      }
    }
    for (let j = nodes.length - 1; j >= 0; j--) {
      const n = nodes[j]!;
      if (n.terminateAt <= t + tickMs) {
        for (let i = 0; i < S; i++) {
          for (const l of lags[i]!) if (l.node === n.id && l.readyAt > n.terminateAt) l.node = -1;
        }
        nodes.splice(j, 1);
      }
    }
    peakNodes = Math.max(peakNodes, liveNodes);
    const sysNodes = Math.max(stack.system.nodes, scenario === "scheduled" || scenario === "predictive" ? input.profiles?.systemNodes[m] ?? -1 : -1);
    usd["system-nodes"]! += sysNodes * systemHourly * hours;
    nodeHours.system += sysNodes * hours;
    // 7. Aurora: writer and readers.
    const dbLoad = isStatic ? peakDbLoad : dbLoadAt(t);
    const minAcu = Math.max(aurora.minAcu, scenario === "scheduled" || scenario === "predictive" ? input.profiles?.auroraMinAcu[m] ?? -1 : -1);
    const loadAcu = aurora.maxAcu * dbLoad;
    const writer = Math.min(aurora.maxAcu, Math.max(minAcu, acuStep(loadAcu)));
    if (aurora.readerScaling) {
      const rs = aurora.readerScaling;
      const desired = Math.min(rs.max, Math.max(aurora.readers, rs.min, Math.ceil(loadAcu / (aurora.maxAcu * (rs.targetCpuPercent / 100)) - 1e-9)));
      if (desired > readers && t - lastReaderOut >= rs.scaleOutCooldownSeconds * 1000) {
        readers = desired;
        lastReaderOut = t;
      } else if (desired < readers && t - lastReaderIn >= rs.scaleInCooldownSeconds * 1000 && t - lastReaderOut >= rs.scaleInCooldownSeconds * 1000) {
        readers = desired;
        lastReaderIn = t;
      }
    }
    peakReaders = Math.max(peakReaders, readers);
    const perReader = readers > 0 ? Math.min(aurora.maxAcu, Math.max(minAcu, acuStep(loadAcu / readers))) : 0;
    const acu = writer + readers * perReader;
    usd.aurora! += acu * acuPrice * hours;
    acuHours += acu * hours;
    writerAcuSum += writer;
    // 8. Availability, response, efficiency.
    let pods = 0;
    let neededPods = 0;
    let usedCpu = 0;
    let reqCpu = 0;
    let reqMem = 0;
    if (tickRecord) tickRecord.t.push(t);
    for (let i = 0; i < S; i++) {
      const s = services[i]!;
      const load = loadAt(i, t);
      const need = neededReplicas(load, C[i]!);
      let ready: number;
      if (isStatic) ready = replicas[i]!;
      else {
        ready = hpas[i]!.ready(t);
        const l = lags[i]!;
        let w = 0;
        for (let j = l.length - 1; j >= 0; j--) {
          const x = l[j]!;
          if (x.readyAt <= t) {
            l.splice(j, 1);
            continue;
          }
          if (x.downFrom <= t) ready--;
          w++;
        }
        void w;
        if (ready < 0) ready = 0;
      }
      if (tickRecord) {
        tickRecord.ready[i]!.push(ready);
        tickRecord.need[i]!.push(need);
      }
      if (ready < need) under[i]!++;
      if (s.scaler === "keda") {
        const capacity = ready * C[i]!;
        backlog[i] = Math.max(0, backlog[i]! + (load - capacity) * (K.tickSeconds / 60));
        // In seconds of the Ready capacity; of one replica's while none is Ready (scale from zero: the
        // first pod drains it), so the figure stays finite and comparable.
        if (backlog[i]! > 0) backlogMax[i] = Math.max(backlogMax[i]!, (backlog[i]! / Math.max(capacity, C[i]!)) * 60);
      }
      const reachable = Math.min(need, s.max);
      if (ready < reachable) {
        if (Number.isNaN(shortSince[i]!) && reachable > prevNeed[i]!) shortSince[i] = t;
      } else if (!Number.isNaN(shortSince[i]!)) {
        (s.scaler === "hpa" ? responses.hpa : responses.keda).push((t - shortSince[i]!) / 1000);
        shortSince[i] = Number.NaN;
      }
      if (replicas[i]! < reachable) {
        if (Number.isNaN(decideSince[i]!) && reachable > prevNeed[i]!) decideSince[i] = t;
      } else if (!Number.isNaN(decideSince[i]!)) {
        (s.scaler === "hpa" ? decisions.hpa : decisions.keda).push((t - decideSince[i]!) / 1000);
        decideSince[i] = Number.NaN;
      }
      prevNeed[i] = reachable;
      replicaTicks[i]! += replicas[i]!;
      peakReplicas[i] = Math.max(peakReplicas[i]!, replicas[i]!);
      pods += replicas[i]!;
      neededPods += need;
      usedCpu += Math.min(load / C[i]!, ready) * s.requests.cpuMillis;
      reqCpu += replicas[i]! * s.requests.cpuMillis;
      reqMem += replicas[i]! * s.requests.memoryMiB;
    }
    usedCpuSum += usedCpu;
    reqCpuSum += reqCpu;
    reqMemSum += reqMem;
    allocCpuSum += allocCpu;
    allocMemSum += allocMem;
    ticks++;
    if (t >= nextChart) {
      const rate = (usd["nodes-on-demand"]! + usd["nodes-spot"]! + usd["system-nodes"]! + usd["node-volumes"]! + usd.aurora!) ;
      chart.minute.push(m);
      chart.usdPerHour.push(rate);
      chart.pods.push(pods);
      chart.neededPods.push(neededPods);
      chart.nodes.push(liveNodes);
      nextChart += chartEvery;
    }
  }
  // Chart: cumulative → hourly rate per interval.
  const cum = chart.usdPerHour;
  const rates = cum.map((c, k) => (k === 0 ? 0 : (c - cum[k - 1]!) / (chartEvery / 3_600_000)));
  if (rates.length > 1) rates[0] = rates[1]!;
  for (let i = 0; i < S; i++) {
    if (!Number.isNaN(shortSince[i]!)) (services[i]!.scaler === "hpa" ? responses.hpa : responses.keda).push((tEnd - shortSince[i]!) / 1000);
    if (!Number.isNaN(decideSince[i]!)) (services[i]!.scaler === "hpa" ? decisions.hpa : decisions.keda).push((tEnd - decideSince[i]!) / 1000);
  }
  const stats = (xs: number[]): ResponseStats => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p95: percentile(s, 95), max: s.length ? s[s.length - 1]! : 0, events: s.length };
  };
  const hours = (ticks * K.tickSeconds) / 3600;
  const perService: ScenarioResult["perService"] = {};
  services.forEach((s, i) => {
    perService[s.name] = { availability: ticks ? 1 - under[i]! / ticks : 1, replicaHours: (replicaTicks[i]! * K.tickSeconds) / 3600, underMinutes: (under[i]! * K.tickSeconds) / 60, peakReplicas: peakReplicas[i]!, backlogMaxSeconds: backlogMax[i]! };
  });
  const totalUnder = under.reduce((a, b) => a + b, 0);
  return {
    scenario,
    usd,
    hours,
    availability: ticks ? 1 - totalUnder / (ticks * S) : 1,
    perService,
    responseSeconds: { hpa: stats(responses.hpa), keda: stats(responses.keda) },
    decisionSeconds: { hpa: stats(decisions.hpa), keda: stats(decisions.keda) },
    efficiency: {
      cpu: { usedOfRequested: reqCpuSum ? usedCpuSum / reqCpuSum : 0, requestedOfAllocatable: allocCpuSum ? reqCpuSum / allocCpuSum : 0, usedOfAllocatable: allocCpuSum ? usedCpuSum / allocCpuSum : 0 },
      memory: { requestedOfAllocatable: allocMemSum ? reqMemSum / allocMemSum : 0 },
    },
    nodeHours,
    interruptions,
    podsEvicted,
    consolidations,
    nodesLaunched,
    peakNodes,
    launchesByType,
    aurora: { averageWriterAcu: ticks ? writerAcuSum / ticks : 0, peakReaders, acuHours },
    chart: { ...chart, usdPerHour: rates },
    ...(tickRecord ? { ticks: { t: Float64Array.from(tickRecord.t), ready: tickRecord.ready.map((r) => Int32Array.from(r)), need: tickRecord.need.map((r) => Int32Array.from(r)) } } : {}),
  };
}

export type { PoolModel, ServiceModel };
