import {
  oneTwoFiveBuckets,
  PHASE_BUCKETS_SECONDS,
  TPOT_BUCKETS_SECONDS,
  TTFT_BUCKETS_SECONDS,
  VLLM_METRICS as M,
} from '@llmd/model-server';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineSnapshot, RequestOutcome } from '../engine/index.js';

/** What the metrics read from the engine at scrape time. */
export interface MetricsSource {
  snapshot(): EngineSnapshot;
  readonly counters: {
    promptTokens: number;
    generationTokens: number;
    prefixCacheQueries: number;
    prefixCacheHits: number;
    externalPrefixCacheQueries: number;
    externalPrefixCacheHits: number;
    preemptions: number;
  };
}

/** A counter that mirrors a monotonic number kept elsewhere, catching up at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, labels: Record<string, string>, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    labelNames: Object.keys(labels),
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) {
        this.inc(labels, now - seen);
        seen = now;
      }
    },
  });
}

/**
 * One simulated server's Prometheus metrics under vLLM's names and labels (`model_name` on every
 * series). Gauges and counters are read from the engine when scraped; histograms are observed as
 * requests finish, on the simulated timeline.
 */
export class SimMetrics {
  readonly registry = new Registry();
  readonly #labels: { model_name: string };
  readonly #ttft: Histogram<'model_name'>;
  readonly #tpot: Histogram<'model_name'>;
  readonly #itl: Histogram<'model_name'>;
  readonly #reqTpot: Histogram<'model_name'>;
  readonly #e2e: Histogram<'model_name'>;
  readonly #queue: Histogram<'model_name'>;
  readonly #inference: Histogram<'model_name'>;
  readonly #prefill: Histogram<'model_name'>;
  readonly #decode: Histogram<'model_name'>;
  readonly #promptTokens: Histogram<'model_name'>;
  readonly #generationTokens: Histogram<'model_name'>;
  readonly #maxGenerationTokens: Histogram<'model_name'>;
  readonly #paramsMaxTokens: Histogram<'model_name'>;
  readonly #success: Counter<'model_name' | 'finish_reason'>;

  constructor(modelName: string, source: MetricsSource, opts: { maxModelLen: number; cacheConfig: Record<string, string> }) {
    const labels = { model_name: modelName };
    this.#labels = labels;
    const r = this.registry;
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, labelNames: ['model_name'], registers: [r], collect() { this.set(labels, read()); } });

    gauge(M.numRequestsRunning, 'Number of requests in model execution batches.', () => source.snapshot().running);
    gauge(M.numRequestsWaiting, 'Number of requests waiting to be processed.', () => source.snapshot().waiting);
    gauge(M.kvCacheUsagePerc, 'KV-cache usage. 1 means 100 percent usage.', () => source.snapshot().kvUsage);
    gauge(M.gpuCacheUsagePerc, 'GPU KV-cache usage (deprecated name of vllm:kv_cache_usage_perc).', () => source.snapshot().kvUsage);

    const cacheLabels = { ...opts.cacheConfig };
    new Gauge({
      name: M.cacheConfigInfo,
      help: 'Information of the LLMEngine CacheConfig.',
      labelNames: Object.keys(cacheLabels),
      registers: [r],
    }).set(cacheLabels, 1);

    new Gauge({
      name: M.loraRequestsInfo,
      help: 'Running stats on LoRA requests.',
      labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
      registers: [r],
      collect() {
        const s = source.snapshot();
        this.reset();
        this.set(
          { max_lora: String(s.maxLoras), running_lora_adapters: s.runningLoras.join(','), waiting_lora_adapters: s.waitingLoras.join(',') },
          Date.now() / 1000,
        );
      },
    });

    const c = source.counters;
    mirroredCounter(r, M.promptTokensTotal, 'Number of prefill tokens processed.', labels, () => c.promptTokens);
    mirroredCounter(r, M.generationTokensTotal, 'Number of generation tokens processed.', labels, () => c.generationTokens);
    mirroredCounter(r, M.prefixCacheQueriesTotal, 'Prefix cache queries, in terms of number of queried tokens.', labels, () => c.prefixCacheQueries);
    mirroredCounter(r, M.prefixCacheHitsTotal, 'Prefix cache hits, in terms of number of cached tokens.', labels, () => c.prefixCacheHits);
    mirroredCounter(r, 'vllm:external_prefix_cache_queries_total', 'External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.', labels, () => c.externalPrefixCacheQueries);
    mirroredCounter(r, 'vllm:external_prefix_cache_hits_total', 'External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.', labels, () => c.externalPrefixCacheHits);
    mirroredCounter(r, M.numPreemptionsTotal, 'Cumulative number of preemptions from the engine.', labels, () => c.preemptions);

    this.#success = new Counter({
      name: M.requestSuccessTotal,
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'finish_reason'],
      registers: [r],
    });
    const hist = (name: string, help: string, buckets: readonly number[]) =>
      new Histogram({ name, help, labelNames: ['model_name'], buckets: [...buckets], registers: [r] });
    this.#ttft = hist(M.timeToFirstTokenSeconds, 'Histogram of time to first token in seconds.', TTFT_BUCKETS_SECONDS);
    this.#tpot = hist(M.timePerOutputTokenSeconds, 'Histogram of time per output token in seconds.', TPOT_BUCKETS_SECONDS);
    this.#itl = hist(M.interTokenLatencySeconds, 'Histogram of inter-token latency in seconds.', TPOT_BUCKETS_SECONDS);
    this.#reqTpot = hist(M.requestTimePerOutputTokenSeconds, 'Histogram of time_per_output_token_seconds per request.', TPOT_BUCKETS_SECONDS);
    this.#e2e = hist(M.e2eRequestLatencySeconds, 'Histogram of e2e request latency in seconds.', PHASE_BUCKETS_SECONDS);
    this.#queue = hist(M.requestQueueTimeSeconds, 'Histogram of time spent in WAITING phase for request.', PHASE_BUCKETS_SECONDS);
    this.#inference = hist(M.requestInferenceTimeSeconds, 'Histogram of time spent in RUNNING phase for request.', PHASE_BUCKETS_SECONDS);
    this.#prefill = hist(M.requestPrefillTimeSeconds, 'Histogram of time spent in PREFILL phase for request.', PHASE_BUCKETS_SECONDS);
    this.#decode = hist(M.requestDecodeTimeSeconds, 'Histogram of time spent in DECODE phase for request.', PHASE_BUCKETS_SECONDS);
    const tokenBuckets = oneTwoFiveBuckets(opts.maxModelLen);
    this.#promptTokens = hist(M.requestPromptTokens, 'Number of prefill tokens processed.', tokenBuckets);
    this.#generationTokens = hist(M.requestGenerationTokens, 'Number of generation tokens processed.', tokenBuckets);
    this.#maxGenerationTokens = hist(M.requestMaxNumGenerationTokens, 'Histogram of maximum number of requested generation tokens.', tokenBuckets);
    this.#paramsMaxTokens = hist(M.requestParamsMaxTokens, 'Histogram of the max_tokens request parameter.', tokenBuckets);
  }

  /** Records the gap between two token releases of one request (`count` tokens arrived after `gapMs`). */
  observeTokens(count: number, gapMs: number): void {
    const perToken = gapMs / 1000 / count;
    for (let i = 0; i < count; i++) {
      this.#itl.observe(this.#labels, perToken);
      this.#tpot.observe(this.#labels, perToken);
    }
  }

  /** Records a finished request's phases and token counts. */
  observeFinished(o: RequestOutcome, finishReason: string, maxTokens: number | null): void {
    const l = this.#labels;
    const s = (ms: number) => Math.max(0, ms) / 1000;
    this.#success.inc({ ...l, finish_reason: finishReason });
    if (o.firstTokenMs !== null) this.#ttft.observe(l, s(o.firstTokenMs - o.arrivalMs));
    this.#e2e.observe(l, s(o.finishedMs - o.arrivalMs));
    if (o.scheduledMs !== null) {
      this.#queue.observe(l, s(o.scheduledMs - o.arrivalMs));
      this.#inference.observe(l, s(o.finishedMs - o.scheduledMs));
      if (o.firstTokenMs !== null) this.#prefill.observe(l, s(o.firstTokenMs - o.scheduledMs));
    }
    if (o.firstTokenMs !== null) {
      this.#decode.observe(l, s(o.finishedMs - o.firstTokenMs));
      if (o.outputTokens > 1) this.#reqTpot.observe(l, s(o.finishedMs - o.firstTokenMs) / (o.outputTokens - 1));
    }
    this.#promptTokens.observe(l, o.promptTokens);
    this.#generationTokens.observe(l, o.outputTokens);
    this.#maxGenerationTokens.observe(l, o.outputTokens);
    if (maxTokens !== null) this.#paramsMaxTokens.observe(l, maxTokens);
  }

  /** Prometheus text exposition. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
