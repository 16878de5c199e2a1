/**
 * The command line's arguments as every command reads them: the `--json [FILE]` rule, and the
 * parsing, `--help` and usage errors that the prefetch, `verify` and `cache-key` commands share.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { checkOutputFiles, fail, type Sinks } from "./outcome.ts";

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

type Values<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>["values"];

/** A command's parsed arguments: its options' values and its one PATH, if given. */
export interface CommandLine<T extends ParseArgsOptionsConfig> {
  /** The options' values. */
  values: Values<T>;
  /** The PATH argument, or undefined for the current directory. */
  path?: string;
}

/** A command's name (`""` for the prefetch command), its `--help` text and its options. */
export interface CommandSpec<T extends ParseArgsOptionsConfig> {
  /** The subcommand, as typed after `goprefetch`, or `""`. */
  command: string;
  /** What `--help` prints. */
  help: string;
  /** The options besides `-h`/`--help`. */
  options: T;
}

/**
 * `args` with every `--json` in the one form `--json=TARGET`, so that the parser and the
 * sinks read it alike: `--json` alone and `--json=` become `--json=-` (standard output);
 * `--json FILE` becomes `--json=FILE` when FILE ends in `.json`, does not start with `-` and
 * is not a directory, else FILE stays an argument of its own (PATH). Nothing after `--` changes.
 *
 * @example
 * ```ts
 * jsonArgs(["--json", "report.json", "."], () => false); // ["--json=report.json", "."]
 * jsonArgs(["--json", "."], () => false); // ["--json=-", "."]
 * ```
 */
export function jsonArgs(args: string[], isDirectory: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return [...out, ...args.slice(i)];
    if (arg !== "--json" && arg !== "--json=") out.push(arg);
    else if (arg === "--json" && isReportFile(args[i + 1], isDirectory)) {
      out.push(`--json=${args[++i]}`);
    } else out.push("--json=-");
  }
  return out;
}

function isReportFile(
  arg: string | undefined,
  isDirectory: (path: string) => boolean,
): arg is string {
  return arg !== undefined && !arg.startsWith("-") && arg.endsWith(".json") && !isDirectory(arg);
}

/** {@link jsonArgs} for this process: a directory is one that may be read and is one. */
export function processArgs(args: string[]): string[] {
  return jsonArgs(args, (path) => {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return false;
    try {
      return Deno.statSync(path).isDirectory;
    } catch {
      return false;
    }
  });
}

/**
 * Parses `args` (after {@link jsonArgs}) for a command that takes `spec.options`, `-h` and at
 * most one PATH. Returns the exit code when the run ends here: 0 after printing the help,
 * 2 after a {@link usage} error or when the `--json` file or the step summary cannot be
 * written (`checkOutputFiles`).
 *
 * @example
 * ```ts
 * const parsed = parseCommand(args, { command: "cache-key", help: HELP, options }, sinks);
 * if (typeof parsed === "number") return parsed;
 * ```
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(
  args: string[],
  spec: CommandSpec<T>,
  sinks: Sinks,
): CommandLine<T> | number {
  const options: ParseArgsOptionsConfig = { ...spec.options, ...HELP_OPTION };
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options });
  } catch (e) {
    return usage((e as Error).message, sinks, spec.command);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    sinks.stdout(spec.help);
    return 0;
  }
  if (positionals.length > 1) {
    return usage(`expected at most one PATH, got ${positionals.length}`, sinks, spec.command);
  }
  return checkOutputFiles(sinks) ?? { values: values as Values<T>, path: positionals[0] };
}

/** Reports a usage error of `command` (`""` for the prefetch command) and returns 2. */
export function usage(message: string, sinks: Sinks, command = ""): number {
  return fail(message, sinks, `Run "goprefetch${command && ` ${command}`} --help" for usage.`);
}
