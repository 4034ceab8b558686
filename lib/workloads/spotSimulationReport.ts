/**
 * The README's spot-share section: the simulation (lib/scaling/spotSimulation.ts) run on the
 * NodePools the prod and dev plans render, with each stack's replica ranges and the spot limits of
 * its policy config.
 */
import { planStack } from "../plan/plan";
import { kubernetesObjects } from "../plan/manifests";
import { loadPolicyConfig, policyConfigPath } from "../plan/review";
import { generatedSectionBody } from "../readme";
import { simulateStack, spotSimulationTable, type StackSimulation } from "./contractDocs";

export const simulatedStacks = ["prod", "dev"] as const;

/** The simulation of one stack, from its plan and policy config. */
export async function stackSimulation(repoRoot: string, stack: string, evaluationDate?: string): Promise<StackSimulation> {
  // The day only reaches the program's settings warnings (the EKS calendar), not the simulation.
  const plan = await planStack(stack, { projectDir: repoRoot, evaluationDate });
  const nodePools = kubernetesObjects(plan.resources).filter((o) => o.kind === "NodePool");
  const config = loadPolicyConfig(policyConfigPath(repoRoot, stack)) as Record<string, any>;
  const limits = config["spot-share-by-workload-class"]?.maxSpotShare as Record<string, number> | undefined;
  if (!limits) throw new Error(`policies/config/${stack}.json: spot-share-by-workload-class.maxSpotShare is not set`);
  return simulateStack(stack, nodePools, plan.settings.services, limits);
}

export async function spotSimulationSection(repoRoot: string, evaluationDate?: string): Promise<string> {
  const tables: string[] = [];
  for (const stack of simulatedStacks) tables.push(spotSimulationTable(await stackSimulation(repoRoot, stack, evaluationDate)));
  return generatedSectionBody(tables.join("\n"), "npm run readme:contract");
}
