/**
 * One prefetch run from a project directory: read go.mod and go.sum, resolve the go
 * environment, decide what there is to do, run the pipeline, and build the report.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { type GoEnv, resolveGoEnv } from "./go_env.ts";
import { compareGoVersions, goDirective } from "./go_mod.ts";
import { type GoSum, parseGoSum } from "./gosum.ts";
import type { Host } from "./host.ts";
import { runPipeline } from "./pipeline.ts";
import { parseProxyList, redactUrl } from "./proxy_list.ts";
import type { PrefetchReport, ProgressEvent } from "./report.ts";
import { totalsOf } from "./report.ts";

/** goprefetch's version, as published. */
export const VERSION = "0.1.0";

/** Options of a prefetch run; every field has a default. */
export interface PrefetchOptions {
  /** Project directory holding go.mod and go.sum. Default: the current directory. */
  dir?: string;
  /** Proxy list used instead of GOPROXY, same syntax. */
  proxy?: string;
  /** Requests in flight at most. Default 64. */
  concurrency?: number;
  /** GOMODCACHE to fill instead of the go environment's. */
  gomodcache?: string;
  /** Environment variables laid over the process environment (for example GOPRIVATE). */
  env?: Record<string, string>;
  /** Retries of a transient failure per request. Default 4. */
  retries?: number;
  /** Abort and retry a body that delivers nothing for this long. Default 30 000 ms. */
  stallTimeoutMs?: number;
  /** Bytes of zip bodies held in memory at most; larger ones stream to temp files. Default 32 MiB. */
  memoryBudget?: number;
  /** Plan only: report what would be fetched, fetch nothing. */
  dryRun?: boolean;
  /** Keep going after a module fails. Default false: the first failure stops new work. */
  continueOnError?: boolean;
  /** Stops the run; finished modules stay, partial ones are removed. */
  signal?: AbortSignal;
  /** Receives progress events. */
  onProgress?: (event: ProgressEvent) => void;
}

/** The run cannot start: no go.mod or go.sum, or a go environment go itself would reject. */
export class SetupError extends Error {
  override name = "SetupError";
}

const MEMORY_BUDGET = 32 * 1024 * 1024;

/** Runs a prefetch against the given host facts. */
export async function runPrefetch(options: PrefetchOptions, host: Host): Promise<PrefetchReport> {
  const started = performance.now();
  const dir = resolve(host.cwd, options.dir ?? ".");
  const goMod = readProjectFile(host, dir, "go.mod");
  if (goMod === undefined) {
    throw new SetupError(`No go.mod in ${dir}: goprefetch needs the directory of a Go module`);
  }
  const env = goEnv(host, options);
  const gomodcache = options.gomodcache ?? env.GOMODCACHE;
  if (!isAbsolute(gomodcache)) {
    throw new SetupError(`GOMODCACHE entry is relative; must be absolute path: "${gomodcache}"`);
  }
  const goproxy = options.proxy ?? env.GOPROXY;
  const concurrency = options.concurrency ?? 64;
  const report: PrefetchReport = {
    tool: { name: "goprefetch", version: VERSION },
    settings: {
      dir,
      gomodcache,
      goproxy: goproxy.split(/([,|])/).map(redactUrl).join(""),
      gonoproxy: env.GONOPROXY,
      concurrency,
      dryRun: options.dryRun ?? false,
    },
    warnings: [],
    modules: [],
    totals: totalsOf([], 0),
  };
  const vendor = vendorReason(host, dir, goMod, env);
  if (vendor) {
    report.note = vendor;
    return report;
  }
  const sum = readGoSum(host, dir, goMod);
  report.warnings = sum.warnings;
  let proxies;
  try {
    proxies = parseProxyList(goproxy, env.GONOPROXY);
  } catch (e) {
    throw new SetupError((e as Error).message);
  }
  report.modules = await runPipeline({
    modules: [...sum.modules.values()],
    root: gomodcache,
    modcacherw: env.modcacherw,
    umask: host.umask,
    proxies,
    gonoproxy: env.GONOPROXY,
    concurrency,
    retries: options.retries ?? 4,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    requestTimeoutMs: 10 * 60_000,
    memoryBudget: options.memoryBudget ?? MEMORY_BUDGET,
    workers: Math.min(Math.max(navigator.hardwareConcurrency, 1), 4),
    dryRun: options.dryRun ?? false,
    continueOnError: options.continueOnError ?? false,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  report.totals = totalsOf(report.modules, (performance.now() - started) / 1000);
  return report;
}

function goEnv(host: Host, options: PrefetchOptions): GoEnv {
  try {
    return resolveGoEnv({
      env: { ...host.env, ...options.env },
      os: host.os,
      readTextFile: host.readTextFile,
      goBinary: host.goBinary,
    });
  } catch (e) {
    throw new SetupError((e as Error).message);
  }
}

/** Go uses vendor/ instead of the cache under -mod=vendor, or by default from go 1.14 on. */
function vendorReason(host: Host, dir: string, goMod: string, env: GoEnv): string | undefined {
  if (env.mod === "vendor") {
    return "GOFLAGS sets -mod=vendor: go builds from vendor/, nothing to fetch";
  }
  if (env.mod !== "") return undefined;
  const goVersion = goDirective(goMod);
  if (goVersion === "" || compareGoVersions(goVersion, "1.14") < 0) return undefined;
  if (!host.isDirectory(join(dir, "vendor"))) return undefined;
  const modulesTxt = host.readTextFile(join(dir, "vendor", "modules.txt")) ?? "";
  if (isWorkspaceVendor(modulesTxt)) return undefined;
  return `vendor/ is present and go.mod says go ${goVersion}: go builds from vendor/, ` +
    "nothing to fetch";
}

/** `go work vendor` marks its modules.txt with a first line `## workspace`; go ignores it outside a workspace. */
function isWorkspaceVendor(modulesTxt: string): boolean {
  const first = modulesTxt.split("\n", 1)[0];
  return first.startsWith("## ") && first.slice(3).split(";").some((s) => s.trim() === "workspace");
}

function readGoSum(host: Host, dir: string, goMod: string): GoSum {
  const text = readProjectFile(host, dir, "go.sum");
  if (text === undefined && !/^\s*require\b/m.test(goMod)) {
    return { modules: new Map(), warnings: [] };
  }
  if (text === undefined) {
    throw new SetupError(
      `No go.sum in ${dir}: run "go mod tidy" to create it; goprefetch fetches what go.sum names`,
    );
  }
  try {
    return parseGoSum(text, join(dir, "go.sum"));
  } catch (e) {
    throw new SetupError((e as Error).message);
  }
}

function readProjectFile(host: Host, dir: string, name: string): string | undefined {
  return host.readTextFile(join(dir, name));
}
