/**
 * A sandbox for command-line tests that need no go command: a few tiny modules served by a
 * local proxy, a project whose go.sum is computed here, and a runner for the CLI with chosen
 * Deno flags, optionally under a pseudo-terminal (`script`; see `platform.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "./go.ts";
import { type ModuleSpec, writeProxyTree } from "./modules.ts";
import type { CliRun } from "./goprefetch.ts";
import { ptyCommand } from "./platform.ts";
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

const CLI_TS = join(import.meta.dirname!, "..", "..", "cli.ts");

/**
 * Runs `deno run <flags> cli.ts args…` in `cwd` with exactly `env` (default flags: `-A`), or
 * `entry` instead of cli.ts. With `pty`, the CLI runs under `script` (`ptyCommand`), so its
 * standard streams are a pseudo-terminal (`columns` wide, set with `stty`, else the pty's
 * default), and `stdout` holds everything it wrote to either.
 *
 * @example
 * ```ts
 * const r = await runCli(["."], { cwd, env, flags: ["--allow-read", "--allow-env"] });
 * ```
 */
export async function runCli(
  args: string[],
  opts: {
    cwd: string;
    env: Record<string, string>;
    flags?: string[];
    pty?: boolean;
    entry?: string;
    columns?: number;
  },
): Promise<CliRun> {
  const entry = opts.entry ?? CLI_TS;
  const command = [Deno.execPath(), "run", "--quiet", ...opts.flags ?? ["-A"], entry, ...args];
  const size = opts.columns === undefined ? "" : `stty cols ${opts.columns} rows 24 && `;
  const [program, ...rest] = opts.pty
    ? ptyCommand(size + command.map(shellQuote).join(" "))
    : command;
  const out = await new Deno.Command(program, {
    args: rest,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
