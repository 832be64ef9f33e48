import { xxh64 } from '@llmd/kv-cache';
import type { Endpoint, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import { ByteScratch } from '../approx-prefix-cache-producer/hashing.js';
import { context, endpoint, handle, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import { PrefixCacheScorerV1, matchInfoScore, prefixCacheScorer, prefixCacheScorerParameters } from './plugin.js';
import { hashPromptV1 } from './v1-hashing.js';

const create = (params: unknown): Scorer => prefixCacheScorer.create('prefix', prefixCacheScorer.parameters.parse(params), handle()) as Scorer;

describe('prefix-cache-scorer parameters', () => {
  it.each([
    // GIE v1.0 / HEAD default config: no parameters → HEAD form.
    ['no parameters', undefined, { mode: 'match-info', matchLengthWeight: 0, matchLengthScaleTokens: 8192 }],
    ['HEAD length weighting', { matchLengthWeight: 0.8, matchLengthScaleTokens: 16000 }, { mode: 'match-info', matchLengthWeight: 0.8 }],
    // GIE v1.0 documented parameters → self-contained v1.0 form.
    [
      'v1.0 parameters',
      { hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250 },
      { mode: 'v1', hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250 },
    ],
    ['one v1.0 parameter, the rest defaulted', { hashBlockSize: 32 }, { mode: 'v1', hashBlockSize: 32, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250 }],
    ['v1.0 capacity ≤ 0 falls back to the default', { lruCapacityPerServer: 0 }, { mode: 'v1', lruCapacityPerServer: 31250 }],
  ])('%s', (_name, params, expected) => {
    expect(prefixCacheScorerParameters.parse(params)).toMatchObject(expected);
  });

  it.each([
    ['mixed forms', { hashBlockSize: 64, matchLengthWeight: 0.5 }],
    ['a weight above 1', { matchLengthWeight: 1.1 }],
    ['a zero scale with a weight', { matchLengthWeight: 0.5, matchLengthScaleTokens: 0 }],
    ['an unknown key', { prefixLengthWeight: 0.5 }],
    ['a zero block size', { hashBlockSize: 0 }],
  ])('rejects %s', (_name, params) => {
    expect(prefixCacheScorerParameters.safeParse(params).success).toBe(false);
  });

  it('requires the approximate producer (auto-created by the loader)', () => {
    expect(prefixCacheScorer.requires).toEqual(['approx-prefix-cache-producer']);
  });
});

describe('prefix-cache-scorer, HEAD form', () => {
  it.each([
    // [matchBlocks, totalBlocks, blockSize, weight, scale, score]
    [5, 10, 1, 0, 8192, 0.5],
    [2, 10, 1, 0, 8192, 0.2],
    [0, 0, 64, 0, 8192, 0],
    // Length term: min(1, m·b/s)² weighted against the ratio (upstream's test values).
    [5, 10, 1, 0.5, 100, 0.25125],
    [50, 100, 1, 0.5, 100, 0.375],
    [10, 10, 64, 1, 320, 1],
  ])('match %i of %i blocks of %i, weight %f, scale %i → %f', (m, t, b, w, s, expected) => {
    expect(matchInfoScore({ matchBlocks: m, totalBlocks: t, blockSize: b }, w, s)).toBeCloseTo(expected, 9);
  });

  it('reads the producer’s attribute and scores 0 where it is missing', () => {
    const scorer = create(undefined);
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 3, totalBlocks: 4, blockSize: 64 });
    expect(Array.from(scorer.score(ctx, request(), [a, b]))).toEqual([0.75, 0]);
    expect(scorer.category).toBe('affinity');
    expect('preRequest' in scorer).toBe(false);
  });

  it('reads a named producer’s attribute when told to', () => {
    const scorer = create({ prefixMatchInfoProducerName: 'precise' });
    const a = endpoint();
    const ctx = context();
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 1, totalBlocks: 1, blockSize: 64 });
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey('precise'), { matchBlocks: 1, totalBlocks: 4, blockSize: 64 });
    expect(Array.from(scorer.score(ctx, request(), [a]))).toEqual([0.25]);
  });
});

/** Reference v1.0 hashes written out plainly with the BigInt XXH64, including Go's in-place append. */
function referenceV1(text: string, model: string, bs: number, maxBlocks: number): bigint[] {
  const enc = new TextEncoder();
  const prompt = enc.encode(text); // capacity = length, like a fresh []byte(string) conversion
  if (prompt.length < bs) return [];
  const length = Math.min(prompt.length, bs * maxBlocks);
  const out: bigint[] = [];
  const le64 = (h: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, h, true);
    return b;
  };
  const model0 = new Uint8Array([...enc.encode(model), ...prompt.subarray(0, bs)]);
  out.push(xxh64(model0));
  for (let i = bs; i + bs <= length; i += bs) {
    const prev = out[out.length - 1] as bigint;
    if (i + bs + 8 <= prompt.length) {
      prompt.set(le64(prev), i + bs);
      out.push(xxh64(prompt.subarray(i, i + bs + 8)));
    } else {
      out.push(xxh64(new Uint8Array([...prompt.subarray(i, i + bs), ...le64(prev)])));
    }
  }
  return out;
}

function v1Hashes(text: string, model: string, bs: number, maxBlocks: number): bigint[] {
  const h = hashPromptV1(text, model, bs, maxBlocks, new ByteScratch());
  return Array.from({ length: h.length / 2 }, (_, i) => (BigInt(h[2 * i + 1] as number) << 32n) | BigInt(h[2 * i] as number));
}

const chars = (n: number, seed = 0): string => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 5 + seed) % 26))).join('');

describe('v1.0 hashing', () => {
  it.each([
    ['shorter than a block', 63, 0],
    ['exactly one block', 64, 1],
    ['a partial last block is dropped', 64 * 3 + 20, 3],
    ['truncated to maxPrefixBlocksToMatch', 64 * 300, 256],
  ])('%s (%i chars → %i hashes)', (_name, n, count) => {
    const text = chars(n);
    const hashes = v1Hashes(text, 'm', 64, 256);
    expect(hashes).toHaveLength(count);
    expect(hashes).toEqual(referenceV1(text, 'm', 64, 256));
  });

  it('mixes the model into the first block and so into every block', () => {
    const text = chars(64 * 4);
    const [a, b] = [v1Hashes(text, 'm1', 64, 256), v1Hashes(text, 'm2', 64, 256)];
    a.forEach((h, i) => expect(h).not.toBe(b[i]));
  });

  it('reproduces Go’s append overwrite: bytes 0–7 of block 2 do not change the hashes', () => {
    const base = chars(64 * 4);
    const changedInOverwrite = base.slice(0, 128) + 'ZZZZZZZZ' + base.slice(136);
    const changedAfter = base.slice(0, 136) + 'Z' + base.slice(137);
    expect(v1Hashes(changedInOverwrite, 'm', 64, 256)).toEqual(v1Hashes(base, 'm', 64, 256));
    expect(v1Hashes(changedAfter, 'm', 64, 256)[2]).not.toBe(v1Hashes(base, 'm', 64, 256)[2]);
  });

  it('counts UTF-8 bytes as characters', () => {
    expect(v1Hashes('é'.repeat(32), 'm', 64, 256)).toHaveLength(1);
    expect(v1Hashes('é'.repeat(32), 'm', 64, 256)).toEqual(referenceV1('é'.repeat(32), 'm', 64, 256));
  });
});

describe('prefix-cache-scorer, v1.0 form', () => {
  const v1 = () => create({ hashBlockSize: 64 }) as PrefixCacheScorerV1;

  it('scores count / numHashes, indexes the primary target in PreRequest, and then matches fully', () => {
    const scorer = v1();
    expect(scorer).toBeInstanceOf(PrefixCacheScorerV1);
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const prompt = chars(64 * 4);
    const ctx = context();
    const first = request({ prompt, model: 'm' });
    expect(Array.from(scorer.score(ctx, first, [a, b]))).toEqual([0, 0]);
    expect(scorer.cycleMatch(ctx, first)).toEqual({ count: 4, matched: new Map([[a.metadata.id, 0], [b.metadata.id, 0]]) });
    expect(scorer.cycleMatch(ctx, request({ prompt, model: 'm' }))).toBeUndefined();
    scorer.preRequest(ctx, first, schedulingResult({ decode: [a], prefill: [b] }, 'decode'), recordedHeaders());
    expect([scorer.indexedBlocks(a.metadata.id), scorer.indexedBlocks(b.metadata.id)]).toEqual([4, 0]);
    expect(Array.from(scorer.score(context(), request({ prompt, model: 'm' }), [a, b]))).toEqual([1, 0]);
    expect(Array.from(scorer.score(context(), request({ prompt: prompt.slice(0, 128) + chars(128, 9), model: 'm' }), [a, b]))).toEqual([0.5, 0]);
  });

  it('counts hits inside the longest run any endpoint holds, not each endpoint’s own prefix', () => {
    // Capacity 2: A is sent blocks 0–2 and keeps 1 and 2; B is sent block 0 alone.
    const scorer = create({ lruCapacityPerServer: 2 }) as PrefixCacheScorerV1;
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const prompt = chars(64 * 4, 3);
    for (const [text, target] of [
      [prompt.slice(0, 64 * 3), a],
      [prompt.slice(0, 64), b],
    ] as const) {
      const ctx = context();
      const req = request({ prompt: text, model: 'm' });
      scorer.score(ctx, req, [a, b]);
      scorer.preRequest(ctx, req, schedulingResult({ default: [target] }), recordedHeaders());
    }
    // Block 0 is B's, blocks 1–2 are A's, block 3 nobody's: A scores 2/4 without holding block 0.
    expect(Array.from(scorer.score(context(), request({ prompt, model: 'm' }), [a, b]))).toEqual([0.5, 0.25]);
  });

  it('scores 0 everywhere for a prompt shorter than a block', () => {
    const scorer = v1();
    expect(Array.from(scorer.score(context(), request({ prompt: 'short', model: 'm' }), [endpoint()]))).toEqual([0]);
  });

  it('hashes once when several profiles score the same request', () => {
    const scorer = v1();
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const ctx = context();
    const req = request({ prompt: chars(200), model: 'm' });
    scorer.score(ctx, req, [a]);
    const state = ctx.cycle.read<{ halves: Uint32Array }>('prefix');
    scorer.score(ctx, req, [b]);
    expect(ctx.cycle.read<{ halves: Uint32Array }>('prefix')?.halves).toBe(state?.halves);
  });
});

describe('prefix-cache-scorer requirements', () => {
  it.each([
    ['no parameters', undefined, ['approx-prefix-cache-producer']],
    ['a named producer', { prefixMatchInfoProducerName: 'precise-prefix-cache-producer' }, []],
    ['the v1.0 form', { hashBlockSize: 64 }, []],
  ])('with %s needs %j', (_label, raw, expected) => {
    expect(prefixCacheScorer.requiresFor?.(prefixCacheScorer.parameters.parse(raw))).toEqual(expected);
  });
});
