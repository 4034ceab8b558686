import { strict as assert } from "node:assert";
import { Readable } from "node:stream";
import pino from "pino";
import { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { CostExplorerTagActivation } from "../../automation/aws";
import { CostAllocationTagActivator, ensureCostAllocationTagActive, tagActivationIntervals, type CostAllocationTagApi, type CostAllocationTagStatus } from "../../automation/costAllocationTag";

const quiet = pino({ level: "silent" });

/**
 * Cost Explorer as its API reference describes it: a user-defined key is listed only after it has
 * appeared in billing data; UpdateCostAllocationTagsStatus reports a key it cannot update in
 * `Errors` (HTTP 200), not as a failure.
 */
class BillingAccount implements CostAllocationTagApi {
  readonly tags = new Map<string, CostAllocationTagStatus>();
  refuse: { code: string; message: string } | undefined;
  calls: string[] = [];
  async status(key: string) {
    this.calls.push(`list ${key}`);
    return this.tags.get(key);
  }
  async activate(key: string) {
    this.calls.push(`activate ${key}`);
    if (this.refuse) return this.refuse;
    if (!this.tags.has(key)) return { code: "TagKeysNotFoundException", message: `Failed to update tag key(s): ${key} not found` };
    this.tags.set(key, "Active");
    return undefined;
  }
}

describe("cost allocation tag activation (automation service)", () => {
  it("first deploy: waits while AWS does not list the key, activates it once listed, then leaves it alone", async () => {
    const account = new BillingAccount();
    const activator = new CostAllocationTagActivator(account, "environment", quiet);
    const t0 = new Date("2026-12-08T10:00:00Z");
    const at = (hours: number) => new Date(t0.getTime() + hours * 3600_000);

    assert.equal(await activator.tick(t0), "not-in-billing-data");
    assert.deepEqual(account.calls, ["list environment"], "nothing is activated before AWS lists the key");
    assert.equal(await activator.tick(at(0.5)), undefined, "not due before the pending interval");
    // AWS lists the key (inactive) about a day after the first tagged resource.
    account.tags.set("environment", "Inactive");
    assert.equal(await activator.tick(at(tagActivationIntervals.pendingHours)), "activated");
    assert.equal(account.tags.get("environment"), "Active");
    assert.equal(await activator.tick(at(2)), undefined, "an active key is re-checked only daily");
    assert.equal(await activator.tick(at(1 + tagActivationIntervals.activeHours)), "active");
    // Someone deactivates it in the console: the next daily check activates it again.
    account.tags.set("environment", "Inactive");
    assert.equal(await activator.tick(at(1 + 2 * tagActivationIntervals.activeHours)), "activated");
  });

  it("a refusal (member account of an organization) is reported, not retried hourly; an API failure is retried", async () => {
    const account = new BillingAccount();
    account.tags.set("environment", "Inactive");
    account.refuse = { code: "AccessDeniedException", message: "only the management account can update cost allocation tags" };
    assert.equal(await ensureCostAllocationTagActive(account, "environment", quiet), "refused");

    const failing: CostAllocationTagApi = { status: async () => { throw new Error("ThrottlingException"); }, activate: async () => undefined };
    const activator = new CostAllocationTagActivator(failing, "environment", quiet);
    const t0 = new Date("2026-12-08T10:00:00Z");
    assert.equal(await activator.tick(t0), undefined);
    assert.equal(activator.outcome, undefined);
  });

  describe("the Cost Explorer adapter, through the real SDK client (JSON 1.1 wire format of the API reference)", () => {
    /** An SDK client whose HTTP layer answers like Cost Explorer and records each request. */
    function clientAnswering(answer: (target: string, body: any) => unknown) {
      const requests: { target: string; body: any }[] = [];
      const client = new CostExplorerClient({
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
        requestHandler: {
          handle: async (request: any) => {
            const target = String(request.headers["x-amz-target"]);
            const raw = request.body;
            const body = JSON.parse(typeof raw === "string" ? raw : Buffer.from(raw as Uint8Array).toString("utf8"));
            requests.push({ target, body });
            const payload = JSON.stringify(answer(target, body));
            return { response: { statusCode: 200, headers: { "content-type": "application/x-amz-json-1.1" }, body: Readable.from([Buffer.from(payload)]) } };
          },
        } as any,
      });
      return { client, requests };
    }

    it("lists the key (user-defined, one result) and reads its status; an unlisted key is undefined", async () => {
      const { client, requests } = clientAnswering((_t, body) =>
        body.TagKeys[0] === "environment" ? { CostAllocationTags: [{ TagKey: "environment", Type: "UserDefined", Status: "Inactive" }] } : { CostAllocationTags: [] });
      const api = await CostExplorerTagActivation.create(client);
      assert.equal(await api.status("environment"), "Inactive");
      assert.equal(await api.status("team"), undefined);
      assert.equal(requests[0]!.target, "AWSInsightsIndexService.ListCostAllocationTags");
      assert.deepEqual(requests[0]!.body, { TagKeys: ["environment"], Type: "UserDefined", MaxResults: 1 });
    });

    it("activates with UpdateCostAllocationTagsStatus and returns a per-tag error from `Errors`", async () => {
      let refuse = false;
      const { client, requests } = clientAnswering(() =>
        refuse ? { Errors: [{ TagKey: "environment", Code: "TagKeysNotFoundException", Message: "tag key not found" }] } : { Errors: [] });
      const api = await CostExplorerTagActivation.create(client);
      assert.equal(await api.activate("environment"), undefined);
      assert.equal(requests[0]!.target, "AWSInsightsIndexService.UpdateCostAllocationTagsStatus");
      assert.deepEqual(requests[0]!.body, { CostAllocationTagsStatus: [{ TagKey: "environment", Status: "Active" }] });
      refuse = true;
      assert.deepEqual(await api.activate("environment"), { code: "TagKeysNotFoundException", message: "tag key not found" });
    });
  });
});
