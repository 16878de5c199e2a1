/**
 * The cost of a new connection, for the proxy's TLS profiles: a TCP relay in front of a TLS
 * origin. Each accepted connection first waits for a token of the origin's admission bucket
 * (front ends limit new connections per second; a connection over budget waits, it is not
 * refused), then for the handshakes' round trips (TCP and TLS 1.3: two RTTs), and only then
 * is piped both ways to the real server on an internal port. Requests on an established
 * connection pay nothing here: the proxy charges every response its one RTT.
 *
 * @module
 */

/** New connections an origin admits per second, once its burst is spent. */
export const CONNECTIONS_PER_SECOND = 20;
/** New connections an origin admits at once. */
export const CONNECTION_BURST = 10;
/** Round trips a new connection costs before its first request: TCP, then TLS 1.3. */
export const HANDSHAKE_RTTS = 2;

const CHUNK = 64 * 1024;

/**
 * A token bucket that never refuses: {@link TokenBucket.take} resolves when the caller's token
 * is due. Tokens owed by waiters are counted as a negative balance, so waiters go in order.
 */
export class TokenBucket {
  #tokens: number;
  #at = performance.now();

  /** A full bucket of `burst` tokens refilled at `perSecond`. */
  constructor(readonly perSecond: number, readonly burst: number) {
    this.#tokens = burst;
  }

  /** Takes one token, waiting until it is there. */
  async take(): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
    this.#tokens -= 1;
    if (this.#tokens < 0) await sleep((-this.#tokens * 1000) / this.perSecond);
  }
}

/** What a relay needs: where to listen, where to pipe, and the cost of a new connection. */
export interface RelayOptions {
  /** The listener; a TLS listener's connections are piped once their handshake is done. */
  listener: Deno.Listener<Deno.Conn> | Deno.TlsListener;
  /** The internal port on 127.0.0.1 of the server behind. */
  targetPort: number;
  /** The wait before a new connection is piped, in ms (the handshakes' round trips). */
  handshakeMs: number;
  /** The origin's admission bucket; null admits every connection at once. */
  bucket: TokenBucket | null;
  /** Called once per accepted connection. */
  onAccept?(): void;
}

/** Accepts connections on `options.listener` until it closes, and relays each of them. */
export async function relay(options: RelayOptions): Promise<void> {
  for await (const conn of options.listener) {
    options.onAccept?.();
    relayOne(conn, options).catch(() => conn.close());
  }
}

async function relayOne(conn: Deno.Conn | Deno.TlsConn, options: RelayOptions): Promise<void> {
  await options.bucket?.take();
  if (options.handshakeMs > 0) await sleep(options.handshakeMs);
  if ("handshake" in conn) await conn.handshake();
  const server = await Deno.connect({ hostname: "127.0.0.1", port: options.targetPort });
  const close = () => {
    for (const c of [conn, server]) {
      try {
        c.close();
      } catch {
        // Closed already: the other direction's failure got there first.
      }
    }
  };
  await Promise.all([pump(conn, server).catch(close), pump(server, conn).catch(close)]);
  close();
}

/** Copies `from` to `to` until `from` ends, then half-closes `to`. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(CHUNK);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) break;
    for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
  }
  await to.closeWrite();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
