/**
 * A GOPROXY on 127.0.0.1 that misbehaves on purpose: error statuses, 429 with Retry-After,
 * connections reset or closed mid-body, bodies that stall or drip, corrupted bytes, a
 * Content-Length over go's zip limit, zips redirected to a second origin, gzip-encoded bodies. It is a small HTTP/1.1 responder on `node:net`,
 * because only raw sockets can send a short body under a full Content-Length or a TCP reset.
 *
 * @module
 */

import net from "node:net";
import { join } from "node:path";
import zlib from "node:zlib";
import { MAX_ZIP_FILE } from "../../src/zip/zip_rules.ts";

/**
 * What the proxy does to one request:
 * - `500`, `502`, `503`: that status, with a text/plain body;
 * - `408`: Request Timeout, with a text/plain body;
 * - `429`: Too Many Requests with `Retry-After`;
 * - `reset`: the full Content-Length, half the body, then a TCP reset;
 * - `short`: the full Content-Length, half the body, then a clean close;
 * - `stall`: the full Content-Length, half the body, then silence;
 * - `drip`: the full Content-Length, then the body one byte every `dripMs`;
 * - `hang`: no answer at all;
 * - `corrupt`: the whole body with one byte flipped;
 * - `oversize`: a Content-Length of go's 500 MiB zip limit plus one byte, then a clean close;
 * - `redirect`: a 302 to the same path on the second origin (zips only; others are served);
 * - `gzip`: the body gzip-encoded, when the request accepts gzip;
 * - `forbidden`: 403; `notFound`: 404.
 *
 * A fault that does not apply (a body fault for a missing file, `redirect` for a file other
 * than a zip, `gzip` when the request does not accept it) gives the plain answer instead, and
 * the log records that answer (`notFound` or `none`).
 */
export type FaultKind =
  | "500"
  | "502"
  | "503"
  | "408"
  | "429"
  | "reset"
  | "short"
  | "stall"
  | "drip"
  | "hang"
  | "corrupt"
  | "oversize"
  | "redirect"
  | "gzip"
  | "forbidden"
  | "notFound";

/**
 * Faults a retrying client recovers from within its stall timeout. `drip` is recovered from
 * only at the request deadline, so it is not among them; `corrupt`, `oversize`, `forbidden`
 * and `notFound` are permanent.
 */
export const TRANSIENT_FAULTS: FaultKind[] = [
  "500",
  "502",
  "503",
  "408",
  "429",
  "reset",
  "short",
  "stall",
  "hang",
];

/** Answers that are unusual but correct: the client must accept them as they are. */
export const BENIGN_FAULTS: FaultKind[] = ["redirect", "gzip"];

/** Settings of {@linkcode serveFaultProxy}. */
export interface FaultProxyOptions {
  /** The GOPROXY tree to serve, as `writeProxyTree` writes it. */
  root: string;
  /** Seeds the fault choices; each file path has its own sequence, so request order does not matter. */
  seed?: number;
  /** The probability that a request gets a random fault (default 0). */
  rate?: number;
  /** The kinds random faults are drawn from (default: transient and benign ones). */
  kinds?: FaultKind[];
  /** At most this many random faults per file path, so that enough retries always succeed. */
  maxFaultsPerPath?: number;
  /** Decoded paths that get the same fault on every request, e.g. a 403 for one zip. */
  fixed?: Record<string, FaultKind>;
  /** Decoded paths whose first requests get these faults in turn; later ones are served. */
  script?: Record<string, FaultKind[]>;
  /** The `Retry-After` of a 429, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** How long a `stall` or `hang` keeps the connection before closing it (default 10 000 ms). */
  stallMs?: number;
  /** The gap between the bytes of a `drip` body (default 200 ms). */
  dripMs?: number;
  /** Delay before every answer, in milliseconds (default 0). */
  latencyMs?: number;
}

/** One request the proxy answered. */
export interface FaultLogEntry {
  /** The percent-decoded path, e.g. `/example.com/!upper/@v/v1.0.0.zip`. */
  path: string;
  /** The fault actually applied, or `none` for a plain answer. */
  fault: FaultKind | "none";
  /** Which listener got it. */
  origin: "primary" | "second";
  /** `performance.now()` when the request arrived. */
  at: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** The base URL to put in GOPROXY. */
  url: string;
  /** The origin redirected zips go to. */
  secondUrl: string;
  /** Every request, in arrival order. */
  log: FaultLogEntry[];
  /** Stops both listeners, drops every connection and waits until they are closed. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  info: "application/json",
  mod: "text/plain; charset=utf-8",
  zip: "application/zip",
};

const encoder = new TextEncoder();

/**
 * Serves the GOPROXY tree at `options.root` on two 127.0.0.1 ports, injecting faults.
 *
 * @example
 * ```ts
 * const proxy = await serveFaultProxy({ root, seed: 7, rate: 0.2, maxFaultsPerPath: 3 });
 * try {
 *   // GOPROXY=proxy.url
 * } finally {
 *   await proxy.close();
 * }
 * ```
 */
export async function serveFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const log: FaultLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const chooser = faultChooser(options);
  let secondUrl = "";
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const answer = async (sock: net.Socket, head: string, origin: FaultLogEntry["origin"]) => {
    const target = head.split("\r\n")[0].split(" ")[1] ?? "/";
    let path: string;
    try {
      path = decodeURIComponent(new URL(target, "http://x").pathname);
    } catch {
      path = "/";
    }
    const entry: FaultLogEntry = {
      path,
      fault: origin === "primary" ? chooser(path) : "none",
      origin,
      at: performance.now(),
    };
    log.push(entry);
    if (options.latencyMs) await new Promise<void>((r) => later(options.latencyMs!, r));
    if (sock.destroyed) return false;
    const body = await readTreeFile(options.root, path);
    const acceptsGzip = /^accept-encoding:.*\bgzip\b/im.test(head);
    entry.fault = applicable(entry.fault, path, body, acceptsGzip);
    return respond(sock, {
      path,
      fault: entry.fault,
      body,
      secondUrl,
      retryAfter: options.retryAfterSeconds ?? 1,
      stall: (fn) => later(options.stallMs ?? 10_000, fn),
      drip: (fn) => later(options.dripMs ?? 200, fn),
    });
  };
  const primary = listen(sockets, (s, h) => answer(s, h, "primary"));
  const second = listen(sockets, (s, h) => answer(s, h, "second"));
  const [p1, p2] = await Promise.all([primary.port, second.port]);
  secondUrl = `http://127.0.0.1:${p2}`;
  return {
    url: `http://127.0.0.1:${p1}`,
    secondUrl,
    log,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await Promise.all([primary.close(), second.close()]);
    },
  };
}

/** Per-path seeded sequences: the n-th request for a path always gets the same answer. */
function faultChooser(options: FaultProxyOptions): (path: string) => FaultKind | "none" {
  const rngs = new Map<string, () => number>();
  const faults = new Map<string, number>();
  const kinds = options.kinds ?? [...TRANSIENT_FAULTS, ...BENIGN_FAULTS];
  const rate = options.rate ?? 0;
  const max = options.maxFaultsPerPath ?? Infinity;
  const scripts = new Map(Object.entries(options.script ?? {}).map(([p, s]) => [p, [...s]]));
  return (path) => {
    const fixed = options.fixed?.[path];
    if (fixed) return fixed;
    const script = scripts.get(path);
    if (script) return script.shift() ?? "none";
    let rng = rngs.get(path);
    if (!rng) rngs.set(path, rng = mulberry32(hashString(`${options.seed ?? 0}:${path}`)));
    const hit = rng() < rate;
    const kind = kinds[Math.floor(rng() * kinds.length)];
    const used = faults.get(path) ?? 0;
    if (!hit || used >= max) return "none";
    faults.set(path, used + 1);
    return kind;
  };
}

/** Statuses that need no file; every other fault alters the file's answer. */
const STATUS_FAULTS: (FaultKind | "none")[] = ["500", "502", "503", "408", "429", "forbidden"];

/** What `fault` becomes for this request: itself, or the plain answer when it does not apply. */
function applicable(
  fault: FaultKind | "none",
  path: string,
  body: Uint8Array | undefined,
  acceptsGzip: boolean,
): FaultKind | "none" {
  if (STATUS_FAULTS.includes(fault) || fault === "hang") return fault;
  if (body === undefined) return "notFound";
  if (fault === "redirect" && !path.endsWith(".zip")) return "none";
  if (fault === "gzip" && !acceptsGzip) return "none";
  return fault;
}

interface Reply {
  path: string;
  fault: FaultKind | "none";
  body: Uint8Array | undefined;
  secondUrl: string;
  retryAfter: number;
  stall: (fn: () => void) => void;
  drip: (fn: () => void) => void;
}

/** Writes one answer; returns whether the connection stays usable for the next request. */
function respond(sock: net.Socket, r: Reply): boolean {
  const send = (status: string, headers: Record<string, string | number>, body: Uint8Array) => {
    const lines = Object.entries({ ...headers, "content-length": body.length });
    sock.write(`HTTP/1.1 ${status}\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
    sock.write(body);
    return true;
  };
  const text = (status: string, message: string, extra: Record<string, string | number> = {}) =>
    send(
      status,
      { "content-type": "text/plain; charset=utf-8", ...extra },
      encoder.encode(message),
    );
  switch (r.fault) {
    case "500":
      return text("500 Internal Server Error", "injected fault\n");
    case "502":
      return text("502 Bad Gateway", "injected fault\n");
    case "503":
      return text("503 Service Unavailable", "injected fault\n");
    case "408":
      return text("408 Request Timeout", "injected fault\n");
    case "429":
      return text("429 Too Many Requests", "slow down\n", { "retry-after": r.retryAfter });
    case "forbidden":
      return text("403 Forbidden", "forbidden by the fault proxy\n");
    case "hang":
      r.stall(() => sock.destroy());
      return false;
  }
  if (r.body === undefined || r.fault === "notFound") return text("404 Not Found", "not found\n");
  const type = CONTENT_TYPES[r.path.slice(r.path.lastIndexOf(".") + 1)] ??
    "text/plain; charset=utf-8";
  const headers = { "content-type": type };
  const body = r.body;
  const head = (length: number) =>
    sock.write(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${length}\r\n\r\n`);
  const partial = () => {
    head(body.length);
    sock.write(body.subarray(0, Math.floor(body.length / 2)));
  };
  switch (r.fault) {
    case "reset":
      partial();
      sock.resetAndDestroy();
      return false;
    case "short":
      partial();
      sock.end();
      return false;
    case "stall":
      partial();
      r.stall(() => sock.destroy());
      return false;
    case "drip": {
      head(body.length);
      let sent = 0;
      const next = () => {
        if (sock.destroyed) return;
        if (sent === body.length) return void sock.end();
        sock.write(body.subarray(sent, ++sent));
        r.drip(next);
      };
      next();
      return false;
    }
    case "corrupt": {
      const bytes = body.slice();
      bytes[bytes.length >> 1] ^= 0xff;
      return send("200 OK", headers, bytes);
    }
    case "oversize":
      head(MAX_ZIP_FILE + 1);
      sock.end();
      return false;
    case "redirect":
      return send("302 Found", { location: r.secondUrl + encodeURI(r.path) }, new Uint8Array());
    case "gzip":
      return send("200 OK", { ...headers, "content-encoding": "gzip" }, zlib.gzipSync(body));
  }
  return send("200 OK", headers, body);
}

function listen(
  sockets: Set<net.Socket>,
  onRequest: (sock: net.Socket, head: string) => Promise<boolean>,
): { port: Promise<number>; close(): Promise<void> } {
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    let buffered = "";
    let busy = Promise.resolve(true);
    sock.on("data", (chunk: Uint8Array) => {
      buffered += new TextDecoder("latin1").decode(chunk);
      for (let end; (end = buffered.indexOf("\r\n\r\n")) >= 0;) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        busy = busy
          .then((open) => open && !sock.destroyed ? onRequest(sock, head) : false)
          .catch(() => {
            sock.destroy();
            return false;
          });
      }
    });
  });
  const port = new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { port, close };
}

async function readTreeFile(root: string, path: string): Promise<Uint8Array | undefined> {
  const segments = path.split("/").slice(1);
  if (segments.some((s) => s === "" || s === "." || s === "..")) return undefined;
  try {
    return await Deno.readFile(join(root, ...segments));
  } catch {
    return undefined;
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (const c of encoder.encode(s)) h = Math.imul(h ^ c, 16777619);
  return h >>> 0;
}

/** A small seeded PRNG with uniform output in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
