/**
 * The checks Go's `golang.org/x/mod/zip` `CheckZip`/`Unzip` apply to a module zip, run on the
 * central directory alone so that a bad zip is rejected before anything is written.
 *
 * @module
 */

import { ModuleError } from "../module/module_error.ts";
import { checkFilePath, checkModule } from "../module/module_path.ts";
import { canonicalVersion } from "../module/semver.ts";
import type { ZipEntry } from "./zip_reader.ts";

/** Maximum size of a module zip file, and of the sum of its declared uncompressed sizes. */
export const MAX_ZIP_FILE = 500 * 1024 * 1024;
/** Maximum declared size of the root `go.mod`. */
export const MAX_GO_MOD = 16 * 1024 * 1024;
/** Maximum declared size of the root `LICENSE`. */
export const MAX_LICENSE = 16 * 1024 * 1024;

/** Short identifiers of the rules, as found in {@linkcode ZipRuleError.rule}. */
export type ZipRule =
  | "non-canonical-version"
  | "invalid-module"
  | "zip-too-large"
  | "path-prefix"
  | "unclean-path"
  | "invalid-utf8"
  | "invalid-file-path"
  | "case-collision"
  | "file-dir-collision"
  | "duplicate-file"
  | "symlink"
  | "go-mod-not-at-root"
  | "go-mod-case"
  | "size-limit";

/** A module zip breaks one of the rules; `rule` says which. */
export class ZipRuleError extends ModuleError {
  override name = "ZipRuleError";
  /** The rule that was broken. */
  readonly rule: ZipRule;

  /** Creates the error for `path@version`; the detail gets a ` (rule <rule>)` suffix. */
  constructor(rule: ZipRule, path: string, version: string, detail: string) {
    super(path, version, `${detail} (rule ${rule})`);
    this.rule = rule;
  }
}

/** A central-directory entry that passed the rules, with its path inside the module. */
export interface PlannedEntry {
  /** The entry as read from the central directory. */
  entry: ZipEntry;
  /** The name after `path@version/`, without a trailing slash; "" for the bare prefix entry. */
  relPath: string;
  /** True for directory entries (names ending in "/"), including the bare prefix entry. */
  isDirectory: boolean;
}

const quote = (s: string): string => JSON.stringify(s);

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const CREATOR_UNIX = 3;
const CREATOR_MACOS = 19;

/** True if the entry's external attributes carry a Unix mode that is a symbolic link. */
function isSymlink(entry: ZipEntry): boolean {
  const creator = entry.creatorVersion >> 8;
  if (creator !== CREATOR_UNIX && creator !== CREATOR_MACOS) return false;
  return ((entry.externalAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

/** Whether `p` equals Go's `path.Clean(p)`. */
function isClean(p: string): boolean {
  if (p === "." || p === "/") return true;
  const rooted = p.startsWith("/");
  let leadingDotDot = !rooted;
  for (const part of (rooted ? p.slice(1) : p).split("/")) {
    if (part === "" || part === ".") return false;
    if (part === "..") {
      if (!leadingDotDot) return false;
    } else {
      leadingDotDot = false;
    }
  }
  return true;
}

function isOneCodePoint(s: string): boolean {
  return s.length === 1 || (s.length === 2 && s.codePointAt(0)! > 0xffff);
}

/** Folds one code point; approximates Go's `unicode.SimpleFold` orbits with JS case mapping. */
function foldRune(ch: string): string {
  // Dotless i upper-cases to I, but Unicode's simple case folding keeps them apart.
  if (ch === "\u0131") return ch;
  const upper = ch.toUpperCase();
  const base = isOneCodePoint(upper) ? upper : ch;
  const lower = base.toLowerCase();
  return isOneCodePoint(lower) ? lower : base;
}

/**
 * A key such that two paths collide under Go's `strings.EqualFold` when their keys are
 * equal (Go's `strToFold`), using per-code-point simple case mappings.
 */
function foldKey(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (const ch of s.slice(i)) out += ch.charCodeAt(0) < 0x80 ? ch.toLowerCase() : foldRune(ch);
  return out;
}

/**
 * Checks that a module zip's central directory satisfies the rules of Go's `CheckZip` and
 * `Unzip` (x/mod `zip`), and returns the entries with their module-relative paths, in
 * central-directory order. Nothing is read beyond the directory: sizes are the declared ones,
 * and the inflated size is enforced later by the zip reader.
 *
 * The rules: the version is canonical and fits the module path (`module.Check`); the zip is at
 * most {@linkcode MAX_ZIP_FILE} bytes; every name starts with `path@version/`; after the prefix,
 * the name (minus a trailing "/" for directories) is clean, valid UTF-8 and a valid file path;
 * no two paths are equal under case folding, no path is both a file and a directory (parents
 * included) and no file appears twice; a `go.mod` (any case) file appears only at the root,
 * spelled `go.mod`; declared sizes stay within {@linkcode MAX_ZIP_FILE} in total and
 * {@linkcode MAX_GO_MOD}/{@linkcode MAX_LICENSE} for the root `go.mod`/`LICENSE`.
 *
 * One rule is goprefetch's own and stricter than Go: a file entry whose external attributes
 * mark a symbolic link (Unix or macOS creator, `S_IFLNK` mode) is rejected with rule
 * `symlink`. Go's `Unzip` would write the link target as a regular file; Go never puts
 * symlinks in the zips it creates, so a symlink entry means the zip was not made by Go.
 *
 * Like Go, a size-limit error on the total takes precedence; otherwise the first broken rule
 * in directory order is reported.
 *
 * @throws {ZipRuleError} e.g. `example.com/m@v1.0.0: zip entry "a/../b": path is not clean
 * (rule unclean-path)`.
 * @example
 * ```ts
 * const src = bytesSource(zipBytes);
 * const planned = checkZipEntries("example.com/m", "v1.0.0", src.size, readCentralDirectory(src));
 * for (const { entry, relPath, isDirectory } of planned) {
 *   if (!isDirectory) Deno.writeFileSync(`${dir}/${relPath}`, inflateEntry(src, entry));
 * }
 * ```
 */
export function checkZipEntries(
  modulePath: string,
  version: string,
  zipSize: number,
  entries: ZipEntry[],
): PlannedEntry[] {
  checkModuleZip(modulePath, version, zipSize);
  const checker = new EntryChecker(modulePath, version);
  const planned: PlannedEntry[] = [];
  let firstError: ZipRuleError | undefined;
  for (const entry of entries) {
    const result = checker.plan(entry);
    if (result instanceof ZipRuleError) firstError ??= result;
    else planned.push(result);
  }
  const error = checker.sizeError ?? firstError;
  if (error !== undefined) throw error;
  return planned;
}

/** The rules on the module version and the zip's size, before any entry is looked at. */
function checkModuleZip(modulePath: string, version: string, zipSize: number): void {
  const canonical = canonicalVersion(version);
  if (canonical !== version) {
    throw new ZipRuleError(
      "non-canonical-version",
      modulePath,
      version,
      `version ${quote(version)} is not canonical (should be ${quote(canonical)})`,
    );
  }
  try {
    checkModule(modulePath, version);
  } catch (error) {
    const { detail } = ModuleError.of(modulePath, version, error);
    throw new ZipRuleError("invalid-module", modulePath, version, detail);
  }
  if (zipSize > MAX_ZIP_FILE) {
    throw new ZipRuleError(
      "zip-too-large",
      modulePath,
      version,
      `module zip file is too large (${zipSize} bytes; limit is ${MAX_ZIP_FILE} bytes)`,
    );
  }
}

/**
 * Go's per-entry rules, in Go's order, with what they carry from entry to entry: the paths seen
 * (for collisions) and the total declared size, whose error takes precedence over the others.
 */
class EntryChecker {
  /** The size-limit error on the total, once the total is over it. */
  sizeError: ZipRuleError | undefined;
  readonly #path: string;
  readonly #version: string;
  readonly #prefix: string;
  readonly #seen = new Map<string, { path: string; isDir: boolean }>();
  #totalSize = 0;

  constructor(path: string, version: string) {
    this.#path = path;
    this.#version = version;
    this.#prefix = `${path}@${version}/`;
  }

  /** The entry with its module-relative path, or the first rule it breaks. */
  plan(entry: ZipEntry): PlannedEntry | ZipRuleError {
    if (!entry.name.startsWith(this.#prefix)) {
      return this.#broken(
        entry.name,
        "path-prefix",
        `path does not have prefix ${quote(this.#prefix)}`,
      );
    }
    let relPath = entry.name.slice(this.#prefix.length);
    if (relPath === "") return { entry, relPath, isDirectory: true };
    const isDirectory = relPath.endsWith("/");
    if (isDirectory) relPath = relPath.slice(0, -1);
    return this.#check(entry, relPath, isDirectory) ?? { entry, relPath, isDirectory };
  }

  #check(entry: ZipEntry, relPath: string, isDir: boolean): ZipRuleError | undefined {
    if (!isClean(relPath)) return this.#broken(relPath, "unclean-path", "path is not clean");
    if (!entry.nameIsUtf8) return this.#broken(relPath, "invalid-utf8", "path is not valid UTF-8");
    try {
      checkFilePath(relPath);
    } catch (error) {
      return this.#broken(relPath, "invalid-file-path", (error as Error).message);
    }
    const collision = this.#collision(relPath, isDir);
    if (collision !== undefined || isDir) return collision;
    if (isSymlink(entry)) return this.#broken(relPath, "symlink", "entry is a symbolic link");
    const base = relPath.slice(relPath.lastIndexOf("/") + 1);
    if (foldKey(base) === "go.mod") {
      if (base !== relPath) {
        return this.#broken(
          relPath,
          "go-mod-not-at-root",
          "go.mod file not in module root directory",
        );
      }
      if (relPath !== "go.mod") {
        return this.#broken(relPath, "go-mod-case", "go.mod files must have lowercase names");
      }
    }
    return this.#size(relPath, entry.uncompressedSize);
  }

  /** Adds the entry's size to the total; the root go.mod and LICENSE have limits of their own. */
  #size(relPath: string, size: number): ZipRuleError | undefined {
    if (MAX_ZIP_FILE - this.#totalSize >= size) {
      this.#totalSize += size;
    } else {
      this.sizeError ??= new ZipRuleError(
        "size-limit",
        this.#path,
        this.#version,
        `total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`,
      );
    }
    if (relPath === "go.mod" && size > MAX_GO_MOD) {
      return this.#broken(
        relPath,
        "size-limit",
        `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`,
      );
    }
    if (relPath === "LICENSE" && size > MAX_LICENSE) {
      return this.#broken(
        relPath,
        "size-limit",
        `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`,
      );
    }
    return undefined;
  }

  /** Go's `collisionChecker.check`: the path, then each parent as a directory. */
  #collision(relPath: string, isDir: boolean): ZipRuleError | undefined {
    for (let p = relPath, dir = isDir;;) {
      const key = foldKey(p);
      const other = this.#seen.get(key);
      if (other === undefined) {
        this.#seen.set(key, { path: p, isDir: dir });
      } else if (other.path !== p) {
        return this.#broken(
          relPath,
          "case-collision",
          `case-insensitive file name collision: ${quote(other.path)} and ${quote(p)}`,
        );
      } else if (other.isDir !== dir) {
        return this.#broken(
          relPath,
          "file-dir-collision",
          `entry ${quote(p)} is both a file and a directory`,
        );
      } else if (!dir) {
        return this.#broken(relPath, "duplicate-file", `multiple entries for file ${quote(p)}`);
      }
      const slash = p.lastIndexOf("/");
      if (slash < 0) return undefined;
      p = p.slice(0, slash);
      dir = true;
    }
  }

  #broken(name: string, rule: ZipRule, problem: string): ZipRuleError {
    return new ZipRuleError(
      rule,
      this.#path,
      this.#version,
      `zip entry ${quote(name)}: ${problem}`,
    );
  }
}
