/**
 * A local proxy on 127.0.0.1 serving one toolchain-shaped `golang.org/toolchain` zip and,
 * under `/sumdb/<name>/`, a checksum database: a log of many records (the toolchain's among
 * them) with its own Ed25519 key, signed tree notes, `/lookup` answers and hash tiles
 * (`tile/8/L/NNN[.p/W]`) built straight from RFC 6962, independently of `src/sumdb/tlog*.ts`. It
 * can lie in the ways a test asks for.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type RawEntry, rawZip } from "./raw_zip.ts";
import { zipH1 } from "./raw_module.ts";

/** A running test proxy with a checksum database. */
export interface SumDbServer {
  /** The proxy URL, for GOPROXY. */
  url: string;
  /** GOSUMDB naming the test database with its verifier key. */
  gosumdb: string;
  /** The database name. */
  name: string;
  /** The served toolchain module version. */
  version: string;
  /** The zip's real h1. */
  h1: string;
  /** Request paths seen, in order. */
  requests: string[];
  /** The `Authorization` header of each request, in the same order ("" when none). */
  authorizations: string[];
  /** A signed tree note for the first `n` records (or with another root hash: a fork). */
  treeNote(n: number, hash?: Uint8Array): Promise<string>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** What the server serves, and how it misbehaves. */
export interface SumDbServerOptions {
  /** The toolchain version, e.g. `v0.0.1-go9.99.0.linux-amd64`. */
  version: string;
  /** Records in the log (default 1000). */
  records?: number;
  /** The toolchain record's number in the log (default 500). */
  recordId?: number;
  /** The size of the tree whose note `/lookup` answers carry (default: every record). */
  treeSize?: number;
  /** Answer `/sumdb/<name>/supported` with 404, as a proxy that does not proxy it. */
  unsupported?: boolean;
  /** Sign the tree note with another key than the one in `gosumdb`. */
  badSignature?: boolean;
  /** Record this h1 for the zip (in the log too) instead of the zip's real one. */
  recordHash?: string;
  /** Log another record at the toolchain's number, while `/lookup` still answers the real one. */
  recordNotInTree?: boolean;
  /** Serve this tile path (e.g. `tile/8/0/001`) with one hash byte flipped. */
  corruptTile?: string;
  /** Log another record 0, as a database that rewrote its history (same key: keys are fixed). */
  fork?: boolean;
  /** More files in the toolchain zip, by path below its root: the bench makes it full size. */
  extraFiles?: Record<string, Uint8Array | string>;
}

const NAME = "sumdb.test";

/** The files of the toolchain-shaped zip for toolchain `name` (e.g. `go1.99.1`). */
export function toolchainFiles(name: string): Record<string, string> {
  return {
    "bin/go": `#!/bin/sh\necho "go version ${name} linux/amd64"\n`,
    "bin/gofmt": "#!/bin/sh\n",
    "pkg/tool/linux_amd64/compile": "compile\n",
    "lib/wasm/go_js_wasm_exec": "#!/bin/sh\n",
    "lib/time/zoneinfo.zip": "zones\n",
    "src/_go.mod": "module std\n\ngo 1.99\n",
    "src/cmd/_go.mod": "module cmd\n\ngo 1.99\n",
    "src/fmt/print.go": "package fmt\n",
    "VERSION": `${name}\n`,
  };
}

/** Starts the server. */
export async function serveSumDb(options: SumDbServerOptions): Promise<SumDbServer> {
  const name = options.version.replace(/^v0\.0\.1-/, "").replace(/\.[^.]+$/, "");
  const prefix = `golang.org/toolchain@${options.version}/`;
  const files = { ...toolchainFiles(name), ...options.extraFiles };
  const entries: RawEntry[] = Object.entries(files).map(([file, data]) => ({
    name: prefix + file,
    data,
  }));
  const zip = new Uint8Array(rawZip(entries));
  const h1 = zipH1(entries);
  const size = options.records ?? 1000;
  const recordId = options.recordId ?? 500;
  const treeSize = options.treeSize ?? size;
  const served = `golang.org/toolchain ${options.version} ${options.recordHash ?? h1}\n` +
    `golang.org/toolchain ${options.version}/go.mod h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`;
  const fork = (i: number) => i === 0 && options.fork ? "forked" : "";
  const texts = Array.from(
    { length: size },
    (_, i) =>
      i === recordId && !options.recordNotInTree
        ? served
        : `example.com/m${i} v1.0.0 h1:${sha256(`zip ${i}`, fork(i)).toString("base64")}\n`,
  );
  const levels = buildLevels(texts.map((t) => leafHash(Buffer.from(t))));
  const signer = await newKey(1);
  const liar = await newKey(2);
  const treeNote = async (n: number, hash = treeHash(levels, 0, n)) => {
    const text = `go.sum database tree\n${n}\n${Buffer.from(hash).toString("base64")}\n`;
    const sig = await sign(options.badSignature ? liar : signer, signer.hash, text);
    return `${text}\n\u2014 ${NAME} ${sig}\n`;
  };
  const requests: string[] = [];
  const authorizations: string[] = [];
  const db = `/sumdb/${NAME}`;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    authorizations.push(req.headers.get("authorization") ?? "");
    if (path === `/golang.org/toolchain/@v/${options.version}.zip`) return new Response(zip);
    if (path === `${db}/supported`) {
      return new Response("", { status: options.unsupported ? 404 : 200 });
    }
    if (path === `${db}/lookup/golang.org/toolchain@${options.version}`) {
      return new Response(`${recordId}\n${served}\n${await treeNote(treeSize)}`);
    }
    if (path.startsWith(`${db}/tile/`)) {
      const data = tile(levels, path.slice(db.length + 1));
      if (data === undefined) return new Response("not found", { status: 404 });
      if (path === `${db}/${options.corruptTile}`) data[5] ^= 1;
      return new Response(data);
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gosumdb: signer.vkey,
    name: NAME,
    version: options.version,
    h1,
    requests,
    authorizations,
    treeNote,
    close: () => server.shutdown(),
  };
}

function sha256(...parts: (Uint8Array | string)[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

function leafHash(data: Uint8Array): Buffer {
  return sha256(Buffer.from([0]), data);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Buffer.from([1]), left, right);
}

/** Level k holds the roots of the complete subtrees of 2^k records, left to right. */
function buildLevels(leaves: Buffer[]): Buffer[][] {
  const levels = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const above: Buffer[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) above.push(nodeHash(below[i], below[i + 1]));
    levels.push(above);
  }
  return levels;
}

/** RFC 6962's Merkle tree hash of records [lo, hi). */
function treeHash(levels: Buffer[][], lo: number, hi: number): Buffer {
  if (hi - lo === 1) return levels[0][lo];
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(treeHash(levels, lo, lo + k), treeHash(levels, lo + k, hi));
}

/** The data of `tile/8/<L>/<NNN>[.p/<W>]`: W hashes of level 8L from hash N*256 on. */
function tile(levels: Buffer[][], path: string): Uint8Array<ArrayBuffer> | undefined {
  const m = /^tile\/8\/(\d+)\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d+))?$/.exec(path);
  if (!m) return undefined;
  const level = levels[8 * Number(m[1])] ?? [];
  const n = Number(m[2].replaceAll("x", "").replaceAll("/", ""));
  const width = m[3] === undefined ? 256 : Number(m[3]);
  if (width < 1 || width > 256 || n * 256 + width > level.length) return undefined;
  return new Uint8Array(Buffer.concat(level.slice(n * 256, n * 256 + width)));
}

interface Key {
  privateKey: CryptoKey;
  hash: Uint8Array;
  vkey: string;
}

/** A fixed Ed25519 key from a one-byte seed, so that every server of a test signs alike. */
async function newKey(seed: number): Promise<Key> {
  const pkcs8 = Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.alloc(32, seed),
  ]);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const pub = Buffer.from(jwk.x!, "base64url");
  const key = new Uint8Array([1, ...pub]);
  const hash = sha256(Buffer.from(NAME + "\n"), key).subarray(0, 4);
  return {
    privateKey,
    hash: new Uint8Array(hash),
    vkey: `${NAME}+${Buffer.from(hash).toString("hex")}+${Buffer.from(key).toString("base64")}`,
  };
}

async function sign(key: Key, hash: Uint8Array, text: string): Promise<string> {
  const sig = new Uint8Array(
    await crypto.subtle.sign("Ed25519", key.privateKey, new TextEncoder().encode(text)),
  );
  return Buffer.from([...hash, ...sig]).toString("base64");
}
