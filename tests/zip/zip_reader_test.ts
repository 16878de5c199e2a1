import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  TextReader,
  Uint8ArrayReader,
  Uint8ArrayWriter,
  ZipReader,
  ZipWriter,
} from "@zip.js/zip.js";
import {
  bytesSource,
  EntryInflater,
  fileSource,
  inflateEntry,
  readCentralDirectory,
  type ZipEntry,
  ZipFormatError,
  type ZipSource,
} from "../../src/zip/zip_reader.ts";
import { deflate, rawZip } from "../support/raw_zip.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function entriesOf(zip: Uint8Array): ZipEntry[] {
  return readCentralDirectory(bytesSource(zip));
}

function onlyEntry(zip: Uint8Array): { src: ZipSource; entry: ZipEntry } {
  const src = bytesSource(zip);
  const entries = readCentralDirectory(src);
  assert.equal(entries.length, 1);
  return { src, entry: entries[0] };
}

function assertFormatError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ZipFormatError && pattern.test(e.message));
}

/** Collects every chunk of an entry inflated by `inflater` (small chunks by default). */
function streamed(
  src: ZipSource,
  entry: ZipEntry,
  inflater = new EntryInflater(4096),
): Uint8Array {
  const chunks: Uint8Array[] = [];
  inflater.inflate(src, entry, (c) => chunks.push(c.slice()));
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/** Raw deflate of `total` zero bytes, compressed in 1 MiB writes. */
async function deflatedZeros(total: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const deflater = zlib.createDeflateRaw({ level: 9 });
  deflater.on("data", (c: Uint8Array) => parts.push(c));
  const ended = new Promise((resolve) => deflater.on("end", resolve));
  const zeros = new Uint8Array(1 << 20);
  for (let left = total; left > 0; left -= zeros.length) {
    deflater.write(zeros.subarray(0, Math.min(left, zeros.length)));
  }
  deflater.end();
  await ended;
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

Deno.test("readCentralDirectory and inflateEntry agree with zip.js on 400 entries", async () => {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
  const contents = new Map<string, string>();
  const prefix = "example.com/m@v1.0.0/";
  await writer.add(prefix, undefined, { directory: true });
  for (let i = 0; i < 400; i++) {
    const dir = `${prefix}pkg${i % 7}/`;
    if (i < 7) await writer.add(dir, undefined, { directory: true });
    const name = i % 50 === 3 ? `${dir}ünïcødé-${i}.go` : `${dir}file${i}.go`;
    const text = i % 13 === 0 ? "" : `package pkg${i % 7}\n\n// ${"x".repeat(i * 7)}\n`;
    contents.set(name, text);
    await writer.add(name, new TextReader(text), { level: i % 3 === 0 ? 0 : 6 });
  }
  const zip = await writer.close();

  const reader = new ZipReader(new Uint8ArrayReader(zip), { useWebWorkers: false });
  const theirs = await reader.getEntries();
  const src = bytesSource(zip);
  const ours = readCentralDirectory(src);
  assert.equal(ours.length, theirs.length);
  assert.equal(ours.length, 1 + 7 + 400);
  for (let i = 0; i < ours.length; i++) {
    const [a, b] = [ours[i], theirs[i]];
    assert.equal(a.name, b.filename);
    assert.equal(a.nameIsUtf8, true);
    assert.equal(a.compressedSize, b.compressedSize);
    assert.equal(a.uncompressedSize, b.uncompressedSize);
    assert.equal(a.crc32, b.signature);
    assert.equal(a.localHeaderOffset, b.offset);
    assert.equal(a.name.endsWith("/"), b.directory);
    const data = inflateEntry(src, a);
    if (!b.directory) {
      assert.deepEqual(data, await b.getData!(new Uint8ArrayWriter()));
      assert.equal(decoder.decode(data), contents.get(a.name));
    }
  }
  await reader.close();
  const methods = new Set(ours.filter((e) => !e.name.endsWith("/")).map((e) => e.method));
  assert.deepEqual([...methods].sort(), [0, 8]);
});

Deno.test("reads Go-style entries whose sizes are only in the central directory", () => {
  const zip = rawZip([
    { name: "m@v1/a.go", data: "package a\n" },
    { name: "m@v1/b.txt", data: "stored", method: 0 },
    { name: "m@v1/empty", data: "" },
  ]);
  const src = bytesSource(zip);
  const entries = readCentralDirectory(src);
  assert.deepEqual(entries.map((e) => e.name), ["m@v1/a.go", "m@v1/b.txt", "m@v1/empty"]);
  assert.deepEqual(entries.map((e) => decoder.decode(inflateEntry(src, e))), [
    "package a\n",
    "stored",
    "",
  ]);
  assert.equal(entries[0].flags, 0x808);
  assert.equal(entries[0].creatorVersion, 0x314);
  assert.equal(entries[0].externalAttributes >>> 16, 0o100644);
});

Deno.test("readCentralDirectory reads an empty archive", () => {
  assert.deepEqual(entriesOf(rawZip([])), []);
});

Deno.test("readCentralDirectory finds the end record behind a 65535-byte comment", () => {
  const comment = new Uint8Array(65535).fill(0x20);
  // A signature whose comment length would run past the end of the file is skipped (as in Go).
  comment.set(encoder.encode("PK\x05\x06"), 65500);
  const entries = entriesOf(rawZip([{ name: "m@v1/a", data: "a" }], { comment }));
  assert.deepEqual(entries.map((e) => e.name), ["m@v1/a"]);
});

Deno.test("readCentralDirectory reads Zip64 end records and extra fields", () => {
  const zip = rawZip([
    { name: "m@v1/a.go", data: "package a\n", zip64: true },
    { name: "m@v1/b.go", data: "package b\n", method: 0, zip64: true },
  ], { zip64End: true });
  const src = bytesSource(zip);
  const entries = readCentralDirectory(src);
  assert.equal(entries.length, 2);
  assert.equal(entries[1].uncompressedSize, 10);
  assert.equal(entries[1].compressedSize, 10);
  assert.ok(entries[1].localHeaderOffset > 0);
  assert.equal(decoder.decode(inflateEntry(src, entries[0])), "package a\n");
  assert.equal(decoder.decode(inflateEntry(src, entries[1])), "package b\n");
});

Deno.test("readCentralDirectory accepts 65536 entries with a truncated 16-bit count", () => {
  const entries = Array.from({ length: 65536 }, (_, i) => ({
    name: `m@v1/${i}`,
    method: 0,
  }));
  assert.equal(entriesOf(rawZip(entries)).length, 65536);
});

Deno.test("readCentralDirectory accepts data prepended to the archive", () => {
  const prepend = encoder.encode('#!/bin/sh\nexec unzip "$0"\n');
  const zip = rawZip([{ name: "m@v1/a.go", data: "package a\n" }], { prepend });
  const { src, entry } = onlyEntry(zip);
  assert.equal(entry.localHeaderOffset, prepend.length);
  assert.equal(decoder.decode(inflateEntry(src, entry)), "package a\n");
});

Deno.test("readCentralDirectory keeps invalid UTF-8 names, flagged", () => {
  const name = new Uint8Array([
    ...encoder.encode("m@v1/bad"),
    0xff,
    0xfe,
    ...encoder.encode(".go"),
  ]);
  const [bad, good] = entriesOf(rawZip([{ name }, { name: "m@v1/ok.go" }]));
  assert.equal(bad.nameIsUtf8, false);
  assert.equal(bad.name, "m@v1/bad\ufffd\ufffd.go");
  assert.equal(good.nameIsUtf8, true);
});

Deno.test("readCentralDirectory rejects data that is not a zip file", () => {
  assertFormatError(() => entriesOf(new Uint8Array(0)), /^not a valid zip file: only 0 bytes/);
  assertFormatError(() => entriesOf(encoder.encode("x".repeat(70000))), /no end of central/);
  const random = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
  assertFormatError(() => entriesOf(random), /^not a valid zip file/);
});

Deno.test("readCentralDirectory rejects a comment running past the end of the file", () => {
  const zip = rawZip([{ name: "m@v1/a" }], { comment: encoder.encode("hello") });
  assertFormatError(() => entriesOf(zip.subarray(0, zip.length - 2)), /no end of central/);
});

Deno.test("readCentralDirectory rejects a lying central directory", () => {
  const files = [{ name: "m@v1/a", data: "a" }, { name: "m@v1/b", data: "b" }];
  const size = rawZip(files).length;
  assertFormatError(
    () => entriesOf(rawZip(files, { directoryOffset: size * 2 })),
    /point past its end record/,
  );
  assertFormatError(
    () => entriesOf(rawZip(files, { directorySize: 0x7fffffff })),
    /point past its end record/,
  );
  assertFormatError(() => entriesOf(rawZip(files, { records: 3 })), /has 2 readable records/);
  assertFormatError(() => entriesOf(rawZip(files, { directorySize: 80 })), /has 1 readable/);
  assertFormatError(
    () => entriesOf(rawZip(files, { zip64End: true, records: 2 ** 40 })),
    /its end record declares 1099511627776/,
  );
  assertFormatError(
    () => entriesOf(rawZip(files, { zip64End: true, directorySize: 2 ** 60 })),
    /central directory size is too large/,
  );
});

Deno.test("readCentralDirectory rejects a Zip64 size without its extra field", () => {
  const zip = rawZip([{ name: "m@v1/a", data: "a", compressedSize: 0xffffffff }]);
  assertFormatError(() => entriesOf(zip), /zip entry "m@v1\/a": missing Zip64 field/);
});

Deno.test("inflateEntry rejects local headers and data outside the file", () => {
  const zip = rawZip([{ name: "m@v1/a.go", data: "package a\n".repeat(50) }]);
  const src = bytesSource(zip);
  const entry = readCentralDirectory(src)[0];
  assertFormatError(
    () => inflateEntry(src, { ...entry, localHeaderOffset: zip.length - 10 }),
    /^zip entry "m@v1\/a.go": local header offset \d+ is out of range$/,
  );
  assertFormatError(
    () => inflateEntry(src, { ...entry, localHeaderOffset: 1 }),
    /bad local header signature/,
  );
  assertFormatError(
    () => inflateEntry(src, { ...entry, compressedSize: 2 ** 40 }),
    /compressed data extends past the end of the file/,
  );
});

Deno.test("inflateEntry checks the declared size of deflated and stored entries", () => {
  for (const method of [0, 8]) {
    const data = "package a\n".repeat(100);
    const larger = onlyEntry(rawZip([{ name: "m@v1/a.go", data, method, uncompressedSize: 999 }]));
    assertFormatError(
      () => inflateEntry(larger.src, larger.entry),
      /^zip entry "m@v1\/a.go": uncompressed size is larger than declared \(999 bytes\): /,
    );
    const smaller = onlyEntry(
      rawZip([{ name: "m@v1/a.go", data, method, uncompressedSize: 1001 }]),
    );
    assertFormatError(
      () => inflateEntry(smaller.src, smaller.entry),
      /uncompressed size is smaller than declared/,
    );
  }
});

Deno.test("inflateEntry stops a deflate bomb at the declared size", async () => {
  const payload = await deflatedZeros(256 << 20);
  const { src, entry } = onlyEntry(
    rawZip([{ name: "m@v1/bomb", payload, uncompressedSize: 1000, crc32: 0 }]),
  );
  const start = performance.now();
  assertFormatError(() => inflateEntry(src, entry), /larger than declared/);
  assert.ok(performance.now() - start < 5000);
});

Deno.test("inflateEntry checks CRC-32 like Go", () => {
  const bad = onlyEntry(rawZip([{ name: "m@v1/a", data: "hello", crc32: 12345 }]));
  assertFormatError(() => inflateEntry(bad.src, bad.entry), /^zip entry "m@v1\/a": CRC-32/);
  // A zero CRC is only checked when a data descriptor is present.
  const withDescriptor = onlyEntry(rawZip([{ name: "m@v1/a", data: "hello", crc32: 0 }]));
  assertFormatError(() => inflateEntry(withDescriptor.src, withDescriptor.entry), /CRC-32/);
  const plain = onlyEntry(rawZip([{ name: "m@v1/a", data: "hello", crc32: 0, flags: 0x800 }]));
  assert.equal(decoder.decode(inflateEntry(plain.src, plain.entry)), "hello");
});

Deno.test("inflateEntry rejects unsupported methods and corrupt deflate data", () => {
  const bzip2 = onlyEntry(rawZip([{ name: "m@v1/a", data: "x", method: 12 }]));
  assertFormatError(
    () => inflateEntry(bzip2.src, bzip2.entry),
    /unsupported compression method 12/,
  );
  const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  const corrupt = onlyEntry(rawZip([{ name: "m@v1/a", data: "x", payload: garbage }]));
  assertFormatError(() => inflateEntry(corrupt.src, corrupt.entry), /invalid deflate data/);
  const full = deflate("hello, world\n".repeat(100));
  const truncated = onlyEntry(
    rawZip([{ name: "m@v1/a", data: "hello, world\n".repeat(100), payload: full.subarray(0, 20) }]),
  );
  assertFormatError(() => inflateEntry(truncated.src, truncated.entry), /invalid deflate data/);
});

Deno.test("inflateEntry returns plain Uint8Arrays", () => {
  const { src, entry } = onlyEntry(rawZip([{ name: "m@v1/a", data: "hello" }]));
  assert.equal(Object.getPrototypeOf(inflateEntry(src, entry)), Uint8Array.prototype);
});

Deno.test("fileSource reads the same entries and data as bytesSource", async () => {
  const zip = rawZip(
    Array.from({ length: 50 }, (_, i) => ({ name: `m@v1/f${i}`, data: `file ${i}\n`.repeat(i) })),
    { comment: encoder.encode("comment") },
  );
  const path = await Deno.makeTempFile({ suffix: ".zip" });
  try {
    await Deno.writeFile(path, zip);
    using file = await Deno.open(path);
    const src = fileSource(file, zip.length);
    const entries = readCentralDirectory(src);
    assert.deepEqual(entries, entriesOf(zip));
    for (const entry of entries) {
      assert.deepEqual(inflateEntry(src, entry), inflateEntry(bytesSource(zip), entry));
      assert.deepEqual(streamed(src, entry), inflateEntry(src, entry));
    }
    assertFormatError(() => src.read(zip.length - 1, 2), /outside the \d+-byte file/);
    assertFormatError(() => src.read(-1, 1), /outside/);
    assertFormatError(() => fileSource(file, zip.length + 10).read(zip.length, 5), /file ends/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("EntryInflater inflates a 256 MiB entry in bounded memory", async () => {
  const size = 256 << 20;
  const payload = await deflatedZeros(size);
  let crc = 0;
  const zeros = new Uint8Array(1 << 20);
  for (let i = 0; i < 256; i++) crc = zlib.crc32(zeros, crc);
  const zip = rawZip([{ name: "m@v1/big", payload, uncompressedSize: size, crc32: crc }]);
  const { src, entry } = onlyEntry(zip);

  // This isolate's memory: JS heap plus buffers (RSS would count parallel tests too).
  const used = (): number => Deno.memoryUsage().heapUsed + Deno.memoryUsage().external;
  const before = used();
  let peak = before;
  let total = 0;
  let largest = 0;
  const inflater = new EntryInflater();
  inflater.inflate(src, entry, (chunk) => {
    total += chunk.length;
    largest = Math.max(largest, chunk.length);
    peak = Math.max(peak, used());
  });
  assert.equal(total, size);
  assert.equal(largest, inflater.capacity);
  assert.ok(peak - before < size / 2, `memory grew by ${(peak - before) >> 20} MiB`);
});

Deno.test("EntryInflater stops a deflate bomb before passing the declared size", async () => {
  const payload = await deflatedZeros(256 << 20);
  const declared = 1 << 20;
  const zip = rawZip([{ name: "m@v1/bomb", payload, uncompressedSize: declared, crc32: 0 }]);
  const { src, entry } = onlyEntry(zip);
  let seen = 0;
  const start = performance.now();
  assertFormatError(
    () =>
      new EntryInflater(64 * 1024).inflate(src, entry, (chunk) => {
        seen += chunk.length;
      }),
    /^zip entry "m@v1\/bomb": uncompressed size is larger than declared \(1048576 bytes\): /,
  );
  assert.ok(seen <= declared);
  assert.ok(performance.now() - start < 5000);
});

Deno.test("EntryInflater checks CRC, sizes, method and data, and recovers after an error", () => {
  const data = "hello, world\n".repeat(1000);
  const cases: [Parameters<typeof rawZip>[0][0], RegExp][] = [
    [{ name: "m@v1/a", data, crc32: 1 }, /CRC-32/],
    [{ name: "m@v1/a", data, uncompressedSize: data.length + 1 }, /smaller than declared/],
    [{ name: "m@v1/a", data, method: 0, uncompressedSize: 100 }, /larger than declared/],
    [{ name: "m@v1/a", data, method: 0, crc32: 1 }, /CRC-32/],
    [{ name: "m@v1/a", data, method: 14 }, /unsupported compression method 14/],
    [{ name: "m@v1/a", data, payload: deflate(data).subarray(0, 30) }, /invalid deflate data/],
    [{ name: "m@v1/a", data, localHeaderOffset: 5 }, /bad local header signature/],
  ];
  const inflater = new EntryInflater(4096);
  const deflated = onlyEntry(rawZip([{ name: "m@v1/a", data }]));
  const stored = onlyEntry(rawZip([{ name: "m@v1/a", data, method: 0 }]));
  for (const [raw, pattern] of cases) {
    const { src, entry } = onlyEntry(rawZip([raw]));
    assertFormatError(() => streamed(src, entry, inflater), pattern);
    assert.equal(decoder.decode(streamed(deflated.src, deflated.entry, inflater)), data);
  }
  assert.equal(decoder.decode(streamed(stored.src, stored.entry, inflater)), data);
});

Deno.test("EntryInflater passes errors thrown by onChunk through", () => {
  const { src, entry } = onlyEntry(rawZip([{ name: "m@v1/a", data: "x".repeat(100000) }]));
  const boom = new Error("disk full");
  assert.throws(
    () =>
      new EntryInflater().inflate(src, entry, () => {
        throw boom;
      }),
    (e) => e === boom,
  );
});

Deno.test("EntryInflater passes an entry that fits its buffer in one chunk", async () => {
  const data = "package a\n".repeat(30000);
  const payload = await deflatedZeros(1);
  const zip = rawZip([
    { name: "m@v1/a", data },
    { name: "m@v1/b", data, method: 0 },
    { name: "m@v1/empty", data: "" },
    { name: "m@v1/zero", payload, uncompressedSize: 1, crc32: zlib.crc32(new Uint8Array(1)) },
  ]);
  const src = bytesSource(zip);
  const inflater = new EntryInflater(data.length);
  for (const entry of readCentralDirectory(src)) {
    const chunks: Uint8Array[] = [];
    inflater.inflate(src, entry, (c) => chunks.push(c.slice()));
    assert.equal(chunks.length, entry.uncompressedSize === 0 ? 0 : 1, entry.name);
    assert.equal(chunks[0]?.length ?? 0, entry.uncompressedSize);
  }
});

Deno.test("EntryInflater inflates many entries without holding memory for each", () => {
  const data = "func F() {}\n".repeat(2000);
  const { src, entry } = onlyEntry(rawZip([{ name: "m@v1/a.go", data }]));
  const inflater = new EntryInflater();
  const used = (): number => Deno.memoryUsage().heapUsed + Deno.memoryUsage().external;
  const before = used();
  let total = 0;
  for (let i = 0; i < 20000; i++) inflater.inflate(src, entry, (c) => total += c.length);
  assert.equal(total, 20000 * data.length);
  assert.ok(used() - before < 32 << 20, `memory grew by ${(used() - before) >> 20} MiB`);
});
