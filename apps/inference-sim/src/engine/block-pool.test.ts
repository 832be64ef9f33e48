import { describe, expect, it } from 'vitest';
import { BlockPool } from './block-pool.js';
import { RecordingSink } from './test-support/fakes.js';

function pool(numBlocks: number) {
  const sink = new RecordingSink();
  return { sink, pool: new BlockPool(numBlocks, sink) };
}

describe('BlockPool', () => {
  it('keeps the null block out and counts usage over the usable blocks', () => {
    const { pool: p } = pool(5);
    expect(p.numFree).toBe(4);
    expect(p.freeOrder()).toEqual([1, 2, 3, 4]);
    expect(p.usage()).toBe(0);
    const got: number[] = [];
    p.allocate(3, got);
    expect(got).toEqual([1, 2, 3]);
    expect(p.usage()).toBe(0.75);
  });

  it('frees a request’s blocks tail first so its tail is evicted first', () => {
    const { pool: p } = pool(6);
    const a: number[] = [];
    p.allocate(3, a); // [1, 2, 3]
    p.free(a);
    expect(p.freeOrder()).toEqual([4, 5, 3, 2, 1]);
  });

  it('keeps hashes of freed blocks until reuse, then evicts them with one BlockRemoved', () => {
    const { pool: p, sink } = pool(4);
    const a: number[] = [];
    p.allocate(3, a);
    a.forEach((id, i) => expect(p.register(id, `k${i}`, BigInt(100 + i))).toBe(true));
    p.free(a); // queue: 3, 2, 1
    expect(p.usage()).toBe(0); // idle cached blocks count as free
    expect(p.lookup('k2')).toBe(3);
    const b: number[] = [];
    p.allocate(2, b);
    expect(b).toEqual([3, 2]);
    expect(sink.events).toEqual([{ type: 'removed', blockHashes: [102n, 101n] }]);
    expect(p.lookup('k2')).toBeUndefined();
    expect(p.lookup('k0')).toBe(1);
    expect(p.numCached).toBe(1);
  });

  it('touch takes idle hits out of the free queue and shares blocks by reference count', () => {
    const { pool: p } = pool(5);
    const a: number[] = [];
    p.allocate(2, a);
    p.register(a[0] as number, 'x', 1n);
    p.free(a); // queue: 3, 4, 2, 1
    expect(p.countIdle([1], 1)).toBe(1);
    const b: number[] = [];
    p.touch([1], 1, b);
    expect(b).toEqual([1]);
    expect(p.isFree(1)).toBe(false);
    expect(p.freeOrder()).toEqual([3, 4, 2]);
    const c: number[] = [];
    p.touch([1], 1, c);
    expect(p.refCount(1)).toBe(2);
    expect(p.countIdle([1], 1)).toBe(0);
    p.free(b);
    expect(p.isFree(1)).toBe(false);
    p.free(c);
    expect(p.freeOrder()).toEqual([3, 4, 2, 1]);
  });

  it('refuses a second block for a key and a double free', () => {
    const { pool: p } = pool(4);
    const a: number[] = [];
    p.allocate(2, a);
    expect(p.register(1, 'same', 1n)).toBe(true);
    expect(p.register(2, 'same', 1n)).toBe(false);
    expect(p.lookup('same')).toBe(1);
    p.free([2]);
    expect(() => p.free([2])).toThrow(/not in use/);
  });

  it('resetCache forgets every entry, idle or in use, and publishes AllBlocksCleared', () => {
    const { pool: p, sink } = pool(4);
    const a: number[] = [];
    p.allocate(2, a);
    p.register(1, 'a', 1n);
    p.register(2, 'b', 2n);
    p.free([2]);
    expect(p.resetCache()).toBe(2);
    expect(p.lookup('a')).toBeUndefined();
    expect(p.numCached).toBe(0);
    expect(sink.events).toEqual([{ type: 'cleared' }]);
    // Reusing a block whose entry was dropped publishes nothing.
    const b: number[] = [];
    p.allocate(2, b);
    expect(sink.events).toHaveLength(1);
  });
});
