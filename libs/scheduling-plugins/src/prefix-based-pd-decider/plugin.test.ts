import type { InferenceRequest } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import { isPdDecider, type PdDecider } from '../disagg-profile-handler/decider.js';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { estimatedPromptTokens, prefixBasedPdDecider } from './plugin.js';

const build = (params?: unknown): PdDecider => prefixBasedPdDecider.create('decider', prefixBasedPdDecider.parameters.parse(params), handle()) as PdDecider;

const chars = (n: number): InferenceRequest => request({ prompt: 'x'.repeat(n) });

describe('prefix-based-pd-decider', () => {
  it.each([
    // [case, nonCachedTokens, request, matched blocks (undefined = no match info), block size, disaggregate]
    ['nonCachedTokens 0 disables P/D', 0, chars(40_000), 0, 64, false],
    ['uncached prompt above the threshold', 16, chars(400), 0, 64, true],
    ['a cached prefix reduces the uncached count, still above', 16, chars(400), 1, 64, true],
    ['a cached prefix brings it below the threshold', 16, chars(400), 2, 64, false],
    ['exactly the threshold disaggregates (≥)', 16, chars(320), 1, 64, true],
    ['one token under the threshold does not', 16, chars(316), 1, 64, false],
    ['the block size counts, not just the blocks', 16, chars(320), 1, 70, false],
    ['prompt shorter than the threshold', 16, chars(60), 0, 64, false],
    ['no PrefixCacheMatchInfo on the decode endpoint', 16, chars(4000), undefined, 64, false],
    ['characters are UTF-8 bytes (é = 2 bytes: 100 tokens)', 16, request({ prompt: 'é'.repeat(200) }), 1, 64, true],
    [
      'client token ids are counted as tokens',
      16,
      request({ promptView: { text: '', tokenIds: Array.from({ length: 100 }, (_, i) => i), messages: null } }),
      1,
      64,
      true,
    ],
  ] as const)('%s', (_name, nonCachedTokens, req, matchBlocks, blockSize, want) => {
    const decode = endpoint();
    const ctx = context();
    if (matchBlocks !== undefined) ctx.attributes.set(decode.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks, totalBlocks: 100, blockSize });
    expect(build({ nonCachedTokens }).disaggregate(ctx, req, decode)).toBe(want);
  });

  it('reads the match info of the endpoint it is given, not of others', () => {
    const [decode, other] = [endpoint(), endpoint()];
    const ctx = context();
    ctx.attributes.set(other.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 10, totalBlocks: 10, blockSize: 64 });
    ctx.attributes.set(decode.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks: 0, totalBlocks: 10, blockSize: 64 });
    expect(build({ nonCachedTokens: 16 }).disaggregate(ctx, chars(2000), decode)).toBe(true);
  });

  it.each([
    ['a chat prompt (JSON of the messages)', '[{"role":"user","content":"hi"}]', 8],
    ['an empty prompt', '', 0],
    ['a partial last token is dropped', 'abcdefg', 1],
  ])('estimates %s as UTF-8 bytes ÷ 4', (_name, text, want) => {
    expect(estimatedPromptTokens(request({ promptView: { text, tokenIds: null, messages: null } }))).toBe(want);
  });

  it('defaults to disabled, rejects negative or fractional thresholds and unknown parameters', () => {
    expect(prefixBasedPdDecider.parameters.parse(undefined)).toEqual({ nonCachedTokens: 0 });
    for (const bad of [{ nonCachedTokens: -1 }, { nonCachedTokens: 1.5 }, { promptTokens: 4 }]) {
      expect(prefixBasedPdDecider.parameters.safeParse(bad).success).toBe(false);
    }
  });

  it('is a P/D decider and requires the approximate prefix producer', () => {
    expect(isPdDecider(build())).toBe(true);
    expect(prefixBasedPdDecider.requires).toEqual(['approx-prefix-cache-producer']);
  });
});
