import assert from "node:assert/strict";
import { ByteBody } from "../../src/goproxy/byte_body.ts";

/**
 * A byte stream that enqueues `chunks` one per pull, then closes (or stays open), as a fetch
 * body does: a pending read into the caller's buffer ends with that buffer, empty.
 */
function byteStream(chunks: number[][], close = true): {
  stream: ReadableStream<Uint8Array>;
  cancelled: Promise<unknown>;
} {
  const cancelled = Promise.withResolvers<unknown>();
  let next = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (next < chunks.length) controller.enqueue(new Uint8Array(chunks[next++]));
      else if (close) {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
    cancel: (reason) => cancelled.resolve(reason),
  });
  return { stream, cancelled: cancelled.promise };
}

Deno.test("forEach gathers small reads into full pieces, the last one shorter", async () => {
  const { stream } = byteStream([[1, 2], [3], [4, 5, 6], [7]]);
  const pieces: number[][] = [];
  await new ByteBody(stream).forEach((bytes) => {
    pieces.push([...bytes]);
  }, 3);
  assert.deepEqual(pieces, [[1, 2, 3], [4, 5, 6], [7]]);
});

Deno.test("forEach calls nothing for an empty body", async () => {
  let calls = 0;
  await new ByteBody(byteStream([]).stream).forEach(() => {
    calls++;
  });
  await new ByteBody(null).forEach(() => {
    calls++;
  });
  assert.equal(calls, 0);
});

Deno.test("read fills the caller's view and reports each read's size", async () => {
  const sizes: number[] = [];
  const body = new ByteBody(byteStream([[1, 2], [3]]).stream, (n) => sizes.push(n));
  const first = await body.read(new Uint8Array(8));
  assert.deepEqual([...first!], [1, 2]);
  const second = await body.read(new Uint8Array(first!.buffer as ArrayBuffer));
  assert.deepEqual([...second!], [3]);
  assert.equal(await body.read(new Uint8Array(8)), undefined);
  assert.deepEqual(sizes, [2, 1]);
});

Deno.test("an abort rejects the pending read with its reason and cancels the stream", async () => {
  const { stream, cancelled } = byteStream([[1]], false);
  const stop = new AbortController();
  const body = new ByteBody(stream, () => {}, stop.signal);
  assert.deepEqual([...(await body.read(new Uint8Array(4)))!], [1]);
  const pending = body.read(new Uint8Array(4));
  stop.abort(new Error("stopped"));
  await assert.rejects(pending, /stopped/);
  await cancelled;
  await assert.rejects(body.read(new Uint8Array(4)), /stopped/);
});

Deno.test("a body made with an aborted signal reads nothing", async () => {
  const { stream, cancelled } = byteStream([[1]]);
  const body = new ByteBody(stream, () => {}, AbortSignal.abort(new Error("gone")));
  await assert.rejects(body.forEach(() => {}), /gone/);
  await cancelled;
});
