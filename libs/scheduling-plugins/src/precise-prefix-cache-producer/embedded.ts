import { InMemoryKvBlockIndex, KvEventIngestion, KvIndexer, RedisKvBlockIndex, type KvBlockIndex } from '@llmd/kv-indexing';
import type { InferenceRequest, PluginHandle } from '@llmd/scheduling';
import { TokenizerPool } from '@llmd/tokenizer';
import type { Logger } from 'pino';
import type { PreciseProducerParameters } from './plugin.js';
import { requestTokenIds, type PrefixScores, type PrefixScoreSource } from './source.js';

/** How often the endpoint list is compared with the open subscriptions in discovery mode. */
const RECONCILE_INTERVAL_MS = 1000;

/** What the embedded source is built from. */
export interface EmbeddedIndexSourceOptions {
  readonly name: string;
  readonly params: PreciseProducerParameters;
  readonly blockSize: number;
  readonly handle: PluginHandle;
  readonly logger: Logger;
}

/**
 * The index inside the router, as upstream runs it now: an in-memory or Redis index fed by the model
 * servers' KV events over ZMQ — bound at `kvEventsConfig.zmqEndpoint` (centralized), or connected to
 * every endpoint's publisher as endpoints come and go (`discoverPods`) — and prompts tokenized off
 * the event loop with the model's tokenizer.
 */
export class EmbeddedIndexSource implements PrefixScoreSource {
  readonly index: KvBlockIndex;
  readonly indexer: KvIndexer;
  readonly ingestion: KvEventIngestion;
  readonly ready: Promise<void>;
  readonly #o: EmbeddedIndexSourceOptions;
  readonly #pools = new Map<string, Promise<TokenizerPool>>();
  readonly #connected = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(o: EmbeddedIndexSourceOptions) {
    this.#o = o;
    const { params: p, logger } = o;
    const cfg = p.indexerConfig.kvBlockIndexConfig;
    // Upstream's precedence: valkeyConfig before redisConfig (both speak the Redis protocol).
    const redisAddress = cfg.valkeyConfig?.address ?? cfg.redisConfig?.address;
    this.index = redisAddress
      ? new RedisKvBlockIndex({ url: redisAddress.includes('://') ? redisAddress : `redis://${redisAddress}`, keyPrefix: `${o.name}:`, logger })
      : new InMemoryKvBlockIndex({
          ...(cfg.inMemoryConfig?.size ? { maxBlocks: cfg.inMemoryConfig.size } : {}),
          ...(cfg.inMemoryConfig?.podCacheSize ? { maxPodsPerBlock: cfg.inMemoryConfig.podCacheSize } : {}),
        });
    const weights = p.indexerConfig.kvCacheBackendConfigs;
    this.indexer = new KvIndexer({
      index: this.index,
      blockSize: o.blockSize,
      hashSeed: p.tokenProcessorConfig.hashSeed,
      ...(weights ? { tierWeights: Object.fromEntries(weights.map((w) => [w.name.toLowerCase(), w.weight])) } : {}),
    });
    const ev = p.kvEventsConfig;
    this.ingestion = new KvEventIngestion({
      index: this.index,
      blockSize: o.blockSize,
      hashSeed: p.tokenProcessorConfig.hashSeed,
      concurrency: ev.concurrency,
      topicFilter: ev.topicFilter,
      replayPort: ev.replaySocketPort ?? null,
      logger,
    });
    this.ready = this.#start().catch((err: Error) => {
      logger.error({ err: err.message }, 'precise prefix cache: KV-event ingestion failed to start');
    });
  }

  async #start(): Promise<void> {
    if (this.index instanceof RedisKvBlockIndex) await this.index.connect();
    const ev = this.#o.params.kvEventsConfig;
    if (ev.zmqEndpoint) {
      const bound = await this.ingestion.bind(ev.zmqEndpoint);
      this.#o.logger.info({ endpoint: bound }, 'precise prefix cache: receiving KV events (centralized)');
      return;
    }
    if (!ev.discoverPods) return;
    this.#reconcile();
    this.#timer = setInterval(() => this.#reconcile(), RECONCILE_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Connects to the publishers of new endpoints and drops those of endpoints that went away. */
  #reconcile(): void {
    if (this.#closed) return;
    const port = this.#o.params.kvEventsConfig.socketPort;
    const seen = new Set<string>();
    for (const e of this.#o.handle.endpoints()) {
      const pod = e.metadata.hostPort;
      seen.add(pod);
      if (this.#connected.has(pod)) continue;
      const host = e.metadata.address.includes(':') ? `[${e.metadata.address}]` : e.metadata.address;
      const endpoint = `tcp://${host}:${port}`;
      this.ingestion.connect(endpoint, pod);
      this.#connected.set(pod, endpoint);
    }
    for (const [pod, endpoint] of this.#connected) {
      if (seen.has(pod)) continue;
      this.#connected.delete(pod);
      void this.ingestion.disconnect(endpoint);
    }
  }

  #tokenizer(model: string): () => Promise<TokenizerPool> {
    return () => {
      const path = this.#o.params.tokenizerPath;
      const key = path ?? model;
      let pool = this.#pools.get(key);
      if (!pool) {
        pool = TokenizerPool.create({ source: path ? { path } : { model }, size: 1 });
        pool.catch(() => this.#pools.delete(key));
        this.#pools.set(key, pool);
      }
      return pool;
    };
  }

  async score(req: InferenceRequest, pods: readonly string[]): Promise<PrefixScores> {
    await this.ready;
    const tokens = await requestTokenIds(req, this.#tokenizer(req.targetModel));
    const scores = await this.indexer.scoreTokens(tokens, req.targetModel, { pods });
    return { scores, totalBlocks: Math.floor(tokens.length / this.#o.blockSize), blockSize: this.#o.blockSize };
  }

  async speculate(req: InferenceRequest, pod: string, ttlMs: number): Promise<void> {
    const tokens = await requestTokenIds(req, this.#tokenizer(req.targetModel));
    const keys = this.indexer.blockKeys(tokens, req.targetModel);
    if (keys.length === 0) return;
    const entry = { pod, tier: 'gpu', speculative: true };
    await this.index.add(null, keys, [entry]);
    setTimeout(() => {
      if (this.#closed) return;
      for (const key of keys) void this.index.evict(key, 'request', [entry]).catch(() => undefined);
    }, ttlMs).unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.ingestion.close();
    await this.index.close();
    for (const pool of this.#pools.values()) await pool.then((p) => p.close(), () => undefined);
  }
}
