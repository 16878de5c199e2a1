/**
 * A hostile environment: a full disk while extracting, a read-only module cache, and a module
 * cache that cannot be created. The mounts happen inside a private mount namespace
 * (`unshare -m`), so they disappear with it; root ignores permission bits, so only a mount makes
 * a cache read-only.
 */
import { CLI_TS, cliCommand } from "../support/cli.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "../support/go.ts";
import { writeProxyTree } from "../support/modules.ts";
import { needing } from "../support/platform.ts";
import { serveProxy } from "../support/proxy_server.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";

/** One goprefetch run inside the namespace. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * In one private mount namespace: runs `mount` (a shell command on `$CACHE`), then goprefetch
 * once per entry of `runs` (its arguments), then lists the cache. Outputs go beside `cache`.
 */
async function runMounted(
  mount: string,
  cache: string,
  project: string,
  env: Record<string, string>,
  runs: string[][],
): Promise<{ runs: Run[]; listing: string[] }> {
  const script = [
    `${mount} || exit 99`,
    ...runs.map((args, i) =>
      `"$DENO" run -A --quiet "$CLI_TS" ${args.join(" ")} >"$CACHE.${i}.out" 2>"$CACHE.${i}.err"
echo $? >"$CACHE.${i}.code"`
    ),
    `find "$CACHE" -mindepth 1 -printf '%P %y\\n'`,
  ].join("\n");
  const out = await new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "sh", "-c", script],
    cwd: project,
    env: { ...env, CACHE: cache, DENO: Deno.execPath(), CLI_TS, NO_COLOR: "1" },
    clearEnv: true,
  }).output();
  assert.equal(out.code, 0, `mount or listing failed: ${new TextDecoder().decode(out.stderr)}`);
  const read = (i: number, ext: string) => Deno.readTextFile(`${cache}.${i}.${ext}`);
  return {
    runs: await Promise.all(runs.map(async (_, i) => ({
      code: Number(await read(i, "code")),
      stdout: await read(i, "out"),
      stderr: await read(i, "err"),
    }))),
    listing: new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l !== ""),
  };
}

Deno.test(needing("mount namespace", {
  name: "a full disk while extracting fails that module cleanly, leaving nothing go would trust",
  fn: async () => {
    const tmp = await tempDir("goprefetch-env-");
    const project = join(tmp, "project");
    const cache = join(tmp, "cache");
    await Deno.mkdir(project);
    await Deno.mkdir(cache);
    const specs = tinyModules(5, { big: { files: 20, bytes: 3 << 20 } });
    await writeProxyTree(join(tmp, "proxy"), specs);
    await writeTinyProject(project, specs);
    const proxy = await serveProxy(join(tmp, "proxy"));
    try {
      const env = goEnv({ home: tmp, gomodcache: cache, goproxy: proxy.url });
      const mount = `mount -t tmpfs -o size=4m tmpfs "$CACHE"`;
      const { runs: [run], listing } = await runMounted(mount, cache, project, env, [["-q", "."]]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /example\.com\/tiny\/big@v1\.0\.0: .*No space left on device/);
      const big = listing.filter((l) => l.includes("tiny/big"));
      assert.ok(!big.some((l) => /big@v1\.0\.0 d$/.test(l)), `module dir left:\n${big.join("\n")}`);
      assert.ok(!big.some((l) => /\.(partial|zip|ziphash) f$|\.tmp f$/.test(l)), big.join("\n"));
    } finally {
      await proxy.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    }
  },
}));

Deno.test(needing("mount namespace", {
  name:
    "a read-only module cache is a setup error before any request; --dry-run and cache-key work",
  fn: async () => {
    const tmp = await tempDir("goprefetch-env-");
    const project = join(tmp, "project");
    const cache = join(tmp, "cache");
    await Deno.mkdir(project);
    await Deno.mkdir(join(cache, "cache", "download"), { recursive: true });
    const specs = tinyModules(3);
    await writeProxyTree(join(tmp, "proxy"), specs);
    await writeTinyProject(project, specs);
    const proxy = await serveProxy(join(tmp, "proxy"));
    try {
      const env = goEnv({ home: tmp, gomodcache: cache, goproxy: proxy.url });
      const mount = `mount --bind "$CACHE" "$CACHE" && mount -o remount,bind,ro "$CACHE"`;
      const { runs: [run, dryRun, cacheKey], listing } = await runMounted(
        mount,
        cache,
        project,
        env,
        [["-q", "."], ["--dry-run", "."], ["cache-key", "."]],
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `^goprefetch: Module cache ${cache} is not writable: Read-only file system.*\\. ` +
            "Point GOMODCACHE at a writable directory\\.\\n$",
        ),
      );
      assert.equal(dryRun.code, 0, dryRun.stderr);
      assert.match(dryRun.stdout + dryRun.stderr, /^goprefetch: dry run: 3 to fetch, /m);
      assert.equal(cacheKey.code, 0, cacheKey.stderr);
      assert.match(cacheKey.stdout, /^[0-9a-f]{64}\n$/);
      assert.deepEqual(proxy.requests, [], "a run on a read-only cache made requests");
      assert.deepEqual(listing, ["cache d", "cache/download d"]);
    } finally {
      await proxy.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    }
  },
}));

Deno.test("a module cache that cannot be created is a setup error naming it", async () => {
  const tmp = await tempDir("goprefetch-env-");
  const project = join(tmp, "project");
  await Deno.mkdir(project);
  const specs = tinyModules(2);
  await writeTinyProject(project, specs);
  await Deno.writeTextFile(join(tmp, "file"), "not a directory\n");
  const cache = join(tmp, "file", "cache");
  try {
    const out = await cliCommand(["."], {
      cwd: project,
      env: { ...goEnv({ home: tmp, gomodcache: cache, goproxy: "off" }), NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, new RegExp(`Could not create module cache ${cache}: .*writable`));
    assert.equal(stderr.trim().split("\n").length, 1, "one line, no stack trace");
  } finally {
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
});
