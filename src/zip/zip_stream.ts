/**
 * Reading a zip front to back while it downloads: each local header, then the entry's data
 * inflated as its bytes arrive, its end found by the deflate stream itself (Go's zips put
 * sizes and CRC-32 in a data descriptor after the data, not in the local header).
 *
 * Nothing read here is to be trusted on its own: the central directory, read once the zip is
 * complete, is the authority, and a caller keeps what it made of an entry only if the
 * directory lists that entry at the same offset with the same name, method, sizes and CRC.
 * So the reader never fails: on anything it does not follow (a bad signature, an encrypted
 * or stored-with-descriptor entry, a descriptor that does not match, too much output) it
 * just stops, and the rest of the zip is left to the central directory's reader.
 *
 * @module
 */
import zlib from "node:zlib";
import { RawInflate } from "./raw_inflate.ts";
import { decodeName, type ZipEntry, type ZipSource } from "./zip_reader.ts";

/** Where one entry's inflated data goes, as {@linkcode ZipStreamReader} reads it. */
export interface LocalEntrySink {
  /** The next piece of data, valid only during the call; unchecked until `end`. */
  write(chunk: Uint8Array): void;
  /** The data ends with `tail`, and matched `entry`'s sizes and CRC-32. */
  end(tail: Uint8Array, entry: ZipEntry): void;
}

/** What a local header says before the data: the rest of the entry is known at its end. */
export type LocalHeader = Pick<
  ZipEntry,
  "name" | "nameIsUtf8" | "method" | "flags" | "localHeaderOffset"
>;

const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_LENGTH = 30;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const DESCRIPTOR_MAX = 24;
const DATA_DESCRIPTOR_FLAG = 0x8;
const ENCRYPTED_FLAG = 0x1;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const MAX_U32 = 0xffffffff;
const OUTPUT_SIZE = 1 << 20;
const INPUT_SIZE = 256 << 10;

/** The entry being read: its header, where its data starts, and what came out so far. */
interface Current {
  header: LocalHeader;
  sink: LocalEntrySink;
  /** Sizes and CRC-32 from the local header; undefined when a data descriptor has them. */
  declared?: { crc32: number; compressedSize: number; uncompressedSize: number };
  dataStart: number;
  /** Where the next input byte is. */
  at: number;
  /** Set once the data has ended. */
  dataEnd?: number;
  produced: number;
  crc: number;
}

/**
 * Follows a zip's local entries as its bytes arrive in `src`, front to back, handing each
 * entry's data to the sink `open` returns for it (or stopping where `open` returns none).
 * Output over all entries is capped at `limit` bytes. `src.size` is the zip's full size; the
 * reader reads only the bytes `advance` says are there.
 *
 * @example
 * ```ts
 * using file = Deno.openSync(tempFile);
 * const reader = new ZipStreamReader(fileSource(file, contentLength), sinkFor, 500 << 20);
 * // each time the download has written more:
 * reader.advance(written);
 * ```
 */
export class ZipStreamReader {
  #src: ZipSource;
  #open: (header: LocalHeader) => LocalEntrySink | undefined;
  #limit: number;
  #filled = 0;
  #pos = 0;
  #total = 0;
  #current: Current | undefined;
  #stopped = false;
  #zlib = new RawInflate();
  #out = new Uint8Array(OUTPUT_SIZE);
  #outFilled = 0;

  /** Reads `src` as it fills from the start; see the class. */
  constructor(
    src: ZipSource,
    open: (header: LocalHeader) => LocalEntrySink | undefined,
    limit: number,
  ) {
    this.#src = src;
    this.#open = open;
    this.#limit = limit;
  }

  /** True once the reader has stopped, at the central directory or at anything it does not follow. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Reads as far as the first `filled` bytes allow. An error thrown by a sink stops the
   * reader and is passed through.
   */
  advance(filled: number): void {
    this.#filled = Math.min(filled, this.#src.size);
    try {
      while (!this.#stopped && this.#step());
    } catch (e) {
      this.#stop();
      throw e;
    }
  }

  #stop(): false {
    this.#stopped = true;
    this.#current = undefined;
    this.#zlib.handle.close();
    return false;
  }

  /** One step: a header, some data or a descriptor. False when it has to wait or stopped. */
  #step(): boolean {
    const c = this.#current;
    if (c === undefined) return this.#header();
    if (c.dataEnd === undefined) return this.#data(c);
    return this.#finish(c);
  }

  #header(): boolean {
    const at = this.#pos;
    if (this.#filled - at < LOCAL_LENGTH) return false;
    const dv = view(this.#src.read(at, LOCAL_LENGTH));
    if (dv.getUint32(0, true) !== LOCAL_SIGNATURE) return this.#stop();
    const flags = dv.getUint16(6, true);
    const method = dv.getUint16(8, true);
    const nameLength = dv.getUint16(26, true);
    const dataStart = at + LOCAL_LENGTH + nameLength + dv.getUint16(28, true);
    if (this.#filled < dataStart) return false;
    const descriptor = (flags & DATA_DESCRIPTOR_FLAG) !== 0;
    const declared = descriptor ? undefined : {
      crc32: dv.getUint32(14, true),
      compressedSize: dv.getUint32(18, true),
      uncompressedSize: dv.getUint32(22, true),
    };
    const followable = (flags & ENCRYPTED_FLAG) === 0 &&
      (method === METHOD_DEFLATE || (method === METHOD_STORED && !descriptor)) &&
      (declared === undefined ||
        (declared.compressedSize !== MAX_U32 && declared.uncompressedSize !== MAX_U32));
    if (!followable) return this.#stop();
    const nameBytes = this.#src.read(at + LOCAL_LENGTH, nameLength);
    const header = { ...decodeName(nameBytes), method, flags, localHeaderOffset: at };
    const sink = this.#open(header);
    if (sink === undefined) return this.#stop();
    if (method === METHOD_DEFLATE) this.#zlib.handle.reset();
    this.#outFilled = 0;
    this.#current = { header, sink, declared, dataStart, at: dataStart, produced: 0, crc: 0 };
    return true;
  }

  /** Moves data to the output buffer, passing it on when full; false to wait for input. */
  #data(c: Current): boolean {
    const before = this.#outFilled;
    const ended = c.header.method === METHOD_STORED ? this.#copy(c) : this.#inflate(c);
    if (ended === undefined) return false;
    const made = this.#outFilled - before;
    c.produced += made;
    this.#total += made;
    if (this.#total > this.#limit) return this.#stop();
    if (ended) c.dataEnd = c.at;
    if (this.#outFilled === OUTPUT_SIZE) this.#flush(c);
    return true;
  }

  /** Copies stored data; true at its declared end, undefined when no input is there. */
  #copy(c: Current): boolean | undefined {
    const end = c.dataStart + c.declared!.compressedSize;
    const n = Math.min(end, this.#filled) - c.at;
    if (n === 0 && c.at < end) return undefined;
    const take = Math.min(n, OUTPUT_SIZE - this.#outFilled);
    this.#out.set(this.#src.read(c.at, take), this.#outFilled);
    this.#outFilled += take;
    c.at += take;
    return c.at === end;
  }

  /**
   * Inflates what has arrived; true once the deflate stream has ended (it leaves input
   * unused with room to spare), undefined when no input is there or the data is bad.
   */
  #inflate(c: Current): boolean | undefined {
    const available = Math.min(this.#filled - c.at, INPUT_SIZE);
    if (available === 0) return undefined;
    const z = this.#zlib;
    const room = OUTPUT_SIZE - this.#outFilled;
    const input = this.#src.read(c.at, available);
    const flush = zlib.constants.Z_NO_FLUSH;
    z.handle.writeSync(flush, input, 0, available, this.#out, this.#outFilled, room);
    if (z.error !== undefined) return void this.#stop();
    const [outLeft, inLeft] = z.state;
    c.at += available - inLeft;
    this.#outFilled += room - outLeft;
    return inLeft > 0 && outLeft > 0;
  }

  #flush(c: Current): void {
    const chunk = this.#out.subarray(0, this.#outFilled);
    c.crc = zlib.crc32(chunk, c.crc);
    c.sink.write(chunk);
    this.#outFilled = 0;
  }

  /** Checks the sizes and CRC-32, from the descriptor or the local header, and ends the entry. */
  #finish(c: Current): boolean {
    const tail = this.#out.subarray(0, this.#outFilled);
    const crc = zlib.crc32(tail, c.crc);
    const compressedSize = c.dataEnd! - c.dataStart;
    const got = { crc32: crc, compressedSize, uncompressedSize: c.produced };
    let next = c.dataEnd!;
    if (c.declared === undefined) {
      const length = this.#descriptor(next, got);
      if (length === undefined) return false;
      if (length === 0) return this.#stop();
      next += length;
    } else if (
      c.declared.crc32 !== crc || c.declared.compressedSize !== compressedSize ||
      c.declared.uncompressedSize !== c.produced
    ) {
      return this.#stop();
    }
    this.#current = undefined;
    this.#pos = next;
    c.sink.end(tail, { ...c.header, ...got, creatorVersion: 0, externalAttributes: 0 });
    return true;
  }

  /**
   * The length of the data descriptor at `at` that matches `got`: 12 or 20 bytes plus an
   * optional signature; 0 if none matches, undefined until enough bytes are there.
   */
  #descriptor(
    at: number,
    got: { crc32: number; compressedSize: number; uncompressedSize: number },
  ): number | undefined {
    const available = Math.min(this.#filled - at, DESCRIPTOR_MAX);
    if (available < DESCRIPTOR_MAX && this.#filled < this.#src.size) return undefined;
    const dv = view(this.#src.read(at, available));
    const u32 = (i: number) => dv.getUint32(i, true);
    const u64 = (i: number) => u32(i) + u32(i + 4) * 0x1_0000_0000;
    const p = available >= 4 && u32(0) === DESCRIPTOR_SIGNATURE ? 4 : 0;
    if (p + 12 > available || u32(p) !== got.crc32) return 0;
    if (u32(p + 4) === got.compressedSize && u32(p + 8) === got.uncompressedSize) return p + 12;
    if (p + 20 > available) return 0;
    if (u64(p + 4) === got.compressedSize && u64(p + 12) === got.uncompressedSize) return p + 20;
    return 0;
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
