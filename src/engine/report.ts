/**
 * The result and progress types shared by the engine, the CLI, the JSON report and
 * the library.
 *
 * @module
 */

/**
 * What happened to one module version:
 * - `fetched`: written to the cache by this run;
 * - `cached`: already complete, no request made;
 * - `private`: matches GONOPROXY/GOPRIVATE, left to the go command;
 * - `direct`: no proxy before `direct` has it, left to the go command;
 * - `failed`: see `error`;
 * - `cancelled`: not finished because the run stopped (an earlier failure or a signal);
 * - `planned`: a dry run would fetch it.
 */
export type ModuleStatus =
  | "fetched"
  | "cached"
  | "private"
  | "direct"
  | "failed"
  | "cancelled"
  | "planned";

/** One module version's outcome. */
export interface ModuleRecord {
  /** Module path. */
  path: string;
  /** Module version. */
  version: string;
  /** Whether go.sum asks for the zip (else only the go.mod). */
  zip: boolean;
  /** What happened. */
  status: ModuleStatus;
  /** Bytes downloaded for it. */
  bytes: number;
  /** Milliseconds from start to end of its work. */
  ms: number;
  /** The proxy that served it, credentials removed. */
  proxy?: string;
  /** Retries spent on its requests. */
  retries: number;
  /** The files that were (or, in a dry run, would be) fetched: `info`, `mod`, `zip`. */
  files: string[];
  /** Why it failed. */
  error?: string;
}

/** Totals over a run. */
export interface Totals {
  /** Module versions written by this run. */
  fetched: number;
  /** Module versions already complete. */
  cached: number;
  /** Module versions left to the go command (private or direct). */
  skipped: number;
  /** Module versions that failed. */
  failed: number;
  /** Module versions not finished because the run stopped. */
  cancelled: number;
  /** Module versions a dry run would fetch. */
  planned: number;
  /**
   * Bytes downloaded: every body byte received, also those of retried requests and of modules
   * the run cancelled, as the progress line counts them.
   */
  bytes: number;
  /** Wall time in seconds, rounded to milliseconds. */
  seconds: number;
}

/** The settings a run used, for the report. */
export interface Settings {
  /** The project directory. */
  dir: string;
  /** GOMODCACHE. */
  gomodcache: string;
  /** The GOPROXY list used, credentials removed. */
  goproxy: string;
  /** GONOPROXY patterns. */
  gonoproxy: string;
  /** Requests in flight at most. */
  concurrency: number;
  /** Whether nothing was fetched on purpose. */
  dryRun: boolean;
  /** How the go.sum files were chosen: one module, a go.work workspace, or `--recursive`. */
  project?: "module" | "workspace" | "recursive";
  /** The go.work file in use, in a workspace. */
  workFile?: string;
  /** The go.sum and go.work.sum files read, in merge order. */
  sumFiles?: string[];
}

/** The `.info` files of build-list modules go.sum does not name with a zip. */
export interface BuildListReport {
  /** Modules in the build list, main modules aside (the largest, over several builds). */
  modules: number;
  /** `.info` files fetched for them by this run. */
  infoFetched: number;
  /** Bytes downloaded for those. */
  bytes: number;
  /** Retries spent on those requests. */
  retries: number;
}

/**
 * Why modules missing from the cache were not prefetched: GOPROXY is `direct` or `off`, they
 * match GONOPROXY (or GOPRIVATE), or no proxy before `direct` has them.
 */
export type LeftToGoReason = "direct" | "off" | "gonoproxy" | "fallback";

/**
 * A warning with what a program needs to act on it; `message` is the text printed and listed in
 * {@link PrefetchReport.warnings}:
 * - `nothing-prefetched`: modules were missing from the cache and none was fetched; `modules`
 *   counts them, `reasons` says how many were left for each reason;
 * - `build-list-info`: the build list's `.info` files that could not be fetched, so
 *   `GOPROXY=off go list -m all` fails for those modules (`path@version`, sorted);
 * - `other`: any other warning, such as an unknown hash algorithm in go.sum.
 */
export type ReportWarning =
  | {
    kind: "nothing-prefetched";
    message: string;
    modules: number;
    reasons: Partial<Record<LeftToGoReason, number>>;
  }
  | { kind: "build-list-info"; message: string; modules: string[] }
  | { kind: "other"; message: string };

/** The result of a prefetch run. */
export interface PrefetchReport {
  /** goprefetch's version. */
  tool: { name: string; version: string };
  /** The settings used. */
  settings: Settings;
  /** Why there was nothing to do, if so (for example vendor mode). */
  note?: string;
  /** Warnings, such as unknown hash algorithms in go.sum. */
  warnings: string[];
  /** The same warnings, in the same order, with their kind and the modules they concern. */
  warningDetails: ReportWarning[];
  /** Set when the run was stopped by its signal (SIGINT, SIGTERM, or the library's abort). */
  interrupted?: boolean;
  /**
   * What failed the run as a whole rather than any one module: a proxy that could not be
   * reached (`proxy URL unreachable: cause; what to check`). The run stopped there, and the
   * modules it had not finished are `cancelled`. Absent when no such error happened.
   */
  error?: string;
  /** One record per module version named by go.sum, in go.sum order. */
  modules: ModuleRecord[];
  /** The build list's `.info` files (`GOPROXY=off go list -m all` needs them); not in dry runs. */
  buildList?: BuildListReport;
  /** Totals. */
  totals: Totals;
}

/**
 * Progress events, in order: one `plan`, then `start` as modules start, `install` as their zips
 * go to the install workers, `bytes` as bodies arrive, and `module` as modules finish;
 * `stopsRun` marks the failure that stops the run (without `continueOnError`).
 */
export type ProgressEvent =
  | { type: "plan"; total: number }
  | { type: "start"; path: string; version: string }
  | { type: "install"; path: string; version: string }
  | { type: "bytes"; bytes: number }
  | { type: "module"; record: ModuleRecord; stopsRun?: boolean };

/** Adds up module records into totals. */
export function totalsOf(records: ModuleRecord[], seconds: number): Totals {
  const t: Totals = {
    fetched: 0,
    cached: 0,
    skipped: 0,
    failed: 0,
    cancelled: 0,
    planned: 0,
    bytes: 0,
    seconds: Math.round(seconds * 1000) / 1000,
  };
  for (const r of records) {
    t.bytes += r.bytes;
    if (r.status === "private" || r.status === "direct") t.skipped++;
    else t[r.status]++;
  }
  return t;
}

/**
 * The JSON document of a run that could not start (a usage, setup or permission error) or
 * that ended in an internal error (`internal error: …`).
 */
export interface ErrorReport {
  /** goprefetch's version. */
  tool: { name: string; version: string };
  /** The error, as printed on standard error. */
  error: string;
}
