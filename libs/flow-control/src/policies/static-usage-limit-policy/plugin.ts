import { definePlugin } from '@llmd/scheduling';
import type { UsageLimitPolicy } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the static usage-limit policy (the default). */
export const STATIC_USAGE_LIMIT_POLICY_TYPE = 'static-usage-limit-policy';

/** `static-usage-limit-policy`: one ceiling for every priority (1.0 by default: no gating before saturation). */
export const staticUsageLimitPolicy = definePlugin({
  type: STATIC_USAGE_LIMIT_POLICY_TYPE,
  parameters: z
    .object({
      /** The ceiling of every band, in [0, 1]. */
      threshold: z.number().min(0).max(1).default(1),
    })
    .strict()
    .prefault({}),
  create: (name, p): UsageLimitPolicy => ({
    type: STATIC_USAGE_LIMIT_POLICY_TYPE,
    name,
    computeLimit: (_saturation, priorities) => priorities.map(() => p.threshold),
  }),
});
