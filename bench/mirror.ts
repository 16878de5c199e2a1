/**
 * Builds the benchmark's module mirrors: for each real project, its own go.mod and go.sum (the
 * project's module downloaded at a pinned version), and a GOMODCACHE filled by the go command
 * with everything that go.sum names, whose `cache/download` is a GOPROXY tree. Mirrors live
 * outside the repository, under `${XDG_CACHE_HOME:-$HOME/.cache}/goprefetch-bench/`, and are
 * built once: later runs are offline. A lock file per set under the mirror root keeps two
 * bench runs started at once from building the same mirror over each other.
 *
 * Run on its own to build every mirror: `deno run -A bench/mirror.ts [set...]`.
 *
 * @module
 */
import { join } from "node:path";

/** A real project whose go.sum is benchmarked. */
export interface ModuleSet {
  /** Short name, used on the command line and as the mirror's directory. */
  name: string;
  /** The project's module path. */
  module: string;
  /** The pinned version of the project's module. */
  version: string;
}

/** The sets the benchmark knows, smallest go.sum first. */
export const SETS: ModuleSet[] = [
  { name: "go-ethereum", module: "github.com/ethereum/go-ethereum", version: "v1.16.7" },
  { name: "kubernetes", module: "k8s.io/kubernetes", version: "v1.32.2" },
  { name: "hugo", module: "github.com/gohugoio/hugo", version: "v0.150.0" },
  { name: "prometheus", module: "github.com/prometheus/prometheus", version: "v0.301.0" },
];

/** One module version named by go.sum, and whether its zip (not only its go.mod) is named. */
export interface SumEntry {
  /** Module path. */
  path: string;
  /** Module version. */
  version: string;
  /** True when go.sum has a `path version h1:` line, so the zip and tree are wanted. */
  zip: boolean;
}

/** A built mirror, as recorded in its `ready.json`. */
export interface Mirror {
  /** The set this mirror serves. */
  set: ModuleSet;
  /** Writable copy of the project's module tree (go.mod, go.sum and sources). */
  projectDir: string;
  /** The mirror's GOMODCACHE; `cache/download` beneath it is the GOPROXY tree. */
  modCache: string;
  /** The go.sum the benchmark uses: the project's, less the versions the proxy lacks. */
  sumFile: string;
  /** Whether `go build ./...` of the project works with this cache alone. */
  buildsAlone: boolean;
  /** `path@version: error` for every version of go.sum the Go module proxy would not give. */
  unavailable: string[];
  /** The project's `go` line. */
  goLine: string;
  /** Module versions with a zip line in go.sum. */
  zipModules: number;
  /** Module versions with only a go.mod line in go.sum. */
  goModOnly: number;
  /** Bytes of every .info, .mod and .zip file a full fetch of go.sum downloads. */
  bytes: number;
  /**
   * Every file of the set, as paths relative to the GOPROXY tree (for the network floor):
   * what go.sum names, and the `.info` of every other build-list module.
   */
  files: string[];
  /** Whether the mirror holds the `.info` of every build-list module (`go list -m all`). */
  buildListInfo?: boolean;
}

/** Where mirrors are kept: `${XDG_CACHE_HOME:-$HOME/.cache}/goprefetch-bench`. */
export function mirrorRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return join(xdg ? xdg : join(Deno.env.get("HOME") ?? "/tmp", ".cache"), "goprefetch-bench");
}

/** The GOPROXY tree of a mirror. */
export function proxyTree(mirror: Mirror): string {
  return join(mirror.modCache, "cache", "download");
}

/** Escapes a module path or version as the go command does in cache paths (`A` → `!a`). */
export function goEscape(s: string): string {
  return s.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
}

/** Reads the module versions go.sum names, zip lines winning over go.mod lines. */
export function readSum(text: string): SumEntry[] {
  const byKey = new Map<string, SumEntry>();
  for (const line of text.split("\n")) {
    const [path, rawVersion] = line.trim().split(/\s+/);
    if (!path || !rawVersion) continue;
    const zip = !rawVersion.endsWith("/go.mod");
    const version = zip ? rawVersion : rawVersion.slice(0, -"/go.mod".length);
    const key = `${path}@${version}`;
    const entry = byKey.get(key) ?? { path, version, zip: false };
    entry.zip ||= zip;
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

/**
 * Loads the mirror of `set`, building it first when it is not there yet (this downloads
 * through the real Go module proxy, the only time the benchmark uses the network).
 *
 * @example
 * ```ts
 * import { ensureMirror, SETS } from "./mirror.ts";
 * const mirror = await ensureMirror(SETS[0], console.error);
 * console.log(mirror.zipModules, mirror.bytes);
 * ```
 */
export async function ensureMirror(set: ModuleSet, log: (s: string) => void): Promise<Mirror> {
  const dir = join(mirrorRoot(), set.name);
  const ready = join(dir, "ready.json");
  const current = await readMirror(ready);
  if (current?.buildListInfo) return current;
  return await withLock(join(mirrorRoot(), `${set.name}.lock`), log, async () => {
    const mirror = await readMirror(ready);
    if (mirror?.buildListInfo) return mirror;
    if (mirror) {
      await addBuildListInfo(mirror, dir, log);
      await Deno.writeTextFile(ready, JSON.stringify(mirror, null, 1));
      return mirror;
    }
    log(`mirror ${set.name}: building in ${dir} (downloads through the Go module proxy)`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    const built = await buildMirror(set, dir, log);
    await Deno.writeTextFile(ready, JSON.stringify(built, null, 1));
    log(
      `mirror ${set.name}: ready, ${built.zipModules} zips, ${
        (built.bytes / 2 ** 20).toFixed(1)
      } MiB`,
    );
    return built;
  });
}

/** The mirror recorded in `ready`, or null when it is not built yet. */
async function readMirror(ready: string): Promise<Mirror | null> {
  try {
    return JSON.parse(await Deno.readTextFile(ready)) as Mirror;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Runs `fn` holding the lock file `lock` (created exclusively, holding this process's id). A
 * lock whose process is gone is taken over; a live one is waited for.
 */
async function withLock<T>(
  lock: string,
  log: (s: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  await Deno.mkdir(join(lock, ".."), { recursive: true });
  for (let said = false;;) {
    try {
      await Deno.writeTextFile(lock, String(Deno.pid), { createNew: true });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const holder = (await Deno.readTextFile(lock).catch(() => "")).trim();
    if (holder && !(await Deno.stat(`/proc/${holder}`).then(() => true, () => false))) {
      await Deno.remove(lock).catch(() => {});
      continue;
    }
    if (!said) log(`waiting for process ${holder}, which is building the mirror (${lock})`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

async function buildMirror(set: ModuleSet, dir: string, log: (s: string) => void): Promise<Mirror> {
  const projectDir = join(dir, "project");
  const modCache = join(dir, "modcache");
  const scratch = join(dir, "scratch");
  await Deno.mkdir(scratch);
  const env = { GOMODCACHE: join(dir, "project-modcache"), GOFLAGS: "-mod=mod", GOSUMDB: "off" };
  const fetched = await goJson(
    ["mod", "download", "-json", `${set.module}@${set.version}`],
    scratch,
    env,
  );
  if (fetched.failed.length > 0) {
    throw new Error(`${set.module}@${set.version}: ${fetched.failed[0]}`);
  }
  await run("cp", ["-R", fetched.objects[0].Dir!, projectDir], scratch);
  await run("chmod", ["-R", "u+w", projectDir, env.GOMODCACHE], scratch);
  await Deno.remove(env.GOMODCACHE, { recursive: true });

  const goSum = await Deno.readTextFile(join(projectDir, "go.sum"));
  const entries = readSum(goSum);
  const zips = entries.filter((e) => e.zip).map((e) => `${e.path}@${e.version}`);
  const mods = entries.filter((e) => !e.zip).map((e) => `${e.path}@${e.version}`);
  const mirrorEnv = { GOMODCACHE: modCache, GOFLAGS: "-mod=mod -modcacherw", GOSUMDB: "off" };
  const unavailable: string[] = [];
  log(`mirror ${set.name}: go mod download of ${zips.length} modules`);
  for (const batch of chunks(zips, 50)) {
    unavailable.push(
      ...(await goJson(["mod", "download", "-json", ...batch], scratch, mirrorEnv)).failed,
    );
  }
  log(`mirror ${set.name}: go list -m of ${mods.length} go.mod-only versions`);
  for (const batch of chunks(mods, 100)) {
    unavailable.push(
      ...(await goJson(["list", "-m", "-json", ...batch], scratch, mirrorEnv)).failed,
    );
  }
  for (const u of unavailable) log(`mirror ${set.name}: not on the proxy, left out: ${u}`);
  const missing = new Set(unavailable.map((u) => u.split(":")[0]));
  const kept = entries.filter((e) => !missing.has(`${e.path}@${e.version}`));
  const sumFile = join(dir, "go.sum");
  await Deno.writeTextFile(sumFile, keepLines(goSum, missing));

  const buildsAlone = missing.size === 0 && await tryBuild(set, projectDir, mirrorEnv, log);
  const files = listFiles(kept);
  let bytes = 0;
  for (const f of files) bytes += (await Deno.stat(join(modCache, "cache", "download", f))).size;
  await Deno.remove(scratch, { recursive: true });
  const goLine = (await Deno.readTextFile(join(projectDir, "go.mod"))).match(/^go (\S+)/m)?.[1] ??
    "";
  const mirror: Mirror = {
    set,
    projectDir,
    modCache,
    sumFile,
    buildsAlone,
    unavailable,
    goLine,
    zipModules: kept.filter((e) => e.zip).length,
    goModOnly: kept.filter((e) => !e.zip).length,
    bytes,
    files,
  };
  await addBuildListInfo(mirror, dir, log);
  return mirror;
}

/**
 * Adds the `.info` of every build-list module to the mirror (`go list -m all` reads them, and
 * goprefetch fetches them), running go in a copy of the project so that its go.mod and go.sum
 * stay as published. Modules the proxy does not have are left out.
 */
async function addBuildListInfo(mirror: Mirror, dir: string, log: (s: string) => void) {
  const scratch = join(dir, "scratch-list");
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  await run("cp", ["-R", mirror.projectDir, scratch], dir);
  log(`mirror ${mirror.set.name}: go list -m all, for the build list's .info files`);
  const env = {
    GOMODCACHE: mirror.modCache,
    GOFLAGS: "-mod=mod -modcacherw",
    GOSUMDB: "off",
    GOWORK: "off",
  };
  const listed = await goJson(["list", "-m", "-e", "-json", "all"], scratch, env);
  await Deno.remove(scratch, { recursive: true });
  const known = new Set(mirror.files);
  for (const o of listed.objects) {
    const target = o.Replace ?? o;
    if (o.Main || !target.Version || o.Error) continue;
    const file = `${goEscape(target.Path)}/@v/${goEscape(target.Version)}.info`;
    const stat = await Deno.stat(join(proxyTree(mirror), file)).catch(() => undefined);
    if (known.has(file) || !stat) continue;
    known.add(file);
    mirror.files.push(file);
    mirror.bytes += stat.size;
  }
  mirror.buildListInfo = true;
}

/** go.sum text without the lines of the module versions in `drop` (`path@version`). */
function keepLines(goSum: string, drop: Set<string>): string {
  return goSum.split("\n").filter((line) => {
    const [path, version] = line.trim().split(/\s+/);
    return !path || !drop.has(`${path}@${version.replace(/\/go\.mod$/, "")}`);
  }).join("\n");
}

/** The GOPROXY files a full fetch of `entries` downloads: .info, .mod and .zip for zip lines. */
function listFiles(entries: SumEntry[]): string[] {
  const files: string[] = [];
  for (const e of entries) {
    const base = `${goEscape(e.path)}/@v/${goEscape(e.version)}`;
    files.push(`${base}.mod`);
    if (e.zip) files.push(`${base}.info`, `${base}.zip`);
  }
  return files;
}

/**
 * Checks that the project builds from the mirror's cache alone (which also warms the build
 * cache for the benchmark's correctness gate). A project that replaces modules with local
 * directories missing from its module zip (kubernetes' staging) cannot.
 */
async function tryBuild(
  set: ModuleSet,
  projectDir: string,
  env: Record<string, string>,
  log: (s: string) => void,
): Promise<boolean> {
  log(`mirror ${set.name}: go build ./... from the mirror alone (GOPROXY=off)`);
  const out = await new Deno.Command("go", {
    args: ["build", "-trimpath", "./..."],
    cwd: projectDir,
    env: { ...env, GOPROXY: "off", GOTOOLCHAIN: "local" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).split("\n").slice(0, 3).join(" | ");
    log(`mirror ${set.name}: does not build alone: ${why}`);
  }
  return out.success;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function output(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await output(cmd, args, cwd, {});
  if (!out.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${out.stderr}`);
}

/** The fields read from the JSON the go command prints for a module. */
interface GoJson {
  Path: string;
  Version: string;
  Dir?: string;
  Main?: boolean;
  Replace?: { Path: string; Version?: string };
  Error?: string | { Err: string };
}

/**
 * Runs a go command printing a stream of JSON objects. Objects with an Error are returned as
 * `path@version: error` lines; a failure that printed no such object throws.
 */
async function goJson(args: string[], cwd: string, env: Record<string, string>) {
  const out = await output("go", args, cwd, env);
  const objects = JSON.parse(`[${out.stdout.replace(/}\s*{/g, "},{")}]`) as GoJson[];
  const failed = objects.filter((o) => o.Error).map((o) =>
    `${o.Path}@${o.Version}: ${typeof o.Error === "string" ? o.Error : o.Error?.Err}`
  );
  if (!out.ok && failed.length === 0) {
    throw new Error(`go ${args.slice(0, 3).join(" ")}: ${out.stderr}`);
  }
  return { objects, failed };
}

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : SETS.map((s) => s.name);
  for (const name of names) {
    const set = SETS.find((s) => s.name === name);
    if (!set) throw new Error(`Unknown set ${name}`);
    await ensureMirror(set, (s) => console.error(s));
  }
}
