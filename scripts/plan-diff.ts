/**
 * `npx tsx scripts/plan-diff.ts <before.json> <after.json>`: compares two saved plans of one stack
 * (lib/plan/planDiff.ts). Exit 0 when nothing would be deleted, created or changed; 1 otherwise.
 */
import * as fs from "node:fs";
import { diffPlans } from "../lib/plan/planDiff";

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  process.stderr.write("usage: tsx scripts/plan-diff.ts <before.json> <after.json>\n");
  process.exit(2);
}
const read = (f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as { stack: string; resources: never[]; cost?: unknown; violations?: unknown };
const before = read(beforeFile);
const after = read(afterFile);
const d = diffPlans(before.resources, after.resources);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
// The cost report names resources by URN: compare it with the new URNs mapped back to the old
// ones (through the aliases) and its items in URN order.
// Only a URN the before-plan lacks is mapped, and only to an alias the before-plan has (the Kubernetes
// SDK adds API-version aliases of its own to resources that did not move).
const beforeUrns = new Set((before.resources as Array<{ urn: string }>).map((r) => r.urn));
const oldUrnOf = new Map<string, string>();
for (const r of after.resources as Array<{ urn: string; aliases?: string[] }>) {
  if (beforeUrns.has(r.urn)) continue;
  const old = (r.aliases ?? []).find((a) => beforeUrns.has(a));
  if (old) oldUrnOf.set(r.urn, old);
}
const costView = (cost: unknown, map: (u: string) => string) => {
  const c = JSON.parse(JSON.stringify(cost ?? {}), (_k, v) => (typeof v === "string" && v.startsWith("urn:pulumi:") ? map(v) : v)) as { items?: Array<{ urn?: string }> };
  if (Array.isArray(c.items)) c.items.sort((x, y) => String(x.urn).localeCompare(String(y.urn)));
  return c;
};
before.cost = costView(before.cost, (u) => u);
after.cost = costView(after.cost, (u) => oldUrnOf.get(u) ?? u);
const lines = [
  `${before.stack}: ${before.resources.length} resources before, ${after.resources.length} after`,
  `unchanged URN ${d.unchanged}, moved under a new component with an alias to the old URN ${d.moved}`,
  `new components ${d.newComponents.length}${d.newComponents.length ? ": " + d.newComponents.map((u) => u.split("::").slice(-2).join("::")).join(", ") : ""}`,
  `deleted ${d.deleted.length}, created ${d.created.length}, changed ${d.changed.length}`,
  `cost identical: ${same(before.cost, after.cost)}; violations identical: ${same(before.violations, after.violations)}`,
  ...d.deleted.map((u) => `  deleted: ${u}`),
  ...d.created.map((u) => `  created: ${u}`),
  ...d.changed.map((u) => `  changed: ${u}`),
];
process.stdout.write(lines.join("\n") + "\n");
process.exit(d.deleted.length + d.created.length + d.changed.length === 0 && same(before.cost, after.cost) && same(before.violations, after.violations) ? 0 : 1);
