// The event pool (upstream llm-d-router pkg/kvevents/pool.go): one FIFO per shard, each drained by one
// async worker, a publisher always on the same shard. A pod's batches are thus applied in order and
// never concurrently, while different pods' batches overlap on the index's I/O (Redis round trips).
import type { KvEventBatch } from '@llmd/kv-cache';
import type { Logger } from 'pino';

/** One received batch, ready to apply. */
export interface KvEventTask {
  /** Endpoint identity (`ip:port`) the batch's blocks belong to. */
  readonly publisher: string;
  /** Model named by the topic; a BlockStored's LoRA name overrides it when applied. */
  readonly model: string;
  /** The publisher's sequence number of the batch. */
  readonly seq: bigint;
  readonly batch: KvEventBatch;
  /** True when the batch came from a replay rather than the live stream. */
  readonly replayed: boolean;
}

/** Where a subscriber hands batches and pod resets; a reset is ordered after the pod's earlier batches. */
export interface KvEventSink {
  push(task: KvEventTask): void;
  /** Forget the publisher's blocks (it restarted, lost events, or went away). */
  reset(publisher: string): void;
}

/** What the pool calls to apply work; {@link KvEventApplier} fits. */
export interface KvBatchApplier {
  apply(pod: string, model: string, batch: KvEventBatch): Promise<void>;
  clearPod(pod: string): Promise<void>;
}

/** Options of {@link ShardedEventPool}. */
export interface ShardedEventPoolOptions {
  readonly applier: KvBatchApplier;
  /** Shards, each with one worker; 4 by default (upstream `concurrency`). */
  readonly concurrency?: number;
  readonly logger: Logger;
  /** Called after each applied batch with the seconds from the batch's `ts` to now (ingestion lag). */
  readonly onApplied?: (task: KvEventTask, lagSeconds: number) => void;
  /** Clock in milliseconds since the epoch; Date.now by default. */
  readonly now?: () => number;
}

/** Monotonic counters of a {@link ShardedEventPool}. */
export interface ShardedEventPoolCounters {
  /** Batches queued. */
  enqueued: number;
  /** Batches applied. */
  applied: number;
  /** Pod resets applied. */
  resets: number;
  /** Batches or resets whose applier call threw. */
  failed: number;
  /** Sum of the ingestion lags of applied batches, in seconds (with `applied`, a mean). */
  lagSecondsSum: number;
  /** Ingestion lag of the last applied batch, in seconds. */
  lastLagSeconds: number;
  /** Queued items dropped by close(). */
  droppedOnClose: number;
}

type Work = { readonly task: KvEventTask; readonly reset: null } | { readonly task: null; readonly reset: string };

// A FIFO of an array and a head index: shift() is O(n) on large arrays, and a shard may hold thousands.
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined as T;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): number {
    const n = this.length;
    this.#items = [];
    this.#head = 0;
    return n;
  }
}

/** FNV-1a 32-bit hash of a string's UTF-8 bytes: upstream's shard function (Go hash/fnv New32a). */
export function fnv1a32(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Applies batches in order per publisher and in parallel across publishers: shard =
 * FNV-1a-32(publisher) % concurrency; each shard's FIFO is drained by one async worker. Queues are
 * unbounded, as upstream's; `depth` feeds a gauge so a backlog is visible.
 */
export class ShardedEventPool implements KvEventSink {
  readonly #applier: KvBatchApplier;
  readonly #logger: Logger;
  readonly #onApplied: ((task: KvEventTask, lagSeconds: number) => void) | undefined;
  readonly #now: () => number;
  readonly #queues: Fifo<Work>[];
  readonly #running: boolean[];
  #pending = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  readonly #workers = new Set<Promise<void>>();

  /** Counters for metrics; plain numbers, updated in place. */
  readonly counters: ShardedEventPoolCounters = {
    enqueued: 0,
    applied: 0,
    resets: 0,
    failed: 0,
    lagSecondsSum: 0,
    lastLagSeconds: 0,
    droppedOnClose: 0,
  };

  constructor(options: ShardedEventPoolOptions) {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency <= 0) {
      throw new RangeError(`concurrency: expected a positive integer, got ${String(concurrency)}`);
    }
    this.#applier = options.applier;
    this.#logger = options.logger;
    this.#onApplied = options.onApplied;
    this.#now = options.now ?? Date.now;
    this.#queues = Array.from({ length: concurrency }, () => new Fifo<Work>());
    this.#running = new Array<boolean>(concurrency).fill(false);
  }

  /** Number of shards. */
  get concurrency(): number {
    return this.#queues.length;
  }

  /** Items queued or being applied, over all shards. */
  get depth(): number {
    return this.#pending;
  }

  /** Items queued per shard (not counting the one each worker is applying). */
  shardDepths(): number[] {
    return this.#queues.map((q) => q.length);
  }

  /** The shard a publisher's work goes to. */
  shardOf(publisher: string): number {
    return fnv1a32(publisher) % this.#queues.length;
  }

  /** Queues a batch behind the publisher's earlier work. Ignored after close(). */
  push(task: KvEventTask): void {
    if (this.#closed) return;
    this.counters.enqueued++;
    this.#enqueue(task.publisher, { task, reset: null });
  }

  /** Queues a reset of the publisher's blocks behind its earlier work. Ignored after close(). */
  reset(publisher: string): void {
    if (this.#closed) return;
    this.#enqueue(publisher, { task: null, reset: publisher });
  }

  /** Resolves once every queued item has been applied (at once when nothing is queued). */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking work, drops what is queued, and waits for the items being applied. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const queue of this.#queues) {
      const dropped = queue.clear();
      this.counters.droppedOnClose += dropped;
      this.#pending -= dropped;
    }
    await Promise.all(this.#workers);
    this.#settle();
  }

  #enqueue(publisher: string, work: Work): void {
    const shard = this.shardOf(publisher);
    (this.#queues[shard] as Fifo<Work>).push(work);
    this.#pending++;
    if (!this.#running[shard]) {
      this.#running[shard] = true;
      const worker = this.#drain(shard);
      this.#workers.add(worker);
      void worker.finally(() => this.#workers.delete(worker));
    }
  }

  async #drain(shard: number): Promise<void> {
    const queue = this.#queues[shard] as Fifo<Work>;
    try {
      for (let work = queue.shift(); work !== undefined; work = queue.shift()) {
        await this.#run(work);
        this.#pending--;
        this.#settle();
      }
    } finally {
      this.#running[shard] = false;
    }
  }

  async #run(work: Work): Promise<void> {
    try {
      if (work.task === null) {
        await this.#applier.clearPod(work.reset);
        this.counters.resets++;
        return;
      }
      const { task } = work;
      await this.#applier.apply(task.publisher, task.model, task.batch);
      const lag = Math.max(0, this.#now() / 1000 - task.batch.ts);
      this.counters.applied++;
      this.counters.lagSecondsSum += lag;
      this.counters.lastLagSeconds = lag;
      this.#onApplied?.(task, lag);
    } catch (err) {
      this.counters.failed++;
      const publisher = work.task === null ? work.reset : work.task.publisher;
      this.#logger.error({ err, publisher }, 'applying KV events failed');
    }
  }

  #settle(): void {
    if (this.#pending !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
