import type { Endpoint, PreRequestHook, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import { context, endpoint, handle, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import { ColdRequestLru, coldScores, noHitLruScorer } from './plugin.js';

const ids = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => endpoint({ id: `ns/e${i}` }));

describe('coldScores', () => {
  it.each([
    // [endpoints, LRU order (oldest first), scores]
    [1, [], [1]],
    [3, [], [1, 0.5, 0]],
    // e1 took a cold request: the never-used ones come first, then e1.
    [3, ['ns/e1'], [1, 0, 0.5]],
    // Oldest used first: e2 (pos 0) before e0 (pos 1); e1 never used.
    [3, ['ns/e2', 'ns/e0'], [0, 1, 0.5]],
    // LRU positions of endpoints that are not candidates still count, floored at 0.
    [2, ['ns/x', 'ns/y', 'ns/e0'], [0, 1]],
  ])('%i endpoints, LRU %j → %j', (n, order, expected) => {
    const lru = new ColdRequestLru(10);
    for (const id of order) lru.touch(id);
    expect(Array.from(coldScores(ids(n), lru.positions()))).toEqual(expected);
  });
});

describe('ColdRequestLru', () => {
  it('moves a touched endpoint to the newest end and evicts the oldest beyond its size', () => {
    const lru = new ColdRequestLru(2);
    lru.touch('a');
    lru.touch('b');
    lru.touch('a');
    lru.touch('c');
    expect([...lru.positions()]).toEqual([
      ['a', 0],
      ['c', 1],
    ]);
  });
});

describe('no-hit-lru-scorer', () => {
  const create = (params?: unknown) => noHitLruScorer.create('nohit', noHitLruScorer.parameters.parse(params), handle()) as Scorer & PreRequestHook;

  it('scores a warm request 0.5 everywhere and leaves the LRU alone', () => {
    const scorer = create();
    const [a, b] = ids(2) as [Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(b.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 1, totalBlocks: 4, blockSize: 64 });
    const req = request();
    expect(Array.from(scorer.score(ctx, req, [a, b]))).toEqual([0.5, 0.5]);
    scorer.preRequest(ctx, req, schedulingResult({ default: [a] }), recordedHeaders());
    expect(Array.from(scorer.score(context(), request(), [a, b]))).toEqual([1, 0]);
  });

  it('spreads cold requests: the target (and prefill target) become most recent', () => {
    const scorer = create();
    const [a, b, c] = ids(3) as [Endpoint, Endpoint, Endpoint];
    const ctx = context();
    const req = request();
    expect(Array.from(scorer.score(ctx, req, [a, b, c]))).toEqual([1, 0.5, 0]);
    scorer.preRequest(ctx, req, schedulingResult({ decode: [a], prefill: [b] }, 'decode'), recordedHeaders());
    // Never used: c first; then a (older), then b (newest).
    expect(Array.from(scorer.score(context(), request(), [a, b, c]))).toEqual([0.5, 0, 1]);
  });

  it.each([
    [undefined, 1024],
    [{ lruSize: 0 }, 1024],
    [{ lruSize: 5, prefixPluginType: 'ignored', prefixPluginName: 'ignored' }, 5],
  ])('resolves %j to LRU size %i', (params, size) => {
    expect(noHitLruScorer.parameters.parse(params).lruSize).toBe(size);
  });
});
