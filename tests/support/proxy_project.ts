/**
 * A test's temporary directory with a local proxy serving some modules and a project directory
 * beside it, handed to the test's body and closed and removed when the body ends, however.
 *
 * @module
 */
import { join } from "node:path";
import { goEnv, makeMainModule, makeWritable, tempDir } from "./go.ts";
import {
  type ModuleSpec,
  STANDARD_IMPORTS,
  STANDARD_REQUIRES,
  standardModuleSet,
  writeProxyTree,
} from "./modules.ts";
import { type Fault, type ProxyServer, serveProxy } from "./proxy_server.ts";

/** What {@link withProxyProject} hands to the test's body. */
export interface ProxyProject {
  /** The temporary directory holding everything else; go's HOME. */
  tmp: string;
  /** The proxy's files: `tmp/proxy`. */
  root: string;
  /** The project's directory, `tmp/project`: empty, or for a standard project its main module. */
  project: string;
  /** The proxy serving `root`. */
  proxy: ProxyServer;
  /** The go environment ({@link goEnv}) of a run on `gomodcache` against `goproxy` (default: the proxy). */
  env(gomodcache: string, extra?: Record<string, string>, goproxy?: string): Record<string, string>;
}

/**
 * Publishes `modules` in a new temporary directory (named from `prefix`), serves them (through
 * `fault` when it answers), runs `fn`, then closes the proxy and removes the directory.
 *
 * @example
 * ```ts
 * await withProxyProject("goprefetch-x-", tinyModules(3), async ({ project, env, tmp }) => {
 *   await runGo(["mod", "download"], { cwd: project, env: env(join(tmp, "cache")) });
 * });
 * ```
 */
export async function withProxyProject(
  prefix: string,
  modules: ModuleSpec[],
  fn: (p: ProxyProject) => Promise<void>,
  opts: { fault?: Fault } = {},
): Promise<void> {
  const tmp = await tempDir(prefix);
  const root = join(tmp, "proxy");
  const project = join(tmp, "project");
  await Deno.mkdir(project);
  await writeProxyTree(root, modules);
  const proxy = await serveProxy(root, { fault: opts.fault });
  try {
    const env = (gomodcache: string, extra: Record<string, string> = {}, goproxy = proxy.url) =>
      goEnv({ home: tmp, gomodcache, goproxy, extra });
    await fn({ tmp, root, project, proxy, env });
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * {@link withProxyProject} with the standard module set, the project being a main module that
 * requires and imports it, tidied by go (with the cache `tmp/cache-tidy`).
 */
export function withStandardProject(
  prefix: string,
  fn: (p: ProxyProject) => Promise<void>,
  opts: { fault?: Fault } = {},
): Promise<void> {
  return withProxyProject(prefix, standardModuleSet(), async (p) => {
    await makeMainModule(p.project, {
      requires: STANDARD_REQUIRES,
      imports: STANDARD_IMPORTS,
      env: p.env(join(p.tmp, "cache-tidy")),
    });
    await fn(p);
  }, opts);
}
