// Caps concurrent replays: after an indexer restart every publisher asks for its whole buffer at once,
// and unbounded replays would flood the pool (upstream caps them at 8 per process).

/** A counting semaphore whose waits end at a deadline or when it is closed. */
export class ConcurrencyLimiter {
  readonly #limit: number;
  #active = 0;
  #waiters: { grant: (ok: boolean) => void; timer: NodeJS.Timeout | null }[] = [];
  #closed = false;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`limit: expected a positive integer, got ${String(limit)}`);
    this.#limit = limit;
  }

  /** Slots in use. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a slot; false when `waitMs` passed first or the limiter was closed. */
  acquire(waitMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#active < this.#limit) {
      this.#active++;
      return Promise.resolve(true);
    }
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        grant: (ok: boolean) => {
          if (waiter.timer !== null) clearTimeout(waiter.timer);
          resolve(ok);
        },
        timer: null as NodeJS.Timeout | null,
      };
      waiter.timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, waitMs);
      this.#waiters.push(waiter);
    });
  }

  /** Returns a slot, handing it straight to the longest waiter. */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next.grant(true);
    else if (this.#active > 0) this.#active--;
  }

  /** Fails every wait, now and later. */
  close(): void {
    this.#closed = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.grant(false);
  }
}
