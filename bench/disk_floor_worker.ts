/**
 * The disk floor's worker: for one zip per message, writes the zip itself (as the cache keeps
 * it) and every file in it, inflated once (through goprefetch's reused zlib stream, the fastest
 * way measured) and hashed, with synchronous calls only, and answers when it is done.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { bytesSource, EntryInflater, readCentralDirectory } from "../src/zip/zip_reader.ts";

const inflater = new EntryInflater();

/** Copies the zip at `file` into `out`, and inflates, hashes and writes every file of it there. */
function extract(file: string, out: string): void {
  const zip = Deno.readFileSync(file);
  Deno.mkdirSync(out, { recursive: true });
  Deno.writeFileSync(join(out, "module.zip"), zip);
  const src = bytesSource(zip);
  const made = new Set<string>();
  for (const e of readCentralDirectory(src)) {
    if (e.name.endsWith("/")) continue;
    const target = join(out, e.name);
    if (!made.has(dirname(target))) {
      Deno.mkdirSync(dirname(target), { recursive: true });
      made.add(dirname(target));
    }
    const hash = createHash("sha256");
    using f = Deno.openSync(target, { write: true, create: true, truncate: true });
    inflater.inflate(src, e, (chunk) => {
      hash.update(chunk);
      for (let n = 0; n < chunk.length;) n += f.writeSync(chunk.subarray(n));
    });
    hash.digest();
  }
}

self.onmessage = (e: MessageEvent<{ zip: string; out: string }>) => {
  extract(e.data.zip, e.data.out);
  self.postMessage(null);
};
