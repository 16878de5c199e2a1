import assert from "node:assert/strict";
import { nextTurn, turnEvery } from "../../src/util/turns.ts";

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
