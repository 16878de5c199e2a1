/**
 * When an HTTP/1.1 origin gets another connection. Each connection (a lane) carries one
 * request at a time, and the request that opens a lane waits for that connection, which a
 * busy front end may admit only seconds later, while lanes already open keep coming free. So a
 * lane is opened only while the requests waiting would keep the lanes busy for longer than a
 * new lane has been taking to open: by the origin's recent pace, the request that opens it
 * would not have been served sooner by waiting for a lane to come free.
 *
 * @module
 */

/** Weight of the newest time in each running average. */
const WEIGHT = 0.3;

/**
 * The recent pace of one origin's lanes: how long a new lane takes to carry its first
 * response, and how long a request holds a lane that was open.
 *
 * @example
 * ```ts
 * const pace = new LanePace();
 * pace.opened(120);
 * pace.served(50);
 * pace.worthOpening({ waiting: 100, lanes: 10 }); // true: they drain in 500 ms, a lane opens in 120
 * pace.worthOpening({ waiting: 10, lanes: 10 }); // false: they drain in 50 ms
 * ```
 */
export class LanePace {
  #openMs: number | undefined;
  #requestMs: number | undefined;

  /** Hears that a new lane carried its first response headers `ms` after it was asked for. */
  opened(ms: number): void {
    this.#openMs = average(this.#openMs, ms);
  }

  /** Hears that a request held an open lane for `ms`. */
  served(ms: number): void {
    this.#requestMs = average(this.#requestMs, ms);
  }

  /**
   * Whether a request should open a lane, given the origin's `queue`. Yes while nothing has
   * been timed yet.
   */
  worthOpening(queue: LaneQueue): boolean {
    const { waiting, lanes, openingMs = 0, servingMs = 0 } = queue;
    if (lanes === 0 || this.#openMs === undefined || this.#requestMs === undefined) return true;
    const requestMs = Math.max(this.#requestMs, servingMs);
    return (waiting * requestMs) / lanes > Math.max(this.#openMs, openingMs);
  }
}

/** An origin's lanes and the requests waiting for one, as {@link LanePace} weighs them. */
export interface LaneQueue {
  /** Requests waiting for a lane, the one asking included. */
  waiting: number;
  /** Lanes open or opening. */
  lanes: number;
  /**
   * How long the lane longest in opening has been at it: one asked for now would take at
   * least as long, as a front end admits new connections in turn.
   */
  openingMs?: number;
  /**
   * How long, on average, the requests now on lanes have held them: when they hold them
   * longer than requests used to (large bodies), the queue drains that much slower.
   */
  servingMs?: number;
}

function average(mean: number | undefined, sample: number): number {
  return mean === undefined ? sample : mean + WEIGHT * (sample - mean);
}
