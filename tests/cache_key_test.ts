/**
 * `goprefetch cache-key`: a SHA-256 of the module versions and hashes go.sum names, the same
 * whatever the order of the lines, different when a module or hash changes; fetches nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cacheKey, cacheKeyOf, parseGoSum } from "../mod.ts";
import { listFiles } from "./support/small_project.ts";
import { makeTinySandbox, runCli, type TinySandbox } from "./support/tiny_sandbox.ts";

async function withBox(fn: (box: TinySandbox) => Promise<void>): Promise<void> {
  const box = await makeTinySandbox(4);
  try {
    await fn(box);
  } finally {
    await box.remove();
  }
}

async function key(box: TinySandbox, args: string[] = []): Promise<string> {
  const r = await runCli(["cache-key", ...args], { cwd: box.project, env: box.env() });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  return r.stdout.trim();
}

Deno.test("cache-key: stable across line order, changed by a hash or a module", async () => {
  await withBox(async (box) => {
    const goSum = join(box.project, "go.sum");
    const original = await Deno.readTextFile(goSum);
    const first = await key(box);
    assert.equal(await key(box, ["."]), first);
    assert.equal(await key(box, [box.project]), first);

    const lines = original.split("\n").filter((l) => l !== "");
    await Deno.writeTextFile(goSum, lines.toReversed().join("\n") + "\n\n");
    assert.equal(await key(box), first, "reordered go.sum, same key");

    await Deno.writeTextFile(goSum, original);
    await box.corruptZipHash(box.specs[2]);
    const changedHash = await key(box);
    assert.notEqual(changedHash, first, "a changed hash changes the key");

    await Deno.writeTextFile(goSum, lines.slice(2).join("\n") + "\n");
    const fewer = await key(box);
    assert.notEqual(fewer, first, "a module fewer changes the key");
    assert.notEqual(fewer, changedHash);

    assert.deepEqual(box.proxy.requests, []);
    assert.deepEqual(await listFiles(box.gomodcache), []);
  });
});

Deno.test("cache-key: the library gives the CLI's key", async () => {
  await withBox(async (box) => {
    const cli = await key(box);
    assert.equal(cacheKey({ dir: box.project, env: { GOWORK: "off", GOFLAGS: "" } }), cli);
    const text = await Deno.readTextFile(join(box.project, "go.sum"));
    assert.equal(cacheKeyOf(parseGoSum(text, "go.sum")), cli);
  });
});

Deno.test("cache-key: errors exit 2 with one line", async () => {
  await withBox(async (box) => {
    await Deno.remove(join(box.project, "go.mod"));
    const r = await runCli(["cache-key"], { cwd: box.project, env: box.env() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^goprefetch: No go\.mod in /);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    const usage = await runCli(["cache-key", "--what"], { cwd: box.project, env: box.env() });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /cache-key --help/);
    const help = await runCli(["cache-key", "--help"], { cwd: box.project, env: box.env() });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^goprefetch cache-key:/);
  });
});
