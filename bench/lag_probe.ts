/**
 * The event-loop lag probe: runs the goprefetch command line in this process with a 10 ms
 * timer ticking on the main thread beside it, and writes how late the ticks fired. A tick held
 * up by work on the main thread (inflating, hashing or writing there) is a tick the downloads
 * waited through too, so the lag is how much CPU-bound work starved the network.
 *
 * Run: `deno run -A bench/lag_probe.ts LAG_FILE ARGS...`, where ARGS are goprefetch's; the
 * exit status is goprefetch's and LAG_FILE gets the {@link LagStats} as JSON.
 *
 * @module
 */
import { main } from "../cli.ts";

/** How late the probe's ticks fired, in milliseconds past their due time. */
export interface LagStats {
  /** The timer period, in ms. */
  tickMs: number;
  /** Ticks measured. */
  samples: number;
  /** Median lag. */
  p50Ms: number;
  /** 99th percentile lag. */
  p99Ms: number;
  /** Largest lag. */
  maxMs: number;
}

/** The probe's timer period in milliseconds. */
const TICK_MS = 10;

/** The `q` quantile (0 to 1) of `xs`, nearest rank; NaN for none. */
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/**
 * Starts a {@link TICK_MS} timer on this thread; each tick records how long after its due
 * time (the previous tick plus the period) it fired. The returned function stops the timer and
 * summarizes the ticks.
 *
 * @example
 * ```ts
 * import { startLagSampler } from "./lag_probe.ts";
 * const stop = startLagSampler();
 * await new Promise((r) => setTimeout(r, 100));
 * console.log(stop().p99Ms);
 * ```
 */
export function startLagSampler(): () => LagStats {
  const lags: number[] = [];
  let last = performance.now();
  const id = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - TICK_MS));
    last = now;
  }, TICK_MS);
  Deno.unrefTimer(id);
  return () => {
    clearInterval(id);
    return {
      tickMs: TICK_MS,
      samples: lags.length,
      p50Ms: quantile(lags, 0.5),
      p99Ms: quantile(lags, 0.99),
      maxMs: quantile(lags, 1),
    };
  };
}

if (import.meta.main) {
  const [lagFile, ...args] = Deno.args;
  const stop = startLagSampler();
  const code = await main(args);
  await Deno.writeTextFile(lagFile, JSON.stringify(stop()) + "\n");
  Deno.exit(code);
}
