import { describe, expect, it } from 'vitest';
import { EngineOptionsError } from './errors.js';
import {
  attentionPairs,
  jitter,
  loadFactor,
  resolveLatencyModel,
  stepDurationMs,
  type LatencyModelOptions,
  type StepComposition,
} from './latency.js';
import { seededRandom } from './test-support/fakes.js';

const decode = (batch: number, context: number): StepComposition => ({
  prefillTokens: 0,
  decodeTokens: batch,
  decodeContext: batch * context,
  batchSize: batch,
});
const prefill = (tokens: number, cached = 0): StepComposition => ({
  prefillTokens: tokens,
  prefillAttentionPairs: attentionPairs(tokens, cached),
  decodeTokens: 0,
  decodeContext: 0,
  batchSize: 1,
});

describe('roofline step model', () => {
  const roofline: LatencyModelOptions = { model: 'roofline' };

  it.each([1, 8])('prices a decode step of the default 8B/H100 preset at 6–7 ms (batch %i, 1k context)', (batch) => {
    const ms = stepDurationMs(decode(batch, 1024), roofline);
    expect(ms).toBeGreaterThanOrEqual(6);
    expect(ms).toBeLessThanOrEqual(7);
  });

  it('makes decode steps slower with more context and larger batches', () => {
    expect(stepDurationMs(decode(32, 4096), roofline)).toBeGreaterThan(stepDurationMs(decode(32, 1024), roofline) + 3);
    expect(stepDurationMs(decode(128, 1024), roofline)).toBeGreaterThan(stepDurationMs(decode(32, 1024), roofline));
  });

  it('lands prefill near the reference roofline (engine-model.md §3.3: 1k 37.6 ms, 8k 335 ms, plus step overhead)', () => {
    expect(stepDurationMs(prefill(1024), roofline)).toBeCloseTo(37.6 + 1.2, 0);
    expect(stepDurationMs(prefill(8192), roofline)).toBeCloseTo(335 + 1.2, -1);
  });

  // Round numbers: 1e9 params, 1 GB weights, 1 kB KV/token, 1 PFLOP/s at MFU 0.5, 1 TB/s, 1 ms overhead.
  const simple: LatencyModelOptions = {
    model: 'roofline',
    roofline: {
      paramCount: 1e9,
      weightBytes: 1e9,
      kvBytesPerToken: 1e3,
      attentionFlopsPerPair: 0,
      peakFlops: 1e15,
      memoryBandwidth: 1e12,
      mfuPrefill: 0.5,
      mfuDecode: 0.5,
      overheadMs: 1,
      overheadPerSeqMs: 0.5,
    },
  };
  it.each<[string, StepComposition, number]>([
    ['memory-bound prefill', { prefillTokens: 100, decodeTokens: 0, decodeContext: 0, batchSize: 1 }, 1 + 0.5 + 1],
    ['compute-bound prefill', { prefillTokens: 1000, decodeTokens: 0, decodeContext: 0, batchSize: 1 }, 1 + 0.5 + 4],
    ['decodes reading 1e6 tokens of KV', { prefillTokens: 0, decodeTokens: 10, decodeContext: 1e6, batchSize: 10 }, 1 + 5 + 2],
    ['mixed batch, compute adds up', { prefillTokens: 1000, decodeTokens: 250, decodeContext: 0, batchSize: 2 }, 1 + 1 + 4 + 1],
  ])('%s', (_label, c, expected) => {
    expect(stepDurationMs(c, simple)).toBeCloseTo(expected, 9);
  });

  it('charges causal attention FLOPs for prefill chunks', () => {
    const withAttention: LatencyModelOptions = { ...simple, roofline: { ...simple.roofline, attentionFlopsPerPair: 1e3 } };
    // 1000 tokens after 1000 cached: 1000·1000 + 1000·1001/2 pairs × 1e3 FLOPs at 5e14 FLOP/s.
    const pairs = attentionPairs(1000, 1000);
    expect(pairs).toBe(1_500_500);
    const expected = 1 + 0.5 + ((2e9 * 1000 + 1e3 * pairs) / 5e14) * 1e3;
    expect(stepDurationMs(prefill(1000, 1000), withAttention)).toBeCloseTo(expected, 9);
  });
});

describe('linear step model', () => {
  // BLIS blackbox fit for llama-3.1-8b on H100; expected values from engine-model.md §2.2.
  it.each<[string, StepComposition, number]>([
    ['decode batch 1', decode(1, 0), 5.76],
    ['decode batch 8', decode(8, 0), 5.8],
    ['decode batch 32', decode(32, 0), 5.94],
    ['decode batch 128', decode(128, 0), 6.52],
    ['prefill 1k', prefill(1024), 23.4],
    ['prefill 4k', prefill(4096), 76.4],
    ['prefill 8k', prefill(8192), 147],
  ])('reproduces the BLIS table: %s', (_label, c, expected) => {
    expect(stepDurationMs(c, { model: 'linear' })).toBeCloseTo(expected, 0);
  });

  it('takes overriding coefficients', () => {
    const c = { prefillTokens: 10, decodeTokens: 3, decodeContext: 99, batchSize: 4 };
    expect(stepDurationMs(c, { model: 'linear', linearCoefficientsUs: [1000, 100, 10] })).toBe(2.03);
  });
});

describe('per-request calculators', () => {
  it('refuse to price steps', () => {
    expect(() => stepDurationMs(decode(1, 1), { model: 'constant' })).toThrow(/times requests, not steps/);
  });

  it.each([
    // kind, uncached, running, maxNumSeqs, expected TTFT
    ['constant', 500, 1, 5, 100],
    ['constant', 500, 5, 5, 200],
    ['per-token', 400, 1, 5, 30 + 400 * 0.25],
    ['per-token', 400, 3, 5, (30 + 400 * 0.25) * 1.5],
    ['per-token', 0, 1, 1, 30],
  ] as const)('%s: TTFT of %i uncached tokens with %i of %i running', (kind, uncached, running, max, ttft) => {
    const m = resolveLatencyModel({ model: kind, timing: { timeToFirstTokenStdDevMs: 0, prefillTimeStdDevMs: 0 } });
    expect(m.meanTimeToFirstTokenMs(uncached, running, max)).toBeCloseTo(ttft, 9);
    expect(m.sampleTimeToFirstTokenMs(uncached, running, max, () => 0.5)).toBeCloseTo(ttft, 9);
  });

  it('scales the inter-token latency by the load factor', () => {
    const m = resolveLatencyModel({ model: 'constant', timing: { interTokenLatencyMs: 10, interTokenLatencyStdDevMs: 0, timeFactorUnderLoad: 3 } });
    expect([1, 2, 3].map((r) => m.meanInterTokenLatencyMs(r, 3))).toEqual([10, 20, 30]);
  });
});

describe('loadFactor', () => {
  it.each([
    [2, 1, 5, 1],
    [2, 3, 5, 1.5],
    [2, 5, 5, 2],
    [3, 4, 1, 1],
    [1, 4, 8, 1],
    [2, 9, 5, 2],
  ])('factor %d with %i of %i running is %d', (f, running, max, expected) => {
    expect(loadFactor(f, running, max)).toBe(expected);
  });
});

describe('jitter', () => {
  it('returns the mean without drawing when the std-dev is 0', () => {
    let draws = 0;
    expect(
      jitter(12, 0, () => {
        draws++;
        return 0.5;
      }),
    ).toBe(12);
    expect(draws).toBe(0);
  });

  it('is deterministic under a seeded generator, stays within ±70% and centres on the mean', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 4000 }, () => jitter(10, 3, a));
    expect(Array.from({ length: 4000 }, () => jitter(10, 3, b))).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...xs)).toBeLessThanOrEqual(17);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(9.8);
    expect(mean).toBeLessThan(10.2);
    expect(new Set(xs).size).toBeGreaterThan(3900);
  });

  // u1 close to 1 is a tiny |z|; u1 close to 0 a huge one, whose sign comes from cos(2π·u2).
  it.each([
    ['far above', 0, 17],
    ['far below', 0.5, 3],
  ])('clamps a draw %s the mean to ±70%%', (_label, u2, expected) => {
    const draws = [1 - 1e-12, u2];
    let i = 0;
    expect(jitter(10, 3, () => draws[i++ % 2] as number)).toBeCloseTo(expected, 9);
  });
});

describe('validation', () => {
  it.each<[string, LatencyModelOptions, string, RegExp]>([
    [
      'ITL std-dev above 30%',
      { model: 'constant', timing: { interTokenLatencyMs: 10, interTokenLatencyStdDevMs: 3.5 } },
      'latency.timing.interTokenLatencyStdDevMs',
      /inter-token-latency-std-dev .* at most 30% of inter-token-latency/,
    ],
    [
      'TTFT std-dev above 30%',
      { model: 'constant', timing: { timeToFirstTokenMs: 100, timeToFirstTokenStdDevMs: 31 } },
      'latency.timing.timeToFirstTokenStdDevMs',
      /time-to-first-token-std-dev/,
    ],
    ['load factor below 1', { model: 'per-token', timing: { timeFactorUnderLoad: 0.5 } }, 'latency.timing.timeFactorUnderLoad', /≥ 1/],
    ['negative prefill time', { model: 'per-token', timing: { prefillTimePerTokenMs: -1 } }, 'latency.timing.prefillTimePerTokenMs', /≥ 0/],
    ['unknown model', { model: 'magic' as never }, 'latency.model', /unknown latency model/],
    ['unknown preset', { model: 'roofline', preset: 'x' }, 'latency.preset', /unknown preset/],
    ['MFU above 1', { model: 'roofline', roofline: { mfuDecode: 1.5 } }, 'latency.roofline.mfuDecode', /at most 1/],
    ['zero bandwidth', { model: 'roofline', roofline: { memoryBandwidth: 0 } }, 'latency.roofline.memoryBandwidth', /> 0/],
    ['negative β', { model: 'linear', linearCoefficientsUs: [1, -2, 3] }, 'latency.linearCoefficientsUs[1]', /≥ 0/],
  ])('rejects %s', (_label, options, option, message) => {
    try {
      resolveLatencyModel(options);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EngineOptionsError);
      expect((err as EngineOptionsError).option).toBe(option);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('accepts std-devs of exactly 30% and an unbounded prefill std-dev (it applies to the whole prefill)', () => {
    const timing = { interTokenLatencyMs: 10, interTokenLatencyStdDevMs: 3, prefillOverheadMs: 1, prefillTimeStdDevMs: 50 };
    expect(() => resolveLatencyModel({ model: 'per-token', timing })).not.toThrow();
  });
});
