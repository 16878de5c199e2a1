/**
 * The one project builder of the tests: a temporary directory with a home, a GOPROXY tree of
 * generated modules (served on 127.0.0.1 when asked, through a fault hook), a project
 * directory, and a cache path, removed as a whole, read-only trees included. Three shapes are
 * built on it: {@link makeSandbox} (the small project's files, the tree not served),
 * {@link makeTinySandbox} (tiny modules, served, the project's go.sum computed here) and
 * {@link withProxyProject} / {@link withStandardProject} (served, for the go command too).
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
import { SMALL_MODULES } from "./small_project.ts";
import { tinyModules, writeTinyProject } from "./tiny_project.ts";

/** What every sandbox has. */
interface Base {
  /** The temporary directory holding everything else. */
  tmp: string;
  /** HOME (and GOPATH, GOCACHE, Deno's cache) for the processes the test runs: `tmp/home`. */
  home: string;
  /** The GOPROXY tree: `tmp/proxy`. */
  proxyRoot: string;
  /** The project's directory: `tmp/project`. */
  project: string;
  /** The default GOMODCACHE, `tmp/modcache` (not created). */
  gomodcache: string;
  /** The server of `proxyRoot`, when it is served. */
  proxy?: ProxyServer;
  /** Stops the proxy and removes everything. */
  remove(): Promise<void>;
}

/** How to build a sandbox. */
interface BuildOptions {
  /** The temporary directory's name prefix. */
  prefix: string;
  /** The modules of the GOPROXY tree. */
  modules: ModuleSpec[];
  /** Writes the project (given its directory). */
  project?: (dir: string) => Promise<void>;
  /** Serve the tree, answering through `fault` when it returns a Response, each zip `zipDelayMs` late. */
  serve?: { fault?: Fault; zipDelayMs?: number };
}

async function buildSandbox(opts: BuildOptions): Promise<Base> {
  const tmp = await tempDir(opts.prefix);
  const base = {
    tmp,
    home: join(tmp, "home"),
    proxyRoot: join(tmp, "proxy"),
    project: join(tmp, "project"),
    gomodcache: join(tmp, "modcache"),
  };
  await Deno.mkdir(base.home);
  await Deno.mkdir(base.project);
  await writeProxyTree(base.proxyRoot, opts.modules);
  await opts.project?.(base.project);
  const proxy = opts.serve
    ? await serveProxy(base.proxyRoot, { fault: delayed(base.proxyRoot, opts.serve) })
    : undefined;
  return {
    ...base,
    proxy,
    remove: async () => {
      await proxy?.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    },
  };
}

/** `serve.fault`, with each zip it lets through served `serve.zipDelayMs` late. */
function delayed(root: string, serve: { fault?: Fault; zipDelayMs?: number }): Fault {
  return (req, path) => {
    const answer = serve.fault?.(req, path);
    if (answer || !serve.zipDelayMs || !path.endsWith(".zip")) return answer;
    return new Promise((resolve) => setTimeout(resolve, serve.zipDelayMs)).then(async () =>
      new Response(await Deno.readFile(join(root, ...path.split("/"))))
    );
  };
}

/** A sandbox of the small modules, its tree not served. */
export interface Sandbox extends Base {
  /** The environment {@linkcode goEnv} gives for `goproxy`, with `gomodcache` as cache. */
  env(goproxy: string, extra?: Record<string, string>): Record<string, string>;
}

/**
 * A sandbox with the tree of `modules` (default {@linkcode SMALL_MODULES}) written, not served,
 * and `files` written into the project directory (a file whose content is `null` is left out).
 *
 * @example
 * ```ts
 * const box = await makeSandbox(PROJECT);
 * try {
 *   // ...
 * } finally {
 *   await box.remove();
 * }
 * ```
 */
export async function makeSandbox(
  files: Record<string, string | null>,
  modules: ModuleSpec[] = SMALL_MODULES,
): Promise<Sandbox> {
  const base = await buildSandbox({
    prefix: "goprefetch-e2e-",
    modules,
    project: async (dir) => {
      for (const [name, text] of Object.entries(files)) {
        if (text === null) continue;
        const file = join(dir, name);
        await Deno.mkdir(join(file, ".."), { recursive: true });
        await Deno.writeTextFile(file, text);
      }
    },
  });
  const env = (goproxy: string, extra: Record<string, string> = {}) =>
    goEnv({ home: base.home, gomodcache: base.gomodcache, goproxy, extra });
  return { ...base, env };
}

/** A sandbox of tiny modules, served, and a project requiring them. */
export interface TinySandbox extends Base {
  /** The modules the project requires, in go.sum order. */
  specs: ModuleSpec[];
  /** The proxy serving them. */
  proxy: ProxyServer;
  /** An environment for goprefetch: the proxy as GOPROXY, nothing inherited but PATH. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Replaces the go.sum `h1:` hash of `spec`'s zip with a wrong one. */
  corruptZipHash(spec: ModuleSpec): Promise<void>;
}

/**
 * A sandbox of `count` tiny modules (see {@linkcode tinyModules}), served by a proxy that
 * answers through `fault` when it returns a Response and serves each zip `zipDelayMs` late,
 * and a project whose go.sum is computed here (no go command needed).
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
  const specs = tinyModules(count).sort((a, b) => a.path < b.path ? -1 : 1);
  const base = await buildSandbox({
    prefix: "goprefetch-tiny-",
    modules: specs,
    project: (dir) => writeTinyProject(dir, specs),
    serve: opts,
  });
  const proxy = base.proxy!;
  return {
    ...base,
    specs,
    proxy,
    env: (extra = {}) =>
      goEnv({ home: base.home, gomodcache: base.gomodcache, goproxy: proxy.url, extra }),
    corruptZipHash: async (spec) => {
      const file = join(base.project, "go.sum");
      const lines = (await Deno.readTextFile(file)).split("\n");
      const i = lines.findIndex((l) => l.startsWith(`${spec.path} ${spec.version} h1:`));
      lines[i] = `${spec.path} ${spec.version} h1:${"A".repeat(43)}=`;
      await Deno.writeTextFile(file, lines.join("\n"));
    },
  };
}

/** Runs `fn` with a fresh {@link makeTinySandbox}, and removes it however `fn` ends. */
export async function withTinySandbox(
  count: number,
  fn: (box: TinySandbox) => Promise<void>,
  opts: { fault?: Fault; zipDelayMs?: number } = {},
): Promise<void> {
  const box = await makeTinySandbox(count, opts);
  try {
    await fn(box);
  } finally {
    await box.remove();
  }
}

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
 * Publishes `modules` in a new sandbox (named from `prefix`), serves them (through `fault` when
 * it answers), runs `fn`, then removes the sandbox. Its go environment keeps HOME in the
 * sandbox's top directory.
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
  const base = await buildSandbox({ prefix, modules, serve: { fault: opts.fault } });
  const proxy = base.proxy!;
  try {
    const env = (gomodcache: string, extra: Record<string, string> = {}, goproxy = proxy.url) =>
      goEnv({ home: base.tmp, gomodcache, goproxy, extra });
    await fn({ tmp: base.tmp, root: base.proxyRoot, project: base.project, proxy, env });
  } finally {
    await base.remove();
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
