import { RouterError, Scheduler } from '@llmd/scheduling';
import type { Endpoint, InferenceRequest, Plugin, ProfileRunResult, SchedulingContext, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchInfoKey } from '../approx-prefix-cache-producer/attributes.js';
import type { PdDecision } from '../disagg-profile-handler/decider.js';
import { pdProfiles, roleEndpoint } from '../disagg-profile-handler/test-support/profiles.js';
import { prefixCacheScorer, type PrefixCacheScorerV1 } from '../prefix-cache-scorer/plugin.js';
import { context, handle, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import { pdProfileHandler, type PdProfileHandler } from './plugin.js';

const build = (params?: unknown, plugins: readonly Plugin[] = []): PdProfileHandler =>
  pdProfileHandler.create('pd', pdProfileHandler.parameters.parse(params), handle({ plugins })) as PdProfileHandler;

const decodeA = roleEndpoint('decode', '10.2.0.1');
const decodeB = roleEndpoint('decode', '10.2.0.2');
const prefillA = roleEndpoint('prefill', '10.2.1.1');
const pool = [decodeA, decodeB, prefillA];

/** Sets the PrefixCacheMatchInfo of an endpoint (blocks of 64 tokens = 256 characters). */
function matched(ctx: SchedulingContext, e: Endpoint, matchBlocks: number): void {
  ctx.attributes.set(e.metadata.id, prefixCacheMatchInfoKey(), { matchBlocks, totalBlocks: 100, blockSize: 64 });
}

describe('pd-profile-handler: the profile loop', () => {
  const { decode, prefill, profiles } = pdProfiles();
  const handler = build();
  const r = (entries: [string, readonly Endpoint[] | null][]) =>
    new Map<string, ProfileRunResult | null>(entries.map(([n, t]) => [n, t === null ? null : { targets: t }]));

  it.each([
    { name: 'decode runs first', results: r([]), want: ['decode'] },
    { name: 'prefill after a successful decode (threshold 0)', results: r([['decode', [decodeA]]]), want: ['prefill'] },
    { name: 'nothing after a failed decode', results: r([['decode', null]]), want: [] },
    { name: 'nothing once both ran', results: r([['decode', [decodeA]], ['prefill', [prefillA]]]), want: [] },
    { name: 'nothing after a failed prefill (no retry)', results: r([['decode', [decodeA]], ['prefill', null]]), want: [] },
  ])('$name', ({ results, want }) => {
    expect(handler.pickProfiles(context(), request(), profiles, results).map((p) => p.name)).toEqual(want);
  });

  it('stops after decode when no prefill profile is configured', () => {
    const onlyDecode = new Map([['decode', decode]]);
    expect(handler.pickProfiles(context(), request(), onlyDecode, r([['decode', [decodeA]]]))).toEqual([]);
  });

  it('runs decode then prefill through the scheduler and sends the request to decode', () => {
    const result = new Scheduler({ profileHandler: build(), profiles }).schedule(context(), request(), pool);
    expect(result.primaryProfileName).toBe('decode');
    expect(result.profileResults.get('decode')?.targets).toEqual([decodeA]);
    expect(result.profileResults.get('prefill')?.targets).toEqual([prefillA]);
    expect(prefill.runs()).toBeGreaterThan(0);
  });
});

describe('pd-profile-handler: threshold on the uncached prompt (PrefixCacheMatchInfo)', () => {
  const { profiles } = pdProfiles();
  const prompt = 'y'.repeat(1000);
  const afterDecode = new Map([['decode', { targets: [decodeA] }]]);

  it.each([
    // [case, threshold, blocks matched on decodeA (undefined = no info), blocks on decodeB, runs prefill]
    ['threshold 0 always runs prefill, whatever is cached', 0, 100, 0, true],
    ['no match info: the whole prompt is uncached', 100, undefined, 0, true],
    ['a cached prefix leaves enough uncached (1000 − 3·256 = 232)', 100, 3, 0, true],
    ['a cached prefix leaves too little (1000 − 1024 < 100): decode only', 100, 4, 0, false],
    ['exactly the threshold runs prefill (232 is not < 232)', 232, 3, 0, true],
    ['one over: decode only', 233, 3, 0, false],
    ['the decode endpoint counts, not the best-matching one', 100, 0, 100, true],
  ] as const)('%s', (_name, threshold, onDecode, onOther, wantPrefill) => {
    const ctx = context();
    if (onDecode !== undefined) matched(ctx, decodeA, onDecode);
    matched(ctx, decodeB, onOther);
    const next = build({ threshold }).pickProfiles(ctx, request({ prompt }), profiles, afterDecode);
    expect(next.map((p) => p.name)).toEqual(wantPrefill ? ['prefill'] : []);
  });

  it('counts UTF-8 bytes as characters', () => {
    const handler = build({ threshold: 1500 });
    // 1000 × "é" = 2000 bytes ≥ 1500: prefill; as 1000 characters it would be skipped.
    expect(handler.uncachedPromptChars(context(), request({ prompt: 'é'.repeat(1000) }), decodeA)).toBe(2000);
  });
});

describe('pd-profile-handler: threshold from the v1.0 prefix-cache-scorer', () => {
  const { profiles } = pdProfiles();
  // 640 characters = 10 blocks of 64.
  const prompt = 'abcdefgh'.repeat(80);

  /** A v1.0 scorer that has seen `prompt` sent to decodeA, and a context in which it scored it again. */
  function warmScorer(): { scorer: PrefixCacheScorerV1; ctx: SchedulingContext; req: InferenceRequest } {
    const scorer = prefixCacheScorer.create('prefix-cache-scorer', prefixCacheScorer.parameters.parse({ hashBlockSize: 64 }), handle()) as PrefixCacheScorerV1;
    const first = request({ prompt, model: 'm' });
    const firstCtx = context();
    (scorer as Scorer).score(firstCtx, first, [decodeA, decodeB]);
    scorer.preRequest(firstCtx, first, schedulingResult({ decode: [decodeA] }), recordedHeaders());
    const ctx = context();
    const req = request({ prompt, model: 'm' });
    scorer.score(ctx, req, [decodeA, decodeB]);
    return { scorer, ctx, req };
  }

  it.each([
    // 10 hits − 1 (upstream: "the first hit is the model") = 9 blocks = 576 cached, 64 uncached.
    ['uncached 64 reaches threshold 64: prefill', 64, ['prefill']],
    ['uncached 64 is below threshold 65: decode only', 65, []],
  ])('%s', (_name, threshold, want) => {
    const { scorer, ctx, req } = warmScorer();
    // Contradicting match info proves the scorer's counts are read when the scorer is v1.0.
    matched(ctx, decodeA, 0);
    const handler = build({ threshold }, [scorer]);
    expect(handler.uncachedPromptChars(ctx, req, decodeA)).toBe(64);
    expect(handler.pickProfiles(ctx, req, profiles, new Map([['decode', { targets: [decodeA] }]])).map((p) => p.name)).toEqual(want);
  });

  it('reads an endpoint the scorer holds nothing for as fully uncached', () => {
    const { scorer, ctx, req } = warmScorer();
    expect(build({ threshold: 1 }, [scorer]).uncachedPromptChars(ctx, req, decodeB)).toBe(640);
  });

  it('falls back to PrefixCacheMatchInfo when the named scorer is the HEAD form', () => {
    const head = prefixCacheScorer.create('prefix-cache-scorer', prefixCacheScorer.parameters.parse(undefined), handle());
    const ctx = context();
    matched(ctx, decodeA, 2);
    expect(build({ threshold: 1 }, [head]).uncachedPromptChars(ctx, request({ prompt }), decodeA)).toBe(640 - 512);
  });
});

describe('pd-profile-handler: results', () => {
  const handler = build();

  type Results = Record<string, readonly Endpoint[] | null>;
  it.each<{ name: string; results: Results; kept: string[] }>([
    { name: 'decode and prefill', results: { decode: [decodeA], prefill: [prefillA] }, kept: ['decode', 'prefill'] },
    { name: 'a failed prefill is dropped', results: { decode: [decodeA], prefill: null }, kept: ['decode'] },
    { name: 'an empty prefill is dropped', results: { decode: [decodeA], prefill: [] }, kept: ['decode'] },
    { name: 'decode only', results: { decode: [decodeA] }, kept: ['decode'] },
  ])('decode is primary: $name', ({ results, kept }) => {
    const out = handler.processResults(context(), request(), schedulingResult(results).profileResults);
    expect(out.primaryProfileName).toBe('decode');
    expect([...out.profileResults.keys()]).toEqual(kept);
    expect(out.profileResults.get('decode')?.targets).toEqual([decodeA]);
  });

  it.each<{ name: string; results: Results }>([
    { name: 'decode failed', results: { decode: null, prefill: [prefillA] } },
    { name: 'decode never ran', results: {} },
  ])('throws ResourceExhausted (429) when $name', ({ results }) => {
    let thrown: unknown;
    try {
      handler.processResults(context(), request(), schedulingResult(results).profileResults);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RouterError);
    expect((thrown as RouterError).status).toBe(429);
    expect((thrown as RouterError).message).toBe('failed to find target endpoint: failed to find available decode workers');
  });

  it('fails the scheduling cycle when no endpoint can decode', () => {
    const { profiles } = pdProfiles();
    expect(() => new Scheduler({ profileHandler: build(), profiles }).schedule(context(), request(), [prefillA])).toThrow(RouterError);
  });

  it('honours configured profile names', () => {
    const named = build({ decodeProfile: 'd', prefillProfile: 'p' });
    const out = named.processResults(context(), request(), schedulingResult({ d: [decodeA], p: [prefillA], decode: [decodeB] }).profileResults);
    expect(out.primaryProfileName).toBe('d');
    expect([...out.profileResults.keys()]).toEqual(['d', 'p']);
  });
});

describe('pd-profile-handler: decisions and parameters', () => {
  it('counts decode-only and prefill-decode outcomes and tells listeners', () => {
    const { profiles } = pdProfiles();
    const handler = build({ threshold: 100 });
    const seen: PdDecision[] = [];
    handler.onDecision((d) => seen.push(d));
    const scheduler = new Scheduler({ profileHandler: handler, profiles });
    scheduler.schedule(context(), request({ prompt: 'z'.repeat(500), model: 'm1' }), pool);
    scheduler.schedule(context(), request({ prompt: 'short', model: 'm2' }), pool);
    // A prefill that found nothing leaves the request on decode alone.
    scheduler.schedule(context(), request({ prompt: 'z'.repeat(500), model: 'm3' }), [decodeA]);
    expect(handler.decisions()).toEqual({ disaggregated: 1, aggregated: 2 });
    expect(seen).toEqual([
      { model: 'm1', decisionType: 'prefill-decode' },
      { model: 'm2', decisionType: 'decode-only' },
      { model: 'm3', decisionType: 'decode-only' },
    ]);
  });

  it('has v0.3.0 defaults and rejects bad values', () => {
    expect(pdProfileHandler.parameters.parse(undefined)).toEqual({
      threshold: 0,
      decodeProfile: 'decode',
      prefillProfile: 'prefill',
      hashBlockSize: 64,
      prefixPluginName: 'prefix-cache-scorer',
    });
    for (const bad of [{ threshold: -1 }, { hashBlockSize: 0 }, { decodeProfile: '' }, { deciders: { prefill: 'x' } }]) {
      expect(pdProfileHandler.parameters.safeParse(bad).success).toBe(false);
    }
  });
});
