/**
 * Toolchain prefetch: which Go toolchain GOTOOLCHAIN and go.mod/go.work make the go command
 * switch to, and installing its `golang.org/toolchain` module the way go's `Exec` does:
 * verified against the checksum database (it is never in go.sum), no `.info`, `.mod` or
 * `list`, execute bits added, `_go.mod` copies, directories always read-only.
 *
 * @module
 */
import { join } from "node:path";
import { hashZipFile } from "../zip/dirhash.ts";
import { compareGoVersions, goDirective } from "../project/go_mod.ts";
import type { ProxyClient, ZipBody } from "../goproxy/goproxy.ts";
import type { Host } from "../project/host.ts";
import { ChecksumMismatchError, downloadedZip } from "../cache/installer.ts";
import { InstallError, type InstallPool } from "../cache/install_pool.ts";
import {
  isDirComplete,
  isValidZiphash,
  lockVersion,
  type ModulePaths,
  modulePaths,
} from "../cache/module_cache.ts";
import { lockedRewrite, mkdirAll, removeFile, statIfThere, tempName } from "../util/files.ts";
import type { ProxyEntry } from "../goproxy/proxy_list.ts";
import type { RunSettings } from "./defaults.ts";
import { RecordKeeper } from "./module_record.ts";
import type { ModuleRecord } from "./report.ts";
import { lookupSumDb, parseGoSumDb, type SumDb, SumDbError, useSumDb } from "../sumdb/sumdb.ts";

/** The module every Go toolchain is published as. */
export const TOOLCHAIN_MODULE = "golang.org/toolchain";

/** What toolchain selection reads. */
export interface SelectionInputs {
  /** GOTOOLCHAIN. */
  gotoolchain: string;
  /** The local toolchain, e.g. `go1.22.3`, or undefined when unknown. */
  local?: string;
  /** The text of the go.work or go.mod that applies, if any. */
  file?: string;
}

/**
 * The toolchain the go command would download and switch to, as `toolchain.Select` decides;
 * undefined when it runs the local one (or, in `path` mode, one from PATH).
 *
 * @example
 * ```ts
 * import { selectToolchain } from "./toolchain.ts";
 * selectToolchain({ gotoolchain: "auto", local: "go1.21.0", file: "module m\ngo 1.22\n" });
 * // "go1.22.0"
 * ```
 */
export function selectToolchain(inputs: SelectionInputs): string | undefined {
  const [min, mode = ""] = inputs.gotoolchain.split("+");
  let chosen = min === "auto" || min === "path" || min === "local" ? "local" : min;
  const switching = mode === "auto" || mode === "path" || min === "auto" || min === "path";
  if (switching && inputs.file !== undefined && inputs.local !== undefined) {
    let minVers = versionOf(chosen === "local" ? inputs.local : chosen);
    const line = /^\s*toolchain\s+(\S+)/m.exec(inputs.file)?.[1];
    if (
      line !== undefined && line !== "default" && compareGoVersions(versionOf(line), minVers) > 0
    ) {
      chosen = line;
      minVers = versionOf(line);
    }
    const go = goDirective(inputs.file);
    if (go !== "" && compareGoVersions(go, minVers) > 0) {
      const lang = /^\d+\.\d+$/.test(go) && compareGoVersions(go, "1.21") >= 0;
      chosen = `go${go}${lang ? ".0" : ""}`;
    }
  }
  if (chosen === "local" || chosen === inputs.local) return undefined;
  if (switching && (mode === "path" || min === "path")) return undefined;
  return chosen;
}

function versionOf(toolchain: string): string {
  return /(?:^|-)go(\d[^-]*)/.exec(toolchain)?.[1] ?? "";
}

/** The local go installation as the toolchain switch sees it. */
export interface LocalGo {
  /** Its version from `$GOROOT/VERSION`, e.g. `go1.22.3`, if readable. */
  version?: string;
  /** GOOS of the go binary. */
  goos: string;
  /** GOARCH of the go binary. */
  goarch: string;
}

/**
 * Reads the local toolchain's version from `$GOROOT/VERSION` and its GOOS/GOARCH from the
 * `$GOROOT/pkg/tool/<goos>_<goarch>` directory, falling back to the platform Deno runs on.
 */
export function readLocalGo(goroot: string, host: Host): LocalGo {
  const text = goroot === "" ? undefined : host.readTextFile(join(goroot, "VERSION"));
  const first = text?.split("\n")[0].trim();
  const version = first && /^go\d/.test(first) ? first : undefined;
  const goos = host.os;
  const arch = Deno.build.arch;
  const goarch = arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
  const tools = toolDirs(goroot, host)
    .filter((e) => e.isDirectory && /^[a-z0-9]+_[a-z0-9]+$/.test(e.name))
    .map((e) => e.name.split("_"));
  const tool = tools.find(([os, a]) => os === goos && a === goarch) ?? tools[0];
  return { version, goos: tool?.[0] ?? goos, goarch: tool?.[1] ?? goarch };
}

function toolDirs(goroot: string, host: Host): Deno.DirEntry[] {
  if (goroot === "") return [];
  try {
    return host.readDir(join(goroot, "pkg", "tool"));
  } catch {
    return [];
  }
}

/** The `golang.org/toolchain` version of a toolchain for a platform. */
export function toolchainVersion(name: string, goos: string, goarch: string): string {
  return `v0.0.1-${name}.${goos}-${goarch}`;
}

/** What {@link prefetchToolchain} needs. */
export interface ToolchainOptions extends Pick<RunSettings, "dryRun" | "signal"> {
  /** GOMODCACHE, absolute. */
  root: string;
  /** The module version, from {@link toolchainVersion}. */
  version: string;
  /** Go's `$GOPATH/pkg/sumdb` (first GOPATH entry, "" when unset): the `latest` tree head. */
  sumdbDir: string;
  /** GOSUMDB. */
  gosumdb: string;
  /** GONOSUMDB (defaulting to GOPRIVATE); go ignores it for the toolchain unless GOPROXY is a `file://` URL. */
  gonosumdb: string;
  /** GOPROXY as in effect, for go's exception when it is a single `file://` URL. */
  goproxy: string;
  /** GIT_HTTP_USER_AGENT, for go's exception when it names proxy.golang.org. */
  gitHttpUserAgent?: string;
  /** The GOPROXY list. */
  proxies: ProxyEntry[];
  /** The process umask. */
  umask: number;
  /** The run's proxy client: the toolchain's zip is one of its requests, within its limits. */
  client: ProxyClient;
  /** The run's install pool: the toolchain installs in a worker, off the event loop. */
  pool: InstallPool;
}

/**
 * Downloads and installs the toolchain module unless the cache already holds it, as go's
 * `Exec` would: the zip's h1 must be the one the checksum database records (a cached
 * toolchain's `.ziphash` is checked too), the lookup going through go's own sumdb state
 * (inclusion and consistency proofs, cached lookup, tiles and latest tree head). Never
 * throws: failures are reported in the record, and leave nothing installed or changed.
 *
 * @example
 * ```ts
 * const record = await prefetchToolchain({
 *   root: "/home/me/go/pkg/mod",
 *   sumdbDir: "/home/me/go/pkg/sumdb",
 *   version: toolchainVersion("go1.22.3", "linux", "amd64"),
 *   gosumdb: "sum.golang.org",
 *   gonosumdb: "",
 *   goproxy: "https://proxy.golang.org,direct",
 *   proxies: parseProxyList("https://proxy.golang.org,direct", ""),
 *   umask: 0o022,
 *   dryRun: false,
 *   client, // the run's ProxyClient
 *   pool, // the run's InstallPool
 * });
 * ```
 */
export async function prefetchToolchain(opts: ToolchainOptions): Promise<ModuleRecord> {
  const keeper = new RecordKeeper(TOOLCHAIN_MODULE, opts.version, true, ["zip"]);
  try {
    const p = modulePaths(opts.root, TOOLCHAIN_MODULE, opts.version);
    const cached = isDirComplete(p);
    if (opts.dryRun) return keeper.finish(cached ? "cached" : "planned");
    if (cached) await verifyCached(opts, p);
    else await install(opts, p, keeper.record);
    return keeper.finish(cached ? "cached" : "fetched");
  } catch (e) {
    return keeper.failed(e);
  }
}

/** The database to check the toolchain against, or undefined when go would not check it. */
function sumDbFor(opts: ToolchainOptions): SumDb | undefined {
  if (!useSumDb(TOOLCHAIN_MODULE, opts)) return undefined;
  try {
    return parseGoSumDb(opts.gosumdb);
  } catch (e) {
    throw new SumDbError(
      `verifying module: ${(e as Error).message}`,
    );
  }
}

function lookup(opts: ToolchainOptions, db: SumDb, signal?: AbortSignal): Promise<string[]> {
  return lookupSumDb(TOOLCHAIN_MODULE, opts.version, {
    db,
    proxies: opts.proxies,
    gomodcache: opts.root,
    sumdbDir: opts.sumdbDir,
    signal,
  });
}

/**
 * Go's `checkMod` for a toolchain already in the cache: its `.ziphash` (recomputed from the
 * `.zip` and rewritten when it is not a well-formed hash) must be in the checksum database.
 */
async function verifyCached(opts: ToolchainOptions, p: ModulePaths): Promise<void> {
  const db = sumDbFor(opts);
  if (db === undefined) return;
  const ziphash = p.base + ".ziphash";
  const data = Deno.readTextFileSync(ziphash).trim();
  const valid = isValidZiphash(data);
  const h1 = valid ? data : hashZipFile(p.base + ".zip");
  if (!h1.startsWith("h1:")) throw new SumDbError(`unexpected ziphash: ${JSON.stringify(h1)}`);
  const hashes = await lookup(opts, db, opts.signal);
  if (!hashes.includes(h1)) {
    throw new ChecksumMismatchError(
      TOOLCHAIN_MODULE,
      opts.version,
      `checksum mismatch: the cached zip has ${h1}, ` +
        `the checksum database ${db.name} has ${hashes.join(" or ")}; ` +
        "the cache was left as it is. Remove the toolchain with go clean -modcache, or check GOSUMDB.",
      h1,
      hashes,
    );
  }
  if (!valid) await lockedRewrite(ziphash, 0o666, () => new TextEncoder().encode(h1));
}

async function install(
  opts: ToolchainOptions,
  p: ModulePaths,
  record: ModuleRecord,
): Promise<void> {
  const { client, signal } = opts;
  const db = sumDbFor(opts);
  mkdirAll(p.atV);
  const tempFile = () => tempName(p.base + ".zip");
  // Without a database the zip goes to a temp file, to be hashed first as go does.
  const [hashes, fetched] = await Promise.allSettled([
    db === undefined ? Promise.resolve(undefined) : lookup(opts, db, signal),
    client.fetchZip(TOOLCHAIN_MODULE, opts.version, tempFile, { signal, toFile: !db }),
  ]);
  if (fetched.status === "fulfilled") {
    const body = fetched.value.body;
    record.proxy = fetched.value.proxy;
    record.retries += fetched.value.retries;
    record.bytes += body.kind === "bytes" ? body.bytes.length : body.size;
  }
  try {
    if (hashes.status === "rejected") throw hashes.reason;
    if (fetched.status === "rejected") throw fetched.reason;
    const body = fetched.value.body;
    const zipHashes = hashes.value ??
      (body.kind === "tempFile" ? [hashZipFile(body.file)] : []);
    await installLocked(opts, p, body, zipHashes, db);
  } finally {
    if (fetched.status === "fulfilled") client.discard(fetched.value.body);
  }
}

/**
 * Under go's version lock, installs the toolchain zip checked against `zipHashes` (from `db`,
 * or, without one, its own hash), then makes it runnable as go's `Exec` does.
 */
async function installLocked(
  opts: ToolchainOptions,
  p: ModulePaths,
  body: ZipBody,
  zipHashes: string[],
  db: SumDb | undefined,
): Promise<void> {
  const lock = await lockVersion(p, opts.umask);
  try {
    if (isDirComplete(p)) return;
    await opts.pool.install({
      root: opts.root,
      path: TOOLCHAIN_MODULE,
      version: opts.version,
      zipHashes,
      modcacherw: false,
      umask: opts.umask,
      zip: downloadedZip(body),
    }).catch((e) => {
      if (!(e instanceof InstallError) || e.got === undefined) throw e;
      throw new ChecksumMismatchError(
        TOOLCHAIN_MODULE,
        opts.version,
        `checksum mismatch: the downloaded zip has ${e.got}, ` +
          `the checksum database ${db?.name} has ${zipHashes.join(" or ")}; ` +
          "nothing was written to the cache.",
        e.got,
        zipHashes,
      );
    });
    if (Deno.build.os !== "windows") addExecuteBits(p.dir);
    copyGoMods(p.dir);
  } finally {
    lock.close();
  }
}

/** Go's `Exec`: when `bin/go` is not executable, add `+x` to the tool, exec and bin files. */
function addExecuteBits(dir: string): void {
  const goBin = statIfThere(join(dir, "bin", "go"));
  if (!goBin || (goBin.mode! & 0o111) !== 0) return;
  const files: string[] = [];
  walk(join(dir, "pkg", "tool"), (f) => files.push(f));
  walk(join(dir, "lib"), (f, name) => {
    if (/^go_.+_.+_exec$/.test(name)) files.push(f);
  });
  files.push(join(dir, "bin", "gofmt"));
  walk(join(dir, "bin"), (f) => files.push(f));
  for (const f of files) {
    const info = statIfThere(f);
    if (info?.isFile) Deno.chmodSync(f, (info.mode! & 0o777) | 0o111);
  }
}

/**
 * Go's `Exec`: when `src/go.mod` and `src/_go.mod` differ in size, every `_go.mod` is copied
 * to `go.mod` beside it, `src/go.mod` last, with the `_go.mod`'s mode, in directories made
 * writable for the copy only.
 */
function copyGoMods(dir: string): void {
  const size = (f: string) => statIfThere(f)?.size ?? -1;
  if (size(join(dir, "src", "go.mod")) === size(join(dir, "src", "_go.mod"))) return;
  const srcMod = join(dir, "src", "_go.mod");
  const found: string[] = [];
  walk(dir, (f, name) => {
    if (name === "_go.mod" && f !== srcMod) found.push(f);
  });
  for (const from of [...found, srcMod]) {
    const info = statIfThere(from);
    if (!info) continue;
    const parent = join(from, "..");
    const parentMode = Deno.statSync(parent).mode! & 0o777;
    Deno.chmodSync(parent, parentMode | 0o200);
    try {
      const to = join(parent, "go.mod");
      removeFile(to);
      Deno.writeFileSync(to, Deno.readFileSync(from), { mode: info.mode! & 0o777 });
      Deno.chmodSync(to, info.mode! & 0o777);
    } finally {
      Deno.chmodSync(parent, parentMode);
    }
  }
}

function walk(dir: string, visit: (file: string, name: string) => void): void {
  let entries: Deno.DirEntry[];
  try {
    entries = Array.from(Deno.readDirSync(dir));
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory) walk(path, visit);
    else if (e.isFile) visit(path, e.name);
  }
}

/** A `--toolchain` name go would not accept. */
export class ToolchainNameError extends Error {
  /** `"ToolchainNameError"`. */
  override name = "ToolchainNameError";
}

/**
 * Checks that `name`, given with `--toolchain`, is a Go toolchain name (`goX.Y`, `goX.Y.Z`,
 * `goX.YrcN`, `goX.YbetaN`).
 *
 * @throws {ToolchainNameError} when it is not.
 */
export function checkToolchainName(name: string): void {
  if (/^go\d+\.\d+(\.\d+|rc\d+|beta\d+)?$/.test(name)) return;
  throw new ToolchainNameError(
    `--toolchain wants a Go toolchain name such as go1.22.3, got "${name}"`,
  );
}

/** What {@link wantedToolchain} reads. */
export interface WantedInputs {
  /** The toolchain asked for explicitly (`--toolchain`), if any. */
  forced?: string;
  /** GOTOOLCHAIN. */
  gotoolchain: string;
  /** GOROOT of the local go. */
  goroot: string;
  /** The go.work, or go.mod, whose `go` and `toolchain` lines apply. */
  file: string;
}

/**
 * The `golang.org/toolchain` version to prefetch: the forced toolchain, or the one
 * {@link selectToolchain} picks from GOTOOLCHAIN and `file`; undefined when there is none.
 *
 * @throws {ToolchainNameError} when `forced` is not a Go toolchain name.
 */
export function wantedToolchain(inputs: WantedInputs, host: Host): string | undefined {
  if (inputs.forced !== undefined) checkToolchainName(inputs.forced);
  const local = readLocalGo(inputs.goroot, host);
  const name = inputs.forced ?? selectToolchain({
    gotoolchain: inputs.gotoolchain || "local",
    local: local.version,
    file: host.readTextFile(inputs.file),
  });
  return name === undefined ? undefined : toolchainVersion(name, local.goos, local.goarch);
}
