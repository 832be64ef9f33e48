import { definePlugin } from '@llmd/scheduling';
import type {
  DataProducer,
  Endpoint,
  HeaderMutations,
  InferenceRequest,
  PluginHandle,
  PreRequestHook,
  SchedulingContext,
  SchedulingResult,
} from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from './attributes.js';
import { ByteScratch, hashRequestBlocks, type RequestBlockHashes } from './hashing.js';
import { PrefixIndex, type PrefixIndexStats } from './prefix-index.js';

export { PREFIX_CACHE_MATCH_INFO, prefixCacheMatchInfoKey } from './attributes.js';
export type { PrefixCacheMatchInfo } from './attributes.js';
export { estimatePromptTokens } from './hashing.js';
export { measureIndexMemory } from './memory.js';
export type { IndexMemoryOptions, IndexMemoryReport } from './memory.js';

/** Upstream type name of the approximate prefix-cache producer. */
export const APPROX_PREFIX_CACHE_PRODUCER_TYPE = 'approx-prefix-cache-producer';

/** The profile whose target is indexed besides the primary one (upstream hard-codes the name). */
export const PREFILL_PROFILE = 'prefill';

/** Block sizes below this are raised to it: one index entry per (endpoint, block) makes small blocks costly (upstream #1158). */
export const MIN_BLOCK_SIZE_TOKENS = 64;

/** Upstream's default LRU capacity per endpoint when neither metrics nor parameters give one. */
export const DEFAULT_LRU_CAPACITY_PER_SERVER = 31_250;

/** Endpoints absent from the pool this long are dropped from the index (upstream's sweep interval). */
export const INACTIVE_ENDPOINT_MS = 2 * 60_000;

const DEFAULT_BLOCK_SIZE_TOKENS = 16;

const intParam = z.number().int();

/** Parameters of `approx-prefix-cache-producer` (upstream names and defaults). */
export const approxPrefixCacheParameters = z
  .object({
    /** Take block size and LRU capacity from the endpoints' `vllm:cache_config_info`. */
    autoTune: z.boolean().default(true),
    /** Tokens per block when metrics do not say (raised to 64 either way). */
    blockSizeTokens: intParam.default(DEFAULT_BLOCK_SIZE_TOKENS),
    /** Deprecated name of `blockSizeTokens` (used when `blockSizeTokens` is left at its default). */
    blockSize: intParam.optional(),
    /** Block cap per prompt, used only when `maxPrefixTokensToMatch` is 0; both 0 = no cap. */
    maxPrefixBlocksToMatch: intParam.min(0).default(2048),
    /** Token cap per prompt (`maxBlocks = maxPrefixTokensToMatch / blockSize`); takes precedence. */
    maxPrefixTokensToMatch: intParam.min(0).default(131_072),
    /** LRU capacity per endpoint when autoTune has no `num_gpu_blocks`; ≤ 0 means 31250. */
    lruCapacityPerServer: intParam.default(DEFAULT_LRU_CAPACITY_PER_SERVER),
  })
  .strict()
  .prefault({})
  .transform((p) => {
    const { blockSize, ...rest } = p;
    // Upstream maps the deprecated name only when the new one was left at its default.
    const blockSizeTokens = blockSize !== undefined && blockSize > 0 && p.blockSizeTokens === DEFAULT_BLOCK_SIZE_TOKENS ? blockSize : p.blockSizeTokens;
    return { ...rest, blockSizeTokens };
  })
  .refine((p) => p.autoTune || p.blockSizeTokens > 0, {
    message: 'blockSizeTokens must be > 0 when autoTune is disabled',
    path: ['blockSizeTokens'],
  });

/** Resolved parameters of the producer. */
export type ApproxPrefixCacheParameters = z.output<typeof approxPrefixCacheParameters>;

/** What Produce leaves in the cycle state for PreRequest and for other producers of the same cycle. */
export interface PrefixCycleState {
  readonly requestId: string;
  readonly hashes: RequestBlockHashes;
  readonly blockSize: number;
}

/**
 * The approximate prefix-cache producer: hashes the request into chained blocks, looks them up in
 * an index of what each endpoint was recently sent, and publishes `PrefixCacheMatchInfo` on every
 * candidate; PreRequest then records the request's blocks on the chosen endpoint (and on the
 * `prefill` profile's endpoint).
 */
export class ApproxPrefixCacheProducer implements DataProducer, PreRequestHook {
  readonly type = APPROX_PREFIX_CACHE_PRODUCER_TYPE;
  readonly name: string;
  readonly params: ApproxPrefixCacheParameters;
  readonly #handle: PluginHandle;
  readonly #index = new PrefixIndex();
  readonly #scratch = new ByteScratch();
  readonly #namedKey: string;
  readonly #sharedKey = prefixCacheMatchInfoKey();
  #lastSweep: number;

  constructor(name: string, params: ApproxPrefixCacheParameters, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
    this.#namedKey = prefixCacheMatchInfoKey(name);
    this.#lastSweep = handle.now();
  }

  /**
   * Hashes the request and writes `PrefixCacheMatchInfo` on each endpoint. Runs once per cycle:
   * a second call (another producer asking for prefix data first) returns without work.
   */
  produce(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): void {
    if (this.cycleState(ctx, req) !== undefined) return;
    this.#sweep();
    const blockSize = this.blockSizeFor(endpoints);
    const hashes = hashRequestBlocks(req, blockSize, this.maxBlocksFor(blockSize), this.#scratch);
    const ids = endpoints.map((e) => e.metadata.id);
    const matched = hashes.count === 0 ? null : this.#index.matchCounts(hashes.halves, hashes.promptEnds, ids);
    endpoints.forEach((e, i) => {
      const info: PrefixCacheMatchInfo = { matchBlocks: matched?.[i] ?? 0, totalBlocks: hashes.count, blockSize };
      ctx.attributes.set(e.metadata.id, this.#namedKey, info);
      ctx.attributes.set(e.metadata.id, this.#sharedKey, info);
    });
    ctx.cycle.write(this.name, { requestId: req.requestId, hashes, blockSize } satisfies PrefixCycleState);
  }

  /** Adds the request's blocks to the primary target's LRU and to the `prefill` target's, if any. */
  preRequest(ctx: SchedulingContext, req: InferenceRequest, result: SchedulingResult, _headers: HeaderMutations): void {
    const state = this.cycleState(ctx, req);
    const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (state === undefined || primary === undefined || state.hashes.count === 0) return;
    const now = this.#handle.now();
    const targets = [primary];
    const prefill = result.profileResults.get(PREFILL_PROFILE)?.targets[0];
    if (prefill !== undefined && prefill.metadata.id !== primary.metadata.id) targets.push(prefill);
    for (const t of targets) this.#index.add(state.hashes.halves, state.hashes.count, t.metadata.id, this.lruCapacityFor(t), now);
  }

  /** This cycle's hashes, when Produce already ran for this request. */
  cycleState(ctx: SchedulingContext, req: InferenceRequest): PrefixCycleState | undefined {
    const state = ctx.cycle.read<PrefixCycleState>(this.name);
    return state?.requestId === req.requestId ? state : undefined;
  }

  /** Block size in tokens: the first endpoint's `cacheBlockSize` under autoTune, else `blockSizeTokens`; at least 64. */
  blockSizeFor(endpoints: readonly Endpoint[]): number {
    let size = this.params.blockSizeTokens;
    const reported = endpoints[0]?.metrics.cacheBlockSize ?? 0;
    if (this.params.autoTune && reported > 0) size = reported;
    return Math.max(size, MIN_BLOCK_SIZE_TOKENS);
  }

  /** Blocks hashed per prompt: the token cap over the block size, else the block cap, else no cap. */
  maxBlocksFor(blockSize: number): number {
    if (this.params.maxPrefixTokensToMatch > 0) return Math.floor(this.params.maxPrefixTokensToMatch / blockSize);
    return this.params.maxPrefixBlocksToMatch === 0 ? Infinity : this.params.maxPrefixBlocksToMatch;
  }

  /** LRU capacity of an endpoint: `cacheNumBlocks` under autoTune, else `lruCapacityPerServer` (≤ 0: 31250). */
  lruCapacityFor(endpoint: Endpoint): number {
    if (this.params.autoTune && endpoint.metrics.cacheNumBlocks > 0) return endpoint.metrics.cacheNumBlocks;
    return this.params.lruCapacityPerServer > 0 ? this.params.lruCapacityPerServer : DEFAULT_LRU_CAPACITY_PER_SERVER;
  }

  /** Drops an endpoint and everything it holds (e.g. when the datastore removes it). */
  forgetEndpoint(endpointId: string): void {
    this.#index.removeEndpoint(endpointId);
  }

  /** Blocks the index believes an endpoint holds. */
  indexedBlocks(endpointId: string): number {
    return this.#index.blockCount(endpointId);
  }

  /** Sizes of the index. */
  stats(): PrefixIndexStats {
    return this.#index.stats();
  }

  /**
   * Every 2 minutes: endpoints still in the pool count as seen, and those not seen (in the pool or
   * as a target) for 2 minutes are dropped. Lazy, on the request path, so no timer is left running.
   */
  #sweep(): void {
    const now = this.#handle.now();
    if (now - this.#lastSweep < INACTIVE_ENDPOINT_MS) return;
    this.#lastSweep = now;
    for (const e of this.#handle.endpoints()) this.#index.touch(e.metadata.id, now);
    const removed = this.#index.removeNotSeenSince(now - INACTIVE_ENDPOINT_MS);
    if (removed.length > 0) this.#handle.logger.debug({ plugin: this.name, removed }, 'dropped inactive endpoints from the prefix index');
  }
}

/** Declares `approx-prefix-cache-producer`. */
export const approxPrefixCacheProducer = definePlugin({
  type: APPROX_PREFIX_CACHE_PRODUCER_TYPE,
  parameters: approxPrefixCacheParameters,
  create: (name, params, handle) => {
    if (params.blockSizeTokens > 0 && params.blockSizeTokens < MIN_BLOCK_SIZE_TOKENS) {
      handle.logger.warn(
        { plugin: name, blockSizeTokens: params.blockSizeTokens, minimum: MIN_BLOCK_SIZE_TOKENS },
        'blockSizeTokens is below the minimum and is raised to it',
      );
    }
    return new ApproxPrefixCacheProducer(name, params, handle);
  },
});
