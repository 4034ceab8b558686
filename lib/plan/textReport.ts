/**
 * The offline plan as text for a terminal. The default report fits one screen (at most
 * `screen.lines` lines of at most `screen.columns` columns, with room for npm's banner) and starts
 * with the verdict: the policy result, the cost against the budget, the key capacity. `verbose`
 * adds the per-resource and per-line tables (no width limit: they are for a wide terminal or a file).
 */
import type { Violation } from "../policy/evaluate";
import type { CostEstimate } from "../cost/estimate";
import { costByComponent, formatCostTable, type DesignComparison } from "../cost/report";
import { formatUsd } from "../cost/prices";
import type { PlannedResource } from "./mockRuntime";
import { capacityFigures, formatResourceCount, formatTable, resourceCount, resourcesByComponent } from "./summary";
import { groupViolations } from "./review";
import type { HumanStep } from "./humanSteps";

/** The screen the default report fits (the acceptance: at most 60 lines of at most 120 columns). */
/**
 * The stages the plan command reports on stderr while it runs, one line each when it starts
 * (`plan: [2/4] ...`): the wait is 40-70 s, and a log shows where it went.
 */
export const planStages = {
  settings: "checking the stack file and its settings",
  program: "running index.ts under the Pulumi mock runtime (the policy pack starts alongside)",
  savedPlan: "reading the saved plan (the policy pack starts alongside)",
  policies: "the policy pack judging the planned resources",
  report: "pricing the plan and writing the report",
} as const;
/** Stages one run prints (program or saved plan: one of the two). */
export const planStageCount = 4;

/** The screen the default report fits (the acceptance: at most 60 lines of at most 120 columns, npm's banner and the progress lines included). */
export const screen = { lines: 60, columns: 120, npmBannerLines: 4, progressLines: planStageCount } as const;

export interface TextReportInput {
  readonly stack: string;
  readonly project: string;
  /** `offline, Pulumi mock runtime` or `saved plan <file>`. */
  readonly source: string;
  readonly preview: boolean;
  /** Wall time of the whole command so far, seconds (from process start). */
  readonly seconds: number;
  readonly resources: readonly PlannedResource[];
  readonly violations: readonly Violation[];
  /** Policy config file, relative to the working directory. */
  readonly policyConfigFile: string;
  readonly estimate: CostEstimate;
  readonly comparison: DesignComparison;
  readonly placeholderKeys: readonly string[];
  /** What only a person can do for this stack (lib/plan/humanSteps.ts). */
  readonly humanSteps: readonly HumanStep[];
  readonly verbose: boolean;
}

type Inputs = Record<string, any>;
const ofType = (resources: readonly PlannedResource[], type: string) => resources.filter((r) => r.type === type).map((r) => r.inputs as Inputs);
const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const pct = (part: number, whole: number) => `${Math.round((part / whole) * 100)}%`;

/** Cuts a line to `width` columns (an ellipsis marks the cut). */
export function fit(line: string, width: number = screen.columns): string {
  return line.length <= width ? line : `${line.slice(0, width - 3)}...`;
}

/** `label item, item, ...` wrapped at item boundaries; continuation lines indented by `indent` spaces. */
export function wrapItems(label: string, items: readonly string[], separator = ", ", width: number = screen.columns, indent = 4): string[] {
  const lines: string[] = [];
  let cur = label;
  let empty = true;
  items.forEach((item, i) => {
    const piece = item + (i < items.length - 1 ? separator.trimEnd() : "");
    if (!empty && `${cur} ${piece}`.length > width) {
      lines.push(cur);
      cur = " ".repeat(indent);
      empty = true;
    }
    cur += (empty ? "" : " ") + piece;
    empty = false;
  });
  lines.push(cur);
  return lines.map((l) => fit(l, width));
}

/** Words of `text` wrapped at `width`, continuation lines indented by `indent` spaces. */
export function wrapText(text: string, indent: number, width: number = screen.columns): string[] {
  const lead = /^\s*/.exec(text)![0];
  return wrapItems(lead, text.trim().split(/\s+/), " ", width, indent);
}

function policyVerdict(violations: readonly Violation[], policyConfigFile: string): string {
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
  const others = violations.length - mandatory.length;
  if (violations.length === 0) return `Policies: PASS, no violations (${policyConfigFile})`;
  if (mandatory.length === 0) return `Policies: PASS, ${plural(others, "advisory finding")} and no mandatory violation (${policyConfigFile})`;
  const names = [...new Set(mandatory.map((v) => v.policy))].join(", ");
  return `Policies: FAIL, ${plural(mandatory.length, "mandatory violation")} (${names})${others ? `, ${others} other` : ""}`;
}

function costVerdict(resources: readonly PlannedResource[], estimate: CostEstimate, comparison: DesignComparison): string {
  const budgets = ofType(resources, "aws:budgets/budget:Budget");
  const limit = (unit: string) => budgets.find((b) => b.timeUnit === unit)?.limitAmount;
  const monthly = Number(limit("MONTHLY"));
  const daily = Number(limit("DAILY"));
  const parts = [`Cost: ${formatUsd(estimate.monthlyUsd)}/month`];
  if (monthly > 0) parts.push(` = ${pct(estimate.monthlyUsd, monthly)} of the ${formatUsd(monthly)} monthly budget`);
  parts.push(`; ${formatUsd(estimate.dailyUsd)}/day`);
  if (daily > 0) parts.push(` = ${pct(estimate.dailyUsd, daily)} of the ${formatUsd(daily)} daily budget`);
  const sign = comparison.deltaUsd >= 0 ? "+" : "";
  parts.push(`; design's table ${formatUsd(comparison.designTotalUsd)} (${sign}${formatUsd(comparison.deltaUsd)})`);
  if (estimate.unpriced.length) parts.push(`; ${estimate.unpriced.length} unpriced, not in the total`);
  return parts.join("");
}

/** The few capacity figures that decide what the stack can carry. */
export function keyCapacity(resources: readonly PlannedResource[]): string[] {
  const out: string[] = [];
  for (const c of ofType(resources, "eks:index:Cluster")) out.push(`EKS ${c.version}`);
  for (const ng of ofType(resources, "aws:eks/nodeGroup:NodeGroup")) {
    out.push(`system nodes ${ng.scalingConfig?.desiredSize} x ${(ng.instanceTypes ?? []).join("|")} (${ng.scalingConfig?.minSize}-${ng.scalingConfig?.maxSize})`);
  }
  const pools = ofType(resources, "kubernetes:karpenter.sh/v1:NodePool");
  if (pools.length) out.push(`Karpenter up to ${pools.reduce((s, p) => s + Number(p.spec?.limits?.nodes ?? 0), 0)} nodes in ${plural(pools.length, "NodePool")}`);
  for (const db of ofType(resources, "aws:rds/cluster:Cluster")) {
    // The automation service's own small cluster (purpose tag) is named as such.
    const what = db.tags?.purpose === "automation-state" ? "automation DB" : "Aurora";
    out.push(`${what} ${db.serverlessv2ScalingConfiguration?.minCapacity}-${db.serverlessv2ScalingConfiguration?.maxCapacity} ACU`);
  }
  for (const rg of ofType(resources, "aws:elasticache/replicationGroup:ReplicationGroup")) {
    out.push(rg.numNodeGroups ? `Redis ${rg.numNodeGroups} shards x ${rg.nodeType}` : `Redis ${rg.numCacheClusters ?? 1} x ${rg.nodeType}`);
  }
  for (const msk of ofType(resources, "aws:msk/cluster:Cluster")) out.push(`MSK ${msk.numberOfBrokerNodes} x ${msk.brokerNodeGroupInfo?.instanceType}`);
  for (const os of ofType(resources, "aws:opensearch/domain:Domain")) out.push(`OpenSearch ${os.clusterConfig?.instanceCount} x ${os.clusterConfig?.instanceType}`);
  const hpas = ofType(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
  const scaled = ofType(resources, "kubernetes:keda.sh/v1alpha1:ScaledObject");
  if (hpas.length + scaled.length) {
    const maxima = [...hpas.map((h) => Number(h.spec?.maxReplicas)), ...scaled.map((s) => Number(s.spec?.maxReplicaCount))];
    out.push(`${hpas.length} HPAs and ${scaled.length} ScaledObjects up to ${maxima.reduce((a, b) => a + b, 0)} replicas`);
  }
  return out;
}

/**
 * Findings in at most `room` lines: every mandatory violation whole (wrapped, never cut: the number
 * that explains it is often at the end), then one line per other policy (cut to the width). What
 * does not fit is counted on the last line.
 */
function violationLines(violations: readonly Violation[], room: number): string[] {
  const entries: string[][] = [];
  for (const [level, list] of groupViolations(violations)) {
    if (level === "mandatory") {
      for (const v of list) entries.push(wrapText(`  mandatory [${v.policy}] ${v.urn.split("::").pop()}: ${v.message}`, 6));
    } else {
      const byPolicy = new Map<string, Violation[]>();
      for (const v of list) byPolicy.set(v.policy, [...(byPolicy.get(v.policy) ?? []), v]);
      for (const [policy, vs] of byPolicy) entries.push([fit(`  ${level} [${policy}] ${plural(vs.length, "resource")}: ${vs[0]!.message}`)]);
    }
  }
  const total = entries.reduce((n, e) => n + e.length, 0);
  if (total <= room) return entries.flat();
  const out: string[] = [];
  let shown = 0;
  for (const e of entries) {
    if (out.length + e.length > room - 1) break;
    out.push(...e);
    shown++;
  }
  return [...out, `  ... and ${entries.length - shown} more findings (--verbose lists every one)`];
}

/** The steps only a person can do, wrapped: `before`/`after` the first `pulumi up`. */
function humanStepLines(steps: readonly HumanStep[]): string[] {
  if (steps.length === 0) return [];
  const out = [`Only a person can do (${steps.length}; everything else is code):`];
  steps.forEach((step, i) => out.push(...wrapText(`  ${i + 1}. ${step.text.replace(/`/g, "")}`, 5)));
  return out;
}

/** The default report, or with `verbose` the full one. */
export function formatTextReport(r: TextReportInput): string[] {
  const mode = r.preview ? "first preview: outputs of new resources unknown" : "update of an existing stack";
  const count = resourceCount(r.resources);
  const out: string[] = [];
  out.push(...wrapText(`Plan for stack '${r.stack}' of project '${r.project}' (${r.source}, ${mode}; ${r.seconds.toFixed(1)} s)`, 2));
  out.push(fit(policyVerdict(r.violations, r.policyConfigFile)));
  out.push(...wrapText(costVerdict(r.resources, r.estimate, r.comparison), 6));
  out.push(...wrapItems("Capacity: ", keyCapacity(r.resources), "; ", screen.columns, 10));
  out.push(fit(`Resources: ${formatResourceCount(count)}`));

  if (!r.verbose) {
    const findingsAt = out.length;
    // The screen's rows go to what exists: features that are off, and the budgets (in the Cost line), only in --verbose.
    const figures = capacityFigures(r.resources).filter((f) => !/^(HPA|ScaledObject) /.test(f.figure) && f.area !== "cost" && !/^(none|off|0-0)$/.test(f.value));
    out.push("", "Capacity (read from the planned resources' inputs)");
    out.push(...indent(formatTable(figures.map((f) => [f.area, f.figure, f.value]), ["area", "figure", "value"])).split("\n").map((l) => fit(l)));
    out.push("");
    const short = (component: string) => component.replace(new RegExp(`^pyairtable-${r.stack}-`), "");
    out.push(...wrapItems("Cost by component (monthly): ", costByComponent(r.estimate).map((c) => `${short(c.component)} ${formatUsd(c.monthlyUsd)}`)));
    const deltas = r.comparison.rows.filter((row) => Math.abs(row.deltaUsd) >= 0.5).sort((a, b) => Math.abs(b.deltaUsd) - Math.abs(a.deltaUsd));
    if (deltas.length) {
      out.push(...wrapItems("Against the design's table: ", deltas.slice(0, 6).map((row) => `${row.item} ${row.deltaUsd > 0 ? "+" : ""}${formatUsd(row.deltaUsd)}`)));
    }
    if (r.placeholderKeys.length && !r.humanSteps.some((step) => step.id === "secrets")) out.push(fit(`Secrets: placeholders stood in for ${r.placeholderKeys.length} secret keys; \`pulumi up\` needs them set with --secret.`));
    out.push(fit("--verbose: resources by component and type, every cost line with its basis, every finding, why each design row differs."));
    // What only a person can do, right after the verdict (then the findings, if any).
    const steps = humanStepLines(r.humanSteps);
    if (steps.length) out.splice(findingsAt, 0, "", ...steps);
    if (r.violations.length) {
      // Findings right after the verdict, in whatever room the screen has left (progress lines on stderr included).
      const room = screen.lines - screen.npmBannerLines - screen.progressLines - out.length - 2;
      out.splice(findingsAt, 0, "", `Findings (${r.violations.length})`, ...violationLines(r.violations, room));
    }
    return out;
  }

  out.push("", "Resources by component");
  for (const c of resourcesByComponent([...r.resources])) {
    out.push(`  ${c.name} (${c.type}): ${c.resourceCount}${c.resourceCount === 0 ? " (remote component: its provider creates its children, which the plan does not see)" : ""}`);
    for (const [type, n] of Object.entries(c.byType).sort()) out.push(`      ${String(n).padStart(3)}  ${type}`);
  }
  out.push("", "Capacity");
  out.push(indent(formatTable(capacityFigures(r.resources).map((f) => [f.area, f.figure, f.value]), ["area", "figure", "value"])));
  out.push("", `Cost (us-east-1 list prices; usage assumptions from ${r.policyConfigFile})`);
  out.push(indent(formatCostTable(r.estimate)));
  const c = r.comparison;
  out.push("", `  Design's table: ${formatUsd(c.designTotalUsd)}/month; this estimate: ${formatUsd(c.estimateTotalUsd)} (${c.deltaUsd >= 0 ? "+" : ""}${formatUsd(c.deltaUsd)}).`);
  for (const row of c.rows.filter((x) => Math.abs(x.deltaUsd) >= 0.5)) {
    out.push(`    ${row.item}: ${row.designUsd === null ? "not in the design" : formatUsd(row.designUsd)} -> ${formatUsd(row.estimateUsd)}: ${row.explanation}`);
  }
  out.push("", `Policies (${r.policyConfigFile})`);
  if (r.violations.length === 0) out.push("  no violations");
  for (const [level, list] of groupViolations(r.violations)) {
    out.push(`  ${level} (${list.length})`);
    for (const v of list) out.push(`    [${v.policy}] ${v.message}`, `        ${v.urn}`);
  }
  if (r.humanSteps.length) out.push("", ...humanStepLines(r.humanSteps));
  if (r.placeholderKeys.length > 0) {
    out.push("", `Secrets are not decrypted offline; masked placeholders stood in for: ${r.placeholderKeys.join(", ")}.`);
    out.push("`pulumi up` requires them to be set with `pulumi config set --secret <key> <value>`.");
  }
  return out;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}
