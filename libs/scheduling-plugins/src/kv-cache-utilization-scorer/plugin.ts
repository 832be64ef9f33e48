import { definePlugin } from '@llmd/scheduling';
import type { Scorer } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the KV-cache utilisation scorer. */
export const KV_CACHE_UTILIZATION_SCORER_TYPE = 'kv-cache-utilization-scorer';

/** Prefers endpoints with more free KV cache: `1 − kvCacheUsagePercent`. */
export const kvCacheUtilizationScorer = definePlugin({
  type: KV_CACHE_UTILIZATION_SCORER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: KV_CACHE_UTILIZATION_SCORER_TYPE,
      name,
      category: 'distribution',
      score: (_ctx, _req, endpoints) => {
        const scores = new Float64Array(endpoints.length);
        endpoints.forEach((e, i) => {
          scores[i] = 1 - e.metrics.kvCacheUsagePercent;
        });
        return scores;
      },
    }) satisfies Scorer,
});
