/**
 * A local GOPROXY over HTTP on 127.0.0.1 that serves a tree written by `writeProxyTree`, with
 * a hook for injecting faults.
 *
 * @module
 */

import { extname, join } from "node:path";

/** A running proxy; `requests` lists the percent-decoded paths asked for, in order. */
export interface ProxyServer {
  /** The base URL to put in GOPROXY, e.g. `http://127.0.0.1:43210`. */
  url: string;
  /** The decoded request paths, e.g. `/example.com/!upper/@v/v1.0.0-!r!c1.zip`. */
  requests: string[];
  /** The most requests answered at once so far: from arrival until the response is handed over. */
  readonly peakInFlight: number;
  /** Stops the server and waits until it has shut down. */
  close(): Promise<void>;
}

/**
 * Overrides the answer to a request by returning a Response; `undefined`, or a promise of it
 * (to hold the request first), serves it normally.
 */
export type Fault = (
  req: Request,
  decodedPath: string,
) => Response | Promise<Response | undefined> | undefined;

const CONTENT_TYPES: Record<string, string> = {
  ".info": "application/json",
  ".mod": "text/plain; charset=utf-8",
  ".zip": "application/zip",
};

function notFound(): Response {
  return new Response("not found\n", {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/**
 * The answer for `decodedPath` (e.g. `/example.com/@v/v1.0.0.mod`) from the tree at `root`: the
 * file with its content type, or a 404 for a missing file or a path that leaves the tree.
 *
 * @example
 * ```ts
 * const res = await serveFile(root, "/example.com/a/@v/list");
 * ```
 */
export async function serveFile(root: string, decodedPath: string): Promise<Response> {
  const segments = decodedPath.split("/").slice(1);
  if (segments.some((s) => s === "" || s === "." || s === "..")) return notFound();
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await Deno.readFile(join(root, ...segments));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) {
      return notFound();
    }
    throw err;
  }
  const type = CONTENT_TYPES[extname(decodedPath)] ?? "text/plain; charset=utf-8";
  return new Response(body, { headers: { "content-type": type } });
}

/**
 * Serves the GOPROXY tree at `root` on 127.0.0.1 (a free port), over https when `tls` gives a
 * certificate and key (PEM). Request paths are percent-decoded, so the go command's `%21` finds
 * the literal `!` on disk; missing files get a 404 with a text/plain body. `delayMs` holds
 * every answer back that long. Close the server before the test ends.
 *
 * @example
 * ```ts
 * const proxy = await serveProxy(root);
 * try {
 *   await runGo(["mod", "download"], { cwd, env: goEnv({ home, gomodcache, goproxy: proxy.url }) });
 * } finally {
 *   await proxy.close();
 * }
 * ```
 */
export function serveProxy(
  root: string,
  opts: { fault?: Fault; tls?: { cert: string; key: string }; delayMs?: number } = {},
): Promise<ProxyServer> {
  const requests: string[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const tls = opts.tls && { cert: opts.tls.cert, key: opts.tls.key };
  const listen = { hostname: "127.0.0.1", port: 0, onListen: resolve, ...tls };
  const server = Deno.serve(listen, async (req) => {
    let decodedPath: string;
    try {
      decodedPath = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return notFound();
    }
    requests.push(decodedPath);
    peakInFlight = Math.max(peakInFlight, ++inFlight);
    try {
      if (opts.delayMs) await new Promise((resolve) => setTimeout(resolve, opts.delayMs));
      return await opts.fault?.(req, decodedPath) ?? await serveFile(root, decodedPath);
    } finally {
      inFlight--;
    }
  });
  return promise.then((addr) => ({
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${addr.port}`,
    requests,
    get peakInFlight() {
      return peakInFlight;
    },
    close: () => server.shutdown(),
  }));
}
