// One behavioural suite for every KvBlockIndex backend, so the in-memory and Redis indexes stay
// interchangeable. Optional capabilities (a bound, a second client on the same store) add their
// tests only where the backend has them.
import { afterEach, describe, expect, it } from 'vitest';
import type { KvBlockIndex, PodEntry } from '../types.js';

/** What a backend offers beyond the contract, for the tests that need it. */
export interface ConformanceExtras {
  /** A fresh index that holds at most `maxBlocks` blocks and `maxPodsPerBlock` entries per block. */
  readonly createBounded?: (limits: { maxBlocks: number; maxPodsPerBlock: number }) => Promise<KvBlockIndex>;
  /** Another client over the same store as `first`, as a second indexer replica would have. */
  readonly connectPeer?: (first: KvBlockIndex) => Promise<KvBlockIndex>;
}

const A = '10.0.0.1:8000';
const B = '10.0.0.2:8000';
const C = '10.0.0.3:8000';
const gpu = (pod: string): PodEntry => ({ pod, tier: 'gpu' });
const cpu = (pod: string): PodEntry => ({ pod, tier: 'cpu' });
const guess = (pod: string): PodEntry => ({ pod, tier: 'gpu', speculative: true });

/** Rows with entries in a stable order and the speculative flag spelt out, as backends order entries differently. */
function normalised(rows: PodEntry[][]): string[][] {
  return rows.map((row) => row.map((e) => `${e.pod}/${e.tier}${e.speculative === true ? '?' : ''}`).sort());
}

/** Registers the conformance tests for one backend; `factory` returns a fresh, empty, ready index. */
export function describeKvBlockIndex(name: string, factory: () => Promise<KvBlockIndex>, extras: ConformanceExtras = {}): void {
  describe(`${name} (KvBlockIndex conformance)`, () => {
    const opened: KvBlockIndex[] = [];
    const open = async (make: () => Promise<KvBlockIndex>) => {
      const index = await make();
      opened.push(index);
      return index;
    };
    const fresh = () => open(factory);
    const rows = async (index: KvBlockIndex, keys: bigint[], pods?: ReadonlySet<string>) => normalised(await index.lookup(keys, pods));

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((index) => index.close()));
    });

    it('returns what was added, one row per key in key order', async () => {
      const index = await fresh();
      await index.add([11n, 12n, 13n], [1n, 2n, 3n], [gpu(A)]);
      await index.add([21n], [2n], [gpu(B)]);
      expect(await rows(index, [1n, 2n, 3n])).toEqual([[`${A}/gpu`], [`${A}/gpu`, `${B}/gpu`], [`${A}/gpu`]]);
      expect(await index.lookup([])).toEqual([]);
      expect(await index.stats()).toEqual({ blocks: 3, entries: 4 });
    });

    it('adding the same entry twice keeps one', async () => {
      const index = await fresh();
      await index.add([11n], [1n], [gpu(A)]);
      await index.add([11n], [1n], [gpu(A)]);
      expect(await rows(index, [1n])).toEqual([[`${A}/gpu`]]);
      expect(await index.stats()).toEqual({ blocks: 1, entries: 1 });
    });

    it.each<[string, bigint[], number]>([
      ['a miss at key 0 returns nothing', [9n, 1n, 2n], 0],
      ['a miss in the middle cuts the rows there', [1n, 2n, 9n, 3n], 2],
      ['every key held returns every row', [1n, 2n, 3n], 3],
      ['key 0n is never held', [1n, 0n, 2n], 1],
    ])('stops at the first key nobody holds: %s', async (_name, keys, count) => {
      const index = await fresh();
      await index.add(null, [1n, 2n, 3n], [gpu(A)]);
      expect(await index.lookup(keys)).toHaveLength(count);
    });

    it.each<[string, string[], string[][]]>([
      ['only B', [B], [[`${B}/gpu`], [`${B}/gpu`]]],
      ['only A, the longest', [A], [[`${A}/gpu`], [`${A}/gpu`], [`${A}/gpu`]]],
      ['A and B', [A, B], [[`${A}/gpu`, `${B}/gpu`], [`${A}/gpu`, `${B}/gpu`], [`${A}/gpu`]]],
      ['a pod holding nothing', [C], []],
      ['an empty set', [], []],
    ])('filters by pod and stops where the filtered pods stop: %s', async (_name, pods, expected) => {
      const index = await fresh();
      await index.add(null, [1n, 2n, 3n], [gpu(A)]);
      await index.add(null, [1n, 2n], [gpu(B)]);
      await index.add(null, [3n], [gpu(C)]);
      expect(await rows(index, [1n, 2n, 3n], new Set(pods))).toEqual(expected);
    });

    it('evicts by request key, dropping a block when its last entry goes', async () => {
      const index = await fresh();
      await index.add([11n, 12n, 13n], [1n, 2n, 3n], [gpu(A), gpu(B)]);
      await index.evict(2n, 'request', [gpu(A)]);
      expect(await rows(index, [1n, 2n, 3n])).toEqual([[`${A}/gpu`, `${B}/gpu`], [`${B}/gpu`], [`${A}/gpu`, `${B}/gpu`]]);
      await index.evict(2n, 'request', [gpu(B)]);
      expect(await rows(index, [1n, 2n, 3n])).toEqual([[`${A}/gpu`, `${B}/gpu`]]);
      expect(await index.stats()).toEqual({ blocks: 2, entries: 4 });
      await index.evict(99n, 'request', [gpu(A)]);
      await index.evict(1n, 'request', [gpu(C)]);
      expect(await index.stats()).toEqual({ blocks: 2, entries: 4 });
    });

    it('evicts by engine key and drops the mapping once its blocks are empty', async () => {
      const index = await fresh();
      await index.add([11n, 12n, 13n], [1n, 2n, 3n], [gpu(A), cpu(A)]);
      await index.evict(12n, 'engine', [gpu(A)]);
      expect(await rows(index, [1n, 2n, 3n])).toEqual([[`${A}/cpu`, `${A}/gpu`], [`${A}/cpu`], [`${A}/cpu`, `${A}/gpu`]]);
      // Another tier still holds block 2, so the engine key still resolves (upstream #561).
      expect(await index.getRequestKey(12n)).toBe(2n);
      await index.evict(12n, 'engine', [cpu(A)]);
      expect(await rows(index, [1n, 2n, 3n])).toEqual([[`${A}/cpu`, `${A}/gpu`]]);
      expect(await index.getRequestKey(12n)).toBeNull();
      expect(await index.getRequestKey(11n)).toBe(1n);
      await index.evict(77n, 'engine', [gpu(A)]);
      expect(await index.stats()).toEqual({ blocks: 2, entries: 4 });
    });

    it.each<[string, bigint[], bigint[], [bigint, bigint][]]>([
      ['1:1', [11n, 12n, 13n], [1n, 2n, 3n], [[11n, 1n], [12n, 2n], [13n, 3n]]],
      ['many:1 (engine blocks 4× smaller)', [11n, 12n, 13n, 14n], [1n], [[11n, 1n], [12n, 1n], [13n, 1n], [14n, 1n]]],
      ['1:many, the last request key wins', [11n], [1n, 2n, 3n, 4n], [[11n, 4n]]],
      ['1:2', [11n, 12n], [1n, 2n, 3n, 4n], [[11n, 2n], [12n, 4n]]],
      ['3:2', [11n, 12n, 13n], [1n, 2n], [[11n, 1n], [12n, 1n], [13n, 2n]]],
    ])('maps engine keys to request keys %s', async (_name, engineKeys, requestKeys, expected) => {
      const index = await fresh();
      await index.add(engineKeys, requestKeys, [gpu(A)]);
      for (const [engineKey, requestKey] of expected) expect(await index.getRequestKey(engineKey)).toBe(requestKey);
    });

    it('evicting a 1:many engine key empties all of its blocks', async () => {
      const index = await fresh();
      await index.add([11n, 12n], [1n, 2n, 3n, 4n], [gpu(A)]);
      await index.evict(11n, 'engine', [gpu(A)]);
      expect(await index.lookup([1n])).toEqual([]);
      expect(await rows(index, [3n, 4n])).toEqual([[`${A}/gpu`], [`${A}/gpu`]]);
      expect(await index.getRequestKey(11n)).toBeNull();
      expect(await index.stats()).toEqual({ blocks: 2, entries: 2 });
    });

    it('evicting one of many engine keys of a block empties the block', async () => {
      const index = await fresh();
      await index.add([11n, 12n, 13n, 14n], [1n], [gpu(A)]);
      await index.evict(13n, 'engine', [gpu(A)]);
      expect(await index.lookup([1n])).toEqual([]);
      expect(await index.getRequestKey(13n)).toBeNull();
    });

    it('getRequestKey returns the last request key mapped; mapping a known one again keeps its place', async () => {
      const index = await fresh();
      expect(await index.getRequestKey(11n)).toBeNull();
      await index.add([11n], [1n], [gpu(A)]);
      await index.add([11n], [2n], [gpu(A)]);
      expect(await index.getRequestKey(11n)).toBe(2n);
      await index.add([11n], [1n], [cpu(A)]);
      expect(await index.getRequestKey(11n)).toBe(2n);
      expect(await index.getRequestKey(0n)).toBeNull();
    });

    it('speculative adds map no engine key', async () => {
      const index = await fresh();
      await index.add(null, [1n], [guess(A)]);
      expect(await index.getRequestKey(1n)).toBeNull();
      expect(await rows(index, [1n])).toEqual([[`${A}/gpu?`]]);
    });

    it('clears one endpoint everywhere and leaves the others', async () => {
      const index = await fresh();
      await index.add([11n, 12n, 13n], [1n, 2n, 3n], [gpu(A), cpu(A), gpu(B)]);
      await index.add(null, [4n], [guess(A)]);
      await index.clear(A);
      expect(await rows(index, [1n, 2n, 3n, 4n])).toEqual([[`${B}/gpu`], [`${B}/gpu`], [`${B}/gpu`]]);
      expect(await index.stats()).toEqual({ blocks: 3, entries: 3 });
      await index.clear(C);
      await index.add([11n], [1n], [gpu(A)]);
      expect(await rows(index, [1n])).toEqual([[`${A}/gpu`, `${B}/gpu`]]);
      await index.clear(B);
      expect(await rows(index, [1n, 2n])).toEqual([[`${A}/gpu`]]);
      expect(await index.stats()).toEqual({ blocks: 1, entries: 1 });
    });

    it('a confirmed add replaces a speculative entry; a guess never downgrades a confirmed one', async () => {
      const index = await fresh();
      await index.add(null, [1n, 2n], [guess(A)]);
      await index.add([11n], [1n], [gpu(A)]);
      expect(await rows(index, [1n, 2n])).toEqual([[`${A}/gpu`], [`${A}/gpu?`]]);
      expect(await index.stats()).toEqual({ blocks: 2, entries: 2 });
      await index.add(null, [1n], [guess(A)]);
      expect(await rows(index, [1n])).toEqual([[`${A}/gpu`]]);
    });

    it('evicting a guess removes only a guess; evicting a confirmed entry removes either', async () => {
      const index = await fresh();
      await index.add([11n], [1n], [gpu(A)]);
      await index.add(null, [2n, 3n], [guess(A)]);
      await index.evict(1n, 'request', [guess(A)]);
      await index.evict(2n, 'request', [guess(A)]);
      await index.evict(3n, 'request', [gpu(A)]);
      expect(await rows(index, [1n])).toEqual([[`${A}/gpu`]]);
      expect(await index.lookup([2n])).toEqual([]);
      expect(await index.lookup([3n])).toEqual([]);
      expect(await index.stats()).toEqual({ blocks: 1, entries: 1 });
    });

    it('keeps tiers apart: one entry per (pod, tier)', async () => {
      const index = await fresh();
      await index.add([11n], [1n], [gpu(A)]);
      await index.add([11n], [1n], [cpu(A)]);
      await index.add([11n], [1n], [{ pod: A, tier: 'disk' }]);
      expect(await rows(index, [1n])).toEqual([[`${A}/cpu`, `${A}/disk`, `${A}/gpu`]]);
      await index.evict(1n, 'request', [cpu(A)]);
      expect(await rows(index, [1n])).toEqual([[`${A}/disk`, `${A}/gpu`]]);
    });

    it('rejects keys that are not uint64 block keys', async () => {
      const index = await fresh();
      await expect(index.add(null, [0n], [gpu(A)])).rejects.toThrow(RangeError);
      await expect(index.add(null, [1n << 64n], [gpu(A)])).rejects.toThrow(RangeError);
      await expect(index.add([-1n], [1n], [gpu(A)])).rejects.toThrow(RangeError);
      expect(await index.stats()).toEqual({ blocks: 0, entries: 0 });
    });

    it('handles the full uint64 range', async () => {
      const index = await fresh();
      const top = (1n << 64n) - 1n;
      await index.add([top], [top, 1n << 63n], [gpu(A)]);
      expect(await index.lookup([top, 1n << 63n])).toHaveLength(2);
      expect(await index.getRequestKey(top)).toBe(1n << 63n);
      expect(await index.lookup([top - (1n << 32n)])).toEqual([]);
    });

    const { createBounded, connectPeer } = extras;
    if (createBounded) {
      it('drops the least recently used block when full; lookups and adds use a block', async () => {
        const index = await open(() => createBounded({ maxBlocks: 3, maxPodsPerBlock: 10 }));
        await index.add(null, [1n, 2n, 3n], [gpu(A)]);
        expect(await index.lookup([1n])).toHaveLength(1);
        await index.add(null, [4n], [gpu(A)]);
        expect(await index.lookup([2n])).toEqual([]);
        await index.add(null, [3n], [gpu(B)]);
        await index.add(null, [5n], [gpu(A)]);
        expect(await index.lookup([1n])).toEqual([]);
        expect(await rows(index, [3n, 4n, 5n])).toEqual([[`${A}/gpu`, `${B}/gpu`], [`${A}/gpu`], [`${A}/gpu`]]);
        expect(await index.stats()).toEqual({ blocks: 3, entries: 4 });
      });

      it('keeps the most recently added entries of a block', async () => {
        const index = await open(() => createBounded({ maxBlocks: 10, maxPodsPerBlock: 2 }));
        await index.add(null, [1n], [gpu(A)]);
        await index.add(null, [1n], [gpu(B)]);
        await index.add(null, [1n], [gpu(A)]);
        await index.add(null, [1n], [gpu(C)]);
        expect(await rows(index, [1n])).toEqual([[`${A}/gpu`, `${C}/gpu`]]);
        expect(await index.stats()).toEqual({ blocks: 1, entries: 2 });
      });
    }

    if (connectPeer) {
      it('two clients of one store see each other’s writes', async () => {
        const first = await fresh();
        const second = await open(() => connectPeer(first));
        await first.add([11n, 12n], [1n, 2n], [gpu(A)]);
        await second.add([13n], [3n], [gpu(B)]);
        expect(await rows(second, [1n, 2n])).toEqual([[`${A}/gpu`], [`${A}/gpu`]]);
        expect(await second.getRequestKey(12n)).toBe(2n);
        await second.evict(12n, 'engine', [gpu(A)]);
        expect(await first.lookup([1n, 2n])).toHaveLength(1);
        expect(await first.getRequestKey(12n)).toBeNull();
        await first.clear(B);
        expect(await second.lookup([3n])).toEqual([]);
        expect(await second.stats()).toEqual({ blocks: 1, entries: 1 });
      });
    }
  });
}
