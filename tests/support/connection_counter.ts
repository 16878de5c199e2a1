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
  /** Stops listening, drops every connection and waits until the listener is closed. */
  close(): Promise<void>;
}

/**
 * Forwards a new 127.0.0.1 port to `target`'s (an http or https URL on 127.0.0.1), byte for
 * byte, counting the connections accepted. TLS goes through untouched, so a certificate for
 * 127.0.0.1 still matches.
 *
 * @example
 * ```ts
 * const counted = await countConnections(proxy.url);
 * // GOPROXY=counted.url … then: assert.ok(counted.opened <= 4)
 * ```
 */
export async function countConnections(target: string): Promise<ConnectionCounter> {
  const to = new URL(target);
  const sockets = new Set<net.Socket>();
  let opened = 0;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    opened++;
    const upstream = net.connect(Number(to.port), to.hostname);
    track(client);
    track(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.href.replace(/\/$/, ""),
    get opened() {
      return opened;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
