/**
 * The defaults of a run's settings, stated once: the engine falls back to them (through
 * {@link runSettings}), and the command line's help text and parsing use them.
 *
 * @module
 */

/** A run's tunable settings and their defaults. */
export interface Defaults {
  /** Requests in flight at most. */
  readonly concurrency: number;
  /** Retries of a transient failure per request. */
  readonly retries: number;
  /** Abort and retry a body that delivers nothing for this long. */
  readonly stallTimeoutMs: number;
  /** Abort and retry a request attempt that has not finished after this long. */
  readonly requestTimeoutMs: number;
  /** Bytes of zip bodies held in memory at most; larger ones stream to temp files. */
  readonly memoryBudget: number;
}

/**
 * The defaults. 256 requests in flight was the one -c within 10% of the best on every set and
 * network measured over TLS (docs/performance.md).
 */
export const DEFAULTS: Defaults = {
  concurrency: 256,
  retries: 4,
  stallTimeoutMs: 30_000,
  requestTimeoutMs: 10 * 60_000,
  memoryBudget: 8 * 1024 * 1024,
};

/**
 * A run's settings, defaults applied once: the pipeline takes them all, the toolchain step its
 * dry run and signal (its requests go through the pipeline's client).
 */
export interface RunSettings {
  /** Requests (and modules) in flight at most. */
  concurrency: number;
  /** Retries of a transient failure per request. */
  retries: number;
  /** Abort and retry a body that delivers nothing for this long. */
  stallTimeoutMs: number;
  /** Abort and retry a request attempt that has not finished after this long. */
  requestTimeoutMs: number;
  /** Bytes of zip bodies held in memory at most. */
  memoryBudget: number;
  /** Plan only: fetch nothing, write nothing. */
  dryRun: boolean;
  /** Stops the run. */
  signal?: AbortSignal;
}

/** `options` with every unset setting at its default. */
export function runSettings(
  options: Partial<Omit<RunSettings, "signal">> & { signal?: AbortSignal },
): RunSettings {
  return {
    concurrency: options.concurrency ?? DEFAULTS.concurrency,
    retries: options.retries ?? DEFAULTS.retries,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    memoryBudget: options.memoryBudget ?? DEFAULTS.memoryBudget,
    dryRun: options.dryRun ?? false,
    signal: options.signal,
  };
}
