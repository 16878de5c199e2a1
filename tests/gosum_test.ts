import assert from "node:assert/strict";
import { EMPTY_GO_MOD_HASH } from "../src/dirhash.ts";
import { GoSumError, parseGoSum } from "../src/gosum.ts";

const H1 = "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=";
const H2 = "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

Deno.test("parseGoSum groups zip and go.mod lines by module version, in order", () => {
  const sum = parseGoSum(
    [
      `rsc.io/quote v1.5.2 ${H2}`,
      `rsc.io/quote v1.5.2/go.mod ${H1}`,
      "",
      `example.com/only v0.1.0/go.mod ${H1}`,
    ].join("\n"),
    "go.sum",
  );
  assert.deepEqual([...sum.modules.values()], [
    { path: "rsc.io/quote", version: "v1.5.2", zipHashes: [H2], goModHashes: [H1] },
    { path: "example.com/only", version: "v0.1.0", zipHashes: [], goModHashes: [H1] },
  ]);
  assert.deepEqual(sum.warnings, []);
});

Deno.test("parseGoSum drops the empty go.mod hash, as go does", () => {
  const sum = parseGoSum(`example.com/m v1.0.0/go.mod ${EMPTY_GO_MOD_HASH}\n`, "go.sum");
  assert.equal(sum.modules.size, 0);
});

Deno.test("parseGoSum warns about unknown hash algorithms and ignores the line", () => {
  const sum = parseGoSum("example.com/m v1.0.0 h2:abc\n", "go.sum");
  assert.equal(sum.modules.size, 0);
  assert.match(sum.warnings[0], /go\.sum:1: unknown hash algorithm for example\.com\/m@v1\.0\.0/);
});

Deno.test("parseGoSum keeps several hashes for one module version", () => {
  const sum = parseGoSum(`a.com/m v1.0.0 ${H1}\na.com/m v1.0.0 ${H2}\na.com/m v1.0.0 ${H1}\n`, "s");
  assert.deepEqual(sum.modules.get("a.com/m@v1.0.0")!.zipHashes, [H1, H2]);
});

Deno.test("parseGoSum names file and line of a malformed line", () => {
  assert.throws(
    () => parseGoSum(`a.com/m v1.0.0 ${H1}\na.com/m v1.0.0\n`, "/p/go.sum"),
    (e) => e instanceof GoSumError && /\/p\/go\.sum:2: wrong number of fields 2/.test(e.message),
  );
});

Deno.test("parseGoSum accepts CRLF line endings and tabs", () => {
  const sum = parseGoSum(`a.com/m\tv1.0.0 ${H1}\r\n`, "go.sum");
  assert.deepEqual(sum.modules.get("a.com/m@v1.0.0")!.zipHashes, [H1]);
});

Deno.test("parseGoSum merges several files into one result", () => {
  const sum = parseGoSum(`a.com/m v1.0.0 ${H1}\n`, "go.sum");
  parseGoSum(`b.com/m v1.0.0 ${H2}\n`, "go.work.sum", sum);
  assert.deepEqual([...sum.modules.keys()], ["a.com/m@v1.0.0", "b.com/m@v1.0.0"]);
});
