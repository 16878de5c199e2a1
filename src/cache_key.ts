/**
 * A key for caching GOMODCACHE between CI runs (`actions/cache`): the SHA-256 of the module
 * versions the project's go.sum files name, with their hashes, in a canonical order. It
 * changes exactly when what goprefetch would put in the cache changes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { GoSum } from "./gosum.ts";
import type { Host } from "./host.ts";
import { loadSetup, loadSums, type PrefetchOptions } from "./prefetch.ts";

/** Options of {@link computeCacheKey}: which project, as for a prefetch. */
export type CacheKeyOptions = Pick<PrefetchOptions, "dir" | "recursive" | "env" | "gomodcache">;

/** The format of the hashed text; a change of format changes every key. */
const FORMAT = "goprefetch cache-key v1\n";

/**
 * The cache key of a parsed go.sum: SHA-256 (hex) over its `path version h1:…` and
 * `path version/go.mod h1:…` lines, sorted, so the order of go.sum lines does not matter.
 *
 * @example
 * ```ts
 * const key = cacheKeyOf(parseGoSum(Deno.readTextFileSync("go.sum"), "go.sum"));
 * ```
 */
export function cacheKeyOf(sum: GoSum): string {
  const lines: string[] = [];
  for (const m of sum.modules.values()) {
    for (const h of m.zipHashes) lines.push(`${m.path} ${m.version} ${h}`);
    for (const h of m.goModHashes) lines.push(`${m.path} ${m.version}/go.mod ${h}`);
  }
  lines.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  return createHash("sha256").update(FORMAT + lines.map((l) => l + "\n").join("")).digest("hex");
}

/**
 * The cache key of the project in `options.dir` (a module, a workspace, or with `recursive`
 * every module below it), over the same go.sum files a prefetch reads. A project that go
 * builds from vendor/ needs nothing from the cache, and gets the key of no modules.
 *
 * @throws {SetupError} when a prefetch could not start either.
 */
export function computeCacheKey(options: CacheKeyOptions, host: Host): string {
  const { project } = loadSetup(options, host);
  const vendored = project.vendored.map((v) => v.sumFile);
  const files = project.vendor ? [] : project.sumFiles.filter((f) => !vendored.includes(f));
  return cacheKeyOf(loadSums(files, host));
}
