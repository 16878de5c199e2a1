/**
 * Signed notes, as `golang.org/x/mod/sumdb/note` defines them: verifier keys
 * (`name+hash+base64(0x01 || Ed25519 public key)`) and `note.Open`, which checks that a note
 * (text, a blank line, `— name base64(keyhash || signature)` lines) carries a valid signature
 * by a known key.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { decodeBase64, hasControlCharacters } from "./tlog.ts";

/** A malformed key or note, or a note that is not validly signed. */
export class SignedNoteError extends Error {
  /** `"SignedNoteError"`. */
  override name = "SignedNoteError";
}

/** A parsed verifier key. */
export interface Verifier {
  /** The key's name (the checksum database's name). */
  name: string;
  /** The first four bytes of SHA-256(name + "\n" + 0x01 + key), as a number. */
  hash: number;
  /** The raw Ed25519 public key. */
  publicKey: Uint8Array<ArrayBuffer>;
}

/**
 * Parses a verifier key as `note.NewVerifier` does.
 *
 * @throws {SignedNoteError} when the key is malformed, not Ed25519, or its hash is wrong.
 * @example
 * ```ts
 * import { parseVerifierKey } from "./signed_note.ts";
 * parseVerifierKey("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8").name;
 * // "sum.golang.org"
 * ```
 */
export function parseVerifierKey(vkey: string): Verifier {
  const [name, rest = ""] = splitOnce(vkey, "+");
  const [hashHex, data] = splitOnce(rest, "+");
  const key = decodeBase64(data ?? "");
  if (!/^[0-9a-fA-F]{8}$/.test(hashHex) || !key?.length || !isValidName(name)) {
    throw new SignedNoteError("malformed verifier id");
  }
  const hash = parseInt(hashHex, 16);
  if (keyHash(name, key) !== hash) throw new SignedNoteError("invalid verifier hash");
  if (key[0] !== 1) throw new SignedNoteError("unknown verifier algorithm");
  if (key.length !== 33) throw new SignedNoteError("malformed verifier id");
  return { name, hash, publicKey: new Uint8Array(key.subarray(1)) };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function isValidName(name: string): boolean {
  return name !== "" && !/\s/u.test(name) && !name.includes("+");
}

function keyHash(name: string, key: Uint8Array): number {
  return createHash("sha256").update(name + "\n").update(key).digest().readUInt32BE(0);
}

/**
 * Opens a signed note as `note.Open` does with one known verifier: the note must be valid
 * UTF-8 without control characters but newlines, end in signature lines after a blank line,
 * and carry at least one signature by `verifier`, every one of which must be valid.
 * Signatures by other keys are ignored. Returns the note's text (up to the blank line).
 *
 * @throws {SignedNoteError} when the note is malformed or not validly signed by `verifier`.
 */
export async function openNote(msg: Uint8Array, verifier: Verifier): Promise<string> {
  let note: string;
  try {
    note = new TextDecoder("utf-8", { fatal: true }).decode(msg);
  } catch {
    throw new SignedNoteError("malformed note");
  }
  if (hasControlCharacters(note)) throw new SignedNoteError("malformed note");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new SignedNoteError("malformed note");
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (!sigs.endsWith("\n")) throw new SignedNoteError("malformed note");
  const lines = sigs.slice(0, -1).split("\n");
  if (lines.length > 100) throw new SignedNoteError("malformed note");
  const publicKey = await crypto.subtle.importKey("raw", verifier.publicKey, "Ed25519", false, [
    "verify",
  ]);
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith("\u2014 ")) throw new SignedNoteError("malformed note");
    const [name, b64 = ""] = splitOnce(line.slice(2), " ");
    const sig = decodeBase64(b64);
    if (sig === undefined || !isValidName(name) || b64 === "" || sig.length < 5) {
      throw new SignedNoteError("malformed note");
    }
    const hash = new DataView(sig.buffer, sig.byteOffset).getUint32(0);
    if (name !== verifier.name || hash !== verifier.hash) continue;
    const ok = sig.length === 68 && await crypto.subtle.verify(
      "Ed25519",
      publicKey,
      new Uint8Array(sig.subarray(4)),
      new TextEncoder().encode(text),
    );
    if (!ok) {
      throw new SignedNoteError(
        `invalid signature for key ${name}+${hash.toString(16).padStart(8, "0")}`,
      );
    }
    verified = true;
  }
  if (!verified) throw new SignedNoteError(`note has no valid signature by ${verifier.name}`);
  return text;
}
