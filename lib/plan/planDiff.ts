/**
 * Compares two saved plans of the same stack (`npm run plan -- --json`), as a refactoring must
 * leave them: the same custom resources (type, name, inputs, dependencies), every old URN either
 * unchanged or named by an alias of the resource that replaces it, and nothing but new components
 * added. Dependencies and property dependencies are compared after mapping old URNs to new ones.
 */
import type { PlannedResource } from "./mockRuntime";
import { isComponentType } from "./planFile";

export interface PlanDiff {
  /** Old URNs no new resource has (neither as its URN nor as an alias): `pulumi up` would delete them. */
  readonly deleted: string[];
  /** New custom resources no old URN maps to: `pulumi up` would create them. */
  readonly created: string[];
  /** New components (no state of their own; creating them changes nothing in the cloud). */
  readonly newComponents: string[];
  /** Resources whose inputs or dependencies differ, with the first differing path. */
  readonly changed: string[];
  /** Resources whose URN changed and an alias covers the old one. */
  readonly moved: number;
  readonly unchanged: number;
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  if (canonical(a) === canonical(b)) return undefined;
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return path || "(root)";
}

export function diffPlans(before: readonly PlannedResource[], after: readonly PlannedResource[]): PlanDiff {
  // Old URN -> new resource, through the new resource's URN or one of its aliases.
  const byOldUrn = new Map<string, PlannedResource>();
  for (const r of after) for (const urn of [r.urn, ...(r.aliases ?? [])]) byOldUrn.set(urn, r);
  const mapUrn = (urn: string) => byOldUrn.get(urn)?.urn ?? urn;
  const mapUrns = (urns: readonly string[] | undefined) => [...new Set((urns ?? []).map(mapUrn))].sort();
  const matched = new Set<PlannedResource>();
  const deleted: string[] = [];
  const changed: string[] = [];
  let moved = 0;
  let unchanged = 0;
  for (const old of before) {
    const now = byOldUrn.get(old.urn);
    if (!now) {
      deleted.push(old.urn);
      continue;
    }
    matched.add(now);
    if (now.type !== old.type || now.name !== old.name) {
      changed.push(`${old.urn}: now ${now.type}::${now.name}`);
      continue;
    }
    const oldView = {
      inputs: old.inputs,
      parent: mapUrn(old.parent),
      dependencies: mapUrns(old.dependencies),
      propertyDependencies: Object.fromEntries(Object.entries(old.propertyDependencies ?? {}).map(([k, v]) => [k, mapUrns(v)])),
    };
    // A new parent is fine when it is a new component whose own parent is the old parent.
    const newParent = after.find((r) => r.urn === now.parent);
    const parentNow = newParent && !before.some((b) => b.urn === newParent.urn) && isComponentType(newParent.type) ? newParent.parent : now.parent;
    const newView = {
      inputs: now.inputs,
      parent: parentNow,
      dependencies: [...new Set(now.dependencies ?? [])].sort(),
      propertyDependencies: Object.fromEntries(Object.entries(now.propertyDependencies ?? {}).map(([k, v]) => [k, [...new Set(v)].sort()])),
    };
    const d = firstDifference(oldView, newView);
    if (d) changed.push(`${old.urn}: ${d}`);
    else if (now.urn === old.urn) unchanged++;
    else moved++;
  }
  const unmatched = after.filter((r) => !matched.has(r));
  return {
    deleted,
    changed,
    created: unmatched.filter((r) => !isComponentType(r.type)).map((r) => r.urn),
    newComponents: unmatched.filter((r) => isComponentType(r.type)).map((r) => r.urn),
    moved,
    unchanged,
  };
}
