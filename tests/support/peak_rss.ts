/**
 * Running the goprefetch CLI while measuring its peak resident set size: the process's own
 * `getrusage` high-water mark (worker threads included), written to a file as it exits by a
 * module preloaded before `cli.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runCli } from "./cli.ts";
import { canCheck } from "./platform.ts";

/** A CLI run and its peak resident set size. */
export interface MeasuredRun extends CliRun {
  /** The process's peak resident set size in bytes; measured on Linux only. */
  peakRss: number | undefined;
}

const PEAK_FILE_VAR = "GOPREFETCH_TEST_PEAK_RSS_FILE";
/**
 * Runs before cli.ts; `unload` fires on `Deno.exit`, after everything else has run. It reads
 * Linux's `VmHWM`, the peak RSS of this process image. (`getrusage`'s `ru_maxrss` will not do:
 * Linux carries the parent's peak over `exec`, so it would report the test process's memory.)
 */
const PRELOAD = "data:text/javascript," + encodeURIComponent(
  'if (Deno.build.os === "linux") addEventListener("unload", () => {\n' +
    '  const status = Deno.readTextFileSync("/proc/self/status");\n' +
    "  const kib = Number(/^VmHWM:\\s*(\\d+) kB$/m.exec(status)[1]);\n" +
    `  Deno.writeTextFileSync(Deno.env.get(${
      JSON.stringify(PEAK_FILE_VAR)
    }), String(kib * 1024));\n` +
    "});\n",
);

/**
 * Runs the goprefetch CLI as {@link runCli} does, and reads its peak RSS.
 *
 * @example
 * ```ts
 * const run = await runCliMeasured(["."], { cwd, env });
 * assert.ok(run.peakRss < 250 * MiB);
 * ```
 */
export async function runCliMeasured(
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<MeasuredRun> {
  const peakFile = await Deno.makeTempFile({ prefix: "goprefetch-peak-rss-" });
  try {
    const out = await runCli(args, {
      cwd: opts.cwd,
      env: { ...opts.env, [PEAK_FILE_VAR]: peakFile },
      flags: ["-A", "--preload", PRELOAD],
    });
    const written = await Deno.readTextFile(peakFile);
    const peakRss = written === "" ? undefined : Number(written);
    if (Deno.build.os === "linux" && !(peakRss! > 0)) {
      throw new Error(`no peak RSS measured (exit ${out.code}):\n${out.stderr}`);
    }
    return { ...out, peakRss };
  } finally {
    await Deno.remove(peakFile);
  }
}

/**
 * Asserts that `run` peaked below `limit` bytes of RSS. Where it is not measured, the check is
 * skipped with a warning, except on Linux under `CI=true`, where that fails (`platform.ts`).
 *
 * @example
 * ```ts
 * assertPeakRssBelow(run, 250 * 2 ** 20, "a 300 MiB module");
 * ```
 */
export function assertPeakRssBelow(run: MeasuredRun, limit: number, what: string): void {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (run.peakRss === undefined) {
    if (canCheck("peak RSS", `the peak RSS of ${what}`)) {
      throw new Error(`no peak RSS measured for ${what}`);
    }
    return;
  }
  assert.ok(run.peakRss < limit, `peak RSS ${mib(run.peakRss)} for ${what}, limit ${mib(limit)}`);
}
