/**
 * Config overrides: the typed set of stack settings the automation service may change, how they
 * are applied to a stack's raw configuration and validated by the program's own settings schema
 * (`parseSettings`), and how they are clamped to the policy pack's ceilings.
 *
 * An override key is a path below the `autoscaling` namespace, as `pulumi config set --path` takes
 * it (`services.api-gateway.minReplicas` → `autoscaling:services.api-gateway.minReplicas`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseSettings, SettingsError, type PlatformSettings, type RawConfig } from "../lib/config/settings";
import { rawConfigFromRuntimeConfig } from "../lib/config/load";
import { offlineStackConfig } from "../lib/plan/stackConfig";
import { serviceCatalog, serviceNames } from "../lib/catalog/services";

/** Overrides: key path (without namespace) → value. */
export type Overrides = Readonly<Record<string, number>>;

const systemNodeGroupFields = ["minSize", "desiredSize", "maxSize"] as const;
const workloadClassNames = ["api", "batch", "data"] as const;

/** Every key a profile or decision may override. Kept small on purpose: capacity floors and counts only. */
export const overridableKeys: readonly string[] = [
  ...serviceNames.flatMap((s) => [`services.${s}.minReplicas`, `services.${s}.maxReplicas`]),
  ...systemNodeGroupFields.map((f) => `cluster.systemNodeGroup.${f}`),
  ...workloadClassNames.map((c) => `cluster.workloadClasses.${c}.maxNodes`),
  "database.minAcu",
  "database.maxAcu",
  "database.readReplicaScaling.minReplicas",
  "database.readReplicaScaling.maxReplicas",
  "cache.minShards",
  "cache.maxShards",
  "streaming.brokers",
  "search.dataNodes",
  "workloads.businessHoursFloorPercent",
];
const overridableKeySet = new Set(overridableKeys);

/** Groups for messages: `services.<name>.minReplicas` instead of 22 lines. */
export function describeOverridableKeys(): string {
  return [
    "services.<service>.minReplicas",
    "services.<service>.maxReplicas",
    "cluster.systemNodeGroup.{minSize,desiredSize,maxSize}",
    "cluster.workloadClasses.{api,batch,data}.maxNodes",
    "database.{minAcu,maxAcu}",
    "database.readReplicaScaling.{minReplicas,maxReplicas}",
    "cache.{minShards,maxShards}",
    "streaming.brokers",
    "search.dataNodes",
    "workloads.businessHoursFloorPercent",
  ].join(", ");
}

/**
 * Checks the key and the value's shape (not its range: that is parseSettings' job). Returns a
 * message, or undefined when fine.
 */
export function checkOverrideShape(key: string, value: unknown): string | undefined {
  if (!overridableKeySet.has(key)) {
    const m = /^services\.([^.]+)\.(minReplicas|maxReplicas)$/.exec(key);
    if (m && !(serviceNames as readonly string[]).includes(m[1]!)) {
      return `unknown service '${m[1]}' (known: ${serviceNames.join(", ")})`;
    }
    return `is not an overridable setting (allowed: ${describeOverridableKeys()})`;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number";
  if (!Number.isInteger(value)) {
    // `pulumi config set --path` stores integers and booleans typed, everything else as a string
    // (pulumi/pulumi#18064), which the settings schema would then reject as "must be a number".
    return "must be a whole number: `pulumi config set --path` (the Automation API) stores non-integer numbers as strings";
  }
  return undefined;
}

/** Deep copy of plain JSON data. */
function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Sets `a.b.c` in a nested object, creating objects on the way. */
function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let cur: Record<string, unknown> = target;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

export function getPath(source: unknown, key: string): unknown {
  let cur: unknown = source;
  for (const p of key.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** The raw configuration with the overrides applied (the input is not modified). */
export function applyOverrides(raw: RawConfig, overrides: Overrides): RawConfig {
  const values = clone(raw.values) as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) setPath(values, key, value);
  return { values, secretKeys: raw.secretKeys };
}

/** A stack's base configuration as the stack file holds it (secrets replaced by offline placeholders). */
export interface StackBase {
  readonly stack: string;
  readonly projectDir: string;
  readonly raw: RawConfig;
  readonly settings: PlatformSettings;
}

export function loadStackBase(projectDir: string, stack: string): StackBase {
  const offline = offlineStackConfig(projectDir, stack);
  const raw = rawConfigFromRuntimeConfig(offline.config, new Set(offline.secretKeys));
  const settings = parseSettings(stack, raw);
  return { stack, projectDir, raw, settings };
}

/** One problem of an override set, naming the key and value. */
export interface OverrideProblem {
  readonly key: string;
  readonly value: unknown;
  readonly message: string;
}

/**
 * Validates overrides against the stack: shape first, then the whole stack's settings with the
 * overrides applied, through the program's own `parseSettings`. Returns the settings or problems.
 */
export function validateOverrides(
  base: StackBase,
  overrides: Overrides,
): { ok: true; settings: PlatformSettings } | { ok: false; problems: OverrideProblem[] } {
  const problems: OverrideProblem[] = [];
  const wellFormed: Record<string, number> = {};
  for (const [key, value] of Object.entries(overrides)) {
    const shape = checkOverrideShape(key, value);
    if (shape) problems.push({ key, value, message: shape });
    else wellFormed[key] = value;
  }
  overrides = wellFormed;
  try {
    const settings = parseSettings(base.stack, applyOverrides(base.raw, overrides));
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, settings };
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    for (const p of e.problems) {
      const key = p.key.replace(/^autoscaling:/, "");
      // Attribute the problem to an override when it names one (or one of its parents/children).
      const own = Object.keys(overrides).find((k) => k === key || key.startsWith(`${k}.`) || k.startsWith(`${key}.`));
      problems.push({
        key: own ?? key,
        value: own !== undefined ? overrides[own] : p.value,
        message: own !== undefined && own !== key ? `${p.key}${p.value !== undefined ? ` = ${p.value}` : ""}: ${p.message}` : p.message,
      });
    }
    // A cross-field rule can name a key the overrides do not touch (e.g. desiredSize above maxSize
    // reports desiredSize): keep it, it still explains why the set is invalid.
    return { ok: false, problems };
  }
}

export function formatOverrideProblem(p: OverrideProblem): string {
  return `${p.key} = ${JSON.stringify(p.value)}: ${p.message}`;
}

// ---------------------------------------------------------------------------------------------
// Policy ceilings (policies/config/<stack>.json)
// ---------------------------------------------------------------------------------------------

/** The limits of the policy pack's configuration that bound overrides. */
export interface PolicyLimits {
  readonly file: string;
  readonly serviceCeilings: Readonly<Record<string, number>>;
  readonly globalMaxReplicas?: number;
  /** Services allowed to run at zero replicas; undefined when the policy is disabled. */
  readonly scaleToZeroAllowed?: readonly string[];
  readonly apiMinimum?: { readonly services: readonly string[]; readonly minimumReplicas: number };
  readonly maxAuroraAcu?: number;
  readonly maxReadReplicas?: number;
  readonly maxRedisShards?: number;
  readonly maxKafkaBrokers?: number;
  readonly maxSearchDataNodes?: number;
  readonly maxNodes?: number;
}

type PolicyConfig = Record<string, { enforcementLevel?: string } & Record<string, unknown>>;

export function policyConfigPath(projectDir: string, stack: string): string {
  return path.join(projectDir, "policies", "config", `${stack}.json`);
}

export function loadPolicyLimits(file: string): PolicyLimits {
  let doc: PolicyConfig;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8")) as PolicyConfig;
  } catch (e) {
    throw new Error(`policy configuration ${file} cannot be read: ${(e as Error).message}`);
  }
  const active = (name: string) => {
    const p = doc[name];
    return p && p.enforcementLevel !== "disabled" ? p : undefined;
  };
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const replicas = active("replica-ceilings");
  const zero = active("scale-to-zero-allow-list");
  const apiMin = active("production-api-minimum-replicas");
  const data = active("data-tier-ceilings");
  const nodes = active("node-count-ceiling");
  return {
    file,
    serviceCeilings: (replicas?.serviceCeilings as Record<string, number> | undefined) ?? {},
    globalMaxReplicas: num(replicas?.globalMaxReplicas),
    scaleToZeroAllowed: zero ? ((zero.allowedServices as string[] | undefined) ?? []) : undefined,
    apiMinimum: apiMin
      ? { services: (apiMin.services as string[] | undefined) ?? [], minimumReplicas: num(apiMin.minimumReplicas) ?? 0 }
      : undefined,
    maxAuroraAcu: num(data?.maxAuroraAcu),
    maxReadReplicas: num(data?.maxReadReplicas),
    maxRedisShards: num(data?.maxRedisShards),
    maxKafkaBrokers: num(data?.maxKafkaBrokers),
    maxSearchDataNodes: num(data?.maxSearchDataNodes),
    maxNodes: num(nodes?.maxNodes),
  };
}

/** The policy's ceiling for a key, if any. */
export function ceilingFor(limits: PolicyLimits, key: string): number | undefined {
  const min = (...v: (number | undefined)[]) => {
    const d = v.filter((x): x is number => x !== undefined);
    return d.length ? Math.min(...d) : undefined;
  };
  const svc = /^services\.([^.]+)\.(minReplicas|maxReplicas)$/.exec(key);
  if (svc) return min(limits.serviceCeilings[svc[1]!], limits.globalMaxReplicas);
  if (key === "database.minAcu" || key === "database.maxAcu") return limits.maxAuroraAcu;
  if (key.startsWith("database.readReplicaScaling.")) return limits.maxReadReplicas;
  if (key === "cache.minShards" || key === "cache.maxShards") return limits.maxRedisShards;
  if (key === "streaming.brokers") return limits.maxKafkaBrokers;
  if (key === "search.dataNodes") return limits.maxSearchDataNodes;
  if (key.startsWith("cluster.systemNodeGroup.") || /^cluster\.workloadClasses\.[a-z]+\.maxNodes$/.test(key)) return limits.maxNodes;
  return undefined;
}

/** The policy's floor for a key, if any (API minimum replicas; no zero outside the allow-list). */
export function floorFor(limits: PolicyLimits, key: string): number | undefined {
  const svc = /^services\.([^.]+)\.(minReplicas|maxReplicas)$/.exec(key);
  if (!svc) return undefined;
  const name = svc[1]!;
  let floor: number | undefined;
  if (limits.apiMinimum && limits.apiMinimum.services.includes(name)) floor = limits.apiMinimum.minimumReplicas;
  if (svc[2] === "minReplicas" && limits.scaleToZeroAllowed && !limits.scaleToZeroAllowed.includes(name)) floor = Math.max(floor ?? 0, 1);
  return floor;
}

export interface Adjustment {
  readonly key: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

/**
 * Clamps every override into the policy pack's limits, so nothing above a ceiling (or below a
 * mandatory floor) is ever sent to `pulumi up`. Returns the clamped set and what was changed.
 */
export function clampToPolicy(overrides: Overrides, limits: PolicyLimits): { overrides: Record<string, number>; adjustments: Adjustment[] } {
  const out: Record<string, number> = {};
  const adjustments: Adjustment[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    let v = value;
    const ceiling = ceilingFor(limits, key);
    if (ceiling !== undefined && v > ceiling) {
      adjustments.push({ key, from: v, to: ceiling, reason: `policy ceiling ${ceiling} (${path.basename(limits.file)})` });
      v = ceiling;
    }
    const floor = floorFor(limits, key);
    if (floor !== undefined && v < floor) {
      adjustments.push({ key, from: v, to: floor, reason: `policy floor ${floor} (${path.basename(limits.file)})` });
      v = floor;
    }
    out[key] = v;
  }
  return { overrides: out, adjustments };
}

/**
 * The emergency profile's derived overrides: every non-critical service (catalog `critical: false`)
 * pinned to its minimum (minReplicas as in the stack file, maxReplicas = that minimum, at least 1).
 * Critical services keep the floor their scheduled profile gives them.
 */
export function emergencyOverrides(base: PlatformSettings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of serviceCatalog) {
    if (s.critical) continue;
    const range = (base.services as Record<string, { minReplicas: number; maxReplicas: number }>)[s.name];
    if (!range) continue;
    out[`services.${s.name}.minReplicas`] = range.minReplicas;
    out[`services.${s.name}.maxReplicas`] = Math.max(1, range.minReplicas);
  }
  return out;
}

/** Later layers win. */
export function mergeOverrides(...layers: (Overrides | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of layers) if (l) Object.assign(out, l);
  return out;
}

/** Keys sorted for stable output and stable CLI arguments. */
export function sortedOverrides(o: Overrides): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
