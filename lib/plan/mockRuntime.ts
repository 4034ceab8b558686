/**
 * Runs a Pulumi program under the SDK's mock runtime and records every resource registration with
 * its real inputs, so the program can be inspected without the CLI, a backend or cloud credentials.
 *
 * The mocks answer like the providers would for the few outputs other resources read (ids, ARNs,
 * the EKS kubeconfig and OIDC issuer); they do not invent any input.
 */
import * as pulumi from "@pulumi/pulumi";

/** The wire marker Pulumi uses for secret values (`sig.Secret`). */
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";
const specialSignatureKey = "4dabf18193072939515e22adb298388d";

export interface PlannedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URN of the parent resource; the stack's URN for top-level resources. */
  readonly parent: string;
  /** Whether the resource is a custom (provider) resource rather than a component. */
  readonly custom: boolean;
  /** Inputs as the provider would receive them; secret values are replaced by `[secret]`. */
  readonly inputs: Record<string, unknown>;
}

export interface MockRunOptions {
  readonly project: string;
  readonly stack: string;
  /** Full config keys (`ns:key`) to string values, as the engine passes them. */
  readonly config: Record<string, string>;
  readonly secretKeys?: readonly string[];
  /** Extra strings that must never appear in recorded inputs (e.g. secret placeholder values). */
  readonly maskValues?: readonly string[];
  /** Called on every registration, as it happens (tests use it to prove what was registered before an error). */
  readonly onRegistration?: (type: string, name: string) => void;
}

export interface MockRunResult {
  readonly resources: PlannedResource[];
  readonly outputs: Record<string, unknown>;
  /** Invokes the program made that the mocks answered generically (worth knowing about). */
  readonly unknownInvokes: string[];
}

const accountId = "123456789012";

function mockState(args: pulumi.runtime.MockResourceArgs, region: string, partition: string): Record<string, unknown> {
  const physicalName = typeof args.inputs.name === "string" ? args.inputs.name : `${args.name}`;
  const base: Record<string, unknown> = {
    ...args.inputs,
    name: args.inputs.name ?? physicalName,
    arn: `arn:${partition}:mock:${region}:${accountId}:${args.type.split(":").pop()}/${physicalName}`,
  };
  switch (args.type) {
    case "eks:index:Cluster": {
      const issuer = `https://oidc.eks.${region}.amazonaws.com/id/MOCK${args.name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`;
      return {
        ...base,
        kubeconfigJson: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], contexts: [], users: [] }),
        oidcIssuer: issuer.replace("https://", ""),
        oidcProviderUrl: issuer,
        oidcProviderArn: `arn:${partition}:iam::${accountId}:oidc-provider/${issuer.replace("https://", "")}`,
        clusterSecurityGroupId: `sg-${args.name}-cluster`,
        nodeSecurityGroupId: `sg-${args.name}-node`,
      };
    }
    case "aws:kms/key:Key":
      return { ...base, keyId: `${args.name}-key-id` };
    case "aws:ec2/vpc:Vpc":
      return { ...base, defaultSecurityGroupId: `sg-${args.name}-default` };
    case "aws:eks/nodeGroup:NodeGroup":
      return { ...base, resources: [{ autoscalingGroups: [{ name: `eks-${args.name}-asg` }], remoteAccessSecurityGroupId: "" }] };
    case "aws:rds/cluster:Cluster":
      return { ...base, clusterIdentifier: args.inputs.clusterIdentifier ?? args.name, endpoint: `${args.name}.cluster.${region}.rds.amazonaws.com`, readerEndpoint: `${args.name}.cluster-ro.${region}.rds.amazonaws.com` };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return { ...base, configurationEndpointAddress: `${args.name}.cache.amazonaws.com`, primaryEndpointAddress: `${args.name}.cache.amazonaws.com` };
    case "aws:msk/cluster:Cluster":
      return { ...base, bootstrapBrokersSaslIam: `b-1.${args.name}.kafka.${region}.amazonaws.com:9098`, bootstrapBrokersTls: `b-1.${args.name}.kafka.${region}.amazonaws.com:9094` };
    case "aws:opensearch/domain:Domain":
      return { ...base, endpoint: `vpc-${args.name}.${region}.es.amazonaws.com` };
    case "aws:iam/accessKey:AccessKey":
      // Provider-computed secrets: a stand-in that the SDK marks secret (additionalSecretOutputs).
      return { ...base, secret: "mock-secret-access-key", sesSmtpPasswordV4: "mock-ses-smtp-password" };
    case "aws:sqs/queue:Queue":
      return { ...base, url: `https://sqs.${region}.amazonaws.com/${accountId}/${physicalName}` };
    default:
      return base;
  }
}

/** Replaces secret values (wire-marked or listed) by `[secret]`, recursively. */
export function maskSecrets(value: unknown, maskValues: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, maskValues));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[specialSignatureKey] === secretSignature) return "[secret]";
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, maskSecrets(v, maskValues)]));
  }
  if (typeof value === "string" && maskValues.length > 0) {
    let masked = value;
    for (const secret of maskValues) if (secret.length > 0) masked = masked.split(secret).join("[secret]");
    return masked;
  }
  return value;
}

/**
 * Runs `program` in a fresh mock stack and returns what it registered. Exceptions from the program
 * (including settings validation) reject the promise; nothing is registered after the first error.
 */
export async function runUnderMocks(
  options: MockRunOptions,
  program: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
): Promise<MockRunResult> {
  const configuredRegion = options.config["aws:region"] ?? "us-east-1";
  const partition = configuredRegion.startsWith("cn-") ? "aws-cn" : configuredRegion.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  const registrations = new Map<string, Array<{ inputs: Record<string, unknown>; custom: boolean }>>();
  const unknownInvokes: string[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        options.onRegistration?.(args.type, args.name);
        const key = `${args.type}::${args.name}`;
        const list = registrations.get(key) ?? [];
        list.push({ inputs: args.inputs, custom: args.custom ?? true });
        registrations.set(key, list);
        return { id: args.custom === false ? undefined : `${args.name}-id`, state: mockState(args, configuredRegion, partition) };
      },
      call(args) {
        switch (args.token) {
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["a", "b", "c", "d", "e", "f"].map((z) => `${configuredRegion}${z}`), zoneIds: ["az1", "az2", "az3", "az4", "az5", "az6"].map((z) => `use1-${z}`), id: configuredRegion };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId, arn: `arn:${partition}:iam::${accountId}:user/plan`, userId: "PLAN", id: accountId };
          case "aws:index/getRegion:getRegion":
            return { name: configuredRegion, region: configuredRegion, id: configuredRegion, description: configuredRegion };
          case "aws:index/getPartition:getPartition":
            return { partition, dnsSuffix: "amazonaws.com", id: partition };
          default:
            unknownInvokes.push(args.token);
            return args.inputs;
        }
      },
    },
    options.project,
    options.stack,
    true,
  );
  pulumi.runtime.setAllConfig(options.config, [...(options.secretKeys ?? [])]);

  // Parent links are not part of the mock callback: record them with a stack transformation.
  const parents = new Map<string, string[]>();
  const qualifiedTypes = new Map<pulumi.Resource, string>();
  const stackUrn = `urn:pulumi:${options.stack}::${options.project}::pulumi:pulumi:Stack::${options.project}-${options.stack}`;
  const urnOf = new Map<pulumi.Resource, string>();

  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const parent = args.opts.parent;
      const parentQualified = parent && qualifiedTypes.has(parent) ? qualifiedTypes.get(parent)! : undefined;
      const qualified = parentQualified ? `${parentQualified}$${args.type}` : args.type;
      qualifiedTypes.set(args.resource, qualified);
      const urn = `urn:pulumi:${options.stack}::${options.project}::${qualified}::${args.name}`;
      urnOf.set(args.resource, urn);
      const key = `${args.type}::${args.name}`;
      const list = parents.get(key) ?? [];
      list.push(`${urn}\u0000${parent && urnOf.has(parent) ? urnOf.get(parent)! : stackUrn}`);
      parents.set(key, list);
      return undefined;
    });
    const result = (await program()) ?? {};
    // Wait until every resource constructed so far (and any constructed while waiting) has registered.
    const settled = new Set<pulumi.Resource>();
    for (;;) {
      const pending = [...urnOf.keys()].filter((r) => !settled.has(r));
      if (pending.length === 0) break;
      // `promise()` is the SDK's internal accessor; unlike apply() it also rejects when registration fails.
      await Promise.all(pending.map((r) => (r.urn as unknown as { promise(): Promise<unknown> }).promise()));
      pending.forEach((r) => settled.add(r));
    }
    return result;
  });

  // Let the stack's own output registration finish, so nothing is left in flight at exit.
  await pulumi.runtime.disconnect();

  const resources: PlannedResource[] = [];
  for (const [key, list] of registrations) {
    const [type, ...nameParts] = key.split("::");
    const name = nameParts.join("::");
    const links = parents.get(key) ?? [];
    list.forEach((reg, i) => {
      const link = links[i];
      const [urn, parent] = link ? link.split("\u0000") : [`urn:pulumi:${options.stack}::${options.project}::${type}::${name}`, stackUrn];
      resources.push({
        urn: urn!,
        type: type!,
        name,
        parent: parent!,
        custom: reg.custom,
        inputs: maskSecrets(reg.inputs, options.maskValues) as Record<string, unknown>,
      });
    });
  }
  return { resources, outputs: (maskSecrets(outputs ?? {}, options.maskValues) as Record<string, unknown>), unknownInvokes };
}
