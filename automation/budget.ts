/**
 * The budget guard: tracks spend against the stack's daily, weekly and monthly limits
 * (`autoscaling:budgets`; AWS Budgets has no weekly period, so the weekly limit is enforced only
 * here), applies the emergency profile once when a budget reaches `emergencyPercent` (95%), and
 * restores the scheduled profile when utilisation falls below `warningPercent` (80%) or a new
 * period starts.
 *
 * Spend arrives two ways, both recorded as budget events in the store:
 * - the budget-emergency SQS queue (components/costControls.ts: AWS Budgets → SNS topic → SQS),
 *   consumed through the `EmergencyQueue` interface; each message is recorded once (by its SNS
 *   message id) and deleted only after it is recorded;
 * - a `SpendSource` polled every `spendPollMinutes` (production: Cost Explorer; it is what gives the
 *   weekly figure, which no AWS budget notifies).
 */
import type { Applier, ApplyResult } from "./applier";
import type { BudgetSettings } from "../lib/config/settings";
import { serviceCatalog } from "../lib/catalog/services";
import type { Logger } from "./logger";
import type { AutomationMetrics } from "./metrics";
import type { AutomationState, BudgetPeriod, Store } from "./store";

export const periods: readonly BudgetPeriod[] = ["daily", "weekly", "monthly"];

// -------------------------------------------------------------------------------------------------
// Interfaces of the outside world
// -------------------------------------------------------------------------------------------------

export interface QueueMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
}

/** The budget-emergency queue. Production: `SqsEmergencyQueue` (@aws-sdk/client-sqs). */
export interface EmergencyQueue {
  /** Long poll: at most `maxMessages`, waiting up to `waitSeconds`. */
  receive(opts: { maxMessages: number; waitSeconds: number }): Promise<QueueMessage[]>;
  delete(receiptHandle: string): Promise<void>;
}

/** Spend so far in a period [start, end). Production: Cost Explorer GetCostAndUsage. */
export interface SpendSource {
  spend(period: BudgetPeriod, start: Date, end: Date): Promise<number | undefined>;
}

// -------------------------------------------------------------------------------------------------
// Periods (UTC, as AWS Budgets counts them; weeks start on Monday)
// -------------------------------------------------------------------------------------------------

export function periodBounds(period: BudgetPeriod, now: Date): { key: string; start: Date; end: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  if (period === "daily") {
    const start = new Date(Date.UTC(y, m, d));
    return { key: start.toISOString().slice(0, 10), start, end: new Date(Date.UTC(y, m, d + 1)) };
  }
  if (period === "monthly") {
    const start = new Date(Date.UTC(y, m, 1));
    return { key: start.toISOString().slice(0, 7), start, end: new Date(Date.UTC(y, m + 1, 1)) };
  }
  const dow = (now.getUTCDay() + 6) % 7; // Monday = 0
  const start = new Date(Date.UTC(y, m, d - dow));
  // ISO week number: the week's Thursday decides the year.
  const thursday = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 3));
  const jan1 = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 1));
  const week = Math.floor((thursday.getTime() - jan1.getTime()) / 86_400_000 / 7) + 1;
  return { key: `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`, start, end: new Date(Date.UTC(y, m, d - dow + 7)) };
}

// -------------------------------------------------------------------------------------------------
// Messages
// -------------------------------------------------------------------------------------------------

export interface BudgetNotification {
  readonly messageId: string;
  readonly period: BudgetPeriod;
  readonly spendUsd: number;
  readonly limitUsd: number;
  readonly budgetName?: string;
  readonly observedAt: Date;
}

const money = (s: string) => Number(s.replace(/[$,\s]/g, ""));

/**
 * Parses a queue message: the SNS envelope (raw delivery off) around an AWS Budgets notification
 * ("Budget Name: pyairtable-prod-daily ... Budgeted Amount: $500.00 ... ACTUAL Amount: $480.12"),
 * or a JSON body `{ "period", "spendUsd", "limitUsd" }` (manual tests, other producers).
 */
export function parseBudgetMessage(m: QueueMessage, now: Date): BudgetNotification {
  let body: unknown;
  try {
    body = JSON.parse(m.body);
  } catch {
    body = m.body;
  }
  let messageId = m.messageId;
  let observedAt = now;
  let text: unknown = body;
  if (body && typeof body === "object" && (body as { Type?: string }).Type === "Notification") {
    const env = body as { MessageId?: string; Message?: string; Timestamp?: string };
    messageId = env.MessageId ?? messageId;
    if (env.Timestamp && !Number.isNaN(Date.parse(env.Timestamp))) observedAt = new Date(env.Timestamp);
    text = env.Message;
    try {
      text = JSON.parse(String(env.Message));
    } catch {
      /* AWS Budgets sends plain text */
    }
  }
  if (text && typeof text === "object") {
    const j = text as { period?: string; spendUsd?: number; limitUsd?: number };
    if ((j.period === "daily" || j.period === "weekly" || j.period === "monthly") && Number.isFinite(j.spendUsd) && Number.isFinite(j.limitUsd)) {
      return { messageId, period: j.period, spendUsd: Number(j.spendUsd), limitUsd: Number(j.limitUsd), observedAt };
    }
    throw new Error(`message ${messageId}: JSON body without period, spendUsd and limitUsd`);
  }
  const s = String(text ?? "");
  const name = /Budget Name:\s*(\S+)/i.exec(s)?.[1];
  const limit = /Budgeted Amount:\s*\$?([\d,.]+)/i.exec(s)?.[1];
  const actual = /(?:ACTUAL|FORECASTED) Amount:\s*\$?([\d,.]+)/i.exec(s)?.[1];
  let period: BudgetPeriod | undefined;
  if (name && /-daily$/i.test(name)) period = "daily";
  else if (name && /-monthly$/i.test(name)) period = "monthly";
  else if (/for the current day/i.test(s)) period = "daily";
  else if (/for the current month/i.test(s)) period = "monthly";
  if (!period || limit === undefined || actual === undefined) {
    throw new Error(`message ${messageId}: not an AWS Budgets notification this service understands (needs Budget Name, Budgeted Amount and ACTUAL Amount)`);
  }
  return { messageId, period, spendUsd: money(actual), limitUsd: money(limit), budgetName: name, observedAt };
}

// -------------------------------------------------------------------------------------------------
// The guard
// -------------------------------------------------------------------------------------------------

export interface BudgetStatus {
  readonly period: BudgetPeriod;
  readonly periodKey: string;
  /** Spend so far; null when no figure was received for this period (unknown, never shown as $0). */
  readonly spendUsd: number | null;
  readonly limitUsd: number;
  /** spend / limit; null when the spend is unknown. */
  readonly utilisation: number | null;
}

export interface BudgetGuardOptions {
  readonly stack: string;
  readonly store: Store;
  readonly applier: Applier;
  readonly metrics: AutomationMetrics;
  readonly logger: Logger;
  /** The stack's budgets (limits in USD, thresholds in percent); re-read for every evaluation. */
  readonly budgets: () => BudgetSettings;
  readonly queue?: EmergencyQueue;
  readonly spendSource?: SpendSource;
}

export class BudgetGuard {
  constructor(private readonly opts: BudgetGuardOptions) {}

  private limitOf(period: BudgetPeriod): number {
    const b = this.opts.budgets();
    return period === "daily" ? b.dailyUsd : period === "weekly" ? b.weeklyUsd : b.monthlyUsd;
  }

  /** Receives, records and deletes queue messages. Returns how many new notifications were recorded. */
  async pollQueue(now: Date = new Date(), opts: { waitSeconds?: number } = {}): Promise<number> {
    const { queue, store, logger } = this.opts;
    if (!queue) return 0;
    let recorded = 0;
    const messages = await queue.receive({ maxMessages: 10, waitSeconds: opts.waitSeconds ?? 20 });
    for (const m of messages) {
      let n: BudgetNotification;
      try {
        n = parseBudgetMessage(m, now);
      } catch (e) {
        // Left in the queue: after maxReceiveCount SQS moves it to the dead-letter queue, which alarms.
        logger.error({ messageId: m.messageId, err: (e as Error).message }, "budget message not understood: left for the dead-letter queue");
        continue;
      }
      const bounds = periodBounds(n.period, n.observedAt);
      const isNew = await store.recordBudgetEvent({
        messageId: `sqs:${n.messageId}`,
        source: "sqs",
        period: n.period,
        periodKey: bounds.key,
        spendUsd: n.spendUsd,
        limitUsd: n.limitUsd,
        observedAt: n.observedAt,
        detail: { budgetName: n.budgetName },
      });
      if (isNew) recorded++;
      logger.info({ messageId: n.messageId, period: n.period, periodKey: bounds.key, spendUsd: n.spendUsd, limitUsd: n.limitUsd, duplicate: !isNew }, "budget notification recorded");
      // Deleted only once recorded: a crash before this line means a redelivery, recorded once.
      await queue.delete(m.receiptHandle);
    }
    return recorded;
  }

  /** Asks the spend source for every period's spend so far and records it. */
  async pollSpend(now: Date = new Date()): Promise<void> {
    const { spendSource, store, logger } = this.opts;
    if (!spendSource) return;
    for (const period of periods) {
      const b = periodBounds(period, now);
      let spend: number | undefined;
      try {
        spend = await spendSource.spend(period, b.start, now);
      } catch (e) {
        logger.warn({ period, err: (e as Error).message }, "spend source failed: keeping the last known spend");
        continue;
      }
      if (spend === undefined || !Number.isFinite(spend) || spend < 0) continue;
      await store.recordBudgetEvent({
        messageId: `poll:${period}:${b.key}:${now.toISOString().slice(0, 16)}`,
        source: "poll",
        period,
        periodKey: b.key,
        spendUsd: spend,
        limitUsd: this.limitOf(period),
        observedAt: now,
      });
    }
  }

  /** Spend and utilisation per period now (and the metrics). */
  async status(now: Date = new Date()): Promise<BudgetStatus[]> {
    const { store, metrics } = this.opts;
    const out: BudgetStatus[] = [];
    for (const period of periods) {
      const b = periodBounds(period, now);
      const limitUsd = this.limitOf(period);
      const spendUsd = (await store.periodSpend(period, b.key))?.spendUsd ?? null;
      const utilisation = spendUsd === null ? null : limitUsd > 0 ? spendUsd / limitUsd : 0;
      metrics.budgetLimitUsd.set({ period }, limitUsd);
      if (spendUsd === null || utilisation === null) {
        // Unknown is not zero: no sample rather than a reassuring 0.
        metrics.budgetSpendUsd.remove({ period });
        metrics.budgetUtilisation.remove({ period });
      } else {
        metrics.budgetSpendUsd.set({ period }, spendUsd);
        metrics.budgetUtilisation.set({ period }, utilisation);
      }
      out.push({ period, periodKey: b.key, spendUsd, limitUsd, utilisation });
    }
    return out;
  }

  /**
   * Applies the emergency profile when a budget is at or above the emergency threshold (once per
   * period instance and limit), and recovers when utilisation is back below the warning threshold
   * or the period that triggered it is over. A manually applied emergency is not recovered here.
   */
  async evaluate(now: Date = new Date()): Promise<ApplyResult | undefined> {
    const { store, applier, logger, stack } = this.opts;
    const b = this.opts.budgets();
    const statuses = await this.status(now);
    const state = await store.getState(stack);
    const emergency = b.emergencyPercent / 100;
    const warning = b.warningPercent / 100;
    const breached = statuses.filter((s) => s.utilisation !== null && s.utilisation >= emergency);
    const nonCritical = serviceCatalog.filter((s) => !s.critical).map((s) => s.name);

    if (!state.emergencyActive) {
      const worst = [...breached].sort((x, y) => y.utilisation! - x.utilisation!)[0];
      if (!worst) return undefined;
      const key = `emergency:${stack}:${worst.period}:${worst.periodKey}:limit-${worst.limitUsd}`;
      const reason = { period: worst.period, periodKey: worst.periodKey, spendUsd: worst.spendUsd, limitUsd: worst.limitUsd, utilisation: worst.utilisation, key };
      logger.warn(reason, `budget ${worst.period} at ${(worst.utilisation! * 100).toFixed(1)}% (>= ${b.emergencyPercent}%): applying the emergency profile`);
      return applier.apply({
        kind: "emergency",
        trigger: "emergency",
        key,
        profile: "emergency",
        reason: `${worst.period} budget at ${(worst.utilisation! * 100).toFixed(1)}% of $${worst.limitUsd} (emergency threshold ${b.emergencyPercent}%)`,
        services: nonCritical,
        nextState: (s: AutomationState) => ({ ...s, emergencyActive: true, emergencySince: now, emergencyReason: reason, previousProfile: s.scheduledProfile }),
      });
    }

    const reason = (state.emergencyReason ?? {}) as { period?: BudgetPeriod; periodKey?: string; key?: string; manual?: boolean };
    if (reason.manual) return undefined;
    // An unknown spend is not "below the warning": recovery then waits for the period to end.
    const allBelowWarning = statuses.every((s) => s.utilisation !== null && s.utilisation < warning);
    const triggering = statuses.find((s) => s.period === reason.period);
    const periodOver = triggering !== undefined && reason.periodKey !== undefined && triggering.periodKey !== reason.periodKey && breached.length === 0;
    if (!allBelowWarning && !periodOver) return undefined;
    const why = allBelowWarning ? `every budget below the warning threshold (${b.warningPercent}%)` : `the ${reason.period} period ${reason.periodKey} is over`;
    logger.info({ reason, statuses }, `budget recovered (${why}): restoring the scheduled profile ${state.scheduledProfile ?? "(none)"}`);
    return applier.apply({
      kind: "emergency",
      trigger: "emergency",
      key: `recover:${reason.key ?? `${stack}:${state.emergencySince?.toISOString() ?? "unknown"}`}`,
      profile: state.scheduledProfile ?? undefined,
      reason: `budget recovered: ${why}; restoring ${state.scheduledProfile ?? "the stack file's settings"}`,
      services: nonCritical,
      nextState: (s: AutomationState) => ({ ...s, emergencyActive: false, emergencySince: null, emergencyReason: null }),
    });
  }

  /** One full check (the `budget-check` command and every poll of the service). */
  async check(now: Date = new Date(), opts: { waitSeconds?: number; pollSpend?: boolean } = {}): Promise<{ statuses: BudgetStatus[]; result?: ApplyResult }> {
    await this.pollQueue(now, { waitSeconds: opts.waitSeconds });
    if (opts.pollSpend !== false) await this.pollSpend(now);
    const result = await this.evaluate(now);
    return { statuses: await this.status(now), result };
  }
}

// -------------------------------------------------------------------------------------------------
// Test double / local development
// -------------------------------------------------------------------------------------------------

/** An in-memory queue with SQS semantics (visible until deleted; redelivered when not deleted). */
export class MemoryEmergencyQueue implements EmergencyQueue {
  private seq = 0;
  readonly messages: { messageId: string; body: string; receiveCount: number }[] = [];
  readonly deleted: string[] = [];

  send(body: string, messageId = `m-${++this.seq}`): string {
    this.messages.push({ messageId, body, receiveCount: 0 });
    return messageId;
  }

  async receive(opts: { maxMessages: number }): Promise<QueueMessage[]> {
    return this.messages.slice(0, opts.maxMessages).map((m) => {
      m.receiveCount++;
      return { messageId: m.messageId, receiptHandle: `${m.messageId}#${m.receiveCount}`, body: m.body };
    });
  }

  async delete(receiptHandle: string): Promise<void> {
    const id = receiptHandle.split("#")[0];
    const i = this.messages.findIndex((m) => m.messageId === id);
    if (i >= 0) this.messages.splice(i, 1);
    this.deleted.push(receiptHandle);
  }
}

/** Spend figures set by hand (tests, local development). */
export class StaticSpendSource implements SpendSource {
  constructor(public values: Partial<Record<BudgetPeriod, number>> = {}) {}
  async spend(period: BudgetPeriod): Promise<number | undefined> {
    return this.values[period];
  }
}

/** An AWS Budgets notification as it arrives through SNS → SQS (for tests and drills). */
export function budgetNotificationBody(o: { budgetName: string; limitUsd: number; actualUsd: number; thresholdPercent?: number; messageId?: string; timestamp?: Date }): string {
  const message = [
    "AWS Budget Notification",
    "",
    `You requested that we alert you when the ACTUAL Cost associated with your ${o.budgetName} budget is greater than ${o.thresholdPercent ?? 95}% of $${o.limitUsd.toFixed(2)}.`,
    "",
    `Budget Name: ${o.budgetName}`,
    "Budget Type: Cost",
    `Budgeted Amount: $${o.limitUsd.toFixed(2)}`,
    "Alert Type: ACTUAL",
    `Alert Threshold: > $${((o.limitUsd * (o.thresholdPercent ?? 95)) / 100).toFixed(2)}`,
    `ACTUAL Amount: $${o.actualUsd.toFixed(2)}`,
  ].join("\n");
  return JSON.stringify({
    Type: "Notification",
    MessageId: o.messageId ?? `sns-${Math.random().toString(36).slice(2)}`,
    TopicArn: "arn:aws:sns:us-east-1:123456789012:budget-emergency",
    Subject: `AWS Budgets: ${o.budgetName} has exceeded your alert threshold`,
    Message: message,
    Timestamp: (o.timestamp ?? new Date()).toISOString(),
  });
}
