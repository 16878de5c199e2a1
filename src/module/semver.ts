/**
 * Semantic versions as the go command reads them (`golang.org/x/mod/semver`): a leading "v",
 * `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`, with `v1` and `v1.2` as shorthands.
 *
 * Parsing records offsets into the input instead of building substrings, so validation and
 * comparison allocate nothing.
 *
 * @module
 */

const CHAR_V = 0x76;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const DOT = 0x2e;
const DASH = 0x2d;
const PLUS = 0x2b;
const INCOMPATIBLE = "+incompatible";

/** Offsets of the parts of a parsed version; an empty minor or patch range stands for "0". */
interface Parsed {
  /** Major digits are `v[1, majorEnd)`. */
  majorEnd: number;
  minorStart: number;
  minorEnd: number;
  patchStart: number;
  patchEnd: number;
  /** Prerelease is `v[patchEnd, preEnd)` and build is `v[preEnd, v.length)`. */
  preEnd: number;
  /** What a shorthand version lacks: "", ".0" or ".0.0". */
  short: string;
}

function scratch(): Parsed {
  return {
    majorEnd: 0,
    minorStart: 0,
    minorEnd: 0,
    patchStart: 0,
    patchEnd: 0,
    preEnd: 0,
    short: "",
  };
}

const first = scratch();
const second = scratch();

function isDigit(c: number): boolean {
  return c >= CHAR_0 && c <= CHAR_9;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === DASH;
}

/** End of the decimal number starting at `i`, or -1 if there is none or it has a leading zero. */
function scanNumber(v: string, i: number): number {
  let j = i;
  while (j < v.length && isDigit(v.charCodeAt(j))) j++;
  if (j === i || (v.charCodeAt(i) === CHAR_0 && j !== i + 1)) return -1;
  return j;
}

/** Whether `v[start, end)` is all digits with a leading zero and more than one digit. */
function isBadNumber(v: string, start: number, end: number): boolean {
  return end - start > 1 && v.charCodeAt(start) === CHAR_0 && isNumeric(v, start, end);
}

function isNumeric(v: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (!isDigit(v.charCodeAt(i))) return false;
  }
  return true;
}

/** End of the dot-separated identifiers after the "-" or "+" at `i`, or -1 if malformed. */
function scanIdentifiers(v: string, i: number, prerelease: boolean): number {
  let start = i + 1;
  let j = start;
  for (; j < v.length; j++) {
    const c = v.charCodeAt(j);
    if (prerelease && c === PLUS) break;
    if (c === DOT) {
      if (start === j || (prerelease && isBadNumber(v, start, j))) return -1;
      start = j + 1;
    } else if (!isIdentChar(c)) {
      return -1;
    }
  }
  if (start === j || (prerelease && isBadNumber(v, start, j))) return -1;
  return j;
}

function setShort(p: Parsed, end: number, short: string): boolean {
  if (short === ".0.0") p.minorStart = p.minorEnd = end;
  p.patchStart = p.patchEnd = p.preEnd = end;
  p.short = short;
  return true;
}

function parse(v: string, p: Parsed): boolean {
  const n = v.length;
  if (n === 0 || v.charCodeAt(0) !== CHAR_V) return false;
  let i = scanNumber(v, 1);
  if (i < 0) return false;
  p.majorEnd = i;
  if (i === n) return setShort(p, n, ".0.0");
  if (v.charCodeAt(i) !== DOT) return false;
  p.minorStart = i + 1;
  i = scanNumber(v, i + 1);
  if (i < 0) return false;
  p.minorEnd = i;
  if (i === n) return setShort(p, n, ".0");
  if (v.charCodeAt(i) !== DOT) return false;
  p.patchStart = i + 1;
  i = scanNumber(v, i + 1);
  if (i < 0) return false;
  p.patchEnd = i;
  p.short = "";
  if (i < n && v.charCodeAt(i) === DASH) {
    i = scanIdentifiers(v, i, true);
    if (i < 0) return false;
  }
  p.preEnd = i;
  if (i < n && v.charCodeAt(i) === PLUS) i = scanIdentifiers(v, i, false);
  return i === n;
}

/** Byte-wise (code point) order of `a[as, ae)` and `b[bs, be)`, as Go compares strings. */
function compareRange(
  a: string,
  as: number,
  ae: number,
  b: string,
  bs: number,
  be: number,
): number {
  const n = Math.min(ae - as, be - bs);
  for (let k = 0; k < n; k++) {
    const x = a.charCodeAt(as + k);
    const y = b.charCodeAt(bs + k);
    if (x !== y) return codePointOrder(x) < codePointOrder(y) ? -1 : 1;
  }
  return Math.sign(ae - as - (be - bs));
}

/** Maps a UTF-16 code unit so that comparing mapped units orders strings by code point. */
function codePointOrder(c: number): number {
  if (c >= 0xe000) return c - 0x800;
  if (c >= 0xd800) return c + 0x2000;
  return c;
}

function isZero(v: string, start: number, end: number): boolean {
  return start === end || (end - start === 1 && v.charCodeAt(start) === CHAR_0);
}

/** Numeric order of two decimal numbers without leading zeros; an empty range means "0". */
function compareNumber(
  a: string,
  as: number,
  ae: number,
  b: string,
  bs: number,
  be: number,
): number {
  const aZero = isZero(a, as, ae);
  const bZero = isZero(b, bs, be);
  if (aZero || bZero) return aZero === bZero ? 0 : aZero ? -1 : 1;
  if (ae - as !== be - bs) return ae - as < be - bs ? -1 : 1;
  return compareRange(a, as, ae, b, bs, be);
}

function identifierEnd(v: string, i: number, end: number): number {
  while (i < end && v.charCodeAt(i) !== DOT) i++;
  return i;
}

/** Semver precedence of two prereleases (`"-pre.1"`, or "" for none). */
function comparePrerelease(
  x: string,
  xs: number,
  xe: number,
  y: string,
  ys: number,
  ye: number,
): number {
  if (compareRange(x, xs, xe, y, ys, ye) === 0) return 0;
  if (xs === xe) return 1;
  if (ys === ye) return -1;
  while (xs < xe && ys < ye) {
    const dxEnd = identifierEnd(x, xs + 1, xe);
    const dyEnd = identifierEnd(y, ys + 1, ye);
    const c = compareRange(x, xs + 1, dxEnd, y, ys + 1, dyEnd);
    if (c !== 0) {
      const xNum = isNumeric(x, xs + 1, dxEnd);
      const yNum = isNumeric(y, ys + 1, dyEnd);
      if (xNum !== yNum) return xNum ? -1 : 1;
      if (xNum && dxEnd - xs !== dyEnd - ys) return dxEnd - xs < dyEnd - ys ? -1 : 1;
      return c;
    }
    xs = dxEnd;
    ys = dyEnd;
  }
  return xs >= xe ? -1 : 1;
}

/**
 * Reports whether `v` is a valid semantic version in Go's sense (Go's `semver.IsValid`).
 *
 * @example
 * ```ts
 * isValidSemver("v1.2"); // true
 * isValidSemver("1.2.3"); // false: the "v" is required
 * ```
 */
export function isValidSemver(v: string): boolean {
  return parse(v, first);
}

/**
 * The major version prefix of `v`, like "v2" for "v2.1.0", or "" if `v` is invalid
 * (Go's `semver.Major`).
 */
export function semverMajor(v: string): string {
  return parse(v, first) ? v.slice(0, first.majorEnd) : "";
}

/**
 * The build suffix of `v`, like "+incompatible", or "" if there is none or `v` is invalid
 * (Go's `semver.Build`).
 */
export function semverBuild(v: string): string {
  return parse(v, first) ? v.slice(first.preEnd) : "";
}

/**
 * The canonical form of `v`: shorthands filled in and build metadata dropped, except that a
 * "+incompatible" suffix is kept; "" if `v` is invalid (Go's `module.CanonicalVersion`).
 *
 * @example
 * ```ts
 * canonicalVersion("v1.2"); // "v1.2.0"
 * canonicalVersion("v2.0.0+incompatible"); // "v2.0.0+incompatible"
 * canonicalVersion("v1.2.3+meta"); // "v1.2.3"
 * ```
 */
export function canonicalVersion(v: string): string {
  if (!parse(v, first)) return "";
  if (first.short !== "") return v + first.short;
  const buildLength = v.length - first.preEnd;
  if (buildLength === 0 || (buildLength === INCOMPATIBLE.length && v.endsWith(INCOMPATIBLE))) {
    return v;
  }
  return v.slice(0, first.preEnd);
}

/**
 * Compares two versions by semver precedence, returning -1, 0 or +1 (Go's `semver.Compare`).
 * Invalid versions sort before valid ones and are all equal to each other; build metadata
 * is ignored.
 *
 * @example
 * ```ts
 * compareSemver("v1.10.0", "v1.9.0"); // 1
 * compareSemver("v1.0.0-rc.1", "v1.0.0"); // -1
 * ```
 */
export function compareSemver(a: string, b: string): number {
  const okA = parse(a, first);
  const okB = parse(b, second);
  if (!okA || !okB) return okA === okB ? 0 : okA ? 1 : -1;
  return compareNumber(a, 1, first.majorEnd, b, 1, second.majorEnd) ||
    compareNumber(a, first.minorStart, first.minorEnd, b, second.minorStart, second.minorEnd) ||
    compareNumber(a, first.patchStart, first.patchEnd, b, second.patchStart, second.patchEnd) ||
    comparePrerelease(a, first.patchEnd, first.preEnd, b, second.patchEnd, second.preEnd);
}

/**
 * Returns a sorted copy of `vs`, ordered by {@linkcode compareSemver} and then by string
 * (Go's `semver.Sort`).
 *
 * @example
 * ```ts
 * sortVersions(["v1.10.0", "bad", "v1.2.0"]); // ["bad", "v1.2.0", "v1.10.0"]
 * ```
 */
export function sortVersions(vs: string[]): string[] {
  return vs.slice().sort((a, b) =>
    compareSemver(a, b) || compareRange(a, 0, a.length, b, 0, b.length)
  );
}

const PSEUDO_VERSION =
  /^v[0-9]+\.(?:0\.0-|\d+\.\d+-(?:[^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/**
 * Reports whether `v` is a pseudo-version such as `v0.0.0-20191109021931-daa7c04131f5` or
 * `v1.2.4-0.20191109021931-daa7c04131f5` (Go's `module.IsPseudoVersion`).
 *
 * @example
 * ```ts
 * isPseudoVersion("v0.0.0-20191109021931-daa7c04131f5"); // true
 * isPseudoVersion("v1.2.3"); // false
 * ```
 */
export function isPseudoVersion(v: string): boolean {
  const dash = v.indexOf("-");
  return dash >= 0 && v.indexOf("-", dash + 1) >= 0 && parse(v, first) && PSEUDO_VERSION.test(v);
}
