import { parseDurationMs } from '@llmd/cli';
import { definePlugin, type DataProducer, type Endpoint, type PreRequestHook } from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { EmbeddedIndexSource } from './embedded.js';
import { RemoteIndexerSource, type PrefixScoreSource } from './source.js';

/** Plugin type name (upstream). */
export const PRECISE_PREFIX_CACHE_PRODUCER_TYPE = 'precise-prefix-cache-producer';

const duration = z.union([z.string(), z.number()]);

/** Upstream's parameters (tokenProcessorConfig, indexerConfig, kvEventsConfig, speculative indexing) plus `indexerURL` for a remote indexer. */
export const preciseProducerParameters = z
  .object({
    tokenProcessorConfig: z
      .object({ blockSizeTokens: z.number().int().positive().optional(), blockSize: z.number().int().positive().optional(), hashSeed: z.string().default('') })
      .strict()
      .prefault({}),
    indexerConfig: z
      .object({
        kvBlockIndexConfig: z
          .object({
            inMemoryConfig: z.object({ size: z.number().int().positive().optional(), podCacheSize: z.number().int().positive().optional() }).strict().optional(),
            redisConfig: z.object({ address: z.string().min(1) }).strict().optional(),
            valkeyConfig: z.object({ address: z.string().min(1) }).strict().optional(),
            enableMetrics: z.boolean().optional(),
          })
          .strict()
          .prefault({}),
        kvCacheBackendConfigs: z.array(z.object({ name: z.string().min(1), weight: z.number().min(0) }).strict()).optional(),
        /** Deprecated upstream (tokenization moved out of the indexer); accepted and ignored. */
        tokenizersPoolConfig: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .prefault({}),
    kvEventsConfig: z
      .object({
        zmqEndpoint: z.string().min(1).optional(),
        topicFilter: z.string().default('kv@'),
        concurrency: z.number().int().positive().default(4),
        discoverPods: z.boolean().default(true),
        podLabelSelector: z.string().optional(),
        socketPort: z.number().int().min(1).max(65535).default(5557),
        replaySocketPort: z.number().int().min(1).max(65535).optional(),
        engineType: z.string().default('vllm'),
      })
      .strict()
      .prefault({}),
    speculativeIndexing: z.boolean().default(false),
    speculativeTTL: duration.default('2s'),
    /** Ours: score through a kv-indexer service (`http://host:port`) instead of an index in this process. */
    indexerURL: z.string().url().optional(),
    /** Ours: time limit of a remote scoring call. */
    indexerTimeout: duration.default('500ms'),
    /** Ours: a local Hugging Face tokenizer folder; default: the bundled tokenizer for the model name. */
    tokenizerPath: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});

/** Resolved parameters. */
export type PreciseProducerParameters = z.output<typeof preciseProducerParameters>;

/** The producer as the router sees it: a DataProducer and a PreRequest hook, closed with the router. */
export interface PrecisePrefixCacheProducer extends DataProducer, PreRequestHook {
  readonly source: PrefixScoreSource;
  close(): Promise<void>;
}

/**
 * Declares `precise-prefix-cache-producer`: the router learns what each endpoint holds from the
 * model servers' own KV events (embedded index fed over ZMQ, or a kv-indexer service) and publishes
 * `PrefixCacheMatchInfo` per candidate for `prefix-cache-scorer` (pair them with
 * `prefixMatchInfoProducerName`). A failing source only means "no prefix known" for that request.
 */
export const precisePrefixCacheProducer = definePlugin({
  type: PRECISE_PREFIX_CACHE_PRODUCER_TYPE,
  parameters: preciseProducerParameters,
  create(name, p, handle): PrecisePrefixCacheProducer {
    const logger = handle.logger.child({ plugin: name });
    const blockSize = p.tokenProcessorConfig.blockSizeTokens ?? p.tokenProcessorConfig.blockSize ?? 16;
    const source: PrefixScoreSource = p.indexerURL
      ? new RemoteIndexerSource(p.indexerURL, blockSize, parseDurationMs(p.indexerTimeout, `${name}.parameters.indexerTimeout`))
      : new EmbeddedIndexSource({ name, params: p, blockSize, handle, logger });
    const speculativeTtlMs = parseDurationMs(p.speculativeTTL, `${name}.parameters.speculativeTTL`);
    const keys = [prefixCacheMatchInfoKey(), prefixCacheMatchInfoKey(name)];
    const lastTotals = new Map<string, number>();
    return {
      type: PRECISE_PREFIX_CACHE_PRODUCER_TYPE,
      name,
      source,
      async produce(ctx, req, endpoints: readonly Endpoint[]) {
        let result;
        try {
          result = await source.score(req, endpoints.map((e) => e.metadata.hostPort));
        } catch (err) {
          logger.warn({ err: (err as Error).message, requestId: req.requestId }, 'precise prefix scores unavailable; treating the prefix as unknown');
          return;
        }
        lastTotals.set(req.requestId, result.totalBlocks);
        for (const e of endpoints) {
          const info: PrefixCacheMatchInfo = { matchBlocks: result.scores.get(e.metadata.hostPort) ?? 0, totalBlocks: result.totalBlocks, blockSize: result.blockSize };
          for (const key of keys) ctx.attributes.set(e.metadata.id, key, info);
        }
      },
      preRequest(_ctx, req, result) {
        lastTotals.delete(req.requestId);
        if (!p.speculativeIndexing || !source.speculate) return;
        const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
        if (target) void source.speculate(req, target.metadata.hostPort, speculativeTtlMs).catch((err: Error) => logger.debug({ err: err.message }, 'speculative indexing failed'));
      },
      close: () => source.close(),
    };
  },
});
