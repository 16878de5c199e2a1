/**
 * One prefetch run from a project directory: resolve the go environment, find the go.sum
 * files that apply (module, workspace or recursive), decide what there is to do, run the
 * pipeline, and build the report.
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { BuildListInput, MainModule } from "../project/build_list.ts";
import { findGoBinary, type GoEnv } from "../project/go_env.ts";
import type { GoSum } from "../project/gosum.ts";
import type { Host } from "../project/host.ts";
import { proxyAuthorization } from "../goproxy/netrc.ts";
import { type PipelineResult, runPipeline } from "./pipeline.ts";
import type { Project } from "../project/project.ts";
import { parseProxyList, type ProxyEntry, redactUrl } from "../goproxy/proxy_list.ts";
import type { PrefetchReport, ProgressEvent, ReportWarning } from "./report.ts";
import { totalsOf } from "./report.ts";
import { type RunSettings, runSettings } from "./defaults.ts";
import {
  asSetupError,
  loadSetup,
  loadSums,
  type Setup,
  SetupError,
  type SetupOptions,
  toolchainVersion,
} from "./setup.ts";
import { VERSION } from "./version.ts";
import { nothingPrefetched, warningDetails } from "./warnings.ts";

/** Options of a prefetch run; every field has a default. */
export interface PrefetchOptions extends SetupOptions {
  /** Proxy list used instead of GOPROXY, same syntax. */
  proxy?: string;
  /** Requests in flight at most. Default 256. */
  concurrency?: number;
  /** Retries of a transient failure per request. Default 4. */
  retries?: number;
  /** Abort and retry a body that delivers nothing for this long. Default 30 000 ms. */
  stallTimeoutMs?: number;
  /**
   * Abort and retry a request attempt that has not finished (headers and whole body) after
   * this long, however steadily its bytes arrive; each retry gets this long again. Default
   * 600 000 ms (10 minutes).
   */
  requestTimeoutMs?: number;
  /** Bytes of zip bodies held in memory at most; larger ones stream to temp files. Default 8 MiB. */
  memoryBudget?: number;
  /** Plan only: report what would be fetched, fetch nothing. */
  dryRun?: boolean;
  /** Keep going after a module fails. Default false: the first failure stops new work. */
  continueOnError?: boolean;
  /**
   * Stops the run: the run still resolves with a report, in which every module not finished
   * is `cancelled` (see `prefetch()`); finished modules stay, partial ones are removed.
   */
  signal?: AbortSignal;
  /** Receives progress events. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Runs a prefetch against the given host facts. */
export async function runPrefetch(options: PrefetchOptions, host: Host): Promise<PrefetchReport> {
  const started = performance.now();
  const setup = loadSetup(options, host);
  const { env, gomodcache, project } = setup;
  const goproxy = options.proxy ?? env.GOPROXY;
  const settings = runSettings(options);
  const report = newReport(setup, goproxy, settings);
  if (project.vendor) {
    report.note = project.vendor;
    report.warningDetails = warningDetails(report.warnings, []);
    return report;
  }
  if (goproxy === "") throw new SetupError(emptyGoproxy(env, host));
  let received = 0;
  const onBytes = (bytes: number) => {
    received += bytes;
    options.onProgress?.({ type: "bytes", bytes });
  };
  if (!settings.dryRun) createCacheDir(gomodcache);
  const sum = loadProjectSums(project, host);
  report.warnings.push(...sum.warnings);
  const processEnv = { ...host.env, ...options.env };
  const proxies = proxyEntries(goproxy, env, { ...host, env: processEnv }, report.warnings);
  const toolchain = toolchainVersion(options, setup, host);
  const result = await runPipeline({
    ...settings,
    modules: [...sum.modules.values()],
    buildLists: buildListInputs(project),
    root: gomodcache,
    modcacherw: env.modcacherw,
    umask: host.umask,
    proxies,
    gonoproxy: env.GONOPROXY,
    workers: Math.min(Math.max(navigator.hardwareConcurrency, 1), 4),
    continueOnError: options.continueOnError ?? false,
    onProgress: (event) =>
      event.type === "bytes" ? onBytes(event.bytes) : options.onProgress?.(event),
    toolchain: toolchain === undefined ? undefined : {
      root: gomodcache,
      sumdbDir: env.sumdbDir,
      version: toolchain,
      gosumdb: env.GOSUMDB,
      gonosumdb: env.GONOSUMDB,
      goproxy,
      gitHttpUserAgent: processEnv.GIT_HTTP_USER_AGENT,
      proxies,
      umask: host.umask,
    },
  });
  finishReport(report, result, proxies);
  if (result.toolchain) options.onProgress?.({ type: "module", record: result.toolchain });
  if (options.signal?.aborted) report.interrupted = true;
  report.totals = totalsOf(report.modules, (performance.now() - started) / 1000);
  report.totals.bytes = received;
  return report;
}

/** The go.sum files of `project` merged, but those of modules go builds from vendor/. */
function loadProjectSums(project: Project, host: Host): GoSum {
  const vendored = project.vendored.map((v) => v.sumFile);
  return loadSums(project.sumFiles.filter((f) => !vendored.includes(f)), host, project.workFile);
}

/** The report of a run that has not started yet: its settings, and the vendored go.sum files left out. */
function newReport(setup: Setup, goproxy: string, settings: RunSettings): PrefetchReport {
  const { dir, env, gomodcache, project } = setup;
  return {
    tool: { name: "goprefetch", version: VERSION },
    settings: {
      dir,
      gomodcache,
      goproxy: goproxy.split(/([,|])/).map(redactUrl).join(""),
      gonoproxy: env.GONOPROXY,
      concurrency: settings.concurrency,
      dryRun: settings.dryRun,
      project: project.mode,
      workFile: project.workFile,
      sumFiles: project.sumFiles,
    },
    warnings: project.vendored.map((v) => `${v.dir}: ${v.reason}, so its go.sum is left out`),
    warningDetails: [],
    modules: [],
    totals: totalsOf([], 0),
  };
}

/**
 * Puts the pipeline's result and the toolchain's record into `report`, with the warnings. A
 * toolchain cut off by the proxy that ended the run counts as cancelled, as the modules do.
 */
function finishReport(report: PrefetchReport, result: PipelineResult, proxies: ProxyEntry[]): void {
  const toolchain = result.toolchain;
  report.modules = result.modules;
  report.buildList = result.buildList;
  if (result.error) report.error = result.error;
  if (toolchain) {
    if (result.error && toolchain.error?.endsWith(result.error)) {
      toolchain.status = "cancelled";
      delete toolchain.error;
    }
    report.modules.push(toolchain);
  }
  let structured: ReportWarning[] = result.warnings;
  const { gonoproxy, dryRun } = report.settings;
  const none = nothingPrefetched(report.modules, proxies, gonoproxy, dryRun);
  if (none) structured = [none, ...structured.filter((w) => w.kind !== "build-list-info")];
  report.warnings.push(...structured.map((w) => w.message));
  report.warningDetails = warningDetails(report.warnings, structured);
}

/**
 * The builds whose build list the run completes: the module, the workspace, or in a recursive
 * run each module go does not build from vendor/. A go.mod go could not parse leaves its build
 * out: go reports that itself, and the go.sum files still get fetched.
 */
function buildListInputs(project: Project): BuildListInput[] {
  const vendored = new Set(project.vendored.map((v) => v.dir));
  const mains: MainModule[] = [];
  for (const dir of project.modules) {
    const goMod = project.goMods.get(dir);
    if (goMod && !vendored.has(dir)) mains.push({ dir, goMod });
  }
  if (project.workReplace && project.workFile) {
    if (mains.length !== project.modules.length) return [];
    return [{ mains, workspace: { dir: dirname(project.workFile), replace: project.workReplace } }];
  }
  return mains.map((main) => ({ mains: [main] }));
}

/**
 * As go's `checkCacheDir`: GOMODCACHE is created if missing. It must also be writable, which
 * go finds out only at its first write: an empty file is created and removed in
 * `cache/download` to prove it up front. A leading dot keeps its name out of every module
 * path and every pattern go's clean-up deletes, and the directory gets its times back, so a
 * run with nothing to do changes nothing.
 */
function createCacheDir(gomodcache: string): void {
  const download = join(gomodcache, "cache", "download");
  try {
    Deno.mkdirSync(download, { recursive: true, mode: 0o777 });
  } catch (e) {
    throw new SetupError(
      `Could not create module cache ${gomodcache}: ${(e as Error).message}. ` +
        "Point GOMODCACHE at a writable directory.",
      { cause: e },
    );
  }
  const probe = join(download, `.goprefetch-write-probe-${crypto.randomUUID()}`);
  try {
    const { atime, mtime } = Deno.statSync(download);
    Deno.writeFileSync(probe, new Uint8Array(), { createNew: true, mode: 0o600 });
    Deno.removeSync(probe);
    if (atime && mtime) restoreTimes(download, atime, mtime);
  } catch (e) {
    throw new SetupError(
      `Module cache ${gomodcache} is not writable: ${(e as Error).message}. ` +
        "Point GOMODCACHE at a writable directory.",
      { cause: e },
    );
  }
}

/** Gives `dir` back the times it had; best effort, as the probe's only trace. */
function restoreTimes(dir: string, atime: Date, mtime: Date): void {
  try {
    Deno.utimeSync(dir, atime, mtime);
  } catch {
    // The times are a courtesy: a directory whose times cannot be set is still usable.
  }
}

/**
 * Why GOPROXY is empty, which go's own defaults never leave it: `$GOROOT/go.env` sets it, so
 * there is no GOROOT (no go on PATH), or that file may not be read, or it does not set it.
 */
function emptyGoproxy(env: GoEnv, host: Host): string {
  const example = "for example GOPROXY=https://proxy.golang.org,direct";
  if (env.GOROOT === "") {
    const pathEnv = host.env.PATH ?? host.env.Path ?? "";
    const hidden = findGoBinary(pathEnv, host.os, (candidate) => !host.mayRead(candidate));
    if (hidden !== undefined) {
      return "GOPROXY is not set, and Deno's --allow-read leaves out the go command on PATH " +
        `whose $GOROOT/go.env would set it: add --allow-read=${dirname(hidden)}, or set GOPROXY`;
    }
    return "GOPROXY is not set, and there is no go command on PATH whose $GOROOT/go.env would " +
      `set it: set GOPROXY (${example}), or GOROOT to a Go installation, or pass --proxy`;
  }
  const file = join(env.GOROOT, "go.env");
  if (!host.mayRead(file)) {
    return `GOPROXY is not set, and Deno's --allow-read leaves out ${file} ($GOROOT/go.env), ` +
      `which sets it: add --allow-read=${file}, or set GOPROXY`;
  }
  const state = host.readTextFile(file) === undefined ? "cannot be read" : "does not set it";
  return `GOPROXY is not set, and ${file} ($GOROOT/go.env) ${state}: set GOPROXY (${example}) ` +
    "or pass --proxy";
}

/** The parsed proxy list, https entries carrying the GOAUTH (netrc) credentials. */
function proxyEntries(goproxy: string, env: GoEnv, host: Host, warnings: string[]): ProxyEntry[] {
  try {
    const entries = parseProxyList(goproxy, env.GONOPROXY);
    if (!entries.some((e) => e.kind === "url" && /^https:/i.test(e.url))) return entries;
    const auth = proxyAuthorization({
      goauth: env.GOAUTH,
      env: host.env,
      os: host.os,
      readTextFile: host.readTextFile,
    });
    warnings.push(...auth.warnings);
    return entries.map((e) => e.kind === "url" ? { ...e, authorization: auth.authorization } : e);
  } catch (e) {
    throw asSetupError(e);
  }
}
