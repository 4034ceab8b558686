/**
 * The plan -> engine wire form (lib/policy/wire.ts), case by case against what the engine's
 * analyzer plugin sends (sdk/go/common/resource/plugin/rpc.go, MarshalPropertyValue with
 * KeepUnknowns and KeepSecrets but not KeepResources): these are the engine's rules restated, so a
 * change to toWire that drifts from them fails here, not only in the served-vs-in-process comparison
 * (which feeds both sides through toWire).
 */
import { strict as assert } from "node:assert";
import { maskedSecret, resourceReferenceSignature, secretSignature, specialSignatureKey, toWire, unknownMarker, unknownSentinel } from "../../lib/policy/wire";

const ref = (fields: Record<string, unknown>) => ({ [specialSignatureKey]: resourceReferenceSignature, ...fields });

describe("plan values in the engine's wire form", () => {
  it("an unknown is the unknown sentinel, a masked secret a secret object", () => {
    assert.equal(toWire({ ...unknownMarker }), unknownSentinel);
    assert.deepEqual(toWire(maskedSecret), { [specialSignatureKey]: secretSignature, value: maskedSecret });
  });

  it("a custom resource's reference is its id; an id not known yet (or empty) is the unknown sentinel", () => {
    assert.equal(toWire(ref({ urn: "urn:pulumi:prod::p::aws:iam/role:Role::r", id: "r-123" })), "r-123");
    assert.equal(toWire(ref({ urn: "urn:pulumi:prod::p::aws:iam/role:Role::r", id: { ...unknownMarker } })), unknownSentinel);
    assert.equal(toWire(ref({ urn: "urn:pulumi:prod::p::aws:iam/role:Role::r", id: "" })), unknownSentinel);
  });

  it("a component's reference (no id) is its URN", () => {
    assert.equal(toWire(ref({ urn: "urn:pulumi:prod::p::pyairtable:index:Platform::x" })), "urn:pulumi:prod::p::pyairtable:index:Platform::x");
  });

  it("undefined object fields are dropped and undefined array items become null, nested", () => {
    assert.deepEqual(toWire({ a: undefined, b: [1, undefined, { c: { ...unknownMarker } }] }), { b: [1, null, { c: unknownSentinel }] });
  });
});
