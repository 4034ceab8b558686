/**
 * The shape of the house (issue 12): lib/ is the ground floor and imports nothing from the floors
 * above it (policies/, components/, automation/), and no file in components/ grows past 600 lines.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const upperFloors = ["policies", "components", "automation"];
const maxComponentLines = 600;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : tsFiles(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

/** Every module specifier of a TypeScript file: import/export ... from, bare import, require(), import(). */
export function moduleSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
}

/** The top-level folder of the repository a relative specifier reaches, or undefined for packages. */
function floorOf(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = path.relative(root, path.resolve(path.dirname(file), specifier));
  return target.split(path.sep)[0];
}

describe("the house", () => {
  it("finds the imports it checks (the scanner itself)", () => {
    const specs = moduleSpecifiers(
      'import { a } from "../../policies/lib";\nimport type {\n  B,\n} from "./b";\nexport { c } from "../c";\nconst d = require("../../automation/d");\nimport "./side";\nconst e = await import("../e");',
    );
    assert.deepEqual(specs.sort(), ["../../automation/d", "../../policies/lib", "../c", "../e", "./b", "./side"].sort());
    assert.equal(floorOf(path.join(root, "lib", "scaling", "x.ts"), "../../policies/lib"), "policies");
    assert.equal(floorOf(path.join(root, "lib", "scaling", "x.ts"), "../catalog/services"), "lib");
  });

  it("nothing in lib/ imports from policies/, components/ or automation/", () => {
    const files = tsFiles(path.join(root, "lib"));
    assert.ok(files.length > 30, `expected lib/ to hold TypeScript files, found ${files.length}`);
    const offenders = files.flatMap((file) =>
      moduleSpecifiers(fs.readFileSync(file, "utf8"))
        .filter((spec) => upperFloors.includes(floorOf(file, spec) ?? ""))
        .map((spec) => `${path.relative(root, file)} imports "${spec}"`),
    );
    assert.deepEqual(offenders, [], `lib/ must not import from ${upperFloors.join("/, ")}/:\n${offenders.join("\n")}`);
  });

  it(`no file in components/ is over ${maxComponentLines} lines`, () => {
    const files = tsFiles(path.join(root, "components"));
    assert.ok(files.length > 10, `expected components/ to hold TypeScript files, found ${files.length}`);
    const tooLong = files
      .map((file) => ({ file: path.relative(root, file), lines: fs.readFileSync(file, "utf8").split("\n").length - 1 }))
      .filter((f) => f.lines > maxComponentLines)
      .map((f) => `${f.file}: ${f.lines} lines (at most ${maxComponentLines} allowed)`);
    assert.deepEqual(tooLong, [], tooLong.join("\n"));
  });
});
