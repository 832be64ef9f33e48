import type { Endpoint, InferenceRequest, SchedulingContext } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, manualClock, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import {
  APPROX_PREFIX_CACHE_PRODUCER_TYPE,
  ApproxPrefixCacheProducer,
  approxPrefixCacheParameters,
  approxPrefixCacheProducer,
  measureIndexMemory,
  prefixCacheMatchInfoKey,
  type ApproxPrefixCacheParameters,
  type PrefixCacheMatchInfo,
} from './plugin.js';

function producer(params: unknown = undefined, spec: Parameters<typeof handle>[0] = {}): ApproxPrefixCacheProducer {
  const p = approxPrefixCacheProducer.create('approx', approxPrefixCacheProducer.parameters.parse(params), handle(spec));
  expect(p).toBeInstanceOf(ApproxPrefixCacheProducer);
  return p as ApproxPrefixCacheProducer;
}

const longPrompt = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + (i % 50))).join('');

function info(ctx: SchedulingContext, e: Endpoint, producerName?: string): PrefixCacheMatchInfo | undefined {
  return ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, prefixCacheMatchInfoKey(producerName));
}

/** One full cycle: produce on the candidates, then PreRequest with `chosen` (and a prefill target). */
function cycle(p: ApproxPrefixCacheProducer, req: InferenceRequest, candidates: Endpoint[], chosen?: Endpoint, prefill?: Endpoint): SchedulingContext {
  const ctx = context();
  p.produce(ctx, req, candidates);
  if (chosen) {
    const profiles: Record<string, Endpoint[]> = { decode: [chosen] };
    if (prefill) profiles.prefill = [prefill];
    p.preRequest(ctx, req, schedulingResult(profiles, 'decode'), recordedHeaders());
  }
  return ctx;
}

describe('approx-prefix-cache-producer parameters', () => {
  it('fills upstream defaults when none are given', () => {
    expect(approxPrefixCacheParameters.parse(undefined)).toEqual({
      autoTune: true,
      blockSizeTokens: 16,
      maxPrefixBlocksToMatch: 2048,
      maxPrefixTokensToMatch: 131072,
      lruCapacityPerServer: 31250,
    });
  });

  it.each([
    [{ blockSize: 32 }, 32],
    [{ blockSize: 32, blockSizeTokens: 128 }, 128],
  ])('maps the deprecated blockSize %j to blockSizeTokens %i', (params, expected) => {
    expect(approxPrefixCacheParameters.parse(params).blockSizeTokens).toBe(expected);
  });

  it.each([
    ['an unknown key', { maxTokensInFlightPenalty: 1 }],
    ['a negative token cap', { maxPrefixTokensToMatch: -1 }],
    ['no block size without autoTune', { autoTune: false, blockSizeTokens: 0 }],
    ['a fractional block size', { blockSizeTokens: 1.5 }],
  ])('rejects %s', (_name, params) => {
    expect(approxPrefixCacheParameters.safeParse(params).success).toBe(false);
  });
});

describe('ApproxPrefixCacheProducer sizing', () => {
  const p = (params: Partial<ApproxPrefixCacheParameters>) => producer(params);
  it.each([
    ['metrics under autoTune, floored at 64', {}, 16, 64],
    ['a larger metric under autoTune', {}, 128, 128],
    ['the parameter when metrics say nothing', { blockSizeTokens: 96 }, 0, 96],
    ['the parameter without autoTune', { autoTune: false, blockSizeTokens: 80 }, 128, 80],
  ])('takes the block size from %s', (_name, params, cacheBlockSize, expected) => {
    expect(p(params).blockSizeFor([endpoint({ metrics: { cacheBlockSize } })])).toBe(expected);
  });

  it.each([
    [{}, 64, 2048],
    [{ maxPrefixTokensToMatch: 40960 }, 64, 640],
    [{ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 10 }, 64, 10],
    [{ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 0 }, 64, Infinity],
  ])('caps %j at block size %i to %i blocks', (params, blockSize, expected) => {
    expect(p(params).maxBlocksFor(blockSize)).toBe(expected);
  });

  it.each([
    ['num_gpu_blocks under autoTune', {}, 500, 500],
    ['lruCapacityPerServer without metrics', { lruCapacityPerServer: 77 }, 0, 77],
    ['lruCapacityPerServer without autoTune', { autoTune: false, lruCapacityPerServer: 77 }, 500, 77],
    ['the default for a capacity ≤ 0', { lruCapacityPerServer: 0 }, 0, 31250],
  ])('sizes the LRU from %s', (_name, params, cacheNumBlocks, expected) => {
    expect(p(params).lruCapacityFor(endpoint({ metrics: { cacheNumBlocks } }))).toBe(expected);
  });
});

describe('ApproxPrefixCacheProducer', () => {
  const prompt = longPrompt(256 * 5); // 5 blocks of 64 pseudo-tokens

  it('matches nothing at first, then fully on the endpoint PreRequest indexed', () => {
    const p = producer();
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const first = cycle(p, request({ prompt, model: 'm' }), [a, b], a);
    expect(info(first, a)).toEqual({ matchBlocks: 0, totalBlocks: 5, blockSize: 64 });
    const second = cycle(p, request({ prompt, model: 'm' }), [a, b]);
    expect(info(second, a)).toEqual({ matchBlocks: 5, totalBlocks: 5, blockSize: 64 });
    expect(info(second, b)).toEqual({ matchBlocks: 0, totalBlocks: 5, blockSize: 64 });
    // Also under the producer's own key, for consumers that name it.
    expect(info(second, a, 'approx')).toEqual(info(second, a));
  });

  it('matches a shared prefix up to where the prompts diverge', () => {
    const p = producer();
    const a = endpoint();
    cycle(p, request({ prompt, model: 'm' }), [a], a);
    const ctx = cycle(p, request({ prompt: prompt.slice(0, 256 * 3) + 'z'.repeat(600), model: 'm' }), [a]);
    expect(info(ctx, a)).toEqual({ matchBlocks: 3, totalBlocks: 6, blockSize: 64 });
    const otherModel = cycle(p, request({ prompt, model: 'other' }), [a]);
    expect(info(otherModel, a)?.matchBlocks).toBe(0);
  });

  it('indexes the prefill profile’s target too', () => {
    const p = producer();
    const [decode, prefill, other] = [endpoint(), endpoint(), endpoint()] as [Endpoint, Endpoint, Endpoint];
    cycle(p, request({ prompt, model: 'm' }), [decode, prefill, other], decode, prefill);
    expect([decode, prefill, other].map((e) => p.indexedBlocks(e.metadata.id))).toEqual([5, 5, 0]);
  });

  it('keeps an endpoint’s LRU at its num_gpu_blocks', () => {
    const p = producer();
    const small = endpoint({ metrics: { cacheNumBlocks: 2 } });
    cycle(p, request({ prompt, model: 'm' }), [small], small);
    expect(p.indexedBlocks(small.metadata.id)).toBe(2);
    // The oldest blocks went, so the walk from block 0 finds nothing.
    expect(info(cycle(p, request({ prompt, model: 'm' }), [small]), small)?.matchBlocks).toBe(0);
  });

  it('produces once per cycle', () => {
    const p = producer();
    const a = endpoint();
    const req = request({ prompt, model: 'm' });
    const ctx = context();
    p.produce(ctx, req, [a]);
    const state = p.cycleState(ctx, req);
    p.produce(ctx, req, [a]);
    expect(p.cycleState(ctx, req)).toBe(state);
    expect(p.cycleState(ctx, request({ prompt, model: 'm' }))).toBeUndefined();
  });

  it('does nothing in PreRequest without a primary target or hashes', () => {
    const p = producer();
    const a = endpoint();
    const req = request({ prompt, model: 'm' });
    const ctx = context();
    p.produce(ctx, req, [a]);
    p.preRequest(ctx, req, schedulingResult({ default: null }), recordedHeaders());
    const empty = request({ prompt: '', model: 'm' });
    p.produce(ctx, empty, [a]);
    p.preRequest(ctx, empty, schedulingResult({ default: [a] }), recordedHeaders());
    expect(p.stats().entries).toBe(0);
  });

  it('forgets an endpoint on request and purges endpoints gone from the pool for 2 minutes', () => {
    const clock = manualClock();
    const [stays, leaves, forgotten] = [endpoint(), endpoint(), endpoint()] as [Endpoint, Endpoint, Endpoint];
    const p = producer(undefined, { now: clock.now, endpoints: [stays] });
    for (const e of [stays, leaves, forgotten]) cycle(p, request({ prompt, model: 'm' }), [e], e);
    p.forgetEndpoint(forgotten.metadata.id);
    expect(p.indexedBlocks(forgotten.metadata.id)).toBe(0);
    clock.advance(119_000);
    cycle(p, request({ prompt: 'x', model: 'm' }), [stays]);
    expect(p.indexedBlocks(leaves.metadata.id)).toBe(5);
    clock.advance(2_000);
    cycle(p, request({ prompt: 'x', model: 'm' }), [stays]);
    expect(p.indexedBlocks(leaves.metadata.id)).toBe(0);
    expect(p.indexedBlocks(stays.metadata.id)).toBe(5);
  });

  it('is declared under the upstream type name', () => {
    expect(approxPrefixCacheProducer.type).toBe(APPROX_PREFIX_CACHE_PRODUCER_TYPE);
    expect(producer().type).toBe('approx-prefix-cache-producer');
  });
});

describe('measureIndexMemory', () => {
  it('fills the requested blocks over the endpoints and reports their size', () => {
    const report = measureIndexMemory(5000, 4, { holders: 2, blocksPerRequest: 50 });
    expect(report).toMatchObject({ blocks: 5000, holders: 2, endpoints: 4, entries: 10_000, distinctHashes: 5000 });
    expect(report.typedArrayBytesPerEntry).toBeGreaterThanOrEqual(22);
    expect(report.typedArrayBytesPerEntry).toBeLessThan(64);
  });
});
