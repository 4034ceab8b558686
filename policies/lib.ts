/**
 * Small helpers shared by the policies: reading Kubernetes objects out of resource props and
 * describing resources in violation messages. Side-effect free.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";

export type Props = Record<string, any>;

/** Kubernetes kind of a resource, whether typed (`kubernetes:autoscaling/v2:HorizontalPodAutoscaler`) or a CustomResource. */
export function kubernetesKind(type: string): string | undefined {
  if (!type.startsWith("kubernetes:")) return undefined;
  return type.split(":").pop();
}

export function isKind(args: { type: string }, apiGroupVersion: string, kind: string): boolean {
  return args.type === `kubernetes:${apiGroupVersion}:${kind}`;
}

export const hpaType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
export const scaledObjectType = "kubernetes:keda.sh/v1alpha1:ScaledObject";
export const vpaType = "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler";
export const pdbType = "kubernetes:policy/v1:PodDisruptionBudget";
export const nodePoolType = "kubernetes:karpenter.sh/v1:NodePool";
export const nodeClassType = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass";
export const deploymentType = "kubernetes:apps/v1:Deployment";

/** `namespace/name` of a Kubernetes object's props. */
export function objectName(props: Props): string {
  const m = props.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : String(m.name);
}

/** Replica bounds of an HPA or a KEDA ScaledObject, whichever `props` is. */
export function replicaBounds(type: string, props: Props): { min: number; max: number; target?: string } | undefined {
  if (type === hpaType) return { min: props.spec?.minReplicas ?? 1, max: props.spec?.maxReplicas, target: props.spec?.scaleTargetRef?.name };
  if (type === scaledObjectType) return { min: props.spec?.minReplicaCount ?? 0, max: props.spec?.maxReplicaCount ?? 100, target: props.spec?.scaleTargetRef?.name };
  return undefined;
}

export type ValidationArgs = Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">;
