/**
 * `npm run readme:access [-- --check]`: regenerates the README's `platform-access` section from the
 * code: the Pod Security level of every namespace the stack creates with each exception's reason
 * and the chart pods excepted in kube-system (lib/k8s/podSecurity.ts) and the ingress allowed into the platform namespaces
 * (lib/k8s/platformNetworkPolicies.ts). `--check` only reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { namespaces, stackNamespaces } from "../lib/catalog/cluster";
import { platformAccessTable } from "../lib/k8s/platformNetworkPolicies";
import { kubeSystemChartExceptions, namespacePodSecurity, podSecurityExceptions } from "../lib/k8s/podSecurity";
import { generatedSectionBody, readmeSection, replaceReadmeSection } from "../lib/readme";

export const readmeAccessCommand = "npm run readme:access";
export const readmeAccessSection = "platform-access";

export function renderPlatformAccessSection(): string {
  const levels = [
    "| namespace | Pod Security (enforce, audit, warn) | why not `restricted` |",
    "| --- | --- | --- |",
    ...Object.values(namespaces).map((ns) => {
      const when = stackNamespaces({ istioSidecars: false }).includes(ns) ? "" : " (only with `workloads.istioSidecars`)";
      return `| \`${ns}\`${when} | \`${namespacePodSecurity[ns]}\` | ${podSecurityExceptions[ns]?.reason ?? ""} |`;
    }),
  ].join("\n");
  // kube-system is EKS's namespace (not labelled by the stack); its chart pods are judged as restricted but for these.
  const kubeSystem = [
    "Chart pods the stack installs in `kube-system` (EKS's namespace, not labelled by the stack) are held to `restricted` too, except:",
    "",
    "| workload (release) | why not `restricted` |",
    "| --- | --- |",
    ...Object.entries(kubeSystemChartExceptions).map(([w, e]) => `| \`${w}\` (\`${e.release}\`) | ${e.reason} |`),
  ].join("\n");
  return generatedSectionBody(
    `${levels}\n\n${kubeSystem}\n\nIngress into the platform namespaces (each has \`default-deny-ingress\`; everything not listed is refused):\n\n${platformAccessTable()}`,
    readmeAccessCommand,
  );
}

function main(): number {
  const check = process.argv.includes("--check");
  const readmePath = path.resolve(__dirname, "../README.md");
  const readme = fs.readFileSync(readmePath, "utf8");
  const body = renderPlatformAccessSection();
  const stale = readmeSection(readme, readmeAccessSection) !== body;
  if (check) {
    console.log(stale ? `README.md: section ${readmeAccessSection} out of date; run ${readmeAccessCommand}` : "README.md is up to date");
    return stale ? 1 : 0;
  }
  if (stale) fs.writeFileSync(readmePath, replaceReadmeSection(readme, readmeAccessSection, body));
  console.log(stale ? `README.md: updated ${readmeAccessSection}` : "README.md is up to date");
  return 0;
}

if (require.main === module) process.exitCode = main();
