import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, PreRequestHook, Scorer } from '@llmd/scheduling';
import { z } from 'zod';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE, PREFILL_PROFILE } from '../approx-prefix-cache-producer/plugin.js';

/** Upstream type name of the no-hit LRU scorer. */
export const NO_HIT_LRU_SCORER_TYPE = 'no-hit-lru-scorer';

/** Upstream's default number of endpoints remembered. */
export const DEFAULT_LRU_SIZE = 1024;

/** Parameters of `no-hit-lru-scorer` (HEAD). */
export const noHitLruParameters = z
  .object({
    /** Endpoints remembered in the LRU; ≤ 0 means 1024. */
    lruSize: z.number().int().default(DEFAULT_LRU_SIZE),
    /** Which producer's `PrefixCacheMatchInfo` decides whether a request is cold. */
    prefixMatchInfoProducerName: z.string().min(1).optional(),
    /** Deprecated and ignored (upstream never used it). */
    prefixPluginType: z.string().optional(),
    /** Deprecated and ignored (upstream never used it). */
    prefixPluginName: z.string().optional(),
  })
  .strict()
  .prefault({})
  .transform((p) => ({ lruSize: p.lruSize > 0 ? p.lruSize : DEFAULT_LRU_SIZE, prefixMatchInfoProducerName: p.prefixMatchInfoProducerName }));

/**
 * Endpoints that received cold requests, least recently used first. A Map keeps insertion order,
 * so re-inserting an id makes it the most recent.
 */
export class ColdRequestLru {
  readonly #size: number;
  readonly #order = new Map<string, true>();

  constructor(size: number) {
    this.#size = size;
  }

  /** Makes the endpoint the most recently used, evicting the oldest beyond the size. */
  touch(endpointId: string): void {
    this.#order.delete(endpointId);
    this.#order.set(endpointId, true);
    if (this.#order.size > this.#size) {
      const oldest = this.#order.keys().next().value;
      if (oldest !== undefined) this.#order.delete(oldest);
    }
  }

  /** Endpoint id → position, 0 = least recently used. */
  positions(): Map<string, number> {
    const out = new Map<string, number>();
    let i = 0;
    for (const id of this.#order.keys()) out.set(id, i++);
    return out;
  }
}

/**
 * Scores for a cold request: endpoints that never took a cold request first (`1 − i/(N−1)` in
 * candidate order), then the others by how long ago they took one (`max(0, 1 − (neverUsed +
 * lruPos)/(N−1))`, oldest at position 0). A single candidate scores 1.
 */
export function coldScores(endpoints: readonly Endpoint[], positions: ReadonlyMap<string, number>): Float64Array {
  const n = endpoints.length;
  const scores = new Float64Array(n);
  if (n === 1) {
    scores[0] = 1;
    return scores;
  }
  let neverUsed = 0;
  endpoints.forEach((e, i) => {
    if (!positions.has(e.metadata.id)) scores[i] = 1 - neverUsed++ / (n - 1);
  });
  endpoints.forEach((e, i) => {
    const pos = positions.get(e.metadata.id);
    if (pos !== undefined) scores[i] = Math.max(0, 1 - (neverUsed + pos) / (n - 1));
  });
  return scores;
}

/**
 * Declares `no-hit-lru-scorer`: for requests no candidate has cached (no `matchBlocks > 0`), prefers
 * the endpoints that least recently took such a request, spreading new cache growth; warm requests
 * score 0.5 everywhere. PreRequest makes a cold request's target (and `prefill` target) most recent.
 */
export const noHitLruScorer = definePlugin({
  type: NO_HIT_LRU_SCORER_TYPE,
  parameters: noHitLruParameters,
  requires: [APPROX_PREFIX_CACHE_PRODUCER_TYPE],
  create: (name, params) => {
    const key = prefixCacheMatchInfoKey(params.prefixMatchInfoProducerName);
    const lru = new ColdRequestLru(params.lruSize);
    return {
      type: NO_HIT_LRU_SCORER_TYPE,
      name,
      category: 'distribution',
      lru,
      score: (ctx, req, endpoints) => {
        const cold = !endpoints.some((e) => (ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, key)?.matchBlocks ?? 0) > 0);
        // Per cycle, so PreRequest of the same request knows; the last profile scored decides.
        ctx.cycle.write(name, { requestId: req.requestId, cold });
        return cold ? coldScores(endpoints, lru.positions()) : new Float64Array(endpoints.length).fill(0.5);
      },
      preRequest: (ctx, req, result) => {
        const state = ctx.cycle.read<{ requestId: string; cold: boolean }>(name);
        if (state?.requestId !== req.requestId || !state.cold) return;
        const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
        if (primary !== undefined) lru.touch(primary.metadata.id);
        const prefill = result.profileResults.get(PREFILL_PROFILE)?.targets[0];
        if (prefill !== undefined) lru.touch(prefill.metadata.id);
      },
    } satisfies Scorer & PreRequestHook & { readonly lru: ColdRequestLru };
  },
});
