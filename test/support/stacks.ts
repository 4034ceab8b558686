/** Test helpers: the shipped stacks' settings, as the plan validates them. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parseSettings, type PlatformSettings } from "../../lib/config/settings";
import { rawConfigFromRuntimeConfig } from "../../lib/config/load";
import { offlineStackConfig } from "../../lib/plan/stackConfig";

export const repoRoot = path.resolve(__dirname, "../..");
export const stacks = ["prod", "dev"] as const;

export function loadStackSettings(stack: string): PlatformSettings {
  const offline = offlineStackConfig(repoRoot, stack);
  return parseSettings(stack, rawConfigFromRuntimeConfig(offline.config, new Set(offline.secretKeys)));
}

/**
 * A temporary project dir holding Pulumi.yaml and a stack file derived from a shipped one by
 * `mutate` (which edits the parsed YAML document in place).
 */
export function mutatedProject(from: string, stackName: string, mutate: (config: Record<string, any>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "autoscaling-stack-"));
  fs.copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const doc = parseYaml(fs.readFileSync(path.join(repoRoot, `Pulumi.${from}.yaml`), "utf8")) as { config: Record<string, any> };
  mutate(doc.config);
  fs.writeFileSync(path.join(dir, `Pulumi.${stackName}.yaml`), stringifyYaml(doc));
  return dir;
}

/** Secret stand-ins the component tests look for in recorded inputs (to prove they never leak). */
export const testSecrets = {
  redisAuthToken: "plan-placeholder-redis-token-0000",
  slackWebhookUrl: "https://hooks.slack.invalid/services/PLAN",
  alertEmail: "oncall@example.invalid",
} as const;

/** A shipped stack's settings with the given secret values (default `testSecrets`). */
export function settingsWithSecrets(stack: string, secrets: Partial<Record<keyof typeof testSecrets, string>> = {}): PlatformSettings {
  const settings = loadStackSettings(stack);
  return { ...settings, secrets: { ...testSecrets, ...secrets } };
}
