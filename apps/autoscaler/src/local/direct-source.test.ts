import { describe, expect, it } from 'vitest';
import { testVariant } from '../test-support/memory-cluster.js';
import { DirectScrapeSource } from './direct-source.js';

/** A vLLM exposition with the given gauges and counters. */
function page(o: { kv: number; waiting: number; running?: number; success?: number; promptSum?: number; promptCount?: number; itlSum?: number; itlCount?: number }): string {
  const m = 'model_name="m"';
  return [
    `vllm:kv_cache_usage_perc{${m}} ${o.kv}`,
    `vllm:num_requests_waiting{${m}} ${o.waiting}`,
    `vllm:num_requests_running{${m}} ${o.running ?? 0}`,
    `vllm:cache_config_info{block_size="16",num_gpu_blocks="100",${m}} 1`,
    `vllm:request_success_total{${m},finish_reason="length"} ${o.success ?? 0}`,
    `vllm:request_prompt_tokens_sum{${m}} ${o.promptSum ?? 0}`,
    `vllm:request_prompt_tokens_count{${m}} ${o.promptCount ?? 0}`,
    `vllm:inter_token_latency_seconds_sum{${m}} ${o.itlSum ?? 0}`,
    `vllm:inter_token_latency_seconds_count{${m}} ${o.itlCount ?? 0}`,
    '',
  ].join('\n');
}

function source(clock: { t: number }) {
  return new DirectScrapeSource({ targets: () => [], windows: { saturation: '10s', rate: '30s', arrival: '20s' }, stalenessMs: 5000, scrapeIntervalMs: 1000, now: () => clock.t });
}

describe('DirectScrapeSource', () => {
  const a = testVariant('a');

  it('answers peaks over the saturation window, counter rates and ratios', async () => {
    const clock = { t: 100_000 };
    const s = source(clock);
    s.record('a-local-1', page({ kv: 0.9, waiting: 7, success: 0 }));
    clock.t += 15_000; // Older than the 10 s window from here on.
    s.record('a-local-1', page({ kv: 0.2, waiting: 1, running: 4, success: 10, promptSum: 1000, promptCount: 10, itlSum: 2, itlCount: 100 }));
    clock.t += 5_000;
    s.record('a-local-1', page({ kv: 0.4, waiting: 2, running: 2, success: 20, promptSum: 3000, promptCount: 20, itlSum: 4, itlCount: 200 }));
    const g = await s.collect('ns', 'm', [a], new Map([['a', 1]]));
    const r = g.replicas[0];
    expect(r).toMatchObject({ pod: 'a-local-1', variant: 'a', kvUsage: 0.4, queueLength: 2, numGpuBlocks: 100, blockSize: 16 });
    // Over the 30 s rate window: (3000 − 0) / (20 − 0) prompt tokens per request.
    expect(r?.avgInputTokens).toBe(150);
    // Over the 20 s arrival window (all three scrapes): 20 requests in 20 s; ITL 4 s / 200 tokens.
    expect(r?.arrivalRate).toBe(1);
    expect(r?.avgItlMs).toBeCloseTo(20, 10);
    expect(r?.avgRunning).toBe(2);
    expect(g.status.get('a')).toMatchObject({ ok: true, readyReplicas: 1 });
    expect(await s.requestCount('ns', 'm', 60_000)).toBe(20);
    expect(await s.requestCount('ns', 'm', 4_000)).toBe(10);
    expect(await s.requestCount('ns', 'other', 60_000)).toBeUndefined();
  });

  it('reports stale and missing replicas instead of using them', async () => {
    const clock = { t: 0 };
    const s = source(clock);
    s.record('a-local-1', page({ kv: 0.1, waiting: 0 }));
    clock.t += 7_000;
    let g = await s.collect('ns', 'm', [a], new Map([['a', 1]]));
    expect(g.status.get('a')).toMatchObject({ ok: false, reason: 'MetricsStale' });
    expect(g.replicas).toEqual([]);
    clock.t += 60_000;
    g = await s.collect('ns', 'm', [a], new Map([['a', 1]]));
    expect(g.status.get('a')).toMatchObject({ ok: false, reason: 'MetricsMissing' });
    g = await s.collect('ns', 'm', [a], new Map([['a', 0]]));
    expect(g.status.get('a')).toMatchObject({ ok: true, readyReplicas: 0 });
  });
});
