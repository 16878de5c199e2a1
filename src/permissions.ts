/**
 * Deno permissions: which ones a run needs, checked before it starts, and the one line that
 * names the flag to add when one is missing. Reads that fail are otherwise taken for missing
 * files, and denied requests for failed modules, so the check has to come first.
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "./host.ts";
import { loadSetup, type PrefetchOptions, SetupError, toolchainVersion } from "./prefetch.ts";
import { parseProxyList } from "./proxy_list.ts";

/** The message for the first of `needs` that is not granted, or undefined when all are. */
export function missingPermission(needs: Deno.PermissionDescriptor[]): string | undefined {
  for (const need of needs) {
    if (Deno.permissions.querySync(need).state === "granted") continue;
    const [flag, what] = need.name === "read" || need.name === "write"
      ? [`--allow-${need.name}=${need.path}`, `"${need.path}"`]
      : need.name === "net"
      ? [`--allow-net=${need.host}`, `"${need.host}"`]
      : [`--allow-${need.name}`, ""];
    return `needs ${flag} (Requires ${need.name} access${what && ` to ${what}`})`;
  }
  return undefined;
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
 * What a run over `options` needs besides the environment and the umask (which fail loudly
 * when missing): reading the project and its go.sum files; for a prefetch also reading
 * GOMODCACHE and, unless a dry run, writing it and the network for each proxy (reading, for
 * a `file://` one), and when a toolchain is fetched writing go's sumdb directory. A setup
 * error stops the list: the run reports it. Nothing is listed when all of these are granted
 * without a scope, so such a run discovers its project only once.
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
  if (unscoped.every((name) => Deno.permissions.querySync({ name }).state === "granted")) return [];
  const needs: Deno.PermissionDescriptor[] = [
    { name: "read", path: resolve(host.cwd, options.dir ?? ".") },
  ];
  if (Deno.permissions.querySync(needs[0]).state !== "granted") return needs;
  let setup;
  try {
    setup = loadSetup(options, host);
  } catch (e) {
    if (e instanceof SetupError) return needs;
    throw e;
  }
  if (setup.project.vendor) return needs;
  needs.push(...setup.project.sumFiles.map((path) => ({ name: "read", path }) as const));
  if (run === "sums") return needs;
  needs.push({ name: "read", path: setup.gomodcache });
  if (options.dryRun) return needs;
  needs.push({ name: "write", path: setup.gomodcache });
  let toolchain;
  try {
    toolchain = toolchainVersion(options, setup, host);
  } catch (e) {
    if (e instanceof SetupError) return needs;
    throw e;
  }
  if (toolchain !== undefined && setup.env.sumdbDir !== "") {
    needs.push({ name: "write", path: setup.env.sumdbDir });
  }
  let proxies;
  try {
    proxies = parseProxyList(options.proxy ?? setup.env.GOPROXY, setup.env.GONOPROXY);
  } catch {
    return needs;
  }
  for (const entry of proxies) {
    if (entry.kind !== "url") continue;
    const url = new URL(entry.url);
    if (url.protocol === "file:") needs.push({ name: "read", path: fileURLToPath(url) });
    else {
      const port = url.port || (url.protocol === "https:" ? "443" : "80");
      needs.push({ name: "net", host: `${url.hostname}:${port}` });
    }
  }
  return needs;
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
