/**
 * A counting semaphore, used to bound requests and modules in flight.
 *
 * @module
 */

/** A counting semaphore with FIFO waiters. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];

  /** Creates a semaphore with `permits` permits. */
  constructor(permits: number) {
    this.#free = permits;
  }

  /** Runs `fn` while holding one permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Waits for a permit. */
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Returns a permit. */
  release(): void {
    const next = this.#waiters.shift();
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
