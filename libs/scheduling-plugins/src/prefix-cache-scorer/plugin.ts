import { definePlugin } from '@llmd/scheduling';
import type {
  Endpoint,
  HeaderMutations,
  InferenceRequest,
  PluginHandle,
  PreRequestHook,
  SchedulingContext,
  SchedulingResult,
  Scorer,
} from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { ByteScratch } from '../approx-prefix-cache-producer/hashing.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE, INACTIVE_ENDPOINT_MS } from '../approx-prefix-cache-producer/plugin.js';
import { PrefixIndex } from '../approx-prefix-cache-producer/prefix-index.js';
import { hashPromptV1 } from './v1-hashing.js';

/** Upstream type name of the prefix-cache scorer. */
export const PREFIX_CACHE_SCORER_TYPE = 'prefix-cache-scorer';

/** v1.0 defaults: 64-character blocks (16 tokens × 4), 256 blocks, 31250 entries per endpoint. */
export const V1_DEFAULTS = Object.freeze({ hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31_250 });

/** HEAD default of `matchLengthScaleTokens`. */
export const DEFAULT_MATCH_LENGTH_SCALE_TOKENS = 8192;

/** Resolved parameters: which form the scorer takes, with that form's settings. */
export type PrefixCacheScorerParameters =
  | {
      readonly mode: 'match-info';
      readonly prefixMatchInfoProducerName: string | undefined;
      readonly matchLengthWeight: number;
      readonly matchLengthScaleTokens: number;
    }
  | {
      readonly mode: 'v1';
      readonly hashBlockSize: number;
      readonly maxPrefixBlocksToMatch: number;
      readonly lruCapacityPerServer: number;
    };

const V1_KEYS = ['hashBlockSize', 'maxPrefixBlocksToMatch', 'lruCapacityPerServer'] as const;
const HEAD_KEYS = ['prefixMatchInfoProducerName', 'matchLengthWeight', 'matchLengthScaleTokens'] as const;

/**
 * Parameters of `prefix-cache-scorer`. The HEAD form (default) reads `PrefixCacheMatchInfo`; any
 * v1.0 parameter selects the self-contained v1.0 form. Mixing the two forms is an error.
 */
export const prefixCacheScorerParameters = z
  .object({
    /** HEAD: which producer's `PrefixCacheMatchInfo` to read (default: whichever prefix producer ran). */
    prefixMatchInfoProducerName: z.string().min(1).optional(),
    /** HEAD: weight of the absolute match length against the match ratio, in [0, 1]. */
    matchLengthWeight: z.number().min(0).max(1).optional(),
    /** HEAD: matched tokens at which the length term saturates. */
    matchLengthScaleTokens: z.number().int().optional(),
    /** v1.0: block size in characters (UTF-8 bytes). */
    hashBlockSize: z.number().int().positive().optional(),
    /** v1.0: blocks hashed at most. */
    maxPrefixBlocksToMatch: z.number().int().min(0).optional(),
    /** v1.0: LRU capacity per endpoint; ≤ 0 means 31250. */
    lruCapacityPerServer: z.number().int().optional(),
  })
  .strict()
  .prefault({})
  .superRefine((p, ctx) => {
    const v1 = V1_KEYS.filter((k) => p[k] !== undefined);
    const head = HEAD_KEYS.filter((k) => p[k] !== undefined);
    if (v1.length > 0 && head.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [head[0] as string],
        message: `v1.0 parameters (${v1.join(', ')}) select the self-contained form, which has no ${head.join(', ')}`,
      });
    }
    const weight = p.matchLengthWeight ?? 0;
    const scale = p.matchLengthScaleTokens ?? DEFAULT_MATCH_LENGTH_SCALE_TOKENS;
    if (weight > 0 && scale <= 0) {
      ctx.addIssue({ code: 'custom', path: ['matchLengthScaleTokens'], message: 'matchLengthScaleTokens must be > 0 when matchLengthWeight > 0' });
    }
  })
  .transform((p): PrefixCacheScorerParameters => {
    if (V1_KEYS.some((k) => p[k] !== undefined)) {
      const capacity = p.lruCapacityPerServer ?? V1_DEFAULTS.lruCapacityPerServer;
      return {
        mode: 'v1',
        hashBlockSize: p.hashBlockSize ?? V1_DEFAULTS.hashBlockSize,
        maxPrefixBlocksToMatch: p.maxPrefixBlocksToMatch ?? V1_DEFAULTS.maxPrefixBlocksToMatch,
        lruCapacityPerServer: capacity > 0 ? capacity : V1_DEFAULTS.lruCapacityPerServer,
      };
    }
    return {
      mode: 'match-info',
      prefixMatchInfoProducerName: p.prefixMatchInfoProducerName,
      matchLengthWeight: p.matchLengthWeight ?? 0,
      matchLengthScaleTokens: p.matchLengthScaleTokens ?? DEFAULT_MATCH_LENGTH_SCALE_TOKENS,
    };
  });

/**
 * HEAD score of one endpoint: `w · min(1, matchBlocks·blockSize / scale)² + (1 − w) · matchBlocks /
 * totalBlocks`; 0 without match info or blocks.
 */
export function matchInfoScore(info: PrefixCacheMatchInfo | undefined, weight: number, scaleTokens: number): number {
  if (info === undefined || info.totalBlocks <= 0) return 0;
  const ratio = info.matchBlocks / info.totalBlocks;
  let lengthRatio = 0;
  if (weight > 0 && info.blockSize > 0 && scaleTokens > 0) {
    lengthRatio = Math.min(1, (info.matchBlocks * info.blockSize) / scaleTokens);
    lengthRatio *= lengthRatio;
  }
  return weight * lengthRatio + (1 - weight) * ratio;
}

/** HEAD form: scores from the `PrefixCacheMatchInfo` a producer attached. */
function matchInfoScorer(name: string, params: Extract<PrefixCacheScorerParameters, { mode: 'match-info' }>): Scorer {
  const key = prefixCacheMatchInfoKey(params.prefixMatchInfoProducerName);
  return {
    type: PREFIX_CACHE_SCORER_TYPE,
    name,
    category: 'affinity',
    score: (ctx, _req, endpoints) => {
      const scores = new Float64Array(endpoints.length);
      endpoints.forEach((e, i) => {
        scores[i] = matchInfoScore(ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, key), params.matchLengthWeight, params.matchLengthScaleTokens);
      });
      return scores;
    },
  };
}

interface V1CycleState {
  readonly requestId: string;
  readonly halves: Uint32Array;
  readonly count: number;
  readonly matched: ReadonlyMap<string, number>;
}

/**
 * v1.0 form (GIE v1.0.0): its own index of character-block hashes. Score hashes the prompt, walks
 * the hashes until the first block no endpoint holds, and scores `count / numHashes`, where an
 * endpoint's count is its hits within that run (not necessarily its own contiguous prefix).
 * PreRequest adds the hashes to the primary target.
 */
export class PrefixCacheScorerV1 implements Scorer, PreRequestHook {
  readonly type = PREFIX_CACHE_SCORER_TYPE;
  readonly category = 'affinity' as const;
  readonly name: string;
  readonly params: Extract<PrefixCacheScorerParameters, { mode: 'v1' }>;
  readonly #handle: PluginHandle;
  readonly #index = new PrefixIndex();
  readonly #scratch = new ByteScratch();
  #lastSweep: number;

  constructor(name: string, params: Extract<PrefixCacheScorerParameters, { mode: 'v1' }>, handle: PluginHandle) {
    this.name = name;
    this.params = params;
    this.#handle = handle;
    this.#lastSweep = handle.now();
  }

  /** Scores `count / numHashes` per endpoint (0 when the prompt is shorter than a block). */
  score(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): Float64Array {
    const state = this.#state(ctx, req, endpoints);
    const scores = new Float64Array(endpoints.length);
    if (state.count === 0) return scores;
    endpoints.forEach((e, i) => {
      scores[i] = (state.matched.get(e.metadata.id) ?? 0) / state.count;
    });
    return scores;
  }

  /** Adds the request's hashes to the primary profile's first target. */
  preRequest(ctx: SchedulingContext, req: InferenceRequest, result: SchedulingResult, _headers: HeaderMutations): void {
    const state = ctx.cycle.read<V1CycleState>(this.name);
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (state?.requestId !== req.requestId || target === undefined || state.count === 0) return;
    this.#index.add(state.halves, state.count, target.metadata.id, this.params.lruCapacityPerServer, this.#handle.now());
  }

  /**
   * This cycle's hash count and per-endpoint match counts, once Score ran for the request (what
   * v0.3's pd-profile-handler reads to decide on prefill).
   */
  cycleMatch(ctx: SchedulingContext, req: InferenceRequest): { readonly count: number; readonly matched: ReadonlyMap<string, number> } | undefined {
    const state = ctx.cycle.read<V1CycleState>(this.name);
    return state?.requestId === req.requestId ? { count: state.count, matched: state.matched } : undefined;
  }

  /** Blocks the index believes an endpoint holds. */
  indexedBlocks(endpointId: string): number {
    return this.#index.blockCount(endpointId);
  }

  /** Drops an endpoint and everything it holds. */
  forgetEndpoint(endpointId: string): void {
    this.#index.removeEndpoint(endpointId);
  }

  /**
   * The request's hashes and match counts; computed once per cycle and reused when several
   * profiles score the same request (the index does not change between them).
   */
  #state(ctx: SchedulingContext, req: InferenceRequest, endpoints: readonly Endpoint[]): V1CycleState {
    const cached = ctx.cycle.read<V1CycleState>(this.name);
    const missing = cached === undefined || cached.requestId !== req.requestId || endpoints.some((e) => !cached.matched.has(e.metadata.id));
    if (!missing) return cached;
    this.#sweep();
    const halves =
      cached?.requestId === req.requestId
        ? cached.halves
        : hashPromptV1(req.prompt.text, req.targetModel, this.params.hashBlockSize, this.params.maxPrefixBlocksToMatch, this.#scratch);
    const count = halves.length / 2;
    const ids = endpoints.map((e) => e.metadata.id);
    const counts = count === 0 ? ids.map(() => 0) : this.#index.matchCounts(halves, [count], ids);
    const matched = new Map<string, number>(cached?.requestId === req.requestId ? cached.matched : []);
    ids.forEach((id, i) => matched.set(id, counts[i] as number));
    const state: V1CycleState = { requestId: req.requestId, halves, count, matched };
    ctx.cycle.write(this.name, state);
    return state;
  }

  /**
   * v1.0 never removed endpoints (a leak on a churning pool); this drops those absent from the pool
   * for 2 minutes, like HEAD. Scores of live endpoints are unaffected.
   */
  #sweep(): void {
    const now = this.#handle.now();
    if (now - this.#lastSweep < INACTIVE_ENDPOINT_MS) return;
    this.#lastSweep = now;
    for (const e of this.#handle.endpoints()) this.#index.touch(e.metadata.id, now);
    this.#index.removeNotSeenSince(now - INACTIVE_ENDPOINT_MS);
  }
}

/**
 * Declares `prefix-cache-scorer`. Without v1.0 parameters it is HEAD's scorer over
 * `PrefixCacheMatchInfo` (and the loader adds `approx-prefix-cache-producer` when absent and no
 * producer is named); with any of `hashBlockSize`, `maxPrefixBlocksToMatch`, `lruCapacityPerServer`
 * it is the v1.0 scorer with its own index and needs no producer.
 */
export const prefixCacheScorer = definePlugin({
  type: PREFIX_CACHE_SCORER_TYPE,
  parameters: prefixCacheScorerParameters,
  requires: [APPROX_PREFIX_CACHE_PRODUCER_TYPE],
  // A named producer (e.g. the precise one) or the v1.0 form's own index: no approximate producer
  // to add, which would otherwise hash every prompt for nothing.
  requiresFor: (p) => (p.mode === 'v1' || p.prefixMatchInfoProducerName !== undefined ? [] : [APPROX_PREFIX_CACHE_PRODUCER_TYPE]),
  create: (name, params, handle) => {
    if (params.mode === 'match-info') return matchInfoScorer(name, params);
    handle.logger.info({ plugin: name, ...params }, 'prefix-cache-scorer: v1.0 parameters given, using its own character-block index');
    return new PrefixCacheScorerV1(name, params, handle);
  },
});
