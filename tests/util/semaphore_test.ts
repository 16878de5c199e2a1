import assert from "node:assert/strict";
import { MemoryBudget, Semaphore } from "../../src/util/semaphore.ts";

Deno.test("semaphore: waiters of a lower priority number go first, FIFO within a priority", async () => {
  const sem = new Semaphore(1);
  await sem.acquire();
  const order: string[] = [];
  const wait = (name: string, priority: number) =>
    sem.run(() => {
      order.push(name);
      return Promise.resolve();
    }, priority);
  const all = Promise.all([wait("info-1", 2), wait("mod-1", 1), wait("zip", 0), wait("mod-2", 1)]);
  sem.release();
  await all;
  assert.deepEqual(order, ["zip", "mod-1", "mod-2", "info-1"]);
});

Deno.test("semaphore: never more holders than permits, and permits come back", async () => {
  const sem = new Semaphore(3);
  let held = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    sem.run(async () => {
      most = Math.max(most, ++held);
      await new Promise((r) => setTimeout(r, 1));
      held--;
    }, i % 3)));
  assert.equal(most, 3);
  for (let i = 0; i < 3; i++) await sem.acquire();
});

Deno.test("memory budget: takes only what is free and gets it back", () => {
  const budget = new MemoryBudget(10);
  assert.ok(budget.tryTake(6));
  assert.ok(!budget.tryTake(5));
  budget.give(6);
  assert.ok(budget.tryTake(10));
});
