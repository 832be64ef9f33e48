import { describe, expect, it } from 'vitest';
import { DEFAULT_SATURATION_CONFIG as C } from '../config/saturation-config.js';
import type { ReplicaMetrics, Variant, VariantState } from '../model.js';
import { analyzeSaturation, saturationTargets } from './saturation.js';

const r = (pod: string, kvUsage: number, queueLength: number, variant = 'a'): ReplicaMetrics => ({ pod, variant, kvUsage, queueLength });

function variant(name: string, cost: number, over: Partial<Variant> = {}): Variant {
  return { name, namespace: 'ns', modelID: 'm', target: { apiVersion: 'apps/v1', kind: 'Deployment', name }, cost, accelerator: '', acceleratorCount: 1, minReplicas: 1, maxReplicas: 10, ...over };
}

function state(v: Variant, current: number, ready = current, previousDesired: number | null = null): VariantState {
  return { variant: v, currentReplicas: current, readyReplicas: ready, previousDesired };
}

describe('analyzeSaturation', () => {
  it.each<[string, ReplicaMetrics[], boolean, boolean]>([
    // name, replicas, scale up?, scale-down safe?
    ['idle pair: spare is plenty, and one replica can take the load', [r('p1', 0.1, 0), r('p2', 0.1, 0)], false, true],
    ['KV spare below the trigger (0.80 − 0.75 = 0.05 < 0.1)', [r('p1', 0.75, 0), r('p2', 0.74, 0)], true, false],
    ['queue spare below the trigger (5 − 3 = 2 < 3)', [r('p1', 0.2, 3), r('p2', 0.2, 3)], true, false],
    ['every replica saturated', [r('p1', 0.9, 0), r('p2', 0.3, 7)], true, false],
    ['one saturated, the other fine: averages only the unsaturated, but never scales down', [r('p1', 0.85, 0), r('p2', 0.1, 0), r('p3', 0.1, 0)], false, false],
    ['a single replica never scales down', [r('p1', 0, 0)], false, false],
    ['load that would not fit on one replica fewer (KV 3×0.3 over 2 = 0.45, spare 0.35 ok; queue 3×2 over 2 = 3, spare 2 < 3)', [r('p1', 0.3, 2), r('p2', 0.3, 2), r('p3', 0.3, 2)], false, false],
    ['load that fits on one replica fewer', [r('p1', 0.3, 1), r('p2', 0.3, 1), r('p3', 0.3, 0)], false, true],
    ['exactly at the trigger is not below it (spare KV 0.1)', [r('p1', 0.7, 0), r('p2', 0.7, 0)], false, false],
  ])('%s', (_what, replicas, up, down) => {
    const a = analyzeSaturation(replicas, C);
    expect(a.shouldScaleUp).toBe(up);
    expect(a.scaleDownSafe).toBe(down);
  });

  it('averages spare capacity over the unsaturated replicas', () => {
    const a = analyzeSaturation([r('p1', 0.2, 1), r('p2', 0.4, 3), r('p3', 0.95, 9)], C);
    expect(a.nonSaturated).toBe(2);
    expect(a.avgSpareKv).toBeCloseTo(0.8 - 0.3, 10);
    expect(a.avgSpareQueue).toBeCloseTo(5 - 2, 10);
  });

  it('does not scale down while the router holds queued requests', () => {
    expect(analyzeSaturation([r('p1', 0, 0), r('p2', 0, 0)], C, 3).scaleDownSafe).toBe(false);
    expect(analyzeSaturation([r('p1', 0, 0), r('p2', 0, 0)], C, 0).scaleDownSafe).toBe(true);
  });
});

describe('saturationTargets', () => {
  const up = analyzeSaturation([r('p1', 0.79, 0)], C);
  const down = analyzeSaturation([r('p1', 0, 0), r('p2', 0, 0), r('p3', 0, 0)], C);
  const steady = analyzeSaturation([r('p1', 0.5, 1), r('p2', 0.5, 1)], C);

  it('adds one replica to the cheapest variant', () => {
    const t = saturationTargets([state(variant('h100', 30), 2), state(variant('l4', 5), 1), state(variant('a100', 20), 1)], up);
    expect(Object.fromEntries([...t].map(([k, v]) => [k, v.target]))).toEqual({ h100: 2, l4: 2, a100: 1 });
  });

  it('breaks cost ties alphabetically: first for scale-up, last for scale-down', () => {
    expect(saturationTargets([state(variant('b', 10), 1), state(variant('a', 10), 1)], up).get('a')?.target).toBe(2);
    const t = saturationTargets([state(variant('b', 10), 2), state(variant('a', 10), 2)], down);
    expect(t.get('b')?.target).toBe(1);
    expect(t.get('a')?.target).toBe(2);
  });

  it('skips variants with pending replicas or at their maximum when scaling up', () => {
    const t = saturationTargets([state(variant('cheap', 1), 2, 1), state(variant('full', 2, { maxReplicas: 1 }), 1), state(variant('next', 3), 1)], up);
    expect(t.get('cheap')?.target).toBe(2);
    expect(t.get('full')?.target).toBe(1);
    expect(t.get('next')?.target).toBe(2);
  });

  it('removes one replica from the most expensive variant above its minimum', () => {
    const t = saturationTargets([state(variant('cheap', 5), 2), state(variant('pricey', 50, { minReplicas: 2 }), 2), state(variant('mid', 20, { minReplicas: 0 }), 1)], down);
    expect(t.get('pricey')?.target).toBe(2);
    expect(t.get('mid')?.target).toBe(0);
    expect(t.get('cheap')?.target).toBe(2);
  });

  it('never takes the model below one replica', () => {
    const one = analyzeSaturation([r('p1', 0, 0), r('p2', 0, 0)], C);
    const t = saturationTargets([state(variant('x', 5, { minReplicas: 0 }), 1), state(variant('y', 9, { minReplicas: 0 }), 0)], one);
    expect(t.get('x')?.target).toBe(1);
  });

  it('holds every variant while an earlier decision is still being carried out', () => {
    const t = saturationTargets([state(variant('cheap', 5), 2, 2, 3), state(variant('pricey', 50), 1, 1, 1)], up);
    expect(t.get('cheap')?.target).toBe(3);
    expect(t.get('pricey')?.target).toBe(1);
    expect(t.get('cheap')?.reason).toContain('waiting for cheap (2→3)');
  });

  it('keeps the current counts when nothing triggers', () => {
    const t = saturationTargets([state(variant('a', 5), 2), state(variant('b', 6), 3)], steady);
    expect([...t.values()].map((x) => x.target)).toEqual([2, 3]);
  });
});
