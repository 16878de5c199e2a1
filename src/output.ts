/**
 * What the command line prints on standard error while a prefetch runs and when it ends. On
 * a terminal: one progress line redrawn in place, cleared at the end. Elsewhere (CI logs): a
 * plain progress line every five seconds. `-v` adds a line per module, `-q` keeps errors only.
 * The clock, the terminal check and the streams are options, so tests can drive it.
 *
 * @module
 */
import { styleText } from "node:util";
import type { ModuleRecord, PrefetchReport, ProgressEvent } from "./report.ts";

/** A clock in milliseconds with a repeating timer; tests pass a fake one. */
export interface Clock {
  /** Milliseconds since some fixed moment. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** How and where {@link Output} prints. */
export interface OutputOptions {
  /** 0: errors only (`-q`); 1: progress, warnings and the summary; 2: also a line per module (`-v`). */
  verbosity: 0 | 1 | 2;
  /** A dry run: each planned module is listed, on `stdout` unless JSON goes there. */
  dryRun?: boolean;
  /** The JSON report goes to standard output, so nothing else may. */
  jsonOnStdout?: boolean;
  /** Whether standard error is a terminal: progress is then redrawn in place. */
  terminal: boolean;
  /** Colour the output (only ever on a terminal, and not under NO_COLOR). */
  color: boolean;
  /** The terminal's width in columns; the live line is cut to fit. */
  columns: () => number;
  /** The clock. */
  clock: Clock;
  /** Writes to standard error. */
  stderr: (text: string) => void;
  /** Writes to standard output. */
  stdout: (text: string) => void;
}

/** Live-line redraws at most this often (ten a second). */
const REDRAW_MS = 100;
/** Without a terminal, a progress line this often. */
const PLAIN_MS = 5000;
/** Without a terminal, the slowest module is named once it has taken this long. */
const SLOW_MS = 10_000;
const CLEAR_LINE = "\r\x1b[K";

/** Prints a prefetch run's progress and end; feed it every {@link ProgressEvent}. */
export class Output {
  #o: OutputOptions;
  #started: number;
  #total = 0;
  #done = 0;
  #bytes = 0;
  #inFlight = new Map<string, number>();
  #lineShown = false;
  #stopTimer?: () => void;

  /** Starts the clock of the run. */
  constructor(options: OutputOptions) {
    this.#o = options;
    this.#started = options.clock.now();
  }

  /** Takes one progress event: counts it, and prints what it calls for. */
  event(event: ProgressEvent): void {
    switch (event.type) {
      case "plan":
        this.#total = event.total;
        this.#startTimer();
        break;
      case "start":
        this.#inFlight.set(`${event.path}@${event.version}`, this.#o.clock.now());
        break;
      case "bytes":
        this.#bytes += event.bytes;
        break;
      case "module":
        this.#done++;
        this.#inFlight.delete(`${event.record.path}@${event.record.version}`);
        this.#moduleLine(event.record);
    }
  }

  /** Redraws the live line, or prints the plain progress line; the timer calls it. */
  #tick(): void {
    if (this.#o.terminal) this.#draw();
    else this.#o.stderr(`goprefetch: ${this.#status(", ", this.#o.clock.now())}\n`);
  }

  /** Clears the live line and prints warnings, the note and the summary (not under `-q`). */
  finish(report: PrefetchReport): void {
    this.close();
    if (report.error) {
      this.#o.stderr(`goprefetch: ${this.#style("red", "error:")} ${report.error}\n`);
    }
    if (this.#o.verbosity === 0) return;
    for (const w of report.warnings) {
      this.#o.stderr(`goprefetch: ${this.#style("yellow", "warning:")} ${w}\n`);
    }
    if (report.note) this.#o.stderr(`goprefetch: ${report.note}\n`);
    const list = report.buildList;
    if (list && this.#o.verbosity > 1) {
      this.#o.stderr(
        `goprefetch: build list of ${list.modules} modules, ${list.infoFetched} .info fetched ` +
          "for those go.sum names without a zip\n",
      );
    }
    this.#o.stderr(this.#summary(report) + "\n");
  }

  /** Stops the timer and clears the live line; safe to call more than once. */
  close(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    this.#clear();
  }

  #startTimer(): void {
    if (this.#o.verbosity === 0 || this.#o.dryRun || this.#stopTimer) return;
    if (!this.#o.terminal && this.#o.verbosity === 2) return;
    this.#stopTimer = this.#o.clock.every(
      this.#o.terminal ? REDRAW_MS : PLAIN_MS,
      () => this.#tick(),
    );
  }

  #moduleLine(r: ModuleRecord): void {
    if (r.status === "failed") {
      this.#print(`goprefetch: ${this.#style("red", "error:")} ${r.error}\n`);
    } else if (this.#o.dryRun && r.status === "planned") {
      const line = `${r.path}@${r.version} ${r.files.join(",")}\n`;
      if (this.#o.jsonOnStdout) this.#print(line);
      else this.#o.stdout(line);
    } else if (this.#o.verbosity === 2) this.#print(moduleLine(r) + "\n");
  }

  /** Prints a whole line to standard error; the live line is cleared, and the next tick redraws it. */
  #print(text: string): void {
    this.#clear();
    this.#o.stderr(text);
  }

  #clear(): void {
    if (!this.#lineShown) return;
    this.#o.stderr(CLEAR_LINE);
    this.#lineShown = false;
  }

  #draw(): void {
    const now = this.#o.clock.now();
    const elapsed = now - this.#started;
    const parts = [`goprefetch: ${this.#status("  ", now)}`, formatDuration(elapsed)];
    if (this.#done > 0 && this.#done < this.#total) {
      parts.push(`ETA ${formatDuration((elapsed * (this.#total - this.#done)) / this.#done)}`);
    }
    const slowest = this.#slowest(now);
    let line = parts.join("  ");
    const width = Math.max(this.#o.columns() - 1, 20);
    if (slowest) {
      const tail = `  slowest ${slowest.id} ${formatSeconds(slowest.ms)}`;
      if (line.length + tail.length <= width) line += this.#style("dim", tail);
    }
    if (line.length > width) line = line.slice(0, width);
    this.#o.stderr(`\r${line}\x1b[K`);
    this.#lineShown = true;
  }

  /** `120/340 modules, 88.2 MiB, 31.0 MiB/s` with `sep` between the parts. */
  #status(sep: string, now: number): string {
    const seconds = (now - this.#started) / 1000;
    const parts = [
      `${this.#done}/${this.#total} modules`,
      formatBytes(this.#bytes),
      `${formatBytes(seconds > 0 ? this.#bytes / seconds : 0)}/s`,
    ];
    const slowest = this.#o.terminal ? undefined : this.#slowest(now);
    if (slowest && slowest.ms >= SLOW_MS) {
      parts.push(`slowest ${slowest.id} ${formatSeconds(slowest.ms)}`);
    }
    return parts.join(sep);
  }

  /** The module in flight that started first, and for how long it has been running. */
  #slowest(now: number): { id: string; ms: number } | undefined {
    let found: { id: string; ms: number } | undefined;
    for (const [id, since] of this.#inFlight) {
      if (!found || now - since > found.ms) found = { id, ms: now - since };
    }
    return found;
  }

  #summary(report: PrefetchReport): string {
    const t = report.totals;
    const failed = `${t.failed} failed`;
    const head = report.settings.dryRun
      ? `${t.planned} to fetch`
      : `${t.fetched} fetched, ${t.cached} already cached, ${t.skipped} skipped (private/direct), ` +
        (t.failed > 0 ? this.#style("red", failed) : failed);
    const cancelled = t.cancelled > 0 ? `, ${t.cancelled} cancelled` : "";
    return `goprefetch: ${head}${cancelled}; ${formatBytes(t.bytes)} in ${t.seconds.toFixed(1)} s`;
  }

  #style(format: "red" | "yellow" | "dim", text: string): string {
    return this.#o.color ? styleText(format, text, { validateStream: false }) : text;
  }
}

/**
 * The options for this process: standard error and output, whether standard error is a
 * terminal, NO_COLOR, the terminal's width and the real clock.
 */
export function processOutputOptions(
  verbosity: 0 | 1 | 2,
  flags: { dryRun?: boolean; jsonOnStdout?: boolean } = {},
): OutputOptions {
  const terminal = Deno.stderr.isTerminal();
  return {
    verbosity,
    ...flags,
    terminal,
    color: terminal && !Deno.noColor,
    columns: () => {
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
    clock: {
      now: () => performance.now(),
      every: (ms, fn) => {
        const id = setInterval(fn, ms);
        return () => clearInterval(id);
      },
    },
    stderr: (text) => writeAll(Deno.stderr, text),
    stdout: (text) => writeAll(Deno.stdout, text),
  };
}

/** Writes all of `text` to a stream, synchronously. */
export function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = new TextEncoder().encode(text);
  for (let n = 0; n < data.length;) n += stream.writeSync(data.subarray(n));
}

/** `-v`'s line for one module: status, module, size, time, proxy and retries. */
function moduleLine(r: ModuleRecord): string {
  const parts = [`${r.status.padEnd(9)} ${r.path}@${r.version}`];
  if (r.bytes > 0) parts.push(formatBytes(r.bytes));
  if (r.status === "fetched" || r.status === "failed") parts.push(`${r.ms} ms`);
  if (r.proxy) parts.push(`from ${r.proxy}`);
  if (r.retries > 0) parts.push(`${r.retries} ${r.retries === 1 ? "retry" : "retries"}`);
  return parts.join("  ");
}

/** A byte count in B, KiB or MiB, one decimal. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
