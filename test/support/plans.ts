/**
 * The shipped stacks' plans, computed once per test process and shared by every test file that runs
 * in it (mocha's parallel workers are reused across files, so each worker plans each stack at most
 * once per mode). Drop-in for `planStack` of lib/plan/plan.ts: a call with a project dir or a program
 * path of its own (a mutated stack) is planned afresh, as before.
 *
 * The program judges the EKS calendar (its settings warnings) on `testEvaluationDate` unless the
 * caller names a day. Every caller gets its own deep copy, so a test that edits a plan's resources cannot leak into
 * another test. Plans run one at a time (the mock runtime is process-global).
 */
import { planStack as planAfresh, type StackPlan } from "../../lib/plan/plan";
import { testEvaluationDate } from "./clock";

export type { StackPlan } from "../../lib/plan/plan";

const computed = new Map<string, Promise<StackPlan>>();
let queue: Promise<unknown> = Promise.resolve();

/** One plan at a time in this process, in call order. */
function serialized<T>(run: () => Promise<T>): Promise<T> {
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}

export async function planStack(stack: string, options: Parameters<typeof planAfresh>[1] = {}): Promise<StackPlan> {
  const evaluationDate = options.evaluationDate ?? testEvaluationDate;
  if (options.projectDir !== undefined || options.programPath !== undefined) return serialized(() => planAfresh(stack, { ...options, evaluationDate }));
  const key = `${stack}:${options.preview ? "preview" : "update"}:${evaluationDate}`;
  let plan = computed.get(key);
  if (!plan) {
    plan = serialized(() => planAfresh(stack, { preview: options.preview, evaluationDate }));
    computed.set(key, plan);
    // A failed plan is not remembered: the next caller sees the same error afresh.
    plan.catch(() => computed.delete(key));
  }
  return structuredClone(await plan);
}
