import assert from "node:assert/strict";
import { compareGoVersions, goDirective } from "../src/go_mod.ts";

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
