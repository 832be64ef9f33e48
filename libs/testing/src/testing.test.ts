import { describe, expect, it } from 'vitest';
import { metricValue, parseJsonWithBigInts, parseSamples, readVector } from './index.js';

describe('parseJsonWithBigInts', () => {
  it('keeps integers beyond 2^53 exact and leaves small ones as numbers', () => {
    const v = parseJsonWithBigInts<{ a: unknown[]; b: number }>('{"a": [17705339885301241772, 12, -9007199254740993], "b": 3.5}');
    expect(v.a).toEqual([17705339885301241772n, 12, -9007199254740993n]);
    expect(v.b).toBe(3.5);
  });

  it('reads the recorded vLLM event with exact hashes', () => {
    const v = readVector<Record<string, unknown>>('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
    expect(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))).toContain('17705339885301241772');
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP vllm:num_requests_running Number of requests.',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{model_name="m"} 3',
    'vllm:lora_requests_info{max_lora="1",running_lora_adapters="a,b",waiting_lora_adapters=""} 1.7e9',
    'vllm:request_success_total{finish_reason="stop",model_name="m"} 12',
    'vllm:request_success_total{finish_reason="length",model_name="m"} 4',
  ].join('\n');

  it('parses names, labels and values', () => {
    expect(parseSamples(text)).toHaveLength(4);
    expect(parseSamples(text)[1]).toEqual({ name: 'vllm:lora_requests_info', labels: { max_lora: '1', running_lora_adapters: 'a,b', waiting_lora_adapters: '' }, value: 1.7e9 });
  });

  it.each([
    ['vllm:num_requests_running', {}, 3],
    ['vllm:request_success_total', { finish_reason: 'length' }, 4],
    ['vllm:request_success_total', { finish_reason: 'abort' }, undefined],
    ['vllm:missing', {}, undefined],
  ])('finds %s %j', (name, labels, value) => {
    expect(metricValue(text, name, labels)).toBe(value);
  });
});
