/**
 * A GOPROXY over HTTPS with HTTP/2 that ends each connection after so many requests, as front
 * ends do (nginx's `keepalive_requests`, load balancers that rotate connections): on the request
 * that reaches the count it sends GOAWAY, lets the requests under way finish, and takes no new
 * ones on that connection, so a client must open another. `node:http2` serves it, in a process
 * of its own, since Deno.serve has no such limit.
 *
 * Run alone: `deno run --allow-net=127.0.0.1 --allow-read goaway_server.ts ROOT EVERY CERT KEY`;
 * it prints `{"url": …}` once it listens.
 *
 * @module
 */
import http2 from "node:http2";
import { serveFile } from "./proxy_server.ts";

/** A running server. */
export interface GoawayServer {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** Stops the server's process. */
  close(): Promise<void>;
}

/**
 * Serves the GOPROXY tree at `root` with the certificate and key files of `tls`, sending GOAWAY
 * on every connection's `every`-th request.
 *
 * @example
 * ```ts
 * const server = await serveGoaway(box.proxyRoot, tls, 20);
 * // GOPROXY=server.url … then: await server.close();
 * ```
 */
export async function serveGoaway(
  root: string,
  tls: { certFile: string; keyFile: string },
  every: number,
): Promise<GoawayServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      "--allow-read",
      import.meta.filename!,
      root,
      String(every),
      tls.certFile,
      tls.keyFile,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const output = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = output.getReader();
  let url: string;
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`GOAWAY server exited before listening: ${text}`);
      text += value;
    }
    url = JSON.parse(text.split("\n")[0]).url;
  } catch (e) {
    child.kill();
    throw e;
  }
  reader.releaseLock();
  return {
    url,
    close: async () => {
      child.kill();
      await child.status;
      await output.cancel();
    },
  };
}

if (import.meta.main) {
  const [root, every, certFile, keyFile] = Deno.args;
  const server = http2.createSecureServer({
    cert: Deno.readTextFileSync(certFile),
    key: Deno.readTextFileSync(keyFile),
  });
  server.on("session", (session) => {
    let requests = 0;
    session.on("stream", () => {
      if (++requests === Number(every)) session.goaway();
    });
  });
  server.on("request", async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "https://127.0.0.1").pathname);
    const answer = await serveFile(root, path);
    const body = new Uint8Array(await answer.arrayBuffer());
    res.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "",
      "content-length": String(body.length),
    });
    res.end(body);
  });
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number };
    console.log(JSON.stringify({ url: `https://127.0.0.1:${port}` }));
  });
}
