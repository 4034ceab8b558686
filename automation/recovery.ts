/**
 * Recovery of in-flight decisions: when a process becomes leader, every decision still `applying`
 * under an older lock epoch (its leader was killed, lost the database, or was fenced) is resolved
 * from the stack's own update history, where each update's message carries its decision key
 * (`[decision <key>]`):
 *
 *   - the update succeeded    → the decision is `succeeded` and the state it establishes is saved;
 *   - the update failed       → `failed` (it may be claimed and applied again);
 *   - not in the history      → `failed`: the former leader stopped before `up` started;
 *   - still in progress       → `failed`: the backend's stack lock keeps any new update out until
 *                               it ends or is cancelled (the next attempt retries ConcurrentUpdateError);
 *   - history unreadable      → `failed` with the reason: re-applying is safe, the desired
 *                               overrides are absolute values, not increments.
 *
 * Nothing is left `applying`. Before reading the history the new leader waits `graceMs` after its
 * takeover: the time within which a fenced former leader has noticed the loss of its lock and
 * killed its CLI (fence check + kill grace).
 */
import { decisionMarker } from "./applier";
import type { Logger } from "./logger";
import type { HistoryEntry, StackRunner } from "./runner";
import type { DecisionRecord, DecisionStatus, Store } from "./store";

export interface RecoveryOptions {
  readonly store: Store;
  readonly runner: StackRunner;
  readonly stack: string;
  readonly logger: Logger;
  /** The epoch this leader holds: decisions claimed under an older one are orphans. */
  readonly epoch: number | undefined;
  /** Earliest time to read the history (takeover + fence grace), ms since the epoch. */
  readonly notBefore?: number;
  /** Updates of the history searched (default 50). */
  readonly historyLimit?: number;
}

export interface Recovered {
  readonly decisionId: number;
  readonly key: string;
  readonly status: Extract<DecisionStatus, "succeeded" | "failed">;
  readonly why: string;
}

export function isOrphan(d: DecisionRecord, epoch: number | undefined): boolean {
  return epoch === undefined || d.lockEpoch === null || d.lockEpoch < epoch;
}

export async function reconcileInFlight(o: RecoveryOptions): Promise<Recovered[]> {
  const { store, runner, stack, logger } = o;
  let orphans = (await store.inFlightDecisions(stack)).filter((d) => isOrphan(d, o.epoch));
  if (orphans.length === 0) return [];
  const wait = (o.notBefore ?? 0) - Date.now();
  if (wait > 0) {
    logger.info({ waitMs: wait, decisions: orphans.map((d) => d.key) }, "in-flight decisions of a former leader: waiting for its fence grace before reading the stack history");
    await new Promise((r) => setTimeout(r, wait));
    orphans = (await store.inFlightDecisions(stack)).filter((d) => isOrphan(d, o.epoch));
    if (orphans.length === 0) return [];
  }
  let history: HistoryEntry[] | undefined;
  let historyError: string | undefined;
  try {
    if (!runner.history) throw new Error("this runner cannot read the stack history");
    history = await runner.history(o.historyLimit ?? 50);
  } catch (e) {
    historyError = (e as Error).message;
  }
  const out: Recovered[] = [];
  for (const d of orphans) {
    const entry = history?.find((h) => h.message.includes(decisionMarker(d.key)));
    let status: Recovered["status"];
    let why: string;
    if (!history) {
      status = "failed";
      why = `outcome unknown (the stack history could not be read: ${historyError}); recorded failed so that it is applied again (the overrides are absolute: re-applying is safe)`;
    } else if (!entry) {
      status = "failed";
      why = "not in the stack's update history: the former leader stopped before the update started";
    } else if (entry.result === "succeeded") {
      status = "succeeded";
      why = `the stack's history shows the update succeeded${entry.endTime ? ` at ${entry.endTime.toISOString()}` : ""}`;
    } else if (entry.result === "in-progress") {
      status = "failed";
      why = "the stack's history shows the update still in progress under a former leader; the stack lock keeps new updates out until it ends or is cancelled";
    } else {
      status = "failed";
      why = `the stack's history shows the update ${entry.result}`;
    }
    const detail = { recovered: true, formerHolder: d.holder, formerEpoch: d.lockEpoch, recoveredUnderEpoch: o.epoch ?? null, why, ...(status === "failed" ? { error: `recovered: ${why}` } : {}) };
    const written = await store.finishDecision(d.id, status, detail, { holder: d.holder ?? "", epoch: d.lockEpoch });
    if (!written) continue; // resolved meanwhile (the former leader recorded it after all)
    await store.closeRunningAttempts(d.id, status === "succeeded" ? "succeeded" : "failed", `recovered: ${why}`);
    if (status === "succeeded" && d.nextState) await store.saveState(d.nextState);
    logger.warn({ decisionId: d.id, key: d.key, status, why, formerHolder: d.holder, formerEpoch: d.lockEpoch }, "in-flight decision of a former leader resolved");
    out.push({ decisionId: d.id, key: d.key, status, why });
  }
  return out;
}
