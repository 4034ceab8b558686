/**
 * Runs CrossGuard policies in process, over the resources of a plan, the way the policy analyzer
 * runs them during `pulumi preview`: props deserialized from the engine's wire form by
 * @pulumi/policy's own deserializer and wrapped in its unknown-checking proxy (a policy that reads a
 * value unknown during a preview gets the analyzer's advisory "can't run ... during preview"), the
 * same arguments (type, props, urn, name, options, parent, property dependencies, getConfig,
 * isType/asType, notApplicable), the same config resolution and the same violation reporting.
 *
 * The plan's verdicts come from the served pack (./servedPack.ts); this evaluator serves the unit
 * tests of single policies, and test/support/policyEvaluation.ts checks that both agree on every case.
 */
import Ajv from "ajv";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PlannedResource } from "../plan/mockRuntime";
import { toWire } from "./wire";

/* eslint-disable @typescript-eslint/no-require-imports */
// @pulumi/policy's own (internal) deserializer and proxy: the analyzer server uses exactly these.
const { deserializeProperties } = require("@pulumi/policy/deserialize") as { deserializeProperties(s: Struct, proxySecrets: boolean): Record<string, unknown> };
const { unknownCheckingProxy, UnknownValueError } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T extends object>(o: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** A resource's inputs as a policy sees them: wire form, deserialized, behind the unknown-checking proxy. */
export function policyProps(inputs: Record<string, unknown>): Record<string, any> {
  return unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(toWire(inputs) as Record<string, never>), false));
}

export interface Violation {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly severity?: Severity;
  /** URN of the resource in violation; the stack's for stack-wide findings without one. */
  readonly urn: string;
  readonly message: string;
}

/** Pulumi's policy-config file format: policy name to a level, or to `{ enforcementLevel?, ...properties }`. */
export type PolicyPackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export class PolicyConfigError extends Error {}

class NotApplicable extends Error {}

const emptyOptions = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const pulumiType = (resourceClass as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  if (typeof pulumiType === "string" && pulumiType.length > 0) return type === pulumiType;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean } | undefined)?.isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

/**
 * The properties a policy's `getConfig()` returns: the config's properties without the enforcement
 * level, with the schema's defaults filled in, validated against the policy's `configSchema`.
 */
export function resolvePolicyConfig(policy: { name: string; configSchema?: { properties: Record<string, unknown>; required?: string[] } }, config: PolicyPackConfig): Record<string, unknown> {
  const entry = config[policy.name];
  const { enforcementLevel: _level, ...properties } = typeof entry === "object" && entry !== null ? entry : {};
  if (!policy.configSchema) return properties;
  const schema = { type: "object", properties: policy.configSchema.properties, required: policy.configSchema.required ?? [], additionalProperties: false };
  const value = structuredClone(properties);
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message}${e.params && "additionalProperty" in e.params ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : ""}`);
    throw new PolicyConfigError(`policy config for '${policy.name}' is invalid: ${problems.join("; ")}`);
  }
  return value;
}

export function enforcementLevelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: PolicyPackConfig, packLevel: EnforcementLevel = "advisory"): EnforcementLevel {
  const entry = config[policy.name];
  const all = config.all;
  if (typeof entry === "string") return entry;
  if (entry && typeof entry === "object" && entry.enforcementLevel) return entry.enforcementLevel;
  if (typeof all === "string") return all;
  return policy.enforcementLevel ?? packLevel;
}

const isResourcePolicy = (p: Policies[number]): p is ResourceValidationPolicy => "validateResource" in p && p.validateResource !== undefined;
const isStackPolicy = (p: Policies[number]): p is StackValidationPolicy => "validateStack" in p && (p as StackValidationPolicy).validateStack !== undefined;

/**
 * Resources a policy analyzer sees: every registration with inputs, custom resources and components
 * alike (remote components such as `eks:index:Cluster` carry the inputs that matter), except
 * providers and the stack itself.
 */
export function analyzedResources(resources: readonly PlannedResource[]): PlannedResource[] {
  return resources.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack");
}

export async function evaluatePolicies(
  policies: Policies,
  resources: readonly PlannedResource[],
  config: PolicyPackConfig,
  options: {
    stackUrn?: string;
    stackTags?: ReadonlyMap<string, string>;
    /** `'<name>@v<version>'` of the pack, as the analyzer names it in "can't run" advisories. */
    packLabel?: string;
  } = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const stackTags = options.stackTags ?? new Map<string, string>();
  const stackUrn = options.stackUrn ?? resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? "";
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  const targets = analyzedResources(resources);
  const packLabel = options.packLabel ?? "'policy-pack'";

  // Each policy's level and config, resolved once (an invalid config fails before any verdict).
  const active = policies.flatMap((policy) => {
    const level = enforcementLevelOf(policy, config);
    if (level === "disabled") return [];
    const reported: EnforcementLevel = level === "remediate" ? "mandatory" : level;
    const policyConfig = resolvePolicyConfig(policy, config);
    return [{ policy, reported, getConfig: <T extends object>() => structuredClone(policyConfig) as T }];
  });

  // The engine's order: Analyze for each resource (every resource policy on it), then AnalyzeStack.
  for (const r of targets) {
    const props = policyProps(r.inputs);
    for (const { policy, reported, getConfig } of active) {
      if (!isResourcePolicy(policy)) continue;
      const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
      const args: ResourceValidationArgs = {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: { ...emptyOptions, parent: r.parent },
        stackTags,
        isType: (cls) => isTypeOf(r.type, cls),
        asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig,
        notApplicable,
      };
      for (const validate of validations) {
        const fixedType = (validate as { __pulumiType?: string }).__pulumiType;
        if (fixedType && fixedType !== r.type) continue;
        try {
          await validate(args, (message, urn) => violations.push({ policy: policy.name, enforcementLevel: reported, severity: policy.severity, urn: urn ?? r.urn, message }));
        } catch (e) {
          if (e instanceof UnknownValueError) violations.push(cantRunDuringPreview(policy, packLabel, e, r.urn));
          else if (!(e instanceof NotApplicable)) throw new Error(`policy '${policy.name}' failed on ${r.urn}: ${(e as Error).message}`);
        }
      }
    }
  }

  const stackPolicies = active.filter(({ policy }) => isStackPolicy(policy));
  if (stackPolicies.length === 0) return violations;
  const byUrn = new Map<string, PolicyResource>();
  const policyResources: PolicyResource[] = targets.map((r) => {
    const props = policyProps(r.inputs);
    const pr = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: { ...emptyOptions, parent: r.parent },
      dependencies: [],
      propertyDependencies: {},
      isType: (cls: unknown) => isTypeOf(r.type, cls),
      asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
    } as PolicyResource;
    byUrn.set(r.urn, pr);
    return pr;
  });
  // Parents, dependencies and property dependencies as resource objects, as the analyzer links them.
  targets.forEach((r, i) => {
    const pr = policyResources[i] as { parent?: PolicyResource; dependencies: PolicyResource[]; propertyDependencies: Record<string, PolicyResource[]> };
    const parent = byUrn.get(r.parent);
    if (parent) pr.parent = parent;
    pr.dependencies = (r.dependencies ?? []).map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    for (const [prop, urns] of Object.entries(r.propertyDependencies ?? {})) {
      if (urns.length === 0) continue;
      pr.propertyDependencies[prop] = urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    }
  });
  for (const { policy, reported, getConfig } of stackPolicies) {
    const args: StackValidationArgs = { resources: policyResources, stackTags, getConfig, notApplicable };
    try {
      await (policy as StackValidationPolicy).validateStack(args, (message, urn) =>
        violations.push({ policy: policy.name, enforcementLevel: reported, severity: policy.severity, urn: urn ?? stackUrn, message }),
      );
    } catch (e) {
      if (e instanceof UnknownValueError) violations.push(cantRunDuringPreview(policy, packLabel, e, stackUrn));
      else if (!(e instanceof NotApplicable)) throw new Error(`policy '${policy.name}' failed: ${(e as Error).message}`);
    }
  }
  return violations;
}

/** The analyzer's report for a policy that read a value unknown during the preview: always advisory. */
function cantRunDuringPreview(policy: Policies[number], packLabel: string, e: Error, urn: string): Violation {
  return {
    policy: policy.name,
    enforcementLevel: "advisory",
    severity: policy.severity,
    urn,
    message: `can't run policy '${policy.name}' from policy pack ${packLabel} during preview: ${e.message}`,
  };
}
