import process from "node:process";
import type { Host } from "../../src/project/host.ts";

/**
 * This process as a {@link Host}, but with exactly `env` as its environment and `cwd` as its
 * directory, and no `go` binary: what a test hands `runPrefetch`.
 *
 * @example
 * ```ts
 * const report = await runPrefetch({}, testHost(goEnv({ home, gomodcache, goproxy }), project));
 * ```
 */
export function testHost(env: Record<string, string>, cwd: string): Host {
  return {
    env,
    os: Deno.build.os,
    cwd,
    umask: process.umask(),
    readTextFile: (p) => attempt(() => Deno.readTextFileSync(p), undefined),
    isDirectory: (p) => attempt(() => Deno.statSync(p).isDirectory, false),
    exists: (p) => attempt(() => Boolean(Deno.statSync(p)), false),
    readDir: (p) => attempt(() => [...Deno.readDirSync(p)], []),
    mayRead: (path) => Deno.permissions.querySync({ name: "read", path }).state === "granted",
  };
}

function attempt<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
