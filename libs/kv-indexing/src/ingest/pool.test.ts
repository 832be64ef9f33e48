import type { KvEventBatch } from '@llmd/kv-cache';
import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { ShardedEventPool, fnv1a32 } from './pool.js';
import type { KvBatchApplier, KvEventTask } from './pool.js';

const logger = silentLogger();

function task(publisher: string, seq: number, ts = 100): KvEventTask {
  return { publisher, model: 'm', seq: BigInt(seq), batch: { ts, events: [], dataParallelRank: null }, replayed: false };
}

/** An applier whose calls finish only when the test releases them, recording start and end order. */
class GatedApplier implements KvBatchApplier {
  readonly log: string[] = [];
  readonly #gates = new Map<string, () => void>();
  readonly #started = new Map<string, () => void>();

  apply(pod: string, _model: string, batch: KvEventBatch): Promise<void> {
    return this.#step(`${pod}@${batch.ts}`);
  }

  clearPod(pod: string): Promise<void> {
    return this.#step(`${pod}!reset`);
  }

  /** Resolves when the call named `name` has started. */
  started(name: string): Promise<void> {
    if (this.log.includes(`start ${name}`)) return Promise.resolve();
    return new Promise((resolve) => this.#started.set(name, resolve));
  }

  /** Lets the call named `name` finish. */
  release(name: string): void {
    const open = this.#gates.get(name);
    if (open === undefined) throw new Error(`${name} has not started`);
    open();
  }

  #step(name: string): Promise<void> {
    this.log.push(`start ${name}`);
    this.#started.get(name)?.();
    return new Promise((resolve) =>
      this.#gates.set(name, () => {
        this.log.push(`end ${name}`);
        resolve();
      }),
    );
  }
}

describe('fnv1a32', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('hashes %j like Go hash/fnv New32a', (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });
});

describe('ShardedEventPool', () => {
  // Two publishers on different shards of a 4-shard pool.
  const a = '10.0.0.1:8000';
  const b = ['10.0.0.2:8000', '10.0.0.3:8000', '10.0.0.4:8000', '10.0.0.5:8000'].find(
    (p) => fnv1a32(p) % 4 !== fnv1a32(a) % 4,
  ) as string;

  it('applies one publisher in order, one at a time, and other shards meanwhile', async () => {
    const applier = new GatedApplier();
    const pool = new ShardedEventPool({ applier, logger });
    expect(pool.shardOf(a)).not.toBe(pool.shardOf(b));

    pool.push(task(a, 0, 1));
    pool.push(task(a, 1, 2));
    pool.reset(a);
    pool.push(task(b, 0, 1));
    await applier.started(`${a}@1`);
    await applier.started(`${b}@1`);
    // a's second batch waits for its first; b's runs alongside a's first.
    expect(applier.log).toEqual([`start ${a}@1`, `start ${b}@1`]);
    expect(pool.depth).toBe(4);
    expect(pool.shardDepths()[pool.shardOf(a)]).toBe(2);

    applier.release(`${b}@1`);
    applier.release(`${a}@1`);
    await applier.started(`${a}@2`);
    applier.release(`${a}@2`);
    await applier.started(`${a}!reset`);
    applier.release(`${a}!reset`);
    await pool.idle();

    expect(applier.log.filter((line) => line.includes(a))).toEqual([
      `start ${a}@1`,
      `end ${a}@1`,
      `start ${a}@2`,
      `end ${a}@2`,
      `start ${a}!reset`,
      `end ${a}!reset`,
    ]);
    expect(pool.counters).toMatchObject({ enqueued: 3, applied: 3, resets: 1, failed: 0 });
    expect(pool.depth).toBe(0);
  });

  it('measures the lag from the batch timestamp to its application', async () => {
    const lags: number[] = [];
    const applier: KvBatchApplier = { apply: async () => undefined, clearPod: async () => undefined };
    const pool = new ShardedEventPool({ applier, logger, now: () => 102_500, onApplied: (_t, lag) => lags.push(lag) });
    pool.push(task(a, 0, 100));
    pool.push(task(a, 1, 102));
    await pool.idle();
    expect(lags).toEqual([2.5, 0.5]);
    expect(pool.counters.lagSecondsSum).toBe(3);
    expect(pool.counters.lastLagSeconds).toBe(0.5);
  });

  it('counts a failing batch and goes on with the next', async () => {
    let calls = 0;
    const applier: KvBatchApplier = {
      apply: async () => {
        if (calls++ === 0) throw new Error('boom');
      },
      clearPod: async () => undefined,
    };
    const pool = new ShardedEventPool({ applier, logger });
    pool.push(task(a, 0));
    pool.push(task(a, 1));
    await pool.idle();
    expect(pool.counters).toMatchObject({ applied: 1, failed: 1 });
  });

  it('drops queued work on close and ignores work after it', async () => {
    const applier = new GatedApplier();
    const pool = new ShardedEventPool({ applier, logger });
    pool.push(task(a, 0, 1));
    pool.push(task(a, 1, 2));
    await applier.started(`${a}@1`);
    const closed = pool.close();
    applier.release(`${a}@1`);
    await closed;
    pool.push(task(a, 2, 3));
    await pool.idle();
    expect(applier.log).toEqual([`start ${a}@1`, `end ${a}@1`]);
    expect(pool.counters).toMatchObject({ enqueued: 2, applied: 1, droppedOnClose: 1 });
  });

  it('rejects a non-positive concurrency', () => {
    const applier: KvBatchApplier = { apply: async () => undefined, clearPod: async () => undefined };
    expect(() => new ShardedEventPool({ applier, logger, concurrency: 0 })).toThrow(RangeError);
  });
});
