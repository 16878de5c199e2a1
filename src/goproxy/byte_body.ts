/**
 * Reading a response body into memory the caller owns. Deno's fetch and file bodies are
 * byte streams, so a "bring your own buffer" reader fills a zip's buffer in place: no chunk
 * is allocated per read, which at 64 downloads in flight is most of the garbage (and of the
 * peak memory) a plain reader leaves behind.
 *
 * @module
 */

/** Bytes read at most per call when the caller brings no buffer of its own. */
const SCRATCH_SIZE = 256 * 1024;

/** A byte stream read into caller-provided views. */
export class ByteBody {
  #reader: ReadableStreamBYOBReader | undefined;
  #onRead: (n: number) => void;
  #signal: AbortSignal | undefined;
  /** Rejects with the signal's reason when it aborts; never settles otherwise. */
  #aborted: Promise<never> | undefined;
  /** Stops listening to the signal: the body ended, failed or was cancelled. */
  #unlisten = () => {};

  /**
   * Wraps `stream` (null for an empty body); `onRead` hears of every read's size, for a
   * stall watchdog and for progress. When `signal` aborts, a pending read rejects with its
   * reason and the stream is cancelled: a fetch body cannot be trusted to, as Deno drops its
   * link to the request's signal once the request object is garbage-collected.
   */
  constructor(
    stream: ReadableStream<Uint8Array> | null,
    onRead: (n: number) => void = () => {},
    signal?: AbortSignal,
  ) {
    this.#reader = stream?.getReader({ mode: "byob" });
    this.#onRead = onRead;
    this.#signal = signal;
    if (!signal || !this.#reader) return;
    this.#aborted = new Promise((_, reject) => {
      const abort = () => {
        reject(signal.reason);
        void this.cancel();
      };
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
      this.#unlisten = () => signal.removeEventListener("abort", abort);
    });
    this.#aborted.catch(() => {});
  }

  /**
   * Reads into `view` (not empty), and returns the bytes read as a view of the same memory,
   * or undefined at the end. The view's buffer is detached: go on with the returned view's.
   */
  async read(view: Uint8Array): Promise<Uint8Array | undefined> {
    const { value, done } = await this.#readInto(view);
    return done ? undefined : value;
  }

  /**
   * Reads into `view`; at the end, `value` is an empty view of the same memory (undefined if
   * the stream was cancelled), so that what was read into it before is not lost.
   */
  async #readInto(view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (!this.#reader) return { value: view.subarray(0, 0), done: true };
    this.#signal?.throwIfAborted();
    const read = this.#reader.read(view);
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await (this.#aborted ? Promise.race([read, this.#aborted]) : read);
    } catch (e) {
      this.#unlisten();
      throw e;
    }
    if (result.done) this.#unlisten();
    if (!result.done && result.value) this.#onRead(result.value.length);
    return result.value ? result : { value: undefined, done: true };
  }

  /**
   * Calls `onBytes` with the body in pieces of `scratchSize` bytes (the last one shorter),
   * each read into one scratch buffer that is reused (so a piece is valid only until
   * `onBytes` settles). Reads are gathered into full pieces: a fetch body comes in chunks of
   * a TLS record or so, and a write per chunk would cost a system call per 16 KiB.
   */
  async forEach(
    onBytes: (bytes: Uint8Array) => void | Promise<void>,
    scratchSize = SCRATCH_SIZE,
  ): Promise<void> {
    let buffer = new ArrayBuffer(scratchSize);
    let filled = 0;
    for (;;) {
      const { value, done } = await this.#readInto(new Uint8Array(buffer, filled));
      if (!value) return;
      buffer = value.buffer as ArrayBuffer;
      filled += value.length;
      if (filled === scratchSize || (done && filled > 0)) {
        await onBytes(new Uint8Array(buffer, 0, filled));
        filled = 0;
      }
      if (done) return;
    }
  }

  /** Stops reading and releases the stream. */
  async cancel(): Promise<void> {
    this.#unlisten();
    await this.#reader?.cancel().catch(() => {});
  }
}
