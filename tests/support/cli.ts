/**
 * The one way tests start goprefetch's command line: `deno run --quiet <flags> cli.ts args…` in
 * a directory, with exactly the environment given (nothing inherited), run to its end
 * ({@link runCli}) or started to be signalled or killed ({@link cliCommand}).
 *
 * @module
 */
import { join } from "node:path";
import { ptyCommand } from "./platform.ts";

/** goprefetch's command line. */
export const CLI_TS: string = join(import.meta.dirname!, "..", "..", "cli.ts");

/** goprefetch's library entry point. */
export const MOD_TS: string = join(import.meta.dirname!, "..", "..", "mod.ts");

/** The output of one run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where a run's standard streams go; piped unless said. */
export interface CliStreams {
  stdout?: "piped" | "null";
  stderr?: "piped" | "null";
}

/** The argument vector that runs `entry` (default cli.ts) with Deno `flags` (default `-A`). */
export function cliArgv(args: string[], flags: string[] = ["-A"], entry = CLI_TS): string[] {
  return [Deno.execPath(), "run", "--quiet", ...flags, entry, ...args];
}

/**
 * The command that runs the CLI with `args` in `cwd` with exactly `env`; `.spawn()` it to
 * signal or kill it, `.output()` it to wait for the end (or use {@link runCli}).
 *
 * @example
 * ```ts
 * const child = cliCommand(["."], { cwd: project, env }).spawn();
 * child.kill("SIGINT");
 * ```
 */
export function cliCommand(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; flags?: string[] } & CliStreams,
): Deno.Command {
  return command(cliArgv(args, opts.flags), opts);
}

/** `argv` as a command in `cwd` with exactly `env` (nothing inherited) and no standard input. */
function command(
  [program, ...args]: string[],
  opts: { cwd: string; env: Record<string, string> } & CliStreams,
): Deno.Command {
  return new Deno.Command(program, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  });
}

/**
 * Runs `argv` to its end in `cwd` with exactly `env`, and collects its output: how the tests
 * run the CLI ({@link runCli}) and the go command (`runGo`).
 */
export async function runProcess(
  argv: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<CliRun> {
  const out = await command(argv, opts).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs the CLI (or `entry` instead of cli.ts) to its end with Deno `flags` (default `-A`). With
 * `pty`, it runs under `script` (`ptyCommand`), so its standard streams are a pseudo-terminal
 * (`columns` wide, set with `stty`, else the pty's default), and `stdout` holds everything it
 * wrote to either.
 *
 * @example
 * ```ts
 * const r = await runCli(["."], { cwd, env, flags: ["--allow-read", "--allow-env"] });
 * ```
 */
export async function runCli(
  args: string[],
  opts: {
    cwd: string;
    env: Record<string, string>;
    flags?: string[];
    pty?: boolean;
    entry?: string;
    columns?: number;
  },
): Promise<CliRun> {
  const cli = cliArgv(args, opts.flags, opts.entry);
  const size = opts.columns === undefined ? "" : `stty cols ${opts.columns} rows 24 && `;
  const argv = opts.pty ? ptyCommand(size + cli.map(shellQuote).join(" ")) : cli;
  return await runProcess(argv, opts);
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
