/**
 * The automation service's configuration file (`automation/config/<stack>.yaml`): which stack, the
 * scheduled profiles with their config overrides, the emergency profile, predictive and budget
 * settings. Everything is checked at start, and every problem is reported at once, naming the
 * profile, the key and the value:
 *
 *   automation/config/prod.yaml: invalid automation configuration (2 problems):
 *     - profiles.evening.schedule = "0 25 * * 1-5": not a valid cron expression (croner: ...)
 *     - profiles.weekend.overrides: services.api-gateway.minReplicas = 40: must not exceed maxReplicas (25)
 *
 * Profile overrides are validated by applying them to the stack's own settings (the stack file)
 * and running the program's `parseSettings`, and against the policy pack's ceilings.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Cron } from "croner";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  ceilingFor,
  floorFor,
  formatOverrideProblem,
  loadPolicyLimits,
  loadStackBase,
  mergeOverrides,
  emergencyOverrides,
  validateOverrides,
  type PolicyLimits,
  type StackBase,
} from "./overrides";

/** The repository root, for defaults (this file lives in `<root>/automation/`). */
export const repositoryRoot = path.resolve(__dirname, "..");

export const emergencyProfileName = "emergency";

const profileName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "must be a lowercase name of letters, digits and hyphens" });

const overridesSchema = z.record(z.string(), z.unknown(), { error: "must be a map of setting path to value" });

const scheduledProfileSchema = z.strictObject(
  {
    /** Cron expression (croner syntax, 5 or 6 fields) in the service's time zone. */
    schedule: z.string({ error: "must be a cron expression such as \"0 8 * * 1-5\"" }),
    /**
     * How the stack's holiday calendar (`autoscaling:schedules.holidays`) applies: `skip` (the
     * default) does not run the profile on a holiday, `only` runs it only on holidays, `ignore`
     * runs it regardless.
     */
    holidays: z.enum(["skip", "only", "ignore"], { error: "must be one of skip, only, ignore" }).default("skip"),
    description: z.string().optional(),
    overrides: overridesSchema.default({}),
  },
  { error: "must be a map with schedule, holidays, description and overrides" },
);

const emergencyProfileSchema = z.strictObject(
  {
    description: z.string().optional(),
    /** Pin every non-critical service (catalog `critical: false`) to its minimum. Default true. */
    nonCriticalToMinimum: z.boolean({ error: "must be true or false" }).default(true),
    overrides: overridesSchema.default({}),
  },
  { error: "must be a map with description, nonCriticalToMinimum and overrides (no schedule: the budget guard applies it)" },
);

const unit = (what: string) => z.number({ error: `must be a number from 0 to 1 (${what})` }).min(0, { error: `must be a number from 0 to 1 (${what})` }).max(1, { error: `must be a number from 0 to 1 (${what})` });
const posInt = (max: number) => z.number({ error: `must be an integer from 1 to ${max}` }).int({ error: `must be an integer from 1 to ${max}` }).min(1, { error: `must be an integer from 1 to ${max}` }).max(max, { error: `must be an integer from 1 to ${max}` });
const nonNegInt = (max: number) => z.number({ error: `must be an integer from 0 to ${max}` }).int({ error: `must be an integer from 0 to ${max}` }).min(0, { error: `must be an integer from 0 to ${max}` }).max(max, { error: `must be an integer from 0 to ${max}` });

const predictiveSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** When the forecast and the floors are recomputed (croner). */
  schedule: z.string().default("*/15 * * * *"),
  /** Minimum decision confidence (0-1) for a predictive floor; below it, reactive scaling only. */
  confidenceThreshold: unit("decision confidence").default(0.8),
  /** Forecast horizon the ensemble is validated and calibrated at, minutes (design: 1 h; a multiple of the 15-minute bucket). */
  horizonMinutes: posInt(24 * 60).default(60),
  /** Buckets the floor covers from the current one (2: this bucket and the next, for the pod start and the update's delay). */
  coverBuckets: posInt(16).default(2),
  /** Quantile τ of the bucket peak the floor carries (a missing replica costs τ/(1 − τ) spare ones; 0.9 = 9 : 1). */
  peakQuantile: z.number({ error: "must be a number from 0.5 to 0.99" }).min(0.5, { error: "must be a number from 0.5 to 0.99" }).max(0.99, { error: "must be a number from 0.5 to 0.99" }).default(0.9),
  /** A series whose samples are all equal for longer than this falls back to reactive (`flat-series`), minutes. */
  flatMinutes: posInt(7 * 24 * 60).default(120),
  /** Delay from a floor's decision to the HPA/KEDA objects carrying it (a Pulumi update), seconds; the backtest replays it. */
  applyDelaySeconds: nonNegInt(3600).default(120),
  /** History the forecaster sees, days. */
  historyDays: posInt(365).default(30),
  /** Fewest samples per signal before a forecast is attempted. */
  minSamples: posInt(100_000).default(96),
  /** At most this many replicas more than the previous floor per decision. */
  maxStepUp: posInt(100).default(4),
  /** At most this many replicas fewer than the previous floor per decision. */
  maxStepDown: nonNegInt(100).default(2),
  /** A stateless (stand-in) forecaster's latest sample must be at most this old (minutes before now), else no floor (`stale-data`); the chained engine's gate needs the last complete bucket observed. */
  maxSampleAgeMinutes: posInt(7 * 24 * 60).default(60),
}, { error: "must be a map of predictive settings" });

const budgetSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** The budget-emergency SQS queue (stack output `emergencyQueueUrl`); env BUDGET_EMERGENCY_QUEUE_URL wins. */
  queueUrl: z.string().url({ error: "must be a URL (the stack output emergencyQueueUrl)" }).optional(),
  /** Seconds between queue polls (each a long poll of up to 20 s). */
  pollIntervalSeconds: posInt(3600).default(30),
  /** Minutes between spend polls (daily, weekly, monthly spend from the spend source). */
  spendPollMinutes: posInt(24 * 60).default(60),
}, { error: "must be a map of budget settings" });

const collectorSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Prometheus HTTP API base URL; env PROMETHEUS_URL wins. */
  prometheusUrl: z.string().url({ error: "must be a URL such as http://prometheus:9090" }).default("http://kube-prometheus-stack-prometheus.monitoring.svc:9090"),
  /** When samples are collected (croner). */
  schedule: z.string().default("*/15 * * * *"),
  /** Resolution of the collected samples, seconds. */
  stepSeconds: posInt(3600).default(60),
  /** Window each run queries (the last N minutes), normally the schedule's interval. */
  windowMinutes: posInt(24 * 60).default(15),
  timeoutSeconds: posInt(300).default(30),
}, { error: "must be a map of collector settings" });

const runnerSchema = z.strictObject({
  /** Policy pack directory, relative to the project dir. */
  policyPack: z.string().default("policies"),
  /** Policy pack configuration, relative to the project dir; default `policies/config/<stack>.json`. */
  policyPackConfig: z.string().optional(),
  /** `ConcurrentUpdateError` retries (exponential backoff). */
  maxAttempts: posInt(20).default(5),
  baseDelayMs: posInt(600_000).default(2000),
  maxDelayMs: posInt(3_600_000).default(60_000),
  /** Bound of one Pulumi operation (select, config, preview, up), seconds; then it is cancelled and recorded as failed (timeout). */
  timeoutSeconds: posInt(24 * 3600).default(1200),
  /** Seconds between SIGINT (Pulumi's graceful cancel) and SIGKILL of the CLI's process group. */
  killGraceSeconds: posInt(600).default(15),
  /** Seconds between leader-lock checks while an update runs (fencing). */
  fenceCheckSeconds: posInt(60).default(2),
  /** Bound of a graceful shutdown (SIGTERM), seconds; must stay below the pod's terminationGracePeriodSeconds (60). */
  shutdownSeconds: posInt(3600).default(45),
}, { error: "must be a map of runner settings" });

const apiSchema = z.strictObject({
  /**
   * Kubernetes service accounts allowed to POST /api/runs, as `<namespace>/<name>` (the caller's
   * token is checked with TokenReview). Empty (default): nobody may request runs over HTTP.
   */
  allowedServiceAccounts: z.array(
    z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, { error: "must be <namespace>/<service account name>" }),
    { error: "must be a list of <namespace>/<service account name>" },
  ).default([]),
  /** Audience the callers' projected tokens must carry (and TokenReview must confirm). */
  audience: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/, { error: "must be a token audience (letters, digits, '.', '_', ':', '/', '-')" }).default("pyairtable-automation"),
}, { error: "must be a map with allowedServiceAccounts and audience" });

const fileSchema = z.strictObject(
  {
    /** Pulumi stack name; its stack file `Pulumi.<stack>.yaml` must exist in the project dir. */
    stack: z.string({ error: "must be a stack name" }).regex(/^[A-Za-z0-9_.-]+$/, { error: "must be a stack name of letters, digits, '.', '_' or '-'" }),
    /** The Pulumi project directory, relative to this file. Default: the repository root. */
    projectDir: z.string({ error: "must be a directory path" }).optional(),
    /** IANA time zone of every schedule. Default UTC; must match the stack's schedules.timezone. */
    timezone: z.string({ error: "must be an IANA time zone such as UTC" }).default("UTC"),
    profiles: z.record(z.string(), z.unknown(), { error: "must be a map of profile name to profile" }),
    // Sections are checked one by one below, so that every problem is reported at once.
    predictive: z.unknown().optional(),
    budget: z.unknown().optional(),
    collector: z.unknown().optional(),
    runner: z.unknown().optional(),
    api: z.unknown().optional(),
  },
  { error: "must be a map with stack, projectDir, timezone, profiles, predictive, budget, collector, runner and api" },
);

export interface ScheduledProfile {
  readonly name: string;
  readonly schedule: string;
  readonly holidays: "skip" | "only" | "ignore";
  readonly description?: string;
  readonly overrides: Readonly<Record<string, number>>;
  /** Position in the file: when two profiles fire at the same instant, the later one wins. */
  readonly order: number;
}

export interface EmergencyProfile {
  readonly name: typeof emergencyProfileName;
  readonly description?: string;
  readonly nonCriticalToMinimum: boolean;
  readonly overrides: Readonly<Record<string, number>>;
}

export type PredictiveConfig = z.infer<typeof predictiveSchema>;
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type CollectorConfig = z.infer<typeof collectorSchema>;
export type RunnerConfig = z.infer<typeof runnerSchema> & { policyPackConfig: string };
export type ApiConfig = z.infer<typeof apiSchema>;

export interface AutomationConfig {
  readonly file: string;
  readonly stack: string;
  readonly projectDir: string;
  readonly timezone: string;
  readonly profiles: readonly ScheduledProfile[];
  readonly emergency: EmergencyProfile;
  /** Holiday dates (YYYY-MM-DD) from the stack's `autoscaling:schedules.holidays`. */
  readonly holidays: readonly string[];
  readonly predictive: PredictiveConfig;
  readonly budget: BudgetConfig;
  readonly collector: CollectorConfig;
  readonly runner: RunnerConfig;
  readonly api: ApiConfig;
  readonly base: StackBase;
  readonly policyLimits: PolicyLimits;
}

export class AutomationConfigError extends Error {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`${file}: invalid automation configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "AutomationConfigError";
  }
}

export function defaultConfigFile(stack: string): string {
  return path.join(repositoryRoot, "automation", "config", `${stack}.yaml`);
}

/** Validates a cron expression with croner; returns an error message or undefined. */
export function checkCron(expression: string, timezone: string): string | undefined {
  try {
    const job = new Cron(expression, { timezone, paused: true });
    const next = job.nextRun();
    job.stop();
    if (next === null) return "never fires";
    return undefined;
  } catch (e) {
    return `not a valid cron expression (croner: ${(e as Error).message})`;
  }
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

function zodProblems(prefix: string, error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    const p = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys") return `${p ? `${p}: ` : ""}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    let value: unknown = input;
    for (const k of issue.path) value = value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
    return value === undefined ? `${p} is missing or invalid: ${issue.message}` : `${p} = ${show(value)}: ${issue.message}`;
  });
}

/** Loads and validates a configuration file. Throws AutomationConfigError listing every problem. */
export function loadAutomationConfig(file: string, opts: { projectDir?: string } = {}): AutomationConfig {
  const abs = path.resolve(file);
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(abs, "utf8"));
  } catch (e) {
    throw new AutomationConfigError(abs, [`cannot be read as YAML: ${(e as Error).message}`]);
  }
  return parseAutomationConfig(doc, abs, opts);
}

/** Validates an already parsed document (`origin` names it in messages). */
export function parseAutomationConfig(doc: unknown, origin: string, opts: { projectDir?: string } = {}): AutomationConfig {
  const problems: string[] = [];
  // Unknown top-level keys are reported with every other problem, not instead of them.
  const known = new Set(Object.keys(fileSchema.shape));
  let input = doc;
  if (doc && typeof doc === "object" && !Array.isArray(doc)) {
    const unknown = Object.keys(doc).filter((k) => !known.has(k));
    if (unknown.length > 0) {
      problems.push(`unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (allowed: ${[...known].join(", ")})`);
      input = Object.fromEntries(Object.entries(doc).filter(([k]) => known.has(k)));
    }
  }
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) throw new AutomationConfigError(origin, [...problems, ...zodProblems("", parsed.error, input)]);
  const top = parsed.data;
  const section = <T extends z.ZodType>(name: string, schema: T, value: unknown): z.infer<T> => {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    problems.push(...zodProblems(name, r.error, value));
    return schema.parse({});
  };
  const c = {
    ...top,
    predictive: section("predictive", predictiveSchema, top.predictive),
    budget: section("budget", budgetSchema, top.budget),
    collector: section("collector", collectorSchema, top.collector),
    runner: section("runner", runnerSchema, top.runner),
    api: section("api", apiSchema, top.api),
  };

  const projectDir = path.resolve(opts.projectDir ?? (c.projectDir !== undefined ? path.resolve(path.dirname(origin), c.projectDir) : repositoryRoot));
  let base: StackBase;
  try {
    base = loadStackBase(projectDir, c.stack);
  } catch (e) {
    throw new AutomationConfigError(origin, [`stack = ${show(c.stack)}: the stack's settings cannot be loaded from ${projectDir}: ${(e as Error).message}`]);
  }

  if (!isValidTimeZone(c.timezone)) problems.push(`timezone = ${show(c.timezone)}: must be an IANA time zone such as UTC or Europe/Berlin`);
  else if (c.timezone !== base.settings.schedules.timezone) {
    problems.push(`timezone = ${show(c.timezone)}: must equal the stack's autoscaling:schedules.timezone (${show(base.settings.schedules.timezone)}), or the KEDA cron floors and the profiles disagree`);
  }
  const tz = isValidTimeZone(c.timezone) ? c.timezone : "UTC";

  const policyPackConfig = c.runner.policyPackConfig ?? path.join("policies", "config", `${c.stack}.json`);
  let policyLimits: PolicyLimits;
  try {
    policyLimits = loadPolicyLimits(path.resolve(projectDir, policyPackConfig));
  } catch (e) {
    throw new AutomationConfigError(origin, [`runner.policyPackConfig = ${show(policyPackConfig)}: ${(e as Error).message}`]);
  }

  const checkOverrideSet = (where: string, overrides: Record<string, unknown>): Record<string, number> => {
    const typed: Record<string, number> = {};
    for (const [k, v] of Object.entries(overrides)) typed[k] = v as number;
    const result = validateOverrides(base, typed);
    if (!result.ok) {
      for (const p of result.problems) problems.push(`${where}: ${formatOverrideProblem(p)}`);
      return typed;
    }
    for (const [k, v] of Object.entries(typed)) {
      const ceiling = ceilingFor(policyLimits, k);
      if (ceiling !== undefined && v > ceiling) {
        problems.push(`${where}: ${k} = ${v}: exceeds the policy ceiling ${ceiling} in ${policyPackConfig}`);
      }
      const floor = floorFor(policyLimits, k);
      if (floor !== undefined && v < floor) {
        problems.push(`${where}: ${k} = ${v}: below the policy floor ${floor} in ${policyPackConfig}`);
      }
    }
    return typed;
  };

  const profiles: ScheduledProfile[] = [];
  let emergency: EmergencyProfile | undefined;
  let emergencyInvalid = false;
  let order = 0;
  for (const [name, raw] of Object.entries(c.profiles)) {
    const where = `profiles.${name}`;
    const n = profileName.safeParse(name);
    if (!n.success) {
      problems.push(`${where}: profile name ${show(name)} ${n.error.issues[0]?.message}`);
      continue;
    }
    if (name === emergencyProfileName) {
      const e = emergencyProfileSchema.safeParse(raw);
      if (!e.success) {
        problems.push(...zodProblems(where, e.error, raw));
        emergencyInvalid = true;
        continue;
      }
      const own = checkOverrideSet(`${where}.overrides`, e.data.overrides);
      if (e.data.nonCriticalToMinimum) {
        // The derived part must be valid together with the explicit overrides.
        const all = mergeOverrides(emergencyOverrides(base.settings), own);
        const r = validateOverrides(base, all);
        if (!r.ok) for (const p of r.problems) problems.push(`${where} (with nonCriticalToMinimum): ${formatOverrideProblem(p)}`);
      }
      emergency = { name: emergencyProfileName, description: e.data.description, nonCriticalToMinimum: e.data.nonCriticalToMinimum, overrides: own };
      continue;
    }
    const s = scheduledProfileSchema.safeParse(raw);
    if (!s.success) {
      problems.push(...zodProblems(where, s.error, raw));
      continue;
    }
    const cronProblem = checkCron(s.data.schedule, tz);
    if (cronProblem) problems.push(`${where}.schedule = ${show(s.data.schedule)}: ${cronProblem}`);
    const overrides = checkOverrideSet(`${where}.overrides`, s.data.overrides);
    profiles.push({ name, schedule: s.data.schedule, holidays: s.data.holidays, description: s.data.description, overrides, order: order++ });
  }
  if (profiles.length === 0) problems.push("profiles: at least one scheduled profile is required (e.g. business-hours, evening, weekend, holiday)");
  if (!emergency && !emergencyInvalid) problems.push(`profiles.${emergencyProfileName} is missing: the budget guard needs an emergency profile`);
  if (profiles.some((p) => p.holidays === "only") && base.settings.schedules.holidays.length === 0) {
    problems.push(`profiles: a profile runs only on holidays, but the stack's autoscaling:schedules.holidays is empty`);
  }

  for (const [where, expr] of [["predictive.schedule", c.predictive.schedule], ["collector.schedule", c.collector.schedule]] as const) {
    const p = checkCron(expr, tz);
    if (p) problems.push(`${where} = ${show(expr)}: ${p}`);
  }

  if (c.runner.shutdownSeconds < c.runner.killGraceSeconds + 5) {
    problems.push(`runner.shutdownSeconds = ${c.runner.shutdownSeconds}: must be at least runner.killGraceSeconds (${c.runner.killGraceSeconds}) + 5, so a cancelled update is recorded before the process exits`);
  }
  if (problems.length > 0) throw new AutomationConfigError(origin, problems);
  return {
    file: origin,
    stack: c.stack,
    projectDir,
    timezone: c.timezone,
    profiles,
    emergency: emergency!,
    holidays: base.settings.schedules.holidays,
    predictive: c.predictive,
    budget: c.budget,
    collector: c.collector,
    runner: { ...c.runner, policyPackConfig },
    api: c.api,
    base,
    policyLimits,
  };
}

export function profileByName(config: AutomationConfig, name: string): ScheduledProfile | EmergencyProfile | undefined {
  if (name === emergencyProfileName) return config.emergency;
  return config.profiles.find((p) => p.name === name);
}
