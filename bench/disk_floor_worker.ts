/**
 * The disk floor's worker: for one zip per message, writes the zip itself (as the cache keeps
 * it) and every file in it, inflated once and hashed, with synchronous calls only, and answers
 * when it is done.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";

/** One file entry of a zip's central directory. */
interface Entry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
}

/** Reads the central directory of a (non-zip64) zip held in memory. */
function entries(zip: Uint8Array): Entry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("No end of central directory record");
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = view.getUint16(p + 28, true);
    out.push({
      name: new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen)),
      method: view.getUint16(p + 10, true),
      compressedSize: view.getUint32(p + 20, true),
      localOffset: view.getUint32(p + 42, true),
    });
    p += 46 + nameLen + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  return out;
}

/** Copies the zip at `file` into `out`, and inflates, hashes and writes every file of it there. */
function extract(file: string, out: string): void {
  const zip = Deno.readFileSync(file);
  Deno.mkdirSync(out, { recursive: true });
  Deno.writeFileSync(join(out, "module.zip"), zip);
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const made = new Set<string>();
  for (const e of entries(zip)) {
    if (e.name.endsWith("/")) continue;
    const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) +
      view.getUint16(e.localOffset + 28, true);
    const raw = zip.subarray(start, start + e.compressedSize);
    const data = e.method === 0 ? raw : inflateRawSync(raw);
    createHash("sha256").update(data).digest();
    const target = join(out, e.name);
    if (!made.has(dirname(target))) {
      Deno.mkdirSync(dirname(target), { recursive: true });
      made.add(dirname(target));
    }
    Deno.writeFileSync(target, data);
  }
}

self.onmessage = (e: MessageEvent<{ zip: string; out: string }>) => {
  extract(e.data.zip, e.data.out);
  self.postMessage(null);
};
