import assert from "node:assert/strict";
import { EMPTY_GO_MOD_HASH } from "../../src/zip/dirhash.ts";
import { type GoSum, GoSumError, mergeGoSums, parseGoSum } from "../../src/project/gosum.ts";

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

Deno.test("parseGoSum drops the empty go.mod hash on any line, as go does", () => {
  const text =
    `example.com/m v1.0.0/go.mod ${EMPTY_GO_MOD_HASH}\nexample.com/m v1.0.0 ${EMPTY_GO_MOD_HASH}\n`;
  assert.equal(parseGoSum(text, "go.sum").modules.size, 0);
});

Deno.test("parseGoSum warns about unknown hash algorithms and ignores the line", () => {
  const sum = parseGoSum("example.com/m v1.0.0 h2:abc\n", "go.sum");
  assert.equal(sum.modules.size, 0);
  assert.match(sum.warnings[0], /go\.sum:1: unknown hash algorithm for example\.com\/m@v1\.0\.0/);
});

Deno.test("parseGoSum accepts only the first h1 of a module version and warns about a different later one", () => {
  const sum = parseGoSum(
    `a.com/m v1.0.0 ${H1}\na.com/m v1.0.0 ${H2}\na.com/m v1.0.0 ${H1}\na.com/m v1.0.0/go.mod ${H2}\n`,
    "go.sum",
  );
  assert.deepEqual(sum.modules.get("a.com/m@v1.0.0"), {
    path: "a.com/m",
    version: "v1.0.0",
    zipHashes: [H1],
    goModHashes: [H2],
  });
  assert.deepEqual(sum.warnings, [
    "go.sum:2: a.com/m v1.0.0 has a second h1 hash, which go never accepts: " +
    "it checks downloads against line 1 and fails on a mismatch",
  ]);
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

const file = (name: string, text: string, workspace = false) => ({
  name,
  sum: parseGoSum(text, name),
  workspace,
});
const hashesOf = (sum: GoSum) =>
  Object.fromEntries([...sum.modules].map(([k, m]) => [k, [m.zipHashes, m.goModHashes]]));

Deno.test("mergeGoSums unites main files, in first-seen order", () => {
  const sum = mergeGoSums([
    file("a/go.sum", `a.com/m v1.0.0 ${H1}\n`),
    file("b/go.sum", `b.com/m v1.0.0 ${H2}\na.com/m v1.0.0 ${H2}\n`),
  ]);
  assert.deepEqual(hashesOf(sum), {
    "a.com/m@v1.0.0": [[H1, H2], []],
    "b.com/m@v1.0.0": [[H2], []],
  });
});

Deno.test("mergeGoSums: go.work.sum decides over the workspace modules' go.sum files", () => {
  const sum = mergeGoSums([
    file("a/go.sum", `a.com/m v1.0.0 ${H2}\n`, true),
    file("go.work.sum", `a.com/m v1.0.0 ${H1}\n`),
  ]);
  assert.deepEqual(hashesOf(sum), { "a.com/m@v1.0.0": [[H1], []] });
  assert.deepEqual(sum.warnings, []);
});

Deno.test("mergeGoSums: workspace go.sum files that agree count; ones that disagree leave the line out", () => {
  const sum = mergeGoSums([
    file("a/go.sum", `x.com/m v1.0.0 ${H1}\nx.com/m v1.0.0/go.mod ${H1}\n`, true),
    file(
      "b/go.sum",
      `x.com/m v1.0.0 ${H2}\nx.com/m v1.0.0/go.mod ${H1}\ny.com/m v1.0.0 ${H1}\n`,
      true,
    ),
    file("c/go.sum", `y.com/m v1.0.0 ${H2}\n`, true),
  ]);
  assert.deepEqual(hashesOf(sum), { "x.com/m@v1.0.0": [[], [H1]] });
  assert.deepEqual(sum.warnings, [
    `x.com/m v1.0.0: the workspace's go.sum files disagree (a/go.sum ${H1}, b/go.sum ${H2}): ` +
    'go rejects every download of it, so goprefetch leaves it out; run "go mod tidy" in each ' +
    "module to settle it",
    `y.com/m v1.0.0: the workspace's go.sum files disagree (b/go.sum ${H1}, c/go.sum ${H2}): ` +
    'go rejects every download of it, so goprefetch leaves it out; run "go mod tidy" in each ' +
    "module to settle it",
  ]);
});
