/**
 * goprefetch fills the Go module cache (GOMODCACHE) from a project's go.sum, exactly as
 * `go mod download` would, with many downloads in flight and one decompression per file.
 *
 * Run it: `deno run -A jsr:@goprefetch/cli [PATH]`. Or use it from a build script:
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
import { main } from "./cli.ts";
import { currentHost } from "./src/host.ts";
import { type PrefetchOptions, runPrefetch } from "./src/prefetch.ts";
import type { PrefetchReport } from "./src/report.ts";

export { SetupError, VERSION } from "./src/prefetch.ts";
export type { PrefetchOptions } from "./src/prefetch.ts";
export type {
  ModuleRecord,
  ModuleStatus,
  PrefetchReport,
  ProgressEvent,
  Settings,
  Totals,
} from "./src/report.ts";
export { type GoSum, GoSumError, type ModuleSums, parseGoSum } from "./src/gosum.ts";
export { EMPTY_GO_MOD_HASH, hash1, type HashedFile, hashGoMod } from "./src/dirhash.ts";
export { escapePath, escapeVersion, matchPrefixPatterns } from "./src/module_path.ts";

/**
 * Prefetches the modules of the Go project in `options.dir` into GOMODCACHE, reading the
 * go environment from this process (overridable with `options.env` and `options.gomodcache`).
 * Rejects with {@link SetupError} when the run cannot start; module failures are in the report.
 *
 * @example
 * ```ts
 * import { prefetch } from "jsr:@goprefetch/cli";
 * const report = await prefetch({ dir: ".", env: { GOPRIVATE: "example.com/private" } });
 * if (report.totals.failed > 0) Deno.exit(1);
 * ```
 */
export function prefetch(options: PrefetchOptions = {}): Promise<PrefetchReport> {
  return runPrefetch(options, currentHost());
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
