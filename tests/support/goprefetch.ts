import { join } from "node:path";

/** The output of one goprefetch CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI_TS = join(import.meta.dirname!, "..", "..", "cli.ts");

/**
 * Runs the goprefetch CLI (`deno run -A cli.ts args…`) in `cwd` with exactly `env`.
 *
 * @example
 * ```ts
 * const { code } = await runGoprefetch(["-q", "."], { cwd, env });
 * ```
 */
export async function runGoprefetch(
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI_TS, ...args],
    cwd: opts.cwd,
    env: { ...opts.env, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Inode and modification time of every entry under `root`, to prove nothing was rewritten. */
export async function fileIdentities(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const info = await Deno.lstat(path);
      out.set(join(rel, e.name), `${info.ino}:${info.mtime?.getTime()}:${info.mode}`);
      if (info.isDirectory) await walk(path, join(rel, e.name));
    }
  };
  await walk(root, "");
  return out;
}
