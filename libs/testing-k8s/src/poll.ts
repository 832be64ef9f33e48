import { setTimeout as sleep } from 'node:timers/promises';

/** How {@link poll} retries. */
export interface PollOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** Pause between checks (default 100 ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the error message; a function is called when giving up. */
  readonly what: string | (() => string);
  /** Checked before every attempt: a message ends the wait at once with that error. */
  readonly abortIf?: () => string | undefined;
}

/**
 * Re-runs `check` until it returns true. A check that throws counts as not yet; the last error
 * ends up in the timeout message.
 */
export async function poll(check: () => Promise<boolean>, options: PollOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new Error(aborted);
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`gave up after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}${cause}`, { cause: lastError });
    }
    await sleep(options.intervalMs ?? 100);
  }
}
