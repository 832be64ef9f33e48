import type { Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { kvCacheUtilizationScorer } from './plugin.js';

const scorer = kvCacheUtilizationScorer.create('kv', kvCacheUtilizationScorer.parameters.parse(undefined), handle()) as Scorer;

describe('kv-cache-utilization-scorer', () => {
  it.each([
    { name: 'empty cache → 1', usage: [0], want: [1] },
    { name: 'full cache → 0', usage: [1], want: [0] },
    { name: 'absolute, not relative to the candidates', usage: [0.25, 0.5], want: [0.75, 0.5] },
    { name: 'all equal → all equal (no min-max)', usage: [0.8, 0.8], want: [0.2, 0.2] },
  ])('$name', ({ usage, want }) => {
    const endpoints = usage.map((u) => endpoint({ metrics: { kvCacheUsagePercent: u } }));
    const scores = Array.from(scorer.score(context(), request(), endpoints));
    scores.forEach((s, i) => expect(s).toBeCloseTo(want[i] as number, 12));
    expect(scores).toHaveLength(want.length);
  });

  it('is a distribution scorer and rejects unknown parameters', () => {
    expect(scorer).toMatchObject({ type: 'kv-cache-utilization-scorer', category: 'distribution' });
    expect(kvCacheUtilizationScorer.parameters.safeParse({ x: true }).success).toBe(false);
  });
});
