import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy, type ReportViolation } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "../lib";

export interface EksEndpointRestrictedConfig {
  /** Accept a public endpoint open to the whole internet (0.0.0.0/0, ::/0). */
  allowOpenEndpoint: boolean;
}

/** A CIDR with a zero-length prefix matches every address: 0.0.0.0/0, ::/0 and their spellings. */
const isOpenCidr = (cidr: unknown) => typeof cidr === "string" && /\/0+$/.test(cidr.trim());

function checkEndpoint(what: string, publicAccess: unknown, cidrs: unknown[] | typeof UNKNOWN | undefined, config: EksEndpointRestrictedConfig, reportViolation: ReportViolation) {
  // Both @pulumi/eks and the EKS API default the public endpoint to on.
  if (config.allowOpenEndpoint || publicAccess === false || publicAccess === UNKNOWN || cidrs === UNKNOWN) return;
  if (cidrs === undefined || cidrs.length === 0) {
    reportViolation(`${what}: the public API endpoint is enabled without publicAccessCidrs (autoscaling:cluster.publicAccessCidrs): EKS opens it to 0.0.0.0/0`);
    return;
  }
  const open = cidrs.filter(isOpenCidr);
  if (open.length > 0) {
    reportViolation(`${what}: the public API endpoint is open to ${open.join(", ")}; restrict autoscaling:cluster.publicAccessCidrs to the operators' networks`);
  }
}

/**
 * The Kubernetes API is the cluster's control: a public endpoint must be limited to known networks
 * (`publicAccessCidrs`, e.g. the office and CI egress ranges), never the whole internet. Checks the
 * @pulumi/eks component's inputs and the aws.eks.Cluster it creates (or a plain one), whichever the
 * analyzer sees. A private-only endpoint passes.
 */
export const eksEndpointRestricted: ResourceValidationPolicy = {
  name: "eks-public-endpoint-restricted",
  description: "A public EKS API endpoint is restricted to listed CIDRs and never open to 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Set `autoscaling:cluster.publicAccessCidrs` in the stack file to the networks that need the API (office, VPN, CI egress), or set `endpointPublicAccess: false` and reach the API through the VPC.",
  configSchema: {
    properties: {
      allowOpenEndpoint: { type: "boolean", default: false },
    },
  },
  validateResource: [
    (args, reportViolation) => {
      if (args.type !== "eks:index:Cluster") return;
      checkEndpoint(`EKS cluster ${args.name}`, peek(args.props, "endpointPublicAccess"), peekList(args.props, "publicAccessCidrs"),
        args.getConfig<EksEndpointRestrictedConfig>(), reportViolation);
    },
    validateResourceOfType(aws.eks.Cluster, (cluster, args, reportViolation) => {
      checkEndpoint(`EKS cluster ${args.name}`, peek(cluster, "vpcConfig", "endpointPublicAccess"), peekList(cluster, "vpcConfig", "publicAccessCidrs"),
        args.getConfig<EksEndpointRestrictedConfig>(), reportViolation);
    }),
  ],
};
