/**
 * Publishing a hand-built module zip in a GOPROXY tree, and the go.sum hashes for it computed
 * straight from the h1 definition (independently of `src/zip/dirhash.ts`), so that a test can give
 * goprefetch a go.sum that is right for a hostile zip.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { type StreamedEntry, writeStreamedZip } from "./raw_zip.ts";

/** One zip entry as the h1 sees it: the raw central-directory name and the inflated content. */
export interface HashedEntry {
  /** The entry name; bytes allow invalid UTF-8. */
  name: string | Uint8Array;
  /** The inflated content (default empty). */
  data?: string | Uint8Array;
  /** The content's lower-case hex SHA-256, instead of `data` (for content never held whole). */
  sha256?: string;
}

const encoder = new TextEncoder();

function bytes(value: string | Uint8Array | undefined): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value ?? new Uint8Array(0);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * The go.sum h1 of a zip with these entries: SHA-256 over the lines
 * `<hex sha256 of content>  <name>\n` sorted by name bytes, base64 with an `h1:` prefix.
 * Unlike go's dirhash it does not refuse names with a newline, so a test can still hand a
 * "matching" hash to a tool that forgets to.
 *
 * @example
 * ```ts
 * zipH1([{ name: "example.com/m@v1.0.0/go.mod", data: "module example.com/m\n" }]);
 * ```
 */
export function zipH1(entries: HashedEntry[]): string {
  const lines = entries
    .map((e) => ({
      name: bytes(e.name),
      sum: e.sha256 ?? createHash("sha256").update(bytes(e.data)).digest("hex"),
    }))
    .sort((a, b) => compareBytes(a.name, b.name));
  const summary = createHash("sha256");
  for (const { name, sum } of lines) {
    summary.update(`${sum}  `);
    summary.update(name);
    summary.update("\n");
  }
  return "h1:" + summary.digest("base64");
}

/**
 * The go.sum h1 of a go.mod file: {@linkcode zipH1} of the single name `go.mod`.
 *
 * @example
 * ```ts
 * goModH1("module example.com/m\n");
 * ```
 */
export function goModH1(goMod: string): string {
  return zipH1([{ name: "go.mod", data: goMod }]);
}

/**
 * Writes `zip` as `path@version` in the GOPROXY tree at `root`, with `goMod` as its `.mod`,
 * a `.info` and a `list`.
 *
 * @example
 * ```ts
 * await publishRawModule(root, "example.com/evil", "v1.0.0", goMod, rawZip(entries));
 * ```
 */
export async function publishRawModule(
  root: string,
  path: string,
  version: string,
  goMod: string,
  zip: Uint8Array,
): Promise<void> {
  await Deno.writeFile(await publishModuleFiles(root, path, version, goMod) + ".zip", zip);
}

/**
 * {@linkcode publishRawModule} with the zip streamed to disk by `writeStreamedZip`, for zips
 * too large to build in memory; returns the zip's go.sum h1.
 *
 * @example
 * ```ts
 * const h1 = await publishStreamedModule(root, "example.com/big", "v1.0.0", goMod, entries);
 * ```
 */
export async function publishStreamedModule(
  root: string,
  path: string,
  version: string,
  goMod: string,
  entries: StreamedEntry[],
): Promise<string> {
  const base = await publishModuleFiles(root, path, version, goMod);
  return zipH1(await writeStreamedZip(base + ".zip", entries));
}

/** Writes the `.info`, `.mod` and `list` of `path@version`; returns the files' base path. */
async function publishModuleFiles(
  root: string,
  path: string,
  version: string,
  goMod: string,
): Promise<string> {
  const dir = join(root, escapePath(path), "@v");
  const base = join(dir, escapeVersion(version));
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${base}.info`,
    JSON.stringify({ Version: version, Time: "2024-01-02T03:04:05Z" }) + "\n",
  );
  await Deno.writeTextFile(`${base}.mod`, goMod);
  await Deno.writeTextFile(join(dir, "list"), `${version}\n`);
  return base;
}
