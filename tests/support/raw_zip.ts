/**
 * Hand-built zip archives for tests, laid out like Go's `archive/zip` writer (data
 * descriptors, zero sizes in local headers) but with every field open to lies.
 *
 * @module
 */

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
