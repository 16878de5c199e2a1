/**
 * The GOPROXY protocol client: walks the proxy list with go's fallback rules
 * (`,` only past 404/410, `|` past any error), speaks HTTP(S) and `file://`, retries
 * transient failures with backoff, watches every body for stalls, and keeps zip bodies
 * in memory only within a byte budget, spilling the rest to a temp file. Requests share
 * one HTTP client (one HTTP/2 connection per origin) until one of them fails at the
 * transport level; later requests then get a new one.
 *
 * @module
 */
import { ByteBody } from "./byte_body.ts";
import { writeAll } from "./module_cache.ts";
import { escapePath, escapeVersion } from "./module_path.ts";
import type { ProxyEntry } from "./proxy_list.ts";
import { redactUrl } from "./proxy_list.ts";
import { type MemoryBudget, Semaphore } from "./semaphore.ts";
import { MAX_ZIP_FILE } from "./zip_rules.ts";

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

/** An HTTP client and the attempts using it; a retired one is closed when the last is done. */
interface Connection {
  client: Deno.HttpClient;
  users: number;
  retired: boolean;
}

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
  #shared: Connection | undefined;

  /** Creates a client. */
  constructor(opts: ProxyClientOptions) {
    this.#opts = opts;
    this.#requests = new Semaphore(opts.concurrency);
  }

  /**
   * Fetches a small file (`info` or `mod`) into memory; a `background` request waits for a
   * free slot behind every other.
   */
  fetchSmall(
    path: string,
    version: string,
    ext: "info" | "mod",
    background = false,
  ): Promise<Fetched<Uint8Array>> {
    const priority = background ? PRIORITY.background : PRIORITY.module;
    return this.#tryProxies(path, version, ext, priority, readSmall);
  }

  /**
   * Fetches a zip, refusing more than go's 500 MiB limit. `tempFile()` names the file a
   * body goes to when it does not fit the memory budget or its length is not known.
   */
  fetchZip(path: string, version: string, tempFile: () => string): Promise<Fetched<ZipBody>> {
    return this.#tryProxies(
      path,
      version,
      "zip",
      PRIORITY.zip,
      (body, length) => this.#readZip(body, length, tempFile),
    );
  }

  /** Releases what a zip body holds: its budget bytes or its temp file. */
  async discard(body: ZipBody): Promise<void> {
    if (body.kind === "bytes") this.#opts.budget.give(body.reserved);
    else await Deno.remove(body.file).catch(() => {});
  }

  /** Closes the shared HTTP client once the requests using it are done. */
  close(): void {
    if (this.#shared) this.#retire(this.#shared);
  }

  async #tryProxies<T>(
    path: string,
    version: string,
    ext: string,
    priority: number,
    read: BodyReader<T>,
  ): Promise<Fetched<T>> {
    const rel = `${escapePath(path)}/@v/${escapeVersion(version)}.${ext}`;
    let retries = 0;
    let best: Error | undefined;
    let bestRank = -1;
    const remember = (e: Error, rank: number) => {
      if (rank > bestRank) [best, bestRank] = [e, rank];
    };
    for (const entry of this.#opts.entries) {
      if (entry.kind !== "url") {
        if (entry.kind === "noproxy") continue;
        if (entry.kind === "off") {
          remember(
            new NotExistError(`${path}@${version}: module lookup disabled by GOPROXY=off`),
            0,
          );
          break;
        }
        throw new LeftToGoError(
          `${path}@${version}: not on any proxy before "direct"; the go command fetches it itself`,
        );
      }
      const base = redactUrl(entry.url);
      try {
        const r = entry.url.startsWith("file:")
          ? await this.#readFileProxy(entry.url, rel, read, priority)
          : await this.#getWithRetries(entry, rel, read, priority);
        return { body: r.body, proxy: base, retries: retries + r.retries };
      } catch (e) {
        if (this.#opts.signal.aborted) throw e;
        if (e instanceof LocalError) throw new LocalError(`${path}@${version}: ${e.message}`);
        const err = e as Error & { retries?: number };
        retries += err.retries ?? 0;
        const notExist = err instanceof NotExistError;
        remember(
          new (notExist ? NotExistError : ProxyError)(
            `${path}@${version}: ${base}: ${err.message}`,
            { transient: false },
          ),
          notExist ? 0 : 1,
        );
        if (!entry.fallBackOnError && !notExist) break;
      }
    }
    throw best ?? new NotExistError(`${path}@${version}: no proxy in GOPROXY has it`);
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
        f = await Deno.open(file, { read: true });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) throw new NotExistError(`404 Not Found: ${file}`);
        if (e instanceof Deno.errors.PermissionDenied) {
          throw new ProxyError(`403 Forbidden: ${file}`, { transient: false });
        }
        throw e;
      }
      const size = (await f.stat()).size;
      return { body: await read(new ByteBody(f.readable), size), retries: 0 };
    }, priority);
  }

  /** With `|` after the entry, the next proxy is the retry: go falls through at once. */
  async #getWithRetries<T>(
    entry: UrlEntry,
    rel: string,
    read: BodyReader<T>,
    priority: number,
  ): Promise<{ body: T; retries: number }> {
    const maxRetries = entry.fallBackOnError ? 0 : this.#opts.retries;
    const url = entry.url + "/" + goPathEscape(rel);
    const auth = entry.authorization?.(url);
    for (let attempt = 0;; attempt++) {
      try {
        const body = await this.#requests.run(
          () => this.#attempt(url, read, attempt > 0, auth),
          priority,
        );
        return { body, retries: attempt };
      } catch (e) {
        if (this.#opts.signal.aborted) throw e;
        const transient = e instanceof ProxyError && e.transient;
        if (!transient || attempt >= maxRetries) {
          if (transient && attempt > 0) {
            (e as Error).message += ` (gave up after ${attempt} retries)`;
          }
          throw Object.assign(e as Error, { retries: attempt });
        }
        await sleep(backoffMs(attempt, (e as ProxyError).retryAfter), this.#opts.signal);
      }
    }
  }

  /**
   * One request. A first attempt goes through the shared client, a retry through a fresh
   * one: a stalled HTTP/2 connection may stall again. A transport failure on the shared
   * client (a stall, the deadline, a reset) retires it, so later requests do not wait out
   * a dead connection. The stall watchdog runs from the start: it covers connecting and
   * waiting for the headers as well as every gap between body chunks.
   */
  async #attempt<T>(
    url: string,
    read: BodyReader<T>,
    fresh: boolean,
    authorization?: string,
  ): Promise<T> {
    const connection = fresh ? newConnection(1, true) : this.#useShared();
    const watchdog = new Watchdog(this.#opts.stallTimeoutMs);
    const signal = AbortSignal.any([
      this.#opts.signal,
      watchdog.signal,
      AbortSignal.timeout(this.#opts.requestTimeoutMs),
    ]);
    let failed = false;
    try {
      const res = await this.#follow(url, signal, watchdog, connection.client, authorization);
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
      failed = !(e instanceof ProxyError || e instanceof NotExistError || e instanceof LocalError);
      throw classify(e, signal, this.#opts.requestTimeoutMs, watchdog, this.#opts.signal);
    } finally {
      watchdog.stop();
      connection.users--;
      if (connection.retired || (failed && !this.#opts.signal.aborted)) this.#retire(connection);
    }
  }

  #useShared(): Connection {
    this.#shared ??= newConnection(0, false);
    this.#shared.users++;
    return this.#shared;
  }

  /** Takes `connection` out of use, closing it once nothing uses it. */
  #retire(connection: Connection): void {
    if (connection === this.#shared) this.#shared = undefined;
    connection.retired = true;
    if (connection.users === 0) connection.client.close();
  }

  async #follow(
    url: string,
    signal: AbortSignal,
    watchdog: Watchdog,
    client: Deno.HttpClient,
    authorization?: string,
  ): Promise<Response> {
    let current = new URL(url);
    const auth = basicAuth(current) ?? authorization;
    const origin = current.origin;
    current.username = current.password = "";
    for (let hop = 0;; hop++) {
      const headers = new Headers();
      if (auth && current.origin === origin) headers.set("authorization", auth);
      const res = await fetch(current, { headers, signal, redirect: "manual", client })
        .catch((e) => {
          if (!(e instanceof Deno.errors.NotCapable)) throw e;
          const host = `${current.hostname}:${current.port || defaultPort(current)}`;
          const why = hop === 0 ? `Requires net access to "${host}"` : "the proxy redirected there";
          throw new LocalError(`needs --allow-net=${host} (${why})`);
        });
      watchdog.headersArrived();
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
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
  ): Promise<ZipBody> {
    if (length !== undefined && length > MAX_ZIP_FILE) {
      await body.cancel();
      throw zipTooLarge();
    }
    const budget = this.#opts.budget;
    if (length !== undefined && budget.tryTake(length)) {
      try {
        return { kind: "bytes", bytes: await readExactly(body, length), reserved: length };
      } catch (e) {
        budget.give(length);
        throw e;
      }
    }
    const fileName = tempFile();
    const mode = 0o666 & ~this.#opts.umask;
    const file = await writing(
      fileName,
      () => Deno.open(fileName, { write: true, createNew: true, mode }),
    );
    let size = 0;
    try {
      await body.forEach(async (bytes) => {
        size += bytes.length;
        if (size > MAX_ZIP_FILE) throw zipTooLarge();
        await writing(fileName, () => writeAll(file, bytes));
      });
      if (length !== undefined && size !== length) throw lengthMismatch(size, length);
    } catch (e) {
      file.close();
      await Deno.remove(fileName).catch(() => {});
      throw e;
    }
    file.close();
    return { kind: "tempFile", file: fileName, size };
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
async function writing<T>(file: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const reason = (e as Error).message.replace(/ \(os error \d+\).*$/s, "");
    throw new LocalError(`${reason.charAt(0).toLowerCase()}${reason.slice(1)} writing ${file}`);
  }
}

function newConnection(users: number, retired: boolean): Connection {
  return { client: Deno.createHttpClient({}), users, retired };
}

function defaultPort(url: URL): string {
  return url.protocol === "https:" ? "443" : "80";
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
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~$&+:=@/]/.test(c)) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * Aborts its signal when `feed` has not been called for `timeoutMs`. Feeding only notes the
 * time: the one timer re-arms itself for what is left when it fires early.
 */
class Watchdog {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fed = performance.now();
  #headers = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#arm(timeoutMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const idle = performance.now() - this.#fed;
      if (idle >= this.#timeoutMs) this.#controller.abort();
      else this.#arm(this.#timeoutMs - idle);
    }, ms);
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

function classify(
  e: unknown,
  signal: AbortSignal,
  deadlineMs: number,
  watchdog: Watchdog,
  user: AbortSignal,
): Error {
  if (e instanceof ProxyError || e instanceof NotExistError || e instanceof LocalError) return e;
  if (user.aborted) return user.reason instanceof Error ? user.reason : new Error("Aborted");
  if (watchdog.signal.aborted) {
    return new ProxyError(
      `${watchdog.stalledOn} stalled: nothing arrived for ${watchdog.timeoutMs / 1000} s`,
      { transient: true },
    );
  }
  if (signal.aborted) {
    return new ProxyError(`the request did not finish within ${deadlineMs / 1000} s`, {
      transient: true,
    });
  }
  return new ProxyError((e as Error).message ?? String(e), { transient: true });
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

function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${pass}`)));
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
