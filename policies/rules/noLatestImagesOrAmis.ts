import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { nodeClassType, objectName, peek, peekList, UNKNOWN } from "../lib";

export interface NoLatestImagesOrAmisConfig {
  /** Also require container images to be pinned by digest (`image@sha256:<64 hex>` or `image:tag@sha256:...`). */
  requireDigest: boolean;
}

/** Kinds whose pod template lives at `spec.template.spec` (CronJob: `spec.jobTemplate.spec.template.spec`). */
export const podTemplatePaths: Record<string, (string | number)[]> = {
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

const digestPattern = /@sha256:[a-f0-9]{64}$/;

/**
 * The images of a workload's containers and init containers, read safely (a pod template or list
 * unknown during a preview yields nothing to judge). Empty for kinds without a pod template.
 */
export function containerImages(r: Pick<PolicyResource, "type" | "props">): Array<{ container: string; image: string }> {
  const path = podTemplatePaths[r.type];
  if (!path) return [];
  const pod = peek(r.props, ...path);
  if (pod === UNKNOWN || pod === undefined) return [];
  const images: Array<{ container: string; image: string }> = [];
  for (const field of ["initContainers", "containers"]) {
    const containers = peekList(pod, field);
    if (containers === UNKNOWN) continue;
    for (const c of containers ?? []) {
      const image = peek(c, "image");
      if (typeof image === "string") images.push({ container: String(peek(c, "name")), image });
    }
  }
  return images;
}

/** What is wrong with an image reference, or undefined. */
export function imageProblem(image: string, requireDigest: boolean): string | undefined {
  if (digestPattern.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : undefined;
  if (tag === undefined) return "has no tag (means latest)";
  if (tag === "latest") return "uses the latest tag";
  if (requireDigest) return "is pinned by tag only, not by digest (tag@sha256:<64 hex>)";
  return undefined;
}

/**
 * Nothing the stack runs changes without a stack change: no container image uses the `latest` tag
 * (or no tag), and no Karpenter EC2NodeClass selects its AMI by an `@latest` alias. With
 * `requireDigest`, images must also carry their digest.
 */
export const noLatestImagesOrAmis: StackValidationPolicy = {
  name: "no-latest-images-or-amis",
  description: "Container images name a version tag (or digest) and node AMIs a dated release: no latest tag, no @latest alias.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Pin container images to a version tag and digest (`repo/image:1.2.3@sha256:...`, lib/catalog/addons.ts or the automation.image setting) and the EC2NodeClass AMI alias to a dated release (`cluster.amiAlias: al2023@v20260714`).",
  configSchema: {
    properties: {
      requireDigest: { type: "boolean", default: false },
    },
  },
  validateStack: (args, reportViolation) => {
    const { requireDigest } = args.getConfig<NoLatestImagesOrAmisConfig>();
    for (const r of args.resources) {
      if (podTemplatePaths[r.type]) {
        for (const { container, image } of containerImages(r)) {
          const problem = imageProblem(image, requireDigest);
          if (problem) reportViolation(`${objectName(r.props)} container ${container}: image ${image} ${problem}`, r.urn);
        }
      } else if (r.type === nodeClassType) {
        const terms = peekList(r.props, "spec", "amiSelectorTerms");
        if (terms === UNKNOWN) continue;
        for (const t of terms ?? []) {
          const alias = peek(t, "alias");
          if (typeof alias === "string" && alias.endsWith("@latest")) {
            reportViolation(`EC2NodeClass ${objectName(r.props)}: amiSelectorTerms alias ${alias}: name a dated AMI release (e.g. al2023@v20260714)`, r.urn);
          }
        }
      }
    }
  },
};
