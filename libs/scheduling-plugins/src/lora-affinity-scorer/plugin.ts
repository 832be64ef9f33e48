import { definePlugin } from '@llmd/scheduling';
import type { EndpointMetrics, Scorer } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the LoRA affinity scorer. */
export const LORA_AFFINITY_SCORER_TYPE = 'lora-affinity-scorer';

/**
 * How well an endpoint suits `adapter`, checked in upstream's order: already active 1.0, room to
 * load one more adapter 0.8, already waiting to load 0.6, otherwise 0.
 */
export function loraAffinity(metrics: EndpointMetrics, adapter: string): number {
  if (metrics.activeModels.has(adapter)) return 1;
  if (metrics.activeModels.size + metrics.waitingModels.size < metrics.maxActiveModels) return 0.8;
  if (metrics.waitingModels.has(adapter)) return 0.6;
  return 0;
}

/** Prefers endpoints that already run (or can cheaply load) the request's LoRA adapter (`targetModel`). */
export const loraAffinityScorer = definePlugin({
  type: LORA_AFFINITY_SCORER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: LORA_AFFINITY_SCORER_TYPE,
      name,
      category: 'affinity',
      score: (_ctx, req, endpoints) => {
        const scores = new Float64Array(endpoints.length);
        endpoints.forEach((e, i) => {
          scores[i] = loraAffinity(e.metrics, req.targetModel);
        });
        return scores;
      },
    }) satisfies Scorer,
});
