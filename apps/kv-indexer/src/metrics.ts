import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Ingestion counters as the subscriber, the event pool and the applier keep them (copied at scrape time). */
export interface IngestStats {
  /** Events applied, by vLLM event type. */
  readonly eventsApplied: Readonly<Record<'BlockStored' | 'BlockRemoved' | 'AllBlocksCleared', number>>;
  /** Events not applied, by reason (unknown-parent, index-error, unknown-type, …). */
  readonly eventsDropped: Readonly<Record<string, number>>;
  /** Batches by outcome: received (live), applied, malformed, duplicate, missed (lost to a gap), failed. */
  readonly batches: Readonly<Record<'received' | 'applied' | 'malformed' | 'duplicate' | 'missed' | 'failed', number>>;
  /** Replays asked of publishers, by outcome. */
  readonly replays: Readonly<Record<'started' | 'succeeded' | 'failed', number>>;
  /** Gaps in publishers' sequence numbers. */
  readonly gaps: number;
  /** Publisher restarts (sequence went back). */
  readonly restarts: number;
  /** Publishers with sequence state. */
  readonly publishers: number;
  /** Batches and resets queued or being applied. */
  readonly queueDepth: number;
  /** Publishers connected in per-endpoint mode. */
  readonly subscriptions: number;
}

/** Live figures the registry reads at scrape time. */
export interface MetricsSources {
  /** Request-key blocks and pod entries in the index. */
  indexStats(): Promise<{ blocks: number; entries: number }>;
  /** Prefix token cache counters summed over the tokenizers. */
  prefixCacheStats(): { hits: number; misses: number; reusedTokens: number; entries: number; tokens: number };
  /** Ingestion counters. */
  ingestStats(): IngestStats;
}

/** Buckets of lookups and tokenizations: 50 µs to 2.5 s. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Buckets of ingestion lag (publication to application): 1 ms to 60 s. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A counter whose value another component keeps: reset and copied in at scrape time. */
function mirroredCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: () => Array<[Record<L, string>, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels as never, value);
    },
  });
}

/** A gauge read at scrape time; when the read fails (Redis down) it keeps its last value, so /metrics still answers. */
function readGauge(registry: Registry, name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      try {
        this.set(await read());
      } catch {
        // Keep the last value; the failure shows in the lookup errors of score requests.
      }
    },
  });
}

/** The indexer's Prometheus metrics (`llm_d_kv_indexer_*`), in a registry of their own. */
export class IndexerMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  /** Now minus the batch's `ts`, when the batch has been applied. */
  readonly ingestionLag: Histogram;
  /** Time of one index lookup and scoring. */
  readonly lookupDuration: Histogram<'backend'>;
  /** Time to tokenize a request's prompt, by input kind (`prompt`, `messages`). */
  readonly tokenizationDuration: Histogram<'kind'>;
  /** Score requests answered, by API (`http`, `grpc`) and result code (`ok` or a catalogue code). */
  readonly scoreRequests: Counter<'api' | 'code'>;

  constructor(sources: MetricsSources) {
    const r = this.registry;
    const registers = [r];
    this.ingestionLag = new Histogram({ name: 'llm_d_kv_indexer_ingestion_lag_seconds', help: 'Time from a batch\'s publication (its ts) to its application to the index.', buckets: LAG_BUCKETS, registers });
    this.lookupDuration = new Histogram({ name: 'llm_d_kv_indexer_lookup_duration_seconds', help: 'Index lookup and scoring time per request.', labelNames: ['backend'], buckets: LATENCY_BUCKETS, registers });
    this.tokenizationDuration = new Histogram({ name: 'llm_d_kv_indexer_tokenization_duration_seconds', help: 'Prompt tokenization time per request.', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers });
    this.scoreRequests = new Counter({ name: 'llm_d_kv_indexer_score_requests_total', help: 'Score requests by API and result code.', labelNames: ['api', 'code'], registers });

    const entries = <K extends string>(record: Readonly<Record<K, number>>, label: string) =>
      (Object.entries(record) as Array<[string, number]>).map(([k, v]) => [{ [label]: k }, v] as [Record<string, string>, number]);
    mirroredCounter(r, 'llm_d_kv_indexer_events_applied_total', 'KV-cache events applied to the index, by type.', ['type'], () => entries(sources.ingestStats().eventsApplied, 'type'));
    mirroredCounter(r, 'llm_d_kv_indexer_events_dropped_total', 'KV-cache events not applied, by reason.', ['reason'], () => entries(sources.ingestStats().eventsDropped, 'reason'));
    mirroredCounter(r, 'llm_d_kv_indexer_event_batches_total', 'KV-event batches by result (received, applied, malformed, duplicate, missed, failed).', ['result'], () => entries(sources.ingestStats().batches, 'result'));
    mirroredCounter(r, 'llm_d_kv_indexer_replay_requests_total', 'Replays asked of publishers after a gap or a late join, by result.', ['result'], () => entries(sources.ingestStats().replays, 'result'));
    mirroredCounter(r, 'llm_d_kv_indexer_sequence_gaps_total', 'Gaps in publishers\' sequence numbers.', [], () => [[{}, sources.ingestStats().gaps]]);
    mirroredCounter(r, 'llm_d_kv_indexer_publisher_restarts_total', 'Publisher restarts seen (sequence numbers went back).', [], () => [[{}, sources.ingestStats().restarts]]);
    readGauge(r, 'llm_d_kv_indexer_publishers', 'Publishers with sequence state.', () => sources.ingestStats().publishers);
    readGauge(r, 'llm_d_kv_indexer_event_queue_depth', 'Batches and resets queued or being applied.', () => sources.ingestStats().queueDepth);
    readGauge(r, 'llm_d_kv_indexer_subscriptions', 'Publishers connected in per-endpoint mode.', () => sources.ingestStats().subscriptions);
    readGauge(r, 'llm_d_kv_indexer_index_blocks', 'Request-key blocks in the index.', async () => (await sources.indexStats()).blocks);
    readGauge(r, 'llm_d_kv_indexer_index_entries', 'Pod entries (endpoint, tier) over all blocks of the index.', async () => (await sources.indexStats()).entries);
    mirroredCounter(r, 'llm_d_kv_indexer_prefix_cache_segments_total', 'Prompt segments looked up in the prefix token cache, by result (hit, miss).', ['result'], () => {
      const s = sources.prefixCacheStats();
      return [[{ result: 'hit' }, s.hits], [{ result: 'miss' }, s.misses]];
    });
    mirroredCounter(r, 'llm_d_kv_indexer_prefix_cache_reused_tokens_total', 'Tokens taken from the prefix token cache instead of being tokenized.', [], () => [[{}, sources.prefixCacheStats().reusedTokens]]);
    readGauge(r, 'llm_d_kv_indexer_prefix_cache_tokens', 'Tokens held by the prefix token caches.', () => sources.prefixCacheStats().tokens);
  }
}

/** Ingestion counters before anything is wired (tests of the API layer). */
export const NO_INGEST: IngestStats = Object.freeze({
  eventsApplied: { BlockStored: 0, BlockRemoved: 0, AllBlocksCleared: 0 },
  eventsDropped: {},
  batches: { received: 0, applied: 0, malformed: 0, duplicate: 0, missed: 0, failed: 0 },
  replays: { started: 0, succeeded: 0, failed: 0 },
  gaps: 0,
  restarts: 0,
  publishers: 0,
  queueDepth: 0,
  subscriptions: 0,
});
