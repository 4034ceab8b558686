/**
 * The offline plan: validate a stack's settings, then run the real program (index.ts) under the
 * mock runtime with that stack's configuration and collect every resource it would register.
 */
import * as path from "node:path";
import { parseSettings, type PlatformSettings } from "../config/settings";
import { rawConfigFromRuntimeConfig, type StackFile } from "../config/load";
import { offlineStackConfig } from "./stackConfig";
import { runUnderMocks, type PlannedResource } from "./mockRuntime";
import { evaluationDateEnv, parseIsoDay } from "../catalog/eksVersions";

export const projectDir = path.resolve(__dirname, "../..");

export interface StackPlan {
  readonly project: string;
  readonly stack: string;
  readonly settings: PlatformSettings;
  /** The stack file as read (plain config only; secure values stay ciphertext). */
  readonly stackFile: StackFile;
  readonly resources: PlannedResource[];
  readonly outputs: Record<string, unknown>;
  /** Secret keys for which offline placeholders stood in. */
  readonly placeholderKeys: string[];
  readonly unknownInvokes: string[];
}

/** A stack's validated settings from its stack file (throws SettingsError / StackFileError). */
export function stackSettings(stack: string, dir: string = projectDir): { settings: PlatformSettings; offline: ReturnType<typeof offlineStackConfig> } {
  const offline = offlineStackConfig(dir, stack);
  return { settings: parseSettings(stack, rawConfigFromRuntimeConfig(offline.config, new Set(offline.secretKeys))), offline };
}

/**
 * Throws SettingsError (bad stack file) before the mock runtime starts: nothing is registered.
 * The mock runtime is process-global: run one plan at a time (await each), never concurrently.
 */
export async function planStack(
  stack: string,
  options: {
    projectDir?: string;
    programPath?: string;
    /** First-preview semantics: computed outputs of resources not yet created are unknown (see runUnderMocks). */
    preview?: boolean;
    /**
     * The day (`YYYY-MM-DD`) the program judges the EKS calendar on (its settings warnings):
     * `$PYAIRTABLE_EVALUATION_DATE` for the run. Default: as the environment says (today when unset).
     */
    evaluationDate?: string;
  } = {},
): Promise<StackPlan> {
  const dir = options.projectDir ?? projectDir;
  const { settings, offline } = stackSettings(stack, dir);
  if (options.evaluationDate !== undefined) parseIsoDay(options.evaluationDate, "evaluationDate");

  const programPath = options.programPath ?? path.join(dir, "index.ts");
  const pinnedBefore = process.env[evaluationDateEnv];
  if (options.evaluationDate !== undefined) process.env[evaluationDateEnv] = options.evaluationDate;
  let result: Awaited<ReturnType<typeof runUnderMocks>>;
  try {
    result = await runUnderMocks(
      { project: offline.project, stack, config: offline.config, secretKeys: offline.secretKeys, maskValues: offline.maskValues, preview: options.preview },
      () => {
        // A fresh module per run: the program's top level is the deployment.
        delete require.cache[require.resolve(programPath)];
        return { ...(require(programPath) as Record<string, unknown>) };
      },
    );
  } finally {
    if (options.evaluationDate !== undefined) {
      if (pinnedBefore === undefined) delete process.env[evaluationDateEnv];
      else process.env[evaluationDateEnv] = pinnedBefore;
    }
  }
  return {
    project: offline.project,
    stack,
    settings,
    stackFile: offline.stackFile,
    resources: result.resources,
    outputs: result.outputs,
    placeholderKeys: offline.placeholderKeys,
    unknownInvokes: result.unknownInvokes,
  };
}
