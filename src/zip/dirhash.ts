/**
 * The h1 hash of golang.org/x/mod/sumdb/dirhash (`Hash1`), used in go.sum lines,
 * in `.ziphash` files and for go.mod files, and its `HashZip` and `HashDir`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EntryInflater, fileSource, readCentralDirectory } from "./zip_reader.ts";

/** A file's name (as hashed: for a module zip, the raw entry name) and the SHA-256 of its content. */
export interface HashedFile {
  /** The name that goes into the summary line. */
  name: string;
  /** Lower-case hex SHA-256 of the file's content. */
  sha256: string;
}

/** The h1 of an empty go.mod file; go drops go.sum lines that carry it. */
export const EMPTY_GO_MOD_HASH = "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=";

/** SHA-256 of the empty string, the content hash of a directory entry in a module zip. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const encoder = new TextEncoder();

/** Lower-case hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Computes `Hash1`: sorts the names in byte order, hashes the lines
 * `<sha256>  <name>\n` and returns `h1:` plus the base64 of that SHA-256.
 *
 * @example
 * ```ts
 * import { hash1 } from "jsr:@goprefetch/cli";
 * const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; // SHA-256 of ""
 * hash1([{ name: "example.com/m@v1.0.0/go.mod", sha256: empty }]);
 * // "h1:IaJDGem2qpElLHelmIBrbMuftbYEY03Ck1jK2hKu+wY="
 * ```
 */
export function hash1(files: HashedFile[]): string {
  const sorted = files.map((f) => ({ key: encoder.encode(f.name), file: f }));
  sorted.sort((a, b) => compareBytes(a.key, b.key));
  const summary = createHash("sha256");
  for (const { file } of sorted) {
    if (file.name.includes("\n")) {
      throw new Error(`dirhash: file name ${JSON.stringify(file.name)} contains a newline`);
    }
    summary.update(`${file.sha256}  ${file.name}\n`);
  }
  return "h1:" + summary.digest("base64");
}

/**
 * The h1 of a go.mod file as go.sum records it on a `path version/go.mod` line.
 *
 * @example
 * ```ts
 * import { hashGoMod } from "jsr:@goprefetch/cli";
 * hashGoMod(new TextEncoder().encode("module example.com/m\n"));
 * // "h1:flS2VctbRrTv+sBE+VKgxx6hlkMGPVz9MGOmzMYFg3k="
 * ```
 */
export function hashGoMod(bytes: Uint8Array): string {
  return hash1([{ name: "go.mod", sha256: sha256Hex(bytes) }]);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * dirhash's `HashZip`: the h1 of a zip file's entries, each under its raw name (directory
 * entries hash as empty files), as `go mod verify` recomputes it for a cached `.zip`.
 *
 * @throws {ZipFormatError} if the file is not a valid zip or an entry fails to inflate.
 * @example
 * ```ts
 * import { hashZipFile } from "./dirhash.ts";
 * const h1 = hashZipFile("/home/me/go/pkg/mod/cache/download/example.com/m/@v/v1.0.0.zip");
 * ```
 */
export function hashZipFile(file: string): string {
  using f = Deno.openSync(file, { read: true });
  const source = fileSource(f, f.statSync().size);
  const entries = readCentralDirectory(source);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const digests = new Map<string, string>();
  const inflater = new EntryInflater();
  for (const [name, entry] of byName) {
    if (name.endsWith("/") && entry.compressedSize === 0) {
      digests.set(name, EMPTY_SHA256);
      continue;
    }
    const hash = createHash("sha256");
    inflater.inflate(source, entry, (chunk) => hash.update(chunk));
    digests.set(name, hash.digest("hex"));
  }
  return hash1(entries.map((e) => ({ name: e.name, sha256: digests.get(e.name)! })));
}

/**
 * dirhash's `HashDir`: the h1 of every file under `dir` that is not a directory (symbolic
 * links are not followed while walking, but are read through), named `prefix/` plus its
 * slash-separated path, as `go mod verify` recomputes it for an extracted module.
 *
 * @example
 * ```ts
 * import { hashDir } from "./dirhash.ts";
 * const h1 = hashDir("/home/me/go/pkg/mod/example.com/m@v1.0.0", "example.com/m@v1.0.0");
 * ```
 */
export function hashDir(dir: string, prefix: string): string {
  const files: HashedFile[] = [];
  const buffer = new Uint8Array(256 * 1024);
  const walk = (abs: string, rel: string): void => {
    for (const e of Deno.readDirSync(abs)) {
      const childAbs = join(abs, e.name);
      const childRel = `${rel}/${e.name}`;
      if (e.isDirectory) walk(childAbs, childRel);
      else files.push({ name: prefix + childRel, sha256: fileDigest(childAbs, buffer) });
    }
  };
  walk(dir, "");
  return hash1(files);
}

function fileDigest(file: string, buffer: Uint8Array): string {
  const hash = createHash("sha256");
  using f = Deno.openSync(file, { read: true });
  for (let n = f.readSync(buffer); n !== null; n = f.readSync(buffer)) {
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}
