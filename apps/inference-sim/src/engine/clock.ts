import { performance } from 'node:perf_hooks';

/** Time source and timer service of an engine; injected so tests can drive the timeline exactly. */
export interface Clock {
  /** Milliseconds on a monotonic timeline. */
  now(): number;
  /** Calls `fn` once after `delayMs`; returns a handle for {@link Clock.clearTimer}. */
  setTimer(fn: () => void, delayMs: number): unknown;
  /** Cancels a timer that has not fired yet; unknown or fired handles are ignored. */
  clearTimer(handle: unknown): void;
}

/** The process clock: `performance.now()` and `setTimeout`. */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimer: (fn: () => void, delayMs: number): unknown => setTimeout(fn, Math.max(0, delayMs)),
  clearTimer: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

interface ManualTimer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in (due time, creation order) and `now()`
 * reads the due time of the timer being run, so a test sees the exact timeline the engine
 * scheduled, with no wall-clock timing involved.
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  // Kept sorted by (at, order); tests hold few timers, so insertion by scan is fine.
  readonly #timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** Current time of the manual timeline. */
  now(): number {
    return this.#now;
  }

  /** Registers a timer due `delayMs` from now (negative delays count as zero). */
  setTimer(fn: () => void, delayMs: number): unknown {
    const timer: ManualTimer = { at: this.#now + Math.max(0, delayMs), order: this.#order++, fn };
    let i = this.#timers.length;
    while (i > 0 && (this.#timers[i - 1] as ManualTimer).at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer;
  }

  /** Removes a pending timer. */
  clearTimer(handle: unknown): void {
    const i = this.#timers.indexOf(handle as ManualTimer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be ≥ 0, got ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      if (next.at > this.#now) this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }

  /**
   * Runs timers in order until none is left or the next one is more than `limitMs` ahead of the
   * start; returns true when no timer is left. Guards tests against a runaway timeline.
   */
  runUntilIdle(limitMs = 3_600_000): boolean {
    const deadline = this.#now + limitMs;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined) return true;
      if (next.at > deadline) return false;
      this.advance(next.at - this.#now);
    }
  }
}
