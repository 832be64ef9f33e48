import type { UsageLimitPolicy } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { staticUsageLimitPolicy } from './plugin.js';

const make = (params: unknown) => staticUsageLimitPolicy.create('s', staticUsageLimitPolicy.parameters.parse(params), {} as never) as UsageLimitPolicy;

describe('static-usage-limit-policy', () => {
  it('gives every priority 1.0 by default (no gating before saturation)', () => {
    expect(make(undefined).computeLimit(0.9, [10, 0, -1])).toEqual([1, 1, 1]);
  });
  it('gives every priority the configured threshold', () => {
    expect(make({ threshold: 0.7 }).computeLimit(0, [3, 1])).toEqual([0.7, 0.7]);
  });
  it.each([{ threshold: 1.2 }, { threshold: -0.1 }, { limit: 1 }])('rejects %j', (p) => {
    expect(staticUsageLimitPolicy.parameters.safeParse(p).success).toBe(false);
  });
});
