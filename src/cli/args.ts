/**
 * The command line's arguments as every command reads them: the `--json [FILE]` rule, and the
 * parsing, `--help` and usage errors that the prefetch, `verify` and `cache-key` commands share.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { checkOutputFiles, fail, type Sinks } from "./outcome.ts";
import { checkToolchainName, ToolchainNameError } from "../engine/toolchain.ts";

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
  /** An option's name as it was typed (`-c` or `--concurrency`), for its messages. */
  typed: (option: keyof T & string) => string;
}

/** A usage error: one line that names the option; the command adds where `--help` is. */
export class UsageError extends Error {
  override name = "UsageError";
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
 * 2 after a {@link usage} error (an unknown option, a value missing or given to a flag, more
 * than one PATH) or when the `--json` file or the step summary cannot be written
 * (`checkOutputFiles`). A string option takes the next argument even when it is `-` or starts
 * with `-` and a digit (so `-c -3` is a bad number, as `-c 0` is); any other `-…` there means
 * the value was left out.
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
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const typed: Record<string, string> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const { name, rawName, value } = token;
    const option = Object.hasOwn(options, name) ? options[name] : undefined;
    let error;
    if (option === undefined) error = `unknown option ${rawName}`;
    else if (option.type === "boolean" && value !== undefined) {
      error = `${rawName} takes no value, got "${value}"`;
    } else if (option.type === "string" && (value === undefined || /^$|^-\D/.test(value))) {
      error = `${rawName} needs a value`;
    }
    if (error !== undefined) return usage(error, sinks, spec.command);
    values[name] = value ?? true;
    typed[name] = rawName;
  }
  if (values.help) {
    sinks.stdout(spec.help);
    return 0;
  }
  if (positionals.length > 1) {
    return usage(
      `one PATH at most, got ${positionals.length}: ${positionals.join(" ")}`,
      sinks,
      spec.command,
    );
  }
  return checkOutputFiles(sinks) ?? {
    values: values as Values<T>,
    path: positionals[0],
    typed: (option) => typed[option] ?? `--${option}`,
  };
}

/**
 * Reports a usage error of `command` (`""` for the prefetch command) in one line that says
 * where the help is, as `goprefetch: MESSAGE (see goprefetch COMMAND --help)`, and returns 2.
 */
export function usage(message: string, sinks: Sinks, command = ""): number {
  return fail(`${message} (see goprefetch${command && ` ${command}`} --help)`, sinks);
}

/**
 * Checks a `--toolchain` value as {@link checkToolchainName} does.
 *
 * @throws {UsageError} when it names no Go toolchain.
 */
export function toolchainName(name: string): void {
  try {
    checkToolchainName(name);
  } catch (e) {
    if (e instanceof ToolchainNameError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * The whole number an option was given, `fallback` when it was not.
 *
 * @throws {UsageError} when it is not a whole number from `min` to `max`.
 */
export function wholeNumber(
  value: string | undefined,
  typed: string,
  { min, max, fallback }: { min: number; max?: number; fallback: number },
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (/^-?[0-9]+$/.test(value) && n >= min && n <= (max ?? Infinity)) return n;
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  throw new UsageError(`${typed} must be a whole number ${range}, got "${value}"`);
}
