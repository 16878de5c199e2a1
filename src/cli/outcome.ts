/**
 * Where the outcome of a command-line run goes besides the progress on standard error: the
 * `--json` document, and under GitHub Actions the `::error::` commands and the step summary.
 * A run that cannot start (usage, setup or permission error), and one that ends in an internal
 * error, goes the same ways, as one line.
 *
 * @module
 */
import { errorCommands, inGitHubActions, stepSummary } from "./github_actions.ts";
import { errorReport, jsonTarget } from "./json_output.ts";
import { writeAll } from "./output.ts";
import type { PrefetchReport } from "../engine/report.ts";

/** Where a run's outcome goes. */
export interface Sinks {
  /** `-` (standard output) or a file for the JSON document; undefined without `--json`. */
  json?: string;
  /** Print failures as GitHub Actions `::error::` commands. */
  annotations: boolean;
  /** The file to append the Markdown step summary to (`GITHUB_STEP_SUMMARY`). */
  stepSummary?: string;
  /** Print the stack of an internal error too (`GOPREFETCH_DEBUG` set and not empty). */
  debug: boolean;
  /** Writes to standard output. */
  stdout: (text: string) => void;
  /** Writes to standard error. */
  stderr: (text: string) => void;
}

/**
 * The sinks of this process for `args` (after `jsonArgs`): `--json` from the arguments, GitHub
 * Actions from the environment when it may be read (the one-line permission message needs no
 * env access).
 */
export function processSinks(args: string[]): Sinks {
  const env = {
    GITHUB_ACTIONS: readEnv("GITHUB_ACTIONS"),
    GITHUB_STEP_SUMMARY: readEnv("GITHUB_STEP_SUMMARY"),
  };
  return {
    json: jsonTarget(args),
    annotations: inGitHubActions(env),
    stepSummary: env.GITHUB_STEP_SUMMARY || undefined,
    debug: Boolean(readEnv("GOPREFETCH_DEBUG")),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
  };
}

/**
 * Sends a finished run's report, or the error that kept a run from starting, to the sinks:
 * the files first, so that they are written even when standard output fails. A file that may
 * not be written is left out: a run checks its permissions up front, so only an early error
 * meets one. Returns false when a file could not be written (with a line on standard error),
 * which {@link checkOutputFiles} makes rare.
 */
export function publish(outcome: PrefetchReport | string, sinks: Sinks): boolean {
  const summarized = !sinks.stepSummary ||
    writeFile(sinks.stepSummary, stepSummary(outcome), true, sinks);
  const written = writeJson(typeof outcome === "string" ? errorReport(outcome) : outcome, sinks);
  if (sinks.annotations) {
    const commands = errorCommands(outcome);
    if (commands) (sinks.json === "-" ? sinks.stderr : sinks.stdout)(commands);
  }
  return summarized && written;
}

/**
 * Reports an error that ends the run before it started: one line on standard error (and
 * `hint` after it), then the sinks. Returns exit status 2.
 */
export function fail(message: string, sinks: Sinks, hint?: string): number {
  sinks.stderr(`goprefetch: ${message}\n${hint ? hint + "\n" : ""}`);
  publish(message, sinks);
  return 2;
}

/**
 * Reports an exception nothing expected (a bug): one line on standard error, with the stack
 * after it when `sinks.debug`, then `internal error: …` to the sinks as {@link fail} does.
 * Returns exit status 3.
 */
export function internalError(error: unknown, sinks: Sinks): number {
  const text = error instanceof Error ? error.message : String(error);
  const message = `internal error: ${text.trim().replace(/\s*\n\s*/g, " ")}`;
  sinks.stderr(`goprefetch: ${message}, please report it\n`);
  if (sinks.debug && error instanceof Error && error.stack) sinks.stderr(error.stack + "\n");
  try {
    publish(message, sinks);
  } catch {
    // The sinks are what failed (standard output closed, say): the line above stands alone.
  }
  return 3;
}

/**
 * Checks, before a run starts, that the `--json` file and the step summary can be written:
 * each is opened for writing (created if missing, its contents left alone). One that cannot
 * be is a setup error, reported as {@link fail} does to the other sinks. Returns exit status
 * 2 then, else undefined. A file the run may not write is left to the permission check.
 */
export function checkOutputFiles(sinks: Sinks): number | undefined {
  const files = [
    {
      name: "--json",
      path: sinks.json === "-" ? undefined : sinks.json,
      drop: { json: undefined },
    },
    { name: "GITHUB_STEP_SUMMARY", path: sinks.stepSummary, drop: { stepSummary: undefined } },
  ];
  for (const { name, path, drop } of files) {
    if (path === undefined || !mayWrite(path)) continue;
    try {
      Deno.openSync(path, { write: true, create: true }).close();
    } catch (e) {
      const message = `Cannot write the ${name} file: ${(e as Error).message}; ` +
        "name a file in a directory that exists and is writable";
      return fail(message, { ...sinks, ...drop });
    }
  }
  return undefined;
}

/**
 * Writes `document` as the `--json` document, if the run was given `--json`: on standard
 * output, or to the file (left out, as in {@link publish}, when it may not be written).
 * Returns false when the file could not be written.
 */
export function writeJson(document: unknown, sinks: Sinks): boolean {
  if (sinks.json === undefined) return true;
  const text = JSON.stringify(document, null, 2) + "\n";
  if (sinks.json !== "-") return writeFile(sinks.json, text, false, sinks);
  sinks.stdout(text);
  return true;
}

function writeFile(path: string, text: string, append: boolean, sinks: Sinks): boolean {
  if (!mayWrite(path)) return true;
  try {
    Deno.writeTextFileSync(path, text, { append });
    return true;
  } catch (e) {
    sinks.stderr(`goprefetch: Could not write ${path}: ${(e as Error).message}\n`);
    return false;
  }
}

function mayWrite(path: string): boolean {
  return Deno.permissions.querySync({ name: "write", path }).state === "granted";
}

function readEnv(variable: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable }).state === "granted";
  return granted ? Deno.env.get(variable) : undefined;
}
