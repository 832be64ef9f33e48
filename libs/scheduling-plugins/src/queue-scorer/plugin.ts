import { definePlugin } from '@llmd/scheduling';
import type { Endpoint, Scorer } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the queue scorer. */
export const QUEUE_SCORER_TYPE = 'queue-scorer';

/**
 * Min-max normalises `value(endpoint)` so the smallest value scores 1 and the largest 0; when all
 * values are equal every endpoint scores 1 (nobody is worse off, so nobody is penalised).
 */
export function scoreLowerIsBetter(endpoints: readonly Endpoint[], value: (e: Endpoint) => number): Float64Array {
  const scores = new Float64Array(endpoints.length);
  let min = Infinity;
  let max = -Infinity;
  // The values go in the output array first so `value` runs once per endpoint.
  endpoints.forEach((e, i) => {
    const v = value(e);
    scores[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  });
  const range = max - min;
  for (let i = 0; i < scores.length; i++) scores[i] = range === 0 ? 1 : (max - (scores[i] as number)) / range;
  return scores;
}

/** Prefers endpoints with shorter waiting queues, relative to the other candidates. */
export const queueScorer = definePlugin({
  type: QUEUE_SCORER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: QUEUE_SCORER_TYPE,
      name,
      category: 'distribution',
      score: (_ctx, _req, endpoints) => scoreLowerIsBetter(endpoints, (e) => e.metrics.waitingQueueSize),
    }) satisfies Scorer,
});
