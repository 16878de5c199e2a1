/**
 * Installing one module version into the cache, the CPU-bound step: check the zip
 * rules on the central directory, inflate each entry once while hashing and writing it
 * under `.partial`, compare the h1 with go.sum, then publish `.ziphash` and `.zip` and
 * remove `.partial`, in the order go's lock-free readers rely on.
 *
 * The caller must hold the version lock (see `lockVersion`).
 *
 * @module
 */
import { ModuleError } from "../module/module_error.ts";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { EMPTY_SHA256, hash1, type HashedFile, hashZipFile, sha256Hex } from "../zip/dirhash.ts";
import { type ModulePaths, modulePaths } from "./module_cache.ts";
import { sameBytes } from "../util/bytes.ts";
import { lockedRewrite, mkdirAll, removeTree, tempName } from "../util/files.ts";
import {
  bytesSource,
  EntryInflater,
  fileSource,
  readCentralDirectory,
  type ZipEntry,
  type ZipSource,
} from "../zip/zip_reader.ts";
import { checkZipEntries, type PlannedEntry } from "../zip/zip_rules.ts";
import type { ZipBody } from "../goproxy/goproxy.ts";

/** One per isolate: installs run one at a time in each worker, and each entry inflates in one call. */
const inflater = new EntryInflater();

/** One module version to install; plain data, so it can be posted to a worker. */
export interface InstallJob {
  /** GOMODCACHE. */
  root: string;
  /** Module path, unescaped. */
  path: string;
  /** Module version, unescaped. */
  version: string;
  /** The h1 hashes go.sum accepts for the zip. */
  zipHashes: string[];
  /** Leave extracted directories writable (`-modcacherw`). */
  modcacherw: boolean;
  /** The process umask, applied to the modes go asks for. */
  umask: number;
  /**
   * Where the zip is: in memory; in a temp file in the `@v` directory that becomes
   * `<version>.zip` on success; or the cache's own `<version>.zip` already in place, with
   * `treeInPlace` when the extracted tree is there and not marked `.partial`, so that only
   * `.ziphash` is missing or malformed.
   */
  zip:
    | { kind: "bytes"; bytes: Uint8Array }
    | { kind: "tempFile"; file: string; size: number }
    | { kind: "cached"; treeInPlace: boolean };
}

/** The {@linkcode InstallJob} zip for a body the proxy client downloaded. */
export function downloadedZip(body: ZipBody): InstallJob["zip"] {
  return body.kind === "bytes"
    ? { kind: "bytes", bytes: body.bytes }
    : { kind: "tempFile", file: body.file, size: body.size };
}

/** What an install did. */
export interface InstallResult {
  /** The zip's h1, as written to `.ziphash`. */
  h1: string;
  /** Number of files extracted. */
  files: number;
  /** Uncompressed bytes written. */
  bytes: number;
}

/** A module's zip does not match the hashes it was checked against. */
export class ChecksumMismatchError extends ModuleError {
  override name = "ChecksumMismatchError";
  /** The h1 the zip has. */
  readonly got: string;
  /** The h1 hashes it should have had. */
  readonly want: string[];

  /** Creates the error: `detail` says where `want` came from and what was done. */
  constructor(path: string, version: string, detail: string, got: string, want: string[]) {
    super(path, version, detail);
    this.got = got;
    this.want = want;
  }
}

/**
 * Installs `job` into the cache. On any failure the extracted tree and `.partial` are
 * removed, so nothing is left that go would trust; the error says what went wrong, and the
 * worker (install_worker.ts) names the module. A cached zip whose tree is in place is
 * only hashed, and nothing but `.ziphash` is written.
 */
export async function installModule(job: InstallJob): Promise<InstallResult> {
  const p = modulePaths(job.root, job.path, job.version);
  if (job.zip.kind === "cached" && job.zip.treeInPlace) return await hashCachedZip(job, p);
  const zipFile = job.zip.kind === "tempFile"
    ? job.zip.file
    : job.zip.kind === "cached"
    ? p.base + ".zip"
    : undefined;
  const file = zipFile === undefined ? undefined : Deno.openSync(zipFile, { read: true });
  try {
    const source = file ? fileSource(file, file.statSync().size) : bytesSource(
      (job.zip as { bytes: Uint8Array }).bytes,
    );
    const planned = checkZipEntries(
      job.path,
      job.version,
      source.size,
      readCentralDirectory(source),
    );
    clearLeftovers(p, zipFile);
    mkdirAll(dirname(p.dir));
    const partial = p.base + ".partial";
    Deno.writeFileSync(partial, new Uint8Array(), { mode: 0o666 & ~job.umask });
    let result: InstallResult;
    let dirs: string[];
    let staged: string | undefined;
    let wroteZiphash = false;
    try {
      ({ result, dirs } = extract(job, p, source, planned));
      staged = stageZip(job, p);
      wroteZiphash = await writeZiphash(p.base + ".ziphash", result.h1, job.umask);
      if (staged !== undefined) Deno.renameSync(staged, p.base + ".zip");
    } catch (e) {
      if (job.zip.kind === "bytes" && staged !== undefined) removeIfPresent(staged);
      if (wroteZiphash) removeIfPresent(p.base + ".ziphash");
      removeTree(p.dir);
      Deno.removeSync(partial);
      throw e;
    }
    Deno.removeSync(partial);
    if (!job.modcacherw) makeDirsReadOnly(dirs, job.umask);
    return result;
  } finally {
    file?.close();
  }
}

function extract(
  job: InstallJob,
  p: ModulePaths,
  source: ZipSource,
  planned: PlannedEntry[],
): { result: InstallResult; dirs: string[] } {
  Deno.mkdirSync(p.dir, { mode: 0o777 });
  const dirs = new Set([p.dir]);
  const hashed: HashedFile[] = [];
  const fileMode = 0o444 & ~job.umask;
  let bytes = 0;
  let files = 0;
  for (const { entry, relPath, isDirectory } of planned) {
    if (isDirectory) {
      hashed.push({ name: entry.name, sha256: EMPTY_SHA256 });
      continue;
    }
    const target = `${p.dir}/${relPath}`;
    const parent = parentOf(target);
    if (!dirs.has(parent)) {
      Deno.mkdirSync(parent, { recursive: true, mode: 0o777 });
      for (let d = parent; d !== p.dir && !dirs.has(d); d = parentOf(d)) dirs.add(d);
    }
    hashed.push({ name: entry.name, sha256: writeEntry(source, entry, target, fileMode) });
    bytes += entry.uncompressedSize;
    files++;
  }
  const h1 = hash1(hashed);
  checkZipHash(job, h1);
  return { result: { h1, files, bytes }, dirs: [...dirs] };
}

/** The directory of `path`, which is clean and inside the tree: cheaper than `dirname`, per entry. */
function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** Throws unless go.sum lists `h1` for the zip. */
function checkZipHash(job: InstallJob, h1: string): void {
  if (!job.zipHashes.includes(h1)) {
    throw new ChecksumMismatchError(
      job.path,
      job.version,
      `checksum mismatch: the downloaded zip has ${h1}, ` +
        `go.sum has ${job.zipHashes.join(" or ")}; nothing was written to the cache. ` +
        `The proxy served other content than go.sum records: check GOPROXY, or go.sum itself.`,
      h1,
      job.zipHashes,
    );
  }
}

/**
 * Go's `hashZip` for a tree that is complete but for `.ziphash`: the cached zip is hashed and
 * checked with go.sum, and `.ziphash` is written; the tree is not extracted again. Leftover
 * zip temp files are removed first, as go's `downloadZip` does before it.
 */
async function hashCachedZip(job: InstallJob, p: ModulePaths): Promise<InstallResult> {
  removeMatching(p.atV, isZipLeftover(p, undefined), Deno.removeSync);
  const h1 = hashZipFile(p.base + ".zip");
  checkZipHash(job, h1);
  await writeZiphash(p.base + ".ziphash", h1, job.umask);
  return { h1, files: 0, bytes: 0 };
}

/**
 * Inflates one entry into a new file while hashing it, and returns its SHA-256. An entry
 * that fits the inflater's buffer is written in one call; a larger one chunk by chunk.
 */
function writeEntry(source: ZipSource, entry: ZipEntry, target: string, mode: number): string {
  if (entry.uncompressedSize <= inflater.capacity) {
    let data: Uint8Array = new Uint8Array();
    inflater.inflate(source, entry, (chunk) => data = chunk);
    Deno.writeFileSync(target, data, { createNew: true, mode });
    return sha256Hex(data);
  }
  const hash = createHash("sha256");
  using out = Deno.openSync(target, { write: true, createNew: true, mode });
  inflater.inflate(source, entry, (chunk) => {
    hash.update(chunk);
    for (let n = 0; n < chunk.length;) n += out.writeSync(chunk.subarray(n));
  });
  return hash.digest("hex");
}

/**
 * Go deletes these leftovers whenever it takes the lock to download or extract; `keep` is
 * the zip being installed, which may itself have such a name.
 */
function clearLeftovers(p: ModulePaths, keep: string | undefined): void {
  removeMatching(p.atV, isZipLeftover(p, keep), Deno.removeSync);
  const dirPrefix = p.dir.slice(dirname(p.dir).length + 1) + ".tmp-";
  removeMatching(dirname(p.dir), (n) => n.startsWith(dirPrefix), removeTree);
  removeTree(p.dir);
}

/** Matches go's `<version>.zip*.tmp` temp files in the `@v` directory, except `keep`. */
function isZipLeftover(p: ModulePaths, keep: string | undefined): (name: string) => boolean {
  const zipPrefix = p.base.slice(p.atV.length + 1) + ".zip";
  return (n) => n.startsWith(zipPrefix) && n.endsWith(".tmp") && join(p.atV, n) !== keep;
}

function removeMatching(
  dir: string,
  match: (name: string) => boolean,
  remove: (path: string) => void,
): void {
  let names: string[];
  try {
    names = Array.from(Deno.readDirSync(dir), (e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const name of names) {
    if (!match(name)) continue;
    try {
      remove(join(dir, name));
    } catch {
      // Best effort, as go's: a leftover that cannot be removed is left.
    }
  }
}

/**
 * Writes `.ziphash` as go's `hashZip` does: open, exclusive lock, truncate, write. One that
 * already holds `h1` is left alone, so reinstalling from a cached zip never tears it.
 * Returns whether it wrote.
 */
async function writeZiphash(file: string, h1: string, umask: number): Promise<boolean> {
  const text = new TextEncoder().encode(h1);
  return await lockedRewrite(
    file,
    0o666 & ~umask,
    (old) => sameBytes(old, text) ? undefined : text,
  );
}

/**
 * The file to rename to `<version>.zip` once `.ziphash` is written: the downloaded temp
 * file, or the in-memory zip written out now (so a full disk fails before `.ziphash`
 * exists); none when the zip is already the cache's own.
 */
function stageZip(job: InstallJob, p: ModulePaths): string | undefined {
  if (job.zip.kind === "tempFile") return job.zip.file;
  if (job.zip.kind === "cached") return undefined;
  const tmp = tempName(p.base + ".zip");
  try {
    Deno.writeFileSync(tmp, job.zip.bytes, { createNew: true, mode: 0o666 & ~job.umask });
  } catch (e) {
    removeIfPresent(tmp);
    throw e;
  }
  return tmp;
}

function removeIfPresent(file: string): void {
  try {
    Deno.removeSync(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Go's `makeDirsReadOnly`: every directory of the tree loses its write bits, children first. */
function makeDirsReadOnly(dirs: string[], umask: number): void {
  const mode = 0o777 & ~umask & ~0o222;
  dirs.sort((a, b) => b.length - a.length);
  for (const d of dirs) Deno.chmodSync(d, mode);
}
