/**
 * A sandbox for command-line tests that need no go command: a few tiny modules served by a
 * local proxy, and a project whose go.sum is computed here (run the CLI on it with `cli.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "./go.ts";
import { type ModuleSpec, writeProxyTree } from "./modules.ts";
import { type Fault, type ProxyServer, serveProxy } from "./proxy_server.ts";
import { tinyModules, writeTinyProject } from "./tiny_project.ts";

/** One test's tiny project, proxy and cache. */
export interface TinySandbox {
  /** The temporary directory holding everything else. */
  tmp: string;
  /** The main module's directory. */
  project: string;
  /** GOMODCACHE (not created). */
  gomodcache: string;
  /** The modules the project requires, in go.sum order. */
  specs: ModuleSpec[];
  /** The proxy serving them. */
  proxy: ProxyServer;
  /** An environment for goprefetch: the proxy as GOPROXY, nothing inherited but PATH. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Replaces the go.sum `h1:` hash of `spec`'s zip with a wrong one. */
  corruptZipHash(spec: ModuleSpec): Promise<void>;
  /** Stops the proxy and removes the sandbox. */
  remove(): Promise<void>;
}

/**
 * Makes a sandbox of `count` tiny modules (see {@linkcode tinyModules}), served by a proxy
 * that answers through `fault` when it returns a Response, and serves each zip `zipDelayMs`
 * late.
 *
 * @example
 * ```ts
 * const box = await makeTinySandbox(5);
 * try {
 *   const r = await runCli(["-q", "."], { cwd: box.project, env: box.env() });
 * } finally {
 *   await box.remove();
 * }
 * ```
 */
export async function makeTinySandbox(
  count: number,
  opts: { fault?: Fault; zipDelayMs?: number } = {},
): Promise<TinySandbox> {
  const tmp = await tempDir("goprefetch-tiny-");
  const project = join(tmp, "project");
  const gomodcache = join(tmp, "modcache");
  await Deno.mkdir(project);
  await Deno.mkdir(join(tmp, "home"));
  const specs = tinyModules(count).sort((a, b) => a.path < b.path ? -1 : 1);
  await writeProxyTree(join(tmp, "proxy"), specs);
  await writeTinyProject(project, specs);
  const fault: Fault = (req, path) => {
    const answer = opts.fault?.(req, path);
    if (answer || !opts.zipDelayMs || !path.endsWith(".zip")) return answer;
    return new Promise((resolve) => setTimeout(resolve, opts.zipDelayMs)).then(async () =>
      new Response(await Deno.readFile(join(tmp, "proxy", ...path.split("/"))))
    );
  };
  const proxy = await serveProxy(join(tmp, "proxy"), { fault });
  return {
    tmp,
    project,
    gomodcache,
    specs,
    proxy,
    env: (extra = {}) => goEnv({ home: join(tmp, "home"), gomodcache, goproxy: proxy.url, extra }),
    corruptZipHash: async (spec) => {
      const file = join(project, "go.sum");
      const lines = (await Deno.readTextFile(file)).split("\n");
      const i = lines.findIndex((l) => l.startsWith(`${spec.path} ${spec.version} h1:`));
      lines[i] = `${spec.path} ${spec.version} h1:${"A".repeat(43)}=`;
      await Deno.writeTextFile(file, lines.join("\n"));
    },
    remove: async () => {
      await proxy.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    },
  };
}
