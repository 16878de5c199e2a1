/**
 * The oracle: the real go command fills cache A, goprefetch fills cache B from the same
 * local proxy, and the two must be the same tree; then the go command, offline, must
 * accept cache B without changing a file.
 */
import { withStandardProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { diffTrees, runGo, snapshotTree } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { fileIdentities } from "../support/go.ts";
import { BUILD_LIST_ONLY_INFO } from "../support/modules.ts";

const notLock = (rel: string) => rel.endsWith(".lock");
const OFFLINE = { GOPROXY: "off", GODEBUG: "cmdgonetlimit=0" };

Deno.test("goprefetch writes the cache go mod download writes, and go accepts it offline", async () => {
  await withStandardProject("goprefetch-oracle-", async ({ tmp, project, proxy, env }) => {
    const cacheA = join(tmp, "cache-a");
    const cacheB = join(tmp, "cache-b");
    const download = await runGo(["mod", "download"], { cwd: project, env: env(cacheA) });
    assert.equal(download.code, 0, download.stderr);

    proxy.requests.length = 0;
    const run = await runCli(["."], { cwd: project, env: env(cacheB) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /10 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );

    const a = await snapshotTree(cacheA, { ignore: notLock });
    const b = await snapshotTree(cacheB, { ignore: notLock });
    assert.deepEqual(diffTrees(a, b), BUILD_LIST_ONLY_INFO);
    const listOnA = await runGo(["list", "-m", "all"], { cwd: project, env: env(cacheA, OFFLINE) });
    assert.notEqual(listOnA.code, 0, "go list -m all needs the .info go mod download leaves out");
    const listed = await runGo(["list", "-m", "-f", "{{.Path}} {{.Version}}", "all"], {
      cwd: project,
      env: env(join(tmp, "cache-tidy")),
    });
    assert.match(listed.stdout, /^example\.com\/pruned v1\.0\.0$/m, "pruned is in the build list");

    const before = await fileIdentities(cacheB);
    for (
      const args of [["build", "./..."], ["mod", "verify"], ["list", "-m", "all"], [
        "mod",
        "download",
      ]]
    ) {
      const r = await runGo(args, { cwd: project, env: env(cacheB, OFFLINE) });
      assert.equal(r.code, 0, `go ${args.join(" ")} on goprefetch's cache:\n${r.stderr}`);
    }
    assert.deepEqual(await fileIdentities(cacheB), before, "the go command rewrote a file");

    const binA = join(tmp, "bin-a");
    const binB = join(tmp, "bin-b");
    for (const [cache, bin] of [[cacheA, binA], [cacheB, binB]]) {
      const r = await runGo(["build", "-trimpath", "-o", bin, "."], {
        cwd: project,
        env: env(cache, { ...OFFLINE, GOCACHE: join(tmp, `gocache-${bin.slice(-1)}`) }),
      });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await Deno.readFile(binA), await Deno.readFile(binB));

    proxy.requests.length = 0;
    const rerun = await runCli(["."], { cwd: project, env: env(cacheB) });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /0 fetched, \d+ already cached/);
    assert.deepEqual(proxy.requests, [], "a rerun on a full cache made requests");
    assert.deepEqual(await fileIdentities(cacheB), before, "a rerun changed the cache");
  });
});
