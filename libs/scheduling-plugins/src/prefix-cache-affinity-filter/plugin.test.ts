import type { Endpoint, Filter } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import { inFlightLoadKey } from '../inflight-load-producer/attributes.js';
import { context, endpoint, handle, randomSequence, request } from '../test-support/fixtures.js';
import { applyAffinity, latencyPredictionInfoKey, prefixCacheAffinityFilter, prefixCacheAffinityParameters } from './plugin.js';

/** A candidate: its match ratio (of 10 blocks), in-flight tokens, and predicted TTFT (undefined = none). */
interface Spec {
  readonly match?: number;
  readonly tokens?: number;
  readonly predicted?: number;
}

function run(params: unknown, specs: readonly Spec[], random: () => number = () => 0.5) {
  const resolved = prefixCacheAffinityParameters.parse(params);
  const endpoints = specs.map(() => endpoint());
  const ctx = context({ random });
  specs.forEach((s, i) => {
    const id = (endpoints[i] as Endpoint).metadata.id;
    if (s.match !== undefined) ctx.attributes.set(id, prefixCacheMatchInfoKey(), { matchBlocks: s.match, totalBlocks: 10, blockSize: 64 });
    if (s.tokens !== undefined) ctx.attributes.set(id, inFlightLoadKey(), { requests: 1, tokens: s.tokens });
    if (s.predicted !== undefined) ctx.attributes.set(id, latencyPredictionInfoKey(), { ttftMs: s.predicted });
  });
  const { decision, kept } = applyAffinity(resolved, ctx, endpoints);
  return { decision, kept: kept.map((e) => endpoints.indexOf(e)) };
}

describe('prefix-cache-affinity-filter', () => {
  it.each([
    // [case, params, candidates, decision, kept indexes]
    ['one candidate', {}, [{ match: 0 }], 'not-applicable', [0]],
    ['threshold 0 disables', { affinityThreshold: 0 }, [{ match: 10 }, { match: 0 }], 'not-applicable', [0, 1]],
    ['nothing sticky keeps all', {}, [{ match: 7 }, { match: 0 }, {}], 'no-sticky', [0, 1, 2]],
    ['at the threshold is sticky', {}, [{ match: 8 }, { match: 7 }], 'sticky', [0]],
    ['every sticky endpoint is kept', {}, [{ match: 9 }, { match: 2 }, { match: 10 }], 'sticky', [0, 2]],
    ['missing prefix info is ratio 0', { affinityThreshold: 0.1 }, [{}, { match: 1 }], 'sticky', [1]],
    // TTFT gate: tokens / 15928 tok/s; 18 s allowed.
    ['a small TTFT penalty keeps stickiness', {}, [{ match: 10, tokens: 15928 * 10 }, { match: 0, tokens: 0 }], 'sticky', [0]],
    ['a TTFT penalty above the limit breaks it', {}, [{ match: 10, tokens: 15928 * 19 }, { match: 0, tokens: 0 }], 'load-override', [0, 1]],
    ['the best TTFT of each side counts', {}, [{ match: 10, tokens: 15928 * 30 }, { match: 9, tokens: 15928 * 5 }, { match: 0, tokens: 0 }], 'sticky', [0, 1]],
    ['missing InFlightLoad is 0 tokens', {}, [{ match: 10 }, { match: 0, tokens: 15928 * 30 }], 'sticky', [0]],
    ['maxTTFTPenaltyMs 0 always sticks', { maxTTFTPenaltyMs: 0 }, [{ match: 10, tokens: 1e9 }, { match: 0 }], 'sticky', [0]],
    ['a lower limit breaks sooner', { maxTTFTPenaltyMs: 1000 }, [{ match: 10, tokens: 15928 * 2 }, { match: 0 }], 'load-override', [0, 1]],
    ['throughput sets the scale', { peakPrefillThroughput: 1000 }, [{ match: 10, tokens: 19_000 }, { match: 0 }], 'load-override', [0, 1]],
    // latencyPredictor: a missing prediction is +∞.
    ['predictor: slow sticky breaks', { ttftSource: 'latencyPredictor' }, [{ match: 10, predicted: 30_000 }, { match: 0, predicted: 1000 }], 'load-override', [0, 1]],
    ['predictor: fast sticky holds', { ttftSource: 'latencyPredictor' }, [{ match: 10, predicted: 5000 }, { match: 0, predicted: 1000 }], 'sticky', [0]],
    ['predictor: sticky missing = +∞ breaks', { ttftSource: 'latencyPredictor' }, [{ match: 10 }, { match: 0, predicted: 1000 }], 'load-override', [0, 1]],
    ['predictor: nothing predicted holds', { ttftSource: 'latencyPredictor' }, [{ match: 10 }, { match: 0 }], 'sticky', [0]],
  ] as const)('%s', (_name, params, specs, decision, kept) => {
    expect(run(params, specs)).toEqual({ decision, kept });
  });

  it.each([
    [0.29, 'exploration', [0, 1]],
    [0.3, 'sticky', [0]],
  ] as const)('explores when random %f < explorationProbability 0.3', (draw, decision, kept) => {
    expect(run({ explorationProbability: 0.3 }, [{ match: 10 }, { match: 0 }], randomSequence([draw]))).toEqual({ decision, kept });
  });

  it('draws no random number when exploration is off', () => {
    let draws = 0;
    run({}, [{ match: 10 }, { match: 0 }], () => {
      draws++;
      return 0;
    });
    expect(draws).toBe(0);
  });

  it.each([
    ['a threshold above 1', { affinityThreshold: 1.01 }],
    ['a negative threshold', { affinityThreshold: -0.1 }],
    ['an exploration probability above 1', { explorationProbability: 1.5 }],
    ['a negative penalty', { maxTTFTPenaltyMs: -1 }],
    ['a negative throughput', { peakPrefillThroughput: -1 }],
    ['zero throughput with the throughput source', { peakPrefillThroughput: 0 }],
    ['an unknown source', { ttftSource: 'guess' }],
    ['a negative maxTokensInFlightPenalty', { maxTokensInFlightPenalty: -1 }],
  ])('rejects %s', (_name, params) => {
    expect(prefixCacheAffinityParameters.safeParse(params).success).toBe(false);
  });

  it.each([
    ['defaults', undefined],
    ['zero throughput when the gate is off', { peakPrefillThroughput: 0, maxTTFTPenaltyMs: 0 }],
    ['zero throughput with the predictor', { peakPrefillThroughput: 0, ttftSource: 'latencyPredictor' }],
    ['the deprecated maxTokensInFlightPenalty of the guides', { affinityThreshold: 0.8, maxTokensInFlightPenalty: 286720, maxTTFTPenaltyMs: 0 }],
  ])('accepts %s', (_name, params) => {
    expect(prefixCacheAffinityParameters.safeParse(params).success).toBe(true);
  });

  it.each([
    ['under the token penalty: stays sticky', 1000, 1],
    ['over the token penalty: keeps every endpoint', 5000, 2],
  ])('applies the deprecated maxTokensInFlightPenalty gate when %s', (_label, stickyTokens, kept) => {
    const params = prefixCacheAffinityParameters.parse({ maxTokensInFlightPenalty: 2000, maxTTFTPenaltyMs: 0 });
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 5, totalBlocks: 5, blockSize: 64 });
    ctx.attributes.set(a.metadata.id, inFlightLoadKey(), { requests: 3, tokens: stickyTokens });
    ctx.attributes.set(b.metadata.id, inFlightLoadKey(), { requests: 0, tokens: 0 });
    expect(applyAffinity(params, ctx, [a, b]).kept).toHaveLength(kept);
  });

  it('filters through the declared plugin and requires both producers', () => {
    const filter = prefixCacheAffinityFilter.create('affinity', prefixCacheAffinityFilter.parameters.parse(undefined), handle()) as Filter;
    const [a, b] = [endpoint(), endpoint()] as [Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(a.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 5, totalBlocks: 5, blockSize: 64 });
    expect(filter.filter(ctx, request(), [a, b])).toEqual([a]);
    expect(prefixCacheAffinityFilter.requires).toEqual(['approx-prefix-cache-producer', 'inflight-load-producer']);
  });
});
