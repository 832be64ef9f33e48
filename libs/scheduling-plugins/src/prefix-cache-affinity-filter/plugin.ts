import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, Filter, SchedulingContext } from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE } from '../approx-prefix-cache-producer/plugin.js';
import { inFlightLoadKey, type InFlightLoad } from '../inflight-load-producer/attributes.js';
import { INFLIGHT_LOAD_PRODUCER_TYPE } from '../inflight-load-producer/plugin.js';

/** Upstream type name of the prefix-cache affinity filter. */
export const PREFIX_CACHE_AFFINITY_FILTER_TYPE = 'prefix-cache-affinity-filter';

/** Attribute name of a latency predictor's estimate (no producer in this router yet). */
export const LATENCY_PREDICTION_INFO = 'LatencyPredictionInfo';

/** A latency predictor's estimate for the current request on an endpoint. */
export interface LatencyPredictionInfo {
  /** Predicted time to first token, ms. */
  readonly ttftMs: number;
}

/** The attribute key of {@link LatencyPredictionInfo}: plain, or `LatencyPredictionInfo/<producer>`. */
export function latencyPredictionInfoKey(producerName?: string | null): string {
  return producerName ? `${LATENCY_PREDICTION_INFO}/${producerName}` : LATENCY_PREDICTION_INFO;
}

/** Parameters of `prefix-cache-affinity-filter` (HEAD names, defaults and validation). */
export const prefixCacheAffinityParameters = z
  .object({
    /** An endpoint is sticky when matchBlocks/totalBlocks ≥ this; ≤ 0 disables the filter. */
    affinityThreshold: z.number().min(0).max(1).default(0.8),
    /** Probability of keeping every endpoint (exploration), in [0, 1]. */
    explorationProbability: z.number().min(0).max(1).default(0),
    /** Stickiness breaks when the best sticky TTFT exceeds the best other TTFT by more; 0 = always stick. */
    maxTTFTPenaltyMs: z.number().min(0).default(18_000),
    /** Where TTFT comes from: in-flight tokens over peak prefill throughput, or a latency predictor. */
    ttftSource: z.enum(['prefillThroughput', 'latencyPredictor']).default('prefillThroughput'),
    /** Peak prefill throughput, tokens/s (calibrated for Qwen3-32B, 2×H100 TP=2, vLLM 0.19). */
    peakPrefillThroughput: z.number().min(0).default(15_928),
    /** Which producer's `PrefixCacheMatchInfo` to read. */
    prefixMatchInfoProducerName: z.string().min(1).optional(),
    /** Which producer's `LatencyPredictionInfo` to read. */
    latencyPredictionInfoProducerName: z.string().min(1).optional(),
    /** Which producer's `InFlightLoad` to read. */
    inFlightLoadProducerName: z.string().min(1).optional(),
    /**
     * Deprecated gate of the llm-d guides (upstream had it between two commits, no tag): stickiness
     * breaks when the least-loaded sticky endpoint has more than this many in-flight tokens over the
     * least-loaded other one. Accepted so the guides' configs load; prefer `maxTTFTPenaltyMs`.
     */
    maxTokensInFlightPenalty: z.number().min(0).optional(),
  })
  .strict()
  .prefault({})
  .refine((p) => p.ttftSource !== 'prefillThroughput' || p.maxTTFTPenaltyMs === 0 || p.peakPrefillThroughput > 0, {
    message: 'peakPrefillThroughput must be > 0 when ttftSource is prefillThroughput',
    path: ['peakPrefillThroughput'],
  });

/** Resolved parameters of the filter. */
export type PrefixCacheAffinityParameters = z.output<typeof prefixCacheAffinityParameters>;

/** Why the filter kept what it kept (for tests and debug logs). */
export type AffinityDecision = 'not-applicable' | 'exploration' | 'no-sticky' | 'load-override' | 'sticky';

/** Lowest TTFT over endpoints (+∞ for none). */
function minTTFT(endpoints: readonly Endpoint[], ttft: (e: Endpoint) => number): number {
  let best = Infinity;
  for (const e of endpoints) best = Math.min(best, ttft(e));
  return best;
}

/**
 * The filter's decision and the endpoints it keeps: all of them when it does not apply, when
 * exploring, when nothing is sticky, or when the sticky endpoints are more than `maxTTFTPenaltyMs`
 * slower to first token than the best other one; else only the sticky ones.
 */
export function applyAffinity(
  params: PrefixCacheAffinityParameters,
  ctx: SchedulingContext,
  endpoints: readonly Endpoint[],
): { decision: AffinityDecision; kept: readonly Endpoint[] } {
  if (endpoints.length <= 1 || params.affinityThreshold <= 0) return { decision: 'not-applicable', kept: endpoints };
  // No draw at probability 0, so a seeded random sequence is not shifted by a disabled feature.
  if (params.explorationProbability > 0 && ctx.random() < params.explorationProbability) return { decision: 'exploration', kept: endpoints };

  const prefixKey = prefixCacheMatchInfoKey(params.prefixMatchInfoProducerName);
  const sticky: Endpoint[] = [];
  const others: Endpoint[] = [];
  for (const e of endpoints) {
    const info = ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, prefixKey);
    const ratio = info !== undefined && info.totalBlocks > 0 ? info.matchBlocks / info.totalBlocks : 0;
    (ratio >= params.affinityThreshold ? sticky : others).push(e);
  }
  if (sticky.length === 0) return { decision: 'no-sticky', kept: endpoints };

  if (params.maxTTFTPenaltyMs > 0 && others.length > 0) {
    const ttft = ttftEstimator(params, ctx);
    // +∞ − +∞ is NaN, which is not above the limit: with no estimates anywhere, stickiness holds.
    if (minTTFT(sticky, ttft) - minTTFT(others, ttft) > params.maxTTFTPenaltyMs) return { decision: 'load-override', kept: endpoints };
  }
  if (params.maxTokensInFlightPenalty !== undefined && params.maxTokensInFlightPenalty > 0 && others.length > 0) {
    const key = inFlightLoadKey(params.inFlightLoadProducerName);
    const tokens = (e: Endpoint) => ctx.attributes.get<InFlightLoad>(e.metadata.id, key)?.tokens ?? 0;
    if (minTTFT(sticky, tokens) - minTTFT(others, tokens) > params.maxTokensInFlightPenalty) return { decision: 'load-override', kept: endpoints };
  }
  return { decision: 'sticky', kept: sticky };
}

/**
 * TTFT of an endpoint in ms. prefillThroughput: in-flight tokens / peak throughput × 1000, the
 * current request not included, no `InFlightLoad` = 0 tokens. latencyPredictor: the predicted TTFT,
 * +∞ when missing.
 */
function ttftEstimator(params: PrefixCacheAffinityParameters, ctx: SchedulingContext): (e: Endpoint) => number {
  if (params.ttftSource === 'latencyPredictor') {
    const key = latencyPredictionInfoKey(params.latencyPredictionInfoProducerName);
    return (e) => ctx.attributes.get<LatencyPredictionInfo>(e.metadata.id, key)?.ttftMs ?? Infinity;
  }
  const key = inFlightLoadKey(params.inFlightLoadProducerName);
  return (e) => ((ctx.attributes.get<InFlightLoad>(e.metadata.id, key)?.tokens ?? 0) / params.peakPrefillThroughput) * 1000;
}

/**
 * Declares `prefix-cache-affinity-filter`: narrows the candidates to the endpoints that hold most
 * of the request's prefix ("sticky until saturated"), unless that costs too much time to first
 * token. Needs `PrefixCacheMatchInfo` and, for the TTFT gate, `InFlightLoad`; the loader adds both
 * producers when absent.
 */
export const prefixCacheAffinityFilter = definePlugin({
  type: PREFIX_CACHE_AFFINITY_FILTER_TYPE,
  parameters: prefixCacheAffinityParameters,
  requires: [APPROX_PREFIX_CACHE_PRODUCER_TYPE, INFLIGHT_LOAD_PRODUCER_TYPE],
  create: (name, params, handle) => {
    const logger = handle.logger.child({ plugin: name });
    if (params.maxTokensInFlightPenalty !== undefined) {
      logger.warn('parameter maxTokensInFlightPenalty is deprecated (removed upstream); it still gates stickiness on in-flight tokens, prefer maxTTFTPenaltyMs');
    }
    return {
      type: PREFIX_CACHE_AFFINITY_FILTER_TYPE,
      name,
      filter: (ctx, req, endpoints) => {
        const { decision, kept } = applyAffinity(params, ctx, endpoints);
        if (logger.isLevelEnabled('debug')) logger.debug({ requestId: req.requestId, decision, kept: kept.length, total: endpoints.length }, 'prefix-cache affinity');
        return kept;
      },
    } satisfies Filter;
  },
});
