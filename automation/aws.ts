/**
 * Production adapters for the budget guard: the SQS consumer of the budget-emergency queue and the
 * Cost Explorer spend source. They load the AWS SDK v3 clients at run time
 * (`@aws-sdk/client-sqs`, `@aws-sdk/client-cost-explorer`, dependencies in package.json); should one
 * be missing from an image, the service starts with the budget guard's queue and/or spend polling
 * disabled, and says so in its log. Credentials come from the pod's IRSA role (the default
 * AWS credential chain); nothing here logs them.
 *
 * These adapters are not exercised by the tests (no AWS); the guard's logic is tested
 * against `MemoryEmergencyQueue` and `StaticSpendSource` (budget.ts).
 */
import type { EmergencyQueue, QueueMessage, SpendSource } from "./budget";
import type { BudgetPeriod } from "./store";
import type { CostAllocationTagApi, CostAllocationTagStatus } from "./costAllocationTag";

/** Loads an optional module; undefined when it is not installed. */
async function optional(name: string): Promise<any | undefined> {
  try {
    return await import(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND" || /Cannot find (module|package)/.test(String(e))) return undefined;
    throw e;
  }
}

export class MissingSdkError extends Error {}

/** Bounds of the AWS calls (ms): a long poll waits up to 20 s, so SQS gets that plus 10 s. */
export const awsTimeouts = { sqsReceiveExtraMs: 10_000, sqsDeleteMs: 10_000, costExplorerMs: 30_000 };

export class SqsEmergencyQueue implements EmergencyQueue {
  private constructor(private readonly client: any, private readonly sdk: any, readonly queueUrl: string) {}

  static async create(queueUrl: string, region = process.env.AWS_REGION): Promise<SqsEmergencyQueue> {
    const sdk = await optional("@aws-sdk/client-sqs");
    if (!sdk) throw new MissingSdkError("the budget-emergency queue needs @aws-sdk/client-sqs (npm install @aws-sdk/client-sqs)");
    return new SqsEmergencyQueue(new sdk.SQSClient({ region }), sdk, queueUrl);
  }

  async receive(opts: { maxMessages: number; waitSeconds: number }): Promise<QueueMessage[]> {
    const out = await this.client.send(
      new this.sdk.ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(10, opts.maxMessages),
        WaitTimeSeconds: Math.min(20, opts.waitSeconds),
        // Longer than one evaluation with a pulumi up; an unprocessed message comes back after it.
        VisibilityTimeout: 900,
      }),
      { abortSignal: AbortSignal.timeout(Math.min(20, opts.waitSeconds) * 1000 + awsTimeouts.sqsReceiveExtraMs) },
    );
    return (out.Messages ?? []).map((m: { MessageId: string; ReceiptHandle: string; Body: string }) => ({ messageId: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body }));
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }), { abortSignal: AbortSignal.timeout(awsTimeouts.sqsDeleteMs) });
  }
}

/**
 * Spend from Cost Explorer (GetCostAndUsage, daily granularity, unblended cost, filtered by the
 * cost allocation tag the budgets use: `environment=<stack environment>`). Cost Explorer data lags
 * by hours and each request costs $0.01, hence the hourly default poll.
 */
export class CostExplorerSpendSource implements SpendSource {
  private constructor(private readonly client: any, private readonly sdk: any, private readonly tag: { key: string; value: string }) {}

  static async create(tag: { key: string; value: string }): Promise<CostExplorerSpendSource> {
    const sdk = await optional("@aws-sdk/client-cost-explorer");
    if (!sdk) throw new MissingSdkError("spend polling needs @aws-sdk/client-cost-explorer (npm install @aws-sdk/client-cost-explorer)");
    // Cost Explorer's endpoint is in us-east-1.
    return new CostExplorerSpendSource(new sdk.CostExplorerClient({ region: "us-east-1" }), sdk, tag);
  }

  async spend(_period: BudgetPeriod, start: Date, end: Date): Promise<number | undefined> {
    const day = (d: Date) => d.toISOString().slice(0, 10);
    // The end date is exclusive; include today.
    const endDay = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate() + 1));
    const out = await this.client.send(
      new this.sdk.GetCostAndUsageCommand({
        TimePeriod: { Start: day(start), End: day(endDay) },
        Granularity: "DAILY",
        Metrics: ["UnblendedCost"],
        Filter: { Tags: { Key: this.tag.key, Values: [this.tag.value] } },
      }),
      { abortSignal: AbortSignal.timeout(awsTimeouts.costExplorerMs) },
    );
    let total = 0;
    for (const r of out.ResultsByTime ?? []) total += Number(r.Total?.UnblendedCost?.Amount ?? 0);
    return total;
  }
}

/**
 * Cost allocation tag status and activation through Cost Explorer (ListCostAllocationTags,
 * UpdateCostAllocationTagsStatus; endpoint in us-east-1). `client` may be given (tests pass an SDK
 * client with their own request handler).
 */
export class CostExplorerTagActivation implements CostAllocationTagApi {
  private constructor(private readonly client: any, private readonly sdk: any) {}

  static async create(client?: unknown): Promise<CostExplorerTagActivation> {
    const sdk = await optional("@aws-sdk/client-cost-explorer");
    if (!sdk) throw new MissingSdkError("cost allocation tag activation needs @aws-sdk/client-cost-explorer (npm install @aws-sdk/client-cost-explorer)");
    return new CostExplorerTagActivation(client ?? new sdk.CostExplorerClient({ region: "us-east-1" }), sdk);
  }

  async status(key: string): Promise<CostAllocationTagStatus | undefined> {
    const out = await this.client.send(new this.sdk.ListCostAllocationTagsCommand({ TagKeys: [key], Type: "UserDefined", MaxResults: 1 }), { abortSignal: AbortSignal.timeout(awsTimeouts.costExplorerMs) });
    const tag = (out.CostAllocationTags ?? []).find((t: { TagKey?: string }) => t.TagKey === key) as { Status?: string } | undefined;
    if (!tag) return undefined;
    return tag.Status === "Active" ? "Active" : "Inactive";
  }

  async activate(key: string): Promise<{ code: string; message: string } | undefined> {
    const out = await this.client.send(
      new this.sdk.UpdateCostAllocationTagsStatusCommand({ CostAllocationTagsStatus: [{ TagKey: key, Status: "Active" }] }),
      { abortSignal: AbortSignal.timeout(awsTimeouts.costExplorerMs) },
    );
    const error = (out.Errors ?? []).find((e: { TagKey?: string }) => e.TagKey === key) as { Code?: string; Message?: string } | undefined;
    return error ? { code: error.Code ?? "Unknown", message: error.Message ?? "" } : undefined;
  }
}
