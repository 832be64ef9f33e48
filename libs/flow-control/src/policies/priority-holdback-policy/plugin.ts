import { definePlugin } from '@llmd/scheduling';
import type { UsageLimitPolicy } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the priority-holdback usage-limit policy. */
export const PRIORITY_HOLDBACK_POLICY_TYPE = 'priority-holdback-policy';

const ceiling = z.number().min(0).max(1);

/** Parameters of `priority-holdback-policy` (upstream names). */
export const priorityHoldbackParameters = z
  .object({
    /** Interpolation curve between the ceilings; only `linear`. */
    shape: z.literal('linear').optional(),
    /** `rank`: equal steps by order; `value`: proportional to the priority values; `explicit`: the `ceilings` map. */
    domain: z.enum(['rank', 'value', 'explicit']).default('rank'),
    /** Ceiling of the lowest priority, in [0, 1); required unless `explicit`. */
    minCeiling: z.number().min(0).lt(1).optional(),
    /** Ceiling of the highest priority, in (0, 1]; default 1. */
    maxCeiling: z.number().gt(0).max(1).optional(),
    /** `explicit` only: ceiling per priority; priorities not listed get 0 (fully held back). */
    ceilings: z.record(z.string().regex(/^-?\d+$/, 'expected an integer priority'), ceiling).optional(),
  })
  .strict()
  .prefault({})
  .superRefine((p, ctx) => {
    if (p.domain === 'explicit') {
      for (const key of ['shape', 'minCeiling', 'maxCeiling'] as const) {
        if (p[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'not allowed with domain explicit (the ceilings map gives every value)' });
      }
      if (p.ceilings === undefined) {
        ctx.addIssue({ code: 'custom', path: ['ceilings'], message: 'required with domain explicit' });
        return;
      }
      const sorted = Object.entries(p.ceilings).sort(([a], [b]) => Number(b) - Number(a));
      for (let i = 1; i < sorted.length; i++) {
        const [prio, c] = sorted[i] as [string, number];
        const [higher, hc] = sorted[i - 1] as [string, number];
        if (c > hc) ctx.addIssue({ code: 'custom', path: ['ceilings', prio], message: `ceiling ${c} is above the ${hc} of the higher priority ${higher}: ceilings must not increase as priority falls` });
      }
      return;
    }
    if (p.ceilings !== undefined) ctx.addIssue({ code: 'custom', path: ['ceilings'], message: `only allowed with domain explicit` });
    if (p.minCeiling === undefined) ctx.addIssue({ code: 'custom', path: ['minCeiling'], message: 'required (the ceiling of the lowest priority; there is no safe default)' });
    else if (p.minCeiling > (p.maxCeiling ?? 1)) ctx.addIssue({ code: 'custom', path: ['minCeiling'], message: 'must not be above maxCeiling' });
  });

/** Resolved parameters. */
export type PriorityHoldbackParameters = z.output<typeof priorityHoldbackParameters>;

/** Ceilings for `priorities` (highest first) under the parameters. */
export function holdbackCeilings(p: PriorityHoldbackParameters, priorities: readonly number[]): number[] {
  const n = priorities.length;
  if (p.domain === 'explicit') return priorities.map((prio) => p.ceilings?.[String(prio)] ?? 0);
  const max = p.maxCeiling ?? 1;
  const min = p.minCeiling ?? 0;
  // One priority alone is never held back below the top ceiling: the pool stays work-conserving.
  if (n === 1) return [max];
  if (p.domain === 'rank') return priorities.map((_, i) => max - (i * (max - min)) / (n - 1));
  const hi = priorities[0] as number;
  const lo = priorities[n - 1] as number;
  if (hi === lo) return priorities.map(() => max);
  return priorities.map((prio) => min + ((prio - lo) / (hi - lo)) * (max - min));
}

/**
 * `priority-holdback-policy`: lower priorities get lower admission ceilings, so as the pool fills
 * they are held back first and the remaining room goes to higher priorities.
 */
export const priorityHoldbackPolicy = definePlugin({
  type: PRIORITY_HOLDBACK_POLICY_TYPE,
  parameters: priorityHoldbackParameters,
  create: (name, p): UsageLimitPolicy => ({
    type: PRIORITY_HOLDBACK_POLICY_TYPE,
    name,
    computeLimit: (_saturation, priorities) => holdbackCeilings(p, priorities),
  }),
});
