/**
 * The few facts goprefetch reads from a go.mod file.
 *
 * @module
 */

/**
 * Returns the version on the go.mod file's `go` line, or `""` when there is none.
 *
 * @example
 * ```ts
 * import { goDirective } from "./go_mod.ts";
 * goDirective("module example.com/m\n\ngo 1.22\n"); // "1.22"
 * ```
 */
export function goDirective(goMod: string): string {
  for (const line of goMod.split("\n")) {
    const m = /^\s*go\s+([0-9][0-9a-z.]*)\s*(\/\/.*)?$/.exec(line);
    if (m) return m[1];
  }
  return "";
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
