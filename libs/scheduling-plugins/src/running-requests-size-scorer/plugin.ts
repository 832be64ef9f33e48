import { definePlugin } from '@llmd/scheduling';
import type { Scorer } from '@llmd/scheduling';
import { z } from 'zod';
import { scoreLowerIsBetter } from '../queue-scorer/plugin.js';

/** Upstream type name of the running-requests scorer. */
export const RUNNING_REQUESTS_SIZE_SCORER_TYPE = 'running-requests-size-scorer';

/** Prefers endpoints with smaller running batches, relative to the other candidates. */
export const runningRequestsSizeScorer = definePlugin({
  type: RUNNING_REQUESTS_SIZE_SCORER_TYPE,
  parameters: z.object({}).strict().prefault({}),
  create: (name) =>
    ({
      type: RUNNING_REQUESTS_SIZE_SCORER_TYPE,
      name,
      category: 'distribution',
      score: (_ctx, _req, endpoints) => scoreLowerIsBetter(endpoints, (e) => e.metrics.runningRequestsSize),
    }) satisfies Scorer,
});
