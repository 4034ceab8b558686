/**
 * Reading a stack's configuration, from the Pulumi runtime (a real `pulumi up`) or from a stack
 * file on disk (the offline plan), into the raw form the settings schema validates.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { configNamespace, parseSettings, settingsWarnings, type PlatformSettings, type RawConfig } from "./settings";
import { placeholderWarnings } from "./placeholders";
import { calendarDay } from "../catalog/eksVersions";

/**
 * Reads and validates the running stack's settings. Throws SettingsError before anything is
 * registered; warnings (`settingsWarnings` on `asOf`, default `calendarDay()`, e.g. EKS standard support ending) go to the engine log.
 */
export function loadSettingsFromRuntime(asOf?: Date): PlatformSettings {
  const all = pulumi.runtime.allConfig();
  const secret = new Set(Object.keys(all).filter(isSecretConfigKey));
  const settings = parseSettings(pulumi.getStack(), rawConfigFromRuntimeConfig(all, secret));
  // Plain values only: a secret's value is never read into a message.
  const plain = Object.fromEntries(Object.entries(all).filter(([k]) => !secret.has(k)).map(([k, v]) => [k, decodeConfigValue(v)]));
  for (const warning of placeholderWarnings(plain)) void pulumi.log.warn(warning);
  // The day is read only once the settings are valid: a bad stack file fails on its own message.
  for (const warning of settingsWarnings(settings, asOf ?? calendarDay("the program's settings warnings"))) void pulumi.log.warn(warning);
  return settings;
}

/**
 * Whether the engine passed this key as a secret. The SDK's `isConfigSecret` is marked internal
 * (absent from its typings) but is how `Config.get*` itself decides; a missing function means an SDK
 * we have not tested against, and the key counts as plain, so a secret key is rejected, never leaked.
 */
function isSecretConfigKey(fullKey: string): boolean {
  const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return typeof fn === "function" ? fn(fullKey) : false;
}

/** Config values arrive as strings; objects, arrays, numbers and booleans as JSON text. */
export function decodeConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function stripNamespace(fullKey: string): string | undefined {
  const [ns, ...rest] = fullKey.split(":");
  if (ns !== configNamespace) return undefined;
  // Pulumi accepts the legacy `<ns>:config:<key>` form too.
  return rest[0] === "config" && rest.length === 2 ? rest[1] : rest.join(":");
}

/** A stack file as loaded from disk: every namespace's keys, with secure values kept encrypted. */
export interface StackFile {
  readonly stack: string;
  readonly path: string;
  /** Full config keys (`ns:key`) to values; secure values are `{ secure: "<ciphertext>" }`. */
  readonly config: Readonly<Record<string, unknown>>;
}

export class StackFileError extends Error {}

export function readStackFile(projectDir: string, stack: string): StackFile {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new StackFileError(`--stack = ${JSON.stringify(stack)}: must be a stack name of letters, digits, '.', '_' or '-'`);
  }
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(projectDir).filter((f) => /^Pulumi\.(.+)\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    throw new StackFileError(`stack '${stack}' has no stack file ${file} (stacks here: ${known.join(", ") || "none"})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new StackFileError(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new StackFileError(`${file}: 'config' must be a map of keys to values`);
  }
  const qualified: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    qualified[key.includes(":") ? key : `${configNamespace}:${key}`] = value;
  }
  return { stack, path: file, config: qualified };
}

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value && Object.keys(value).length === 1;
}

/**
 * Turns a stack file into the flat, string-valued config map the Pulumi runtime receives
 * (`pulumi.runtime.setAllConfig`), plus the keys that are secret. Encrypted values cannot be
 * decrypted offline: `secretPlaceholders` supplies a stand-in for each (masked in every output).
 */
export function stackFileToRuntimeConfig(
  file: StackFile,
  secretPlaceholders: Readonly<Record<string, string>>,
): { config: Record<string, string>; secretKeys: string[]; placeholdersUsed: string[] } {
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const placeholdersUsed: string[] = [];
  for (const [key, value] of Object.entries(file.config)) {
    if (isSecure(value)) {
      const placeholder = secretPlaceholders[key];
      if (placeholder === undefined) continue;
      config[key] = placeholder;
      secretKeys.push(key);
      placeholdersUsed.push(key);
      continue;
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys, placeholdersUsed };
}

/**
 * Raw settings straight from a stack file (validation without the runtime). Secrets missing from
 * the file, or stored encrypted, take the given placeholders and count as secret.
 */
export function rawConfigFromStackFile(file: StackFile, secretPlaceholders: Readonly<Record<string, string>>): RawConfig {
  const { config, secretKeys } = stackFileToRuntimeConfig(file, secretPlaceholders);
  for (const [fullKey, placeholder] of Object.entries(secretPlaceholders)) {
    if (fullKey in file.config) continue;
    config[fullKey] = placeholder;
    secretKeys.push(fullKey);
  }
  return rawConfigFromRuntimeConfig(config, new Set(secretKeys));
}

/** The `autoscaling` namespace of an engine-style config map (full keys, string values). */
export function rawConfigFromRuntimeConfig(config: Readonly<Record<string, string>>, secretFullKeys: ReadonlySet<string>): RawConfig {
  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [fullKey, text] of Object.entries(config)) {
    const key = stripNamespace(fullKey);
    if (key === undefined) continue;
    values[key] = decodeConfigValue(text);
    if (secretFullKeys.has(fullKey)) secret.add(key);
  }
  return { values, secretKeys: secret };
}
