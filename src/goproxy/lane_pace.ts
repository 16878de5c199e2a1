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
 * pace.worthOpening(100, 10); // true: 100 waiting drain in 500 ms, a lane opens in 120
 * pace.worthOpening(10, 10); // false: they drain in 50 ms
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
   * Whether a request should open a lane, with `waiting` requests waiting for one (itself
   * included), `lanes` lanes open or opening, and the longest of those still opening at it
   * for `openingMs` (a lane asked for now would take at least as long: a front end admits new
   * connections in turn). Yes while nothing has been timed yet.
   */
  worthOpening(waiting: number, lanes: number, openingMs = 0): boolean {
    if (lanes === 0 || this.#openMs === undefined || this.#requestMs === undefined) return true;
    return (waiting * this.#requestMs) / lanes > Math.max(this.#openMs, openingMs);
  }
}

function average(mean: number | undefined, sample: number): number {
  return mean === undefined ? sample : mean + WEIGHT * (sample - mean);
}
