/**
 * One raw-deflate stream on `node:zlib`'s synchronous handle: the fastest inflate Deno has,
 * driven a call at a time so that the caller decides where input and output go.
 *
 * @module
 */
import zlib from "node:zlib";

/**
 * The raw zlib handle behind a `node:zlib` stream, as Node's and Deno's `zlib.js` drive it:
 * `writeSync` inflates into a caller's buffer and leaves the bytes of output and input
 * still available in the stream's `_writeState`; errors arrive through `onerror`.
 */
export interface ZlibHandle {
  reset(): void;
  close(): void;
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  onerror: (message: string, errno: number) => void;
}

/** One raw-inflate stream, reset between entries; replaced after an error, which sticks. */
export class RawInflate {
  readonly handle: ZlibHandle;
  readonly state: Uint32Array;
  error: string | undefined;

  constructor() {
    const stream = zlib.createInflateRaw() as unknown as {
      _handle?: ZlibHandle;
      _writeState?: Uint32Array;
    };
    if (typeof stream._handle?.writeSync !== "function" || !stream._writeState) {
      throw new Error(
        "This Deno's node:zlib has no synchronous zlib handle; goprefetch needs Deno 2.",
      );
    }
    this.handle = stream._handle;
    this.state = stream._writeState;
    this.handle.onerror = (message) => this.error = message;
  }
}
