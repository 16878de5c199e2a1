/**
 * Where the go command keeps and gets checksum database data (its `dbClient` in
 * `modfetch/sumdb.go`): the latest signed tree head in `<sumdbDir>/<name>/latest`, checked
 * lookups and tiles under `$GOMODCACHE/cache/download/sumdb/<name>/`, all read and written
 * under `flock` with mode 0666 (less the umask) as `lockedfile` does, and the database
 * reached through the first proxy that supports it, else directly.
 *
 * @module
 */
import { userinfoAuthorization } from "../goproxy/netrc.ts";
import { dirname, join } from "node:path";
import { sameBytes } from "../util/bytes.ts";
import { lockedRead, lockedRewrite, mkdirAll } from "../util/files.ts";
import { type ProxyEntry, redactUrl, tryProxies } from "../goproxy/proxy_list.ts";
import { type SumDbOps, WriteConflictError } from "./sumdb_client.ts";

/** The database could not be reached, or the sumdb state could not be read. */
export class SumDbAccessError extends Error {
  /** `"SumDbAccessError"`. */
  override name = "SumDbAccessError";
}

/** What {@link sumDbStore} needs to find a database and its on-disk state. */
export interface SumDbStoreOptions {
  /** The database name. */
  name: string;
  /** The URL GOSUMDB gives, if any; else the proxies and then `https://<name>` are tried. */
  url?: string;
  /** The GOPROXY list, probed for `/sumdb/<name>/supported` when `url` is unset. */
  proxies: ProxyEntry[];
  /** GOMODCACHE, absolute: lookups and tiles go under `cache/download/sumdb`. */
  gomodcache: string;
  /** Go's `$GOPATH/pkg/sumdb` (first GOPATH entry), or "" when GOPATH is unset. */
  sumdbDir: string;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

interface Base {
  url: string;
  authorization?: (url: string) => string | undefined;
}

/**
 * The go command's sumdb operations over the file system and the network.
 *
 * @example
 * ```ts
 * const ops = sumDbStore({
 *   name: "sum.golang.org",
 *   proxies: parseProxyList("https://proxy.golang.org,direct", ""),
 *   gomodcache: "/home/me/go/pkg/mod",
 *   sumdbDir: "/home/me/go/pkg/sumdb",
 * });
 * ```
 */
export function sumDbStore(opts: SumDbStoreOptions): SumDbOps {
  let base: Promise<Base> | undefined;
  const cacheFile = (file: string) => join(opts.gomodcache, "cache", "download", "sumdb", file);
  const configFile = (file: string) => {
    if (opts.sumdbDir === "") {
      throw new SumDbAccessError("could not locate sumdb file: missing $GOPATH");
    }
    return join(opts.sumdbDir, file);
  };
  return {
    async readRemote(path) {
      base ??= findBase(opts);
      const { url, authorization } = await base;
      const target = url + path;
      const res = await get(target, authorization, opts.signal);
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new SumDbAccessError(`${redactUrl(target)}: ${res.status} ${res.statusText}`.trim());
      }
      return new Uint8Array(await res.arrayBuffer());
    },
    async readConfig(file) {
      try {
        return await lockedRead(configFile(file));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return new Uint8Array();
        throw e;
      }
    },
    async writeConfig(file, old, next) {
      const target = configFile(file);
      mkdirAll(dirname(target));
      await lockedRewrite(target, 0o666, (data) => {
        if (data.length > 0 && !sameBytes(data, old)) {
          throw new WriteConflictError("write conflict");
        }
        return next;
      });
    },
    async readCache(file) {
      const data = await lockedRead(cacheFile(file)).catch(() => undefined);
      return data?.length ? data : undefined;
    },
    async writeCache(file, data) {
      const target = cacheFile(file);
      try {
        mkdirAll(dirname(target));
        await lockedRewrite(target, 0o666, () => data);
      } catch {
        // As go's WriteCache: a cache that cannot be written is simply not kept.
      }
    },
  };
}

/**
 * Go's `initBase` over `TryProxies`: the first proxy answering 200 to
 * `/sumdb/<name>/supported` serves all sumdb traffic. Not-found answers (404, 410; `direct`,
 * `off` and `noproxy` count as such) move on, as any error does after a `|`; when only
 * not-found answers came, the database is reached directly at `https://<name>`. Otherwise
 * the most telling error is the result.
 */
async function findBase(opts: SumDbStoreOptions): Promise<Base> {
  if (opts.url !== undefined) return { url: opts.url };
  const attempt = async (entry: ProxyEntry): Promise<Base> => {
    if (entry.kind === "noproxy") throw new NotHereError("path does not match GOPRIVATE/GONOPROXY");
    if (entry.kind !== "url") throw new NotHereError("module lookup disabled by GOPROXY=off");
    const url = `${entry.url}/sumdb/${opts.name}`;
    let res: Response;
    try {
      res = await get(`${url}/supported`, entry.authorization, opts.signal);
    } catch (e) {
      if (!entry.url.startsWith("file:") || opts.signal?.aborted) throw e;
      throw new NotHereError((e as Error).message);
    }
    await res.body?.cancel();
    if (res.status === 200) return { url, authorization: entry.authorization };
    const error = `${redactUrl(`${url}/supported`)}: ${res.status} ${res.statusText}`.trim();
    throw res.status === 404 || res.status === 410
      ? new NotHereError(error)
      : new SumDbAccessError(error);
  };
  try {
    return await tryProxies(opts.proxies, attempt, {
      notFound: (e) => e instanceof NotHereError,
      fatal: () => opts.signal?.aborted ?? false,
    });
  } catch (e) {
    // As go's initBase: no proxy serves it (or "direct" came first), so go to the database itself.
    if (e === undefined || e instanceof NotHereError) return { url: `https://${opts.name}` };
    throw e;
  }
}

/** A proxy that does not serve the database (go's `fs.ErrNotExist`): the walk goes on past it. */
class NotHereError extends SumDbAccessError {
  override name = "NotHereError";
}

/**
 * A GET as go's web client makes it: user information in the URL becomes Basic credentials
 * (sent to that origin only), else the netrc ones apply; errors never show credentials.
 */
async function get(
  url: string,
  authorization: ((url: string) => string | undefined) | undefined,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const target = new URL(url);
  const basic = userinfoAuthorization(target);
  target.username = target.password = "";
  const auth = basic ?? authorization?.(target.href);
  try {
    return await fetch(target, { headers: auth ? { authorization: auth } : {}, signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    const cause = (e as Error).cause;
    const why = cause instanceof Error
      ? cause.message.replace(/^error sending request for url \(\S*\): /, "")
      : (e as Error).message;
    throw new SumDbAccessError(`${redactUrl(url)}: ${why}`);
  }
}
