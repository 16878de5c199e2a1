/**
 * `goprefetch cache-key`: a SHA-256 of the module versions and hashes go.sum names, the same
 * whatever the order of the lines, different when a module or hash changes, and when the Go
 * toolchain a prefetch fetches changes; fetches nothing.
 */
import { type TinySandbox, withTinySandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { cacheKey, cacheKeyOf, parseGoSum, type PrefetchReport } from "../../mod.ts";
import { listFiles } from "../support/small_project.ts";
import { runCli } from "../support/cli.ts";

async function key(box: TinySandbox, args: string[] = []): Promise<string> {
  const r = await runCli(["cache-key", ...args], { cwd: box.project, env: box.env() });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  return r.stdout.trim();
}

Deno.test("cache-key: stable across line order, changed by a hash or a module", async () => {
  await withTinySandbox(4, async (box) => {
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
  await withTinySandbox(4, async (box) => {
    const cli = await key(box);
    assert.equal(cacheKey({ dir: box.project, env: { GOWORK: "off", GOFLAGS: "" } }), cli);
    const text = await Deno.readTextFile(join(box.project, "go.sum"));
    assert.equal(cacheKeyOf(parseGoSum(text, "go.sum")), cli);
  });
});

Deno.test("cache-key: errors exit 2 with one line", async () => {
  await withTinySandbox(4, async (box) => {
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

/** A local go1.22.0 for linux/amd64 (its VERSION file and tool directory) in `box`. */
async function fakeGoroot(box: TinySandbox): Promise<string> {
  const goroot = join(box.tmp, "goroot");
  await Deno.mkdir(join(goroot, "pkg", "tool", "linux_amd64"), { recursive: true });
  await Deno.writeTextFile(join(goroot, "VERSION"), "go1.22.0\ntime 2024-02-06T17:36:32Z\n");
  return goroot;
}

Deno.test("cache-key: the Go toolchain a prefetch fetches is in the key", async () => {
  await withTinySandbox(4, async (box) => {
    const goroot = await fakeGoroot(box);
    const goMod = join(box.project, "go.mod");
    const original = await Deno.readTextFile(goMod);
    const sum = parseGoSum(await Deno.readTextFile(join(box.project, "go.sum")), "go.sum");
    const run = async (gotoolchain: string, args: string[] = []) => {
      const env = box.env({ GOROOT: goroot, GOTOOLCHAIN: gotoolchain });
      const r = await runCli(["cache-key", ...args], { cwd: box.project, env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
      return r.stdout.trim();
    };
    const planned = async () => {
      const env = box.env({ GOROOT: goroot, GOTOOLCHAIN: "auto" });
      const r = await runCli(["--dry-run", "--json", "."], { cwd: box.project, env });
      assert.equal(r.code, 0, r.stderr);
      const report: PrefetchReport = JSON.parse(r.stdout);
      return report.modules.filter((m) => m.path === "golang.org/toolchain").map((m) => m.version);
    };

    const modulesOnly = cacheKeyOf(sum);
    assert.equal(await run("auto"), modulesOnly, "go 1.21 needs no switch from go1.22.0");
    assert.deepEqual(await planned(), []);

    await Deno.writeTextFile(goMod, original + "\ntoolchain go1.99.0\n");
    const first = await run("auto");
    assert.notEqual(first, modulesOnly);
    assert.deepEqual(await planned(), ["v0.0.1-go1.99.0.linux-amd64"]);
    assert.equal(first, cacheKeyOf(sum, "v0.0.1-go1.99.0.linux-amd64"));
    assert.equal(await run("local"), modulesOnly, "GOTOOLCHAIN=local fetches no toolchain");

    await Deno.writeTextFile(goMod, original + "\ntoolchain go1.99.1\n");
    const second = await run("auto");
    assert.notEqual(second, first, "a new toolchain line changes the key");
    assert.notEqual(second, modulesOnly);
    assert.equal(await run("local", ["--toolchain", "go1.99.1"]), second, "--toolchain, same key");
    assert.equal(await run("auto", ["--toolchain", "go1.99.0", "."]), first);

    const env = { GOWORK: "off", GOFLAGS: "", GOROOT: goroot, GOTOOLCHAIN: "local" };
    assert.equal(cacheKey({ dir: box.project, env }), modulesOnly);
    assert.equal(cacheKey({ dir: box.project, env, toolchain: "go1.99.1" }), second);

    const bad = await runCli(["cache-key", "--toolchain", "1.99"], {
      cwd: box.project,
      env: box.env({ GOROOT: goroot }),
    });
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'goprefetch: --toolchain wants a Go toolchain name such as go1.22.3, got "1.99" ' +
        "(see goprefetch cache-key --help)\n",
    );
    assert.deepEqual(box.proxy.requests, []);
  });
});

Deno.test("cache-key: where no toolchain is fetched, the key is the one of earlier versions", async () => {
  await withTinySandbox(4, async (box) => {
    const goroot = await fakeGoroot(box);
    await Deno.writeTextFile(
      join(box.project, "go.sum"),
      `example.com/a v1.0.0 h1:${"a".repeat(43)}=\n` +
        `example.com/a v1.0.0/go.mod h1:${"b".repeat(43)}=\n` +
        `example.com/b v1.2.3/go.mod h1:${"c".repeat(43)}=\n`,
    );
    const golden = "dcbd28c2665ef7e6474d311b142ce06c60ed6ad14415f56fafc3ed12a6ab601f";
    for (const gotoolchain of ["auto", "local", "go1.22.0+auto", "path"]) {
      const env = box.env({ GOROOT: goroot, GOTOOLCHAIN: gotoolchain });
      const r = await runCli(["cache-key"], { cwd: box.project, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, golden + "\n", `GOTOOLCHAIN=${gotoolchain}`);
    }
  });
});
