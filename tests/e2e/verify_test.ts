/**
 * `goprefetch verify` against `go mod verify` on the same damage: a cache the go command
 * downloaded verifies clean; a modified, an extra or a deleted file, a tampered zip, a
 * wrong or missing .ziphash are each reported with go's words (`path@version` for
 * `path version`); a module not downloaded is not an error; and what go checks only at build
 * time (.ziphash and .mod against go.sum) is reported too.
 */
import { makeSandbox, type Sandbox } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { currentHost } from "../../src/project/host.ts";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { runVerify } from "../../src/engine/verify.ts";
import { makeWritable, runGo } from "../support/go.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { serveProxy } from "../support/proxy_server.ts";
import { ALPHA, tidySmallProject } from "../support/small_project.ts";

const PROJECT = await tidySmallProject();
const OFFLINE = { GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" };
const ID = `${ALPHA.path}@${ALPHA.version}`;

interface Damaged {
  box: Sandbox;
  /** The extracted directory of ALPHA. */
  dir: string;
  /** `cache/download/<path>/@v/<version>`: add `.zip`, `.ziphash`, `.mod`. */
  base: string;
}

/**
 * Fills a cache with `go mod download`, damages it with `damage`, and runs both verifiers;
 * `also` runs while the damaged cache is still there.
 */
async function verifyBoth(
  damage: (d: Damaged) => Promise<void>,
  also?: (box: Sandbox, env: Record<string, string>) => Promise<void>,
): Promise<{ ours: CliRun; go: CliRun; goLines: string[]; ourLines: string[] }> {
  const box = await makeSandbox(PROJECT);
  const proxy = await serveProxy(box.proxyRoot);
  try {
    const download = await runGo(["mod", "download"], {
      cwd: box.project,
      env: box.env(proxy.url),
    });
    assert.equal(download.code, 0, download.stderr);
    const ep = escapePath(ALPHA.path);
    const ev = escapeVersion(ALPHA.version);
    const dir = join(box.gomodcache, `${ep}@${ev}`);
    await makeWritable(dir);
    await damage({ box, dir, base: join(box.gomodcache, "cache/download", ep, "@v", ev) });
    const env = box.env(proxy.url, OFFLINE);
    const go = await runGo(["mod", "verify"], { cwd: box.project, env });
    const ours = await runCli(["verify", "."], { cwd: box.project, env });
    const goLines = go.stderr.split("\n").filter((l) => l !== "")
      .map((l) => l.replace(/^(\S+) (\S+): /, "$1@$2: ")).sort();
    const ourLines = ours.stderr.split("\n").filter((l) => l.startsWith("goprefetch: example"))
      .map((l) => l.slice("goprefetch: ".length)).sort();
    await also?.(box, env);
    return { ours, go, goLines, ourLines };
  } finally {
    await proxy.close();
    await box.remove();
  }
}

Deno.test("verify: a cache go downloaded verifies clean, like go mod verify", async () => {
  const { ours, go } = await verifyBoth(async () => {});
  assert.equal(go.code, 0, go.stderr);
  assert.equal(go.stdout, "all modules verified\n");
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(ours.stderr, /^goprefetch verify: 3 verified, 0 not in the cache, 0 modified; /m);
});

const DIR_DAMAGE: [string, (d: Damaged) => Promise<void>][] = [
  ["a modified file", (d) => Deno.writeTextFile(join(d.dir, "alpha.go"), "// changed\n")],
  ["an extra file", (d) => Deno.writeTextFile(join(d.dir, "extra.txt"), "")],
  ["a deleted file", (d) => Deno.remove(join(d.dir, "go.mod"))],
];

for (const [name, damage] of DIR_DAMAGE) {
  Deno.test(`verify: ${name} in the extracted tree is "dir has been modified", as go says`, async () => {
    const { ours, go, goLines, ourLines } = await verifyBoth(damage);
    assert.equal(go.code, 1, go.stderr);
    assert.equal(ours.code, 1, ours.stderr);
    assert.equal(goLines.length, 1, go.stderr);
    assert.match(goLines[0], new RegExp(`^${ID}: dir has been modified \\(.+\\)$`));
    assert.deepEqual(ourLines, goLines);
  });
}

Deno.test('verify: a zip with other content is "zip has been modified", as go says', async () => {
  const { ours, go, goLines, ourLines } = await verifyBoth(async (d) => {
    const gamma = join(d.box.proxyRoot, "example.com/gamma/v2/@v/v2.0.0.zip");
    await Deno.chmod(d.base + ".zip", 0o644);
    await Deno.copyFile(gamma, d.base + ".zip");
  });
  assert.equal(go.code, 1, go.stderr);
  assert.equal(ours.code, 1, ours.stderr);
  assert.equal(goLines.length, 1, go.stderr);
  assert.match(goLines[0], new RegExp(`^${ID}: zip has been modified \\(.+\\.zip\\)$`));
  assert.deepEqual(ourLines, goLines);
});

Deno.test("verify: a corrupt zip is an error naming the module, for go and goprefetch", async () => {
  const { ours, go, goLines, ourLines } = await verifyBoth(async (d) => {
    const zip = await Deno.readFile(d.base + ".zip");
    const header = new DataView(zip.buffer);
    zip[30 + header.getUint16(26, true) + header.getUint16(28, true) + 2] ^= 0xff;
    await Deno.chmod(d.base + ".zip", 0o644);
    await Deno.writeFile(d.base + ".zip", zip);
  });
  assert.equal(go.code, 1, go.stderr);
  assert.equal(ours.code, 1, ours.stderr);
  assert.equal(goLines.length, 1, go.stderr);
  assert.ok(goLines[0].startsWith(`${ID}: `), goLines[0]);
  assert.equal(ourLines.length, 1, ours.stderr);
  assert.match(ourLines[0], new RegExp(`^${ID}: zip entry ".*alpha.*": `), ourLines[0]);
});

Deno.test("verify: a wrong .ziphash flags zip and dir, as go does, and the go.sum mismatch", async () => {
  const wrong = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const { ours, go, goLines, ourLines } = await verifyBoth((d) =>
    Deno.writeTextFile(d.base + ".ziphash", wrong)
  );
  assert.equal(go.code, 1, go.stderr);
  assert.equal(ours.code, 1, ours.stderr);
  assert.deepEqual(goLines.map((l) => l.replace(/ \(.*/, "")), [
    `${ID}: dir has been modified`,
    `${ID}: zip has been modified`,
  ]);
  const extra = ourLines.filter((l) => !goLines.includes(l));
  assert.deepEqual(ourLines.filter((l) => goLines.includes(l)), goLines);
  assert.equal(extra.length, 1, ours.stderr);
  assert.match(extra[0], new RegExp(`^${ID}: ziphash does not match go\\.sum \\(.*has ${wrong}`));
});

Deno.test('verify: a missing .ziphash beside the zip and tree is "missing ziphash", as go says', async () => {
  const { ours, go, goLines, ourLines } = await verifyBoth((d) => Deno.remove(d.base + ".ziphash"));
  assert.equal(go.code, 1, go.stderr);
  assert.equal(ours.code, 1, ours.stderr);
  assert.match(goLines[0], new RegExp(`^${ID}: missing ziphash: open .*: no such file`));
  assert.equal(ourLines.length, 1);
  assert.match(ourLines[0], new RegExp(`^${ID}: missing ziphash: `));
});

Deno.test("verify: a module not downloaded is not an error, as in go mod verify", async () => {
  const { ours, go } = await verifyBoth(async (d) => {
    await Deno.remove(d.dir, { recursive: true });
    await Deno.remove(d.base + ".zip");
    await Deno.remove(d.base + ".ziphash");
  });
  assert.equal(go.code, 0, go.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(ours.stderr, /2 verified, 1 not in the cache, 0 modified/);
});

Deno.test("verify: a .mod that does not match go.sum is reported; go refuses to load it too", async () => {
  const { ours, go, ourLines } = await verifyBoth((d) =>
    Deno.writeTextFile(d.base + ".mod", "module example.com/alpha\n\ngo 1.99\n")
  );
  assert.notEqual(go.code, 0, "go mod verify accepted a modified .mod");
  assert.match(go.stderr, /checksum mismatch/);
  assert.equal(ours.code, 1, ours.stderr);
  assert.deepEqual(ourLines.map((l) => l.replace(/ \(.*/, "")), [
    `${ID}: go.mod does not match go.sum`,
  ]);
});

Deno.test("verify: workers give the same records as this thread alone", async () => {
  await verifyBoth(
    (d) => Deno.writeTextFile(join(d.dir, "extra.txt"), ""),
    async (box, env) => {
      const host = { ...currentHost(), cwd: box.project };
      const alone = await runVerify({ env, workers: 0 }, host);
      const pooled = await runVerify({ env, workers: 2 }, host);
      assert.equal(alone.totals.modified, 1);
      assert.deepEqual(pooled.modules, alone.modules);
      assert.deepEqual(pooled.totals, { ...alone.totals, seconds: pooled.totals.seconds });
    },
  );
});
