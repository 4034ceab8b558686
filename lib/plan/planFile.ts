/**
 * Saved plans (`npm run plan -- --json`): reading one back for review (`--input`), so the policies
 * and the cost model can run over a plan written earlier, possibly edited by hand.
 */
import * as fs from "node:fs";
import { z } from "zod";
import type { PlannedResource } from "./mockRuntime";

/** Component types that are not custom resources (their children are). */
const remoteComponentTypes = new Set(["eks:index:Cluster", "eks:index:ManagedNodeGroup", "kubernetes:helm.sh/v4:Chart", "kubernetes:yaml/v2:ConfigGroup"]);

/** Whether a type token is a component (local `pyairtable:*`, the stack, or a known remote component). */
export function isComponentType(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pyairtable:") || remoteComponentTypes.has(type);
}

const planFileSchema = z.object({
  stack: z.string(),
  project: z.string(),
  resources: z.array(z.object({
    urn: z.string().startsWith("urn:pulumi:"),
    type: z.string().min(1),
    name: z.string(),
    parent: z.string(),
    inputs: z.record(z.string(), z.unknown()),
    dependencies: z.array(z.string()).optional(),
    propertyDependencies: z.record(z.string(), z.array(z.string())).optional(),
  })),
});

export interface PlanFile {
  readonly stack: string;
  readonly project: string;
  readonly resources: PlannedResource[];
}

export class PlanFileError extends Error {}

export function readPlanFile(file: string): PlanFile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new PlanFileError(`--input ${file}: cannot read a JSON plan (${(e as Error).message})`);
  }
  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PlanFileError(`--input ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message} (expected { stack, project, resources: [{ urn, type, name, parent, inputs, dependencies?, propertyDependencies? }] })`);
  }
  return {
    stack: parsed.data.stack,
    project: parsed.data.project,
    resources: parsed.data.resources.map((r) => ({ ...r, custom: !isComponentType(r.type) })),
  };
}
