/**
 * Deno permissions: which ones a run needs, checked before it starts without a prompt, and
 * the one line that names every flag to add when some are missing. Reads that fail are
 * otherwise taken for missing files, and denied requests for failed modules, so the check
 * has to come first.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { currentHost, type Host } from "../project/host.ts";
import type { PrefetchOptions } from "../engine/prefetch.ts";
import { loadGoEnv, loadSetup, SetupError, toolchainVersion } from "../engine/setup.ts";
import { hostPort, parseProxyList } from "../goproxy/proxy_list.ts";

/**
 * The one message that names every permission of `needs` not granted, as the flags to add
 * (`--allow-read=a,b` for scoped ones, in the order env, sys, read, write, net), or undefined
 * when all are granted. Asked with `Deno.permissions.querySync`, which never prompts.
 *
 * @example
 * ```ts
 * missingPermission([{ name: "env" }, { name: "read", path: "/src/app" }]);
 * // "needs --allow-env --allow-read=/src/app (Requires env and read access)"
 * ```
 */
export function missingPermission(needs: Deno.PermissionDescriptor[]): string | undefined {
  const missing = needs.filter((need) => !granted(need));
  if (missing.length === 0) return undefined;
  const names = ORDER.filter((name) => missing.some((need) => need.name === name));
  const flags = names.map((name) => {
    const targets = missing.filter((need) => need.name === name).map(target);
    if (targets.includes(undefined)) return `--allow-${name}`;
    return `--allow-${name}=${[...new Set(targets)].join(",")}`;
  });
  if (missing.length === 1) {
    const what = target(missing[0]);
    return `needs ${flags[0]} (Requires ${names[0]} access${what ? ` to "${what}"` : ""})`;
  }
  const list = names.length === 1
    ? names[0]
    : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  return `needs ${flags.join(" ")} (Requires ${list} access)`;
}

const ORDER = ["env", "sys", "read", "write", "net"] as const;

/** The path or host a descriptor is scoped to, if it is. */
function target(need: Deno.PermissionDescriptor): string | undefined {
  if (need.name === "read" || need.name === "write") return need.path?.toString();
  if (need.name === "net") return need.host;
  return undefined;
}

function granted(need: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(need).state === "granted";
}

/**
 * Everything a command-line run needs, for {@link missingPermission}: the environment and the
 * umask, the files `runNeeds` lists (`verify` reads the cache too) and the `outputs` it writes.
 * Without `--allow-env` the go environment, and so the cache and the proxies, are unknown:
 * then the project directory is named, and when it may not be read either (no flags were
 * given) `--allow-write` and `--allow-net` unscoped as well, so that one message lists them all.
 */
export function commandNeeds(
  options: Parameters<typeof runNeeds>[0],
  run: "prefetch" | "verify" | "sums",
  outputs: Deno.PermissionDescriptor[],
): Deno.PermissionDescriptor[] {
  const base: Deno.PermissionDescriptor[] = [{ name: "env" }, { name: "sys" }, ...outputs];
  if (!granted({ name: "env" })) {
    const dir: Deno.PermissionDescriptor = {
      name: "read",
      path: resolve(Deno.cwd(), options.dir ?? "."),
    };
    const files: Deno.PermissionDescriptor[] = run === "prefetch" && !options.dryRun
      ? [{ name: "write" }, { name: "net" }]
      : [];
    return [...base, dir, ...(granted(dir) ? [] : files)];
  }
  const host = currentHost(0);
  const needs = runNeeds(options, host, run === "verify" ? "sums" : run);
  if (run === "verify" && !granted({ name: "read" })) {
    try {
      needs.push({ name: "read", path: loadSetup(options, host).gomodcache }, ...workerNeeds());
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
    }
  }
  return [...base, ...needs];
}

/**
 * The message for an error that Deno's permission system threw (`NotCapable`, or
 * `PermissionDenied` with Deno's wording), or undefined for any other error.
 */
export function permissionErrorMessage(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      continue;
    }
    const m = e.message.match(
      /^(Requires (\w+) access(?: to "(.*?)")?), run again with the (--allow-\w+) flag/,
    );
    if (!m) continue;
    const [, requires, name, target, flag] = m;
    const scoped = target !== undefined && ["read", "write", "net", "run"].includes(name);
    return `needs ${flag}${scoped ? `=${target}` : ""} (${requires})`;
  }
  return undefined;
}

/**
 * What a run over `options` needs besides the environment and the umask: reading the
 * project, `$GOROOT/go.env` (go's defaults: GOPROXY, GOSUMDB, GOTOOLCHAIN) and the go.sum
 * files; for a prefetch also reading GOMODCACHE and, unless a dry run, writing it, reading the
 * scripts of its Web Workers, and the network for each proxy (reading, for a `file://` one),
 * and when a toolchain is fetched writing go's sumdb directory. The cache and the proxies come from the environment, so they
 * are listed even when the project may not be read. A setup error stops the list: the run
 * reports it. Nothing is listed when all of these are granted without a scope, so such a run
 * discovers its project only once.
 */
export function runNeeds(
  options: Pick<
    PrefetchOptions,
    "dir" | "recursive" | "env" | "gomodcache" | "proxy" | "dryRun" | "toolchain"
  >,
  host: Host,
  run: "prefetch" | "sums",
): Deno.PermissionDescriptor[] {
  const unscoped: Deno.PermissionName[] = run === "sums" ? ["read"] : ["read", "write", "net"];
  if (unscoped.every((name) => granted({ name }))) return [];
  const dir: Deno.PermissionDescriptor = {
    name: "read",
    path: resolve(host.cwd, options.dir ?? "."),
  };
  const needs: Deno.PermissionDescriptor[] = [dir];
  let goEnv;
  try {
    goEnv = loadGoEnv(options, host);
  } catch (e) {
    if (e instanceof SetupError) return needs;
    throw e;
  }
  const { env, gomodcache } = goEnv;
  if (env.GOROOT !== "") needs.push({ name: "read", path: join(env.GOROOT, "go.env") });
  if (granted(dir)) {
    const project = projectNeeds(options, host, run === "prefetch" && !options.dryRun);
    if (project === undefined) return needs;
    needs.push(...project);
  }
  if (run === "sums") return needs;
  needs.push({ name: "read", path: gomodcache });
  if (options.dryRun) return needs;
  needs.push({ name: "write", path: gomodcache }, ...workerNeeds());
  return [...needs, ...proxyNeeds(options.proxy ?? env.GOPROXY, env.GONOPROXY)];
}

/**
 * Reading the project's go.sum files and, for a run that fetches a toolchain, writing go's
 * sumdb directory; undefined when the project cannot be set up (the run reports why) or is
 * built from vendor/.
 */
function projectNeeds(
  options: Pick<PrefetchOptions, "dir" | "recursive" | "env" | "gomodcache" | "toolchain">,
  host: Host,
  fetches: boolean,
): Deno.PermissionDescriptor[] | undefined {
  let setup;
  try {
    setup = loadSetup(options, host);
  } catch (e) {
    if (e instanceof SetupError) return undefined;
    throw e;
  }
  if (setup.project.vendor) return undefined;
  const needs: Deno.PermissionDescriptor[] = setup.project.sumFiles.map((path) => ({
    name: "read",
    path,
  }));
  if (!fetches) return needs;
  let toolchain;
  try {
    toolchain = toolchainVersion(options, setup, host);
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
  }
  const sumdbDir = setup.env.sumdbDir;
  if (toolchain !== undefined && sumdbDir !== "") needs.push({ name: "write", path: sumdbDir });
  return needs;
}

/** The network for each proxy, or reading for a `file://` one; none for a list go would reject. */
function proxyNeeds(goproxy: string, gonoproxy: string): Deno.PermissionDescriptor[] {
  let proxies;
  try {
    proxies = parseProxyList(goproxy, gonoproxy);
  } catch {
    return [];
  }
  return proxies.flatMap((entry): Deno.PermissionDescriptor[] => {
    if (entry.kind !== "url") return [];
    const url = new URL(entry.url);
    if (url.protocol === "file:") return [{ name: "read", path: fileURLToPath(url) }];
    return [{ name: "net", host: hostPort(url) }];
  });
}

/**
 * Loading the Web Workers that install and verify modules, and the modules they import from
 * the whole of `src/`: Deno checks a local script against `--allow-read`. A script from a URL
 * (a run from JSR) is checked against `--allow-import`, whose default already allows jsr.io,
 * not against `--allow-net`.
 */
function workerNeeds(): Deno.PermissionDescriptor[] {
  if (!import.meta.url.startsWith("file:")) return [];
  return [{ name: "read", path: dirname(dirname(fileURLToPath(import.meta.url))) }];
}

/** Writing the files a run writes besides the cache: the JSON report and the step summary. */
export function outputNeeds(
  jsonTarget: string | undefined,
  stepSummary: string | undefined,
): Deno.PermissionDescriptor[] {
  const needs: Deno.PermissionDescriptor[] = [];
  if (jsonTarget !== undefined && jsonTarget !== "-") {
    needs.push({ name: "write", path: resolve(jsonTarget) });
  }
  if (stepSummary) needs.push({ name: "write", path: resolve(stepSummary) });
  return needs;
}
