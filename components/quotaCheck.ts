/**
 * The namespace ResourceQuotas against the stack's replica ranges, as a settings check: run on the
 * validated settings before anything is built (the program, `npm run plan`), so a service maximum
 * inside the schema's range but beyond its namespace's quota is one configuration error naming the
 * service, its value and the quota, not an exception from deep inside the ClusterAddons component.
 * The ClusterAddons constructor runs the same function (validateClusterAddonsArgs) for direct users.
 */
import { applicationNamespaces } from "../lib/catalog/cluster";
import { serviceCatalog } from "../lib/catalog/services";
import { configNamespace, SettingsError, type PlainSettings, type SettingsProblem } from "../lib/config/settings";
import { budgetFields, namespaceQuotas, namespaceWorkloads, quotaHeadroomPercent, requiredNamespaceCapacity, type ResourceBudget } from "./addons/quotas";
import { cpuQuantity, memoryQuantity } from "./addons/shared";

type BudgetField = (typeof budgetFields)[number];

const fieldLabel: Record<BudgetField, (b: ResourceBudget) => string> = {
  pods: (b) => `${b.pods} pods`,
  requestsCpuMillis: (b) => `requests.cpu ${cpuQuantity(b.requestsCpuMillis)}`,
  requestsMemoryMiB: (b) => `requests.memory ${memoryQuantity(b.requestsMemoryMiB)}`,
  limitsCpuMillis: (b) => `limits.cpu ${cpuQuantity(b.limitsCpuMillis)}`,
  limitsMemoryMiB: (b) => `limits.memory ${memoryQuantity(b.limitsMemoryMiB)}`,
};

/** What the check reads: the environment, the replica ranges and whether Istio sidecars are counted. */
export interface QuotaSettings {
  readonly environment: PlainSettings["environment"];
  readonly services: PlainSettings["services"];
  readonly workloads: Pick<PlainSettings["workloads"], "istioSidecars">;
}

const fits = (settings: QuotaSettings, namespace: (typeof applicationNamespaces)[number], services: PlainSettings["services"]) => {
  const need = requiredNamespaceCapacity(namespace, settings.environment, services, settings.workloads.istioSidecars);
  const have = namespaceQuotas[settings.environment][namespace];
  return { need, have, short: budgetFields.filter((f) => need[f] > have[f]) };
};

/**
 * One problem per application namespace whose quota cannot hold its services' maxima (plus the
 * quota's surge headroom). The problem is keyed on the namespace's service with the largest
 * maximum and names every service's value and how far each could go with the others unchanged.
 */
export function namespaceQuotaProblems(settings: QuotaSettings): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  for (const ns of applicationNamespaces) {
    const { need, have, short } = fits(settings, ns, settings.services);
    if (short.length === 0) continue;
    const inNamespace = serviceCatalog.filter((s) => s.namespace === ns && settings.services[s.name]);
    if (inNamespace.length === 0) continue; // only fixed workloads (PgBouncer, the automation service): not a settings problem
    const bound = (name: string): number => {
      let m = settings.services[name]!.maxReplicas;
      while (m > 0 && fits(settings, ns, { ...settings.services, [name]: { ...settings.services[name]!, maxReplicas: m } }).short.length > 0) m--;
      return m;
    };
    const culprit = [...inNamespace].sort((a, b) => settings.services[b.name]!.maxReplicas - settings.services[a.name]!.maxReplicas)[0]!;
    const others = namespaceWorkloads(ns, settings.environment, settings.services).map((w) => `${w.name} ${w.maxReplicas}`).join(", ");
    const bounds = inNamespace.map((s) => ({ name: s.name, max: bound(s.name) })).filter((b) => b.max >= 1);
    const alone = bounds.length
      ? `; with the others unchanged ${bounds.map((b) => `${b.name} can be at most ${b.max}`).join(", ")}`
      : "; no single service's maximum can make it fit";
    problems.push({
      key: `${configNamespace}:services.${culprit.name}.maxReplicas`,
      value: String(settings.services[culprit.name]!.maxReplicas),
      message:
        `over the ResourceQuota of namespace ${ns} (${short.map((f) => fieldLabel[f](have)).join(", ")}): ` +
        `its maxima (${others}) are ${need.replicas} replicas and with the ${quotaHeadroomPercent}% surge headroom need ${short.map((f) => fieldLabel[f](need)).join(", ")}${alone}. ` +
        `Lower a maximum, or raise namespaceQuotas.${settings.environment}["${ns}"] (components/addons/quotas.ts) in a reviewed change`,
    });
  }
  return problems;
}

/** Throws SettingsError (the same error as any other invalid setting) when a namespace quota is short. */
export function checkNamespaceQuotas(stack: string, settings: QuotaSettings): void {
  const problems = namespaceQuotaProblems(settings);
  if (problems.length > 0) throw new SettingsError(stack, problems);
}
