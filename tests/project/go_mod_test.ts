import assert from "node:assert/strict";
import { compareGoVersions, goDirective, parseGoMod } from "../../src/project/go_mod.ts";

Deno.test("goDirective reads the go line, ignoring comments", () => {
  assert.equal(goDirective("module m\n\ngo 1.21.3 // pinned\n"), "1.21.3");
  assert.equal(goDirective("module m\n"), "");
  assert.equal(goDirective("module m\ntoolchain go1.22.0\n"), "");
});

Deno.test("compareGoVersions orders language versions, prereleases and releases as gover does", () => {
  const ordered = ["1.9", "1.14", "1.21", "1.21beta1", "1.21rc1", "1.21rc2", "1.21.0", "1.21.1"];
  for (let i = 0; i + 1 < ordered.length; i++) {
    assert.ok(
      compareGoVersions(ordered[i], ordered[i + 1]) < 0,
      `${ordered[i]} < ${ordered[i + 1]}`,
    );
    assert.ok(compareGoVersions(ordered[i + 1], ordered[i]) > 0);
  }
  assert.equal(compareGoVersions("1.22.0", "1.22.0"), 0);
});

Deno.test("parseGoMod reads module, go, require, exclude and replace in both forms", () => {
  const text = [
    "// a module",
    'module "example.com/m"',
    "",
    "go 1.22 // language",
    "",
    "require (",
    "\texample.com/a v1.0.0",
    "\texample.com/b v1.2.0 // indirect",
    ")",
    "require example.com/c v0.1.0\r",
    "exclude example.com/a v0.9.0",
    "replace (",
    "\texample.com/a => example.com/a2 v1.0.1",
    "\texample.com/b v1.2.0 => ../b",
    "\t`example.com/c` v0.1.0 => example.com/c v0.1.1",
    "\tbroken =>",
    ")",
    "toolchain go1.22.3",
  ].join("\n");
  assert.deepEqual(parseGoMod(text, "go.mod"), {
    module: "example.com/m",
    go: "1.22",
    require: [
      { path: "example.com/a", version: "v1.0.0" },
      { path: "example.com/b", version: "v1.2.0" },
      { path: "example.com/c", version: "v0.1.0" },
    ],
    exclude: [{ path: "example.com/a", version: "v0.9.0" }],
    replace: [
      {
        old: { path: "example.com/a", version: "" },
        new: { path: "example.com/a2", version: "v1.0.1" },
      },
      { old: { path: "example.com/b", version: "v1.2.0" }, new: { path: "../b", version: "" } },
      {
        old: { path: "example.com/c", version: "v0.1.0" },
        new: { path: "example.com/c", version: "v0.1.1" },
      },
    ],
  });
});

Deno.test("parseGoMod names the file and line of an unterminated string", () => {
  assert.throws(() => parseGoMod('module m\nrequire "a v1\n', "dep/go.mod"), /dep\/go\.mod:2: /);
});
