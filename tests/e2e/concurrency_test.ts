/**
 * goprefetch beside the go command and beside itself on one cache: runs at the same time
 * all succeed and leave the cache go mod download leaves, and the per-version flock
 * excludes go both ways (go waits for goprefetch's lock, goprefetch for go's).
 */
import { withProxyProject } from "../support/sandbox.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDirComplete, lockVersion, modulePaths } from "../../src/cache/module_cache.ts";
import { mkdirAll } from "../../src/util/files.ts";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { type FaultProxy, serveFaultProxy } from "../support/fault_proxy.ts";
import { diffTrees, type GoRun, runGo, snapshotTree, type TreeEntry } from "../support/go.ts";
import { cliCommand, runCli } from "../support/cli.ts";
import type { ModuleSpec } from "../support/modules.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";

const notLock = (rel: string) => rel.endsWith(".lock");
const UMASK = 0o022;

interface Setup {
  tmp: string;
  project: string;
  proxy: FaultProxy;
  specs: ModuleSpec[];
  /** A proxy without latency, for the oracle. */
  cleanUrl: string;
  env(gomodcache: string, goproxy?: string): Record<string, string>;
}

/**
 * Publishes `specs` behind a proxy with `latencyMs` (and a clean one), writes the project,
 * runs `fn`.
 */
async function withProject(
  specs: ModuleSpec[],
  latencyMs: number,
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  await withProxyProject("goprefetch-concurrency-", specs, async (p) => {
    await writeTinyProject(p.project, specs);
    const proxy = await serveFaultProxy({ root: p.root, latencyMs });
    try {
      const env = (gomodcache: string, goproxy = proxy.url) => p.env(gomodcache, {}, goproxy);
      await fn({ tmp: p.tmp, project: p.project, proxy, specs, env, cleanUrl: p.proxy.url });
    } finally {
      await proxy.close();
    }
  });
}

function goprefetch(s: Setup, cache: string): Promise<GoRun> {
  return runCli(["-q", "-c", "16", "."], { cwd: s.project, env: s.env(cache) });
}

function goModDownload(s: Setup, cache: string, goproxy?: string): Promise<GoRun> {
  return runGo(["mod", "download"], { cwd: s.project, env: s.env(cache, goproxy) });
}

/** The cache `go mod download` fills alone. */
async function oracleTree(s: Setup): Promise<Map<string, TreeEntry>> {
  const cache = join(s.tmp, "oracle");
  const alone = await goModDownload(s, cache, s.cleanUrl);
  assert.equal(alone.code, 0, alone.stderr);
  return await snapshotTree(cache, { ignore: notLock });
}

/** go, offline, accepts the cache: `go mod verify` and `go build ./...`. */
async function assertGoAccepts(s: Setup, cache: string, oracle: Map<string, TreeEntry>) {
  assert.deepEqual(diffTrees(oracle, await snapshotTree(cache, { ignore: notLock })), []);
  for (const args of [["mod", "verify"], ["build", "./..."]]) {
    const r = await runGo(args, { cwd: s.project, env: s.env(cache, "off") });
    assert.equal(r.code, 0, `go ${args.join(" ")}:\n${r.stderr}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves to "timeout" if `p` takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const SPECS = tinyModules(40, { big: { files: 100, bytes: 1 << 20 } });

Deno.test("goprefetch and go mod download fill one cache at the same time", async () => {
  await withProject(SPECS, 5, async (s) => {
    const oracle = await oracleTree(s);
    for (const [i, goDelayMs] of [0, 150, -150].entries()) {
      const cache = join(s.tmp, `cache-${i}`);
      const [ours, go] = await Promise.all([
        sleep(Math.max(0, -goDelayMs)).then(() => goprefetch(s, cache)),
        sleep(Math.max(0, goDelayMs)).then(() => goModDownload(s, cache)),
      ]);
      assert.equal(ours.code, 0, `goprefetch beside go (round ${i}):\n${ours.stderr}`);
      assert.equal(go.code, 0, `go beside goprefetch (round ${i}):\n${go.stderr}`);
      await assertGoAccepts(s, cache, oracle);
    }
  });
});

Deno.test("two goprefetch runs fill one cache at the same time", async () => {
  await withProject(SPECS, 5, async (s) => {
    const oracle = await oracleTree(s);
    for (const [i, delayMs] of [0, 100].entries()) {
      const cache = join(s.tmp, `cache-${i}`);
      const runs = await Promise.all([
        goprefetch(s, cache),
        sleep(delayMs).then(() => goprefetch(s, cache)),
      ]);
      for (const r of runs) assert.equal(r.code, 0, `round ${i}:\n${r.stderr}`);
      await assertGoAccepts(s, cache, oracle);
    }
  });
});

Deno.test("go mod download waits while goprefetch's version lock is held", async () => {
  await withProject(tinyModules(3), 0, async (s) => {
    const cache = join(s.tmp, "cache");
    const m = s.specs[1];
    const p = modulePaths(cache, m.path, m.version);
    const zip = `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.zip`;
    mkdirAll(p.atV);
    const lock = await lockVersion(p, UMASK);
    let locked = true;
    const go = runGo(["mod", "download", `${m.path}@${m.version}`], {
      cwd: s.project,
      env: s.env(cache),
    });
    try {
      assert.equal(await within(go, 1500), "timeout", "go finished while the lock was held");
      assert.ok(s.proxy.log.some((e) => e.path.endsWith(".mod")), "go never got to the lock");
      assert.ok(!s.proxy.log.some((e) => e.path === zip), "go fetched the zip under our lock");
      lock.close();
      locked = false;
      const done = await within(go, 20_000);
      assert.notEqual(done, "timeout", "go did not finish after the lock was released");
      assert.equal((done as GoRun).code, 0, (done as GoRun).stderr);
      assert.ok(s.proxy.log.some((e) => e.path === zip));
      assert.ok(isDirComplete(p));
    } finally {
      if (locked) lock.close();
      await within(go, 20_000);
    }
  });
});

Deno.test("goprefetch waits while another process holds a version lock", async () => {
  await withProject(tinyModules(3), 0, async (s) => {
    const cache = join(s.tmp, "cache");
    const m = s.specs[1];
    const p = modulePaths(cache, m.path, m.version);
    const zip = `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.zip`;
    mkdirAll(p.atV);
    const lock = await lockVersion(p, UMASK);
    let locked = true;
    const run = cliCommand(["-q", "."], {
      cwd: s.project,
      env: { ...s.env(cache), NO_COLOR: "1" },
      stdout: "null",
    }).output();
    try {
      assert.equal(await within(run, 1500), "timeout", "goprefetch finished under the lock");
      assert.ok(!s.proxy.log.some((e) => e.path === zip), "goprefetch fetched the zip anyway");
      for (const other of [s.specs[0], s.specs[2]]) {
        const q = modulePaths(cache, other.path, other.version);
        assert.ok(isDirComplete(q), `${other.path} waited too`);
      }
      lock.close();
      locked = false;
      const done = await within(run, 20_000);
      assert.notEqual(done, "timeout", "goprefetch did not finish after the lock was released");
      const out = done as Deno.CommandOutput;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.ok(isDirComplete(p));
    } finally {
      if (locked) lock.close();
      await within(run, 20_000);
    }
  });
});
