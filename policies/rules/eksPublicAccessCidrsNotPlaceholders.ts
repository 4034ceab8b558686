import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy, type ReportViolation } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "../lib";

/** The stack setting the CIDRs come from, named in every message. */
export const publicAccessCidrsSetting = "autoscaling:cluster.publicAccessCidrs";

/**
 * Address blocks reserved for documentation: no real network has them, so a CIDR inside one is a
 * placeholder copied from an example. RFC 5737 (IPv4 TEST-NET-1/2/3) and RFC 3849 (IPv6).
 */
export const documentationRanges: ReadonlyArray<{ cidr: string; name: string }> = [
  { cidr: "192.0.2.0/24", name: "TEST-NET-1, RFC 5737" },
  { cidr: "198.51.100.0/24", name: "TEST-NET-2, RFC 5737" },
  { cidr: "203.0.113.0/24", name: "TEST-NET-3, RFC 5737" },
  { cidr: "2001:db8::/32", name: "IPv6 documentation prefix, RFC 3849" },
];

function ipv4Range(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const start = Math.floor(address / size) * size;
  return [start, start + size - 1];
}

/** The documentation range a CIDR lies in, or undefined. IPv6 by its 2001:db8 prefix. */
export function documentationRangeOf(cidr: unknown): { cidr: string; name: string } | undefined {
  if (typeof cidr !== "string") return undefined;
  if (/^2001:0?db8(:|$)/i.test(cidr.trim())) return documentationRanges[3];
  const r = ipv4Range(cidr);
  if (!r) return undefined;
  return documentationRanges.find((d) => {
    const dr = ipv4Range(d.cidr);
    return dr !== undefined && r[0] >= dr[0] && r[1] <= dr[1];
  });
}

export interface EksPublicAccessCidrsNotPlaceholdersConfig {
  /** Further CIDRs to refuse as placeholders (e.g. a retired office range), exact strings. Default none. */
  extraPlaceholderCidrs: string[];
}

function check(what: string, publicAccess: unknown, cidrs: unknown[] | typeof UNKNOWN | undefined, config: EksPublicAccessCidrsNotPlaceholdersConfig, reportViolation: ReportViolation) {
  if (publicAccess === false || publicAccess === UNKNOWN || cidrs === UNKNOWN || cidrs === undefined) return;
  for (const cidr of cidrs) {
    const documentation = documentationRangeOf(cidr);
    const listed = typeof cidr === "string" && config.extraPlaceholderCidrs.includes(cidr.trim());
    if (!documentation && !listed) continue;
    const kind = documentation ? `a documentation range (${documentation.name})` : "a placeholder range (extraPlaceholderCidrs of the policy config)";
    reportViolation(
      `${what}: ${publicAccessCidrsSetting} lists ${String(cidr)}, ${kind} no operator's network uses: ` +
      "the public API endpoint would admit nobody who needs it. List the operators' egress ranges, or leave endpointPublicAccess off (the default) and reach the API from inside the VPC.",
    );
  }
}

/**
 * A public EKS API endpoint restricted to a documentation range is a placeholder left in place:
 * it looks restricted and works for nobody (the first deploy then cannot reach its own cluster from
 * the operators' networks). Mandatory in prod; dev may warn. Checks the @pulumi/eks component's
 * inputs and a plain aws.eks.Cluster, like `eks-public-endpoint-restricted`, which refuses 0.0.0.0/0.
 */
export const eksPublicAccessCidrsNotPlaceholders: ResourceValidationPolicy = {
  name: "eks-public-access-cidrs-not-placeholders",
  description: "A public EKS API endpoint lists real networks in publicAccessCidrs, not documentation ranges (RFC 5737, RFC 3849) copied from an example.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Replace the documentation range in `autoscaling:cluster.publicAccessCidrs` with the operators' egress ranges (office, VPN, CI), or remove `endpointPublicAccess: true` to keep the endpoint private (the default).",
  configSchema: {
    properties: {
      extraPlaceholderCidrs: { type: "array", items: { type: "string" }, default: [] },
    },
  },
  validateResource: [
    (args, reportViolation) => {
      if (args.type !== "eks:index:Cluster") return;
      check(`EKS cluster ${args.name}`, peek(args.props, "endpointPublicAccess"), peekList(args.props, "publicAccessCidrs"), args.getConfig<EksPublicAccessCidrsNotPlaceholdersConfig>(), reportViolation);
    },
    validateResourceOfType(aws.eks.Cluster, (cluster, args, reportViolation) => {
      check(`EKS cluster ${args.name}`, peek(cluster, "vpcConfig", "endpointPublicAccess"), peekList(cluster, "vpcConfig", "publicAccessCidrs"), args.getConfig<EksPublicAccessCidrsNotPlaceholdersConfig>(), reportViolation);
    }),
  ],
};
