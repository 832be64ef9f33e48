import type { UsageLimitPolicy } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { priorityHoldbackPolicy } from './plugin.js';

const make = (params: unknown) => priorityHoldbackPolicy.create('hb', priorityHoldbackPolicy.parameters.parse(params), {} as never) as UsageLimitPolicy;

describe('priority-holdback-policy ceilings', () => {
  it.each([
    { case: 'rank: equal steps from max to min', params: { minCeiling: 0.4, maxCeiling: 0.9 }, priorities: [100, 50, 10], want: [0.9, 0.65, 0.4] },
    { case: 'rank ignores the values', params: { minCeiling: 0.5 }, priorities: [1000, 1, 0], want: [1, 0.75, 0.5] },
    { case: 'value: proportional to the priority values', params: { domain: 'value', minCeiling: 0.4, maxCeiling: 0.9 }, priorities: [100, 90, 0], want: [0.9, 0.85, 0.4] },
    { case: 'a single priority is never held back', params: { minCeiling: 0.2, maxCeiling: 0.8 }, priorities: [5], want: [0.8] },
    { case: 'value with equal priorities', params: { domain: 'value', minCeiling: 0.2 }, priorities: [3, 3], want: [1, 1] },
    { case: 'explicit map, unlisted priorities fully held', params: { domain: 'explicit', ceilings: { '100': 0.95, '10': 0.3 } }, priorities: [100, 50, 10], want: [0.95, 0, 0.3] },
  ])('$case', ({ params, priorities, want }) => {
    const got = make(params).computeLimit(0.5, priorities);
    expect(got.length).toBe(want.length);
    got.forEach((c, i) => expect(c).toBeCloseTo(want[i] as number, 10));
  });
});

describe('priority-holdback-policy parameters', () => {
  it.each([
    { case: 'minCeiling missing', params: {}, message: /minCeiling: required/ },
    { case: 'minCeiling above maxCeiling', params: { minCeiling: 0.8, maxCeiling: 0.5 }, message: /minCeiling: must not be above maxCeiling/ },
    { case: 'minCeiling of 1', params: { minCeiling: 1 }, message: /minCeiling/ },
    { case: 'an unknown shape', params: { minCeiling: 0.5, shape: 'sigmoid' }, message: /shape/ },
    { case: 'explicit without ceilings', params: { domain: 'explicit' }, message: /ceilings: required with domain explicit/ },
    { case: 'explicit with minCeiling', params: { domain: 'explicit', minCeiling: 0.1, ceilings: { '1': 1 } }, message: /minCeiling: not allowed with domain explicit/ },
    { case: 'explicit, rising as priority falls', params: { domain: 'explicit', ceilings: { '10': 0.5, '1': 0.7 } }, message: /ceilings\.1: ceiling 0\.7 is above the 0\.5 of the higher priority 10/ },
    { case: 'explicit, a ceiling above 1', params: { domain: 'explicit', ceilings: { '1': 1.5 } }, message: /ceilings/ },
    { case: 'ceilings with rank', params: { minCeiling: 0.5, ceilings: { '1': 1 } }, message: /ceilings: only allowed with domain explicit/ },
    { case: 'an unknown key', params: { minCeiling: 0.5, floor: 1 }, message: /floor/ },
  ])('rejects $case', ({ params, message }) => {
    const r = priorityHoldbackPolicy.parameters.safeParse(params);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(message);
  });
});
