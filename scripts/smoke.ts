/**
 * `deno run -A scripts/smoke.ts [BINARY]`: runs one goprefetch build end to end against a
 * proxy on 127.0.0.1, as the release workflow does with each binary it can run: `--version`;
 * a prefetch of a few generated modules, which starts the install worker; `go mod verify` on
 * the cache it filled; and `goprefetch verify`, whose zips add up to enough to start the
 * verify worker too. A binary that left out a worker script, or a permission, fails here.
 *
 * BINARY is a compiled goprefetch (`dist/goprefetch-TARGET`); without it, cli.ts runs under
 * `deno run` with the binaries' permissions. Prints one line per step; exits 0 when all pass,
 * else 1 after one line that names the step and what went wrong. Needs `go` on PATH.
 *
 * @module
 */
import { join, resolve } from "node:path";
import config from "../deno.json" with { type: "json" };
import { goEnv, makeWritable, runGo, tempDir } from "../tests/support/go.ts";
import { writeProxyTree } from "../tests/support/modules.ts";
import { serveProxy } from "../tests/support/proxy_server.ts";
import { tinyModules, writeTinyProject } from "../tests/support/tiny_project.ts";
import { PERMISSIONS } from "./compile.ts";

/** Zip bytes of the big module: above the 16 MiB from which `verify` starts workers. */
const BIG_BYTES = 17 * 1024 * 1024;

/** The command that runs goprefetch: `binary`, or cli.ts under `deno run` with its permissions. */
export function smokeCommand(binary?: string): string[] {
  if (binary !== undefined) return [resolve(binary)];
  const cli = join(import.meta.dirname!, "..", "cli.ts");
  return [Deno.execPath(), "run", "--quiet", "--no-config", ...PERMISSIONS, cli];
}

/** A step that failed: its name and what went wrong, in one line. */
export class SmokeError extends Error {
  override name = "SmokeError";
}

/**
 * Runs the smoke test with `command` (see {@link smokeCommand}), reporting each step that
 * passes to `log`.
 *
 * @throws {SmokeError} for the first step that fails.
 */
export async function smoke(command: string[], log: (line: string) => void): Promise<void> {
  const tmp = await tempDir("goprefetch-smoke-");
  const project = join(tmp, "project");
  const gomodcache = join(tmp, "modcache");
  await Deno.mkdir(project);
  await Deno.mkdir(join(tmp, "home"));
  const specs = tinyModules(3, { big: { files: 8, bytes: BIG_BYTES } });
  await writeProxyTree(join(tmp, "proxy"), specs);
  await writeTinyProject(project, specs);
  const proxy = await serveProxy(join(tmp, "proxy"));
  const env = goEnv({ home: join(tmp, "home"), gomodcache, goproxy: proxy.url });
  const run = (args: string[]) => output(command[0], [...command.slice(1), ...args], project, env);
  try {
    const version = await run(["--version"]);
    expect("--version", version, version.stdout === `goprefetch ${config.version}\n`);
    log(`smoke: --version ok (${version.stdout.trim()})`);

    const prefetch = await run(["-q", "--json=" + join(tmp, "prefetch.json"), "."]);
    const fetched = prefetch.code === 0 && readJson(join(tmp, "prefetch.json")).totals.fetched;
    expect("prefetch", prefetch, fetched === specs.length);
    log(`smoke: prefetch ok (${specs.length} modules fetched and installed)`);

    const go = await runGo(["mod", "verify"], { cwd: project, env });
    expect("go mod verify", go, go.stdout === "all modules verified\n");
    log("smoke: go mod verify ok");

    const verify = await run(["verify", "-q", "--json=" + join(tmp, "verify.json"), "."]);
    const ok = verify.code === 0 && readJson(join(tmp, "verify.json")).totals.ok;
    expect("verify", verify, ok === specs.length);
    log(`smoke: verify ok (${specs.length} modules verified)`);
  } finally {
    await proxy.close();
    await makeWritable(tmp);
    await Deno.remove(tmp, { recursive: true });
  }
}

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function output(
  program: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Output> {
  try {
    const out = await new Deno.Command(program, {
      args,
      cwd,
      env,
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
    };
  } catch (e) {
    return { code: -1, stdout: "", stderr: `cannot run ${program}: ${(e as Error).message}` };
  }
}

function readJson(file: string): { totals: Record<string, number> } {
  return JSON.parse(Deno.readTextFileSync(file));
}

function expect(step: string, out: Output, passed: boolean): void {
  if (passed) return;
  const said = (out.stderr.trim() || out.stdout.trim()).split("\n").slice(0, 3).join(" | ");
  throw new SmokeError(`${step} failed (exit ${out.code}): ${said || "no output"}`);
}

if (import.meta.main) {
  try {
    await smoke(smokeCommand(Deno.args[0]), console.log);
  } catch (e) {
    if (!(e instanceof SmokeError)) throw e;
    console.error(`smoke: ${e.message}`);
    Deno.exit(1);
  }
}
