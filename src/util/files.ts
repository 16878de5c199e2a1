/**
 * File helpers every layer that writes uses, with go's modes: directories made as go's
 * `MkdirAll` makes them, trees removed as go's `RemoveAll` removes the cache's read-only ones,
 * writes that finish, and files read and rewritten under go's `lockedfile` locks.
 *
 * Small file calls are synchronous: on a local disk each takes microseconds, while Deno's
 * async form hands every call to a thread of its own and costs ten times the CPU (measured in
 * docs/performance.md). Only a wait for a lock, which another go process may hold for
 * minutes, is async.
 *
 * @module
 */
import { join } from "node:path";

/** Creates a directory and its parents with mode 0777 (masked by the process umask), as go's `MkdirAll`. */
export function mkdirAll(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o777 });
}

/** Removes a tree that may hold read-only directories, as go's `RemoveAll` in the cache does. */
export function removeTree(dir: string): void {
  try {
    Deno.lstatSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  makeTreeWritable(dir);
  Deno.removeSync(dir, { recursive: true });
}

function makeTreeWritable(dir: string): void {
  const info = Deno.lstatSync(dir);
  if (!info.isDirectory) return;
  Deno.chmodSync(dir, (info.mode! & 0o777) | 0o700);
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) makeTreeWritable(join(dir, entry.name));
  }
}

/** `path`'s stat, or undefined when it cannot be had (it is not there, or not reachable). */
export function statIfThere(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Removes `file` if it can: one that is gone already, or cannot be removed, is left (a temp
 * file's name is one go's clean-up removes).
 */
export function removeFile(file: string): void {
  try {
    Deno.removeSync(file);
  } catch {
    // Best effort: see above.
  }
}

/** Writes all of `data` at the file's current offset (a single write may be short). */
export function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  for (let n = 0; n < data.length;) n += file.writeSync(data.subarray(n));
}

/**
 * A name for a temp file beside `file`, as go's cache writers make them: `<file><N>.tmp`, such
 * as `v1.0.0.zip123456789.tmp`, which go removes as a leftover when it takes the version lock.
 */
export function tempName(file: string): string {
  return `${file}${Math.floor(Math.random() * 1e9)}.tmp`;
}

/**
 * Reads a file just opened to its end, into a buffer of the size it has (these are small:
 * version lists, `.ziphash`, sumdb notes and tiles), grown should it grow meanwhile.
 */
function readAll(file: Deno.FsFile): Uint8Array {
  let buf = new Uint8Array(file.statSync().size + 1);
  for (let n = 0;;) {
    if (n === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
    }
    const got = file.readSync(buf.subarray(n));
    if (got === null) return buf.subarray(0, n);
    n += got;
  }
}

/** Reads `path` under a shared lock, as go's `lockedfile.Read` does. */
export async function lockedRead(path: string): Promise<Uint8Array> {
  const f = Deno.openSync(path, { read: true });
  try {
    await f.lock(false);
    return readAll(f);
  } finally {
    f.close();
  }
}

/**
 * Rewrites `path` in place under an exclusive lock, as go's `lockedfile` writers do: it is
 * opened (created with `mode` if missing), locked, read, and `next(old)` decides the new
 * content, or undefined to leave it as it is (it may also throw). Returns whether it wrote.
 */
export async function lockedRewrite(
  path: string,
  mode: number,
  next: (old: Uint8Array) => Uint8Array | undefined,
): Promise<boolean> {
  const f = Deno.openSync(path, { read: true, write: true, create: true, mode });
  try {
    await f.lock(true);
    const data = next(readAll(f));
    if (data === undefined) return false;
    f.truncateSync(0);
    f.seekSync(0, Deno.SeekMode.Start);
    writeAll(f, data);
    return true;
  } finally {
    f.close();
  }
}
