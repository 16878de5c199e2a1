import assert from "node:assert/strict";
import { bytesSource, inflateEntry, readCentralDirectory } from "../../src/zip/zip_reader.ts";
import { type LocalHeader, ZipStreamReader } from "../../src/zip/zip_stream.ts";
import { deflate, type RawEntry, rawZip } from "../support/raw_zip.ts";

const encoder = new TextEncoder();

/** What the reader handed on: each ended entry with its data, and headers it opened. */
interface Read {
  opened: LocalHeader[];
  ended: { name: string; offset: number; crc32: number; sizes: number[]; data: Uint8Array }[];
  stopped: boolean;
}

/**
 * Feeds `zip` to a reader in pieces of `piece` bytes (a function of the piece's number, for
 * uneven pieces) and returns what it read.
 */
function readStreamed(
  zip: Uint8Array,
  piece: (i: number) => number,
  options: { limit?: number; refuse?: (h: LocalHeader) => boolean } = {},
): Read {
  const bytes = new Uint8Array(zip.length);
  const read: Read = { opened: [], ended: [], stopped: false };
  const reader = new ZipStreamReader(bytesSource(bytes), (header) => {
    read.opened.push(header);
    if (options.refuse?.(header)) return undefined;
    const chunks: Uint8Array[] = [];
    return {
      write: (chunk) => chunks.push(chunk.slice()),
      end: (tail, entry) => {
        const data = new Uint8Array([...chunks.flatMap((c) => [...c]), ...tail]);
        const sizes = [entry.compressedSize, entry.uncompressedSize];
        read.ended.push({
          name: entry.name,
          offset: entry.localHeaderOffset,
          crc32: entry.crc32,
          sizes,
          data,
        });
      },
    };
  }, options.limit ?? 1 << 30);
  for (let filled = 0, i = 0; filled < zip.length; i++) {
    const n = Math.min(piece(i), zip.length - filled);
    bytes.set(zip.subarray(filled, filled + n), filled);
    reader.advance(filled += n);
  }
  read.stopped = reader.stopped;
  return read;
}

/** Asserts that the reader ended every entry as the central directory lists it. */
function assertMatchesDirectory(zip: Uint8Array, read: Read): void {
  const src = bytesSource(zip);
  const entries = readCentralDirectory(src);
  assert.equal(read.ended.length, entries.length);
  entries.forEach((e, i) => {
    const got = read.ended[i];
    assert.equal(got.name, e.name);
    assert.equal(got.offset, e.localHeaderOffset);
    assert.equal(got.crc32, e.crc32);
    assert.deepEqual(got.sizes, [e.compressedSize, e.uncompressedSize]);
    assert.deepEqual(got.data, inflateEntry(src, e));
  });
  assert.ok(read.stopped, "the reader stops at the central directory");
}

const random = (n: number) => {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
};

/** Go's layout: deflate, data descriptors; one entry bigger than the reader's 1 MiB buffer. */
const GO_LIKE: RawEntry[] = [
  { name: "m@v1.0.0/go.mod", data: "module m\n" },
  { name: "m@v1.0.0/empty.txt", data: "" },
  { name: "m@v1.0.0/big.bin", data: random(2_500_000) },
  { name: "m@v1.0.0/text.go", data: "package m\n".repeat(50_000) },
  { name: "m@v1.0.0/dir/", data: "" },
];

Deno.test("zip stream: Go's layout is read whatever the pieces the bytes come in", () => {
  const zip = rawZip(GO_LIKE);
  const pieces: [string, (i: number) => number][] = [
    ["whole", () => zip.length],
    ["one byte", () => 1],
    ["uneven", (i) => [7, 1000, 3, 65536, 29][i % 5]],
    ["256 KiB", () => 256 << 10],
  ];
  for (const [what, piece] of pieces) {
    const read = readStreamed(zip, piece);
    assert.doesNotThrow(() => assertMatchesDirectory(zip, read), what);
  }
});

Deno.test("zip stream: stored entries with sizes in the local header, and descriptors without a signature", () => {
  const stored = rawZip([
    { name: "m@v1.0.0/a", data: "stored bytes", method: 0, flags: 0x800 },
    { name: "m@v1.0.0/b", data: "deflated", flags: 0x800 },
  ]);
  assertMatchesDirectory(stored, readStreamed(stored, () => 3));
  const zip = rawZip([{ name: "m@v1.0.0/a", data: "x".repeat(1000) }]);
  const at = findLast(zip, [0x50, 0x4b, 0x07, 0x08]);
  const unsigned = new Uint8Array([...zip.subarray(0, at), ...zip.subarray(at + 4)]);
  const read = readStreamed(unsigned, () => 100);
  assert.deepEqual(read.ended.map((e) => e.name), ["m@v1.0.0/a"]);
});

function findLast(bytes: Uint8Array, pattern: number[]): number {
  for (let i = bytes.length - pattern.length; i >= 0; i--) {
    if (pattern.every((b, j) => bytes[i + j] === b)) return i;
  }
  throw new Error("pattern not found");
}

Deno.test("zip stream: stops, keeping the entries before, at what it cannot follow", () => {
  const first: RawEntry = { name: "m@v1.0.0/ok", data: "fine" };
  const cases: [string, RawEntry][] = [
    ["stored with a descriptor", { name: "m@v1.0.0/s", data: "abc", method: 0 }],
    ["a descriptor with another CRC", { name: "m@v1.0.0/c", data: "abc", crc32: 1 }],
    ["local sizes that lie", {
      name: "m@v1.0.0/l",
      data: "abc",
      flags: 0x800,
      uncompressedSize: 4,
      crc32: 7,
    }],
    ["bad deflate data", { name: "m@v1.0.0/d", payload: new Uint8Array([0xff, 0xff, 0xff]) }],
    ["an unknown method", { name: "m@v1.0.0/u", data: "abc", method: 12, payload: deflate("a") }],
    ["encryption", { name: "m@v1.0.0/e", data: "abc", flags: 0x809 }],
  ];
  for (const [what, entry] of cases) {
    const read = readStreamed(rawZip([first, entry, first]), () => 5);
    assert.deepEqual(read.ended.map((e) => e.name), ["m@v1.0.0/ok"], what);
    assert.ok(read.stopped, what);
  }
});

Deno.test("zip stream: stops where the sink refuses an entry or the output passes the limit", () => {
  const zip = rawZip(GO_LIKE);
  const refused = readStreamed(zip, () => 4096, { refuse: (h) => h.name.endsWith("big.bin") });
  assert.deepEqual(refused.ended.map((e) => e.name), ["m@v1.0.0/go.mod", "m@v1.0.0/empty.txt"]);
  assert.equal(refused.opened.length, 3);
  assert.ok(refused.stopped);
  const limited = readStreamed(zip, () => 4096, { limit: 1_000_000 });
  assert.deepEqual(limited.ended.length, 2);
  assert.ok(limited.stopped);
});

Deno.test("zip stream: waits at the end of the bytes so far, mid-header or mid-descriptor", () => {
  const zip = rawZip([{ name: "m@v1.0.0/a.go", data: encoder.encode("package a\n") }]);
  const directory = findLast(zip, [0x50, 0x4b, 0x01, 0x02]);
  for (let cut = 1; cut < directory; cut++) {
    const bytes = new Uint8Array(zip.length);
    const read: string[] = [];
    const reader = new ZipStreamReader(bytesSource(bytes), () => ({
      write() {},
      end: (_tail, entry) => read.push(entry.name),
    }), 1 << 20);
    bytes.set(zip.subarray(0, cut));
    reader.advance(cut);
    assert.ok(!reader.stopped, `stopped with ${cut} bytes`);
    bytes.set(zip.subarray(cut), cut);
    reader.advance(zip.length);
    assert.deepEqual(read, ["m@v1.0.0/a.go"], `cut at ${cut}`);
  }
});

Deno.test("zip stream: an error thrown by a sink stops the reader and is passed on", () => {
  const zip = rawZip(GO_LIKE);
  const reader = new ZipStreamReader(bytesSource(zip), () => ({
    write() {},
    end() {
      throw new Error("disk full");
    },
  }), 1 << 30);
  assert.throws(() => reader.advance(zip.length), /disk full/);
  assert.ok(reader.stopped);
});
