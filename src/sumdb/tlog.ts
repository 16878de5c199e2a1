/**
 * The Merkle tree of a transparency log, as `golang.org/x/mod/sumdb/tlog` defines it
 * (RFC 6962 hashing): record and node hashes, the dense "stored hash index" numbering of the
 * tree's nodes, tree hashes, and the text forms of a tree head and of a lookup record.
 *
 * Indexes are plain numbers, exact up to 2^53, far beyond any checksum database's size.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A SHA-256 hash of a record or a node, 32 bytes. */
export type Hash = Uint8Array;

/** Bytes in a {@link Hash}. */
export const HASH_SIZE = 32;

/** The size and root hash of a log's tree. */
export interface Tree {
  /** Number of records. */
  n: number;
  /** The root hash. */
  hash: Hash;
}

/** Reads the hashes at the given stored hash indexes, in order. */
export type HashReader = (indexes: number[]) => Promise<Hash[]>;

/** A tree note or record that does not parse. */
export class TlogFormatError extends Error {
  /** `"TlogFormatError"`. */
  override name = "TlogFormatError";
}

/** `x * 2^k`, exact for the sizes a log reaches. */
export function shl(x: number, k: number): number {
  return x * 2 ** k;
}

/** `floor(x / 2^k)`, exact for the sizes a log reaches. */
export function shr(x: number, k: number): number {
  return Math.floor(x / 2 ** k);
}

/** The hash of a record: SHA-256(0x00 || data). */
export function recordHash(data: Uint8Array): Hash {
  return new Uint8Array(createHash("sha256").update(new Uint8Array([0])).update(data).digest());
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return new Uint8Array(
    createHash("sha256").update(new Uint8Array([1])).update(left).update(right).digest(),
  );
}

/**
 * Maps the node at `level` numbered `n` within its level to its place in the log's dense
 * hash storage order (tlog's `StoredHashIndex`).
 *
 * @example
 * ```ts
 * import { storedHashIndex } from "./tlog.ts";
 * storedHashIndex(1, 0); // 2: records 0 and 1 come first, then their parent
 * ```
 */
export function storedHashIndex(level: number, n: number): number {
  for (let l = level; l > 0; l--) n = 2 * n + 1;
  let i = 0;
  for (; n > 0; n = shr(n, 1)) i += n;
  return i + level;
}

/** The inverse of {@link storedHashIndex}: `[level, n]`. */
export function splitStoredHashIndex(index: number): [number, number] {
  let n = shr(index, 1);
  let indexN = storedHashIndex(0, n);
  for (;;) {
    const x = indexN + 1 + trailingZeros(n + 1);
    if (x > index) break;
    n++;
    indexN = x;
  }
  const level = index - indexN;
  return [level, shr(n, level)];
}

function trailingZeros(x: number): number {
  let k = 0;
  for (; x % 2 === 0; x /= 2) k++;
  return k;
}

/** The largest power of two below `n`, as `[2^l, l]`. */
function maxPow2(n: number): [number, number] {
  let l = 0;
  while (2 ** (l + 1) < n) l++;
  return [2 ** l, l];
}

/** The stored hash indexes of the complete subtrees that make up records `[lo, hi)`. */
export function subTreeIndex(lo: number, hi: number): number[] {
  const need: number[] = [];
  while (lo < hi) {
    const [k, level] = maxPow2(hi - lo + 1);
    need.push(storedHashIndex(level, shr(lo, level)));
    lo += k;
  }
  return need;
}

/** The hash of the tree of no records: SHA-256 of nothing. */
export const EMPTY_TREE_HASH: Hash = new Uint8Array(createHash("sha256").digest());

/**
 * The root hash of the tree of the first `n` records, from the subtree hashes `read` returns.
 *
 * @example
 * ```ts
 * import { EMPTY_TREE_HASH, treeHash } from "./tlog.ts";
 * await treeHash(0, () => Promise.resolve([])); // EMPTY_TREE_HASH
 * ```
 */
export async function treeHash(n: number, read: HashReader): Promise<Hash> {
  if (n === 0) return EMPTY_TREE_HASH;
  const hashes = await read(subTreeIndex(0, n));
  let h = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i], h);
  return h;
}

/**
 * Parses the text of a signed tree note, `go.sum database tree\n<N>\n<base64 hash>\n`
 * (later lines are ignored, as tlog's `ParseTree` does).
 *
 * @throws {TlogFormatError} when the text is not a tree head.
 */
export function parseTree(text: string): Tree {
  const lines = text.split("\n");
  const bad = () => new TlogFormatError("malformed tree note");
  if (!text.startsWith("go.sum database tree\n") || lines.length < 4 || text.length > 1e6) {
    throw bad();
  }
  if (!/^(0|[1-9]\d*)$/.test(lines[1]) || !Number.isSafeInteger(Number(lines[1]))) throw bad();
  const hash = decodeBase64(lines[2]);
  if (hash?.length !== HASH_SIZE) throw bad();
  return { n: Number(lines[1]), hash };
}

/** The record of a `/lookup` answer: its id, its text, and the signed tree note after it. */
export interface LookupRecord {
  /** The record's number in the log. */
  id: number;
  /** Its text: go.sum lines, each ending in a newline. */
  text: Uint8Array;
  /** What follows the record's blank line: the signed tree note. */
  rest: Uint8Array;
}

/**
 * Parses a `/lookup` answer as tlog's `ParseRecord` does: `<id>\n`, the record text, a blank
 * line, then the rest.
 *
 * @throws {TlogFormatError} when the answer is not a record.
 */
export function parseRecord(msg: Uint8Array): LookupRecord {
  const bad = () => new TlogFormatError("malformed record data");
  const eol = msg.indexOf(0x0a);
  if (eol < 0) throw bad();
  const idText = new TextDecoder().decode(msg.subarray(0, eol));
  if (!/^\d+$/.test(idText) || !Number.isSafeInteger(Number(idText))) throw bad();
  const body = msg.subarray(eol + 1);
  const blank = indexOfBlankLine(body);
  if (blank < 0) throw bad();
  const text = body.subarray(0, blank + 1);
  if (!isValidRecordText(text)) throw bad();
  return { id: Number(idText), text, rest: body.subarray(blank + 2) };
}

function indexOfBlankLine(data: Uint8Array): number {
  for (let i = data.indexOf(0x0a); i >= 0 && i + 1 < data.length; i = data.indexOf(0x0a, i + 1)) {
    if (data[i + 1] === 0x0a) return i;
  }
  return -1;
}

/** Valid UTF-8, no control characters but newlines, no blank line, ending in a newline. */
function isValidRecordText(text: Uint8Array): boolean {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(text);
  } catch {
    return false;
  }
  return s.endsWith("\n") && !s.includes("\n\n") && !hasControlCharacters(s);
}

/** Whether `s` holds an ASCII control character other than newline. */
export function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Standard base64 (with padding) to bytes, or undefined when it is not. */
export function decodeBase64(s: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return undefined;
  return Uint8Array.fromBase64(s);
}
