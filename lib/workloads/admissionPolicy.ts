/**
 * The workload contract enforced in the cluster: a ValidatingAdmissionPolicy (CEL, Kubernetes
 * native admission, admissionregistration.k8s.io/v1) and its binding for the namespaces the catalog
 * services run in. It rejects Deployments and StatefulSets that miss their class selector or
 * toleration, the capacity-spread constraint, or CPU/memory requests, and data-class pods that
 * tolerate or select spot capacity.
 *
 * The expressions are standard CEL plus its macros (has, all, exists) and `in`: no Kubernetes
 * extension library, so the npm evaluator the tests use (@marcbachmann/cel-js) runs exactly the
 * text the API server gets.
 */
import { serviceCatalog } from "../catalog/services";
import { capacitySpreadLabel, karpenterCapacityTypeLabel, karpenterWorkloadClasses, workloadClassLabel } from "../catalog/workloadClasses";

/** Name of the policy and of its binding. */
export const workloadContractPolicyName = "pyairtable-workload-contract";

/** How the binding acts on a violation: `deny` rejects (prod); `warn` warns the client and audits (dev). */
export type AdmissionEnforcement = "deny" | "warn";
export const admissionEnforcements: readonly AdmissionEnforcement[] = ["deny", "warn"];

/** The binding's validationActions per enforcement (Kubernetes forbids Deny together with Warn). */
export const validationActionsFor: Record<AdmissionEnforcement, readonly ("Deny" | "Warn" | "Audit")[]> = {
  deny: ["Deny"],
  warn: ["Warn", "Audit"],
};

/** Namespaces the policy is bound to: every namespace a catalog service runs in. */
export const contractNamespaces = (): string[] => [...new Set(serviceCatalog.map((s) => s.namespace))].sort();

/** Node labels/taints EKS and Karpenter use for the capacity type. */
const capacityTypeKeys = [karpenterCapacityTypeLabel, "eks.amazonaws.com/capacityType"];
/** Classes whose capacity holds state: never on spot. */
export const statefulClasses = ["data"] as const;

const q = (s: string) => `'${s}'`;
const list = (xs: readonly string[]) => `[${xs.map(q).join(", ")}]`;

export interface CelVariable {
  readonly name: string;
  readonly expression: string;
}
export interface CelValidation {
  /** Stable identifier of the rule (tests, docs); not part of the Kubernetes object. */
  readonly id: "class-selector" | "class-toleration" | "capacity-spread" | "requests" | "stateful-not-on-spot";
  readonly expression: string;
  readonly message: string;
  readonly reason: "Invalid" | "Forbidden";
}

/** Variables of the policy, in order (later ones may read earlier ones). */
export const contractVariables: readonly CelVariable[] = [
  { name: "pod", expression: "object.spec.template.spec" },
  {
    name: "workloadClass",
    expression: `has(variables.pod.nodeSelector) && ${q(workloadClassLabel)} in variables.pod.nodeSelector ? variables.pod.nodeSelector[${q(workloadClassLabel)}] : ''`,
  },
  { name: "tolerations", expression: "has(variables.pod.tolerations) ? variables.pod.tolerations : []" },
  { name: "spreads", expression: "has(variables.pod.topologySpreadConstraints) ? variables.pod.topologySpreadConstraints : []" },
];

/** The rules, each a CEL expression that must be true for the object to be admitted. */
export const contractValidations: readonly CelValidation[] = [
  {
    id: "class-selector",
    expression: `variables.workloadClass in ${list(karpenterWorkloadClasses)}`,
    message: `the pod template must select its workload class: spec.template.spec.nodeSelector["${workloadClassLabel}"] must be one of ${karpenterWorkloadClasses.join(", ")} (see docs/workload-contract.md)`,
    reason: "Invalid",
  },
  {
    id: "class-toleration",
    expression:
      `variables.tolerations.exists(t, has(t.key) && t.key == ${q(workloadClassLabel)} && has(t.value) && t.value == variables.workloadClass` +
      ` && (!has(t.operator) || t.operator == 'Equal') && (!has(t.effect) || t.effect == 'NoSchedule'))`,
    message: `the pod template must tolerate its class's NodePools: a toleration ${workloadClassLabel}=<class>:NoSchedule (operator Equal) with the class of its nodeSelector; without it no NodePool admits the pods`,
    reason: "Invalid",
  },
  {
    id: "capacity-spread",
    expression: `variables.spreads.exists(c, c.topologyKey == ${q(capacitySpreadLabel)} && c.maxSkew == 1 && c.whenUnsatisfiable == 'DoNotSchedule')`,
    message: `the pod template must spread over ${capacitySpreadLabel} with maxSkew 1 and whenUnsatisfiable DoNotSchedule; without it the class's spot share is unbounded`,
    reason: "Invalid",
  },
  {
    id: "requests",
    expression: "variables.pod.containers.all(c, has(c.resources) && has(c.resources.requests) && 'cpu' in c.resources.requests && 'memory' in c.resources.requests)",
    message: "every container must set resources.requests.cpu and resources.requests.memory; without them HPA utilisation is <unknown> and the service never scales",
    reason: "Invalid",
  },
  {
    id: "stateful-not-on-spot",
    expression:
      `!(variables.workloadClass in ${list(statefulClasses)}) || (` +
      `!variables.tolerations.exists(t, (!has(t.key) || t.key == '') && has(t.operator) && t.operator == 'Exists')` +
      ` && !variables.tolerations.exists(t, has(t.key) && t.key in ${list(capacityTypeKeys)})` +
      ` && !variables.tolerations.exists(t, has(t.key) && t.key == ${q(workloadClassLabel)} && ((has(t.operator) && t.operator == 'Exists') || (has(t.value) && !(t.value in ${list(statefulClasses)}))))` +
      ` && !(has(variables.pod.nodeSelector) && ${list(capacityTypeKeys)}.exists(k, k in variables.pod.nodeSelector && variables.pod.nodeSelector[k] in ['spot', 'SPOT'])))`,
    message: `data-class pods must not tolerate or select spot capacity: no toleration of every taint, of ${capacityTypeKeys.join(" or ")}, or of another class's taint, and no capacity-type spot nodeSelector`,
    reason: "Forbidden",
  },
];

/** The ValidatingAdmissionPolicy manifest. */
export function workloadContractPolicy() {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: workloadContractPolicyName, labels: { "app.kubernetes.io/part-of": "pyairtable", "app.kubernetes.io/managed-by": "pulumi" } },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments", "statefulsets"] }],
      },
      variables: contractVariables.map((v) => ({ ...v })),
      validations: contractValidations.map(({ expression, message, reason }) => ({ expression, message, reason })),
    },
  };
}

/** The binding: the application namespaces, Deny or Warn+Audit. */
export function workloadContractBinding(enforcement: AdmissionEnforcement) {
  if (!admissionEnforcements.includes(enforcement)) {
    throw new Error(`workloads.admissionEnforcement = ${JSON.stringify(enforcement)}: must be one of ${admissionEnforcements.join(", ")}`);
  }
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: workloadContractPolicyName, labels: { "app.kubernetes.io/part-of": "pyairtable", "app.kubernetes.io/managed-by": "pulumi" } },
    spec: {
      policyName: workloadContractPolicyName,
      validationActions: [...validationActionsFor[enforcement]],
      matchResources: {
        namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: contractNamespaces() }] },
      },
    },
  };
}
