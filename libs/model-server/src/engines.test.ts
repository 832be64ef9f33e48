import { EMPTY_METRICS, type EndpointMetrics } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import {
  ENGINE_MAPPINGS,
  engineMappingFor,
  extractEndpointMetrics,
  latestLoraSample,
  latestSample,
  mappingMetricNames,
  parseMetricSpec,
  type EngineMapping,
} from './engines.js';
import { parsePrometheusText } from './prometheus-text.js';

const vllm = ENGINE_MAPPINGS['vllm'] as EngineMapping;
const NOW = 12_345;

function extract(text: string, mapping: EngineMapping = vllm, previous: EndpointMetrics = EMPTY_METRICS) {
  return extractEndpointMetrics(parsePrometheusText(text, mappingMetricNames(mapping)), mapping, previous, NOW);
}

/** The comparable part of metrics: sets as sorted arrays. */
function plain(m: EndpointMetrics) {
  return { ...m, activeModels: [...m.activeModels].sort(), waitingModels: [...m.waitingModels].sort() };
}

const VLLM_PAGE = `# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="qwen"} 4.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="qwen"} 7.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.42
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="a1,a2",waiting_lora_adapters="a3"} 1.7e+09
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",num_gpu_blocks="2048"} 1.0
vllm:time_to_first_token_seconds_bucket{le="0.1"} 5
`;

describe('parseMetricSpec', () => {
  it.each([
    ['vllm:num_requests_waiting', 'vllm:num_requests_waiting', {}],
    ['  m  ', 'm', {}],
    ['m{request_type=waiting}', 'm', { request_type: 'waiting' }],
    ['m{a="x y",b=c}', 'm', { a: 'x y', b: 'c' }],
    ['m{ a = "1" , }', 'm', { a: '1' }],
    ['m{}', 'm', {}],
  ])('parses %s', (text, name, labels) => {
    expect(parseMetricSpec(text)).toEqual({ name, labels });
  });

  it.each(['', '1m', 'm{a}', 'm{a=b c=d}', 'm{a="b}', 'm x'])('rejects %j and quotes it', (text) => {
    expect(() => parseMetricSpec(text)).toThrow(`metric spec ${JSON.stringify(text)}`);
  });
});

describe('engineMappingFor', () => {
  it.each([
    [{}, 'vllm'],
    [{ 'llm-d.ai/engine-type': 'sglang' }, 'sglang'],
    [{ 'llm-d.ai/engine-type': 'trtllm-serve' }, 'trtllm-serve'],
    [{ 'llm-d.ai/engine-type': 'no-such-engine' }, 'vllm'],
    [{ 'llm-d.ai/engine-type': '' }, 'vllm'],
  ])('labels %j choose %s', (labels, engine) => {
    expect(engineMappingFor(labels)).toBe(ENGINE_MAPPINGS[engine]);
  });

  it('honours another label key and default engine', () => {
    expect(engineMappingFor({ engine: 'sglang' }, ENGINE_MAPPINGS, 'engine')).toBe(ENGINE_MAPPINGS['sglang']);
    expect(engineMappingFor({}, ENGINE_MAPPINGS, 'engine', 'sglang')).toBe(ENGINE_MAPPINGS['sglang']);
    expect(() => engineMappingFor({}, ENGINE_MAPPINGS, 'engine', 'nope')).toThrow('defaultEngine "nope"');
  });
});

describe('extractEndpointMetrics: vLLM', () => {
  it('maps a full page', () => {
    const r = extract(VLLM_PAGE);
    expect(r.updated).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.invalid).toEqual([]);
    expect(plain(r.metrics)).toEqual({
      waitingQueueSize: 4,
      runningRequestsSize: 7,
      kvCacheUsagePercent: 0.42,
      activeModels: ['a1', 'a2'],
      waitingModels: ['a3'],
      maxActiveModels: 4,
      cacheBlockSize: 16,
      cacheNumBlocks: 2048,
      updateTime: NOW,
    });
  });

  it.each([
    ['the current name only', 'vllm:kv_cache_usage_perc 0.25', 0.25],
    ['the deprecated name only', 'vllm:gpu_cache_usage_perc 0.75', 0.75],
    ['both names (the current wins)', 'vllm:gpu_cache_usage_perc 0.75\nvllm:kv_cache_usage_perc 0.25', 0.25],
  ])('reads KV usage from %s', (_what, text, kv) => {
    expect(extract(text).metrics.kvCacheUsagePercent).toBe(kv);
  });

  it('takes the series with the latest timestamp, the first of equals', () => {
    const samples = parsePrometheusText('m{a="1"} 1 100\nm{a="2"} 2 300\nm{a="3"} 3 200\nn{a="1"} 1\nn{a="2"} 2\n');
    expect(latestSample(samples, parseMetricSpec('m'))?.value).toBe(2);
    expect(latestSample(samples, parseMetricSpec('n'))?.value).toBe(1);
    expect(latestSample(samples, parseMetricSpec('m{a=3}'))?.value).toBe(3);
    expect(latestSample(samples, parseMetricSpec('m{a=4}'))).toBeUndefined();
    expect(extract('vllm:num_requests_waiting 1 100\nvllm:num_requests_waiting 9 200').metrics.waitingQueueSize).toBe(9);
  });

  it.each([
    [
      'the largest value among series naming adapters',
      'l{running_lora_adapters="old",waiting_lora_adapters=""} 5\nl{running_lora_adapters="",waiting_lora_adapters=""} 9\nl{running_lora_adapters="new",waiting_lora_adapters="w"} 7',
      '7',
    ],
    ['an adapter in the waiting list only', 'l{running_lora_adapters="",waiting_lora_adapters="w"} 1\nl{running_lora_adapters="",waiting_lora_adapters=""} 9', '1'],
    ['the largest of all when none names an adapter', 'l{running_lora_adapters=""} 3\nl{running_lora_adapters=""} 8\nl{running_lora_adapters=""} 4', '8'],
  ])('picks the LoRA series with %s', (_what, text, expectedValue) => {
    const chosen = latestLoraSample(parsePrometheusText(text), [parseMetricSpec('l')]);
    expect(String(chosen?.value)).toBe(expectedValue);
  });

  it('reads adapters and max_lora from the chosen LoRA series', () => {
    const text =
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters="",waiting_lora_adapters=""} 1.9e9\n' +
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters=" x , y,,",waiting_lora_adapters="z"} 1.8e9\n';
    const m = plain(extract(text).metrics);
    expect([m.activeModels, m.waitingModels, m.maxActiveModels]).toEqual([['x', 'y'], ['z'], 2]);
  });

  it('empties the adapter sets when the latest LoRA series lists none', () => {
    const previous = { ...EMPTY_METRICS, activeModels: new Set(['gone']) };
    const r = extract('vllm:lora_requests_info{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""} 5', vllm, previous);
    expect([...r.metrics.activeModels]).toEqual([]);
    expect(r.metrics.maxActiveModels).toBe(1);
  });

  it('keeps previous values for missing metrics (partial results apply) and does not report a missing LoRA metric', () => {
    const previous: EndpointMetrics = { ...EMPTY_METRICS, runningRequestsSize: 3, kvCacheUsagePercent: 0.5, maxActiveModels: 8, cacheBlockSize: 32, updateTime: 1 };
    const r = extract('vllm:num_requests_waiting 2\n', vllm, previous);
    expect(r.updated).toBe(true);
    expect(r.missing).toEqual(['runningRequestsSize', 'kvCacheUsagePercent', 'cacheConfigInfo']);
    expect(plain(r.metrics)).toEqual({ ...plain(previous), waitingQueueSize: 2, updateTime: NOW });
  });

  it('returns the previous metrics unchanged when nothing maps', () => {
    const previous: EndpointMetrics = { ...EMPTY_METRICS, waitingQueueSize: 5, updateTime: 7 };
    const r = extract('sglang:num_queue_reqs 3\nprocess_cpu_seconds_total 1\n', vllm, previous);
    expect(r.updated).toBe(false);
    expect(r.metrics).toBe(previous);
  });

  it.each([
    ['NaN', 'vllm:num_requests_waiting NaN', 'waitingQueueSize: NaN'],
    ['+Inf', 'vllm:num_requests_waiting +Inf', 'waitingQueueSize: Infinity'],
    ['a negative count', 'vllm:num_requests_waiting -1', 'waitingQueueSize: -1'],
    ['a non-numeric block size', 'vllm:cache_config_info{block_size="x",num_gpu_blocks="10"} 1', 'cacheBlockSize: "x"'],
    ['a missing block count', 'vllm:cache_config_info{block_size="16"} 1', 'cacheNumBlocks: null'],
    ['a non-numeric max_lora', 'vllm:lora_requests_info{max_lora="many",running_lora_adapters="a"} 1', 'maxActiveModels: "many"'],
  ])('keeps the previous value of a field holding %s and reports it', (_what, text, message) => {
    const previous: EndpointMetrics = { ...EMPTY_METRICS, waitingQueueSize: 6, cacheBlockSize: 64, cacheNumBlocks: 99, maxActiveModels: 3 };
    const r = extract(text, vllm, previous);
    expect(r.invalid).toEqual([message]);
    expect(r.metrics.waitingQueueSize).toBe(6);
    expect(r.metrics.maxActiveModels).toBe(3);
    expect(r.metrics.cacheBlockSize === 64 || r.metrics.cacheNumBlocks === 99).toBe(true);
  });

  it('truncates fractional counts', () => {
    expect(extract('vllm:num_requests_running 2.9').metrics.runningRequestsSize).toBe(2);
  });
});

describe('extractEndpointMetrics: other engines', () => {
  it.each([
    [
      'sglang',
      'sglang:num_queue_reqs{model_name="m"} 5\nsglang:num_running_reqs{model_name="m"} 11\nsglang:token_usage{model_name="m"} 0.3\nsglang:page_size 1\nsglang:num_pages 5000\n',
      { waitingQueueSize: 5, runningRequestsSize: 11, kvCacheUsagePercent: 0.3, cacheBlockSize: 1, cacheNumBlocks: 5000 },
    ],
    [
      'trtllm-serve',
      'trtllm_num_requests_waiting 2\ntrtllm_num_requests_running 3\ntrtllm_kv_cache_utilization 0.9\ntrtllm_kv_cache_tokens_per_block 32\ntrtllm_kv_cache_max_blocks 100\n',
      { waitingQueueSize: 2, runningRequestsSize: 3, kvCacheUsagePercent: 0.9, cacheBlockSize: 32, cacheNumBlocks: 100 },
    ],
    [
      'triton-tensorrt-llm',
      [
        'nv_trt_llm_request_metrics{model="x",request_type="scheduled"} 4',
        'nv_trt_llm_request_metrics{model="x",request_type="waiting"} 1',
        'nv_trt_llm_request_metrics{model="x",request_type="active"} 9',
        'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.5',
        'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per"} 64',
        'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max"} 700',
      ].join('\n'),
      { waitingQueueSize: 1, runningRequestsSize: 4, kvCacheUsagePercent: 0.5, cacheBlockSize: 64, cacheNumBlocks: 700 },
    ],
  ])('maps %s', (engine, text, expected) => {
    const r = extract(text, ENGINE_MAPPINGS[engine] as EngineMapping);
    expect(r.missing).toEqual([]);
    expect(r.metrics).toMatchObject({ ...expected, updateTime: NOW, maxActiveModels: 0 });
  });

  it('does not read vLLM names for an SGLang endpoint', () => {
    const r = extract(VLLM_PAGE, ENGINE_MAPPINGS['sglang'] as EngineMapping);
    expect(r.updated).toBe(false);
  });
});
