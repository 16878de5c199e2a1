/**
 * SIGINT and SIGTERM stop a run: no new work, in-flight downloads abandoned, nothing
 * partial left behind, a summary printed, exit 130 or 143.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runGo } from "./support/go.ts";
import { withStandardProject } from "./support/proxy_project.ts";

const MOD_TS = join(import.meta.dirname!, "..", "mod.ts");

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
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
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", MOD_TS, "."],
          cwd: project,
          env: { ...env(cache), NO_COLOR: "1" },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const timeout = setTimeout(
          () => bigRequested.reject(new Error("big's zip never requested")),
          20_000,
        );
        await bigRequested.promise.finally(() => clearTimeout(timeout));
        const started = performance.now();
        child.kill(signal);
        const out = await child.output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, code, stderr);
        assert.ok(performance.now() - started < 5000, "the run did not stop promptly");
        assert.match(stderr, /goprefetch: \d+ fetched, .*\d+ cancelled/);

        const atV = join(cache, "cache", "download", "example.com", "big", "@v");
        const left = await Array.fromAsync(Deno.readDir(atV)).catch(() => []);
        assert.deepEqual(
          left.map((e) => e.name).filter((n) => !/\.(lock|info|mod)$|^list$/.test(n)),
          [],
          "a zip, ziphash, temp file or .partial of the interrupted module was left",
        );
        await assert.rejects(Deno.stat(join(cache, "example.com", "big@v1.0.0")));

        armed = false;
        held.resolve();
        const build = await runGo(["build", "./..."], { cwd: project, env: env(cache) });
        assert.equal(build.code, 0, build.stderr);
        const verify = await runGo(["mod", "verify"], { cwd: project, env: env(cache) });
        assert.equal(verify.code, 0, verify.stderr);
      } finally {
        held.resolve();
      }
    }, { fault });
  });
}
