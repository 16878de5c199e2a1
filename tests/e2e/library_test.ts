/**
 * The library API: `runPrefetch` with an explicit host (the same code path as `prefetch`),
 * progress events, the spill path where no zip body fits in memory, and stopping a run with
 * an AbortSignal.
 */
import { withProxyProject, withStandardProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { testHost } from "../support/host.ts";
import { join } from "node:path";
import { runPrefetch } from "../../src/engine/prefetch.ts";
import type { ProgressEvent } from "../../src/engine/report.ts";
import { diffTrees, runGo, snapshotTree } from "../support/go.ts";
import { BUILD_LIST_ONLY_INFO } from "../support/modules.ts";
import type { Fault } from "../support/proxy_server.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";

Deno.test("runPrefetch with no memory budget streams every zip to disk and writes go's tree", async () => {
  await withStandardProject("goprefetch-library-", async ({ tmp, project, env }) => {
    const download = await runGo(["mod", "download"], { cwd: project, env: env(join(tmp, "a")) });
    assert.equal(download.code, 0, download.stderr);

    const events: ProgressEvent[] = [];
    const report = await runPrefetch(
      { memoryBudget: 0, onProgress: (e) => events.push(e) },
      testHost(env(join(tmp, "b")), project),
    );
    assert.equal(report.totals.failed, 0, JSON.stringify(report.modules.filter((m) => m.error)));
    assert.equal(report.totals.fetched, report.modules.length);
    assert.deepEqual(report.modules.filter((m) => !m.zip).map((m) => m.path), ["example.com/deep"]);
    assert.equal(report.settings.dir, project);
    assert.equal(events[0].type, "plan");
    assert.equal(events.filter((e) => e.type === "module").length, report.modules.length);
    const streamed = events.reduce((n, e) => n + (e.type === "bytes" ? e.bytes : 0), 0);
    assert.ok(streamed >= 3 << 20, "bytes events cover the 3 MiB module");

    const ignore = (rel: string) => rel.endsWith(".lock");
    const diff = diffTrees(
      await snapshotTree(join(tmp, "a"), { ignore }),
      await snapshotTree(join(tmp, "b"), { ignore }),
    );
    assert.deepEqual(diff, BUILD_LIST_ONLY_INFO);
    assert.equal(report.buildList?.infoFetched, 2);
  });
});

const BIG = "example.com/tiny/big";
const BIG_ZIP = `/${BIG}/@v/v1.0.0.zip`;

/**
 * A fault that serves big's zip with its full Content-Length but only the first half of its
 * bytes, then holds the rest back until `release()`; `halfSent` resolves once the first half
 * is taken.
 */
function holdBigZip(root: string) {
  const halfSent = Promise.withResolvers<void>();
  const held = Promise.withResolvers<void>();
  const fault: Fault = (_req, path) => {
    if (path !== BIG_ZIP) return undefined;
    return Deno.readFile(join(root, BIG_ZIP)).then((zip) => {
      const half = zip.length >> 1;
      let step = 0;
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (step++ === 0) return controller.enqueue(zip.subarray(0, half));
          halfSent.resolve();
          await held.promise;
          if (cancelled) return;
          controller.enqueue(zip.subarray(half));
          controller.close();
        },
        cancel() {
          cancelled = true;
        },
      }, { highWaterMark: 0 });
      return new Response(body, { headers: { "content-length": String(zip.length) } });
    });
  };
  return { fault, halfSent: halfSent.promise, release: () => held.resolve() };
}

/** Resolves once a zip temp file in `dir` (`v1.0.0.zip<n>.tmp`) holds bytes, polling. */
async function zipSpilled(dir: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    for (const e of await Array.fromAsync(Deno.readDir(dir)).catch(() => [])) {
      if (!/^v1\.0\.0\.zip\d+\.tmp$/.test(e.name)) continue;
      const size = await Deno.stat(join(dir, e.name)).then((i) => i.size, () => 0);
      if (size > 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no zip temp file with bytes appeared in ${dir}`);
}

for (const memoryBudget of [0, undefined]) {
  const where = memoryBudget === 0 ? "spilled to a temp file" : "read into memory";
  Deno.test(`an AbortSignal stops runPrefetch while a zip is ${where}, leaving nothing partial`, async () => {
    const specs = tinyModules(4, { big: { files: 20, bytes: 3 << 20 } });
    let hold: ReturnType<typeof holdBigZip> | undefined;
    const fault: Fault = (req, path) => hold?.fault(req, path);
    await withProxyProject("goprefetch-abort-", specs, async ({ tmp, root, project, env }) => {
      hold = holdBigZip(root);
      await writeTinyProject(project, specs);
      const cache = join(tmp, "cache");
      const atV = join(cache, "cache", "download", BIG, "@v");
      const stop = new AbortController();
      const running = runPrefetch(
        { memoryBudget, signal: stop.signal },
        testHost(env(cache), project),
      );
      try {
        await hold.halfSent;
        if (memoryBudget === 0) await zipSpilled(atV);
        const aborted = performance.now();
        stop.abort(new Error("stopped by the test"));
        const report = await running;
        assert.ok(performance.now() - aborted < 5000, "the run did not stop promptly");
        const big = report.modules.find((m) => m.path === BIG)!;
        assert.equal(big.status, "cancelled", JSON.stringify(big));
        assert.equal(report.totals.failed, 0, JSON.stringify(report.modules));
        assert.ok(report.totals.cancelled >= 1);
        assert.equal(report.totals.fetched + report.totals.cancelled, report.modules.length);

        const left = (await Array.fromAsync(Deno.readDir(atV))).map((e) => e.name);
        assert.deepEqual(
          left.filter((n) => !/^v1\.0\.0\.(lock|info|mod)$|^list$/.test(n)),
          [],
          "a zip, ziphash, temp file or .partial of the stopped module was left",
        );
        const trees = await Array.fromAsync(Deno.readDir(join(cache, "example.com", "tiny")))
          .catch(() => []);
        assert.deepEqual(
          trees.map((e) => e.name).filter((n) => n.startsWith("big@")),
          [],
          "a tree of the stopped module was left",
        );

        hold.release();
        hold = undefined;
        const rerun = await runPrefetch({ memoryBudget }, testHost(env(cache), project));
        assert.equal(rerun.totals.failed, 0, JSON.stringify(rerun.modules));
        assert.equal(rerun.modules.find((m) => m.path === BIG)?.status, "fetched");
        assert.equal(rerun.totals.fetched + rerun.totals.cached, rerun.modules.length);
        const verify = await runGo(["mod", "verify"], { cwd: project, env: env(cache) });
        assert.equal(verify.code, 0, verify.stderr);
      } finally {
        stop.abort();
        await running.catch(() => {});
        hold?.release();
      }
    }, { fault });
  });
}
