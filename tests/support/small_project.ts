/**
 * A small Go project for fast end-to-end tests: three tiny modules for a GOPROXY tree, a main
 * module requiring them with the go.sum `go mod tidy` writes (build its sandbox with
 * `makeSandbox` of sandbox.ts), and probes of what the cache holds for one module version.
 *
 * @module
 */

import { join } from "node:path";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { goEnv, makeMainModule, makeWritable, tempDir } from "./go.ts";
import { type ModuleSpec, writeProxyTree } from "./modules.ts";
import { serveProxy } from "./proxy_server.ts";

/** Three tiny modules: a plain one, one with upper case in path and version, and a `/v2`. */
export const SMALL_MODULES: ModuleSpec[] = [
  { path: "example.com/alpha", version: "v1.0.0" },
  { path: "example.com/Beta", version: "v1.1.0-RC1" },
  { path: "example.com/gamma/v2", version: "v2.0.0" },
];

/** The module of {@linkcode SMALL_MODULES} that fault-injection tests pick on. */
export const ALPHA: { path: string; version: string } = SMALL_MODULES[0];

/** The files of a main module, by name. */
export type ProjectFiles = Record<string, string>;

/**
 * Makes a main module requiring and importing every module of {@linkcode SMALL_MODULES}, runs
 * `go mod tidy` on it against a throwaway proxy, and returns its files (go.mod, go.sum,
 * main.go). Call it once per test file and write the result into each test's project.
 *
 * @example
 * ```ts
 * const PROJECT = await tidySmallProject();
 * ```
 */
export async function tidySmallProject(): Promise<ProjectFiles> {
  const tmp = await tempDir("goprefetch-tidy-");
  try {
    await writeProxyTree(join(tmp, "proxy"), SMALL_MODULES);
    const proxy = await serveProxy(join(tmp, "proxy"));
    const project = join(tmp, "project");
    await Deno.mkdir(project);
    try {
      await makeMainModule(project, {
        requires: SMALL_MODULES,
        imports: SMALL_MODULES.map((m) => m.path),
        env: goEnv({ home: tmp, gomodcache: join(tmp, "cache"), goproxy: proxy.url }),
      });
    } finally {
      await proxy.close();
    }
    const files: ProjectFiles = {};
    for (const name of ["go.mod", "go.sum", "main.go"]) {
      files[name] = await Deno.readTextFile(join(project, name));
    }
    return files;
  } finally {
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

/** What the cache holds for one module version: which of go's files exist. */
export interface ModuleFiles {
  /** The extracted directory `<path>@<version>`. */
  dir: boolean;
  /** The names in `cache/download/<path>/@v` that belong to this version, sorted. */
  download: string[];
}

/**
 * Lists what `gomodcache` holds for `path@version`: whether the extracted directory exists and
 * which files of its `@v` directory start with the escaped version (`.info`, `.mod`, `.zip`,
 * `.ziphash`, `.lock`, `.partial`, temp files).
 *
 * @example
 * ```ts
 * const files = await moduleFiles(cache, "example.com/alpha", "v1.0.0");
 * assert.deepEqual(files.download, ["v1.0.0.info", "v1.0.0.lock", "v1.0.0.mod", ...]);
 * ```
 */
export async function moduleFiles(
  gomodcache: string,
  path: string,
  version: string,
): Promise<ModuleFiles> {
  const ep = escapePath(path);
  const ev = escapeVersion(version);
  const dir = await Deno.lstat(join(gomodcache, `${ep}@${ev}`)).then(
    (i) => i.isDirectory,
    () => false,
  );
  const download: string[] = [];
  try {
    for await (const e of Deno.readDir(join(gomodcache, "cache", "download", ep, "@v"))) {
      if (e.name.startsWith(`${ev}.`)) download.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { dir, download: download.sort() };
}

/**
 * The files go leaves for a module version `go mod download` fetched completely, as
 * {@linkcode moduleFiles} lists them.
 *
 * @example
 * ```ts
 * assert.deepEqual(await moduleFiles(cache, path, version), completeModule(version));
 * ```
 */
export function completeModule(version: string): ModuleFiles {
  const ev = escapeVersion(version);
  return {
    dir: true,
    download: ["info", "lock", "mod", "zip", "ziphash"].map((ext) => `${ev}.${ext}`),
  };
}

/**
 * Every regular file under `root`, as sorted paths relative to it; empty if `root` is missing.
 *
 * @example
 * ```ts
 * assert.deepEqual(await listFiles(cache), []);
 * ```
 */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(join(root, rel))) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else out.push(path);
    }
  };
  try {
    await walk("");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}
