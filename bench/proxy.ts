/**
 * A local GOPROXY for the benchmark: serves a mirror's `cache/download` tree on 127.0.0.1 with a
 * network profile's latency and bandwidth, and answers zip requests with a 302 to a second
 * origin, as the public proxy sends zips to a storage origin. It runs as its own process so
 * that its CPU time is not charged to the contender it serves, but it shares the machine's
 * cores with it, which a real proxy does not: so it reads the whole tree into memory before
 * it listens, and serves every body from there.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read bench/proxy.ts ROOT PROFILE [CERT KEY]`
 * (a TLS profile needs the PEM files of tests/support/tls.ts). It prints one JSON line,
 * `{"url": "http(s)://127.0.0.1:PORT", "control": "http://127.0.0.1:PORT"}`, once every
 * listener is up; `GET /_stats` on the control URL (plain HTTP, never throttled, not counted)
 * returns the {@link ProxyStats} so far.
 *
 * The model: every response waits one RTT before its first byte, and all bodies share one link
 * paced at the profile's bandwidth. A new connection costs more. On the plain profiles, the
 * first request on a connection waits two more RTTs (the TCP and TLS 1.3 handshakes plain
 * loopback HTTP skips). On the TLS profiles the handshakes are real and their cost is the
 * relay's (relay.ts): each origin is a TCP relay that admits new connections through a token
 * bucket and makes each wait two RTTs before piping it to the real server, which does the
 * handshake (so a client sees its TLS handshake done only once the connection is admitted).
 * The main origin is Deno.serve with TLS (ALPN h2 and http/1.1). The zip origin speaks
 * HTTP/1.1 only: behind its relay, a TLS listener offering ALPN http/1.1 alone pipes the plain
 * bytes to a plain Deno.serve.
 *
 * @module
 */
import { join, normalize, relative } from "node:path";
import {
  CONNECTION_BURST,
  CONNECTIONS_PER_SECOND,
  HANDSHAKE_RTTS,
  relay,
  TokenBucket,
} from "./relay.ts";

/** A simulated network between the contender and the proxy. */
export interface Profile {
  /** Round-trip time in milliseconds. */
  rttMs: number;
  /** Link bandwidth in bits per second shared by all responses; 0 for unlimited. */
  bitsPerSecond: number;
  /** Whether `.zip` requests are redirected (302) to a second origin. */
  redirectZips: boolean;
  /** Whether both origins speak HTTPS behind a relay that charges for new connections. */
  tls: boolean;
}

/** The benchmark's network profiles; `local` is the loopback as is, for floors and smoke runs. */
export const PROFILES: Record<string, Profile> = {
  local: { rttMs: 0, bitsPerSecond: 0, redirectZips: false, tls: false },
  near: { rttMs: 5, bitsPerSecond: 1e9, redirectZips: true, tls: false },
  "cross-region": { rttMs: 40, bitsPerSecond: 1e9, redirectZips: true, tls: false },
  far: { rttMs: 150, bitsPerSecond: 100e6, redirectZips: true, tls: false },
  "tls-near": { rttMs: 5, bitsPerSecond: 1e9, redirectZips: true, tls: true },
  "tls-cross-region": { rttMs: 40, bitsPerSecond: 1e9, redirectZips: true, tls: true },
};

/** Connections opened to each origin. */
export interface Connections {
  /** To the main (proxy) origin. */
  main: number;
  /** To the zip (redirect) origin. */
  zip: number;
}

/** Requests, bytes and connections served, summed over both origins. */
export interface ProxyStats {
  /** Requests answered, redirects included. */
  requests: number;
  /** Body bytes sent. */
  bytes: number;
  /**
   * Connections opened per origin: on the TLS profiles those the relay accepted, whether or
   * not a request came on them; on the plain ones, {@link ProxyStats.used}.
   */
  connections: Connections;
  /** Connections per origin that carried at least one request. */
  used: Connections;
}

/** The PEM files a TLS profile serves with. */
export interface ServerCertificate {
  /** Certificate file. */
  certFile: string;
  /** Private key file. */
  keyFile: string;
}

/** Where a running proxy listens. */
export interface ProxyUrls {
  /** The GOPROXY URL. */
  url: string;
  /** The control listener, for `/_stats`. */
  control: string;
}

const CHUNK = 64 * 1024;

/** Every file under `root`, by its path relative to `root`. */
async function readTree(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) files.set(relative(root, path), await Deno.readFile(path));
    }
  };
  await walk(root);
  return files;
}

/** Serves `root` with `profile` until the process is killed; `tls` is needed for TLS profiles. */
export async function serveMirror(
  root: string,
  profile: Profile,
  tls: ServerCertificate | null,
): Promise<ProxyUrls> {
  const tree = await readTree(root);
  const stats: ProxyStats = {
    requests: 0,
    bytes: 0,
    connections: { main: 0, zip: 0 },
    used: { main: 0, zip: 0 },
  };
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

  async function latency(clientPort: number, origin: keyof Connections) {
    const conn = `${origin} ${clientPort}`;
    let handshakes = 0;
    if (!seen.has(conn)) {
      seen.add(conn);
      stats.used[origin]++;
      if (!profile.tls) {
        stats.connections[origin]++;
        handshakes = HANDSHAKE_RTTS;
      }
    }
    if (profile.rttMs > 0) await sleep(profile.rttMs * (1 + handshakes));
  }

  function body(data: Uint8Array): ReadableStream<Uint8Array> {
    let sent = 0;
    return new ReadableStream({
      async pull(controller) {
        if (sent === data.length) {
          controller.close();
          return;
        }
        const chunk = data.subarray(sent, sent + CHUNK);
        sent += chunk.length;
        await pace(chunk.length);
        stats.bytes += chunk.length;
        controller.enqueue(chunk);
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
    clientPort: number,
    origin: keyof Connections,
    zipOrigin: string | null,
  ): Promise<Response> {
    const url = new URL(req.url);
    stats.requests++;
    await latency(clientPort, origin);
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
    const data = tree.get(rel);
    if (!data) return new Response("not found\n", { status: 404 });
    return new Response(body(data), {
      headers: { "content-type": contentType(rel), "content-length": String(data.length) },
    });
  }

  const quiet = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const control = Deno.serve(quiet, () => Response.json(stats));
  const controlUrl = `http://127.0.0.1:${control.addr.port}`;
  const redirect = (zipOrigin: string) => profile.redirectZips ? zipOrigin : null;
  if (!profile.tls) {
    const zip = Deno.serve(quiet, (req, info) => handle(req, info.remoteAddr.port, "zip", null));
    const zipOrigin = `http://127.0.0.1:${zip.addr.port}`;
    const main = Deno.serve(
      quiet,
      (req, info) => handle(req, info.remoteAddr.port, "main", redirect(zipOrigin)),
    );
    return { url: `http://127.0.0.1:${main.addr.port}`, control: controlUrl };
  }
  if (!tls) throw new Error("Bench proxy: a TLS profile needs a certificate and key");
  const pem = {
    cert: await Deno.readTextFile(tls.certFile),
    key: await Deno.readTextFile(tls.keyFile),
  };
  /** The public origin of a relay in front of `targetPort`, counting into `origin`. */
  const front = (targetPort: number, origin: keyof Connections) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    relay({
      listener,
      targetPort,
      handshakeMs: HANDSHAKE_RTTS * profile.rttMs,
      bucket: new TokenBucket(CONNECTIONS_PER_SECOND, CONNECTION_BURST),
      onAccept: () => stats.connections[origin]++,
    });
    return `https://127.0.0.1:${listener.addr.port}`;
  };
  const zip = Deno.serve(quiet, (req, info) => handle(req, info.remoteAddr.port, "zip", null));
  const terminator = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    ...pem,
    alpnProtocols: ["http/1.1"],
  });
  relay({ listener: terminator, targetPort: zip.addr.port, handshakeMs: 0, bucket: null });
  const zipOrigin = front(terminator.addr.port, "zip");
  const main = Deno.serve(
    { ...quiet, ...pem },
    (req, info) => handle(req, info.remoteAddr.port, "main", redirect(zipOrigin)),
  );
  return { url: front(main.addr.port, "main"), control: controlUrl };
}

if (import.meta.main) {
  const [root, name, certFile, keyFile] = Deno.args;
  const profile = PROFILES[name];
  if (!root || !profile || (profile.tls && !keyFile)) {
    console.error(
      `usage: proxy.ts ROOT PROFILE [CERT KEY] (profiles: ${Object.keys(PROFILES).join(", ")}; ` +
        "the tls- ones need CERT and KEY)",
    );
    Deno.exit(2);
  }
  const tls = keyFile ? { certFile, keyFile } : null;
  console.log(JSON.stringify(await serveMirror(root, profile, tls)));
}
