/**
 * SIGINT and SIGTERM stop a run: no new work, in-flight downloads abandoned, installs under way
 * finished, nothing partial left behind, a summary printed, exit 130 or 143. The signal comes
 * while a zip's response headers are held back, while a zip body is half spilled to its temp
 * file, and while a zip is being extracted.
 */
import { withProxyProject, withStandardProject } from "../support/sandbox.ts";
import { cliCommand } from "../support/cli.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runGo } from "../support/go.ts";
import type { Fault } from "../support/proxy_server.ts";
import { completeModule, moduleFiles } from "../support/small_project.ts";
import { tinyModules, writeTinyProject } from "../support/tiny_project.ts";

const SIGNALS = [["SIGINT", 130], ["SIGTERM", 143]] as const;

/**
 * Starts the CLI on `project`, waits for `moment`, sends `signal`, checks that the run stopped
 * promptly with exit status `code` and its summary, and returns its standard error.
 */
async function interrupt(
  project: string,
  env: Record<string, string>,
  moment: Promise<void>,
  signal: Deno.Signal,
  code: number,
): Promise<string> {
  const child = cliCommand(["."], { cwd: project, env: { ...env, NO_COLOR: "1" } }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the moment to send the signal never came")), 20_000);
  });
  try {
    await Promise.race([moment, timeout]);
  } catch (e) {
    child.kill("SIGKILL");
    await child.output();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const started = performance.now();
  child.kill(signal);
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, code, stderr);
  assert.ok(performance.now() - started < 5000, "the run did not stop promptly");
  assert.match(stderr, /goprefetch: interrupted: \d+ fetched, \d+ already cached, .* \d+ failed/);
  return stderr;
}

/** What the `@v` directory of `path` holds beyond what go re-checks anyway. */
async function leftovers(cache: string, path: string): Promise<string[]> {
  const atV = join(cache, "cache", "download", path, "@v");
  const left = await Array.fromAsync(Deno.readDir(atV)).catch(() => []);
  return left.map((e) => e.name).filter((n) => !/\.(lock|info|mod)$|^list$/.test(n)).sort();
}

/** Polls until `dir` holds a name matching `pattern` (and, with `nonEmpty`, holding bytes). */
async function appears(dir: string, pattern: RegExp, nonEmpty = false): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    for (const e of await Array.fromAsync(Deno.readDir(dir)).catch(() => [])) {
      if (!pattern.test(e.name)) continue;
      if (!nonEmpty) return;
      const size = await Deno.stat(join(dir, e.name)).then((i) => i.size, () => 0);
      if (size > 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`nothing matching ${pattern} appeared in ${dir}`);
}

/** go builds the project from what the run left (fetching the rest) and verifies the cache. */
async function assertGoTrustsCache(project: string, env: Record<string, string>): Promise<void> {
  const build = await runGo(["build", "./..."], { cwd: project, env });
  assert.equal(build.code, 0, build.stderr);
  const verify = await runGo(["mod", "verify"], { cwd: project, env });
  assert.equal(verify.code, 0, verify.stderr);
}

for (const [signal, code] of SIGNALS) {
  Deno.test(`${signal} stops the run, leaves no partial module and exits ${code}`, async () => {
    const held = Promise.withResolvers<void>();
    const bigRequested = Promise.withResolvers<void>();
    let armed = false;
    const fault = (_req: Request, path: string) => {
      if (!armed || !/^\/example\.com\/big\/@v\/.*\.zip$/.test(path)) return undefined;
      bigRequested.resolve();
      return held.promise.then(() => new Response("gone", { status: 503 }));
    };
    await withStandardProject("goprefetch-signal-", async ({ tmp, project, env }) => {
      const cache = join(tmp, "cache");
      armed = true;
      try {
        const stderr = await interrupt(project, env(cache), bigRequested.promise, signal, code);
        assert.match(stderr, /\d+ failed, \d+ cancelled/);
        assert.deepEqual(
          await leftovers(cache, "example.com/big"),
          [],
          "a zip, ziphash, temp file or .partial of the interrupted module was left",
        );
        await assert.rejects(Deno.stat(join(cache, "example.com", "big@v1.0.0")));

        armed = false;
        held.resolve();
        await assertGoTrustsCache(project, env(cache));
      } finally {
        held.resolve();
      }
    }, { fault });
  });
}

const BIG = "example.com/tiny/big";

for (const [signal, code] of SIGNALS) {
  Deno.test(`${signal} while a zip body is half spilled to its temp file removes the temp file`, async () => {
    const specs = tinyModules(3, { big: { files: 10, bytes: 2 << 20 } });
    const held = Promise.withResolvers<void>();
    let armed = false;
    let root = "";
    // No Content-Length: the body goes to a temp file whatever its size; half of it, then nothing.
    const fault: Fault = (_req, path) => {
      if (!armed || path !== `/${BIG}/@v/v1.0.0.zip`) return undefined;
      return Deno.readFile(join(root, path)).then((zip) => {
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (step++ === 0) return controller.enqueue(zip.subarray(0, zip.length >> 1));
            await held.promise;
            controller.close();
          },
        }, { highWaterMark: 0 });
        return new Response(body);
      });
    };
    await withProxyProject("goprefetch-signal-spill-", specs, async (p) => {
      root = p.root;
      await writeTinyProject(p.project, specs);
      const cache = join(p.tmp, "cache");
      const atV = join(cache, "cache", "download", BIG, "@v");
      armed = true;
      try {
        const spilled = appears(atV, /^v1\.0\.0\.zip\d+\.tmp$/, true);
        const stderr = await interrupt(p.project, p.env(cache), spilled, signal, code);
        assert.match(stderr, /\d+ failed, \d+ cancelled/);
        assert.deepEqual(await leftovers(cache, BIG), [], "the temp file or a zip was left");
        await assert.rejects(Deno.stat(join(cache, `${BIG}@v1.0.0`)));
        armed = false;
        held.resolve();
        await assertGoTrustsCache(p.project, p.env(cache));
      } finally {
        held.resolve();
      }
    }, { fault });
  });
}

for (const [signal, code] of SIGNALS) {
  Deno.test(`${signal} while a zip is being extracted lets the install finish`, async () => {
    const specs = tinyModules(3, { big: { files: 3000, bytes: 1 << 20 } });
    await withProxyProject("goprefetch-signal-extract-", specs, async (p) => {
      await writeTinyProject(p.project, specs);
      const cache = join(p.tmp, "cache");
      const atV = join(cache, "cache", "download", BIG, "@v");
      await interrupt(p.project, p.env(cache), appears(atV, /^v1\.0\.0\.partial$/), signal, code);
      assert.deepEqual(await moduleFiles(cache, BIG, "v1.0.0"), completeModule("v1.0.0"));
      assert.deepEqual(await leftovers(cache, BIG), ["v1.0.0.zip", "v1.0.0.ziphash"]);
      await assertGoTrustsCache(p.project, p.env(cache));
    });
  });
}
