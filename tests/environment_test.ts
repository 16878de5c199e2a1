/**
 * A hostile environment: a full disk while extracting, and a module cache that cannot be
 * created. Each runs goprefetch inside a private mount namespace (`unshare -m`) so the small
 * tmpfs it mounts disappears with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { goEnv, makeWritable, tempDir } from "./support/go.ts";
import { writeProxyTree } from "./support/modules.ts";
import { serveProxy } from "./support/proxy_server.ts";
import { tinyModules, writeTinyProject } from "./support/tiny_project.ts";

const MOD_TS = join(import.meta.dirname!, "..", "mod.ts");

function canMount(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("unshare", { args: ["-m", "true"] }).outputSync().success;
  } catch {
    return false;
  }
}

const mountable = canMount();
if (!mountable && Deno.env.get("CI") !== "true") {
  console.warn("environment_test: skipped, needs root and unshare(1) to mount a small tmpfs");
}

/** Mounts a tmpfs of `size` on `cache`, runs goprefetch, then lists the cache, all in one namespace. */
async function runOnTmpfs(
  cache: string,
  size: string,
  project: string,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; listing: string[] }> {
  const script = `mount -t tmpfs -o size=${size} tmpfs "$CACHE" || exit 99
"$DENO" run -A --quiet "$MOD_TS" -q . 2>"$CACHE.stderr"
echo "exit=$?"
find "$CACHE" -mindepth 1 -printf '%P %y\\n'`;
  const out = await new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "sh", "-c", script],
    cwd: project,
    env: { ...env, CACHE: cache, DENO: Deno.execPath(), MOD_TS, NO_COLOR: "1" },
    clearEnv: true,
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
  const code = Number(stdout[0].replace("exit=", ""));
  return { code, stderr: await Deno.readTextFile(cache + ".stderr"), listing: stdout.slice(1) };
}

Deno.test({
  name: "a full disk while extracting fails that module cleanly, leaving nothing go would trust",
  ignore: !mountable && Deno.env.get("CI") !== "true",
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
      const run = await runOnTmpfs(cache, "4m", project, env);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /example\.com\/tiny\/big@v1\.0\.0: .*No space left on device/);
      const big = run.listing.filter((l) => l.includes("tiny/big"));
      assert.ok(!big.some((l) => /big@v1\.0\.0 d$/.test(l)), `module dir left:\n${big.join("\n")}`);
      assert.ok(!big.some((l) => /\.(partial|zip|ziphash) f$|\.tmp f$/.test(l)), big.join("\n"));
    } finally {
      await proxy.close();
      await makeWritable(tmp);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("a module cache that cannot be created is a setup error naming it", async () => {
  const tmp = await tempDir("goprefetch-env-");
  const project = join(tmp, "project");
  await Deno.mkdir(project);
  const specs = tinyModules(2);
  await writeTinyProject(project, specs);
  await Deno.writeTextFile(join(tmp, "file"), "not a directory\n");
  const cache = join(tmp, "file", "cache");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MOD_TS, "."],
      cwd: project,
      env: { ...goEnv({ home: tmp, gomodcache: cache, goproxy: "off" }), NO_COLOR: "1" },
      clearEnv: true,
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
