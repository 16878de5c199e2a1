/**
 * What the command line prints on standard error while a prefetch runs and when it ends. On
 * a terminal: one progress line redrawn in place (phase, bar, modules, bytes, throughput over
 * the last five seconds, elapsed time, an ETA once it means something, the slowest module),
 * cut to the terminal's width by visible characters, cleared at the end. Elsewhere (CI logs):
 * a plain progress line every five seconds. `-v` adds a line per module, `-q` keeps errors
 * only. The clock, the terminal check and the streams are options, so tests can drive it.
 *
 * @module
 */
import { styleText } from "node:util";
import type { ModuleRecord, PrefetchReport, ProgressEvent } from "../engine/report.ts";

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
/** Throughput, and the module rate behind the ETA, are measured over this last stretch. */
const WINDOW_MS = 5000;
/** No ETA before this much of the run has passed… */
const ETA_AFTER_MS = 5000;
/** …nor before this share of the modules is done: earlier, one large module skews it. */
const ETA_SHARE = 0.2;
/** The bar's width in characters, brackets aside. */
const BAR_WIDTH = 20;
const CLEAR_LINE = "\r\x1b[K";
/** Ends every style: the live line ends with it when colour is on. */
const RESET = "\x1b[0m";
/** A control sequence (a style, a line clear), which takes no columns. */
// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** What the run is doing, as the progress line names it. */
type Phase = "fetching" | "installing" | "build list";

/** A piece of the live line and its style. */
interface Segment {
  text: string;
  style?: "dim";
}

/** Prints a prefetch run's progress and end; feed it every {@link ProgressEvent}. */
export class Output {
  #o: OutputOptions;
  #started: number;
  #total = 0;
  /** Modules finished, cancelled ones aside: the count the summary adds up to. */
  #done = 0;
  /** Modules finished, cancelled ones included. */
  #settled = 0;
  #bytes = 0;
  #inFlight = new Map<string, number>();
  #installing = new Set<string>();
  /** The counts at ticks within the window (and the one just before it), oldest first. */
  #samples: { t: number; bytes: number; done: number }[] = [];
  #lineShown = false;
  #stopTimer?: () => void;

  /** Starts the clock of the run. */
  constructor(options: OutputOptions) {
    this.#o = options;
    this.#started = options.clock.now();
    this.#samples.push({ t: this.#started, bytes: 0, done: 0 });
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
      case "install":
        this.#installing.add(`${event.path}@${event.version}`);
        break;
      case "bytes":
        this.#bytes += event.bytes;
        break;
      case "module": {
        const id = `${event.record.path}@${event.record.version}`;
        this.#settled++;
        if (event.record.status !== "cancelled") this.#done++;
        this.#inFlight.delete(id);
        this.#installing.delete(id);
        this.#moduleLine(event.record, event.stopsRun ?? false);
      }
    }
  }

  /** Redraws the live line, or prints the plain progress line; the timer calls it. */
  #tick(): void {
    const now = this.#o.clock.now();
    this.#samples.push({ t: now, bytes: this.#bytes, done: this.#done });
    while (this.#samples.length > 1 && this.#samples[1].t <= now - WINDOW_MS) {
      this.#samples.shift();
    }
    if (this.#o.terminal) this.#draw(now);
    else this.#o.stderr(`goprefetch: ${this.#phase()}, ${this.#status(", ", now)}\n`);
  }

  /**
   * Clears the live line and prints a dry run's listing (in go.sum order), then, unless under
   * `-q`, warnings, the note and the summary.
   */
  finish(report: PrefetchReport): void {
    this.close();
    if (report.error) {
      this.#o.stderr(`goprefetch: ${this.#style("red", "error:")} ${report.error}\n`);
    }
    if (this.#o.dryRun) {
      const listing = report.modules.filter((r) => r.status === "planned")
        .map((r) => `${r.path}@${r.version} ${r.files.join(",")}\n`).join("");
      if (this.#o.jsonOnStdout) this.#print(listing);
      else this.#o.stdout(listing);
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

  /**
   * Stops the timer and clears the live line, drawn once more first so that the last line
   * shows the counts the summary gives; safe to call more than once.
   */
  close(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    if (this.#lineShown) this.#draw(this.#o.clock.now());
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

  #moduleLine(r: ModuleRecord, stopsRun: boolean): void {
    if (r.status === "failed") {
      const error = r.error ?? "";
      const line = stopsRun
        ? `${error.replace(/\.$/, "")}; stopping the run (--continue-on-error keeps going)`
        : error;
      this.#print(`goprefetch: ${this.#style("red", "error:")} ${line}\n`);
    } else if (this.#o.verbosity === 2 && r.status !== "planned") {
      this.#print(moduleLine(r) + "\n");
    }
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

  /**
   * `goprefetch: fetching [====>     ] 12/40 modules  8.1 MiB  2.0 MiB/s  0:04`, an ETA, and the
   * slowest module dimmed if it fits; cut to the terminal's width, the style reset at the end.
   */
  #draw(now: number): void {
    const parts = [
      `goprefetch: ${this.#phase()} ${this.#bar()} ${this.#status("  ", now)}`,
      formatDuration(now - this.#started),
    ];
    const eta = this.#eta(now);
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
    const segments: Segment[] = [{ text: parts.join("  ") }];
    const width = Math.max(this.#o.columns() - 1, 20);
    const slowest = this.#slowest(now);
    if (slowest) {
      const tail = `  slowest ${slowest.id} ${formatSeconds(slowest.ms)}`;
      if (visibleWidth(segments[0].text + tail) <= width) {
        segments.push({ text: tail, style: "dim" });
      }
    }
    const line = fitSegments(segments, width)
      .map((seg) => seg.style ? this.#style(seg.style, seg.text) : seg.text).join("");
    this.#o.stderr(`\r${line}${this.#o.color ? RESET : ""}\x1b[K`);
    this.#lineShown = true;
  }

  /**
   * Fetching while some unfinished module is not installing; installing while every unfinished
   * module is; the build list once every module is done.
   */
  #phase(): Phase {
    if (this.#total > 0 && this.#settled >= this.#total) return "build list";
    return this.#total - this.#settled > this.#installing.size ? "fetching" : "installing";
  }

  /** `[=======>            ]`: the share of modules done. */
  #bar(): string {
    const share = this.#total > 0 ? Math.min(this.#done / this.#total, 1) : 0;
    const filled = Math.floor(share * BAR_WIDTH);
    const arrow = filled < BAR_WIDTH ? ">" : "";
    return `[${"=".repeat(filled)}${arrow}${" ".repeat(BAR_WIDTH - filled - arrow.length)}]`;
  }

  /**
   * Milliseconds left at the rate modules finished over the last {@link WINDOW_MS}; none before
   * {@link ETA_AFTER_MS} have passed and {@link ETA_SHARE} of the modules are done.
   */
  #eta(now: number): number | undefined {
    const left = this.#total - this.#done;
    if (left <= 0 || now - this.#started < ETA_AFTER_MS) return undefined;
    if (this.#done < this.#total * ETA_SHARE) return undefined;
    const base = this.#samples[0];
    const rate = (this.#done - base.done) / (now - base.t);
    return rate > 0 ? left / rate : undefined;
  }

  /** `120/340 modules, 88.2 MiB, 31.0 MiB/s` (over the window) with `sep` between the parts. */
  #status(sep: string, now: number): string {
    const base = this.#samples[0];
    const seconds = (now - base.t) / 1000;
    const parts = [
      `${this.#done}/${this.#total} modules`,
      formatBytes(this.#bytes),
      `${formatBytes(seconds > 0 ? (this.#bytes - base.bytes) / seconds : 0)}/s`,
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
    const kept = `${t.cached} already cached, ${t.skipped} skipped (private/direct)`;
    const failed = t.failed > 0 ? this.#style("red", `${t.failed} failed`) : "0 failed";
    const cancelled = t.cancelled > 0 ? `, ${t.cancelled} cancelled` : "";
    const interrupted = report.interrupted ? "interrupted: " : "";
    if (report.settings.dryRun) {
      const failing = t.failed > 0 ? `, ${failed}` : "";
      return `goprefetch: ${interrupted}dry run: ${t.planned} to fetch, ${kept}${failing}` +
        `${cancelled}; nothing was fetched`;
    }
    return `goprefetch: ${interrupted}${t.fetched} fetched, ${kept}, ${failed}${cancelled}; ` +
      `${formatBytes(t.bytes)} in ${t.seconds.toFixed(1)} s`;
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

/**
 * The segments cut to `width` visible characters (escape codes take none), each whole or cut
 * short before it is styled, so that no style is left open.
 */
function fitSegments(segments: Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let room = width;
  for (const seg of segments) {
    if (room <= 0) break;
    const chars = [...seg.text.replace(ESCAPE, "")];
    out.push({ ...seg, text: chars.slice(0, room).join("") });
    room -= Math.min(chars.length, room);
  }
  return out;
}

/** The columns `text` takes on a terminal: its characters, escape codes aside. */
export function visibleWidth(text: string): number {
  return [...text.replace(ESCAPE, "")].length;
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
