import assert from "node:assert/strict";
import { GoWorkError, parseGoWork } from "../../src/project/go_work.ts";

Deno.test("go.work: use in block and single-line form, quoted, commented, with CRLF, as go reads it", () => {
  const text = [
    "// a workspace",
    "go 1.22.1",
    "toolchain go1.22.1",
    "",
    "use (",
    "\t./api // the API",
    '\t"./with space"',
    ")",
    "use ../shared\r",
    "replace example.com/x => ./x",
    "godebug (",
    "\tpanicnil=1",
    ")",
  ].join("\n");
  const work = parseGoWork(text, "go.work");
  assert.equal(work.go, "1.22.1");
  assert.deepEqual(work.use, [
    { dir: "./api", line: 6 },
    { dir: "./with space", line: 7 },
    { dir: "../shared", line: 9 },
  ]);
});

Deno.test("go.work: no go line and no use", () => {
  assert.deepEqual(parseGoWork("", "go.work"), { go: "", use: [], replace: [] });
});

Deno.test("go.work: an unterminated string names the file and line", () => {
  assert.throws(() => parseGoWork('go 1.21\nuse "./a\n', "/w/go.work"), (e: Error) => {
    assert.ok(e instanceof GoWorkError);
    assert.match(e.message, /^\/w\/go\.work:2: /);
    return true;
  });
});
