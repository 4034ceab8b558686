/**
 * Static checks of the automation service's image recipe and of the CI workflow that builds it (no
 * container runtime here): the CLI and plugin versions equal what package-lock.json's SDKs need,
 * the base is pinned, the service runs as non-root with only /work writable, the entry point is the
 * service, and the workflow scans before it pushes with provenance.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "./support/stacks";

const read = (f: string) => fs.readFileSync(path.join(repoRoot, f), "utf8");
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version: string; dev?: boolean }> };
const locked = (name: string) => lock.packages[`node_modules/${name}`]!.version;

/** Dockerfile instructions with continuation lines joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

describe("automation image (Dockerfile, static)", () => {
  const dockerfile = instructions(read("Dockerfile"));
  const froms = dockerfile.filter((i) => i.op === "FROM").map((i) => i.args.split(/\s+/)[0]!);
  const stages = dockerfile.reduce<{ op: string; args: string }[][]>((acc, i) => (i.op === "FROM" ? [...acc, [i]] : (acc.at(-1)!.push(i), acc)), []);
  const final = stages.at(-1)!;
  const finalEnv = final.filter((i) => i.op === "ENV").map((i) => i.args).join(" ");

  it("is multi-stage on the official Pulumi Node.js 24 image, pinned to the CLI version of @pulumi/pulumi in the lockfile", () => {
    assert.ok(froms.length >= 2, "multi-stage");
    const cli = locked("@pulumi/pulumi");
    assert.equal(cli, "3.276.0");
    for (const f of froms) {
      assert.match(f, /^pulumi\/pulumi-nodejs-24:(\d+\.\d+\.\d+)(@sha256:[a-f0-9]{64})?$/, `base ${f}: the official image, pinned by version tag (and optionally digest)`);
      assert.equal(/:(\d+\.\d+\.\d+)/.exec(f)![1], cli, `base ${f}: the CLI must match @pulumi/pulumi ${cli}`);
    }
    // The build fails on a base whose Node.js or CLI is not the expected one.
    assert.ok(final.some((i) => i.op === "RUN" && /node --version \| grep -q '\^v24\\\.'/.test(i.args)), "asserts Node.js 24 at build time");
    assert.ok(final.some((i) => i.op === "RUN" && i.args.includes(`pulumi version | grep -qx 'v${cli}'`)), "asserts the CLI version at build time");
  });

  it("pre-installs exactly the provider plugins of the lockfile's SDKs, found on PATH; no download at run time", () => {
    const installs = [...read("Dockerfile").matchAll(/pulumi plugin install resource ([a-z-]+) (\S+)/g)].map((m) => [m[1]!, m[2]!]);
    const expected = ["aws", "kubernetes", "eks"].map((p) => [p, locked(`@pulumi/${p}`)]);
    assert.deepEqual(installs.sort(), expected.sort());
    // Each SDK names its plugin version in its package.json (pulumi.version): the same numbers.
    for (const [name, version] of expected) {
      const pkg = JSON.parse(read(`node_modules/@pulumi/${name}/package.json`)) as { pulumi: { name: string; version: string } };
      assert.equal(pkg.pulumi.version, version, `@pulumi/${name} requires plugin ${pkg.pulumi.name} ${pkg.pulumi.version}`);
      assert.ok(finalEnv.includes(`/opt/pulumi/plugins/resource-${name}-v${version}`), `plugin ${name} v${version} on PATH`);
    }
    assert.match(finalEnv, /PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true/);
    // The policy pack and program are in the image, with the workspace's dependencies.
    for (const dir of ["policies", "automation", "components", "lib"]) assert.ok(final.some((i) => i.op === "COPY" && i.args === `${dir} ./${dir}`), `COPY ${dir}`);
  });

  it("installs production dependencies only, plus the TypeScript runtime at the lockfile's versions", () => {
    const run = dockerfile.filter((i) => i.op === "RUN").map((i) => i.args).join("\n");
    assert.match(run, /npm ci --omit=dev/);
    const extra = /npm install --no-save[^&]*?((?:\S+@\d\S*\s*)+)/.exec(run)![1]!.trim().split(/\s+/);
    for (const spec of extra) {
      const at = spec.lastIndexOf("@");
      const name = spec.slice(0, at);
      assert.equal(spec.slice(at + 1), locked(name), `${name}: the lockfile's version`);
    }
    assert.deepEqual(extra.map((s) => s.slice(0, s.lastIndexOf("@"))).sort(), ["ts-node", "tsx", "typescript"]);
  });

  it("runs as a non-root user with PULUMI_HOME, HOME and the workspace on the /work volume, TMPDIR on /tmp", () => {
    const user = final.filter((i) => i.op === "USER").at(-1)?.args;
    assert.equal(user, "10001:10001");
    for (const v of ["PULUMI_HOME=/work/", "HOME=/work/", "TMPDIR=/tmp", "AUTOMATION_WORK_DIR=/work"]) assert.ok(finalEnv.includes(v), v);
    assert.ok(final.some((i) => i.op === "VOLUME" && i.args.includes('"/work"')));
    // The component mounts the volume there and keeps the root filesystem read-only.
    const component = read("components/automationService.ts");
    assert.match(component, /mountPath: workDir/);
    assert.match(component, /const workDir = "\/work"/);
    assert.match(component, /readOnlyRootFilesystem: true/);
    assert.match(component, /runAsUser: 10001/);
  });

  it("the entry point is the service (node directly, so SIGTERM reaches it)", () => {
    const entry = final.filter((i) => i.op === "ENTRYPOINT").at(-1)!.args;
    assert.deepEqual(JSON.parse(entry), ["node", "--import", "tsx", "scripts/automation.ts"]);
    assert.ok(fs.existsSync(path.join(repoRoot, "scripts/automation.ts")));
  });

  it(".dockerignore admits only what the Dockerfile copies (no state, plans or keys)", () => {
    const ignore = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    assert.equal(ignore[0], "**");
    for (const deny of ["**/.pulumi", "**/node_modules", "**/*.pem", "**/.env"]) assert.ok(ignore.includes(deny), deny);
    const copied = dockerfile.filter((i) => i.op === "COPY" && !i.args.startsWith("--from")).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const src of copied) assert.ok(ignore.some((p) => p === `!${src}` || p === `!${src}/` || (p.endsWith("/") && src.startsWith(p.slice(1)))), `${src} is copied: it must be admitted by .dockerignore`);
  });
});

describe("automation image workflow (.github/workflows/automation-image.yml, static)", () => {
  const wf = parseYaml(read(".github/workflows/automation-image.yml")) as { permissions: Record<string, string>; jobs: Record<string, { needs?: string; permissions?: Record<string, string>; steps: { uses?: string; run?: string; with?: Record<string, unknown>; if?: string; name?: string }[] }> };
  const steps = wf.jobs.image!.steps;
  const index = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);

  it("tests first, then builds, scans before pushing, and pushes with provenance and an SBOM", () => {
    assert.deepEqual(wf.permissions, { contents: "read" });
    assert.equal(wf.jobs.image!.needs, "test");
    assert.ok(wf.jobs.test!.steps.some((s) => s.run === "npm test"));
    const build = index((s) => s.uses?.startsWith("docker/build-push-action@") === true && s.with?.load === true);
    const scan = index((s) => s.uses?.startsWith("aquasecurity/trivy-action@") === true);
    const push = index((s) => s.uses?.startsWith("docker/build-push-action@") === true && s.with?.push === true);
    assert.ok(build >= 0 && build < scan && scan < push, `build ${build} < scan ${scan} < push ${push}`);
    assert.equal(steps[scan]!.with!["exit-code"], "1", "a finding fails the job");
    assert.equal(steps[push]!.with!.provenance, "mode=max");
    assert.equal(steps[push]!.with!.sbom, true);
    assert.ok(steps.some((s) => s.uses?.startsWith("actions/attest-build-provenance@")));
    assert.equal(wf.jobs.image!.permissions!["id-token"], "write");
    // Pull requests build and scan, never push.
    for (const s of steps.slice(push)) if (s.uses || s.run) assert.match(String(s.if), /pull_request/, `${s.name}: not on pull requests`);
    // Every action pinned to a version.
    for (const s of [...steps, ...wf.jobs.test!.steps]) if (s.uses) assert.match(s.uses, /@v?\d/, s.uses);
  });
});
