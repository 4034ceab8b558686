/**
 * `npm run policy:bundle [-- --out <dir>]` (default out/policy-pack): the policy pack as one
 * self-contained folder that `pulumi policy publish <dir>` accepts. The pack's sources import the
 * shared model of the platform (../lib: catalog, scaling math, cost model, price catalog), which a
 * publish of `policies/` alone would leave behind; the bundle inlines it into `index.js` and keeps
 * the Pulumi SDKs as the pack's own dependencies (versions from policies/package.json).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const repoRoot = path.resolve(__dirname, "..");
const packDir = path.join(repoRoot, "policies");

/** Writes PulumiPolicy.yaml, package.json and the bundled index.js to `outDir`; returns the files. */
export async function bundlePolicyPack(outDir: string): Promise<string[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")) as { name: string; version: string; description: string; dependencies: Record<string, string> };
  fs.mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(packDir, "index.ts")],
    outfile: path.join(outDir, "index.js"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // The SDKs stay dependencies: @pulumi/policy must share @pulumi/pulumi's gRPC stubs at run time.
    external: Object.keys(manifest.dependencies),
    logLevel: "warning",
    legalComments: "none",
  });
  fs.copyFileSync(path.join(packDir, "PulumiPolicy.yaml"), path.join(outDir, "PulumiPolicy.yaml"));
  const bundled = { name: manifest.name, version: manifest.version, description: manifest.description, main: "index.js", dependencies: manifest.dependencies };
  fs.writeFileSync(path.join(outDir, "package.json"), JSON.stringify(bundled, null, 2) + "\n");
  return ["PulumiPolicy.yaml", "package.json", "index.js"].map((f) => path.join(outDir, f));
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: "string" } }, strict: true });
  const out = path.resolve(values.out ?? path.join(repoRoot, "out", "policy-pack"));
  const files = await bundlePolicyPack(out);
  console.log(`policy pack bundled into ${path.relative(process.cwd(), out)}: ${files.map((f) => path.basename(f)).join(", ")}`);
  console.log(`publish it with: (cd ${path.relative(process.cwd(), out)} && npm install) && pulumi policy publish ${path.relative(process.cwd(), out)}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
