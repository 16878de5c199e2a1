/**
 * `--json [FILE]`: every run given it writes exactly one JSON document, the report when the
 * run got going and finished (whatever its modules' fate), else an {@link ErrorReport}.
 *
 * @module
 */
import { VERSION } from "../engine/version.ts";
import type { ErrorReport } from "../engine/report.ts";

/** The {@link ErrorReport} for `message`. */
export function errorReport(message: string): ErrorReport {
  return { tool: { name: "goprefetch", version: VERSION }, error: message };
}

/**
 * Where `--json` sends the report, read from arguments in the form `jsonArgs` (`src/cli/args.ts`)
 * gives them, so that it is known even when the other arguments are wrong: `-` for standard
 * output, a file name, or undefined.
 */
export function jsonTarget(args: string[]): string | undefined {
  let target: string | undefined;
  for (const arg of args) {
    if (arg === "--") break;
    if (arg.startsWith("--json=")) target = arg.slice("--json=".length);
  }
  return target;
}
