/** Identity and address of one model-server endpoint (a pod's target port). */
export interface EndpointMetadata {
  /** Unique key: `namespace/name`; a pod discovered through an InferencePool gets one per target port, `namespace/<pod>-rank-<i>`. */
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  /** IP address (or host name in standalone set-ups). */
  readonly address: string;
  readonly port: number;
  /** `address:port`, as written in `x-gateway-destination-endpoint`. */
  readonly hostPort: string;
  /** Pod labels, read by label filters (e.g. `llm-d.ai/role`). */
  readonly labels: Readonly<Record<string, string>>;
}

/** What the endpoint's model server last reported (vLLM or SGLang metrics, mapped). */
export interface EndpointMetrics {
  /** Requests waiting in the model server's queue. */
  readonly waitingQueueSize: number;
  /** Requests in the model server's running batch. */
  readonly runningRequestsSize: number;
  /** KV-cache usage, 0..1. */
  readonly kvCacheUsagePercent: number;
  /** LoRA adapters in the running batch. */
  readonly activeModels: ReadonlySet<string>;
  /** LoRA adapters waiting. */
  readonly waitingModels: ReadonlySet<string>;
  /** `max_lora` of `vllm:lora_requests_info`; 0 when unknown. */
  readonly maxActiveModels: number;
  /** `block_size` of `vllm:cache_config_info`; 0 when unknown. */
  readonly cacheBlockSize: number;
  /** `num_gpu_blocks` of `vllm:cache_config_info`; 0 when unknown. */
  readonly cacheNumBlocks: number;
  /** When the metrics were last refreshed (ms, `performance.now()` clock); 0 = never. */
  readonly updateTime: number;
}

/** Metrics of an endpoint never scraped. */
export const EMPTY_METRICS: EndpointMetrics = Object.freeze({
  waitingQueueSize: 0,
  runningRequestsSize: 0,
  kvCacheUsagePercent: 0,
  activeModels: new Set<string>(),
  waitingModels: new Set<string>(),
  maxActiveModels: 0,
  cacheBlockSize: 0,
  cacheNumBlocks: 0,
  updateTime: 0,
});

/**
 * An endpoint as plugins see it: identity, latest metrics, and attributes that data producers
 * attach for the current request (prefix match, in-flight load, …). The datastore owns endpoints;
 * `metrics` is replaced by the scrape loop, never mutated.
 */
export interface Endpoint {
  readonly metadata: EndpointMetadata;
  readonly metrics: EndpointMetrics;
}
