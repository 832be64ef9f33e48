/**
 * vLLM's Prometheus metric names, as the simulator exports them and the router and autoscaler read them.
 * Counters carry their exposition name (with `_total`), the name a scraper sees.
 */
export const VLLM_METRICS = {
  /** Gauge: requests in the running batch. */
  numRequestsRunning: 'vllm:num_requests_running',
  /** Gauge: requests in the waiting queue. */
  numRequestsWaiting: 'vllm:num_requests_waiting',
  /** Gauge 0..1: KV-cache usage (current name). */
  kvCacheUsagePerc: 'vllm:kv_cache_usage_perc',
  /** Gauge 0..1: KV-cache usage under its deprecated name, still read by older routers. */
  gpuCacheUsagePerc: 'vllm:gpu_cache_usage_perc',
  /** Info gauge with labels block_size, num_gpu_blocks, … */
  cacheConfigInfo: 'vllm:cache_config_info',
  /** Info gauge with labels max_lora, running_lora_adapters, waiting_lora_adapters; value = update time. */
  loraRequestsInfo: 'vllm:lora_requests_info',
  /** Counter: prompt tokens processed. */
  promptTokensTotal: 'vllm:prompt_tokens_total',
  /** Counter: tokens generated. */
  generationTokensTotal: 'vllm:generation_tokens_total',
  /** Counter: prompt tokens looked up in the prefix cache. */
  prefixCacheQueriesTotal: 'vllm:prefix_cache_queries_total',
  /** Counter: prompt tokens found in the prefix cache. */
  prefixCacheHitsTotal: 'vllm:prefix_cache_hits_total',
  /** Counter: preemptions. */
  numPreemptionsTotal: 'vllm:num_preemptions_total',
  /** Counter with label finish_reason: finished requests. */
  requestSuccessTotal: 'vllm:request_success_total',
  /** Histogram, seconds: time to first token. */
  timeToFirstTokenSeconds: 'vllm:time_to_first_token_seconds',
  /** Histogram, seconds: time per output token (older name of the inter-token latency). */
  timePerOutputTokenSeconds: 'vllm:time_per_output_token_seconds',
  /** Histogram, seconds: inter-token latency. */
  interTokenLatencySeconds: 'vllm:inter_token_latency_seconds',
  /** Histogram, seconds: a request's mean time per output token after the first. */
  requestTimePerOutputTokenSeconds: 'vllm:request_time_per_output_token_seconds',
  /** Histogram, seconds: arrival to last token. */
  e2eRequestLatencySeconds: 'vllm:e2e_request_latency_seconds',
  /** Histogram, seconds: time spent waiting. */
  requestQueueTimeSeconds: 'vllm:request_queue_time_seconds',
  /** Histogram, seconds: first scheduled to last token. */
  requestInferenceTimeSeconds: 'vllm:request_inference_time_seconds',
  /** Histogram, seconds: first scheduled to first token. */
  requestPrefillTimeSeconds: 'vllm:request_prefill_time_seconds',
  /** Histogram, seconds: first token to last token. */
  requestDecodeTimeSeconds: 'vllm:request_decode_time_seconds',
  /** Histogram: prompt tokens per request. */
  requestPromptTokens: 'vllm:request_prompt_tokens',
  /** Histogram: generated tokens per request. */
  requestGenerationTokens: 'vllm:request_generation_tokens',
  /** Histogram: largest generation per request group. */
  requestMaxNumGenerationTokens: 'vllm:request_max_num_generation_tokens',
  /** Histogram: the `max_tokens` a request asked for. */
  requestParamsMaxTokens: 'vllm:request_params_max_tokens',
} as const;

/** Bucket bounds vLLM uses for time to first token, in seconds. */
export const TTFT_BUCKETS_SECONDS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
] as const;

/** Bucket bounds vLLM uses for per-output-token times, in seconds. */
export const TPOT_BUCKETS_SECONDS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
] as const;

/** Bucket bounds vLLM uses for request phase times (queue, prefill, decode, end to end), in seconds. */
export const PHASE_BUCKETS_SECONDS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
] as const;

/** 1-2-5 bucket bounds up to `max`, as vLLM builds its token-count histograms. */
export function oneTwoFiveBuckets(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      const v = m * exp;
      if (v > max) return out;
      out.push(v);
    }
  }
}
