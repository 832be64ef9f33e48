import { definePlugin } from '@llmd/scheduling';
import type { Scorer } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the load-aware scorer. */
export const LOAD_AWARE_SCORER_TYPE = 'load-aware-scorer';

/** Upstream's default waiting-queue threshold. */
export const DEFAULT_QUEUE_THRESHOLD = 128;

/**
 * Scores the waiting queue against a fixed threshold: an empty queue scores 0.5, a queue at or
 * above the threshold 0. The ceiling is 0.5 (not 1) because upstream reserves the upper half for
 * endpoints with spare capacity, which the metrics cannot show yet.
 */
export const loadAwareScorer = definePlugin({
  type: LOAD_AWARE_SCORER_TYPE,
  parameters: z
    .object({
      /** Queue length that scores 0. */
      threshold: z.number().int().default(DEFAULT_QUEUE_THRESHOLD),
    })
    .strict()
    .prefault({}),
  create: (name, params, handle) => {
    let threshold = params.threshold;
    if (threshold <= 0) {
      // Upstream accepts a non-positive threshold and falls back; do the same so its configs load.
      handle.logger.warn(
        { plugin: name, threshold, using: DEFAULT_QUEUE_THRESHOLD },
        'load-aware-scorer: threshold must be positive, using the default',
      );
      threshold = DEFAULT_QUEUE_THRESHOLD;
    }
    return {
      type: LOAD_AWARE_SCORER_TYPE,
      name,
      category: 'distribution',
      score: (_ctx, _req, endpoints) => {
        const scores = new Float64Array(endpoints.length);
        endpoints.forEach((e, i) => {
          const waiting = e.metrics.waitingQueueSize;
          scores[i] = waiting <= 0 ? 0.5 : 0.5 * (1 - Math.min(waiting, threshold) / threshold);
        });
        return scores;
      },
    } satisfies Scorer;
  },
});
