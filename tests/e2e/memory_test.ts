/**
 * Resource bounds of a run: a module far larger than the memory budget goes through temp files
 * and a fixed inflate buffer, so goprefetch's peak RSS does not grow with it; and requests in
 * flight stay within `-c`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, runGo, tempDir } from "../support/go.ts";
import { runCli } from "../support/cli.ts";
import { assertPeakRssBelow, runCliMeasured } from "../support/peak_rss.ts";
import { serveProxy } from "../support/proxy_server.ts";
import { goModH1, publishStreamedModule } from "../support/raw_module.ts";
import type { StreamedEntry } from "../support/raw_zip.ts";
import { completeModule, moduleFiles } from "../support/small_project.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";
import { writeProxyTree } from "../support/modules.ts";

const MiB = 1 << 20;
const encoder = new TextEncoder();

/** `size` random bytes in fresh 1 MiB chunks, each filled 64 KiB at a time (getRandomValues' limit). */
function* randomChunks(size: number): Generator<Uint8Array> {
  for (let left = size; left > 0; left -= MiB) {
    const chunk = new Uint8Array(Math.min(MiB, left));
    for (let at = 0; at < chunk.length; at += 65536) {
      crypto.getRandomValues(chunk.subarray(at, at + 65536));
    }
    yield chunk;
  }
}

/** Writes a main module in `dir` requiring `path@version`, with the go.sum lines given. */
async function writeProject(dir: string, path: string, version: string, goSum: string) {
  await Deno.mkdir(dir);
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    `module example.com/main\n\ngo 1.21\n\nrequire ${path} ${version}\n`,
  );
  await Deno.writeTextFile(join(dir, "go.sum"), goSum);
}

Deno.test("a 300 MiB incompressible module installs without peak RSS growing with it", async () => {
  const tmp = await tempDir("goprefetch-memory-");
  const root = join(tmp, "proxy");
  const version = "v1.0.0";
  const goModOf = (path: string) => `module ${path}\n\ngo 1.21\n`;
  const publish = async (path: string, blob: StreamedEntry) => {
    const prefix = `${path}@${version}/`;
    const h1 = await publishStreamedModule(root, path, version, goModOf(path), [
      { name: prefix + "go.mod", chunks: [encoder.encode(goModOf(path))] },
      { name: prefix + "blob.go", chunks: [encoder.encode("package blob\n")] },
      { ...blob, name: prefix + blob.name },
    ]);
    const goSum = `${path} ${version} ${h1}\n${path} ${version}/go.mod ${goModH1(goModOf(path))}\n`;
    await writeProject(join(tmp, path.slice(path.lastIndexOf("/") + 1)), path, version, goSum);
  };
  const blobSize = 300 * MiB;
  await publish("example.com/small", { name: "blob.bin", chunks: randomChunks(MiB), method: 0 });
  await publish("example.com/huge", {
    name: "blob.bin",
    chunks: randomChunks(blobSize),
    method: 0,
  });
  const hugeZip = join(root, "example.com", "huge", "@v", `${version}.zip`);
  const hugeZipSize = (await Deno.stat(hugeZip)).size;
  // Streamed from disk, so that this process does not hold the zip either.
  const proxy = await serveProxy(root, {
    fault: (_req, p) =>
      p.endsWith("/huge/@v/v1.0.0.zip")
        ? Deno.open(hugeZip).then((f) =>
          new Response(f.readable, { headers: { "content-length": String(hugeZipSize) } })
        )
        : undefined,
  });
  try {
    const run = async (name: string) => {
      const cwd = join(tmp, name);
      const env = goEnv({ home: tmp, gomodcache: join(tmp, `cache-${name}`), goproxy: proxy.url });
      const out = await runCliMeasured(["."], { cwd, env });
      assert.equal(out.code, 0, out.stderr);
      assert.match(
        out.stderr,
        /1 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
      );
      return { out, cwd, env };
    };
    const small = await run("small");
    const huge = await run("huge");
    const limit = Math.min(250 * MiB, (small.out.peakRss ?? Infinity) + 64 * MiB);
    assertPeakRssBelow(huge.out, limit, `a ${(hugeZipSize / MiB).toFixed(0)} MiB zip`);

    const gomodcache = huge.env.GOMODCACHE;
    assert.deepEqual(
      await moduleFiles(gomodcache, "example.com/huge", version),
      completeModule(version),
    );
    const blob = await Deno.stat(join(gomodcache, `example.com/huge@${version}`, "blob.bin"));
    assert.equal(blob.size, blobSize);
    const verify = await runGo(["mod", "verify"], { cwd: huge.cwd, env: huge.env });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /all modules verified/);
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("-c 4 keeps at most 4 requests in flight, and uses more than 1", async () => {
  const specs = tinyModules(20);
  const tmp = await tempDir("goprefetch-inflight-");
  const project = join(tmp, "project");
  await Deno.mkdir(project);
  await writeProxyTree(join(tmp, "proxy"), specs);
  await writeTinyProject(project, specs);
  const proxy = await serveProxy(join(tmp, "proxy"), { delayMs: 25 });
  try {
    const env = goEnv({ home: tmp, gomodcache: join(tmp, "cache"), goproxy: proxy.url });
    const run = await runCli(["-c", "4", "."], { cwd: project, env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /20 fetched, 0 already cached, 0 skipped \(private\/direct\), 0 failed/,
    );
    assert.equal(proxy.requests.length, 60, proxy.requests.join("\n"));
    assert.ok(proxy.peakInFlight <= 4, `${proxy.peakInFlight} requests were in flight at once`);
    assert.ok(proxy.peakInFlight > 1, "requests never overlapped");
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
});
