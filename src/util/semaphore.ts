/**
 * A counting semaphore, used to bound requests and modules in flight.
 *
 * @module
 */

/** A counting semaphore; waiters of a lower priority number go first, FIFO within one. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[][] = [];

  /** Creates a semaphore with `permits` permits. */
  constructor(permits: number) {
    this.#free = permits;
  }

  /** Runs `fn` while holding one permit, waiting for it with `priority` (0 first). */
  async run<T>(fn: () => Promise<T>, priority = 0): Promise<T> {
    await this.acquire(priority);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Waits for a permit, with `priority` (0 first). */
  acquire(priority = 0): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#waiters[priority] ??= []).push(resolve));
  }

  /** Returns a permit. */
  release(): void {
    const next = this.#waiters.find((queue) => queue?.length > 0)?.shift();
    if (next) next();
    else this.#free++;
  }
}

/** A byte budget for response bodies held in memory; bodies that do not fit go to disk. */
export class MemoryBudget {
  #free: number;

  /** Creates a budget of `bytes` bytes. */
  constructor(bytes: number) {
    this.#free = bytes;
  }

  /** Takes `n` bytes if they are free; returns whether it did. */
  tryTake(n: number): boolean {
    if (n > this.#free) return false;
    this.#free -= n;
    return true;
  }

  /** Gives back `n` bytes. */
  give(n: number): void {
    this.#free += n;
  }
}
