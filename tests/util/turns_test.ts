import assert from "node:assert/strict";
import { nextTurn, startEach, turnEvery } from "../../src/util/turns.ts";

Deno.test("nextTurn lets I/O that finished meanwhile run, without the nested-timer clamp", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = false;
  const accepting = listener.accept().then((conn) => {
    accepted = true;
    conn.close();
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const started = performance.now();
  for (let i = 0; i < 100 && !accepted; i++) await nextTurn();
  assert.ok(accepted, "the accept completed between turns");
  await accepting;
  conn.close();
  listener.close();
  const turns = performance.now() - started;
  const clamped = performance.now();
  for (let i = 0; i < 30; i++) await nextTurn();
  assert.ok(
    performance.now() - clamped < 30,
    "30 turns take far less than 30 clamped timers (120 ms)",
  );
  assert.ok(turns < 1000);
});

Deno.test("turnEvery hands out a turn only once its interval has passed", async () => {
  const breathe = turnEvery(20);
  assert.equal(breathe(), undefined);
  await new Promise((resolve) => setTimeout(resolve, 25));
  const turn = breathe();
  assert.ok(turn instanceof Promise);
  await turn;
  assert.equal(breathe(), undefined, "the interval starts again after the turn");
});

Deno.test("startEach gives the event loop turns between long synchronous starts", async () => {
  let immediateRanAt = -1;
  setImmediate(() => immediateRanAt = started.length);
  const started: number[] = [];
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  const results = await startEach([0, 1, 2, 3, 4, 5], (item, i) => {
    busy(3);
    started.push(i);
    return Promise.resolve(item * 2);
  });
  assert.deepEqual(await Promise.all(results), [0, 2, 4, 6, 8, 10]);
  assert.ok(
    immediateRanAt > 0 && immediateRanAt < 6,
    `the pending callback ran after start ${immediateRanAt}, not after the last`,
  );
});

Deno.test("startEach leaves a rejection to the caller's Promise.all", async () => {
  const results = await startEach(
    ["ok", "bad"],
    (item) => item === "bad" ? Promise.reject(new Error("bad item")) : Promise.resolve(item),
  );
  await nextTurn();
  await assert.rejects(Promise.all(results), /bad item/);
});
