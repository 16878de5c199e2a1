import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = join(import.meta.dirname!, "..");

/**
 * The folders of `src/`, lowest layer first: a file may import from its own folder and from the
 * folders before it, never from one after it. `cli.ts` and `mod.ts` sit on top; only `cli.ts`
 * imports `src/cli/`.
 */
const LAYERS = [
  "util",
  "module",
  "zip",
  "project",
  "goproxy",
  "sumdb",
  "cache",
  "engine",
  "cli",
];

/**
 * Every local `.ts` import of `file`: static (with or without bindings), export-from, dynamic,
 * and Worker URLs. Any string naming a relative `.ts` file after `from`, `import` or `new URL(`
 * counts, wherever it is, so that no form of import slips through.
 */
function localImports(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const found: string[] = [];
  const patterns = [
    /\bfrom\s+"(\.[^"]+\.ts)"/g,
    /\bimport\s*\(?\s*"(\.[^"]+\.ts)"/g,
    /\bnew URL\(\s*"(\.[^"]+\.ts)"/g,
  ];
  for (const pattern of patterns) {
    for (const m of text.matchAll(pattern)) found.push(join(dirname(file), m[1]));
  }
  return found;
}

function layerOf(file: string): string | undefined {
  const rel = relative(join(ROOT, "src"), file);
  if (rel.startsWith("..")) return undefined;
  return rel.split("/")[0];
}

function sourceFiles(): string[] {
  const files: string[] = [];
  for (const layer of Deno.readDirSync(join(ROOT, "src"))) {
    if (!layer.isDirectory) continue;
    for (const f of Deno.readDirSync(join(ROOT, "src", layer.name))) {
      if (f.name.endsWith(".ts")) files.push(join(ROOT, "src", layer.name, f.name));
    }
  }
  return files.sort();
}

Deno.test("layering: src/ is the known folders, each flat, with a README naming its files", () => {
  const entries = [...Deno.readDirSync(join(ROOT, "src"))];
  assert.deepEqual(entries.filter((e) => !e.isDirectory).map((e) => e.name), []);
  assert.deepEqual(entries.map((e) => e.name).sort(), [...LAYERS].sort());
  for (const layer of LAYERS) {
    const nested = [...Deno.readDirSync(join(ROOT, "src", layer))].filter((e) => !e.isFile);
    assert.deepEqual(nested.map((e) => e.name), [], `src/${layer}/ has only files`);
  }
  for (const layer of LAYERS) {
    const readme = Deno.readTextFileSync(join(ROOT, "src", layer, "README.md"));
    assert.match(readme, new RegExp(`^# src/${layer}/\\n\\n\\S`), `src/${layer}/README.md`);
    for (const f of Deno.readDirSync(join(ROOT, "src", layer))) {
      if (!f.name.endsWith(".ts")) continue;
      assert.ok(readme.includes(`\`${f.name}\``), `src/${layer}/README.md does not name ${f.name}`);
    }
  }
});

Deno.test("layering: no file imports from a higher layer", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles()) {
    const rank = LAYERS.indexOf(layerOf(file)!);
    for (const target of localImports(file)) {
      const layer = layerOf(target);
      if (layer === undefined || LAYERS.indexOf(layer) > rank) {
        wrong.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("layering: only cli.ts imports src/cli/", () => {
  const importers = [join(ROOT, "mod.ts"), join(ROOT, "cli.ts"), ...sourceFiles()]
    .filter((f) => layerOf(f) !== "cli")
    .filter((f) => localImports(f).some((t) => layerOf(t) === "cli"))
    .map((f) => relative(ROOT, f));
  assert.deepEqual(importers, ["cli.ts"]);
});

Deno.test("layering: the import reader sees every kind of import", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "a.ts");
    Deno.writeTextFileSync(
      file,
      [
        'import { a } from "./one.ts";',
        "import {",
        "  b, // a comment; with a semicolon",
        '} from "../two/three.ts";',
        'export { c } from "./four.ts";',
        'export * from "./seven.ts";',
        'import type { T } from "./eight.ts";',
        'import "./nine.ts";',
        'const d = await import("./five.ts");',
        'const j = await import("./ten.json.ts", { with: { type: "json" } });',
        'new Worker(new URL("./six.ts", import.meta.url), { type: "module" });',
        '// import { e } from "jsr:@std/path";',
      ].join("\n"),
    );
    assert.deepEqual(localImports(file).map((f) => relative(dir, f)).sort(), [
      "../two/three.ts",
      "eight.ts",
      "five.ts",
      "four.ts",
      "nine.ts",
      "one.ts",
      "seven.ts",
      "six.ts",
      "ten.json.ts",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
