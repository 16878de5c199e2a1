/**
 * The run itself: for every module version go.sum names, probe the cache, fetch what
 * is missing through the proxy list, and install zips in the worker pool, many modules
 * at once, with the first failure stopping new work unless told to continue.
 *
 * @module
 */
import { type BuildListInput, computeBuildList } from "../project/build_list.ts";
import { hashGoMod } from "../zip/dirhash.ts";
import { moduleKey, type ModuleVersion } from "../project/go_mod.ts";
import {
  type Fetched,
  LeftToGoError,
  ProxyClient,
  unproxied,
  UnreachableError,
  type ZipBody,
} from "../goproxy/goproxy.ts";
import type { ModuleSums } from "../project/gosum.ts";
import { canonicalInfo } from "../goproxy/info.ts";
import type { InstallJob } from "../cache/installer.ts";
import { InstallError, InstallPool } from "../cache/install_pool.ts";
import {
  cachedGoMods,
  lockVersion,
  type ModulePaths,
  modulePaths,
  readCacheState,
  rewriteVersionList,
  writeFileAtomic,
  zipComplete,
} from "../cache/module_cache.ts";
import { mkdirAll } from "../util/files.ts";
import { matchPrefixPatterns } from "../module/module_path.ts";
import type { ProxyEntry } from "../goproxy/proxy_list.ts";
import type { BuildListReport, ModuleRecord, ProgressEvent, ReportWarning } from "./report.ts";
import { MemoryBudget, Semaphore } from "../util/semaphore.ts";
import { RecordKeeper } from "./module_record.ts";
import { type ModulePlan, planModule } from "./plan.ts";
import { missingInfos } from "./warnings.ts";

/** Everything a pipeline run needs; no defaults are read from the process here. */
export interface PipelineOptions {
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
  /** Requests (and modules) in flight at most. */
  concurrency: number;
  /** Retries per request. */
  retries: number;
  /** Stall timeout of a body, in milliseconds. */
  stallTimeoutMs: number;
  /** Deadline of one request attempt, in milliseconds. */
  requestTimeoutMs: number;
  /** Bytes of zips held in memory at most; larger bodies go to temp files. */
  memoryBudget: number;
  /** Install workers. */
  workers: number;
  /** Plan only: make no request, write nothing. */
  dryRun: boolean;
  /** Keep going after a module fails. */
  continueOnError: boolean;
  /** Stops the run. */
  signal?: AbortSignal;
  /** Receives progress events. */
  onProgress?: (event: ProgressEvent) => void;
}

interface Context {
  opts: PipelineOptions;
  client: ProxyClient;
  pool: InstallPool;
  budget: MemoryBudget;
  signal: AbortSignal;
  /** Zip downloads and installs in flight at most. */
  zipSlots: Semaphore;
  /**
   * Bounds the small file work outside zip slots (probes, `.mod`, `.info` and `list` writes):
   * every module starts at once, and unbounded, their open files would exhaust a low file
   * descriptor limit (256 by default on macOS).
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

/** Small file operations in flight at most, each holding two or three files open. */
const FILE_OPS = 32;

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
  const budget = new MemoryBudget(opts.memoryBudget);
  const client = new ProxyClient({
    entries: opts.proxies,
    concurrency: opts.concurrency,
    retries: opts.retries,
    stallTimeoutMs: opts.stallTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    budget,
    umask: opts.umask,
    signal,
    onBytes: (bytes) => opts.onProgress?.({ type: "bytes", bytes }),
  });
  const ctx: Context = {
    opts,
    client,
    pool: new InstallPool(opts.workers),
    budget,
    signal,
    zipSlots: new Semaphore(opts.concurrency),
    files: new Semaphore(FILE_OPS),
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
  opts.onProgress?.({ type: "plan", total: opts.modules.length });
  try {
    const infos = goMods.done.then(() => completeBuildList(ctx));
    const modules = await Promise.all(opts.modules.map(async (m, i) => {
      const record = await processModule(ctx, m, goMods.once(), turns.of(i));
      const stopsRun = ctx.stoppedBy === record ? { stopsRun: true } : {};
      opts.onProgress?.({ type: "module", record, ...stopsRun });
      return record;
    }));
    const { buildList, warnings } = await infos;
    for (const e of client.unreachable()) {
      if (error?.origin !== e.origin) {
        warnings.push({
          kind: "other",
          message: `${e.message}; GOPROXY went past it to the next proxy`,
        });
      }
    }
    return { modules, buildList, warnings, ...error && { error: error.message } };
  } finally {
    ctx.pool.close();
    client.close();
  }
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
    const plan = planModule(await ctx.files.run(() => readCacheState(p)), m);
    keeper.record.files.push(...plan.files);
    if (!plan.files.includes("zip")) {
      turn.pass();
      begin();
    }
    if (plan.refusedZiphash !== undefined) throw ziphashRefused(m, p, plan.refusedZiphash);
    if (plan.files.length === 0) return keeper.finish("cached");
    if (ctx.opts.dryRun) {
      const left = unproxied(ctx.opts.proxies, m.path, m.version);
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
  await ctx.files.run(() => mkdirAll(p.atV));
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

async function fetchGoMod(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
): Promise<void> {
  const got = count(record, await ctx.client.fetchSmall(m.path, m.version, "mod"));
  const h = hashGoMod(got);
  if (m.goModHashes.length > 0 && !m.goModHashes.includes(h)) {
    throw new Error(
      `${m.path}@${m.version}: go.mod checksum mismatch: the proxy's go.mod has ${h}, ` +
        `go.sum has ${m.goModHashes.join(" or ")}; nothing was written to the cache.`,
    );
  }
  await ctx.files.run(async () => {
    await writeFileAtomic(p.base + ".mod", got, ctx.opts.umask);
    await rewriteVersionList(p.atV, ctx.opts.umask);
  });
}

async function fetchInfo(
  ctx: Context,
  m: ModuleVersion,
  p: ModulePaths,
  record: Tally,
  background = false,
): Promise<void> {
  const fetched = await ctx.client.fetchSmall(m.path, m.version, "info", background);
  const got = count(record, fetched);
  let info: string;
  try {
    info = canonicalInfo(got, m.version);
  } catch (e) {
    throw new Error(`${m.path}@${m.version}: ${(e as Error).message}`);
  }
  await ctx.files.run(() => writeFileAtomic(p.base + ".info", info, ctx.opts.umask));
}

/**
 * Under go's version lock: re-check, then install from a cached zip when there is one and it
 * matches go.sum, else download and install. A cached zip beside a tree that lacks only a
 * well-formed `.ziphash` is hashed, not extracted again, as go's `hashZip` does. The download
 * overlaps the go.mod fetch, but nothing is installed unless the go.mod checked out, as go
 * checks it first.
 */
async function fetchAndInstallZip(
  ctx: Context,
  m: ModuleSums,
  p: ModulePaths,
  record: ModuleRecord,
  goMod: Promise<void>,
): Promise<void> {
  const lock = await lockVersion(p, ctx.opts.umask);
  try {
    const state = await readCacheState(p);
    if (zipComplete(state)) return;
    const job: InstallJob = {
      root: ctx.opts.root,
      path: m.path,
      version: m.version,
      zipHashes: m.zipHashes,
      modcacherw: ctx.opts.modcacherw,
      umask: ctx.opts.umask,
      zip: { kind: "cached", treeInPlace: state.tree },
    };
    const installing = () =>
      ctx.opts.onProgress?.({ type: "install", path: m.path, version: m.version });
    if (state.hasZip) {
      await goMod;
      try {
        installing();
        await ctx.pool.install(job);
        return;
      } catch {
        await Deno.remove(p.base + ".zip").catch(() => {});
        await Deno.remove(p.base + ".ziphash").catch(() => {});
      }
    }
    const fetched = await ctx.client.fetchZip(
      m.path,
      m.version,
      () => `${p.base}.zip${Math.floor(Math.random() * 1e9)}.tmp`,
    );
    const body: ZipBody = fetched.body;
    record.proxy = fetched.proxy;
    record.retries += fetched.retries;
    record.bytes += body.kind === "bytes" ? body.bytes.length : body.size;
    const goModOk = await goMod.then(() => true, () => false);
    if (ctx.signal.aborted || !goModOk) {
      await ctx.client.discard(body);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return;
    }
    job.zip = body.kind === "bytes"
      ? { kind: "bytes", bytes: body.bytes }
      : { kind: "tempFile", file: body.file };
    try {
      installing();
      await ctx.pool.install(job);
    } finally {
      await ctx.client.discard(body);
    }
  } finally {
    lock.close();
  }
}

/**
 * Go writes `.info` only for modules it downloads, yet `GOPROXY=off go list -m all` needs it
 * for every module in the build list, including modules go.sum names only by their go.mod and
 * requirements of pruned modules that go.sum does not name at all. Once every go.mod is in the
 * cache, goprefetch computes the build list and fetches the missing `.info` files, best effort:
 * go never asks for them during a build, so a failure is a warning, not a failed module.
 */
async function completeBuildList(
  ctx: Context,
): Promise<Pick<PipelineResult, "buildList" | "warnings">> {
  const { buildLists, dryRun, root, modules, gonoproxy } = ctx.opts;
  if (buildLists.length === 0 || dryRun || ctx.signal.aborted) return { warnings: [] };
  const source = cachedGoMods(root);
  const zips = new Set(modules.filter((m) => m.zipHashes.length > 0).map(moduleKey));
  const named = new Set(modules.map(moduleKey));
  const queries = new Map<string, ModuleVersion>();
  const unnamed = new Set<string>();
  const noGoModDirs = new Set<string>();
  let listed = 0;
  for (const input of buildLists) {
    const list = computeBuildList(input, source);
    listed = Math.max(listed, list.modules.length);
    for (const m of list.infoQueries) queries.set(moduleKey(m), m);
    for (const m of list.unreadable) {
      if (m.version === "") noGoModDirs.add(m.path);
      else if (!named.has(moduleKey(m))) unnamed.add(moduleKey(m));
    }
  }
  const report: BuildListReport = { modules: listed, infoFetched: 0, bytes: 0, retries: 0 };
  const warnings: ReportWarning[] = [];
  if (unnamed.size > 0) {
    warnings.push({
      kind: "other",
      message: `The build list is incomplete: go.sum names no go.mod for ${
        [...unnamed].join(", ")
      }; run "go mod tidy" to record them`,
    });
  }
  for (const dir of noGoModDirs) {
    warnings.push({
      kind: "other",
      message: `The build list is incomplete: replacement directory ${dir} has no go.mod`,
    });
  }
  const missing: { id: string; why: string }[] = [];
  await Promise.all([...queries.values()].map(async (m) => {
    if (zips.has(moduleKey(m)) || matchPrefixPatterns(gonoproxy, m.path)) return;
    const p = modulePaths(root, m.path, m.version);
    const cached = await ctx.files.run(() =>
      Deno.stat(p.base + ".info").then(() => true, () => false)
    );
    if (cached || ctx.signal.aborted) return;
    try {
      await ctx.files.run(() => mkdirAll(p.atV));
      const got: Tally = { bytes: 0, retries: 0 };
      await fetchInfo(ctx, m, p, got, true);
      report.infoFetched++;
      report.bytes += got.bytes;
      report.retries += got.retries;
    } catch (e) {
      if (e instanceof UnreachableError) ctx.unreachable(e);
      if (ctx.signal.aborted) return;
      const id = moduleKey(m);
      missing.push({ id, why: (e as Error).message.replace(`${id}: `, "") });
    }
  }));
  const missed = missingInfos(missing);
  return { buildList: report, warnings: missed ? [...warnings, missed] : warnings };
}

/**
 * Go's `checkMod` on a complete module: a `.ziphash` go.sum does not list makes go refuse the
 * module on every use, so it fails here too, and the tree is left as it is.
 */
function ziphashRefused(m: ModuleSums, p: ModulePaths, ziphash: string): Error {
  return new Error(
    `${m.path}@${m.version}: checksum mismatch: ${p.base}.ziphash has ${ziphash}, ` +
      `go.sum has ${m.zipHashes.join(" or ")}, so go refuses the module (SECURITY ERROR). ` +
      `If go.sum is right, the cache is corrupt: remove ${p.dir} and ${p.base}.ziphash, ` +
      "then rerun.",
  );
}

/** What a module's record, or the build list's report, adds up from its requests. */
type Tally = Pick<ModuleRecord, "bytes" | "retries" | "proxy">;

function count(record: Tally, fetched: Fetched<Uint8Array>): Uint8Array {
  record.bytes += fetched.body.length;
  record.retries += fetched.retries;
  record.proxy ??= fetched.proxy;
  return fetched.body;
}
