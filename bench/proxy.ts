/**
 * A local GOPROXY for the benchmark: serves a mirror's `cache/download` tree on 127.0.0.1 with a
 * network profile's latency and bandwidth, and answers zip requests with a 302 to a second
 * listener, as the public proxy sends zips to a storage origin. It runs as its own process so
 * that its CPU time is not charged to the contender it serves.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/proxy.ts ROOT PROFILE`. It prints one
 * JSON line, `{"url": "http://127.0.0.1:PORT"}`, once both listeners are up. `GET /_stats` on
 * the main listener returns the requests and bytes served so far (both listeners).
 *
 * The model: every response waits one RTT before its first byte; the first request on a new
 * connection waits two more (TCP and TLS 1.3 handshakes, which plain loopback HTTP skips); all
 * bodies share one link paced at the profile's bandwidth.
 *
 * @module
 */
import { join, normalize } from "node:path";

/** A simulated network between the contender and the proxy. */
export interface Profile {
  /** Round-trip time in milliseconds. */
  rttMs: number;
  /** Link bandwidth in bits per second shared by all responses; 0 for unlimited. */
  bitsPerSecond: number;
  /** Whether `.zip` requests are redirected (302) to a second origin. */
  redirectZips: boolean;
}

/** The benchmark's network profiles; `local` is the loopback as is, for floors and smoke runs. */
export const PROFILES: Record<string, Profile> = {
  local: { rttMs: 0, bitsPerSecond: 0, redirectZips: false },
  near: { rttMs: 5, bitsPerSecond: 1e9, redirectZips: true },
  "cross-region": { rttMs: 40, bitsPerSecond: 1e9, redirectZips: true },
  far: { rttMs: 150, bitsPerSecond: 100e6, redirectZips: true },
};

/** Requests and body bytes served, summed over both listeners. */
export interface ProxyStats {
  /** Requests answered, redirects included. */
  requests: number;
  /** Body bytes sent. */
  bytes: number;
}

const CHUNK = 64 * 1024;

/** Serves `root` with `profile` until the process is killed, and returns the main URL. */
export function serveMirror(root: string, profile: Profile): string {
  const stats: ProxyStats = { requests: 0, bytes: 0 };
  const seen = new Set<string>();
  let linkFreeAt = 0;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Reserves `n` bytes of link time and waits until they would have left. */
  async function pace(n: number): Promise<void> {
    if (profile.bitsPerSecond === 0) return;
    const now = performance.now();
    linkFreeAt = Math.max(now, linkFreeAt) + (n * 8 * 1000) / profile.bitsPerSecond;
    if (linkFreeAt - now >= 1) await sleep(linkFreeAt - now);
  }

  async function latency(info: Deno.ServeHandlerInfo<Deno.NetAddr>, origin: string) {
    const conn = `${origin} ${info.remoteAddr.port}`;
    const handshakes = seen.has(conn) ? 0 : 2;
    seen.add(conn);
    if (profile.rttMs > 0) await sleep(profile.rttMs * (1 + handshakes));
  }

  function body(file: Deno.FsFile): ReadableStream<Uint8Array> {
    return new ReadableStream({
      async pull(controller) {
        const buf = new Uint8Array(CHUNK);
        const n = await file.read(buf);
        if (n === null) {
          file.close();
          controller.close();
          return;
        }
        await pace(n);
        stats.bytes += n;
        controller.enqueue(buf.subarray(0, n));
      },
      cancel() {
        file.close();
      },
    });
  }

  function contentType(path: string): string {
    if (path.endsWith(".zip")) return "application/zip";
    if (path.endsWith(".info")) return "application/json";
    return "text/plain; charset=utf-8";
  }

  async function handle(
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    origin: string,
    zipOrigin: string | null,
  ): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/_stats") return Response.json(stats);
    stats.requests++;
    await latency(info, origin);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return new Response("bad path\n", { status: 400 });
    }
    const rel = normalize(path).replace(/^\/+/, "");
    if (rel.startsWith("..") || rel.includes("\0")) {
      return new Response("bad path\n", { status: 400 });
    }
    if (zipOrigin && rel.endsWith(".zip")) {
      return new Response(null, { status: 302, headers: { location: zipOrigin + url.pathname } });
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(join(root, rel));
      const st = await file.stat();
      if (!st.isFile) {
        file.close();
        return new Response("not found\n", { status: 404 });
      }
      return new Response(body(file), {
        headers: { "content-type": contentType(rel), "content-length": String(st.size) },
      });
    } catch {
      return new Response("not found\n", { status: 404 });
    }
  }

  const zipServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => handle(req, info, "zip", null),
  );
  const zipOrigin = `http://127.0.0.1:${zipServer.addr.port}`;
  const main = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => handle(req, info, "main", profile.redirectZips ? zipOrigin : null),
  );
  return `http://127.0.0.1:${main.addr.port}`;
}

if (import.meta.main) {
  const [root, name] = Deno.args;
  const profile = PROFILES[name];
  if (!root || !profile) {
    console.error(`usage: proxy.ts ROOT PROFILE (one of ${Object.keys(PROFILES).join(", ")})`);
    Deno.exit(2);
  }
  console.log(JSON.stringify({ url: serveMirror(root, profile) }));
}
