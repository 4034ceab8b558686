/**
 * Strict validation of rendered Kubernetes manifests against the real, vendored schemas in
 * `<repoRoot>/../shared/schemas` (see SOURCES.md there): CRD `openAPIV3Schema`s of KEDA, VPA,
 * prometheus-operator and Karpenter, and the yannh-style "standalone-strict" JSON Schemas of the
 * core kinds.
 *
 * Why strict: the API server silently prunes unknown fields of custom resources, so a misspelt
 * KEDA or Karpenter field deploys "successfully" and simply does nothing. Here every unknown
 * field is an error, and an object whose kind has no schema fails instead of passing unchecked
 * (unless it is explicitly allow-listed in {@link kindsWithoutSchema}).
 *
 * The module has no side effects at import: schemas are read on the first validation, and each
 * kind's ajv validator is compiled once, on the first object of that kind.
 */
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ErrorObject, type Options as AjvOptions, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parseAllDocuments } from "yaml";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** Outcome of validating one manifest object. */
export interface ManifestValidationResult {
  /** True when the object matches its schema (or is an allow-listed kind with valid metadata). */
  readonly ok: boolean;
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  /** One line per problem: `<apiVersion> <kind> <namespace/name>: <json path>: <message>`. */
  readonly errors: string[];
  /** Set when the kind is in {@link kindsWithoutSchema}: why it was not schema-checked. */
  readonly skipped?: string;
}

/** A schema the registry knows, for introspection and tests. */
export interface RegisteredSchema {
  readonly apiVersion: string;
  readonly kind: string;
  /** `crd`: from a CustomResourceDefinition; `core`: from a Kubernetes JSON Schema file. */
  readonly origin: "crd" | "core";
  /** File the schema came from, relative to the schemas folder. */
  readonly source: string;
}

export interface SchemaRegistryDescription {
  readonly schemasDir: string;
  readonly schemas: RegisteredSchema[];
  /** Files or documents that were skipped while loading, and why. */
  readonly warnings: string[];
}

export interface ManifestValidator {
  validateManifest(obj: unknown): ManifestValidationResult;
  validateManifests(objs: readonly unknown[]): ManifestValidationResult[];
  describeSchemaRegistry(): SchemaRegistryDescription;
}

export interface ManifestValidatorOptions {
  /** Folder holding the schemas; defaults to {@link resolveSchemasDir}(). */
  readonly schemasDir?: string;
}

// ---------------------------------------------------------------------------------------------
// Kinds deliberately deployed without a vendored schema
// ---------------------------------------------------------------------------------------------

/**
 * Kinds this stack deploys for which shared/schemas vendors no schema, keyed by
 * `"<apiVersion> <kind>"`, with the reason they are accepted unchecked. Anything not listed here
 * and not in the registry is rejected, so adding a new kind forces a conscious decision: vendor
 * its schema, or add it here with a reason. Envelope fields (apiVersion, kind, metadata) are still
 * checked for these kinds.
 */
export const kindsWithoutSchema: Readonly<Record<string, string>> = Object.freeze({
  "rbac.authorization.k8s.io/v1 Role": "no schema vendored; RBAC rules are reviewed by hand",
  "rbac.authorization.k8s.io/v1 RoleBinding": "no schema vendored; RBAC bindings are reviewed by hand",
  "rbac.authorization.k8s.io/v1 ClusterRole": "no schema vendored; RBAC rules are reviewed by hand",
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
    "no schema vendored; RBAC bindings are reviewed by hand",
  "storage.k8s.io/v1 StorageClass":
    "no schema vendored (shared/schemas/kubernetes holds a subset of the core kinds); the gp3 class's fields and the EBS CSI driver's parameters are checked by test/components/storage.test.ts",
});

// ---------------------------------------------------------------------------------------------
// Locating the schemas
// ---------------------------------------------------------------------------------------------

/** Environment variable that points the validator at another schemas folder. */
export const SCHEMAS_DIR_ENV = "PYAIRTABLE_SCHEMAS_DIR";

/**
 * The schemas folder: `$PYAIRTABLE_SCHEMAS_DIR` if set, else `<repoRoot>/../shared/schemas`.
 * Resolved from this file's location, not the working directory, because CI clones the repo
 * into a different folder with its own copy of shared/ beside it.
 */
export function resolveSchemasDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[SCHEMAS_DIR_ENV];
  if (override !== undefined && override.trim() !== "") return path.resolve(override);
  return path.resolve(__dirname, "../../../shared/schemas");
}

// ---------------------------------------------------------------------------------------------
// Default validator (lazy singleton)
// ---------------------------------------------------------------------------------------------

let defaultValidator: ManifestValidator | undefined;

/** The process-wide validator; created (and the env var read) on first use, not at import. */
function getDefaultValidator(): ManifestValidator {
  defaultValidator ??= createManifestValidator();
  return defaultValidator;
}

/** Validates one manifest object with the default schemas folder. */
export function validateManifest(obj: unknown): ManifestValidationResult {
  return getDefaultValidator().validateManifest(obj);
}

/** Validates many manifest objects; results are in input order. */
export function validateManifests(objs: readonly unknown[]): ManifestValidationResult[] {
  return getDefaultValidator().validateManifests(objs);
}

/** The kinds the default validator knows, and any warnings from loading the schemas. */
export function describeSchemaRegistry(): SchemaRegistryDescription {
  return getDefaultValidator().describeSchemaRegistry();
}

/**
 * A human-readable report of the failed results (one error per line, already naming the object),
 * or the empty string when every result is ok. Meant for throwing from a Pulumi program or a test.
 */
export function formatValidationErrors(results: readonly ManifestValidationResult[]): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return "";
  const lines = failed.flatMap((r) => r.errors.map((e) => `  - ${e}`));
  return [`Schema validation failed for ${failed.length} of ${results.length} manifest(s):`, ...lines].join(
    "\n",
  );
}

/**
 * A validator bound to one schemas folder. The folder is read on the first call (so creating a
 * validator is free), and each kind's schema is compiled on its first object, then cached.
 */
export function createManifestValidator(options: ManifestValidatorOptions = {}): ManifestValidator {
  const schemasDir = options.schemasDir ?? resolveSchemasDir();
  let state: ValidatorState | undefined;
  const getState = (): ValidatorState => (state ??= loadValidatorState(schemasDir));

  const validateOne = (obj: unknown): ManifestValidationResult => validateWithState(getState(), obj);
  return {
    validateManifest: validateOne,
    validateManifests: (objs) => objs.map(validateOne),
    describeSchemaRegistry: () => describeState(getState()),
  };
}

// ---------------------------------------------------------------------------------------------
// Schema registry
// ---------------------------------------------------------------------------------------------

type JsonObject = { [key: string]: unknown };

interface SchemaEntry extends RegisteredSchema {
  /** The schema as published (openAPIV3Schema or JSON Schema); normalized when compiled. */
  readonly rawSchema: JsonObject;
}

interface SchemaRegistry {
  readonly entries: Map<string, SchemaEntry>;
  /** CRD versions present but `served: false`, keyed like entries, valued by source file. */
  readonly unservedVersions: Map<string, string>;
  readonly warnings: string[];
}

interface ValidatorState {
  readonly schemasDir: string;
  readonly registry: SchemaRegistry;
  readonly ajv: Ajv;
  readonly compiled: Map<string, ValidateFunction>;
}

/** Registry key of a kind: `"<apiVersion> <kind>"`, the same shape as {@link kindsWithoutSchema}. */
function schemaKey(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

function loadValidatorState(schemasDir: string): ValidatorState {
  const registry = loadSchemaRegistry(schemasDir);
  return { schemasDir, registry, ajv: createAjv(registry.warnings), compiled: new Map() };
}

function describeState(state: ValidatorState): SchemaRegistryDescription {
  const schemas = [...state.registry.entries.values()].map(({ apiVersion, kind, origin, source }) => ({
    apiVersion,
    kind,
    origin,
    source,
  }));
  return { schemasDir: state.schemasDir, schemas, warnings: [...state.registry.warnings] };
}

/**
 * Reads every `*.json` (core JSON Schema) and `*.yaml`/`*.yml` (CRD) file under the folder.
 * Nothing is hard-coded: which kinds and versions exist is whatever the files declare.
 */
function loadSchemaRegistry(schemasDir: string): SchemaRegistry {
  if (!fs.existsSync(schemasDir) || !fs.statSync(schemasDir).isDirectory()) {
    throw new Error(
      `Kubernetes schemas folder not found: ${schemasDir} (expected <repoRoot>/../shared/schemas; ` +
        `set ${SCHEMAS_DIR_ENV} to override)`,
    );
  }
  const registry: SchemaRegistry = { entries: new Map(), unservedVersions: new Map(), warnings: [] };
  for (const file of listFilesRecursively(schemasDir)) {
    const source = path.relative(schemasDir, file).split(path.sep).join("/");
    const ext = path.extname(file).toLowerCase();
    if (ext === ".json") addCoreSchemaFile(registry, file, source);
    else if (ext === ".yaml" || ext === ".yml") addCrdFile(registry, file, source);
  }
  return registry;
}

/** All regular files below `dir`, sorted so that duplicate resolution is deterministic. */
function listFilesRecursively(dir: string): string[] {
  const out: string[] = [];
  for (const dirent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (dirent.name.startsWith(".")) continue;
    const full = path.join(dir, dirent.name);
    if (dirent.isDirectory()) out.push(...listFilesRecursively(full));
    else if (dirent.isFile()) out.push(full);
  }
  return out.sort();
}

function registerSchema(registry: SchemaRegistry, entry: SchemaEntry): void {
  const key = schemaKey(entry.apiVersion, entry.kind);
  const existing = registry.entries.get(key);
  if (existing) {
    registry.warnings.push(`${entry.source}: duplicate schema for ${key} ignored (already from ${existing.source})`);
    return;
  }
  registry.entries.set(key, entry);
}

/** File names of the yannh layout: `<kind>-<group's first label>-<version>.json` or `<kind>-<version>.json`. */
const CORE_SCHEMA_FILE_NAME = /^([a-z0-9]+)(?:-([a-z0-9-]+))?-(v\d+(?:(?:alpha|beta)\d+)?)\.json$/;

interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/**
 * Registers a core JSON Schema. The file name gives kind, group and version, but lower-cased and
 * with only the group's first label (`clusterrole-rbac-v1`), so the exact spelling is taken from
 * the schema's `x-kubernetes-group-version-kind` entry that matches the file name.
 */
function addCoreSchemaFile(registry: SchemaRegistry, file: string, source: string): void {
  const match = CORE_SCHEMA_FILE_NAME.exec(path.basename(file));
  if (!match) return; // e.g. _definitions.json: not a per-kind schema
  const [, kindLower, groupLabel = "", version] = match;
  const schema = readJsonObject(file);
  if (!schema) {
    registry.warnings.push(`${source}: not a JSON object, ignored`);
    return;
  }
  const gvk = declaredGroupVersionKinds(schema).find(
    (g) =>
      g.kind.toLowerCase() === kindLower && g.version === version && (g.group.split(".")[0] ?? "") === groupLabel,
  );
  if (!gvk) {
    registry.warnings.push(`${source}: no x-kubernetes-group-version-kind matching the file name, ignored`);
    return;
  }
  const apiVersion = gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
  registerSchema(registry, { apiVersion, kind: gvk.kind, origin: "core", source, rawSchema: schema });
}

function readJsonObject(file: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function declaredGroupVersionKinds(schema: JsonObject): GroupVersionKind[] {
  const list = schema["x-kubernetes-group-version-kind"];
  if (!Array.isArray(list)) return [];
  return list.filter(
    (g): g is GroupVersionKind =>
      isPlainObject(g) && typeof g.group === "string" && typeof g.version === "string" && typeof g.kind === "string",
  );
}

/**
 * Registers every served version of every CustomResourceDefinition in a (possibly multi-document)
 * YAML file. Unserved versions are remembered only to explain why they are rejected.
 */
function addCrdFile(registry: SchemaRegistry, file: string, source: string): void {
  // An empty file yields an EmptyStream, which is an empty array.
  const documents = parseAllDocuments(fs.readFileSync(file, "utf8"));
  documents.forEach((doc, index) => {
    const where = documents.length > 1 ? `${source} (document ${index + 1})` : source;
    if (doc.errors.length > 0) {
      registry.warnings.push(`${where}: YAML error, ignored: ${doc.errors[0]?.message ?? "unknown"}`);
      return;
    }
    const crd: unknown = doc.toJS();
    if (!isPlainObject(crd) || crd.kind !== "CustomResourceDefinition") return;
    if (crd.apiVersion !== "apiextensions.k8s.io/v1") {
      registry.warnings.push(`${where}: CRD apiVersion ${String(crd.apiVersion)} is not supported, ignored`);
      return;
    }
    addCrdVersions(registry, crd, where, source);
  });
}

function addCrdVersions(registry: SchemaRegistry, crd: JsonObject, where: string, source: string): void {
  const spec = isPlainObject(crd.spec) ? crd.spec : {};
  const group = spec.group;
  const kind = isPlainObject(spec.names) ? spec.names.kind : undefined;
  if (typeof group !== "string" || typeof kind !== "string" || !Array.isArray(spec.versions)) {
    registry.warnings.push(`${where}: CRD without spec.group, spec.names.kind or spec.versions, ignored`);
    return;
  }
  for (const version of spec.versions) {
    if (!isPlainObject(version) || typeof version.name !== "string") continue;
    const apiVersion = `${group}/${version.name}`;
    const key = schemaKey(apiVersion, kind);
    if (version.served !== true) {
      registry.unservedVersions.set(key, source);
      continue;
    }
    const schema = isPlainObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (!isPlainObject(schema)) {
      registry.warnings.push(`${where}: ${key} has no openAPIV3Schema, ignored`);
      continue;
    }
    registerSchema(registry, { apiVersion, kind, origin: "crd", source, rawSchema: schema });
  }
}

// ---------------------------------------------------------------------------------------------
// From Kubernetes schemas to strict JSON Schema
// ---------------------------------------------------------------------------------------------

/** Where a subschema sits: structural (describes fields) or inside anyOf/allOf/oneOf/not. */
type SchemaPosition = "structural" | "value";

interface NormalizeOptions {
  /**
   * Apply structural-schema semantics (CRDs): an object with `properties` and no
   * `additionalProperties` drops unknown fields in the API server, so here it rejects them.
   */
  readonly closeObjects: boolean;
  /** Collects every `format` used, so unknown ones can be registered as no-ops. */
  readonly formats: Set<string>;
}

/** Keys that only document or drive server-side behaviour; removed to keep compiled code small. */
function isDroppedKeyword(key: string): boolean {
  return key === "description" || key === "$schema" || key.startsWith("x-kubernetes-");
}

/** Keys whose value is a single subschema. */
const SUBSCHEMA_KEYS = new Set(["items", "additionalProperties", "not", "additionalItems", "contains"]);
/** Keys whose value is a list of subschemas, validated as alternatives or conjunctions. */
const SUBSCHEMA_LIST_KEYS = new Set(["anyOf", "oneOf", "allOf"]);
/** Keys whose value maps names to subschemas. */
const SUBSCHEMA_MAP_KEYS = new Set(["properties", "patternProperties", "definitions", "$defs"]);

/**
 * Returns a JSON Schema (draft-07 as understood by ajv) equivalent to a Kubernetes openAPIV3Schema
 * or standalone-strict JSON Schema, with Kubernetes-specific keywords translated:
 * `x-kubernetes-int-or-string` becomes `type: [integer, string]`, `nullable` adds `null`,
 * type-only `anyOf`/`oneOf` collapse into a type union, and (for CRDs) objects are closed.
 */
function normalizeSchema(node: unknown, options: NormalizeOptions, position: SchemaPosition = "structural"): unknown {
  if (Array.isArray(node)) return node.map((item) => normalizeSchema(item, options, position));
  if (!isPlainObject(node)) return node;

  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (isDroppedKeyword(key)) continue;
    if (SUBSCHEMA_MAP_KEYS.has(key) && isPlainObject(value)) {
      out[key] = mapValues(value, (sub) => normalizeSchema(sub, options, position));
    } else if (SUBSCHEMA_LIST_KEYS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => normalizeSchema(sub, options, "value"));
    } else if (SUBSCHEMA_KEYS.has(key) && (isPlainObject(value) || Array.isArray(value))) {
      out[key] = normalizeSchema(value, options, key === "not" ? "value" : position);
    } else {
      out[key] = value;
    }
  }
  if (typeof out.format === "string") options.formats.add(out.format);

  applyIntOrString(node, out);
  collapseTypeOnlyAlternatives(out);
  applyNullable(node, out);
  if (node["x-kubernetes-embedded-resource"] === true) addEnvelopeProperties(out);
  if (options.closeObjects && position === "structural") closeObject(node, out);
  return out;
}

/** `x-kubernetes-int-or-string: true` means "integer or string", whether or not anyOf spells it out. */
function applyIntOrString(original: JsonObject, out: JsonObject): void {
  if (original["x-kubernetes-int-or-string"] !== true) return;
  if (isTypeOnlyList(out.anyOf)) delete out.anyOf;
  out.type ??= ["integer", "string"];
}

/**
 * `anyOf`/`oneOf` whose branches only name a type become one `type` union. For core schemas this
 * fixes a quirk: `oneOf [string|null, integer|null]` rejects an explicit null because null matches
 * both branches. It also yields one clear error ("must be integer or string") instead of three.
 */
function collapseTypeOnlyAlternatives(out: JsonObject): void {
  for (const key of ["oneOf", "anyOf"] as const) {
    const branches = out[key];
    if (out.type !== undefined || !isTypeOnlyList(branches)) continue;
    out.type = uniqueTypes(branches.flatMap((b) => toTypeList(b.type)));
    delete out[key];
  }
}

/** OpenAPI `nullable: true` becomes an explicit `null` in the type (and enum, if any). */
function applyNullable(original: JsonObject, out: JsonObject): void {
  if (original.nullable !== true) return;
  delete out.nullable;
  if (out.type !== undefined) out.type = uniqueTypes([...toTypeList(out.type), "null"]);
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
}

/** Closes an object schema unless it declares its own `additionalProperties` or keeps unknown fields. */
function closeObject(original: JsonObject, out: JsonObject): void {
  const preservesUnknown = original["x-kubernetes-preserve-unknown-fields"] === true;
  if (isPlainObject(out.properties) && out.additionalProperties === undefined && !preservesUnknown) {
    out.additionalProperties = false;
  }
}

/**
 * The top level of a resource (and `x-kubernetes-embedded-resource` objects) always allows
 * apiVersion, kind and metadata. metadata is left open here: it is checked by
 * {@link checkMetadata}, because CRDs only declare it as `type: object`.
 */
function addEnvelopeProperties(out: JsonObject): void {
  const properties = isPlainObject(out.properties) ? out.properties : {};
  out.properties = {
    ...properties,
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
  };
}

function isTypeOnlyList(value: unknown): value is Array<{ type: string | string[] }> {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b) => isPlainObject(b) && Object.keys(b).length === 1 && toTypeList(b.type).length > 0)
  );
}

function toTypeList(type: unknown): string[] {
  if (typeof type === "string") return [type];
  return Array.isArray(type) ? type.filter((t): t is string => typeof t === "string") : [];
}

function uniqueTypes(types: string[]): string[] {
  return [...new Set(types)];
}

/** Prepares a registered schema for ajv: CRDs get structural semantics and the envelope. */
function toStrictJsonSchema(entry: SchemaEntry, formats: Set<string>): JsonObject {
  const closeObjects = entry.origin === "crd";
  const schema = normalizeSchema(entry.rawSchema, { closeObjects, formats }) as JsonObject;
  if (entry.origin === "crd") addEnvelopeProperties(schema);
  return schema;
}

// ---------------------------------------------------------------------------------------------
// ajv setup
// ---------------------------------------------------------------------------------------------

type RegExpEngine = NonNullable<NonNullable<AjvOptions["code"]>["regExp"]>;

/**
 * Go duration (`metav1.Duration`, kube-openapi `format: duration`), e.g. `90s`, `1h30m`, `0`.
 * ajv-formats' `duration` is ISO 8601 (`PT90S`), which would reject every valid Kubernetes value.
 */
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w))+)$/;

function createAjv(warnings: string[]): Ajv {
  const ajv = new Ajv({
    // Kubernetes keywords (x-kubernetes-*, nullable, example...) are not JSON Schema.
    strict: false,
    // Report every unknown field at once, not just the first.
    allErrors: true,
    // optimize: false roughly halves compile time of the big pod-template schemas (Deployment,
    // CronJob, ScaledJob); it only skips dead-code elimination, validation results are identical.
    code: { regExp: createKubernetesRegExpEngine(warnings), optimize: false },
  });
  addFormats(ajv);
  ajv.addFormat("duration", GO_DURATION);
  return ajv;
}

/**
 * CRD patterns are Go RE2 syntax. The only construct JavaScript lacks in practice is a leading
 * inline flag group, e.g. prometheus-operator's `^(?i)(abort|warn)?$`, which becomes the `i` flag.
 * A pattern that still does not compile is skipped (with a warning) instead of breaking the kind.
 */
function createKubernetesRegExpEngine(warnings: string[]): RegExpEngine {
  const engine = (pattern: string, unicodeFlag: string) => {
    const { source, flags } = translateGoInlineFlags(pattern);
    for (const candidateFlags of [flags + unicodeFlag, flags]) {
      try {
        return new RegExp(source, candidateFlags);
      } catch {
        // try the next flag set
      }
    }
    warnings.push(`pattern ${JSON.stringify(pattern)} is not a valid JavaScript regular expression; not enforced`);
    return { test: () => true, toString: () => `unsupported:${pattern}` };
  };
  // `code` is only used by ajv's standalone code generation, which this module does not use.
  return Object.assign(engine, { code: "kubernetesRegExp" });
}

const GO_LEADING_FLAGS = /^(\^?)\(\?([ims]+)\)/;

function translateGoInlineFlags(pattern: string): { source: string; flags: string } {
  const match = GO_LEADING_FLAGS.exec(pattern);
  if (!match) return { source: pattern, flags: "" };
  const [whole, caret = "", goFlags = ""] = match;
  // Go's i, m and s flags mean the same as JavaScript's.
  const flags = [...new Set(goFlags)].join("");
  return { source: caret + pattern.slice(whole.length), flags };
}

/** The compiled validator of a kind, compiled on first use and cached for the validator's lifetime. */
function compiledValidator(state: ValidatorState, key: string, entry: SchemaEntry): ValidateFunction {
  const cached = state.compiled.get(key);
  if (cached) return cached;
  const formats = new Set<string>();
  const schema = toStrictJsonSchema(entry, formats);
  for (const format of formats) {
    // Unknown formats (e.g. OpenAPI's int-or-string hints) are documentation, not constraints.
    if (state.ajv.formats[format] === undefined) state.ajv.addFormat(format, true);
  }
  const validate = state.ajv.compile(schema);
  state.compiled.set(key, validate);
  return validate;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

interface ObjectIdentity {
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
}

/** A problem at a JSON pointer inside the object. */
interface Problem {
  readonly path: string;
  readonly message: string;
}

function validateWithState(state: ValidatorState, input: unknown): ManifestValidationResult {
  const serialized = toSerializedForm(input);
  if (!serialized.ok) {
    return buildResult(identityOf(undefined), [{ path: "", message: serialized.message }]);
  }
  const obj = serialized.value;
  const identity = identityOf(obj);
  const problems = checkEnvelope(obj);
  if (identity.apiVersion === undefined || identity.kind === undefined || !isPlainObject(obj)) {
    return buildResult(identity, problems);
  }
  const key = schemaKey(identity.apiVersion, identity.kind);
  problems.push(...checkMetadata(obj.metadata, key));

  const entry = state.registry.entries.get(key);
  if (entry) {
    const validate = compiledValidator(state, key, entry);
    if (!validate(obj)) problems.push(...(validate.errors ?? []).map(toProblem));
    return buildResult(identity, problems);
  }
  const skipReason = kindsWithoutSchema[key];
  if (skipReason !== undefined) return buildResult(identity, problems, skipReason);
  problems.push({ path: "", message: noSchemaMessage(state.registry, identity.apiVersion, identity.kind) });
  return buildResult(identity, problems);
}

/**
 * Validates the object as it will be sent to the cluster: JSON semantics, so `undefined` fields
 * (common in objects built in TypeScript) are absent rather than type errors.
 */
function toSerializedForm(input: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    const json = JSON.stringify(input);
    if (json === undefined) return { ok: false, message: "must be object" };
    return { ok: true, value: JSON.parse(json) };
  } catch (error) {
    return { ok: false, message: `is not JSON-serializable: ${(error as Error).message}` };
  }
}

function identityOf(obj: unknown): ObjectIdentity {
  const root = isPlainObject(obj) ? obj : {};
  const metadata = isPlainObject(root.metadata) ? root.metadata : {};
  return {
    apiVersion: nonEmptyString(root.apiVersion),
    kind: nonEmptyString(root.kind),
    name: nonEmptyString(metadata.name),
    namespace: nonEmptyString(metadata.namespace),
  };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** `apiVersion kind namespace/name` (or `name` when there is no namespace) for error lines. */
function describeObject(identity: ObjectIdentity): string {
  const name = identity.name ?? "<unnamed>";
  const qualified = identity.namespace ? `${identity.namespace}/${name}` : name;
  return `${identity.apiVersion ?? "<no apiVersion>"} ${identity.kind ?? "<no kind>"} ${qualified}`;
}

function buildResult(identity: ObjectIdentity, problems: Problem[], skipped?: string): ManifestValidationResult {
  const prefix = describeObject(identity);
  // The same problem can be reported by the schema and by the envelope/metadata checks.
  const errors = [...new Set(problems.map((p) => `${prefix}: ${p.path || "/"}: ${p.message}`))];
  return {
    ok: errors.length === 0,
    ...identity,
    errors,
    ...(skipped !== undefined ? { skipped } : {}),
  };
}

/**
 * apiVersion, kind and metadata.name are required of every object; the core JSON Schemas do not
 * say so (a known quirk of that schema family) and CRD schemas leave metadata open.
 */
function checkEnvelope(obj: unknown): Problem[] {
  if (!isPlainObject(obj)) return [{ path: "", message: "must be object" }];
  const problems: Problem[] = [];
  for (const field of ["apiVersion", "kind"] as const) {
    const value = obj[field];
    if (value === undefined || value === null) problems.push(missing("", field));
    else if (typeof value !== "string") problems.push({ path: `/${field}`, message: "must be string" });
    else if (value === "") problems.push({ path: `/${field}`, message: "must NOT be empty" });
  }
  if (obj.metadata === undefined || obj.metadata === null) problems.push(missing("", "metadata"));
  else if (isPlainObject(obj.metadata) && obj.metadata.name === undefined) problems.push(missing("/metadata", "name"));
  return problems;
}

function missing(path: string, property: string): Problem {
  return { path, message: `must have required property '${property}'` };
}

function noSchemaMessage(registry: SchemaRegistry, apiVersion: string, kind: string): string {
  const base = `no schema for ${apiVersion} ${kind}`;
  const key = schemaKey(apiVersion, kind);
  const unservedIn = registry.unservedVersions.get(key);
  if (unservedIn !== undefined) return `${base} (this version is defined in ${unservedIn} but not served)`;
  const otherVersions = [...registry.entries.values()].filter((e) => e.kind === kind).map((e) => e.apiVersion);
  if (otherVersions.length > 0) return `${base} (known versions: ${otherVersions.join(", ")})`;
  return `${base} (vendor its schema in shared/schemas or add it to kindsWithoutSchema)`;
}

// ---------------------------------------------------------------------------------------------
// ajv errors to messages
// ---------------------------------------------------------------------------------------------

function toProblem(error: ErrorObject): Problem {
  return { path: error.instancePath, message: describeAjvError(error) };
}

/** ajv's messages, made specific where the default leaves out the useful part. */
function describeAjvError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `must NOT have additional property '${String(params.additionalProperty)}'`;
    case "type": {
      // Core schemas allow null everywhere ([T, "null"]); naming null only adds noise.
      const types = toTypeList(params.type);
      const shown = types.length > 1 ? types.filter((t) => t !== "null") : types;
      return `must be ${shown.join(" or ")}`;
    }
    case "enum": {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    default:
      return error.message ?? `failed ${error.keyword}`;
  }
}

// ---------------------------------------------------------------------------------------------
// metadata
// ---------------------------------------------------------------------------------------------

/** ObjectMeta fields a manifest may carry; anything else is a typo the API server would drop. */
const OBJECT_META_FIELDS = new Set([
  "name",
  "generateName",
  "namespace",
  "labels",
  "annotations",
  "finalizers",
  "ownerReferences",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** The name part of a label key, and a non-empty label value. */
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

type NameRule = (name: string) => string | undefined;

const dns1123Subdomain: NameRule = (name) =>
  name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
    ? undefined
    : "must be a DNS-1123 subdomain (at most 253 lowercase alphanumerics, '-' or '.', starting and ending alphanumeric)";

const dns1123Label: NameRule = (name) =>
  name.length <= 63 && DNS1123_LABEL.test(name)
    ? undefined
    : "must be a DNS-1123 label (at most 63 lowercase alphanumerics or '-', starting and ending alphanumeric)";

const dns1035Label: NameRule = (name) =>
  name.length <= 63 && DNS1035_LABEL.test(name)
    ? undefined
    : "must be a DNS-1035 label (at most 63 lowercase alphanumerics or '-', starting with a letter)";

const pathSegment: NameRule = (name) =>
  name !== "." && name !== ".." && !/[/%]/.test(name) ? undefined : "must be a valid path segment (no '/' or '%')";

/**
 * Kinds whose names follow a rule other than DNS-1123 subdomain, as the API server validates them:
 * namespaces and services become DNS labels, RBAC objects allow e.g. `system:` prefixes.
 */
const NAME_RULES: Readonly<Record<string, NameRule>> = {
  "v1 Namespace": dns1123Label,
  "v1 Service": dns1035Label,
  "rbac.authorization.k8s.io/v1 Role": pathSegment,
  "rbac.authorization.k8s.io/v1 RoleBinding": pathSegment,
  "rbac.authorization.k8s.io/v1 ClusterRole": pathSegment,
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding": pathSegment,
};

/**
 * Minimal ObjectMeta validation, the part the API server would reject or silently mangle: known
 * fields only, name and namespace syntax, labels and annotations as valid string maps.
 */
function checkMetadata(metadata: unknown, key: string): Problem[] {
  if (metadata === undefined || metadata === null) return []; // reported by checkEnvelope
  if (!isPlainObject(metadata)) return [{ path: "/metadata", message: "must be object" }];
  const problems: Problem[] = [];
  for (const field of Object.keys(metadata)) {
    if (!OBJECT_META_FIELDS.has(field)) {
      problems.push({ path: "/metadata", message: `must NOT have additional property '${field}'` });
    }
  }
  problems.push(...checkNameField(metadata, "name", NAME_RULES[key] ?? dns1123Subdomain));
  problems.push(...checkNameField(metadata, "namespace", dns1123Label));
  problems.push(...checkStringMap(metadata.labels, "/metadata/labels", checkLabel));
  problems.push(...checkStringMap(metadata.annotations, "/metadata/annotations", checkAnnotation));
  problems.push(...checkAnnotationsSize(metadata.annotations));
  return problems;
}

function checkNameField(metadata: JsonObject, field: "name" | "namespace", rule: NameRule): Problem[] {
  const value = metadata[field];
  if (value === undefined) return [];
  const path = `/metadata/${field}`;
  if (typeof value !== "string") return [{ path, message: "must be string" }];
  const problem = rule(value);
  return problem ? [{ path, message: problem }] : [];
}

type EntryCheck = (key: string, value: string) => string[];

function checkStringMap(map: unknown, path: string, checkEntry: EntryCheck): Problem[] {
  if (map === undefined || map === null) return [];
  if (!isPlainObject(map)) return [{ path, message: "must be object" }];
  return Object.entries(map).flatMap(([k, v]) => {
    const entryPath = `${path}/${escapeJsonPointer(k)}`;
    if (typeof v !== "string") return [{ path: entryPath, message: "must be string" }];
    return checkEntry(k, v).map((message) => ({ path: entryPath, message }));
  });
}

const checkLabel: EntryCheck = (key, value) => {
  const problems = qualifiedNameProblems(key).map((p) => `invalid label key '${key}': ${p}`);
  if (value.length > 63) problems.push(`invalid label value '${value}': must be at most 63 characters`);
  else if (value !== "" && !QUALIFIED_NAME.test(value)) {
    problems.push(
      `invalid label value '${value}': must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric`,
    );
  }
  return problems;
};

const checkAnnotation: EntryCheck = (key) =>
  qualifiedNameProblems(key).map((p) => `invalid annotation key '${key}': ${p}`);

/** Label and annotation keys: `[prefix/]name`, prefix a DNS-1123 subdomain, name at most 63 chars. */
function qualifiedNameProblems(key: string): string[] {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const problems: string[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    problems.push("prefix must be a DNS-1123 subdomain");
  }
  if (name.length === 0 || name.length > 63) problems.push("name part must be 1 to 63 characters");
  else if (!QUALIFIED_NAME.test(name)) {
    problems.push("name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric");
  }
  return problems;
}

function checkAnnotationsSize(annotations: unknown): Problem[] {
  if (!isPlainObject(annotations)) return [];
  const bytes = Object.entries(annotations).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + (typeof v === "string" ? Buffer.byteLength(v) : 0),
    0,
  );
  return bytes > MAX_ANNOTATIONS_BYTES
    ? [{ path: "/metadata/annotations", message: `total size must be at most ${MAX_ANNOTATIONS_BYTES} bytes` }]
    : [];
}

// ---------------------------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mapValues(obj: JsonObject, fn: (value: unknown) => unknown): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
}

/** RFC 6901, as ajv writes instancePath. */
function escapeJsonPointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}
