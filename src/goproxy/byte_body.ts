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
  }

  /**
   * Reads into `view` (not empty), and returns the bytes read as a view of the same memory,
   * or undefined at the end. The view's buffer is detached: go on with the returned view's.
   */
  async read(view: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.#reader) return undefined;
    const { value, done } = await this.#unlessAborted(this.#reader.read(view));
    if (done || !value) return undefined;
    this.#onRead(value.length);
    return value;
  }

  /**
   * Calls `onBytes` with each piece of the body, read into one scratch buffer that is
   * reused (so a piece is valid only until `onBytes` settles).
   */
  async forEach(
    onBytes: (bytes: Uint8Array) => void | Promise<void>,
    scratchSize = SCRATCH_SIZE,
  ): Promise<void> {
    let buffer = new ArrayBuffer(scratchSize);
    for (;;) {
      const got = await this.read(new Uint8Array(buffer));
      if (!got) return;
      await onBytes(got);
      buffer = got.buffer as ArrayBuffer;
    }
  }

  #unlessAborted<T>(read: Promise<T>): Promise<T> {
    const signal = this.#signal;
    if (!signal) return read;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        void this.cancel();
      };
      read.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops reading and releases the stream. */
  async cancel(): Promise<void> {
    await this.#reader?.cancel().catch(() => {});
  }
}
