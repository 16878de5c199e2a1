/**
 * goprefetch fills the Go module cache (GOMODCACHE) from a project's go.sum, exactly as
 * `go mod download` would, with many downloads in flight and one decompression per file.
 *
 * Run it: `deno run -A jsr:@goprefetch/cli [PATH]`, or with only what it needs:
 * `deno run --allow-net --allow-read --allow-write --allow-env --allow-sys jsr:@goprefetch/cli`.
 * Or use it from a build script:
 *
 * @example
 * ```ts
 * import { prefetch } from "jsr:@goprefetch/cli";
 *
 * const report = await prefetch({ dir: "./my-go-project", concurrency: 32 });
 * console.log(`${report.totals.fetched} modules fetched, ${report.totals.failed} failed`);
 * ```
 *
 * @module
 */
import { type CacheKeyOptions, computeCacheKey } from "./src/engine/cache_key.ts";
import { currentHost } from "./src/project/host.ts";
import { type PrefetchOptions, runPrefetch } from "./src/engine/prefetch.ts";
import type { PrefetchReport } from "./src/engine/report.ts";
import { runVerify, type VerifyOptions, type VerifyReport } from "./src/engine/verify.ts";

export { SetupError, type SetupOptions } from "./src/engine/setup.ts";
export { VERSION } from "./src/engine/version.ts";
export type { PrefetchOptions } from "./src/engine/prefetch.ts";
export type {
  BuildListReport,
  LeftToGoReason,
  ModuleRecord,
  ModuleStatus,
  PrefetchReport,
  ProgressEvent,
  ReportWarning,
  Settings,
  Totals,
} from "./src/engine/report.ts";
export { type GoSum, GoSumError, type ModuleSums, parseGoSum } from "./src/project/gosum.ts";
export { EMPTY_GO_MOD_HASH, hash1, type HashedFile, hashGoMod } from "./src/zip/dirhash.ts";
export { escapePath, escapeVersion, matchPrefixPatterns } from "./src/module/module_path.ts";
export type { VerifyOptions, VerifyReport } from "./src/engine/verify.ts";
export type { VerifyRecord, VerifyStatus } from "./src/cache/verify_module.ts";
export { cacheKeyOf, type CacheKeyOptions } from "./src/engine/cache_key.ts";
export type { ErrorReport } from "./src/engine/report.ts";

/**
 * Prefetches the modules of the Go project in `options.dir` into GOMODCACHE, reading the
 * go environment from this process (overridable with `options.env` and `options.gomodcache`).
 * Rejects with {@link SetupError} when the run cannot start; module failures are in the report
 * (`status: "failed"`), and without `options.continueOnError` the first one stops new work.
 *
 * Aborting `options.signal` does not reject either: the promise resolves with a report in which
 * every module that had not finished is `cancelled`. Requests in flight are dropped and installs
 * already under way finish; a cancelled module leaves nothing partial in the cache (no
 * `.partial`, temp file or half-extracted tree), so a later run picks up where this one
 * stopped. Modules finished before the abort keep their status, and the build list's `.info`
 * files are not completed. A toolchain download that the abort cuts short is `failed`, with
 * the abort's reason as its error.
 *
 * @example
 * ```ts
 * import { prefetch } from "jsr:@goprefetch/cli";
 * const report = await prefetch({ dir: ".", env: { GOPRIVATE: "example.com/private" } });
 * if (report.totals.failed > 0) Deno.exit(1);
 * ```
 *
 * @example Stopping a run after a minute
 * ```ts
 * import { prefetch } from "jsr:@goprefetch/cli";
 * const report = await prefetch({ dir: ".", signal: AbortSignal.timeout(60_000) });
 * if (report.totals.cancelled > 0) console.error(`${report.totals.cancelled} modules cancelled`);
 * ```
 */
export function prefetch(options: PrefetchOptions = {}): Promise<PrefetchReport> {
  return runPrefetch(options, currentHost());
}

/**
 * Checks the cached modules that the project's go.sum files name, as `go mod verify` does:
 * the `.zip` and the extracted directory against `.ziphash`, and `.ziphash` and `.mod`
 * against go.sum. Modules not in the cache are counted as `absent`, not as errors.
 *
 * @example
 * ```ts
 * import { verify } from "jsr:@goprefetch/cli";
 * const report = await verify({ dir: "." });
 * for (const m of report.modules) for (const p of m.problems) console.error(p);
 * ```
 */
export function verify(options: VerifyOptions = {}): Promise<VerifyReport> {
  return runVerify(options, currentHost());
}

/**
 * The key for caching GOMODCACHE between CI runs (as `goprefetch cache-key` prints it): the
 * SHA-256 (hex) of the module versions and hashes that the project's go.sum files name, and of
 * the Go toolchain a prefetch with the same options fetches (`options.toolchain`, else the one
 * GOTOOLCHAIN and go.work or go.mod switch to), in a canonical order. Throws
 * {@link SetupError} when a prefetch could not start either.
 *
 * @example
 * ```ts
 * import { cacheKey } from "jsr:@goprefetch/cli";
 * console.log(`gomodcache-${Deno.build.os}-${Deno.build.arch}-${cacheKey({ dir: "." })}`);
 * ```
 */
export function cacheKey(options: CacheKeyOptions = {}): string {
  return computeCacheKey(options, currentHost());
}

// Run as a program (`deno run jsr:@goprefetch/cli`), this module is the command line; imported,
// it is the library alone: the command line's code loads only here.
if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}
