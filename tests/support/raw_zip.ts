/**
 * Hand-built zip archives for tests, laid out like Go's `archive/zip` writer (data
 * descriptors, zero sizes in local headers) but with every field open to lies.
 *
 * @module
 */

import { createHash } from "node:crypto";
import zlib from "node:zlib";

/** One entry of {@linkcode rawZip}; unset fields are derived from `data`. */
export interface RawEntry {
  /** The name; bytes allow invalid UTF-8. */
  name: string | Uint8Array;
  /** The uncompressed content (default empty). */
  data?: Uint8Array | string;
  /** 0 stored or 8 deflate (the default). */
  method?: number;
  /** The bytes written as the entry's data, instead of `data` compressed by `method`. */
  payload?: Uint8Array;
  /** Declared CRC-32 (default: the real one). */
  crc32?: number;
  /** Declared uncompressed size (default: the real one). */
  uncompressedSize?: number;
  /** Declared compressed size (default: the payload length). */
  compressedSize?: number;
  /** Declared local header offset (default: the real one). */
  localHeaderOffset?: number;
  /** General-purpose flags (default 0x808: UTF-8 names and a data descriptor, as Go writes). */
  flags?: number;
  /** Version made by (default 0x314: Unix, zip 2.0). */
  creatorVersion?: number;
  /** External attributes (default: mode 0644 regular file in the high 16 bits). */
  externalAttributes?: number;
  /** Saturate sizes and offset in the central directory and add a Zip64 extra field. */
  zip64?: boolean;
}

/** Archive-level options of {@linkcode rawZip}. */
export interface RawZipOptions {
  /** Archive comment. */
  comment?: Uint8Array;
  /** Bytes before the first local header (a self-extractor stub). */
  prepend?: Uint8Array;
  /** Write a Zip64 end record and locator, saturating the 32-bit end record. */
  zip64End?: boolean;
  /** Declared entry count (default: the real one). */
  records?: number;
  /** Declared central directory size (default: the real one). */
  directorySize?: number;
  /** Declared central directory offset (default: the real one). */
  directoryOffset?: number;
}

const encoder = new TextEncoder();

function bytes(value: Uint8Array | string | undefined): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value ?? new Uint8Array(0);
}

/** Little-endian field writer over a growing buffer. */
class Out {
  buf = new Uint8Array(1024);
  length = 0;

  private room(n: number): DataView {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    const dv = new DataView(this.buf.buffer, this.length, n);
    this.length += n;
    return dv;
  }

  put(b: Uint8Array): void {
    const at = this.length;
    this.room(b.length);
    this.buf.set(b, at);
  }

  u16(v: number): void {
    this.room(2).setUint16(0, v, true);
  }

  u32(v: number): void {
    this.room(4).setUint32(0, v >>> 0, true);
  }

  u64(v: number): void {
    this.u32(v % 0x1_0000_0000);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Compresses `data` as raw deflate. */
export function deflate(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(zlib.deflateRawSync(bytes(data)));
}

/** Builds a zip archive from `entries`, honouring every override. */
export function rawZip(entries: RawEntry[], options: RawZipOptions = {}): Uint8Array {
  const out = new Out();
  out.put(options.prepend ?? new Uint8Array(0));
  const central = new Out();
  for (const e of entries) {
    const name = bytes(e.name);
    const data = bytes(e.data);
    const method = e.method ?? 8;
    const payload = e.payload ?? (method === 8 ? deflate(data) : data);
    const flags = e.flags ?? 0x808;
    const crc = e.crc32 ?? zlib.crc32(data);
    const offset = out.length - (options.prepend?.length ?? 0);

    out.u32(0x04034b50);
    out.u16(20);
    out.u16(flags);
    out.u16(method);
    out.u32(0x00210000);
    const descriptor = (flags & 0x8) !== 0;
    out.u32(descriptor ? 0 : crc);
    out.u32(descriptor ? 0 : payload.length);
    out.u32(descriptor ? 0 : data.length);
    out.u16(name.length);
    out.u16(0);
    out.put(name);
    out.put(payload);
    if (descriptor) {
      out.u32(0x08074b50);
      out.u32(crc);
      out.u32(payload.length);
      out.u32(data.length);
    }

    const sizes = [
      e.uncompressedSize ?? data.length,
      e.compressedSize ?? payload.length,
      e.localHeaderOffset ?? offset,
    ];
    central.u32(0x02014b50);
    central.u16(e.creatorVersion ?? 0x314);
    central.u16(20);
    central.u16(flags);
    central.u16(method);
    central.u32(0x00210000);
    central.u32(crc);
    central.u32(e.zip64 ? 0xffffffff : sizes[1]);
    central.u32(e.zip64 ? 0xffffffff : sizes[0]);
    central.u16(name.length);
    central.u16(e.zip64 ? 28 : 0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(e.externalAttributes ?? 0o100644 << 16);
    central.u32(e.zip64 ? 0xffffffff : sizes[2]);
    central.put(name);
    if (e.zip64) {
      central.u16(1);
      central.u16(24);
      for (const v of sizes) central.u64(v);
    }
  }

  const directoryOffset = options.directoryOffset ??
    out.length - (options.prepend?.length ?? 0);
  const directorySize = options.directorySize ?? central.length;
  const records = options.records ?? entries.length;
  out.put(central.bytes());
  if (options.zip64End) {
    const at = out.length - (options.prepend?.length ?? 0);
    out.u32(0x06064b50);
    out.u64(44);
    out.u16(45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(records);
    out.u64(records);
    out.u64(directorySize);
    out.u64(directoryOffset);
    out.u32(0x07064b50);
    out.u32(0);
    out.u64(at);
    out.u32(1);
  }
  const comment = options.comment ?? new Uint8Array(0);
  out.u32(0x06054b50);
  out.u16(0);
  out.u16(0);
  out.u16(options.zip64End ? 0xffff : records & 0xffff);
  out.u16(options.zip64End ? 0xffff : records & 0xffff);
  out.u32(options.zip64End ? 0xffffffff : directorySize);
  out.u32(options.zip64End ? 0xffffffff : directoryOffset);
  out.u16(comment.length);
  out.put(comment);
  return out.bytes();
}

/** One entry of {@linkcode writeStreamedZip}, whose data is never held whole. */
export interface StreamedEntry {
  /** The name. */
  name: string;
  /**
   * The uncompressed data, chunk by chunk. A chunk yielded again as the same object, in this
   * entry or the next, must hold the same bytes: it is deflated only once.
   */
  chunks: Iterable<Uint8Array>;
  /** 0 stored or 8 deflate (the default), each chunk a sync-flushed block of its own. */
  method?: number;
  /** Declared uncompressed size (default: the real one). */
  uncompressedSize?: number;
}

/** What {@linkcode writeStreamedZip} wrote for an entry: what `zipH1` needs, and the size. */
export interface StreamedSummary {
  /** The entry name. */
  name: string;
  /** The real uncompressed size. */
  size: number;
  /** Lower-case hex SHA-256 of the uncompressed data. */
  sha256: string;
}

/** A final, empty deflate block with fixed codes: ends a stream of sync-flushed blocks. */
const FINAL_EMPTY_BLOCK = new Uint8Array([0x03, 0x00]);

/**
 * Writes a zip of `entries` to `file` as Go's writer lays it out (data descriptors, zero sizes
 * in local headers), streaming each entry's chunks through CRC-32 and SHA-256, so that entries
 * of hundreds of MiB (zeros deflating to almost nothing, or incompressible stored data) are
 * never in memory. Sizes must stay below 4 GiB: no Zip64.
 *
 * @example
 * ```ts
 * const zero = new Uint8Array(1 << 20);
 * const summary = await writeStreamedZip(file, [
 *   { name: "example.com/m@v1.0.0/zeros", chunks: Array(600).fill(zero) },
 * ]);
 * ```
 */
export async function writeStreamedZip(
  file: string,
  entries: StreamedEntry[],
): Promise<StreamedSummary[]> {
  using out = await Deno.open(file, { write: true, create: true, truncate: true });
  let offset = 0;
  const write = async (b: Uint8Array) => {
    for (let n = 0; n < b.length;) n += await out.write(b.subarray(n));
    offset += b.length;
  };
  const record = (put: (o: Out) => void) => {
    const o = new Out();
    put(o);
    return o.bytes();
  };
  const central = new Out();
  const summaries: StreamedSummary[] = [];
  let last: { chunk: Uint8Array; payload: Uint8Array } | undefined;
  for (const e of entries) {
    const name = bytes(e.name);
    const method = e.method ?? 8;
    const headerAt = offset;
    await write(record((o) => {
      o.u32(0x04034b50);
      o.u16(20);
      o.u16(0x808);
      o.u16(method);
      o.u32(0x00210000);
      o.u32(0);
      o.u32(0);
      o.u32(0);
      o.u16(name.length);
      o.u16(0);
      o.put(name);
    }));
    const dataAt = offset;
    const hash = createHash("sha256");
    let crc = 0;
    let size = 0;
    for (const chunk of e.chunks) {
      if (chunk.length === 0) continue;
      size += chunk.length;
      crc = zlib.crc32(chunk, crc);
      hash.update(chunk);
      if (method !== 8) {
        await write(chunk);
        continue;
      }
      if (last?.chunk !== chunk) {
        const payload = zlib.deflateRawSync(chunk, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        last = { chunk, payload: new Uint8Array(payload) };
      }
      await write(last.payload);
    }
    if (method === 8) await write(FINAL_EMPTY_BLOCK);
    const compressed = offset - dataAt;
    await write(record((o) => {
      o.u32(0x08074b50);
      o.u32(crc);
      o.u32(compressed);
      o.u32(size);
    }));
    central.u32(0x02014b50);
    central.u16(0x314);
    central.u16(20);
    central.u16(0x808);
    central.u16(method);
    central.u32(0x00210000);
    central.u32(crc);
    central.u32(compressed);
    central.u32(e.uncompressedSize ?? size);
    central.u16(name.length);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(0o100644 << 16);
    central.u32(headerAt);
    central.put(name);
    summaries.push({ name: e.name, size, sha256: hash.digest("hex") });
  }
  const directoryAt = offset;
  await write(central.bytes());
  await write(record((o) => {
    o.u32(0x06054b50);
    o.u16(0);
    o.u16(0);
    o.u16(entries.length);
    o.u16(entries.length);
    o.u32(central.length);
    o.u32(directoryAt);
    o.u16(0);
  }));
  return summaries;
}
