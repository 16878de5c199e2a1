/**
 * Where the outcome of a command-line run goes besides the progress on standard error: the
 * `--json` document, and under GitHub Actions the `::error::` commands and the step summary.
 * A run that cannot start (usage, setup or permission error) goes the same ways, as one line.
 *
 * @module
 */
import { errorCommands, inGitHubActions, stepSummary } from "./github_actions.ts";
import { errorReport, jsonTarget } from "./json_output.ts";
import { writeAll } from "./output.ts";
import type { PrefetchReport } from "./report.ts";

/** Where a run's outcome goes. */
export interface Sinks {
  /** `-` (standard output) or a file for the JSON document; undefined without `--json`. */
  json?: string;
  /** Print failures as GitHub Actions `::error::` commands. */
  annotations: boolean;
  /** The file to append the Markdown step summary to (`GITHUB_STEP_SUMMARY`). */
  stepSummary?: string;
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
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
  };
}

/**
 * Sends a finished run's report, or the error that kept a run from starting, to the sinks.
 * A file that may not or cannot be written is left out (with a line on standard error when
 * writing failed): a run checks its permissions up front, so only an early error meets one.
 */
export function publish(outcome: PrefetchReport | string, sinks: Sinks): void {
  writeJson(typeof outcome === "string" ? errorReport(outcome) : outcome, sinks);
  if (sinks.annotations) {
    const commands = errorCommands(outcome);
    if (commands) (sinks.json === "-" ? sinks.stderr : sinks.stdout)(commands);
  }
  if (sinks.stepSummary) writeFile(sinks.stepSummary, stepSummary(outcome), true, sinks);
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
 * Writes `document` as the `--json` document, if the run was given `--json`: on standard
 * output, or to the file (left out, as in {@link publish}, when it may not be written).
 */
export function writeJson(document: unknown, sinks: Sinks): void {
  if (sinks.json === undefined) return;
  const text = JSON.stringify(document, null, 2) + "\n";
  if (sinks.json === "-") sinks.stdout(text);
  else writeFile(sinks.json, text, false, sinks);
}

function writeFile(path: string, text: string, append: boolean, sinks: Sinks): void {
  if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") return;
  try {
    Deno.writeTextFileSync(path, text, { append });
  } catch (e) {
    sinks.stderr(`goprefetch: cannot write ${path}: ${(e as Error).message}\n`);
  }
}

function readEnv(variable: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable }).state === "granted";
  return granted ? Deno.env.get(variable) : undefined;
}
