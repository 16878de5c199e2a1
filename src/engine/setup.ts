/**
 * What every command works from, before it does anything: the go environment, the cache it
 * names, the project's go.sum files and the toolchain to fetch. `prefetch`, `verify`,
 * `cache-key` and the permission check all start here.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { type GoEnv, resolveGoEnv } from "../project/go_env.ts";
import type { GoSum } from "../project/gosum.ts";
import type { Host } from "../project/host.ts";
import { discoverProject, type Project, readSumFiles } from "../project/project.ts";
import { wantedToolchain } from "./toolchain.ts";

/** The options that say where a command works: every field has a default. */
export interface SetupOptions {
  /** Project directory: a module, or a directory in a go.work workspace. Default: the current directory. */
  dir?: string;
  /** Take the go.sum of every module under `dir` instead (GOWORK is then not consulted). */
  recursive?: boolean;
  /** GOMODCACHE to use instead of the go environment's. */
  gomodcache?: string;
  /** Environment variables laid over the process environment (for example GOPRIVATE). */
  env?: Record<string, string>;
  /**
   * The Go toolchain (`goX.Y.Z`, as `golang.org/toolchain`) to prefetch or key on. Without it,
   * the one GOTOOLCHAIN and go.work or go.mod make go switch to, if any.
   */
  toolchain?: string;
}

/**
 * The run cannot start: no go.mod or go.sum, or a go environment or go.work go itself would
 * reject. The message is the one line the command line prints; `cause` keeps the error it
 * came from, if any.
 */
export class SetupError extends Error {
  /** `"SetupError"`. */
  override name = "SetupError";
}

/** `e` as a {@link SetupError}: the same message, with `e` kept as the cause. */
export function asSetupError(e: unknown): SetupError {
  return e instanceof SetupError ? e : new SetupError((e as Error).message, { cause: e });
}

/** What a run works from: the go environment, the cache, and the project's go.sum files. */
export interface Setup {
  /** The project directory, absolute. */
  dir: string;
  /** The resolved go environment. */
  env: GoEnv;
  /** GOMODCACHE, absolute. */
  gomodcache: string;
  /** Where the go.sum files come from. */
  project: Project;
}

/**
 * Resolves the go environment and discovers the project, as `prefetch` and `verify` both do.
 *
 * @throws {SetupError} when the run cannot start.
 */
export function loadSetup(
  options: Pick<SetupOptions, "dir" | "recursive" | "env" | "gomodcache">,
  host: Host,
): Setup {
  const dir = resolve(host.cwd, options.dir ?? ".");
  const { env, gomodcache } = loadGoEnv(options, host);
  try {
    const project = discoverProject(
      { dir, recursive: options.recursive, env: { ...env, GOMODCACHE: gomodcache } },
      host,
    );
    return { dir, env, gomodcache, project };
  } catch (e) {
    throw asSetupError(e);
  }
}

/**
 * Resolves the go environment and the cache it names, as {@link loadSetup} does before it
 * looks at the project.
 *
 * @throws {SetupError} when go would reject the environment.
 */
export function loadGoEnv(
  options: Pick<SetupOptions, "env" | "gomodcache">,
  host: Host,
): { env: GoEnv; gomodcache: string } {
  const env = goEnv(host, options);
  const gomodcache = options.gomodcache ?? env.GOMODCACHE;
  if (!isAbsolute(gomodcache)) {
    throw new SetupError(`GOMODCACHE entry is relative; must be absolute path: "${gomodcache}"`);
  }
  return { env, gomodcache };
}

/**
 * Reads and merges sum files (see `readSumFiles`; `workFile` is the workspace's go.work).
 *
 * @throws {SetupError} for a line go would refuse.
 */
export function loadSums(files: string[], host: Host, workFile?: string): GoSum {
  try {
    return readSumFiles(files, host, workFile);
  } catch (e) {
    throw asSetupError(e);
  }
}

/**
 * The `golang.org/toolchain` version a run fetches beside the modules, if any.
 *
 * @throws {SetupError} when `options.toolchain` is not a Go toolchain name.
 */
export function toolchainVersion(
  options: Pick<SetupOptions, "toolchain">,
  setup: Setup,
  host: Host,
): string | undefined {
  const { project, env } = setup;
  const modDir = project.mode === "module" ? project.modules[0] : setup.dir;
  try {
    return wantedToolchain({
      forced: options.toolchain,
      gotoolchain: env.GOTOOLCHAIN,
      goroot: env.GOROOT,
      file: project.workFile ?? join(modDir, "go.mod"),
    }, host);
  } catch (e) {
    throw asSetupError(e);
  }
}

function goEnv(host: Host, options: Pick<SetupOptions, "env">): GoEnv {
  try {
    return resolveGoEnv({
      env: { ...host.env, ...options.env },
      os: host.os,
      readTextFile: host.readTextFile,
      goBinary: host.goBinary,
    });
  } catch (e) {
    throw asSetupError(e);
  }
}
