/**
 * The GOPROXY protocol client: walks the proxy list with go's fallback rules
 * (`,` only past 404/410, `|` past any error), speaks HTTP(S) and `file://`, retries
 * transient failures with backoff, watches every body for stalls, and keeps zip bodies
 * in memory only within a byte budget, spilling the rest to a temp file.
 *
 * Connections are few and per origin (a proxy, or a host it redirects to). A client that may
 * speak HTTP/1.1 learns only from ALPN that a connection can be shared, so Deno's fetch would
 * open a connection for every request that starts before the first TLS handshake ends, and
 * again each time the server ends the connection (a GOAWAY, which front ends send after so
 * many requests). So the first request to an origin opens its connection and the others wait
 * for its response headers, then share it; and a probe connection made beside the first
 * request asks ALPN. When it says HTTP/2, the requests move to an HTTP/2-only client, which
 * Deno's fetch connects once for all the requests waiting, at the start and after a GOAWAY.
 * When it says HTTP/1.1 (or the origin is plain `http:`), the origin gets lanes instead: one
 * client per connection, one request at a time on each, at most one lane per request in
 * flight. Lanes open once the first response has come, or as soon as the probe says HTTP/1.1,
 * which shows the origin reachable. Sharing one client's pool would let Deno's fetch start a
 * connection for every request that finds no idle one, and keep the connections it no longer
 * needs. A connection that fails at the transport level is retired and replaced, at most
 * {@link MAX_CONNECTIONS} per HTTP/2 origin per run. An origin that cannot be connected to (a
 * name that does not resolve, a certificate error, a blocked port; or a refused connection, past
 * the retries) is unreachable for the rest of the run: {@link UnreachableError}.
 *
 * @module
 */
import { ByteBody } from "./byte_body.ts";
import { userinfoAuthorization } from "./netrc.ts";
import { removeFile, writeAll } from "../util/files.ts";
import { LanePace } from "./lane_pace.ts";
import { escapePath, escapeVersion } from "../module/module_path.ts";
import {
  defaultPort,
  firstKind,
  hostPort,
  type ProxyEntry,
  redactUrl,
  tryProxies,
} from "./proxy_list.ts";
import { type MemoryBudget, Semaphore } from "../util/semaphore.ts";
import { MAX_ZIP_FILE } from "../zip/zip_rules.ts";

/** The proxy has no such file (404, 410, a missing `file://` file, or `GOPROXY=off`). */
export class NotExistError extends Error {
  override name = "NotExistError";
}

/** The proxy list reached `direct`: go would fetch this module from version control. */
export class LeftToGoError extends Error {
  override name = "LeftToGoError";
}

/**
 * The failure is on this machine, not at the proxy: a Deno permission the run lacks (for a
 * host a proxy redirected to), or a file system error writing a body to its temp file. It is
 * neither retried nor tried on another proxy.
 */
export class LocalError extends Error {
  override name = "LocalError";
}

/** A proxy answered with an error, or the transfer failed. */
export class ProxyError extends Error {
  override name = "ProxyError";
  /** Whether trying again may succeed. */
  readonly transient: boolean;
  /** Seconds the server asked us to wait, from Retry-After. */
  readonly retryAfter?: number;

  /** Creates the error. */
  constructor(
    message: string,
    opts: { transient: boolean; retryAfter?: number },
  ) {
    super(message);
    this.transient = opts.transient;
    this.retryAfter = opts.retryAfter;
  }
}

/**
 * A proxy that cannot be reached for the rest of the run: its name does not resolve, its
 * certificate is not trusted, its TLS handshake fails, Deno's fetch blocks its port, or it
 * refused connections past the retries. The message names the proxy, the cause and what to
 * check, and does not name a module: it is the run's failure, not one module's.
 */
export class UnreachableError extends ProxyError {
  override name = "UnreachableError";
  /** The origin that could not be connected to: the proxy's, or a host it redirected to. */
  readonly origin: string;
  /** Why, e.g. `lookup nonexistent.invalid: no such host`. */
  readonly reason: string;
  /** What to check. */
  readonly hint: string;

  /** Creates the error; `proxy` is the GOPROXY entry it was reached through, if known. */
  constructor(origin: string, reason: string, hint: string, proxy?: string) {
    const via = proxy === undefined || proxy.startsWith(origin) ? "" : ` (redirected to ${origin})`;
    super(`proxy ${proxy ?? origin} unreachable${via}: ${reason}; ${hint}`, { transient: false });
    this.origin = origin;
    this.reason = reason;
    this.hint = hint;
  }
}

/** A zip body: in memory (holding `reserved` bytes of the budget) or in a temp file. */
export type ZipBody =
  | { kind: "bytes"; bytes: Uint8Array; reserved: number }
  | { kind: "tempFile"; file: string; size: number };

/** A successful fetch: the body, the proxy that served it, and how many retries it took. */
export interface Fetched<T> {
  /** The body. */
  body: T;
  /** The proxy's base URL, with any credentials removed. */
  proxy: string;
  /** Retries spent over all proxies tried. */
  retries: number;
}

/** Settings of a {@link ProxyClient}. */
export interface ProxyClientOptions {
  /** The parsed GOPROXY list. */
  entries: ProxyEntry[];
  /** Requests in flight at most. */
  concurrency: number;
  /** Retries of a transient failure, per request. */
  retries: number;
  /** Abort a body that delivers no byte for this long, and retry. */
  stallTimeoutMs: number;
  /**
   * The deadline of one attempt (connecting, headers and the whole body), after which it is
   * aborted and retried: each retry has a deadline of its own.
   */
  requestTimeoutMs: number;
  /** Bytes of zip bodies that may be held in memory. */
  budget: MemoryBudget;
  /** The process umask: a zip's temp file, renamed to `<version>.zip` later, gets 0666 less it. */
  umask: number;
  /** Cancels everything. */
  signal: AbortSignal;
  /** Called with each chunk's size as bodies arrive. */
  onBytes?: (n: number) => void;
}

type UrlEntry = Extract<ProxyEntry, { kind: "url" }>;

type BodyReader<T> = (body: ByteBody, length: number | undefined) => Promise<T>;

/** One call's place in the queue for a request slot, and what stops it. */
interface Call {
  priority: number;
  signal: AbortSignal;
}

/** An HTTP client and the attempts using it; a retired one is closed when the last is done. */
interface Connection {
  client: Deno.HttpClient;
  /** Whether the client speaks only HTTP/2, so Deno's fetch never races to connect it. */
  http2Only: boolean;
  /**
   * Whether it is an HTTP/2-only connection opened before the probe answered, on the chance that
   * the origin speaks HTTP/2 (see {@link Origin}).
   */
  speculative: boolean;
  users: number;
  retired: boolean;
  /** Whether a response's headers came through it: requests may then share it. */
  open: boolean;
  /** When its opening began (`performance.now()`): made, or leased again after a failure. */
  openingSince: number;
  /** When the request using it, open, began; undefined while no request uses it. */
  busySince?: number;
}

/**
 * HTTP/2 connections one origin gets per run at most: the first, the HTTP/2-only one that
 * replaces it once ALPN has said HTTP/2 (the speculative one counts only if it is kept), and
 * replacements for connections that failed. Past that a failed connection stays in use, and
 * Deno's fetch reconnects it if it was closed.
 */
const MAX_CONNECTIONS = 4;

/**
 * Lanes of an HTTP/1.1 origin being opened at once, at most: the request that opens one waits
 * for its connection, while the others wait for the first lane to come free. Whether a lane
 * is worth opening at all is {@link LanePace}'s call.
 */
const MAX_OPENING = 16;

/** How long the ALPN probe of an https origin may take before the origin is taken as HTTP/2. */
const PROBE_TIMEOUT_MS = 10_000;

const MAX_REDIRECTS = 10;

/** go's `codehost.MaxGoMod`: the largest `.mod` (and here `.info`) accepted. */
const MAX_SMALL_FILE = 16 << 20;

/**
 * Which waiting request gets a free slot first: zips, the long pole of a run; then a module's
 * `.mod` and `.info`, which its install and record wait for; then background requests, such as
 * the build list's `.info` files, which nothing waits for.
 */
const PRIORITY = { zip: 0, module: 1, background: 2 } as const;

/** Fetches `.info`, `.mod` and `.zip` files through the GOPROXY list. */
export class ProxyClient {
  #opts: ProxyClientOptions;
  #requests: Semaphore;
  #origins = new Map<string, Origin>();

  /** Creates a client. */
  constructor(opts: ProxyClientOptions) {
    this.#opts = opts;
    this.#requests = new Semaphore(opts.concurrency);
  }

  /**
   * Fetches a small file (`info` or `mod`) into memory; a `background` request waits for a
   * free slot behind every other. `signal` stops this request besides the client's own.
   */
  fetchSmall(
    path: string,
    version: string,
    ext: "info" | "mod",
    options: { background?: boolean; signal?: AbortSignal } = {},
  ): Promise<Fetched<Uint8Array>> {
    const priority = options.background ? PRIORITY.background : PRIORITY.module;
    return this.#tryProxies(path, version, ext, this.#call(priority, options.signal), readSmall);
  }

  /**
   * Fetches a zip, refusing more than go's 500 MiB limit. `tempFile()` names the file a body
   * goes to when it does not fit the memory budget, its length is not known, or `toFile` asks
   * for a file. `signal` stops this request besides the client's own.
   */
  fetchZip(
    path: string,
    version: string,
    tempFile: () => string,
    options: { signal?: AbortSignal; toFile?: boolean } = {},
  ): Promise<Fetched<ZipBody>> {
    return this.#tryProxies(
      path,
      version,
      "zip",
      this.#call(PRIORITY.zip, options.signal),
      (body, length) => this.#readZip(body, length, tempFile, options.toFile ?? false),
    );
  }

  #call(priority: number, signal: AbortSignal | undefined): Call {
    return {
      priority,
      signal: signal ? AbortSignal.any([this.#opts.signal, signal]) : this.#opts.signal,
    };
  }

  /** Releases what a zip body holds: its budget bytes or its temp file. */
  discard(body: ZipBody): void {
    if (body.kind === "bytes") this.#opts.budget.give(body.reserved);
    else removeFile(body.file);
  }

  /** Closes the HTTP clients once the requests using them are done. */
  close(): void {
    for (const origin of this.#origins.values()) origin.close();
  }

  /**
   * The proxies found unreachable so far, one error each: a run whose GOPROXY went past them
   * (`|`) warns of them, since every request to them failed.
   */
  unreachable(): UnreachableError[] {
    return [...this.#origins.values()].flatMap((o) => o.failure ? [o.failure] : []);
  }

  /** The origin of `url`, reached at redirect `hop` (0 for a proxy of GOPROXY). */
  #origin(url: URL, hop: number): Origin {
    let origin = this.#origins.get(url.origin);
    if (!origin) {
      origin = new Origin(url, this.#opts.retries, this.#opts.concurrency, hop === 0);
      this.#origins.set(url.origin, origin);
    }
    return origin;
  }

  async #tryProxies<T>(
    path: string,
    version: string,
    ext: string,
    call: Call,
    read: BodyReader<T>,
  ): Promise<Fetched<T>> {
    const rel = `${escapePath(path)}/@v/${escapeVersion(version)}.${ext}`;
    let retries = 0;
    const attempt = async (entry: ProxyEntry): Promise<Fetched<T>> => {
      if (entry.kind !== "url") throw endOfList(entry.kind === "off" ? "off" : "direct");
      const base = redactUrl(entry.url);
      try {
        const r = entry.url.startsWith("file:")
          ? await this.#readFileProxy(entry.url, rel, read, call.priority)
          : await this.#getWithRetries(entry, rel, read, call);
        return { body: r.body, proxy: base, retries: retries + r.retries };
      } catch (e) {
        if (call.signal.aborted || e instanceof LocalError) throw e;
        const err = e as Error & { retries?: number };
        retries += err.retries ?? 0;
        if (err instanceof UnreachableError) {
          throw new UnreachableError(err.origin, err.reason, err.hint, base);
        }
        const Kind = err instanceof NotExistError ? NotExistError : ProxyError;
        throw new Kind(`${base}: ${err.message}`, { transient: false });
      }
    };
    const entries = this.#opts.entries.filter((e) => e.kind !== "noproxy");
    try {
      return await tryProxies(entries, attempt, {
        notFound: (e) => e instanceof NotExistError,
        fatal: (e) => call.signal.aborted || e instanceof LocalError,
      });
    } catch (e) {
      throw e ?? new NotExistError("no proxy in GOPROXY has it");
    }
  }

  async #readFileProxy<T>(
    base: string,
    rel: string,
    read: BodyReader<T>,
    priority: number,
  ): Promise<{ body: T; retries: number }> {
    const file = decodeURIComponent(new URL(base).pathname).replace(/\/$/, "") + "/" + rel;
    return await this.#requests.run(async () => {
      let f: Deno.FsFile;
      try {
        f = Deno.openSync(file, { read: true });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) throw new NotExistError(`404 Not Found: ${file}`);
        if (e instanceof Deno.errors.PermissionDenied) {
          throw new ProxyError(`403 Forbidden: ${file}`, { transient: false });
        }
        throw e;
      }
      const size = f.statSync().size;
      return { body: await read(new ByteBody(f.readable), size), retries: 0 };
    }, priority);
  }

  /** With `|` after the entry, the next proxy is the retry: go falls through at once. */
  async #getWithRetries<T>(
    entry: UrlEntry,
    rel: string,
    read: BodyReader<T>,
    call: Call,
  ): Promise<{ body: T; retries: number }> {
    const maxRetries = entry.fallBackOnError ? 0 : this.#opts.retries;
    const url = entry.url + "/" + goPathEscape(rel);
    const auth = entry.authorization?.(url);
    for (let attempt = 0;; attempt++) {
      try {
        const body = await this.#requests.run(
          () => this.#attempt(url, read, call.signal, auth),
          call.priority,
        );
        return { body, retries: attempt };
      } catch (e) {
        if (call.signal.aborted) throw e;
        if (e instanceof UnreachableError) throw e;
        const transient = e instanceof ProxyError && e.transient;
        if (!transient || attempt >= maxRetries) {
          if (transient && attempt > 0) {
            (e as Error).message += ` (gave up after ${attempt} retries)`;
          }
          throw Object.assign(e as Error, { retries: attempt });
        }
        await sleep(backoffMs(attempt, (e as ProxyError).retryAfter), call.signal);
      }
    }
  }

  /**
   * One request, through the connection of each origin it goes to. A transport failure (a
   * stall, the deadline, a reset) retires the connection it happened on, so that later
   * requests and this one's retry do not wait out a dead connection. The stall watchdog runs
   * from the start, covering the wait for a connection (or an HTTP/1.1 lane), and restarts
   * once one is obtained, covering the headers and every gap between body chunks. An origin
   * found unreachable cuts the attempts using it short.
   */
  async #attempt<T>(
    url: string,
    read: BodyReader<T>,
    stop: AbortSignal,
    authorization?: string,
  ): Promise<T> {
    const watchdog = new Watchdog(this.#opts.stallTimeoutMs, this.#opts.requestTimeoutMs);
    const cut = new AbortController();
    const signal = AbortSignal.any([
      stop,
      watchdog.signal,
      cut.signal,
    ]);
    const leases: Lease[] = [];
    const use = async (target: URL, hop: number) => {
      const lease = await this.#origin(target, hop).acquire(signal, () => cut.abort());
      watchdog.feed();
      leases.push(lease);
      return lease;
    };
    try {
      const res = await this.#follow(url, signal, watchdog, use, authorization);
      const length = res.headers.has("content-encoding")
        ? undefined
        : numberOrUndefined(res.headers.get("content-length"));
      const onBytes = this.#opts.onBytes;
      const feed = (n: number) => {
        watchdog.feed();
        onBytes?.(n);
      };
      return await read(new ByteBody(res.body, feed, signal), length);
    } catch (e) {
      const failed = leases.find((l) => l.origin.failure);
      if (failed && !stop.aborted) throw failed.origin.failure;
      const transport = !(e instanceof ProxyError || e instanceof NotExistError ||
        e instanceof LocalError);
      if (transport && !stop.aborted) leases.at(-1)?.failed();
      throw classify(e, watchdog, stop);
    } finally {
      watchdog.stop();
      for (const lease of leases) lease.release();
    }
  }

  async #follow(
    url: string,
    signal: AbortSignal,
    watchdog: Watchdog,
    use: (origin: URL, hop: number) => Promise<Lease>,
    authorization?: string,
  ): Promise<Response> {
    let current = new URL(url);
    const auth = userinfoAuthorization(current) ?? authorization;
    const origin = current.origin;
    current.username = current.password = "";
    for (let hop = 0;; hop++) {
      const headers = new Headers();
      if (auth && current.origin === origin) headers.set("authorization", auth);
      requireNet(current, hop);
      const { res, lease } = await send(
        current,
        { headers, signal, redirect: "manual" },
        () => use(current, hop),
      );
      watchdog.headersArrived();
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        lease.release();
        const next = new URL(res.headers.get("location")!, current);
        if (hop >= MAX_REDIRECTS) {
          throw new ProxyError("stopped after 10 redirects", { transient: false });
        }
        if (current.protocol === "https:" && next.protocol !== "https:") {
          throw new ProxyError(`redirect to ${redactUrl(next.href)} refused: not https`, {
            transient: false,
          });
        }
        current = next;
        continue;
      }
      if (res.status === 200) return res;
      const text = await errorText(res);
      const message = `${res.status} ${res.statusText}${text ? ": " + text : ""}`;
      if (res.status === 404 || res.status === 410) throw new NotExistError(message);
      const transient = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new ProxyError(message, {
        transient,
        retryAfter: retryAfterSeconds(res.headers.get("retry-after")),
      });
    }
  }

  async #readZip(
    body: ByteBody,
    length: number | undefined,
    tempFile: () => string,
    toFile: boolean,
  ): Promise<ZipBody> {
    if (length !== undefined && length > MAX_ZIP_FILE) {
      await body.cancel();
      throw zipTooLarge();
    }
    const budget = this.#opts.budget;
    if (length !== undefined && !toFile && budget.tryTake(length)) {
      try {
        return { kind: "bytes", bytes: await readExactly(body, length), reserved: length };
      } catch (e) {
        budget.give(length);
        throw e;
      }
    }
    const fileName = tempFile();
    const mode = 0o666 & ~this.#opts.umask;
    const file = writing(
      fileName,
      () => Deno.openSync(fileName, { write: true, createNew: true, mode }),
    );
    let size = 0;
    try {
      await body.forEach((bytes) => {
        size += bytes.length;
        if (size > MAX_ZIP_FILE) throw zipTooLarge();
        writing(fileName, () => writeAll(file, bytes));
      });
      if (length !== undefined && size !== length) throw lengthMismatch(size, length);
    } catch (e) {
      file.close();
      removeFile(fileName);
      throw e;
    }
    file.close();
    return { kind: "tempFile", file: fileName, size };
  }
}

/**
 * Sends a request to `url` on a lease from `lease()`, and tells the lease how it went. A request
 * whose connection failed only for being HTTP/2-only ({@link Lease.unanswered}) goes again at
 * once, on the connection the origin now gives it.
 */
async function send(
  url: URL,
  init: RequestInit,
  lease: () => Promise<Lease>,
): Promise<{ res: Response; lease: Lease }> {
  for (;;) {
    const held = await lease();
    try {
      const res = await fetch(url, { ...init, client: held.client });
      held.answered();
      return { res, lease: held };
    } catch (e) {
      if (init.signal?.aborted) throw e;
      const failure = connectFailure(e, url);
      if (!held.unanswered(failure)) {
        if (!failure) throw e;
        throw held.origin.failure ??
          new ProxyError(failure.cause, { transient: !failure.permanent });
      }
    }
    held.release();
  }
}

/**
 * Reads a `.mod` or `.info` body, of at most go's 16 MiB go.mod limit: in place into one
 * buffer when its length is known, else through a small scratch buffer into a growing one.
 */
async function readSmall(body: ByteBody, length: number | undefined): Promise<Uint8Array> {
  const tooLarge = () =>
    new ProxyError(`response larger than ${MAX_SMALL_FILE} bytes`, { transient: false });
  if (length !== undefined) {
    if (length > MAX_SMALL_FILE) {
      await body.cancel();
      throw tooLarge();
    }
    return await readExactly(body, length);
  }
  let out = new Uint8Array(4096);
  let size = 0;
  await body.forEach((bytes) => {
    if (size + bytes.length > MAX_SMALL_FILE) throw tooLarge();
    if (size + bytes.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, size + bytes.length));
      grown.set(out.subarray(0, size));
      out = grown;
    }
    out.set(bytes, size);
    size += bytes.length;
  }, 16 * 1024);
  return out.slice(0, size);
}

/** Reads a body of `length` bytes into one buffer of that size, read into in place. */
async function readExactly(body: ByteBody, length: number): Promise<Uint8Array> {
  let buffer = new ArrayBuffer(length);
  for (let size = 0; size < length;) {
    const got = await body.read(new Uint8Array(buffer, size, length - size));
    if (!got) throw lengthMismatch(size, length);
    size += got.length;
    buffer = got.buffer as ArrayBuffer;
  }
  if (await body.read(new Uint8Array(1))) throw lengthMismatch(length + 1, length);
  return new Uint8Array(buffer);
}

function zipTooLarge(): ProxyError {
  return new ProxyError(
    `the zip is larger than ${MAX_ZIP_FILE / 2 ** 20} MiB, go's limit for a module zip`,
    { transient: false },
  );
}

/**
 * Runs one file system step of writing `file`; its failure (a full disk, a read-only file
 * system, a missing directory) is a {@link LocalError} naming the problem and the file.
 */
function writing<T>(file: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    const reason = (e as Error).message.replace(/ \(os error \d+\).*$/s, "");
    throw new LocalError(`${reason.charAt(0).toLowerCase()}${reason.slice(1)} writing ${file}`);
  }
}

/** A request's use of one origin's connection, from {@link Origin.acquire}. */
interface Lease {
  origin: Origin;
  client: Deno.HttpClient;
  /** Reports that the request's response headers came. */
  answered(): void;
  /**
   * Reports that the request failed before its response headers, with `failure` when it could
   * not connect. Returns whether the connection only failed for being HTTP/2-only, before any
   * such connection of the origin answered (see {@link Origin}): the failure is not the
   * origin's, and the request should go again. Only the first report counts; releasing a lease
   * that has none settles it as neither.
   */
  unanswered(failure?: ConnectFailure): boolean;
  /**
   * The request failed at the transport level, or stalled: the connection is retired, and if it
   * was an HTTP/2-only one before any answered, the origin negotiates again (see
   * {@link unanswered}).
   */
  failed(): void;
  /** The request is done with the connection. */
  release(): void;
}

/**
 * The connections of one origin. The first request opens a connection, and the others wait
 * until its response headers arrive (then share it, or, on an HTTP/1.1 origin, use it as the
 * first lane), the probe finds an https origin HTTP/1.1 (then they open lanes) or HTTP/2 (then
 * they all go at once on an HTTP/2-only connection, and the first request's connection is
 * retired), or it fails (then the next one opens it). On a proxy of GOPROXY, the second request
 * does not wait: it opens an HTTP/2-only connection at once, on the chance that the probe says
 * HTTP/2, when the others go on it, already open, a connect's round trips sooner; otherwise it
 * is retired, and a request that failed on it goes again. The probe may reach another server than
 * fetch does (through a forward proxy, or behind a balancer), so an HTTP/2-only connection that
 * fails before any response sends the origin back to the client that negotiates, for the rest
 * of the run. Connect failures in a row back off as retries do, with one request at a time
 * trying to connect, and make the origin unreachable when they are permanent or outlast the
 * retries.
 */
class Origin {
  readonly name: string;
  failure: UnreachableError | undefined;
  #retries: number;
  #current: Connection | undefined;
  #made = 0;
  #opening = false;
  #wake = new Set<() => void>();
  #onFail = new Set<() => void>();
  #connectFailures = 0;
  /** When the last connect failure that counted was heard. */
  #lastFailureAt = -Infinity;
  #retryAt = 0;
  /** Whether the origin speaks HTTP/1.1 only; undefined until known. */
  #http1: boolean | undefined;
  /**
   * How the HTTP/2-only connections fared: none has answered yet, one has (the server that fetch
   * reaches speaks HTTP/2), or one failed before any had answered.
   */
  #http2: "untried" | "answered" | "refused" = "untried";
  /** Whether a speculative connection may still be opened: a proxy of GOPROXY, not probed yet. */
  #mayOpenSpeculative: boolean;
  /** The speculative connection, until the probe answers. */
  #speculative: Connection | undefined;
  /** On an HTTP/1.1 origin, one connection each, one request at a time on each. */
  #lanes: Connection[] = [];
  #maxLanes: number;
  #pace = new LanePace();
  #probe = new AbortController();

  constructor(url: URL, retries: number, maxLanes: number, speculate: boolean) {
    this.name = url.origin;
    this.#retries = retries;
    this.#maxLanes = maxLanes;
    this.#mayOpenSpeculative = speculate && url.protocol === "https:";
    if (url.protocol === "http:") this.#http1 = true;
    else {
      speaksHttp1Only(url, this.#probe.signal).then(
        (h1) => this.#probeAnswered(h1),
        () => this.#probeAnswered(undefined),
      );
    }
  }

  /**
   * Takes the probe's answer (undefined when it failed): on HTTP/2, the speculative connection
   * (or a new HTTP/2-only one, if it failed) takes the place of the first request's; otherwise
   * the speculative connection is retired.
   */
  #probeAnswered(h1: boolean | undefined): void {
    const speculative = this.#speculative;
    this.#speculative = undefined;
    this.#mayOpenSpeculative = false;
    this.#http1 = h1;
    if (h1 === false && this.#current) this.#retire(this.#current, true);
    if (h1 === false && speculative && !speculative.retired) {
      speculative.speculative = false;
      this.#made++;
      this.#current = speculative;
    } else if (speculative) this.#retire(speculative, true);
    this.#wakeAll();
  }

  /** A lease on the connection, once one may be used; `onFail` runs if the origin fails meanwhile. */
  async acquire(signal: AbortSignal, onFail: () => void): Promise<Lease> {
    let wake = () => {};
    const onAbort = () => wake();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#acquireLoop(signal, onFail, () =>
        new Promise<void>((resolve) => {
          const done = () => {
            this.#wake.delete(done);
            resolve();
          };
          wake = done;
          this.#wake.add(done);
        }));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The body of {@link acquire}; `wait` resolves at the origin's next change or at `signal`'s
   * abort. One abort listener serves every wait: with a hundred requests waiting for lanes,
   * each change wakes them all, and a listener added and removed per wake was most of the cost.
   */
  async #acquireLoop(
    signal: AbortSignal,
    onFail: () => void,
    wait: () => Promise<void>,
  ): Promise<Lease> {
    for (;;) {
      if (this.failure) throw this.failure;
      signal.throwIfAborted();
      if (this.#http1 && (this.#lanes.length > 0 || this.#current?.open || this.#probed)) {
        if (this.#lanes.length === 0 && this.#current) this.#lanes.push(this.#current);
        const open = this.#lanes.find((lane) => lane.users === 0 && lane.open);
        if (open) return this.#lease(open, false, onFail);
        const lane = this.#connectFailures > 0 && this.#opening ? undefined : this.#unopenedLane();
        if (lane && this.#connectFailures === 0) return this.#lease(lane, false, onFail);
        if (lane) {
          const lease = await this.#backoff(lane, this.#lease(lane, true, onFail), signal);
          if (lease) return lease;
          continue;
        }
      } else if (this.#http2Only && this.#connectFailures === 0) {
        this.#current ??= this.#connection();
        return this.#lease(this.#current, false, onFail);
      } else if (!this.#opening) {
        this.#current ??= this.#connection();
        if (this.#current.open) return this.#lease(this.#current, false, onFail);
        const lease = await this.#backoff(
          this.#current,
          this.#lease(this.#current, true, onFail),
          signal,
        );
        if (lease) return lease;
        continue;
      } else if (this.#mayOpenSpeculative && this.#connectFailures === 0) {
        this.#mayOpenSpeculative = false;
        this.#speculative = newConnection(true, true);
        return this.#lease(this.#speculative, false, onFail);
      }
      await wait();
    }
  }

  /**
   * Whether HTTP/1.1 was the probe's answer (only an https origin is probed): the probe reached
   * the origin, so lanes open without waiting for the first response.
   */
  get #probed(): boolean {
    return this.name.startsWith("https:");
  }

  /** Closes every connection once the requests using it are done. */
  close(): void {
    this.#probe.abort();
    for (const lane of [...this.#lanes]) this.#retire(lane, true);
    for (const c of [this.#current, this.#speculative]) if (c) this.#retire(c, true);
  }

  /** A new connection: an HTTP/2-only one once the probe has seen ALPN pick HTTP/2. */
  #connection(): Connection {
    this.#made++;
    return newConnection(this.#http2Only);
  }

  /** Whether requests go on an HTTP/2-only client: the probe saw HTTP/2, and none was refused. */
  get #http2Only(): boolean {
    return this.#http1 === false && this.#http2 !== "refused";
  }

  /**
   * Whether `connection` is an HTTP/2-only one that failed before any such connection answered.
   * It is closed; unless it was the speculative one, the origin goes back to the client that
   * negotiates, as the server fetch reaches may not be the one the probe saw speak HTTP/2.
   */
  #refusedHttp2(connection: Connection): boolean {
    if (!connection.http2Only || this.#http2 === "answered") return false;
    if (!connection.speculative) this.#http2 = "refused";
    this.#retire(connection, true);
    return true;
  }

  /**
   * An unused lane that is not open (its connect failed), or a new one while fewer than
   * {@link MAX_OPENING} are being opened, there are fewer than the maximum, and
   * {@link LanePace} finds the queue worth it.
   */
  #unopenedLane(): Connection | undefined {
    const free = this.#lanes.find((lane) => lane.users === 0);
    if (free) free.openingSince = performance.now();
    if (free || this.#lanes.length >= this.#maxLanes) return free;
    const now = performance.now();
    let opening = 0;
    let openingMs = 0;
    let busy = 0;
    let servingMs = 0;
    for (const lane of this.#lanes) {
      if (!lane.open) {
        opening++;
        openingMs = Math.max(openingMs, now - lane.openingSince);
      }
      if (lane.busySince !== undefined) {
        busy++;
        servingMs += now - lane.busySince;
      }
    }
    if (opening >= MAX_OPENING) return undefined;
    const queue = {
      waiting: this.#wake.size + 1,
      lanes: this.#lanes.length,
      openingMs,
      servingMs: servingMs / (busy || 1),
    };
    if (!this.#pace.worthOpening(queue)) return undefined;
    const lane = newConnection();
    this.#lanes.push(lane);
    return lane;
  }

  /**
   * Waits out the backoff after connect failures, holding `lease` on `connection` as the
   * origin's one opener; undefined (the lease released) when the origin failed meanwhile.
   */
  async #backoff(
    connection: Connection,
    lease: Lease,
    signal: AbortSignal,
  ): Promise<Lease | undefined> {
    const wait = this.#retryAt - performance.now();
    if (wait > 0) {
      try {
        await sleep(wait, signal);
      } catch (e) {
        lease.release();
        throw e;
      }
      connection.openingSince = performance.now();
    }
    if (!this.failure) return lease;
    lease.release();
    return undefined;
  }

  #lease(connection: Connection, opener: boolean, onFail: () => void): Lease {
    const leasedAt = performance.now();
    const wasOpen = connection.open;
    if (wasOpen) connection.busySince = leasedAt;
    connection.users++;
    if (opener) this.#opening = true;
    this.#onFail.add(onFail);
    let settled = false;
    let released = false;
    return {
      origin: this,
      client: connection.client,
      answered: () => {
        if (settled) return;
        settled = true;
        connection.open = true;
        if (connection.http2Only) this.#http2 = "answered";
        this.#connectFailures = 0;
        if (!wasOpen) this.#pace.opened(performance.now() - connection.openingSince);
        if (opener) this.#opening = false;
        this.#wakeAll();
      },
      unanswered: (failure) => {
        if (settled) return false;
        settled = true;
        const refused = this.#refusedHttp2(connection);
        if (failure && !refused) {
          connection.open = false;
          this.#connectFailed(failure, leasedAt);
        }
        if (opener) this.#opening = false;
        this.#wakeAll();
        return refused;
      },
      failed: () => {
        if (!this.#refusedHttp2(connection)) this.#retire(connection);
      },
      /**
       * A lane comes free a turn of the event loop later: Deno's fetch puts its connection back
       * in the pool only then, and a request sent before would open another.
       */
      release: () => {
        if (released) return;
        released = true;
        if (!settled && opener) this.#opening = false;
        settled = true;
        this.#onFail.delete(onFail);
        const done = () => {
          connection.users--;
          if (connection.retired && connection.users === 0) connection.client.close();
          this.#wakeAll();
        };
        if (!this.#lanes.includes(connection)) return done();
        connection.busySince = undefined;
        if (wasOpen) this.#pace.served(performance.now() - leasedAt);
        setTimeout(done, 0);
      },
    };
  }

  #wakeAll(): void {
    for (const wake of [...this.#wake]) wake();
  }

  /**
   * Counts a failed connect started at `startedAt`, unless it was under way when the last one
   * counted failed: lanes opened together that fail together are one failure in a row, not one
   * each, so they do not spend the retries at once without a backoff between them.
   */
  #connectFailed(failure: ConnectFailure, startedAt: number): void {
    if (this.failure) return;
    if (!failure.permanent && startedAt < this.#lastFailureAt) return;
    this.#lastFailureAt = performance.now();
    this.#connectFailures++;
    if (failure.permanent || this.#connectFailures > this.#retries) {
      this.failure = new UnreachableError(this.name, failure.cause, failure.hint);
      for (const cut of [...this.#onFail]) cut();
    } else this.#retryAt = performance.now() + backoffMs(this.#connectFailures - 1);
  }

  /**
   * Takes `connection` out of use, closing it once nothing uses it; the next request opens a
   * new one, unless the origin has had its {@link MAX_CONNECTIONS} HTTP/2 connections (or
   * `always`, at the end). A lane is always retired: another takes its place when needed.
   */
  #retire(connection: Connection, always = false): void {
    if (connection.retired) return;
    const lane = this.#lanes.indexOf(connection);
    if (lane >= 0) this.#lanes.splice(lane, 1);
    if (connection === this.#current) {
      if (lane < 0 && !always && this.#made >= MAX_CONNECTIONS) return;
      this.#current = undefined;
    }
    connection.retired = true;
    if (connection.users === 0) connection.client.close();
  }
}

/**
 * A connection of a client of its own. An HTTP/2-only client needs no request to go first: Deno's
 * fetch lets one request connect it while the others wait for that connection.
 */
function newConnection(http2Only = false, speculative = false): Connection {
  return {
    client: Deno.createHttpClient(http2Only ? { http1: false, http2: true } : {}),
    http2Only,
    speculative,
    users: 0,
    retired: false,
    open: false,
    openingSince: performance.now(),
  };
}

/**
 * Whether the server of an https `url` picks HTTP/1.1 over HTTP/2 by ALPN, asked on a TLS
 * connection of its own (closed at once, or after {@link PROBE_TIMEOUT_MS}: behind a forward
 * proxy the probe may not get through, and the origin is then used as an HTTP/2 one). Rejects
 * when it cannot connect: the requests report why.
 */
async function speaksHttp1Only(url: URL, signal: AbortSignal): Promise<boolean> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || defaultPort(url));
  signal = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
  const tcp = await Deno.connect({ hostname, port, signal });
  const tls = await Deno.startTls(tcp, { hostname, alpnProtocols: ["h2", "http/1.1"] });
  let closed = false;
  const close = () => {
    if (!closed) tls.close();
    closed = true;
  };
  if (signal.aborted) close();
  else signal.addEventListener("abort", close, { once: true });
  try {
    return (await tls.handshake()).alpnProtocol !== "h2";
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

/** Why a request could not connect, from Deno's fetch error; go's wording where it has one. */
interface ConnectFailure {
  cause: string;
  hint: string;
  /**
   * Trying again cannot help: the name does not resolve, the certificate or the TLS handshake is
   * refused, the port is blocked.
   */
  permanent: boolean;
}

/**
 * The connect failure behind a fetch error, or undefined when the request got past
 * connecting. Deno's fetch throws `TypeError: fetch failed` whose `cause` reads, e.g.,
 * `error sending request for url (…): client error (Connect): dns error: …`.
 */
export function connectFailure(e: unknown, url: URL): ConnectFailure | undefined {
  const message = errorMessage(e);
  const target = hostPort(url);
  const blocked = /Requests to port (\d+) are blocked/.exec(message);
  if (blocked) {
    return {
      cause: `port ${blocked[1]} is blocked by Deno's fetch`,
      hint: "serve the proxy on another port",
      permanent: true,
    };
  }
  const connect = /client error \(Connect\): (.*)$/s.exec(message)?.[1].trim();
  if (connect === undefined) return undefined;
  const dns = /^dns error: (.*)$/s.exec(connect);
  if (dns) {
    const temporary = /temporary|try again/i.test(dns[1]);
    return {
      cause: `lookup ${url.hostname}: ` +
        (temporary
          ? dns[1].replace(/^failed to lookup address information: /, "")
          : "no such host"),
      hint: "check the host name in GOPROXY and this machine's DNS",
      permanent: !temporary,
    };
  }
  const tcp = /^tcp connect error: (.*?)(?: \(os error \d+\))?$/s.exec(connect);
  if (tcp) {
    return {
      cause: `dial tcp ${target}: ${tcp[1].toLowerCase()}`,
      hint: "check that the proxy is running and that GOPROXY names its host and port",
      permanent: false,
    };
  }
  const certificate = /^invalid peer certificate: (.*)$/s.exec(connect);
  if (certificate) {
    return {
      cause: `TLS certificate of ${target} not accepted: ${certificate[1]}`,
      hint: "a proxy with a private CA needs DENO_CERT=<its CA file> " +
        "(or DENO_TLS_CA_STORE=system to use the system's CAs)",
      permanent: true,
    };
  }
  return {
    cause: `TLS handshake with ${target} failed: ${connect}`,
    hint: "check that the proxy speaks https on this port",
    permanent: !CUT_SHORT.test(connect),
  };
}

/**
 * A handshake the other side or the way there cut short (closed, reset, cancelled, timed out),
 * as an overloaded or restarting front end may: worth another try, where a server that answers
 * the handshake with something else than TLS, or with a TLS alert, is not.
 */
const CUT_SHORT = /\beof\b|reset|cancel|timed out|broken pipe|closed/i;

/** The innermost message of an error: Deno's fetch puts the useful one in `cause`. */
function errorMessage(e: unknown): string {
  let message = e instanceof Error ? e.message : String(e);
  for (let c = (e as Error)?.cause, depth = 0; c instanceof Error && depth < 4; depth++) {
    message = c.message;
    c = c.cause;
  }
  return message;
}

/**
 * The error a fetch ends with before any request, when the proxy list begins with `direct` (a
 * {@link LeftToGoError}) or `off` (a {@link NotExistError}): what a dry run reports instead of
 * planning a fetch. Undefined when a proxy comes first.
 */
export function unproxied(entries: ProxyEntry[]): Error | undefined {
  const kind = firstKind(entries);
  return kind === "url" ? undefined : endOfList(kind);
}

function endOfList(kind: "direct" | "off"): Error {
  return kind === "off"
    ? new NotExistError("module lookup disabled by GOPROXY=off")
    : new LeftToGoError('not on any proxy before "direct"; the go command fetches it itself');
}

/**
 * Fails with a {@link LocalError} when `--allow-net` leaves out `url`'s host, checked before the
 * request so that Deno never prompts for it on a terminal (a redirect may lead anywhere).
 */
function requireNet(url: URL, hop: number): void {
  const host = hostPort(url);
  if (Deno.permissions.querySync({ name: "net", host }).state === "granted") return;
  const why = hop === 0 ? `Requires net access to "${host}"` : "the proxy redirected there";
  throw new LocalError(`needs --allow-net=${host} (${why})`);
}

function lengthMismatch(size: number, length: number): ProxyError {
  return new ProxyError(
    size < length
      ? `body ended after ${size} of ${length} bytes`
      : "body is longer than its Content-Length",
    { transient: true },
  );
}

/** Go's `url.PathEscape` with `%2F` kept as `/`, as the go command builds proxy URLs. */
export function goPathEscape(s: string): string {
  if (PATH_SAFE.test(s)) return s;
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (PATH_SAFE.test(c)) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Strings that Go's `url.PathEscape` (with `/` kept) leaves as they are. */
const PATH_SAFE = /^[A-Za-z0-9\-_.~$&+:=@/]*$/;

/**
 * Aborts its signal when `feed` has not been called for `timeoutMs`, or `deadlineMs` after it
 * was made. Feeding only notes the time: the one timer re-arms itself for what is left when it
 * fires early, and {@link Watchdog.stop} clears it, so a finished request leaves no timer
 * behind to keep the process alive (as `AbortSignal.timeout` inside `AbortSignal.any` does).
 */
class Watchdog {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  readonly #deadlineMs: number;
  readonly #deadline: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fed = performance.now();
  #headers = false;
  /** Why the signal was aborted, once it was. */
  fired: "stall" | "deadline" | undefined;

  constructor(timeoutMs: number, deadlineMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#deadlineMs = deadlineMs;
    this.#deadline = this.#fed + deadlineMs;
    this.#arm(Math.min(timeoutMs, deadlineMs));
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const now = performance.now();
      const idle = now - this.#fed;
      if (now >= this.#deadline) this.#fire("deadline");
      else if (idle >= this.#timeoutMs) this.#fire("stall");
      else this.#arm(Math.min(this.#timeoutMs - idle, this.#deadline - now));
    }, ms);
  }

  #fire(why: "stall" | "deadline"): void {
    this.fired = why;
    this.#controller.abort();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** What was awaited when it fired. */
  get stalledOn(): string {
    return this.#headers ? "the body" : "the response headers";
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  headersArrived(): void {
    this.#headers = true;
    this.feed();
  }

  feed(): void {
    this.#fed = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

function classify(e: unknown, watchdog: Watchdog, user: AbortSignal): Error {
  if (e instanceof ProxyError || e instanceof NotExistError || e instanceof LocalError) return e;
  if (user.aborted) return user.reason instanceof Error ? user.reason : new Error("Aborted");
  if (watchdog.fired === "stall") {
    return new ProxyError(
      `${watchdog.stalledOn} stalled: nothing arrived for ${watchdog.timeoutMs / 1000} s`,
      { transient: true },
    );
  }
  if (watchdog.fired === "deadline") {
    return new ProxyError(
      `the request did not finish within ${watchdog.deadlineMs / 1000} s`,
      { transient: true },
    );
  }
  const message = errorMessage(e).replace(/^error sending request for url \([^)]*\): /, "");
  return new ProxyError(message, { transient: true });
}

async function errorText(res: Response): Promise<string> {
  const type = res.headers.get("content-type") ?? "";
  const plain = /^text\/plain(\s*;\s*charset=(utf-8|us-ascii))?\s*$/i.test(type);
  if (!plain || !res.body) {
    await res.body?.cancel();
    return "";
  }
  const text = (await res.text()).slice(0, 648);
  const firstPara = text.split("\n\n")[0].split("\n").slice(0, 8).join(" ").trim();
  // deno-lint-ignore no-control-regex
  return /[\x00-\x08\x0b-\x1f\x7f]/.test(firstPara) ? "" : firstPara;
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function backoffMs(attempt: number, retryAfter?: number): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, 60) * 1000;
  const base = Math.min(250 * 2 ** attempt, 10_000);
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function numberOrUndefined(v: string | null): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
