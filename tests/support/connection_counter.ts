/**
 * A TCP forwarder on 127.0.0.1 that counts the connections clients open, to put in front of a
 * local proxy. A server's handler sees only connections that carried a request; a client that
 * opens spare connections (and drops them once another one turns out to be HTTP/2) is seen
 * only here, as `strace -e trace=connect` would see it.
 *
 * @module
 */
import net from "node:net";

/** A running forwarder. */
export interface ConnectionCounter {
  /** The target URL with the forwarder's port, e.g. `https://127.0.0.1:43210`. */
  url: string;
  /** TCP connections accepted so far. */
  readonly opened: number;
  /** Each connection accepted, in order: when (`performance.now()`), and bytes sent up by the client. */
  readonly connections: readonly { acceptedAt: number; bytesUp: number }[];
  /** When the first byte from a server was passed on to a client, if one was. */
  readonly firstAnswerAt: number | undefined;
  /** Stops listening, drops every connection and waits until the listener is closed. */
  close(): Promise<void>;
}

/**
 * Forwards a new 127.0.0.1 port to `target`'s (an http or https URL on 127.0.0.1), byte for
 * byte, counting the connections accepted. TLS goes through untouched, so a certificate for
 * 127.0.0.1 still matches. `route` may send the n-th connection (from 1) elsewhere: to another
 * such URL, as a balancer with unlike backends does, or nowhere (undefined: it is closed as soon
 * as it is accepted, as a front end that is restarting or shedding load does). With `delayMs`,
 * what servers send reaches clients that much later, as across a network.
 *
 * @example
 * ```ts
 * const counted = await countConnections(proxy.url);
 * // GOPROXY=counted.url … then: assert.ok(counted.opened <= 4)
 * ```
 */
export async function countConnections(
  target: string,
  opts: { route?: (n: number) => string | undefined; delayMs?: number } = {},
): Promise<ConnectionCounter> {
  const sockets = new Set<net.Socket>();
  const connections: { acceptedAt: number; bytesUp: number }[] = [];
  let firstAnswerAt: number | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (f: () => void) => {
    const id = setTimeout(() => {
      timers.delete(id);
      f();
    }, opts.delayMs);
    timers.add(id);
  };
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    const seen = { acceptedAt: performance.now(), bytesUp: 0 };
    connections.push(seen);
    const to = opts.route ? opts.route(connections.length) : target;
    if (to === undefined) return client.destroy();
    const { port, hostname } = new URL(to);
    const upstream = net.connect(Number(port), hostname);
    track(client);
    track(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("data", (bytes: Uint8Array) => seen.bytesUp += bytes.length);
    client.pipe(upstream);
    const answer = (bytes: Uint8Array) => {
      firstAnswerAt ??= performance.now();
      if (!client.write(bytes)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    };
    upstream.on(
      "data",
      (bytes: Uint8Array) => opts.delayMs ? later(() => answer(bytes)) : answer(bytes),
    );
    upstream.on("end", () => opts.delayMs ? later(() => client.end()) : client.end());
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.href.replace(/\/$/, ""),
    get opened() {
      return connections.length;
    },
    connections,
    get firstAnswerAt() {
      return firstAnswerAt;
    },
    close: () => {
      for (const id of timers) clearTimeout(id);
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running HTTP/1.1-only TLS front. */
export interface Http1TlsFront {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** TLS connections accepted so far. */
  readonly opened: number;
  /** Of those, the ones that carried a request (sent a byte after the handshake). */
  readonly used: number;
  /** Stops listening, drops every connection and waits until the listener is closed. */
  close(): Promise<void>;
}

/** A moment a front stops listening: after accepting `after` connections, for `ms`. */
export interface Outage {
  /** Connections accepted before the front stops listening. */
  after: number;
  /** How long it does not listen. */
  ms: number;
}

/**
 * Serves `target` (a plain http URL on 127.0.0.1) over TLS with ALPN `http/1.1` only, as a
 * storage front end that a proxy redirects zips to may. New connections are admitted one per
 * `delayMs`, after their handshake, as front ends bound the connections they accept and a
 * connection across a real network costs round trips; the front counts the connections opened
 * and those used. With `outage`, the front stops listening once it has accepted `after`
 * connections, and listens again on the same port `ms` later: connections meanwhile are refused.
 *
 * @example
 * ```ts
 * const front = serveHttp1Tls(plain.url, tls, 30);
 * // redirect zips to front.url … then: assert.ok(front.opened <= front.used + 1)
 * ```
 */
export function serveHttp1Tls(
  target: string,
  tls: { cert: string; key: string },
  delayMs: number,
  outage?: Outage,
): Http1TlsFront {
  const to = new URL(target);
  const listen = (port: number) =>
    Deno.listenTls({
      hostname: "127.0.0.1",
      port,
      cert: tls.cert,
      key: tls.key,
      alpnProtocols: ["http/1.1"],
    });
  let listener = listen(0);
  const port = listener.addr.port;
  const conns = new Set<Deno.Conn>();
  let opened = 0;
  let used = 0;
  let admitted = Promise.resolve();
  const pipe = async (from: Deno.Conn, to: Deno.Conn, first?: () => void) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await from.read(buf)) !== null;) {
        first?.();
        first = undefined;
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // a side closed: the other is closed below
    }
    closeQuietly(from);
    closeQuietly(to);
  };
  const serve = async (client: Deno.TlsConn) => {
    opened++;
    conns.add(client);
    try {
      await client.handshake();
      const turn = admitted.then(() => new Promise<void>((r) => setTimeout(r, delayMs)));
      admitted = turn;
      await turn;
      const upstream = await Deno.connect({ hostname: to.hostname, port: Number(to.port) });
      conns.add(upstream);
      await Promise.all([pipe(client, upstream, () => used++), pipe(upstream, client)]);
    } catch {
      closeQuietly(client);
    }
  };
  const serving = new Set<Promise<void>>();
  let closed = false;
  const acceptAll = async (from: Deno.TlsListener) => {
    try {
      for await (const client of from) {
        const done = serve(client).finally(() => serving.delete(done));
        serving.add(done);
        if (opened !== outage?.after) continue;
        from.close();
        await new Promise((resolve) => setTimeout(resolve, outage.ms));
        if (closed) return;
        listener = listen(port);
        return acceptAll(listener);
      }
    } catch {
      // the listener was closed
    }
  };
  const accepting = acceptAll(listener);
  return {
    url: `https://127.0.0.1:${port}`,
    get opened() {
      return opened;
    },
    get used() {
      return used;
    },
    close: async () => {
      closed = true;
      closeQuietly(listener);
      for (const c of conns) closeQuietly(c);
      await accepting;
      await Promise.allSettled(serving);
      for (const c of conns) closeQuietly(c);
    },
  };
}

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
