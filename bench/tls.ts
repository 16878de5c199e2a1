/**
 * The benchmark's throwaway certificate authority: a CA and a certificate for 127.0.0.1 that it
 * signed, made with `openssl` at bench start. The proxy serves the TLS profiles with the
 * certificate; contenders trust the CA through DENO_CERT (Deno) or SSL_CERT_FILE (go, Rust).
 * The recipe is tests/support/tls.ts's, kept here so that the benchmark does not import tests.
 *
 * @module
 */
import { join } from "node:path";

/** PEM files of a test CA and of a 127.0.0.1 server certificate it signed. */
export interface BenchCertificates {
  /** The CA certificate, for DENO_CERT and SSL_CERT_FILE. */
  caFile: string;
  /** The server certificate. */
  certFile: string;
  /** The server's private key. */
  keyFile: string;
}

/**
 * Writes a CA and a server certificate for IP 127.0.0.1 and `localhost` into `dir` (two days
 * valid, P-256 keys).
 *
 * @throws {Error} with openssl's output if a step fails.
 * @example
 * ```ts
 * import { makeCertificates } from "./tls.ts";
 * const certs = await makeCertificates(await Deno.makeTempDir());
 * console.log(certs.caFile);
 * ```
 */
export async function makeCertificates(dir: string): Promise<BenchCertificates> {
  const file = (name: string) => join(dir, name);
  await Deno.writeTextFile(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = ["-keyout", file("ca.key"), "-out", file("ca.pem"), "-subj", "/CN=bench CA"];
  await openssl(["req", "-x509", ...newKey, ...ca, "-days", "2"]);
  const csr = ["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"];
  await openssl(["req", ...newKey, ...csr]);
  const signer = ["-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial"];
  const server = ["-in", file("server.csr"), "-out", file("server.pem"), "-days", "2"];
  await openssl(["x509", "-req", ...signer, ...server, "-extfile", file("server.ext")]);
  return { caFile: file("ca.pem"), certFile: file("server.pem"), keyFile: file("server.key") };
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(
      `bench/tls.ts: openssl ${args[0]} failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
}
