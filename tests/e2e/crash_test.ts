/**
 * Crash safety: goprefetch is killed with SIGKILL at seeded random moments while it
 * downloads and installs through a slow proxy. Whatever it leaves, nothing may look
 * complete by go's rule (directory, no `.partial`, `.ziphash`) unless it is exactly the
 * zip's contents, and go, a rerun and `go mod verify` must all cope.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { modulePaths } from "../../src/cache/module_cache.ts";
import { escapePath, escapeVersion } from "../../src/module/module_path.ts";
import { mulberry32, serveFaultProxy } from "../support/fault_proxy.ts";
import { goEnv, makeWritable, runGo, tempDir } from "../support/go.ts";
import { cliCommand, runCli } from "../support/cli.ts";
import { serveProxy } from "../support/proxy_server.ts";
import { type ModuleSpec, writeProxyTree } from "../support/modules.ts";
import { goSumLines, tinyModules, writeTinyProject } from "../support/tiny_project.ts";

const LANES = 2;
const TRIALS_PER_LANE = 13;
const SEED = 0x5eed;
const ARGS = ["-q", "-c", "8", "--stall-timeout", "1", "."];

/** What a module's zip holds: file names relative to the module root, and their bytes. */
type ZipContents = Map<string, Uint8Array>;

async function zipContents(zip: Uint8Array, prefix: string): Promise<ZipContents> {
  const reader = new ZipReader(new Uint8ArrayReader(zip), { useWebWorkers: false });
  const out: ZipContents = new Map();
  for (const entry of await reader.getEntries()) {
    if (entry.directory || !entry.getData) continue;
    assert.ok(entry.filename.startsWith(prefix), entry.filename);
    out.set(entry.filename.slice(prefix.length), await entry.getData(new Uint8ArrayWriter()));
  }
  await reader.close();
  return out;
}

async function readTree(dir: string): Promise<ZipContents> {
  const out: ZipContents = new Map();
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const path = join(d, e.name);
      if (e.isDirectory) await walk(path);
      else out.set(relative(dir, path), await Deno.readFile(path));
    }
  };
  await walk(dir);
  return out;
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

interface Expected {
  spec: ModuleSpec;
  zip: Uint8Array;
  contents: ZipContents;
  h1: string;
}

/**
 * Checks go's rules on what a killed run left: a module complete by go's rule holds exactly
 * its zip's files; `.zip` only with a correct `.ziphash`, and only the whole zip. A torn
 * `.ziphash` (go writes it the same way: create, lock, truncate, write) is allowed only
 * under `.partial`, where go re-hashes instead of trusting it. Returns the leftovers seen (`.partial`, temp files) for the statistics.
 */
async function checkCache(cache: string, expected: Expected[], when: string): Promise<string[]> {
  const leftovers: string[] = [];
  for (const { spec, zip, contents, h1 } of expected) {
    const p = modulePaths(cache, spec.path, spec.version);
    const id = `${when}: ${spec.path}@${spec.version}`;
    const [dir, partial, ziphash, zipFile] = await Promise.all(
      [p.dir, p.base + ".partial", p.base + ".ziphash", p.base + ".zip"].map(exists),
    );
    if (partial) leftovers.push(".partial");
    if (ziphash) {
      const text = await Deno.readTextFile(p.base + ".ziphash");
      const torn = partial && h1.startsWith(text);
      assert.ok(text === h1 || torn, `${id}: .ziphash holds ${JSON.stringify(text)}`);
    }
    if (zipFile) {
      assert.ok(ziphash, `${id}: .zip without .ziphash`);
      assert.deepEqual(await Deno.readFile(p.base + ".zip"), zip, `${id}: .zip differs`);
    }
    if (dir && !partial && ziphash) {
      const files = await readTree(p.dir);
      assert.deepEqual([...files.keys()].sort(), [...contents.keys()].sort(), `${id}: files`);
      for (const [name, data] of contents) {
        assert.deepEqual(files.get(name), data, `${id}: ${name} differs from the zip`);
      }
    }
    const atV = await Array.fromAsync(Deno.readDir(p.atV)).catch(() => []);
    for (const e of atV) if (e.name.endsWith(".tmp")) leftovers.push("tmp");
  }
  return leftovers;
}

Deno.test("SIGKILL at random moments never leaves a module that go would trust but is wrong", async () => {
  const tmp = await tempDir("goprefetch-crash-");
  const root = join(tmp, "proxy");
  const specs = tinyModules(20, { big: { files: 300, bytes: 3 << 20 } });
  await writeProxyTree(root, specs);
  const expected: Expected[] = await Promise.all(specs.map(async (spec) => {
    const file = join(root, escapePath(spec.path), "@v", `${escapeVersion(spec.version)}.zip`);
    const zip = await Deno.readFile(file);
    const h1 = goSumLines(spec)[0].split(" ")[2];
    return { spec, zip, h1, contents: await zipContents(zip, `${spec.path}@${spec.version}/`) };
  }));
  const slow = await Promise.all(
    Array.from({ length: LANES }, () => serveFaultProxy({ root, latencyMs: 40 })),
  );
  const fast = await serveProxy(root);
  const stats = { trials: 0, killedMidRun: 0, leftovers: 0 };
  try {
    const lane = async (n: number) => {
      const proxy = slow[n];
      const project = join(tmp, `project-${n}`);
      const cache = join(tmp, `cache-${n}`);
      await Deno.mkdir(project);
      await writeTinyProject(project, specs);
      const env = (goproxy: string) => goEnv({ home: tmp, gomodcache: cache, goproxy });
      const wipe = async () => {
        await makeWritable(cache).catch(() => {});
        await Deno.remove(cache, { recursive: true }).catch(() => {});
      };
      const rng = mulberry32(SEED + n);

      proxy.log.length = 0;
      const calibration = spawnGoprefetch(project, env(proxy.url));
      const calibrated = await calibration.status;
      assert.equal(calibrated.code, 0);
      const window = performance.now() - (proxy.log[0]?.at ?? 0);
      await wipe();

      for (let trial = 0; trial < TRIALS_PER_LANE; trial++) {
        const when = `lane ${n} trial ${trial}`;
        proxy.log.length = 0;
        const child = spawnGoprefetch(project, env(proxy.url));
        const deadline = performance.now() + 10_000;
        while (proxy.log.length === 0 && performance.now() < deadline) await sleep(2);
        await sleep(rng() * 0.6 * window);
        let killed = true;
        try {
          child.process.kill("SIGKILL");
        } catch {
          killed = false;
        }
        const status = await child.status;
        stats.trials++;
        if (killed && status.signal === "SIGKILL") stats.killedMidRun++;
        if ((await checkCache(cache, expected, when)).length > 0) stats.leftovers++;

        const rerun = () => runCli(ARGS, { cwd: project, env: env(proxy.url) });
        const build = () =>
          runGo(["build", "./..."], {
            cwd: project,
            env: env(proxy.url),
          });
        const steps = trial % 2 === 0
          ? [["goprefetch rerun", rerun], ["go build", build]] as const
          : [["go build", build], ["goprefetch rerun", rerun]] as const;
        for (const [name, step] of steps) {
          const r = await step();
          assert.equal(r.code, 0, `${when}: ${name} after the kill:\n${r.stderr}`);
        }
        const verify = await runGo(["mod", "verify"], { cwd: project, env: env("off") });
        assert.equal(verify.code, 0, `${when}: go mod verify:\n${verify.stderr}`);
        const after = await checkCache(cache, expected, `${when}, after`);
        assert.ok(!after.includes(".partial"), `${when}: a .partial outlived the rerun`);
        await wipe();
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
  } finally {
    await Promise.all([...slow, fast].map((p) => p.close()));
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
  assert.ok(stats.trials >= 25);
  assert.ok(
    stats.killedMidRun >= stats.trials / 2,
    `only ${stats.killedMidRun} kills landed mid-run`,
  );
  assert.ok(stats.leftovers >= 3, `only ${stats.leftovers} kills left a .partial or temp file`);
});

function spawnGoprefetch(
  project: string,
  env: Record<string, string>,
): { process: Deno.ChildProcess; status: Promise<Deno.CommandStatus> } {
  const process = cliCommand([...ARGS], {
    cwd: project,
    env: { ...env, NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { process, status: process.status };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
