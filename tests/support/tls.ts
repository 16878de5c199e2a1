/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1, made with
 * `openssl`, so tests can serve a GOPROXY over https that the go command (SSL_CERT_FILE) and
 * goprefetch (DENO_CERT) both trust; the benchmark's TLS profiles use it too.
 *
 * @module
 */

import { join } from "node:path";

/** PEM files and texts of a test CA and of a 127.0.0.1 certificate it signed. */
export interface TestCertificates {
  /** The CA certificate file, for SSL_CERT_FILE and DENO_CERT. */
  caFile: string;
  /** The server certificate file (the benchmark's proxy reads it). */
  certFile: string;
  /** The server key file. */
  keyFile: string;
  /** The server certificate, PEM text. */
  cert: string;
  /** The server key, PEM text. */
  key: string;
}

/**
 * Writes a CA and a server certificate for IP 127.0.0.1 and `localhost` into `dir` (two days
 * valid, P-256 keys; a few tens of milliseconds).
 *
 * @throws {Error} with openssl's output if a step fails.
 * @example
 * ```ts
 * const tls = await makeTestCertificates(tmp);
 * const proxy = await serveProxy(root, { tls });
 * ```
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  await Deno.writeTextFile(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = ["-keyout", file("ca.key"), "-out", file("ca.pem"), "-subj", "/CN=goprefetch CA"];
  await openssl(["req", "-x509", ...newKey, ...ca, "-days", "2"]);
  const csr = ["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"];
  await openssl(["req", ...newKey, ...csr]);
  const signer = ["-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial"];
  const server = ["-in", file("server.csr"), "-out", file("server.pem"), "-days", "2"];
  await openssl(["x509", "-req", ...signer, ...server, "-extfile", file("server.ext")]);
  return {
    caFile: file("ca.pem"),
    certFile: file("server.pem"),
    keyFile: file("server.key"),
    cert: await Deno.readTextFile(file("server.pem")),
    key: await Deno.readTextFile(file("server.key")),
  };
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}
