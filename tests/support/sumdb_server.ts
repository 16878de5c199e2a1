/**
 * A local proxy serving one toolchain-shaped `golang.org/toolchain` zip and, under
 * `/sumdb/<name>/`, a checksum database with its own Ed25519 key that signs its tree notes
 * in the note format (or lies, when a test asks it to).
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
  /** The served toolchain module version. */
  version: string;
  /** The zip's real h1. */
  h1: string;
  /** Request paths seen, in order. */
  requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** How the database misbehaves. */
export interface SumDbServerOptions {
  /** The toolchain version, e.g. `v0.0.1-go9.99.0.linux-amd64`. */
  version: string;
  /** Sign the tree note with another key than the one in `gosumdb`. */
  badSignature?: boolean;
  /** Record this h1 instead of the zip's real one. */
  recordHash?: string;
}

const NAME = "sumdb.test";

/** The files of the toolchain-shaped zip, relative to the module root. */
export const TOOLCHAIN_FILES: Record<string, string> = {
  "bin/go": "#!/bin/sh\necho go9.99.0\n",
  "bin/gofmt": "#!/bin/sh\n",
  "pkg/tool/linux_amd64/compile": "compile\n",
  "lib/wasm/go_js_wasm_exec": "#!/bin/sh\n",
  "lib/time/zoneinfo.zip": "zones\n",
  "src/_go.mod": "module std\n\ngo 1.99\n",
  "src/cmd/_go.mod": "module cmd\n\ngo 1.99\n",
  "src/fmt/print.go": "package fmt\n",
  "VERSION": "go9.99.0\n",
};

/** Starts the server. */
export async function serveSumDb(options: SumDbServerOptions): Promise<SumDbServer> {
  const prefix = `golang.org/toolchain@${options.version}/`;
  const entries: RawEntry[] = Object.entries(TOOLCHAIN_FILES).map(([name, data]) => ({
    name: prefix + name,
    data,
  }));
  const zip = new Uint8Array(rawZip(entries));
  const h1 = zipH1(entries);
  const signer = await newKey();
  const liar = await newKey();
  const requests: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (path === `/golang.org/toolchain/@v/${options.version}.zip`) return new Response(zip);
    if (path === `/sumdb/${NAME}/supported`) return new Response("");
    if (path === `/sumdb/${NAME}/lookup/golang.org/toolchain@${options.version}`) {
      const record = `golang.org/toolchain ${options.version} ${options.recordHash ?? h1}\n` +
        `golang.org/toolchain ${options.version}/go.mod h1:fake=\n`;
      const tree = `go.sum database tree\n42\n${Buffer.alloc(32).toString("base64")}\n`;
      const sig = await sign(options.badSignature ? liar : signer, signer.hash, tree);
      return new Response(`41\n${record}\n${tree}\n\u2014 ${NAME} ${sig}\n`);
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gosumdb: signer.vkey,
    version: options.version,
    h1,
    requests,
    close: () => server.shutdown(),
  };
}

interface Key {
  privateKey: CryptoKey;
  hash: Uint8Array;
  vkey: string;
}

async function newKey(): Promise<Key> {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const key = new Uint8Array([1, ...pub]);
  const hash = createHash("sha256").update(NAME + "\n").update(key).digest().subarray(0, 4);
  return {
    privateKey: pair.privateKey,
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
