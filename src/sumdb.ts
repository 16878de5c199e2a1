/**
 * Checksum database lookups, as go's `x/mod/sumdb` client makes them: GOSUMDB parsing,
 * finding the database through the proxies' `/sumdb/<name>/supported`, and checking the
 * signed tree note of a `/lookup` answer with the database's Ed25519 key.
 *
 * The signed tree head is checked; the record's inclusion in that tree (tiles) is not.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { escapePath, escapeVersion } from "./module_path.ts";
import type { ProxyEntry } from "./proxy_list.ts";

/** A lookup failed, or its answer could not be trusted. */
export class SumDbError extends Error {
  /** `"SumDbError"`. */
  override name = "SumDbError";
}

/** The public checksum database's verifier key, built into the go command. */
const SUM_GOLANG_ORG = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

/** A checksum database as GOSUMDB names it. */
export interface SumDb {
  /** The database name, as in its signatures. */
  name: string;
  /** Its verifier key, `name+hash+base64(0x01||pubkey)`. */
  key: string;
  /** The URL given in GOSUMDB, if any; else the proxies and then `https://<name>` are tried. */
  url?: string;
}

/**
 * Parses GOSUMDB (`name`, `name+key` or `name+key url`) as go's `dbDial` does, the public
 * database and its mirror getting the built-in key.
 *
 * @throws {SumDbError} when GOSUMDB is off, empty, or names an unknown database without a key.
 * @example
 * ```ts
 * import { parseGoSumDb } from "./sumdb.ts";
 * parseGoSumDb("sum.golang.org").name; // "sum.golang.org"
 * ```
 */
export function parseGoSumDb(gosumdb: string): SumDb {
  if (gosumdb === "off") throw new SumDbError("checksum database disabled by GOSUMDB=off");
  if (gosumdb === "sum.golang.google.cn") {
    return { name: "sum.golang.org", key: SUM_GOLANG_ORG, url: "https://sum.golang.google.cn" };
  }
  const fields = (gosumdb === "sum.golang.org" ? SUM_GOLANG_ORG : gosumdb).split(/\s+/)
    .filter((f) => f !== "");
  if (fields.length === 0) throw new SumDbError("missing GOSUMDB");
  if (fields.length > 2) throw new SumDbError(`invalid GOSUMDB: too many fields`);
  const key = fields[0];
  const name = key.split("+")[0];
  if (!key.includes("+")) throw new SumDbError(`invalid GOSUMDB: no key for database ${name}`);
  parseVerifierKey(key);
  return { name, key, url: fields[1]?.replace(/\/$/, "") };
}

/** A parsed verifier key. */
interface VerifierKey {
  name: string;
  hash: number;
  publicKey: Uint8Array<ArrayBuffer>;
}

function parseVerifierKey(vkey: string): VerifierKey {
  const bad = (why: string) => new SumDbError(`invalid GOSUMDB key ${vkey}: ${why}`);
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey);
  if (!m) throw bad("want name+hash+key");
  const [, name, hashHex, data] = m;
  const raw = new Uint8Array(Buffer.from(data, "base64"));
  if (raw.length !== 33 || raw[0] !== 1) throw bad("not an Ed25519 key");
  const hash = parseInt(hashHex, 16);
  if (keyHash(name, raw) !== hash) throw bad("hash does not match the key");
  return { name, hash, publicKey: raw.slice(1) };
}

function keyHash(name: string, algAndKey: Uint8Array): number {
  const digest = createHash("sha256").update(name + "\n").update(algAndKey).digest();
  return digest.readUInt32BE(0);
}

/**
 * Checks a signed note (text, blank line, `— name base64(keyhash||sig)` lines) for a valid
 * signature by `key`, as `note.Open` does, and returns its text.
 *
 * @throws {SumDbError} when the note is malformed or carries no valid signature by `key`.
 */
export async function openNote(note: string, key: string): Promise<string> {
  const k = parseVerifierKey(key);
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new SumDbError("malformed signed note");
  const text = note.slice(0, split + 1);
  const publicKey = await crypto.subtle.importKey("raw", k.publicKey, "Ed25519", false, [
    "verify",
  ]);
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new SumDbError(`malformed signature line in signed note: ${line}`);
    const sig = new Uint8Array(Buffer.from(m[2], "base64"));
    if (m[1] !== k.name || sig.length !== 68) continue;
    if (new DataView(sig.buffer).getUint32(0) !== k.hash) continue;
    const ok = await crypto.subtle.verify(
      "Ed25519",
      publicKey,
      sig.subarray(4),
      new TextEncoder().encode(text),
    );
    if (!ok) throw new SumDbError(`invalid signature by ${k.name} on the signed tree note`);
    return text;
  }
  throw new SumDbError(`signed tree note has no signature by ${k.name}`);
}

/** How {@link lookupSumDb} reaches the database. */
export interface LookupOptions {
  /** The database. */
  db: SumDb;
  /** The GOPROXY list, tried for `/sumdb/<name>/supported` when `db.url` is unset. */
  proxies: ProxyEntry[];
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/**
 * Looks `path@version` up in the checksum database and returns the hashes its record holds
 * for the zip, after checking the signature on the tree note that comes with it.
 *
 * @throws {SumDbError} naming the module when the lookup fails or cannot be trusted.
 * @example
 * ```ts
 * const db = parseGoSumDb("sum.golang.org");
 * const hashes = await lookupSumDb("golang.org/toolchain", "v0.0.1-go1.22.3.linux-amd64", {
 *   db,
 *   proxies: parseProxyList("https://proxy.golang.org", ""),
 * });
 * ```
 */
export async function lookupSumDb(
  path: string,
  version: string,
  opts: LookupOptions,
): Promise<string[]> {
  const id = `${path}@${version}`;
  try {
    const base = await findBase(opts);
    const url = `${base.url}/lookup/${escapePath(path)}@${escapeVersion(version)}`;
    const res = await get(url, base.authorization, opts.signal);
    if (res.status !== 200) {
      throw new SumDbError(`${url}: ${res.status} ${res.statusText}`.trim());
    }
    const answer = await res.text();
    const first = answer.indexOf("\n");
    const blank = answer.indexOf("\n\n", first);
    if (first < 0 || !/^\d+$/.test(answer.slice(0, first)) || blank < 0) {
      throw new SumDbError("malformed lookup answer");
    }
    await openNote(answer.slice(blank + 2), opts.db.key);
    const hashes = answer.slice(first + 1, blank + 1).split("\n")
      .map((line) => line.split(" "))
      .filter((f) => f.length === 3 && f[0] === path && f[1] === version)
      .map((f) => f[2]);
    if (hashes.length === 0) throw new SumDbError("checksum missing from sumdb response");
    return hashes;
  } catch (e) {
    if (!(e instanceof SumDbError)) throw e;
    throw new SumDbError(`${id}: verifying module: ${opts.db.name}: ${e.message}`);
  }
}

interface Base {
  url: string;
  authorization?: (url: string) => string | undefined;
}

/** Go's `initBase`: the first proxy that supports the database, else the database itself. */
async function findBase(opts: LookupOptions): Promise<Base> {
  if (opts.db.url) return { url: opts.db.url };
  for (const entry of opts.proxies) {
    if (entry.kind !== "url") continue;
    const url = `${entry.url}/sumdb/${opts.db.name}`;
    const res = await get(`${url}/supported`, entry.authorization, opts.signal).catch((e) => {
      if (opts.signal?.aborted || !entry.url.startsWith("file:")) throw e;
      return undefined;
    });
    await res?.body?.cancel();
    if (res?.status === 200) return { url, authorization: entry.authorization };
    if (res && res.status !== 404 && res.status !== 410 && !entry.fallBackOnError) {
      throw new SumDbError(`${url}/supported: ${res.status} ${res.statusText}`.trim());
    }
  }
  return { url: `https://${opts.db.name}` };
}

function get(
  url: string,
  authorization: ((url: string) => string | undefined) | undefined,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const auth = authorization?.(url);
  return fetch(url, { headers: auth ? { authorization: auth } : {}, signal });
}
