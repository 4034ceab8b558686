import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { serviceCatalog, type ServiceDefinition } from "../lib/catalog/services";
import {
  admissionEnforcements,
  workloadContractBinding,
  workloadContractPolicy,
  type AdmissionEnforcement,
} from "../lib/workloads/admissionPolicy";
import { referenceDeployment } from "../lib/workloads/contract";

export interface WorkloadContractArgs {
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** What the admission binding does with a non-conforming workload: `deny` (reject) or `warn` (warn + audit). Default `deny`. */
  enforcement?: AdmissionEnforcement;
  /** Render a reference Deployment (built with the contract) for every service. Default false. */
  referenceDeployments?: boolean;
  /** The services. Default: the whole catalog. */
  services?: readonly ServiceDefinition[];
  /** What must exist first (the application namespaces and priority classes). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The workload contract in the cluster: a ValidatingAdmissionPolicy with its binding for the
 * application namespaces (lib/workloads/admissionPolicy.ts), and optionally a reference Deployment
 * per catalog service built with the contract (lib/workloads/contract.ts), created after the policy
 * so they are admitted by it.
 */
export class WorkloadContract extends pulumi.ComponentResource {
  public readonly policyName: string;
  /** Names (`namespace/name`) of the reference Deployments; empty when off. */
  public readonly referenceDeploymentNames: string[];

  constructor(name: string, args: WorkloadContractArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:workloads:WorkloadContract", name, {}, opts);
    const enforcement = args.enforcement ?? "deny";
    if (!admissionEnforcements.includes(enforcement)) {
      throw new Error(`workloads.admissionEnforcement = ${JSON.stringify(enforcement)}: must be one of ${admissionEnforcements.join(", ")}`);
    }
    const services = args.services ?? serviceCatalog;
    const deployments = args.referenceDeployments ? services.map(referenceDeployment) : [];
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: args.dependsOn };

    const policyManifest = workloadContractPolicy();
    const bindingManifest = workloadContractBinding(enforcement);
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(`${name}-policy`, {
      metadata: policyManifest.metadata,
      spec: policyManifest.spec,
    }, childOpts);
    const binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${name}-binding`, {
      metadata: bindingManifest.metadata,
      spec: bindingManifest.spec,
    }, { ...childOpts, dependsOn: [policy] });
    this.policyName = policyManifest.metadata.name;

    for (const d of deployments) {
      new k8s.apps.v1.Deployment(`${name}-${d.metadata.name}-reference`, {
        metadata: d.metadata,
        spec: d.spec as k8s.types.input.apps.v1.DeploymentSpec,
      }, { parent: this, provider: args.provider, dependsOn: [...(args.dependsOn ?? []), binding] });
    }
    this.referenceDeploymentNames = deployments.map((d) => `${d.metadata.namespace}/${d.metadata.name}`);

    this.registerOutputs({ policyName: this.policyName, referenceDeploymentNames: this.referenceDeploymentNames });
  }
}
