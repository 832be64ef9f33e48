// Benchmark: parsing a vLLM-sized /metrics page, with and without the name filter the scraper uses,
// plus mapping it to EndpointMetrics. Prints µs per page and writes a JSON report.
// Run: pnpm nx run model-server:bench (builds dist first; the script imports the built library).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_METRICS } from '@llmd/scheduling';
import { ENGINE_MAPPINGS, extractEndpointMetrics, mappingMetricNames, parsePrometheusText } from '../dist/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/parse.json', import.meta.url));
const iterations = Number(args.get('iterations') ?? 5000);

/** A page shaped like vLLM 0.11's: ~20 histograms with 20-30 buckets, counters, process gauges. */
function vllmPage(): string {
  const model = 'model_name="meta-llama/Llama-3.1-8B-Instruct"';
  const lines: string[] = [];
  const histograms = [
    'time_to_first_token_seconds', 'inter_token_latency_seconds', 'time_per_output_token_seconds', 'e2e_request_latency_seconds',
    'request_queue_time_seconds', 'request_inference_time_seconds', 'request_prefill_time_seconds', 'request_decode_time_seconds',
    'request_prompt_tokens', 'request_generation_tokens', 'request_max_num_generation_tokens', 'request_params_max_tokens',
    'request_params_n', 'iteration_tokens_total', 'request_time_per_output_token_seconds', 'kv_block_lifetime_seconds',
    'kv_block_idle_before_evict_seconds', 'kv_block_reuse_gap_seconds', 'request_prefill_kv_computed_tokens', 'num_preemptions_per_request',
  ];
  for (const h of histograms) {
    lines.push(`# HELP vllm:${h} Histogram of ${h}.`, `# TYPE vllm:${h} histogram`);
    for (let b = 0; b < 25; b++) lines.push(`vllm:${h}_bucket{engine="0",le="${(b * 0.25).toFixed(2)}",${model}} ${b * 17}.0`);
    lines.push(`vllm:${h}_bucket{engine="0",le="+Inf",${model}} 500.0`, `vllm:${h}_sum{engine="0",${model}} 123.4`, `vllm:${h}_count{engine="0",${model}} 500.0`);
  }
  for (const c of ['prompt_tokens_total', 'generation_tokens_total', 'prefix_cache_queries_total', 'prefix_cache_hits_total', 'num_preemptions_total']) {
    lines.push(`# TYPE vllm:${c} counter`, `vllm:${c}{engine="0",${model}} 98765.0`);
  }
  for (const reason of ['stop', 'length', 'abort', 'error']) lines.push(`vllm:request_success_total{engine="0",finished_reason="${reason}",${model}} 42.0`);
  for (let g = 0; g < 3; g++) lines.push(`python_gc_objects_collected_total{generation="${g}"} 1234.0`, `python_gc_collections_total{generation="${g}"} 56.0`);
  lines.push(
    '# TYPE vllm:num_requests_running gauge', `vllm:num_requests_running{engine="0",${model}} 12.0`,
    '# TYPE vllm:num_requests_waiting gauge', `vllm:num_requests_waiting{engine="0",${model}} 3.0`,
    '# TYPE vllm:kv_cache_usage_perc gauge', `vllm:kv_cache_usage_perc{engine="0",${model}} 0.42`,
    '# TYPE vllm:lora_requests_info gauge', 'vllm:lora_requests_info{max_lora="4",running_lora_adapters="a1,a2",waiting_lora_adapters=""} 1.7e+09',
    '# TYPE vllm:cache_config_info gauge', 'vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",num_gpu_blocks="27000"} 1.0',
  );
  return `${lines.join('\n')}\n`;
}

function measure(run: () => unknown): number {
  for (let i = 0; i < Math.min(500, iterations); i++) run();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) run();
  return ((performance.now() - t0) / iterations) * 1000;
}

const page = vllmPage();
const mapping = ENGINE_MAPPINGS['vllm'];
if (!mapping) throw new Error('no vllm mapping');
const names = mappingMetricNames(mapping);
const results = {
  pageChars: page.length,
  pageLines: page.split('\n').length,
  iterations,
  fullParseMicros: measure(() => parsePrometheusText(page)),
  filteredParseMicros: measure(() => parsePrometheusText(page, names)),
  filteredParseAndMapMicros: measure(() => extractEndpointMetrics(parsePrometheusText(page, names), mapping, EMPTY_METRICS, 1)),
};
for (const [k, v] of Object.entries(results)) console.log(`${k}: ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v}`);
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify({ node: process.version, ...results }, null, 2)}\n`);
console.log(`report: ${jsonOut}`);
