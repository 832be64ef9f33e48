import { describe, expect, it } from 'vitest';
import { resolveLatencyModel, stepDurationMs } from './latency.js';
import { defaultEngineOptions, type EngineOptions } from './options.js';
import { must } from './test-support/fakes.js';
import {
  PROFILE_BATCH_SIZES,
  PROFILE_CACHED_FRACTIONS,
  PROFILE_CONTEXTS,
  PROFILE_PROMPTS,
  cachedTokensFor,
  profileCurves,
  timeToFirstTokenMs,
} from './profile.js';

describe('profileCurves', () => {
  const defaults = defaultEngineOptions();
  const curves = profileCurves(defaults);

  it('covers the documented grid', () => {
    expect(curves).toMatchObject({ model: 'roofline', preset: 'llama-3.1-8b/h100' });
    expect(curves.interTokenLatency).toHaveLength(PROFILE_BATCH_SIZES.length * PROFILE_CONTEXTS.length);
    expect(curves.timeToFirstToken).toHaveLength(PROFILE_PROMPTS.length * PROFILE_CACHED_FRACTIONS.length);
    expect(curves.saturation.map((s) => s.contextTokens)).toEqual([...PROFILE_CONTEXTS]);
  });

  it('reports what the step model prescribes: ITL rising with batch and context', () => {
    for (const p of curves.interTokenLatency) {
      const c = { prefillTokens: 0, decodeTokens: p.batchSize, decodeContext: p.batchSize * p.contextTokens, batchSize: p.batchSize };
      expect(p.itlMs).toBe(stepDurationMs(c, defaults.latency));
    }
    const at = (b: number, ctx: number) => must(curves.interTokenLatency.find((p) => p.batchSize === b && p.contextTokens === ctx));
    expect(at(1, 1024).itlMs).toBeGreaterThan(6);
    expect(at(1, 1024).itlMs).toBeLessThan(7);
    expect(at(256, 1024).itlMs).toBeGreaterThan(at(8, 1024).itlMs);
    expect(at(32, 4096).itlMs).toBeGreaterThan(at(32, 1024).itlMs);
    expect(at(256, 4096).fits).toBe(false); // 256 × 256 blocks is more than the KV cache holds
    expect(at(8, 4096).fits).toBe(true);
  });

  it('TTFT grows with the prompt, shrinks with the cached fraction, and chunks long prompts', () => {
    const ttft = (n: number, f: number) => must(curves.timeToFirstToken.find((p) => p.promptTokens === n && p.cachedFraction === f));
    for (const n of PROFILE_PROMPTS) {
      expect(ttft(n, 0).ttftMs).toBeGreaterThan(ttft(n, 0.5).ttftMs);
      expect(ttft(n, 0.5).ttftMs).toBeGreaterThanOrEqual(ttft(n, 0.9).ttftMs);
    }
    expect(ttft(8192, 0).ttftMs).toBeGreaterThan(ttft(1024, 0).ttftMs * 7);
    expect(ttft(8192, 0).steps).toBe(1);
    const model = resolveLatencyModel(defaults.latency);
    const chunked = timeToFirstTokenMs(model, 8192, 0, { maxNumSeqs: 1, maxNumBatchedTokens: 2048 });
    expect(chunked.steps).toBe(4);
    // Later chunks attend to more context, so chunking costs more than one big step.
    expect(chunked.ttftMs).toBeGreaterThan(ttft(8192, 0).ttftMs);
  });

  it('saturates at the largest batch the KV cache holds', () => {
    for (const s of curves.saturation) {
      expect(s.limitedBy).toBe('kv-cache');
      expect(s.batchSize).toBe(Math.floor((defaults.numGpuBlocks - 1) / Math.ceil(s.contextTokens / 16)));
      expect(s.tokensPerSecond).toBeCloseTo((s.batchSize * 1000) / s.itlMs, 9);
    }
    const small: EngineOptions = { ...defaults, maxNumSeqs: 64 };
    expect(profileCurves(small).saturation[0]).toMatchObject({ batchSize: 64, limitedBy: 'max-num-seqs' });
  });

  it('uses the request timings for the per-request calculators', () => {
    const c = profileCurves({
      ...defaults,
      maxNumSeqs: 129,
      latency: { model: 'per-token', timing: { prefillOverheadMs: 30, prefillTimePerTokenMs: 0.25, interTokenLatencyMs: 12, timeFactorUnderLoad: 2 } },
    });
    expect(c.interTokenLatency.find((p) => p.batchSize === 1)?.itlMs).toBe(12);
    expect(c.interTokenLatency.find((p) => p.batchSize === 128)?.itlMs).toBeCloseTo(12 * (1 + 127 / 128), 9);
    expect(c.interTokenLatency.find((p) => p.batchSize === 256)?.itlMs).toBe(24); // load factor capped at max-num-seqs
    expect(c.timeToFirstToken.find((p) => p.promptTokens === 256 && p.cachedFraction === 0)?.ttftMs).toBe(94);
    expect(c.saturation[0]).toMatchObject({ batchSize: 129, itlMs: 24 });
  });
});

describe('cachedTokensFor', () => {
  it.each([
    [256, 0, 16, 0],
    [256, 0.5, 16, 128],
    [256, 1, 16, 240], // the last token is always computed
    [100, 0.9, 16, 80],
    [10, 0.9, 16, 0],
  ])('prompt %i at fraction %d with blocks of %i hits %i tokens', (prompt, fraction, bs, hit) => {
    expect(cachedTokensFor(prompt, fraction, bs)).toBe(hit);
  });
});
