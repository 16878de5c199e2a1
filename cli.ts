/**
 * The goprefetch command line: parses arguments, prints progress and the summary,
 * and turns the outcome into an exit code (0 success, 1 a module failed, 2 usage or
 * setup error).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { currentHost } from "./src/host.ts";
import { type PrefetchOptions, runPrefetch, SetupError, VERSION } from "./src/prefetch.ts";
import type { ModuleRecord, PrefetchReport, ProgressEvent } from "./src/report.ts";

const HELP = `goprefetch ${VERSION}: fill the Go module cache from go.sum, before go build runs

Usage: goprefetch [OPTIONS] [PATH]

PATH is a directory with go.mod and go.sum (default: the current directory).
The cache, proxies and private patterns come from the go environment
(GOMODCACHE, GOPROXY, GOPRIVATE, GONOPROXY, GOFLAGS, GOENV), as go resolves them.

Options:
  -c, --concurrency N    requests in flight at most (default 64)
  -v, --verbose          one line per module
  -q, --quiet            print errors only
      --dry-run          print what would be fetched, fetch nothing
      --proxy URL        use this proxy list instead of GOPROXY
      --continue-on-error  keep going after a module fails (exit 1 at the end)
      --retries N        retries of a failed request that may succeed later (default 4)
      --stall-timeout SECONDS  retry a download that receives nothing for this long (default 30)
      --json             print the JSON report on stdout (--json=FILE writes it to FILE)
  -h, --help             show this help
      --version          print the version

Exit status: 0 success, 1 a module failed, 2 usage or setup error,
130 or 143 when stopped by SIGINT or SIGTERM (partial modules are removed first).
`;

/** Runs the command line with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: args.map((a) => a === "--json" ? "--json=-" : a),
      allowPositionals: true,
      strict: true,
      options: {
        concurrency: { type: "string", short: "c" },
        verbose: { type: "boolean", short: "v" },
        quiet: { type: "boolean", short: "q" },
        "dry-run": { type: "boolean" },
        proxy: { type: "string" },
        "continue-on-error": { type: "boolean" },
        retries: { type: "string" },
        "stall-timeout": { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
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
  if (values.version) {
    write(Deno.stdout, `goprefetch ${VERSION}\n`);
    return 0;
  }
  if (positionals.length > 1) return usage(`expected at most one PATH, got ${positionals.length}`);
  const concurrency = values.concurrency === undefined ? 64 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    return usage(`--concurrency must be a whole number of at least 1, got "${values.concurrency}"`);
  }
  const retries = values.retries === undefined ? 4 : Number(values.retries);
  if (!/^[0-9]+$/.test(values.retries ?? "4")) {
    return usage(`--retries must be a whole number of at least 0, got "${values.retries}"`);
  }
  const stallTimeout = values["stall-timeout"] === undefined ? 30 : Number(values["stall-timeout"]);
  if (!Number.isFinite(stallTimeout) || stallTimeout <= 0) {
    return usage(
      `--stall-timeout must be a number of seconds above 0, got "${values["stall-timeout"]}"`,
    );
  }
  const verbosity = values.quiet ? 0 : values.verbose ? 2 : 1;
  const options: PrefetchOptions = {
    dir: positionals[0],
    concurrency,
    proxy: values.proxy,
    dryRun: values["dry-run"],
    continueOnError: values["continue-on-error"],
    retries,
    stallTimeoutMs: stallTimeout * 1000,
    onProgress: (event) =>
      onProgress(event, verbosity, values["dry-run"] ?? false, values.json === "-"),
  };
  const stop = new AbortController();
  const signals = listenForSignals(stop);
  options.signal = stop.signal;
  let report: PrefetchReport;
  try {
    report = await runPrefetch(options, currentHost());
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    write(Deno.stderr, `goprefetch: ${e.message}\n`);
    if (values.json) {
      writeJson(values.json, { tool: { name: "goprefetch", version: VERSION }, error: e.message });
    }
    return 2;
  } finally {
    signals.dispose();
  }
  if (values.json) writeJson(values.json, report);
  if (verbosity > 0) {
    for (const w of report.warnings) write(Deno.stderr, `goprefetch: warning: ${w}\n`);
    if (report.note) write(Deno.stderr, `goprefetch: ${report.note}\n`);
    write(Deno.stderr, summary(report) + "\n");
  }
  return signals.exitCode() ?? (report.totals.failed > 0 ? 1 : 0);
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

function writeJson(target: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + "\n";
  if (target === "-") write(Deno.stdout, text);
  else Deno.writeTextFileSync(target, text);
}

function onProgress(
  event: ProgressEvent,
  verbosity: number,
  dryRun: boolean,
  jsonOnStdout: boolean,
): void {
  if (event.type !== "module") return;
  const r = event.record;
  if (r.status === "failed") write(Deno.stderr, `goprefetch: error: ${r.error}\n`);
  else if (dryRun && r.status === "planned") {
    write(
      jsonOnStdout ? Deno.stderr : Deno.stdout,
      `${r.path}@${r.version} ${r.files.join(",")}\n`,
    );
  } else if (verbosity >= 2) write(Deno.stderr, moduleLine(r) + "\n");
}

function moduleLine(r: ModuleRecord): string {
  const parts = [`${r.status.padEnd(9)} ${r.path}@${r.version}`];
  if (r.bytes > 0) parts.push(formatBytes(r.bytes));
  if (r.status === "fetched") parts.push(`${r.ms} ms`);
  if (r.proxy) parts.push(`from ${r.proxy}`);
  if (r.retries > 0) parts.push(`${r.retries} retries`);
  return parts.join("  ");
}

function summary(report: PrefetchReport): string {
  const t = report.totals;
  const head = report.settings.dryRun
    ? `${t.planned} to fetch`
    : `${t.fetched} fetched, ${t.cached} already cached, ${t.skipped} skipped (private/direct), ` +
      `${t.failed} failed`;
  const cancelled = t.cancelled > 0 ? `, ${t.cancelled} cancelled` : "";
  return `goprefetch: ${head}${cancelled}; ${formatBytes(t.bytes)} in ${t.seconds.toFixed(1)} s`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function usage(message: string): number {
  write(Deno.stderr, `goprefetch: ${message}\nRun "goprefetch --help" for usage.\n`);
  return 2;
}

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = new TextEncoder().encode(text);
  for (let n = 0; n < data.length;) n += stream.writeSync(data.subarray(n));
}
