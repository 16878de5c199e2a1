/**
 * A small zip reader for module zips: it parses the central directory (with Zip64) and
 * inflates single entries with `node:zlib`, checking sizes and CRC-32 like Go's `archive/zip`.
 *
 * Every offset and length read from the archive is checked against the source size before
 * it is used, so a hostile archive gives a {@linkcode ZipFormatError}, never an out-of-range
 * read or an allocation bigger than the archive itself (inflated output is capped at the
 * declared size plus one byte).
 *
 * @module
 */

import zlib from "node:zlib";

/** Synchronous random access to the bytes of a zip archive. */
export interface ZipSource {
  /** The archive size in bytes. */
  readonly size: number;
  /**
   * Returns `length` bytes starting at `offset`; throws {@linkcode ZipFormatError} if the range
   * is outside the archive. The result may share memory with the source, and may be reused
   * by the next read: do not modify it, and do not keep it across reads.
   */
  read(offset: number, length: number): Uint8Array;
}

/** One central-directory record. Sizes, CRC and offsets come from the central directory. */
export interface ZipEntry {
  /** The entry name decoded as UTF-8; invalid sequences become U+FFFD (see `nameIsUtf8`). */
  name: string;
  /** False if the raw name bytes are not valid UTF-8. */
  nameIsUtf8: boolean;
  /** Compression method: 0 stored, 8 deflate; anything else fails when inflated. */
  method: number;
  /** General-purpose flags; bit 3 (0x8) means the sizes and CRC follow the data. */
  flags: number;
  /** "Version made by": the high byte is the creator system (3 Unix, 19 macOS). */
  creatorVersion: number;
  /** Size of the stored data in bytes. */
  compressedSize: number;
  /** Declared size of the inflated data in bytes. */
  uncompressedSize: number;
  /** Declared CRC-32 of the inflated data. */
  crc32: number;
  /** Offset of the local file header in the source. */
  localHeaderOffset: number;
  /** External attributes; for Unix creators the high 16 bits hold the file mode. */
  externalAttributes: number;
}

/** The archive is malformed, or an entry's data does not match its declared size or CRC. */
export class ZipFormatError extends Error {
  /** Creates the error with the full message. */
  constructor(message: string) {
    super(message);
    this.name = "ZipFormatError";
  }
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_LENGTH = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_LENGTH = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_LENGTH = 56;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_LENGTH = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_LENGTH = 30;
const ZIP64_EXTRA_ID = 0x0001;
const MAX_U32 = 0xffffffff;
const MAX_U16 = 0xffff;
const MAX_COMMENT = 0xffff;
const DATA_DESCRIPTOR_FLAG = 0x8;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const SLICE_SIZE = 1 << 20;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Lossy = new TextDecoder("utf-8", { ignoreBOM: true });

function checkRange(size: number, offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new ZipFormatError(
      `not a valid zip file: read of ${length} bytes at offset ${offset} is outside the ${size}-byte file`,
    );
  }
}

/**
 * A {@linkcode ZipSource} over bytes in memory; `read` returns views, not copies.
 *
 * @example
 * ```ts
 * const entries = readCentralDirectory(bytesSource(await Deno.readFile("m.zip")));
 * ```
 */
export function bytesSource(bytes: Uint8Array): ZipSource {
  return {
    size: bytes.length,
    read(offset: number, length: number): Uint8Array {
      checkRange(bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/**
 * A {@linkcode ZipSource} over an open file of `size` bytes, read with `seekSync` and `readSync`.
 * Reads of up to 1 MiB land in one buffer that each read reuses, so inflating a zip from a
 * file allocates nothing per entry. The caller keeps ownership of the file and closes it.
 *
 * @example
 * ```ts
 * using file = Deno.openSync("m.zip");
 * const src = fileSource(file, file.statSync().size);
 * ```
 */
export function fileSource(file: Deno.FsFile, size: number): ZipSource {
  let scratch: Uint8Array | undefined;
  return {
    size,
    read(offset: number, length: number): Uint8Array {
      checkRange(size, offset, length);
      const buf = length > SLICE_SIZE
        ? new Uint8Array(length)
        : (scratch ??= new Uint8Array(Math.min(size, SLICE_SIZE))).subarray(0, length);
      file.seekSync(offset, Deno.SeekMode.Start);
      for (let done = 0; done < length;) {
        const n = file.readSync(buf.subarray(done));
        if (n === null) {
          throw new ZipFormatError(`not a valid zip file: file ends at offset ${offset + done}`);
        }
        done += n;
      }
      return buf;
    },
  };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian uint64 that must fit in a safe integer. */
function uint64(dv: DataView, at: number, what: string): number {
  const high = dv.getUint32(at + 4, true);
  if (high > 0x1fffff) throw new ZipFormatError(`not a valid zip file: ${what} is too large`);
  return high * 0x1_0000_0000 + dv.getUint32(at, true);
}

interface DirectoryEnd {
  records: number;
  size: number;
  offset: number;
  /** Where the (Zip64) end record starts: the central directory ends at or before it. */
  endOffset: number;
}

/** Finds the end-of-central-directory record in the last 1 KiB, then in the last 64 KiB. */
function findDirectoryEnd(src: ZipSource): DirectoryEnd {
  for (const want of [1024, MAX_COMMENT + EOCD_LENGTH]) {
    const length = Math.min(want, src.size);
    const start = src.size - length;
    const tail = src.read(start, length);
    const dv = view(tail);
    for (let i = length - EOCD_LENGTH; i >= 0; i--) {
      if (dv.getUint32(i, true) !== EOCD_SIGNATURE) continue;
      if (i + EOCD_LENGTH + dv.getUint16(i + 20, true) > length) continue;
      const end: DirectoryEnd = {
        records: dv.getUint16(i + 10, true),
        size: dv.getUint32(i + 12, true),
        offset: dv.getUint32(i + 16, true),
        endOffset: start + i,
      };
      if (end.records === MAX_U16 || end.size === MAX_U32 || end.offset === MAX_U32) {
        readZip64End(src, end);
      }
      return end;
    }
    if (length === src.size) break;
  }
  throw new ZipFormatError("not a valid zip file: no end of central directory record");
}

/** Replaces the 32-bit values of `end` with those of the Zip64 end record, if it has one. */
function readZip64End(src: ZipSource, end: DirectoryEnd): void {
  const locatorAt = end.endOffset - ZIP64_LOCATOR_LENGTH;
  if (locatorAt < 0) return;
  const locator = view(src.read(locatorAt, ZIP64_LOCATOR_LENGTH));
  if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) return;
  if (locator.getUint32(4, true) !== 0 || locator.getUint32(16, true) !== 1) return;
  const at = uint64(locator, 8, "Zip64 end record offset");
  if (at + ZIP64_EOCD_LENGTH > locatorAt) {
    throw new ZipFormatError("not a valid zip file: Zip64 end record offset is out of range");
  }
  const record = view(src.read(at, ZIP64_EOCD_LENGTH));
  if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
    throw new ZipFormatError("not a valid zip file: bad Zip64 end record signature");
  }
  end.records = uint64(record, 32, "Zip64 entry count");
  end.size = uint64(record, 40, "central directory size");
  end.offset = uint64(record, 48, "central directory offset");
  end.endOffset = at;
}

/**
 * How far every offset is shifted by data prepended to the archive (a self-extractor stub).
 * Like Go, the shift is ignored when a directory record is found at the declared offset.
 * The central directory then lies inside the file, before its end record.
 */
function directoryBase(src: ZipSource, end: DirectoryEnd): number {
  const base = end.endOffset - end.size - end.offset;
  if (base < 0) {
    throw new ZipFormatError(
      "not a valid zip file: central directory offset and size point past its end record",
    );
  }
  if (base > 0 && view(src.read(end.offset, 4)).getUint32(0, true) === CENTRAL_SIGNATURE) {
    return 0;
  }
  return base;
}

function decodeName(bytes: Uint8Array): { name: string; nameIsUtf8: boolean } {
  try {
    return { name: utf8.decode(bytes), nameIsUtf8: true };
  } catch {
    return { name: utf8Lossy.decode(bytes), nameIsUtf8: false };
  }
}

/** Applies the Zip64 extra field to the 32-bit values that are saturated (0xFFFFFFFF). */
function applyZip64Extra(entry: ZipEntry, dv: DataView, start: number, end: number): void {
  let needSize = entry.uncompressedSize === MAX_U32;
  let needCompressed = entry.compressedSize === MAX_U32;
  let needOffset = entry.localHeaderOffset === MAX_U32;
  for (let at = start; at + 4 <= end;) {
    const id = dv.getUint16(at, true);
    const fieldEnd = at + 4 + dv.getUint16(at + 2, true);
    if (fieldEnd > end) break;
    if (id === ZIP64_EXTRA_ID) {
      let p = at + 4;
      const next = (what: string): number => {
        if (p + 8 > fieldEnd) {
          throw new ZipFormatError(
            `not a valid zip file: zip entry ${JSON.stringify(entry.name)}: short Zip64 field`,
          );
        }
        p += 8;
        return uint64(dv, p - 8, what);
      };
      if (needSize) entry.uncompressedSize = next("uncompressed size");
      if (needCompressed) entry.compressedSize = next("compressed size");
      if (needOffset) entry.localHeaderOffset = next("local header offset");
      needSize = needCompressed = needOffset = false;
    }
    at = fieldEnd;
  }
  // Like Go, an uncompressed size of exactly 0xFFFFFFFF without Zip64 data is taken as is.
  if (needCompressed || needOffset) {
    throw new ZipFormatError(
      `not a valid zip file: zip entry ${JSON.stringify(entry.name)}: missing Zip64 field`,
    );
  }
}

/**
 * Reads the central directory: one {@linkcode ZipEntry} per record, in directory order.
 * Handles archive comments, Zip64 end records and Zip64 extra fields. Like Go, an entry count
 * that disagrees only above 16 bits (a writer that truncated it) is accepted.
 *
 * @throws {ZipFormatError} if the archive is not a valid zip file.
 * @example
 * ```ts
 * for (const entry of readCentralDirectory(bytesSource(zipBytes))) {
 *   console.log(entry.name, entry.uncompressedSize);
 * }
 * ```
 */
export function readCentralDirectory(src: ZipSource): ZipEntry[] {
  if (src.size < EOCD_LENGTH) {
    throw new ZipFormatError(`not a valid zip file: only ${src.size} bytes long`);
  }
  const end = findDirectoryEnd(src);
  const base = directoryBase(src, end);
  const directory = src.read(base + end.offset, end.size);
  const dv = view(directory);
  const entries: ZipEntry[] = [];
  let at = 0;
  while (at + 4 <= directory.length && dv.getUint32(at, true) === CENTRAL_SIGNATURE) {
    if (at + CENTRAL_LENGTH > directory.length) break;
    const nameLength = dv.getUint16(at + 28, true);
    const extraStart = at + CENTRAL_LENGTH + nameLength;
    const extraEnd = extraStart + dv.getUint16(at + 30, true);
    const next = extraEnd + dv.getUint16(at + 32, true);
    if (next > directory.length) break;
    const entry: ZipEntry = {
      ...decodeName(directory.subarray(at + CENTRAL_LENGTH, extraStart)),
      method: dv.getUint16(at + 10, true),
      flags: dv.getUint16(at + 8, true),
      creatorVersion: dv.getUint16(at + 4, true),
      compressedSize: dv.getUint32(at + 20, true),
      uncompressedSize: dv.getUint32(at + 24, true),
      crc32: dv.getUint32(at + 16, true),
      localHeaderOffset: dv.getUint32(at + 42, true),
      externalAttributes: dv.getUint32(at + 38, true),
    };
    applyZip64Extra(entry, dv, extraStart, extraEnd);
    entry.localHeaderOffset += base;
    entries.push(entry);
    at = next;
  }
  if (entries.length % 0x10000 !== end.records % 0x10000) {
    throw new ZipFormatError(
      `not a valid zip file: central directory has ${entries.length} readable records, ` +
        `its end record declares ${end.records}`,
    );
  }
  return entries;
}

function entryError(entry: ZipEntry, problem: string): ZipFormatError {
  return new ZipFormatError(`zip entry ${JSON.stringify(entry.name)}: ${problem}`);
}

/** Reads the local header and returns where the entry's stored data starts. */
function dataStart(src: ZipSource, entry: ZipEntry): number {
  const at = entry.localHeaderOffset;
  if (at + LOCAL_LENGTH > src.size) {
    throw entryError(entry, `local header offset ${at} is out of range`);
  }
  const header = view(src.read(at, LOCAL_LENGTH));
  if (header.getUint32(0, true) !== LOCAL_SIGNATURE) {
    throw entryError(entry, "bad local header signature");
  }
  const start = at + LOCAL_LENGTH + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + entry.compressedSize > src.size) {
    throw entryError(entry, "compressed data extends past the end of the file");
  }
  return start;
}

/** The rule that an entry breaks when its data does not inflate to its declared size. */
const SIZE_RULE = "module zip entries must inflate to exactly their declared size";

function tooLarge(entry: ZipEntry): ZipFormatError {
  return entryError(
    entry,
    `uncompressed size is larger than declared (${entry.uncompressedSize} bytes): ${SIZE_RULE}`,
  );
}

/** Checks the final length and CRC; like Go, a zero CRC is only checked with a data descriptor. */
function checkResult(entry: ZipEntry, length: number, crc: number): void {
  if (length > entry.uncompressedSize) throw tooLarge(entry);
  if (length < entry.uncompressedSize) {
    throw entryError(
      entry,
      `uncompressed size is smaller than declared (${length} of ${entry.uncompressedSize} ` +
        `bytes): ${SIZE_RULE}`,
    );
  }
  const checked = entry.crc32 !== 0 || (entry.flags & DATA_DESCRIPTOR_FLAG) !== 0;
  if (checked && crc !== entry.crc32) throw entryError(entry, "CRC-32 checksum mismatch");
}

function unsupported(entry: ZipEntry): ZipFormatError {
  return entryError(entry, `unsupported compression method ${entry.method}`);
}

function zlibError(entry: ZipEntry, message: string): ZipFormatError {
  return entryError(entry, `invalid deflate data: ${message}`);
}

/**
 * The raw zlib handle behind a `node:zlib` stream, as Node's and Deno's `zlib.js` drive it:
 * `writeSync` inflates into a caller's buffer and leaves the bytes of output and input
 * still available in the stream's `_writeState`; errors arrive through `onerror`.
 */
interface ZlibHandle {
  reset(): void;
  close(): void;
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  onerror: (message: string, errno: number) => void;
}

/** One raw-inflate stream, reset between entries; replaced after an error, which sticks. */
class RawInflate {
  readonly handle: ZlibHandle;
  readonly state: Uint32Array;
  error: string | undefined;

  constructor() {
    const stream = zlib.createInflateRaw() as unknown as {
      _handle?: ZlibHandle;
      _writeState?: Uint32Array;
    };
    if (typeof stream._handle?.writeSync !== "function" || !stream._writeState) {
      throw new Error(
        "This Deno's node:zlib has no synchronous zlib handle; goprefetch needs Deno 2.",
      );
    }
    this.handle = stream._handle;
    this.state = stream._writeState;
    this.handle.onerror = (message) => this.error = message;
  }
}

/**
 * Inflates zip entries one at a time through one zlib stream into one reused buffer, so
 * thousands of entries leave no garbage behind: memory stays at the buffer and zlib's
 * window however many files a module has. Stored entries are passed through in slices.
 *
 * Chunks fill the buffer before they are passed on, so an entry of at most `capacity` bytes
 * comes in one chunk. A chunk is a view of the inflater's buffer (or of the source, for
 * stored data), valid until the next `inflate`. The output is capped at the declared size,
 * and its length and CRC-32 are checked at the end, as Go's `archive/zip` does: treat the
 * chunks as untrusted until `inflate` returns.
 *
 * @example
 * ```ts
 * const inflater = new EntryInflater();
 * const src = bytesSource(zipBytes);
 * for (const entry of readCentralDirectory(src)) {
 *   const hash = createHash("sha256");
 *   inflater.inflate(src, entry, (chunk) => hash.update(chunk));
 * }
 * ```
 */
export class EntryInflater {
  #buffer: Uint8Array;
  #zlib: RawInflate | undefined;

  /** Creates an inflater whose chunks are at most `capacity` bytes (default 1 MiB). */
  constructor(capacity: number = SLICE_SIZE) {
    this.#buffer = new Uint8Array(capacity);
  }

  /** The largest chunk `inflate` passes on: an entry this size or smaller comes in one. */
  get capacity(): number {
    return this.#buffer.length;
  }

  /**
   * Passes the entry's data to `onChunk` in order, then checks its size and CRC-32.
   *
   * @throws {ZipFormatError} for a size, CRC, method or deflate error; an error thrown by
   * `onChunk` is passed through as is.
   */
  inflate(src: ZipSource, entry: ZipEntry, onChunk: (chunk: Uint8Array) => void): void {
    const start = dataStart(src, entry);
    const end = start + entry.compressedSize;
    let length = 0;
    let crc = 0;
    const take = (chunk: Uint8Array): void => {
      length += chunk.length;
      if (length > entry.uncompressedSize) throw tooLarge(entry);
      crc = zlib.crc32(chunk, crc);
      onChunk(chunk);
    };
    if (entry.method === METHOD_STORED) {
      for (let at = start; at < end; at += this.capacity) {
        take(src.read(at, Math.min(this.capacity, end - at)));
      }
    } else if (entry.method === METHOD_DEFLATE) {
      this.#inflate(src, entry, start, end, take);
    } else {
      throw unsupported(entry);
    }
    checkResult(entry, length, crc);
  }

  #inflate(
    src: ZipSource,
    entry: ZipEntry,
    start: number,
    end: number,
    take: (chunk: Uint8Array) => void,
  ): void {
    const z = this.#zlib ??= new RawInflate();
    z.handle.reset();
    const out = this.#buffer;
    let input: Uint8Array = new Uint8Array();
    let used = 0;
    let filled = 0;
    let at = start;
    for (;;) {
      if (used === input.length && at < end) {
        input = src.read(at, Math.min(SLICE_SIZE, end - at));
        at += input.length;
        used = 0;
      }
      const flush = at === end ? zlib.constants.Z_FINISH : zlib.constants.Z_NO_FLUSH;
      z.handle.writeSync(flush, input, used, input.length - used, out, filled, out.length - filled);
      if (z.error !== undefined) {
        this.#zlib = undefined;
        z.handle.close();
        throw zlibError(entry, z.error);
      }
      const [outLeft, inLeft] = z.state;
      used = input.length - inLeft;
      filled = out.length - outLeft;
      if (outLeft === 0) {
        take(out.subarray(0, filled));
        filled = 0;
      } else if (used < input.length || at === end) {
        if (filled > 0) take(out.subarray(0, filled));
        return;
      }
    }
  }
}

const shared = new EntryInflater();

/**
 * Inflates a whole entry into a new buffer and checks its size and CRC-32 against the
 * central directory. Output is capped at the declared size, so a zip bomb fails early.
 * For many entries, or large ones, use {@linkcode EntryInflater} and take the chunks.
 *
 * @throws {ZipFormatError} e.g. `zip entry "m@v1.0.0/a.go": uncompressed size is larger than
 * declared (100 bytes): module zip entries must inflate to exactly their declared size`.
 * @example
 * ```ts
 * const src = bytesSource(zipBytes);
 * const goMod = readCentralDirectory(src).find((e) => e.name.endsWith("/go.mod"))!;
 * const text = new TextDecoder().decode(inflateEntry(src, goMod));
 * ```
 */
export function inflateEntry(src: ZipSource, entry: ZipEntry): Uint8Array {
  const chunks: Uint8Array[] = [];
  shared.inflate(src, entry, (chunk) => chunks.push(chunk.slice()));
  if (chunks.length === 1) return chunks[0];
  const data = new Uint8Array(entry.uncompressedSize);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  return data;
}
