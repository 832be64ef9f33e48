// The engine's contracts with the rest of the simulator: what it is given and what it reports.

/** Computes prefix-cache block digests; the real one is vLLM's sha256_cbor, injected by the server. */
export interface BlockHasher {
  /**
   * Digest of one full block given the parent digest (null for the first block) and the block's
   * extra keys. Must not keep a reference to `tokens`: the engine passes views it reuses.
   */
  hashBlock(parent: Uint8Array | null, tokens: ArrayLike<number>, extraKeys: readonly unknown[] | null): Uint8Array;
  /** The 64-bit hash published in KV events. */
  eventHash(digest: Uint8Array): bigint;
}

/** Payload of a BlockStored KV event: a run of consecutive blocks of one request that became full. */
export interface KvBlockStored {
  blockHashes: bigint[];
  /** Event hash of the block before the first one, null when the run starts at token 0. */
  parentBlockHash: bigint | null;
  /** Every token of the stored blocks, `blockSize` per block. */
  tokenIds: number[];
  blockSize: number;
  loraName: string | null;
  /** Extra keys each block was hashed with, one entry per block. */
  extraKeys: (readonly unknown[] | null)[];
}

/** Payload of a BlockRemoved KV event. */
export interface KvBlockRemoved {
  blockHashes: bigint[];
}

/** Receives the engine's KV-cache events; the server turns them into ZMQ batches. */
export interface KvEventSink {
  /** Blocks entered the prefix cache. */
  blockStored(e: KvBlockStored): void;
  /** Cached blocks were evicted for reuse. */
  blockRemoved(e: KvBlockRemoved): void;
  /** The whole prefix cache was dropped. */
  allBlocksCleared(): void;
}

/** One sequence to run: its prompt, the exact tokens it will generate, and its scheduling attributes. */
export interface EngineRequest {
  /** Unique among requests the engine currently holds. */
  id: string;
  /** At least one token. */
  promptTokenIds: readonly number[];
  /** Exactly the tokens to generate (precomputed by the HTTP layer); at least one. A prefill leg uses only the first. */
  outputTokenIds: readonly number[];
  /** Adapter name, null for the base model. */
  loraName: string | null;
  /** vLLM `cache_salt`: isolates this request's prefix-cache entries. */
  cacheSalt: string | null;
  /** Lower runs first under the 'priority' policy; ignored under 'fcfs'. */
  priority: number;
  /** P/D leg: 'prefill' = do_remote_decode, 'decode' = do_remote_prefill, null for an ordinary request. */
  pd: 'prefill' | 'decode' | null;
}

/** How a request ended, with the timestamps the server's histograms need (simulated timeline, ms). */
export interface RequestOutcome {
  reason: 'done' | 'aborted';
  promptTokens: number;
  /** Prefix-cache hit in tokens at the first admission (block-aligned). */
  cachedTokens: number;
  /** Output tokens released to the observer. */
  outputTokens: number;
  preemptions: number;
  arrivalMs: number;
  /** When the request first entered the running batch, null if it never did. */
  scheduledMs: number | null;
  firstTokenMs: number | null;
  finishedMs: number;
}

/** Receives one request's progress. */
export interface RequestObserver {
  /** Called at the end of each step that produced output tokens for this request; first call = first token. */
  onTokens(count: number, atMs: number): void;
  /** Called exactly once, also after abort or close. */
  onFinished(r: RequestOutcome): void;
}

/** Whether the engine accepted a request. */
export type SubmitResult = { ok: true } | { ok: false; reason: 'queue_full' | 'too_long' | 'closed' };

/** Gauges as vLLM reports them, read at scrape time. */
export interface EngineSnapshot {
  /** Requests in the running batch. */
  running: number;
  /** Requests waiting for admission, including P/D decode legs waiting for their KV transfer. */
  waiting: number;
  /** `1 − free/(numGpuBlocks − 1)`; idle cached blocks count as free. */
  kvUsage: number;
  numGpuBlocks: number;
  blockSize: number;
  /** Distinct adapters among running requests. */
  runningLoras: string[];
  /** Distinct adapters among waiting requests. */
  waitingLoras: string[];
  maxLoras: number;
  /** Blocks holding a prefix-cache entry (in use or idle). */
  cachedBlocks: number;
  /** Blocks whose KV is pinned for a P/D transfer by finished prefill legs. */
  pinnedBlocks: number;
}

/** Monotonic counters, plain numbers the metrics layer mirrors into Prometheus counters. */
export interface EngineCounters {
  /** Prompt tokens of requests that produced their first token. */
  promptTokens: number;
  /** Output tokens released. */
  generationTokens: number;
  /** Prompt tokens looked up in the prefix cache at first admission. */
  prefixCacheQueries: number;
  /** Tokens found in the prefix cache at first admission. */
  prefixCacheHits: number;
  /** Lookups made when a preempted request is admitted again (vLLM's `preempted_*` prefix stats). */
  preemptedPrefixCacheQueries: number;
  /** Hits of those lookups. */
  preemptedPrefixCacheHits: number;
  /** Prompt tokens looked up at first admission, counted as vLLM counts KV-connector queries (`vllm:external_prefix_cache_queries`). */
  externalPrefixCacheQueries: number;
  /** Prompt tokens a P/D decode leg received by KV transfer instead of computing them (`vllm:external_prefix_cache_hits`). */
  externalPrefixCacheHits: number;
  preemptions: number;
  /** Requests that produced all their tokens. */
  requestsFinished: number;
  requestsAborted: number;
  /** Engine steps run (step-based latency models only). */
  steps: number;
  /** Times the virtual timeline was moved forward because timers ran too late to keep up. */
  lagResyncs: number;
}
