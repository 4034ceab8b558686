/**
 * Runs CrossGuard policies offline, over the resources of a plan, the way the policy analyzer runs
 * them during `pulumi preview`: the same arguments (type, props, urn, name, options, getConfig,
 * isType/asType, notApplicable), the same config resolution (per-policy enforcement level and
 * properties, schema defaults) and the same violation reporting. No gRPC server is started.
 */
import Ajv from "ajv";
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
function analyzed(resources: readonly PlannedResource[]): PlannedResource[] {
  return resources.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack");
}

export async function evaluatePolicies(
  policies: Policies,
  resources: readonly PlannedResource[],
  config: PolicyPackConfig,
  options: { stackUrn?: string; stackTags?: ReadonlyMap<string, string> } = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const stackTags = options.stackTags ?? new Map<string, string>();
  const stackUrn = options.stackUrn ?? resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? "";
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  const targets = analyzed(resources);

  for (const policy of policies) {
    const level = enforcementLevelOf(policy, config);
    if (level === "disabled") continue;
    const reported: EnforcementLevel = level === "remediate" ? "mandatory" : level;
    const policyConfig = resolvePolicyConfig(policy, config);
    const getConfig = <T extends object>() => structuredClone(policyConfig) as T;

    if (isResourcePolicy(policy)) {
      const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
      for (const r of targets) {
        const args: ResourceValidationArgs = {
          type: r.type,
          props: r.inputs,
          urn: r.urn,
          name: r.name,
          opts: { ...emptyOptions, parent: r.parent },
          stackTags,
          isType: (cls) => isTypeOf(r.type, cls),
          asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? r.inputs : undefined)) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable,
        };
        for (const validate of validations) {
          const fixedType = (validate as { __pulumiType?: string }).__pulumiType;
          if (fixedType && fixedType !== r.type) continue;
          try {
            await validate(args, (message, urn) => violations.push({ policy: policy.name, enforcementLevel: reported, severity: policy.severity, urn: urn ?? r.urn, message }));
          } catch (e) {
            if (!(e instanceof NotApplicable)) throw new Error(`policy '${policy.name}' failed on ${r.urn}: ${(e as Error).message}`);
          }
        }
      }
    } else if (isStackPolicy(policy)) {
      const byUrn = new Map<string, PolicyResource>();
      const policyResources: PolicyResource[] = targets.map((r) => {
        const pr = {
          type: r.type,
          props: r.inputs,
          urn: r.urn,
          name: r.name,
          opts: { ...emptyOptions, parent: r.parent },
          dependencies: [],
          propertyDependencies: {},
          isType: (cls: unknown) => isTypeOf(r.type, cls),
          asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? r.inputs : undefined)) as PolicyResource["asType"],
        } as PolicyResource;
        byUrn.set(r.urn, pr);
        return pr;
      });
      for (const pr of policyResources) (pr as { parent?: PolicyResource }).parent = byUrn.get(pr.opts.parent ?? "");
      const args: StackValidationArgs = { resources: policyResources, stackTags, getConfig, notApplicable };
      try {
        await policy.validateStack(args, (message, urn) => violations.push({ policy: policy.name, enforcementLevel: reported, severity: policy.severity, urn: urn ?? stackUrn, message }));
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw new Error(`policy '${policy.name}' failed: ${(e as Error).message}`);
      }
    }
  }
  return violations;
}
