import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test-support/fixtures.js';
import { PrefixIndex } from './prefix-index.js';

/** Hash halves for small integer "hashes": low = n, high = a fixed tag (so probing is exercised). */
function blocks(...ns: number[]): Uint32Array {
  const out = new Uint32Array(2 * ns.length);
  ns.forEach((n, i) => {
    out[2 * i] = n;
    out[2 * i + 1] = 0xabcd;
  });
  return out;
}

function add(index: PrefixIndex, endpoint: string, ns: number[], capacity = 100): void {
  index.add(blocks(...ns), ns.length, endpoint, capacity, 0);
}

const holds = (index: PrefixIndex, endpoint: string, n: number): boolean => index.holds(endpoint, n, 0xabcd);

describe('PrefixIndex.matchCounts', () => {
  it.each([
    // [what A holds, what B holds, query, [A, B]]
    [[1, 2, 3], [1], [1, 2, 3, 4], [3, 1]],
    // The walk stops at the first block nobody holds, even if later blocks are held.
    [[1, 2, 4], [1], [1, 2, 3, 4], [2, 1]],
    [[2, 3], [2, 3], [1, 2, 3], [0, 0]],
    // v1.0/HEAD quirk: a count is the endpoint's hits inside the run any endpoint holds, not its own prefix.
    [[1, 3], [1, 2], [1, 2, 3], [2, 2]],
  ])('A holds %j, B holds %j, query %j → %j', (a, b, query, expected) => {
    const index = new PrefixIndex();
    add(index, 'A', a);
    add(index, 'B', b);
    expect(index.matchCounts(blocks(...query), [query.length], ['A', 'B', 'unknown'])).toEqual([...expected, 0]);
  });

  it('sums over runs, each walked from its own start', () => {
    const index = new PrefixIndex();
    add(index, 'A', [1, 2, 7]);
    // Run 1 = [1, 2, 3] matches 2; run 2 = [9, 7] stops at once.
    expect(index.matchCounts(blocks(1, 2, 3, 9, 7), [3, 5], ['A'])).toEqual([2]);
    expect(index.matchCounts(blocks(1, 2, 3, 7), [3, 4], ['A'])).toEqual([3]);
  });
});

describe('PrefixIndex LRU', () => {
  it('evicts each endpoint’s least recently added blocks beyond its capacity, independently', () => {
    const index = new PrefixIndex();
    add(index, 'A', [1, 2, 3, 4, 5], 3);
    add(index, 'B', [1, 2], 3);
    expect([1, 2, 3, 4, 5].map((n) => holds(index, 'A', n))).toEqual([false, false, true, true, true]);
    expect([1, 2].map((n) => holds(index, 'B', n))).toEqual([true, true]);
    expect(index.blockCount('A')).toBe(3);
    expect(index.stats()).toMatchObject({ entries: 5, distinctHashes: 5 });
  });

  it('refreshes a block added again, so the next eviction takes the next oldest', () => {
    const index = new PrefixIndex();
    add(index, 'A', [1, 2, 3], 3);
    add(index, 'A', [1], 3);
    add(index, 'A', [4], 3);
    expect([1, 2, 3, 4].map((n) => holds(index, 'A', n))).toEqual([true, false, true, true]);
  });

  it('follows a changed capacity on the next add', () => {
    const index = new PrefixIndex();
    add(index, 'A', [1, 2, 3, 4], 10);
    add(index, 'A', [5], 2);
    expect(index.blockCount('A')).toBe(2);
    expect(holds(index, 'A', 5) && holds(index, 'A', 4)).toBe(true);
  });

  it('removes an endpoint with all its blocks and reuses its slot', () => {
    const index = new PrefixIndex();
    add(index, 'A', [1, 2, 3]);
    add(index, 'B', [3, 4]);
    index.removeEndpoint('A');
    expect(index.stats()).toMatchObject({ endpoints: 1, entries: 2, distinctHashes: 2 });
    expect(index.matchCounts(blocks(1), [1], ['A'])).toEqual([0]);
    add(index, 'C', [1]);
    expect(index.matchCounts(blocks(1), [1], ['A', 'C'])).toEqual([0, 1]);
    expect(index.endpointIds().sort()).toEqual(['B', 'C']);
  });

  it('drops endpoints not seen since a cutoff', () => {
    const index = new PrefixIndex();
    index.add(blocks(1), 1, 'old', 10, 0);
    index.add(blocks(1), 1, 'touched', 10, 0);
    index.add(blocks(1), 1, 'recent', 10, 150);
    index.touch('touched', 200);
    expect(index.removeNotSeenSince(100)).toEqual(['old']);
    expect(index.endpointIds().sort()).toEqual(['recent', 'touched']);
  });
});

describe('PrefixIndex against a plain model', () => {
  it('agrees with Map-and-array LRUs over random adds and removals', () => {
    // Many hashes that collide in the table's low bits and several growths of every array.
    const random = seededRandom(42);
    const index = new PrefixIndex();
    const model = new Map<string, number[]>(); // endpoint → blocks, least recent first
    const endpoints = ['a', 'b', 'c', 'd', 'e'];
    const capacity = 300;
    for (let op = 0; op < 1500; op++) {
      const e = endpoints[Math.floor(random() * endpoints.length)] as string;
      if (random() < 0.02) {
        index.removeEndpoint(e);
        model.delete(e);
        continue;
      }
      const start = Math.floor(random() * 2000);
      const ns = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => (start + i * 1024) >>> 0);
      add(index, e, ns, capacity);
      const lru = model.get(e) ?? [];
      for (const n of ns) {
        const at = lru.indexOf(n);
        if (at >= 0) lru.splice(at, 1);
        lru.push(n);
        if (lru.length > capacity) lru.shift();
      }
      model.set(e, lru);
    }
    let entries = 0;
    const distinct = new Set<number>();
    for (const e of endpoints) {
      const lru = model.get(e) ?? [];
      entries += lru.length;
      for (const n of lru) distinct.add(n);
      expect(index.blockCount(e)).toBe(lru.length);
      for (const n of lru) expect(holds(index, e, n)).toBe(true);
    }
    expect(index.stats()).toMatchObject({ entries, distinctHashes: distinct.size });
    // Every block some endpoint held once but no longer holds is gone from the table.
    for (let n = 0; n < 4000; n += 7) {
      const query = blocks(n);
      const expected = endpoints.map((e) => ((model.get(e) ?? []).includes(n) ? 1 : 0));
      expect(index.matchCounts(query, [1], endpoints)).toEqual(expected);
    }
  });
});
