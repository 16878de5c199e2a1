import assert from "node:assert/strict";
import { EMPTY_GO_MOD_HASH, hash1, hashGoMod, sha256Hex } from "../src/dirhash.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("hashGoMod matches the empty go.mod constant", () => {
  assert.equal(hashGoMod(new Uint8Array()), EMPTY_GO_MOD_HASH);
});

Deno.test("hashGoMod matches rsc.io/quote v1.5.2's go.sum line", () => {
  const mod = 'module "rsc.io/quote"\n\nrequire "rsc.io/sampler" v1.3.0\n';
  assert.equal(hashGoMod(text(mod)), "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=");
});

Deno.test("hash1 of no files is the empty-zip hash", () => {
  assert.equal(hash1([]), "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
});

Deno.test("hash1 sorts names by UTF-8 bytes, not by UTF-16 code units", () => {
  // UTF-16 puts U+1F600 (a surrogate pair, 0xD83D...) before U+FF01; UTF-8 puts it after.
  const a = { name: "m@v1.0.0/\u{ff01}", sha256: sha256Hex(text("a")) };
  const b = { name: "m@v1.0.0/\u{1f600}", sha256: sha256Hex(text("b")) };
  assert.ok(b.name < a.name);
  const lines = `${a.sha256}  ${a.name}\n${b.sha256}  ${b.name}\n`;
  const expected = "h1:" + Uint8Array.fromHex(sha256Hex(text(lines))).toBase64();
  assert.equal(hash1([b, a]), expected);
  assert.equal(hash1([a, b]), expected);
});

Deno.test("hash1 refuses a name with a newline", () => {
  assert.throws(() => hash1([{ name: "a\nb", sha256: sha256Hex(new Uint8Array()) }]), /newline/);
});
