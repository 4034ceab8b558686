/**
 * Placeholders left in a stack's settings: values copied from an example that look valid to the
 * schema (a `.invalid` URL, an example.com address, a documentation CIDR) but work for nobody. The
 * program logs them as warnings (`pulumi up`, `pulumi preview` and the offline plan show them);
 * the policy pack refuses the one that matters for safety (documentation CIDRs of the API endpoint).
 */

/** What marks a value as a placeholder copied from an example, with why. */
const placeholderPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/(^|[.@/])[a-z0-9-]+\.invalid\b|(^|[.@/])invalid(\/|$)/i, "the .invalid top-level domain never resolves (RFC 2606)"],
  [/(^|[.@/])example\.(com|org|net)\b|@example\b/i, "example.com/.org/.net are reserved for documentation (RFC 2606)"],
  [/\b(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}(\/\d{1,2})?\b/, "a documentation address range (RFC 5737)"],
  [/<[^<>\s][^<>]*>/, "an unfilled <...> template field"],
  [/\b(CHANGE[-_ ]?ME|REPLACE[-_ ]?ME|TODO|FIXME)\b/, "a fill-me-in marker"],
];

/**
 * Plain (non-secret) values of a stack file's `config` that look like placeholders: one message per
 * value, naming the key path, the value and why. Secure (encrypted) values are not read.
 */
export function placeholderWarnings(config: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const visit = (key: string, value: unknown) => {
    if (typeof value === "string") {
      const hit = placeholderPatterns.find(([re]) => re.test(value));
      if (hit) out.push(`${key} = ${JSON.stringify(value)} looks like a placeholder: ${hit[1]}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => visit(`${key}[${i}]`, v));
    } else if (value !== null && typeof value === "object") {
      if ("secure" in (value as object)) return; // ciphertext
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(`${key}.${k}`, v);
    }
  };
  for (const [key, value] of Object.entries(config)) visit(key, value);
  return out;
}
