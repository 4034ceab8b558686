/**
 * Helm charts of the cluster add-ons, pinned. Upgrading one is a reviewed change of this table.
 */
export interface AddonChart {
  /** Chart reference: `oci://...` or a chart name in `repo`. */
  readonly chart: string;
  /** Repository URL for non-OCI charts. */
  readonly repo?: string;
  readonly version: string;
}

export const addonCharts = {
  /** Karpenter v1.14 (the CRD schemas in shared/schemas come from the same tag). */
  karpenter: { chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" },
} as const satisfies Record<string, AddonChart>;
