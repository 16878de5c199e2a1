/**
 * What the steps of a pipeline run share: its options, the proxy client, the install pool, the
 * limits on work in flight, and how a failure stops the run.
 *
 * @module
 */
import type { InstallPool } from "../cache/install_pool.ts";
import type { ProxyClient, UnreachableError } from "../goproxy/goproxy.ts";
import type { ProxyEntry } from "../goproxy/proxy_list.ts";
import type { BuildListInput } from "../project/build_list.ts";
import type { ModuleSums } from "../project/gosum.ts";
import type { Semaphore } from "../util/semaphore.ts";
import type { RunSettings } from "./defaults.ts";
import type { ToolchainOptions } from "./toolchain.ts";
import type { ModuleRecord, ProgressEvent } from "./report.ts";

/** Everything a pipeline run needs; no defaults are read from the process here. */
export interface PipelineOptions extends RunSettings {
  /** The module versions to prefetch. */
  modules: ModuleSums[];
  /**
   * The builds whose build list gets `.info` files (as `go list -m all` needs them offline),
   * computed once every go.mod is in the cache.
   */
  buildLists: BuildListInput[];
  /** GOMODCACHE, absolute. */
  root: string;
  /** Leave extracted directories writable. */
  modcacherw: boolean;
  /** The process umask. */
  umask: number;
  /** The GOPROXY list. */
  proxies: ProxyEntry[];
  /** GONOPROXY patterns: matching modules are left to the go command. */
  gonoproxy: string;
  /** Install workers. */
  workers: number;
  /** Keep going after a module fails. */
  continueOnError: boolean;
  /** Receives progress events. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The Go toolchain to fetch beside the modules, through the same client and install pool;
   * it is not stopped by a module's failure, only by `signal`.
   */
  toolchain?: Omit<ToolchainOptions, "client" | "pool" | "dryRun" | "signal">;
}

export interface Context {
  opts: PipelineOptions;
  client: ProxyClient;
  pool: InstallPool;
  signal: AbortSignal;
  /** Zip downloads and installs in flight at most. */
  zipSlots: Semaphore;
  /**
   * Bounds the `list` rewrites, the one small file write that waits (for go's lock on the
   * file) with the file open: modules start in quick succession, and unbounded, their open files
   * would exhaust a low file descriptor limit (256 by default on macOS). The other small file
   * calls are synchronous and close their files before they return.
   */
  files: Semaphore;
  /** Called at a module's first failure: stops new work unless the run continues on error. */
  failed: (record: ModuleRecord) => void;
  /** The failed module that stopped the run, if one did. */
  stoppedBy?: ModuleRecord;
  /**
   * Called when a proxy the run may not go past cannot be reached: the run's failure, not the
   * module's. The first is kept, and the run stops even with `continueOnError`.
   */
  unreachable: (e: UnreachableError) => void;
}
