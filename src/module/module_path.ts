/**
 * Module path and version rules of `golang.org/x/mod/module`: path checks, the module/version
 * correspondence, case-escaping ("bang" encoding) and GOPRIVATE-style prefix globs.
 *
 * The checks scan the input by index and build strings only to report a failure.
 *
 * @module
 */

import { ModuleError } from "./module_error.ts";
import { isValidSemver, semverBuild, semverMajor } from "./semver.ts";

/** A module path, file path or escaped module path that Go would reject. */
export class InvalidPathError extends Error {
  /** The path as given. */
  readonly path: string;

  /** Creates the error for `path`; `message` is the full, Go-style message. */
  constructor(path: string, message: string) {
    super(message);
    this.name = "InvalidPathError";
    this.path = path;
  }
}

/** A version that is malformed, cannot be escaped, or does not fit its module path. */
export class InvalidVersionError extends Error {
  /** The version as given. */
  readonly version: string;

  /** Creates the error for `version`; `message` is the full, Go-style message. */
  constructor(version: string, message: string) {
    super(message);
    this.name = "InvalidVersionError";
    this.version = version;
  }
}

const SLASH = 0x2f;
const DOT = 0x2e;
const DASH = 0x2d;
const CHAR_V = 0x76;
const CHAR_0 = 0x30;
const BANG = 0x21;
const TILDE = 0x7e;
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;

/** Bits in {@linkcode ASCII_CLASS}: allowed in module path elements, file names, a domain. */
const MODULE_CHAR = 1;
const FILE_CHAR = 2;
const FIRST_ELEM_CHAR = 4;

const ASCII_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  const allow = (chars: string, bit: number): void => {
    for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] |= bit;
  };
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const alnum = lower + lower.toUpperCase() + "0123456789";
  allow(lower + "0123456789-.", FIRST_ELEM_CHAR);
  allow(alnum + "-._~", MODULE_CHAR);
  allow(alnum + "!#$%&()+,-.=@[]^_{}~ ", FILE_CHAR);
  return table;
})();

const LETTER = /\p{L}/uy;
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Whether the code point at `s[i]` is a Unicode letter (Go's `unicode.IsLetter`). */
function isLetterAt(s: string, i: number): boolean {
  LETTER.lastIndex = i;
  return LETTER.test(s);
}

function isDigit(c: number): boolean {
  return c >= CHAR_0 && c <= 0x39;
}

// Go's %q formatting, for error messages only.

const NAMED_ESCAPES: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
};

function escapeRune(cp: number, quote: number): string {
  if (cp === quote || cp === BACKSLASH) return "\\" + String.fromCharCode(cp);
  if (cp >= 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  const ch = String.fromCodePoint(cp);
  if (cp >= 0x80 && PRINTABLE.test(ch)) return ch;
  if (NAMED_ESCAPES[cp] !== undefined) return NAMED_ESCAPES[cp];
  if (cp < 0x80) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0) ?? 0, 0x22);
  return out + '"';
}

function quoteRune(cp: number): string {
  return "'" + escapeRune(cp, 0x27) + "'";
}

// Path checks. Each returns "" for a valid input or the reason it is invalid.

/** Three upper-case ASCII letters packed into a number, for comparing names without slicing. */
function packName(upper: string): number {
  return (upper.charCodeAt(0) << 16) | (upper.charCodeAt(1) << 8) | upper.charCodeAt(2);
}

const RESERVED_3 = ["CON", "PRN", "AUX", "NUL"].map(packName);
const COM = packName("COM");
const LPT = packName("LPT");

/** Whether `s[start, end)` is CON, PRN, AUX, NUL, COM1-9 or LPT1-9, ignoring ASCII case. */
function isReservedWindowsName(s: string, start: number, end: number): boolean {
  const n = end - start;
  if (n !== 3 && n !== 4) return false;
  let name = 0;
  for (let i = start; i < start + 3; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    name = (name << 8) | (c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  if (n === 3) return RESERVED_3.includes(name);
  const digit = s.charCodeAt(start + 3);
  return (name === COM || name === LPT) && digit >= 0x31 && digit <= 0x39;
}

/** Checks the path element `s[start, end)` (Go's `checkElem`, for module paths or file names). */
function elementProblem(s: string, start: number, end: number, file: boolean): string {
  if (start === end) return "empty path element";
  let i = start;
  while (i < end && s.charCodeAt(i) === DOT) i++;
  if (i === end) return `invalid path element ${quote(s.slice(start, end))}`;
  if (!file && s.charCodeAt(start) === DOT) return "leading dot in path element";
  if (s.charCodeAt(end - 1) === DOT) return "trailing dot in path element";
  const allowed = file ? FILE_CHAR : MODULE_CHAR;
  let shortEnd = end; // end of the part before the first dot
  let tilde = -1; // last "~" before shortEnd
  for (i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if ((ASCII_CLASS[c] & allowed) === 0) return `invalid char ${quoteRune(c)}`;
      if (shortEnd === end) {
        if (c === DOT) shortEnd = i;
        else if (c === TILDE) tilde = i;
      }
      continue;
    }
    const cp = s.codePointAt(i) ?? c;
    if (!file || !isLetterAt(s, i)) return `invalid char ${quoteRune(cp)}`;
    if (cp > 0xffff) i++;
  }
  if (isReservedWindowsName(s, start, shortEnd)) {
    return `${quote(s.slice(start, shortEnd))} disallowed as path element component on Windows`;
  }
  if (file) return "";
  if (tilde >= 0 && tilde < shortEnd - 1) {
    i = tilde + 1;
    while (i < shortEnd && isDigit(s.charCodeAt(i))) i++;
    if (i === shortEnd) return "trailing tilde and digits in path element";
  }
  return "";
}

/** Go's `checkPath` for module paths (`file` false) or file paths (`file` true). */
function pathProblem(path: string, file: boolean): string {
  if (!path.isWellFormed()) return "invalid UTF-8";
  if (path === "") return "empty string";
  if (!file && path.charCodeAt(0) === DASH) return "leading dash";
  if (path.includes("//")) return "double slash";
  if (path.charCodeAt(path.length - 1) === SLASH) return "trailing slash";
  let start = 0;
  for (;;) {
    const slash = path.indexOf("/", start);
    const end = slash < 0 ? path.length : slash;
    const problem = elementProblem(path, start, end, file);
    if (problem !== "" || slash < 0) return problem;
    start = end + 1;
  }
}

/**
 * Where the major-version suffix ("/v2", or ".v1" for gopkg.in) of `path` starts: `path.length`
 * if it has none, -1 if the suffix is malformed (Go's `SplitPathVersion`).
 */
function pathMajorStart(path: string): number {
  if (path.startsWith("gopkg.in/")) return gopkgInMajorStart(path);
  let i = path.length;
  let dot = false;
  for (; i > 0; i--) {
    const c = path.charCodeAt(i - 1);
    if (c === DOT) dot = true;
    else if (!isDigit(c)) break;
  }
  if (i <= 1 || i === path.length || path.charCodeAt(i - 1) !== CHAR_V) return path.length;
  if (path.charCodeAt(i - 2) !== SLASH) return path.length;
  if (dot || path.charCodeAt(i) === CHAR_0 || path.endsWith("/v1")) return -1;
  return i - 2;
}

function gopkgInMajorStart(path: string): number {
  let i = path.endsWith("-unstable") ? path.length - "-unstable".length : path.length;
  while (i > 0 && isDigit(path.charCodeAt(i - 1))) i--;
  if (i <= 1 || path.charCodeAt(i - 1) !== CHAR_V || path.charCodeAt(i - 2) !== DOT) return -1;
  if (i === path.length) return -1;
  if (path.charCodeAt(i) === CHAR_0 && path.length !== i + 1) return -1;
  return i - 2;
}

/** Go's `CheckPath` without the "malformed module path" prefix. */
function modulePathProblem(path: string): string {
  const problem = pathProblem(path, false);
  if (problem !== "") return problem;
  const slash = path.indexOf("/");
  const firstEnd = slash < 0 ? path.length : slash;
  const dot = path.indexOf(".");
  if (dot < 0 || dot >= firstEnd) return "missing dot in first path element";
  for (let i = 0; i < firstEnd; i++) {
    const c = path.charCodeAt(i);
    if ((ASCII_CLASS[c] & FIRST_ELEM_CHAR) === 0) {
      return `invalid char ${quoteRune(c)} in first path element`;
    }
  }
  if (pathMajorStart(path) < 0) return "invalid version";
  return "";
}

/**
 * Checks that `path` is a valid module path (Go's `module.CheckPath`): ASCII letters, digits
 * and `-._~` only, a lower-case first element containing a dot, no Windows-reserved or
 * short-name elements, and a well-formed major-version suffix.
 *
 * @throws {InvalidPathError} with a message like Go's, e.g.
 * `malformed module path "x": missing dot in first path element`.
 * @example
 * ```ts
 * checkPath("github.com/BurntSushi/toml"); // ok
 * checkPath("example.com/m/v1"); // throws: invalid version
 * ```
 */
export function checkPath(path: string): void {
  const problem = modulePathProblem(path);
  if (problem !== "") {
    throw new InvalidPathError(path, `malformed module path ${quote(path)}: ${problem}`);
  }
}

/**
 * Checks that `path` is a valid slash-separated file path inside a module (Go's
 * `module.CheckFilePath`): like a module path, but allowing Unicode letters, spaces,
 * ``!#$%&()+,-.=@[]^_{}~`` and leading dots or dashes.
 *
 * @throws {InvalidPathError} with a message like Go's, e.g.
 * `malformed file path "a/aux.go": "aux" disallowed as path element component on Windows`.
 * @example
 * ```ts
 * checkFilePath(".github/workflows/ci.yml"); // ok
 * checkFilePath("x/../y"); // throws: invalid path element ".."
 * ```
 */
export function checkFilePath(path: string): void {
  const problem = pathProblem(path, true);
  if (problem !== "") {
    throw new InvalidPathError(path, `malformed file path ${quote(path)}: ${problem}`);
  }
}

/** The major version a path suffix wants, or "" if version `v` fits (Go's `CheckPathMajor`). */
function wantedMajor(v: string, pathMajor: string): string {
  if (pathMajor.startsWith(".v") && pathMajor.endsWith("-unstable")) {
    pathMajor = pathMajor.slice(0, -"-unstable".length);
  }
  // Old pseudo-versions of gopkg.in .v1 paths were generated as v0.0.0-...; Go accepts them.
  if (v.startsWith("v0.0.0-") && pathMajor === ".v1") return "";
  const major = semverMajor(v);
  if (pathMajor === "") {
    const ok = major === "v0" || major === "v1" || semverBuild(v) === "+incompatible";
    return ok ? "" : "v0 or v1";
  }
  return major === pathMajor.slice(1) ? "" : pathMajor.slice(1);
}

/**
 * Checks that `path` is a valid module path, `version` a valid semantic version, and that
 * the two correspond (Go's `module.Check`): "/vN" paths need vN versions, gopkg.in ".vN"
 * paths need vN, other paths need v0 or v1 unless the version is "+incompatible".
 *
 * @throws {InvalidPathError} if the path is invalid.
 * @throws {ModuleError} otherwise, e.g.
 * `example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2`.
 * @example
 * ```ts
 * checkModule("github.com/go-yaml/yaml/v2", "v2.1.5"); // ok
 * checkModule("rsc.io/quote", "v17.0.0+incompatible"); // ok
 * checkModule("gopkg.in/yaml.v2", "v3.0.0"); // throws: should be v2, not v3
 * ```
 */
export function checkModule(path: string, version: string): void {
  checkPath(path);
  if (!isValidSemver(version)) {
    throw new ModuleError(path, version, "invalid version: not a semantic version");
  }
  const want = wantedMajor(version, path.slice(pathMajorStart(path)));
  if (want !== "") {
    throw new ModuleError(
      path,
      version,
      `invalid version: should be ${want}, not ${semverMajor(version)}`,
    );
  }
}

// Case-escaping: an upper-case letter X becomes "!x".

/** Escapes `s`, or returns "" if it contains "!" or a non-ASCII character. */
function escapeString(s: string): string {
  let out = "";
  let copied = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BANG || c >= 0x80) return "";
    if (c >= 0x41 && c <= 0x5a) {
      out += s.slice(copied, i) + "!" + String.fromCharCode(c + 0x20);
      copied = i + 1;
    }
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/** Reverses {@linkcode escapeString}, or returns undefined if `escaped` is not a valid escaping. */
function unescapeString(escaped: string): string | undefined {
  let out = "";
  let copied = 0;
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) return undefined;
    if (c === BANG) {
      const next = escaped.charCodeAt(i + 1);
      if (!(next >= 0x61 && next <= 0x7a)) return undefined;
      out += escaped.slice(copied, i) + String.fromCharCode(next - 0x20);
      i++;
      copied = i + 1;
    }
  }
  return copied === 0 ? escaped : out + escaped.slice(copied);
}

/**
 * The case-escaped form of module path `path`, as used in GOMODCACHE and proxy URLs (Go's
 * `module.EscapePath`). The path is checked first, as Go's `module.CheckPath` checks it.
 *
 * @throws {Error} if `path` is not a valid module path, with Go's message.
 * @example
 * ```ts
 * import { escapePath } from "jsr:@goprefetch/cli";
 * escapePath("github.com/BurntSushi/toml"); // "github.com/!burnt!sushi/toml"
 * ```
 */
export function escapePath(path: string): string {
  checkPath(path);
  // A valid module path is ASCII without "!", so escaping cannot fail.
  return escapeString(path);
}

/**
 * The case-escaped form of version `v` (Go's `module.EscapeVersion`). The version need not be
 * semver but must be a valid file name without "!"; non-ASCII versions are rejected too.
 *
 * @throws {Error} if `v` cannot be escaped, with Go's message.
 * @example
 * ```ts
 * import { escapeVersion } from "jsr:@goprefetch/cli";
 * escapeVersion("v1.0.0-RC1"); // "v1.0.0-!r!c1"
 * ```
 */
export function escapeVersion(v: string): string {
  const escaped = elementProblem(v, 0, v.length, true) === "" ? escapeString(v) : "";
  if (escaped === "") {
    throw new InvalidVersionError(v, `version ${quote(v)} invalid: disallowed version string`);
  }
  return escaped;
}

/**
 * The module path whose escaped form is `escaped` (Go's `module.UnescapePath`).
 *
 * @throws {InvalidPathError} if `escaped` is not a valid escaping of a valid module path.
 * @example
 * ```ts
 * unescapePath("github.com/!burnt!sushi/toml"); // "github.com/BurntSushi/toml"
 * ```
 */
export function unescapePath(escaped: string): string {
  const path = unescapeString(escaped);
  if (path === undefined) {
    throw new InvalidPathError(escaped, `invalid escaped module path ${quote(escaped)}`);
  }
  const problem = modulePathProblem(path);
  if (problem !== "") {
    throw new InvalidPathError(
      escaped,
      `invalid escaped module path ${quote(escaped)}: malformed module path ${
        quote(path)
      }: ${problem}`,
    );
  }
  return path;
}

/**
 * The version whose escaped form is `escaped` (Go's `module.UnescapeVersion`).
 *
 * @throws {InvalidVersionError} if `escaped` is not a valid escaping of a valid file name.
 * @example
 * ```ts
 * unescapeVersion("v1.0.0-!r!c1"); // "v1.0.0-RC1"
 * ```
 */
export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped);
  if (v === undefined) {
    throw new InvalidVersionError(escaped, `invalid escaped version ${quote(escaped)}`);
  }
  const problem = elementProblem(v, 0, v.length, true);
  if (problem !== "") {
    throw new InvalidVersionError(escaped, `invalid escaped version ${quote(v)}: ${problem}`);
  }
  return v;
}

// Go's path.Match over index ranges: pattern p[pi, pe) against name s[si, se).
// A malformed pattern (Go's ErrBadPattern) never matches.

const NO_MATCH = -1;
const BAD_PATTERN = -2;

/** Set by {@linkcode classChar}: the pattern index just after the character it read. */
let classCharEnd = 0;

/** Reads a possibly escaped character of a class at `p[i]` (Go's `getEsc`); -1 if malformed. */
function classChar(p: string, i: number, end: number): number {
  if (i >= end) return -1;
  const c = p.charCodeAt(i);
  if (c === DASH || c === RBRACKET) return -1;
  if (c === BACKSLASH && ++i >= end) return -1;
  const cp = p.codePointAt(i) ?? -1;
  if (cp >= 0xd800 && cp <= 0xdfff) return -1;
  i += cp > 0xffff ? 2 : 1;
  if (i >= end) return -1;
  classCharEnd = i;
  return cp;
}

/** End of the chunk starting at `p[i]`: up to the next `*` outside a class (Go's `scanChunk`). */
function chunkEnd(p: string, i: number, end: number): number {
  let inClass = false;
  for (; i < end; i++) {
    const c = p.charCodeAt(i);
    if (c === BACKSLASH) {
      if (i + 1 < end) i++;
    } else if (c === LBRACKET) {
      inClass = true;
    } else if (c === RBRACKET) {
      inClass = false;
    } else if (c === STAR && !inClass) {
      return i;
    }
  }
  return end;
}

/**
 * Matches the star-free chunk `p[i, end)` against the start of `s[si, se)` (Go's
 * `matchChunk`); returns the index in `s` after the match, NO_MATCH or BAD_PATTERN.
 */
function matchChunk(p: string, i: number, end: number, s: string, si: number, se: number): number {
  let failed = false;
  while (i < end) {
    if (si >= se) failed = true;
    const c = p.charCodeAt(i);
    if (c === LBRACKET) {
      let r = -1;
      if (!failed) {
        r = s.codePointAt(si) ?? -1;
        si += r > 0xffff ? 2 : 1;
      }
      i++;
      const negated = i < end && p.charCodeAt(i) === CARET;
      if (negated) i++;
      let matched = false;
      for (let ranges = 0;; ranges++) {
        if (ranges > 0 && i < end && p.charCodeAt(i) === RBRACKET) {
          i++;
          break;
        }
        const lo = classChar(p, i, end);
        if (lo < 0) return BAD_PATTERN;
        i = classCharEnd;
        let hi = lo;
        if (p.charCodeAt(i) === DASH) {
          hi = classChar(p, i + 1, end);
          if (hi < 0) return BAD_PATTERN;
          i = classCharEnd;
        }
        if (lo <= r && r <= hi) matched = true;
      }
      if (matched === negated) failed = true;
    } else if (c === QUESTION) {
      if (!failed) {
        const r = s.codePointAt(si) ?? -1;
        if (r === SLASH) failed = true;
        si += r > 0xffff ? 2 : 1;
      }
      i++;
    } else {
      if (c === BACKSLASH && ++i >= end) return BAD_PATTERN;
      if (!failed) {
        if (p.charCodeAt(i) !== s.charCodeAt(si)) failed = true;
        si++;
      }
      i++;
    }
  }
  return failed ? NO_MATCH : si;
}

/** Go's `path.Match(p[pi, pe), s[si, se))`, with a malformed pattern matching nothing. */
function matchGlob(p: string, pi: number, pe: number, s: string, si: number, se: number): boolean {
  chunks: while (pi < pe) {
    let star = false;
    while (pi < pe && p.charCodeAt(pi) === STAR) {
      pi++;
      star = true;
    }
    const chunkStart = pi;
    pi = chunkEnd(p, pi, pe);
    if (star && chunkStart === pi) {
      const slash = s.indexOf("/", si);
      return slash < 0 || slash >= se;
    }
    let t = matchChunk(p, chunkStart, pi, s, si, se);
    if (t >= 0 && (t === se || pi < pe)) {
      si = t;
      continue;
    }
    if (t === BAD_PATTERN || !star) return false;
    for (let i = si; i < se && s.charCodeAt(i) !== SLASH; i++) {
      t = matchChunk(p, chunkStart, pi, s, i + 1, se);
      if (t === BAD_PATTERN) return false;
      if (t >= 0 && (t === se || pi < pe)) {
        si = t;
        continue chunks;
      }
    }
    return false;
  }
  return si === se;
}

/**
 * Reports whether some path prefix of `target` matches one of the comma-separated glob
 * patterns in `globs`, as GOPRIVATE, GONOPROXY, GONOSUMDB and GOINSECURE are matched (Go's
 * `module.MatchPrefixPatterns`). A pattern with N slashes is matched with `path.Match`
 * semantics against the first N+1 elements of `target`; empty and malformed patterns are
 * ignored, one trailing slash is dropped, and nothing is trimmed or case-folded.
 *
 * @example
 * ```ts
 * import { matchPrefixPatterns } from "jsr:@goprefetch/cli";
 * matchPrefixPatterns("*.corp.example.com,rsc.io/private", "rsc.io/private/quote"); // true
 * matchPrefixPatterns("rsc", "rsc.io/quote"); // false: "rsc" is not a whole element
 * ```
 */
export function matchPrefixPatterns(globs: string, target: string): boolean {
  let start = 0;
  while (start < globs.length) {
    const comma = globs.indexOf(",", start);
    let end = comma < 0 ? globs.length : comma;
    const next = end + 1;
    if (end > start && globs.charCodeAt(end - 1) === SLASH) end--;
    if (end > start) {
      let slashes = 0;
      for (let i = start; i < end; i++) if (globs.charCodeAt(i) === SLASH) slashes++;
      let prefixEnd = target.length;
      for (let i = 0; i < target.length; i++) {
        if (target.charCodeAt(i) !== SLASH) continue;
        if (slashes === 0) {
          prefixEnd = i;
          break;
        }
        slashes--;
      }
      if (slashes === 0 && matchGlob(globs, start, end, target, 0, prefixEnd)) return true;
    }
    start = next;
  }
  return false;
}
