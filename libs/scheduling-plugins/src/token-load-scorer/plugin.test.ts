import type { Endpoint, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { inFlightLoadKey, uncachedRequestTokensKey } from '../inflight-load-producer/attributes.js';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { DEFAULT_QUEUE_THRESHOLD_TOKENS, tokenLoadScore, tokenLoadScorer } from './plugin.js';

describe('tokenLoadScore', () => {
  it.each([
    // [in flight, uncached, threshold, score]
    [0, 0, 100, 1],
    [-5, 0, 100, 1],
    [25, 0, 100, 0.75],
    [25, 25, 100, 0.5],
    [90, 20, 100, 0],
    [DEFAULT_QUEUE_THRESHOLD_TOKENS / 2, 0, DEFAULT_QUEUE_THRESHOLD_TOKENS, 0.5],
  ])('in flight %i + uncached %i over %i → %f', (inFlight, uncached, threshold, expected) => {
    expect(tokenLoadScore(inFlight, uncached, threshold)).toBe(expected);
  });
});

describe('token-load-scorer', () => {
  const create = (params: unknown) => tokenLoadScorer.create('tokens', tokenLoadScorer.parameters.parse(params), handle()) as Scorer;

  it.each([
    [undefined, 4_194_304],
    [{ queueThresholdTokens: 1000 }, 1000],
    [{ queueThresholdTokens: 0 }, 4_194_304],
    [{ queueThresholdTokens: -3 }, 4_194_304],
  ])('resolves %j to threshold %i', (params, expected) => {
    expect(tokenLoadScorer.parameters.parse(params).queueThresholdTokens).toBe(expected);
  });

  it('scores in-flight plus uncached tokens per endpoint, missing attributes as 0', () => {
    const scorer = create({ queueThresholdTokens: 1000 });
    const [a, b, c] = [endpoint(), endpoint(), endpoint()] as [Endpoint, Endpoint, Endpoint];
    const ctx = context();
    ctx.attributes.set(a.metadata.id, inFlightLoadKey(), { requests: 2, tokens: 500 });
    ctx.attributes.set(a.metadata.id, uncachedRequestTokensKey(), { tokens: 250 });
    ctx.attributes.set(b.metadata.id, uncachedRequestTokensKey(), { tokens: 100 });
    expect(Array.from(scorer.score(ctx, request(), [a, b, c]))).toEqual([0.25, 0.9, 1]);
    expect(scorer.category).toBe('distribution');
  });

  it('reads a named producer’s attributes when told to', () => {
    const scorer = create({ queueThresholdTokens: 1000, inFlightLoadProducerName: 'mine' });
    const a = endpoint();
    const ctx = context();
    ctx.attributes.set(a.metadata.id, inFlightLoadKey(), { requests: 1, tokens: 900 });
    ctx.attributes.set(a.metadata.id, inFlightLoadKey('mine'), { requests: 1, tokens: 100 });
    expect(Array.from(scorer.score(ctx, request(), [a]))).toEqual([0.9]);
    expect(tokenLoadScorer.requires).toEqual(['inflight-load-producer']);
  });
});
