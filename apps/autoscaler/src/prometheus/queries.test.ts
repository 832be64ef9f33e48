import { describe, expect, it } from 'vitest';
import { decodeResult, PrometheusClient, PrometheusError } from './client.js';
import { escapeLabelValue, flowControlQueueQuery, groupQueries, promDuration, requestCountQuery } from './queries.js';

describe('PromQL', () => {
  it('escapes backslashes before quotes, as upstream does', () => {
    expect(escapeLabelValue('a\\b"c')).toBe('a\\\\b\\"c');
    expect(escapeLabelValue('org/model-1.5')).toBe('org/model-1.5');
    expect(escapeLabelValue('x"}) or vector(1) #')).toBe('x\\"}) or vector(1) #');
  });

  it('has upstream\'s query shapes', () => {
    const q = groupQueries('llm-d', 'meta/llama-3.1-8b');
    const sel = '{namespace="llm-d",model_name="meta/llama-3.1-8b"}';
    expect(q.kvUsage).toBe(`max by (pod) (max_over_time(vllm:kv_cache_usage_perc${sel}[1m]))`);
    expect(q.queueLength).toBe(`max by (pod) (max_over_time(vllm:num_requests_waiting${sel}[1m]))`);
    expect(q.cacheConfig).toBe(`max by (pod, num_gpu_blocks, block_size) (vllm:cache_config_info${sel})`);
    expect(q.avgOutputTokens).toBe(`max by (pod) (rate(vllm:request_generation_tokens_sum${sel}[5m]) / rate(vllm:request_generation_tokens_count${sel}[5m]))`);
    expect(q.avgInputTokens).toBe(`max by (pod) (rate(vllm:request_prompt_tokens_sum${sel}[5m]) / rate(vllm:request_prompt_tokens_count${sel}[5m]))`);
    expect(q.prefixHitRate).toBe(`max by (pod) (rate(vllm:prefix_cache_hits_total${sel}[5m]) / rate(vllm:prefix_cache_queries_total${sel}[5m]))`);
    expect(requestCountQuery('llm-d', 'meta/llama-3.1-8b', '10m')).toBe(`sum(increase(vllm:request_success_total${sel}[10m]))`);
    expect(flowControlQueueQuery('m', ['inference_extension_flow_control_queue_size'])).toBe(
      'sum(inference_extension_flow_control_queue_size{target_model_name="m"}) or sum(inference_extension_flow_control_queue_size{model_name="m",target_model_name=""})',
    );
  });

  it('uses the windows it is given and escapes every label value', () => {
    const q = groupQueries('n"s', 'm\\1', { saturation: '10s', rate: '30s', arrival: '15s' });
    expect(q.kvUsage).toContain('{namespace="n\\"s",model_name="m\\\\1"}[10s]');
    expect(q.avgInputTokens).toContain('[30s]');
    expect(q.arrivalRate).toContain('[15s]');
    expect(flowControlQueueQuery('a"b')).toContain('target_model_name="a\\"b"');
  });

  it.each([[600_000, '10m'], [90_000, '90s'], [7_200_000, '2h'], [1500, '1500ms']])('writes %i ms as %s', (ms, text) => {
    expect(promDuration(ms)).toBe(text);
  });
});

describe('Prometheus answers', () => {
  it('decodes vectors and scalars, dropping NaN (a 0/0 ratio)', () => {
    expect(decodeResult({ resultType: 'vector', result: [{ metric: { pod: 'p1' }, value: [1700000000.5, '0.25'] }, { metric: { pod: 'p2' }, value: [1700000000.5, 'NaN'] }] })).toEqual([
      { labels: { pod: 'p1' }, value: 0.25, timestampMs: 1700000000500 },
    ]);
    expect(decodeResult({ resultType: 'scalar', result: [1700000000, '3'] })).toEqual([{ labels: {}, value: 3, timestampMs: 1700000000000 }]);
    expect(() => decodeResult({ resultType: 'matrix', result: [] }, 'up[1m]')).toThrow(PrometheusError);
  });

  it('reports an unreachable Prometheus as a PrometheusError naming the URL', async () => {
    const client = new PrometheusClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await expect(client.query('up')).rejects.toThrow(/Prometheus at http:\/\/127\.0\.0\.1:1\/api\/v1\/query is unreachable/);
  });
});
