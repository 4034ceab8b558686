/**
 * Scheduled profiles: one croner job per profile in the configured time zone, the holiday calendar
 * applied, and catch-up after downtime.
 *
 * Catch-up: on start (and on every reconcile tick) the scheduler works out which profile is due now
 * — the profile whose latest scheduled time (honouring holidays) is the most recent — and applies
 * that run once if it has not been handled (the last handled run per profile is in the store).
 * Older missed runs are superseded: recorded as skipped, never replayed. A run that failed is
 * tried again by the next reconcile; one that succeeded, changed nothing or was refused is final.
 */
import { Cron } from "croner";
import type { Applier, ApplyResult } from "./applier";
import type { AutomationConfig, ScheduledProfile } from "./config";
import type { Logger } from "./logger";
import type { Store } from "./store";

/** YYYY-MM-DD of an instant in a time zone. */
export function localDate(at: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export interface SchedulerOptions {
  readonly config: AutomationConfig;
  readonly store: Store;
  readonly applier: Applier;
  readonly logger: Logger;
  /** How far back to look for a profile's last run (default 400 days). */
  readonly lookbackDays?: number;
}

export class Scheduler {
  private jobs: Cron[] = [];
  private readonly holidays: ReadonlySet<string>;

  constructor(private readonly opts: SchedulerOptions) {
    this.holidays = new Set(opts.config.holidays);
  }

  private get config(): AutomationConfig {
    return this.opts.config;
  }

  isHoliday(at: Date): boolean {
    return this.holidays.has(localDate(at, this.config.timezone));
  }

  /** Whether a profile runs at this scheduled time, given the holiday calendar. */
  runsAt(profile: ScheduledProfile, at: Date): boolean {
    const holiday = this.isHoliday(at);
    if (profile.holidays === "only") return holiday;
    if (profile.holidays === "skip") return !holiday;
    return true;
  }

  /** The latest scheduled time of a profile at or before `now` on which it runs. */
  previousRun(profile: ScheduledProfile, now: Date): Date | undefined {
    const job = new Cron(profile.schedule, { timezone: this.config.timezone, paused: true });
    try {
      const limit = now.getTime() - (this.opts.lookbackDays ?? 400) * 86_400_000;
      // previousRuns() excludes a run exactly at the reference: look from just after `now`.
      let ref = new Date(now.getTime() + 1);
      for (;;) {
        const batch = job.previousRuns(64, ref);
        if (batch.length === 0) return undefined;
        for (const at of batch) {
          if (at.getTime() < limit) return undefined;
          if (at.getTime() <= now.getTime() && this.runsAt(profile, at)) return at;
        }
        ref = new Date(batch[batch.length - 1]!.getTime() - 1);
      }
    } finally {
      job.stop();
    }
  }

  /** The profile run that is current at `now` (latest scheduled time; ties go to the later profile in the file). */
  currentRun(now: Date): { profile: ScheduledProfile; at: Date } | undefined {
    let best: { profile: ScheduledProfile; at: Date } | undefined;
    for (const profile of this.config.profiles) {
      const at = this.previousRun(profile, now);
      if (!at) continue;
      if (!best || at.getTime() > best.at.getTime() || (at.getTime() === best.at.getTime() && profile.order > best.profile.order)) best = { profile, at };
    }
    return best;
  }

  static decisionKey(stack: string, profile: string, at: Date): string {
    return `scheduled:${stack}:${profile}:${at.toISOString()}`;
  }

  /** Applies one scheduled run (idempotent: the same run never applies twice). */
  async runScheduled(profile: ScheduledProfile, at: Date, opts: { catchUp?: boolean } = {}): Promise<ApplyResult | undefined> {
    const { store, applier, logger } = this.opts;
    const stack = this.config.stack;
    if (!this.runsAt(profile, at)) {
      logger.info({ profile: profile.name, at, holiday: this.isHoliday(at) }, "scheduled run not applicable (holiday calendar)");
      return undefined;
    }
    const result = await applier.apply({
      kind: "scheduled",
      trigger: "scheduled",
      key: Scheduler.decisionKey(stack, profile.name, at),
      profile: profile.name,
      scheduledFor: at,
      reason: `${profile.name} profile scheduled at ${at.toISOString()} (${profile.schedule} ${this.config.timezone})${opts.catchUp ? ", caught up after downtime" : ""}`,
      nextState: (s) => ({ ...s, scheduledProfile: profile.name, scheduledAt: at }),
    });
    // Handled: applied, nothing to change, refused (final), or already finished earlier. A duplicate
    // still `applying` (its holder died mid-update) is not: the reconcile reclaims it once stale.
    const finished = result.decision && ["succeeded", "no-change", "refused", "skipped"].includes(result.decision.status);
    if (result.outcome === "succeeded" || result.outcome === "no-change" || result.outcome === "refused" || (result.outcome === "duplicate" && finished)) {
      await store.recordScheduledRun(stack, profile.name, at, result.decision?.id ?? null);
    }
    return result;
  }

  /**
   * Applies the current run if it has not been handled; marks superseded missed runs of other
   * profiles as skipped. Returns the result of the application, if one was made.
   */
  async catchUp(now: Date = new Date()): Promise<ApplyResult | undefined> {
    const { store, logger } = this.opts;
    const stack = this.config.stack;
    const current = this.currentRun(now);
    for (const profile of this.config.profiles) {
      if (current && profile.name === current.profile.name) continue;
      const at = this.previousRun(profile, now);
      if (!at) continue;
      const last = await store.lastScheduledRun(stack, profile.name);
      if (last && last.getTime() >= at.getTime()) continue;
      await store.recordSkippedDecision(
        { key: Scheduler.decisionKey(stack, profile.name, at), stack, kind: "scheduled", trigger: "scheduled", profile: profile.name, scheduledFor: at, overrides: profile.overrides, reason: "missed while the service was down; superseded by a later profile" },
        { supersededBy: current ? { profile: current.profile.name, at: current.at.toISOString() } : null },
      );
      await store.recordScheduledRun(stack, profile.name, at, null);
      logger.info({ profile: profile.name, at }, "missed scheduled run superseded: not replayed");
    }
    if (!current) return undefined;
    const last = await store.lastScheduledRun(stack, current.profile.name);
    if (last && last.getTime() >= current.at.getTime()) return undefined;
    logger.info({ profile: current.profile.name, at: current.at, lastHandled: last ?? null }, "catching up the current scheduled profile once");
    return this.runScheduled(current.profile, current.at, { catchUp: true });
  }

  /** Starts one croner job per profile. `onError` receives failures (they never stop the job). */
  start(onError?: (e: unknown, profile: string) => void): void {
    this.stop();
    for (const profile of this.config.profiles) {
      const job = new Cron(
        profile.schedule,
        { timezone: this.config.timezone, protect: true, catch: (e) => onError?.(e, profile.name) },
        async () => {
          // The exact scheduled instant (not the timer's firing time), so catch-up and the job agree on the key.
          const at = this.previousRun(profile, new Date());
          if (!at || Date.now() - at.getTime() > 5 * 60_000) return;
          await this.runScheduled(profile, at);
        },
      );
      this.jobs.push(job);
    }
  }

  stop(): void {
    for (const j of this.jobs) j.stop();
    this.jobs = [];
  }

  nextRuns(now: Date = new Date()): { profile: string; next: Date | null }[] {
    return this.config.profiles.map((p) => {
      const job = new Cron(p.schedule, { timezone: this.config.timezone, paused: true });
      try {
        let next = job.nextRun(now);
        for (let i = 0; next && i < 400 && !this.runsAt(p, next); i++) next = job.nextRun(next);
        return { profile: p.name, next };
      } finally {
        job.stop();
      }
    });
  }
}
