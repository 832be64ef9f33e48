import { describe, expect, it } from 'vitest';
import { EngineOptionsError } from './errors.js';
import {
  DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS,
  defaultEngineOptions,
  meanKvTransferMs,
  sampleKvTransferMs,
  validateEngineOptions,
  type EngineOptions,
  type KvTransferOptions,
} from './options.js';
import { derivedNumGpuBlocks } from './presets.js';

describe('KV-transfer time', () => {
  it.each<[string, KvTransferOptions, number]>([
    ['a constant latency wins', { kvCacheTransferLatencyMs: 2, kvCacheTransferTimePerTokenMs: 1 }, 2],
    ['then the time per token', { kvCacheTransferTimePerTokenMs: 0.003 }, 3],
    ['then bytes over the given bandwidth', { bandwidthGBps: 131.072 }, 1],
    ['then the default bandwidth', {}, (1000 * 131_072) / (DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS * 1e6)],
  ])('%s', (_label, t, expected) => {
    expect(meanKvTransferMs(1000, t, 131_072)).toBeCloseTo(expected, 9);
  });

  it('jitters with the std-dev of the form in use, not scaled by anything else', () => {
    const always = () => 1 - 1e-12; // the most extreme draw: clamped to the mean ±70%
    expect(sampleKvTransferMs(1000, { kvCacheTransferLatencyMs: 10, kvCacheTransferLatencyStdDevMs: 3, kvCacheTransferTimeStdDevMs: 0 }, 1, always)).toBeCloseTo(17, 9);
    expect(sampleKvTransferMs(1000, { kvCacheTransferTimePerTokenMs: 0.01, kvCacheTransferLatencyStdDevMs: 3 }, 1, always)).toBe(10);
  });
});

describe('engine options', () => {
  it('defaults to vLLM on an H100 with the preset’s derived KV capacity', () => {
    const o = defaultEngineOptions();
    expect(() => validateEngineOptions(o)).not.toThrow();
    expect(o).toMatchObject({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192, blockSize: 16, maxModelLen: 131072, schedulingPolicy: 'fcfs' });
    expect(o.numGpuBlocks).toBe(derivedNumGpuBlocks('llama-3.1-8b/h100', 16, 0.9));
    expect(defaultEngineOptions('qwen3-8b/h100').maxModelLen).toBe(40960);
  });

  it.each<[string, Partial<EngineOptions>, string]>([
    ['zero sequences', { maxNumSeqs: 0 }, 'maxNumSeqs'],
    ['fractional budget', { maxNumBatchedTokens: 1.5 }, 'maxNumBatchedTokens'],
    ['a pool of only the null block', { numGpuBlocks: 1 }, 'numGpuBlocks'],
    ['no LoRA slot', { maxLoras: 0 }, 'maxLoras'],
    ['an unknown policy', { schedulingPolicy: 'lifo' as never }, 'schedulingPolicy'],
    ['a transfer std-dev above 30%', { kvTransfer: { kvCacheTransferLatencyMs: 2, kvCacheTransferLatencyStdDevMs: 1 } }, 'kvTransfer.kvCacheTransferLatencyStdDevMs'],
    ['a zero bandwidth', { kvTransfer: { bandwidthGBps: 0 } }, 'kvTransfer.bandwidthGBps'],
    ['a negative lag bound', { maxLagMs: -1 }, 'maxLagMs'],
  ])('rejects %s', (_label, patch, option) => {
    try {
      validateEngineOptions({ ...defaultEngineOptions(), ...patch });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EngineOptionsError);
      expect((err as EngineOptionsError).option).toBe(option);
    }
  });
});
