import type { Endpoint, InferenceRequest, SchedulingContext, SchedulingResult } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import { ApproxPrefixCacheProducer, approxPrefixCacheProducer } from '../approx-prefix-cache-producer/plugin.js';
import { context, endpoint, handle, manualClock, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import {
  estimatedOutputTokens,
  inFlightLoadKey,
  inflightLoadProducer,
  isInFlightLoadSource,
  uncachedInputTokens,
  uncachedRequestTokensKey,
  type InFlightLoad,
  type InflightLoadProducer,
  type UncachedRequestTokens,
} from './plugin.js';

function producer(params: unknown = undefined, spec: Parameters<typeof handle>[0] = {}): InflightLoadProducer {
  return inflightLoadProducer.create('inflight', inflightLoadProducer.parameters.parse(params), handle(spec)) as InflightLoadProducer;
}

/** Produce and PreRequest of one request; returns the cycle's context. */
function schedule(p: InflightLoadProducer, req: InferenceRequest, candidates: Endpoint[], result: SchedulingResult): SchedulingContext {
  const ctx = context();
  p.produce(ctx, req, candidates);
  p.preRequest(ctx, req, result, recordedHeaders());
  return ctx;
}

// 4000 ASCII characters = 1000 pseudo-tokens.
const prompt = 'x'.repeat(4000);

describe('uncachedInputTokens', () => {
  it.each([
    // [input, prefix info, uncached]
    [1000, undefined, 1000],
    [-5, undefined, 0],
    // 16 blocks of 64 indexed, 10 cached: (16−10)·64, no tail.
    [1000, { matchBlocks: 10, totalBlocks: 16, blockSize: 64 }, 384],
    // Index capped at 4 blocks: (4−4)·64 + tail 1000 − 256.
    [1000, { matchBlocks: 4, totalBlocks: 4, blockSize: 64 }, 744],
    // No match: the partial last block counts whole (upstream overestimates by design).
    [1000, { matchBlocks: 0, totalBlocks: 16, blockSize: 64 }, 1024],
    [1000, { matchBlocks: 3, totalBlocks: 16, blockSize: 0 }, 1000],
  ])('input %i with %j → %i', (input, prefix, expected) => {
    expect(uncachedInputTokens(input, prefix)).toBe(expected);
  });
});

describe('estimatedOutputTokens', () => {
  it.each([
    [1000, 1.5, null, undefined, 1500],
    [3, 1.5, null, undefined, 5], // round(4.5)
    [1000, 1.5, 200, undefined, 200],
    [1000, 1.5, 0, undefined, 1500], // a client cap of 0 is no cap
    [1000, 1.5, 200, 100, 100],
    [1000, 0, null, undefined, 0],
  ])('input %i × ratio %f, client max %s, cap %s → %i', (input, ratio, clientMax, cap, expected) => {
    expect(estimatedOutputTokens(input, ratio, clientMax, cap)).toBe(expected);
  });
});

describe('inflight-load-producer parameters', () => {
  it('fills upstream defaults', () => {
    expect(inflightLoadProducer.parameters.parse(undefined)).toEqual({ addEstimatedOutputTokens: false, outputRatio: 1.5, syncCrossReplicaState: true });
  });

  it.each([{ outputRatio: -1 }, { maxEstimatedOutputTokens: -1 }, { unknown: 1 }])('rejects %j', (params) => {
    expect(inflightLoadProducer.parameters.safeParse(params).success).toBe(false);
  });
});

describe('InflightLoadProducer lifecycle', () => {
  it('holds tokens until the first chunk and the request until completion; the prefill entry goes at the first chunk', () => {
    const p = producer();
    const [decode, prefill] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const req = request({ prompt, model: 'm' });
    schedule(p, req, [decode, prefill], schedulingResult({ decode: [decode], prefill: [prefill] }, 'decode'));
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 1, tokens: 1000 });
    expect(p.inFlightLoad(prefill.metadata.id)).toEqual({ requests: 1, tokens: 1000 });

    p.onResponseFirstChunk(req);
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 1, tokens: 0 });
    expect(p.inFlightLoad(prefill.metadata.id)).toEqual({ requests: 0, tokens: 0 });

    p.onResponseComplete(req);
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 0, tokens: 0 });
    expect(p.trackedRequests).toBe(0);
  });

  it('releases everything at completion when no chunk ever came (a failed request)', () => {
    const p = producer();
    const a = endpoint();
    const req = request({ prompt, model: 'm' });
    schedule(p, req, [a], schedulingResult({ default: [a] }));
    p.onResponseComplete(req);
    expect(p.inFlightLoad(a.metadata.id)).toEqual({ requests: 0, tokens: 0 });
  });

  it('keeps input and estimated output until completion when output tokens are counted', () => {
    const p = producer({ addEstimatedOutputTokens: true, maxEstimatedOutputTokens: 300 });
    const [decode, prefill] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const req = request({ prompt, model: 'm' });
    schedule(p, req, [decode, prefill], schedulingResult({ decode: [decode], prefill: [prefill] }, 'decode'));
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 1, tokens: 1300 });
    p.onResponseFirstChunk(req);
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 1, tokens: 1300 });
    expect(p.inFlightLoad(prefill.metadata.id)).toEqual({ requests: 0, tokens: 0 });
    p.onResponseComplete(req);
    expect(p.inFlightLoad(decode.metadata.id)).toEqual({ requests: 0, tokens: 0 });
  });

  it('adds up concurrent requests and releases each on its own', () => {
    const p = producer();
    const a = endpoint();
    const [r1, r2] = [request({ prompt, model: 'm' }), request({ prompt: prompt.slice(0, 400), model: 'm' })];
    schedule(p, r1, [a], schedulingResult({ default: [a] }));
    schedule(p, r2, [a], schedulingResult({ default: [a] }));
    expect(p.inFlightLoad(a.metadata.id)).toEqual({ requests: 2, tokens: 1100 });
    p.onResponseFirstChunk(r1);
    p.onResponseComplete(r1);
    p.onResponseComplete(r1); // a second completion changes nothing
    expect(p.inFlightLoad(a.metadata.id)).toEqual({ requests: 1, tokens: 100 });
  });

  it('releases requests silent for 30 minutes', () => {
    const clock = manualClock();
    const p = producer(undefined, { now: clock.now });
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    schedule(p, request({ prompt, model: 'm' }), [a], schedulingResult({ default: [a] }));
    clock.advance(30 * 60_000 + 1);
    schedule(p, request({ prompt, model: 'm' }), [b], schedulingResult({ default: [b] }));
    expect(p.inFlightLoad(a.metadata.id)).toEqual({ requests: 0, tokens: 0 });
    expect(p.inFlightLoad(b.metadata.id)).toEqual({ requests: 1, tokens: 1000 });
  });

  it('forgets an endpoint without being confused by its late releases', () => {
    const p = producer();
    const a = endpoint();
    const [r1, r2] = [request({ prompt, model: 'm' }), request({ prompt, model: 'm' })];
    schedule(p, r1, [a], schedulingResult({ default: [a] }));
    p.forgetEndpoint(a.metadata.id);
    schedule(p, r2, [a], schedulingResult({ default: [a] }));
    p.onResponseComplete(r1);
    expect(p.inFlightLoad(a.metadata.id)).toEqual({ requests: 1, tokens: 1000 });
  });
});

describe('InflightLoadProducer attributes', () => {
  it('publishes each candidate’s uncached tokens from the prefix match, and a live InFlightLoad', () => {
    const p = producer();
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 12, totalBlocks: 16, blockSize: 64 });
    p.produce(ctx, request({ prompt, model: 'm' }), [a, b]);
    const uncached = (e: Endpoint) => ctx.attributes.get<UncachedRequestTokens>(e.metadata.id, uncachedRequestTokensKey())?.tokens;
    expect([uncached(a), uncached(b)]).toEqual([256, 1000]);
    expect(ctx.attributes.get<UncachedRequestTokens>(a.metadata.id, uncachedRequestTokensKey('inflight'))?.tokens).toBe(256);

    const load = ctx.attributes.get<InFlightLoad>(b.metadata.id, inFlightLoadKey());
    expect(load).toEqual({ requests: 0, tokens: 0 });
    schedule(p, request({ prompt, model: 'm' }), [b], schedulingResult({ default: [b] }));
    expect({ requests: load?.requests, tokens: load?.tokens }).toEqual({ requests: 1, tokens: 1000 });
  });

  it('gets prefix info from the approximate producer even when that runs after it', () => {
    const prefix = approxPrefixCacheProducer.create('approx-prefix-cache-producer', approxPrefixCacheProducer.parameters.parse(undefined), handle());
    if (!(prefix instanceof ApproxPrefixCacheProducer)) throw new Error('unexpected producer class');
    const p = producer(undefined, { plugins: [prefix] });
    const a = endpoint();
    // Cycle 1, in the order of the sticky-until-saturated config: this producer, then the prefix one.
    const r1 = request({ prompt, model: 'm' }); // 1000 tokens = 16 blocks of 64
    const ctx1 = context();
    p.produce(ctx1, r1, [a]);
    const state = prefix.cycleState(ctx1, r1);
    expect(state?.hashes.count).toBe(16);
    prefix.produce(ctx1, r1, [a]);
    expect(prefix.cycleState(ctx1, r1)).toBe(state);
    prefix.preRequest(ctx1, r1, schedulingResult({ default: [a] }), recordedHeaders());
    // Cycle 2: the same prompt is cached on a, so it costs a nothing.
    const ctx2 = context();
    p.produce(ctx2, request({ prompt, model: 'm' }), [a]);
    expect(ctx2.attributes.get(a.metadata.id, prefixCacheMatchInfoKey())).toEqual({ matchBlocks: 16, totalBlocks: 16, blockSize: 64 });
    expect(ctx2.attributes.get<UncachedRequestTokens>(a.metadata.id, uncachedRequestTokensKey())?.tokens).toBe(0);
  });

  it('exposes read access for other plugins', () => {
    const p = producer();
    expect(isInFlightLoadSource(p)).toBe(true);
    expect(isInFlightLoadSource(handle({ plugins: [p] }).plugin('inflight'))).toBe(true);
    expect(isInFlightLoadSource({ type: 'x', name: 'y' })).toBe(false);
  });
});
