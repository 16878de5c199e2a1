/**
 * The one place the engine meets the running process: environment, OS, current
 * directory, umask and the `go` binary on PATH. Everything else takes these as values.
 * A file that Deno's permissions do not let it read counts as absent, without asking: no
 * run prompts on a terminal (the command line names missing permissions before it starts).
 *
 * @module
 */
import process from "node:process";
import { findGoBinary } from "./go_env.ts";

/** The process facts the engine needs. */
export interface Host {
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** `Deno.build.os`. */
  os: string;
  /** The current directory. */
  cwd: string;
  /** The process umask. */
  umask: number;
  /** Reads a text file, or undefined when it cannot be read. */
  readTextFile: (path: string) => string | undefined;
  /** Whether `path` is a directory. */
  isDirectory: (path: string) => boolean;
  /** Whether `path` exists (a symbolic link is followed). */
  exists: (path: string) => boolean;
  /** The entries of a directory (symbolic links not followed); empty when it cannot be read. */
  readDir: (path: string) => Deno.DirEntry[];
  /** The real path of the `go` binary on PATH, if there is one. */
  goBinary?: string;
  /** Whether Deno's permissions let this process read `path` (asked without a prompt). */
  mayRead: (path: string) => boolean;
}

/**
 * The running process as a {@link Host}; `umask` stands in for the process umask, which
 * needs `--allow-sys`, where it does not matter (planning the permission check).
 */
export function currentHost(umask: number = process.umask()): Host {
  const env = Deno.env.toObject();
  const os = Deno.build.os;
  const found = findGoBinary(env.PATH ?? env.Path ?? "", os, isFile);
  return {
    env,
    os,
    cwd: Deno.cwd(),
    umask,
    readTextFile,
    isDirectory,
    exists,
    readDir,
    goBinary: found === undefined ? undefined : realPath(found),
    mayRead,
  };
}

/** Whether this process may read `path`, asked without a prompt. */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

function readTextFile(path: string): string | undefined {
  if (!mayRead(path)) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function readDir(path: string): Deno.DirEntry[] {
  if (!mayRead(path)) return [];
  try {
    return [...Deno.readDirSync(path)];
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  if (!mayRead(path)) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  if (!mayRead(path)) return false;
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  if (!mayRead(path)) return false;
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function realPath(path: string): string {
  if (!mayRead(path)) return path;
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}
