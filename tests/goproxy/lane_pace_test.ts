import assert from "node:assert/strict";
import { LanePace, type LaneQueue } from "../../src/goproxy/lane_pace.ts";

/** A pace that has timed lanes opening in `openMs` and requests holding one for `requestMs`. */
function timed(openMs: number, requestMs: number): LanePace {
  const pace = new LanePace();
  pace.opened(openMs);
  pace.served(requestMs);
  return pace;
}

const CASES: (LaneQueue & { name: string; pace: () => LanePace; want: boolean })[] = [
  { name: "no lane yet", pace: () => timed(1000, 1), waiting: 1, lanes: 0, want: true },
  { name: "nothing timed yet", pace: () => new LanePace(), waiting: 1, lanes: 5, want: true },
  {
    name: "opened, but no request served yet",
    pace: () => {
      const pace = new LanePace();
      pace.opened(100);
      return pace;
    },
    waiting: 1,
    lanes: 5,
    want: true,
  },
  // 100 waiting over 10 lanes at 50 ms each drain in 500 ms; a lane opens in 120.
  { name: "a long queue", pace: () => timed(120, 50), waiting: 100, lanes: 10, want: true },
  // 10 waiting over 10 lanes drain in 50 ms.
  { name: "a short queue", pace: () => timed(120, 50), waiting: 10, lanes: 10, want: false },
  // 30 waiting drain in 150 ms: more than the 120 ms a lane took, less than the 400 ms the
  // lane still opening has been at it.
  {
    name: "a queue shorter than the lane still opening",
    pace: () => timed(120, 50),
    waiting: 30,
    lanes: 10,
    openingMs: 400,
    want: false,
  },
  // 3 waiting over 4 lanes at 20 ms each drain in 15 ms, but the requests on the lanes have
  // held them for 2 s (large bodies): the queue will not drain before a lane opens.
  {
    name: "lanes held far longer than requests used to take",
    pace: () => timed(300, 20),
    waiting: 3,
    lanes: 4,
    servingMs: 2000,
    want: true,
  },
  {
    name: "the same lanes, held as long as usual",
    pace: () => timed(300, 20),
    waiting: 3,
    lanes: 4,
    servingMs: 10,
    want: false,
  },
  {
    name: "the same queue, no lane opening",
    pace: () => timed(120, 50),
    waiting: 30,
    lanes: 10,
    want: true,
  },
];

for (const c of CASES) {
  Deno.test(`LanePace: ${c.name}`, () => {
    assert.equal(c.pace().worthOpening(c), c.want);
  });
}

Deno.test("LanePace follows the recent times more than the old ones", () => {
  const pace = timed(100, 50);
  // 10 waiting over 2 lanes drain in 250 ms: worth a lane that opens in 100 ms...
  assert.equal(pace.worthOpening({ waiting: 10, lanes: 2 }), true);
  // ...not once lanes have been taking a second to open.
  for (let i = 0; i < 5; i++) pace.opened(1000);
  assert.equal(pace.worthOpening({ waiting: 10, lanes: 2 }), false);
});
