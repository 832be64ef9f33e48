import { describe, expect, it } from 'vitest';
import { oneTwoFiveBuckets, VLLM_METRICS } from './vllm-metrics.js';

describe('vLLM metric names', () => {
  it('uses the vllm: prefix and valid Prometheus names', () => {
    for (const name of Object.values(VLLM_METRICS)) {
      expect(name).toMatch(/^vllm:[a-z][a-z0-9_]*$/);
    }
  });

  it('keeps both KV-usage names', () => {
    expect(VLLM_METRICS.kvCacheUsagePerc).toBe('vllm:kv_cache_usage_perc');
    expect(VLLM_METRICS.gpuCacheUsagePerc).toBe('vllm:gpu_cache_usage_perc');
  });

  it.each([
    [1, [1]],
    [10, [1, 2, 5, 10]],
    [4096, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]],
  ])('builds 1-2-5 buckets up to %i', (max, expected) => {
    expect(oneTwoFiveBuckets(max)).toEqual(expected);
  });
});
