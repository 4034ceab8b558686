import type { StackValidationPolicy } from "@pulumi/policy";
import { objectName } from "../lib";
import { containerImages, imageProblem } from "./noLatestImagesOrAmis";

export interface ImagesPinnedByDigestConfig {
  /** Images allowed without a digest for now (exact references), each a known deviation. */
  exemptImages: string[];
}

/**
 * Container images carry their digest (`repo/image:1.2.3@sha256:<64 hex>`): a tag can be moved to
 * other content, a digest cannot. Advisory while the stack's images are pinned by tag (README,
 * security deviations: digests cannot be looked up offline and are never invented).
 */
export const imagesPinnedByDigest: StackValidationPolicy = {
  name: "images-pinned-by-digest",
  description: "Container images are pinned by digest (tag@sha256:...), not by tag alone.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "Append the image's digest to its reference (`crane digest <image:tag>` or `docker buildx imagetools inspect`), in lib/catalog/addons.ts or the automation.image setting.",
  configSchema: {
    properties: {
      exemptImages: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
    },
  },
  validateStack: (args, reportViolation) => {
    const { exemptImages } = args.getConfig<ImagesPinnedByDigestConfig>();
    for (const r of args.resources) {
      for (const { container, image } of containerImages(r)) {
        if (exemptImages.includes(image)) continue;
        const problem = imageProblem(image, true);
        if (problem) reportViolation(`${objectName(r.props)} container ${container}: image ${image} ${problem}`, r.urn);
      }
    }
  },
};
