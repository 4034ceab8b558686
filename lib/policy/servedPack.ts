/**
 * The policy pack as the Pulumi CLI runs it: a child process started through the analyzer shim's
 * own command (`node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> .`, working directory the
 * pack's folder, so the pack is type-checked by ts-node with the pack's own tsconfig.json), which
 * prints its port on stdout and is then driven over the Analyzer gRPC protocol with the stubs that
 * ship in @pulumi/pulumi/proto: Handshake, ConfigureStack, GetAnalyzerInfo, Configure (each policy's
 * enforcement level and properties, schema defaults applied, as the CLI sends them), Analyze once per
 * resource and AnalyzeStack over all of them with parents and property dependencies.
 *
 * A stand-in Engine service receives the pack's log calls. This is the one place policy verdicts of
 * the offline plan come from; see README "Policy pack".
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { EnforcementLevel, Severity } from "@pulumi/policy";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { PlannedResource } from "../plan/mockRuntime";
import { analyzedResources, enforcementLevelOf, resolvePolicyConfig, type PolicyPackConfig, type Violation } from "./evaluate";
import { toWire } from "./wire";

/* eslint-disable @typescript-eslint/no-require-imports */
const analyzerProto = require("@pulumi/pulumi/proto/analyzer_pb") as typeof import("@pulumi/pulumi/proto/analyzer_pb");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as typeof import("@pulumi/pulumi/proto/analyzer_grpc_pb");
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

type AnalyzerClient = InstanceType<typeof analyzerGrpc.AnalyzerClient>;

export interface ServedPolicyPackOptions {
  /** The pack's folder (the one holding PulumiPolicy.yaml). */
  readonly packDir: string;
  readonly project: string;
  readonly stack: string;
  readonly organization?: string;
  /** Whether the engine is previewing (PULUMI_DRY_RUN, ConfigureStack.dryRun). Default true. */
  readonly dryRun?: boolean;
  /** How long the pack may take to print its port (type-checking included), ms. Default 180,000. */
  readonly startTimeoutMs?: number;
  /** Deadline of each gRPC call, ms. Default 60,000. */
  readonly callTimeoutMs?: number;
  /** Aborting stops a pack that is still starting (the caller no longer needs it). */
  readonly signal?: AbortSignal;
}

export interface ServedPolicyInfo {
  readonly name: string;
  readonly description: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly severity?: Severity;
  readonly remediationSteps: string;
  /** Whether the policy validates one resource at a time or the whole stack. */
  readonly kind: "resource" | "stack";
  /** The policy's config schema as the pack reports it (JSON Schema properties and required names). */
  readonly configSchema?: { properties: Record<string, unknown>; required: string[] };
}

export interface ServedPackInfo {
  readonly name: string;
  readonly version: string;
  readonly supportsConfig: boolean;
  readonly policies: ServedPolicyInfo[];
}

/** The pack could not be started or did not answer: the message carries what it printed. */
export class PolicyPackStartError extends Error {}

const levelNames: Record<number, EnforcementLevel> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate" };
const levelNumbers: Record<EnforcementLevel, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const severityNames: Record<number, Severity | undefined> = { 0: undefined, 1: "low", 2: "medium", 3: "high", 4: "critical" };

/** The path the CLI's analyzer shim runs: `require.resolve('@pulumi/pulumi/cmd/run-policy-pack')` from the pack's folder. */
export function runPolicyPackScript(packDir: string): string {
  return require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
}

/** Starts the stand-in Engine service (log sink) on loopback; resolves its address. */
async function startEngine(logs: string[]): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  const emptyReply = (_call: unknown, callback: grpc.sendUnaryData<Empty>) => callback(null, new Empty());
  server.addService(engineGrpc.EngineService as unknown as grpc.ServiceDefinition, {
    log: (call: grpc.ServerUnaryCall<{ getMessage(): string; getSeverity(): number }, Empty>, callback: grpc.sendUnaryData<Empty>) => {
      logs.push(call.request.getMessage());
      callback(null, new Empty());
    },
    getRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: "no root resource in a policy run" }),
    setRootResource: emptyReply,
    startDebugging: emptyReply,
    requirePulumiVersion: emptyReply,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

function unary<Req, Res>(client: AnalyzerClient, method: string, request: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method]!;
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** Starts a detached watchdog that SIGKILLs `childPid` once `parentPid` no longer exists. */
function reapWhenGone(parentPid: number, childPid: number): void {
  const watchdog = `const [p, c] = process.argv.slice(1).map(Number);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
setInterval(() => { if (!alive(c)) process.exit(0); if (!alive(p)) { try { process.kill(c, "SIGKILL"); } catch {} process.exit(0); } }, 1000);`;
  const dog = spawn(process.execPath, ["-e", watchdog, String(parentPid), String(childPid)], { detached: true, stdio: "ignore" });
  dog.unref();
}

export class ServedPolicyPack {
  private constructor(
    readonly info: ServedPackInfo,
    /** Messages the pack logged through the Engine service. */
    readonly logs: readonly string[],
    private readonly child: ChildProcess,
    private readonly client: AnalyzerClient,
    private readonly engine: grpc.Server,
    private readonly callTimeoutMs: number,
    private readonly stderr: () => string,
  ) {}

  /** Starts the pack exactly as `pulumi preview --policy-pack <packDir>` does, and reads its policies. */
  static async start(options: ServedPolicyPackOptions): Promise<ServedPolicyPack> {
    const packDir = path.resolve(options.packDir);
    const startTimeoutMs = options.startTimeoutMs ?? 180_000;
    const callTimeoutMs = options.callTimeoutMs ?? 60_000;
    const dryRun = options.dryRun ?? true;
    const logs: string[] = [];
    const engine = await startEngine(logs);

    let script: string;
    try {
      script = runPolicyPackScript(packDir);
    } catch (e) {
      engine.server.forceShutdown();
      throw new PolicyPackStartError(`policy pack ${packDir}: @pulumi/pulumi/cmd/run-policy-pack cannot be resolved from the pack's folder (${(e as Error).message}); run npm ci`);
    }
    // The CLI passes the stack's identity in the environment (constructEnv in the engine).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_NODEJS_PROJECT: options.project,
      PULUMI_NODEJS_STACK: options.stack,
      PULUMI_NODEJS_DRY_RUN: String(dryRun),
      PULUMI_PROJECT: options.project,
      PULUMI_STACK: options.stack,
      PULUMI_DRY_RUN: String(dryRun),
      ...(options.organization ? { PULUMI_NODEJS_ORGANIZATION: options.organization, PULUMI_ORGANIZATION: options.organization } : {}),
    };
    // Settings of this process's own TypeScript loader must not leak into the pack's.
    delete env.TS_NODE_PROJECT;
    delete env.TS_NODE_TRANSPILE_ONLY;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [script, engine.address, "."], { cwd: packDir, env, stdio: ["ignore", "pipe", "pipe"] });
    // The engine stops its analyzers when it ends; a parent killed outright cannot, so a detached
    // watchdog stops the pack once this process is gone (a mocha worker, a killed plan).
    if (child.pid !== undefined) reapWhenGone(process.pid, child.pid);
    let stdout = "";
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));

    const port = await new Promise<number>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(`did not print its port within ${startTimeoutMs / 1000} s`), startTimeoutMs);
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill("SIGKILL");
        engine.server.forceShutdown();
        const printed = [...logs, stderr.trim()].filter((s) => s.length > 0).join("\n");
        reject(new PolicyPackStartError(`policy pack ${packDir} ${why}${printed ? `:\n${printed}` : ""}`));
      };
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
        const line = stdout.split("\n")[0]!.trim();
        if (stdout.includes("\n") || /^\d+$/.test(line)) {
          if (/^\d+$/.test(line) && !settled) {
            settled = true;
            clearTimeout(timer);
            resolve(Number(line));
          } else fail(`printed ${JSON.stringify(line)} instead of a port`);
        }
      });
      child.on("error", (e) => fail(`could not be started (${e.message})`));
      child.on("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before printing a port`));
      if (options.signal?.aborted) fail("was stopped before it started (aborted)");
      options.signal?.addEventListener("abort", () => fail("was stopped before it started (aborted)"), { once: true });
    });
    child.removeAllListeners("exit");

    const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 400 * 1024 * 1024,
      "grpc.max_send_message_length": 400 * 1024 * 1024,
    }) as AnalyzerClient;

    try {
      // The engine's handshake: optional for analyzers (UNIMPLEMENTED is the old protocol).
      const handshake = new analyzerProto.AnalyzerHandshakeRequest();
      handshake.setEngineAddress(engine.address);
      handshake.setRootDirectory(packDir);
      handshake.setProgramDirectory(packDir);
      await unary(client, "handshake", handshake, callTimeoutMs).catch((e: grpc.ServiceError) => {
        if (e.code !== grpc.status.UNIMPLEMENTED) throw e;
      });
      const stackConfig = new analyzerProto.AnalyzerStackConfigureRequest();
      stackConfig.setStack(options.stack);
      stackConfig.setProject(options.project);
      stackConfig.setOrganization(options.organization ?? "organization");
      stackConfig.setDryRun(dryRun);
      await unary(client, "configureStack", stackConfig, callTimeoutMs).catch((e: grpc.ServiceError) => {
        if (e.code !== grpc.status.UNIMPLEMENTED) throw e;
      });
      const infoReply = await unary<Empty, InstanceType<typeof analyzerProto.AnalyzerInfo>>(client, "getAnalyzerInfo", new Empty(), callTimeoutMs);
      const info: ServedPackInfo = {
        name: infoReply.getName(),
        version: infoReply.getVersion(),
        supportsConfig: infoReply.getSupportsconfig(),
        policies: infoReply.getPoliciesList().map((p) => {
          const schema = p.getConfigschema();
          return {
            name: p.getName(),
            description: p.getDescription(),
            enforcementLevel: levelNames[p.getEnforcementlevel()] ?? "advisory",
            severity: severityNames[p.getSeverity()],
            remediationSteps: p.getRemediationSteps(),
            kind: p.getPolicyType() === analyzerProto.PolicyType.POLICY_TYPE_STACK ? "stack" : "resource",
            configSchema: schema ? { properties: (schema.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>, required: schema.getRequiredList() } : undefined,
          };
        }),
      };
      return new ServedPolicyPack(info, logs, child, client, engine.server, callTimeoutMs, () => stderr);
    } catch (e) {
      child.kill("SIGKILL");
      engine.server.forceShutdown();
      client.close();
      throw new PolicyPackStartError(`policy pack ${packDir} started but did not answer: ${(e as Error).message}${stderr ? `\n${stderr.trim()}` : ""}`);
    }
  }

  /**
   * Sends the policy config as the CLI does after reading `--policy-pack-config`: every policy of the
   * pack with its enforcement level (the file's entry, else `all`, else the policy's own) and its
   * properties validated against its schema with the schema's defaults filled in. `only`, when given,
   * disables every other policy (to evaluate one policy at a time).
   */
  async configure(config: PolicyPackConfig, only?: readonly string[]): Promise<void> {
    const request = new analyzerProto.ConfigureAnalyzerRequest();
    const map = request.getPolicyconfigMap();
    for (const policy of this.info.policies) {
      const level = only && !only.includes(policy.name) ? "disabled" : enforcementLevelOf(policy, config);
      const properties = resolvePolicyConfig(policy, config);
      const entry = new analyzerProto.PolicyConfig();
      entry.setEnforcementlevel(levelNumbers[level] as never);
      entry.setProperties(Struct.fromJavaScript(properties as Record<string, never>));
      map.set(policy.name, entry);
    }
    await unary(this.client, "configure", request, this.callTimeoutMs);
  }

  /**
   * Analyzes resources as the engine does: `Analyze` for each resource (inputs in the wire form,
   * options with the parent), then `AnalyzeStack` over all of them. Violations in the order the
   * pack reported them; stack-wide findings carry `stackUrn`.
   */
  async analyze(resources: readonly PlannedResource[], options: { stackUrn?: string; only?: readonly string[] } = {}): Promise<Violation[]> {
    const stackUrn = options.stackUrn ?? resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? "";
    const targets = analyzedResources(resources);
    const violations: Violation[] = [];
    const collect = (reply: InstanceType<typeof analyzerProto.AnalyzeResponse>, fallbackUrn: string) => {
      for (const d of reply.getDiagnosticsList()) {
        const description = d.getDescription();
        const full = d.getMessage();
        const message = full.startsWith(`${description}\n`) ? full.slice(description.length + 1) : full === description ? "" : full;
        violations.push({
          policy: d.getPolicyname(),
          enforcementLevel: levelNames[d.getEnforcementlevel()] ?? "advisory",
          severity: severityNames[d.getSeverity()],
          urn: d.getUrn() || fallbackUrn,
          message,
        });
      }
    };
    const optionsOf = (r: PlannedResource) => {
      const opts = new analyzerProto.AnalyzerResourceOptions();
      opts.setParent(r.parent);
      const timeouts = new analyzerProto.AnalyzerResourceOptions.CustomTimeouts();
      opts.setCustomtimeouts(timeouts);
      return opts;
    };
    // Each resource's props in the wire form once, for its Analyze and for AnalyzeStack.
    const wireProps = new Map(targets.map((r) => [r.urn, Struct.fromJavaScript(toWire(r.inputs) as Record<string, never>)] as const));
    // With only stack policies enabled every Analyze call would answer nothing: skip them.
    const resourcePoliciesEnabled = this.info.policies.some((p) => p.kind === "resource" && (!options.only || options.only.includes(p.name)));
    for (const r of resourcePoliciesEnabled ? targets : []) {
      const request = new analyzerProto.AnalyzeRequest();
      request.setUrn(r.urn);
      request.setType(r.type);
      request.setName(r.name);
      request.setProperties(wireProps.get(r.urn));
      request.setOptions(optionsOf(r));
      collect(await unary(this.client, "analyze", request, this.callTimeoutMs), r.urn);
    }
    const stackRequest = new analyzerProto.AnalyzeStackRequest();
    stackRequest.setResourcesList(
      targets.map((r) => {
        const resource = new analyzerProto.AnalyzerResource();
        resource.setUrn(r.urn);
        resource.setType(r.type);
        resource.setName(r.name);
        resource.setProperties(wireProps.get(r.urn));
        resource.setOptions(optionsOf(r));
        resource.setParent(r.parent);
        resource.setDependenciesList([...(r.dependencies ?? [])]);
        const deps = resource.getPropertydependenciesMap();
        for (const [prop, urns] of Object.entries(r.propertyDependencies ?? {})) {
          if (urns.length === 0) continue;
          const list = new analyzerProto.AnalyzerPropertyDependencies();
          list.setUrnsList([...urns]);
          deps.set(prop, list);
        }
        return resource;
      }),
    );
    collect(await unary(this.client, "analyzeStack", stackRequest, this.callTimeoutMs), stackUrn);
    return violations;
  }

  /** `configure` then `analyze`. */
  async evaluate(resources: readonly PlannedResource[], config: PolicyPackConfig, options: { only?: readonly string[]; stackUrn?: string } = {}): Promise<Violation[]> {
    await this.configure(config, options.only);
    return this.analyze(resources, options);
  }

  /** What the pack printed on stderr so far. */
  get diagnostics(): string {
    return this.stderr();
  }

  /** Kills the pack at once (synchronous: safe in an `exit` handler). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  /** Stops the pack (as the engine does when the update ends) and the stand-in engine. */
  async close(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    this.engine.forceShutdown();
  }
}
