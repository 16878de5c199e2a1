/**
 * The library API: `runPrefetch` with an explicit host (the same code path as `prefetch`),
 * progress events, and the spill path where no zip body fits in memory.
 */
import assert from "node:assert/strict";
import { testHost } from "./support/host.ts";
import { join } from "node:path";
import { runPrefetch } from "../src/prefetch.ts";
import type { ProgressEvent } from "../src/report.ts";
import { diffTrees, runGo, snapshotTree } from "./support/go.ts";
import { BUILD_LIST_ONLY_INFO } from "./support/modules.ts";
import { withStandardProject } from "./support/proxy_project.ts";

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
