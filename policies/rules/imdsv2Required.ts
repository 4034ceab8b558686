import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ReportViolation, type ResourceValidationPolicy } from "@pulumi/policy";
import { nodeClassType, objectName, peek, UNKNOWN } from "../lib";

export interface Imdsv2RequiredConfig {
  /** Highest `httpPutResponseHopLimit`: 1 keeps IMDSv2 tokens from reaching containers behind a network hop. */
  maxHopLimit: number;
}

interface MetadataDefaults {
  /** httpTokens when not set, and why. */
  readonly tokens: { readonly value: string; readonly source: string };
  readonly hopLimit: number;
}

/** EC2's defaults for launch templates and instances: IMDSv1 stays on unless the AMI requires v2. */
const ec2Defaults: MetadataDefaults = { tokens: { value: "optional", source: "EC2's default unless the AMI requires IMDSv2" }, hopLimit: 1 };
/** Karpenter's EC2NodeClass defaults (v1): httpTokens "required", hop limit 1. */
const karpenterDefaults: MetadataDefaults = { tokens: { value: "required", source: "Karpenter's default" }, hopLimit: 1 };

function checkMetadataOptions(what: string, options: unknown, defaults: MetadataDefaults, config: Imdsv2RequiredConfig, reportViolation: ReportViolation) {
  if (options === UNKNOWN) return;
  // No metadata endpoint at all: nothing to steal credentials from.
  if (peek(options, "httpEndpoint") === "disabled") return;
  const tokens = peek(options, "httpTokens");
  if (tokens !== UNKNOWN && (tokens ?? defaults.tokens.value) !== "required") {
    const shown = tokens === undefined ? `not set (${defaults.tokens.source}: "${defaults.tokens.value}")` : `"${tokens}"`;
    reportViolation(`${what}: metadataOptions.httpTokens is ${shown}: IMDSv1 answers unauthenticated requests; set it to "required"`);
  }
  const hops = peek(options, "httpPutResponseHopLimit") ?? defaults.hopLimit;
  if (hops !== UNKNOWN && typeof hops === "number" && hops > config.maxHopLimit) {
    reportViolation(`${what}: metadataOptions.httpPutResponseHopLimit ${hops} exceeds the maximum of ${config.maxHopLimit}: containers can fetch the node role's credentials`);
  }
}

/**
 * IMDSv2 only, on every node and instance: SSRF-style requests cannot read the node role's
 * credentials without a session token, and a hop limit of 1 keeps the token on the host. Checks
 * launch templates (managed node groups), Karpenter EC2NodeClasses (absent `metadataOptions` is
 * Karpenter's default, httpTokens "required" and hop limit 1, so it passes) and self-managed
 * instances (an instance launched from a launch template without its own metadataOptions is judged
 * by the template).
 */
export const imdsv2Required: ResourceValidationPolicy = {
  name: "imdsv2-required",
  description: "Launch templates, Karpenter EC2NodeClasses and EC2 instances require IMDSv2 tokens, with a bounded response hop limit.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `metadataOptions: { httpTokens: \"required\", httpPutResponseHopLimit: 1 }` on the launch template or instance, and `spec.metadataOptions.httpTokens: required` on the EC2NodeClass (components/cluster.ts, components/clusterCapacity.ts). Pods that need AWS access use IRSA or EKS Pod Identity instead of the node role.",
  configSchema: {
    properties: {
      maxHopLimit: { type: "integer", minimum: 1, maximum: 64, default: 1 },
    },
  },
  validateResource: [
    validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, reportViolation) => {
      checkMetadataOptions(`launch template ${args.name}`, peek(template, "metadataOptions") ?? {}, ec2Defaults, args.getConfig<Imdsv2RequiredConfig>(), reportViolation);
    }),
    validateResourceOfType(aws.ec2.Instance, (instance, args, reportViolation) => {
      const options = peek(instance, "metadataOptions");
      if (options === undefined && peek(instance, "launchTemplate") !== undefined) return;
      checkMetadataOptions(`EC2 instance ${args.name}`, options ?? {}, ec2Defaults, args.getConfig<Imdsv2RequiredConfig>(), reportViolation);
    }),
    (args, reportViolation) => {
      if (args.type !== nodeClassType) return;
      checkMetadataOptions(`EC2NodeClass ${objectName(args.props)}`, peek(args.props, "spec", "metadataOptions") ?? {}, karpenterDefaults,
        args.getConfig<Imdsv2RequiredConfig>(), reportViolation);
    },
  ],
};
