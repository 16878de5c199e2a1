import assert from "node:assert/strict";
import { join } from "node:path";
import type { InstallResult, InstallTarget } from "../../src/cache/installer.ts";
import { StreamedInstall } from "../../src/cache/streamed_install.ts";
import { type RawEntry, rawZip } from "../support/raw_zip.ts";
import { zipH1 } from "../support/raw_module.ts";

const MODULE = "example.com/m";
const PREFIX = `${MODULE}@v1.0.0/`;

const noise = (n: number) => {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
};

const GOOD: RawEntry[] = [
  { name: PREFIX + "go.mod", data: `module ${MODULE}\n` },
  { name: PREFIX + "good.go", data: "package m\n" },
  { name: PREFIX + "sub/big.bin", data: noise(1_500_000) },
];

/** The h1 go.sum would have for a zip of `entries` (as its central directory lists them). */
const h1Of = (entries: RawEntry[]) => zipH1(entries.map(({ name, data }) => ({ name, data })));

interface Streaming {
  root: string;
  dir: string;
  atV: string;
  install: StreamedInstall;
  /** Writes the next `n` bytes of the zip to its temp file, and tells the install. */
  write(n: number): void;
}

/** Starts a streamed install of `zip` in a fresh cache, from a temp file written as the download would. */
async function startStream(zip: Uint8Array, zipHashes: string[]): Promise<Streaming> {
  const root = await Deno.makeTempDir({ prefix: "goprefetch-streamed-" });
  const target: InstallTarget = {
    root,
    path: MODULE,
    version: "v1.0.0",
    zipHashes,
    modcacherw: true,
    umask: 0o022,
  };
  const atV = join(root, "cache", "download", MODULE, "@v");
  Deno.mkdirSync(atV, { recursive: true });
  const file = join(atV, "v1.0.0.zip123.tmp");
  const out = Deno.openSync(file, { write: true, createNew: true });
  const install = new StreamedInstall(target, file, zip.length);
  let written = 0;
  const write = (n: number) => {
    const piece = zip.subarray(written, Math.min(zip.length, written + n));
    for (let done = 0; done < piece.length;) done += out.writeSync(piece.subarray(done));
    written += piece.length;
    if (written === zip.length) out.close();
    install.grew(written);
  };
  return { root, dir: join(root, `${MODULE}@v1.0.0`), atV, install, write };
}

/** Streams `zip` into an install in a fresh cache, in pieces of `piece` bytes. */
async function streamIn(
  zip: Uint8Array,
  zipHashes: string[],
  piece = 64 << 10,
): Promise<{ root: string; dir: string; atV: string; result: Promise<InstallResult> }> {
  const s = await startStream(zip, zipHashes);
  for (let at = 0; at < zip.length; at += piece) s.write(piece);
  return { ...s, result: s.install.finish() };
}

/** Every file under `dir`, relative, sorted. */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(join(d, e.name), rel + e.name + "/");
      else out.push(rel + e.name);
    }
  };
  walk(dir, "");
  return out.sort();
}

Deno.test("streamed install: a zip arriving in pieces installs as a whole one does", async () => {
  const zip = rawZip(GOOD);
  const { root, dir, atV, result } = await streamIn(zip, [h1Of(GOOD)]);
  try {
    const { h1, files } = await result;
    assert.equal(h1, h1Of(GOOD));
    assert.equal(files, 3);
    assert.deepEqual(treeOf(dir), ["go.mod", "good.go", "sub/big.bin"]);
    assert.deepEqual(Deno.readFileSync(join(dir, "sub/big.bin")), GOOD[2].data);
    assert.deepEqual(Deno.readFileSync(join(atV, "v1.0.0.zip")), zip);
    assert.equal(Deno.readTextFileSync(join(atV, "v1.0.0.ziphash")), h1);
    assert.deepEqual(Deno.readDirSync(atV).toArray().map((e) => e.name).sort(), [
      "v1.0.0.zip",
      "v1.0.0.ziphash",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

/** Replaces the first (local header) occurrence of `from` in `zip` by `to`, of equal length. */
function renameLocal(zip: Uint8Array, from: string, to: string): Uint8Array {
  const text = new TextDecoder("latin1").decode(zip);
  const at = text.indexOf(from);
  const out = zip.slice();
  out.set(new TextEncoder().encode(to), at);
  return out;
}

/** The local entries (headers, data, descriptors) of `entries`, without a central directory. */
function localPart(entries: RawEntry[]): Uint8Array {
  const zip = rawZip(entries);
  const view = new DataView(zip.buffer);
  return zip.slice(0, view.getUint32(zip.length - 6, true));
}

Deno.test("streamed install: only what the central directory lists is kept", async () => {
  const hostile: [string, Uint8Array][] = [
    ["a local name the directory does not give", renameLocal(rawZip(GOOD), "good.go", "evil.go")],
    [
      "a local entry before the first the directory lists",
      rawZip(GOOD, { prepend: localPart([{ name: PREFIX + "evil.go", data: "package evil\n" }]) }),
    ],
  ];
  for (const [what, zip] of hostile) {
    const { root, dir, result } = await streamIn(zip, [h1Of(GOOD)], 7);
    try {
      assert.equal((await result).h1, h1Of(GOOD), what);
      assert.deepEqual(treeOf(dir), ["go.mod", "good.go", "sub/big.bin"], what);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  }
});

Deno.test("streamed install: a zip that breaks the rules or the h1 leaves nothing", async () => {
  const badName = [...GOOD, { name: PREFIX + "sub/GO.MOD", data: "module x\n" }];
  const cases: [string, Uint8Array, string[], RegExp][] = [
    ["a rule", rawZip(badName), [h1Of(badName)], /go\.mod file not in module root/],
    [
      "the h1",
      rawZip(GOOD),
      ["h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
      /checksum mismatch/,
    ],
  ];
  for (const [what, zip, hashes, error] of cases) {
    const { root, dir, atV, result } = await streamIn(zip, hashes);
    try {
      await assert.rejects(result, error, what);
      assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound, what);
      const left = Deno.readDirSync(atV).toArray().map((e) => e.name);
      assert.deepEqual(left, ["v1.0.0.zip123.tmp"], `${what}: only the caller's temp file is left`);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  }
});

Deno.test("streamed install: abandoned half way, it leaves nothing but the temp file", async () => {
  const zip = rawZip(GOOD);
  const { root, dir, atV, install, write } = await startStream(zip, []);
  try {
    write(zip.length - 1000);
    assert.deepEqual(treeOf(dir), ["go.mod", "good.go", "sub/big.bin"], "extracted early");
    install.abandon();
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
    assert.deepEqual(Deno.readDirSync(atV).toArray().map((e) => e.name), ["v1.0.0.zip123.tmp"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
