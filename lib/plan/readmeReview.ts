/**
 * The README's generated policy table and cost comparison: rendered from the policy pack, the
 * per-stack policy configs and the cost model over both planned stacks.
 */
import type { Policies } from "@pulumi/policy";
import type { PolicyPackConfig } from "../policy/evaluate";
import { enforcementLevelOf } from "../policy/evaluate";
import type { DesignComparison } from "../cost/report";
import { formatUsd } from "../cost/prices";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderPolicyTable(policies: Policies, configs: { prod: PolicyPackConfig; dev: PolicyPackConfig }): string {
  const rows = policies.map((p) => [
    `\`${p.name}\``,
    "validateStack" in p ? "stack" : "resource",
    p.severity ?? "",
    enforcementLevelOf(p, configs.prod),
    enforcementLevelOf(p, configs.dev),
    p.description,
  ]);
  const header = ["policy", "scope", "severity", "prod", "dev", "rule"];
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n") + "\n";
}

/** Prod and dev estimates side by side with the design's table, one row per design row. */
export function renderCostComparison(prod: DesignComparison, dev: DesignComparison): string {
  const items = [...new Set([...prod.rows.map((r) => r.item), ...dev.rows.map((r) => r.item)])];
  const money = (v: number | null | undefined) => (v === null || v === undefined ? "-" : formatUsd(v));
  const lines = [
    "| design row | prod design | prod estimate | dev design | dev estimate | why they differ |",
    "|---|---:|---:|---:|---:|---|",
  ];
  for (const item of items) {
    const p = prod.rows.find((r) => r.item === item);
    const d = dev.rows.find((r) => r.item === item);
    const why = [p && Math.abs(p.deltaUsd) >= 0.01 ? `prod: ${p.explanation}` : "", d && Math.abs(d.deltaUsd) >= 0.01 ? `dev: ${d.explanation}` : ""].filter(Boolean).join(" ");
    lines.push(`| ${cell(item)} | ${money(p?.designUsd)} | ${p ? money(p.estimateUsd) : "-"} | ${money(d?.designUsd)} | ${d ? money(d.estimateUsd) : "-"} | ${cell(why || "same")} |`);
  }
  lines.push(`| **total** | **${formatUsd(prod.designTotalUsd)}** | **${formatUsd(prod.estimateTotalUsd)}** | **${formatUsd(dev.designTotalUsd)}** | **${formatUsd(dev.estimateTotalUsd)}** | |`);
  return lines.join("\n") + "\n";
}
