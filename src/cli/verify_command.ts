/**
 * The `goprefetch verify` subcommand: parses its arguments, runs {@link runVerify}, prints
 * each problem and a summary, and returns the exit code (0 all good, 1 a module was
 * modified, 2 usage or setup error).
 *
 * @module
 */
import { parseCommand } from "./args.ts";
import { currentHost } from "../project/host.ts";
import { fail, type Sinks, writeJson } from "./outcome.ts";
import { commandNeeds, missingPermission, outputNeeds } from "./permissions.ts";
import { SetupError } from "../engine/setup.ts";
import { runVerify, type VerifyReport } from "../engine/verify.ts";

const HELP = `goprefetch verify: check the cached modules go.sum names, as go mod verify does

Usage: goprefetch verify [OPTIONS] [PATH]

Re-hashes the .zip and the extracted directory of every module version that the go.sum
files of PATH name (a module, a go.work workspace, or with --recursive every module
below PATH) and compares them with .ziphash and go.sum. Modules not in the cache are
not an error.

Options:
      --recursive        take the go.sum of every module under PATH
  -v, --verbose          one line per module
  -q, --quiet            print problems only
      --json [FILE]      print the JSON report on stdout, or write it to FILE (--json=FILE,
                         or --json FILE when FILE ends in .json and is not a directory)
  -h, --help             show this help

Exit status: 0 nothing modified, 1 a module was modified, 2 usage or setup error.
`;

/** Runs `goprefetch verify` with `args` (those after `verify`); returns the exit code. */
export async function verifyMain(args: string[], sinks: Sinks): Promise<number> {
  const parsed = parseCommand(args, {
    command: "verify",
    help: HELP,
    options: {
      recursive: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
      quiet: { type: "boolean", short: "q" },
      json: { type: "string" },
    },
  }, sinks);
  if (typeof parsed === "number") return parsed;
  const { values, path } = parsed;
  const options = { dir: path, recursive: values.recursive };
  const missing = missingPermission(
    commandNeeds(options, "verify", outputNeeds(sinks.json, undefined)),
  );
  if (missing) return fail(missing, sinks);
  let report: VerifyReport;
  try {
    report = await runVerify(options, currentHost());
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    return fail(e.message, sinks);
  }
  const written = writeJson(report, sinks);
  for (const m of report.modules) {
    for (const problem of m.problems) sinks.stderr(`goprefetch: ${problem}\n`);
    if (values.verbose) sinks.stderr(`${m.status.padEnd(9)} ${m.path}@${m.version}\n`);
  }
  if (!values.quiet) {
    for (const w of report.warnings) sinks.stderr(`goprefetch: warning: ${w}\n`);
    const t = report.totals;
    sinks.stderr(
      `goprefetch verify: ${t.ok} verified, ${t.absent} not in the cache, ${t.modified} ` +
        `modified; ${t.seconds.toFixed(1)} s\n`,
    );
  }
  return report.totals.modified > 0 ? 1 : written ? 0 : 2;
}
