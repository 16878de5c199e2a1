/**
 * The facts goprefetch reads from a go.mod file: its module path, `go` version,
 * requirements, exclusions and replacements.
 *
 * @module
 */
import { parseDirectives } from "./mod_file.ts";

/** A module path at a version. */
export interface ModuleVersion {
  /** Module path. */
  path: string;
  /** Module version. */
  version: string;
}

/** `path@version`, the key a module version goes by. */
export function moduleKey(m: ModuleVersion): string {
  return `${m.path}@${m.version}`;
}

/**
 * A `replace` directive: `old` (all versions when `old.version` is `""`) is replaced by
 * `new`, a module version, or a directory when `new.version` is `""`.
 */
export interface Replace {
  /** The replaced module; `version` is `""` to replace every version. */
  old: ModuleVersion;
  /** The replacement; a file system path when `version` is `""`. */
  new: ModuleVersion;
}

/** A go.mod file, as far as goprefetch needs it. */
export interface GoMod {
  /** The path on the `module` line, or `""`. */
  module: string;
  /** The version on the `go` line, or `""`. */
  go: string;
  /** The `require` directives. */
  require: ModuleVersion[];
  /** The `exclude` directives. */
  exclude: ModuleVersion[];
  /** The `replace` directives. */
  replace: Replace[];
}

/**
 * Parses go.mod text with the lexical rules of go's modfile parser. Directives other than
 * `module`, `go`, `require`, `exclude` and `replace` are skipped, as are malformed entries.
 *
 * @throws {ModFileError} naming `fileName` and the line, for an unterminated string.
 * @example
 * ```ts
 * import { parseGoMod } from "./go_mod.ts";
 * parseGoMod("module m\n\ngo 1.22\n\nrequire example.com/a v1.2.0\n", "go.mod").require;
 * // [{ path: "example.com/a", version: "v1.2.0" }]
 * ```
 */
export function parseGoMod(text: string, fileName: string): GoMod {
  const mod: GoMod = { module: "", go: "", require: [], exclude: [], replace: [] };
  for (const { verb, args } of parseDirectives(text, fileName)) {
    if (verb === "module" && args.length === 1) mod.module = args[0];
    else if (verb === "go" && args.length === 1) mod.go = args[0];
    else if ((verb === "require" || verb === "exclude") && args.length === 2) {
      mod[verb].push({ path: args[0], version: args[1] });
    } else if (verb === "replace") {
      const replace = replaceDirective(args);
      if (replace) mod.replace.push(replace);
    }
  }
  return mod;
}

/** The arguments of one `replace` entry, `old [v] => new [v]`, or undefined when malformed. */
export function replaceDirective(args: string[]): Replace | undefined {
  const arrow = args.indexOf("=>");
  if (arrow !== 1 && arrow !== 2) return undefined;
  const rest = args.length - arrow - 1;
  if (rest !== 1 && rest !== 2) return undefined;
  return {
    old: { path: args[0], version: arrow === 2 ? args[1] : "" },
    new: { path: args[arrow + 1], version: rest === 2 ? args[arrow + 2] : "" },
  };
}

/**
 * Returns the version on the go.mod file's `go` line, or `""` when there is none or the
 * file cannot be read as go.mod.
 *
 * @example
 * ```ts
 * import { goDirective } from "./go_mod.ts";
 * goDirective("module m\n\ngo 1.22\n"); // "1.22"
 * ```
 */
export function goDirective(goMod: string): string {
  try {
    return parseGoMod(goMod, "go.mod").go;
  } catch {
    return "";
  }
}

/**
 * Compares Go versions as go's `gover.Compare` does: `1.21` < `1.21rc1` < `1.21.0` < `1.21.1`.
 * Returns a negative, zero or positive number.
 */
export function compareGoVersions(a: string, b: string): number {
  const pa = parseGoVersion(a);
  const pb = parseGoVersion(b);
  for (let i = 0; i < pa.length; i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return 0;
}

const STAGE = { lang: 0, beta: 1, rc: 2, release: 3 } as const;

function parseGoVersion(v: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+)|(rc|beta)(\d+))?$/.exec(v);
  if (!m) return [0, 0, STAGE.lang, 0];
  const [, major, minor, patch, pre, preN] = m;
  const stage = patch !== undefined
    ? STAGE.release
    : pre !== undefined
    ? STAGE[pre as "rc" | "beta"]
    : STAGE.lang;
  return [Number(major), Number(minor ?? 0), stage, Number(patch ?? preN ?? 0)];
}
