/**
 * Preparing a stack's configuration for an offline run: the stack file's values, and for every
 * secret a placeholder (the stack file holds only ciphertext, which cannot be decrypted offline).
 * Placeholders are masked in every output of the plan.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { configNamespace, secretKeys } from "../config/settings";
import { readStackFile, stackFileToRuntimeConfig, type StackFile } from "../config/load";

/** Offline stand-ins for secrets: syntactically valid, obviously fake, never sent anywhere. */
export const secretPlaceholders: Readonly<Record<string, string>> = {
  [`${configNamespace}:redisAuthToken`]: "offline-plan-placeholder-token",
  [`${configNamespace}:slackWebhookUrl`]: "https://hooks.slack.invalid/services/OFFLINE-PLAN",
  [`${configNamespace}:alertEmail`]: "oncall@offline-plan.invalid",
};

export interface OfflineStackConfig {
  readonly project: string;
  readonly stack: string;
  readonly stackFile: StackFile;
  /** Full keys to string values, as the engine would pass them. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
  /** Secret keys for which a placeholder stands in (all of them, offline). */
  readonly placeholderKeys: string[];
  readonly maskValues: string[];
}

export function readProjectName(projectDir: string): string {
  const doc = parseYaml(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof doc?.name !== "string") throw new Error(`${path.join(projectDir, "Pulumi.yaml")}: 'name' is missing`);
  return doc.name;
}

export function offlineStackConfig(projectDir: string, stack: string): OfflineStackConfig {
  const project = readProjectName(projectDir);
  const stackFile = readStackFile(projectDir, stack);
  const { config, secretKeys: secure } = stackFileToRuntimeConfig(stackFile, secretPlaceholders);
  const placeholderKeys = [...secure];
  for (const key of secretKeys) {
    const fullKey = `${configNamespace}:${key}`;
    if (fullKey in stackFile.config) continue; // present: secure (placeholder set above) or plain (rejected by validation)
    config[fullKey] = secretPlaceholders[fullKey]!;
    placeholderKeys.push(fullKey);
  }
  return {
    project,
    stack,
    stackFile,
    config,
    secretKeys: placeholderKeys,
    placeholderKeys,
    maskValues: Object.values(secretPlaceholders),
  };
}
