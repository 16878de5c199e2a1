/**
 * `deno task compile` (scripts/compile.ts): the binaries include every Web Worker script and
 * get named permissions, and where Deno's runtime (denort) cannot be had the task fails with
 * one line that mentions DENORT_BIN, quickly, without a stack trace. The release workflow's
 * smoke test of a binary (scripts/smoke.ts) passes for cli.ts with the binaries' permissions,
 * and fails, naming the step, for a build that lacks one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { VERSION } from "../mod.ts";
import { compileArgs, PERMISSIONS, TARGETS, workerScripts } from "../scripts/compile.ts";
import { smoke, smokeCommand, SmokeError } from "../scripts/smoke.ts";
import { tempDir } from "./support/go.ts";

const ROOT = join(import.meta.dirname!, "..");

/** Runs scripts/compile.ts with a fresh DENO_DIR (no cached runtime) and `env`. */
async function compile(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const denoDir = await tempDir("goprefetch-denodir-");
  const started = performance.now();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", "-A", "scripts/compile.ts", ...args],
      cwd: ROOT,
      env: { PATH: Deno.env.get("PATH") ?? "", HOME: denoDir, DENO_DIR: denoDir, ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      ms: performance.now() - started,
    };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

/** An address where nothing listens: as an HTTPS proxy it makes every download fail at once. */
function closedPort(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("compile: every worker script is included, and the permissions are named", () => {
  const workers = workerScripts();
  assert.ok(workers.includes("src/cache/install_worker.ts"), workers.join(", "));
  assert.ok(workers.includes("src/cache/verify_worker.ts"), workers.join(", "));
  for (const w of workers) assert.ok(Deno.statSync(join(ROOT, w)).isFile, w);
  assert.deepEqual(TARGETS, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
  ]);
  const args = compileArgs("aarch64-apple-darwin");
  assert.ok(args.join(" ").includes("--include src/cache/install_worker.ts"), args.join(" "));
  assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
  for (
    const flag of ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"]
  ) {
    assert.ok(args.includes(flag), flag);
  }
  assert.deepEqual(args.slice(-5), [
    "--target",
    "aarch64-apple-darwin",
    "--output",
    join("dist", "goprefetch-aarch64-apple-darwin"),
    "cli.ts",
  ]);
});

Deno.test("compile: no runtime to download fails with one line naming DENORT_BIN", async () => {
  const r = await compile(["x86_64-unknown-linux-gnu"], { HTTPS_PROXY: closedPort() });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  assert.match(
    r.stderr,
    /^compile: cannot get Deno's runtime \(denort\) for x86_64-unknown-linux-gnu from https:\/\/\S+denort-x86_64-unknown-linux-gnu\.zip \(.+\)\. /,
  );
  assert.match(r.stderr, /DENORT_BIN/);
  assert.ok(!/Stack backtrace|^\s+at /m.test(r.stderr), r.stderr);
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
});

Deno.test("compile: a DENORT_BIN that is not a runtime fails with one line naming it", async () => {
  const fake = join(await tempDir("goprefetch-denort-"), "denort");
  try {
    await Deno.writeTextFile(fake, "not a runtime\n");
    const r = await compile(["x86_64-unknown-linux-gnu"], {
      DENORT_BIN: fake,
      HTTPS_PROXY: closedPort(),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.ok(
      r.stderr.startsWith(`compile: deno compile cannot use DENORT_BIN=${fake} for x86_64-`),
      r.stderr,
    );
  } finally {
    await Deno.remove(join(fake, ".."), { recursive: true });
  }
});

Deno.test("compile: an unknown target exits 2 naming the targets", async () => {
  const r = await compile(["sparc-sun-solaris"], {});
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `compile: unknown target "sparc-sun-solaris"; the targets are ${TARGETS.join(", ")}\n`,
  );
});

Deno.test("compile: the release smoke test passes for cli.ts with the binaries' permissions", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", "scripts/smoke.ts"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.deepEqual(stdout.split("\n").map((l) => l.split(" ok")[0]), [
    "smoke: --version",
    "smoke: prefetch",
    "smoke: go mod verify",
    "smoke: verify",
    "",
  ]);
  const command = smokeCommand();
  for (const flag of PERMISSIONS) assert.ok(command.includes(flag), flag);
  assert.ok(!command.includes("-A"));
});

Deno.test("compile: the release smoke test fails, naming the step, for a build without --allow-net", async () => {
  const command = smokeCommand().filter((arg) => arg !== "--allow-net");
  const lines: string[] = [];
  const error = await smoke(command, (line) => lines.push(line)).then(() => undefined, (e) => e);
  assert.ok(error instanceof SmokeError, String(error));
  assert.deepEqual(lines, [`smoke: --version ok (goprefetch ${VERSION})`]);
  assert.match(
    error.message,
    /^prefetch failed \(exit 2\): goprefetch: needs --allow-net=127\.0\.0\.1:\d+ /,
  );
});
