/**
 * Evaluates a ValidatingAdmissionPolicy's CEL the way the API server does for one admission
 * request: `object` is the incoming object, `variables.<name>` are the policy's variables (in order,
 * each may read the earlier ones), and every validation must evaluate to true; an expression that
 * errors counts as a failure (failurePolicy Fail). The evaluator is @marcbachmann/cel-js, standing
 * in for cel-go with the Kubernetes libraries (not available here): the policy uses only standard
 * CEL and its macros, so both must agree.
 */
import { Environment } from "@marcbachmann/cel-js";

interface PolicyLike {
  spec: {
    variables?: { name: string; expression: string }[];
    validations: { expression: string; message?: string }[];
  };
}

/** JSON numbers that are integers become CEL ints (Kubernetes integer fields are int64). */
function toCel(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value;
}

export interface AdmissionResult {
  /** Messages of the validations that were false or errored (empty: admitted). */
  failed: string[];
  /** Validations that errored instead of evaluating to a boolean. */
  errors: string[];
}

export function admit(policy: PolicyLike, object: unknown): AdmissionResult {
  const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
  const variables: Record<string, unknown> = {};
  const context = { object: toCel(object), variables };
  const failed: string[] = [];
  const errors: string[] = [];
  for (const v of policy.spec.variables ?? []) {
    try {
      variables[v.name] = env.evaluate(v.expression, context);
    } catch (e) {
      // The API server evaluates variables lazily; a failing one fails the validations that read it.
      variables[v.name] = undefined;
      errors.push(`variable ${v.name}: ${(e as Error).message}`);
    }
  }
  for (const validation of policy.spec.validations) {
    let ok: unknown;
    try {
      ok = env.evaluate(validation.expression, context);
    } catch (e) {
      errors.push(`${validation.expression}: ${(e as Error).message}`);
      ok = false;
    }
    if (ok !== true) failed.push(validation.message ?? validation.expression);
  }
  return { failed, errors };
}
