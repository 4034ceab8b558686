/**
 * Digest of a CustomResourceDefinition's served schemas: sha256 of the canonical JSON (keys sorted)
 * of `{ group, kind, versions: [{ name, openAPIV3Schema }] }`. Annotations, labels and comments do
 * not count, so two CRD files with the same schemas have the same digest. Used to show that the
 * CRDs a chart ships accept exactly what the vendored schemas in shared/schemas accept
 * (contracts/prometheus-operator/).
 */
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";

const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === "object" ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;

export interface CrdDigest {
  readonly name: string;
  readonly sha256: string;
}

/** Digests of every CustomResourceDefinition in a YAML text (comments and other kinds ignored). */
export function crdSchemaDigests(yamlText: string): CrdDigest[] {
  const out: CrdDigest[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    const crd = doc.toJSON() as { kind?: string; metadata?: { name?: string }; spec?: { group?: string; names?: { kind?: string }; versions?: { name: string; schema?: { openAPIV3Schema?: unknown } }[] } } | null;
    if (!crd || crd.kind !== "CustomResourceDefinition") continue;
    const body = { group: crd.spec?.group, kind: crd.spec?.names?.kind, versions: (crd.spec?.versions ?? []).map((v) => ({ name: v.name, openAPIV3Schema: v.schema?.openAPIV3Schema })) };
    out.push({ name: String(crd.metadata?.name), sha256: createHash("sha256").update(JSON.stringify(canonical(body))).digest("hex") });
  }
  return out;
}
