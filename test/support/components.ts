/** Shared helpers of the component tests: building under mocks and picking resources out. */
import { strict as assert } from "node:assert";
import { runUnderMocks, type PlannedResource } from "../../lib/plan/mockRuntime";

/**
 * Runs `construct` under the mock runtime expecting its validation to throw; returns the error and
 * the custom resources registered before it (the tests assert there are none).
 */
export async function buildFailing(construct: () => void, what: string): Promise<{ error: Error; custom: PlannedResource[] }> {
  let error: Error | undefined;
  const result = await runUnderMocks({ project: "autoscaling", stack: "prod", config: { "aws:region": "us-east-1" } }, async () => {
    try {
      construct();
    } catch (e) {
      error = e as Error;
    }
  });
  assert.ok(error, `expected the ${what} constructor to throw`);
  return { error, custom: result.resources.filter((r) => r.custom) };
}

export const ofType = (run: { resources: readonly PlannedResource[] }, type: string) => run.resources.filter((r) => r.type === type);

/** The single resource of `type`; fails unless there is exactly one. */
export function one(run: { resources: readonly PlannedResource[] }, type: string): PlannedResource {
  const found = ofType(run, type);
  assert.equal(found.length, 1, `expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}
