/**
 * The engine's wire form of resource properties, as the Pulumi CLI sends them to an analyzer
 * (`MarshalProperties` with KeepUnknowns and KeepSecrets): values not known before an update are the
 * unknown sentinel string, secrets are `{ <sig>: <secret sig>, value }` objects.
 *
 * A plan records the same facts in plain JSON: `{ "__pulumiUnknown": true }` for an unknown and
 * `"[secret]"` for a masked secret. These functions translate one into the other, so the served
 * policy pack (over gRPC) and the in-process evaluator (through @pulumi/policy's own deserializer
 * and unknown-checking proxy) see exactly what a real `pulumi preview` would send.
 */

/** `resource.UnknownStringValue`: the engine's marker for a computed value during a preview. */
export const unknownSentinel = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** `sig.Key` and `sig.Secret`: the special-object signature of a secret value. */
export const specialSignatureKey = "4dabf18193072939515e22adb298388d";
export const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/** `sig.ResourceReference`: the special-object signature of a resource passed as an input. */
export const resourceReferenceSignature = "5cf8f73096256a8f31e491e813e4eb8e";

/** How a plan records a value not known before the update. */
export const unknownMarker = Object.freeze({ __pulumiUnknown: true as const });
/** How a plan records a secret (the value itself never leaves the program). */
export const maskedSecret = "[secret]";

export const isUnknownMarker = (value: unknown): boolean =>
  value !== null && typeof value === "object" && (value as { __pulumiUnknown?: unknown }).__pulumiUnknown === true;

/* eslint-disable @typescript-eslint/no-require-imports */
// @pulumi/policy's typed unknown sentinels and proxy accessors (what a policy test may hand in).
const policyProxy = require("@pulumi/policy/proxy") as Record<string, string>;
/* eslint-enable @typescript-eslint/no-require-imports */
const typedUnknowns = new Set(
  ["unknownBooleanValue", "unknownNumberValue", "unknownStringValue", "unknownArrayValue", "unknownAssetValue", "unknownArchiveValue", "unknownObjectValue"].map((k) => policyProxy[k]),
);

/**
 * A plan value in the engine's wire form (JSON-compatible, ready for `Struct.fromJavaScript`).
 * Also accepts props already behind @pulumi/policy's unknown-checking proxy, with its typed
 * unknown sentinels (as a policy's own tests build them).
 */
export function toWire(value: unknown): unknown {
  if (isUnknownMarker(value) || (typeof value === "string" && typedUnknowns.has(value))) return unknownSentinel;
  if (value !== null && typeof value === "object" && (value as Record<string, unknown>)[policyProxy.isSpecialProxy!] === true) {
    return toWire((value as Record<string, unknown>)[policyProxy.getSpecialProxyTarget!]);
  }
  if (value === maskedSecret) return { [specialSignatureKey]: secretSignature, value: maskedSecret };
  if (value !== null && typeof value === "object" && (value as Record<string, unknown>)[specialSignatureKey] === resourceReferenceSignature) {
    // A resource passed as an input (e.g. the EKS service role): the engine's analyzer plugin
    // marshals properties without KeepResources (sdk/go/common/resource/plugin/analyzer_plugin.go),
    // which downgrades a reference to the resource's id, or its URN when it has none (a component);
    // @pulumi/policy could not deserialize the reference itself.
    // A custom resource's reference carries an id; one not known yet (a first preview) or empty
    // is a computed id, sent as the unknown sentinel (sdk/go/common/resource/plugin/rpc.go).
    const ref = value as { id?: unknown; urn?: unknown };
    if (!("id" in ref)) return ref.urn ?? null;
    return typeof ref.id === "string" && ref.id !== "" ? ref.id : unknownSentinel;
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** Whether a plan value holds an unknown anywhere inside it. */
export function containsUnknown(value: unknown): boolean {
  if (isUnknownMarker(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
