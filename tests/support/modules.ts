/**
 * Generated Go modules laid out as a GOPROXY tree on disk, and the standard module set that the
 * oracle tests download with both the go command and goprefetch.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";

/** One module version to publish in a proxy tree; paths and versions are unescaped. */
export interface ModuleSpec {
  /** The module path, e.g. `example.com/Upper/v2`. */
  path: string;
  /** The version, e.g. `v2.1.0-RC1`. */
  version: string;
  /**
   * The go.mod contents (default `module <path>\n\ngo 1.21\n`). `null` leaves go.mod out of the
   * zip and serves the synthetic `module <path>\n` as the `.mod`, as proxies do for
   * `+incompatible` versions.
   */
  goMod?: string | null;
  /** Relative file path to contents (default: one `.go` file from {@linkcode goModuleSource}). */
  files?: Record<string, string | Uint8Array>;
  /**
   * Also write explicit directory entries, the root's included. They change the zip's h1 but not
   * the extracted directory's, so `go mod verify` then reports "dir has been modified".
   */
  directoryEntries?: boolean;
  /** The `.info` Time (default `2024-01-02T03:04:05Z`). */
  time?: string;
  /** An Origin object for the `.info`, omitted when undefined. */
  origin?: unknown;
}

const DEFAULT_TIME = "2024-01-02T03:04:05Z";
const ZIP_DATE = new Date(DEFAULT_TIME);
const encoder = new TextEncoder();

/**
 * A tiny Go source file declaring package `pkgName` with an exported `Path` function, so that
 * the package can be imported and built.
 *
 * @example
 * ```ts
 * goModuleSource("example.com/lib", "lib"); // "package lib\n..."
 * ```
 */
export function goModuleSource(path: string, pkgName: string): string {
  return `// Package ${pkgName} is generated for goprefetch tests.
package ${pkgName}

// Path returns the import path this package was generated for.
func Path() string { return ${JSON.stringify(path)} }
`;
}

/**
 * Writes `modules` under `root` in GOPROXY layout with literal `!` escapes:
 * `<escpath>/@v/<escver>.{info,mod,zip}` plus `<escpath>/@v/list` naming every version of the
 * path, one per line, in the order given. The `.info` is compact JSON plus a newline.
 *
 * @example
 * ```ts
 * await writeProxyTree(root, [{ path: "example.com/Upper", version: "v1.0.0-RC1" }]);
 * // root/example.com/!upper/@v/v1.0.0-!r!c1.zip, .info, .mod and list
 * ```
 */
export async function writeProxyTree(root: string, modules: ModuleSpec[]): Promise<void> {
  const lists = new Map<string, string[]>();
  for (const spec of modules) {
    const dir = join(root, escapePath(spec.path), "@v");
    const base = join(dir, escapeVersion(spec.version));
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${base}.info`, infoJson(spec));
    await Deno.writeTextFile(`${base}.mod`, goModOf(spec) ?? `module ${spec.path}\n`);
    await Deno.writeFile(`${base}.zip`, await moduleZip(spec));
    lists.set(dir, [...lists.get(dir) ?? [], spec.version]);
  }
  for (const [dir, versions] of lists) {
    await Deno.writeTextFile(join(dir, "list"), versions.map((v) => `${v}\n`).join(""));
  }
}

/** The go.mod in the zip, or null for none. */
function goModOf(spec: ModuleSpec): string | null {
  return spec.goMod === undefined ? `module ${spec.path}\n\ngo 1.21\n` : spec.goMod;
}

function infoJson(spec: ModuleSpec): string {
  const info = { Version: spec.version, Time: spec.time ?? DEFAULT_TIME, Origin: spec.origin };
  return JSON.stringify(info) + "\n";
}

/** The package name `goModuleSource` gets by default: the last non-`vN` path element. */
function defaultPackageName(path: string): string {
  const elems = path.split("/").filter((e) => !/^v[0-9]+$/.test(e));
  const name = elems[elems.length - 1].toLowerCase().replace(/[^a-z0-9_]/g, "");
  return /^[a-z_]/.test(name) ? name : `p${name}`;
}

function moduleFiles(spec: ModuleSpec): Map<string, Uint8Array> {
  const pkg = defaultPackageName(spec.path);
  const files = spec.files ?? { [`${pkg}.go`]: goModuleSource(spec.path, pkg) };
  const out = new Map<string, Uint8Array>();
  const goMod = goModOf(spec);
  if (goMod !== null) out.set("go.mod", encoder.encode(goMod));
  for (const [name, data] of Object.entries(files)) {
    out.set(name, typeof data === "string" ? encoder.encode(data) : data);
  }
  return out;
}

async function moduleZip(spec: ModuleSpec): Promise<Uint8Array> {
  const prefix = `${spec.path}@${spec.version}/`;
  const files = moduleFiles(spec);
  const dirs = new Set<string>();
  if (spec.directoryEntries) {
    for (const name of files.keys()) {
      for (let d = dirname(name); d !== "."; d = dirname(d)) dirs.add(`${d}/`);
    }
    dirs.add("");
  }
  const names = [...dirs, ...files.keys()].sort();
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    level: 6,
    lastModDate: ZIP_DATE,
  });
  for (const name of names) {
    const data = files.get(name);
    if (data === undefined) {
      await writer.add(prefix + name, undefined, { directory: true });
    } else {
      await writer.add(prefix + name, new Uint8ArrayReader(data));
    }
  }
  return await writer.close();
}

/** `n` deterministic, incompressible bytes (xorshift32 output). */
function noiseBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

function withSource(
  path: string,
  pkg: string,
  files: Record<string, string | Uint8Array>,
): Record<string, string | Uint8Array> {
  return { [`${pkg}.go`]: goModuleSource(path, pkg), ...files };
}

function manyFiles(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(3, "0");
    files[`d${i % 3}/f${n}.txt`] = `file ${n}\n`;
  }
  return files;
}

/**
 * The module versions the oracle tests publish: upper-case path and version, a `/v2` module,
 * `+incompatible` without go.mod, a pseudo-version, a `go 1.16` module whose requirement shows
 * up in go.sum only as a `/go.mod` line, nested packages, 300 small files, a 3 MiB
 * incompressible file, empty files and odd file names. The contents are deterministic, so every
 * call yields identical zips. No module has directory entries, so `go mod verify` passes.
 *
 * @example
 * ```ts
 * await writeProxyTree(root, standardModuleSet());
 * ```
 */
export function standardModuleSet(): ModuleSpec[] {
  return [
    {
      path: "example.com/Upper",
      version: "v1.0.0-RC1",
      goMod: "module example.com/Upper\n\ngo 1.20\n\nrequire example.com/pruned v1.0.0\n",
      time: "2024-01-02T05:04:05.120000+02:00",
    },
    { path: "example.com/vtwo/v2", version: "v2.1.0" },
    { path: "example.com/old", version: "v3.0.0+incompatible", goMod: null },
    { path: "example.com/pseudo", version: "v0.0.0-20240102030405-abcdefabcdef" },
    {
      path: "example.com/lib",
      version: "v1.2.0",
      goMod: "module example.com/lib\n\ngo 1.16\n\nrequire example.com/deep v0.1.0\n",
      origin: {
        VCS: "git",
        URL: "https://example.com/lib",
        Hash: "0123456789abcdef0123456789abcdef01234567",
        Ref: "refs/tags/v1.2.0",
      },
    },
    { path: "example.com/deep", version: "v0.1.0", goMod: "module example.com/deep\n\ngo 1.16\n" },
    {
      path: "example.com/pruned",
      version: "v1.0.0",
      goMod: "module example.com/pruned\n\ngo 1.21\n",
    },
    {
      path: "example.com/nested",
      version: "v1.1.0",
      files: withSource("example.com/nested", "nested", {
        "a/a.go": goModuleSource("example.com/nested/a", "a"),
        "a/b/c/c.go": goModuleSource("example.com/nested/a/b/c", "c"),
        "a/b/c/testdata/input.txt": "input\n",
        "internal/util/util.go": goModuleSource("example.com/nested/internal/util", "util"),
      }),
    },
    {
      path: "example.com/many",
      version: "v1.0.0",
      files: withSource("example.com/many", "many", manyFiles(300)),
    },
    {
      path: "example.com/big",
      version: "v1.0.0",
      files: withSource("example.com/big", "big", { "blob.bin": noiseBytes(3 << 20, 42) }),
    },
    {
      path: "example.com/odd",
      version: "v1.0.0",
      files: withSource("example.com/odd", "odd", {
        "empty.txt": "",
        "data/empty/zero": new Uint8Array(0),
        "data/name with space.txt": "spaces\n",
        "data/ñandú.txt": "ñandú\n",
        "données/été.txt": "été\n",
        "data/bytes.bin": new Uint8Array([0, 1, 2, 255, 254, 10, 13]),
      }),
    },
  ];
}

/**
 * How goprefetch's cache differs from `go mod download`'s (`diffTrees(a, b)`): goprefetch also
 * writes the `.info` of two modules in the build list `go list -m all` prints: `deep`, which
 * go.sum names only by its go.mod (required by `lib`, at go 1.16, so not pruned), and `pruned`,
 * which go.sum does not name at all (required by `Upper`, at go 1.20, whose requirements go
 * lists without loading their go.mod).
 */
export const BUILD_LIST_ONLY_INFO: string[] = [
  "cache/download/example.com/deep/@v/v0.1.0.info: only in b (file)",
  "cache/download/example.com/pruned: only in b (dir)",
  "cache/download/example.com/pruned/@v: only in b (dir)",
  "cache/download/example.com/pruned/@v/v1.0.0.info: only in b (file)",
];

/** What the main module of the oracle tests requires: every standard module but the go.mod-only one. */
export const STANDARD_REQUIRES: { path: string; version: string }[] = [
  { path: "example.com/Upper", version: "v1.0.0-RC1" },
  { path: "example.com/vtwo/v2", version: "v2.1.0" },
  { path: "example.com/old", version: "v3.0.0+incompatible" },
  { path: "example.com/pseudo", version: "v0.0.0-20240102030405-abcdefabcdef" },
  { path: "example.com/lib", version: "v1.2.0" },
  { path: "example.com/nested", version: "v1.1.0" },
  { path: "example.com/many", version: "v1.0.0" },
  { path: "example.com/big", version: "v1.0.0" },
  { path: "example.com/odd", version: "v1.0.0" },
];

/** The packages the main module of the oracle tests imports, covering every required module. */
export const STANDARD_IMPORTS: string[] = [
  "example.com/Upper",
  "example.com/vtwo/v2",
  "example.com/old",
  "example.com/pseudo",
  "example.com/lib",
  "example.com/nested",
  "example.com/nested/a/b/c",
  "example.com/many",
  "example.com/big",
  "example.com/odd",
];
