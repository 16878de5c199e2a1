/**
 * Checksum database lookups as the go command makes them (`modfetch/sumdb.go`): when the
 * database is consulted, GOSUMDB parsing (`dbDial`), and a lookup through
 * {@link SumDbClient} over go's own on-disk sumdb state, so that what it checks and writes
 * is what the go command would check and write.
 *
 * @module
 */
import { matchPrefixPatterns } from "../module/module_path.ts";
import type { ProxyEntry } from "../goproxy/proxy_list.ts";
import { parseVerifierKey } from "./signed_note.ts";
import { SumDbClient } from "./sumdb_client.ts";
import { sumDbStore } from "./sumdb_store.ts";

/** GOSUMDB names no usable database, or a lookup failed or could not be trusted. */
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
  if (gosumdb === "sum.golang.google.cn") gosumdb = "sum.golang.org https://sum.golang.google.cn";
  if (gosumdb === "off") throw new SumDbError("checksum database disabled by GOSUMDB=off");
  const fields = gosumdb.split(/\s+/).filter((f) => f !== "");
  if (fields[0] === "sum.golang.org") fields[0] = SUM_GOLANG_ORG;
  if (fields.length === 0) throw new SumDbError("missing GOSUMDB");
  if (fields.length > 2) throw new SumDbError("invalid GOSUMDB: too many fields");
  const key = fields[0];
  let name: string;
  try {
    name = parseVerifierKey(key).name;
  } catch (e) {
    throw new SumDbError(`invalid GOSUMDB: ${(e as Error).message}`);
  }
  if (!/^[^/?#@\s\\%]+(\/[^?#\s\\%]*)?$/.test(name) || name.endsWith("/")) {
    throw new SumDbError(`invalid sumdb name (must be host[/path]): ${name}`);
  }
  const url = fields[1];
  if (url !== undefined && !URL.canParse(url)) throw new SumDbError("invalid GOSUMDB URL");
  return { name, key, url: url?.replace(/\/$/, "") };
}

/** The settings {@link useSumDb} reads. */
export interface SumDbSettings {
  /** GOSUMDB. */
  gosumdb: string;
  /** GONOSUMDB (defaulting to GOPRIVATE). */
  gonosumdb: string;
  /** GOPROXY as in effect. */
  goproxy: string;
  /** GIT_HTTP_USER_AGENT from the environment. */
  gitHttpUserAgent?: string;
}

/**
 * Whether the go command checks `path` against the checksum database (go's `useSumDB`):
 * unless GOSUMDB is off or GONOSUMDB matches; but always for `golang.org/toolchain`, which
 * no go.sum lists, except when GOPROXY is a single `file://` URL (testing a distpack) or
 * GIT_HTTP_USER_AGENT names proxy.golang.org (the proxy fetching it for itself).
 *
 * @example
 * ```ts
 * import { useSumDb } from "./sumdb.ts";
 * useSumDb("golang.org/toolchain", { gosumdb: "off", gonosumdb: "", goproxy: "https://proxy.golang.org" });
 * // true: the lookup then fails with "checksum database disabled by GOSUMDB=off"
 * ```
 */
export function useSumDb(path: string, settings: SumDbSettings): boolean {
  if (
    path === "golang.org/toolchain" &&
    !(settings.goproxy.startsWith("file://") && !/[,|]/.test(settings.goproxy)) &&
    !(settings.gitHttpUserAgent ?? "").includes("proxy.golang.org")
  ) {
    return true;
  }
  return settings.gosumdb !== "off" && !matchPrefixPatterns(settings.gonosumdb, path);
}

/** How {@link lookupSumDb} reaches the database and where go keeps its state. */
export interface LookupOptions {
  /** The database. */
  db: SumDb;
  /** The GOPROXY list, tried for `/sumdb/<name>/supported` when `db.url` is unset. */
  proxies: ProxyEntry[];
  /** GOMODCACHE, absolute: checked lookups and tiles are cached under `cache/download/sumdb`. */
  gomodcache: string;
  /** Go's `$GOPATH/pkg/sumdb` (first GOPATH entry), where the latest tree head is kept. */
  sumdbDir: string;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/**
 * Looks `path@version` up in the checksum database as the go command does and returns the
 * h1 hashes its record holds for the zip. The record, the tiles proving it and a newer
 * tree head are written to go's sumdb state, so a later lookup (by goprefetch or go) needs no
 * network; one go has cached already is answered from the cache.
 *
 * @throws {SumDbError} naming the database when the lookup fails, cannot be trusted, or the
 * record has no hash for the zip (the caller names the module).
 * @example
 * ```ts
 * const hashes = await lookupSumDb("golang.org/toolchain", "v0.0.1-go1.22.3.linux-amd64", {
 *   db: parseGoSumDb("sum.golang.org"),
 *   proxies: parseProxyList("https://proxy.golang.org", ""),
 *   gomodcache: "/home/me/go/pkg/mod",
 *   sumdbDir: "/home/me/go/pkg/sumdb",
 * });
 * ```
 */
export async function lookupSumDb(
  path: string,
  version: string,
  opts: LookupOptions,
): Promise<string[]> {
  const store = sumDbStore({ ...opts, name: opts.db.name, url: opts.db.url });
  try {
    const lines = await new SumDbClient(opts.db.key, store).lookup(path, version);
    const hashes = lines.map((line) => line.split(" ")[2]).filter((h) => h?.startsWith("h1:"));
    if (hashes.length === 0) throw new SumDbError("checksum missing from sumdb response");
    return hashes;
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new SumDbError(`verifying module: ${opts.db.name}: ${(e as Error).message}`);
  }
}
