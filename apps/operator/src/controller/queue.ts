// A work queue of object keys: one key is never processed twice at once, adds of a queued key
// coalesce, a key added while it is processed runs once more afterwards, failures retry with
// exponential backoff per key.

/** What a handler may ask for after a successful run. */
export interface HandlerResult {
  /** Process the key again after this many milliseconds. */
  requeueAfterMs?: number;
}

/** Timers the queue uses (replaceable in tests). */
export interface QueueClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Processes one key. Throwing schedules a retry with backoff. */
  handler: (key: string) => Promise<HandlerResult | void>;
  /** Keys processed at the same time (each key at most once). */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the key. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: QueueClock;
  /** Told about each run's outcome, for metrics and logs. */
  onResult?: (key: string, outcome: 'success' | 'error' | 'requeue_after', error?: unknown, durationMs?: number) => void;
}

const realClock: QueueClock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

/** Per-key work queue. */
export class WorkQueue {
  readonly #options: Required<Omit<WorkQueueOptions, 'onResult'>> & Pick<WorkQueueOptions, 'onResult'>;
  /** Keys waiting, in order; each at most once. */
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys added again while processing: requeued when their run ends. */
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, unknown>();
  readonly #idleWaiters: (() => void)[] = [];
  #stopped = false;
  #adds = 0;
  #retries = 0;

  constructor(options: WorkQueueOptions) {
    this.#options = {
      concurrency: 1,
      baseBackoffMs: 100,
      maxBackoffMs: 60_000,
      clock: realClock,
      ...options,
    };
  }

  /** Keys waiting to be processed. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.#processing.size;
  }

  /** Total adds and retries so far. */
  get counts(): { adds: number; retries: number } {
    return { adds: this.#adds, retries: this.#retries };
  }

  /** Consecutive failures of a key (0 after a success). */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Queues a key now (cancelling a delayed add of it). */
  add(key: string): void {
    if (this.#stopped) return;
    this.#adds++;
    const timer = this.#timers.get(key);
    if (timer !== undefined) {
      this.#options.clock.clearTimeout(timer);
      this.#timers.delete(key);
    }
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /** Queues a key after a delay; an earlier pending delay for it wins. */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) return this.add(key);
    if (this.#timers.has(key)) return;
    this.#timers.set(
      key,
      this.#options.clock.setTimeout(() => {
        this.#timers.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Resolves when nothing is queued or processing (delayed adds not counted). */
  whenIdle(): Promise<void> {
    if (this.#queue.length === 0 && this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking keys, cancels delayed adds and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) this.#options.clock.clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#queued.clear();
    this.#dirty.clear();
    await this.whenIdle();
  }

  #pump(): void {
    while (!this.#stopped && this.#processing.size < this.#options.concurrency && this.#queue.length > 0) {
      const key = this.#queue.shift() as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      void this.#process(key);
    }
    if (this.#queue.length === 0 && this.#processing.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #process(key: string): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.#options.handler(key);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) {
        this.#options.onResult?.(key, 'requeue_after', undefined, performance.now() - started);
        this.addAfter(key, result.requeueAfterMs);
      } else {
        this.#options.onResult?.(key, 'success', undefined, performance.now() - started);
      }
    } catch (err) {
      const n = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, n);
      this.#retries++;
      this.#options.onResult?.(key, 'error', err, performance.now() - started);
      this.addAfter(key, Math.min(this.#options.baseBackoffMs * 2 ** (n - 1), this.#options.maxBackoffMs));
    } finally {
      this.#processing.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
    }
  }
}
