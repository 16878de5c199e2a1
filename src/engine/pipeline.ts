/**
 * The run itself: for every module version go.sum names, probe the cache, fetch what
 * is missing through the proxy list, and install zips in the worker pool, many modules
 * at once, with the first failure stopping new work unless told to continue.
 *
 * @module
 */
import { InstallError, InstallPool } from "../cache/install_pool.ts";
import { type ModulePaths, modulePaths, readCacheState } from "../cache/module_cache.ts";
import { LeftToGoError, ProxyClient, unproxied, UnreachableError } from "../goproxy/goproxy.ts";
import { ModuleError } from "../module/module_error.ts";
import { matchPrefixPatterns } from "../module/module_path.ts";
import type { ModuleSums } from "../project/gosum.ts";
import { mkdirAll } from "../util/files.ts";
import { MemoryBudget, Semaphore } from "../util/semaphore.ts";
import { startEach } from "../util/turns.ts";
import { completeBuildList } from "./build_list_phase.ts";
import { fetchAndInstallZip, fetchGoMod, fetchInfo } from "./module_files.ts";
import { RecordKeeper } from "./module_record.ts";
import { prefetchToolchain } from "./toolchain.ts";
import type { Context, PipelineOptions } from "./pipeline_context.ts";
import { type ModulePlan, planModule } from "./plan.ts";
import type { BuildListReport, ModuleRecord, ReportWarning } from "./report.ts";

/** `list` rewrites in flight at most, each holding its file open while it waits for the lock. */
const LIST_REWRITES = 32;

/** What a pipeline run did. */
export interface PipelineResult {
  /** One record per module version, in input order. */
  modules: ModuleRecord[];
  /** The build list's `.info` files, when there was a build list to complete. */
  buildList?: BuildListReport;
  /**
   * Build-list `.info` files not fetched, go.mod files the build list could not read, and
   * proxies that could not be reached but that GOPROXY went past (`|`).
   */
  warnings: ReportWarning[];
  /** The proxy that could not be reached, which ended the run. */
  error?: string;
  /** The toolchain's record, when one was asked for. */
  toolchain?: ModuleRecord;
}

/**
 * Runs the pipeline. Every module's go.mod (and a zip module's `.info`) is asked for at once,
 * the request limit queueing them, while zip downloads and installs take one of `concurrency`
 * slots each. So every go.mod is in early, and the build list's `.info` files are fetched while
 * zips are still arriving.
 */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const client = newClient(opts);
  const pool = new InstallPool(opts.workers);
  let toolchain: Promise<ModuleRecord> | undefined;
  const ctx: Context = {
    opts,
    client,
    pool,
    signal,
    zipSlots: new Semaphore(opts.concurrency),
    files: new Semaphore(LIST_REWRITES),
    failed: (record) => {
      if (opts.continueOnError || stop.signal.aborted) return;
      ctx.stoppedBy = record;
      stop.abort();
    },
    unreachable: (e) => {
      error ??= e;
      stop.abort();
    },
  };
  let error: UnreachableError | undefined;
  const goMods = new Countdown(opts.modules.length);
  const turns = new Turns(opts.modules.length);
  try {
    toolchain = opts.toolchain &&
      prefetchToolchain({
        ...opts.toolchain,
        client,
        pool,
        dryRun: opts.dryRun,
        signal: opts.signal,
      });
    const total = opts.modules.length + (opts.toolchain ? 1 : 0);
    opts.onProgress?.({ type: "plan", total });
    const infos = goMods.done.then(() => completeBuildList(ctx));
    const modules = await Promise.all(
      await startEach(opts.modules, async (m, i) => {
        const record = await processModule(ctx, m, goMods.once(), turns.of(i));
        const stopsRun = ctx.stoppedBy === record ? { stopsRun: true } : {};
        opts.onProgress?.({ type: "module", record, ...stopsRun });
        return record;
      }),
    );
    const { buildList, warnings } = await infos;
    const toolchainRecord = await toolchain;
    warnings.push(...wentPast(client, error, toolchainRecord));
    const result: PipelineResult = { modules, buildList, warnings, toolchain: toolchainRecord };
    return error ? { ...result, error: error.message } : result;
  } finally {
    await toolchain;
    pool.close();
    client.close();
  }
}

/**
 * A warning for each proxy that could not be reached but that GOPROXY went past (`|`): not the
 * one that ended the run, nor one the toolchain failed on (its record says so).
 */
function wentPast(
  client: ProxyClient,
  error: UnreachableError | undefined,
  toolchain: ModuleRecord | undefined,
): ReportWarning[] {
  return client.unreachable()
    .filter((e) => e.origin !== error?.origin)
    .filter((e) => !toolchain?.error?.endsWith(`${e.reason}; ${e.hint}`))
    .map((e) => ({
      kind: "other",
      message: `${e.message}; GOPROXY went past it to the next proxy`,
    }));
}

/**
 * The run's one proxy client, shared by the modules and the toolchain. Only the caller's signal
 * stops it as a whole; each module's requests also carry the run's own stop.
 */
function newClient(opts: PipelineOptions): ProxyClient {
  return new ProxyClient({
    entries: opts.proxies,
    concurrency: opts.concurrency,
    retries: opts.retries,
    stallTimeoutMs: opts.stallTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    budget: new MemoryBudget(opts.memoryBudget),
    umask: opts.umask,
    signal: opts.signal ?? new AbortController().signal,
    onBytes: (bytes) => opts.onProgress?.({ type: "bytes", bytes }),
  });
}

/** Resolves `done` once `once()`'s functions have all been called, each counting once. */
class Countdown {
  readonly done: Promise<void>;
  #left: number;
  #resolve!: () => void;

  constructor(count: number) {
    this.#left = count;
    this.done = new Promise((resolve) => this.#resolve = resolve);
    if (count === 0) this.#resolve();
  }

  once(): () => void {
    let called = false;
    return () => {
      if (called) return;
      called = true;
      if (--this.#left === 0) this.#resolve();
    };
  }
}

/**
 * Lets modules queue for zip slots in input order, whatever order their cache probes finish
 * in: module i queues once module i-1 has queued or found it needs no zip.
 */
class Turns {
  #passed: Promise<void>[] = [];
  #pass: (() => void)[] = [];

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      this.#passed.push(new Promise((resolve) => this.#pass.push(resolve)));
    }
  }

  /** Module i's turn: `wait()` for the one before it, then `pass()` to the one after. */
  of(i: number): Turn {
    return {
      wait: () => i === 0 ? Promise.resolve() : this.#passed[i - 1],
      pass: () => this.#pass[i](),
    };
  }
}

interface Turn {
  wait(): Promise<void>;
  pass(): void;
}

async function processModule(
  ctx: Context,
  m: ModuleSums,
  goModSettled: () => void,
  turn: Turn,
): Promise<ModuleRecord> {
  const keeper = new RecordKeeper(m.path, m.version, m.zipHashes.length > 0);
  const begin = () => {
    keeper.restart();
    ctx.opts.onProgress?.({ type: "start", path: m.path, version: m.version });
  };
  try {
    if (ctx.signal.aborted) return keeper.finish("cancelled");
    if (matchPrefixPatterns(ctx.opts.gonoproxy, m.path)) return keeper.finish("private");
    const p = modulePaths(ctx.opts.root, m.path, m.version);
    const plan = planModule(readCacheState(p), m);
    keeper.record.files.push(...plan.files);
    if (!plan.files.includes("zip")) {
      turn.pass();
      begin();
    }
    if (plan.refusedZiphash !== undefined) throw ziphashRefused(m, p, plan.refusedZiphash);
    if (plan.files.length === 0) return keeper.finish("cached");
    if (ctx.opts.dryRun) {
      const left = unproxied(ctx.opts.proxies);
      if (left) throw left;
      return keeper.finish("planned");
    }
    const first = await fetchModule(ctx, m, p, plan, keeper.record, { goModSettled, turn, begin });
    if (!first) return keeper.finish("fetched");
    return first.own ? failModule(ctx, keeper, first.error) : keeper.finish("cancelled");
  } catch (e) {
    return ctx.signal.aborted ? keeper.finish("cancelled") : failModule(ctx, keeper, e);
  } finally {
    turn.pass();
    goModSettled();
  }
}

/** Settles a module that failed: left to go, cut off with its proxy, or failed on its own. */
function failModule(ctx: Context, keeper: RecordKeeper, e: unknown): ModuleRecord {
  if (e instanceof LeftToGoError) return keeper.finish("direct");
  if (e instanceof UnreachableError) {
    ctx.unreachable(e);
    return keeper.finish("cancelled");
  }
  ctx.failed(keeper.record);
  return keeper.failed(e);
}

/** The points where a module's fetch meets the rest of the run. */
interface Steps {
  /** Counts the module's go.mod as settled, for the build list. */
  goModSettled: () => void;
  /** The module's turn to queue for a zip slot. */
  turn: Turn;
  /** Marks the start of the module's own work (its zip slot, or at once without a zip). */
  begin: () => void;
}

/**
 * Fetches the planned files: the go.mod and `.info` at once, the zip in its turn and zip slot.
 * Resolves with the first error, `own` unless it came of the run being stopped.
 */
async function fetchModule(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  plan: ModulePlan,
  record: ModuleRecord,
  steps: Steps,
): Promise<{ error: unknown; own: boolean } | undefined> {
  mkdirAll(p.atV);
  const goMod = plan.files.includes("mod") ? fetchGoMod(ctx, m, p, record) : Promise.resolve();
  goMod.finally(steps.goModSettled).catch(() => {});
  const needZip = plan.files.includes("zip");
  if (needZip) await steps.turn.wait();
  const zip = needZip
    ? ctx.zipSlots.run(() => {
      steps.begin();
      return fetchAndInstallZip(ctx, m, p, record, goMod);
    })
    : undefined;
  steps.turn.pass();
  let first: { error: unknown; own: boolean } | undefined;
  const settle = (part: Promise<void> | undefined) =>
    part?.catch((error) => {
      if (first) return;
      first = { error, own: !ctx.signal.aborted || error instanceof InstallError };
      if (error instanceof UnreachableError) ctx.unreachable(error);
      else if (first.own && !(error instanceof LeftToGoError)) ctx.failed(record);
    });
  const info = plan.files.includes("info") ? fetchInfo(ctx, m, p, record) : undefined;
  await Promise.all([goMod, info, zip].map(settle));
  return first;
}

/**
 * Go's `checkMod` on a complete module: a `.ziphash` go.sum does not list makes go refuse the
 * module on every use, so it fails here too, and the tree is left as it is.
 */
function ziphashRefused(m: ModuleSums, p: ModulePaths, ziphash: string): Error {
  return new ModuleError(
    m.path,
    m.version,
    `checksum mismatch: ${p.base}.ziphash has ${ziphash}, ` +
      `go.sum has ${m.zipHashes.join(" or ")}, so go refuses the module (SECURITY ERROR). ` +
      `If go.sum is right, the cache is corrupt: remove ${p.dir} and ${p.base}.ziphash, ` +
      "then rerun.",
  );
}
