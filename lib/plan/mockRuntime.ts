/**
 * Runs a Pulumi program under the SDK's mock runtime and records every resource registration with
 * its real inputs, so the program can be inspected without the CLI, a backend or cloud credentials.
 *
 * The mocks answer like the providers would for the few outputs other resources read (ids, ARNs,
 * the EKS kubeconfig and OIDC issuer); they do not invent any input.
 */
import * as pulumi from "@pulumi/pulumi";
import { secretSignature, specialSignatureKey, unknownMarker, unknownSentinel } from "../policy/wire";

export interface PlannedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URN of the parent resource; the stack's URN for top-level resources. */
  readonly parent: string;
  /** Whether the resource is a custom (provider) resource rather than a component. */
  readonly custom: boolean;
  /**
   * Inputs as the provider would receive them; secret values are replaced by `[secret]`, values not
   * known before the update (a first preview) by `{ "__pulumiUnknown": true }`.
   */
  readonly inputs: Record<string, unknown>;
  /** URNs this resource depends on (as the engine sends them to AnalyzeStack). */
  readonly dependencies?: readonly string[];
  /** Per input property, the URNs of the resources its value came from. */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  /** Former URNs the engine is told this resource had (its `aliases` option); absent when none. */
  readonly aliases?: readonly string[];
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
  /**
   * First-preview semantics: nothing exists yet, so every output a provider computes (ids, ARNs,
   * endpoints, generated names, kubeconfigs) is unknown, and so is every input derived from one.
   * Default false: the mocks answer with stand-in values, as for an update of an existing stack.
   */
  readonly preview?: boolean;
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
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { ...base, latestVersion: 1, defaultVersion: 1 };
    case "aws:msk/configuration:Configuration":
      return { ...base, latestRevision: 1 };
    case "aws:kms/key:Key":
      return { ...base, keyId: `${args.name}-key-id` };
    case "aws:ec2/vpc:Vpc":
      return { ...base, defaultSecurityGroupId: `sg-${args.name}-default` };
    case "aws:eks/nodeGroup:NodeGroup":
      return { ...base, resources: [{ autoscalingGroups: [{ name: `eks-${args.name}-asg` }], remoteAccessSecurityGroupId: "" }] };
    case "aws:rds/cluster:Cluster":
      return {
        ...base, clusterIdentifier: args.inputs.clusterIdentifier ?? args.name, endpoint: `${args.name}.cluster.${region}.rds.amazonaws.com`, readerEndpoint: `${args.name}.cluster-ro.${region}.rds.amazonaws.com`,
        // RDS-managed master password: the secret RDS creates (its name starts with rds!cluster-).
        ...(args.inputs.manageMasterUserPassword ? { masterUserSecrets: [{ secretArn: `arn:${partition}:secretsmanager:${region}:${accountId}:secret:rds!cluster-${args.name}-AbCdEf`, secretStatus: "active", kmsKeyId: args.inputs.masterUserSecretKmsKeyId ?? "" }] } : {}),
      };
    case "aws:secretsmanager/secret:Secret":
      // Secrets Manager appends a 6-character suffix to the name in the ARN.
      return { ...base, arn: `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${physicalName}-AbCdEf` };
    case "pulumi-nodejs:dynamic/pyairtable:RdsCaBundle":
      // Dynamic providers compute their outputs at deploy time (the RDS CA bundle is downloaded then).
      return typeof args.inputs.url === "string" && args.inputs.url.startsWith("https://truststore.pki.rds.amazonaws.com/")
        ? { ...args.inputs, pem: `# offline plan: downloaded from ${args.inputs.url} at deploy time\n`, sha256: "0".repeat(64), certificates: 0, latestNotAfter: "" }
        : { ...args.inputs };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return { ...base, configurationEndpointAddress: `${args.name}.cache.amazonaws.com`, primaryEndpointAddress: `${args.name}.cache.amazonaws.com` };
    case "aws:msk/cluster:Cluster":
      return { ...base, bootstrapBrokersSaslIam: `b-1.${args.name}.kafka.${region}.amazonaws.com:9098`, bootstrapBrokersTls: `b-1.${args.name}.kafka.${region}.amazonaws.com:9094` };
    case "aws:opensearch/domain:Domain":
      return { ...base, endpoint: `vpc-${args.name}.${region}.es.amazonaws.com` };
    case "aws:iam/accessKey:AccessKey":
      // Provider-computed secrets: a stand-in that the SDK marks secret (additionalSecretOutputs).
      return { ...base, secret: "mock-secret-access-key", sesSmtpPasswordV4: "mock-ses-smtp-password" };
    case "aws:ecr/repository:Repository":
      return { ...base, registryId: accountId, repositoryUrl: `${accountId}.dkr.ecr.${region}.amazonaws.com/${physicalName}` };
    case "aws:sqs/queue:Queue":
      return { ...base, url: `https://sqs.${region}.amazonaws.com/${accountId}/${physicalName}` };
    default:
      return base;
  }
}

/** Replaces secret values (wire-marked or listed) by `[secret]`, and unknowns by the plan's marker, recursively. */
export function maskSecrets(value: unknown, maskValues: readonly string[] = []): unknown {
  if (value === unknownSentinel || pulumi.isUnknown(value)) return { ...unknownMarker };
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
  // What the language host sends the engine with each registration, in the same per-key order.
  const wire = new Map<string, Array<{ object: Record<string, unknown>; dependencies: string[]; propertyDependencies: Record<string, string[]>; mockUrn?: string }>>();
  const unknownInvokes: string[] = [];
  const preview = options.preview ?? false;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        options.onRegistration?.(args.type, args.name);
        const key = `${args.type}::${args.name}`;
        const list = registrations.get(key) ?? [];
        list.push({ inputs: args.inputs, custom: args.custom ?? true });
        registrations.set(key, list);
        // In a first preview a provider returns its inputs and nothing it computes: the SDK then
        // resolves every other output, and the id, as unknown.
        if (preview) return { id: undefined, state: { ...args.inputs } };
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

  // Record each RegisterResource request as the engine receives it: the wire-form object (unknowns
  // and secrets marked) and its dependencies, which the mocks' callback does not see.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const monitor = (require("@pulumi/pulumi/runtime/settings") as { getMonitor(): any }).getMonitor();
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
    const key = `${req.getType()}::${req.getName()}`;
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps: any, prop: string) => (propertyDependencies[prop] = deps.getUrnsList()));
    const entry: { object: Record<string, unknown>; dependencies: string[]; propertyDependencies: Record<string, string[]>; mockUrn?: string } = {
      object: (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      dependencies: req.getDependenciesList(),
      propertyDependencies,
    };
    const list = wire.get(key) ?? [];
    list.push(entry);
    wire.set(key, list);
    registerResource(req, (err: unknown, resp: any) => {
      if (resp) entry.mockUrn = resp.getUrn();
      callback(err, resp);
    });
  };

  // Parent links are not part of the mock callback: record them with a stack transformation.
  const parents = new Map<string, string[]>();
  const qualifiedTypes = new Map<pulumi.Resource, string>();
  const stackUrn = `urn:pulumi:${options.stack}::${options.project}::pulumi:pulumi:Stack::${options.project}-${options.stack}`;
  const urnOf = new Map<pulumi.Resource, string>();
  const aliasUrns = new Map<string, string[]>();
  // The URN an alias names, as the engine derives it (same stack and project; name, type and parent
  // default to the resource's own). URN strings are taken as written.
  const aliasUrn = (alias: unknown, args: pulumi.ResourceTransformationArgs): string => {
    if (typeof alias === "string") return alias;
    const a = (alias ?? {}) as { name?: unknown; type?: unknown; parent?: pulumi.Resource; noParent?: boolean; stack?: unknown; project?: unknown };
    const parent = a.noParent ? undefined : "parent" in a ? a.parent : args.opts.parent;
    const type = typeof a.type === "string" ? a.type : args.type;
    const qualified = parent && qualifiedTypes.has(parent) ? `${qualifiedTypes.get(parent)!}$${type}` : type;
    const stack = typeof a.stack === "string" ? a.stack : options.stack;
    const project = typeof a.project === "string" ? a.project : options.project;
    return `urn:pulumi:${stack}::${project}::${qualified}::${typeof a.name === "string" ? a.name : args.name}`;
  };

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
      const aliases = (args.opts.aliases ?? []).map((alias) => aliasUrn(alias, args));
      if (aliases.length > 0) aliasUrns.set(urn, aliases);
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

  // The mock monitor names URNs by the parent's last type only; the engine (and this plan) by the
  // whole chain. Translate dependencies to this plan's URNs.
  const urnOfMockUrn = new Map<string, string>();
  for (const [key, list] of wire) {
    const links = parents.get(key) ?? [];
    list.forEach((w, i) => {
      if (w.mockUrn && links[i]) urnOfMockUrn.set(w.mockUrn, links[i]!.split("\u0000")[0]!);
    });
  }
  const translate = (urns: readonly string[]) => [...new Set(urns.map((u) => urnOfMockUrn.get(u) ?? u))];

  const resources: PlannedResource[] = [];
  for (const [key, list] of registrations) {
    const [type, ...nameParts] = key.split("::");
    const name = nameParts.join("::");
    const links = parents.get(key) ?? [];
    const requests = wire.get(key) ?? [];
    list.forEach((reg, i) => {
      const link = links[i];
      const [urn, parent] = link ? link.split("\u0000") : [`urn:pulumi:${options.stack}::${options.project}::${type}::${name}`, stackUrn];
      const request = requests[i];
      const propertyDependencies = Object.fromEntries(
        Object.entries(request?.propertyDependencies ?? {}).map(([prop, urns]) => [prop, translate(urns)] as const).filter(([, urns]) => urns.length > 0),
      );
      resources.push({
        urn: urn!,
        type: type!,
        name,
        parent: parent!,
        custom: reg.custom,
        // The wire form keeps what the mocks' deserialized inputs lose: which values are unknown.
        inputs: maskSecrets(request ? request.object : reg.inputs, options.maskValues) as Record<string, unknown>,
        dependencies: translate(request?.dependencies ?? []),
        propertyDependencies,
        ...(aliasUrns.has(urn!) ? { aliases: aliasUrns.get(urn!)! } : {}),
      });
    });
  }
  return { resources, outputs: (maskSecrets(outputs ?? {}, options.maskValues) as Record<string, unknown>), unknownInvokes };
}
