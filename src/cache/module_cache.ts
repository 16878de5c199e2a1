/**
 * The layout of GOMODCACHE and the ways go writes into it: atomic `.info`/`.mod`
 * writes, the `list` file, the per-version `flock`, and go's completeness rule.
 *
 * @module
 */
import { join } from "node:path";
import type { GoModSource } from "../project/build_list.ts";
import { escapePath, escapeVersion } from "../module/module_path.ts";
import { canonicalVersion, sortVersions } from "../module/semver.ts";
import { sameBytes } from "../util/bytes.ts";
import { lockedRewrite, removeFile, tempName } from "../util/files.ts";

/** Every file and directory go uses for one module version. */
export interface ModulePaths {
  /** `$GOMODCACHE/cache/download/<escaped path>/@v`. */
  atV: string;
  /** `<atV>/<escaped version>`: add `.info`, `.mod`, `.zip`, `.ziphash`, `.lock`, `.partial`. */
  base: string;
  /** The extracted tree, `$GOMODCACHE/<escaped path>@<escaped version>`. */
  dir: string;
}

/** What the cache already holds for one module version. */
export interface CacheState {
  /**
   * The extracted tree is a directory not marked `.partial`: complete by go's `DownloadDir` if
   * `.ziphash` exists too. Only looked for beside a `.zip` or `.ziphash`.
   */
  tree: boolean;
  /** `<version>.ziphash`, trimmed of white space, or undefined when absent. */
  ziphash?: string;
  /** `<version>.zip` exists. */
  hasZip: boolean;
  /** `<version>.info` exists. */
  hasInfo: boolean;
  /** `<version>.mod` bytes, or undefined when absent. */
  mod?: Uint8Array;
}

/**
 * Paths of one module version in the cache rooted at `root` (GOMODCACHE).
 *
 * @example
 * ```ts
 * import { modulePaths } from "./module_cache.ts";
 * modulePaths("/home/me/go/pkg/mod", "github.com/BurntSushi/toml", "v1.3.2").dir;
 * // "/home/me/go/pkg/mod/github.com/!burnt!sushi/toml@v1.3.2"
 * ```
 */
export function modulePaths(root: string, path: string, version: string): ModulePaths {
  const ep = escapePath(path);
  const ev = escapeVersion(version);
  const atV = join(root, "cache", "download", ep, "@v");
  return { atV, base: join(atV, ev), dir: join(root, `${ep}@${ev}`) };
}

/**
 * Reads what the cache holds for a module version: one listing of the `@v` directory (on a
 * cold cache, one failed call), then the small `.mod` and `.ziphash` if listed, and a stat of
 * the tree beside a listed `.zip` or `.ziphash`.
 */
export function readCacheState(p: ModulePaths): CacheState {
  let names: Set<string>;
  try {
    names = new Set(Array.from(Deno.readDirSync(p.atV), (e) => e.name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { tree: false, hasZip: false, hasInfo: false };
    throw e;
  }
  const listed = (ext: string) => names.has(p.base.slice(p.atV.length + 1) + ext);
  const dir = (listed(".zip") || listed(".ziphash")) && !listed(".partial")
    ? orUndefined(() => Deno.statSync(p.dir))
    : undefined;
  const ziphash = listed(".ziphash")
    ? orUndefined(() => Deno.readTextFileSync(p.base + ".ziphash").trim())
    : undefined;
  const mod = listed(".mod") ? orUndefined(() => Deno.readFileSync(p.base + ".mod")) : undefined;
  return {
    tree: !!dir?.isDirectory,
    ziphash,
    hasZip: listed(".zip"),
    hasInfo: listed(".info"),
    mod,
  };
}

/**
 * Whether a trimmed `.ziphash` is well-formed by go's `isValidSum` (no NUL byte, the length of
 * an `h1:` hash). Go's `checkMod` rewrites a malformed one from the `.zip`.
 */
export function isValidZiphash(ziphash: string): boolean {
  return !ziphash.includes("\0") && ziphash.length === "h1:".length + 44;
}

/**
 * Whether a module's zip needs no work: go's `DownloadDir` finds the tree complete (a
 * directory, no `.partial`, a `.ziphash`), and go's `checkMod` need not rewrite `.ziphash` from
 * the `.zip`.
 */
export function zipComplete(state: CacheState): boolean {
  return state.tree && state.ziphash !== undefined && isValidZiphash(state.ziphash);
}

/** Whether go would consider the extracted tree complete (spec: `DownloadDir`). */
export function isDirComplete(p: ModulePaths): boolean {
  const stat = (path: string) => orUndefined(() => Deno.statSync(path));
  return !!stat(p.dir)?.isDirectory && !stat(p.base + ".partial") && !!stat(p.base + ".ziphash");
}

/**
 * Writes `file` as go's `writeDiskCache` does: a temp file `<name><N>.tmp` created
 * exclusively beside it, then renamed over the target. `mode` is masked by `umask`.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, umask: number): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  for (let attempt = 0;; attempt++) {
    const tmp = tempName(file);
    try {
      Deno.writeFileSync(tmp, bytes, { createNew: true, mode: 0o666 & ~umask });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists && attempt < 10000) continue;
      throw e;
    }
    try {
      Deno.renameSync(tmp, file);
    } catch (e) {
      removeFile(tmp);
      throw e;
    }
    return;
  }
}

/**
 * Rewrites `<atV>/list` as go's `rewriteVersionList` does, under an exclusive lock on
 * the file: every version with a `.mod`, whose escaped name is its own canonical form,
 * semver-sorted, one per line. The directory is listed once the lock is held, as go does, so
 * that two writers cannot each leave out the other's version.
 */
export async function rewriteVersionList(atV: string, umask: number): Promise<void> {
  await lockedRewrite(join(atV, "list"), 0o666 & ~umask, (old) => {
    const text = versionList(atV);
    return sameBytes(old, text) ? undefined : text;
  });
}

/** The `list` file's content for the `@v` directory `atV`, listed now (under the lock). */
function versionList(atV: string): Uint8Array {
  const versions: string[] = [];
  for (const entry of Deno.readDirSync(atV)) {
    if (!entry.name.endsWith(".mod")) continue;
    const v = entry.name.slice(0, -".mod".length);
    if (v !== "" && canonicalVersion(v) === v) versions.push(v);
  }
  return new TextEncoder().encode(sortVersions(versions).map((v) => v + "\n").join(""));
}

/**
 * Takes go's per-version lock: an exclusive `flock` on `<version>.lock`, the file go's
 * `lockedfile.MutexAt` uses. Closing the returned file releases it.
 */
export async function lockVersion(p: ModulePaths, umask: number): Promise<Deno.FsFile> {
  const file = Deno.openSync(p.base + ".lock", {
    read: true,
    write: true,
    create: true,
    mode: 0o666 & ~umask,
  });
  try {
    await file.lock(true);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/** `read()`, or undefined when the file is not there (or its directory is not one). */
function orUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
}

/**
 * The go.mod files the build list reads: a module version's `.mod` in the cache at `root`, and
 * the `go.mod` of a replacement directory; undefined where there is none.
 *
 * @example
 * ```ts
 * const list = computeBuildList(input, cachedGoMods("/home/ci/go/pkg/mod"));
 * ```
 */
export function cachedGoMods(root: string): GoModSource {
  const read = (file: string) => {
    try {
      return Deno.readTextFileSync(file);
    } catch {
      return undefined;
    }
  };
  return {
    module: (m) => read(modulePaths(root, m.path, m.version).base + ".mod"),
    dir: (dir) => read(join(dir, "go.mod")),
  };
}
