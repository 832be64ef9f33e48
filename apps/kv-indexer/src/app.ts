import { ConfigError } from '@llmd/cli';
import { InMemoryKvBlockIndex, KvEventIngestion, KvIndexer, RedisKvBlockIndex, type KvBlockIndex } from '@llmd/kv-indexing';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { EndpointsFileWatcher } from './discovery/endpoints-file.js';
import { createGrpcServer } from './grpc/server.js';
import { createHttpServer } from './http/server.js';
import { IndexerMetrics, type IngestStats } from './metrics.js';
import type { KvIndexerOptions } from './options.js';
import { ScoringService } from './scoring.js';
import { PromptTokenizers } from './tokenization/prompt-tokenizers.js';

/** A running indexer and how to stop it. */
export interface RunningKvIndexer extends AsyncDisposable {
  /** Bound addresses: HTTP and gRPC ports (gRPC null when off), the SUB socket's bound endpoint (null when not binding). */
  readonly ports: { readonly http: number; readonly grpc: number | null; readonly zmq: string | null };
  readonly index: KvBlockIndex;
  readonly indexer: KvIndexer;
  /** Subscriber, sharded pool and applier of the KV events. */
  readonly ingestion: KvEventIngestion;
  readonly tokenizers: PromptTokenizers;
  readonly metrics: IndexerMetrics;
  /** The endpoints-file follower in per-endpoint mode, else null. */
  readonly discovery: EndpointsFileWatcher | null;
  /** Stops the servers, the subscriptions, the workers and the index connection. Safe to call twice. */
  close(): Promise<void>;
}

/** Extra inputs of {@link startKvIndexer}, for tests and embedding. */
export interface KvIndexerDeps {
  readonly logger: Logger;
  /** An index to use instead of the one the options describe (it is closed with the indexer). */
  readonly index?: KvBlockIndex;
}

async function openIndex(options: KvIndexerOptions, logger: Logger): Promise<KvBlockIndex> {
  if (options.indexBackend === 'memory') {
    return new InMemoryKvBlockIndex(options.indexMaxBlocks === null ? {} : { maxBlocks: options.indexMaxBlocks });
  }
  const index = new RedisKvBlockIndex({ url: options.redisUrl, logger: logger.child({ component: 'redis' }) });
  // The client retries a refused connection for ever: bound the wait so a wrong URL fails the start.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${options.redisConnectTimeoutMs} ms`)), options.redisConnectTimeoutMs);
  });
  const connecting = index.connect();
  connecting.catch(() => undefined);
  try {
    await Promise.race([connecting, timeout]);
  } catch (cause) {
    await index.close().catch(() => undefined);
    throw new ConfigError('--redis-url', `cannot connect to ${options.redisUrl}: ${(cause as Error).message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  return index;
}

function portOf(app: FastifyInstance): number {
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/**
 * Builds and starts the indexer: the index (memory or Redis), event ingestion (the SUB socket bound in
 * centralized mode and/or one connection per endpoint of the endpoints file, sharded application),
 * the tokenizers, and the HTTP and gRPC servers. Logs `kv-indexer listening` with the bound ports.
 */
export async function startKvIndexer(options: KvIndexerOptions, deps: KvIndexerDeps): Promise<RunningKvIndexer> {
  const { logger } = deps;
  const closers: Array<() => Promise<void> | void> = [];
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      for (const c of closers.reverse()) {
        try {
          await c();
        } catch (err) {
          logger.warn({ err }, 'error while shutting down');
        }
      }
    })());

  try {
    const index = deps.index ?? (await openIndex(options, logger));
    closers.push(() => index.close());
    const indexer = new KvIndexer({ index, blockSize: options.blockSize, hashSeed: options.hashSeed, tierWeights: options.tierWeights });
    const tokenizers = new PromptTokenizers({
      tokenizerPath: options.tokenizerPath,
      poolSize: options.tokenizerPoolSize,
      prefixCacheTokens: options.prefixCacheTokens,
      logger: logger.child({ component: 'tokenizer' }),
    });
    closers.push(() => tokenizers.close());

    // Ingestion exists before the metrics that read its counters; the lag histogram is attached below.
    let observeLag: (seconds: number) => void = () => undefined;
    const ingestion = new KvEventIngestion({
      index,
      blockSize: options.blockSize,
      hashSeed: options.hashSeed,
      concurrency: options.concurrency,
      replayPort: options.replayPort,
      logger,
      onApplied: (_task, lag) => observeLag(lag),
    });
    closers.push(() => ingestion.close());
    const { applier, pool, subscriber } = ingestion;

    const ingestStats = (): IngestStats => {
      const a = applier.counters;
      const s = subscriber.counters;
      return {
        eventsApplied: { BlockStored: a.applied.blockStored, BlockRemoved: a.applied.blockRemoved, AllBlocksCleared: a.applied.allBlocksCleared },
        eventsDropped: { ...a.dropped, 'unknown-type': s.unknownEvents },
        batches: { received: s.received, applied: pool.counters.applied, malformed: s.malformed, duplicate: s.duplicates, missed: s.missed, failed: pool.counters.failed },
        replays: { ...s.replays },
        gaps: s.gaps,
        restarts: s.restarts,
        publishers: subscriber.publishers,
        queueDepth: pool.depth,
        subscriptions: subscriber.endpoints.length,
      };
    };
    const metrics = new IndexerMetrics({ indexStats: () => index.stats(), prefixCacheStats: () => tokenizers.prefixCacheStats(), ingestStats });
    observeLag = (seconds) => metrics.ingestionLag.observe(seconds);

    if (options.tokenizerPath !== null) {
      // A given folder is the tokenizer of every model: fail at start-up, naming the flag, if it is unusable.
      await tokenizers.encodePrompt('', 'warm up').catch((cause: unknown) => {
        throw new ConfigError('--tokenizer', (cause as Error).message, { cause });
      });
    }

    let zmq: string | null = null;
    if (options.zmqEndpoint !== null) {
      try {
        zmq = await ingestion.bind(options.zmqEndpoint);
      } catch (cause) {
        throw new ConfigError('--zmq-endpoint', `cannot bind ${options.zmqEndpoint}: ${(cause as Error).message}`, { cause });
      }
    }
    let discovery: EndpointsFileWatcher | null = null;
    if (options.endpointsFile !== null) {
      const watcher = new EndpointsFileWatcher({
        path: options.endpointsFile,
        zmqPort: options.zmqPort,
        logger: logger.child({ component: 'discovery' }),
        onChange: async (added, removed) => {
          for (const e of removed) await ingestion.disconnect(e.zmqEndpoint);
          for (const e of added) ingestion.connect(e.zmqEndpoint, e.pod);
        },
      });
      try {
        await watcher.start();
      } catch (cause) {
        throw new ConfigError('--endpoints-file', (cause as Error).message, { cause });
      }
      closers.push(() => watcher.stop());
      discovery = watcher;
    }

    const scoring = new ScoringService({ scorer: indexer, tokenizers, metrics, backend: options.indexBackend, blockSize: options.blockSize });
    const http = createHttpServer({ scoring, metrics, logger });
    closers.push(() => http.close());
    await http.listen({ host: options.host, port: options.httpPort });
    let grpcPort: number | null = null;
    if (options.grpcPort !== null) {
      const grpc = createGrpcServer({ scoring, logger });
      closers.push(() => grpc.close());
      grpcPort = await grpc.listen(options.grpcPort, options.host);
    }

    const ports = { http: portOf(http), grpc: grpcPort, zmq };
    logger.info(
      { ports, backend: options.indexBackend, blockSize: options.blockSize, endpoints: discovery?.endpoints.length ?? null },
      'kv-indexer listening',
    );
    return { ports, index, indexer, ingestion, tokenizers, metrics, discovery, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
