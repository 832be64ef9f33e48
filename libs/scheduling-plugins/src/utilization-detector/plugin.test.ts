import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { utilizationDetector, type UtilizationDetector } from './plugin.js';

const NOW = 10_000;
const make = (params: unknown = undefined) => utilizationDetector.create('util', utilizationDetector.parameters.parse(params), handle({ now: () => NOW })) as UtilizationDetector;
const ep = (waitingQueueSize: number, kvCacheUsagePercent: number, age = 10) => endpoint({ metrics: { waitingQueueSize, kvCacheUsagePercent, updateTime: NOW - age } });

describe('utilization-detector saturation', () => {
  const d = make();

  it.each([
    { case: 'idle pool', eps: [ep(0, 0), ep(0, 0)], want: 0 },
    { case: 'queue at the threshold is full (5/5)', eps: [ep(5, 0)], want: 1 },
    { case: 'kv at the threshold is full (0.8/0.8)', eps: [ep(0, 0.8)], want: 1 },
    { case: 'per endpoint the larger share counts', eps: [ep(1, 0.4)], want: 0.5 },
    { case: 'the pool value is the mean', eps: [ep(5, 0), ep(0, 0)], want: 0.5 },
    { case: 'overload beyond 1 is kept', eps: [ep(10, 0)], want: 2 },
    { case: 'a stale endpoint counts as full', eps: [ep(0, 0, 201), ep(0, 0)], want: 0.5 },
    { case: 'a never-scraped endpoint counts as full', eps: [endpoint()], want: 1 },
    { case: 'no endpoints is saturated', eps: [], want: 1 },
  ])('$case → $want', ({ eps, want }) => {
    expect(d.saturation(eps)).toBeCloseTo(want, 10);
  });

  it('ignores pending dispatches (its load comes from scraped metrics)', () => {
    expect(d.saturation([ep(0, 0)], 50)).toBe(0);
  });

  it('uses its parameters', () => {
    const custom = make({ queueDepthThreshold: 10, kvCacheUtilThreshold: 0.5, metricsStalenessThreshold: '2s' });
    expect(custom.saturation([ep(5, 0.1, 1500)])).toBeCloseTo(0.5, 10);
    expect(custom.saturation([ep(0, 0.5)])).toBe(1);
  });
});

describe('utilization-detector filter', () => {
  it.each([
    { case: 'keeps fresh endpoints under both thresholds', headroom: 0, eps: [ep(4, 0.79), ep(5, 0), ep(0, 0.8)], kept: [0] },
    { case: 'headroom raises both thresholds', headroom: 0.2, eps: [ep(5, 0.9), ep(6, 0), ep(0, 0.96)], kept: [0] },
    { case: 'drops stale endpoints', headroom: 0, eps: [ep(0, 0, 500), ep(1, 0.1)], kept: [1] },
    { case: 'fails open when none qualifies', headroom: 0, eps: [ep(9, 0.9), ep(7, 0.95)], kept: [0, 1] },
  ])('$case', ({ headroom, eps, kept }) => {
    const d = make({ headroom });
    expect(d.filter(context(), request(), eps)).toEqual(kept.map((i) => eps[i]));
  });
});

describe('utilization-detector parameters', () => {
  it('has upstream defaults', () => {
    expect(make()).toMatchObject({ type: 'utilization-detector', queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, stalenessMs: 200, headroom: 0 });
  });

  it.each([{ queueDepthThreshold: 0 }, { kvCacheUtilThreshold: 1.5 }, { headroom: -1 }, { treshold: 3 }])('rejects %j', (params) => {
    expect(utilizationDetector.parameters.safeParse(params).success).toBe(false);
  });

  it('names a malformed staleness threshold', () => {
    expect(() => make({ metricsStalenessThreshold: 'soon' })).toThrow(/metricsStalenessThreshold/);
  });
});
