/**
 * Comparing byte strings.
 *
 * @module
 */

/** Whether two byte strings (hashes, file contents) are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
