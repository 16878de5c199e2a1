/**
 * A key for caching GOMODCACHE between CI runs (`actions/cache`): the SHA-256 of the module
 * versions the project's go.sum files name, with their hashes, and of the Go toolchain a run
 * fetches beside them, if any, in a canonical order. It changes exactly when what goprefetch
 * would put in the cache changes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { GoSum } from "../project/gosum.ts";
import type { Host } from "../project/host.ts";
import { loadSetup, loadSums, type SetupOptions, toolchainVersion } from "./setup.ts";
import { TOOLCHAIN_MODULE } from "./toolchain.ts";

/** Options of `cacheKey()`: which project and toolchain, as for a prefetch. */
export type CacheKeyOptions = SetupOptions;

/** The format of the hashed text; a change of format changes every key. */
const FORMAT = "goprefetch cache-key v1\n";

/**
 * The cache key of a parsed go.sum: SHA-256 (hex) over its `path version h1:…` and
 * `path version/go.mod h1:…` lines, sorted, so the order of go.sum lines does not matter.
 * With `toolchain`, a `golang.org/toolchain` module version such as
 * `v0.0.1-go1.22.3.linux-amd64`, a `golang.org/toolchain VERSION` line is hashed too; without
 * it the key is the one of the go.sum alone.
 *
 * @example
 * ```ts
 * import { cacheKeyOf, parseGoSum } from "jsr:@goprefetch/cli";
 * const key = cacheKeyOf(parseGoSum(Deno.readTextFileSync("go.sum"), "go.sum"));
 * ```
 */
export function cacheKeyOf(sum: GoSum, toolchain?: string): string {
  const lines: string[] = [];
  for (const m of sum.modules.values()) {
    for (const h of m.zipHashes) lines.push(`${m.path} ${m.version} ${h}`);
    for (const h of m.goModHashes) lines.push(`${m.path} ${m.version}/go.mod ${h}`);
  }
  if (toolchain !== undefined) lines.push(`${TOOLCHAIN_MODULE} ${toolchain}`);
  lines.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  return createHash("sha256").update(FORMAT + lines.map((l) => l + "\n").join("")).digest("hex");
}

/**
 * The cache key of the project in `options.dir` (a module, a workspace, or with `recursive`
 * every module below it), over the same go.sum files a prefetch reads and the toolchain it
 * fetches (`options.toolchain`, else the one GOTOOLCHAIN and go.work or go.mod switch to). A
 * project that go builds from vendor/ needs nothing from the cache, and gets the key of no
 * modules.
 *
 * @throws {SetupError} when a prefetch could not start either.
 */
export function computeCacheKey(options: CacheKeyOptions, host: Host): string {
  const setup = loadSetup(options, host);
  const { project } = setup;
  if (project.vendor) return cacheKeyOf(loadSums([], host));
  const vendored = project.vendored.map((v) => v.sumFile);
  const files = project.sumFiles.filter((f) => !vendored.includes(f));
  const sum = loadSums(files, host, project.workFile);
  return cacheKeyOf(sum, toolchainVersion(options, setup, host));
}
