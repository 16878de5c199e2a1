/**
 * Giving the event loop a turn in the middle of synchronous work, so that the I/O it has
 * started (a request, a worker's message) gets going. `setTimeout(0)` is not the way: nested
 * in other timers it waits at least 4 ms a time (30 turns took 82 ms, against 1 ms here).
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * Resolves after one turn of the event loop.
 *
 * @example
 * ```ts
 * await nextTurn(); // pending I/O callbacks and timers have had their chance
 * ```
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A function to call between pieces of synchronous work: it returns a turn of the event loop
 * to await once `ms` have passed since the last one, and undefined before (awaiting nothing
 * keeps the pieces in one turn).
 *
 * @example
 * ```ts
 * const breathe = turnEvery(4);
 * for (const job of [1, 2, 3]) {
 *   const turn = breathe();
 *   if (turn) await turn;
 *   console.log(job);
 * }
 * ```
 */
export function turnEvery(ms: number): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    if (performance.now() - last < ms) return undefined;
    return nextTurn().then(() => {
      last = performance.now();
    });
  };
}

/** Milliseconds of synchronous starts between turns of the event loop, for {@link startEach}. */
const START_TURN_MS = 4;

/**
 * Starts `work` on each item, giving the event loop a turn every few milliseconds, and returns
 * the started promises: each start is synchronous up to its first wait (a cache probe, the
 * requests it queues), and hundreds of them started at once would hold back the responses and
 * requests of those already going by tens of milliseconds. A rejection waits for the caller's
 * `Promise.all` of the result, not for the last start.
 *
 * @example
 * ```ts
 * const started = await startEach(["a", "b"], async (name) => name.length);
 * console.log(await Promise.all(started)); // [1, 1]
 * ```
 */
export async function startEach<T, R>(
  items: T[],
  work: (item: T, i: number) => Promise<R>,
): Promise<Promise<R>[]> {
  const breathe = turnEvery(START_TURN_MS);
  const started: Promise<R>[] = [];
  for (let i = 0; i < items.length; i++) {
    const turn = breathe();
    if (turn) await turn;
    const promise = work(items[i], i);
    promise.catch(() => {});
    started.push(promise);
  }
  return started;
}
