import { definePlugin, type DataProducer, type Endpoint, type Scorer } from '@llmd/scheduling';
import { prefixCacheMatchInfoKey, type PrefixCacheMatchInfo } from '../approx-prefix-cache-producer/attributes.js';
import { preciseProducerParameters, precisePrefixCacheProducer, type PrecisePrefixCacheProducer } from '../precise-prefix-cache-producer/plugin.js';

/** Plugin type name (upstream; deprecated there in favour of the producer + prefix-cache-scorer pair). */
export const PRECISE_PREFIX_CACHE_SCORER_TYPE = 'precise-prefix-cache-scorer';

/**
 * Min-max normalisation of the older precise scorer: `(s − min) / (max − min)` over the candidates,
 * 1 for everyone when all are equal, 0 for an endpoint holding nothing.
 */
export function normalisedScores(raw: readonly number[]): Float64Array {
  const out = new Float64Array(raw.length);
  if (raw.length === 0) return out;
  let min = Infinity;
  let max = -Infinity;
  for (const s of raw) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  for (let i = 0; i < raw.length; i++) out[i] = max === min ? 1 : ((raw[i] as number) - min) / (max - min);
  return out;
}

/** The deprecated single-plugin form: produces the precise scores itself, then scores them min-max normalised. */
export interface PrecisePrefixCacheScorer extends Scorer, DataProducer {
  close(): Promise<void>;
}

/**
 * Declares `precise-prefix-cache-scorer` (same parameters as the producer). Kept so older configs
 * load; new configs pair `precise-prefix-cache-producer` with `prefix-cache-scorer`.
 */
export const precisePrefixCacheScorer = definePlugin({
  type: PRECISE_PREFIX_CACHE_SCORER_TYPE,
  parameters: preciseProducerParameters,
  create(name, params, handle): PrecisePrefixCacheScorer {
    const producer = precisePrefixCacheProducer.create(name, params, handle) as PrecisePrefixCacheProducer;
    const key = prefixCacheMatchInfoKey(name);
    return {
      type: PRECISE_PREFIX_CACHE_SCORER_TYPE,
      name,
      category: 'affinity',
      produce: (ctx, req, endpoints) => producer.produce(ctx, req, endpoints),
      score(ctx, _req, endpoints: readonly Endpoint[]) {
        return normalisedScores(endpoints.map((e) => ctx.attributes.get<PrefixCacheMatchInfo>(e.metadata.id, key)?.matchBlocks ?? 0));
      },
      close: () => producer.close(),
    };
  },
});
