import { definePlugin } from '@llmd/scheduling';
import type { Scorer } from '@llmd/scheduling';
import { z } from 'zod';
import { inFlightLoadKey, uncachedRequestTokensKey, type InFlightLoad, type UncachedRequestTokens } from '../inflight-load-producer/attributes.js';
import { INFLIGHT_LOAD_PRODUCER_TYPE } from '../inflight-load-producer/plugin.js';

/** Upstream type name of the token-load scorer. */
export const TOKEN_LOAD_SCORER_TYPE = 'token-load-scorer';

/** Upstream's default normalisation: 128 requests of 32K tokens. */
export const DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304;

/** Parameters of `token-load-scorer`. */
export const tokenLoadParameters = z
  .object({
    /** In-flight tokens at which the score reaches 0; ≤ 0 means the default, as upstream. */
    queueThresholdTokens: z.number().int().default(DEFAULT_QUEUE_THRESHOLD_TOKENS),
    /** Which producer's `InFlightLoad` and `UncachedRequestTokens` to read. */
    inFlightLoadProducerName: z.string().min(1).optional(),
  })
  .strict()
  .prefault({})
  .transform((p) => ({ ...p, queueThresholdTokens: p.queueThresholdTokens > 0 ? p.queueThresholdTokens : DEFAULT_QUEUE_THRESHOLD_TOKENS }));

/** `1 − min(t, Q) / Q` for `t = in-flight tokens + this request's uncached tokens`; 1 when `t ≤ 0`. */
export function tokenLoadScore(inFlightTokens: number, uncachedTokens: number, thresholdTokens: number): number {
  const t = inFlightTokens + uncachedTokens;
  if (t <= 0) return 1;
  return 1 - Math.min(t, thresholdTokens) / thresholdTokens;
}

/**
 * Declares `token-load-scorer`: prefers endpoints with fewer prompt tokens in flight, counting what
 * this request would add there (its tokens the endpoint has not cached). Missing attributes count
 * as 0. The loader adds `inflight-load-producer` when absent.
 */
export const tokenLoadScorer = definePlugin({
  type: TOKEN_LOAD_SCORER_TYPE,
  parameters: tokenLoadParameters,
  requires: [INFLIGHT_LOAD_PRODUCER_TYPE],
  create: (name, params) => {
    const loadKey = inFlightLoadKey(params.inFlightLoadProducerName);
    const uncachedKey = uncachedRequestTokensKey(params.inFlightLoadProducerName);
    return {
      type: TOKEN_LOAD_SCORER_TYPE,
      name,
      category: 'distribution',
      score: (ctx, _req, endpoints) => {
        const scores = new Float64Array(endpoints.length);
        endpoints.forEach((e, i) => {
          const load = ctx.attributes.get<InFlightLoad>(e.metadata.id, loadKey)?.tokens ?? 0;
          const uncached = ctx.attributes.get<UncachedRequestTokens>(e.metadata.id, uncachedKey)?.tokens ?? 0;
          scores[i] = tokenLoadScore(load, uncached, params.queueThresholdTokens);
        });
        return scores;
      },
    } satisfies Scorer;
  },
});
