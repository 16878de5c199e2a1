/**
 * File helpers every layer that writes uses, with go's modes: directories made as go's
 * `MkdirAll` makes them, trees removed as go's `RemoveAll` removes the cache's read-only ones,
 * and writes that finish.
 *
 * @module
 */
import { join } from "node:path";

/** Creates a directory and its parents with mode 0777 (masked by the process umask), as go's `MkdirAll`. */
export async function mkdirAll(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o777 });
}

/** Removes a tree that may hold read-only directories, as go's `RemoveAll` in the cache does. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await Deno.lstat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  await makeTreeWritable(dir);
  await Deno.remove(dir, { recursive: true });
}

async function makeTreeWritable(dir: string): Promise<void> {
  const info = await Deno.lstat(dir);
  if (!info.isDirectory) return;
  await Deno.chmod(dir, (info.mode! & 0o777) | 0o700);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) await makeTreeWritable(join(dir, entry.name));
  }
}

/** Writes all of `data` at the file's current offset (a single write may be short). */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let n = 0; n < data.length;) n += await file.write(data.subarray(n));
}
