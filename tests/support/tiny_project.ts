/**
 * Many generated modules and a main module that requires them all, with go.sum computed
 * here from the module contents (h1 of the zip entries and of the go.mod) instead of by
 * `go mod tidy`, which would take far longer for hundreds of modules.
 *
 * @module
 */

import { join } from "node:path";
import { hash1, hashGoMod, sha256Hex } from "../../src/zip/dirhash.ts";
import { goModuleSource, type ModuleSpec } from "./modules.ts";
import { mulberry32 } from "./fault_proxy.ts";

const encoder = new TextEncoder();

/**
 * `count` small modules with explicit contents: plain, upper-case and `/v2` paths, assorted
 * versions, one Go file each; `big` adds one module with `big.files` small files and
 * `big.bytes` incompressible bytes, so installs take measurable time.
 *
 * @example
 * ```ts
 * const specs = tinyModules(200, { big: { files: 100, bytes: 2 << 20 } });
 * ```
 */
export function tinyModules(
  count: number,
  opts: { big?: { files: number; bytes: number } } = {},
): ModuleSpec[] {
  const specs: ModuleSpec[] = [];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(3, "0");
    const path = i % 7 === 3
      ? `example.com/Tiny/M${n}`
      : i % 11 === 5
      ? `example.com/tiny/m${n}/v2`
      : `example.com/tiny/m${n}`;
    const version = path.endsWith("/v2") ? `v2.0.${i % 4}` : `v1.${i % 3}.${i % 5}`;
    specs.push({
      path,
      version,
      goMod: `module ${path}\n\ngo 1.21\n`,
      files: { [`m${n}.go`]: goModuleSource(path, `m${n}`) },
    });
  }
  if (opts.big) {
    const path = "example.com/tiny/big";
    const files: Record<string, string | Uint8Array> = {
      "big.go": goModuleSource(path, "big"),
      "blob.bin": noise(opts.big.bytes, 42),
    };
    for (let i = 0; i < opts.big.files; i++) files[`d${i % 4}/f${i}.txt`] = `file ${i}\n`;
    specs.push({ path, version: "v1.0.0", goMod: `module ${path}\n\ngo 1.21\n`, files });
  }
  return specs;
}

/**
 * The go.sum lines of `spec`: its zip's h1 and its go.mod's h1. The spec must give `goMod`
 * and `files` explicitly, since the zip's contents are hashed from them.
 */
export function goSumLines(spec: ModuleSpec): string[] {
  if (typeof spec.goMod !== "string" || spec.files === undefined) {
    throw new Error(`${spec.path}@${spec.version}: goSumLines needs explicit goMod and files`);
  }
  const contents: [string, string | Uint8Array][] = [
    ["go.mod", spec.goMod],
    ...Object.entries(spec.files),
  ];
  const h1 = hash1(contents.map(([name, data]) => ({
    name: `${spec.path}@${spec.version}/${name}`,
    sha256: sha256Hex(typeof data === "string" ? encoder.encode(data) : data),
  })));
  return [
    `${spec.path} ${spec.version} ${h1}`,
    `${spec.path} ${spec.version}/go.mod ${hashGoMod(encoder.encode(spec.goMod))}`,
  ];
}

/**
 * Writes a module in `dir` that requires and imports every module of `specs`: go.mod,
 * go.sum from {@linkcode goSumLines}, and deps.go, a library package rather than a main
 * one, so that `go build ./...` compiles the modules without compiling the runtime.
 *
 * @example
 * ```ts
 * await writeTinyProject(project, tinyModules(50));
 * ```
 */
export async function writeTinyProject(dir: string, specs: ModuleSpec[]): Promise<void> {
  const requires = specs.map((s) => `\t${s.path} ${s.version}\n`).join("");
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    `module example.com/main\n\ngo 1.21\n\nrequire (\n${requires})\n`,
  );
  const imports = specs.map((s) => `\t_ ${JSON.stringify(s.path)}\n`).join("");
  await Deno.writeTextFile(join(dir, "deps.go"), `package deps\n\nimport (\n${imports})\n`);
  const lines = specs.flatMap(goSumLines).sort();
  await Deno.writeTextFile(join(dir, "go.sum"), lines.map((l) => l + "\n").join(""));
}

function noise(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() * 256;
  return out;
}
