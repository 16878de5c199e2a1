/**
 * The `goprefetch verify` subcommand: parses its arguments, runs {@link runVerify}, prints
 * each problem and a summary, and returns the exit code (0 all good, 1 a module was
 * modified, 2 usage or setup error).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { currentHost } from "./host.ts";
import { SetupError, VERSION } from "./prefetch.ts";
import { runVerify, type VerifyReport } from "./verify.ts";

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
      --json             print the JSON report on stdout (--json=FILE writes it to FILE)
  -h, --help             show this help

Exit status: 0 nothing modified, 1 a module was modified, 2 usage or setup error.
`;

/** Runs `goprefetch verify` with `args` (those after `verify`); returns the exit code. */
export async function verifyMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: args.map((a) => a === "--json" ? "--json=-" : a),
      allowPositionals: true,
      strict: true,
      options: {
        recursive: { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
        quiet: { type: "boolean", short: "q" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    write(Deno.stdout, HELP);
    return 0;
  }
  if (positionals.length > 1) return usage(`expected at most one PATH, got ${positionals.length}`);
  let report: VerifyReport;
  try {
    report = await runVerify(
      { dir: positionals[0], recursive: values.recursive },
      currentHost(),
    );
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    write(Deno.stderr, `goprefetch: ${e.message}\n`);
    if (values.json) {
      writeJson(values.json, { tool: { name: "goprefetch", version: VERSION }, error: e.message });
    }
    return 2;
  }
  if (values.json) writeJson(values.json, report);
  for (const m of report.modules) {
    for (const problem of m.problems) write(Deno.stderr, `goprefetch: ${problem}\n`);
    if (values.verbose) write(Deno.stderr, `${m.status.padEnd(9)} ${m.path}@${m.version}\n`);
  }
  if (!values.quiet) {
    for (const w of report.warnings) write(Deno.stderr, `goprefetch: warning: ${w}\n`);
    const t = report.totals;
    write(
      Deno.stderr,
      `goprefetch verify: ${t.ok} verified, ${t.absent} not in the cache, ${t.modified} ` +
        `modified; ${t.seconds.toFixed(1)} s\n`,
    );
  }
  return report.totals.modified > 0 ? 1 : 0;
}

function writeJson(target: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + "\n";
  if (target === "-") write(Deno.stdout, text);
  else Deno.writeTextFileSync(target, text);
}

function usage(message: string): number {
  write(Deno.stderr, `goprefetch verify: ${message}\nRun "goprefetch verify --help" for usage.\n`);
  return 2;
}

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = new TextEncoder().encode(text);
  for (let n = 0; n < data.length;) n += stream.writeSync(data.subarray(n));
}
