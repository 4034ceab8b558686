/**
 * Activation of the cost allocation tag the budgets filter on (`environment`), without a person.
 *
 * AWS accepts `UpdateCostAllocationTagsStatus` for a user-defined key only once the key appears in
 * billing data, up to 24 hours after the first resource carrying it is created: on a stack's very
 * first deploy nothing (no `pulumi up`, no person) can activate it yet, and until it is active every
 * budget filtered on it reads $0. So the service checks at start and every hour: a key AWS does not
 * list yet is waited for, an `Inactive` key is activated, an `Active` key is left alone (and
 * re-checked daily, in case someone deactivates it). The stack setting
 * `budgets.costAllocationTagActivation` decides whether this runs (`automation`, the default).
 *
 * The API is behind `CostAllocationTagApi` (the Cost Explorer adapter is in aws.ts), so the decision
 * logic is tested on its own and the adapter against the SDK's real request and response shapes.
 */
import type { Logger } from "./logger";

export type CostAllocationTagStatus = "Active" | "Inactive";

/** The two Cost Explorer operations the activation needs (ce:ListCostAllocationTags, ce:UpdateCostAllocationTagsStatus). */
export interface CostAllocationTagApi {
  /** The key's status, or undefined when AWS does not list it (not in billing data yet). */
  status(key: string): Promise<CostAllocationTagStatus | undefined>;
  /** Asks for `Active`; a per-tag refusal (the API reports it in `Errors`, not as a failure) is returned. */
  activate(key: string): Promise<{ code: string; message: string } | undefined>;
}

/**
 * What one check found or did:
 * - `active`: already active, nothing done;
 * - `activated`: it was inactive and is active now;
 * - `not-in-billing-data`: AWS does not list the key yet (first day after the first deploy): retried;
 * - `refused`: AWS refused the activation (e.g. a member account of an organization: only the
 *   management account may activate; set `budgets.costAllocationTagActivation: payer-account`).
 */
export type TagActivationOutcome = "active" | "activated" | "not-in-billing-data" | "refused";

/** Hours between checks while the key is not active yet, and once it is. */
export const tagActivationIntervals = { pendingHours: 1, activeHours: 24 } as const;

/** One check: activate the key when AWS lists it as inactive. Errors of the API calls propagate. */
export async function ensureCostAllocationTagActive(api: CostAllocationTagApi, key: string, logger: Logger): Promise<TagActivationOutcome> {
  const status = await api.status(key);
  if (status === "Active") {
    logger.debug({ tagKey: key }, "cost allocation tag is active");
    return "active";
  }
  if (status === undefined) {
    logger.warn({ tagKey: key, retryInHours: tagActivationIntervals.pendingHours },
      "cost allocation tag not in billing data yet (AWS lists a key up to 24 h after the first tagged resource): budgets filtered on it read $0 until it is activated; retrying");
    return "not-in-billing-data";
  }
  const refusal = await api.activate(key);
  if (refusal) {
    logger.error({ tagKey: key, code: refusal.code, reason: refusal.message },
      "AWS refused to activate the cost allocation tag: in an AWS Organizations member account only the management account can; set budgets.costAllocationTagActivation to payer-account and have it activated there");
    return "refused";
  }
  logger.info({ tagKey: key }, "cost allocation tag activated: budgets filtered on it see spend from now on");
  return "activated";
}

/**
 * Runs the check on the leader: now, then every `pendingHours` until the key is active, then every
 * `activeHours`. `due(now)` says whether a check is due; the service calls it from its timer.
 */
export class CostAllocationTagActivator {
  private nextCheckAt = 0;
  private lastOutcome: TagActivationOutcome | undefined;

  constructor(private readonly api: CostAllocationTagApi, readonly key: string, private readonly logger: Logger) {}

  get outcome(): TagActivationOutcome | undefined {
    return this.lastOutcome;
  }

  /** Runs a check when one is due; an API failure is logged and retried after `pendingHours`. */
  async tick(now: Date = new Date()): Promise<TagActivationOutcome | undefined> {
    if (now.getTime() < this.nextCheckAt) return undefined;
    const hour = 3600_000;
    try {
      this.lastOutcome = await ensureCostAllocationTagActive(this.api, this.key, this.logger);
    } catch (e) {
      this.logger.error({ tagKey: this.key, err: (e as Error).message }, "cost allocation tag check failed; retrying");
      this.nextCheckAt = now.getTime() + tagActivationIntervals.pendingHours * hour;
      return undefined;
    }
    const settled = this.lastOutcome === "active" || this.lastOutcome === "activated" || this.lastOutcome === "refused";
    this.nextCheckAt = now.getTime() + (settled ? tagActivationIntervals.activeHours : tagActivationIntervals.pendingHours) * hour;
    return this.lastOutcome;
  }
}
