/**
 * Installing a zip while it downloads to its temp file, so that the biggest zips, which
 * arrive last, are mostly extracted by the time their last byte is in.
 *
 * Entries are extracted under `.partial` as their local headers and data arrive
 * (zip_stream.ts), each name first passing the rules that apply to one entry. None of it is
 * trusted: once the zip is complete, its central directory is checked in full as for any
 * install, and a file extracted early is kept only if the directory lists the very entry it
 * came from; if any early file is not so listed, the whole tree is removed and extracted
 * again from the directory. Then the h1 is checked and the install completes as usual.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { sha256Hex } from "../zip/dirhash.ts";
import {
  fileSource,
  readCentralDirectory,
  type ZipEntry,
  type ZipSource,
} from "../zip/zip_reader.ts";
import { checkZipEntries, entryPlanner, MAX_ZIP_FILE, ZipRuleError } from "../zip/zip_rules.ts";
import { type LocalEntrySink, type LocalHeader, ZipStreamReader } from "../zip/zip_stream.ts";
import { removeFile, removeTree, writeAll } from "../util/files.ts";
import { type ModulePaths, modulePaths } from "./module_cache.ts";
import {
  abandonInstall,
  completeInstall,
  Extracted,
  type InstallResult,
  type InstallTarget,
  makeParent,
  startInstall,
} from "./installer.ts";

/**
 * How many times its own size a zip may inflate to before its central directory is there:
 * module zips inflate 3 to 8 times, and a bomb must not fill the disk before its declared
 * sizes are seen. What is beyond is extracted from the directory, within its declared sizes.
 */
const EARLY_RATIO = 32;

/** Where a directory entry's data goes: nowhere, as extraction makes directories for files. */
const IGNORED: LocalEntrySink = { write() {}, end() {} };

/**
 * One install that follows its zip's temp file as the download writes it. The caller must
 * hold the version lock from before it is made until `finish` or `abandon` has returned, and
 * owns the temp file, which `finish` renames to `<version>.zip` on success.
 *
 * @example
 * ```ts
 * const install = new StreamedInstall(target, tempFile, contentLength);
 * // each time the download has written more:
 * install.grew(written);
 * // once it has written all:
 * const { h1 } = await install.finish();
 * ```
 */
export class StreamedInstall {
  readonly #job: InstallTarget;
  readonly #p: ModulePaths;
  readonly #file: string;
  readonly #fd: Deno.FsFile;
  readonly #source: ZipSource;
  readonly #plan: ReturnType<typeof entryPlanner>;
  readonly #reader: ZipStreamReader;
  #extracted = new Extracted();
  /** The file of the entry being read, until its data has ended. */
  #current: FileSink | undefined;
  #speculating = true;

  /**
   * Starts the install of `job` from `file`, which will hold `size` bytes: `.partial` is
   * written now.
   */
  constructor(job: InstallTarget, file: string, size: number) {
    this.#job = job;
    this.#p = modulePaths(job.root, job.path, job.version);
    this.#file = file;
    this.#plan = entryPlanner(job.path, job.version);
    startInstall(job, this.#p, file);
    this.#fd = Deno.openSync(file, { read: true });
    this.#source = fileSource(this.#fd, size);
    const limit = Math.min(MAX_ZIP_FILE, EARLY_RATIO * size);
    this.#reader = new ZipStreamReader(this.#source, (h) => this.#open(h), limit);
  }

  /** The file now holds its first `size` bytes: extracts what they complete. */
  grew(size: number): void {
    if (!this.#speculating) return;
    try {
      this.#reader.advance(size);
    } catch {
      this.#wipe();
    }
  }

  /**
   * Completes the install once the file holds every byte: checks the central directory,
   * keeps what was extracted from the entries it lists, extracts the rest, and checks the
   * h1. On failure the tree and `.partial` are removed.
   */
  async finish(): Promise<InstallResult> {
    this.#speculating = false;
    this.#current?.discard();
    const source = this.#source;
    try {
      const planned = checkZipEntries(
        this.#job.path,
        this.#job.version,
        source.size,
        readCentralDirectory(source),
      );
      const kept = planned.filter((e) => this.#extracted.sha256Of(e.entry) !== undefined);
      if (kept.length !== this.#extracted.files.size) this.#wipe();
      const zip = { kind: "tempFile" as const, file: this.#file };
      return await completeInstall(this.#job, this.#p, source, planned, this.#extracted, zip);
    } catch (e) {
      abandonInstall(this.#p);
      throw e;
    } finally {
      this.#fd.close();
    }
  }

  /** Gives the install up: the download failed, or the module's go.mod did not check out. */
  abandon(): void {
    this.#speculating = false;
    this.#current?.discard();
    this.#fd.close();
    abandonInstall(this.#p);
  }

  /** Stops extracting early and removes what was, to be extracted from the directory. */
  #wipe(): void {
    this.#speculating = false;
    this.#current?.discard();
    this.#current = undefined;
    removeTree(this.#p.dir);
    this.#extracted = new Extracted();
  }

  #open(header: LocalHeader): LocalEntrySink | undefined {
    const planned = this.#plan({
      ...header,
      creatorVersion: 0,
      externalAttributes: 0,
      crc32: 0,
      compressedSize: 0,
      uncompressedSize: 0,
    });
    if (planned instanceof ZipRuleError) return undefined;
    if (planned.isDirectory) return IGNORED;
    const root = this.#p.dir;
    const dirs = this.#extracted.dirs;
    if (!dirs.has(root)) {
      Deno.mkdirSync(root, { mode: 0o777 });
      dirs.add(root);
    }
    const target = join(root, planned.relPath);
    makeParent(dirs, root, target);
    const mode = 0o444 & ~this.#job.umask;
    this.#current = new FileSink(target, mode, (entry, sha256) => {
      this.#extracted.files.set(entry.localHeaderOffset, { entry, sha256 });
      this.#current = undefined;
    });
    return this.#current;
  }
}

/**
 * One entry's new file, hashed as it is written: in one call when the data comes in one
 * piece, as most entries do.
 */
class FileSink implements LocalEntrySink {
  readonly #target: string;
  readonly #mode: number;
  readonly #done: (entry: ZipEntry, sha256: string) => void;
  #file: Deno.FsFile | undefined;
  #hash: Hash | undefined;

  constructor(target: string, mode: number, done: (entry: ZipEntry, sha256: string) => void) {
    this.#target = target;
    this.#mode = mode;
    this.#done = done;
  }

  write(chunk: Uint8Array): void {
    this.#file ??= Deno.openSync(this.#target, { write: true, createNew: true, mode: this.#mode });
    this.#hash ??= createHash("sha256");
    this.#hash.update(chunk);
    writeAll(this.#file, chunk);
  }

  end(tail: Uint8Array, entry: ZipEntry): void {
    if (this.#file === undefined) {
      Deno.writeFileSync(this.#target, tail, { createNew: true, mode: this.#mode });
      return this.#done(entry, sha256Hex(tail));
    }
    this.write(tail);
    this.#file.close();
    this.#file = undefined;
    this.#done(entry, this.#hash!.digest("hex"));
  }

  /** Removes the file of an entry whose data did not end. */
  discard(): void {
    if (this.#file === undefined) return;
    this.#file.close();
    this.#file = undefined;
    removeFile(this.#target);
  }
}
