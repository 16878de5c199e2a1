/**
 * The goprefetch command line: parses arguments, checks permissions, wires the run to its
 * output (`src/cli/output.ts`, `src/cli/outcome.ts`), and turns the outcome into an exit code
 * (0 success, 1 a module failed or a proxy could not be reached, 2 usage, setup or permission
 * error, 3 internal error). `deno run -A cli.ts [OPTIONS] [PATH]` runs it, as does `mod.ts` run
 * as a program.
 *
 * @module
 */
import {
  type CommandLine,
  parseCommand,
  processArgs,
  toolchainName,
  usage,
  UsageError,
  wholeNumber,
} from "./src/cli/args.ts";
import { cacheKeyMain } from "./src/cli/cache_key_command.ts";
import { currentHost } from "./src/project/host.ts";
import { fail, internalError, processSinks, publish, type Sinks } from "./src/cli/outcome.ts";
import { Output, processOutputOptions } from "./src/cli/output.ts";
import {
  commandNeeds,
  missingPermission,
  outputNeeds,
  permissionErrorMessage,
} from "./src/cli/permissions.ts";
import { DEFAULTS } from "./src/engine/defaults.ts";
import { type PrefetchOptions, runPrefetch } from "./src/engine/prefetch.ts";
import { SetupError } from "./src/engine/setup.ts";
import { VERSION } from "./src/engine/version.ts";
import { parseProxyList, ProxyListError } from "./src/goproxy/proxy_list.ts";
import type { PrefetchReport } from "./src/engine/report.ts";
import { verifyMain } from "./src/cli/verify_command.ts";

/** The default `--stall-timeout`, in the seconds it is given in. */
const STALL_SECONDS = DEFAULTS.stallTimeoutMs / 1000;

const HELP = `goprefetch ${VERSION}: fill the Go module cache from go.sum, before go build runs

Usage: goprefetch [OPTIONS] [PATH]
       goprefetch verify [OPTIONS] [PATH]   check the cache against go.sum (see verify --help)
       goprefetch cache-key [PATH]          print a key for caching GOMODCACHE (see cache-key --help)

PATH is a directory with go.mod and go.sum (default: the current directory). In a go.work
workspace (GOWORK), the go.sum of every used module and go.work.sum are fetched.
The cache, proxies and private patterns come from the go environment
(GOMODCACHE, GOPROXY, GOPRIVATE, GONOPROXY, GOFLAGS, GOENV, GOWORK), as go resolves them;
https proxies get credentials from .netrc (NETRC, GOAUTH=netrc, the default) or the URL.

Options:
  -c, --concurrency N    requests in flight at most, 1 to 1000 (default ${DEFAULTS.concurrency})
  -v, --verbose          one line per module
  -q, --quiet            print errors only
      --dry-run          print what would be fetched, fetch nothing
      --recursive        fetch for every go.mod under PATH (not vendor/, testdata/, .*, _*)
      --proxy URL        use this proxy list instead of GOPROXY
      --continue-on-error  keep going after a module fails (exit 1 at the end)
      --toolchain goX.Y.Z  also fetch this Go toolchain (default: the one GOTOOLCHAIN=auto
                         would switch to for go.work or go.mod), checked with GOSUMDB
      --retries N        retries of a failed request that may succeed later (default ${DEFAULTS.retries})
      --stall-timeout SECONDS  retry a download that receives nothing for this long (default ${STALL_SECONDS})
      --json [FILE]      print the JSON report on stdout, or write it to FILE (--json=FILE,
                         or --json FILE when FILE ends in .json and is not a directory);
                         on a usage, setup or permission error: {"tool": …, "error": "…"}
  -h, --help             show this help
      --version          print the version

Progress goes to stderr: one line redrawn in place on a terminal, else a line every 5 s.
Under GitHub Actions, failures are also ::error:: commands and a summary is appended
to $GITHUB_STEP_SUMMARY.

Exit status: 0 success, 1 a module failed or a proxy could not be reached, 2 usage, setup
or permission error (or the --json file or step summary could not be written), 3 internal
error (a bug: please report it; GOPREFETCH_DEBUG=1 prints its stack), 130 or 143 when
stopped by SIGINT or SIGTERM (partial modules are removed first).
`;

const PREFETCH_OPTIONS = {
  concurrency: { type: "string", short: "c" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  "dry-run": { type: "boolean" },
  recursive: { type: "boolean" },
  proxy: { type: "string" },
  "continue-on-error": { type: "boolean" },
  toolchain: { type: "string" },
  retries: { type: "string" },
  "stall-timeout": { type: "string" },
  json: { type: "string" },
  version: { type: "boolean" },
} as const;

/** Runs the command line with the arguments `rawArgs`, as given; returns the exit code. */
export async function main(rawArgs: string[]): Promise<number> {
  const args = processArgs(rawArgs);
  const sinks = processSinks(args);
  try {
    if (args[0] === "verify") return await verifyMain(args.slice(1), sinks);
    if (args[0] === "cache-key") return cacheKeyMain(args.slice(1), sinks);
    return await prefetchMain(args, sinks);
  } catch (e) {
    const missing = permissionErrorMessage(e);
    return missing === undefined ? internalError(e, sinks) : fail(missing, sinks);
  }
}

async function prefetchMain(args: string[], sinks: Sinks): Promise<number> {
  const parsed = parseCommand(args, { command: "", help: HELP, options: PREFETCH_OPTIONS }, sinks);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (values.version) {
    sinks.stdout(`goprefetch ${VERSION}\n`);
    return 0;
  }
  let options: PrefetchOptions;
  try {
    options = prefetchOptions(parsed);
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message, sinks);
    throw e;
  }
  const outputs = outputNeeds(sinks.json, sinks.stepSummary);
  const missing = missingPermission(commandNeeds(options, "prefetch", outputs));
  if (missing) return fail(missing, sinks);
  const host = currentHost();

  const verbosity = values.quiet ? 0 : values.verbose ? 2 : 1;
  const out = new Output(
    processOutputOptions(verbosity, { dryRun: options.dryRun, jsonOnStdout: sinks.json === "-" }),
  );
  const stop = new AbortController();
  const signals = listenForSignals(stop);
  let report: PrefetchReport;
  try {
    report = await runPrefetch(
      { ...options, signal: stop.signal, onProgress: (event) => out.event(event) },
      host,
    );
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    return fail(e.message, sinks);
  } finally {
    out.close();
    signals.dispose();
  }
  out.finish(report);
  const written = publish(report, sinks);
  return signals.exitCode() ?? (report.totals.failed > 0 || report.error ? 1 : written ? 0 : 2);
}

/** The most requests in flight `-c` allows: each may hold a connection, a file descriptor. */
const MAX_CONCURRENCY = 1000;

/**
 * The prefetch options the command line asks for.
 *
 * @throws {UsageError} for a value out of range, a `--proxy` list go would reject, or a
 * `--toolchain` that names no Go toolchain.
 */
function prefetchOptions(parsed: CommandLine<typeof PREFETCH_OPTIONS>): PrefetchOptions {
  const { values, path, typed } = parsed;
  const stallTimeout = values["stall-timeout"] === undefined
    ? STALL_SECONDS
    : Number(values["stall-timeout"]);
  if (!Number.isFinite(stallTimeout) || stallTimeout <= 0) {
    throw new UsageError(
      `${typed("stall-timeout")} must be a number of seconds above 0, ` +
        `got "${values["stall-timeout"]}"`,
    );
  }
  if (values.toolchain !== undefined) toolchainName(values.toolchain);
  if (values.proxy !== undefined) {
    try {
      parseProxyList(values.proxy, "");
    } catch (e) {
      if (!(e instanceof ProxyListError)) throw e;
      throw new UsageError(`${typed("proxy")}: ${e.message}`);
    }
  }
  return {
    dir: path,
    recursive: values.recursive,
    concurrency: wholeNumber(values.concurrency, typed("concurrency"), {
      min: 1,
      max: MAX_CONCURRENCY,
      fallback: DEFAULTS.concurrency,
    }),
    proxy: values.proxy,
    dryRun: values["dry-run"],
    continueOnError: values["continue-on-error"],
    toolchain: values.toolchain,
    retries: wholeNumber(values.retries, typed("retries"), { min: 0, fallback: DEFAULTS.retries }),
    stallTimeoutMs: stallTimeout * 1000,
  };
}

/** SIGINT and SIGTERM stop new work; the run then cleans up and reports as usual. */
function listenForSignals(
  stop: AbortController,
): { exitCode(): number | undefined; dispose(): void } {
  const signals: [Deno.Signal, number][] = Deno.build.os === "windows"
    ? [["SIGINT", 130]]
    : [["SIGINT", 130], ["SIGTERM", 143]];
  let code: number | undefined;
  const handlers = signals.map(([signal, exit]) => {
    const handler = () => {
      code ??= exit;
      stop.abort(new Error(`Stopped by ${signal}`));
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    exitCode: () => code,
    dispose: () =>
      handlers.forEach(([signal, handler]) => Deno.removeSignalListener(signal, handler)),
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
